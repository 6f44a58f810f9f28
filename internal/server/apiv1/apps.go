package apiv1

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

var errNoOAuth = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable,
	msg: "Sign in with Countersign is not set up on this server."}

// apps lists the apps the account let sign in with Countersign.
func (h *handler) apps(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	gs, err := h.oauth.Grants(r.Context(), c.user.ID)
	if err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	out := api.AppList{Apps: make([]api.App, 0, len(gs))}
	for _, g := range gs {
		scopes := g.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		out.Apps = append(out.Apps, api.App{
			ClientID:   g.Client.ID,
			Name:       g.Client.Name,
			LogoURL:    g.Client.LogoURL,
			Homepage:   g.Client.Homepage,
			Scopes:     scopes,
			GrantedAt:  g.GrantedAt.UTC(),
			LastUsedAt: g.LastUsedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeApp removes an app's access: its grant and every token it holds.
// The provider records it in the activity log. Only the owner may.
func (h *handler) revokeApp(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	err := h.oauth.RevokeGrant(r.Context(), c.user.ID, r.PathValue("client_id"))
	if errors.Is(err, oauth.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		return errNotFound("This account has not authorized that app.")
	}
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	h.changed(r, c, api.ChangedApps)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
