package main

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The data folder holds password hashes, sessions, webhook URL hashes and request bodies:
// what hookhouse creates there is its user's only, the SQLite files' -wal beside them too.
func TestTheDataFolderIsItsOwnersOnly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, adminEnv...)
	hookURL := addIntegration(t, s, "vero", "Stitch Vero", "")
	resp, err := http.Post(hookURL, "application/json", strings.NewReader(`{"type":"sent"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	for path, want := range map[string]fs.FileMode{
		"":                             0o700,
		"warehouse":                    0o700,
		"hookhouse.db":                 0o600,
		"hookhouse.db-wal":             0o600,
		"hookhouse.db-shm":             0o600,
		"secret.key":                   0o600,
		"warehouse/stitch_vero.db":     0o600,
		"warehouse/stitch_vero.db-wal": 0o600,
	} {
		info, err := os.Stat(filepath.Join(data, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if got := info.Mode().Perm(); got != want {
			t.Errorf("%s/%s is %04o, want %04o", data, path, got, want)
		}
	}
	s.stop(t)
	if strings.Contains(s.logs(), "other users of this machine") {
		t.Errorf("a folder of hookhouse's own making warned:\n%s", s.logs())
	}

	// A file of an older version (SQLite made them 0644) in a folder others cannot enter is
	// private: no warning.
	if err := os.Chmod(filepath.Join(data, "hookhouse.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, data, adminEnv...)
	s.stop(t)
	if strings.Contains(s.logs(), "other users of this machine") {
		t.Errorf("a 0644 file in a 0700 folder warned:\n%s", s.logs())
	}

	// A folder from before, open to others: hookhouse leaves the modes alone and says so once.
	for path, mode := range map[string]fs.FileMode{"": 0o755, "warehouse": 0o755, "hookhouse.db": 0o644} {
		if err := os.Chmod(filepath.Join(data, path), mode); err != nil {
			t.Fatal(err)
		}
	}
	s = startServer(t, data, adminEnv...)
	s.stop(t)
	logs := s.logs()
	if strings.Count(logs, "other users of this machine can read the data folder") != 1 || !strings.Contains(logs, "chmod -R go-rwx "+data) ||
		!strings.Contains(logs, filepath.Join(data, "hookhouse.db")) {
		t.Errorf("no warning naming the open paths and the fix:\n%s", logs)
	}
	if info, _ := os.Stat(filepath.Join(data, "hookhouse.db")); info.Mode().Perm() != 0o644 {
		t.Errorf("hookhouse.db changed to %04o; an existing file's mode is the operator's", info.Mode().Perm())
	}
}
