package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/ory/fosite/token/jwt"

	"github.com/countersign/countersign/internal/store"
)

// keyAlg is the algorithm of new signing keys: RS256, the one OpenID
// Connect says a client gets when it registered none (and every client here
// registers none). ES256 keys made before stay published, and keep
// verifying what they signed, for keyOverlap after an RS256 key succeeds
// them.
const (
	keyAlg  = "RS256"
	keyBits = 2048
	algES   = "ES256"
)

// keyReload is how long loaded keys are trusted before the store is asked
// again (another instance may have rotated).
const keyReload = time.Minute

// signingKey is an ID token signing key: an *rsa.PrivateKey (RS256) or an
// *ecdsa.PrivateKey (ES256).
type signingKey struct {
	id      string
	alg     string
	priv    crypto.Signer
	created time.Time
}

// signingKeys returns the keys, newest (the one that signs) first, rotating
// when the newest is due or is not of keyAlg. The first key is made when
// first needed.
func (p *Provider) signingKeys(ctx context.Context) ([]signingKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.keys) > 0 && now.Sub(p.loadedAt) < keyReload && !due(p.keys[0], now) {
		return p.keys, nil
	}
	keys, err := p.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 || due(keys[0], now) {
		if err := p.addKey(ctx, now); err != nil {
			return nil, err
		}
		if keys, err = p.loadKeys(ctx); err != nil {
			return nil, err
		}
	}
	p.keys, p.loadedAt = keys, now
	return keys, nil
}

// due reports whether the signing key k must be succeeded.
func due(k signingKey, now time.Time) bool {
	return k.alg != keyAlg || now.Sub(k.created) >= keyRotation
}

func (p *Provider) loadKeys(ctx context.Context) ([]signingKey, error) {
	stored, err := p.store.OAuthKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	var keys []signingKey
	for _, k := range stored {
		if k.Alg != keyAlg && k.Alg != algES {
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		var signer crypto.Signer
		switch key := priv.(type) {
		case *rsa.PrivateKey:
			if k.Alg == keyAlg {
				signer = key
			}
		case *ecdsa.PrivateKey:
			if k.Alg == algES {
				signer = key
			}
		}
		if signer == nil {
			return nil, fmt.Errorf("signing key %s: a %T is not an %s key", k.ID, priv, k.Alg)
		}
		keys = append(keys, signingKey{id: k.ID, alg: k.Alg, priv: signer, created: k.CreatedAt})
	}
	return keys, nil
}

// addKey makes a new signing key and stores it.
func (p *Provider) addKey(ctx context.Context, now time.Time) error {
	priv, err := rsa.GenerateKey(p.rand, keyBits)
	if err != nil {
		return fmt.Errorf("make signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode signing key: %w", err)
	}
	var kid [8]byte
	if _, err := io.ReadFull(p.rand, kid[:]); err != nil {
		return fmt.Errorf("make key id: %w", err)
	}
	return p.store.AddOAuthKey(ctx, &store.OAuthKey{ID: hex.EncodeToString(kid[:]), Alg: keyAlg, Private: der, CreatedAt: now})
}

// published returns the keys the JWKS lists: the current one, and older
// ones until keyOverlap after their successor appeared.
func (p *Provider) published(ctx context.Context) ([]signingKey, error) {
	keys, err := p.signingKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now()
	out := keys[:1]
	for i := 1; i < len(keys); i++ {
		if now.Sub(keys[i-1].created) < keyOverlap {
			out = append(out, keys[i])
		}
	}
	return out, nil
}

// signer signs ID tokens with the current key and names it in "kid".
type signer struct{ p *Provider }

var _ jwt.Signer = (*signer)(nil)

func (s *signer) current(ctx context.Context) (*jwt.DefaultSigner, string, error) {
	keys, err := s.p.signingKeys(ctx)
	if err != nil {
		return nil, "", err
	}
	k := keys[0]
	return &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) { return k.priv, nil }}, k.id, nil
}

// Generate implements jwt.Signer.
func (s *signer) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	d, kid, err := s.current(ctx)
	if err != nil {
		return "", "", err
	}
	h := jwt.NewHeaders()
	if header != nil {
		for k, v := range header.ToMap() {
			h.Extra[k] = v
		}
	}
	h.Extra["kid"] = kid
	return d.Generate(ctx, claims, h)
}

// Validate implements jwt.Signer.
func (s *signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.p.parseIDToken(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// Hash implements jwt.Signer.
func (s *signer) Hash(ctx context.Context, in []byte) ([]byte, error) {
	d, _, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return d.Hash(ctx, in)
}

// Decode implements jwt.Signer.
func (s *signer) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	return s.p.parseIDToken(ctx, token)
}

// GetSignature implements jwt.Signer.
func (s *signer) GetSignature(ctx context.Context, token string) (string, error) {
	d, _, err := s.current(ctx)
	if err != nil {
		return "", err
	}
	return d.GetSignature(ctx, token)
}

// GetSigningMethodLength implements jwt.Signer.
func (s *signer) GetSigningMethodLength(ctx context.Context) int {
	d, _, err := s.current(ctx)
	if err != nil {
		return 0
	}
	return d.GetSigningMethodLength(ctx)
}

var errBadToken = errors.New("id token is not valid")

// parseIDToken checks an ID token's signature against the published keys
// (by kid) and its issuer; an expired token is accepted (end-session hints
// may be old).
func (p *Provider) parseIDToken(ctx context.Context, raw string) (*jwt.Token, error) {
	keys, err := p.published(ctx)
	if err != nil {
		return nil, err
	}
	t, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range keys {
			if k.id == kid {
				return k.priv.Public(), nil
			}
		}
		return nil, errBadToken
	})
	if err != nil {
		var ve *jwt.ValidationError
		if !errors.As(err, &ve) || ve.Errors != jwt.ValidationErrorExpired || t == nil {
			return nil, fmt.Errorf("%w: %v", errBadToken, err)
		}
	}
	if iss, _ := t.Claims["iss"].(string); iss != p.issuer {
		return nil, fmt.Errorf("%w: issuer %q", errBadToken, iss)
	}
	return t, nil
}

// jwk is a public key in the JWKS: RSA (n, e) or EC P-256 (crv, x, y).
type jwk struct {
	Kty string `json:"kty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// publicJWK is k's public half as a JWK.
func publicJWK(k signingKey) (jwk, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes()), Kid: k.id, Alg: k.alg, Use: "sig"}, nil
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			return jwk{}, err
		}
		return jwk{Kty: "EC", Crv: "P-256", X: b64(raw[1:33]), Y: b64(raw[33:65]), Kid: k.id, Alg: k.alg, Use: "sig"}, nil
	}
	return jwk{}, fmt.Errorf("signing key %s: no JWK for %T", k.id, k.priv)
}

// JWKS serves the public keys that verify ID tokens (GET /oauth/jwks).
func (p *Provider) JWKS(w http.ResponseWriter, r *http.Request) {
	keys, err := p.published(r.Context())
	if err != nil {
		p.serverError(w, "jwks", err)
		return
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		j, err := publicJWK(k)
		if err != nil {
			p.serverError(w, "jwks", err)
			return
		}
		set.Keys = append(set.Keys, j)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, set)
}
