package store

import (
	"bytes"
	"testing"
	"time"
)

func TestRevealsAreTakenOnceByTheirOwnerBeforeTheyExpire(t *testing.T) {
	eachDB(t, testRevealsAreTakenOnceByTheirOwnerBeforeTheyExpire)
}

func testRevealsAreTakenOnceByTheirOwnerBeforeTheyExpire(t *testing.T, db testDB) {
	s, alice, bob := twoUsers(t, db)
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	secret := []byte("https://x/v1/clients/7/token/0123456789abcdef0123456789abcdef")
	const key = "a session's token and its page"
	if err := s.PutReveal(ctx, key, alice, 7, secret); err == nil {
		t.Fatal("kept without a secret key")
	}
	if err := s.SetSecretKey(ctx, testKey()); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReveal(ctx, key, alice, 7, []byte("replaced by the next")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReveal(ctx, key, alice, 7, secret); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db.atRest(t, s), secret[len(secret)-32:]) {
		t.Fatal("the secret is at rest in plaintext")
	}
	for _, tc := range []struct {
		user, integration int64
		key, who          string
	}{{bob, 7, key, "another user"}, {alice, 8, key, "another integration's page"}, {alice, 7, key + "x", "another key"}, {alice, 7, "", "no key"}} {
		if _, ok, err := s.TakeReveal(ctx, tc.key, tc.user, tc.integration); ok || err != nil {
			t.Fatalf("%s took the reveal (%v)", tc.who, err)
		}
	}
	if got, ok, err := s.TakeReveal(ctx, key, alice, 7); !ok || err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("owner: %q %v %v", got, ok, err)
	}
	if _, ok, _ := s.TakeReveal(ctx, key, alice, 7); ok {
		t.Fatal("taken twice")
	}

	late, unopened := "late", "unopened"
	if err := s.PutReveal(ctx, late, alice, 7, secret); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReveal(ctx, unopened, alice, 9, secret); err != nil {
		t.Fatal(err)
	}
	now = now.Add(RevealTTL + time.Second)
	if _, ok, _ := s.TakeReveal(ctx, late, alice, 7); ok {
		t.Fatal("taken after it expired")
	}
	if err := s.pruneActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM reveals"); n != 0 {
		t.Fatalf("%d reveals kept after they expired (%s never opened)", n, unopened)
	}
}

// Add Integration served by one node, the copy-once page by another: shown there, once.
func TestARevealIsTakenOnceAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	in := addVero(t, a)
	const key = "a session's token and its page"
	if err := a.PutReveal(ctx, key, in.UserID, in.ID, []byte("the URL")); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.TakeReveal(ctx, key, in.UserID, in.ID); !ok || err != nil || string(got) != "the URL" {
		t.Fatalf("the other node: %q %v %v", got, ok, err)
	}
	for _, node := range []*Store{a, b} {
		if _, ok, _ := node.TakeReveal(ctx, key, in.UserID, in.ID); ok {
			t.Fatal("shown a second time")
		}
	}
}
