package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// lockFile takes the vault's cross-process write lock, waiting up to timeout.
func lockFile(path string, timeout time.Duration) (unlock func(), err error) {
	l := flock.New(path)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("lock vault: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("another Countersign process has held the vault lock %s for %s; close it and try again", path, timeout)
	}
	return func() { _ = l.Unlock() }, nil
}
