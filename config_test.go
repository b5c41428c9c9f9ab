package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The data folder is named absolute, as the warehouse's files are on the Account page and in
// the logs: "./hookhouse-data" beside "/home/…/hookhouse-data/warehouse" read as two places.
func TestDataFolderIsAbsolute(t *testing.T) {
	cfg, err := parseConfig([]string{"-data", "./some-data"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "some-data"); cfg.DataDir != want {
		t.Errorf("-data ./some-data gives %q, want %q", cfg.DataDir, want)
	}
}
