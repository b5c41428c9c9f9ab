package main

import (
	"os"
	"path/filepath"

	"github.com/hookhouse/hookhouse/store"
)

// openToOthers lists what of the data folder other users of the machine may read or enter:
// the folder, the metadata database and the warehouse's files. hookhouse creates them for
// its user only (0700, 0600), but leaves the modes of existing ones alone: a folder made by
// an older version, or shared on purpose (a backup group), is the operator's to change.
func openToOthers(dataDir string) []string {
	var open []string
	check := func(p string) (enterable bool) {
		info, err := os.Stat(p)
		if err == nil && info.Mode().Perm()&0o007 != 0 {
			open = append(open, p)
		}
		return err == nil && info.Mode().Perm()&0o001 != 0
	}
	// A file is read through its folders: behind a folder others cannot enter, it is private
	// whatever its own mode (an older version made the folder 0700 and SQLite its files 0644).
	if !check(dataDir) {
		return open
	}
	files, _ := filepath.Glob(metadataFile(dataDir) + "*")
	files = append(files, filepath.Join(dataDir, store.SecretKeyFile))
	for _, f := range files {
		check(f)
	}
	warehouse := warehouseFolder(dataDir)
	if check(warehouse) {
		files, _ := filepath.Glob(filepath.Join(warehouse, "*.db*"))
		for _, f := range files {
			check(f)
		}
	}
	return open
}
