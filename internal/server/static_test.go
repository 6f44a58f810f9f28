package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStaticFiles: pages link their files by versioned addresses cached for
// a year; the files answer If-None-Match with 304, come gzipped to browsers
// that take it (and whole to those that do not), and the icon is the
// application's.
func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	page := e.client().get("/signin")
	css, err := assetURL("style.css")
	if err != nil {
		t.Fatal(err)
	}
	icon, _ := assetURL("favicon.svg")
	mustContain(t, page.body, `<link rel="stylesheet" href="`+css+`">`, `<link rel="icon" href="`+icon+`" type="image/svg+xml">`)

	get := func(path string, header http.Header) *http.Response {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		r.Header = header
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		return w.Result()
	}
	r := get(css, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != cacheVersioned || r.Header.Get("Content-Encoding") != "gzip" ||
		r.Header.Get("Vary") != "Accept-Encoding" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("versioned style sheet: %d %v", r.StatusCode, r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Equal(body, staticFiles["style.css"].body) || len(staticFiles["style.css"].gzipped) >= len(body)/2 {
		t.Errorf("gzipped style sheet: %d bytes from %d, want the file at most half its size", len(staticFiles["style.css"].gzipped), len(body))
	}
	etag := r.Header.Get("ETag")
	if r := get(css, http.Header{"If-None-Match": {`"old", ` + etag}}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r.StatusCode)
	}
	if r := get("/static/style.css", http.Header{"Accept-Encoding": {"gzip;q=0"}}); r.StatusCode != 200 ||
		r.Header.Get("Content-Encoding") != "" || r.Header.Get("Cache-Control") != cachePlain {
		t.Errorf("plain address without gzip: %d %v", r.StatusCode, r.Header)
	}
	if r := get("/static/0123456789ab/style.css", nil); r.StatusCode != 200 || r.Header.Get("Cache-Control") != cachePlain {
		t.Errorf("an old version's address: %d %v", r.StatusCode, r.Header)
	}
	if r := get("/static/nothing.js", nil); r.StatusCode != 404 {
		t.Errorf("unknown file: %d", r.StatusCode)
	}
	r = get("/favicon.ico", nil)
	if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != icon {
		t.Errorf("/favicon.ico: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get(icon, nil); r.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("icon type %q", r.Header.Get("Content-Type"))
	}
}
