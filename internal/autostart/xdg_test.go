//go:build !windows

package autostart

import "testing"

func TestAutostartPath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x/config", "HOME": "/home/a"}, "/x/config/autostart/" + autostartName},
		{map[string]string{"HOME": "/home/a"}, "/home/a/.config/autostart/" + autostartName},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/a"}, "/home/a/.config/autostart/" + autostartName},
	} {
		got, err := autostartPath(func(k string) string { return tc.env[k] })
		if err != nil || got != tc.want {
			t.Errorf("env %v: %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := autostartPath(func(string) string { return "" }); err == nil {
		t.Error("no XDG_CONFIG_HOME and no HOME: no error")
	}
}

func TestExecArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/countersign", "/usr/bin/countersign"},
		{"countersign", "countersign"},
		{"/opt/a b/cs", `"/opt/a b/cs"`},
		{`/opt/a"b/cs`, `"/opt/a\\"b/cs"`},
		{"/opt/$x/cs", `"/opt/\\$x/cs"`},
		{"/opt/100%/cs", "/opt/100%%/cs"},
	} {
		if got := execArg(tc.in); got != tc.want {
			t.Errorf("execArg(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
