package server

import "net/http"

// Every removal on the pages asks first: the form on the page posts to the
// action without confirm=1, which answers with a page that names what goes
// and a form that posts the same action again, confirmed. Nothing changes
// until then.

// ask is a removal's confirmation page.
type ask struct {
	Title    string // the question: "Remove the security key “YubiKey”?"
	Text     string // what goes with it, in plain words
	Button   string // the verb: "Remove key"
	Back     string // where "Keep it as it is" goes
	Action   string // the form's action (the request's own path)
	Password bool   // the form asks for the account's password too
}

// confirmed reports whether the request confirms its removal; when it does
// not, it has answered with the confirmation page a describes.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, a ask) bool {
	if r.PostFormValue("confirm") == "1" {
		return true
	}
	s.askAgain(w, r, http.StatusOK, "", a)
	return false
}

// askAgain shows the confirmation page, with an error about the password
// when msg is set.
func (s *Server) askAgain(w http.ResponseWriter, r *http.Request, status int, msg string, a ask) {
	a.Action = r.URL.Path
	v := &view{Title: a.Title, Error: msg, D: a}
	if msg != "" {
		v.Field = "password"
	}
	s.render(w, r, status, "confirm", v)
}
