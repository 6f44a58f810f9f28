package clocale

import "testing"

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // LANGUAGE afterwards, "" when untouched
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "en"},
		{map[string]string{"LC_ALL": "POSIX.utf8", "LANG": "de_DE.UTF-8"}, "en"},
		{map[string]string{"LANG": "C"}, ""}, // go-locale handles plain C itself
		{map[string]string{"LANG": "de_DE.UTF-8"}, ""},
		{map[string]string{"LC_ALL": "fr_FR.UTF-8", "LANG": "C.UTF-8"}, ""},
		{map[string]string{}, ""},
	} {
		got := ""
		apply(func(k string) string { return tc.env[k] }, func(k, v string) error {
			if k == "LANGUAGE" {
				got = v
			}
			return nil
		})
		if got != tc.want {
			t.Errorf("env %v: LANGUAGE set to %q, want %q", tc.env, got, tc.want)
		}
	}
}
