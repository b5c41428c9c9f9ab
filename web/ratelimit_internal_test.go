package web

import (
	"strconv"
	"testing"
	"time"
)

// A sender spraying URLs (or random tokens) cannot grow the limiter without bound.
func TestURLLimiterStaysBounded(t *testing.T) {
	l := newURLLimiter(100, 10)
	now := time.Now()
	for i := range 5 * maxBuckets {
		if d := l.wait("1", strconv.Itoa(i), now); d != 0 {
			t.Fatalf("a new URL's first request waits %v", d)
		}
		now = now.Add(time.Millisecond)
		if len(l.buckets) > maxBuckets {
			t.Fatalf("%d buckets after %d URLs, bound is %d", len(l.buckets), i+1, maxBuckets)
		}
	}
	// Idle buckets are refilled, so they are dropped at the next sweep.
	l.wait("1", "again", now.Add(2*time.Minute))
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after two idle minutes, want only the new one", len(l.buckets))
	}
	// One URL over its burst waits about 1/rate.
	for range 10 {
		l.wait("2", "t", now)
	}
	if d := l.wait("2", "t", now); d <= 0 || d > 20*time.Millisecond {
		t.Fatalf("11th request in a burst of 10 at 100/s waits %v, want about 10ms", d)
	}
}
