package novncproxy

import (
	"embed"
	"io/fs"
	"net/http"
	"slices"
	"strings"
)

// novncFS is the noVNC library that make novnc puts in novnc/ (from the npm
// package @novnc/novnc); without it the directory holds only its README.
//
//go:embed all:novnc
var novncFS embed.FS

// pageFS is the console page: a small noVNC application of this project.
//
//go:embed web
var pageFS embed.FS

// AssetFS is a tree holding the noVNC library: core/rfb.js and the rest of
// core/ and vendor/.
type AssetFS = fs.FS

// Embedded is the noVNC library built into the binary.
func Embedded() AssetFS {
	sub, err := fs.Sub(novncFS, "novnc")
	if err != nil {
		panic(err) // novnc is a fixed directory of this package
	}
	return sub
}

// Built tells whether assets hold the noVNC library.
func Built(assets AssetFS) bool {
	_, err := fs.Stat(assets, "core/rfb.js")
	return err == nil
}

// NotBuilt is the answer for the web client when the binary was built
// without noVNC.
const NotBuilt = "noVNC web client not built; run make novnc"

// pages are the names the console page answers to: vnc_auto.html is the
// [vnc] novncproxy_base_url nova documents, vnc_lite.html and vnc.html the
// pages of noVNC's own tree.
var pages = []string{"/vnc_auto.html", "/vnc_lite.html", "/vnc.html"}

// newWebHandler serves the console page and the noVNC library.
func newWebHandler(assets AssetFS) http.Handler {
	page, err := pageFS.ReadFile("web/vnc_lite.html")
	if err != nil {
		panic(err) // the page is part of this package
	}
	built := Built(assets)
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		p := r.URL.Path
		isPage := p == "/" || slices.Contains(pages, p)
		if !isPage && !strings.HasPrefix(p, "/core/") && !strings.HasPrefix(p, "/vendor/") {
			http.NotFound(w, r)
			return
		}
		if !built {
			http.Error(w, NotBuilt, http.StatusServiceUnavailable)
			return
		}
		switch {
		case p == "/":
			target := "/vnc_lite.html"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusFound)
		case isPage:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if r.Method == http.MethodGet {
				_, _ = w.Write(page)
			}
		default:
			files.ServeHTTP(w, r)
		}
	})
}
