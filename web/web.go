// Package web assembles the Echo application: middleware, error handling and the route table.
package web

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web/metrics"
)

// Config is what the web application is built from.
type Config struct {
	Store        *store.Store
	Warehouse    *warehouse.Warehouse
	Log          *slog.Logger
	PublicURL    string // e.g. https://hooks.example.com; empty derives it from each request
	DataDir      string
	MaxBodyBytes int64 // largest webhook body; 0 means handlers.DefaultMaxBodyBytes
	// MaxInflightBodyBytes bounds the webhook body bytes held at once across requests (503
	// beyond it); 0 means handlers.DefaultMaxInflightBodyBytes.
	MaxInflightBodyBytes int64
	// RateLimit is the requests per second each webhook URL may send, with bursts of up to
	// RateBurst; zero values take DefaultRateLimit and DefaultRateBurst, rate.Inf turns it off.
	RateLimit rate.Limit
	RateBurst int
	// Metrics is what /metrics serves; nil gives the app a registry of its own (then batch
	// sizes and commit latency, which main wires to the warehouse, stay empty).
	Metrics      *metrics.Metrics
	MetricsToken string // bearer token /metrics requires; empty: /metrics answers 404
	// Flood sums refused and failed requests up in the log; nil: one of New's own, every
	// DefaultFloodInterval. New has it write to Log.
	Flood *FloodLog
	// TrustedProxies may set X-Forwarded-For and X-Forwarded-Proto; nobody else's are read.
	TrustedProxies handlers.Proxies
	// DownloadStall cuts a download (CSV, JSON Lines) whose client took nothing for this long,
	// releasing the warehouse read it holds; 0: handlers.DefaultDownloadStall.
	DownloadStall time.Duration
	// Draining makes /healthz answer 503 while the process stops (-shutdown-drain); nil: never.
	Draining func() bool
	// LeftInFiles maps the schemas whose SQLite files the data folder holds and the PostgreSQL
	// warehouse lacks (-warehouse set on a folder loaded before) to their files: their pages say so.
	LeftInFiles map[string]string
}

// New builds the Echo application.
func New(cfg Config) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // slog does the logging
	// Forwarding headers count only from the proxies named in -trusted-proxies (none by
	// default, not even loopback: a local sender could otherwise pick the IP the Extraction
	// Logs show and dodge the per-IP sign-in throttle). X-Real-IP is never read.
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range cfg.TrustedProxies.Networks() {
		trust = append(trust, echo.TrustIPRange(n))
	}
	e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	e.SchemeExtractor = echo.ExtractSchemeFromHeaders(trust...)
	if cfg.Flood == nil {
		cfg.Flood = NewFloodLog(DefaultFloodInterval)
	}
	cfg.Flood.log = cfg.Log
	e.HTTPErrorHandler = errorHandler(cfg.Log, cfg.Flood)

	sm := scs.New()
	sm.Store = cfg.Store.SessionStore()
	sm.HashTokenInStore = true // the store holds tokens' hashes: reading it does not sign anyone in
	sm.Lifetime = 7 * 24 * time.Hour
	sm.IdleTimeout = 12 * time.Hour
	sm.Cookie.Name = "hookhouse_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = strings.HasPrefix(cfg.PublicURL, "https://")
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		cfg.Log.Error("session store failed", "err", err)
		http.Error(w, "The session store is unavailable; try again in a moment.", http.StatusInternalServerError)
	}

	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = handlers.DefaultMaxBodyBytes
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(metrics.Sources{ActiveIntegrations: cfg.Store.ActiveIntegrations, DroppedActivity: cfg.Store.DroppedActivity, LiveStreams: cfg.Store.Watches})
	}
	h := handlers.New(handlers.Deps{
		Store:                cfg.Store,
		Warehouse:            cfg.Warehouse,
		Sessions:             sm,
		Log:                  cfg.Log,
		PublicURL:            strings.TrimSuffix(cfg.PublicURL, "/"),
		DataDir:              cfg.DataDir,
		MaxBodyBytes:         cfg.MaxBodyBytes,
		MaxInflightBodyBytes: cfg.MaxInflightBodyBytes,
		Metrics:              cfg.Metrics,
		MetricsToken:         cfg.MetricsToken,
		Proxies:              cfg.TrustedProxies,
		Draining:             cfg.Draining,
		DownloadStall:        cfg.DownloadStall,
		LeftInFiles:          cfg.LeftInFiles,
	})

	e.Use(middleware.Recover(), accessLog(cfg.Log, cfg.Flood), securityHeaders)
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	routes(e, h, sm, cfg.Store, rateLimit(cfg.RateLimit, cfg.RateBurst))
	return e
}
