//go:build !windows

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/countersign/countersign/internal/atomicfile"
)

// autostartName is the file name of the XDG autostart entry; it is the
// app's id, so that it names the app to the desktop.
const autostartName = "io.github.countersign.Countersign.desktop"

// autostartPath is where the autostart entry lives:
// $XDG_CONFIG_HOME/autostart, or ~/.config/autostart when that is unset or
// not absolute (as the XDG Base Directory spec says).
func autostartPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", autostartName), nil
}

// autostartEntry is the desktop entry that starts exe when the person logs
// in. It starts it as any other start does, so that the "Start hidden in
// the tray" setting, which every start reads, decides whether the window
// shows: one setting, whichever way Countersign starts.
func autostartEntry(exe string) []byte {
	return []byte("[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=Countersign\n" +
		"Comment=Authenticator codes, started at login\n" +
		"Exec=" + execArg(exe) + "\n" +
		"Icon=io.github.countersign.Countersign\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n")
}

// execArg quotes an argument of a desktop entry's Exec key when it needs it
// (Desktop Entry Specification, "The Exec key").
func execArg(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`") {
		return s
	}
	q := `"` + strings.NewReplacer(`"`, `\"`, "`", "\\`", `$`, `\$`, `\`, `\\`).Replace(s) + `"`
	return strings.ReplaceAll(q, `\`, `\\`) // the value is a string: its backslashes are escaped once more
}

// Enabled reports whether the autostart entry exists.
func Enabled(getenv func(string) string) bool {
	path, err := autostartPath(getenv)
	if err != nil {
		return false
	}
	_, err = os.Stat(path)
	return err == nil
}

// Set writes (on) or removes (off) the autostart entry that starts exe.
func Set(getenv func(string) string, exe string, on bool) error {
	path, err := autostartPath(getenv)
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to remove the autostart entry: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("failed to create the autostart folder: %w", err)
	}
	if err := atomicfile.WriteFile(path, autostartEntry(exe), 0o644); err != nil {
		return fmt.Errorf("failed to write the autostart entry: %w", err)
	}
	return nil
}
