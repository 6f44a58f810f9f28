package server

// The developer's apps (/developer/apps: register, rotate a secret, delete)
// and the account's authorized apps (the security page's section, remove
// access).

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

// appsData is the developer page.
type appsData struct {
	Apps    []store.OAuthClient
	Scopes  []scopeChoice
	Form    appForm
	Created *store.OAuthClient // just registered: its client id (and secret) shown once
	Rotated *store.OAuthClient // its secret just rotated
	Secret  string             // shown once
}

// appForm is what the registration form holds, kept after an error.
type appForm struct {
	Name, LogoURL, Homepage, PrivacyURL, RedirectURIs string
	Scopes                                            []string
	Public                                            bool
}

// Has says whether the form has scope checked.
func (f appForm) Has(scope string) bool {
	for _, s := range f.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// appsPage lists the developer's apps with the registration form; after a
// registration or a rotation (Post/Redirect/Get) it shows the app's client
// id and secret once, after a refused registration the form as it was sent
// with the error.
func (s *Server) appsPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	shown := s.takeReveal(w, r, st)
	d := &appsData{Form: appForm{Scopes: []string{"openid"}}}
	if shown.Card == "page" {
		d.Form = appForm{
			Name: shown.entered("name"), LogoURL: shown.entered("logo_url"), Homepage: shown.entered("homepage"),
			PrivacyURL: shown.entered("privacy_url"), RedirectURIs: shown.entered("redirect_uris"),
			Scopes: shown.Form["scopes"], Public: shown.entered("type") == "public",
		}
	}
	apps, err := s.oauth.Clients(r.Context(), st.user.ID)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	d.Apps = apps
	d.Scopes = scopeChoices()
	for i := range apps {
		if shown.AppID != "" && apps[i].ID == shown.AppID {
			if shown.AppNew {
				d.Created = &apps[i]
			} else {
				d.Rotated = &apps[i]
			}
			d.Secret = shown.AppSecret
		}
	}
	s.widenCSP(w, true, nil)
	s.render(w, r, http.StatusOK, "apps", &view{Title: "Your apps", Error: shown.Error, Field: shown.Field, D: d})
	return nil
}

func (s *Server) appCreate(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("The form could not be read.")
	}
	f := appForm{
		Name:         strings.TrimSpace(r.PostFormValue("name")),
		LogoURL:      strings.TrimSpace(r.PostFormValue("logo_url")),
		Homepage:     strings.TrimSpace(r.PostFormValue("homepage")),
		PrivacyURL:   strings.TrimSpace(r.PostFormValue("privacy_url")),
		RedirectURIs: r.PostFormValue("redirect_uris"),
		Scopes:       r.PostForm["scopes"],
		Public:       r.PostFormValue("type") == "public",
	}
	var uris []string
	for _, line := range strings.Split(f.RedirectURIs, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			uris = append(uris, line)
		}
	}
	show := func(field, msg string) error {
		return s.refusePage(w, r, st, "/developer/apps", field, msg,
			"name", "logo_url", "homepage", "privacy_url", "redirect_uris", "scopes", "type")
	}
	switch t := r.PostFormValue("type"); {
	case f.Name == "":
		return show("name", "Give the app a name.")
	case len(uris) == 0:
		return show("redirect_uris", "Add at least one redirect URI, one per line.")
	case t != "public" && t != "confidential":
		return show("type", "Choose the app's type: public or confidential.")
	}
	c, secret, err := s.oauth.RegisterClient(r.Context(), st.user.ID, oauth.NewClient{
		Name: f.Name, LogoURL: f.LogoURL, Homepage: f.Homepage, PrivacyURL: f.PrivacyURL,
		RedirectURIs: uris, Scopes: f.Scopes, Public: f.Public,
	})
	if errors.Is(err, oauth.ErrInvalid) {
		return show("", invalidMessage(err))
	}
	if err != nil {
		return fmt.Errorf("register app: %w", err)
	}
	return s.showAppSecret(w, r, st, c, secret, true)
}

// invalidMessage is the words of an oauth.ErrInvalid, as a sentence.
func invalidMessage(err error) string {
	msg := err.Error()
	if _, what, ok := strings.Cut(msg, oauth.ErrInvalid.Error()+": "); ok {
		msg = what
	}
	msg = strings.TrimPrefix(msg, "oauth: ")
	if msg == "" {
		return "That did not work."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// ownApp is the signed-in developer's app of the path's id.
func (s *Server) ownApp(r *http.Request, st *reqState) (*store.OAuthClient, error) {
	apps, err := s.oauth.Clients(r.Context(), st.user.ID)
	if err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	for i := range apps {
		if apps[i].ID == r.PathValue("id") {
			return &apps[i], nil
		}
	}
	return nil, errNotFound
}

func (s *Server) appRotate(w http.ResponseWriter, r *http.Request, st *reqState) error {
	c, err := s.ownApp(r, st)
	if err != nil {
		return err
	}
	if c.Public {
		return badRequest("A public app has no secret.")
	}
	secret, err := s.oauth.RotateSecret(r.Context(), st.user.ID, c.ID)
	if errors.Is(err, oauth.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("rotate secret: %w", err)
	}
	return s.showAppSecret(w, r, st, c, secret, false)
}

// showAppSecret sends the developer to the apps page, which shows the
// app's client id and secret once (sealed to the session, see reveal).
func (s *Server) showAppSecret(w http.ResponseWriter, r *http.Request, st *reqState, c *store.OAuthClient, secret string, isNew bool) error {
	if err := s.reveal(w, st, revealed{AppID: c.ID, AppSecret: secret, AppNew: isNew}); err != nil {
		return err
	}
	http.Redirect(w, r, "/developer/apps", http.StatusSeeOther)
	return nil
}

// appDelete asks first (the confirm page), then deletes on the confirm
// page's own post.
func (s *Server) appDelete(w http.ResponseWriter, r *http.Request, st *reqState) error {
	c, err := s.ownApp(r, st)
	if err != nil {
		return err
	}
	if r.Method != http.MethodPost || r.PostFormValue("confirm") != "1" {
		s.widenCSP(w, true, nil)
		s.render(w, r, http.StatusOK, "appdelete", &view{Title: "Delete " + c.Name, D: c})
		return nil
	}
	err = s.oauth.DeleteClient(r.Context(), st.user.ID, c.ID)
	if errors.Is(err, oauth.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("delete app: %w", err)
	}
	s.flash(w, "“"+c.Name+"” is deleted: it can no longer sign anyone in, and its tokens no longer work.")
	http.Redirect(w, r, "/developer/apps", http.StatusSeeOther)
	return nil
}

// authorizedApp is an app on the security page's list.
type authorizedApp struct {
	Client     store.OAuthClient
	Scopes     []string // in words
	GrantedAt  time.Time
	LastUsedAt time.Time
}

func authorizedApps(gs []oauth.Grant) []authorizedApp {
	out := make([]authorizedApp, 0, len(gs))
	for _, g := range gs {
		out = append(out, authorizedApp{Client: g.Client, Scopes: scopeWords(g.Scopes), GrantedAt: g.GrantedAt, LastUsedAt: g.LastUsedAt})
	}
	return out
}

// appRevoke removes an app's access to the account (the provider records
// it in the activity log).
func (s *Server) appRevoke(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("client_id")
	gs, err := s.oauth.Grants(ctx, st.user.ID)
	if err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	name := ""
	for _, g := range gs {
		if g.Client.ID == id {
			name = g.Client.Name
		}
	}
	if name == "" {
		return errNotFound
	}
	if !s.confirmed(w, r, ask{Title: "Remove " + name + "'s access?",
		Text:   name + " is signed out and its tokens stop working at once; to use it again it must ask you again.",
		Button: "Remove access", Back: cardURL("authorized-apps")}) {
		return nil
	}
	err = s.oauth.RevokeGrant(ctx, st.user.ID, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	s.house.Changed(ctx, st.user.ID, api.ChangedApps)
	s.done(w, r, "authorized-apps", "“"+name+"” no longer has access to your account.")
	return nil
}
