package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/countersign/countersign/assets"
)

// The pages' own files (style sheet, scripts, the icon) are read once when
// the server starts, hashed and gzipped. Pages link to them by a versioned
// address, /static/<hash>/<name> (the asset function of the templates), which
// never changes meaning and is cached for a year; the plain /static/<name>
// is cached briefly. Both answer If-None-Match with 304, and gzip to
// browsers that accept it.

// staticFile is one file as served.
type staticFile struct {
	name    string
	hash    string // the first 12 hex digits of its SHA-256: its version
	etag    string
	ctype   string
	body    []byte
	gzipped []byte // nil when gzip does not make it smaller
}

// staticFiles are the files under static/ and the favicon, by name.
var staticFiles = func() map[string]*staticFile {
	out := map[string]*staticFile{}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	add := func(name string, body []byte) {
		sum := sha256.Sum256(body)
		f := &staticFile{name: name, hash: hex.EncodeToString(sum[:6]), body: body,
			ctype: mime.TypeByExtension(path.Ext(name))}
		f.etag = `"` + f.hash + `"`
		if strings.HasSuffix(name, ".svg") {
			f.ctype = "image/svg+xml"
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body) {
			f.gzipped = b.Bytes()
		}
		out[name] = f
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err == nil {
			add(p, body)
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	add("favicon.svg", assets.IconSVG())
	return out
}()

// assetURL is the versioned address of a static file, for the templates.
func assetURL(name string) (string, error) {
	f, ok := staticFiles[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + f.hash + "/" + name, nil
}

// Cache lifetimes: a versioned address never changes meaning; a plain one
// may after an upgrade.
const (
	cacheVersioned = "public, max-age=31536000, immutable"
	cachePlain     = "public, max-age=300"
)

// serveStatic serves /static/<hash>/<name> and /static/<name>.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/static/")
	cache := cachePlain
	if hash, name, ok := strings.Cut(rest, "/"); ok {
		// An old version's address after an upgrade gets the file as it is
		// now, not cached for long.
		rest = name
		if f := staticFiles[name]; f != nil && f.hash == hash {
			cache = cacheVersioned
		}
	}
	f := staticFiles[rest]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", cache)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", f.ctype)
	body := f.body
	if f.gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak
// or strong, or *).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") || strings.TrimSpace(coding) == "*" {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
