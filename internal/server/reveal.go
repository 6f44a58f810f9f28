package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/countersign/countersign/internal/atrest"
)

// Secrets shown once — new backup codes, a new API token — are made by a
// POST that then redirects (Post/Redirect/Get): reloading the page that
// shows them does not make new ones. The POST seals them, bound to the
// session, into a short-lived cookie (AES-GCM under a key derived from the
// server key); the GET opens it, shows them, and clears it, so a reload
// shows the page without them.

// revealCookie carries what the next page shows once.
const revealCookie = "countersign_reveal"

// revealLife is how long the sealed secret waits for its page.
const revealLife = 2 * time.Minute

// revealed is what a page shows once.
type revealed struct {
	BackupCodes []string `json:"backup_codes,omitempty"`
	APIToken    string   `json:"api_token,omitempty"`

	// A form refused for what was entered (see refuse): the words, the
	// field at fault, and the card the form is on.
	Error string              `json:"error,omitempty"`
	Field string              `json:"field,omitempty"`
	Card  string              `json:"card,omitempty"` // "page" on a page of one form
	Form  map[string][]string `json:"form,omitempty"` // what was entered, its secrets left out

	// An app just registered or its secret rotated: its id and secret.
	AppID     string `json:"app_id,omitempty"`
	AppSecret string `json:"app_secret,omitempty"`
	AppNew    bool   `json:"app_new,omitempty"`
}

// revealKey is the key sealed reveals are made with.
func (s *Server) revealKey() (*atrest.Key, error) {
	return atrest.NewKey(s.mac("reveal-key"))
}

// reveal seals v for this session's next page.
func (s *Server) reveal(w http.ResponseWriter, st *reqState, v revealed) error {
	k, err := s.revealKey()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sealed, err := k.Seal(s.rand, plain, "reveal", st.sess.ID)
	if err != nil {
		return err
	}
	s.setCookie(w, revealCookie, base64.RawURLEncoding.EncodeToString(sealed), s.now().Add(revealLife))
	return nil
}

// takeReveal opens and clears what this session's page shows once; the
// zero value when there is nothing (or it is not this session's).
func (s *Server) takeReveal(w http.ResponseWriter, r *http.Request, st *reqState) revealed {
	var v revealed
	c, err := r.Cookie(revealCookie)
	if err != nil {
		return v
	}
	s.clearCookie(w, revealCookie)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || st.sess == nil {
		return v
	}
	k, err := s.revealKey()
	if err != nil {
		return v
	}
	plain, err := k.Open(raw, "reveal", st.sess.ID)
	if err != nil {
		return v
	}
	if json.Unmarshal(plain, &v) != nil {
		return revealed{}
	}
	return v
}
