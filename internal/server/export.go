package server

import (
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/oauth"
)

// Approvals is the server's approval service: what the web sign-in uses
// after the password. Benchmarks and administrative tools reach it here to
// make requests without a browser.
func (s *Server) Approvals() *approval.Service { return s.approvals }

// OAuth is the server's OAuth 2.0 / OpenID Connect provider: tests and
// administrative tools register apps through it.
func (s *Server) OAuth() *oauth.Provider { return s.oauth }
