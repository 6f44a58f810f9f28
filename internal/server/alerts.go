package server

// Sign-in alerts: a sign-in from a browser or place the account has not
// used before is told to the account by mail and on its desktops, with
// "This wasn't me", which signs that session out and ends what the apps
// got in it.

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/uainfo"
)

// alertLifetime is how long "This wasn't me" works: as long as the session
// it names can last.
const alertLifetime = fullLifetime

// notMePath is the page of an alert's link.
const notMePath = "/alerts/not-me"

// oidcSID is the OpenID Connect "sid" of a session: an opaque, stable name
// apps may see, never the session's key.
func (s *Server) oidcSID(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("oidc-sid", sessionID)[:16])
}

// seenOf is what a sign-in is from: the browser and OS without versions
// ("Chrome on Linux"), and the place a GeoIP database names, else the IP
// network (a /24 or a /48), so that a new address of the same provider is
// not a new place.
func (s *Server) seenOf(ua, ip string) (place string, seen []store.SeenSignIn) {
	info := uainfo.Parse(ua)
	info.OS = withoutVersion(info.OS)
	browser := deviceName(info)
	if s.geo != nil {
		if p := s.geo.Place(ip); p != "" && p != approval.UnknownPlace {
			place = p
		}
	}
	where := place
	if where == "" {
		where = ipNetwork(ip)
	}
	return place, []store.SeenSignIn{{Kind: store.SeenBrowser, Value: browser}, {Kind: store.SeenPlace, Value: where}}
}

// withoutVersion drops a trailing version from a name: "macOS 14.1" is
// "macOS", so that an update is not a new browser.
func withoutVersion(name string) string {
	if i := strings.LastIndexByte(name, ' '); i > 0 && strings.IndexAny(name[i+1:], "0123456789") == 0 {
		return name[:i]
	}
	return name
}

// ipNetwork is the /24 (IPv4) or /48 (IPv6) network of ip; ip itself when
// it is not an address.
func ipNetwork(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// watchSignIn remembers the browser and place of the session st now holds
// (a full sign-in of u) and, when either is new to the account, alerts it
// on the channels it keeps on. The account's first sign-in (at sign-up, or
// the first since alerts exist) only remembers. Every path to a full
// session passes here: completeSignIn and signup call it.
func (s *Server) watchSignIn(ctx context.Context, r *http.Request, st *reqState, u *store.User) error {
	now := s.now()
	ua := truncate(r.UserAgent(), 512)
	place, seen := s.seenOf(ua, st.ip)
	fresh, first, err := s.store.RememberSignIn(ctx, u.ID, seen, now)
	if err != nil {
		return err
	}
	if first || len(fresh) == 0 {
		return nil
	}
	settings, err := s.store.AlertSettings(ctx, u.ID)
	if err != nil {
		return err
	}
	if !settings.Mail && !settings.Desktop {
		return nil
	}
	owner, err := s.store.OwnerMember(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("the account's owner: %w", err)
	}
	member := st.sess.MemberID
	if member == "" {
		member = owner.ID
	}
	a := &store.SignInAlert{
		UserID: u.ID, SessionID: st.sess.ID, SessionCreatedAt: st.sess.CreatedAt, MemberID: member,
		Browser: uainfo.Parse(ua).String(), Place: place, IP: st.ip,
		CreatedAt: now, ExpiresAt: now.Add(alertLifetime),
	}
	if err := s.store.AddSignInAlert(ctx, a); err != nil {
		return err
	}
	var news, told []string
	for _, f := range fresh {
		news = append(news, f.Kind)
	}
	if settings.Mail && u.Email != "" {
		mail := s.alertMail(u, a, news)
		st.later("mail a sign-in alert", func(ctx context.Context) error {
			if err := s.mailer.SendMail(ctx, mail); err != nil {
				return fmt.Errorf("mail a sign-in alert to account %s: %w", u.ID, err)
			}
			return nil
		})
		told = append(told, "by mail")
	}
	if settings.Desktop {
		to := []string{owner.ID}
		if member != owner.ID {
			to = append(to, member)
		}
		ev, err := approvalEvent(api.EventSignInAlert, api.SignInAlert{
			ID: a.ID, Browser: a.Browser, Place: a.Place, IP: a.IP, At: now, New: news, MemberID: member, For: to,
		})
		if err != nil {
			return err
		}
		if err := s.approvals.Publish(ctx, u.ID, ev); err != nil {
			return err
		}
		told = append(told, "on desktops")
	}
	detail := alertWhere(a) + ": new " + strings.Join(news, " and ")
	if len(told) > 0 {
		detail += "; told " + strings.Join(told, " and ")
	}
	return s.activity(ctx, r, st, u.ID, store.ActSignInAlerted, true, detail)
}

// approvalEvent is a stream event of kind with data as its JSON.
func approvalEvent(kind string, data any) (*store.ApprovalEvent, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", kind, err)
	}
	return &store.ApprovalEvent{Kind: kind, Data: b}, nil
}

// alertWhere is "Chrome 131 on Linux in Paris, France (IP address
// 203.0.113.5)", or without the place when none is named.
func alertWhere(a *store.SignInAlert) string {
	if a.Place != "" {
		return a.Browser + " in " + a.Place + " (IP address " + a.IP + ")"
	}
	return a.Browser + " (IP address " + a.IP + ")"
}

// alertMail is the alert's mail: what signed in, where from, when, and
// the link that signs it out.
func (s *Server) alertMail(u *store.User, a *store.SignInAlert, news []string) notify.Mail {
	what := "a browser"
	switch {
	case slices.Contains(news, store.SeenBrowser) && slices.Contains(news, store.SeenPlace):
		what = "a browser and a place"
	case slices.Contains(news, store.SeenPlace):
		what = "a place"
	}
	place := a.Place
	if place == "" {
		place = "Unknown (the IP address is " + a.IP + ")"
	} else {
		place += " (IP address " + a.IP + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nYour Countersign account was just signed in to from %s it has not used before:\n\n", u.Name, what)
	fmt.Fprintf(&b, "  Browser: %s\n  Place:   %s\n  Time:    %s\n\n", a.Browser, place, a.CreatedAt.UTC().Format("Monday 2 January 2006, 15:04 MST"))
	b.WriteString("If this was you, there is nothing to do.\n\n" +
		"If it wasn't you, open this link and press \"This wasn't me\": it signs that browser out, and the apps\n" +
		"it signed in to, and then helps you change your password.\n\n  " + s.public.String() + notMePath + "?t=" + s.alertToken(a) + "\n\n" +
		"The link works once, for " + strconv.Itoa(int(alertLifetime/(24*time.Hour))) + " days. You can turn these alerts off on the\n" +
		"Login & security page.\n")
	return notify.Mail{To: u.Email, Subject: "New sign-in to your Countersign account from " + a.Browser, Text: b.String()}
}

// alertToken seals the alert's id and expiry under the server key:
// "<id>.<unix nanoseconds>.<MAC>". It alone authorizes ending the session
// the alert names (the person who clicks may be signed out).
func (s *Server) alertToken(a *store.SignInAlert) string {
	n := strconv.FormatInt(a.ExpiresAt.UnixNano(), 10)
	return a.ID + "." + n + "." + base64.RawURLEncoding.EncodeToString(s.mac("signin-alert", a.ID, n))
}

// Why an alert's link does not work.
var (
	errAlertLink    = &userError{http.StatusBadRequest, "This link is not complete, or it was changed. Open it again from the mail we sent."}
	errAlertExpired = errors.New("the sign-in alert expired")
)

// openAlertToken returns the alert id tok names: errAlertLink when it is
// not one this server sealed, errAlertExpired when it is past its expiry.
func (s *Server) openAlertToken(tok string) (string, error) {
	id, rest, ok := strings.Cut(tok, ".")
	n, sig, ok2 := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || !ok2 || err != nil || !hmac.Equal(raw, s.mac("signin-alert", id, n)) {
		return "", errAlertLink
	}
	ns, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return "", errAlertLink
	}
	if !s.now().Before(time.Unix(0, ns)) {
		return "", errAlertExpired
	}
	return id, nil
}

// notMeView is the alert link's page. State is "ask" (what the button
// will do), "done" (signed out), "used", "expired" or "sent" (a password
// link went out).
type notMeView struct {
	State    string
	Token    string
	Alert    *store.SignInAlert
	Sessions int
	Apps     []string
	SignedIn bool // the browser is signed in to the same account: offer the password page
}

func (s *Server) showNotMe(w http.ResponseWriter, r *http.Request, status int, v notMeView) error {
	titles := map[string]string{
		"ask": "Was this you?", "done": "That sign-in is signed out", "used": "This link was used already",
		"expired": "This link expired", "sent": "Check your mail",
	}
	s.render(w, r, status, "notme", &view{Title: titles[v.State], D: v})
	return nil
}

// alertOf opens the request's token and loads its alert: nil with the
// page shown when there is nothing to act on.
func (s *Server) alertOf(w http.ResponseWriter, r *http.Request, tok string) (*store.SignInAlert, bool, error) {
	id, err := s.openAlertToken(tok)
	if errors.Is(err, errAlertExpired) {
		return nil, false, s.showNotMe(w, r, http.StatusGone, notMeView{State: "expired"})
	}
	if err != nil {
		return nil, false, err
	}
	a, err := s.store.SignInAlert(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, s.showNotMe(w, r, http.StatusGone, notMeView{State: "expired"})
	}
	if err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// notMePage shows what "This wasn't me" will do, with one button. It
// changes nothing: mail scanners open links.
func (s *Server) notMePage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	tok := r.URL.Query().Get("t")
	a, ok, err := s.alertOf(w, r, tok)
	if !ok {
		return err
	}
	if !a.UsedAt.IsZero() {
		return s.showNotMe(w, r, http.StatusGone, notMeView{State: "used", Alert: a, Token: tok})
	}
	return s.showNotMe(w, r, http.StatusOK, notMeView{State: "ask", Alert: a, Token: tok})
}

// notMe signs the alert's session out and ends the apps' codes and tokens
// issued in it. The token authorizes it, signed in or not; the form's
// CSRF field binds the POST to this browser.
func (s *Server) notMe(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	tok := r.PostFormValue("t")
	if !s.ipLimit.Allow("notme:" + st.ip) {
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	a, ok, err := s.alertOf(w, r, tok)
	if !ok {
		return err
	}
	id := a.ID
	a, d, detail, err := s.disown(ctx, id)
	if errors.Is(err, store.ErrUsed) {
		a, err := s.store.SignInAlert(ctx, id)
		if err != nil {
			return fmt.Errorf("sign-in alert: %w", err)
		}
		return s.showNotMe(w, r, http.StatusGone, notMeView{State: "used", Alert: a, Token: tok})
	}
	if errors.Is(err, store.ErrNotFound) {
		return s.showNotMe(w, r, http.StatusGone, notMeView{State: "expired"})
	}
	if err != nil {
		return err
	}
	if err := s.addActivity(ctx, originOf(r, st), a.UserID, store.ActSignInDisowned, true, detail+" from the alert's link"); err != nil {
		return err
	}
	v := notMeView{State: "done", Alert: a, Token: tok, Sessions: d.Sessions, Apps: d.Apps}
	// The session loaded for this request may be the one just ended.
	if st.sess != nil && st.sess.ID == a.SessionID {
		s.clearCookie(w, sessionCookie)
		st.sess, st.user = nil, nil
	}
	v.SignedIn = st.sess != nil && st.sess.Stage == store.StageFull && st.user.ID == a.UserID
	return s.showNotMe(w, r, http.StatusOK, v)
}

// disown is "This wasn't me" on the alert, for the link's page and API v1
// alike: the session and its apps' tokens end (store.DisownSignIn) and the
// desktops reload their sessions. It returns what ended, with the apps
// named, and the activity's detail, which the caller records with how it
// was asked. ErrUsed, ErrNotFound as DisownSignIn.
func (s *Server) disown(ctx context.Context, alertID string) (*store.SignInAlert, api.Disowned, string, error) {
	a, d, err := s.store.DisownSignIn(ctx, alertID, s.now(), s.oidcSID)
	if err != nil {
		return nil, api.Disowned{}, "", err
	}
	out := api.Disowned{Sessions: len(d.Sessions), Apps: []string{}, PasswordURL: s.public.String() + "/account/password"}
	for _, id := range d.OAuthApps {
		name := id
		if c, err := s.store.OAuthClient(ctx, id); err == nil {
			name = c.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, api.Disowned{}, "", fmt.Errorf("name the app %s: %w", id, err)
		}
		out.Apps = append(out.Apps, name)
	}
	detail := alertWhere(a) + ", signed in " + a.SessionCreatedAt.UTC().Format("2 Jan 2006, 15:04 UTC") + ": "
	if len(d.Sessions) == 0 {
		detail += "it had signed out already"
	} else {
		detail += "signed out"
	}
	if len(out.Apps) > 0 {
		detail += ", with " + plural(len(out.Apps), "app") + " it signed in to (" + strings.Join(out.Apps, ", ") + ")"
	}
	s.house.Changed(ctx, a.UserID, api.ChangedSessions)
	if len(out.Apps) > 0 {
		s.house.Changed(ctx, a.UserID, api.ChangedApps)
	}
	return a, out, detail, nil
}

// apiAlerts is what API v1 needs of the server for "This wasn't me" on a
// desktop (apiv1.Alerts).
type apiAlerts struct{ s *Server }

func (a apiAlerts) Disown(ctx context.Context, alertID string) (*store.SignInAlert, api.Disowned, string, error) {
	return a.s.disown(ctx, alertID)
}

// notMePassword mails the account a link to choose a new password: the
// person holding the alert's link may be signed out, and the account's own
// address is the safe place for it.
func (s *Server) notMePassword(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	tok := r.PostFormValue("t")
	if !s.ipLimit.Allow("notme:" + st.ip) {
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	a, ok, err := s.alertOf(w, r, tok)
	if !ok {
		return err
	}
	u, err := s.store.UserByID(ctx, a.UserID)
	if err != nil {
		return fmt.Errorf("the alert's account: %w", err)
	}
	login := u.Email
	if login == "" {
		login = u.Phone
	}
	from := originOf(r, st)
	st.later("send a reset link", func(ctx context.Context) error { return s.sendResetLink(ctx, from, login) })
	return s.showNotMe(w, r, http.StatusOK, notMeView{State: "sent", Alert: a})
}

// alertSettings turns the alert channels on or off.
func (s *Server) alertSettings(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	set := store.AlertSettings{Mail: r.PostFormValue("mail") == "1", Desktop: r.PostFormValue("desktop") == "1"}
	if err := s.store.SetAlertSettings(ctx, st.user.ID, set); err != nil {
		return err
	}
	onOff := map[bool]string{true: "on", false: "off"}
	detail := "By mail " + onOff[set.Mail] + ", on desktops " + onOff[set.Desktop]
	if err := s.activity(ctx, r, st, st.user.ID, store.ActAlertSettings, true, detail); err != nil {
		return err
	}
	s.done(w, r, "alerts", "Sign-in alerts: "+strings.ToLower(detail[:1])+detail[1:]+".")
	return nil
}
