package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/store"
)

// totpData is the authenticator-app setup page.
type totpData struct {
	QR     template.URL // data:image/png;base64,…
	Secret string       // base32 in groups of four
	URI    string
}

// pendingTOTP is the user's authenticator app waiting for its first code,
// created on first visit so a reload shows the same secret.
func (s *Server) pendingTOTP(ctx context.Context, u *store.User) (*store.Method, error) {
	ms, err := s.store.Methods(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("methods: %w", err)
	}
	apps := 0
	for i := range ms {
		if ms[i].Kind != store.MethodTOTP {
			continue
		}
		if !ms[i].Confirmed {
			return &ms[i], nil
		}
		apps++
	}
	secret, err := s.randomBytes(20)
	if err != nil {
		return nil, err
	}
	label := "Authenticator app"
	if apps > 0 {
		label = fmt.Sprintf("Authenticator app %d", apps+1)
	}
	m := &store.Method{ID: s.newID(), UserID: u.ID, Kind: store.MethodTOTP, Label: label, Secret: secret, CreatedAt: s.now()}
	if err := s.store.AddMethod(ctx, m); err != nil {
		return nil, fmt.Errorf("add method: %w", err)
	}
	return m, nil
}

// totpPage shows the secret to add to an authenticator app and asks for a
// code, with the error of the last code sent (refusePage), if any.
func (s *Server) totpPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	shown := s.pageRefusal(w, r, st)
	m, err := s.pendingTOTP(r.Context(), st.user)
	if err != nil {
		return err
	}
	k := totpKey(m.Secret)
	k.Issuer = "Countersign"
	k.Name = st.user.Email
	if k.Name == "" {
		k.Name = st.user.Phone
	}
	uri := k.URI()
	png, err := qr.Encode(uri, 240)
	if err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	d := totpData{
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Secret: groupsOf4(k.SecretBase32()),
		URI:    uri,
	}
	s.render(w, r, http.StatusOK, "totp", &view{Title: "Set up an authenticator app", Error: shown.Error, Field: shown.Field, D: d})
	return nil
}

func groupsOf4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	if !s.acctLimit.Allow("enroll:" + st.user.ID) {
		return s.refusePage(w, r, st, "/account/two-step/totp", "code", msgTooFast)
	}
	m, err := s.pendingTOTP(ctx, st.user)
	if err != nil {
		return err
	}
	ok, _, err := s.matchTOTP(ctx, m, r.PostFormValue("code"))
	if err != nil {
		return err
	}
	if !ok {
		return s.refusePage(w, r, st, "/account/two-step/totp", "code",
			"That code is not right. Check that the app shows “Countersign”, enter the code it shows now, and check your device's clock.")
	}
	m.Confirmed = true
	if err := s.store.UpdateMethod(ctx, m); err != nil {
		return fmt.Errorf("confirm method: %w", err)
	}
	// The newest authenticator is the one the household shares.
	if err := s.house.Reshare(ctx, st.user.ID); err != nil {
		s.log.Error("share the new authenticator with the household", "request_id", st.id, "err", err)
	}
	return s.methodConfirmed(w, r, st, m)
}

// methodConfirmed logs a new method and goes on with the wizard.
func (s *Server) methodConfirmed(w http.ResponseWriter, r *http.Request, st *reqState, m *store.Method) error {
	if err := s.activity(r.Context(), r, st, st.user.ID, store.ActMethodAdded, true, methodName(*m)); err != nil {
		return err
	}
	s.flash(w, methodName(*m)+" is set up.")
	to := "/account/two-step"
	if st.user.TwoStep {
		to = cardURL("two-step")
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// phoneData is the phone setup page: first the number, then its code.
type phoneData struct {
	Phone    string
	Kind     string
	MethodID string // set once a code is sent
	Masked   string
}

// phonePage asks for a number, or, with ?method= a number not yet
// confirmed, for the code sent to it; with the error of the last form sent
// (refusePage), if any.
func (s *Server) phonePage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	shown := s.pageRefusal(w, r, st)
	d := phoneData{Kind: "sms", Phone: st.user.Phone}
	if k := r.URL.Query().Get("kind"); k == "voice" {
		d.Kind = k
	}
	if id := r.URL.Query().Get("method"); id != "" {
		m, err := s.store.Method(r.Context(), st.user.ID, id)
		if err != nil {
			return err
		}
		if m.Confirmed || (m.Kind != store.MethodSMS && m.Kind != store.MethodVoice) {
			http.Redirect(w, r, "/account/two-step", http.StatusSeeOther)
			return nil
		}
		d = phoneData{Phone: m.Phone, Kind: string(m.Kind), MethodID: m.ID, Masked: maskPhone(m.Phone)}
	}
	if typed := shown.entered("phone"); typed != "" {
		d.Phone = typed
	}
	if k := shown.entered("kind"); k == string(store.MethodVoice) || k == string(store.MethodSMS) {
		d.Kind = k
	}
	s.render(w, r, http.StatusOK, "phone", &view{Title: "Set up a phone", Error: shown.Error, Field: shown.Field, D: d})
	return nil
}

func (s *Server) phoneAdd(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	d := phoneData{Phone: strings.TrimSpace(r.PostFormValue("phone")), Kind: r.PostFormValue("kind")}
	show := func(msg string) error {
		return s.refusePage(w, r, st, "/account/two-step/phone", "phone", msg, "phone", "kind")
	}
	kind := store.MethodKind(d.Kind)
	if kind != store.MethodSMS && kind != store.MethodVoice {
		return show("Choose text message or voice call.")
	}
	_, phone, ok := normalizeLogin(d.Phone)
	if !ok || phone == "" {
		return show("Enter a mobile number with its country code, like +1 206 555 0100.")
	}
	if !s.sendLimit.Allow("send:" + u.ID) {
		return show("Wait a minute before asking for another code.")
	}
	m, err := s.pendingPhone(ctx, u, kind, phone)
	if err != nil {
		return err
	}
	if m == nil {
		return show("This number is set up already for " + map[store.MethodKind]string{store.MethodSMS: "text messages", store.MethodVoice: "voice calls"}[kind] + ".")
	}
	if err := s.sendCode(ctx, u, m); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/two-step/phone?method="+url.QueryEscape(m.ID), http.StatusSeeOther)
	return nil
}

// pendingPhone finds or adds the unconfirmed method for kind and phone; nil
// when that phone is confirmed already.
func (s *Server) pendingPhone(ctx context.Context, u *store.User, kind store.MethodKind, phone string) (*store.Method, error) {
	ms, err := s.store.Methods(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("methods: %w", err)
	}
	for i := range ms {
		if ms[i].Kind == kind && ms[i].Phone == phone {
			if ms[i].Confirmed {
				return nil, nil
			}
			return &ms[i], nil
		}
	}
	m := &store.Method{ID: s.newID(), UserID: u.ID, Kind: kind, Phone: phone, CreatedAt: s.now()}
	err = s.store.AddMethod(ctx, m)
	if errors.Is(err, store.ErrConflict) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("add method: %w", err)
	}
	return m, nil
}

func (s *Server) phoneConfirm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	m, err := s.store.Method(ctx, u.ID, r.PostFormValue("method_id"))
	if err != nil {
		return err
	}
	show := func(msg string) error {
		return s.refusePage(w, r, st, "/account/two-step/phone?method="+url.QueryEscape(m.ID), "code", msg)
	}
	if m.Confirmed {
		http.Redirect(w, r, "/account/two-step", http.StatusSeeOther)
		return nil
	}
	if !s.acctLimit.Allow("enroll:" + u.ID) {
		return show(msgTooFast)
	}
	res, err := s.checkSMS(ctx, u, r.PostFormValue("code"), true)
	if err != nil {
		return err
	}
	if !res.ok || res.m.ID != m.ID {
		return show(res.msg)
	}
	m.Confirmed = true
	m.LastUsedAt = s.now()
	if err := s.store.UpdateMethod(ctx, m); err != nil {
		return fmt.Errorf("confirm method: %w", err)
	}
	return s.methodConfirmed(w, r, st, m)
}
