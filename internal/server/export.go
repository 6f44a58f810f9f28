package server

import "github.com/countersign/countersign/internal/approval"

// Approvals is the server's approval service: what the web sign-in uses
// after the password. Benchmarks and administrative tools reach it here to
// make requests without a browser.
func (s *Server) Approvals() *approval.Service { return s.approvals }
