package approver

import (
	"strings"
	"testing"
)

func TestServerURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://accounts.example.com", "https://accounts.example.com"},
		{"  https://accounts.example.com/  ", "https://accounts.example.com"},
		{"http://localhost:18084/?x=1#y", "http://localhost:18084"},
		{"https://example.com/countersign/", "https://example.com/countersign"},
		{"localhost:18084", "http://localhost:18084"},
		{"LOCALHOST:18084", "http://LOCALHOST:18084"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
		{"dev.localhost:3000", "https://dev.localhost:3000"}, // not loopback for sure: see package loopback
		{"accounts.example.com:8443", "https://accounts.example.com:8443"},
		{"192.168.1.20:8443", "https://192.168.1.20:8443"},
		{"localhost", "http://localhost"},
		{"accounts.example.com", "https://accounts.example.com"},
		{"accounts.example.com/", "https://accounts.example.com"},
	} {
		got, err := ServerURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ServerURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestServerURLRefusesGarbage(t *testing.T) {
	for _, tt := range []struct{ in, why string }{
		{"", "it is empty"},
		{"   ", "it is empty"},
		{"not a server!", "cannot be read"},
		{"ftp://files.example.com", "not ftp"},
		{"https://", "names no host"},
		{"https://ada:secret@example.com", "user name"},
		{"localhost:port", "cannot be read"},
		{"localhost:99999", "port must be a number from 1 to 65535"},
		{"localhost:", "port is missing"},
		{"exa_mple..com", "is not a host name"},
		{"-bad.example.com", "is not a host name"},
	} {
		got, err := ServerURL(tt.in)
		if err == nil {
			t.Errorf("ServerURL(%q) = %q, want an error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "type it like accounts.example.com") {
			t.Errorf("ServerURL(%q): %v; want it to say %q and how to type it", tt.in, err, tt.why)
		}
	}
}
