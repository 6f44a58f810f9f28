package otp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrNotMigration is returned for text that is not an otpauth-migration:// URI.
var ErrNotMigration = errors.New("not an otpauth-migration:// URI")

// Batch is one otpauth-migration://offline payload: Google Authenticator
// splits a large export into several QR codes, each a batch.
type Batch struct {
	Keys    []Key
	Version int
	Size    int // number of batches in the export
	Index   int // this batch's position, from 0
	ID      int // shared by the batches of one export
}

// Field numbers and enum values of Google Authenticator's MigrationPayload.
const (
	fieldOTPParameters = 1
	fieldVersion       = 2
	fieldBatchSize     = 3
	fieldBatchIndex    = 4
	fieldBatchID       = 5

	fieldSecret    = 1
	fieldName      = 2
	fieldIssuer    = 3
	fieldAlgorithm = 4
	fieldDigits    = 5
	fieldType      = 6
	fieldCounter   = 7

	migrationAlgorithmSHA1   = 1
	migrationAlgorithmSHA256 = 2
	migrationAlgorithmSHA512 = 3
	migrationAlgorithmMD5    = 4

	migrationDigitsSix   = 1
	migrationDigitsEight = 2

	migrationTypeHOTP = 1
	migrationTypeTOTP = 2
)

// ParseMigration decodes an otpauth-migration://offline?data=… URI.
// Every account in it must be valid, or none is returned.
func ParseMigration(s string) (Batch, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(strings.ToLower(s), "otpauth-migration://") {
		return Batch{}, ErrNotMigration
	}
	u, err := url.Parse(s)
	if err != nil {
		return Batch{}, fmt.Errorf("invalid otpauth-migration URI: %w", withoutURL(err))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Batch{}, fmt.Errorf("invalid otpauth-migration URI: %w", err)
	}
	data := q.Get("data")
	if data == "" {
		return Batch{}, errors.New("invalid otpauth-migration URI: missing data parameter")
	}
	raw, err := decodeBase64Loose(data)
	if err != nil {
		return Batch{}, fmt.Errorf("invalid otpauth-migration URI: data is not base64: %w", err)
	}
	b, err := DecodeMigrationPayload(raw)
	if err != nil {
		return Batch{}, fmt.Errorf("invalid otpauth-migration URI: %w", err)
	}
	return b, nil
}

// decodeBase64Loose accepts standard and URL-safe alphabets, padded or not:
// exporters and QR readers disagree on which one they produce.
func decodeBase64Loose(s string) ([]byte, error) {
	s = strings.NewReplacer("-", "+", "_", "/", " ", "+", "\n", "", "\r", "").Replace(s)
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// DecodeMigrationPayload decodes the protobuf MigrationPayload message.
func DecodeMigrationPayload(raw []byte) (Batch, error) {
	var b Batch
	err := walkMessage(raw, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == fieldOTPParameters && typ == protowire.BytesType:
			k, err := decodeParameters(v)
			if err != nil {
				return accountError(len(b.Keys), k, err)
			}
			b.Keys = append(b.Keys, k)
		case num == fieldVersion && typ == protowire.VarintType:
			b.Version = int(int32(n))
		case num == fieldBatchSize && typ == protowire.VarintType:
			b.Size = int(int32(n))
		case num == fieldBatchIndex && typ == protowire.VarintType:
			b.Index = int(int32(n))
		case num == fieldBatchID && typ == protowire.VarintType:
			b.ID = int(int32(n))
		}
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	if len(b.Keys) == 0 {
		return Batch{}, errors.New("the export holds no accounts")
	}
	return b, nil
}

func decodeParameters(raw []byte) (Key, error) {
	var (
		k                      Key
		algorithm, digits, typ uint64
		label                  string
	)
	err := walkMessage(raw, func(num protowire.Number, wt protowire.Type, v []byte, n uint64) error {
		switch {
		case num == fieldSecret && wt == protowire.BytesType:
			k.Secret = append([]byte(nil), v...)
		case num == fieldName && wt == protowire.BytesType:
			label = string(v)
		case num == fieldIssuer && wt == protowire.BytesType:
			k.Issuer = string(v)
		case num == fieldAlgorithm && wt == protowire.VarintType:
			algorithm = n
		case num == fieldDigits && wt == protowire.VarintType:
			digits = n
		case num == fieldType && wt == protowire.VarintType:
			typ = n
		case num == fieldCounter && wt == protowire.VarintType:
			k.Counter = n
		}
		return nil
	})
	if err != nil {
		return k, err
	}
	// The name is often the whole label, "Issuer:account".
	k.Issuer = strings.TrimSpace(k.Issuer)
	if _, name, ok := cutIssuer(label, k.Issuer); ok {
		k.Name = name
	} else if k.Issuer == "" {
		k.Issuer, k.Name = splitLabel(label)
	} else {
		k.Name = strings.TrimSpace(label)
	}

	switch algorithm {
	case 0, migrationAlgorithmSHA1:
		k.Algorithm = SHA1
	case migrationAlgorithmSHA256:
		k.Algorithm = SHA256
	case migrationAlgorithmSHA512:
		k.Algorithm = SHA512
	case migrationAlgorithmMD5:
		return k, errors.New("MD5 keys are not supported")
	default:
		return k, fmt.Errorf("unknown algorithm %d", algorithm)
	}
	switch digits {
	case 0, migrationDigitsSix:
		k.Digits = 6
	case migrationDigitsEight:
		k.Digits = 8
	default:
		return k, fmt.Errorf("unknown digits value %d", digits)
	}
	switch typ {
	case 0, migrationTypeTOTP:
		k.Type = TOTP
	case migrationTypeHOTP:
		k.Type = HOTP
	default:
		return k, fmt.Errorf("unknown type %d", typ)
	}
	k = k.Normalize()
	return k, k.Validate()
}

// accountError says which account of a batch, counted from 0, is wrong.
func accountError(i int, k Key, err error) error {
	if label := k.Label(); label != "" {
		return fmt.Errorf("account %d (%s): %w", i+1, label, err)
	}
	return fmt.Errorf("account %d: %w", i+1, err)
}

// ErrMalformedPayload is returned for bytes that are not a protobuf message.
var ErrMalformedPayload = errors.New("malformed payload")

// walkMessage calls fn for every field of a protobuf message. For varints n
// holds the value; for length-delimited fields v holds the bytes.
func walkMessage(raw []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for at := 0; at < len(raw); {
		num, typ, tagLen := protowire.ConsumeTag(raw[at:])
		if tagLen < 0 {
			return fmt.Errorf("%w: bad field tag at byte %d", ErrMalformedPayload, at)
		}
		var (
			v      []byte
			n      uint64
			valLen int
		)
		switch rest := raw[at+tagLen:]; typ {
		case protowire.VarintType:
			n, valLen = protowire.ConsumeVarint(rest)
		case protowire.BytesType:
			v, valLen = protowire.ConsumeBytes(rest)
		default:
			valLen = protowire.ConsumeFieldValue(num, typ, rest)
		}
		if valLen < 0 {
			return fmt.Errorf("%w: field %d at byte %d is cut short or corrupt", ErrMalformedPayload, num, at)
		}
		at += tagLen + valLen
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotExportable is returned by EncodeMigration for a key Google
// Authenticator's format cannot carry (7 digits, a period other than 30
// seconds, Steam codes).
var ErrNotExportable = errors.New("cannot be represented in a Google Authenticator export")

// EncodeMigrationPayload encodes keys as one MigrationPayload message.
func EncodeMigrationPayload(b Batch) ([]byte, error) {
	return encodePayload(b, 0)
}

// encodePayload encodes b, numbering accounts in errors from first.
func encodePayload(b Batch, first int) ([]byte, error) {
	var out []byte
	for i, k := range b.Keys {
		k = k.Normalize()
		if err := k.Validate(); err != nil {
			return nil, accountError(first+i, k, err)
		}
		p, err := encodeParameters(k)
		if err != nil {
			return nil, accountError(first+i, k, err)
		}
		out = protowire.AppendTag(out, fieldOTPParameters, protowire.BytesType)
		out = protowire.AppendBytes(out, p)
	}
	for _, f := range []struct {
		num protowire.Number
		v   int
	}{{fieldVersion, b.Version}, {fieldBatchSize, b.Size}, {fieldBatchIndex, b.Index}, {fieldBatchID, b.ID}} {
		out = protowire.AppendTag(out, f.num, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(int64(f.v)))
	}
	return out, nil
}

func encodeParameters(k Key) ([]byte, error) {
	var digits, algorithm, typ uint64
	switch {
	case k.IsSteam():
		return nil, fmt.Errorf("steam codes %w", ErrNotExportable)
	case k.Digits == 6:
		digits = migrationDigitsSix
	case k.Digits == 8:
		digits = migrationDigitsEight
	default:
		return nil, fmt.Errorf("%d digits %w", k.Digits, ErrNotExportable)
	}
	if k.Type == TOTP && k.Period != DefaultPeriod {
		return nil, fmt.Errorf("a %d-second period %w", k.Period, ErrNotExportable)
	}
	switch k.Algorithm {
	case SHA256:
		algorithm = migrationAlgorithmSHA256
	case SHA512:
		algorithm = migrationAlgorithmSHA512
	default:
		algorithm = migrationAlgorithmSHA1
	}
	typ = migrationTypeTOTP
	if k.Type == HOTP {
		typ = migrationTypeHOTP
	}
	// Google Authenticator writes the label as the name; an empty issuer
	// prefix keeps a colon in an issuer-less name from reading as one.
	name := k.Name
	if k.Issuer != "" || strings.Contains(k.Name, ":") {
		name = k.Issuer + ":" + k.Name
	}
	var p []byte
	p = protowire.AppendTag(p, fieldSecret, protowire.BytesType)
	p = protowire.AppendBytes(p, k.Secret)
	p = protowire.AppendTag(p, fieldName, protowire.BytesType)
	p = protowire.AppendString(p, name)
	p = protowire.AppendTag(p, fieldIssuer, protowire.BytesType)
	p = protowire.AppendString(p, k.Issuer)
	for _, f := range []struct {
		num protowire.Number
		v   uint64
	}{{fieldAlgorithm, algorithm}, {fieldDigits, digits}, {fieldType, typ}, {fieldCounter, k.Counter}} {
		p = protowire.AppendTag(p, f.num, protowire.VarintType)
		p = protowire.AppendVarint(p, f.v)
	}
	return p, nil
}

// MigrationBatchSize is how many accounts Google Authenticator puts in one QR code.
const MigrationBatchSize = 10

// EncodeMigration writes keys as otpauth-migration://offline URIs, at most
// perBatch accounts each (MigrationBatchSize when perBatch <= 0), all with the
// given batch id, which must fit in 32 bits.
func EncodeMigration(keys []Key, perBatch, batchID int) ([]string, error) {
	if len(keys) == 0 {
		return nil, errors.New("no accounts to export")
	}
	if batchID != int(int32(batchID)) {
		return nil, fmt.Errorf("batch id %d does not fit in 32 bits", batchID)
	}
	if perBatch <= 0 {
		perBatch = MigrationBatchSize
	}
	size := (len(keys) + perBatch - 1) / perBatch
	uris := make([]string, 0, size)
	for i := 0; i < size; i++ {
		end := min((i+1)*perBatch, len(keys))
		raw, err := encodePayload(Batch{Keys: keys[i*perBatch : end], Version: 1, Size: size, Index: i, ID: batchID}, i*perBatch)
		if err != nil {
			return nil, err
		}
		uris = append(uris, "otpauth-migration://offline?data="+url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
	}
	return uris, nil
}
