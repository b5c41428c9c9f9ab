package handlers

import (
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

// Failed sign-ins are throttled per client IP and per email: after freeFailures failures
// within failureWindow, each further attempt must wait twice as long as the last, up to
// maxLockout. An attempt is counted before its password is checked (see reserve), so
// parallel requests cannot all slip in before the first failure is recorded.
const (
	freeFailures  = 5
	failureWindow = 15 * time.Minute
	maxLockout    = 15 * time.Minute
)

type failures struct {
	count    int // attempts that failed or are being checked now
	last     time.Time
	lastBack time.Time // last before the newest reservation, for release to give back
}

type loginThrottle struct {
	mu   sync.Mutex
	keys map[string]*failures
	now  func() time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{keys: map[string]*failures{}, now: time.Now}
}

// lockout is how long the attempt after count failures must wait. The doubling stops at
// maxLockout before the shift could overflow a Duration (it did after 39 failures).
func lockout(count int) time.Duration {
	if count < freeFailures {
		return 0
	}
	d := time.Second
	for range count - freeFailures {
		if d >= maxLockout {
			return maxLockout
		}
		d *= 2
	}
	return min(d, maxLockout)
}

// reserve counts one attempt against every key, as if it failed, unless one of them must
// still wait: then it counts nothing and returns how long. Checking and counting under one
// lock is what stops a burst of parallel guesses. The caller reports the outcome with
// succeeded or release; a failure needs nothing more.
func (t *loginThrottle) reserve(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	var longest time.Duration
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) > failureWindow+maxLockout {
			continue
		}
		if left := f.last.Add(lockout(f.count)).Sub(now); left > longest {
			longest = left
		}
	}
	if longest > 0 {
		return longest
	}
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) > failureWindow+maxLockout {
			f = &failures{}
			t.keys[k] = f
		}
		f.count++
		f.lastBack, f.last = f.last, now
	}
	return 0
}

// release gives back an attempt reserve counted that did not fail (e.g. the server was too
// busy to check it), its time too: otherwise a right password from an IP with failures would
// start that IP's lockout again from now.
func (t *loginThrottle) release(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if f := t.keys[k]; f != nil && f.count > 0 {
			f.count--
			f.last = f.lastBack
		}
	}
}

// succeeded clears the email's failures and gives the IP back the attempt: other failures
// from that IP still count, so one valid account does not reset an IP's guesses at others.
func (t *loginThrottle) succeeded(ipKey, emailKey string) {
	t.mu.Lock()
	delete(t.keys, emailKey)
	t.mu.Unlock()
	t.release(ipKey)
}

// prune forgets stale entries so a flood of distinct keys cannot grow the map forever.
func (t *loginThrottle) prune(now time.Time) {
	if len(t.keys) < 10000 {
		return
	}
	for k, f := range t.keys {
		if now.Sub(f.last) > failureWindow+maxLockout {
			delete(t.keys, k)
		}
	}
}

// throttledPasswordCheck runs check, which tests a password of the account email, as one
// sign-in attempt of the client and of that account: it waits (nothing is checked, Retry-After
// is set and wait is the seconds to say) while either must still wait. A wrong password
// (store.ErrInvalidCredentials) stays counted, a right one forgets their failures, and any
// other error (the password was not checked, e.g. store.ErrBusy) gives the attempt back.
func (h *Handler) throttledPasswordCheck(c echo.Context, email string, check func() error) (wait int, err error) {
	ipKey, emailKey := "ip:"+throttledNetwork(c.RealIP()), "email:"+strings.ToLower(email)
	if d := h.logins.reserve(ipKey, emailKey); d > 0 {
		wait = int(math.Ceil(d.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
		return wait, nil
	}
	err = check()
	switch {
	case errors.Is(err, store.ErrInvalidCredentials):
	case err != nil:
		h.logins.release(ipKey, emailKey)
	default:
		h.logins.succeeded(ipKey, emailKey)
	}
	return 0, err
}

// throttledNetwork is what the per-IP throttle counts a client's attempts under: an IPv4
// address (IPv4-mapped IPv6 included), or the /64 of an IPv6 one, the usual allocation to one
// host or customer, who could otherwise take a fresh address for each guess.
func throttledNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail: 64 bits of an IPv6 address
	return p.String()
}
