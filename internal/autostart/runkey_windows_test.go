package autostart

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// TestRunKeyRoundTrip writes Countersign into the real per-user Run key
// and reads it back through the registry, restoring what was there.
func TestRunKeyRoundTrip(t *testing.T) {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if before, _, err := k.GetStringValue(valueName); err == nil {
		t.Cleanup(func() { k.SetStringValue(valueName, before) })
	} else {
		t.Cleanup(func() { k.DeleteValue(valueName) })
	}
	k.DeleteValue(valueName)

	if Enabled(nil) {
		t.Fatal("enabled with no value in the Run key")
	}
	exe := `C:\Program Files\Countersign\countersign.exe`
	if err := Set(nil, exe, true); err != nil {
		t.Fatal(err)
	}
	got, typ, err := k.GetStringValue(valueName)
	if err != nil || typ != registry.SZ || got != `"`+exe+`"` {
		t.Errorf("the Run key holds %q (type %d, %v), want %q as REG_SZ", got, typ, err, `"`+exe+`"`)
	}
	if !Enabled(nil) {
		t.Error("not enabled with the value in the Run key")
	}
	// Again (e.g. the program moved): the value is replaced.
	if err := Set(nil, `D:\cs\countersign.exe`, true); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := k.GetStringValue(valueName); got != `"D:\cs\countersign.exe"` {
		t.Errorf("after a second Set the Run key holds %q", got)
	}
	if err := Set(nil, exe, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.GetStringValue(valueName); !errors.Is(err, registry.ErrNotExist) {
		t.Errorf("the value is still there after turning it off: %v", err)
	}
	if Enabled(nil) {
		t.Error("still enabled after turning it off")
	}
	if err := Set(nil, exe, false); err != nil {
		t.Errorf("turning off what is off: %v", err)
	}
}
