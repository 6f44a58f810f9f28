package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Detect names the format of data from its content. It does not decrypt or
// validate anything: Import reports what is wrong inside the file.
func Detect(data []byte) (Format, error) {
	text := trimBOM(data)
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%w: the file is empty", ErrUnknownFormat)
	}
	if !utf8.Valid(text) || bytes.IndexByte(text, 0) >= 0 || hasStratumHeader(data) {
		return detectBinary(data)
	}
	switch trimmed[0] {
	case '{', '[':
		return detectJSON(trimmed)
	case '<':
		return detectXML(trimmed)
	}
	return detectText(string(text))
}

// detectBinary recognises the binary files: SQLite databases by the table
// the app creates (its CREATE TABLE text is in the file's schema), a
// Stratum backup by its header, and an andOTP backup by its leading PBKDF2
// iteration count. Older andOTP backups have no header at all: they import
// with the format named (--format andotp).
func detectBinary(data []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(data, []byte(sqliteMagic)):
		switch {
		case bytes.Contains(data, []byte("oath_secret_key")):
			return FormatMicrosoft, nil
		case bytes.Contains(data, []byte("original_name")) ||
			(bytes.Contains(data, []byte("CREATE TABLE accounts")) && bytes.Contains(data, []byte("email"))):
			return FormatGoogleDB, nil
		}
		return "", fmt.Errorf("%w: an SQLite database that is neither Google Authenticator's nor Microsoft Authenticator's; supported formats: %s",
			ErrUnknownFormat, supportedList())
	case hasStratumHeader(data):
		return FormatStratum, nil
	}
	if _, ok := andOTPIterations(data); ok {
		return FormatAndOTP, nil
	}
	return "", fmt.Errorf("%w: the file is binary and none of the supported exports "+
		"(an encrypted backup of an older andOTP imports with the format named: andotp); supported formats: %s",
		ErrUnknownFormat, supportedList())
}

// detectXML recognises the Android preferences files of Authy and FreeOTP.
func detectXML(data []byte) (Format, error) {
	switch {
	case bytes.Contains(data, []byte(authyKey)) || bytes.Contains(data, []byte(authyOwnKey)):
		return FormatAuthy, nil
	case bytes.Contains(data, []byte("<map")) && (bytes.Contains(data, []byte(freeOTPOrder)) ||
		bytes.Contains(data, []byte("&quot;secret&quot;")) || bytes.Contains(data, []byte(`"secret"`))):
		return FormatFreeOTPXML, nil
	}
	return "", fmt.Errorf("%w: an XML file that is none of the supported exports; supported formats: %s",
		ErrUnknownFormat, supportedList())
}

// detectJSON recognises each app's export by its top-level keys. Malformed
// JSON is recognised by the same keys appearing in the text, so that the
// format's parser can report where the JSON breaks.
func detectJSON(data []byte) (Format, error) {
	var (
		obj   map[string]json.RawMessage
		arr   []json.RawMessage
		valid bool
	)
	if data[0] == '[' {
		valid = json.Unmarshal(data, &arr) == nil
	} else {
		valid = json.Unmarshal(data, &obj) == nil
	}
	has := func(key string) bool {
		if valid {
			_, ok := obj[key]
			return ok
		}
		return bytes.Contains(data, []byte(`"`+key+`"`))
	}

	if data[0] == '[' {
		// andOTP writes a bare array of entries.
		if (valid && (len(arr) == 0 || bytes.Contains(arr[0], []byte(`"secret"`)))) || (!valid && has("secret")) {
			return FormatAndOTP, nil
		}
		return "", unknownJSON(valid)
	}
	var format string
	if valid {
		_ = json.Unmarshal(obj["format"], &format)
	} else if bytes.Contains(data, []byte(`"`+backupFormatName+`"`)) {
		format = backupFormatName
	}
	switch {
	case format == backupFormatName:
		return FormatBackup, nil
	case has("db") && has("header"):
		return FormatAegis, nil
	case has("servicesEncrypted") || has("services"):
		return Format2FAS, nil
	case has("items") || (has("encrypted") && has("encKeyValidation_DO_NOT_EDIT")):
		return FormatBitwarden, nil
	case has("tokens"):
		return FormatFreeOTP, nil
	case has("Authenticators"):
		return FormatStratum, nil
	case has("version") && (has("entries") || (has("salt") && has("content"))):
		return FormatProton, nil
	}
	return "", unknownJSON(valid)
}

func unknownJSON(valid bool) error {
	what := "a JSON file"
	if !valid {
		what = "a malformed JSON file"
	}
	return fmt.Errorf("%w: %s that is none of the supported exports; supported formats: %s",
		ErrUnknownFormat, what, supportedList())
}

// detectText recognises a list of otpauth:// or otpauth-migration:// URIs;
// a list of only migration URIs is FormatMigration.
func detectText(text string) (Format, error) {
	uris, migrations := 0, 0
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case hasPrefixFold(line, migrationScheme):
			migrations++
		case hasPrefixFold(line, uriScheme):
			uris++
		}
	}
	switch {
	case uris > 0 && isEnte(text):
		return FormatEnte, nil
	case uris > 0:
		return FormatURIs, nil
	case migrations > 0:
		return FormatMigration, nil
	}
	return "", fmt.Errorf("%w: a text file with no otpauth:// or otpauth-migration:// URI in it; supported formats: %s",
		ErrUnknownFormat, supportedList())
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
