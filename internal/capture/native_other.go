//go:build darwin || windows

package capture

// nativeCapture is true where the platform has one capture API.
const nativeCapture = true
