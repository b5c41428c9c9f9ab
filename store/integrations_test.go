package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSchemaNameDerivation(t *testing.T) {
	for _, tc := range []struct{ display, want string }{
		{"Stitch Vero", "stitch_vero"},
		{"stitch_vero", "stitch_vero"},
		{"Mandrill (EU)", "mandrill_eu"},
		{"Customer.io", "customerio"},
		{"my-webhooks 2", "my_webhooks_2"},
		{"  Padded  ", "padded"},
		{"Café Crème", "cafe_creme"},
		{"Ångström Événements", "angstrom_evenements"},
		{"ﬁle Ｗｅｂ", "file_web"}, // compatibility forms fold to ASCII
		{"日本語", ""},             // nothing ASCII-foldable: the user must choose a name
		{"Sales/Marketing & Co!", "salesmarketing__co"},
		{"Tab\there", "tab_here"},
		{"Stitch - Vero", "stitch___vero"},
	} {
		if got := SchemaName(tc.display); got != tc.want {
			t.Errorf("SchemaName(%q) = %q, want %q", tc.display, got, tc.want)
		}
	}
}

func TestValidateSchemaName(t *testing.T) {
	ok := []string{"stitch_vero", "a", "a1_", strings.Repeat("a", MaxSchemaLength), "mainly", "publication"}
	for _, name := range ok {
		if err := ValidateSchemaName(name); err != nil {
			t.Errorf("%q: %v, want valid", name, err)
		}
	}
	bad := map[string]string{
		"":                                     "Enter a schema name",
		strings.Repeat("a", MaxSchemaLength+1): "at most 63",
		"1vero":                                "start with a letter",
		"_vero":                                "start with a letter",
		"Vero":                                 "only lowercase",
		"ve-ro":                                "only lowercase",
		"vé":                                   "only lowercase",
		"main":                                 "reserved",
		"temp":                                 "reserved",
		"public":                               "reserved",
		"information_schema":                   "reserved",
		"hookhouse":                            "reserved",
		"sqlite_master":                        "reserved",
		"pg_catalog":                           "reserved",
	}
	for name, want := range bad {
		err := ValidateSchemaName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", name, err, want)
		}
	}
}

func TestValidatePrimaryKey(t *testing.T) {
	for _, key := range []string{"", "id", "event_id", "messageId", strings.Repeat("k", 47)} {
		if err := ValidatePrimaryKey(key); err != nil {
			t.Errorf("%q: %v, want valid", key, err)
		}
	}
	for _, key := range []string{strings.Repeat("k", MaxPrimaryKeyLength+1), "data.id", "a\nb"} {
		if err := ValidatePrimaryKey(key); err == nil {
			t.Errorf("%q: valid, want an error", key)
		}
	}
}

// twoUsers returns a store with two accounts (the second added directly: only the owner has
// a sign-up flow so far) and their ids.
func twoUsers(t *testing.T, db testDB) (*Store, int64, int64) {
	t.Helper()
	s := db.open(t)
	t.Cleanup(func() { s.Close() })
	u, err := s.CreateOwner(t.Context(), "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	var other int64
	if err := s.db.QueryRowContext(t.Context(), "INSERT INTO users (email, password_hash, created_at) VALUES ('b@example.com', 'x', '') RETURNING id").Scan(&other); err != nil {
		t.Fatal(err)
	}
	return s, u.ID, other
}

func TestCreateIntegrationAndSchemaCollisions(t *testing.T) {
	eachDB(t, testCreateIntegrationAndSchemaCollisions)
}

func testCreateIntegrationAndSchemaCollisions(t *testing.T, db testDB) {
	s, alice, bob := twoUsers(t, db)
	ctx := t.Context()
	in, u, token, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Stitch Vero", Source: "vero", Schema: "stitch_vero"})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 64 || u.Prefix != token[:8] || u.IntegrationID != in.ID {
		t.Fatalf("token %q, url %+v", token, u)
	}
	got, err := s.Integration(ctx, alice, in.ID)
	if err != nil || got.Schema != "stitch_vero" || got.Name != "Stitch Vero" || got.Paused || !got.LastEventAt.IsZero() {
		t.Fatalf("read back: %+v %v", got, err)
	}
	// Schemas are unique across users and letter case.
	for _, tc := range []struct {
		user   int64
		schema string
	}{{alice, "stitch_vero"}, {bob, "stitch_vero"}} {
		if _, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: tc.user, Name: "x", Source: "vero", Schema: tc.schema}); !errors.Is(err, ErrSchemaTaken) {
			t.Errorf("user %d, schema %s: err %v, want ErrSchemaTaken", tc.user, tc.schema, err)
		}
	}
	if _, err := s.db.Exec("INSERT INTO integrations (user_id, name, source, schema_name, created_at) VALUES (?, 'x', 'vero', 'STITCH_VERO', '')", bob); err == nil {
		t.Error("the unique index lets STITCH_VERO in beside stitch_vero")
	}
	if _, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "x", Source: "vero", Schema: "main"}); err == nil {
		t.Error("reserved schema name accepted by the store")
	}

	// Another user sees none of it.
	if _, err := s.Integration(ctx, bob, in.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's integration: %v", err)
	}
	if list, err := s.ListIntegrations(ctx, bob, IntegrationQuery{Status: StatusAny}); err != nil || len(list.Integrations) != 0 || list.Total != 0 {
		t.Errorf("bob lists %+v (%v)", list, err)
	}
	if err := s.RenameIntegration(ctx, bob, in.ID, "mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob renames alice's integration: %v", err)
	}
	if _, _, err := s.CreateWebhookURL(ctx, bob, in.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob adds a URL to alice's integration: %v", err)
	}
	if _, err := s.RevokeWebhookURL(ctx, bob, in.ID, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob revokes alice's URL: %v", err)
	}
	if err := s.DeleteIntegration(ctx, bob, in.ID, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's integration: %v", err)
	}
	if urls, _ := s.WebhookURLs(ctx, bob, in.ID); len(urls) != 0 {
		t.Errorf("bob lists alice's URLs")
	}
}

func TestKeptSchemaIsReservedForItsOwner(t *testing.T) {
	eachDB(t, testKeptSchemaIsReservedForItsOwner)
}

func testKeptSchemaIsReservedForItsOwner(t *testing.T, db testDB) {
	s, alice, bob := twoUsers(t, db)
	ctx := t.Context()
	in, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Vero", Source: "vero", Schema: "vero"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIntegration(ctx, alice, in.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: bob, Name: "Vero", Source: "vero", Schema: "vero"}); !errors.Is(err, ErrSchemaTaken) {
		t.Fatalf("bob takes alice's kept schema: %v", err)
	}
	if _, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Vero again", Source: "vero", Schema: "vero"}); err != nil {
		t.Fatalf("alice reuses her kept schema: %v", err)
	}

	// Deleted with its data: the name is free for anyone.
	in2, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Zap", Source: "zapier", Schema: "zap"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIntegration(ctx, alice, in2.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: bob, Name: "Zap", Source: "zapier", Schema: "zap"}); err != nil {
		t.Fatalf("bob takes a dropped schema: %v", err)
	}
}

func TestWebhookURLLimitRevokeAndTarget(t *testing.T) { eachDB(t, testWebhookURLLimitRevokeAndTarget) }

func testWebhookURLLimitRevokeAndTarget(t *testing.T, db testDB) {
	s, alice, _ := twoUsers(t, db)
	ctx := t.Context()
	in, first, token1, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Customer.io", Source: "customerio", Schema: "customerio", PrimaryKey: "event_id"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, token3, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Other", Source: "vero", Schema: "other"})
	if err != nil {
		t.Fatal(err)
	}

	target, err := s.WebhookTarget(ctx, in.ID, token1)
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookTarget{IntegrationID: in.ID, URLID: first.ID, Schema: "customerio", Source: "customerio", PrimaryKey: "event_id"}
	if target.generation = 0; target != want { // (when it was read: not the caller's business)
		t.Fatalf("target %+v, want %+v", target, want)
	}

	second, token2, err := s.CreateWebhookURL(ctx, alice, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if token2 == token1 || second.ID == first.ID {
		t.Fatal("second URL repeats the first")
	}
	if _, _, err := s.CreateWebhookURL(ctx, alice, in.ID); !errors.Is(err, ErrTooManyURLs) {
		t.Fatalf("third active URL: %v, want ErrTooManyURLs", err)
	}

	revoked, err := s.RevokeWebhookURL(ctx, alice, in.ID, first.ID)
	if err != nil || revoked.Active() || revoked.Prefix != token1[:8] {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	again, err := s.RevokeWebhookURL(ctx, alice, in.ID, first.ID)
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Fatalf("revoking twice moved the time or failed: %+v %v", again, err)
	}
	if _, err := s.RevokeWebhookURL(ctx, alice, other.ID, second.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke through the wrong integration: %v", err)
	}

	// One error for every wrong part; the revoked URL is refused at once.
	for name, tc := range map[string]struct {
		id    int64
		token string
	}{
		"revoked":                   {in.ID, token1},
		"unknown integration":       {999, token2},
		"other integration's token": {in.ID, token3},
		"token for the wrong id":    {other.ID, token2},
		"made up":                   {in.ID, strings.Repeat("0", 64)},
		"empty":                     {in.ID, ""},
		"huge":                      {in.ID, strings.Repeat("a", 10000)},
	} {
		if _, err := s.WebhookTarget(ctx, tc.id, tc.token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}
	if _, err := s.WebhookTarget(ctx, in.ID, token2); err != nil {
		t.Fatalf("active URL refused: %v", err)
	}

	// With one revoked, a new URL can be generated again.
	if _, _, err := s.CreateWebhookURL(ctx, alice, in.ID); err != nil {
		t.Fatalf("generate after revoke: %v", err)
	}
	urls, err := s.WebhookURLs(ctx, alice, in.ID)
	if err != nil || len(urls) != 3 || urls[0].Active() || !urls[1].Active() || !urls[2].Active() {
		t.Fatalf("urls: %+v %v", urls, err)
	}

	// Paused integrations still authenticate; the endpoint answers 503 for them.
	if err := s.SetPaused(ctx, alice, in.ID, true); err != nil {
		t.Fatal(err)
	}
	if target, err := s.WebhookTarget(ctx, in.ID, token2); err != nil || !target.Paused {
		t.Fatalf("paused target: %+v %v", target, err)
	}

	// Deleting the integration refuses its URLs.
	if err := s.DeleteIntegration(ctx, alice, in.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebhookTarget(ctx, in.ID, token2); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("deleted integration's URL: %v", err)
	}
}

func TestTouchWebhookURLWritesOncePerMinute(t *testing.T) {
	eachDB(t, testTouchWebhookURLWritesOncePerMinute)
}

func testTouchWebhookURLWritesOncePerMinute(t *testing.T, db testDB) {
	s, alice, _ := twoUsers(t, db)
	ctx := t.Context()
	in, u, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: alice, Name: "Vero", Source: "vero", Schema: "vero"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 10, 30, 15, 0, time.UTC)
	for _, when := range []time.Time{at, at.Add(30 * time.Second)} {
		if err := s.TouchWebhookURL(ctx, u.ID, in.ID, when); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (time.Time, time.Time) {
		got, _ := s.Integration(ctx, alice, in.ID)
		urls, _ := s.WebhookURLs(ctx, alice, in.ID)
		return got.LastEventAt, urls[0].LastUsedAt
	}
	if event, used := read(); !event.Equal(at) || !used.Equal(at) {
		t.Fatalf("after two touches in one minute: last event %v, last used %v, want %v", event, used, at)
	}
	next := at.Add(time.Minute)
	if err := s.TouchWebhookURL(ctx, u.ID, in.ID, next); err != nil {
		t.Fatal(err)
	}
	if event, used := read(); !event.Equal(next) || !used.Equal(next) {
		t.Fatalf("next minute: last event %v, last used %v, want %v", event, used, next)
	}
	if err := s.TouchWebhookURL(ctx, u.ID, in.ID+1, next); !errors.Is(err, ErrNotFound) {
		t.Fatalf("touch through the wrong integration: %v", err)
	}
}

func TestTokensAreStoredOnlyAsHashes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), filepath.Join(dir, "hookhouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateOwner(t.Context(), "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	in, _, token1, err := s.CreateIntegration(t.Context(), NewIntegration{UserID: u.ID, Name: "Vero", Source: "vero", Schema: "vero"})
	if err != nil {
		t.Fatal(err)
	}
	_, token2, err := s.CreateWebhookURL(t.Context(), u.ID, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{token1, token2, token1[8:], token2[8:]} {
			if bytes.Contains(b, []byte(token)) {
				t.Errorf("%s holds (part of) a token in plaintext", f)
			}
		}
		if !bytes.Contains(b, []byte(hashToken(token1))) && filepath.Base(f) == "hookhouse.db" {
			t.Errorf("%s does not hold the token's hash", f)
		}
	}
}

func TestTargetCacheDropsLookupsThatRacedAWrite(t *testing.T) {
	var c targetCache
	k := targetKey{1, sha256.Sum256([]byte("token"))}
	gen := c.generation()
	c.forget() // a revoke commits while the lookup is reading the database
	c.put(k, WebhookTarget{IntegrationID: 1}, gen)
	if _, ok := c.get(k); ok {
		t.Fatal("a lookup that raced a revoke was cached")
	}
	c.put(k, WebhookTarget{IntegrationID: 1}, c.generation())
	if _, ok := c.get(k); !ok {
		t.Fatal("a current lookup was not cached")
	}
	c.forget()
	if _, ok := c.get(k); ok {
		t.Fatal("forget kept an entry")
	}
}

// TestPrimaryKeysTheNamingRulesRefuse: a primary key whose column could not be named, or
// whose subtables' source key column would pass 63 characters, is refused when the
// integration is saved, not by rejecting every record later (review).
func TestPrimaryKeysTheNamingRulesRefuse(t *testing.T) {
	for key, ok := range map[string]bool{
		"id": true, "message_id": true, "userId": true, "_id": true,
		"ключ": false, "123": false, "_sdc_id": false, "id__st": false, strings.Repeat("k", 48): false, strings.Repeat("k", 47): true,
	} {
		if err := ValidatePrimaryKey(key); (err == nil) != ok {
			t.Errorf("ValidatePrimaryKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}
