package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

func trusting(t *testing.T, list string) web.Config {
	t.Helper()
	p, err := handlers.ParseProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return web.Config{TrustedProxies: p}
}

// postForwarded submits a form as if relayed by a proxy for the client at ip.
func (c *client) postForwarded(path, ip string, form url.Values) response {
	c.t.Helper()
	form = cloneValues(form)
	form.Set("_csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	return c.do(req)
}

// X-Forwarded-For counts only from a proxy named in -trusted-proxies. From anyone else it is
// ignored: a sender cannot choose the IP the Extraction Logs show, nor dodge the per-IP
// sign-in throttle by claiming a new address each time.
func TestForwardedForCountsOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       web.Config
		believed  bool
		signInsOK int // wrong passwords for distinct emails answered 401 before the IP is throttled
	}{
		{"no trusted proxies (the default)", web.Config{}, false, 5},
		{"a trusted range that is not the peer", trusting(t, "10.0.0.0/8, 192.168.1.1"), false, 5},
		{"the peer is a trusted proxy", trusting(t, "127.0.0.1"), true, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTestAppWith(t, warehouse.Options{}, tc.cfg)
			owner := app.signedInClient(t)
			id, hookURL := mustAdd(t, owner, "incoming-webhooks", "Orders")
			req, _ := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(`{"id":1}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			app.flush(t)
			row := testID(owner.get(fmt.Sprintf("/integrations/%d/extraction-logs", id)), "log-row").First().Text()
			if shown := strings.Contains(row, "203.0.113.7"); shown != tc.believed || (!tc.believed && !strings.Contains(row, "127.0.0.1")) {
				t.Errorf("Extraction Logs row %q: shows the forwarded IP %v, want %v", strings.Join(strings.Fields(row), " "), shown, tc.believed)
			}

			c := app.newClient(t)
			c.get("/login")
			var statuses []int
			for i := range 8 {
				p := c.postForwarded("/login", fmt.Sprintf("198.51.100.%d", i+1),
					url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password!"}})
				statuses = append(statuses, p.Status)
			}
			for i, s := range statuses {
				want := http.StatusUnauthorized
				if i >= tc.signInsOK {
					want = http.StatusTooManyRequests
				}
				if s != want {
					t.Fatalf("8 wrong sign-ins for distinct emails, each claiming a new IP: %v, want %d answered 401 and the rest 429", statuses, tc.signInsOK)
				}
			}
		})
	}
}

// Sign-ins from many addresses at once (here: relayed by a trusted proxy) are not throttled
// per IP or email, but the password hashes they cost are bounded: those that cannot be checked
// soon are answered 503 with Retry-After at once instead of piling up.
func TestPasswordChecksAreBoundedUnderADistributedBurst(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, trusting(t, "127.0.0.1"))
	app.signedInClient(t)
	const burst = 80
	clients := make([]*client, burst)
	for i := range clients {
		clients[i] = app.newClient(t)
		clients[i].get("/login")
	}
	answers := make([]response, burst)
	took := make([]time.Duration, burst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			<-start
			began := time.Now()
			answers[i] = c.postForwarded("/login", fmt.Sprintf("198.51.%d.%d", i/250, i%250+1),
				url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password!"}})
			took[i] = time.Since(began)
		})
	}
	close(start)
	wg.Wait()
	statuses := map[int]int{}
	var slowestBusy time.Duration
	for i, p := range answers {
		statuses[p.Status]++
		if p.Status == http.StatusServiceUnavailable {
			slowestBusy = max(slowestBusy, took[i])
			if p.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}
	}
	t.Logf("%d parallel sign-ins from distinct IPs: %v; slowest 503 after %v", burst, statuses, slowestBusy)
	if statuses[http.StatusServiceUnavailable] == 0 || statuses[http.StatusUnauthorized]+statuses[http.StatusServiceUnavailable] != burst {
		t.Fatalf("answers %v: want some 503 (too many hashes at once) and 401 for the rest", statuses)
	}
}

// The per-IP sign-in throttle counts an IPv6 client by its /64, the usual allocation to one
// host or customer: keyed by the whole address, its owner took a new one for each guess. An
// IPv4 address (IPv4-mapped IPv6 too) counts alone.
func TestSignInThrottleCountsAnIPv6ClientByItsSlash64(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, trusting(t, "127.0.0.1"))
	app.signedInClient(t)
	c := app.newClient(t)
	c.get("/login")
	guesses := 0
	signIn := func(ip string) int { // a wrong password for an email not tried before
		guesses++
		return c.postForwarded("/login", ip, url.Values{"email": {fmt.Sprintf("guess%d@example.com", guesses)}, "password": {"wrong password!"}}).Status
	}
	for _, tc := range []struct {
		failFrom, thenFrom string
		shared             bool
	}{
		{"2001:db8:1:1::1", "2001:db8:1:1:ffff:ffff:ffff:fffe", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"198.51.100.1", "::ffff:198.51.100.1", true},
		{"198.51.100.2", "198.51.100.3", false},
	} {
		for i := range 5 { // the free failures: from the first address, plus one from the second
			from := tc.failFrom
			if i == 4 {
				from = tc.thenFrom
			}
			if s := signIn(from); s != http.StatusUnauthorized {
				t.Fatalf("failure %d from %s: %d, want 401", i+1, from, s)
			}
		}
		want := http.StatusUnauthorized
		if tc.shared {
			want = http.StatusTooManyRequests
		}
		if s := signIn(tc.thenFrom); s != want {
			t.Errorf("after 4 failures from %s and 1 from %s, a sixth from %s: %d, want %d", tc.failFrom, tc.thenFrom, tc.thenFrom, s, want)
		}
	}
}
