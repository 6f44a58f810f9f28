package server

// Approver desktops: pairing one with the account from the security page,
// and the second step that asks them ("approve on your desktop"): the page
// with the number, its event stream, and finishing the sign-in once a
// desktop approved. The requests themselves live in package approval.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/store"
)

const (
	msgTooManyPending = "Too many sign-in requests are waiting. Use another way to verify below, or try again in two minutes."
	msgBlocked        = "This sign-in was blocked. If it was you, sign in again; if not, change your password."
	pingEvery         = 15 * time.Second // a comment on the approval stream keeps proxies from closing it (Server.ping)
)

// pairData is the pairing page, for the account's own desktop or, with
// Member, as an invitation of a household member's: empty until a code is
// made.
type pairData struct {
	Member  string       // the invited member's name; "" pairs the owner's desktop
	Action  string       // where the page's form makes a code
	QR      template.URL // data:image/png;base64,…
	Code    string       // "K7Q9-M2XD"
	URI     string       // countersign://pair?server=…&code=…
	Server  string
	Expires time.Time
}

const pairAction = "/account/approvers/pair"

func (s *Server) pairPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	s.render(w, r, http.StatusOK, "pair", &view{Title: "Pair a desktop", D: pairData{Action: pairAction}})
	return nil
}

// pairCode fills in d's code, link and QR code.
func (s *Server) pairCode(d *pairData, code, uri string, expires time.Time) error {
	png, err := qr.Encode(uri, 240)
	if err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	d.Code = api.GroupPairCode(api.NormalizePairCode(code))
	d.URI = uri
	d.Server = s.public.String()
	d.Expires = expires
	return nil
}

// pairStart makes a pairing code and shows it with its QR code. The code is
// stored hashed, so it is shown on this answer only.
func (s *Server) pairStart(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if !s.acctLimit.Allow("pair:" + st.user.ID) {
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	// A member's browser pairs a desktop of theirs.
	code, uri, expires, err := s.approvals.NewMemberPairingCode(r.Context(), st.user.ID, st.member.ID)
	if err != nil {
		return fmt.Errorf("pairing code: %w", err)
	}
	d := pairData{Action: pairAction}
	if err := s.pairCode(&d, code, uri, expires); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "pair", &view{Title: "Pair a desktop", D: d})
	return nil
}

func (s *Server) approverRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("id")
	list, err := s.approvals.Approvers(ctx, st.user.ID)
	if err != nil {
		return fmt.Errorf("approvers: %w", err)
	}
	name, member := "", ""
	for _, a := range list {
		if a.ID == id {
			name, member = a.Name, a.MemberID
		}
	}
	if name == "" {
		return errNotFound
	}
	if err := s.permits(r, st, household.RemoveDevice, member); err != nil {
		return err
	}
	if !s.confirmed(w, r, ask{Title: "Remove the desktop “" + name + "”?",
		Text:   "It can no longer approve your sign-ins, and it stops showing this account's devices and the shared authenticator. To use it again, pair it again.",
		Button: "Remove desktop", Back: cardURL("approvers")}) {
		return nil
	}
	err = s.approvals.RemoveApprover(ctx, st.user.ID, id, st.ip, truncate(r.UserAgent(), 512))
	if errors.Is(err, approval.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("remove approver: %w", err)
	}
	s.done(w, r, "approvers", "“"+name+"” is removed: it can no longer approve your sign-ins.")
	return nil
}

func (s *Server) approverRequireKey(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	on := r.PostFormValue("require_key") == "1"
	if on {
		keys, err := s.store.SecurityKeys(ctx, st.user.ID)
		if err != nil {
			return fmt.Errorf("security keys: %w", err)
		}
		if len(keys) == 0 {
			return s.refuse(w, r, st, "approvers", "require_key", "Add a security key first: approving with a touch needs one.")
		}
	}
	if err := s.approvals.SetRequireKey(ctx, st.user.ID, on); err != nil {
		return fmt.Errorf("require key: %w", err)
	}
	if on {
		s.done(w, r, "approvers", "Approving a sign-in on your desktop now takes a security-key touch.")
	} else {
		s.done(w, r, "approvers", "Approving a sign-in on your desktop no longer takes a security-key touch.")
	}
	return nil
}

// approvalView is the approve method on the second-step page.
type approvalView struct {
	Number  int    // shown while the request can still be approved or used
	State   string // pending, approved, denied, reported, expired
	Message string // the words in #approval-status
	New     bool   // offer a new request
	Left    int    // seconds until a pending request expires, for the countdown
}

// LeftWords is the time a pending request has left, as the page first
// shows it ("4:59"); the page's script counts it down.
func (v *approvalView) LeftWords() string {
	return fmt.Sprintf("%d:%02d", v.Left/60, v.Left%60)
}

// Live says the request can still end in a sign-in: the page shows the
// number and the form that finishes it.
func (v *approvalView) Live() bool {
	return v.State == store.ApprovalPending || v.State == store.ApprovalApproved
}

// approvalState is a request's status as the browser sees it: a pending one
// past its expiry is expired, and so are a cancelled one and an approval
// used or too old to finish a sign-in.
func approvalState(req *store.ApprovalRequest, now time.Time) string {
	switch req.Status {
	case store.ApprovalPending:
		if !now.Before(req.ExpiresAt) {
			return store.ApprovalExpired
		}
		return store.ApprovalPending
	case store.ApprovalApproved:
		// An approval finishes a sign-in once, within a lifetime.
		if !req.ConsumedAt.IsZero() || !now.Before(req.DecidedAt.Add(approval.RequestLifetime)) {
			return store.ApprovalExpired
		}
		return store.ApprovalApproved
	case store.ApprovalDenied, store.ApprovalReported:
		return req.Status
	}
	return store.ApprovalExpired
}

func newApprovalView(req *store.ApprovalRequest, now time.Time) *approvalView {
	v := &approvalView{State: approvalState(req, now)}
	switch v.State {
	case store.ApprovalPending:
		v.Message = "Waiting for your approval…"
		v.Left = max(0, int(req.ExpiresAt.Sub(now).Seconds()))
	case store.ApprovalApproved:
		v.Message = "Approved on " + req.DecidedByName + ". Press the button to continue."
	case store.ApprovalDenied:
		v.Message, v.New = "The request was denied.", true
	case store.ApprovalReported:
		v.Message = msgBlocked
	default:
		v.Message, v.New = "The request expired.", true
	}
	if v.Live() {
		v.Number = req.Number
	}
	return v
}

// sessionApproval is the pending session's newest approval request, nil
// when it has none.
func (s *Server) sessionApproval(ctx context.Context, st *reqState) (*store.ApprovalRequest, error) {
	req, err := s.approvals.SessionRequest(ctx, st.sess.ID)
	if errors.Is(err, approval.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session approval: %w", err)
	}
	return req, nil
}

// approvalStep fills in the approve method of the second-step page: the
// session's request, or a new one when it has none, or when people ask for a
// new one after a denial or expiry. When no request can be made it falls
// back to another method and returns the reason, for the page's alert. A
// reported request ends the pending session: that sign-in is blocked.
func (s *Server) approvalStep(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, d *verifyData) (int, string, error) {
	req, err := s.sessionApproval(ctx, st)
	if err != nil {
		return 0, "", err
	}
	now := s.now()
	again := false
	if req != nil && r.Method == http.MethodGet && r.URL.Query().Get("new") == "1" {
		state := approvalState(req, now)
		again = state == store.ApprovalDenied || state == store.ApprovalExpired
	}
	if req == nil || again {
		app := ""
		if c, _ := s.nextApp(ctx, pendingNext(r)); c != nil {
			app = c.Name
		}
		req, err = s.approvals.Request(ctx, approval.SignIn{
			UserID:    st.user.ID,
			SessionID: st.sess.ID,
			IP:        st.ip,
			UserAgent: truncate(r.UserAgent(), 512),
			App:       app,
		})
		switch {
		case errors.Is(err, approval.ErrTooManyPending):
			d.fallback()
			return http.StatusTooManyRequests, msgTooManyPending, nil
		case errors.Is(err, approval.ErrLocked):
			d.fallback()
			u, err := s.store.UserByID(ctx, st.user.ID)
			if err != nil {
				return 0, "", fmt.Errorf("reload user: %w", err)
			}
			s.metrics.signin("locked")
			return http.StatusTooManyRequests, tooManyAttempts(u.LockedUntil, now), nil
		case err != nil:
			return 0, "", fmt.Errorf("approval request: %w", err)
		}
	}
	d.Approval = newApprovalView(req, now)
	if d.Approval.State == store.ApprovalReported {
		// Blocked: this sign-in goes no further, by any method.
		if err := s.endSession(ctx, w, st); err != nil {
			return 0, "", err
		}
	}
	return 0, "", nil
}

// approvalComplete finishes a sign-in a desktop approved: the request of
// this pending session must be approved and not used before.
func (s *Server) approvalComplete(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	if !s.ipLimit.Allow("verify:" + st.ip) {
		s.metrics.signin("limited")
		return s.showVerify(w, r, st, http.StatusTooManyRequests, "approve", msgTooFast)
	}
	d, err := s.twoStepOptions(ctx, u)
	if err != nil {
		return err
	}
	d.pick("approve")
	req, err := s.sessionApproval(ctx, st)
	if err != nil {
		return err
	}
	if req == nil || d.Method != "approve" {
		return s.showVerify(w, r, st, http.StatusConflict, "approve", "There was no sign-in request waiting.")
	}
	d.Approval = newApprovalView(req, s.now())
	var status int
	msg := ""
	switch d.Approval.State {
	case store.ApprovalApproved:
		err := s.approvals.Consume(ctx, req.ID, st.sess.ID)
		if errors.Is(err, approval.ErrConsumed) || errors.Is(err, approval.ErrNotFound) || errors.Is(err, approval.ErrExpired) {
			d.Approval = &approvalView{State: store.ApprovalExpired, Message: "The request expired.", New: true}
			return s.renderVerify(w, r, st, http.StatusGone, d, "")
		}
		if err != nil {
			return fmt.Errorf("consume approval: %w", err)
		}
		// The session, and the browser when trusted, are the member's whose
		// desktop approved it.
		member := ""
		if a, err := s.store.Approver(ctx, req.DecidedBy); err == nil && a.UserID == u.ID {
			member = a.MemberID
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the approving device: %w", err)
		}
		deviceID := ""
		if r.PostFormValue("remember") == "1" {
			dev, err := s.trustDevice(ctx, w, r, st, u, member)
			if err != nil {
				return err
			}
			deviceID = dev.ID
		}
		if err := s.completeSignIn(ctx, w, r, st, u, deviceID, member, "Approved on "+req.DecidedByName); err != nil {
			return err
		}
		http.Redirect(w, r, s.takeNext(w, r), http.StatusSeeOther)
		return nil
	case store.ApprovalPending:
		status, msg = http.StatusConflict, "Not approved yet."
	case store.ApprovalDenied:
		s.metrics.signin("failure")
		status = http.StatusForbidden
	case store.ApprovalReported:
		s.metrics.signin("failure")
		status = http.StatusForbidden
		if err := s.endSession(ctx, w, st); err != nil {
			return err
		}
	default:
		status = http.StatusGone
	}
	return s.renderVerify(w, r, st, status, d, msg)
}

// approvalStream tells the page, over Server-Sent Events, how the session's
// request was decided: one "decided" event, then the stream ends. It waits
// at most until the request expires.
func (s *Server) approvalStream(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	req, err := s.sessionApproval(ctx, st)
	if err != nil {
		return err
	}
	if req == nil {
		return errNotFound
	}
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("clear write deadline: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		if _, err := io.WriteString(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") {
		return nil
	}

	waitCtx, cancel := context.WithTimeout(ctx, req.ExpiresAt.Sub(s.now())+time.Second)
	defer cancel()
	decided := make(chan *store.ApprovalRequest, 1)
	go func() {
		got, err := s.approvals.WaitDecided(waitCtx, req.ID)
		if err != nil {
			if waitCtx.Err() == nil {
				s.log.Warn("approval stream", "request_id", st.id, "err", err)
			}
			got = nil
		}
		decided <- got
	}()
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-ping.C:
			if !send(": ping\n\n") {
				return nil
			}
		case got := <-decided:
			state := store.ApprovalExpired
			switch {
			case got != nil:
				state = approvalState(got, s.now())
			case !errors.Is(waitCtx.Err(), context.DeadlineExceeded):
				return nil // the page reconnects, or people press the button
			}
			if state == store.ApprovalPending {
				return nil
			}
			send("event: decided\ndata: {\"status\":\"" + state + "\"}\n\n")
			return nil
		}
	}
}
