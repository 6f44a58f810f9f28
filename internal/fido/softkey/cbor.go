package softkey

import (
	"errors"

	"github.com/fxamacker/cbor/v2"
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CTAP2EncOptions().EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  8,
		MaxArrayElements: 64,
		MaxMapPairs:      64,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// params is a CTAP2 request or subcommand parameter map keyed by integers.
type params map[uint64]cbor.RawMessage

// parseParams reads a CBOR map with unsigned integer keys. An empty input is
// an empty map (getInfo-style commands carry no parameters).
func parseParams(b []byte) (params, error) {
	p := params{}
	if len(b) == 0 {
		return p, nil
	}
	if err := decMode.Unmarshal(b, &p); err != nil {
		var ute *cbor.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, errCBORUnexpectedType
		}
		return nil, errInvalidCBOR
	}
	return p, nil
}

// get decodes parameter k into v; it reports whether k was present.
func (p params) get(k uint64, v any) (bool, error) {
	raw, ok := p[k]
	if !ok {
		return false, nil
	}
	if err := decMode.Unmarshal(raw, v); err != nil {
		return true, errCBORUnexpectedType
	}
	return true, nil
}

// need decodes a required parameter.
func (p params) need(k uint64, v any) error {
	ok, err := p.get(k, v)
	if err != nil {
		return err
	}
	if !ok {
		return errMissingParameter
	}
	return nil
}

func mustMarshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err) // only ever called on values built here
	}
	return b
}

type rpEntity struct {
	ID   string `cbor:"id"`
	Name string `cbor:"name,omitempty"`
}

type userEntity struct {
	ID          []byte `cbor:"id"`
	Name        string `cbor:"name,omitempty"`
	DisplayName string `cbor:"displayName,omitempty"`
}

type credDescriptor struct {
	Type string `cbor:"type"`
	ID   []byte `cbor:"id"`
}

type credParam struct {
	Alg  int64  `cbor:"alg"`
	Type string `cbor:"type"`
}
