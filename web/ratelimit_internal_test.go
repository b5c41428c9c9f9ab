package web

import (
	"testing"
	"time"
)

// Buckets of idle URLs are forgotten at the next sweep; a throttled URL's bucket is not, however
// many other URLs come and go.
func TestURLLimiterForgetsIdleURLsOnly(t *testing.T) {
	l := newURLLimiter(100, 10)
	now := time.Now()
	for range 10 {
		l.wait(1, now)
	}
	if d := l.wait(1, now); d <= 0 || d > 20*time.Millisecond {
		t.Fatalf("11th request in a burst of 10 at 100/s waits %v, want about 10ms", d)
	}
	for id := int64(2); id < 1000; id++ {
		if d := l.wait(id, now); d != 0 {
			t.Fatalf("URL %d's first request waits %v", id, d)
		}
	}
	// Two idle minutes refill every bucket but a throttled one held at the limit.
	slow := newURLLimiter(0.001, 1)
	slow.wait(1, now)
	for id := int64(2); id < 1000; id++ {
		slow.wait(id, now)
	}
	later := now.Add(2 * time.Minute)
	l.wait(5000, later)
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after two idle minutes, want only the new one", len(l.buckets))
	}
	slow.wait(5000, later)
	if d := slow.wait(1, later); d <= 0 {
		t.Fatal("a sweep let a throttled URL through")
	}
}
