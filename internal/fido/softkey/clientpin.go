package softkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"unicode/utf8"
)

// clientPIN subcommands.
const (
	pinGetRetries        = 0x01
	pinGetKeyAgreement   = 0x02
	pinSetPIN            = 0x03
	pinChangePIN         = 0x04
	pinGetPinToken       = 0x05
	pinGetTokenWithPerms = 0x09
	basePermissions      = permMakeCredential | permGetAssertion | permCredMgmt
)

// permissions are those a PIN token may carry on this key, and those a
// legacy getPinToken token carries: bio enrollment only with a sensor.
func (k *Key) permissions() uint64 {
	if k.opts.Fingerprint != nil {
		return basePermissions | permBioEnroll
	}
	return basePermissions
}

func (k *Key) clientPIN(p params) (any, error) {
	var sub, protoVer uint64
	if err := p.need(2, &sub); err != nil {
		return nil, err
	}
	if sub == pinGetRetries {
		return map[int]any{3: k.st.PINRetries, 4: false}, nil
	}
	if err := p.need(1, &protoVer); err != nil {
		return nil, err
	}
	proto, err := protocolFor(protoVer)
	if err != nil {
		return nil, err
	}
	switch sub {
	case pinGetKeyAgreement:
		return map[int]any{1: coseKeyAgreement(k.kaKey.PublicKey())}, nil
	case pinSetPIN:
		return nil, k.setPIN(proto, p)
	case pinChangePIN:
		return nil, k.changePIN(proto, p)
	case pinGetPinToken, pinGetTokenWithPerms:
		return k.getPinToken(proto, protoVer, sub, p)
	}
	return nil, errInvalidSubcommand
}

// sharedSecret runs ECDH with the platform key in parameter 3.
func (k *Key) sharedSecret(proto pinProtocol, p params) ([]byte, error) {
	var cose map[int]any
	if err := p.need(3, &cose); err != nil {
		return nil, err
	}
	return k.ecdhShared(proto, cose)
}

// ecdhShared runs ECDH with a platform key given as a COSE_Key (clientPIN
// and hmac-secret alike).
func (k *Key) ecdhShared(proto pinProtocol, cose map[int]any) ([]byte, error) {
	pub, err := parseCOSEP256(cose)
	if err != nil {
		return nil, err
	}
	z, err := k.kaKey.ECDH(pub)
	if err != nil {
		return nil, errInvalidParameter
	}
	return proto.kdf(z)
}

func (k *Key) setPIN(proto pinProtocol, p params) error {
	var param, newPinEnc []byte
	if err := p.need(4, &param); err != nil {
		return err
	}
	if err := p.need(5, &newPinEnc); err != nil {
		return err
	}
	if k.st.PINHash != nil {
		return errNotAllowed
	}
	shared, err := k.sharedSecret(proto, p)
	if err != nil {
		return err
	}
	if !verify(proto, shared, newPinEnc, param) {
		return errPINAuthInvalid
	}
	return k.storeNewPIN(proto, shared, newPinEnc)
}

func (k *Key) changePIN(proto pinProtocol, p params) error {
	var param, newPinEnc, pinHashEnc []byte
	for _, f := range []struct {
		key uint64
		v   *[]byte
	}{{4, &param}, {5, &newPinEnc}, {6, &pinHashEnc}} {
		if err := p.need(f.key, f.v); err != nil {
			return err
		}
	}
	if err := k.pinUsable(); err != nil {
		return err
	}
	shared, err := k.sharedSecret(proto, p)
	if err != nil {
		return err
	}
	if !verify(proto, shared, append(bytes.Clone(newPinEnc), pinHashEnc...), param) {
		return errPINAuthInvalid
	}
	if err := k.checkPINHash(proto, shared, pinHashEnc); err != nil {
		return err
	}
	if err := k.storeNewPIN(proto, shared, newPinEnc); err != nil {
		return err
	}
	return k.newToken(0, 0, "")
}

func (k *Key) getPinToken(proto pinProtocol, protoVer, sub uint64, p params) (any, error) {
	var pinHashEnc []byte
	if err := p.need(6, &pinHashEnc); err != nil {
		return nil, err
	}
	perms := k.permissions()
	var rpID string
	if sub == pinGetTokenWithPerms {
		if err := p.need(9, &perms); err != nil {
			return nil, err
		}
		if _, err := p.get(10, &rpID); err != nil {
			return nil, err
		}
		if perms == 0 {
			return nil, errInvalidParameter
		}
		if perms&^k.permissions() != 0 {
			return nil, errUnauthorizedPermission
		}
		if perms&(permMakeCredential|permGetAssertion) != 0 && rpID == "" {
			return nil, errMissingParameter
		}
	} else if _, ok := p[9]; ok {
		return nil, errInvalidParameter
	}
	if err := k.pinUsable(); err != nil {
		return nil, err
	}
	shared, err := k.sharedSecret(proto, p)
	if err != nil {
		return nil, err
	}
	if err := k.checkPINHash(proto, shared, pinHashEnc); err != nil {
		return nil, err
	}
	if err := k.newToken(protoVer, byte(perms), rpID); err != nil {
		return nil, err
	}
	enc, err := proto.encrypt(k.rand, shared, k.pinToken)
	if err != nil {
		return nil, errOther
	}
	return map[int]any{2: enc}, nil
}

// pinUsable refuses PIN attempts once the PIN is blocked or three wrong
// PINs came in a row since plug-in.
func (k *Key) pinUsable() error {
	switch {
	case k.st.PINHash == nil:
		return errPINNotSet
	case k.st.PINRetries == 0:
		return errPINBlocked
	case k.pinFailures >= 3:
		return errPINAuthBlocked
	}
	return nil
}

// checkPINHash spends a retry, compares the decrypted LEFT(SHA-256(PIN),16)
// and, on a mismatch, renews the key-agreement key (CTAP 2.1 6.5.5.5).
func (k *Key) checkPINHash(proto pinProtocol, shared, pinHashEnc []byte) error {
	k.st.PINRetries--
	ph, err := proto.decrypt(shared, pinHashEnc)
	if err == nil && len(ph) == 16 && subtle.ConstantTimeCompare(ph, k.st.PINHash) == 1 {
		k.st.PINRetries = maxPINRetries
		k.pinFailures = 0
		return nil
	}
	kaKey, kerr := ecdh.P256().GenerateKey(k.rand)
	if kerr != nil {
		return errOther
	}
	k.kaKey = kaKey
	k.pinFailures++
	switch {
	case k.st.PINRetries == 0:
		return errPINBlocked
	case k.pinFailures >= 3:
		return errPINAuthBlocked
	}
	return errPINInvalid
}

func (k *Key) storeNewPIN(proto pinProtocol, shared, newPinEnc []byte) error {
	padded, err := proto.decrypt(shared, newPinEnc)
	if err != nil || len(padded) != 64 {
		return errInvalidParameter
	}
	pin, _, _ := bytes.Cut(padded, []byte{0})
	if len(pin) > 63 || !utf8.Valid(pin) || utf8.RuneCount(pin) < minPINLength {
		return errPINPolicyViolation
	}
	h := sha256.Sum256(pin)
	k.st.PINHash = h[:16]
	k.st.PINRetries = maxPINRetries
	k.pinFailures = 0
	return nil
}

// newToken replaces the pinUvAuthToken, invalidating the old one.
func (k *Key) newToken(protoVer uint64, perms byte, rpID string) error {
	if _, err := io.ReadFull(k.rand, k.pinToken); err != nil {
		return errOther
	}
	k.tokenInUse = protoVer != 0
	k.tokenProto, k.tokenPerms, k.tokenRPID = protoVer, perms, rpID
	return nil
}

// checkPinUvAuth verifies a pinUvAuthParam over msg made with the current
// pinUvAuthToken, and that the token carries perm for rpID ("" for
// requests not tied to one relying party).
func (k *Key) checkPinUvAuth(protoVer uint64, param, msg []byte, perm byte, rpID string) error {
	proto, err := protocolFor(protoVer)
	if err != nil {
		return err
	}
	if k.st.PINHash == nil {
		return errPINNotSet
	}
	if !k.tokenInUse || protoVer != k.tokenProto || !verify(proto, k.pinToken, msg, param) {
		return errPINAuthInvalid
	}
	if k.tokenPerms&perm == 0 || (k.tokenRPID != "" && k.tokenRPID != rpID) {
		return errPINAuthInvalid
	}
	return nil
}
