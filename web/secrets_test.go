package web_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// assertNotInDataDir fails when secret appears in any file of the data folder (databases,
// WAL files, warehouse files), checkpointed or not.
func assertNotInDataDir(t *testing.T, app *testApp, secret string) {
	t.Helper()
	err := filepath.WalkDir(app.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret in plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
