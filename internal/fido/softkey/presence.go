package softkey

import (
	"context"
	"errors"
)

// ErrPresenceDenied is returned by a Presence func when the user refuses;
// the authenticator answers CTAP2_ERR_OPERATION_DENIED.
var ErrPresenceDenied = errors.New("softkey: user presence denied")

// Presence asks for a touch. It returns nil once the user is present,
// ErrPresenceDenied when they refuse, or ctx's error when the request is
// cancelled by the platform or the key's presence timeout passes (the key
// then answers CTAP2_ERR_KEEPALIVE_CANCEL or CTAP2_ERR_USER_ACTION_TIMEOUT).
// rpID is the relying party the touch is for, "" for reset.
type Presence func(ctx context.Context, rpID string) error

// AlwaysPresent approves every request at once, like a key whose button is
// taped down. It is the default.
func AlwaysPresent(context.Context, string) error { return nil }

// NeverPresent waits until the request is cancelled or times out.
func NeverPresent(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

// ManualPresence waits for a value on touches: true approves, false denies.
func ManualPresence(touches <-chan bool) Presence {
	return func(ctx context.Context, _ string) error {
		select {
		case ok := <-touches:
			if !ok {
				return ErrPresenceDenied
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
