package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// While the warehouse is down every retry fails alike: the first failure is logged in full, the
// same ones are counted, and when the interval ends one line at Error says how many there were.
// Another failure is logged at once, and a stop ends the interval with its counts.
func TestRepeatedFailuresAreLoggedOncePerInterval(t *testing.T) {
	var out bytes.Buffer
	f := NewFloodLog(time.Hour) // only Flush ends this test's intervals
	f.log = slog.New(slog.NewTextHandler(&out, nil))
	down := errors.New("warehouse: dial unix /run/postgresql/.s.PGSQL.5432: connect: connection refused")
	for range 500 {
		f.failed("POST", "/v1/clients/1/token/…", 503, down)
	}
	f.failed("GET", "/integrations/1/data", 500, errors.New("disk I/O error"))
	f.Flush()
	f.failed("POST", "/v1/clients/1/token/…", 503, down)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`level=ERROR msg="request failed" method=POST path=/v1/clients/1/token/… status=503 err="warehouse: dial unix`,
		`level=ERROR msg="request failed" method=GET path=/integrations/1/data status=500 err="disk I/O error"`,
		`level=ERROR msg="request failures in the last `, // the 503s; the one 500 has its line
		`level=ERROR msg="request failed" method=POST`,
	}
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(lines[i], want[i])
	}
	if !ok || !strings.Contains(lines[2], "status=503 count=500 err=") {
		t.Fatalf("log:\n%s\nwant each failure in full once, then one line with the count of the repeated one (500), then it in full again", out.String())
	}
}

// A failure's line names the request's path: a token in it, however spelled, is redacted.
func TestAFailureLineRedactsTheToken(t *testing.T) {
	const token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	var out bytes.Buffer
	f := NewFloodLog(time.Hour)
	f.log = slog.New(slog.NewTextHandler(&out, nil))
	for i, path := range []string{"/v1/clients/1/Token/" + token, "/V1/clients/1/token/" + token, "/Invite/" + token} {
		f.failed("GET", path, 500, errors.New("disk I/O error "+string(rune('a'+i))))
	}
	f.Flush()
	if strings.Contains(out.String(), token[:16]) || strings.Count(out.String(), `msg="request failed"`) != 3 {
		t.Fatalf("log:\n%s\nwant three failures, none with the token", out.String())
	}
}

// A request whose client left while it was served (a page closed while it loads) is no failure:
// before, the warehouse's "context canceled" was logged at Error as a 503 and counted among the
// dashboard's refusals. Now nothing is written and nothing logged above debug.
func TestAClientThatLeftIsNoFailure(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	flood := NewFloodLog(time.Hour)
	flood.log = log
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(log, flood)
	e.Use(accessLog(log, flood))
	e.GET("/integrations/:id", func(c echo.Context) error {
		<-c.Request().Context().Done() // the warehouse's query, cut off by the client's leaving
		return echo.NewHTTPError(http.StatusServiceUnavailable, "The warehouse cannot be read.").
			SetInternal(fmt.Errorf("warehouse orders: count columns: %w", c.Request().Context().Err()))
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/integrations/2", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	cancel()
	e.ServeHTTP(rec, req)
	flood.Flush()
	if rec.Body.Len() != 0 || out.Len() != 0 {
		t.Fatalf("answer %d %q, log:\n%s\nwant nothing written and nothing logged at info or above", rec.Code, rec.Body.String(), out.String())
	}

	// A request still wanted whose query was cancelled for another reason is a failure, as before.
	e.GET("/other", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "The warehouse cannot be read.").SetInternal(context.Canceled)
	})
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(out.String(), `msg="request failed"`) {
		t.Fatalf("answer %d, log:\n%s\nwant a 503 and the failure logged", rec.Code, out.String())
	}
}
