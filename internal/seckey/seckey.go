// Package seckey runs the WebAuthn ceremonies of countersign-server:
// registering a security key with an account and proving possession of one
// (the second step of a sign-in, or a native client's check), and passkeys:
// keys registered as discoverable credentials with user verification, that
// sign in on their own without naming the account (passkey.go). It wraps
// go-webauthn and keeps pending ceremonies and credentials in the store.
//
// It decides nothing about sessions, pages or who is signed in: callers pass
// the account, and turn the sentinel errors into what people see.
package seckey

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

// Sentinel errors; callers branch on them with errors.Is. Errors returned by
// the Service may wrap them with verification detail meant for logs: show
// people the sentinel's own message.
var (
	ErrNoKeys    = errors.New("no security key is registered with the account")
	ErrChallenge = errors.New("this security key request has expired or was already used; start again")
	ErrVerify    = errors.New("the security key's answer could not be verified")
	// ErrCloned is an ErrVerify: the key's signature counter went backwards,
	// which is what a cloned authenticator does.
	ErrCloned = fmt.Errorf("%w: its signature counter went backwards, so it may have been copied", ErrVerify)
	// ErrRegistered means the credential is registered already (with this
	// account or another).
	ErrRegistered = errors.New("this security key is already registered")
	// ErrNotDiscoverable is an ErrVerify: the authenticator made a
	// credential that is not stored on it, so it cannot be a passkey.
	ErrNotDiscoverable = errors.New("the credential is not stored on the authenticator, so it cannot sign in on its own")
	// ErrName means the name given to a key is unusable.
	ErrName = fmt.Errorf("a security key's name must be 1 to %d characters, %s", MaxNameLen, names.Rule)
)

// MaxNameLen is the longest name a key may have, in characters.
const MaxNameLen = 64

// DefaultName names a key registered without a name.
const DefaultName = "Security key"

// Challenge kinds kept in store.Challenge.Kind.
const (
	kindRegister        = "register"
	kindRegisterPasskey = "register-passkey"
	kindLogin           = "login"
	kindPasskeyLogin    = "passkey-login"
)

// Config configures a Service.
type Config struct {
	RPID    string   // the relying party id: the server's host name, e.g. "accounts.example.com"
	RPName  string   // shown by browsers and keys, e.g. "Countersign"
	Origins []string // allowed origins, e.g. "https://accounts.example.com"
	Store   store.Store
	Now     func() time.Time // default time.Now
	Rand    io.Reader        // default crypto/rand.Reader
	Timeout time.Duration    // ceremony lifetime, default 5 minutes
}

// Service runs WebAuthn ceremonies. It is safe for concurrent use.
type Service struct {
	wa      *webauthn.WebAuthn
	store   store.Store
	now     func() time.Time
	rand    io.Reader
	timeout time.Duration
}

// algorithms are the COSE algorithms asked for, in order of preference.
var algorithms = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.RPID == "" || strings.ContainsAny(cfg.RPID, ":/ ") {
		return nil, fmt.Errorf("seckey: the relying party id must be a host name, got %q", cfg.RPID)
	}
	if strings.TrimSpace(cfg.RPName) == "" {
		return nil, errors.New("seckey: the relying party name is required")
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("seckey: at least one origin is required")
	}
	for _, o := range cfg.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("seckey: origin %q is not scheme://host[:port]", o)
		}
	}
	if cfg.Store == nil {
		return nil, errors.New("seckey: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	origins := make([]string, len(cfg.Origins))
	for i, o := range cfg.Origins {
		origins[i] = strings.TrimSuffix(o, "/")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     origins,
		// Expiry is enforced here against the injected clock, not by
		// go-webauthn against the wall clock.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("seckey: %w", err)
	}
	return &Service{wa: wa, store: cfg.Store, now: cfg.Now, rand: cfg.Rand, timeout: cfg.Timeout}, nil
}

// BeginRegistration starts registering a new key for u. It returns the id
// of the pending ceremony and the options for navigator.credentials.create
// (go-webauthn's protocol.CredentialCreation as JSON). The user's keys are
// excluded; a discoverable credential and user verification are preferred.
func (s *Service) BeginRegistration(ctx context.Context, u *store.User) (string, json.RawMessage, error) {
	return s.beginRegistration(ctx, u, kindRegister, protocol.AuthenticatorSelection{
		RequireResidentKey: protocol.ResidentKeyNotRequired(),
		ResidentKey:        protocol.ResidentKeyRequirementPreferred,
		UserVerification:   protocol.VerificationPreferred,
	})
}

// BeginPasskeyRegistration is BeginRegistration for a passkey: the
// credential must be discoverable (resident on the authenticator) and the
// user verified (a PIN, a fingerprint, the device's lock), so that it can
// sign in on its own. FinishRegistration stores it with Discoverable set.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u *store.User) (string, json.RawMessage, error) {
	return s.beginRegistration(ctx, u, kindRegisterPasskey, protocol.AuthenticatorSelection{
		RequireResidentKey: protocol.ResidentKeyRequired(),
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		UserVerification:   protocol.VerificationRequired,
	}, webauthn.WithExtensions(protocol.AuthenticationExtensions{"credProps": true}))
}

func (s *Service) beginRegistration(ctx context.Context, u *store.User, kind string, sel protocol.AuthenticatorSelection, opts ...webauthn.RegistrationOption) (string, json.RawMessage, error) {
	wu, _, err := s.user(ctx, u)
	if err != nil {
		return "", nil, err
	}
	challenge, err := s.random(32)
	if err != nil {
		return "", nil, err
	}
	creation, session, err := s.wa.BeginRegistration(wu, append([]webauthn.RegistrationOption{
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithCredentialParameters(algorithms),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		func(o *protocol.PublicKeyCredentialCreationOptions) { o.Challenge = challenge },
	}, opts...)...)
	if err != nil {
		return "", nil, fmt.Errorf("starting a security key registration: %w", err)
	}
	// go-webauthn draws its own challenge for the session; the one sent is ours.
	session.Challenge = protocol.URLEncodedBase64(challenge).String()
	return s.begin(ctx, u, kind, creation, session)
}

// checkPasskey refuses a passkey registration whose authenticator did not
// verify the user, or whose client says the credential is not discoverable
// (the credProps extension; a client that does not say was asked for a
// resident key, which it must make or fail).
func checkPasskey(parsed *protocol.ParsedCredentialCreationData) error {
	if !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		return fmt.Errorf("%w: a passkey needs user verification (a PIN, a fingerprint or the device's lock)", ErrVerify)
	}
	if props, ok := parsed.ClientExtensionResults["credProps"].(map[string]any); ok {
		if rk, ok := props["rk"].(bool); ok && !rk {
			return fmt.Errorf("%w: %w", ErrVerify, ErrNotDiscoverable)
		}
	}
	return nil
}

// FinishRegistration verifies the browser's or client's answer to the
// ceremony challengeID (a PublicKeyCredential as JSON) and stores the key
// under name (trimmed; DefaultName when empty). It returns ErrName,
// ErrChallenge, ErrVerify or ErrRegistered for what people can put right.
func (s *Service) FinishRegistration(ctx context.Context, u *store.User, challengeID, name string, credential json.RawMessage) (*store.SecurityKey, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	session, kind, err := s.take(ctx, u, challengeID, kindRegister, kindRegisterPasskey)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, verifyError(err)
	}
	passkey := kind == kindRegisterPasskey
	if passkey {
		if err := checkPasskey(parsed); err != nil {
			return nil, err
		}
	}
	wu, _, err := s.user(ctx, u)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(wu, *session, parsed)
	if err != nil {
		return nil, verifyError(err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	k := &store.SecurityKey{
		ID:           id,
		UserID:       u.ID,
		Name:         name,
		CredentialID: cred.ID,
		Credential:   data,
		Discoverable: passkey,
		CreatedAt:    s.now().UTC(),
	}
	if err := s.store.AddSecurityKey(ctx, k); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrRegistered
		}
		return nil, fmt.Errorf("storing the security key: %w", err)
	}
	return k, nil
}

// BeginLogin starts proving possession of one of u's keys. It returns the
// id of the pending ceremony and the options for navigator.credentials.get
// (go-webauthn's protocol.CredentialAssertion as JSON) allowing the user's
// keys; ErrNoKeys when there are none.
func (s *Service) BeginLogin(ctx context.Context, u *store.User) (string, json.RawMessage, error) {
	wu, _, err := s.user(ctx, u)
	if err != nil {
		return "", nil, err
	}
	if len(wu.creds) == 0 {
		return "", nil, ErrNoKeys
	}
	challenge, err := s.random(32)
	if err != nil {
		return "", nil, err
	}
	assertion, session, err := s.wa.BeginLogin(wu,
		webauthn.WithUserVerification(protocol.VerificationPreferred),
		webauthn.WithChallenge(challenge),
	)
	if err != nil {
		return "", nil, fmt.Errorf("starting a security key sign-in: %w", err)
	}
	return s.begin(ctx, u, kindLogin, assertion, session)
}

// FinishLogin verifies the answer to the ceremony challengeID (a
// PublicKeyCredential assertion as JSON), then records the key's new
// signature counter, flags and last use. It returns ErrChallenge, ErrVerify
// or ErrCloned when the answer is not good.
func (s *Service) FinishLogin(ctx context.Context, u *store.User, challengeID string, credential json.RawMessage) (*store.SecurityKey, error) {
	session, _, err := s.take(ctx, u, challengeID, kindLogin)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, verifyError(err)
	}
	wu, keys, err := s.user(ctx, u)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.ValidateLogin(wu, *session, parsed)
	if err != nil {
		return nil, verifyError(err)
	}
	return s.used(ctx, keys, cred)
}

// used records a verified assertion of cred, one of keys: its new
// signature counter, flags and last use. ErrCloned when the counter went
// backwards.
func (s *Service) used(ctx context.Context, keys []store.SecurityKey, cred *webauthn.Credential) (*store.SecurityKey, error) {
	if cred.Authenticator.CloneWarning {
		return nil, ErrCloned
	}
	var key *store.SecurityKey
	for i := range keys {
		if bytes.Equal(keys[i].CredentialID, cred.ID) {
			key = &keys[i]
			break
		}
	}
	if key == nil { // go-webauthn found it among the same keys
		return nil, verifyError(errors.New("credential vanished"))
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	key.Credential = data
	key.LastUsedAt = s.now().UTC()
	if err := s.store.UpdateSecurityKey(ctx, key); err != nil {
		return nil, fmt.Errorf("updating the security key: %w", err)
	}
	return key, nil
}

// CleanName trims a key's name and checks it; "" becomes DefaultName.
func CleanName(name string) (string, error) {
	name, err := names.Check(name, MaxNameLen)
	switch {
	case errors.Is(err, names.ErrEmpty):
		return DefaultName, nil
	case err != nil:
		return "", ErrName
	}
	return name, nil
}

// begin stores a pending ceremony of u (nil: of no one yet, a passkey
// sign-in) and returns its id and the options JSON.
func (s *Service) begin(ctx context.Context, u *store.User, kind string, options any, session *webauthn.SessionData) (string, json.RawMessage, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(session)
	if err != nil {
		return "", nil, err
	}
	id, err := s.newID()
	if err != nil {
		return "", nil, err
	}
	var userID string
	if u != nil {
		userID = u.ID
	}
	c := &store.Challenge{ID: id, UserID: userID, Kind: kind, Data: data, ExpiresAt: s.now().Add(s.timeout).UTC()}
	if err := s.store.AddChallenge(ctx, c); err != nil {
		return "", nil, fmt.Errorf("storing the security key challenge: %w", err)
	}
	return id, opts, nil
}

// take spends the pending ceremony id, which must be u's (nil: no one's,
// a passkey sign-in), of one of kinds and unexpired. It returns the
// ceremony's session and kind.
func (s *Service) take(ctx context.Context, u *store.User, id string, kinds ...string) (*webauthn.SessionData, string, error) {
	if id == "" || len(id) > 128 {
		return nil, "", ErrChallenge
	}
	c, err := s.store.TakeChallenge(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrChallenge
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading the security key challenge: %w", err)
	}
	var userID string
	var handle []byte
	if u != nil {
		userID, handle = u.ID, u.WebAuthnID
	}
	if c.UserID != userID || !slices.Contains(kinds, c.Kind) || !s.now().Before(c.ExpiresAt) {
		return nil, "", ErrChallenge
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(c.Data, &session); err != nil {
		return nil, "", fmt.Errorf("reading the security key challenge: %w", err)
	}
	if !bytes.Equal(session.UserID, handle) {
		return nil, "", ErrChallenge
	}
	return &session, c.Kind, nil
}

// user adapts u and its stored keys to go-webauthn.
func (s *Service) user(ctx context.Context, u *store.User) (*user, []store.SecurityKey, error) {
	if u == nil || u.ID == "" {
		return nil, nil, errors.New("seckey: no user")
	}
	if len(u.WebAuthnID) == 0 {
		return nil, nil, errors.New("seckey: the account has no WebAuthn user handle")
	}
	keys, err := s.store.SecurityKeys(ctx, u.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the security keys: %w", err)
	}
	wu := &user{u: u, creds: make([]webauthn.Credential, 0, len(keys))}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, nil, fmt.Errorf("reading security key %s: %w", k.ID, err)
		}
		wu.creds = append(wu.creds, c)
	}
	return wu, keys, nil
}

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("seckey: reading randomness: %w", err)
	}
	return b, nil
}

func (s *Service) newID() (string, error) {
	b, err := s.random(16)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// verifyError wraps a go-webauthn failure in ErrVerify, keeping its detail
// for logs.
func verifyError(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %s (%s)", ErrVerify, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("%w: %v", ErrVerify, err)
}

// user is a store.User as go-webauthn sees it.
type user struct {
	u     *store.User
	creds []webauthn.Credential
}

func (w *user) WebAuthnID() []byte { return w.u.WebAuthnID }

func (w *user) WebAuthnName() string {
	switch {
	case w.u.Email != "":
		return w.u.Email
	case w.u.Phone != "":
		return w.u.Phone
	}
	return w.u.Name
}

func (w *user) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.WebAuthnName()
}

func (w *user) WebAuthnCredentials() []webauthn.Credential { return w.creds }
