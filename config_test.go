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

// With -max-body-bytes above the in-flight default (64 MiB, 256 before) and no
// -max-inflight-body-bytes, hookhouse starts, holding one body of the largest size at a time:
// HOOKHOUSE_MAX_BODY_BYTES=104857600 alone, which started before the default was lowered, was
// refused ("must be at least -max-body-bytes"). A bound given below the body bound still is.
func TestInflightDefaultHoldsTheLargestBody(t *testing.T) {
	const body = 100 << 20
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"-max-body-bytes", "104857600"}, nil},
		{"environment", nil, map[string]string{"HOOKHOUSE_MAX_BODY_BYTES": "104857600"}},
	} {
		cfg, err := parseConfig(tc.args, func(name string) string { return tc.env[name] })
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.MaxInflightBodyBytes != body {
			t.Errorf("%s: the in-flight bound is %d, want %d", tc.name, cfg.MaxInflightBodyBytes, body)
		}
	}
	if _, err := parseConfig([]string{"-max-body-bytes", "104857600", "-max-inflight-body-bytes", "67108864"}, func(string) string { return "" }); err == nil {
		t.Error("an in-flight bound given below -max-body-bytes was accepted")
	}
	if _, err := parseConfig([]string{"-max-body-bytes", "104857600"}, func(name string) string {
		return map[string]string{"HOOKHOUSE_MAX_INFLIGHT_BODY_BYTES": "67108864"}[name]
	}); err == nil {
		t.Error("an in-flight bound from the environment below -max-body-bytes was accepted")
	}
}
