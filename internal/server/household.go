package server

// The household on the Login & security page, for the account's owner (a
// signed-in web session acts as the owner, as an API token does): its
// members and their devices, adding, renaming and removing members,
// inviting a member's desktop, sharing the authenticator with a member, and
// moving a device to another member. The rules are package household's;
// these handlers turn its answers into pages.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// houseMember is a member on the page, with their devices.
type houseMember struct {
	store.Member
	Devices []houseDevice
}

// DeviceSummary counts the member's devices by type for people: "1 paired
// desktop · 2 security keys", "No devices yet".
func (m houseMember) DeviceSummary() string {
	n := map[string]int{}
	for _, d := range m.Devices {
		n[d.Type]++
	}
	var parts []string
	for _, t := range []struct{ typ, one, many string }{
		{api.DeviceApprover, "paired desktop", "paired desktops"},
		{api.DeviceBrowser, "trusted browser", "trusted browsers"},
		{api.DeviceSecurityKey, "security key", "security keys"},
	} {
		if n[t.typ] > 0 {
			parts = append(parts, count(n[t.typ], t.one, t.many))
		}
	}
	if len(parts) == 0 {
		return "No devices yet"
	}
	return strings.Join(parts, " · ")
}

// Owner says the member is the account's owner.
func (m houseMember) Owner() bool { return m.Role == api.RoleOwner }

// houseDevice is a device of any type, as the household lists it.
type houseDevice struct {
	ID       string
	Type     string // api.DeviceBrowser, api.DeviceApprover, api.DeviceSecurityKey
	Name     string
	Detail   string // "Chrome on Linux", "Linux", "" for a key
	MemberID string // the member's id, the owner's too (never "")
}

// Kind names the device's type for people.
func (d houseDevice) Kind() string {
	switch d.Type {
	case api.DeviceBrowser:
		return "Trusted browser"
	case api.DeviceApprover:
		return "Paired desktop"
	}
	return "Security key"
}

// household reads the members, owner first, each with their devices.
func (s *Server) household(ctx context.Context, userID string) ([]houseMember, error) {
	ms, err := s.house.Members(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]houseMember, len(ms))
	at := map[string]int{}
	for i, m := range ms {
		out[i].Member = m
		at[m.ID] = i
	}
	ds, err := s.houseDevices(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if i, ok := at[d.MemberID]; ok {
			out[i].Devices = append(out[i].Devices, d)
		}
	}
	return out, nil
}

// houseDevices lists the account's trusted browsers, paired desktops and
// security keys as the API does; a device of the owner has the owner's id
// as its member.
func (s *Server) houseDevices(ctx context.Context, userID string) ([]houseDevice, error) {
	ds, err := household.Devices(ctx, s.store, userID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]houseDevice, 0, len(ds))
	for _, d := range ds {
		detail := d.OS
		if d.Type == api.DeviceBrowser {
			detail = d.Browser
			if d.OS != "" {
				detail += " on " + d.OS
			}
		}
		if d.Type == api.DeviceSecurityKey {
			detail = ""
		}
		out = append(out, houseDevice{ID: d.ID, Type: d.Type, Name: d.Name, Detail: detail, MemberID: d.MemberID})
	}
	return out, nil
}

// houseMemberOf is the member named in the path, with their devices.
func (s *Server) houseMemberOf(r *http.Request, st *reqState) (*houseMember, []houseMember, error) {
	ms, err := s.household(r.Context(), st.user.ID)
	if err != nil {
		return nil, nil, err
	}
	for i := range ms {
		if ms[i].ID == r.PathValue("id") {
			return &ms[i], ms, nil
		}
	}
	return nil, nil, errNotFound
}

// ownerOf is the owner among ms: the member a web session acts as.
func ownerOf(ms []houseMember) *houseMember {
	for i := range ms {
		if ms[i].Owner() {
			return &ms[i]
		}
	}
	return &houseMember{}
}

// memberNameError sends a name the household refused back to the form it
// came from: adding on the Household section, or a rename's own page.
func (s *Server) memberNameError(w http.ResponseWriter, r *http.Request, st *reqState, name string, err error, renaming bool) error {
	var msg string
	switch {
	case errors.Is(err, household.ErrInvalidName):
		msg = fmt.Sprintf("Give the member a name of 1 to %d characters.", household.MaxNameLen)
	case errors.Is(err, store.ErrConflict):
		msg = "The household already has a member called " + name + ": choose another name."
	default:
		return err
	}
	if renaming {
		return s.refuseEdit(w, r, st, "name", msg)
	}
	return s.refuse(w, r, st, "household", "name", msg)
}

func (s *Server) memberAdd(w http.ResponseWriter, r *http.Request, st *reqState) error {
	name := r.PostFormValue("name")
	m, err := s.house.AddMember(r.Context(), st.user.ID, name)
	if err != nil {
		return s.memberNameError(w, r, st, name, err, false)
	}
	s.done(w, r, "household", m.Name+" is in the household. Invite their desktop to give them their own approvals.")
	return nil
}

func (s *Server) memberRename(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if err := s.permits(r, st, household.RenameMember, r.PathValue("id")); err != nil {
		return err
	}
	name := r.PostFormValue("name")
	m, err := s.house.RenameMember(r.Context(), st.user.ID, r.PathValue("id"), name)
	if err != nil {
		return s.memberNameError(w, r, st, name, err, true)
	}
	s.done(w, r, "household", "Renamed to “"+m.Name+"”.")
	return nil
}

// memberRemoveData is the page that asks before a member is removed.
type memberRemoveData struct {
	Member      *houseMember
	ThisBrowser bool // the signed-in browser is one of theirs: removing them signs it out
}

// Devices says how many devices the member has, in words.
func (d *memberRemoveData) Devices() string {
	if n := len(d.Member.Devices); n != 1 {
		return strconv.Itoa(n) + " devices"
	}
	return "1 device"
}

// memberRemove asks first (the confirm page), then removes the member with
// all their devices on the confirm page's own post.
func (s *Server) memberRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	m, ms, err := s.houseMemberOf(r, st)
	if err != nil {
		return err
	}
	if m.Owner() {
		return &userError{http.StatusConflict, m.Name + " is the account's owner and cannot be removed from the household."}
	}
	d := &memberRemoveData{Member: m}
	for _, dv := range m.Devices {
		if dv.Type == api.DeviceBrowser && dv.ID == st.sess.DeviceID {
			d.ThisBrowser = true
		}
	}
	if r.Method != http.MethodPost || r.PostFormValue("confirm") != "1" {
		s.render(w, r, http.StatusOK, "memberremove", &view{Title: "Remove " + m.Name, D: d})
		return nil
	}
	err = s.house.RemoveMember(ctx, st.user.ID, m.ID, st.ip, truncate(r.UserAgent(), 512), ownerOf(ms).Name)
	if errors.Is(err, household.ErrOwner) {
		return &userError{http.StatusConflict, m.Name + " is the account's owner and cannot be removed from the household."}
	}
	if err != nil {
		return err
	}
	// Their trusted browsers went with their sessions.
	s.house.Changed(ctx, st.user.ID, api.ChangedSessions)
	if d.ThisBrowser {
		s.clearCookie(w, deviceCookie)
		s.clearCookie(w, sessionCookie)
		s.flash(w, m.Name+" is removed from the household with their devices, this browser too: you are signed out.")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	verb := " are"
	if len(m.Devices) == 1 {
		verb = " is"
	}
	s.done(w, r, "household", m.Name+" is removed from the household: their "+d.Devices()+verb+" signed out and removed.")
	return nil
}

// memberInvite shows the invitation page for a member's desktop; its post
// makes the pairing code, shown on that answer only.
func (s *Server) memberInvite(w http.ResponseWriter, r *http.Request, st *reqState) error {
	m, _, err := s.houseMemberOf(r, st)
	if err != nil {
		return err
	}
	d := pairData{Member: m.Name, Action: "/account/household/members/" + m.ID + "/invite"}
	title := "Invite " + m.Name + "'s desktop"
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, "pair", &view{Title: title, D: d})
		return nil
	}
	if !s.acctLimit.Allow("pair:" + st.user.ID) {
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	code, uri, expires, err := s.house.Invite(r.Context(), st.user.ID, m.ID)
	if err != nil {
		return err
	}
	if err := s.pairCode(&d, code, uri, expires); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "pair", &view{Title: title, D: d})
	return nil
}

func (s *Server) memberShare(w http.ResponseWriter, r *http.Request, st *reqState) error {
	m, ms, err := s.houseMemberOf(r, st)
	if err != nil {
		return err
	}
	n, err := s.house.Share(r.Context(), st.user.ID, m.ID, ownerOf(ms).Name)
	switch {
	case errors.Is(err, household.ErrNoAuthenticator):
		return s.refuse(w, r, st, "household", "",
			"Turn on an authenticator app for the account first: there is nothing to share yet.")
	case errors.Is(err, household.ErrNoDesktop):
		return s.refuse(w, r, st, "household", "",
			"Invite "+m.Name+"'s desktop first: "+m.Name+" has no paired desktop to share with.")
	case err != nil:
		return err
	}
	desktops := "their desktop"
	if n != 1 {
		desktops = fmt.Sprintf("their %d desktops", n)
	}
	s.done(w, r, "household", "The authenticator is offered to "+m.Name+" on "+desktops+", and to any desktop of theirs paired later.")
	return nil
}

func (s *Server) memberStopSharing(w http.ResponseWriter, r *http.Request, st *reqState) error {
	m, _, err := s.houseMemberOf(r, st)
	if err != nil {
		return err
	}
	if err := s.house.StopSharing(r.Context(), st.user.ID, m.ID); err != nil {
		return err
	}
	s.done(w, r, "household", "The authenticator is no longer shared with "+m.Name+". A desktop that added it keeps it until you change the authenticator.")
	return nil
}

// deviceMove gives a device of any type to another member.
func (s *Server) deviceMove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	ms, err := s.household(ctx, st.user.ID)
	if err != nil {
		return err
	}
	var from, to *houseMember
	var dev *houseDevice
	for i := range ms {
		if ms[i].ID == r.PostFormValue("member") {
			to = &ms[i]
		}
		for j := range ms[i].Devices {
			if ms[i].Devices[j].ID == r.PathValue("id") {
				from, dev = &ms[i], &ms[i].Devices[j]
			}
		}
	}
	if dev == nil {
		return errNotFound
	}
	if to == nil {
		return s.refuseEdit(w, r, st, "member", "Choose a member of the household to give “"+dev.Name+"” to.")
	}
	if to.ID == from.ID {
		s.done(w, r, deviceCard(dev.Type), "“"+dev.Name+"” is "+to.Name+"'s already.")
		return nil
	}
	if err := s.store.SetDeviceMember(ctx, st.user.ID, dev.Type, dev.ID, to.ID); err != nil {
		return fmt.Errorf("move device: %w", err)
	}
	detail := fmt.Sprintf("%s %q moved from %s to %s", dev.Kind(), dev.Name, from.Name, to.Name)
	if err := s.activity(ctx, r, st, st.user.ID, store.ActDeviceMoved, true, detail); err != nil {
		return err
	}
	s.done(w, r, deviceCard(dev.Type), "“"+dev.Name+"” is "+to.Name+"'s now.")
	return nil
}
