package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/hookhouse/hookhouse/store"
)

// A new webhook URL is shown exactly once without its plaintext ever being stored: the
// action that creates it leaves it here, in memory, under a random nonce that only the
// user's session knows, and the URL page takes it out. With several hookhouse nodes this
// needs sticky sessions.
const (
	revealTTL      = 10 * time.Minute
	maxReveals     = 1000 // bounds memory; the oldest entry gives way
	sessionReveals = "reveal"
)

type reveal struct {
	userID        int64
	integrationID int64
	url           string
	secret        string // a generated signing secret, instead of a URL
	builtFrom     string // views.BuiltFrom*: what the URL's scheme and host came from
	continueTo    string
	invite        store.Invite // the invite of an invite link (integrationID 0)
	expires       time.Time
}

type reveals struct {
	mu      sync.Mutex
	entries map[string]reveal
	now     func() time.Time
}

func newReveals() *reveals {
	return &reveals{entries: map[string]reveal{}, now: time.Now}
}

// put keeps r for revealTTL and returns the nonce to take it out with.
func (rs *reveals) put(r reveal) string {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	now := rs.now()
	r.expires = now.Add(revealTTL)
	if len(rs.entries) >= maxReveals {
		var oldest string
		for k, e := range rs.entries {
			if !e.expires.After(now) {
				delete(rs.entries, k)
			} else if oldest == "" || e.expires.Before(rs.entries[oldest].expires) {
				oldest = k
			}
		}
		if len(rs.entries) >= maxReveals {
			delete(rs.entries, oldest)
		}
	}
	rs.entries[nonce] = r
	return nonce
}

// take removes and returns the entry for nonce if it belongs to the user and integration
// and has not expired. An entry for another integration stays for its own page.
func (rs *reveals) take(nonce string, userID, integrationID int64) (reveal, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.entries[nonce]
	if !ok || r.userID != userID || r.integrationID != integrationID {
		return reveal{}, false
	}
	delete(rs.entries, nonce)
	return r, r.expires.After(rs.now())
}
