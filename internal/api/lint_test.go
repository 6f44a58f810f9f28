package api

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lintDir holds Redocly CLI, which make deps installs with npm ci.
const lintDir = "testdata/redocly"

// TestOpenAPILint: openapi.json passes a standard linter, Redocly CLI, with
// its recommended rules, warnings included (servers, info.license, tag
// descriptions, a 4xx answer on every operation, no unused schemas …).
// Without Node.js or the install it skips; with COUNTERSIGN_TEST_NODE set
// (make test) it fails.
func TestOpenAPILint(t *testing.T) {
	cli := filepath.Join("node_modules", "@redocly", "cli", "bin", "cli.js")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(lintDir, cli))
	}
	if err != nil {
		msg := fmt.Sprintf("needs Node.js and @redocly/cli in %s (make deps runs npm ci there): %v", lintDir, err)
		if os.Getenv("COUNTERSIGN_TEST_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	doc, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, cli, "lint", "--extends=recommended", "--format=json", doc)
	cmd.Dir = lintDir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var report struct {
		Totals   struct{ Errors, Warnings int }
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct {
				Pointer string
			}
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("redocly lint: %v (%v)\n%s\n%s", err, runErr, out, stderr.String())
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if report.Totals.Errors+report.Totals.Warnings != len(report.Problems) || runErr != nil {
		t.Errorf("redocly lint: %d errors, %d warnings (%v)", report.Totals.Errors, report.Totals.Warnings, runErr)
	}
}
