package approver

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/countersign/countersign/internal/loopback"
)

// ServerURL reads the address of a countersign-server as people type it:
// a URL (https://accounts.example.com, http://localhost:18084/), a host
// and port (localhost:18084, 192.168.1.20:8443) or a host alone
// (accounts.example.com). Without a scheme, a loopback host (localhost,
// 127.0.0.1, ::1) is reached over http and any other over https. The
// answer is the URL without query, fragment or trailing slash:
// "http://localhost:18084".
func ServerURL(text string) (string, error) {
	s := strings.TrimSpace(text)
	bad := func(why string) error {
		return fmt.Errorf("%q is not a server address (%s): type it like accounts.example.com, "+
			"localhost:18084 or https://accounts.example.com", text, why)
	}
	if s == "" {
		return "", bad("it is empty")
	}
	if !strings.Contains(s, "://") {
		host := s
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		scheme := "https"
		if loopback.Host(hostOnly(host)) {
			scheme = "http"
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", bad("it cannot be read as a web address")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("a server is reached over http or https, not " + u.Scheme)
	case u.User != nil:
		return "", bad("it holds a user name")
	case u.Hostname() == "":
		return "", bad("it names no host")
	case !validHost(u.Hostname()):
		return "", bad(strconv.Quote(u.Hostname()) + " is not a host name")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", bad("the port must be a number from 1 to 65535")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", bad("the port is missing after the colon")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// hostOnly is the host of "host", "host:port", "[::1]:port" or "::1".
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// validHost reports whether host is an IP address or a DNS name: labels
// of letters, digits and hyphens, not starting or ending with a hyphen.
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
