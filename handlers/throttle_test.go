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

// A right password from an IP that had failures does not lock that IP out again: its
// attempt is given back with its time, so the next attempt waits only what the failures
// before it asked for (it waited the lockout out before signing in).
func TestSuccessDoesNotRestartTheLockout(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	th := newLoginThrottle()
	th.now = func() time.Time { return now }
	const ip, email = "ip:192.0.2.1", "email:a@example.com"
	for range freeFailures {
		if wait := th.reserve(ip, "email:other@example.com"); wait != 0 {
			t.Fatalf("a free failure had to wait %v", wait)
		}
	}
	now = now.Add(lockout(freeFailures))
	if wait := th.reserve(ip, email); wait != 0 {
		t.Fatalf("after the lockout: wait %v", wait)
	}
	th.succeeded(ip, email)
	if wait := th.reserve(ip, email); wait != 0 {
		t.Fatalf("right after a right password from that IP: wait %v, want none", wait)
	}
}

// A connection's own address reaches the throttle as the listener reports it, where an IPv4
// client of a dual-stack socket can be IPv4-mapped: it counts as its IPv4 address.
func TestThrottledNetwork(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.1":                 "192.0.2.1",
		"::ffff:192.0.2.1":          "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2::9":           "2001:db8:1:2::/64",
		"fe80::1%eth0":              "fe80::/64",
		"not an address (no proxy)": "not an address (no proxy)",
	} {
		if got := throttledNetwork(ip); got != want {
			t.Errorf("throttledNetwork(%q) = %q, want %q", ip, got, want)
		}
	}
}
