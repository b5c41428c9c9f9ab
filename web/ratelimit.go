package web

import (
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Webhook rate limit defaults: requests per second per webhook URL, and the burst above it.
// They sit well above what one URL can get acknowledged (about 21,000 fsynced requests/s on 2
// cores, more on bigger machines), so only a runaway or hostile sender meets them; the
// ingestion benchmark never does. Tighten them with -rate-limit and -rate-burst.
const (
	DefaultRateLimit = 100000
	DefaultRateBurst = 200000
)

// maxBuckets bounds the limiter's memory: beyond it, idle buckets are dropped.
const maxBuckets = 10000

// urlLimiter is a token bucket per webhook URL (integration id + token). Buckets are keyed by
// a seeded hash, so the limiter holds no token, and a bucket that has refilled is forgotten:
// it would behave exactly like a new one.
type urlLimiter struct {
	limit rate.Limit
	burst int
	seed  maphash.Seed

	mu        sync.Mutex
	buckets   map[uint64]*rate.Limiter
	lastSweep time.Time
}

func newURLLimiter(limit rate.Limit, burst int) *urlLimiter {
	return &urlLimiter{limit: limit, burst: burst, seed: maphash.MakeSeed(), buckets: make(map[uint64]*rate.Limiter)}
}

// wait reports how long the URL's sender must wait before this request would fit: 0 means
// it is allowed now (and counted).
func (l *urlLimiter) wait(integrationID, token string, now time.Time) time.Duration {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(integrationID)
	h.WriteByte('/')
	h.WriteString(token)
	key := h.Sum64()

	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets || now.Sub(l.lastSweep) > time.Minute {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops full buckets; if every bucket is in use (a flood over more than maxBuckets
// URLs), it starts afresh rather than grow.
func (l *urlLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for key, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, key)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// rateLimit answers 429 with Retry-After once a webhook URL exceeds its token bucket. A
// limit of rate.Inf turns it off.
func rateLimit(limit rate.Limit, burst int) echo.MiddlewareFunc {
	if limit == rate.Inf {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	l := newURLLimiter(limit, burst)
	msg := "Too many requests for this webhook URL (the limit is " + strconv.FormatFloat(float64(limit), 'f', -1, 64) +
		" per second); nothing of this request was stored. Retry after the number of seconds in Retry-After."
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d := l.wait(c.Param("id"), c.Param("token"), time.Now()); d > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
				return echo.NewHTTPError(http.StatusTooManyRequests, msg)
			}
			return next(c)
		}
	}
}
