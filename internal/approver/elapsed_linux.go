package approver

import (
	"time"

	"golang.org/x/sys/unix"
)

// systemElapsed is the time since boot, suspend included (CLOCK_BOOTTIME):
// unlike the wall clock it does not move when the clock is set, and unlike
// Go's monotonic clock it does not stop while the machine sleeps.
func systemElapsed() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Duration(time.Now().UnixNano()) // no jump is told from a step then
	}
	return time.Duration(ts.Nano())
}
