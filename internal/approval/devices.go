package approval

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

var b64 = base64.RawURLEncoding

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// NewPairingCode makes a one-time code that pairs a companion with the
// user's account for PairingLifetime. code is grouped for people
// ("K7Q9-M2XD"); uri is the countersign://pair link a QR code carries.
func (s *Service) NewPairingCode(ctx context.Context, userID string) (code, uri string, expires time.Time, err error) {
	return s.NewMemberPairingCode(ctx, userID, "")
}

// NewMemberPairingCode is NewPairingCode for a household member: the
// companion that redeems the code pairs as memberID's ("" or the owner's id:
// the owner's). ErrNotFound unless memberID is a member of the user's
// household.
func (s *Service) NewMemberPairingCode(ctx context.Context, userID, memberID string) (code, uri string, expires time.Time, err error) {
	if memberID != "" {
		m, err := s.store.Member(ctx, userID, memberID)
		if errors.Is(err, store.ErrNotFound) {
			return "", "", time.Time{}, ErrNotFound
		}
		if err != nil {
			return "", "", time.Time{}, fmt.Errorf("make pairing code: %w", err)
		}
		if m.Role == api.RoleOwner {
			memberID = ""
		}
	}
	b, err := s.random(api.PairCodeLen)
	if err != nil {
		return "", "", time.Time{}, err
	}
	raw := make([]byte, len(b))
	for i, c := range b {
		raw[i] = api.PairCodeAlphabet[int(c)%len(api.PairCodeAlphabet)] // 256 is a multiple of 32: uniform
	}
	now := s.now()
	expires = now.Add(PairingLifetime)
	c := &store.PairingCode{Hash: hash(string(raw)), UserID: userID, MemberID: memberID, CreatedAt: now, ExpiresAt: expires}
	if err := s.store.AddPairingCode(ctx, c); err != nil {
		return "", "", time.Time{}, fmt.Errorf("make pairing code: %w", err)
	}
	return api.GroupPairCode(string(raw)), api.PairURI(s.public, string(raw)), expires, nil
}

// CleanName trims an approver's name and checks it by the names rule, up
// to MaxNameLen characters.
func CleanName(name string) (string, error) {
	name, err := names.Check(name, MaxNameLen)
	if err != nil {
		return "", fmt.Errorf("%w: a device name must be 1 to %d characters, %s", ErrInvalid, MaxNameLen, names.Rule)
	}
	return name, nil
}

// Redeem pairs a companion: it spends the code and adds the device as an
// approver of the code's account, belonging to the code's member. ip and
// userAgent are the companion's, for the activity log. The function set
// with OnPaired runs before it returns.
func (s *Service) Redeem(ctx context.Context, p api.Pairing, ip, userAgent string) (*api.PairingResult, error) {
	name, err := CleanName(p.Name)
	if err != nil {
		return nil, err
	}
	key, err := b64.DecodeString(p.PublicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public_key must be an Ed25519 public key, 32 bytes in base64url without padding", ErrInvalid)
	}
	platform := strings.TrimSpace(p.Platform)
	if len(platform) > 32 || strings.ContainsFunc(platform, unicode.IsControl) {
		return nil, fmt.Errorf("%w: platform must be at most 32 characters", ErrInvalid)
	}
	code := api.NormalizePairCode(p.Code)
	if len(code) != api.PairCodeLen {
		return nil, ErrInvalidCode
	}
	now := s.now()
	a := &store.Approver{Name: name, Platform: platform, PublicKey: key, CreatedAt: now, LastSeenAt: now}
	if a.ID, err = s.newID(); err != nil {
		return nil, err
	}
	err = s.store.RedeemPairingCode(ctx, hash(code), now, a)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrUsed):
		return nil, ErrInvalidCode
	case err != nil:
		return nil, fmt.Errorf("redeem pairing code: %w", err)
	}
	u, err := s.store.UserByID(ctx, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("redeem pairing code: %w", err)
	}
	detail := "Paired " + name
	if platform != "" {
		detail += " (" + platform + ")"
	}
	s.record(ctx, &store.Activity{UserID: u.ID, Kind: store.ActApproverPaired, OK: true, IP: ip, UserAgent: userAgent,
		Member: s.memberName(ctx, a), Detail: detail})
	s.Changed(ctx, u.ID, api.ChangedDevices)
	if f := s.onPaired.Load(); f != nil {
		(*f)(ctx, a)
	}
	return &api.PairingResult{DeviceID: a.ID, Account: accountRef(u), Server: s.public}, nil
}

func accountRef(u *store.User) api.AccountRef {
	return api.AccountRef{ID: u.ID, Name: u.Name, Email: u.Email, Phone: u.Phone}
}

// Approvers lists the user's paired approver devices, oldest first.
func (s *Service) Approvers(ctx context.Context, userID string) ([]store.Approver, error) {
	as, err := s.store.Approvers(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list approvers: %w", err)
	}
	return as, nil
}

// RemoveApprover unpairs one of the user's approver devices: its tokens stop
// working at once and its streams end with an "unpaired" event.
// ErrNotFound unless it is the user's paired device.
func (s *Service) RemoveApprover(ctx context.Context, userID, deviceID, ip, userAgent string) error {
	a, err := s.store.Approver(ctx, deviceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (a.UserID != userID || !a.RemovedAt.IsZero())) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove approver: %w", err)
	}
	ev, err := event(api.EventUnpaired, api.Unpaired{DeviceID: deviceID})
	if err != nil {
		return err
	}
	err = s.store.RemoveApprover(ctx, userID, deviceID, s.now(), ev)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove approver: %w", err)
	}
	s.broker.wake(userID)
	s.activity(ctx, userID, store.ActApproverRemoved, true, ip, userAgent, "Removed "+a.Name)
	s.Changed(ctx, userID, api.ChangedDevices)
	return nil
}

// Challenge makes a single-use challenge for the device to sign
// (api.AuthMessage), valid for ChallengeLifetime. ErrRevoked for an unknown
// or removed device.
func (s *Service) Challenge(ctx context.Context, deviceID string) (challenge string, expires time.Time, err error) {
	if _, err := s.paired(ctx, deviceID); err != nil {
		return "", time.Time{}, err
	}
	b, err := s.random(32)
	if err != nil {
		return "", time.Time{}, err
	}
	challenge = b64.EncodeToString(b)
	expires = s.now().Add(ChallengeLifetime)
	if err := s.store.AddDeviceChallenge(ctx, &store.DeviceChallenge{Hash: hash(challenge), DeviceID: deviceID, ExpiresAt: expires}); err != nil {
		return "", time.Time{}, fmt.Errorf("make device challenge: %w", err)
	}
	return challenge, expires, nil
}

// paired returns the device unless it is unknown or removed (ErrRevoked).
func (s *Service) paired(ctx context.Context, deviceID string) (*store.Approver, error) {
	a, err := s.store.Approver(ctx, deviceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.RemovedAt.IsZero()) {
		return nil, ErrRevoked
	}
	if err != nil {
		return nil, fmt.Errorf("look up device: %w", err)
	}
	return a, nil
}

// Token trades a signed challenge for a device token ("csd_…") valid for
// TokenLifetime. The challenge is spent whatever the outcome. ErrRevoked for
// an unknown or removed device, ErrSignature for a bad signature or an
// unknown, spent or expired challenge.
func (s *Service) Token(ctx context.Context, r api.AuthTokenRequest) (token string, expires time.Time, err error) {
	a, err := s.paired(ctx, r.DeviceID)
	if err != nil {
		return "", time.Time{}, err
	}
	c, err := s.store.TakeDeviceChallenge(ctx, hash(r.Challenge))
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, ErrSignature
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("take device challenge: %w", err)
	}
	now := s.now()
	if c.DeviceID != a.ID || !now.Before(c.ExpiresAt) {
		return "", time.Time{}, ErrSignature
	}
	sig, err := b64.DecodeString(r.Signature)
	if err != nil || !ed25519.Verify(a.PublicKey, api.AuthMessage(a.ID, r.Challenge), sig) {
		return "", time.Time{}, ErrSignature
	}
	b, err := s.random(32)
	if err != nil {
		return "", time.Time{}, err
	}
	token = api.DeviceTokenPrefix + b64.EncodeToString(b)
	expires = now.Add(TokenLifetime)
	t := &store.DeviceToken{Hash: hash(token), DeviceID: a.ID, UserID: a.UserID, CreatedAt: now, ExpiresAt: expires}
	if err := s.store.AddDeviceToken(ctx, t); err != nil {
		return "", time.Time{}, fmt.Errorf("store device token: %w", err)
	}
	s.touch(ctx, a, now)
	return token, expires, nil
}

// Authenticate checks a device token ("csd_…") and returns its device.
// ErrInvalidToken for an unknown or expired token, ErrRevoked when its
// device was removed.
func (s *Service) Authenticate(ctx context.Context, token string) (*store.Approver, error) {
	if !strings.HasPrefix(token, api.DeviceTokenPrefix) {
		return nil, ErrInvalidToken
	}
	t, err := s.store.DeviceTokenByHash(ctx, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("look up device token: %w", err)
	}
	a, err := s.paired(ctx, t.DeviceID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(t.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	s.touch(ctx, a, now)
	return a, nil
}

// touch records that the device was seen, at most once per touchEvery.
func (s *Service) touch(ctx context.Context, a *store.Approver, now time.Time) {
	if now.Sub(a.LastSeenAt) < touchEvery {
		return
	}
	if err := s.store.TouchApprover(ctx, a.ID, now); err != nil {
		s.log.Warn("approval: touch approver", "device", a.ID, "err", err)
		return
	}
	a.LastSeenAt = now
}

// newID returns a random 128-bit id in hex.
func (s *Service) newID() (string, error) {
	b, err := s.random(16)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}
