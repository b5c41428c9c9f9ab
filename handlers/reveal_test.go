package handlers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store"
)

// openSealer is a real store with key, as a node would have it.
func openSealer(t *testing.T, key byte) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "hookhouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k := make([]byte, 32)
	for i := range k {
		k[i] = key
	}
	if err := st.SetSecretKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRevealsOpenForTheirOwnerOnAnyNodeWithTheKeyBeforeTheyExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	node1, node2, otherKey := newReveals(openSealer(t, 1)), newReveals(openSealer(t, 1)), newReveals(openSealer(t, 2))
	for _, rs := range []*reveals{node1, node2, otherKey} {
		rs.now = func() time.Time { return now }
	}

	const url = "https://x/v1/clients/7/token/abc"
	sealed, err := node1.put(reveal{userID: 1, integrationID: 7, url: url})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "abc") || strings.Contains(sealed, "token") {
		t.Fatalf("the session would hold the URL in the clear: %s", sealed)
	}
	if _, ok := node2.take(sealed, 2, 7); ok {
		t.Fatal("another user took the reveal")
	}
	if _, ok := node2.take(sealed, 1, 8); ok {
		t.Fatal("another integration's page took the reveal")
	}
	if _, ok := otherKey.take(sealed, 1, 7); ok {
		t.Fatal("a node with another key opened the reveal")
	}
	if r, ok := node2.take(sealed, 1, 7); !ok || r.url != url {
		t.Fatalf("owner on another node: %+v %v", r, ok)
	}
	if _, ok := node2.take(sealed[:len(sealed)-2], 1, 7); ok {
		t.Fatal("a cut reveal opened")
	}
	now = now.Add(revealTTL + time.Second)
	if _, ok := node1.take(sealed, 1, 7); ok {
		t.Fatal("taken after it expired")
	}
}
