package server

import (
	"net/http"

	"github.com/countersign/countersign/internal/household"
)

// Renaming and moving are actions behind a link on Login & security, each
// with a page of its own, not forms open on every row.

// editPage is a page of one field: a name, or a member to choose.
type editPage struct {
	Title, Label, Button string
	Value                string // the name as it is
	Choices              []editChoice
	Action, Back         string
}

// editChoice is a member offered on a move page.
type editChoice struct {
	ID, Name string
	Selected bool
}

// showEdit renders an edit page, with what its last refused answer left
// (refuseEdit).
func (s *Server) showEdit(w http.ResponseWriter, r *http.Request, d editPage) error {
	d.Action = r.URL.Path
	v := &view{Title: d.Title, D: d}
	if shown := s.pageRefusal(w, r, stateOf(r)); shown.Error != "" {
		v.Error, v.Field = shown.Error, shown.Field
		if typed, ok := shown.Form["name"]; ok && len(typed) > 0 {
			d.Value = typed[0]
		}
		v.D = d
	}
	s.render(w, r, http.StatusOK, "edit", v)
	return nil
}

// deviceRenamePage asks for a trusted browser's new name.
func (s *Server) deviceRenamePage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	d, err := s.store.Device(r.Context(), st.user.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.permits(r, st, household.RenameDevice, d.MemberID); err != nil {
		return err
	}
	return s.showEdit(w, r, editPage{Title: "Rename “" + d.Name + "”", Label: "New name", Button: "Rename",
		Value: d.Name, Back: cardURL("browsers")})
}

// memberRenamePage asks for a member's new name.
func (s *Server) memberRenamePage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if err := s.permits(r, st, household.RenameMember, r.PathValue("id")); err != nil {
		return err
	}
	m, _, err := s.houseMemberOf(r, st)
	if err != nil {
		return err
	}
	return s.showEdit(w, r, editPage{Title: "Rename " + m.Name, Label: "Name", Button: "Rename",
		Value: m.Name, Back: cardURL("household")})
}

// deviceMovePage asks which member a device goes to.
func (s *Server) deviceMovePage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ms, err := s.household(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	name, from, typ := "", "", ""
	for _, m := range ms {
		for _, dv := range m.Devices {
			if dv.ID == r.PathValue("id") {
				name, from, typ = dv.Name, m.ID, dv.Type
			}
		}
	}
	if name == "" {
		return errNotFound
	}
	d := editPage{Title: "Give “" + name + "” to…", Label: "Belongs to", Button: "Move", Back: cardURL(deviceCard(typ))}
	for _, m := range ms {
		d.Choices = append(d.Choices, editChoice{ID: m.ID, Name: m.Name, Selected: m.ID == from})
	}
	return s.showEdit(w, r, d)
}
