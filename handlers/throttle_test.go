package handlers

import (
	"testing"
	"time"
)

// However many failures pile up, an attempt after the free ones must wait, and never longer
// than maxLockout (the doubling overflowed after 39 failures, to no wait at all).
func TestLockoutGrowsAndStaysBoundedAtAnyCount(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	th := newLoginThrottle()
	th.now = func() time.Time { return now }
	const key = "ip:192.0.2.1"
	var last time.Duration
	for attempt := 1; attempt <= 200; attempt++ {
		if wait := th.reserve(key); wait != 0 {
			t.Fatalf("attempt %d: refused for %v after waiting out the last lockout", attempt, wait)
		}
		// the attempt failed; the next one, at once, must wait
		wait := th.reserve(key)
		if attempt < freeFailures {
			if wait != 0 {
				t.Fatalf("after %d failures: wait %v, want none yet", attempt, wait)
			}
			th.release(key) // that probe was counted; give it back
			continue
		}
		if wait <= 0 || wait > maxLockout || wait < last {
			t.Fatalf("after %d failures: wait %v (the one before: %v), want it in (0, %v] and not shorter", attempt, wait, last, maxLockout)
		}
		last = wait
		now = now.Add(wait)
	}
	if last != maxLockout {
		t.Fatalf("after 200 failures the wait is %v, want %v", last, maxLockout)
	}
}
