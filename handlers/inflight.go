package handlers

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// DefaultMaxInflightBodyBytes bounds the webhook body bytes held in memory at once, across all
// requests, unless configured otherwise: sized for a small machine. Decoding and loading a
// body of small events costs up to about 15 times its size on top (RELIABILITY.md, item 6), so
// the default keeps a burst of the largest bodies near 1 GB.
const DefaultMaxInflightBodyBytes = 64 << 20

// bodyBudget is the in-flight body bound: each request reserves its body's bytes before it
// reads them and gives them back when it is done, so 64 senders of 19 MB bodies cannot make
// the process hold 1.2 GB of bodies (and many times that while decoding them).
type bodyBudget struct {
	limit int64
	used  atomic.Int64
	err   *echo.HTTPError // the 503, built once
}

func newBodyBudget(limit int64) *bodyBudget {
	return &bodyBudget{limit: limit, err: echo.NewHTTPError(http.StatusServiceUnavailable,
		"hookhouse is receiving too many large bodies at once (more than "+strconv.FormatInt(limit, 10)+
			" bytes in flight); nothing of this request was stored. Retry after the number of seconds in Retry-After, or send fewer events per request.")}
}

// take reserves n bytes if they fit, and reports whether they did.
func (b *bodyBudget) take(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// reservation starts a request's hold on the budget, empty.
func (b *bodyBudget) reservation() reservation { return reservation{budget: b} }

// reservation is what one request holds of the budget.
type reservation struct {
	budget *bodyBudget
	held   int64
}

func (r *reservation) grow(n int64) bool {
	if !r.budget.take(n) {
		return false
	}
	r.held += n
	return true
}

// release gives back everything the request held; it runs on every path (deferred).
func (r *reservation) release() {
	r.budget.used.Add(-r.held)
	r.held = 0
}

// readBody reads the request's body into memory within the budget: a body with a
// Content-Length reserves that many bytes before anything is read; a chunked body reserves
// each growth of its buffer before it grows. Over the budget it answers 503 with Retry-After
// and returns no body (nothing of it is logged or stored). The caller releases res.
func (h *Handler) readBody(c echo.Context, res *reservation) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > h.MaxBodyBytes {
		return nil, h.errTooLarge() // no need to read what is announced too large
	}
	if req.ContentLength >= 0 {
		if !res.grow(req.ContentLength) {
			return nil, h.errInflight(c)
		}
		// net/http ends the body at Content-Length (within the limit, checked above), so no
		// MaxBytesReader; short is an error. Closed once read, net/http does not drain it
		// again (an io.CopyN, and its allocation, per request).
		buf := make([]byte, req.ContentLength)
		_, err := io.ReadFull(req.Body, buf)
		if err == nil {
			err = req.Body.Close()
		}
		return buf, err
	}
	r := http.MaxBytesReader(c.Response(), req.Body, h.MaxBodyBytes)
	if !res.grow(512) {
		return nil, h.errInflight(c)
	}
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= h.MaxBodyBytes {
				// At the limit: the body must end here, or it is too large (MaxBytesError).
				var one [1]byte
				_, err := io.ReadFull(r, one[:])
				if err == io.EOF {
					return buf, nil
				}
				if err == nil {
					err = h.errTooLarge()
				}
				return buf, err
			}
			more := min(int64(cap(buf)), h.MaxBodyBytes-int64(cap(buf)))
			if !res.grow(more) {
				return nil, h.errInflight(c)
			}
			buf = slices.Grow(buf, int(more))
			buf = buf[: len(buf) : len(buf)+int(more)] // use exactly what is reserved
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (h *Handler) errInflight(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "1")
	return h.bodies.err
}
