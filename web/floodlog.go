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

// DefaultFloodInterval is how often the log sums up refused and failed requests.
const DefaultFloodInterval = 10 * time.Second

// FloodLog keeps a flood of alike requests from flooding the log. A stranger spraying random
// webhook URLs gets a 401 each (one line each grew the log by 1.4 MB/s), and while the
// warehouse is down every sender's every retry fails alike. The first of each kind in an
// interval is logged in full, the others only counted, and when the interval ends one line
// per kind seen more than once gives the count (of all, the first included). Refusals are
// still logged one by one at debug level.
type FloodLog struct {
	every time.Duration
	log   *slog.Logger // Config.Log, set by New

	mu     sync.Mutex
	counts map[floodKind]int // this interval's; nil while none
	start  time.Time
	timer  *time.Timer // ends the interval
}

// NewFloodLog sums requests up every interval; main keeps it to Flush at shutdown.
func NewFloodLog(every time.Duration) *FloodLog {
	return &FloodLog{every: every}
}

// floodKind is what requests are counted by.
type floodKind struct {
	what   string // "webhook refusals", "dashboard refusals" or "request failures"
	status int
	cause  string // a failure's error; "" for a refusal
}

// maxFloodKinds bounds the kinds one interval remembers (failures' texts may name a request):
// with more, the interval ends early.
const maxFloodKinds = 1000

// note counts a request of kind k and reports whether it is the first of its kind this interval.
func (f *FloodLog) note(k floodKind) (first bool) {
	f.mu.Lock()
	if _, seen := f.counts[k]; !seen && len(f.counts) >= maxFloodKinds {
		f.mu.Unlock()
		f.Flush()
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts, f.start = map[floodKind]int{}, time.Now()
		f.timer = time.AfterFunc(f.every, f.Flush)
	}
	f.counts[k]++
	return f.counts[k] == 1
}

// refused counts a request of route, "webhook" or "dashboard", answered 4xx or 5xx (a failure
// of hookhouse's own also gets its line from failed).
func (f *FloodLog) refused(route string, status int) (first bool) {
	return f.note(floodKind{what: route + " refusals", status: status})
}

// failed logs a failure of hookhouse's own (a 5xx with an internal cause) at Error, the same
// failure once per interval. The path is redacted here, so no caller can forget to.
func (f *FloodLog) failed(method, path string, status int, err error) {
	if f.note(floodKind{what: "request failures", status: status, cause: err.Error()}) {
		f.log.Error("request failed", "method", method, "path", RedactPath(path), "status", status, "err", err)
	}
}

// Flush ends the interval now: one line per kind seen more than once in it, with the count.
func (f *FloodLog) Flush() {
	f.mu.Lock()
	counts, start := f.counts, f.start
	if f.timer != nil {
		f.timer.Stop()
	}
	f.counts, f.timer = nil, nil
	f.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	elapsed := time.Since(start).Round(time.Second)
	if elapsed == 0 {
		elapsed = time.Since(start).Round(time.Millisecond)
	}
	kinds := slices.SortedFunc(maps.Keys(counts), func(a, b floodKind) int {
		return cmp.Or(strings.Compare(a.what, b.what), cmp.Compare(a.status, b.status), strings.Compare(a.cause, b.cause))
	})
	for _, k := range kinds {
		if counts[k] == 1 {
			continue // its one line, logged in full, says it all
		}
		attrs := []slog.Attr{slog.Int("status", k.status), slog.Int("count", counts[k])}
		level := slog.LevelInfo
		if k.cause != "" {
			level, attrs = slog.LevelError, append(attrs, slog.String("err", k.cause))
		}
		f.log.LogAttrs(context.Background(), level, fmt.Sprintf("%s in the last %v", k.what, elapsed), attrs...)
	}
}
