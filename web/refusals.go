package web

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRefusalInterval is how often the access log sums up refused requests.
const DefaultRefusalInterval = 10 * time.Second

// RefusalLog keeps a flood of refusals (a stranger spraying random webhook URLs gets a 401
// each; one line each grew the log by 1.4 MB/s) from flooding the log: the first refusal of
// each status in an interval is logged in full, the others only counted, and when the
// interval ends one line per status gives the count. Refusals are still logged one by one at
// debug level.
type RefusalLog struct {
	every time.Duration
	log   *slog.Logger // Config.Log, set by New

	mu     sync.Mutex
	counts map[refusal]int // refusals this interval; nil while none
	start  time.Time
	timer  *time.Timer // ends the interval
}

// NewRefusalLog sums refusals up every interval; main keeps it to Flush at shutdown.
func NewRefusalLog(every time.Duration) *RefusalLog {
	return &RefusalLog{every: every}
}

// refusal is what refusals are counted by: "webhook" or "dashboard", and the status.
type refusal struct {
	route  string
	status int
}

// note counts a refusal and reports whether it is the first of its kind this interval.
func (r *RefusalLog) note(route string, status int) (first bool) {
	k := refusal{route, status}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts, r.start = map[refusal]int{}, time.Now()
		r.timer = time.AfterFunc(r.every, r.Flush)
	}
	r.counts[k]++
	return r.counts[k] == 1
}

// Flush ends the interval now: one line per status refused in it, with the count.
func (r *RefusalLog) Flush() {
	r.mu.Lock()
	counts, start := r.counts, r.start
	if r.timer != nil {
		r.timer.Stop()
	}
	r.counts, r.timer = nil, nil
	r.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	elapsed := time.Since(start).Round(time.Second)
	if elapsed == 0 {
		elapsed = time.Since(start).Round(time.Millisecond)
	}
	kinds := slices.SortedFunc(maps.Keys(counts), func(a, b refusal) int {
		return cmp.Or(strings.Compare(a.route, b.route), cmp.Compare(a.status, b.status))
	})
	for _, k := range kinds {
		r.log.LogAttrs(context.Background(), slog.LevelInfo, fmt.Sprintf("%s refusals in the last %v", k.route, elapsed),
			slog.Int("status", k.status), slog.Int("count", counts[k]))
	}
}
