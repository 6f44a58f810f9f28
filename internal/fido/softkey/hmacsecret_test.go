package softkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// hmacExt reads the extensions map at the end of authenticator data
// without attested credential data.
func hmacExt(t *testing.T, ad []byte) map[string]cbor.RawMessage {
	t.Helper()
	if ad[32]&flagED == 0 {
		return nil
	}
	var ext map[string]cbor.RawMessage
	if err := cbor.Unmarshal(ad[37:], &ext); err != nil {
		t.Fatalf("extensions in %x: %v", ad, err)
	}
	return ext
}

func hmacSHA(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// TestHMACSecret checks the extension's outputs against HMAC-SHA-256 of
// the credential's CredRandom values computed here, with both PIN/UV auth
// protocols, one and two salts, with and without user verification.
func TestHMACSecret(t *testing.T) {
	for _, proto := range []int{1, 2} {
		t.Run(map[int]string{1: "protocol 1", 2: "protocol 2"}[proto], func(t *testing.T) {
			k := newKey(t, Options{})
			req := makeCredReq("countersign-vault", 1, true)
			req[6] = map[string]any{"hmac-secret": true}
			st, resp := call(t, k, cmdMakeCredential, req)
			wantStatus(t, "makeCredential with hmac-secret", st, statusOK)
			ad := field[[]byte](t, resp, 2)
			id, pub := attested(t, ad)
			if ad[32]&flagED == 0 {
				t.Fatalf("flags %#x lack ED", ad[32])
			}
			rest := bytes.NewReader(ad[55+len(id):])
			var key cbor.RawMessage
			var ext map[string]bool
			dec := cbor.NewDecoder(rest)
			if err := dec.Decode(&key); err != nil {
				t.Fatal(err)
			}
			if err := dec.Decode(&ext); err != nil || !ext["hmac-secret"] {
				t.Fatalf("makeCredential extensions %v, %v; want hmac-secret true", ext, err)
			}
			credRandom := k.st.Creds[0].HMACSecret
			if len(credRandom) != 64 {
				t.Fatalf("CredRandom is %d bytes, want 64", len(credRandom))
			}

			p := newPlatform(t, k, proto)
			salt1, salt2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
			get := func(salts []byte, extra map[int]any) ([]byte, Status) {
				enc := p.encrypt(salts)
				in := map[int]any{1: p.pub, 2: enc, 3: p.mac(nil, enc)}
				if proto == 2 {
					in[4] = 2
				}
				ga := map[int]any{1: "countersign-vault", 2: testCDH,
					3: []map[string]any{{"type": "public-key", "id": id}}, 4: map[string]any{"hmac-secret": in}}
				for k, v := range extra {
					ga[k] = v
				}
				st, resp := call(t, k, cmdGetAssertion, ga)
				if st != statusOK {
					return nil, st
				}
				ad := field[[]byte](t, resp, 2)
				verifySig(t, pub, ad, field[[]byte](t, resp, 3))
				var out []byte
				if err := cbor.Unmarshal(hmacExt(t, ad)["hmac-secret"], &out); err != nil {
					t.Fatalf("hmac-secret output: %v", err)
				}
				return p.decrypt(out), st
			}
			withoutUV, withUV := credRandom[32:], credRandom[:32]
			got, st := get(salt1, nil)
			wantStatus(t, "getAssertion with one salt", st, statusOK)
			if want := hmacSHA(withoutUV, salt1); !bytes.Equal(got, want) {
				t.Errorf("one salt: got %x, want %x", got, want)
			}
			got, _ = get(append(append([]byte(nil), salt1...), salt2...), nil)
			if want := append(hmacSHA(withoutUV, salt1), hmacSHA(withoutUV, salt2)...); !bytes.Equal(got, want) {
				t.Errorf("two salts: got %x, want %x", got, want)
			}

			wantStatus(t, "setPIN", p.setPIN("1234"), statusOK)
			tok, st := p.token("1234", 0, "")
			wantStatus(t, "getPinToken", st, statusOK)
			got, st = get(salt1, map[int]any{6: p.mac(tok, testCDH), 7: proto})
			wantStatus(t, "getAssertion with the PIN", st, statusOK)
			if want := hmacSHA(withUV, salt1); !bytes.Equal(got, want) {
				t.Errorf("user verified: got %x, want %x (CredRandomWithUV)", got, want)
			}

			enc := p.encrypt(salt1)
			bad := map[int]any{1: "countersign-vault", 2: testCDH, 3: []map[string]any{{"type": "public-key", "id": id}},
				4: map[string]any{"hmac-secret": map[int]any{1: p.pub, 2: enc, 3: p.mac(nil, append([]byte{0}, enc...)), 4: proto}}}
			st, _ = call(t, k, cmdGetAssertion, bad)
			wantStatus(t, "a saltAuth that does not match", st, errPINAuthInvalid)
			short := p.encrypt(salt1[:16])
			bad[4] = map[string]any{"hmac-secret": map[int]any{1: p.pub, 2: short, 3: p.mac(nil, short), 4: proto}}
			st, _ = call(t, k, cmdGetAssertion, bad)
			wantStatus(t, "a 16-byte salt", st, errInvalidLength)
		})
	}
}

// A credential made without hmac-secret answers without it; a wrapped one
// carries its CredRandom in its ID, so each credential has its own.
func TestHMACSecretPerCredential(t *testing.T) {
	k := newKey(t, Options{})
	p := newPlatform(t, k, 2)
	salt := bytes.Repeat([]byte{7}, 32)
	secret := func(id []byte) []byte {
		enc := p.encrypt(salt)
		st, resp := call(t, k, cmdGetAssertion, map[int]any{1: "countersign-vault", 2: testCDH,
			3: []map[string]any{{"type": "public-key", "id": id}},
			4: map[string]any{"hmac-secret": map[int]any{1: p.pub, 2: enc, 3: p.mac(nil, enc), 4: 2}}})
		wantStatus(t, "getAssertion", st, statusOK)
		var out []byte
		if raw, ok := hmacExt(t, field[[]byte](t, resp, 2))["hmac-secret"]; ok {
			if err := cbor.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			return p.decrypt(out)
		}
		return nil
	}
	var ids [][]byte
	for user, on := range []bool{true, true, false} {
		req := makeCredReq("countersign-vault", byte(user), false)
		req[6] = map[string]any{"hmac-secret": on}
		st, resp := call(t, k, cmdMakeCredential, req)
		wantStatus(t, "makeCredential", st, statusOK)
		id, _ := attested(t, field[[]byte](t, resp, 2))
		ids = append(ids, id)
	}
	a, b := secret(ids[0]), secret(ids[1])
	if len(a) != 32 || len(b) != 32 || bytes.Equal(a, b) {
		t.Errorf("two wrapped credentials: %x and %x, want two different 32-byte secrets", a, b)
	}
	if again := secret(ids[0]); !bytes.Equal(again, a) {
		t.Errorf("the same credential and salt: %x, then %x", a, again)
	}
	if c := secret(ids[2]); c != nil {
		t.Errorf("a credential made without hmac-secret gave %x, want no output", c)
	}
}
