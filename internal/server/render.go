package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/uainfo"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// userError is a failure people can act on: its message is shown as is.
type userError struct {
	status int
	msg    string
}

func (e *userError) Error() string { return e.msg }

var (
	errCSRF      = &userError{http.StatusForbidden, "The form was open too long, or this browser signed out meanwhile, so nothing was done. Open the page again and send the form once more."}
	errNotFound  = &userError{http.StatusNotFound, "There is nothing at this address."}
	errSignedOut = &userError{http.StatusUnauthorized, "You are signed out; sign in again."}
	errInternal  = errors.New("internal error")
)

func badRequest(msg string) error { return &userError{http.StatusBadRequest, msg} }

// msgUnavailable is what people are told when the database is out of
// service (store.Outage): its disk is full, or it cannot be reached.
const msgUnavailable = "Nothing can be saved or looked up right now. Please try again in a few minutes."

// fail renders every error the same way: a typed error becomes its status and
// message, anything else is logged and shown as a plain "something went
// wrong". JSON routes get {"error": "…"}.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r)
	status, msg := http.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	var ue *userError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ue):
		status, msg = ue.status, ue.msg
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, "The form was too large: shorten what you entered and send it again."
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, errNotFound.msg
	case store.Outage(err) != nil:
		// A full disk or a database out of reach passes: say when to come
		// back; the cause goes to the log.
		status, msg = http.StatusServiceUnavailable, msgUnavailable
		w.Header().Set("Retry-After", "30")
		s.log.Error("request failed: the database is out of service", "request_id", st.id, "route", st.route, "err", err)
	default:
		s.log.Error("request failed", "request_id", st.id, "route", st.route, "err", err)
	}
	if status == http.StatusForbidden {
		s.log.Warn("request refused", "request_id", st.id, "route", st.route, "reason", msg)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if st.json {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	title := "Something went wrong"
	switch status {
	case http.StatusNotFound:
		title = "Page not found"
	case http.StatusForbidden:
		title = "The form expired"
	case http.StatusTooManyRequests:
		title = "Too many attempts"
	case http.StatusRequestEntityTooLarge:
		title = "The form was too large"
	case http.StatusBadRequest:
		title = "That did not work"
	case http.StatusGone:
		title = "This link no longer works"
	case http.StatusServiceUnavailable:
		title = "Countersign is unavailable for a moment"
	}
	d := errorData{Ref: st.id, Back: "/signin", BackText: "Go to sign-in"}
	if st.user != nil {
		d.Back, d.BackText = "/account/security", "Back to Login & security"
	}
	if errors.Is(err, errCSRF) {
		// The page the stale form was on, fresh: not this address, which
		// would send the form again.
		if back := sameOriginPage(r); back != "" {
			d.Back, d.BackText = back, "Open the page again"
		}
	}
	s.render(w, r, status, "error", &view{Title: title, Error: msg, D: d})
}

// errorData is the error page's: the request's reference and where to go.
type errorData struct {
	Ref, Back, BackText string
}

// sameOriginPage is the path and query of the request's Referer when it is
// a page of this server, "" otherwise.
func sameOriginPage(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || !strings.HasPrefix(ref.Path, "/") || strings.HasPrefix(ref.Path, "//") {
		return ""
	}
	if ref.RawQuery != "" {
		return ref.Path + "?" + ref.RawQuery
	}
	return ref.Path
}

// writeJSON answers a JSON route.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// view is what every page template gets.
type view struct {
	Title    string
	User     *store.User // signed in (full stage)
	CSRF     string
	Dev      bool
	Flash    string
	Error    string // a form-level error, shown with role=alert
	Field    string // the name of the field Error is about; "" for the whole form
	Inline   bool   // the page shows Flash and Error in its card, after its heading (inlineMessages)
	WebAuthn bool   // the page loads static/webauthn.js
	Approval bool   // the page loads static/approval.js
	D        any    // the page's own data
}

// inlineMessages are the pages of one card, which show their flash and
// error inside it, after the heading, where the eye is; the others show them
// first on the page.
var inlineMessages = map[string]bool{
	"signin": true, "signup": true, "forgot": true, "reset": true, "verify": true, "confirm": true,
	"password": true, "phone": true, "consent": true, "memberremove": true, "appdelete": true,
	"endsession": true, "error": true, "edit": true, "notme": true,
}

// Invalid says whether the page's error is about the field name: the
// field is then marked invalid and described by the error, the others not.
func (v *view) Invalid(name string) bool {
	return v.Error != "" && (v.Field == "" || v.Field == name)
}

var funcs = template.FuncMap{
	"when":       when,
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"browser":    browserOf,
	"activity":   api.ActivityTitle,
	"maskPhone":  maskPhone,
	"methodName": methodName,
	"platform":   household.PlatformName,
	"logo":       logoURL,
	"asset":      assetURL,
	// lower starts a sentence's words lower case, to run on in a list.
	"lower": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToLower(s[:1]) + s[1:]
	},
}

// when is a moment on a page: a <time> in UTC that the pages' script
// (static/localtime.js) rewrites in the viewer's own time zone, naming it;
// "never" for none.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "never"
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `" data-local>` + u.Format("2 Jan 2006, 15:04 UTC") + `</time>`)
}

// parsePages parses each page template with the shared layout and the
// parts: a file that defines no "content" is a part (its {{define}} blocks
// are in every page), not a page.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	shared := []string{"templates/layout.html"}
	isPart := map[string]bool{}
	for _, n := range names {
		b, err := fs.ReadFile(templateFS, n)
		if err != nil {
			return nil, err
		}
		if n != "templates/layout.html" && !bytes.Contains(b, []byte(`{{define "content"}}`)) {
			shared, isPart[n] = append(shared, n), true
		}
	}
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, shared...)
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || isPart[n] {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page. The common fields of v (CSRF, user, flash, dev
// banner) are filled in here.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	st := stateOf(r)
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no template", "name", name)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	v.CSRF = s.csrfToken(w, st)
	v.Dev = s.dev
	v.Inline = inlineMessages[name]
	if st.sess != nil && st.sess.Stage == store.StageFull {
		v.User = st.user
	}
	if v.Flash == "" {
		v.Flash = s.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render", "request_id", st.id, "template", name, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// maskPhone shows the last digits of a number only: "•••• 4567".
func maskPhone(p string) string {
	if len(p) <= 4 {
		return p
	}
	return "•••• " + p[len(p)-4:]
}

// methodName names a second-step method for people.
func methodName(m store.Method) string {
	switch m.Kind {
	case store.MethodTOTP:
		if m.Label != "" {
			return m.Label
		}
		return "Authenticator app"
	case store.MethodSMS:
		return "Text message to " + maskPhone(m.Phone)
	case store.MethodVoice:
		return "Voice call to " + maskPhone(m.Phone)
	}
	return string(m.Kind)
}

// browserOf names the browser of a User-Agent: "Chrome 131 on Linux".
func browserOf(ua string) string {
	if s := uainfo.Parse(ua).String(); s != "" {
		return s
	}
	return "Unknown browser"
}
