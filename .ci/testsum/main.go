// Command testsum reads `go test -json` on stdin and prints, as each package
// finishes, one line with its passed, failed and skipped tests and its time,
// then a table of every package and every skip with its reason. The output
// of a failed test is printed in full.
//
// It exits non-zero when a test or a package failed, or when a test skipped
// without saying why it cannot run on this machine (a package that ran
// longer than -budget is listed as a warning: go test's -timeout is the hard
// stop): under make test a skip is a failure unless its
// message starts with "not here: " (for example "not here: root opens any
// device node"). Run it as `go run .ci/testsum/main.go` (one file, standard
// library only).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
	// ImportPath is set on the build's own events (build-output, build-fail).
	ImportPath string
}

type pkgResult struct {
	name             string
	pass, fail, skip int
	elapsed          float64
	status           string // ok, FAIL, skip (no test files), build
	output           []string
	testOutput       map[string][]string
	skips            []skipped
	failed           []string
	done             bool
}

type skipped struct {
	test, reason string
}

const allowed = "not here: "

func main() {
	budget := flag.Duration("budget", 4*time.Minute, "longest a package may take")
	raw := flag.String("raw", "", "also write the JSON events to this file")
	flag.Parse()

	var rawOut io.Writer = io.Discard
	if *raw != "" {
		f, err := os.Create(*raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(2)
		}
		defer f.Close()
		rawOut = f
	}

	pkgs := map[string]*pkgResult{}
	get := func(name string) *pkgResult {
		p := pkgs[name]
		if p == nil {
			p = &pkgResult{name: name, testOutput: map[string][]string{}}
			pkgs[name] = p
		}
		return p
	}
	var stray []string // lines that are not JSON: build errors
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	for in.Scan() {
		line := in.Bytes()
		fmt.Fprintf(rawOut, "%s\n", line)
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			stray = append(stray, string(line))
			fmt.Println(string(line))
			continue
		}
		if e.Action == "build-output" {
			fmt.Print(e.Output)
			continue
		}
		if e.Package == "" {
			continue
		}
		p := get(e.Package)
		switch {
		case e.Action == "output" && e.Test != "":
			p.testOutput[e.Test] = append(p.testOutput[e.Test], e.Output)
		case e.Action == "output":
			p.output = append(p.output, e.Output)
		case e.Test != "" && e.Action == "pass":
			p.pass++
			delete(p.testOutput, e.Test)
		case e.Test != "" && e.Action == "fail":
			p.fail++
			p.failed = append(p.failed, e.Test)
		case e.Test != "" && e.Action == "skip":
			p.skip++
			p.skips = append(p.skips, skipped{e.Test, skipReason(p.testOutput[e.Test])})
			delete(p.testOutput, e.Test)
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			p.done, p.elapsed = true, e.Elapsed
			p.status = map[string]string{"pass": "ok", "fail": "FAIL", "skip": "no tests"}[e.Action]
			report(p, *budget)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsum: reading go test's output:", err)
		os.Exit(2)
	}
	os.Exit(summary(pkgs, stray, *budget))
}

// skipReason is what a skipped test printed (its t.Skip message), without
// the === and --- lines and the file:line prefixes.
func skipReason(out []string) string {
	var reason []string
	for _, r := range out {
		r = strings.TrimSpace(r)
		if strings.HasPrefix(r, "=== ") || strings.HasPrefix(r, "--- ") || r == "" {
			continue
		}
		if j := strings.Index(r, ": "); j > 0 && strings.Contains(r[:j], ".go:") {
			r = r[j+2:]
		}
		reason = append(reason, r)
	}
	return strings.Join(reason, " ")
}

// report prints one line as a package finishes, and a failed test's output.
func report(p *pkgResult, budget time.Duration) {
	mark := p.status
	if time.Duration(p.elapsed*float64(time.Second)) > budget {
		mark += " (over the " + budget.String() + " budget)"
	}
	fmt.Printf("%-4s %-55s %6.1fs  %d passed, %d failed, %d skipped\n", mark, p.name, p.elapsed, p.pass, p.fail, p.skip)
	for _, t := range p.failed {
		fmt.Printf("--- output of %s %s:\n%s", p.name, t, strings.Join(p.testOutput[t], ""))
	}
	if p.status == "FAIL" && len(p.failed) == 0 { // a panic, a timeout or a build failure
		fmt.Print(strings.Join(p.output, ""))
		for t, out := range p.testOutput {
			fmt.Printf("--- output of %s %s (unfinished):\n%s", p.name, t, strings.Join(out, ""))
		}
	}
}

func summary(pkgs map[string]*pkgResult, stray []string, budget time.Duration) int {
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	var pass, fail, skip, bad int
	var total float64
	var problems, warnings []string
	fmt.Println()
	fmt.Printf("%-55s %8s %6s %6s %7s  %s\n", "package", "time", "passed", "failed", "skipped", "")
	for _, n := range names {
		p := pkgs[n]
		if !p.done {
			p.status = "FAIL"
			problems = append(problems, n+": did not finish")
		}
		pass, fail, skip, total = pass+p.pass, fail+p.fail, skip+p.skip, total+p.elapsed
		note := p.status
		if time.Duration(p.elapsed*float64(time.Second)) > budget {
			note += ", over the " + budget.String() + " budget"
			warnings = append(warnings, fmt.Sprintf("%s took %.0fs, over the %s budget: make it faster", n, p.elapsed, budget))
		}
		if p.status == "FAIL" {
			problems = append(problems, n+" failed")
		}
		fmt.Printf("%-55s %7.1fs %6d %6d %7d  %s\n", n, p.elapsed, p.pass, p.fail, p.skip, note)
	}
	fmt.Printf("%-55s %7.1fs %6d %6d %7d\n", "total (package times overlap)", total, pass, fail, skip)
	var skips []string
	for _, n := range names {
		for _, s := range pkgs[n].skips {
			line := fmt.Sprintf("%s %s: %s", n, s.test, s.reason)
			skips = append(skips, line)
			if !strings.HasPrefix(s.reason, allowed) {
				bad++
				problems = append(problems, "skipped without a reason it cannot run here: "+line)
			}
		}
	}
	if len(skips) > 0 {
		fmt.Println("\nskipped:")
		for _, s := range skips {
			fmt.Println("  " + s)
		}
	}
	if len(stray) > 0 && fail == 0 && len(problems) == 0 {
		for _, l := range stray {
			if strings.Contains(l, "FAIL") || strings.Contains(l, "panic") {
				problems = append(problems, "go test printed: "+l)
			}
		}
	}
	if len(warnings) > 0 {
		fmt.Println("\nwarnings:")
		for _, w := range warnings {
			fmt.Println("  " + w)
		}
	}
	if len(problems) > 0 {
		fmt.Println("\nproblems:")
		for _, p := range problems {
			fmt.Println("  " + p)
		}
		return 1
	}
	fmt.Println("\nall passed; every skip says why it cannot run here")
	return 0
}
