package handlers

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/hookhouse/hookhouse/store"
)

// A new webhook URL (a signing secret, an invite link) is shown exactly once without its
// plaintext ever being stored: the action that creates it seals it with the secret key
// (HOOKHOUSE_SECRET_KEY, the same on every node) into the user's session, and the page that
// shows it takes it out of the session. Any node can open it, so several nodes need no sticky
// sessions, and the session store holds only ciphertext.
const (
	revealTTL      = 10 * time.Minute
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

// sealedReveal is a reveal as it is sealed.
type sealedReveal struct {
	UserID, IntegrationID              int64
	URL, Secret, BuiltFrom, ContinueTo string
	Invite                             store.Invite
	Expires                            time.Time
}

type revealSealer interface {
	SealReveal(plaintext []byte) ([]byte, error)
	OpenReveal(sealed []byte) ([]byte, error)
}

type reveals struct {
	box revealSealer
	now func() time.Time
}

func newReveals(box revealSealer) *reveals {
	return &reveals{box: box, now: time.Now}
}

// put seals r, to be shown within revealTTL, as the text to keep in the session.
func (rs *reveals) put(r reveal) (string, error) {
	plain, err := json.Marshal(sealedReveal{
		UserID: r.userID, IntegrationID: r.integrationID, URL: r.url, Secret: r.secret,
		BuiltFrom: r.builtFrom, ContinueTo: r.continueTo, Invite: r.invite, Expires: rs.now().Add(revealTTL),
	})
	if err != nil {
		return "", err
	}
	sealed, err := rs.box.SealReveal(plain)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// take opens the session's sealed reveal if it belongs to the user and integration and has not
// expired; the caller then removes it from the session, so it is shown once. One for another
// integration stays for its own page.
func (rs *reveals) take(sealed string, userID, integrationID int64) (reveal, bool) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || sealed == "" {
		return reveal{}, false
	}
	plain, err := rs.box.OpenReveal(b)
	if err != nil {
		return reveal{}, false
	}
	var r sealedReveal
	if json.Unmarshal(plain, &r) != nil || r.UserID != userID || r.IntegrationID != integrationID || !r.Expires.After(rs.now()) {
		return reveal{}, false
	}
	return reveal{userID: r.UserID, integrationID: r.IntegrationID, url: r.URL, secret: r.Secret,
		builtFrom: r.BuiltFrom, continueTo: r.ContinueTo, invite: r.Invite, expires: r.Expires}, true
}
