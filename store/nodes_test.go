package store

import (
	"errors"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
	"github.com/hookhouse/hookhouse/store/warehouse"
)

// twoNodes opens two stores on one PostgreSQL database, as two hookhouse nodes would, with
// the same secret key.
func twoNodes(t *testing.T) (a, b *Store) {
	t.Helper()
	db := postgresDB(t)
	a, b = db.open(t), db.open(t)
	t.Cleanup(func() { a.Close(); b.Close() })
	key := testKey()
	for _, s := range []*Store{a, b} {
		if err := s.SetSecretKey(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// refusedWithin polls node's lookup of token until it is refused, and fails the test if that
// takes longer than limit.
func refusedWithin(t *testing.T, node *Store, integrationID int64, token string, limit time.Duration, what string) {
	t.Helper()
	start := time.Now()
	for {
		target, err := node.WebhookTarget(t.Context(), integrationID, token)
		if errors.Is(err, ErrUnauthorized) || (err == nil && target.Paused) {
			t.Logf("%s: the other node refuses after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s on one node: the other still accepts the URL after %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCached looks the URL up on node until node caches it. The listener connects in the
// background and the cache is off until it has: a test of invalidation must first see the
// URL cached, or it would prove nothing about the cache.
func waitCached(t *testing.T, node *Store, integrationID int64, token string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := node.WebhookTarget(t.Context(), integrationID, token); err != nil {
			t.Fatal(err)
		}
		if _, cached := node.targets.get(targetKey{integrationID, tokenDigest(token)}); cached {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the node never caches the URL: its listener is not connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A revoke, pause or delete through one node is refused by the other within a second, though
// the other had the URL in its cache.
func TestOtherNodesRefuseARevokedURLWithinASecond(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in := addVero(t, a)
	owner := in.UserID

	u, token, err := a.CreateWebhookURL(ctx, owner, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitCached(t, b, in.ID, token)
	if _, err := a.RevokeWebhookURL(ctx, owner, in.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, in.ID, token, time.Second, "revoke")

	_, token, err = a.CreateWebhookURL(ctx, owner, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitCached(t, b, in.ID, token)
	if err := a.SetPaused(ctx, owner, in.ID, true); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, in.ID, token, time.Second, "pause")
	if err := a.SetPaused(ctx, owner, in.ID, false); err != nil {
		t.Fatal(err)
	}

	waitCached(t, b, in.ID, token)
	if err := a.DeleteIntegration(ctx, owner, in.ID, false); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, in.ID, token, time.Second, "delete")
}

// The listener reconnects after its connection is cut, and the cache (off meanwhile) works
// again, still hearing of the other node's changes.
func TestListenerReconnects(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in := addVero(t, a)
	u, token, err := a.CreateWebhookURL(ctx, in.UserID, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	// End b's listening connection from the server side, as a PostgreSQL restart would.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ended int
		if err := a.read.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN `+targetsChannel+`%'`).Scan(&ended); err != nil {
			t.Fatal(err)
		}
		if ended == 2 { // both nodes' listeners
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d listening connections, want 2", ended)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitCached(t, b, in.ID, token) // the cache is on again: the listener reconnected
	if _, err := a.RevokeWebhookURL(ctx, in.UserID, in.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, in.ID, token, time.Second, "revoke after a reconnect")
}

// The overview's figures add up what every node recorded.
func TestCountersAddUpAllNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in := addVero(t, a)
	now := time.Now().UTC()
	for i, node := range []*Store{a, b, a, b, b} {
		node.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1})
		if i == 4 {
			node.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 400, Error: "invalid JSON"})
		}
		node.RecordBatch(in.Schema, warehouse.BatchReport{CommittedAt: now, Records: 1, RowsByTable: map[string]int{"data": 1}})
	}
	// A heavy stream on both: beyond the sample, requests are only counted in memory.
	for range LoggedBurst + 30 {
		a.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1})
		b.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1})
	}
	for _, node := range []*Store{a, b} {
		if err := node.FlushActivity(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := Activity{RowsToday: 5, RequestsLastHour: 6 + 2*(LoggedBurst+30), ErrorsLastHour: 1}
	for name, node := range map[string]*Store{"a": a, "b": b} {
		act, err := node.ActivityOf(ctx, in.UserID, []int64{in.ID})
		if err != nil {
			t.Fatal(err)
		}
		got := act[in.ID]
		if got == nil || got.RowsToday != want.RowsToday || got.RequestsLastHour != want.RequestsLastHour || got.ErrorsLastHour != want.ErrorsLastHour ||
			got.HourlyRows[len(got.HourlyRows)-1] != 5 {
			t.Errorf("node %s shows %+v, want both nodes' requests: %+v and 5 rows this hour", name, got, want)
		}
	}
}

// A dashboard page open on one node hears of webhooks another node recorded (the live
// stream of the integration's pages): the listener passes the arrivals on.
func TestOtherNodesPagesHearOfArrivals(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in := addVero(t, a)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b.targets.mu.RLock()
		listening := !b.targets.off
		b.targets.mu.RUnlock()
		if listening {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node b's listener did not connect within 5s")
		}
	}
	arrived, stop := b.WatchArrivals(in.ID, b.ArrivalMark(in.ID))
	defer stop()
	select {
	case <-arrived:
		t.Fatal("the page was told of an arrival before any")
	case <-time.After(100 * time.Millisecond):
	}
	start := time.Now()
	a.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: start, Status: 200, Records: 1})
	if err := a.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
		t.Logf("node b's page heard of node a's webhook after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatal("a page on node b did not hear within 1s of a webhook node a recorded")
	}
}

// A signing secret saved through one node verifies on another with the same key, and a node
// with another key refuses to start rather than refuse every signed webhook.
func TestNodesShareSealedSecrets(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in, _, token, err := a.CreateIntegration(ctx, NewIntegration{UserID: addVero(t, a).UserID, Name: "Hooks", Source: "incoming-webhooks", Schema: "hooks"})
	if err != nil {
		t.Fatal(err)
	}
	std := signature.Config{Scheme: signature.StandardWebhooks}
	if err := a.SaveSigning(ctx, in.UserID, in.ID, std, true, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	target, err := b.WebhookTarget(ctx, in.ID, token)
	if err != nil || !target.Verifier.Signs() {
		t.Fatalf("node b's target: %+v %v, want the secret node a saved", target, err)
	}
	if err := b.SetSecretKey(ctx, testKey()); err == nil {
		t.Fatal("a node with another key would start")
	}
}

// Nodes started together with HOOKHOUSE_ADMIN_EMAIL each create the owner: one does, the
// others find it done (an error would stop their start); URLs generated on several nodes at
// once stay within MaxActiveURLs.
func TestNodesTakeTurnsWhereOneWriterDid(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	errs := make(chan error, 2)
	for _, node := range []*Store{a, b} {
		go func() {
			_, err := node.CreateOwner(ctx, "owner@example.com", "long enough password")
			errs <- err
		}()
	}
	var created, done int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			created++
		case errors.Is(err, ErrSetupDone):
			done++
		default:
			t.Fatalf("creating the owner on two nodes at once: %v", err)
		}
	}
	if created != 1 || done != 1 {
		t.Fatalf("%d owners created, %d nodes found it done; want 1 and 1", created, done)
	}

	owner, err := a.Authenticate(ctx, "owner@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	in := mustCreate(t, a, owner.ID, "orders")
	results := make(chan error, 6)
	for i := range 6 {
		node := []*Store{a, b}[i%2]
		go func() {
			_, _, err := node.CreateWebhookURL(ctx, owner.ID, in.ID)
			results <- err
		}()
	}
	for range 6 {
		if err := <-results; err != nil && !errors.Is(err, ErrTooManyURLs) {
			t.Fatal(err)
		}
	}
	urls, err := b.WebhookURLs(ctx, owner.ID, in.ID)
	if err != nil || len(urls) != MaxActiveURLs {
		t.Fatalf("%d active URLs after generating on two nodes at once (%v), want %d", len(urls), err, MaxActiveURLs)
	}
}
