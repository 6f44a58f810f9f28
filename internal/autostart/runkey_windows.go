package autostart

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// runKey is the per-user Run key: Windows starts each of its values'
// command lines when the person signs in (Task Manager's Startup tab lists
// them, and can turn them off).
const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// valueName names Countersign's value in the Run key.
const valueName = "Countersign"

// Enabled reports whether the Run key has Countersign's value.
func Enabled(func(string) string) bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	_, _, err = k.GetStringValue(valueName)
	return err == nil
}

// Set writes (on) or removes (off) Countersign's value in the Run key: the
// quoted path of exe, so that a path with spaces ("C:\Program Files\…")
// starts as one program.
func Set(_ func(string) string, exe string, on bool) error {
	if !on {
		k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
		if errors.Is(err, registry.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to open the Run key (HKCU\\%s) to remove Countersign from it: %w", runKey, err)
		}
		defer k.Close()
		if err := k.DeleteValue(valueName); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return fmt.Errorf("failed to remove Countersign from the Run key (HKCU\\%s): %w", runKey, err)
		}
		return nil
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("failed to open the Run key (HKCU\\%s): %w; check that a policy does not forbid editing the registry", runKey, err)
	}
	defer k.Close()
	if err := k.SetStringValue(valueName, `"`+exe+`"`); err != nil {
		return fmt.Errorf("failed to add Countersign to the Run key (HKCU\\%s): %w", runKey, err)
	}
	return nil
}
