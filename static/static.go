// Package static embeds the dashboard's CSS, JavaScript and icons, so hookhouse works offline
// and needs no CDN.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed *.css *.js icons
var files embed.FS

// version changes whenever any embedded file does; URLs carry it so browsers may cache forever.
var version = func() string {
	h := sha256.New()
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := files.ReadFile(path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// Prefix is the URL path the files are served under.
const Prefix = "/static/"

// URL returns the cache-busting URL of an embedded file, e.g. URL("app.css").
func URL(name string) string { return Prefix + version + "/" + name }

// Serve writes the embedded file r names under Prefix+version and reports whether there is
// one; when there is none it writes nothing, so the caller answers with the app's own 404.
// Versioned URLs are immutable.
func Serve(w http.ResponseWriter, r *http.Request) bool {
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	v, name, ok := strings.Cut(rest, "/")
	if info, err := fs.Stat(files, name); !ok || err != nil || info.IsDir() {
		return false
	}
	if v == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeFileFS(w, r, files, name)
	return true
}
