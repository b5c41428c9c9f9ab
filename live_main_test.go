package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An open live page (its event stream never ends by itself) does not hold up a shutdown:
// SIGTERM ends the stream at once and the server exits well within its 15 s grace.
func TestOpenLivePageDoesNotHoldUpShutdown(t *testing.T) {
	s := startServer(t, t.TempDir(), adminEnv...)
	addWebhookIntegration(t, s, "Orders")
	c, ok := signInClient(t, s.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatalf("sign-in failed:\n%s", s.logs())
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/integrations/1/live", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(first) != "retry: 2000" {
		t.Fatalf("live stream: %d %q %v", resp.StatusCode, first, err)
	}
	start := time.Now()
	s.stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("exit took %v with a live page open", took)
	} else {
		t.Logf("exit %v after SIGTERM with a live page open", took.Round(time.Millisecond))
	}
}
