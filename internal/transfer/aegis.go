package transfer

// Aegis vault format: docs/vault.md in github.com/beemdevelopment/Aegis.
//
//	{"version": 1, "header": {"slots": …, "params": …}, "db": …}
//
// "db" is an object in a plain vault and base64 AES-256-GCM ciphertext in an
// encrypted one. Each password slot (type 1) holds the master key encrypted
// with AES-256-GCM under scrypt(password, salt, n, r, p); the master key
// decrypts db with the nonce and tag in header.params. Nonces, tags, keys and
// salts are hex. The content is {"version": 1…3, "entries": […], "groups":
// […]}: version 3 lists groups by uuid and entries refer to them in "groups",
// earlier versions name one "group" per entry.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/scrypt"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

type aegisFile struct {
	Version int             `json:"version"`
	Header  aegisHeader     `json:"header"`
	DB      json.RawMessage `json:"db"`
}

type aegisHeader struct {
	Slots  []aegisSlot  `json:"slots"`
	Params *aegisParams `json:"params"`
}

type aegisParams struct {
	Nonce string `json:"nonce"`
	Tag   string `json:"tag"`
}

type aegisSlot struct {
	Type      int         `json:"type"`
	UUID      string      `json:"uuid"`
	Key       string      `json:"key"`
	KeyParams aegisParams `json:"key_params"`
	N         int         `json:"n"`
	R         int         `json:"r"`
	P         int         `json:"p"`
	Salt      string      `json:"salt"`
}

type aegisDB struct {
	Version        int               `json:"version"`
	Entries        []json.RawMessage `json:"entries"`
	Groups         []aegisGroup      `json:"groups,omitempty"`
	IconsOptimized bool              `json:"icons_optimized,omitempty"`
}

type aegisGroup struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

type aegisEntry struct {
	Type     string    `json:"type"`
	UUID     string    `json:"uuid"`
	Name     string    `json:"name"`
	Issuer   string    `json:"issuer"`
	Note     string    `json:"note"`
	Favorite bool      `json:"favorite"`
	Icon     *string   `json:"icon"`
	Info     aegisInfo `json:"info"`
	Groups   []string  `json:"groups"`          // db version 3: group uuids
	Group    *string   `json:"group,omitempty"` // db versions 1 and 2: a group name
}

type aegisInfo struct {
	Secret  string  `json:"secret"`
	Algo    string  `json:"algo"`
	Digits  int     `json:"digits"`
	Period  *int    `json:"period,omitempty"`
	Counter *uint64 `json:"counter,omitempty"`
}

const (
	aegisSlotPassword = 1
	aegisMaxDBVersion = 3
	aegisMaxSlotTries = 8 // a hostile file cannot make us run scrypt more often
)

func parseAegis(data []byte, opts Options) (parsed, error) {
	var p parsed
	var file aegisFile
	if err := decodeFile("Aegis", data, &file); err != nil {
		return p, err
	}
	if file.Version != 1 {
		return p, fmt.Errorf("unsupported Aegis vault version %d (this importer reads version 1)", file.Version)
	}
	raw := bytes.TrimSpace(file.DB)
	var content []byte
	switch {
	case len(raw) > 0 && raw[0] == '{':
		content = raw
	case len(raw) > 0 && raw[0] == '"':
		p.encrypted = true
		var ciphertext string
		if err := json.Unmarshal(raw, &ciphertext); err != nil {
			return p, fmt.Errorf("aegis vault: db is not a string: %w", err)
		}
		var err error
		if content, err = decryptAegis(file.Header, ciphertext, opts.Password); err != nil {
			return p, err
		}
		data = content // error positions refer to the decrypted content
	default:
		return p, errors.New("not a valid Aegis vault: db is neither an object nor encrypted content")
	}
	var db aegisDB
	if err := decodePart("Aegis", data, content, &db); err != nil {
		return p, err
	}
	if db.Version < 1 || db.Version > aegisMaxDBVersion {
		return p, fmt.Errorf("unsupported Aegis database version %d (this importer reads versions 1 to %d)", db.Version, aegisMaxDBVersion)
	}
	groups := make(map[string]string, len(db.Groups))
	for _, g := range db.Groups {
		groups[strings.ToLower(g.UUID)] = g.Name
	}
	for i, raw := range db.Entries {
		a, err := aegisAccount(raw, groups)
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

func aegisAccount(raw json.RawMessage, groups map[string]string) (vault.Account, error) {
	var e aegisEntry
	err := decodeEntry(raw, &e)
	a := vault.Account{Key: otp.Key{Issuer: e.Issuer, Name: e.Name}, Notes: e.Note, Pinned: e.Favorite}
	if err != nil {
		return a, err
	}
	switch t := strings.ToLower(e.Type); t {
	case "totp":
		a.Type = otp.TOTP
	case "hotp":
		a.Type = otp.HOTP
	case "steam":
		a.Type, a.Encoder = otp.TOTP, otp.EncoderSteam
	case "yandex", "motp":
		return a, fmt.Errorf("%s keys are not supported", t)
	default:
		return a, fmt.Errorf("type %q: %w", e.Type, otp.ErrUnknownType)
	}
	if a.Secret, err = otp.DecodeSecret(e.Info.Secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	a.Algorithm = otp.Algorithm(strings.ToUpper(e.Info.Algo))
	a.Digits = e.Info.Digits
	if e.Info.Period != nil {
		a.Period = *e.Info.Period
		if a.Type == otp.TOTP && a.Period == 0 {
			return a, fmt.Errorf("period 0: %w", otp.ErrBadPeriod)
		}
	}
	if a.Type == otp.HOTP {
		if e.Info.Counter == nil {
			return a, errors.New("hotp entry has no counter")
		}
		a.Counter = *e.Info.Counter
	}
	if e.Groups != nil {
		for _, id := range e.Groups {
			// Aegis drops references to groups the vault does not list.
			if name, ok := groups[strings.ToLower(id)]; ok {
				a.Tags = append(a.Tags, name)
			}
		}
	} else if e.Group != nil {
		a.Tags = append(a.Tags, *e.Group)
	}
	return a, nil
}

func decryptAegis(h aegisHeader, ciphertext string, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("aegis vault is encrypted: %w", ErrPasswordRequired)
	}
	if h.Params == nil {
		return nil, errors.New("not a valid Aegis vault: encrypted db but no header params")
	}
	sealed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ciphertext))
	if err != nil {
		return nil, fmt.Errorf("not a valid Aegis vault: db is not base64: %w", err)
	}
	var tried int
	for _, s := range h.Slots {
		if s.Type != aegisSlotPassword {
			continue
		}
		if tried++; tried > aegisMaxSlotTries {
			break
		}
		masterKey, err := openAegisSlot(s, password)
		if errors.Is(err, ErrWrongPassword) {
			continue
		}
		if err != nil {
			return nil, err
		}
		content, err := aegisOpen(masterKey, *h.Params, sealed)
		if err != nil {
			return nil, fmt.Errorf("aegis vault content does not decrypt with its master key (the file is damaged): %w", err)
		}
		return content, nil
	}
	if tried == 0 {
		return nil, errors.New("aegis vault has no password slot (it unlocks only with biometrics): " +
			"set a password in Aegis and export again")
	}
	return nil, fmt.Errorf("aegis vault: %w", ErrWrongPassword)
}

// openAegisSlot derives the slot's key from the password and decrypts the
// master key with it; a key that does not decrypt is ErrWrongPassword.
func openAegisSlot(s aegisSlot, password []byte) ([]byte, error) {
	if err := checkScrypt(s.N, s.R, s.P); err != nil {
		return nil, fmt.Errorf("aegis password slot: %w", err)
	}
	salt, err := hex.DecodeString(s.Salt)
	if err != nil || len(salt) == 0 {
		return nil, errors.New("aegis password slot: salt is not hex")
	}
	encryptedKey, err := hex.DecodeString(s.Key)
	if err != nil {
		return nil, errors.New("aegis password slot: key is not hex")
	}
	key, err := scrypt.Key(password, salt, s.N, s.R, s.P, 32)
	if err != nil {
		return nil, fmt.Errorf("aegis password slot: %w", err)
	}
	masterKey, err := aegisOpen(key, s.KeyParams, encryptedKey)
	if errors.Is(err, errAuth) {
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, fmt.Errorf("aegis password slot: %w", err)
	}
	if len(masterKey) != 32 {
		return nil, errors.New("aegis password slot: the master key is not 256 bits")
	}
	return masterKey, nil
}

var errAuth = errors.New("message authentication failed")

// aegisOpen decrypts AES-256-GCM ciphertext whose nonce and tag are stored
// apart from it, in hex.
func aegisOpen(key []byte, params aegisParams, ciphertext []byte) ([]byte, error) {
	nonce, err := hex.DecodeString(params.Nonce)
	if err != nil || len(nonce) != 12 {
		return nil, errors.New("nonce is not 12 bytes of hex")
	}
	tag, err := hex.DecodeString(params.Tag)
	if err != nil || len(tag) != 16 {
		return nil, errors.New("tag is not 16 bytes of hex")
	}
	aead, err := newGCM(key, len(nonce))
	if err != nil {
		return nil, err
	}
	sealed := append(append([]byte(nil), ciphertext...), tag...)
	plain, err := aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, errAuth
	}
	return plain, nil
}

func newGCM(key []byte, nonceSize int) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithNonceSize(block, nonceSize)
}

// checkScrypt refuses parameters scrypt rejects and costs no real vault uses
// (Aegis uses n=32768, r=8, p=1): at most 1 GiB of memory and 64 times
// Aegis's work.
func checkScrypt(n, r, p int) error {
	switch {
	case n < 2 || n&(n-1) != 0:
		return fmt.Errorf("scrypt n=%d is not a power of two", n)
	case r < 1 || p < 1:
		return fmt.Errorf("scrypt r=%d p=%d must be positive", r, p)
	case n > 1<<20 || r > 64 || p > 64 ||
		int64(n)*int64(r) > 1<<23 || int64(n)*int64(r)*int64(p) > 1<<24:
		return fmt.Errorf("scrypt parameters n=%d r=%d p=%d are too costly (the limit is 1 GiB of memory)", n, r, p)
	}
	return nil
}

// ExportAegis writes the accounts as a plain (unencrypted) Aegis vault,
// database version 3: tags become Aegis groups, notes its notes, pinned its
// favourites. Extra URI parameters and times have no place in it. The uuids
// Aegis needs are drawn from rand.
func ExportAegis(w io.Writer, accounts []vault.Account, rand io.Reader) error {
	keys, err := exportKeys(accounts)
	if err != nil {
		return err
	}
	groupIDs := map[string]string{}
	var groups []aegisGroup
	entries := make([]json.RawMessage, len(keys))
	for i, k := range keys {
		a := accounts[i]
		id, err := newUUID(rand)
		if err != nil {
			return err
		}
		e := aegisEntry{
			Type: string(k.Type), UUID: id, Name: k.Name, Issuer: k.Issuer,
			Note: a.Notes, Favorite: a.Pinned, Groups: []string{},
			Info: aegisInfo{Secret: k.SecretBase32(), Algo: string(k.Algorithm), Digits: k.Digits},
		}
		if k.IsSteam() {
			e.Type = "steam"
		}
		if k.Type == otp.HOTP {
			e.Info.Counter = &k.Counter
		} else {
			e.Info.Period = &k.Period
		}
		for _, tag := range vault.CleanTags(a.Tags) {
			gid, ok := groupIDs[tag]
			if !ok {
				if gid, err = newUUID(rand); err != nil {
					return err
				}
				groupIDs[tag] = gid
				groups = append(groups, aegisGroup{UUID: gid, Name: tag})
			}
			e.Groups = append(e.Groups, gid)
		}
		if entries[i], err = json.Marshal(e); err != nil {
			return fmt.Errorf("encode aegis entry: %w", err)
		}
	}
	if groups == nil {
		groups = []aegisGroup{}
	}
	out := struct {
		Version int `json:"version"`
		Header  struct {
			Slots  []aegisSlot  `json:"slots"`
			Params *aegisParams `json:"params"`
		} `json:"header"`
		DB aegisDB `json:"db"`
	}{Version: 1, DB: aegisDB{Version: aegisMaxDBVersion, Entries: entries, Groups: groups, IconsOptimized: true}}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return fmt.Errorf("encode aegis vault: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write aegis vault: %w", err)
	}
	return nil
}

// newUUID draws a version 4 UUID from rand.
func newUUID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
