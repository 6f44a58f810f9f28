// Package household runs the people who share one Countersign account: its
// members (the owner, made with the account, and the people they add), the
// invitations that pair a member's desktop companion as theirs, and the
// sharing of the account's authenticator (its TOTP secret) with members'
// companions, sealed to each companion's key so that the server, which
// keeps the offers, cannot read them.
//
// It holds the rules and no HTTP: API v1 (package apiv1) decides who may call
// what and turns the sentinel errors into answers; the web pages call
// Reshare when the account's authenticator changes. Storage is package
// store; pairing and the companions' event streams are package approval's.
package household

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/sealed"
	"github.com/countersign/countersign/internal/store"
)

// MaxNameLen is the longest member name, in characters.
const MaxNameLen = 64

// Issuer names the account in the authenticator URIs shared with members.
const Issuer = "Countersign"

// Sentinel errors; callers branch on them with errors.Is. Their messages may
// be shown to people. Unknown members and offers are store.ErrNotFound, a
// taken name store.ErrConflict.
var (
	ErrNoAuthenticator = errors.New("turn on an authenticator app for the account first")
	ErrNoDesktop       = errors.New("the member has no paired desktop to share with: invite their desktop first")
	ErrOwner           = errors.New("the account's owner cannot be removed from the household")
	// ErrInvalidName is also an approval.ErrInvalid.
	ErrInvalidName = fmt.Errorf("%w: a member's name must be 1 to %d characters, %s", approval.ErrInvalid, MaxNameLen, names.Rule)
)

// Options is what New needs. Store and Approvals are required.
type Options struct {
	Store     store.Store
	Approvals *approval.Service
	Rand      io.Reader        // nil: crypto/rand.Reader
	Now       func() time.Time // nil: time.Now
	Log       *slog.Logger     // nil: discard
}

// Service runs the household. It is safe for concurrent use.
type Service struct {
	store     store.Store
	approvals *approval.Service
	randMu    sync.Mutex
	rand      io.Reader
	now       func() time.Time
	log       *slog.Logger
}

// New validates o and builds the service. It registers with o.Approvals so
// that a newly paired companion of a member who shares the authenticator is
// offered it.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("household: no store")
	}
	if o.Approvals == nil {
		return nil, errors.New("household: no approval service")
	}
	s := &Service{store: o.Store, approvals: o.Approvals, rand: o.Rand, now: o.Now, log: o.Log}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	o.Approvals.OnPaired(s.paired)
	return s, nil
}

// CleanName trims a member's name and checks it by the names rule, up to
// MaxNameLen characters (ErrInvalidName).
func CleanName(name string) (string, error) {
	name, err := names.Check(name, MaxNameLen)
	if err != nil {
		return "", ErrInvalidName
	}
	return name, nil
}

// Members lists the household: the owner first, then oldest first.
func (s *Service) Members(ctx context.Context, userID string) ([]store.Member, error) {
	ms, err := s.store.Members(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("household members: %w", err)
	}
	return ms, nil
}

// AddMember adds a member to the household. ErrInvalidName, or
// store.ErrConflict when the name is taken (case-insensitively).
func (s *Service) AddMember(ctx context.Context, userID, name string) (*store.Member, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	m := &store.Member{UserID: userID, Name: name, Role: api.RoleMember, CreatedAt: s.now()}
	if m.ID, err = s.newID(); err != nil {
		return nil, err
	}
	if err := s.store.AddMember(ctx, m); err != nil {
		return nil, fmt.Errorf("add member: %w", err)
	}
	s.record(ctx, &store.Activity{UserID: userID, Kind: store.ActMemberAdded, OK: true, Member: s.ownerName(ctx, userID),
		Detail: "Added " + name + " to the household"})
	s.Changed(ctx, userID, api.ChangedHousehold)
	return m, nil
}

// RenameMember renames a member (the owner too). ErrInvalidName,
// store.ErrNotFound, store.ErrConflict.
func (s *Service) RenameMember(ctx context.Context, userID, id, name string) (*store.Member, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	old, err := s.store.Member(ctx, userID, id)
	if err != nil {
		return nil, fmt.Errorf("rename member: %w", err)
	}
	if err := s.store.RenameMember(ctx, userID, id, name); err != nil {
		return nil, fmt.Errorf("rename member: %w", err)
	}
	m := *old
	m.Name = name
	if old.Name != name {
		s.record(ctx, &store.Activity{UserID: userID, Kind: store.ActMemberRenamed, OK: true, Member: name,
			Detail: "Renamed " + old.Name + " to " + name})
		s.Changed(ctx, userID, api.ChangedHousehold)
	}
	return &m, nil
}

// RemoveMember removes a member and all their devices at once: their
// companions' tokens fail from now on and their streams end with an
// "unpaired" event; their trusted browsers (with their sessions), security
// keys, invitations and share offers go too. by is the name of the member
// who removes them, for the activity log. ErrOwner for the owner,
// store.ErrNotFound for an unknown member.
func (s *Service) RemoveMember(ctx context.Context, userID, id, ip, userAgent, by string) error {
	m, err := s.store.Member(ctx, userID, id)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if m.Role == api.RoleOwner {
		return ErrOwner
	}
	as, err := s.memberApprovers(ctx, m)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	evs := make([]*store.ApprovalEvent, 0, len(as))
	for _, a := range as {
		ev, err := event(api.EventUnpaired, api.Unpaired{DeviceID: a.ID})
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	ev, err := event(api.EventChanged, api.Changed{What: api.ChangedHousehold})
	if err != nil {
		return err
	}
	ev.Activity = &store.Activity{At: s.now(), Kind: store.ActMemberRemoved, OK: true, IP: ip, UserAgent: userAgent, Member: by,
		Detail: "Removed " + m.Name + " and their devices from the household"}
	evs = append(evs, ev)
	err = s.store.RemoveMember(ctx, userID, id, s.now(), evs)
	if errors.Is(err, store.ErrConflict) {
		return ErrOwner
	}
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	s.approvals.Wake(userID)
	s.Changed(ctx, userID, api.ChangedDevices)
	return nil
}

// Invite makes a pairing code for the member: the companion that redeems
// it pairs as theirs. code is grouped for people ("K7Q9-M2XD"), uri the
// countersign://pair link a QR code carries. store.ErrNotFound for an
// unknown member.
func (s *Service) Invite(ctx context.Context, userID, memberID string) (code, uri string, expires time.Time, err error) {
	m, err := s.store.Member(ctx, userID, memberID)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("invite: %w", err)
	}
	code, uri, expires, err = s.approvals.NewMemberPairingCode(ctx, userID, memberID)
	if errors.Is(err, approval.ErrNotFound) {
		return "", "", time.Time{}, fmt.Errorf("invite: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("invite: %w", err)
	}
	s.record(ctx, &store.Activity{UserID: userID, Kind: store.ActInvited, OK: true, Member: s.ownerName(ctx, userID),
		Detail: "Made an invitation to pair " + m.Name + "'s desktop"})
	return code, uri, expires, nil
}

// Share shares the account's authenticator with the member: from now on
// every companion of theirs is offered it (sealed to its key), now and
// when it is paired or the authenticator changes. offered is how many
// companions were offered it now. by is the sharing member's name.
// ErrNoAuthenticator when the account has no confirmed authenticator app,
// ErrNoDesktop when the member has no paired companion, store.ErrNotFound
// for an unknown member.
func (s *Service) Share(ctx context.Context, userID, memberID, by string) (offered int, err error) {
	m, err := s.store.Member(ctx, userID, memberID)
	if err != nil {
		return 0, fmt.Errorf("share the authenticator: %w", err)
	}
	e, err := s.enrollment(ctx, userID)
	if err != nil {
		return 0, err
	}
	as, err := s.memberApprovers(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("share the authenticator: %w", err)
	}
	if len(as) == 0 {
		return 0, ErrNoDesktop
	}
	if err := s.store.SetSharesAuthenticator(ctx, userID, m.ID, true); err != nil {
		return 0, fmt.Errorf("share the authenticator: %w", err)
	}
	for i := range as {
		if err := s.offer(ctx, e, m, &as[i], by, false); err != nil {
			// All or nothing: a member newly marked as sharing with an
			// offer missing would wait for it for ever. Unmarking also
			// withdraws the offers made here.
			if !m.SharesAuthenticator {
				if uerr := s.store.SetSharesAuthenticator(ctx, userID, m.ID, false); uerr != nil {
					s.log.Error("household: undo a failed share", "member", m.ID, "err", uerr)
				}
			}
			return 0, err
		}
		offered++
	}
	s.record(ctx, &store.Activity{UserID: userID, Kind: store.ActShared, OK: true, Member: by,
		Detail: fmt.Sprintf("Shared the authenticator with %s (%s)", m.Name, devices(offered))})
	s.Changed(ctx, userID, api.ChangedHousehold)
	return offered, nil
}

// StopSharing stops sharing the authenticator with the member and
// withdraws the offers not yet answered. A companion that accepted keeps
// what it has: change the authenticator to take it back.
func (s *Service) StopSharing(ctx context.Context, userID, memberID string) error {
	m, err := s.store.Member(ctx, userID, memberID)
	if err != nil {
		return fmt.Errorf("stop sharing the authenticator: %w", err)
	}
	if err := s.store.SetSharesAuthenticator(ctx, userID, memberID, false); err != nil {
		return fmt.Errorf("stop sharing the authenticator: %w", err)
	}
	if m.SharesAuthenticator {
		s.record(ctx, &store.Activity{UserID: userID, Kind: store.ActUnshared, OK: true, Member: s.ownerName(ctx, userID),
			Detail: "Stopped sharing the authenticator with " + m.Name})
		s.Changed(ctx, userID, api.ChangedHousehold)
	}
	return nil
}

// Reshare offers the account's authenticator again, marked rekeyed, to
// every companion of every member who shares it: call it after the
// account's authenticator changed. Without an authenticator left it does
// nothing.
func (s *Service) Reshare(ctx context.Context, userID string) error {
	e, err := s.enrollment(ctx, userID)
	if errors.Is(err, ErrNoAuthenticator) {
		return nil
	}
	if err != nil {
		return err
	}
	ms, err := s.store.Members(ctx, userID)
	if err != nil {
		return fmt.Errorf("reshare the authenticator: %w", err)
	}
	from := ""
	for i := range ms {
		if ms[i].Role == api.RoleOwner {
			from = ms[i].Name
		}
	}
	for i := range ms {
		if !ms[i].SharesAuthenticator {
			continue
		}
		as, err := s.memberApprovers(ctx, &ms[i])
		if err != nil {
			return fmt.Errorf("reshare the authenticator: %w", err)
		}
		for j := range as {
			if err := s.offer(ctx, e, &ms[i], &as[j], from, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// Offers lists the device's unanswered share offers, oldest first.
func (s *Service) Offers(ctx context.Context, deviceID string) ([]store.ShareOffer, error) {
	os, err := s.store.ShareOffers(ctx, deviceID)
	if err != nil {
		return nil, fmt.Errorf("share offers: %w", err)
	}
	return os, nil
}

// Answer accepts or declines one of the device's unanswered offers; either
// way the server forgets the sealed secret. store.ErrNotFound unless it is
// an unanswered offer of this device of the user.
func (s *Service) Answer(ctx context.Context, userID, deviceID, offerID string, accepted bool) error {
	o, err := s.store.ShareOffer(ctx, offerID)
	if err != nil {
		return fmt.Errorf("answer a share offer: %w", err)
	}
	if o.UserID != userID || o.DeviceID != deviceID {
		return fmt.Errorf("answer a share offer: %w", store.ErrNotFound)
	}
	if err := s.store.AnswerShareOffer(ctx, offerID, deviceID, accepted, s.now()); err != nil {
		return fmt.Errorf("answer a share offer: %w", err)
	}
	a := &store.Activity{UserID: userID, Kind: store.ActShareDeclined, OK: true}
	device := "a desktop"
	if ap, err := s.store.Approver(ctx, deviceID); err == nil {
		device = ap.Name
		a.Member = s.approverMember(ctx, ap)
	}
	if accepted {
		a.Kind, a.Detail = store.ActShareAccepted, "The authenticator was added on "+device
	} else {
		a.Detail = "The shared authenticator was declined on " + device
	}
	s.record(ctx, a)
	return nil
}

// Changed publishes an api.EventChanged event naming what changed
// (api.Changed…) to the account's companions. Errors are logged.
func (s *Service) Changed(ctx context.Context, userID, what string) {
	s.approvals.Changed(ctx, userID, what)
}

// paired offers the authenticator to a newly paired companion of a member
// who shares it; it runs inside approval.Service.Redeem.
func (s *Service) paired(ctx context.Context, a *store.Approver) {
	m, err := s.store.Member(ctx, a.UserID, a.MemberID)
	if err != nil {
		s.log.Error("household: the member of a paired companion", "device", a.ID, "err", err)
		return
	}
	if !m.SharesAuthenticator {
		return
	}
	e, err := s.enrollment(ctx, a.UserID)
	if errors.Is(err, ErrNoAuthenticator) {
		return
	}
	if err == nil {
		err = s.offer(ctx, e, m, a, s.ownerName(ctx, a.UserID), false)
	}
	if err != nil {
		s.log.Error("household: offer the authenticator to a paired companion", "device", a.ID, "err", err)
	}
}

// shared is the account's authenticator as offered: its method and the
// SharedEnrollment JSON. The JSON holds the secret: it is sealed, never
// logged.
type shared struct {
	method *store.Method
	plain  []byte
}

// enrollment reads the account's newest confirmed TOTP method as a
// SharedEnrollment. ErrNoAuthenticator when there is none.
func (s *Service) enrollment(ctx context.Context, userID string) (*shared, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("read the account: %w", err)
	}
	ms, err := s.store.Methods(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("read the account's methods: %w", err)
	}
	var m *store.Method
	for i := range ms {
		if ms[i].Kind == store.MethodTOTP && ms[i].Confirmed && len(ms[i].Secret) > 0 &&
			(m == nil || !ms[i].CreatedAt.Before(m.CreatedAt)) {
			m = &ms[i]
		}
	}
	if m == nil {
		return nil, ErrNoAuthenticator
	}
	plain, err := json.Marshal(api.SharedEnrollment{URI: EnrollmentURI(u, m.Secret)})
	if err != nil {
		return nil, fmt.Errorf("encode the shared authenticator: %w", err)
	}
	return &shared{method: m, plain: plain}, nil
}

// EnrollmentURI is the otpauth URI of the account's authenticator secret:
// otpauth://totp/Countersign:<email or phone>?secret=…&issuer=Countersign&algorithm=SHA1&digits=6&period=30.
func EnrollmentURI(u *store.User, secret []byte) string {
	login := u.Email
	if login == "" {
		login = u.Phone
	}
	return "otpauth://totp/" + url.PathEscape(Issuer+":"+login) + "?secret=" + otp.Key{Secret: secret}.SecretBase32() +
		"&issuer=" + url.QueryEscape(Issuer) + "&algorithm=SHA1&digits=6&period=30"
}

// offer seals the enrollment to the approver's key and stores it as an
// offer (in place of an unanswered one), with its "share" event.
func (s *Service) offer(ctx context.Context, e *shared, m *store.Member, a *store.Approver, from string, rekeyed bool) error {
	s.randMu.Lock()
	box, err := sealed.Seal(s.rand, a.PublicKey, e.plain)
	s.randMu.Unlock()
	if err != nil {
		return fmt.Errorf("seal the authenticator to %s: %w", a.ID, err)
	}
	o := &store.ShareOffer{UserID: m.UserID, MemberID: m.ID, DeviceID: a.ID, MethodID: e.method.ID, Label: e.method.Label,
		FromName: from, Rekeyed: rekeyed, Sealed: box, CreatedAt: s.now()}
	if o.ID, err = s.newID(); err != nil {
		return err
	}
	ev, err := event(api.EventShare, api.ShareOffered{ID: o.ID, DeviceID: a.ID})
	if err != nil {
		return err
	}
	if err := s.store.AddShareOffer(ctx, o, ev); err != nil {
		return fmt.Errorf("offer the authenticator: %w", err)
	}
	s.approvals.Wake(m.UserID)
	return nil
}

// memberApprovers lists the member's paired companions.
func (s *Service) memberApprovers(ctx context.Context, m *store.Member) ([]store.Approver, error) {
	all, err := s.store.Approvers(ctx, m.UserID)
	if err != nil {
		return nil, err
	}
	var out []store.Approver
	for _, a := range all {
		if a.MemberID == m.ID {
			out = append(out, a)
		}
	}
	return out, nil
}

// ownerName is the owner member's name, "" when it can't be read (logged).
func (s *Service) ownerName(ctx context.Context, userID string) string {
	m, err := s.store.OwnerMember(ctx, userID)
	if err != nil {
		s.log.Warn("household: read the owner", "err", err)
		return ""
	}
	return m.Name
}

// approverMember is the name of the approver's member, "" when unknown.
func (s *Service) approverMember(ctx context.Context, a *store.Approver) string {
	m, err := s.store.Member(ctx, a.UserID, a.MemberID)
	if err != nil {
		return ""
	}
	return m.Name
}

// record writes an activity entry; a failure is logged, not returned: the
// change it describes has happened.
func (s *Service) record(ctx context.Context, a *store.Activity) {
	a.At = s.now()
	if err := s.store.AddActivity(ctx, a); err != nil {
		s.log.Error("household: record activity", "kind", a.Kind, "err", err)
	}
}

func (s *Service) newID() (string, error) {
	var b [16]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.rand, b[:])
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// event makes a store event of kind with data as JSON.
func event(kind string, data any) (*store.ApprovalEvent, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", kind, err)
	}
	return &store.ApprovalEvent{Kind: kind, Data: b}, nil
}

// devices says how many devices, in words.
func devices(n int) string {
	if n == 1 {
		return "1 desktop"
	}
	return fmt.Sprintf("%d desktops", n)
}
