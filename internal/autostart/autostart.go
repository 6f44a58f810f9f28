// Package autostart starts Countersign when the person logs in, the way
// their desktop expects: an XDG autostart entry
// ($XDG_CONFIG_HOME/autostart/io.github.countersign.Countersign.desktop) on
// Linux and the BSDs, the per-user Run key
// (HKCU\Software\Microsoft\Windows\CurrentVersion\Run, value
// "Countersign") on Windows. Enabled and Set read and write it; getenv
// reads XDG_CONFIG_HOME and HOME, and is not used on Windows.
//
// It starts Countersign as any other start does, so that the "Start hidden
// in the tray" setting decides whether the window shows. It does not run
// anything itself.
package autostart
