package softkey

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/countersign/countersign/internal/atomicfile"
)

// Options configure a Key. The zero value is a valid in-memory key that
// approves every presence request.
type Options struct {
	// Presence is asked for a touch by makeCredential, getAssertion (unless
	// up=false) and reset. Nil means AlwaysPresent.
	Presence Presence
	// PresenceTimeout bounds each Presence call; after it the key answers
	// CTAP2_ERR_USER_ACTION_TIMEOUT. Zero means 30 seconds.
	PresenceTimeout time.Duration
	// Now is the clock for the reset window. Nil means time.Now.
	Now func() time.Time
	// Rand supplies credential IDs, IVs, nonces, channel IDs, PIN tokens and
	// the device secret. Nil means crypto/rand. Since Go 1.26 the standard
	// library ignores it for ECDSA and ECDH key generation.
	Rand io.Reader
	// StateFile, when set, persists PIN, counter, device secret and
	// discoverable credentials (private keys included) as JSON with mode
	// 0600, loaded by New if it exists.
	StateFile string
	// Attestation is "packed" (self attestation, the default) or "none".
	Attestation string
	// Logger receives transport diagnostics. Nil discards them.
	Logger *slog.Logger
	// Fingerprint, when set, gives the key a simulated fingerprint sensor
	// and authenticatorBioEnrollment. Nil is a key without a sensor.
	Fingerprint *FingerprintSensor
	// Link, when set, is a symbolic link to the pty that exists only while
	// the key is plugged in (Start, Plug) and goes with Close and Unplug,
	// as a udev rule's stable name does: a path to configure once for a key
	// that is unplugged and plugged in again.
	Link string
}

// Key is one software authenticator. Its methods are safe for concurrent use.
type Key struct {
	opts    Options
	now     func() time.Time
	rand    io.Reader
	present Presence
	log     *slog.Logger

	mu        sync.Mutex
	st        state
	pluggedAt time.Time
	// Per power cycle ("plug-in") clientPIN state.
	kaKey       *ecdh.PrivateKey
	pinToken    []byte
	tokenProto  uint64 // protocol the token was issued under
	tokenPerms  byte
	tokenRPID   string
	tokenInUse  bool
	pinFailures int // consecutive wrong PINs since plug-in
	// Continuation state for getNextAssertion and credential enumeration.
	next     *assertionState
	rpEnum   []string
	credEnum []*residentCred
	// enrolling is the fingerprint enrollment in progress, nil for none.
	enrolling *enrollment

	waitingUP atomic.Bool

	dev *ptyDevice // nil until Start
}

// state is what survives a replug and, with Options.StateFile, a restart.
type state struct {
	Secret     []byte          `json:"secret"`            // AES-256-GCM key wrapping non-discoverable credentials
	PINHash    []byte          `json:"pinHash,omitempty"` // LEFT(SHA-256(PIN), 16)
	PINRetries int             `json:"pinRetries"`
	Counter    uint32          `json:"counter"`
	Creds      []*residentCred `json:"credentials"` // oldest first
	// Fingerprints are the enrolled templates, oldest first.
	Fingerprints []*fingerprint `json:"fingerprints,omitempty"`
}

type residentCred struct {
	ID          []byte `json:"id"`
	RPID        string `json:"rpId"`
	RPName      string `json:"rpName,omitempty"`
	UserID      []byte `json:"userId"`
	UserName    string `json:"userName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	PrivateKey  []byte `json:"privateKey"` // raw P-256 scalar
	// HMACSecret is CredRandomWithUV || CredRandomWithoutUV of a credential
	// made with the hmac-secret extension.
	HMACSecret []byte `json:"hmacSecret,omitempty"`
}

// New builds a key, loading Options.StateFile when it exists. The key is
// "plugged in" now: reset is allowed for the next 10 seconds.
func New(opts Options) (*Key, error) {
	switch opts.Attestation {
	case "":
		opts.Attestation = "packed"
	case "packed", "none":
	default:
		return nil, fmt.Errorf("softkey: unknown attestation format %q", opts.Attestation)
	}
	if opts.PresenceTimeout < 0 {
		return nil, fmt.Errorf("softkey: negative presence timeout %v", opts.PresenceTimeout)
	}
	if opts.PresenceTimeout == 0 {
		opts.PresenceTimeout = 30 * time.Second
	}
	if f := opts.Fingerprint; f != nil {
		if f.Sample == nil || f.SamplesPerEnrollment < 0 || f.MaxTemplates < 0 {
			return nil, errors.New("softkey: a fingerprint sensor needs a Sample func and non-negative limits")
		}
		fc := *f
		if fc.SamplesPerEnrollment == 0 {
			fc.SamplesPerEnrollment = 4
		}
		if fc.MaxTemplates == 0 {
			fc.MaxTemplates = 5
		}
		opts.Fingerprint = &fc
	}
	k := &Key{opts: opts, now: opts.Now, rand: opts.Rand, present: opts.Presence, log: opts.Logger}
	if k.now == nil {
		k.now = time.Now
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if k.present == nil {
		k.present = AlwaysPresent
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	loaded, err := k.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		if err := k.factoryState(); err != nil {
			return nil, err
		}
		if err := k.save(); err != nil {
			return nil, err
		}
	}
	if err := k.powerCycle(); err != nil {
		return nil, err
	}
	return k, nil
}

// Replug simulates unplugging and plugging the key back in: PIN tokens and
// the key-agreement key are renewed, the three-wrong-PINs block is lifted
// and the 10-second reset window opens again.
func (k *Key) Replug() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.powerCycle()
}

func (k *Key) powerCycle() error {
	kaKey, err := ecdh.P256().GenerateKey(k.rand)
	if err != nil {
		return fmt.Errorf("softkey: key agreement key: %w", err)
	}
	token := make([]byte, 32)
	if _, err := io.ReadFull(k.rand, token); err != nil {
		return fmt.Errorf("softkey: pin token: %w", err)
	}
	k.kaKey, k.pinToken = kaKey, token
	k.tokenProto, k.tokenPerms, k.tokenRPID, k.tokenInUse = 0, 0, "", false
	k.pinFailures = 0
	k.next, k.rpEnum, k.credEnum = nil, nil, nil
	k.enrolling = nil
	k.pluggedAt = k.now()
	return nil
}

func (k *Key) factoryState() error {
	secret := make([]byte, 32)
	if _, err := io.ReadFull(k.rand, secret); err != nil {
		return fmt.Errorf("softkey: device secret: %w", err)
	}
	k.st = state{Secret: secret, PINRetries: maxPINRetries}
	return nil
}

func (k *Key) load() (bool, error) {
	if k.opts.StateFile == "" {
		return false, nil
	}
	b, err := os.ReadFile(k.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("softkey: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return false, fmt.Errorf("softkey: parse state %s: %w", k.opts.StateFile, err)
	}
	if len(st.Secret) != 32 || (st.PINHash != nil && len(st.PINHash) != 16) || st.PINRetries < 0 || st.PINRetries > maxPINRetries {
		return false, fmt.Errorf("softkey: state %s is invalid", k.opts.StateFile)
	}
	for _, c := range st.Creds {
		if c.HMACSecret != nil && len(c.HMACSecret) != credRandomSize {
			return false, fmt.Errorf("softkey: state %s is invalid: a credential's hmac-secret is %d bytes", k.opts.StateFile, len(c.HMACSecret))
		}
	}
	k.st = st
	return true, nil
}

func (k *Key) save() error {
	if k.opts.StateFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(k.st, "", "  ")
	if err != nil {
		return fmt.Errorf("softkey: encode state: %w", err)
	}
	if err := atomicfile.WriteFile(k.opts.StateFile, b, 0o600); err != nil {
		return fmt.Errorf("softkey: write state: %w", err)
	}
	return nil
}

// handle answers one CTAP2 CBOR request (command byte and parameters) with
// a status byte and, on success, the response map.
func (k *Key) handle(ctx context.Context, req []byte) []byte {
	if len(req) == 0 {
		return []byte{byte(errInvalidLength)}
	}
	if len(req) > maxMsgSize {
		return []byte{byte(errRequestTooLarge)}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	cmd := req[0]
	if cmd != cmdGetNextAssertion {
		k.next = nil
	}
	if cmd != cmdCredMgmt && cmd != cmdCredMgmtPreview {
		k.rpEnum, k.credEnum = nil, nil
	}
	resp, err := k.dispatch(ctx, cmd, req[1:])
	if cmd != cmdGetInfo {
		// Failures change state too (PIN retries), so save either way.
		if serr := k.save(); serr != nil {
			k.log.Error("softkey: save state", "err", serr)
			return []byte{byte(errOther)}
		}
	}
	if err != nil {
		return []byte{byte(statusOf(err))}
	}
	if resp == nil {
		return []byte{byte(statusOK)}
	}
	return append([]byte{byte(statusOK)}, mustMarshal(resp)...)
}

func (k *Key) dispatch(ctx context.Context, cmd byte, body []byte) (any, error) {
	p, err := parseParams(body)
	if err != nil {
		return nil, err
	}
	switch cmd {
	case cmdGetInfo:
		return k.getInfo(), nil
	case cmdMakeCredential:
		return k.makeCredential(ctx, p)
	case cmdGetAssertion:
		return k.getAssertion(ctx, p)
	case cmdGetNextAssertion:
		return k.getNextAssertion()
	case cmdClientPIN:
		return k.clientPIN(p)
	case cmdCredMgmt, cmdCredMgmtPreview:
		return k.credMgmt(p)
	case cmdReset:
		return nil, k.reset(ctx)
	case cmdBioEnroll, cmdBioEnrollPreview:
		if k.opts.Fingerprint == nil {
			return nil, errInvalidCommand
		}
		return k.bioEnroll(ctx, p)
	}
	return nil, errInvalidCommand
}

// userPresent asks Options.Presence with k.mu released, mapping its outcome
// to a CTAP2 status.
func (k *Key) userPresent(ctx context.Context, rpID string) error {
	tctx, cancel := context.WithTimeout(ctx, k.opts.PresenceTimeout)
	defer cancel()
	k.waitingUP.Store(true)
	k.mu.Unlock()
	err := k.present(tctx, rpID)
	k.mu.Lock()
	k.waitingUP.Store(false)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errKeepaliveCancel
	case errors.Is(err, context.DeadlineExceeded):
		return errUserActionTimeout
	}
	return errOperationDenied
}

func (k *Key) reset(ctx context.Context) error {
	if k.now().Sub(k.pluggedAt) > 10*time.Second {
		return errNotAllowed
	}
	if err := k.userPresent(ctx, ""); err != nil {
		return err
	}
	if err := k.factoryState(); err != nil {
		return err
	}
	return k.powerCycle()
}

// PINSet reports whether a PIN has been set.
func (k *Key) PINSet() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.st.PINHash != nil
}

// ResidentCredentials is the number of discoverable credentials stored.
func (k *Key) ResidentCredentials() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.st.Creds)
}
