// Package console gives the Windows build of Countersign, a GUI-subsystem
// program (no console window when the window starts from the Start menu),
// the console it was started from, so that its command line prints and
// reads in cmd, PowerShell or Windows Terminal. Elsewhere it does nothing:
// a Unix program inherits its terminal.
package console
