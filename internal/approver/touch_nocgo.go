//go:build !cgo

package approver

import (
	"context"
	"encoding/json"
	"errors"
)

// FIDOToucher returns a KeyToucher that always fails: this build has no libfido2.
func FIDOToucher() KeyToucher { return noFIDO{} }

type noFIDO struct{}

func (noFIDO) Touch(context.Context, json.RawMessage, string) (json.RawMessage, error) {
	return nil, errors.New("this build of countersign was built without libfido2: security keys are not available")
}
