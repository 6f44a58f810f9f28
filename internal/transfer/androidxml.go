package transfer

// Android SharedPreferences files: the XML Android writes for an app's
// settings, <map> holding <string name="…">value</string> and other typed
// elements. Two apps keep their accounts in one and people copy it off a
// rooted phone or out of a backup, as Aegis imports it
// (app/src/main/java/com/beemdevelopment/aegis/util/PreferenceParser.java):
//
// FreeOTP (org.fedorahosted.freeotp, shared_prefs/tokens.xml; Aegis
// FreeOtpImporter.java): one <string> per token, named "issuer:label", whose
// value is the token as JSON, the same object as in a FreeOTP+ JSON backup
// (see freeotp.go), and a <string name="tokenOrder"> holding the JSON array of
// names in the order FreeOTP shows them.
//
// Authy (com.authy.authy, shared_prefs/com.authy.storage.tokens.authenticator.xml;
// Aegis AuthyImporter.java): a <string
// name="com.authy.storage.tokens.authenticator.key"> holding a JSON array of
// tokens {"name", "originalName", "originalIssuer", "accountType", "digits",
// "decryptedSecret" (base32)}; when Authy's backups are protected the secret
// is instead "encryptedSecret" (base64) with a "salt", AES-256-CBC with a zero
// IV and PKCS#7 padding under PBKDF2-HMAC-SHA1(backup password, salt as
// UTF-8, 1000 iterations, 256 bits). Authy's own accounts live in
// com.authy.storage.tokens.authy.xml under
// "com.authy.storage.tokens.authy.key", each with a hex "secretSeed" and
// codes of "digits" digits every 10 seconds. Authy has no export of its own:
// these files are the closest thing to one, and what other apps import.

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	authyKey       = "com.authy.storage.tokens.authenticator.key"
	authyOwnKey    = "com.authy.storage.tokens.authy.key"
	freeOTPOrder   = "tokenOrder"
	authyPBKDFIter = 1000
)

// prefString is one <string> of a SharedPreferences file.
type prefString struct {
	name, value string
}

// readPrefs returns the <string> elements of a SharedPreferences file in
// file order; other elements (<int>, <boolean>, …) are skipped.
func readPrefs(what string, data []byte) ([]prefString, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		out   []prefString
		depth int
		seen  bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, fmt.Errorf("not a valid %s: the XML breaks on line %d: %v", what, line, xmlReason(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local != "map":
				return nil, fmt.Errorf("not a valid %s: the XML is not an Android preferences file (<map> missing)", what)
			case depth == 1:
				seen = true
			case depth == 2 && t.Name.Local == "string":
				var s struct {
					Name  string `xml:"name,attr"`
					Value string `xml:",chardata"`
				}
				if err := d.DecodeElement(&s, &t); err != nil {
					line, _ := d.InputPos()
					return nil, fmt.Errorf("not a valid %s: the XML breaks on line %d: %v", what, line, xmlReason(err))
				}
				depth--
				out = append(out, prefString{s.Name, s.Value})
			}
		case xml.EndElement:
			depth--
		}
	}
	if !seen {
		return nil, fmt.Errorf("not a valid %s: the XML is not an Android preferences file (<map> missing)", what)
	}
	return out, nil
}

// xmlReason keeps encoding/xml's reason but not its "XML syntax error on
// line N" prefix (the caller says the line) nor any quoted content.
func xmlReason(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return "unexpected content"
}

func parseFreeOTPXML(data []byte, _ Options) (parsed, error) {
	var p parsed
	prefs, err := readPrefs("FreeOTP tokens.xml", data)
	if err != nil {
		return p, err
	}
	var order []string
	for _, s := range prefs {
		if s.name == freeOTPOrder {
			if err := decodeFile("FreeOTP tokenOrder", []byte(s.value), &order); err != nil {
				return p, err
			}
		}
	}
	rank := func(name string) int {
		if i := slices.Index(order, name); i >= 0 {
			return i
		}
		return len(order)
	}
	type ranked struct {
		e    entry
		rank int
	}
	var tokens []ranked
	for _, s := range prefs {
		if s.name == freeOTPOrder {
			continue
		}
		a, _, err := freeOTPAccount(json.RawMessage(s.value))
		e := entry{index: len(tokens) + 1, account: a, err: err}
		if err != nil && a.Name == "" && a.Issuer == "" {
			e.name = s.name
		}
		tokens = append(tokens, ranked{e, rank(s.name)})
	}
	slices.SortStableFunc(tokens, func(a, b ranked) int { return a.rank - b.rank })
	for _, t := range tokens {
		p.entries = append(p.entries, t.e)
	}
	return p, nil
}

type authyToken struct {
	Name            string  `json:"name"`
	OriginalName    *string `json:"originalName"`
	OriginalIssuer  *string `json:"originalIssuer"`
	AccountType     string  `json:"accountType"`
	Digits          int     `json:"digits"`
	DecryptedSecret *string `json:"decryptedSecret"`
	EncryptedSecret *string `json:"encryptedSecret"`
	Salt            string  `json:"salt"`
	SecretSeed      *string `json:"secretSeed"`
}

func parseAuthy(data []byte, opts Options) (parsed, error) {
	var p parsed
	prefs, err := readPrefs("Authy preferences file", data)
	if err != nil {
		return p, err
	}
	var raws []json.RawMessage
	found := false
	for _, s := range prefs {
		if s.name != authyKey && s.name != authyOwnKey {
			continue
		}
		found = true
		var list []json.RawMessage
		if err := decodeFile("Authy token list", []byte(s.value), &list); err != nil {
			return p, err
		}
		raws = append(raws, list...)
	}
	if !found {
		return p, errors.New("not an Authy tokens file: it has no " + authyKey +
			" (copy com.authy.storage.tokens.authenticator.xml from Authy's shared_prefs)")
	}
	tokens := make([]authyToken, len(raws))
	errs := make([]error, len(raws))
	for i, raw := range raws {
		errs[i] = decodeEntry(raw, &tokens[i])
		if errs[i] == nil && tokens[i].EncryptedSecret != nil && tokens[i].DecryptedSecret == nil {
			p.encrypted = true
		}
	}
	if p.encrypted && len(opts.Password) == 0 {
		return p, fmt.Errorf("authy tokens are encrypted with Authy's backup password: %w", ErrPasswordRequired)
	}
	for i, t := range tokens {
		a, err := authyAccount(t, opts.Password)
		if errs[i] != nil {
			err = errs[i]
		}
		if errors.Is(err, ErrWrongPassword) {
			return parsed{encrypted: true}, err
		}
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

// authyAccount names and decodes one Authy token, naming it as Aegis does:
// the issuer from originalIssuer, else the prefix of originalName before a
// colon, else the prefix of name before " - ", else the account type.
func authyAccount(t authyToken, password []byte) (vault.Account, error) {
	a := vault.Account{Key: otp.Key{Type: otp.TOTP, Algorithm: otp.SHA1, Digits: t.Digits, Period: 30}}
	if t.SecretSeed != nil {
		// One of Authy's own accounts: the name is the issuer.
		a.Issuer, a.Period = t.Name, 10
		secret, err := hex.DecodeString(strings.TrimSpace(*t.SecretSeed))
		if err != nil {
			return a, errors.New("secret: secretSeed is not hex")
		}
		a.Secret = secret
		return a, nil
	}
	sep := ""
	switch {
	case t.OriginalIssuer != nil:
		a.Issuer = *t.OriginalIssuer
	case t.OriginalName != nil && strings.Contains(*t.OriginalName, ":"):
		a.Issuer, _, _ = strings.Cut(*t.OriginalName, ":")
		sep = ":"
	case strings.Contains(t.Name, " - "):
		a.Issuer, _, _ = strings.Cut(t.Name, " - ")
		sep = " - "
	default:
		r := []rune(t.AccountType)
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		a.Issuer = string(r)
	}
	a.Name = strings.TrimPrefix(strings.Replace(t.Name, a.Issuer+sep, "", 1), ": ")
	var secret string
	switch {
	case t.DecryptedSecret != nil:
		secret = *t.DecryptedSecret
	case t.EncryptedSecret != nil:
		s, err := authyDecrypt(*t.EncryptedSecret, t.Salt, password)
		if err != nil {
			return a, err
		}
		secret = s
	default:
		return a, otp.ErrMissingSecret
	}
	var err error
	if a.Secret, err = otp.DecodeSecret(secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	return a, nil
}

// authyDecrypt decrypts one encryptedSecret. A wrong password shows as bad
// padding or as a secret that is not base32.
func authyDecrypt(encrypted, salt string, password []byte) (string, error) {
	ciphertext, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil {
		return "", errors.New("encryptedSecret is not base64")
	}
	key, err := pbkdf2.Key(sha1.New, string(password), []byte(salt), authyPBKDFIter, 32)
	if err != nil {
		return "", err
	}
	plain, ok := decryptCBC(key, make([]byte, 16), ciphertext)
	if !ok {
		return "", fmt.Errorf("authy tokens: %w", ErrWrongPassword)
	}
	if _, err := otp.DecodeSecret(string(plain)); err != nil {
		return "", fmt.Errorf("authy tokens: %w", ErrWrongPassword)
	}
	return string(plain), nil
}
