package apiv1

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// maxDeviceName is the longest device name, in characters.
const maxDeviceName = 64

func (h *handler) devices(w http.ResponseWriter, r *http.Request, c *caller) error {
	ds, err := h.store.Devices(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	slices.SortStableFunc(ds, func(a, b store.Device) int {
		return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), b.CreatedAt.Compare(a.CreatedAt))
	})
	out := api.DeviceList{Devices: make([]api.Device, 0, len(ds))}
	for i := range ds {
		out.Devices = append(out.Devices, apiDevice(&ds[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) renameDevice(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.DeviceUpdate
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	name, err := deviceName(body.Name)
	if err != nil {
		return err
	}
	d, err := h.device(r, c)
	if err != nil {
		return err
	}
	old := d.Name
	d.Name = name
	if err := h.store.UpdateDevice(r.Context(), d); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNoDevice
		}
		return err
	}
	if old != name {
		h.record(r, c, store.ActDeviceRenamed, true, fmt.Sprintf("Trusted device %q renamed to %q %s", old, name, c.via()))
	}
	writeJSON(w, http.StatusOK, apiDevice(d))
	return nil
}

func (h *handler) removeDevice(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.device(r, c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteDevice(r.Context(), c.user.ID, d.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNoDevice
		}
		return err
	}
	h.record(r, c, store.ActDeviceRemoved, true, fmt.Sprintf("Trusted device %q removed and its sessions ended %s", d.Name, c.via()))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errNoDevice = errNotFound("The account has no such trusted device.")

// device is the caller's device named in the path.
func (h *handler) device(r *http.Request, c *caller) (*store.Device, error) {
	d, err := h.store.Device(r.Context(), c.user.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoDevice
	}
	if err != nil {
		return nil, err
	}
	if d.UserID != c.user.ID { // the store filters by user; never trust one layer alone
		return nil, errNoDevice
	}
	return d, nil
}

// deviceName trims and checks a new device name.
func deviceName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errBadRequest("name is required.")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDeviceName || strings.ContainsFunc(s, unicode.IsControl) {
		return "", errBadRequest("name must be 1 to %d characters, without control characters.", maxDeviceName)
	}
	return s, nil
}

func apiDevice(d *store.Device) api.Device {
	return api.Device{
		ID: d.ID, Name: d.Name, Kind: d.Kind, Browser: d.Browser, OS: d.OS, IP: d.IP, UserAgent: d.UserAgent,
		CreatedAt: utc(d.CreatedAt), LastSeenAt: utc(d.LastSeenAt), TrustedUntil: utc(d.TrustedUntil),
	}
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
	id := r.PathValue("id")
	noSession := errNotFound("The account has no such session.")
	s, err := h.store.Session(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return noSession
	}
	if err != nil {
		return err
	}
	if s.UserID != c.user.ID {
		return noSession
	}
	if err := h.store.DeleteUserSession(r.Context(), c.user.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return noSession
		}
		return err
	}
	browser, os := describeUA(s.UserAgent)
	h.record(r, c, store.ActSessionRevoked, true, fmt.Sprintf("Session of %s ended %s", where(browser, os, s.IP), c.via()))
	w.WriteHeader(http.StatusNoContent)
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
