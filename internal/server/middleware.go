package server

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/store"
)

// reqState is what the middleware learns about a request, shared with the
// handlers through the context.
type reqState struct {
	id     string // request id, in logs and on error pages
	route  string // the mux pattern, for logs and metrics
	ip     string
	json   bool // errors are answered as JSON
	sess   *store.Session
	user   *store.User
	member *store.Member // the household member the session acts as, once a page's action is checked (Server.act)
	anonID string        // the cs_csrf cookie: binds CSRF tokens of anonymous forms
	method string        // how the sign-in under way proves itself (store.Session.Method), for the session it starts
	after  []job         // work queued once the answer is written (background.go)
}

type stateKey struct{}

func stateOf(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// statusWriter remembers the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer wraps every request: request id, client IP, security headers,
// recovery from panics, the access log and the HTTP metrics.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		idb, err := s.randomBytes(8)
		if err != nil {
			idb = make([]byte, 8)
		}
		st := &reqState{id: hex.EncodeToString(idb), ip: s.clientIP(r), route: "other"}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		sw := &statusWriter{ResponseWriter: w}
		s.securityHeaders(sw.Header())
		sw.Header().Set("X-Request-Id", st.id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", st.id, "route", st.route, "panic", p)
				if sw.status == 0 {
					s.fail(sw, r, errInternal)
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observe(st.route, r.Method, sw.status, d)
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			// The path only: query strings may carry tokens (reset links).
			s.log.Log(r.Context(), level, "request",
				"request_id", st.id, "method", r.Method, "route", st.route, "path", r.URL.Path,
				"status", sw.status, "duration_ms", float64(d.Microseconds())/1000, "ip", st.ip)
			for _, j := range st.after {
				if err := s.queue.add(j); err != nil {
					s.log.Error("background: "+j.what+": not queued", "request_id", st.id, "err", err)
				}
			}
		}()
		s.maybePurge()
		next.ServeHTTP(sw, r)
	})
}

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

func (s *Server) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: with it Chromium sends "Origin: null" on form posts
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// clientIP is the peer's address, or X-Forwarded-For's last hop behind a
// trusted reverse proxy.
func (s *Server) clientIP(r *http.Request) string {
	if s.trust {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(hops[len(hops)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// access says who may call a page handler.
type access int

const (
	anyone  access = iota // signed in or not
	pending               // a session whose password was right, second step pending
	full                  // signed in
)

// handlerFunc is a page handler; the error it returns is rendered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request, st *reqState) error

// page registers a page or form handler: it names the route, loads the
// session, checks CSRF on POST, enforces access and renders errors.
func (s *Server) page(mux *http.ServeMux, pattern string, a access, h handlerFunc) {
	s.register(mux, pattern, a, false, h)
}

// jsonRoute registers a JSON endpoint of the WebAuthn script.
func (s *Server) jsonRoute(mux *http.ServeMux, pattern string, a access, h handlerFunc) {
	s.register(mux, pattern, a, true, h)
}

func (s *Server) register(mux *http.ServeMux, pattern string, a access, isJSON bool, h handlerFunc) {
	route := pattern
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r)
		st.route = route
		st.json = isJSON
		if a != anyone {
			w.Header().Set("Cache-Control", "no-store")
		}
		if err := s.serve(w, r, st, a, h); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, st *reqState, a access, h handlerFunc) error {
	if err := s.loadSession(w, r, st); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := s.checkCSRF(r, st); err != nil {
			return err
		}
	}
	switch a {
	case full:
		if st.sess == nil || st.sess.Stage != store.StageFull {
			if st.json {
				return errSignedOut
			}
			to := "/signin"
			if r.Method == http.MethodGet {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		}
	case pending:
		if st.sess == nil || st.sess.Stage != store.StagePassword {
			if st.json {
				return errSignedOut
			}
			to := "/signin"
			if st.sess != nil && st.sess.Stage == store.StageFull {
				to = "/account/security"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		}
	}
	return h(w, r, st)
}
