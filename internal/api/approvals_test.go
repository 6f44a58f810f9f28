package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignedMessages(t *testing.T) {
	if got, want := string(AuthMessage("dev1", "Y2hhbGxlbmdl")), "countersign-auth-v1\ndev1\nY2hhbGxlbmdl"; got != want {
		t.Errorf("AuthMessage = %q, want %q", got, want)
	}
	tests := []struct {
		decision string
		number   int
		want     string
	}{
		{DecisionApprove, 42, "countersign-decision-v1\nreq1\nbm9uY2U\napprove\n42"},
		{DecisionDeny, 0, "countersign-decision-v1\nreq1\nbm9uY2U\ndeny\n0"},
		{DecisionReport, 0, "countersign-decision-v1\nreq1\nbm9uY2U\nreport\n0"},
	}
	for _, tt := range tests {
		if got := string(DecisionMessage("req1", "bm9uY2U", tt.decision, tt.number)); got != tt.want {
			t.Errorf("DecisionMessage(%s, %d) = %q, want %q", tt.decision, tt.number, got, tt.want)
		}
	}
}

func TestPairCodes(t *testing.T) {
	for in, want := range map[string]string{
		"K7Q9-M2XD":     "K7Q9M2XD",
		"k7q9m2xd":      "K7Q9M2XD",
		" k7q9 - m2xd ": "K7Q9M2XD",
		"":              "",
	} {
		if got := NormalizePairCode(in); got != want {
			t.Errorf("NormalizePairCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := GroupPairCode("K7Q9M2XD"); got != "K7Q9-M2XD" {
		t.Errorf("GroupPairCode = %q", got)
	}
	if got := GroupPairCode("ABC"); got != "ABC" {
		t.Errorf("GroupPairCode(short) = %q", got)
	}

	uri := PairURI("https://accounts.example.com:8443", "k7q9-m2xd")
	if want := "countersign://pair?server=https%3A%2F%2Faccounts.example.com%3A8443&code=K7Q9M2XD"; uri != want {
		t.Errorf("PairURI = %q, want %q", uri, want)
	}
	server, code, err := ParsePairURI(uri)
	if err != nil || server != "https://accounts.example.com:8443" || code != "K7Q9M2XD" {
		t.Errorf("ParsePairURI(PairURI) = %q, %q, %v", server, code, err)
	}
	server, code, err = ParsePairURI(" COUNTERSIGN://pair?code=k7q9-m2xd&server=http://127.0.0.1:8080 ")
	if err != nil || server != "http://127.0.0.1:8080" || code != "K7Q9M2XD" {
		t.Errorf("ParsePairURI(loose) = %q, %q, %v", server, code, err)
	}
	for _, bad := range []string{
		"",
		"https://pair?server=https://x&code=ABCD",
		"countersign://unpair?server=https://x&code=ABCD",
		"countersign://pair/extra?server=https://x&code=ABCD",
		"countersign://pair?server=ftp://x&code=ABCD",
		"countersign://pair?server=https://x",
		"countersign://pair?code=ABCD",
		"countersign://pair?server=%zz&code=ABCD",
	} {
		if s, c, err := ParsePairURI(bad); !errors.Is(err, ErrPairURI) {
			t.Errorf("ParsePairURI(%q) = %q, %q, %v; want ErrPairURI", bad, s, c, err)
		}
	}
}

// TestApprovalJSON: the names on the wire are the contract's.
func TestApprovalJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    any
		want string
	}{
		{Pairing{Code: "K7Q9M2XD", PublicKey: "pk", Name: "Sam's laptop", Platform: "linux"},
			`{"code":"K7Q9M2XD","public_key":"pk","name":"Sam's laptop","platform":"linux"}`},
		{PairingResult{DeviceID: "d", Account: AccountRef{ID: "u", Name: "Ada", Email: "a@x", Phone: ""}, Server: "https://x"},
			`{"device_id":"d","account":{"id":"u","name":"Ada","email":"a@x","phone":""},"server":"https://x"}`},
		{AuthChallengeRequest{DeviceID: "d"}, `{"device_id":"d"}`},
		{AuthChallenge{Challenge: "c", ExpiresAt: at}, `{"challenge":"c","expires_at":"2026-11-22T16:00:00Z"}`},
		{AuthTokenRequest{DeviceID: "d", Challenge: "c", Signature: "s"}, `{"device_id":"d","challenge":"c","signature":"s"}`},
		{AuthToken{Token: "csd_x", ExpiresAt: at}, `{"token":"csd_x","expires_at":"2026-11-22T16:00:00Z"}`},
		{ApproverList{Approvers: []Approver{{ID: "d", Name: "n", Platform: "linux", CreatedAt: at}}},
			`{"approvers":[{"id":"d","name":"n","platform":"linux","created_at":"2026-11-22T16:00:00Z"}]}`},
		{ApprovalList{Approvals: []Approval{{ID: "r", Nonce: "n", Numbers: []int{17, 42, 88}, Account: AccountRef{ID: "u"},
			Browser: "Firefox 133", OS: "Windows 10", IP: "203.0.113.7", Place: "Paris, France", CreatedAt: at, ExpiresAt: at}}},
			`{"approvals":[{"id":"r","nonce":"n","numbers":[17,42,88],"account":{"id":"u","name":"","email":"","phone":""},` +
				`"browser":"Firefox 133","os":"Windows 10","ip":"203.0.113.7","place":"Paris, France","app":"",` +
				`"created_at":"2026-11-22T16:00:00Z","expires_at":"2026-11-22T16:00:00Z","require_key":false,"key_options":null}]}`},
		{Resolved{ID: "r", Status: StatusApproved, DecidedBy: "Sam's laptop", DecidedAt: at},
			`{"id":"r","status":"approved","decided_by":"Sam's laptop","decided_at":"2026-11-22T16:00:00Z"}`},
		{Unpaired{DeviceID: "d"}, `{"device_id":"d"}`},
		{PollResult{Events: []StreamEvent{{ID: 7, Event: EventUnpaired, Data: json.RawMessage(`{"device_id":"d"}`)}}, Cursor: 7},
			`{"events":[{"id":7,"event":"unpaired","data":{"device_id":"d"}}],"cursor":7}`},
		{Decision{Decision: DecisionApprove, Number: 42, Nonce: "n", Signature: "s"},
			`{"decision":"approve","number":42,"nonce":"n","signature":"s","assertion":null}`},
		{DecisionResult{Status: StatusDenied}, `{"status":"denied"}`},
	} {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%T:\n got %s (%v)\nwant %s", tt.v, b, err, tt.want)
		}
	}
	for code, want := range map[string]string{
		CodeInvalidCode: "invalid_code", CodeDeviceRevoked: "device_revoked", CodeInvalidSignature: "invalid_signature",
		CodeAlreadyDecided: "already_decided", CodeExpired: "expired", CodeForeign: "foreign",
		CodeKeyRequired: "key_required", CodeKeyFailed: "key_failed", CodeTooMany: "too_many_pending",
	} {
		if code != want || strings.ToLower(code) != code {
			t.Errorf("code %q, want %q", code, want)
		}
	}
}
