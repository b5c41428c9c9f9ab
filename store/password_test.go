package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// With every slot hashing, callers queue up to maxHashWaiting; the next is refused at once
// with ErrBusy, and a queued caller whose request goes away stops waiting.
func TestHashGateQueuesThenRefuses(t *testing.T) {
	g := newHashGate()
	release := make(chan struct{})
	var running sync.WaitGroup
	for range maxHashing {
		running.Add(1)
		go g.do(context.Background(), func() { running.Done(); <-release })
	}
	running.Wait()

	cancelled, cancel := context.WithCancel(context.Background())
	queued := make(chan error, maxHashWaiting)
	for i := range maxHashWaiting {
		ctx := context.Background()
		if i == 0 {
			ctx = cancelled
		}
		go func() { queued <- g.do(ctx, func() {}) }()
	}
	for g.waiting.Load() < maxHashWaiting {
		time.Sleep(time.Millisecond)
	}
	began := time.Now()
	if err := g.do(context.Background(), func() { t.Error("hashed beyond the queue") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("beyond the queue: %v, want ErrBusy", err)
	}
	if took := time.Since(began); took > 100*time.Millisecond {
		t.Errorf("the refusal took %v", took)
	}
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled waiter: %v, want context.Canceled", err)
	}
	close(release)
	for range maxHashWaiting - 1 {
		if err := <-queued; err != nil {
			t.Fatalf("a queued caller: %v", err)
		}
	}
}
