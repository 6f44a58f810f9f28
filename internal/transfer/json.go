package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// jsonError is a JSON decoding error told in people's terms: the format, the
// line and column, and the field, never Go type names or the offending value
// (which could be a secret).
type jsonError struct {
	msg string
	err error
}

func (e *jsonError) Error() string { return e.msg }
func (e *jsonError) Unwrap() error { return e.err }

// decodeFile decodes a whole file into v.
func decodeFile(what string, data []byte, v any) error {
	return decodePart(what, data, data, v)
}

// decodePart decodes part, a piece of file (such as an object nested in it),
// into v; error positions refer to file when part is found in it.
func decodePart(what string, file, part []byte, v any) error {
	err := json.Unmarshal(part, v)
	if err == nil {
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		off int64 = -1
	)
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	msg := "not valid " + what + " JSON"
	if off >= 0 {
		base := bytes.Index(file, part)
		if base < 0 {
			file, base = part, 0
		}
		line, col := position(file, base+int(off))
		msg += fmt.Sprintf(": line %d, column %d", line, col)
	}
	return &jsonError{msg: msg + ": " + describeJSON(err), err: err}
}

// decodeEntry decodes one entry of a file. Its errors become the entry's
// reason; the entry's index already says where it is.
func decodeEntry(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &jsonError{msg: "not a valid entry: " + describeJSON(err), err: err}
	}
	return nil
}

func describeJSON(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		got, _, _ := strings.Cut(typ.Value, " ") // "number 12345": keep the kind, not the value
		s := fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type), got)
		if typ.Field != "" {
			s = "field " + typ.Field + ": " + s
		}
		return s
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error()
	}
	return "unexpected content"
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}

// position turns the byte offset json reports (just past the offending byte)
// into a 1-based line and column, counting columns in characters.
func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off > 0 {
		off--
	}
	prefix := data[:off]
	line = 1 + bytes.Count(prefix, []byte{'\n'})
	lineStart := bytes.LastIndexByte(prefix, '\n') + 1
	col = 1 + utf8.RuneCount(prefix[lineStart:])
	return line, col
}

// trimBOM drops a UTF-8 byte order mark, which Windows editors add.
func trimBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
}
