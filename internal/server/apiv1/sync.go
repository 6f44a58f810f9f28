package apiv1

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// The vault sync endpoints: a paired desktop syncs with the other desktops
// of its household member (the scope), and sees only that scope. The
// server checks who holds the key, versions and generations; it never
// opens anything.

const (
	syncMaxBody     = 8 << 20 // a rotation re-seals every entry at once
	syncMaxRecord   = 16 << 10
	syncMaxBatch    = 1000
	syncPage        = 500
	syncJoinExpiry  = 10 * time.Minute
	syncNonceLength = 16
)

var (
	errNotSyncing = errConflict(api.CodeNotSyncing,
		"This desktop does not sync the vault: start sync on it, or ask to join from it and approve on one that syncs.")
	errRotateFirst = errConflict(api.CodeRotateFirst,
		"A desktop that held the sync key was removed: a remaining desktop must rotate the key before anything else is written (countersign sync status does it).")
	errGeneration = errConflict(api.CodeGeneration,
		"The sync key changed meanwhile: read the key again (GET /api/v1/sync) and retry.")
)

// syncScope is the caller's scope and whether it holds the key.
func (h *handler) syncScope(r *http.Request, c *caller) (*store.SyncScope, *store.SyncKey, error) {
	s, err := h.store.SyncScope(r.Context(), c.user.ID, c.member.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for i := range s.Keys {
		if s.Keys[i].DeviceID == c.device.ID && s.Keys[i].Live {
			return s, &s.Keys[i], nil
		}
	}
	return s, nil, nil
}

// holder is the caller's scope when it holds the key.
func (h *handler) holder(r *http.Request, c *caller) (*store.SyncScope, error) {
	s, k, err := h.syncScope(r, c)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errNotSyncing
	}
	return s, nil
}

func (h *handler) syncStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	s, k, err := h.syncScope(r, c)
	if err != nil {
		return err
	}
	out := api.SyncStatus{Devices: []api.SyncDevice{}}
	if s == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	out.Syncing, out.Scope, out.Generation, out.RotateFirst, out.Cursor = true, s.ID(), s.Generation, s.RotateFirst, s.Cursor
	if k != nil && k.Generation == s.Generation {
		out.Key = enc64(k.Sealed)
	}
	for _, sk := range s.Keys {
		d := api.SyncDevice{ID: sk.DeviceID, Generation: sk.Generation, Live: sk.Live}
		if a, err := h.store.Approver(r.Context(), sk.DeviceID); err == nil && a.UserID == c.user.ID {
			d.Name, d.PublicKey = a.Name, enc64(a.PublicKey)
		}
		out.Devices = append(out.Devices, d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func enc64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(field, s string, max int) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	switch {
	case err != nil || len(b) == 0:
		return nil, errBadRequest("%s must be base64url, not empty.", field)
	case len(b) > max:
		return nil, errBadRequest("%s is longer than %d bytes.", field, max)
	}
	return b, nil
}

func (h *handler) syncStart(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.SyncStart
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	sealed, err := unb64("sealed", body.Sealed, 1024)
	if err != nil {
		return err
	}
	if body.Generation != 1 {
		return errBadRequest("A new sync starts with generation 1.")
	}
	err = h.store.StartSync(r.Context(), c.user.ID, c.member.ID, store.SyncKey{DeviceID: c.device.ID, Generation: 1, Sealed: sealed}, h.now())
	if errors.Is(err, store.ErrConflict) {
		return errConflict(api.CodeSyncing, "Your desktops sync already: ask to join from this desktop (countersign sync join) and approve on one that syncs.")
	}
	if err != nil {
		return err
	}
	h.record(r, c, store.ActSyncStarted, true, fmt.Sprintf("Vault sync started on %q", c.device.Name))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) syncStop(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := h.holder(r, c); err != nil {
		return err
	}
	if err := h.store.StopSync(r.Context(), c.user.ID, c.member.ID, c.device.ID); err != nil {
		return err
	}
	h.record(r, c, store.ActSyncLeft, true, fmt.Sprintf("%q stopped syncing the vault", c.device.Name))
	h.vaultEvent(r, c, api.VaultChanged{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) syncPull(w http.ResponseWriter, r *http.Request, c *caller) error {
	s, err := h.holder(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after, limit := int64(0), syncPage
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return errBadRequest("after must be a record's seq (0 or more).")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > syncPage {
			return errBadRequest("limit must be between 1 and %d.", syncPage)
		}
	}
	rs, err := h.store.SyncRecords(r.Context(), c.user.ID, c.member.ID, after, limit+1)
	if err != nil {
		return err
	}
	out := api.SyncRecords{Records: []api.SyncRecord{}, Cursor: max(s.Cursor, after)}
	if len(rs) > limit {
		rs, out.More = rs[:limit], true
	}
	for _, rec := range rs {
		out.Records = append(out.Records, api.SyncRecord{Seq: rec.Seq, Entry: rec.Entry, Version: rec.Version,
			Generation: rec.Generation, Sealed: enc64(rec.Sealed), DeviceID: rec.DeviceID})
	}
	switch {
	case out.More:
		out.Cursor = rs[len(rs)-1].Seq
	case len(rs) > 0:
		// Written after the scope was read: the cursor moves past it.
		out.Cursor = max(out.Cursor, rs[len(rs)-1].Seq)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// records reads pushed records: opaque entry ids, versions from 1.
func records(in []api.SyncRecord, gen int, device string) ([]store.SyncRecord, error) {
	if len(in) == 0 || len(in) > syncMaxBatch {
		return nil, errBadRequest("Send between 1 and %d records.", syncMaxBatch)
	}
	out := make([]store.SyncRecord, 0, len(in))
	for _, rec := range in {
		if rec.Entry == "" || len(rec.Entry) > 64 || rec.Version < 1 {
			return nil, errBadRequest("Each record needs an entry id (at most 64 characters) and a version from 1.")
		}
		if rec.Generation != gen {
			return nil, errGeneration
		}
		b, err := unb64("sealed", rec.Sealed, syncMaxRecord)
		if err != nil {
			return nil, err
		}
		out = append(out, store.SyncRecord{Entry: rec.Entry, Version: rec.Version, Generation: gen, Sealed: b, DeviceID: device})
	}
	return out, nil
}

// syncError turns the store's refusals into answers.
func syncError(err error) error {
	var conflict *store.SyncConflictError
	switch {
	case errors.As(err, &conflict):
		return &syncConflict{versions: conflict.Versions}
	case errors.Is(err, store.ErrRotateFirst):
		return errRotateFirst
	case errors.Is(err, store.ErrGeneration):
		return errGeneration
	case errors.Is(err, store.ErrKeySet):
		return errConflict(api.CodeConflict, "A rotation must seal the new key to every remaining desktop, and re-seal every entry, at its next version: read the status and the records again and retry.")
	}
	return err
}

// syncConflict is the 409 that names the entries' current versions.
type syncConflict struct{ versions map[string]int64 }

func (e *syncConflict) Error() string { return "sync conflict" }

func (h *handler) syncPush(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.SyncPush
	if err := h.decodeUpTo(w, r, &body, false, max(h.maxBody, syncMaxBody)); err != nil {
		return err
	}
	if _, err := h.holder(r, c); err != nil {
		return err
	}
	recs, err := records(body.Records, body.Generation, c.device.ID)
	if err != nil {
		return err
	}
	ev, fill := h.vaultFill(c, api.VaultChanged{})
	cursor, err := h.store.PushSync(r.Context(), c.user.ID, c.member.ID, body.Generation, recs, ev, fill)
	if err != nil {
		return h.syncAnswer(w, syncError(err))
	}
	h.wake(c)
	writeJSON(w, http.StatusOK, api.SyncPushed{Cursor: cursor})
	return nil
}

// syncAnswer writes a conflict with its versions, or returns err.
func (h *handler) syncAnswer(w http.ResponseWriter, err error) error {
	var sc *syncConflict
	if errors.As(err, &sc) {
		setHeaders(w)
		writeJSON(w, http.StatusConflict, api.SyncConflict{Code: api.CodeSyncConflict, Versions: sc.versions,
			Error: "Some entries have newer versions on the server: pull them, merge, and push again."})
		return nil
	}
	return err
}

func (h *handler) syncRotate(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.SyncRotation
	if err := h.decodeUpTo(w, r, &body, false, max(h.maxBody, syncMaxBody)); err != nil {
		return err
	}
	if _, err := h.holder(r, c); err != nil {
		return err
	}
	var recs []store.SyncRecord
	if len(body.Records) > 0 {
		var err error
		if recs, err = records(body.Records, body.Generation, c.device.ID); err != nil {
			return err
		}
	}
	keys := make([]store.SyncKey, 0, len(body.Keys))
	for id, s := range body.Keys {
		b, err := unb64("keys", s, 1024)
		if err != nil {
			return err
		}
		keys = append(keys, store.SyncKey{DeviceID: id, Generation: body.Generation, Sealed: b})
	}
	ev, fill := h.vaultFill(c, api.VaultChanged{Rotated: true})
	cursor, err := h.store.RotateSync(r.Context(), c.user.ID, c.member.ID, body.Generation, keys, recs, ev, fill)
	if err != nil {
		return h.syncAnswer(w, syncError(err))
	}
	h.record(r, c, store.ActSyncRotated, true, fmt.Sprintf("The vault sync key was rotated by %q for %d desktops", c.device.Name, len(keys)))
	h.wake(c)
	writeJSON(w, http.StatusOK, api.SyncPushed{Cursor: cursor})
	return nil
}

func (h *handler) syncJoin(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.SyncJoinRequest
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	nonce, err := unb64("nonce", body.Nonce, syncNonceLength)
	if err != nil {
		return err
	}
	if len(nonce) != syncNonceLength {
		return errBadRequest("nonce must be %d bytes.", syncNonceLength)
	}
	s, k, err := h.syncScope(r, c)
	switch {
	case err != nil:
		return err
	case s == nil:
		return errConflict(api.CodeNotSyncing, "None of your desktops syncs the vault yet: start sync on one of them (countersign sync start).")
	case k != nil:
		return errConflict(api.CodeSyncing, "This desktop syncs already.")
	}
	now := h.now()
	j := &store.SyncJoin{UserID: c.user.ID, MemberID: c.member.ID, DeviceID: c.device.ID, Nonce: nonce, CreatedAt: now, ExpiresAt: now.Add(syncJoinExpiry)}
	ev, fill := h.vaultFill(c, api.VaultChanged{Join: true, Cursor: s.Cursor})
	ev.Data = fill(s.Cursor)
	if err := h.store.AddSyncJoin(r.Context(), j, ev); err != nil {
		return err
	}
	h.wake(c)
	writeJSON(w, http.StatusCreated, api.SyncJoin{ID: j.ID, DeviceID: c.device.ID, DeviceName: c.device.Name,
		PublicKey: enc64(c.device.PublicKey), Nonce: enc64(nonce), CreatedAt: utc(j.CreatedAt), ExpiresAt: utc(j.ExpiresAt)})
	return nil
}

func (h *handler) syncJoins(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := h.holder(r, c); err != nil {
		return err
	}
	js, err := h.store.SyncJoins(r.Context(), c.user.ID, c.member.ID, h.now())
	if err != nil {
		return err
	}
	out := api.SyncJoinList{Joins: make([]api.SyncJoin, 0, len(js))}
	for _, j := range js {
		out.Joins = append(out.Joins, api.SyncJoin{ID: j.ID, DeviceID: j.DeviceID, DeviceName: j.DeviceName, PublicKey: enc64(j.DevicePublicKey),
			Nonce: enc64(j.Nonce), CreatedAt: utc(j.CreatedAt), ExpiresAt: utc(j.ExpiresAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) syncApprove(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.SyncApproval
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	sealed, err := unb64("sealed", body.Sealed, 1024)
	if err != nil {
		return err
	}
	s, err := h.holder(r, c)
	if err != nil {
		return err
	}
	if s.RotateFirst {
		return errRotateFirst
	}
	js, err := h.store.SyncJoins(r.Context(), c.user.ID, c.member.ID, h.now())
	if err != nil {
		return err
	}
	device, name := "", ""
	for _, j := range js {
		if j.ID == r.PathValue("id") {
			device, name = j.DeviceID, j.DeviceName
		}
	}
	if device == "" {
		return errNotFound("There is no such join request waiting (they last 10 minutes): ask again from the joining desktop.")
	}
	err = h.store.ApproveSyncJoin(r.Context(), c.user.ID, c.member.ID, r.PathValue("id"),
		store.SyncKey{DeviceID: device, Generation: body.Generation, Sealed: sealed}, h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("There is no such join request waiting (they last 10 minutes): ask again from the joining desktop.")
	case err != nil:
		return syncError(err)
	}
	h.record(r, c, store.ActSyncJoined, true, fmt.Sprintf("%q was given the vault sync key by %q", name, c.device.Name))
	h.vaultEvent(r, c, api.VaultChanged{Join: true, Cursor: s.Cursor})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// vaultFill is a "vault" event of the caller's scope and the function
// that completes it with the new cursor inside the store's transaction.
func (h *handler) vaultFill(c *caller, v api.VaultChanged) (*store.ApprovalEvent, func(int64) []byte) {
	v.MemberID, v.DeviceID = c.member.ID, c.device.ID
	return &store.ApprovalEvent{Kind: api.EventVault, Data: []byte("{}")}, func(cursor int64) []byte {
		v.Cursor = cursor
		b, _ := json.Marshal(v) // a struct of strings, numbers and booleans
		return b
	}
}

// vaultEvent publishes a "vault" event after a change already made; a
// failure is logged (the desktops' periodic pull catches up).
func (h *handler) vaultEvent(r *http.Request, c *caller, v api.VaultChanged) {
	ev, fill := h.vaultFill(c, v)
	ev.Data = fill(v.Cursor)
	if err := h.store.AppendEvent(r.Context(), c.user.ID, ev); err != nil {
		h.log.Error("api: publish a vault event", "err", err)
		return
	}
	h.wake(c)
}

func (h *handler) wake(c *caller) {
	if h.approvals != nil {
		h.approvals.Wake(c.user.ID)
	}
}
