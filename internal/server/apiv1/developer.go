package apiv1

// The developer's side of Sign in with Countersign: the apps (OAuth
// clients) the account registered. They are managed with API tokens only:
// an approver device's token reads the account and decides sign-ins, and
// has no business with apps, so it is refused even where its "read" scope
// would do.

import (
	"errors"
	"fmt"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

var errNoDeveloperApp = errNotFound("The account has registered no such app.")

// developer checks that the provider is there (who may is the permission
// table's: not a paired desktop).
func (h *handler) developer(*caller) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	return nil
}

// developerApps lists the account's own apps, oldest first.
func (h *handler) developerApps(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.developer(c); err != nil {
		return err
	}
	cs, err := h.oauth.Clients(r.Context(), c.user.ID)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	out := api.DeveloperAppList{Apps: make([]api.DeveloperApp, 0, len(cs))}
	for i := range cs {
		out.Apps = append(out.Apps, developerApp(&cs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// registerApp registers an app of the account's; a confidential one's
// secret is in the answer, and only there.
func (h *handler) registerApp(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.developer(c); err != nil {
		return err
	}
	var body api.NewDeveloperApp
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	oc, secret, err := h.oauth.RegisterClient(r.Context(), c.user.ID, oauth.NewClient{
		Name: body.Name, LogoURL: body.LogoURL, Homepage: body.Homepage, PrivacyURL: body.PrivacyURL,
		RedirectURIs: body.RedirectURIs, Scopes: body.Scopes, Public: body.Public,
	})
	if err != nil {
		return developerError("register app", err)
	}
	out := developerApp(oc)
	out.ClientSecret = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// rotateAppSecret gives a confidential app a new secret; the old one stops
// working at once. A public app has none: 400.
func (h *handler) rotateAppSecret(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.developer(c); err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	secret, err := h.oauth.RotateSecret(r.Context(), c.user.ID, r.PathValue("client_id"))
	if err != nil {
		return developerError("rotate app secret", err)
	}
	writeJSON(w, http.StatusOK, api.ClientSecret{ClientSecret: secret})
	return nil
}

// deleteApp deletes an app of the account's; every grant and token of it
// dies with it.
func (h *handler) deleteApp(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.developer(c); err != nil {
		return err
	}
	if err := h.oauth.DeleteClient(r.Context(), c.user.ID, r.PathValue("client_id")); err != nil {
		return developerError("delete app", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// developerError turns a provider failure into an answer: its words for
// people as a 400, another account's (or no) app as a 404.
func developerError(what string, err error) error {
	switch {
	case errors.Is(err, oauth.ErrInvalid):
		return errBadRequest("%s", sentence(capitalize(err.Error())))
	case errors.Is(err, oauth.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return errNoDeveloperApp
	}
	return fmt.Errorf("%s: %w", what, err)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func developerApp(c *store.OAuthClient) api.DeveloperApp {
	return api.DeveloperApp{
		ClientID:     c.ID,
		Name:         c.Name,
		LogoURL:      c.LogoURL,
		Homepage:     c.Homepage,
		PrivacyURL:   c.PrivacyURL,
		RedirectURIs: nonNil(c.RedirectURIs),
		Scopes:       nonNil(c.Scopes),
		Public:       c.Public,
		CreatedAt:    c.CreatedAt.UTC(),
	}
}

// nonNil makes a missing list an empty one on the wire.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
