// Package web is Corkboard's browser page: plain ES modules, HTML and CSS in
// static/, embedded in the server binary and served at / (no build step).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Handler serves the page's files; unknown paths get index.html, so that the
// page's own routes (/boards/…) load the app.
func Handler() http.Handler {
	static, _ := fs.Sub(files, "static")
	fileServer := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			if _, err := fs.Stat(static, r.URL.Path[1:]); err != nil {
				r2 := r.Clone(r.Context())
				r2.URL.Path = "/"
				w.Header().Set("Cache-Control", "no-cache")
				fileServer.ServeHTTP(w, r2)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}
