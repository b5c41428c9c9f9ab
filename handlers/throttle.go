package handlers

import (
	"sync"
	"time"
)

// Failed sign-ins are throttled per client IP and per email: after freeFailures failures
// within failureWindow, each further attempt must wait twice as long as the last, up to
// maxLockout. A success for an email clears that email's count.
const (
	freeFailures  = 5
	failureWindow = 15 * time.Minute
	maxLockout    = 15 * time.Minute
)

type failures struct {
	count int
	last  time.Time
}

type loginThrottle struct {
	mu   sync.Mutex
	keys map[string]*failures
	now  func() time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{keys: map[string]*failures{}, now: time.Now}
}

// wait returns how long the caller must wait before trying again for any of keys.
func (t *loginThrottle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || f.count < freeFailures {
			continue
		}
		if now.Sub(f.last) > failureWindow+maxLockout {
			delete(t.keys, k)
			continue
		}
		lockout := min(time.Second<<(f.count-freeFailures), maxLockout)
		if left := f.last.Add(lockout).Sub(now); left > longest {
			longest = left
		}
	}
	return longest
}

func (t *loginThrottle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) > failureWindow+maxLockout {
			f = &failures{}
			t.keys[k] = f
		}
		f.count++
		f.last = now
	}
}

func (t *loginThrottle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
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
