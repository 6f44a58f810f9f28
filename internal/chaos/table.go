// Package chaos breaks the real programs on purpose and says what people
// saw and what was lost: make chaos runs its tests, which are behind the
// build tag chaos so that make test leaves them out. Each case starts the
// real countersign-server (and PostgreSQL, the companion's real approver
// code, a browser), does something nasty to one of them, and records one
// row of the table printed when the run ends. The run fails when any row
// lost something: every row's Lost must be Nothing.
//
// Cases on the server's side are in server_*_test.go, the companion's in
// companion_*_test.go; this file is the table they share.
package chaos

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Nothing is what a case that lost nothing writes in Row.Lost.
const Nothing = "nothing"

// NotRun is the Lost of a case that cannot run here (Skip): no loss, and
// its row says why.
const NotRun = "— (not run)"

// Row is one case's line in the table.
type Row struct {
	Case string // "1. server SIGKILLed (SQLite)"
	Done string // what was done to it
	Saw  string // what the user saw
	Lost string // what was lost: Nothing, or what
}

var (
	mu   sync.Mutex
	rows []Row
)

// Record adds a row to the table. A row without Lost, or recorded by a test
// that failed, counts as a loss.
func Record(t testing.TB, r Row) {
	t.Helper()
	if r.Lost == "" {
		r.Lost = "not said: the case did not finish"
	}
	if t.Failed() && (r.Lost == Nothing || r.Lost == NotRun) {
		r.Lost = "unknown: the case failed (see its log)"
	}
	if r.Lost != Nothing && r.Lost != NotRun {
		t.Errorf("%s lost %s", r.Case, r.Lost)
	}
	mu.Lock()
	rows = append(rows, r)
	mu.Unlock()
}

// Begin returns a row that is recorded when t ends, whatever happens to
// the test in between: fill it in as the case goes.
func Begin(t *testing.T, name string) *Row {
	r := &Row{Case: name}
	t.Cleanup(func() { Record(t, *r) })
	return r
}

// Skip ends a case that cannot run on this machine: its row says why
// (in Saw) and counts as no loss; t is skipped.
func Skip(t *testing.T, r *Row, why string) {
	t.Helper()
	r.Saw, r.Lost = "could not run here: "+why, NotRun
	t.Skip(why)
}

// Print writes the table as Markdown, the rows in the order of their
// cases' names ("1.", "1b.", "2." … "C1." …), however the cases ran.
func Print(w io.Writer) {
	mu.Lock()
	defer mu.Unlock()
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b Row) int { return strings.Compare(a.Case, b.Case) })
	fmt.Fprintln(w, "| case | what was done | what the user saw | what was lost |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range sorted {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(r.Case), cell(r.Done), cell(r.Saw), cell(r.Lost))
	}
}

// lossless says whether every row lost nothing.
func lossless() bool {
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		if r.Lost != Nothing && r.Lost != NotRun {
			return false
		}
	}
	return true
}

func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// Main runs the tests, prints the table on stdout (and to the file named by
// $CHAOS_TABLE, when set) and exits non-zero when a test failed or a row
// lost something. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	fmt.Println()
	Print(os.Stdout)
	if path := os.Getenv("CHAOS_TABLE"); path != "" {
		if f, err := os.Create(path); err == nil {
			Print(f)
			f.Close()
		}
	}
	if code == 0 && !lossless() {
		code = 1
	}
	os.Exit(code)
}
