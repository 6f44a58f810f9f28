package approver

import "time"

// Reconnection delays: full jitter over an exponential ceiling.
const (
	backoffBase    = 500 * time.Millisecond
	backoffMax     = 30 * time.Second
	backoffHealthy = time.Minute // a connection that lasted this long resets the ceiling
)

// backoff computes reconnection delays: a uniformly random wait between 0
// and a ceiling that starts at base and doubles with every failure up to
// max ("full jitter"). A connection that stayed up for healthy resets it.
type backoff struct {
	base, max, healthy time.Duration
	randN              func(n int64) int64 // uniform in [0, n)
	ceiling            time.Duration
}

func newBackoff(randN func(int64) int64) *backoff {
	return &backoff{base: backoffBase, max: backoffMax, healthy: backoffHealthy, randN: randN}
}

// Next returns how long to wait before the next attempt, given how long
// the last connection stayed up (0 when it never came up).
func (b *backoff) Next(up time.Duration) time.Duration {
	if up >= b.healthy || b.ceiling == 0 {
		b.ceiling = b.base
	} else {
		b.ceiling = min(2*b.ceiling, b.max)
	}
	return time.Duration(b.randN(int64(b.ceiling) + 1))
}
