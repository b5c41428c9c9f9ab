package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
)

func testKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// Secrets are sealed at rest, opened for the webhook path only, rotated two at a time, and
// a key that cannot open them stops the start.
func TestSigningSecretsAreSealedRotatedAndNeedTheirKey(t *testing.T) {
	eachDB(t, testSigningSecretsAreSealedRotatedAndNeedTheirKey)
}

func testSigningSecretsAreSealedRotatedAndNeedTheirKey(t *testing.T, db testDB) {
	s := db.open(t)
	ctx := t.Context()
	u, err := s.CreateOwner(ctx, "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	in, _, token, err := s.CreateIntegration(ctx, NewIntegration{UserID: u.ID, Name: "Hooks", Source: "incoming-webhooks", Schema: "hooks"})
	if err != nil {
		t.Fatal(err)
	}
	std := signature.Config{Scheme: signature.StandardWebhooks, DeliveryID: "header:webhook-id"}
	const secret1, secret2 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kIHNlY3JldCBvZiB0aGUgdGVzdA=="
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, true, secret1); !errors.Is(err, ErrNoSecretKey) {
		t.Fatalf("saving without a key: %v", err)
	}
	key := testKey()
	if err := s.SetSecretKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if target, err := s.WebhookTarget(ctx, in.ID, token); err != nil || target.Verifier != nil {
		t.Fatalf("an unsigned integration's target: %+v %v, want no verifier", target, err)
	}
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, true, ""); !errors.Is(err, ErrSecretRequired) {
		t.Fatalf("a scheme without a secret: %v", err)
	}
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, true, secret1); err != nil {
		t.Fatal(err)
	}
	target, err := s.WebhookTarget(ctx, in.ID, token)
	if err != nil || !target.Verifier.Signs() {
		t.Fatalf("target after saving: %+v %v", target, err)
	}
	example := func(v *signature.Verifier) error {
		h := http.Header{}
		h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		h.Set("webhook-timestamp", "1614265330")
		h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		return v.Verify(signature.Request{Header: h, Body: []byte(`{"test": 2432232314}`)}, time.Unix(1614265330, 0))
	}
	if err := example(target.Verifier); err != nil {
		t.Fatalf("the stored secret does not verify the spec's example: %v", err)
	}
	// Rotation: a second secret, a third refused, the first removed.
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, false, secret2); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, false, secret2); !errors.Is(err, ErrTooManySecrets) {
		t.Fatalf("a third secret: %v", err)
	}
	sg, err := s.Signing(ctx, u.ID, in.ID)
	if err != nil || len(sg.Secrets) != 2 || sg.Config != std {
		t.Fatalf("signing: %+v %v", sg, err)
	}
	if err := s.RemoveSigningSecret(ctx, u.ID, in.ID, sg.Secrets[0].ID); err != nil {
		t.Fatal(err)
	}
	target, _ = s.WebhookTarget(ctx, in.ID, token)
	if err := example(target.Verifier); err == nil {
		t.Fatal("the removed secret still verifies: the cached target was not refreshed")
	}
	if err := s.RemoveSigningSecret(ctx, u.ID, in.ID, sg.Secrets[1].ID); !errors.Is(err, ErrSecretRequired) {
		t.Fatalf("removing the last secret: %v", err)
	}
	if err := s.RemoveSigningSecret(ctx, u.ID+1, in.ID, sg.Secrets[1].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another user's integration: %v", err)
	}
	if err := s.SaveSigning(ctx, u.ID, in.ID, std, false, secret1); err != nil { // for the check at rest
		t.Fatal(err)
	}
	b := db.atRest(t, s)
	s.Close()
	if db.url == "" {
		b = append(b, db.atRest(t, s)...) // after the WAL's checkpoint too
	}

	// Nothing of either secret at rest, in any encoding.
	for _, sec := range []string{secret1, secret2, strings.TrimPrefix(secret1, "whsec_"), strings.TrimPrefix(secret2, "whsec_")} {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_"))
		if bytes.Contains(b, []byte(sec)) || bytes.Contains(b, raw) || bytes.Contains(b, []byte(hex.EncodeToString(raw))) {
			t.Errorf("the %s database holds a secret in plaintext", db.name)
		}
	}

	// Another key: the start fails and says why; the right key works.
	s = db.open(t)
	defer s.Close()
	if err := s.SetSecretKey(ctx, testKey()); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Fatalf("the wrong key: %v", err)
	}
	if err := s.SetSecretKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	// Switching the scheme off keeps nothing of the old one.
	if err := s.SaveSigning(ctx, u.ID, in.ID, signature.Config{}, true, ""); err != nil {
		t.Fatal(err)
	}
	if target, _ := s.WebhookTarget(ctx, in.ID, token); target.Verifier != nil {
		t.Fatal("a verifier after switching verification off")
	}
}

func TestSecretKeyIsGivenOrCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	key, created, err := LoadSecretKey("", dir)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("first start: %d bytes, created %v, %v", len(key), created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, SecretKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	again, created, err := LoadSecretKey("", dir)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second start: created %v, same %v, %v", created, bytes.Equal(again, key), err)
	}
	given := testKey()
	for _, s := range []string{base64.StdEncoding.EncodeToString(given), base64.RawURLEncoding.EncodeToString(given), hex.EncodeToString(given), " " + hex.EncodeToString(given) + "\n"} {
		k, _, err := LoadSecretKey(s, dir)
		if err != nil || !bytes.Equal(k, given) {
			t.Errorf("key %q: %v", s, err)
		}
	}
	for _, s := range []string{"short", base64.StdEncoding.EncodeToString(given[:31]), hex.EncodeToString(given) + "00", "correct horse battery staple correct horse"} {
		if _, _, err := LoadSecretKey(s, dir); err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Errorf("key %q: %v, want a refusal", s, err)
		}
	}
}
