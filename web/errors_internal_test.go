package web

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// While the warehouse is down every retry fails alike: the first failure is logged, the same
// ones are counted until the interval ends, and the next line says how many were left out.
// Another failure is logged at once.
func TestRepeatedFailuresAreLoggedOncePerInterval(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f := &failureLog{log: slog.New(slog.NewTextHandler(&out, nil)), every: 10 * time.Second, now: func() time.Time { return now }}
	down := errors.New("warehouse: dial unix /run/postgresql/.s.PGSQL.5432: connect: connection refused")
	for range 500 {
		f.failed("POST", "/v1/clients/1/token/…", 503, down)
	}
	f.failed("GET", "/integrations/1/data", 500, errors.New("disk I/O error"))
	now = now.Add(10 * time.Second)
	f.failed("POST", "/v1/clients/1/token/…", 503, down)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "same_failures_not_logged=0") ||
		!strings.Contains(lines[1], "disk I/O error") || !strings.Contains(lines[2], "same_failures_not_logged=499") {
		t.Fatalf("log:\n%s\nwant the first failure, the other one, then the first again with 499 left out", out.String())
	}
}
