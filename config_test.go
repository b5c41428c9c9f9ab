package main

import (
	"io"
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

// hookhouse migrate reads the data folder, the metadata database and the warehouse from the
// same environment variables as serving does: HOOKHOUSE_DATA=/srv/hh hookhouse migrate used to
// look in ./hookhouse-data.
func TestMigrateReadsTheEnvironmentAsServingDoes(t *testing.T) {
	env := map[string]string{
		"HOOKHOUSE_DATA":       "/srv/hh",
		"HOOKHOUSE_DATABASE":   "postgres://meta.example/db",
		"HOOKHOUSE_WAREHOUSE":  "postgres://warehouse.example/db",
		"HOOKHOUSE_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	getenv := func(name string) string { return env[name] }
	serving, err := parseConfig(nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	migrating, err := parseMigrateConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if migrating.DataDir != serving.DataDir || migrating.Database != serving.Database || migrating.Warehouse != serving.Warehouse {
		t.Errorf("migrate reads data %q, database %q, warehouse %q; serving reads %q, %q, %q",
			migrating.DataDir, migrating.Database, migrating.Warehouse, serving.DataDir, serving.Database, serving.Warehouse)
	}
}
