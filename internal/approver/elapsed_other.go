//go:build !linux

package approver

import "time"

var processStart = time.Now()

// systemElapsed is the time since the process started on Go's monotonic
// clock, which does not move when the wall clock is set.
func systemElapsed() time.Duration { return time.Since(processStart) }
