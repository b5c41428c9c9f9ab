package web_test

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// Two hookhouse nodes on one PostgreSQL (metadata and warehouse), with one secret key, as
// behind a load balancer without sticky sessions: a browser's requests go to either.
func TestAnyNodeServesAnyRequest(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	on := testDatabases{Metadata: pgtest.Start(t), Warehouse: pgtest.Start(t), SecretKey: key}
	n1 := newTestAppOn(t, on, slog.LevelDebug, warehouse.Options{}, web.Config{})
	n2 := newTestAppOn(t, on, slog.LevelDebug, warehouse.Options{}, web.Config{})

	// Signed in through one node, the next page from the other (cookies ignore the port).
	c := n1.signedInClient(t)
	c.app = n2
	expectStatus(t, c.get("/integrations"), http.StatusOK)

	// Add Integration on node 1, the copy-once page on node 2: shown there, then on neither.
	c.app = n1
	added := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}})
	expectRedirect(t, added, "/integrations/1/webhook-url")
	c.app = n2
	hook := revealedURL(t, c, added.Header.Get("Location"))
	for _, node := range []*testApp{n1, n2} {
		c.app = node
		if p := c.get(added.Header.Get("Location")); strings.TrimSpace(testID(p, "webhook-url").Text()) != "" {
			t.Fatalf("the URL is shown again by %s", node.URL)
		}
	}

	// The URL works on both nodes; revoked through node 1, node 2 refuses it within a second.
	at := func(node *testApp) string {
		return node.URL + strings.TrimPrefix(hook, hook[:strings.Index(hook, "/v1/")])
	}
	for i, node := range []*testApp{n1, n2, n2} { // node 2 now has it cached
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, at(node), "application/json", []byte(fmt.Sprintf(`{"id":%d}`, i))); a.Status != http.StatusOK {
			t.Fatalf("webhook through %s: %d %s", node.URL, a.Status, a.Body)
		}
	}
	c.app = n1
	c.get("/integrations/1/settings")
	expectStatus(t, c.post("/integrations/1/urls/1/revoke", nil), http.StatusSeeOther)
	revoked := time.Now()
	accepted := 3
	for ; ; accepted++ { // the ones node 2 accepted before it heard of the revoke count too
		a := postWebhook(t, http.DefaultClient, http.MethodPost, at(n2), "application/json", []byte(`{"id":99}`))
		if a.Status == http.StatusUnauthorized {
			t.Logf("node 2 refuses the URL %v after node 1 revoked it", time.Since(revoked).Round(time.Millisecond))
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("node 2 still answers %d a second after node 1 revoked the URL", a.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Both nodes' requests are in the one overview: one accepted by node 1, the others by node
	// 2, and node 2's refusal of the revoked URL, which counts against its integration.
	for _, node := range []*testApp{n1, n2} {
		if err := node.Store.FlushActivity(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	act, err := n1.Store.ActivityOf(t.Context(), 1, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	if a := act[1]; a == nil || a.RequestsLastHour != accepted+1 || a.RowsToday != accepted || a.RevokedLastDay != 1 {
		t.Fatalf("the overview counts %+v, want the %d requests (one to the revoked URL) and %d rows of both nodes", a, accepted+1, accepted)
	}
}
