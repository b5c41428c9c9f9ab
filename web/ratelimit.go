package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/hookhouse/hookhouse/handlers"
)

// Webhook rate limit defaults: requests per second per webhook URL, and the burst above it.
// They sit well above what one URL can get acknowledged (about 21,000 fsynced requests/s on 2
// cores, more on bigger machines), so only a runaway or hostile sender meets them; the
// ingestion benchmark never does. Tighten them with -rate-limit and -rate-burst.
const (
	DefaultRateLimit = 100000
	DefaultRateBurst = 200000
)

// sweepEvery is how often buckets that have refilled are forgotten.
const sweepEvery = time.Minute

// urlLimiter is a token bucket per webhook URL, keyed by the URL's id once it is
// authenticated: however the path spells the integration id, and whatever tokens strangers
// make up, only real URLs get buckets, so the map is bounded by the active URLs (two per
// integration at most) and nobody but a URL's sender touches its bucket.
type urlLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[int64]*rate.Limiter
	lastSweep time.Time
}

func newURLLimiter(limit rate.Limit, burst int) *urlLimiter {
	return &urlLimiter{limit: limit, burst: burst, buckets: make(map[int64]*rate.Limiter)}
}

// wait reports how long the URL's sender must wait before this request would fit: 0 means
// it is allowed now (and counted).
func (l *urlLimiter) wait(urlID int64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[urlID]
	if b == nil {
		if now.Sub(l.lastSweep) > sweepEvery {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[urlID] = b
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

// sweep drops full buckets: a new one would behave the same, and revoked URLs must not linger.
// A bucket that is not full is never dropped, so a throttled sender stays throttled.
func (l *urlLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for key, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, key)
		}
	}
}

// rateLimit answers 429 with Retry-After once a webhook URL exceeds its token bucket. It runs
// after requireWebhookURL, on the URL it authenticated. A limit of rate.Inf turns it off.
func rateLimit(limit rate.Limit, burst int) echo.MiddlewareFunc {
	if limit == rate.Inf {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	l := newURLLimiter(limit, burst)
	msg := "Too many requests for this webhook URL (the limit is " + strconv.FormatFloat(float64(limit), 'f', -1, 64) +
		" per second); nothing of this request was stored. Retry after the number of seconds in Retry-After."
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			target, ok := handlers.WebhookTargetOf(c)
			if !ok {
				return echo.ErrUnauthorized // a route without requireWebhookURL: never let it through unlimited
			}
			if d := l.wait(target.URLID, time.Now()); d > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
				return echo.NewHTTPError(http.StatusTooManyRequests, msg)
			}
			return next(c)
		}
	}
}
