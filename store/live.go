package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

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
	// node names this Store in the arrivals it announces to other nodes, so that its listener
	// skips its own (the recorder has woken its pages already).
	node string
	// epoch names this Store's marks: seq counts from 0 when a Store opens, on each node
	// apart, so a mark is only comparable with the marks of the Store that made it.
	epoch string
}

// ArrivalMark is the integration's mark now: a page reads it before its queries and passes
// it to WatchArrivals, so nothing written between the two goes unannounced.
func (s *Store) ArrivalMark(integrationID int64) uint64 {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return s.watch.last[integrationID]
}

// ArrivalEpoch names the Store whose marks ArrivalMark gives: a mark another Store made
// (another node, or this process before a restart) says nothing of what this one wrote.
func (s *Store) ArrivalEpoch() string { return s.watch.epoch }

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

// notifyIDs marks the integrations a write of activity changed and wakes their watches: a
// write of this node's, or another node's as heard by the listener (arrivalsChannel). A
// batch's load report comes with the request that loaded it, so the requests name every
// integration.
func (w *watchers) notifyIDs(ids []int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	for _, id := range ids {
		w.wake(id)
	}
}

// activityIDs lists, once each, the integrations a write of activity changed.
func activityIDs(batch []any, unlogged map[hourKey]int) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, e := range batch {
		if r, ok := e.(WebhookRequest); ok {
			add(r.IntegrationID)
		}
	}
	for k := range unlogged {
		add(k.integration)
	}
	return ids
}

// announceArrivals tells the other nodes (PostgreSQL's NOTIFY, delivered when tx commits)
// which integrations' activity tx writes, so their open pages hear of it too.
// The payload is the announcing node's name, a space, and the ids separated by commas.
func (w *watchers) announceArrivals(ctx context.Context, tx *sqlTx, ids []int64) error {
	if !tx.d.postgres || len(ids) == 0 {
		return nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	// A payload is at most 8000 bytes: a batch names few integrations, but cut long lists.
	for len(list) > 0 {
		n := min(len(list), 400)
		if _, err := tx.Tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", arrivalsChannel, w.node+" "+strings.Join(list[:n], ",")); err != nil {
			return err
		}
		list = list[n:]
	}
	return nil
}

// heardArrivals wakes the pages watching the integrations another node announced.
func (w *watchers) heardArrivals(payload string) {
	node, list, _ := strings.Cut(payload, " ")
	if node == w.node {
		return
	}
	var ids []int64
	for _, f := range strings.Split(list, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	w.notifyIDs(ids)
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
