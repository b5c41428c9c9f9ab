package store

import (
	"errors"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
	"github.com/hookhouse/hookhouse/store/warehouse"
)

// Moving from the embedded default to PostgreSQL: after CopyInto, the same password signs in,
// the same webhook URLs authenticate (a revoked one stays refused), signed integrations verify
// with the same key, the team, logs and charts are there, and new rows get new ids.
func TestCopyIntoMovesTheMetadataToPostgres(t *testing.T) {
	ctx := t.Context()
	key := testKey()
	src := sqliteDB(t).open(t)
	defer src.Close()
	if err := src.SetSecretKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	in := addVero(t, src)
	owner := in.UserID
	revoked, revokedToken, err := src.CreateWebhookURL(ctx, owner, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.RevokeWebhookURL(ctx, owner, in.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	signed, _, signedToken, err := src.CreateIntegration(ctx, NewIntegration{UserID: owner, Name: "Hooks", Source: "incoming-webhooks", Schema: "hooks"})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.SaveSigning(ctx, owner, signed.ID, signature.Config{Scheme: signature.StandardWebhooks}, true, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	if err := src.SetPaused(ctx, owner, signed.ID, true); err != nil {
		t.Fatal(err)
	}
	_, inviteToken, err := src.CreateInvite(ctx, owner, "mate@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.DeleteIntegration(ctx, owner, mustCreate(t, src, owner, "old_data").ID, true); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	src.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1, Body: []byte(`{"id":1}`)})
	src.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 400, Error: "invalid JSON", Body: []byte(`{`), BodyTruncated: true})
	src.RecordBatch(in.Schema, warehouse.BatchReport{CommittedAt: now, Records: 1, RowsByTable: map[string]int{"data": 1}})
	if err := src.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	srcToken := func() string {
		_, token, err := src.CreateWebhookURL(ctx, owner, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}()
	mate, err := src.AcceptInvite(ctx, inviteToken, "teammate password")
	if err != nil {
		t.Fatal(err)
	}

	pg := postgresDB(t)
	dst := pg.open(t)
	defer dst.Close()
	if err := dst.SetSecretKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := src.CopyInto(ctx, dst, CopyOptions{Logs: true}); err != nil {
		t.Fatal(err)
	}

	if _, err := dst.Authenticate(ctx, "a@example.com", "long enough password"); err != nil {
		t.Fatalf("the owner cannot sign in after the copy: %v", err)
	}
	if u, err := dst.Authenticate(ctx, "mate@example.com", "teammate password"); err != nil || u.ID != mate.ID || u.WorkspaceID != owner {
		t.Fatalf("the teammate after the copy: %+v %v", u, err)
	}
	target, err := dst.WebhookTarget(ctx, in.ID, srcToken)
	if err != nil || target.Schema != "stitch_vero" {
		t.Fatalf("a URL made on SQLite, on PostgreSQL: %+v %v", target, err)
	}
	if _, err := dst.WebhookTarget(ctx, in.ID, revokedToken); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("the revoked URL after the copy: %v", err)
	}
	target, err = dst.WebhookTarget(ctx, signed.ID, signedToken)
	if err != nil || !target.Verifier.Signs() || !target.Paused {
		t.Fatalf("the signed, paused integration after the copy: %+v %v", target, err)
	}
	if _, _, _, err := dst.CreateIntegration(ctx, NewIntegration{UserID: mate.ID, Name: "x", Source: "vero", Schema: "old_data"}); !errors.Is(err, ErrSchemaTaken) {
		t.Fatalf("the kept schema is not reserved after the copy: %v", err)
	}
	logs, err := dst.ExtractionLogs(ctx, owner, in.ID, LogFilter{}, 0, 10)
	if err != nil || len(logs) != 2 || !logs[0].BodyTruncated || logs[1].BodyTruncated {
		t.Fatalf("the extraction logs after the copy: %+v %v", logs, err)
	}
	if n := queryInt(t, dst, "SELECT logged_body_bytes FROM integrations WHERE id = ?", in.ID); n != len(`{"id":1}`)+1 {
		t.Fatalf("logged body bytes %d after the copy", n)
	}
	act, err := dst.ActivityOf(ctx, owner, []int64{in.ID})
	if err != nil || act[in.ID] == nil || act[in.ID].RequestsLastHour != 2 || act[in.ID].RowsToday != 1 {
		t.Fatalf("the overview after the copy: %+v %v", act[in.ID], err)
	}
	// New rows go on after the copied ids.
	next := mustCreate(t, dst, owner, "after_copy")
	if next.ID <= signed.ID {
		t.Fatalf("a new integration got id %d, taken by the copy", next.ID)
	}

	// A second copy is refused, and changes nothing.
	if err := src.CopyInto(ctx, dst, CopyOptions{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("copying into a database with accounts: %v", err)
	}
	// A destination with another key refuses before anything is copied.
	other := postgresDB(t).open(t)
	defer other.Close()
	if err := other.SetSecretKey(ctx, testKey()); err != nil {
		t.Fatal(err)
	}
	if err := src.CopyInto(ctx, other, CopyOptions{}); err == nil {
		t.Fatal("copied signing secrets the destination's key cannot open")
	}
	if has, _ := other.HasUsers(ctx); has {
		t.Fatal("a failed copy left accounts behind")
	}
}

func mustCreate(t *testing.T, s *Store, user int64, schema string) Integration {
	t.Helper()
	in, _, _, err := s.CreateIntegration(t.Context(), NewIntegration{UserID: user, Name: schema, Source: "vero", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// The copy goes on counting after every id the SQLite file gave: the newest integration,
// deleted before the copy, and the Extraction Logs left behind (no -logs) keep their ids, so a
// bookmark of the old server opens nothing on the new one.
func TestCopyIntoGoesOnAfterDeletedAndLeftIds(t *testing.T) {
	ctx := t.Context()
	src := sqliteDB(t).open(t)
	defer src.Close()
	in := addVero(t, src)
	deleted := mustCreate(t, src, in.UserID, "deleted")
	if err := src.DeleteIntegration(ctx, in.UserID, deleted.ID, false); err != nil {
		t.Fatal(err)
	}
	src.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 200, Body: []byte(`{}`)})
	if err := src.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := src.ExtractionLogs(ctx, in.UserID, in.ID, LogFilter{}, 0, 1)
	if err != nil || len(left) != 1 {
		t.Fatalf("the source's logs: %+v %v", left, err)
	}

	dst := postgresDB(t).open(t)
	defer dst.Close()
	if err := src.CopyInto(ctx, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if next := mustCreate(t, dst, in.UserID, "after_copy"); next.ID <= deleted.ID {
		t.Errorf("after the copy, a new integration got id %d; #%d was deleted on SQLite", next.ID, deleted.ID)
	}
	dst.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 200, Body: []byte(`{}`)})
	if err := dst.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	logs, err := dst.ExtractionLogs(ctx, in.UserID, in.ID, LogFilter{}, 0, 2)
	if err != nil || len(logs) != 1 {
		t.Fatalf("the destination's logs: %+v %v", logs, err)
	}
	if logs[0].ID <= left[0].ID {
		t.Errorf("the first request logged after the copy got id %d, that of a request left on SQLite", logs[0].ID)
	}
}
