package softkey

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"slices"
	"time"
)

// authenticator data flags
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

const (
	wrapVersion  = 0x01 // first byte of a non-discoverable credential ID
	coseES256    = -7
	residentIDSz = 32
	privSize     = 32 // a raw P-256 scalar
)

func (k *Key) getInfo() map[int]any {
	info := map[int]any{
		0x01: []string{"FIDO_2_0", "FIDO_2_1"},
		0x02: []string{extHMACSecret},
		0x03: AAGUID[:],
		0x04: map[string]bool{
			"rk":             true,
			"up":             true,
			"plat":           false,
			"clientPin":      k.st.PINHash != nil,
			"credMgmt":       true,
			"pinUvAuthToken": true,
		},
		0x05: maxMsgSize,
		0x06: []int{2, 1},
		0x07: maxCredsInList,
		0x08: maxCredIDLength,
		0x09: []string{"usb"},
		0x0a: []map[string]any{{"alg": coseES256, "type": "public-key"}},
		0x0c: false,
		0x0d: minPINLength,
		0x0e: firmwareVersion,
		0x14: maxResidentCreds - len(k.st.Creds),
	}
	if k.opts.Fingerprint != nil {
		// bioEnroll: present with a sensor, true once a finger is enrolled;
		// the preview name is what libfido2 1.12 and older platforms read.
		enrolled := len(k.st.Fingerprints) > 0
		opts := info[0x04].(map[string]bool)
		opts["bioEnroll"] = enrolled
		opts["userVerificationMgmtPreview"] = enrolled
	}
	return info
}

// credential is a key pair found for a request, discoverable or wrapped.
type credential struct {
	id       []byte
	priv     *ecdsa.PrivateKey
	resident *residentCred // nil for a non-discoverable credential
	// credRandom is CredRandomWithUV || CredRandomWithoutUV of a credential
	// made with hmac-secret, nil for the others.
	credRandom []byte
}

type assertionState struct {
	rpID     string
	cdh      []byte
	flags    byte
	rest     []*credential
	hmac     *hmacSecretRequest
	deadline time.Time
}

// touchProbe answers a zero-length pinUvAuthParam: the platform only wants
// to know which key the user touches (CTAP 2.1 6.1.2 step 1).
func (k *Key) touchProbe(ctx context.Context, rpID string) error {
	if err := k.userPresent(ctx, rpID); err != nil {
		return err
	}
	if k.st.PINHash == nil {
		return errPINNotSet
	}
	return errPINInvalid
}

func (k *Key) makeCredential(ctx context.Context, p params) (any, error) {
	var (
		cdh      []byte
		rp       rpEntity
		user     userEntity
		algs     []credParam
		exclude  []credDescriptor
		exts     extensions
		opts     map[string]bool
		pinParam []byte
		protoVer uint64
	)
	for _, f := range []struct {
		key uint64
		v   any
	}{{1, &cdh}, {2, &rp}, {3, &user}, {4, &algs}} {
		if err := p.need(f.key, f.v); err != nil {
			return nil, err
		}
	}
	if _, err := p.get(5, &exclude); err != nil {
		return nil, err
	}
	if _, err := p.get(6, &exts); err != nil {
		return nil, err
	}
	hmacSecret, err := exts.wantsHMACSecret()
	if err != nil {
		return nil, err
	}
	if _, err := p.get(7, &opts); err != nil {
		return nil, err
	}
	hasParam, err := p.get(8, &pinParam)
	if err != nil {
		return nil, err
	}
	hasProto, err := p.get(9, &protoVer)
	if err != nil {
		return nil, err
	}
	if rp.ID == "" || len(user.ID) == 0 {
		return nil, errMissingParameter
	}
	if len(user.ID) > 64 || len(cdh) != 32 {
		return nil, errInvalidParameter
	}
	if hasParam && len(pinParam) == 0 {
		return nil, k.touchProbe(ctx, rp.ID)
	}
	if hasParam && !hasProto {
		return nil, errMissingParameter
	}
	if !slices.ContainsFunc(algs, func(c credParam) bool { return c.Alg == coseES256 && c.Type == "public-key" }) {
		return nil, errUnsupportedAlgorithm
	}
	if up, ok := opts["up"]; ok && !up {
		return nil, errInvalidOption
	}
	if opts["uv"] && !hasParam {
		return nil, errInvalidOption // no built-in user verification
	}
	var flags byte = flagUP | flagAT
	if hasParam {
		if err := k.checkPinUvAuth(protoVer, pinParam, cdh, permMakeCredential, rp.ID); err != nil {
			return nil, err
		}
		flags |= flagUV
	} else if k.st.PINHash != nil {
		return nil, errPUATRequired
	}
	for _, d := range exclude {
		if k.findCred(rp.ID, d.ID) != nil {
			if err := k.userPresent(ctx, rp.ID); err != nil {
				return nil, err
			}
			return nil, errCredentialExcluded
		}
	}
	rk := opts["rk"]
	if rk && !slices.ContainsFunc(k.st.Creds, func(c *residentCred) bool { return c.RPID == rp.ID && bytes.Equal(c.UserID, user.ID) }) && len(k.st.Creds) >= maxResidentCreds {
		return nil, errKeyStoreFull
	}
	if err := k.userPresent(ctx, rp.ID); err != nil {
		return nil, err
	}

	priv, err := ecdsa.GenerateKey(elliptic.P256(), k.rand)
	if err != nil {
		return nil, errOther
	}
	raw, err := priv.Bytes()
	if err != nil {
		return nil, errOther
	}
	var credRandom []byte
	if hmacSecret {
		if credRandom, err = k.newCredRandom(); err != nil {
			return nil, err
		}
	}
	var id []byte
	if rk {
		id = make([]byte, residentIDSz)
		if _, err := io.ReadFull(k.rand, id); err != nil {
			return nil, errOther
		}
		k.st.Creds = slices.DeleteFunc(k.st.Creds, func(c *residentCred) bool { return c.RPID == rp.ID && bytes.Equal(c.UserID, user.ID) })
		k.st.Creds = append(k.st.Creds, &residentCred{
			ID: id, RPID: rp.ID, RPName: rp.Name,
			UserID: user.ID, UserName: user.Name, DisplayName: user.DisplayName,
			PrivateKey: raw, HMACSecret: credRandom,
		})
	} else if id, err = k.wrap(append(raw, credRandom...), rp.ID); err != nil {
		return nil, errOther
	}
	pub, err := cosePublicKey(&priv.PublicKey)
	if err != nil {
		return nil, errOther
	}
	attested := append(AAGUID[:], byte(len(id)>>8), byte(len(id)))
	attested = append(attested, id...)
	attested = append(attested, pub...)
	var ext map[string]any
	if hmacSecret {
		ext = map[string]any{extHMACSecret: true}
		flags |= flagED
	}
	k.st.Counter++
	authData := k.authData(rp.ID, flags, attested, ext)

	resp := map[int]any{1: k.opts.Attestation, 2: authData, 3: map[string]any{}}
	if k.opts.Attestation == "packed" {
		sig, err := k.sign(priv, authData, cdh)
		if err != nil {
			return nil, errOther
		}
		resp[3] = map[string]any{"alg": coseES256, "sig": sig}
	}
	return resp, nil
}

func (k *Key) getAssertion(ctx context.Context, p params) (any, error) {
	var (
		rpID     string
		cdh      []byte
		allow    []credDescriptor
		exts     extensions
		opts     map[string]bool
		pinParam []byte
		protoVer uint64
	)
	if err := p.need(1, &rpID); err != nil {
		return nil, err
	}
	if err := p.need(2, &cdh); err != nil {
		return nil, err
	}
	if _, err := p.get(3, &allow); err != nil {
		return nil, err
	}
	if _, err := p.get(4, &exts); err != nil {
		return nil, err
	}
	if _, err := p.get(5, &opts); err != nil {
		return nil, err
	}
	hasParam, err := p.get(6, &pinParam)
	if err != nil {
		return nil, err
	}
	hasProto, err := p.get(7, &protoVer)
	if err != nil {
		return nil, err
	}
	if rpID == "" {
		return nil, errMissingParameter
	}
	if len(cdh) != 32 {
		return nil, errInvalidParameter
	}
	if len(allow) > maxCredsInList {
		return nil, errLimitExceeded
	}
	if hasParam && len(pinParam) == 0 {
		return nil, k.touchProbe(ctx, rpID)
	}
	if hasParam && !hasProto {
		return nil, errMissingParameter
	}
	if _, ok := opts["rk"]; ok {
		return nil, errUnsupportedOption
	}
	up := true
	if v, ok := opts["up"]; ok {
		up = v
	}
	if opts["uv"] && !hasParam {
		return nil, errInvalidOption
	}
	var flags byte
	if hasParam {
		if err := k.checkPinUvAuth(protoVer, pinParam, cdh, permGetAssertion, rpID); err != nil {
			return nil, err
		}
		flags |= flagUV
	}
	hmacReq, err := k.hmacSecretRequest(exts)
	if err != nil {
		return nil, err
	}
	var creds []*credential
	if len(allow) > 0 {
		for _, d := range allow {
			if c := k.findCred(rpID, d.ID); c != nil {
				creds = []*credential{c}
				break
			}
		}
	} else {
		for i := len(k.st.Creds) - 1; i >= 0; i-- { // newest first
			if rc := k.st.Creds[i]; rc.RPID == rpID {
				if c := credentialFromResident(rc); c != nil {
					creds = append(creds, c)
				}
			}
		}
	}
	if len(creds) == 0 {
		return nil, errNoCredentials
	}
	if up {
		if err := k.userPresent(ctx, rpID); err != nil {
			return nil, err
		}
		flags |= flagUP
	}
	resp, err := k.assertion(rpID, cdh, flags, creds[0], hmacReq)
	if err != nil {
		return nil, err
	}
	if len(creds) > 1 {
		resp[5] = len(creds)
		k.next = &assertionState{rpID: rpID, cdh: cdh, flags: flags, rest: creds[1:], hmac: hmacReq, deadline: k.now().Add(30 * time.Second)}
	}
	return resp, nil
}

func (k *Key) getNextAssertion() (any, error) {
	n := k.next
	if n == nil || len(n.rest) == 0 || k.now().After(n.deadline) {
		k.next = nil
		return nil, errNotAllowed
	}
	c := n.rest[0]
	n.rest = n.rest[1:]
	n.deadline = k.now().Add(30 * time.Second)
	return k.assertion(n.rpID, n.cdh, n.flags, c, n.hmac)
}

// assertion signs for credential c; with an hmac-secret request and a
// credential made with hmac-secret, its output goes in the extensions.
func (k *Key) assertion(rpID string, cdh []byte, flags byte, c *credential, hmacReq *hmacSecretRequest) (map[int]any, error) {
	var ext map[string]any
	if hmacReq != nil && c.credRandom != nil {
		out, err := hmacReq.output(k.rand, c.credRandom, flags&flagUV != 0)
		if err != nil {
			return nil, errOther
		}
		ext = map[string]any{extHMACSecret: out}
		flags |= flagED
	}
	k.st.Counter++
	authData := k.authData(rpID, flags, nil, ext)
	sig, err := k.sign(c.priv, authData, cdh)
	if err != nil {
		return nil, errOther
	}
	resp := map[int]any{
		1: credDescriptor{Type: "public-key", ID: c.id},
		2: authData,
		3: sig,
	}
	if rc := c.resident; rc != nil {
		u := userEntity{ID: rc.UserID}
		if flags&flagUV != 0 {
			u.Name, u.DisplayName = rc.UserName, rc.DisplayName
		}
		resp[4] = u
	}
	return resp, nil
}

// authData is the authenticator data: with attested credential data for
// makeCredential, with the extensions map when ext is not nil (flags then
// carry ED).
func (k *Key) authData(rpID string, flags byte, attested []byte, ext map[string]any) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.st.Counter)
	out = append(out, attested...)
	if ext != nil {
		out = append(out, mustMarshal(ext)...)
	}
	return out
}

func (k *Key) sign(priv *ecdsa.PrivateKey, authData, cdh []byte) ([]byte, error) {
	h := sha256.New()
	h.Write(authData)
	h.Write(cdh)
	return ecdsa.SignASN1(k.rand, priv, h.Sum(nil))
}

func cosePublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	b, err := pub.Bytes()
	if err != nil {
		return nil, err
	}
	return mustMarshal(map[int]any{1: 2, 3: coseES256, -1: 1, -2: b[1:33], -3: b[33:65]}), nil
}

// findCred looks id up among the discoverable credentials of rpID, then
// tries to unwrap it as a non-discoverable one bound to rpID.
func (k *Key) findCred(rpID string, id []byte) *credential {
	for _, rc := range k.st.Creds {
		if rc.RPID == rpID && bytes.Equal(rc.ID, id) {
			return credentialFromResident(rc)
		}
	}
	raw, ok := k.unwrap(id, rpID)
	if !ok {
		return nil
	}
	var credRandom []byte
	switch len(raw) {
	case privSize:
	case privSize + credRandomSize:
		raw, credRandom = raw[:privSize], raw[privSize:]
	default:
		return nil
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil
	}
	return &credential{id: id, priv: priv, credRandom: credRandom}
}

func credentialFromResident(rc *residentCred) *credential {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), rc.PrivateKey)
	if err != nil {
		return nil
	}
	return &credential{id: rc.ID, priv: priv, resident: rc, credRandom: rc.HMACSecret}
}

// wrap seals a private key, followed by its CredRandom values when it was
// made with hmac-secret, into a credential ID: version || nonce ||
// AES-256-GCM(secret, key [|| CredRandom]), with the version and
// SHA-256(rpID) as additional data so that the ID only opens for its
// relying party.
func (k *Key) wrap(priv []byte, rpID string) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	id := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(priv)+aead.Overhead())
	id[0] = wrapVersion
	if _, err := io.ReadFull(k.rand, id[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(id, id[1:], priv, wrapAD(rpID)), nil
}

func (k *Key) unwrap(id []byte, rpID string) ([]byte, bool) {
	aead, err := k.aead()
	if err != nil || len(id) < 1+aead.NonceSize()+aead.Overhead() || id[0] != wrapVersion {
		return nil, false
	}
	n := 1 + aead.NonceSize()
	raw, err := aead.Open(nil, id[1:n], id[n:], wrapAD(rpID))
	return raw, err == nil
}

func (k *Key) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.st.Secret)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func wrapAD(rpID string) []byte {
	h := sha256.Sum256([]byte(rpID))
	return append([]byte{wrapVersion}, h[:]...)
}
