package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// teamStore is a store with an owner, and a clock the test moves.
func teamStore(t *testing.T, db testDB) (*Store, User, *time.Time) {
	t.Helper()
	s := db.open(t)
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	owner, err := s.CreateOwner(t.Context(), "owner@example.com", "owner password long")
	if err != nil {
		t.Fatal(err)
	}
	if !owner.IsOwner() || owner.WorkspaceID != owner.ID {
		t.Fatalf("owner %+v is not its workspace's owner", owner)
	}
	return s, owner, &now
}

func TestInviteIsAcceptedOnceAndStoredAsAHash(t *testing.T) {
	eachDB(t, testInviteIsAcceptedOnceAndStoredAsAHash)
}

func testInviteIsAcceptedOnceAndStoredAsAHash(t *testing.T, db testDB) {
	s, owner, _ := teamStore(t, db)
	ctx := t.Context()
	in, token, err := s.CreateInvite(ctx, owner.WorkspaceID, " Mate@Example.com ")
	if err != nil {
		t.Fatal(err)
	}
	if in.Email != "mate@example.com" || !in.ExpiresAt.Equal(in.CreatedAt.Add(InviteTTL)) || len(token) != 64 {
		t.Fatalf("invite %+v, token %q", in, token)
	}
	pending, err := s.PendingInvites(ctx, owner.WorkspaceID)
	if err != nil || len(pending) != 1 || pending[0].ID != in.ID {
		t.Fatalf("pending invites %+v, %v", pending, err)
	}

	mate, err := s.AcceptInvite(ctx, token, "teammate password")
	if err != nil {
		t.Fatal(err)
	}
	if mate.WorkspaceID != owner.ID || mate.IsOwner() || mate.Email != "mate@example.com" || mate.Role() != "Member" {
		t.Fatalf("teammate %+v", mate)
	}
	if got, err := s.Authenticate(ctx, "mate@example.com", "teammate password"); err != nil || got.WorkspaceID != owner.ID {
		t.Fatalf("teammate signs in as %+v, %v", got, err)
	}

	// One use: the same link again, even with another password, creates nothing.
	if _, err := s.AcceptInvite(ctx, token, "another password!"); !errors.Is(err, ErrInviteUsed) {
		t.Fatalf("second use: %v, want ErrInviteUsed", err)
	}
	if _, err := s.InviteByToken(ctx, token); !errors.Is(err, ErrInviteUsed) {
		t.Fatalf("used link opens with %v", err)
	}
	if pending, _ := s.PendingInvites(ctx, owner.WorkspaceID); len(pending) != 0 {
		t.Fatalf("a used invite is still pending: %+v", pending)
	}
	// Another token: the last hex digit changed (never to itself, which made this test fail
	// one run in sixteen).
	other := token[:63] + "0"
	if token[63] == '0' {
		other = token[:63] + "1"
	}
	if _, err := s.InviteByToken(ctx, other); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	// An email with an account cannot be invited again.
	if _, _, err := s.CreateInvite(ctx, owner.WorkspaceID, "MATE@example.com"); !errors.Is(err, ErrConflict) {
		t.Fatalf("inviting a member: %v, want ErrConflict", err)
	}

	// At rest only the SHA-256 is kept: neither the token nor any of its halves is in the
	// database or its WAL.
	files := db.atRest(t, s)
	for _, secret := range []string{token, token[:32], token[32:]} {
		if bytes.Contains(files, []byte(secret)) {
			t.Fatal("the database holds the invite token")
		}
	}
	if !bytes.Contains(files, []byte(hashToken(token))) {
		t.Fatal("the database does not hold the token's hash")
	}
}

func TestInviteExpiresAfterSevenDaysAndCanBeRevoked(t *testing.T) {
	eachDB(t, testInviteExpiresAfterSevenDaysAndCanBeRevoked)
}

func testInviteExpiresAfterSevenDaysAndCanBeRevoked(t *testing.T, db testDB) {
	s, owner, now := teamStore(t, db)
	ctx := t.Context()
	_, token, err := s.CreateInvite(ctx, owner.WorkspaceID, "late@example.com")
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(InviteTTL - time.Second)
	if _, err := s.InviteByToken(ctx, token); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	*now = now.Add(time.Second)
	in, err := s.InviteByToken(ctx, token)
	if !errors.Is(err, ErrInviteExpired) || in.Email != "late@example.com" {
		t.Fatalf("after 7 days: %+v, %v", in, err)
	}
	if _, err := s.AcceptInvite(ctx, token, "teammate password"); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("accepting an expired invite: %v", err)
	}
	if _, err := s.Authenticate(ctx, "late@example.com", "teammate password"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("an expired invite made an account: %v", err)
	}
	if pending, _ := s.PendingInvites(ctx, owner.WorkspaceID); len(pending) != 0 {
		t.Fatalf("an expired invite is pending: %+v", pending)
	}

	// Inviting again replaces a pending link; revoking stops the new one.
	first, firstToken, err := s.CreateInvite(ctx, owner.WorkspaceID, "again@example.com")
	if err != nil {
		t.Fatal(err)
	}
	second, secondToken, err := s.CreateInvite(ctx, owner.WorkspaceID, "again@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InviteByToken(ctx, firstToken); !errors.Is(err, ErrInviteRevoked) {
		t.Fatalf("the replaced link: %v, want ErrInviteRevoked", err)
	}
	if _, err := s.RevokeInvite(ctx, owner.WorkspaceID+1, second.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking from another workspace: %v", err)
	}
	if _, err := s.RevokeInvite(ctx, owner.WorkspaceID, second.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, secondToken, "teammate password"); !errors.Is(err, ErrInviteRevoked) {
		t.Fatalf("a revoked link: %v", err)
	}
	if _, err := s.RevokeInvite(ctx, owner.WorkspaceID, first.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func TestRemoveMemberKeepsTheWorkspacesIntegrations(t *testing.T) {
	eachDB(t, testRemoveMemberKeepsTheWorkspacesIntegrations)
}

func testRemoveMemberKeepsTheWorkspacesIntegrations(t *testing.T, db testDB) {
	s, owner, _ := teamStore(t, db)
	ctx := t.Context()
	_, token, err := s.CreateInvite(ctx, owner.WorkspaceID, "mate@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mate, err := s.AcceptInvite(ctx, token, "teammate password")
	if err != nil {
		t.Fatal(err)
	}
	// What a teammate creates belongs to the workspace.
	in, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: mate.WorkspaceID, Name: "Vero", Source: "vero", Schema: "vero"})
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.Members(ctx, owner.WorkspaceID)
	if err != nil || len(members) != 2 || members[0].ID != owner.ID || members[1].ID != mate.ID {
		t.Fatalf("members %+v, %v", members, err)
	}

	if _, err := s.RemoveMember(ctx, owner.WorkspaceID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing the owner: %v, want ErrNotFound", err)
	}
	if _, err := s.RemoveMember(ctx, mate.ID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a teammate's id as the workspace removes the owner: %v", err)
	}
	removed, err := s.RemoveMember(ctx, owner.WorkspaceID, mate.ID)
	if err != nil || removed.Email != "mate@example.com" {
		t.Fatalf("remove: %+v, %v", removed, err)
	}
	if _, err := s.UserByID(ctx, mate.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the removed user still loads: %v", err)
	}
	if _, err := s.Authenticate(ctx, "mate@example.com", "teammate password"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("the removed user signs in: %v", err)
	}
	if got, err := s.Integration(ctx, owner.WorkspaceID, in.ID); err != nil || got.Name != "Vero" {
		t.Fatalf("the teammate's integration after removal: %+v, %v", got, err)
	}
	if members, _ := s.Members(ctx, owner.WorkspaceID); len(members) != 1 {
		t.Fatalf("members after removal: %+v", members)
	}
}

func TestChangePasswordChecksTheCurrentOneAndBumpsTheGeneration(t *testing.T) {
	eachDB(t, testChangePasswordChecksTheCurrentOneAndBumpsTheGeneration)
}

func testChangePasswordChecksTheCurrentOneAndBumpsTheGeneration(t *testing.T, db testDB) {
	s, owner, _ := teamStore(t, db)
	ctx := t.Context()
	if _, err := s.ChangePassword(ctx, owner.ID, "not the password", "brand new password"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	u, err := s.ChangePassword(ctx, owner.ID, "owner password long", "brand new password")
	if err != nil {
		t.Fatal(err)
	}
	if u.SessionGeneration != owner.SessionGeneration+1 || u.WorkspaceID != owner.ID {
		t.Fatalf("after the change: %+v (before %+v)", u, owner)
	}
	if loaded, _ := s.UserByID(ctx, owner.ID); loaded.SessionGeneration != u.SessionGeneration {
		t.Fatalf("UserByID reads generation %d, want %d", loaded.SessionGeneration, u.SessionGeneration)
	}
	if _, err := s.Authenticate(ctx, "owner@example.com", "owner password long"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	if _, err := s.Authenticate(ctx, "owner@example.com", "brand new password"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}
