package store

import "sync"

// watchers tell open dashboard pages that an integration's logs or counts changed: the
// activity recorder notifies them after each commit. A notification carries nothing; the
// page asks for itself again, through its session. Each watch is one channel of one slot,
// so a burst of commits is one wake-up, and notifying never blocks the recorder.
type watchers struct {
	mu     sync.Mutex
	ended  bool
	byID   map[int64]map[chan struct{}]struct{}
	number int
	// Marks: each write of activity takes the next seq, and last keeps the newest of each
	// integration, so a page rendered before a write and watching after it still hears of it.
	seq  uint64
	last map[int64]uint64
}

// ArrivalMark is the integration's mark now: a page reads it before its queries and passes
// it to WatchArrivals, so nothing written between the two goes unannounced.
func (s *Store) ArrivalMark(integrationID int64) uint64 {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return s.watch.last[integrationID]
}

// WatchArrivals returns a channel that receives a value after the integration's next
// recorded activity (requests, batches), or at once if some was written after the mark
// since (ArrivalMark), and the function that stops the watch; the channel is closed once
// EndWatches has been called. Call stop when the page's stream ends.
func (s *Store) WatchArrivals(integrationID int64, since uint64) (<-chan struct{}, func()) {
	w := &s.watch
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		close(ch)
		return ch, func() {}
	}
	if w.last[integrationID] > since {
		ch <- struct{}{}
	}
	if w.byID == nil {
		w.byID = map[int64]map[chan struct{}]struct{}{}
	}
	if w.byID[integrationID] == nil {
		w.byID[integrationID] = map[chan struct{}]struct{}{}
	}
	w.byID[integrationID][ch] = struct{}{}
	w.number++
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if set, ok := w.byID[integrationID]; ok {
				if _, ok := set[ch]; ok {
					delete(set, ch)
					w.number--
				}
				if len(set) == 0 {
					delete(w.byID, integrationID)
				}
			}
		})
	}
}

// Watches is how many pages watch arrivals now (for /metrics, and to see that a closed tab
// leaves nothing behind).
func (s *Store) Watches() int {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return s.watch.number
}

// EndWatches closes every watch, and the ones asked for later, so open streams end and a
// shutdown need not wait for them (main calls it when the server starts shutting down).
func (s *Store) EndWatches() {
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	for _, set := range w.byID {
		for ch := range set {
			close(ch)
		}
	}
	w.byID, w.number = nil, 0
}

// notify marks the integrations a write of activity changed and wakes their watches. A
// batch's load report comes with the request that loaded it, so the requests name every
// integration.
func (w *watchers) notify(batch []any, unlogged map[hourKey]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	for _, e := range batch {
		if r, ok := e.(WebhookRequest); ok {
			w.wake(r.IntegrationID)
		}
	}
	for k := range unlogged {
		w.wake(k.integration)
	}
}

// wake marks the integration and gives each of its watches a wake-up, unless one is
// pending already. Marks are kept per integration written since the start (16 bytes each).
func (w *watchers) wake(integrationID int64) {
	if w.last == nil {
		w.last = map[int64]uint64{}
	}
	w.last[integrationID] = w.seq
	for ch := range w.byID[integrationID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
