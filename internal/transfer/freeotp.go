package transfer

// FreeOTP+ JSON backup:
//
//	{"tokens": [{"algo", "counter", "digits", "issuerExt", "issuerInt",
//	             "label", "period", "secret": [signed bytes], "type"}],
//	 "tokenOrder": ["issuer:label", …]}
//
// FreeOTP stores a HOTP counter one below the otpauth:// counter it was
// enrolled with, and writes counter+1 when it exports a URI (Token.java); the
// import adds the one back. Steam tokens are those whose issuerExt is
// "Steam". Accounts come out in tokenOrder, the order FreeOTP+ shows.

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

type freeOTPFile struct {
	Tokens     []json.RawMessage `json:"tokens"`
	TokenOrder []string          `json:"tokenOrder"`
}

type freeOTPToken struct {
	Algo      string `json:"algo"`
	Counter   int64  `json:"counter"`
	Digits    int    `json:"digits"`
	IssuerExt string `json:"issuerExt"`
	IssuerInt string `json:"issuerInt"`
	IssuerAlt string `json:"issuerAlt"`
	Label     string `json:"label"`
	LabelAlt  string `json:"labelAlt"`
	Period    int    `json:"period"`
	Secret    []int  `json:"secret"`
	Type      string `json:"type"`
}

// id is the token's key in tokenOrder (Token.getID).
func (t freeOTPToken) id() string {
	switch {
	case t.IssuerInt != "":
		return t.IssuerInt + ":" + t.Label
	case t.IssuerExt != "":
		return t.IssuerExt + ":" + t.Label
	}
	return t.Label
}

func parseFreeOTP(data []byte, _ Options) (parsed, error) {
	var p parsed
	var file freeOTPFile
	if err := decodeFile("FreeOTP+", data, &file); err != nil {
		return p, err
	}
	order := make(map[string]int, len(file.TokenOrder))
	for i, id := range file.TokenOrder {
		if _, dup := order[id]; !dup {
			order[id] = i
		}
	}
	rank := make(map[int]int, len(file.Tokens)) // entry index → position in tokenOrder
	for i, raw := range file.Tokens {
		a, id, err := freeOTPAccount(raw)
		pos, ok := order[id]
		if !ok || err != nil {
			pos = len(file.TokenOrder)
		}
		rank[i+1] = pos
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	slices.SortStableFunc(p.entries, func(a, b entry) int { return rank[a.index] - rank[b.index] })
	return p, nil
}

func freeOTPAccount(raw json.RawMessage) (vault.Account, string, error) {
	var t freeOTPToken
	err := decodeEntry(raw, &t)
	issuer := t.IssuerAlt
	if issuer == "" {
		issuer = t.IssuerExt
	}
	if issuer == "" {
		issuer = t.IssuerInt
	}
	name := t.LabelAlt
	if name == "" {
		name = t.Label
	}
	a := vault.Account{Key: otp.Key{Issuer: issuer, Name: name}}
	if err != nil {
		return a, "", err
	}
	steam := t.IssuerExt == "Steam"
	switch typ := strings.ToUpper(t.Type); {
	case typ == "STEAM" || (steam && (typ == "" || typ == "TOTP")):
		a.Type, a.Encoder = otp.TOTP, otp.EncoderSteam
	case typ == "" || typ == "TOTP":
		a.Type = otp.TOTP
	case typ == "HOTP":
		if t.Counter < -1 || t.Counter == math.MaxInt64 {
			return a, "", fmt.Errorf("counter %d: %w", t.Counter, otp.ErrBadCounter)
		}
		a.Type, a.Counter = otp.HOTP, uint64(t.Counter+1)
	default:
		return a, "", fmt.Errorf("type %q is not supported", t.Type)
	}
	if len(t.Secret) == 0 {
		return a, "", otp.ErrMissingSecret
	}
	a.Secret = make([]byte, len(t.Secret))
	for i, b := range t.Secret {
		if b < math.MinInt8 || b > math.MaxUint8 {
			return a, "", fmt.Errorf("secret: byte %d is out of range", i+1)
		}
		a.Secret[i] = byte(b)
	}
	a.Algorithm = otp.Algorithm(strings.ToUpper(t.Algo))
	a.Digits, a.Period = t.Digits, t.Period
	if a.Type == otp.HOTP {
		a.Period = 0
	}
	return a, t.id(), nil
}
