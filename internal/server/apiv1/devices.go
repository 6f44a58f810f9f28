package apiv1

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

// maxDeviceName is the longest device name, in characters.
const maxDeviceName = 64

func (h *handler) devices(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := h.deviceList(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.DeviceList{Devices: ds})
	return nil
}

// deviceList is every device of the account, each with its member and
// its place, most recently seen first; the calling desktop is Current.
func (h *handler) deviceList(ctx context.Context, c *caller) ([]api.Device, error) {
	out, err := household.Devices(ctx, h.store, c.user.ID, h.now())
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Place = h.place(out[i].IP)
		out[i].Current = c.device != nil && out[i].Type == api.DeviceApprover && c.device.ID == out[i].ID
	}
	return out, nil
}

// place is where ip is, "" when unknown.
func (h *handler) place(ip string) string {
	if h.locator == nil || ip == "" {
		return ""
	}
	if p := h.locator.Place(ip); p != approval.UnknownPlace {
		return p
	}
	return ""
}

// anyDevice is one of the account's devices, of whichever type.
type anyDevice struct {
	typ      string // api.Device…
	browser  *store.Device
	approver *store.Approver
	key      *store.SecurityKey
	keys     []store.SecurityKey // security keys: all the account's, for the last-method rule
}

func (d *anyDevice) id() string {
	switch d.typ {
	case api.DeviceBrowser:
		return d.browser.ID
	case api.DeviceApprover:
		return d.approver.ID
	}
	return d.key.ID
}

func (d *anyDevice) name() string {
	switch d.typ {
	case api.DeviceBrowser:
		return d.browser.Name
	case api.DeviceApprover:
		return d.approver.Name
	}
	return d.key.Name
}

func (d *anyDevice) memberID() string {
	switch d.typ {
	case api.DeviceBrowser:
		return d.browser.MemberID
	case api.DeviceApprover:
		return d.approver.MemberID
	}
	return d.key.MemberID
}

// words names the device for the activity log: `trusted browser "Desk"`.
func (d *anyDevice) words() string {
	switch d.typ {
	case api.DeviceBrowser:
		return fmt.Sprintf("trusted browser %q", d.name())
	case api.DeviceApprover:
		return fmt.Sprintf("paired desktop %q", d.name())
	}
	return fmt.Sprintf("security key %q", d.name())
}

var errNoDevice = errNotFound("The account has no such device.")

// device is the account's device named in the path, of any type.
func (h *handler) device(r *http.Request, c *caller) (*anyDevice, error) {
	ctx, id := r.Context(), r.PathValue("id")
	b, err := h.store.Device(ctx, c.user.ID, id)
	switch {
	case err == nil && b.UserID == c.user.ID: // the store filters by user; never trust one layer alone
		return &anyDevice{typ: api.DeviceBrowser, browser: b}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	a, err := h.store.Approver(ctx, id)
	switch {
	case err == nil && a.UserID == c.user.ID && a.RemovedAt.IsZero():
		return &anyDevice{typ: api.DeviceApprover, approver: a}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	keys, err := h.store.SecurityKeys(ctx, c.user.ID)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].ID == id && keys[i].UserID == c.user.ID {
			return &anyDevice{typ: api.DeviceSecurityKey, key: &keys[i], keys: keys}, nil
		}
	}
	return nil, errNoDevice
}

// deviceByID is the account's device id as GET devices lists it.
func (h *handler) deviceByID(ctx context.Context, c *caller, id string) (api.Device, error) {
	ds, err := h.deviceList(ctx, c)
	if err != nil {
		return api.Device{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return api.Device{}, errNoDevice
}

// updateDevice renames a device, gives it to another member, or both.
func (h *handler) updateDevice(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	var body api.DeviceUpdate
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	if body.Name == "" && body.MemberID == "" {
		return errBadRequest("name or member_id is required.")
	}
	var name string
	if body.Name != "" {
		var err error
		if name, err = deviceName(body.Name); err != nil {
			return err
		}
	}
	d, err := h.device(r, c)
	if err != nil {
		return err
	}
	// Both checks before anything changes. Moving is the owner's alone: a
	// caller's member comes from its device, so a member who could move
	// their own desktop could make themselves anyone.
	if name != "" {
		if err := h.permit(ctx, c, household.RenameDevice, d.memberID()); err != nil {
			return err
		}
	}
	from, err := h.memberOf(ctx, c.user.ID, d.memberID())
	if err != nil {
		return fmt.Errorf("looking up a device's member: %w", err)
	}
	to := from
	if body.MemberID != "" {
		to, err = h.memberOf(ctx, c.user.ID, body.MemberID)
		if errors.Is(err, store.ErrNotFound) {
			return errBadRequest("member_id: there is no such member in the household.")
		}
		if err != nil {
			return err
		}
		if to.ID != from.ID {
			if err := h.permit(ctx, c, household.MoveDevice, d.memberID()); err != nil {
				return err
			}
			if err := h.fresh(r, c, household.MoveDevice); err != nil {
				return err
			}
		}
	}
	old := d.name()
	if name != "" && name != old {
		words := d.words()
		if err := h.renameDevice(ctx, c, d, name); err != nil {
			return err
		}
		h.record(r, c, store.ActDeviceRenamed, true, fmt.Sprintf("%s of %s renamed to %q %s", capitalize(words), from.Name, name, c.via()))
		old = name
	}
	if to.ID != from.ID {
		if err := h.store.SetDeviceMember(ctx, c.user.ID, d.typ, d.id(), to.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errNoDevice
			}
			return err
		}
		h.record(r, c, store.ActDeviceMoved, true, fmt.Sprintf("%s %q moved from %s to %s %s", capitalize(typeWords(d.typ)), old, from.Name, to.Name, c.via()))
	}
	h.changed(r, c, api.ChangedDevices)
	out, err := h.deviceByID(ctx, c, d.id())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// typeWords names a device type for people.
func typeWords(typ string) string {
	switch typ {
	case api.DeviceBrowser:
		return "trusted browser"
	case api.DeviceApprover:
		return "paired desktop"
	}
	return "security key"
}

// renameDevice gives d a checked new name.
func (h *handler) renameDevice(ctx context.Context, c *caller, d *anyDevice, name string) error {
	var err error
	switch d.typ {
	case api.DeviceBrowser:
		d.browser.Name = name
		err = h.store.UpdateDevice(ctx, d.browser)
	case api.DeviceSecurityKey:
		d.key.Name = name
		err = h.store.UpdateSecurityKey(ctx, d.key)
	case api.DeviceApprover:
		err = h.store.RenameApprover(ctx, c.user.ID, d.approver.ID, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errNoDevice
	}
	return err
}

// removeDevice removes a device of any type: a trusted browser with its
// sessions, a paired desktop as DELETE approvers/{id} does, a security key
// unless it is the last way through 2-step verification.
func (h *handler) removeDevice(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	d, err := h.device(r, c)
	if err != nil {
		return err
	}
	if err := h.permit(ctx, c, household.RemoveDevice, d.memberID()); err != nil {
		return err
	}
	switch d.typ {
	case api.DeviceBrowser:
		owner, err := h.memberOf(ctx, c.user.ID, d.memberID())
		if err != nil {
			return err
		}
		if err := h.store.DeleteDevice(ctx, c.user.ID, d.browser.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errNoDevice
			}
			return err
		}
		h.record(r, c, store.ActDeviceRemoved, true, fmt.Sprintf("%s of %s removed and its sessions ended %s", capitalize(d.words()), owner.Name, c.via()))
		h.changed(r, c, api.ChangedDevices, api.ChangedSessions)
	case api.DeviceApprover:
		if err := h.unpair(r, c, d.approver); err != nil {
			return err
		}
	case api.DeviceSecurityKey:
		if err := h.deleteKey(r, c, d.key, d.keys); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unpair removes a paired desktop: its tokens stop working at once and
// its streams end with an "unpaired" event. The approval service records
// it in the activity log and tells the companions.
func (h *handler) unpair(r *http.Request, c *caller, a *store.Approver) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	err := h.approvals.RemoveApprover(r.Context(), c.user.ID, a.ID, c.ip, c.ua)
	if errors.Is(err, approval.ErrNotFound) {
		return errNoDevice
	}
	if err != nil {
		return approvalError(err)
	}
	return nil
}

// signOutDevice ends every session running on a trusted browser.
func (h *handler) signOutDevice(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	d, err := h.device(r, c)
	if err != nil {
		return err
	}
	if err := h.permit(ctx, c, household.SignOutDevice, d.memberID()); err != nil {
		return err
	}
	if d.typ != api.DeviceBrowser {
		return errConflict(api.CodeConflict, fmt.Sprintf("Only a trusted browser has sessions to sign out; %q is a %s.", d.name(), typeWords(d.typ)))
	}
	ss, err := h.store.Sessions(ctx, c.user.ID, h.now())
	if err != nil {
		return err
	}
	ended := 0
	for _, s := range ss {
		if s.DeviceID != d.browser.ID {
			continue
		}
		err := h.store.DeleteUserSession(ctx, c.user.ID, s.ID)
		switch {
		case err == nil:
			ended++
		case !errors.Is(err, store.ErrNotFound): // one that ended meanwhile is no failure
			return err
		}
	}
	h.record(r, c, store.ActSessionRevoked, true, fmt.Sprintf("%s signed out (%s ended) %s", capitalize(d.words()), plural(ended, "session"), c.via()))
	h.changed(r, c, api.ChangedSessions, api.ChangedDevices)
	writeJSON(w, http.StatusOK, api.SignedOut{Ended: ended})
	return nil
}

// plural counts things in words: "1 session", "2 sessions".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// deviceName trims and checks a new device name.
func deviceName(s string) (string, error) {
	s, err := names.Check(s, maxDeviceName)
	switch {
	case errors.Is(err, names.ErrEmpty):
		return "", errBadRequest("name is required.")
	case err != nil:
		return "", errBadRequest("name must be 1 to %d characters, %s.", maxDeviceName, names.Rule)
	}
	return s, nil
}

func (h *handler) sessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	ss, err := h.store.Sessions(r.Context(), c.user.ID, h.now())
	if err != nil {
		return err
	}
	slices.SortStableFunc(ss, func(a, b store.Session) int {
		return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), b.CreatedAt.Compare(a.CreatedAt))
	})
	out := api.SessionList{Sessions: make([]api.Session, 0, len(ss))}
	for _, s := range ss {
		browser, os := describeUA(s.UserAgent)
		out.Sessions = append(out.Sessions, api.Session{
			ID: s.ID, DeviceID: s.DeviceID, Browser: browser, OS: os, IP: s.IP,
			CreatedAt: utc(s.CreatedAt), LastSeenAt: utc(s.LastSeenAt),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	id := r.PathValue("id")
	noSession := errNotFound("The account has no such session.")
	s, err := h.store.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return noSession
	}
	if err != nil {
		return err
	}
	if s.UserID != c.user.ID {
		return noSession
	}
	if err := h.permit(ctx, c, household.EndSession, s.MemberID); err != nil {
		return err
	}
	if err := h.store.DeleteUserSession(ctx, c.user.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return noSession
		}
		return err
	}
	browser, os := describeUA(s.UserAgent)
	h.record(r, c, store.ActSessionRevoked, true, fmt.Sprintf("Session of %s ended %s", where(browser, os, s.IP), c.via()))
	h.changed(r, c, api.ChangedSessions, api.ChangedDevices)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeAllSessions ends every session of the account: API and device
// tokens have none of their own to keep.
func (h *handler) revokeAllSessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	n, err := h.store.DeleteOtherSessions(r.Context(), c.user.ID, "")
	if err != nil {
		return err
	}
	h.record(r, c, store.ActSessionRevoked, true, fmt.Sprintf("Every session ended (%s) %s", plural(n, "session"), c.via()))
	h.changed(r, c, api.ChangedSessions, api.ChangedDevices)
	writeJSON(w, http.StatusOK, api.SignedOut{Ended: n})
	return nil
}

// where describes a browser in plain words.
func where(browser, os, ip string) string {
	var parts []string
	if browser != "" {
		parts = append(parts, browser)
	}
	if os != "" {
		parts = append(parts, "on "+os)
	}
	if ip != "" {
		parts = append(parts, "from "+ip)
	}
	if len(parts) == 0 {
		return "an unknown browser"
	}
	return strings.Join(parts, " ")
}
