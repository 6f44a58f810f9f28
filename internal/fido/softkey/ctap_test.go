package softkey

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// call sends one CTAP2 command to k in-process and splits the answer.
func call(t *testing.T, k *Key, cmd byte, req map[int]any) (Status, map[int]cbor.RawMessage) {
	t.Helper()
	return callCtx(context.Background(), t, k, cmd, req)
}

func callCtx(ctx context.Context, t *testing.T, k *Key, cmd byte, req map[int]any) (Status, map[int]cbor.RawMessage) {
	t.Helper()
	msg := []byte{cmd}
	if req != nil {
		b, err := cbor.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		msg = append(msg, b...)
	}
	resp := k.handle(ctx, msg)
	if len(resp) == 0 {
		t.Fatalf("command 0x%02x: empty response", cmd)
	}
	var m map[int]cbor.RawMessage
	if len(resp) > 1 {
		if err := cbor.Unmarshal(resp[1:], &m); err != nil {
			t.Fatalf("command 0x%02x: response is not a CBOR map: %v", cmd, err)
		}
	}
	return Status(resp[0]), m
}

func field[T any](t *testing.T, m map[int]cbor.RawMessage, key int) T {
	t.Helper()
	var v T
	raw, ok := m[key]
	if !ok {
		t.Fatalf("response lacks key %d", key)
	}
	if err := cbor.Unmarshal(raw, &v); err != nil {
		t.Fatalf("response key %d: %v", key, err)
	}
	return v
}

func wantStatus(t *testing.T, what string, got, want Status) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got status 0x%02x, want 0x%02x", what, byte(got), byte(want))
	}
}

func newKey(t *testing.T, opts Options) *Key {
	t.Helper()
	k, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// platform is a test-side clientPIN client written from CTAP 2.1 section
// 6.5 independently of pinproto.go.
type platform struct {
	t      *testing.T
	k      *Key
	proto  int
	pub    map[int]any
	shared []byte
}

func newPlatform(t *testing.T, k *Key, proto int) *platform {
	t.Helper()
	st, resp := call(t, k, cmdClientPIN, map[int]any{1: proto, 2: 2})
	wantStatus(t, "getKeyAgreement", st, statusOK)
	cose := field[map[int]any](t, resp, 1)
	x, y := cose[-2].([]byte), cose[-3].([]byte)
	devPub, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("authenticator key agreement key: %v", err)
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	z, err := priv.ECDH(devPub)
	if err != nil {
		t.Fatal(err)
	}
	p := &platform{t: t, k: k, proto: proto}
	if proto == 1 {
		s := sha256.Sum256(z)
		p.shared = s[:]
	} else {
		salt := make([]byte, 32)
		hk, _ := hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
		ak, _ := hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
		p.shared = append(hk, ak...)
	}
	b := priv.PublicKey().Bytes()
	p.pub = map[int]any{1: 2, 3: -25, -1: 1, -2: b[1:33], -3: b[33:]}
	return p
}

func (p *platform) encrypt(plain []byte) []byte {
	key, iv := p.shared, make([]byte, 16)
	if p.proto == 2 {
		key = p.shared[32:]
		rand.Read(iv)
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
	if p.proto == 2 {
		return append(iv, out...)
	}
	return out
}

func (p *platform) decrypt(ct []byte) []byte {
	key, iv := p.shared, make([]byte, 16)
	if p.proto == 2 {
		key, iv, ct = p.shared[32:], ct[:16], ct[16:]
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	return out
}

// mac authenticates with the shared secret (key == nil) or a token.
func (p *platform) mac(key, msg []byte) []byte {
	if key == nil {
		key = p.shared
		if p.proto == 2 {
			key = p.shared[:32]
		}
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	if p.proto == 1 {
		return m.Sum(nil)[:16]
	}
	return m.Sum(nil)
}

func padPIN(pin string) []byte {
	b := make([]byte, 64)
	copy(b, pin)
	return b
}

func pinHash(pin string) []byte {
	h := sha256.Sum256([]byte(pin))
	return h[:16]
}

func (p *platform) setPIN(pin string) Status {
	enc := p.encrypt(padPIN(pin))
	st, _ := call(p.t, p.k, cmdClientPIN, map[int]any{1: p.proto, 2: 3, 3: p.pub, 4: p.mac(nil, enc), 5: enc})
	return st
}

func (p *platform) changePIN(old, pin string) Status {
	newEnc, hashEnc := p.encrypt(padPIN(pin)), p.encrypt(pinHash(old))
	st, _ := call(p.t, p.k, cmdClientPIN, map[int]any{1: p.proto, 2: 4, 3: p.pub, 4: p.mac(nil, append(append([]byte(nil), newEnc...), hashEnc...)), 5: newEnc, 6: hashEnc})
	return st
}

// token gets a pinUvAuthToken with permissions (0: legacy getPinToken).
func (p *platform) token(pin string, perms int, rpID string) ([]byte, Status) {
	req := map[int]any{1: p.proto, 2: 5, 3: p.pub, 6: p.encrypt(pinHash(pin))}
	if perms != 0 {
		req[2], req[9] = 9, perms
		if rpID != "" {
			req[10] = rpID
		}
	}
	st, resp := call(p.t, p.k, cmdClientPIN, req)
	if st != statusOK {
		return nil, st
	}
	tok := p.decrypt(field[[]byte](p.t, resp, 2))
	if len(tok) != 32 {
		p.t.Fatalf("token is %d bytes, want 32", len(tok))
	}
	return tok, st
}

func retries(t *testing.T, k *Key) int {
	t.Helper()
	st, resp := call(t, k, cmdClientPIN, map[int]any{1: 2, 2: 1})
	wantStatus(t, "getRetries", st, statusOK)
	return field[int](t, resp, 3)
}

var testCDH = bytes.Repeat([]byte{0xcd}, 32)

func makeCredReq(rpID string, userID byte, rk bool) map[int]any {
	return map[int]any{
		1: testCDH,
		2: map[string]any{"id": rpID, "name": "Example"},
		3: map[string]any{"id": []byte{userID}, "name": "alice", "displayName": "Alice"},
		4: []map[string]any{{"alg": -7, "type": "public-key"}},
		7: map[string]bool{"rk": rk},
	}
}

func TestGetInfo(t *testing.T) {
	k := newKey(t, Options{})
	st, resp := call(t, k, cmdGetInfo, nil)
	wantStatus(t, "getInfo", st, statusOK)
	if got := field[[]byte](t, resp, 3); !bytes.Equal(got, AAGUID[:]) {
		t.Errorf("aaguid: got %x, want %x", got, AAGUID)
	}
	if got := field[[]string](t, resp, 1); len(got) != 2 || got[0] != "FIDO_2_0" || got[1] != "FIDO_2_1" {
		t.Errorf("versions: got %v, want [FIDO_2_0 FIDO_2_1]", got)
	}
	opts := field[map[string]bool](t, resp, 4)
	for name, want := range map[string]bool{"rk": true, "up": true, "clientPin": false, "credMgmt": true, "pinUvAuthToken": true} {
		if got, ok := opts[name]; !ok || got != want {
			t.Errorf("option %s: got %v (present %v), want %v", name, got, ok, want)
		}
	}
	if got := field[[]int](t, resp, 6); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Errorf("pinUvAuthProtocols: got %v, want [2 1]", got)
	}
	if got := field[int](t, resp, 0x0d); got != 4 {
		t.Errorf("minPINLength: got %d, want 4", got)
	}
}

func TestPINProtocols(t *testing.T) {
	for _, proto := range []int{1, 2} {
		t.Run(map[int]string{1: "protocol 1", 2: "protocol 2"}[proto], func(t *testing.T) {
			k := newKey(t, Options{})
			p := newPlatform(t, k, proto)
			wantStatus(t, "getPinToken before setPIN", func() Status { _, st := p.token("1234", 0, ""); return st }(), errPINNotSet)
			wantStatus(t, "setPIN too short", p.setPIN("123"), errPINPolicyViolation)
			wantStatus(t, "setPIN", p.setPIN("1234"), statusOK)
			wantStatus(t, "setPIN again", p.setPIN("5678"), errNotAllowed)
			if !k.PINSet() {
				t.Fatal("PINSet: got false after setPIN, want true")
			}

			st, _ := call(t, k, cmdMakeCredential, makeCredReq("example.org", 1, false))
			wantStatus(t, "makeCredential without pinUvAuthParam", st, errPUATRequired)

			_, st = p.token("0000", 0, "")
			wantStatus(t, "getPinToken with a wrong PIN", st, errPINInvalid)
			if got := retries(t, k); got != 7 {
				t.Errorf("retries after one wrong PIN: got %d, want 7", got)
			}
			p = newPlatform(t, k, proto) // a mismatch renews the key agreement key
			tok, st := p.token("1234", permMakeCredential|permGetAssertion, "example.org")
			wantStatus(t, "getPinUvAuthTokenUsingPinWithPermissions", st, statusOK)
			if got := retries(t, k); got != 8 {
				t.Errorf("retries after the right PIN: got %d, want 8", got)
			}

			cases := []struct {
				name  string
				rpID  string
				param []byte
				want  Status
			}{
				{"right token", "example.org", p.mac(tok, testCDH), statusOK},
				{"wrong MAC", "example.org", p.mac(tok, []byte("other")), errPINAuthInvalid},
				{"other rp", "example.com", p.mac(tok, testCDH), errPINAuthInvalid},
			}
			for _, tc := range cases {
				req := makeCredReq(tc.rpID, 1, true)
				req[8], req[9] = tc.param, proto
				st, resp := call(t, k, cmdMakeCredential, req)
				wantStatus(t, "makeCredential with "+tc.name, st, tc.want)
				if st == statusOK {
					ad := field[[]byte](t, resp, 2)
					if ad[32]&flagUV == 0 {
						t.Errorf("makeCredential with %s: flags %#x lack UV", tc.name, ad[32])
					}
				}
			}

			wantStatus(t, "changePIN with the wrong PIN", p.changePIN("9999", "5678"), errPINInvalid)
			p = newPlatform(t, k, proto)
			wantStatus(t, "changePIN", p.changePIN("1234", "5678"), statusOK)
			_, st = p.token("5678", 0, "")
			wantStatus(t, "getPinToken with the new PIN", st, statusOK)

			// Three wrong PINs in a row block until replug.
			for i, want := range []Status{errPINInvalid, errPINInvalid, errPINAuthBlocked, errPINAuthBlocked} {
				p = newPlatform(t, k, proto)
				if _, st := p.token("0000", 0, ""); st != want {
					t.Fatalf("wrong PIN #%d: got 0x%02x, want 0x%02x", i+1, byte(st), byte(want))
				}
			}
			p = newPlatform(t, k, proto)
			_, st = p.token("5678", 0, "")
			wantStatus(t, "right PIN while blocked", st, errPINAuthBlocked)
			if err := k.Replug(); err != nil {
				t.Fatal(err)
			}
			p = newPlatform(t, k, proto)
			_, st = p.token("5678", 0, "")
			wantStatus(t, "right PIN after replug", st, statusOK)
		})
	}
}

func TestPINBlockedAfterEightWrong(t *testing.T) {
	k := newKey(t, Options{})
	wantStatus(t, "setPIN", newPlatform(t, k, 2).setPIN("1234"), statusOK)
	for i := 1; i <= 8; i++ {
		if i%3 == 1 && i > 1 {
			if err := k.Replug(); err != nil {
				t.Fatal(err)
			}
		}
		_, st := newPlatform(t, k, 2).token("0000", 0, "")
		want := errPINInvalid
		switch {
		case i == 8:
			want = errPINBlocked
		case i%3 == 0:
			want = errPINAuthBlocked
		}
		if st != want {
			t.Fatalf("wrong PIN #%d: got 0x%02x, want 0x%02x", i, byte(st), byte(want))
		}
	}
	if err := k.Replug(); err != nil {
		t.Fatal(err)
	}
	_, st := newPlatform(t, k, 2).token("1234", 0, "")
	wantStatus(t, "right PIN once blocked", st, errPINBlocked)
}

// verifySig checks an ES256 signature over authData || clientDataHash.
func verifySig(t *testing.T, pub *ecdsa.PublicKey, authData, sig []byte) {
	t.Helper()
	h := sha256.Sum256(append(append([]byte(nil), authData...), testCDH...))
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		t.Fatal("signature does not verify")
	}
}

// attested parses authenticator data with attested credential data.
func attested(t *testing.T, ad []byte) (id []byte, pub *ecdsa.PublicKey) {
	t.Helper()
	if len(ad) < 55 || ad[32]&flagAT == 0 {
		t.Fatalf("authenticator data %x has no attested credential", ad)
	}
	if got := ad[37:53]; !bytes.Equal(got, AAGUID[:]) {
		t.Errorf("aaguid in authData: got %x, want %x", got, AAGUID)
	}
	n := int(binary.BigEndian.Uint16(ad[53:]))
	id = ad[55 : 55+n]
	var cose map[int]any // extensions may follow
	if err := cbor.NewDecoder(bytes.NewReader(ad[55+n:])).Decode(&cose); err != nil {
		t.Fatal(err)
	}
	x, y := cose[-2].([]byte), cose[-3].([]byte)
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	return id, pk
}

func counter(ad []byte) uint32 { return binary.BigEndian.Uint32(ad[33:37]) }

func TestMakeCredentialAndGetAssertion(t *testing.T) {
	for _, tc := range []struct {
		name string
		rk   bool
		fmt  string
	}{
		{"wrapped, packed", false, "packed"},
		{"discoverable, packed", true, "packed"},
		{"discoverable, none", true, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, Options{Attestation: tc.fmt})
			st, resp := call(t, k, cmdMakeCredential, makeCredReq("example.org", 1, tc.rk))
			wantStatus(t, "makeCredential", st, statusOK)
			if got := field[string](t, resp, 1); got != tc.fmt {
				t.Errorf("fmt: got %q, want %q", got, tc.fmt)
			}
			ad := field[[]byte](t, resp, 2)
			rpHash := sha256.Sum256([]byte("example.org"))
			if !bytes.Equal(ad[:32], rpHash[:]) {
				t.Errorf("rpIdHash: got %x, want %x", ad[:32], rpHash)
			}
			id, pub := attested(t, ad)
			attStmt := field[map[string]any](t, resp, 3)
			if tc.fmt == "packed" {
				if alg, _ := attStmt["alg"].(int64); alg != -7 {
					t.Errorf("attStmt alg: got %v, want -7", attStmt["alg"])
				}
				verifySig(t, pub, ad, attStmt["sig"].([]byte))
			} else if len(attStmt) != 0 {
				t.Errorf("attStmt for none: got %v, want empty", attStmt)
			}
			if got := k.ResidentCredentials(); (got == 1) != tc.rk {
				t.Errorf("resident credentials: got %d, rk %v", got, tc.rk)
			}

			excl := makeCredReq("example.org", 2, false)
			excl[5] = []map[string]any{{"type": "public-key", "id": id}}
			st, _ = call(t, k, cmdMakeCredential, excl)
			wantStatus(t, "makeCredential with the credential excluded", st, errCredentialExcluded)

			ga := map[int]any{1: "example.org", 2: testCDH, 3: []map[string]any{{"type": "public-key", "id": id}}}
			last := counter(ad)
			for i := range 2 {
				st, resp = call(t, k, cmdGetAssertion, ga)
				wantStatus(t, "getAssertion", st, statusOK)
				ad := field[[]byte](t, resp, 2)
				verifySig(t, pub, ad, field[[]byte](t, resp, 3))
				if got := counter(ad); got <= last {
					t.Errorf("assertion %d: counter got %d, want more than %d", i, got, last)
				}
				last = counter(ad)
				if ad[32]&flagUP == 0 {
					t.Errorf("assertion %d: flags %#x lack UP", i, ad[32])
				}
			}
			ga[1] = "example.com"
			st, _ = call(t, k, cmdGetAssertion, ga)
			wantStatus(t, "getAssertion for another relying party", st, errNoCredentials)
		})
	}
}

func TestDiscoverableAssertions(t *testing.T) {
	k := newKey(t, Options{})
	for _, user := range []byte{1, 2, 1} { // the second user 1 replaces the first
		st, _ := call(t, k, cmdMakeCredential, makeCredReq("example.org", user, true))
		wantStatus(t, "makeCredential", st, statusOK)
	}
	if got := k.ResidentCredentials(); got != 2 {
		t.Fatalf("resident credentials: got %d, want 2", got)
	}
	st, resp := call(t, k, cmdGetAssertion, map[int]any{1: "example.org", 2: testCDH})
	wantStatus(t, "getAssertion", st, statusOK)
	if got := field[int](t, resp, 5); got != 2 {
		t.Fatalf("numberOfCredentials: got %d, want 2", got)
	}
	users := []byte{field[userEntity](t, resp, 4).ID[0]}
	st, resp = call(t, k, cmdGetNextAssertion, nil)
	wantStatus(t, "getNextAssertion", st, statusOK)
	users = append(users, field[userEntity](t, resp, 4).ID[0])
	if !bytes.Equal(users, []byte{1, 2}) {
		t.Errorf("users, newest first: got %v, want [1 2]", users)
	}
	st, _ = call(t, k, cmdGetNextAssertion, nil)
	wantStatus(t, "getNextAssertion past the last", st, errNotAllowed)
	st, _ = call(t, k, cmdGetAssertion, map[int]any{1: "example.net", 2: testCDH})
	wantStatus(t, "getAssertion without credentials", st, errNoCredentials)
}

func TestRequestErrors(t *testing.T) {
	k := newKey(t, Options{})
	badAlg := makeCredReq("example.org", 1, false)
	badAlg[4] = []map[string]any{{"alg": -257, "type": "public-key"}}
	noUP := makeCredReq("example.org", 1, false)
	noUP[7] = map[string]bool{"up": false}
	wrongType := makeCredReq("example.org", 1, false)
	wrongType[1] = "not bytes"
	for _, tc := range []struct {
		name string
		req  []byte
		want Status
	}{
		{"empty", nil, errInvalidLength},
		{"unknown command", []byte{0x55}, errInvalidCommand},
		{"truncated CBOR", []byte{cmdMakeCredential, 0xa1}, errInvalidCBOR},
		{"not a map", []byte{cmdMakeCredential, 0x01}, errCBORUnexpectedType},
		{"missing parameters", append([]byte{cmdMakeCredential}, mustMarshal(map[int]any{1: testCDH})...), errMissingParameter},
		{"wrong type", append([]byte{cmdMakeCredential}, mustMarshal(wrongType)...), errCBORUnexpectedType},
		{"RS256 only", append([]byte{cmdMakeCredential}, mustMarshal(badAlg)...), errUnsupportedAlgorithm},
		{"up=false", append([]byte{cmdMakeCredential}, mustMarshal(noUP)...), errInvalidOption},
		{"too large", append([]byte{cmdGetInfo}, make([]byte, maxMsgSize)...), errRequestTooLarge},
		{"unknown clientPIN subcommand", append([]byte{cmdClientPIN}, mustMarshal(map[int]any{1: 2, 2: 0x20})...), errInvalidSubcommand},
		{"unknown PIN protocol", append([]byte{cmdClientPIN}, mustMarshal(map[int]any{1: 3, 2: 2})...), errInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := k.handle(context.Background(), tc.req)
			if len(got) != 1 || Status(got[0]) != tc.want {
				t.Errorf("got %x, want status 0x%02x", got, byte(tc.want))
			}
		})
	}
}

func TestPresence(t *testing.T) {
	touches := make(chan bool, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		presence Presence
		touch    *bool
		ctx      context.Context
		want     Status
	}{
		{"always", AlwaysPresent, nil, context.Background(), statusOK},
		{"never times out", NeverPresent, nil, context.Background(), errUserActionTimeout},
		{"manual yes", ManualPresence(touches), new(true), context.Background(), statusOK},
		{"manual no", ManualPresence(touches), new(false), context.Background(), errOperationDenied},
		{"cancelled", NeverPresent, nil, cancelled, errKeepaliveCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, Options{Presence: tc.presence, PresenceTimeout: 50 * time.Millisecond})
			if tc.touch != nil {
				touches <- *tc.touch
			}
			st, _ := callCtx(tc.ctx, t, k, cmdMakeCredential, makeCredReq("example.org", 1, false))
			wantStatus(t, "makeCredential", st, tc.want)
		})
	}
}

func TestResetWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	k := newKey(t, Options{Now: func() time.Time { return now }})
	wantStatus(t, "setPIN", newPlatform(t, k, 2).setPIN("1234"), statusOK)
	now = now.Add(11 * time.Second)
	st, _ := call(t, k, cmdReset, nil)
	wantStatus(t, "reset 11 s after plug-in", st, errNotAllowed)
	if err := k.Replug(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(9 * time.Second)
	st, _ = call(t, k, cmdReset, nil)
	wantStatus(t, "reset 9 s after replug", st, statusOK)
	if k.PINSet() {
		t.Error("PINSet after reset: got true, want false")
	}
}

func TestCredentialManagement(t *testing.T) {
	k := newKey(t, Options{})
	p := newPlatform(t, k, 2)
	wantStatus(t, "setPIN", p.setPIN("1234"), statusOK)
	tok, st := p.token("1234", permMakeCredential, "a.example")
	wantStatus(t, "token", st, statusOK)
	for _, c := range []struct {
		rp   string
		user byte
	}{{"a.example", 1}, {"a.example", 2}} {
		req := makeCredReq(c.rp, c.user, true)
		req[8], req[9] = p.mac(tok, testCDH), 2
		st, _ := call(t, k, cmdMakeCredential, req)
		wantStatus(t, "makeCredential", st, statusOK)
	}
	tok, st = p.token("1234", permCredMgmt, "")
	wantStatus(t, "cm token", st, statusOK)
	cm := func(sub int, subParams map[int]any, auth bool) (Status, map[int]cbor.RawMessage) {
		req := map[int]any{1: sub}
		msg := []byte{byte(sub)}
		if subParams != nil {
			raw := mustMarshal(subParams)
			req[2] = cbor.RawMessage(raw)
			msg = append(msg, raw...)
		}
		if auth {
			req[3], req[4] = 2, p.mac(tok, msg)
		}
		return call(t, k, cmdCredMgmt, req)
	}
	st, resp := cm(cmGetCredsMetadata, nil, true)
	wantStatus(t, "getCredsMetadata", st, statusOK)
	if got := field[int](t, resp, 1); got != 2 {
		t.Errorf("existing credentials: got %d, want 2", got)
	}
	st, _ = cm(cmGetCredsMetadata, nil, false)
	wantStatus(t, "getCredsMetadata without auth", st, errPUATRequired)
	st, resp = cm(cmEnumerateRPsBegin, nil, true)
	wantStatus(t, "enumerateRPsBegin", st, statusOK)
	if got := field[rpEntity](t, resp, 3).ID; got != "a.example" {
		t.Errorf("rp: got %q, want a.example", got)
	}
	h := sha256.Sum256([]byte("a.example"))
	st, resp = cm(cmEnumerateCredsBegin, map[int]any{1: h[:]}, true)
	wantStatus(t, "enumerateCredentialsBegin", st, statusOK)
	if got := field[int](t, resp, 9); got != 2 {
		t.Fatalf("totalCredentials: got %d, want 2", got)
	}
	first := field[credDescriptor](t, resp, 7)
	st, _ = cm(cmEnumerateCredsNext, nil, false)
	wantStatus(t, "enumerateCredentialsGetNextCredential", st, statusOK)
	del := map[int]any{2: map[string]any{"type": "public-key", "id": first.ID}}
	st, _ = call(t, k, cmdCredMgmt, map[int]any{1: cmDeleteCredential, 2: del, 3: 2, 4: make([]byte, 32)})
	wantStatus(t, "deleteCredential with a bad pinUvAuthParam", st, errPINAuthInvalid)
	st, _ = cm(cmDeleteCredential, del, true)
	wantStatus(t, "deleteCredential", st, statusOK)
	if got := k.ResidentCredentials(); got != 1 {
		t.Errorf("credentials after delete: got %d, want 1", got)
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.json")
	k := newKey(t, Options{StateFile: path})
	st, resp := call(t, k, cmdMakeCredential, makeCredReq("example.org", 1, false))
	wantStatus(t, "makeCredential", st, statusOK)
	id, _ := attested(t, field[[]byte](t, resp, 2))
	wantStatus(t, "setPIN", newPlatform(t, k, 1).setPIN("1234"), statusOK)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %o, want 600", fi.Mode().Perm())
	}

	k2 := newKey(t, Options{StateFile: path})
	if !k2.PINSet() {
		t.Error("reloaded key: PINSet got false, want true")
	}
	st, _ = call(t, k2, cmdGetAssertion, map[int]any{1: "example.org", 2: testCDH, 3: []map[string]any{{"type": "public-key", "id": id}}})
	wantStatus(t, "getAssertion with a credential wrapped before the restart", st, statusOK)

	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{StateFile: path}); err == nil {
		t.Error("New with a corrupt state file: got nil error")
	}
}
