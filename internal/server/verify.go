package server

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// verifyData is what the second-step page shows.
type verifyData struct {
	Method       string // approve, totp, sms, voice, backup, key
	HasApprovers bool
	HasTOTP      bool
	SMS          *store.Method
	Voice        *store.Method
	HasKeys      bool
	BackupLeft   int
	Approval     *approvalView // the approve method's request
	Sent         bool          // a code was just sent to the phone: the button sends again
}

// twoStepOptions gathers the user's ways through the second step.
func (s *Server) twoStepOptions(ctx context.Context, u *store.User) (*verifyData, error) {
	ms, err := s.store.Methods(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("methods: %w", err)
	}
	d := &verifyData{}
	for i := range ms {
		m := &ms[i]
		if !m.Confirmed {
			continue
		}
		switch m.Kind {
		case store.MethodTOTP:
			d.HasTOTP = true
		case store.MethodSMS:
			if d.SMS == nil {
				d.SMS = m
			}
		case store.MethodVoice:
			if d.Voice == nil {
				d.Voice = m
			}
		}
	}
	keys, err := s.store.SecurityKeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("security keys: %w", err)
	}
	d.HasKeys = len(keys) > 0
	if d.HasApprovers, err = s.approvals.HasApprovers(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	codes, err := s.store.BackupCodes(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("backup codes: %w", err)
	}
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			d.BackupLeft++
		}
	}
	return d, nil
}

// methodOrder is the order methods are offered in by default.
var methodOrder = []string{"approve", "totp", "sms", "voice", "key", "backup"}

func (d *verifyData) has(m string) bool {
	switch m {
	case "approve":
		return d.HasApprovers
	case "totp":
		return d.HasTOTP
	case "sms":
		return d.SMS != nil
	case "voice":
		return d.Voice != nil
	case "key":
		return d.HasKeys
	case "backup":
		return d.BackupLeft > 0
	}
	return false
}

// pick chooses the method shown: the one asked for when the user has it,
// else approval on a desktop, the authenticator app, a phone, a key, the
// backup codes.
func (d *verifyData) pick(asked string) {
	if d.has(asked) {
		d.Method = asked
		return
	}
	for _, m := range methodOrder {
		if d.has(m) {
			d.Method = m
			return
		}
	}
	d.Method = "backup" // nothing left at all: the backup code form says what to do
}

// fallback chooses the first method other than approval, when no approval
// request can be made.
func (d *verifyData) fallback() {
	for _, m := range methodOrder[1:] {
		if d.has(m) {
			d.Method = m
			return
		}
	}
}

func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.showVerify(w, r, st, http.StatusOK, r.URL.Query().Get("method"), "")
}

func (s *Server) showVerify(w http.ResponseWriter, r *http.Request, st *reqState, status int, method, msg string) error {
	ctx := r.Context()
	d, err := s.twoStepOptions(ctx, st.user)
	if err != nil {
		return err
	}
	d.pick(method)
	d.Sent = r.URL.Query().Get("sent") == "1" && (d.Method == "sms" || d.Method == "voice")
	if d.Method == "approve" {
		stepStatus, stepMsg, err := s.approvalStep(ctx, w, r, st, d)
		if err != nil {
			return err
		}
		if stepMsg != "" && msg == "" {
			status, msg = stepStatus, stepMsg
		}
	}
	return s.renderVerify(w, r, st, status, d, msg)
}

func (s *Server) renderVerify(w http.ResponseWriter, r *http.Request, st *reqState, status int, d *verifyData, msg string) error {
	v := &view{Title: "Two-step verification", Error: msg, WebAuthn: d.HasKeys, D: d}
	if d.Method == "approve" && d.Approval != nil {
		v.Approval = d.Approval.State == store.ApprovalPending
		if d.Approval.State == store.ApprovalReported {
			v.WebAuthn = false
		}
	}
	s.signInFormsReach(r.Context(), w, pendingNext(r))
	s.render(w, r, status, "verify", v)
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	method := r.PostFormValue("method")
	code := strings.TrimSpace(r.PostFormValue("code"))
	remember := r.PostFormValue("remember") == "1"
	show := func(status int, msg string) error { return s.showVerify(w, r, st, status, method, msg) }

	if !s.ipLimit.Allow("verify:"+st.ip) || !s.acctLimit.Allow("verify:"+u.ID) {
		s.metrics.signin("limited")
		return show(http.StatusTooManyRequests, msgTooFast)
	}
	now := s.now()
	if now.Before(u.LockedUntil) {
		s.metrics.signin("locked")
		return show(http.StatusTooManyRequests, tooManyAttempts(u.LockedUntil, now))
	}
	if code == "" {
		return show(http.StatusBadRequest, "Enter the code.")
	}
	var (
		res codeResult
		err error
	)
	switch method {
	case "totp":
		res, err = s.checkTOTP(ctx, u, code)
	case "sms", "voice":
		res, err = s.checkSMS(ctx, u, code, false)
	case "backup":
		res, err = s.checkBackup(ctx, u, code)
	default:
		return badRequest("Choose a way to verify.")
	}
	if err != nil {
		return err
	}
	if !res.ok {
		s.metrics.signin("failure")
		until, err := s.loginFailed(ctx, r, st, u, now, store.ActTwoStepFailed, res.method)
		if err != nil {
			return err
		}
		if !until.IsZero() {
			return show(http.StatusTooManyRequests, tooManyAttempts(until, now))
		}
		return show(http.StatusUnauthorized, res.msg)
	}
	redirect, err := s.finishTwoStep(ctx, w, r, st, res.method, "", remember)
	if err != nil {
		return err
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
	return nil
}

// finishTwoStep signs in after a right second step, as memberID, whose
// step it was ("": the owner), trusting the browser for them when asked; it
// returns where to go.
func (s *Server) finishTwoStep(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, method, memberID string, remember bool) (string, error) {
	u := st.user
	if err := s.activity(ctx, r, st, u.ID, store.ActTwoStepUsed, true, method); err != nil {
		return "", err
	}
	deviceID := ""
	if remember {
		d, err := s.trustDevice(ctx, w, r, st, u, memberID)
		if err != nil {
			return "", err
		}
		deviceID = d.ID
	}
	if err := s.completeSignIn(ctx, w, r, st, u, deviceID, memberID, "Password and "+strings.ToLower(method[:1])+method[1:]); err != nil {
		return "", err
	}
	return s.takeNext(w, r), nil
}

// codeResult is the outcome of checking a second-step code.
type codeResult struct {
	ok     bool
	method string // plain words for the activity log
	msg    string // for people, when not ok
	m      *store.Method
}

const msgWrongCode = "That code is not right. Check it and try again."

func totpKey(secret []byte) otp.Key {
	return otp.Key{Type: otp.TOTP, Secret: secret, Algorithm: otp.SHA1, Digits: 6, Period: 30}.Normalize()
}

// checkTOTP accepts a code of any of the user's confirmed authenticator apps
// for the current time step or one either side, once.
func (s *Server) checkTOTP(ctx context.Context, u *store.User, code string) (codeResult, error) {
	ms, err := s.store.Methods(ctx, u.ID)
	if err != nil {
		return codeResult{}, fmt.Errorf("methods: %w", err)
	}
	res := codeResult{method: "Authenticator app", msg: msgWrongCode}
	for i := range ms {
		m := &ms[i]
		if m.Kind != store.MethodTOTP || !m.Confirmed {
			continue
		}
		ok, used, err := s.matchTOTP(ctx, m, code)
		if err != nil {
			return codeResult{}, err
		}
		if used {
			res.msg = "That code was used already. Wait for the next code and enter it."
			return res, nil
		}
		if ok {
			res.ok, res.method = true, methodName(*m)
			return res, nil
		}
	}
	return res, nil
}

// matchTOTP checks code against m at steps −1, 0 and +1 and spends the
// step it matches.
func (s *Server) matchTOTP(ctx context.Context, m *store.Method, code string) (ok, used bool, err error) {
	code = digitsOnly(code)
	if len(code) != 6 {
		return false, false, nil
	}
	k := totpKey(m.Secret)
	now := s.now()
	step := int64(k.CounterAt(now))
	for _, st := range []int64{step - 1, step, step + 1} {
		if st < 0 {
			continue
		}
		want, err := otp.CodeAtCounter(k, uint64(st))
		if err != nil {
			return false, false, fmt.Errorf("totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if st <= m.LastStep {
			return false, true, nil
		}
		err = s.store.UseTOTPStep(ctx, m.ID, st, now)
		if errors.Is(err, store.ErrUsed) {
			return false, true, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("use totp step: %w", err)
		}
		m.LastStep, m.LastUsedAt = st, now
		return true, false, nil
	}
	return false, false, nil
}

// checkSMS checks the newest code sent to one of the user's phones: not
// expired, at most smsTries tries, once. With pending set it accepts codes
// of a method being enrolled, else only of confirmed ones.
func (s *Server) checkSMS(ctx context.Context, u *store.User, code string, pending bool) (codeResult, error) {
	res := codeResult{method: "Phone code", msg: msgWrongCode}
	c, err := s.store.LatestSMSCode(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		res.msg = "There is no code waiting; send one first."
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("latest sms code: %w", err)
	}
	m, err := s.store.Method(ctx, u.ID, c.MethodID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.Confirmed == pending) {
		res.msg = "There is no code waiting; send one first."
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("sms method: %w", err)
	}
	res.method = methodName(*m)
	if !s.now().Before(c.ExpiresAt) {
		res.msg = "That code has expired. Send a new one."
		return res, nil
	}
	n, err := s.store.TrySMSCode(ctx, c.ID)
	if err != nil {
		return res, fmt.Errorf("try sms code: %w", err)
	}
	if n > smsTries {
		res.msg = "That code was tried too many times. Send a new one."
		return res, nil
	}
	if !hmac.Equal(c.Hash, s.smsCodeHash(c.ID, digitsOnly(code))) {
		return res, nil
	}
	err = s.store.UseSMSCode(ctx, c.ID, s.now())
	if errors.Is(err, store.ErrUsed) {
		res.msg = "That code was used already. Send a new one."
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("use sms code: %w", err)
	}
	m.LastUsedAt = s.now()
	if m.Confirmed {
		if err := s.store.UpdateMethod(ctx, m); err != nil {
			return res, fmt.Errorf("update method: %w", err)
		}
	}
	res.ok = true
	res.m = m
	return res, nil
}

// checkBackup spends one of the user's backup codes.
func (s *Server) checkBackup(ctx context.Context, u *store.User, code string) (codeResult, error) {
	res := codeResult{method: "Backup code", msg: "That backup code is not right. Check it and try again."}
	c, ok := normalBackupCode(code)
	if !ok {
		return res, nil
	}
	err := s.store.UseBackupCode(ctx, u.ID, s.backupCodeHash(u.ID, c), s.now())
	if errors.Is(err, store.ErrNotFound) {
		err = s.store.UseBackupCode(ctx, u.ID, legacyBackupCodeHash(c), s.now())
	}
	switch {
	case errors.Is(err, store.ErrUsed):
		res.msg = "That backup code was used already. Each code works once."
		return res, nil
	case errors.Is(err, store.ErrNotFound):
		return res, nil
	case err != nil:
		return res, fmt.Errorf("use backup code: %w", err)
	}
	res.ok = true
	return res, nil
}

// sendCode texts or calls a fresh six-digit code to m's phone.
func (s *Server) sendCode(ctx context.Context, u *store.User, m *store.Method) error {
	code, err := s.newSMSCode()
	if err != nil {
		return err
	}
	now := s.now()
	c := &store.SMSCode{ID: s.newID(), UserID: u.ID, MethodID: m.ID, ExpiresAt: now.Add(smsLifetime)}
	c.Hash = s.smsCodeHash(c.ID, code)
	if err := s.store.AddSMSCode(ctx, c); err != nil {
		return fmt.Errorf("add sms code: %w", err)
	}
	text := "Your Countersign code is " + code + ". It expires in 10 minutes. Don't share it with anyone."
	if m.Kind == store.MethodVoice {
		text = "Your Countersign code is " + strings.Join(strings.Split(code, ""), " ") + ". Again: " +
			strings.Join(strings.Split(code, ""), " ") + "."
	}
	if err := s.sms.SendSMS(ctx, notify.SMS{To: m.Phone, Text: text, Voice: m.Kind == store.MethodVoice}); err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	return nil
}

func (s *Server) sendSignInCode(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	method := r.PostFormValue("method")
	d, err := s.twoStepOptions(ctx, st.user)
	if err != nil {
		return err
	}
	m := d.SMS
	if method == "voice" {
		m = d.Voice
	}
	if m == nil {
		return badRequest("There is no phone set up for that.")
	}
	if !s.sendLimit.Allow("send:" + st.user.ID) {
		return s.showVerify(w, r, st, http.StatusTooManyRequests, method, "Wait a minute before asking for another code.")
	}
	if err := s.sendCode(ctx, st.user, m); err != nil {
		return err
	}
	verb := "texted"
	if m.Kind == store.MethodVoice {
		verb = "are calling"
	}
	s.flash(w, fmt.Sprintf("We %s a code to %s. It works for 10 minutes.", verb, maskPhone(m.Phone)))
	http.Redirect(w, r, "/signin/verify?sent=1&method="+string(m.Kind), http.StatusSeeOther)
	return nil
}

// challengeJSON answers a WebAuthn begin.
type challengeJSON struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

func (s *Server) keySignInBegin(w http.ResponseWriter, r *http.Request, st *reqState) error {
	id, opts, err := s.keys.BeginLogin(r.Context(), st.user)
	if errors.Is(err, seckey.ErrNoKeys) {
		return badRequest("No security key is registered with this account.")
	}
	if err != nil {
		return fmt.Errorf("begin key sign-in: %w", err)
	}
	return writeJSON(w, http.StatusOK, challengeJSON{ChallengeID: id, Options: opts})
}

func (s *Server) keySignInFinish(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
		Remember    bool            `json:"remember"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChallengeID == "" || len(in.Credential) == 0 {
		return badRequest("The security key's answer was incomplete; try again.")
	}
	if !s.ipLimit.Allow("verify:"+st.ip) || !s.acctLimit.Allow("verify:"+u.ID) {
		s.metrics.signin("limited")
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	now := s.now()
	if now.Before(u.LockedUntil) {
		return &userError{http.StatusTooManyRequests, tooManyAttempts(u.LockedUntil, now)}
	}
	key, err := s.keys.FinishLogin(ctx, u, in.ChallengeID, in.Credential)
	if errors.Is(err, seckey.ErrChallenge) || errors.Is(err, seckey.ErrVerify) || errors.Is(err, seckey.ErrNoKeys) {
		s.metrics.signin("failure")
		if _, ferr := s.loginFailed(ctx, r, st, u, now, store.ActTwoStepFailed, "Security key"); ferr != nil {
			return ferr
		}
		msg := "The security key was not accepted. Try again, or choose another way."
		if errors.Is(err, seckey.ErrChallenge) {
			msg = "The request expired; try again."
		}
		return &userError{http.StatusBadRequest, msg}
	}
	if err != nil {
		return fmt.Errorf("finish key sign-in: %w", err)
	}
	redirect, err := s.finishTwoStep(ctx, w, r, st, "Security key "+key.Name, key.MemberID, in.Remember)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"redirect": redirect})
}
