//go:build !windows

package console

// Attach has nothing to do: a Unix program inherits its terminal.
func Attach() {}

// Detach has nothing to do either.
func Detach() {}
