// Package loopback is the one answer to "does this host name this
// machine?", for every place that treats the loopback interface specially:
// http redirect URIs of native apps (RFC 8252), an SMTP relay without TLS,
// a server URL typed without a scheme, a development server's address.
//
// A host is loopback when it is "localhost" (any case, a trailing dot
// allowed) or an IP literal in 127.0.0.0/8 or ::1 (brackets allowed). Names
// under .localhost are not: RFC 6761 reserves them, but the system's
// resolver may still send them elsewhere, and a wrong "yes" here sends mail
// in clear or trusts a remote redirect.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (no port) names this machine.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
