package handlers

import (
	"testing"
	"time"
)

func TestRevealsAreTakenOnceByTheirOwnerBeforeTheyExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rs := newReveals()
	rs.now = func() time.Time { return now }

	nonce := rs.put(reveal{userID: 1, integrationID: 7, url: "https://x/v1/clients/7/token/abc"})
	if _, ok := rs.take(nonce, 2, 7); ok {
		t.Fatal("another user took the reveal")
	}
	if _, ok := rs.take(nonce, 1, 8); ok {
		t.Fatal("another integration's page took the reveal")
	}
	if r, ok := rs.take(nonce, 1, 7); !ok || r.url != "https://x/v1/clients/7/token/abc" {
		t.Fatalf("owner: %+v %v", r, ok)
	}
	if _, ok := rs.take(nonce, 1, 7); ok {
		t.Fatal("taken twice")
	}

	late := rs.put(reveal{userID: 1, integrationID: 7, url: "u"})
	now = now.Add(revealTTL + time.Second)
	if _, ok := rs.take(late, 1, 7); ok {
		t.Fatal("taken after it expired")
	}
	if len(rs.entries) != 0 {
		t.Fatal("an expired reveal stays in memory after a take")
	}
}

func TestRevealsAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rs := newReveals()
	rs.now = func() time.Time { return now }
	first := rs.put(reveal{userID: 1, integrationID: 1, url: "first"})
	for i := range maxReveals + 10 {
		now = now.Add(time.Millisecond)
		rs.put(reveal{userID: 1, integrationID: int64(i + 2), url: "more"})
	}
	if len(rs.entries) > maxReveals {
		t.Fatalf("%d entries, want at most %d", len(rs.entries), maxReveals)
	}
	if _, ok := rs.take(first, 1, 1); ok {
		t.Fatal("the oldest entry survived a full map")
	}
}
