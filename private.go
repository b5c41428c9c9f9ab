package main

import (
	"os"
	"path/filepath"
)

// openToOthers lists what of the data folder other users of the machine may read or enter:
// the folder, the metadata database and the warehouse's files. hookhouse creates them for
// its user only (0700, 0600), but leaves the modes of existing ones alone: a folder made by
// an older version, or shared on purpose (a backup group), is the operator's to change.
func openToOthers(dataDir string) []string {
	paths := []string{dataDir, filepath.Join(dataDir, "warehouse")}
	for _, pattern := range []string{"hookhouse.db*", filepath.Join("warehouse", "*.db*")} {
		files, _ := filepath.Glob(filepath.Join(dataDir, pattern))
		paths = append(paths, files...)
	}
	var open []string
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.Mode().Perm()&0o007 != 0 {
			open = append(open, p)
		}
	}
	return open
}
