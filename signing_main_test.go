package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The key signing secrets are sealed with: made once in the data folder (0600) when none is
// given; a malformed HOOKHOUSE_SECRET_KEY, or one that cannot open the secrets stored, stops
// the start with a clear error instead of refusing every signed webhook later.
func TestSecretKeyIsMadeOnceAndAWrongOneStopsTheStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, adminEnv...)
	fi, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v, mode %v; want 0600", err, fi)
	}
	if !strings.Contains(s.logs(), "created the key signing secrets are encrypted with") {
		t.Fatalf("the new key file is not logged:\n%s", s.logs())
	}
	hookURL := addIntegration(t, s, "incoming-webhooks", "Signed", "")
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	enableStandardWebhooks(t, s, hookURL, secret, "default")
	s.stop(t)
	if strings.Contains(s.logs(), secret) {
		t.Fatal("the secret is in the server's log")
	}

	start := func(env ...string) (string, error) {
		cmd := exec.Command(binary, "-addr", "127.0.0.1:0", "-data", data)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	other := make([]byte, 32)
	rand.Read(other)
	out, err := start("HOOKHOUSE_SECRET_KEY=" + base64.StdEncoding.EncodeToString(other))
	if err == nil || !strings.Contains(out, "cannot decrypt the signing secrets stored for integration 1") {
		t.Fatalf("another key: %v\n%s", err, out)
	}
	out, err = start("HOOKHOUSE_SECRET_KEY=not-a-key")
	if err == nil || !strings.Contains(out, "HOOKHOUSE_SECRET_KEY must be 32 bytes") {
		t.Fatalf("a malformed key: %v\n%s", err, out)
	}
	// The file's key, given in the environment, opens them.
	file, _ := os.ReadFile(filepath.Join(data, "secret.key"))
	s = startServer(t, data, "HOOKHOUSE_SECRET_KEY="+strings.TrimSpace(string(file)))
	s.stop(t)
}
