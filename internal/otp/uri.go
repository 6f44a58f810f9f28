package otp

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrNotOTPAuth is returned for text that is not an otpauth:// URI at all.
var ErrNotOTPAuth = errors.New("not an otpauth:// URI")

// ErrMissingCounter is returned for a hotp URI without a counter parameter.
var ErrMissingCounter = errors.New("missing counter (a hotp URI needs one)")

// URIError says which part of an otpauth:// URI is wrong. Its message never
// repeats the URI, which holds the secret.
type URIError struct {
	Part string // "syntax", "type", "label", "secret", "algorithm", "digits", "period", "counter", "encoder", "parameters"
	Err  error  // says what is wrong in words that name the part
}

func (e *URIError) Error() string { return "invalid otpauth URI: " + e.Err.Error() }

func (e *URIError) Unwrap() error { return e.Err }

// known lists the parameters ParseURI interprets; everything else goes to Extra.
var known = []string{"secret", "issuer", "algorithm", "digits", "period", "counter", "encoder"}

// ParseURI reads an otpauth://TYPE/LABEL?PARAMS URI (the Key Uri Format).
//
// The label is "Issuer:account" or "account"; the separator may be written
// ':' or "%3A" and spaces around it are ignored. The issuer parameter takes
// precedence over the label's prefix. Parameter names are read in any case;
// parameters this package does not interpret are kept in Key.Extra. The type
// "steam" (otpauth://steam/…, as Aegis and Ente Auth write Steam keys) reads
// as a TOTP key with the Steam encoder.
func ParseURI(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(strings.ToLower(s), "otpauth://") {
		return Key{}, ErrNotOTPAuth
	}
	u, err := url.Parse(s)
	if err != nil {
		return Key{}, &URIError{"syntax", withoutURL(err)}
	}
	var k Key
	switch host := strings.ToLower(u.Host); host {
	case string(TOTP), string(HOTP):
		k.Type = Type(host)
	case EncoderSteam:
		// otpauth://steam/…: Aegis's and Ente Auth's way of writing a Steam
		// key (Aegis GoogleAuthInfo.parseUri, Ente Auth's Code.fromOTPAuthUrl):
		// a time-based key whose codes are Steam Guard codes.
		k.Type, k.Encoder = TOTP, EncoderSteam
	default:
		return Key{}, &URIError{"type", fmt.Errorf("%w, not %q", ErrUnknownType, u.Host)}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Key{}, &URIError{"parameters", err}
	}
	params := foldParams(q)

	issuer := strings.TrimSpace(params["issuer"])
	if k.Issuer, k.Name, err = splitURILabel(s, u.Path, issuer); err != nil {
		return Key{}, &URIError{"label", err}
	}
	if issuer != "" {
		k.Issuer = issuer
	}

	if k.Secret, err = DecodeSecret(params["secret"]); err != nil {
		return Key{}, &URIError{"secret", err}
	}
	if v := params["algorithm"]; v != "" {
		k.Algorithm = Algorithm(strings.ToUpper(v))
		if k.Algorithm != SHA1 && k.Algorithm != SHA256 && k.Algorithm != SHA512 {
			return Key{}, &URIError{"algorithm", fmt.Errorf("%w, not %q", ErrBadAlgorithm, v)}
		}
	}
	if v := params["encoder"]; v != "" {
		if !strings.EqualFold(v, EncoderSteam) {
			return Key{}, &URIError{"encoder", fmt.Errorf("%w, not %q", ErrBadEncoder, v)}
		}
		k.Encoder = EncoderSteam
	}
	if v := params["digits"]; v != "" {
		d, err := strconv.Atoi(v)
		// Steam keys carry digits=5 in some exporters; Normalize settles it.
		steam := k.Encoder == EncoderSteam || (k.Type == TOTP && strings.EqualFold(k.Issuer, "steam"))
		if err != nil || (d < 6 || d > 8) && !(d == steamDigits && steam) {
			return Key{}, &URIError{"digits", fmt.Errorf("%w, not %q", ErrBadDigits, v)}
		}
		k.Digits = d
	}
	if v := params["period"]; v != "" && k.Type == TOTP {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 86400 {
			return Key{}, &URIError{"period", fmt.Errorf("%w, not %q", ErrBadPeriod, v)}
		}
		k.Period = p
	}
	if k.Type == HOTP {
		v := params["counter"]
		if v == "" {
			return Key{}, &URIError{"counter", ErrMissingCounter}
		}
		c, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Key{}, &URIError{"counter", fmt.Errorf("%w, not %q", ErrBadCounter, v)}
		}
		k.Counter = c
	}
	for name, values := range q {
		if !slices.Contains(known, strings.ToLower(name)) {
			if k.Extra == nil {
				k.Extra = map[string][]string{}
			}
			k.Extra[name] = values
		}
	}
	k = k.Normalize()
	if err := k.Validate(); err != nil {
		part := "parameters"
		if errors.Is(err, ErrMissingName) {
			part = "label"
		}
		return Key{}, &URIError{part, err}
	}
	return k, nil
}

// withoutURL drops the URL that net/url repeats in its errors: it holds the
// secret, and error messages end up in logs.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// foldParams maps each lower-cased parameter name to its first value,
// preferring the lower-case spelling and otherwise the first spelling in
// sorted order, so that the choice does not depend on map order.
func foldParams(q url.Values) map[string]string {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	folded := make(map[string]string, len(q))
	for _, name := range names {
		lower := strings.ToLower(name)
		if _, seen := folded[lower]; !seen || name == lower {
			folded[lower] = q[name][0]
		}
	}
	return folded
}

// splitURILabel splits the label of the otpauth URI s, whose decoded path is
// path, into issuer prefix and account name. With an issuer parameter, a label
// starting with that issuer and a colon (in either spelling) is split there,
// whatever other colons it holds. Else the label splits at its first literal
// ':', or failing that at its first "%3A".
func splitURILabel(s, path, issuer string) (prefix, name string, err error) {
	label := strings.TrimPrefix(path, "/")
	if prefix, name, ok := cutIssuer(label, issuer); ok {
		return prefix, name, nil
	}
	// The label as written, found the way url.Parse finds the path.
	raw, _, _ := strings.Cut(s[len("otpauth://"):], "#")
	raw, _, _ = strings.Cut(raw, "?")
	_, raw, _ = strings.Cut(raw, "/")
	if rawPrefix, rawName, ok := strings.Cut(raw, ":"); ok {
		if prefix, err = url.PathUnescape(rawPrefix); err == nil {
			name, err = url.PathUnescape(rawName)
		}
		return strings.TrimSpace(prefix), strings.TrimSpace(name), err
	}
	prefix, name = splitLabel(label)
	return prefix, name, nil
}

// cutIssuer splits "Issuer:account" when the label starts with the given
// issuer (in any case) and a colon.
func cutIssuer(label, issuer string) (prefix, name string, ok bool) {
	if issuer == "" || len(label) <= len(issuer) || !strings.EqualFold(label[:len(issuer)], issuer) {
		return "", "", false
	}
	rest := strings.TrimLeft(label[len(issuer):], " ")
	if !strings.HasPrefix(rest, ":") {
		return "", "", false
	}
	return label[:len(issuer)], strings.TrimSpace(rest[1:]), true
}

// splitLabel splits "Issuer:account" at its first colon; a label without one
// is all account name.
func splitLabel(label string) (prefix, name string) {
	prefix, name, ok := strings.Cut(label, ":")
	if !ok {
		return "", strings.TrimSpace(label)
	}
	return strings.TrimSpace(prefix), strings.TrimSpace(name)
}

// URI formats the key as an otpauth:// URI that ParseURI reads back to the
// same (normalized) key. The issuer appears both as the label prefix and as
// the issuer parameter, as the Key Uri Format recommends. Extra parameters
// that would shadow a known one are left out.
func (k Key) URI() string {
	k = k.Normalize()
	var b strings.Builder
	b.WriteString("otpauth://")
	b.WriteString(string(k.Type))
	b.WriteString("/")
	if k.Issuer != "" || strings.Contains(k.Name, ":") {
		// An empty prefix keeps a colon in an issuer-less name from being
		// read as the separator.
		b.WriteString(escapeLabel(k.Issuer))
		b.WriteString(":")
	}
	b.WriteString(escapeLabel(k.Name))
	b.WriteString("?secret=")
	b.WriteString(k.SecretBase32())
	param := func(name, value string) {
		b.WriteString("&")
		b.WriteString(escapeQuery(name))
		b.WriteString("=")
		b.WriteString(escapeQuery(value))
	}
	if k.Issuer != "" {
		param("issuer", k.Issuer)
	}
	param("algorithm", string(k.Algorithm))
	param("digits", strconv.Itoa(k.Digits))
	if k.Type == TOTP {
		param("period", strconv.Itoa(k.Period))
	} else {
		param("counter", strconv.FormatUint(k.Counter, 10))
	}
	if k.IsSteam() {
		param("encoder", EncoderSteam)
	}
	names := make([]string, 0, len(k.Extra))
	for name := range k.Extra {
		if !slices.Contains(known, strings.ToLower(name)) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range k.Extra[name] {
			param(name, v)
		}
	}
	return b.String()
}

// escapeLabel percent-encodes a label part, including ':' so that only the
// issuer separator is a literal colon.
func escapeLabel(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// escapeQuery percent-encodes a parameter, spaces as %20 (some authenticators
// do not read '+' as a space).
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
