//go:build !windows

package main

// attachConsole has nothing to do: a Unix program inherits its terminal.
func attachConsole() {}
