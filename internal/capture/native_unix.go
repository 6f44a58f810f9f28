//go:build !darwin && !windows

package capture

// nativeCapture is false where the session type (X11 or Wayland) decides.
const nativeCapture = false
