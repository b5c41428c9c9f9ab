package main

import (
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleWriterTimeoutSetting: with -idle-writer-timeout 1s (here from the environment) an
// integration's warehouse file is closed a second after its last webhook, and the next
// webhook opens it again and is stored after the first.
func TestIdleWriterTimeoutSetting(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dataDir, append(adminEnv, "HOOKHOUSE_IDLE_WRITER_TIMEOUT=1s")...)
	hook := addIntegration(t, s, "incoming-webhooks", "idle", "id")
	file := filepath.Join(dataDir, "warehouse", "idle.db")
	send := func(id int) {
		t.Helper()
		resp, err := http.Post(hook, "application/json", strings.NewReader(`{"id":`+strconv.Itoa(id)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	open := func() bool { return holdsFile(t, s.cmd.Process.Pid, file) }

	send(1)
	if !open() {
		t.Fatalf("%s is not open after a webhook", file)
	}
	deadline := time.Now().Add(10 * time.Second)
	for open() {
		if time.Now().After(deadline) {
			t.Fatalf("%s still open 10s after the last webhook with -idle-writer-timeout 1s", file)
		}
		time.Sleep(50 * time.Millisecond)
	}
	send(2)
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids string
	if err := db.QueryRow(`SELECT group_concat(id, ',') FROM (SELECT id FROM data ORDER BY _sdc_sequence)`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "1,2" {
		t.Errorf("ids in sequence order %q, want 1,2", ids)
	}
}

// holdsFile reports whether process pid has file open.
func holdsFile(t *testing.T, pid int, file string) bool {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no %s: %v", dir, err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && target == file {
			return true
		}
	}
	return false
}
