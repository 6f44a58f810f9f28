package server

// Login & security is an overview and four sections, each a page with its
// own address, plus the activity page; a navigation joins them. Every card
// lives on one section, and every form's answer — done, or refused with the
// field at fault — comes back to that card (Post/Redirect/Get: reloading
// the page never sends a form again).

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// section is a page of Login & security.
type section struct {
	Path string // "/account/security/devices"
	Name string // "Devices": the navigation's word and the page's heading
	Page string // its template
}

// sections are the pages in the navigation's order.
var sections = []section{
	{"/account/security", "Overview", "security"},
	{"/account/security/sign-in", "Sign-in & two-step", "security-signin"},
	{"/account/security/devices", "Devices", "security-devices"},
	{"/account/security/apps", "Apps", "security-apps"},
	{"/account/security/household", "Household", "security-household"},
	{"/account/activity", "Activity", "activity"},
}

// cardSection is the section each card of Login & security is on, by the
// card's id: where a form's answer returns to.
var cardSection = map[string]string{
	"account":         "/account/security",
	"attention":       "/account/security",
	"password":        "/account/security/sign-in",
	"two-step":        "/account/security/sign-in",
	"backup":          "/account/security/sign-in",
	"security-keys":   "/account/security/sign-in",
	"passkeys":        "/account/security/sign-in",
	"alerts":          "/account/security/sign-in",
	"approvers":       "/account/security/devices",
	"browsers":        "/account/security/devices",
	"authorized-apps": "/account/security/apps",
	"api-tokens":      "/account/security/apps",
	"household":       "/account/security/household",
}

// cardURL is the address of a card: its section, scrolled to it.
func cardURL(card string) string {
	sec, ok := cardSection[card]
	if !ok {
		panic("no section has the card " + card)
	}
	return sec + "#" + card
}

// sectionNav is the navigation of the page at path.
type sectionNav struct {
	Current string
	All     []section
}

func navAt(path string) sectionNav { return sectionNav{Current: path, All: sections} }

// done tells people a form did what it said, on the card it came from.
func (s *Server) done(w http.ResponseWriter, r *http.Request, card, msg string) {
	if msg != "" {
		s.flash(w, card+flashCardSep+msg)
	}
	http.Redirect(w, r, cardURL(card), http.StatusSeeOther)
}

// flashCardSep parts a flash's card from its words.
const flashCardSep = "\x1f"

// splitFlash is a flash's card ("" for none) and its words.
func splitFlash(f string) (card, msg string) {
	if c, m, ok := strings.Cut(f, flashCardSep); ok {
		return c, m
	}
	return "", f
}

// refuse sends a form refused for what was entered back to its card, with
// the words and the field at fault ("" for the whole form): a sealed,
// short-lived message the section shows once (see reveal), so that
// reloading the page shows it without the error and sends nothing. The
// status says how the form fared to clients that do not follow redirects.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, st *reqState, card, field, msg string) error {
	return s.refuseAt(w, r, st, cardURL(card), revealed{Error: msg, Field: field, Card: card})
}

// refuseEdit sends a refused rename or move back to its own page (the same
// address, by GET), with the words, the field and what was typed.
func (s *Server) refuseEdit(w http.ResponseWriter, r *http.Request, st *reqState, field, msg string) error {
	return s.refusePage(w, r, st, r.URL.Path, field, msg, field)
}

// refusePage sends a form refused for what was entered back to its page of
// one form (to, by GET), with the words, the field at fault and the fields
// named in keep as they were entered (never a password or a code).
func (s *Server) refusePage(w http.ResponseWriter, r *http.Request, st *reqState, to, field, msg string, keep ...string) error {
	v := revealed{Error: msg, Field: field, Card: "page"}
	if len(keep) > 0 {
		v.Form = map[string][]string{}
		for _, k := range keep {
			v.Form[k] = r.PostForm[k]
		}
	}
	return s.refuseAt(w, r, st, to, v)
}

// pageRefusal is what refusePage left for this page; the zero value when
// nothing.
func (s *Server) pageRefusal(w http.ResponseWriter, r *http.Request, st *reqState) revealed {
	if v := s.takeReveal(w, r, st); v.Card == "page" {
		return v
	}
	return revealed{}
}

// entered is the first value of a field a refused form kept.
func (v revealed) entered(field string) string {
	if vs := v.Form[field]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (s *Server) refuseAt(w http.ResponseWriter, r *http.Request, st *reqState, to string, v revealed) error {
	if err := s.reveal(w, st, v); err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// deviceCard is the card a device of the type (api.Device…) is listed on.
func deviceCard(typ string) string {
	switch typ {
	case api.DeviceBrowser:
		return "browsers"
	case api.DeviceApprover:
		return "approvers"
	}
	return "security-keys"
}

// showSection renders one section of Login & security, with what the last
// form left for it (a message, an error, what is shown once).
func (s *Server) showSection(w http.ResponseWriter, r *http.Request, st *reqState, path string) error {
	var sec section
	for _, x := range sections {
		if x.Path == path {
			sec = x
		}
	}
	shown := s.takeReveal(w, r, st)
	d, err := s.securityData(r.Context(), st)
	if err != nil {
		return err
	}
	d.Nav = navAt(path)
	d.BackupCodes, d.NewToken = shown.BackupCodes, shown.APIToken
	d.ErrorCard = shown.Card
	card, flash := splitFlash(s.takeFlash(w, r))
	if card == "" {
		card = "top"
	}
	d.FlashCard = card
	title := sec.Name + " · Login & security"
	if path == sections[0].Path {
		title = "Login & security"
	}
	s.widenCSP(w, true, nil)
	s.render(w, r, http.StatusOK, sec.Page, &view{Title: title, Error: shown.Error, Field: shown.Field,
		Flash: flash, WebAuthn: path == "/account/security/sign-in", D: d})
	return nil
}

// sectionPage serves the section at the route's path.
func (s *Server) sectionPage(path string) func(http.ResponseWriter, *http.Request, *reqState) error {
	return func(w http.ResponseWriter, r *http.Request, st *reqState) error {
		return s.showSection(w, r, st, path)
	}
}

// attention is a thing on the overview that needs the person: what is wrong
// and where to mend it.
type attention struct {
	Text, Link, LinkText string
}

// needsAttention is what the overview asks people to look at, worst first.
func (d *securityData) needsAttention(twoStep bool) []attention {
	var out []attention
	if ok, _ := d.May("TwoStep", ""); !ok {
		return nil
	}
	switch {
	case !twoStep:
		out = append(out, attention{"Two-step verification is off: your password alone lets anyone in.",
			cardURL("two-step"), "Turn on two-step verification"})
	case d.BackupTotal == 0:
		out = append(out, attention{"You have no backup codes: if you lose your phone and keys, you cannot sign in.",
			cardURL("backup"), "Get backup codes"})
	case d.BackupLeft == 1:
		out = append(out, attention{"Only 1 of your backup codes is left.", cardURL("backup"), "Get new backup codes"})
	case d.BackupLeft <= 2:
		out = append(out, attention{fmt.Sprintf("Only %d of your backup codes are left.", d.BackupLeft), cardURL("backup"), "Get new backup codes"})
	}
	return out
}

// count is "1 desktop", "3 desktops", "no desktops".
func count(n int, one, many string) string {
	switch n {
	case 0:
		return "no " + many
	case 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// browserRow is a browser on the Devices section, once: trusted to skip
// the second step, signed in, or both.
type browserRow struct {
	Device   *store.Device   // nil: signed in without being trusted
	Sessions []store.Session // its sessions signed in now
	MemberID string
}

// Current says the row is the browser reading the page.
func (b browserRow) Current(sess string) bool {
	for _, x := range b.Sessions {
		if x.ID == sess {
			return true
		}
	}
	return false
}

// browserRows joins trusted browsers and sessions: a session of a trusted
// browser is in that browser's row; the others are a row each. The
// browser reading the page comes first.
func browserRows(devs []store.Device, sessions []store.Session, current string) []browserRow {
	var rows []browserRow
	at := map[string]int{}
	for i := range devs {
		at[devs[i].ID] = len(rows)
		rows = append(rows, browserRow{Device: &devs[i], MemberID: devs[i].MemberID})
	}
	for _, x := range sessions {
		if i, ok := at[x.DeviceID]; ok && x.DeviceID != "" {
			rows[i].Sessions = append(rows[i].Sessions, x)
			continue
		}
		rows = append(rows, browserRow{Sessions: []store.Session{x}, MemberID: x.MemberID})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Current(current) && !rows[j].Current(current) })
	return rows
}
