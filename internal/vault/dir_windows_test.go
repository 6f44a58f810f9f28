package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func TestDefaultDirOnWindows(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"APPDATA": `C:\Users\Ada\AppData\Roaming`}, `C:\Users\Ada\AppData\Roaming\Countersign`},
		{map[string]string{"APPDATA": `C:\Users\Ada\AppData\Roaming`, "COUNTERSIGN_HOME": `D:\cs`}, `D:\cs`},
		// XDG's variables mean nothing here.
		{map[string]string{"APPDATA": `C:\Users\Ada\AppData\Roaming`, "XDG_DATA_HOME": `C:\xdg`, "HOME": `C:\home`}, `C:\Users\Ada\AppData\Roaming\Countersign`},
	} {
		got, err := DefaultDir(env(tc.env))
		if err != nil || got != tc.want {
			t.Errorf("env %v: %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	// No APPDATA (or a relative one): the folder Windows knows for it,
	// which is where Windows pointed this process's own APPDATA.
	real := os.Getenv("APPDATA")
	if real == "" {
		t.Fatal("this process has no APPDATA to compare with")
	}
	for _, appdata := range []string{"", `relative\dir`} {
		got, err := DefaultDir(env(map[string]string{"APPDATA": appdata}))
		if err != nil {
			t.Fatalf("APPDATA %q: %v", appdata, err)
		}
		if want := filepath.Join(real, "Countersign"); !strings.EqualFold(got, want) {
			t.Errorf("APPDATA %q: %q, want %q", appdata, got, want)
		}
	}
}

// TestWriteErrorOnAFullWindowsDisk: Windows' own "disk full" numbers get the
// same advice as ENOSPC on Linux.
func TestWriteErrorOnAFullWindowsDisk(t *testing.T) {
	for _, errno := range []windows.Errno{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED} {
		err := writeError(`C:\cs`, &os.PathError{Op: "write", Path: `C:\cs\.vault.tmp-1`, Err: errno})
		if !strings.Contains(err.Error(), `no space left on the disk holding C:\cs`) {
			t.Errorf("%v: %v", uint32(errno), err)
		}
	}
}
