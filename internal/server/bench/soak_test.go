// The soak reads this process and the machine through /proc and getrusage:
// it runs on Linux (make soak), and other systems leave it out.

//go:build linux

package bench_test

// The soak (`make soak`, .ci/soak): countersign-server in-process on
// loopback under load for minutes, on SQLite (one instance) and on
// PostgreSQL (two instances sharing the database, as behind a load
// balancer). Two benchmarks, each printing one table:
//
//   - BenchmarkSoakStreams: SOAK_STREAMS (10,000) companions hold approval
//     streams from a stream farm in a child process; what the server holds
//     per stream (heap and goroutine stacks, RSS, goroutines, open files),
//     then SOAK_RATE (200) approvals a second for SOAK_STREAMS_TRAFFIC (1
//     minute) through those streams: delivery and decision latency.
//   - BenchmarkSoakMixed: SOAK_DURATION (10 minutes) of sign-ins, approvals,
//     API reads and OAuth refreshes at fixed rates: p99 per minute, errors,
//     and the process's memory and goroutines every 30 s.
//
// They run only with COUNTERSIGN_SOAK=1 (make bench skips them).

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/store/pgtest"
)

const soakEnv = "COUNTERSIGN_SOAK"

func soakOnly(b *testing.B) {
	if os.Getenv(soakEnv) != "1" {
		b.Skipf("a soak of many minutes: make soak runs it (%s=1)", soakEnv)
	}
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 30*time.Second {
		b.Fatalf("%s=%q: want a duration of 30s or more, such as 1m or 10m", name, s)
	}
	return d
}

// soakDatabases are the setups a soak runs on: SQLite with one instance,
// PostgreSQL with two on one database.
var soakDatabases = []struct {
	name      string
	instances func(b *testing.B) []*env
}{
	{"sqlite", func(b *testing.B) []*env { return []*env{newEnv(b)} }},
	{"postgres", func(b *testing.B) []*env {
		e := newEnvOn(b, pgtest.DSN(b))
		return []*env{e, e.instance(b)}
	}},
}

func setupName(insts []*env) string {
	name := "SQLite"
	if strings.HasPrefix(insts[0].dbURL, "postgres") {
		name = "PostgreSQL"
	}
	if len(insts) == 1 {
		return name + ", 1 instance"
	}
	return fmt.Sprintf("%s, %d instances", name, len(insts))
}

// loadAverage is the machine's load averages over 1, 5 and 15 minutes
// (other work on a shared machine shows there).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// rss is this process's resident memory.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// refreshTokens signs in again every companion whose device token is older
// than age (they live 10 minutes), four at a time.
func refreshTokens(b *testing.B, cps []*companion, base string, age time.Duration) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 4 {
		wg.Go(func() {
			c := &http.Client{}
			for i := int(next.Add(1)) - 1; i < len(cps); i = int(next.Add(1)) - 1 {
				if time.Since(cps[i].tokenAt) < age {
					continue
				}
				if err := cps[i].signIn(c, base); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// decide sends the companion's signed approval of req to base.
func (cp *companion) decide(c *http.Client, base, id, nonce string, number int) error {
	sig := ed25519.Sign(cp.priv, api.DecisionMessage(id, nonce, "approve", number))
	var res api.DecisionResult
	return postJSON(c, base+"/api/v1/approvals/"+id+"/decision", cp.token,
		api.Decision{Decision: "approve", Number: number, Nonce: nonce, Signature: b64.EncodeToString(sig)}, &res)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func kib(bytes float64) string { return fmt.Sprintf("%.1f KiB", bytes/1024) }

var streamRows []string

// BenchmarkSoakStreams: SOAK_STREAMS companions' streams held by a farm in
// a child process (split between the instances); what the server holds per
// stream; then approvals at SOAK_RATE a second, each made on the instance
// the companion's stream is not on (with two instances every delivery and
// every decision crosses PostgreSQL's LISTEN/NOTIFY) and approved by the
// companion on its own instance.
func BenchmarkSoakStreams(b *testing.B) {
	soakOnly(b)
	n := envInt(b, "SOAK_STREAMS", 10000)
	rate := envInt(b, "SOAK_RATE", 200)
	traffic := envDuration(b, "SOAK_STREAMS_TRAFFIC", time.Minute)
	streamRows = nil
	for _, db := range soakDatabases {
		b.Run(db.name, func(b *testing.B) { soakStreams(b, db.instances(b), n, rate, traffic) })
	}
	fmt.Printf("\nsoak: %d approver streams\n\n", n)
	fmt.Println("| setup | server memory per stream (heap + stacks) | RSS per stream | goroutines per stream | open files, server / farm | approvals | deliver p50 / p99 | decide p50 / p99 | errors | machine load |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range streamRows {
		fmt.Println(r)
	}
}

func soakStreams(b *testing.B, insts []*env, n, rate int, traffic time.Duration) {
	bases := make([]string, len(insts))
	svcs := make([]*approval.Service, len(insts))
	for i, e := range insts {
		bases[i], svcs[i] = e.url, e.srv.Approvals()
	}
	t0 := time.Now()
	cps := insts[0].pairCompanions(b, svcs[0], n)
	b.Logf("%d companions paired in %v", n, time.Since(t0).Round(time.Second))
	refreshTokens(b, cps, bases[0], 5*time.Minute)

	mem0, g0 := settledMemory()
	rss0, fd0 := rss(), openFiles()
	t0 = time.Now()
	f := startFarm(b, cps, bases, true)
	defer f.stop()
	b.Logf("%d streams open in %v", n, time.Since(t0).Round(time.Second))
	time.Sleep(time.Second) // every stream past its replay
	mem1, g1 := settledMemory()
	rss1, fd1 := rss(), openFiles()
	perStream := (float64(mem1) - float64(mem0)) / float64(n)
	rssPer := (float64(rss1) - float64(rss0)) / float64(n)
	goroutinesPer := float64(g1-g0) / float64(n)

	// Approvals through the farm's streams: the farm reports each approval
	// as it arrives; decisions go to the companion's instance.
	type flight struct {
		start   int64 // unix nanoseconds before the request was made
		arrived int64 // when the farm had it
		cp      *companion
		req     struct{ id, nonce string }
		number  int
		at      int // the instance the request was made on
		stream  int // the instance holding the companion's stream
	}
	var (
		mu        sync.Mutex
		flights   = map[string]*flight{}
		early     = map[string]int64{} // arrivals reported before Request returned
		delivered []time.Duration
		decided   []time.Duration
		errs      []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	toDecide := make(chan *flight, 4096)
	var decisions sync.WaitGroup
	for range 16 {
		decisions.Go(func() {
			for fl := range toDecide {
				waited := make(chan error, 1)
				go func() {
					r, err := svcs[fl.at].WaitDecided(context.Background(), fl.req.id)
					if err == nil && r.Status != "approved" {
						err = fmt.Errorf("request ended %s", r.Status)
					}
					waited <- err
				}()
				t1 := time.Now()
				if err := fl.cp.decide(client, bases[fl.stream], fl.req.id, fl.req.nonce, fl.number); err != nil {
					fail(err)
					continue
				}
				if err := <-waited; err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				decided = append(decided, time.Since(t1))
				mu.Unlock()
			}
		})
	}
	// arrive records a delivery; the caller holds mu, and sends fl on to
	// toDecide once it has let go.
	arrive := func(fl *flight, at int64) {
		fl.arrived = at
		delivered = append(delivered, time.Duration(at-fl.start))
	}
	reports := make(chan struct{})
	go func() {
		defer close(reports)
		for {
			line, err := f.out.ReadString('\n')
			if err != nil {
				return
			}
			var id string
			var at int64
			if _, err := fmt.Sscanf(line, "delivered %s %d", &id, &at); err != nil {
				continue
			}
			mu.Lock()
			fl := flights[id]
			switch {
			case fl == nil:
				early[id] = at
			case fl.arrived == 0:
				arrive(fl, at)
			default:
				fl = nil // told twice
			}
			mu.Unlock()
			if fl != nil {
				toDecide <- fl
			}
		}
	}()

	ctx := context.Background()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	var requests sync.WaitGroup
	made := 0
	start := time.Now()
	for time.Since(start) < traffic {
		<-tick.C
		i := made % n
		made++
		requests.Go(func() {
			stream := i % len(insts)
			at := (stream + 1) % len(insts)
			fl := &flight{start: time.Now().UnixNano(), cp: cps[i], at: at, stream: stream}
			r, err := svcs[at].Request(ctx, approval.SignIn{UserID: fl.cp.userID, SessionID: fmt.Sprintf("soak-%d", seqN.Add(1)),
				IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"})
			if err != nil {
				fail(err)
				return
			}
			fl.req.id, fl.req.nonce, fl.number = r.ID, r.Nonce, r.Number
			mu.Lock()
			flights[r.ID] = fl
			when, ok := early[r.ID]
			if ok {
				delete(early, r.ID)
				arrive(fl, when)
			}
			mu.Unlock()
			if ok {
				toDecide <- fl
			}
		})
	}
	tick.Stop()
	elapsed := time.Since(start)
	requests.Wait()
	// Stragglers: an approval not delivered within 10 s is an error.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		done := len(delivered) + len(errs)
		mu.Unlock()
		if done >= made {
			break
		}
	}
	mu.Lock()
	for id, fl := range flights {
		if fl.arrived == 0 {
			errs = append(errs, fmt.Errorf("approval %s never reached the farm", id))
		}
	}
	mu.Unlock()
	close(toDecide)
	decisions.Wait()
	gAfter, load := runtime.NumGoroutine(), loadAverage()
	f.stop()
	<-reports

	mu.Lock()
	defer mu.Unlock()
	for i, err := range errs {
		if i < 5 {
			b.Error(err)
		}
	}
	b.Logf("goroutines: %d before the streams, %d with them, %d after the approvals", g0, g1, gAfter)
	row := fmt.Sprintf("| %s | %s | %s | %.2f | %d / %d | %d at %.0f/s | %.1f / %.1f ms | %.1f / %.1f ms | %d | %s |",
		setupName(insts), kib(perStream), kib(rssPer), goroutinesPer, fd1-fd0, f.fds,
		made, float64(made)/elapsed.Seconds(),
		ms(pct(delivered, 50)), ms(pct(delivered, 99)), ms(pct(decided, 50)), ms(pct(decided, 99)), len(errs), load)
	streamRows = append(streamRows, row)
	b.ReportMetric(perStream/1024, "server-KiB/stream")
	b.ReportMetric(goroutinesPer, "goroutines/stream")
	b.ReportMetric(ms(pct(delivered, 99)), "deliver-p99-ms")
}

// pct is the p-th percentile of d (0 when empty).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// load is one kind of request of the mixed soak, made at a fixed rate.
type load struct {
	name string
	rate float64 // a second
	do   func(ctx context.Context, i int) error

	mu      sync.Mutex
	minutes [][]time.Duration // latencies by the minute they started in
	errs    int
	first   []string // the first few errors
	late    int      // ticks skipped because maxInFlight were running
}

const maxInFlight = 64

// run makes the load's requests on schedule (the i-th at start + i/rate,
// at once when behind) until the deadline, never more than maxInFlight at
// once: a request that finds them all running is not made and counts as an
// error (the server fell behind).
func (l *load) run(ctx context.Context, start time.Time, deadline time.Time, wg *sync.WaitGroup) {
	sem := make(chan struct{}, maxInFlight)
	every := time.Duration(float64(time.Second) / l.rate)
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * every)
		if !due.Before(deadline) {
			return
		}
		time.Sleep(time.Until(due))
		select {
		case sem <- struct{}{}:
		default:
			l.mu.Lock()
			l.late++
			l.errs++
			l.mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			err := l.do(ctx, i)
			d := time.Since(t0)
			minute := int(t0.Sub(start) / time.Minute)
			l.mu.Lock()
			defer l.mu.Unlock()
			if err != nil {
				l.errs++
				if len(l.first) < 3 {
					l.first = append(l.first, err.Error())
				}
				return
			}
			for len(l.minutes) <= minute {
				l.minutes = append(l.minutes, nil)
			}
			l.minutes[minute] = append(l.minutes[minute], d)
		})
	}
}

// sample is the process at one moment of the mixed soak.
type sample struct {
	at         time.Duration
	heap       uint64 // live heap after the last collection + goroutine stacks
	rss        uint64
	goroutines int
	files      int
	load       string        // the machine's load averages
	cpu        time.Duration // CPU time so far of this process and its children (PostgreSQL)
	busy, all  uint64        // the machine's busy and total CPU time so far (jiffies)
}

var soakMetrics = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}

func takeSample(at time.Duration) sample {
	metrics.Read(soakMetrics)
	s := sample{at: at, heap: soakMetrics[0].Value.Uint64() + soakMetrics[1].Value.Uint64(),
		rss: rss(), goroutines: runtime.NumGoroutine(), files: openFiles(), load: loadAverage()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.cpu = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + descendantsCPU()
	}
	s.busy, s.all = machineCPU()
	return s
}

// descendantsCPU is the CPU time of this process's children and theirs
// (the PostgreSQL server and its backends), with their reaped children.
func descendantsCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	type proc struct {
		ppid  int
		ticks uint64
	}
	procs := map[int]proc{}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		pid, _ := strconv.Atoi(strings.Fields(string(b[:i]))[0])
		f := strings.Fields(string(b[i+1:])) // state ppid … utime stime cutime cstime
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks uint64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseUint(v, 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid, ticks}
	}
	self := os.Getpid()
	var ticks uint64
	for _, p := range procs {
		for q := p.ppid; q > 1; q = procs[q].ppid {
			if q == self {
				ticks += p.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// machineCPU reads the machine's busy and total CPU time (/proc/stat).
func machineCPU() (busy, all uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
}

// cpuShare is how much of the machine's CPU this process and the whole
// machine used between two samples, in percent of all cores.
func cpuShare(a, b sample) (self, machine float64) {
	wall := (b.at - a.at).Seconds() * float64(runtime.NumCPU())
	if wall > 0 {
		self = 100 * (b.cpu - a.cpu).Seconds() / wall
	}
	if b.all > a.all {
		machine = 100 * float64(b.busy-a.busy) / float64(b.all-a.all)
	}
	return self, machine
}

// goroutineGroups counts this process's goroutines by the function each
// started in.
func goroutineGroups() map[string]int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(g), "\n")
		fn := ""
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "created by ") {
				break
			}
			if !strings.HasPrefix(l, "\t") {
				fn = l
				if i := strings.LastIndex(fn, "("); i > 0 {
					fn = fn[:i]
				}
			}
		}
		out[fn]++
	}
	return out
}

// slope is the least-squares slope of ys over xs (minutes).
func slope(xs, ys []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(xs))
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	if d := n*sxx - sx*sx; d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}

var mixedTables []string

// BenchmarkSoakMixed: SOAK_DURATION of mixed traffic at fixed rates —
// sign-ins (password and authenticator code, each a fresh browser),
// approval round trips through 1,000 companions' streams, API reads of a
// 50-device list, OAuth refresh-token rotations — with memory and
// goroutines sampled every 30 s. With two instances each sign-in, read and
// refresh goes to one of them in turn, and approvals cross as in
// BenchmarkSoakStreams.
func BenchmarkSoakMixed(b *testing.B) {
	soakOnly(b)
	d := envDuration(b, "SOAK_DURATION", 10*time.Minute)
	// Load clients keep their connections, as browsers and apps would.
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 64
	mixedTables = nil
	for _, db := range soakDatabases {
		b.Run(db.name, func(b *testing.B) { soakMixed(b, db.instances(b), d) })
	}
	fmt.Printf("\nsoak: %v of mixed traffic\n", d)
	for _, t := range mixedTables {
		fmt.Print(t)
	}
}

func soakMixed(b *testing.B, insts []*env, d time.Duration) {
	ctx := context.Background()
	e := insts[0]
	svcs := make([]*approval.Service, len(insts))
	for i, in := range insts {
		svcs[i] = in.srv.Approvals()
	}
	inst := func(i int) *env { return insts[i%len(insts)] }

	users := e.users(b, 400, true)
	cps := e.pairCompanions(b, svcs[0], 1000)
	for i, cp := range cps {
		cp.open(b, inst(i).url)
	}
	b.Cleanup(func() {
		for _, cp := range cps {
			cp.cancel()
		}
	})
	readToken := e.readAccount(b, 50)
	o := newOAuthEnvOn(b, e)
	chains := make(chan tokens, maxInFlight) // one per refresh in flight
	for range cap(chains) {
		t, err := o.exchange(o.tab(), nil)
		if err != nil {
			b.Fatal(err)
		}
		chains <- t
	}
	oauthOn := make([]*oauthEnv, len(insts))
	for i, in := range insts {
		c := *o
		c.env = in
		oauthOn[i] = &c
	}
	readClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var cpMu sync.Mutex // one round trip per companion at a time
	busy := map[*companion]bool{}

	loads := []*load{
		{name: "sign-in (password + code)", rate: 5, do: func(ctx context.Context, i int) error {
			// 400 accounts in turn: each signs in every 80 s, a new
			// authenticator code each time.
			return inst(i).signIn(users[i%len(users)], true)
		}},
		{name: "approval round trip", rate: 20, do: func(ctx context.Context, i int) error {
			k := i % len(cps)
			cp := cps[k]
			cpMu.Lock()
			if busy[cp] {
				cpMu.Unlock()
				return errors.New("the companion is still busy with its last request")
			}
			busy[cp] = true
			cpMu.Unlock()
			defer func() { cpMu.Lock(); delete(busy, cp); cpMu.Unlock() }()
			home := inst(k)
			if time.Since(cp.tokenAt) > 8*time.Minute {
				if err := cp.signIn(http.DefaultClient, home.url); err != nil {
					return err
				}
			}
			_, _, err := roundTrip(ctx, home.url, svcs[(k+1)%len(insts)], cp, int(seqN.Add(1)))
			return err
		}},
		{name: "API read (GET /api/v1/devices, 50)", rate: 100, do: func(ctx context.Context, i int) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", inst(i).url+"/api/v1/devices", nil)
			req.Header.Set("Authorization", "Bearer "+readToken)
			resp, err := readClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Browser 49") {
				return fmt.Errorf("GET /api/v1/devices: %d %.200s", resp.StatusCode, body)
			}
			return nil
		}},
		{name: "OAuth refresh (rotating)", rate: 20, do: func(ctx context.Context, i int) error {
			var t tokens
			select {
			case t = <-chains:
			default:
				return errors.New("every refresh chain is busy")
			}
			p := oauthOn[i%len(oauthOn)]
			var next tokens
			err := p.post(p.tab(), "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.RefreshToken}}, &next)
			if err == nil && (next.RefreshToken == "" || next.RefreshToken == t.RefreshToken) {
				err = errors.New("the refresh answered no new refresh token")
			}
			if err != nil {
				// The chain is spent; start a new one so the run goes on.
				if fresh, xerr := o.exchange(o.tab(), nil); xerr == nil {
					chains <- fresh
				}
				return err
			}
			chains <- next
			return nil
		}},
	}

	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var runners sync.WaitGroup
	for _, l := range loads {
		runners.Go(func() { l.run(ctx, start, deadline, &wg) })
	}
	zero := takeSample(0)
	var samples []sample
	var groups0 map[string]int
	for at := 30 * time.Second; at <= d; at += 30 * time.Second {
		time.Sleep(time.Until(start.Add(at)))
		samples = append(samples, takeSample(at))
		if groups0 == nil {
			groups0 = goroutineGroups()
		}
	}
	groups1 := goroutineGroups()
	runners.Wait()
	wg.Wait()
	// Where the goroutines came and went between the first sample and the
	// last (in soak.out).
	for fn, n := range groups1 {
		if n != groups0[fn] {
			b.Logf("goroutines started in %s: %d at 30 s, %d at the end", fn, groups0[fn], n)
		}
	}
	for fn, n := range groups0 {
		if _, ok := groups1[fn]; !ok {
			b.Logf("goroutines started in %s: %d at 30 s, none at the end", fn, n)
		}
	}

	var sb strings.Builder
	setup := setupName(insts)
	minutes := 0
	for _, l := range loads {
		minutes = max(minutes, len(l.minutes))
	}
	fmt.Fprintf(&sb, "\n%s: requests\n\n", setup)
	sb.WriteString("| request | rate | requests | p50 | p99 | p99 per minute, lowest – highest | errors |\n|---|---|---|---|---|---|---|\n")
	for _, l := range loads {
		var all []time.Duration
		lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
		for _, m := range l.minutes {
			all = append(all, m...)
			if len(m) > 0 {
				p := pct(m, 99)
				lo, hi = min(lo, p), max(hi, p)
			}
		}
		if len(all) == 0 {
			lo = 0
		}
		fmt.Fprintf(&sb, "| %s | %.0f/s | %d | %.1f ms | %.1f ms | %.1f – %.1f ms | %d |\n",
			l.name, float64(len(all))/d.Seconds(), len(all)+l.errs, ms(pct(all, 50)), ms(pct(all, 99)), ms(lo), ms(hi), l.errs)
		for _, msg := range l.first {
			b.Errorf("%s: %s", l.name, msg)
		}
		if l.late > 0 {
			b.Errorf("%s: %d requests not made: %d were running already", l.name, l.late, maxInFlight)
		}
	}
	fmt.Fprintf(&sb, "\n%s: p99 by minute (ms), and the CPU the soak (this process, PostgreSQL) and the whole machine used (%% of %d cores)\n\n| minute |", setup, runtime.NumCPU())
	for _, l := range loads {
		sb.WriteString(" " + l.name + " |")
	}
	sb.WriteString(" CPU, soak | CPU, machine |\n|---|" + strings.Repeat("---|", len(loads)+2) + "\n")
	for m := range minutes {
		fmt.Fprintf(&sb, "| %d |", m+1)
		for _, l := range loads {
			if m < len(l.minutes) && len(l.minutes[m]) > 0 {
				fmt.Fprintf(&sb, " %.1f |", ms(pct(l.minutes[m], 99)))
			} else {
				sb.WriteString(" – |")
			}
		}
		// samples[k] is at 30 s × (k+1): minute m ends at 2m+1.
		if end := 2*m + 1; end < len(samples) {
			from := zero
			if m > 0 {
				from = samples[end-2]
			}
			self, machine := cpuShare(from, samples[end])
			fmt.Fprintf(&sb, " %.0f%% | %.0f%% |\n", self, machine)
		} else {
			sb.WriteString(" – | – |\n")
		}
	}

	// Memory and goroutines: first, middle and last samples, and the slope
	// over the second half (after the caches and pools have filled).
	fmt.Fprintf(&sb, "\n%s: the test process (servers and load clients) every 30 s\n\n", setup)
	sb.WriteString("| measure | start (30 s) | middle | end | slope, second half |\n|---|---|---|---|---|\n")
	if len(samples) > 0 {
		first, mid, last := samples[0], samples[len(samples)/2], samples[len(samples)-1]
		var xs []float64
		series := map[string][]float64{}
		for _, s := range samples {
			if s.at < d/2 {
				continue
			}
			xs = append(xs, s.at.Minutes())
			series["heap"] = append(series["heap"], float64(s.heap)/(1<<20))
			series["rss"] = append(series["rss"], float64(s.rss)/(1<<20))
			series["goroutines"] = append(series["goroutines"], float64(s.goroutines))
			series["files"] = append(series["files"], float64(s.files))
		}
		mib := func(v uint64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }
		fmt.Fprintf(&sb, "| live heap + stacks | %s | %s | %s | %+.2f MiB/min |\n", mib(first.heap), mib(mid.heap), mib(last.heap), slope(xs, series["heap"]))
		fmt.Fprintf(&sb, "| RSS | %s | %s | %s | %+.2f MiB/min |\n", mib(first.rss), mib(mid.rss), mib(last.rss), slope(xs, series["rss"]))
		fmt.Fprintf(&sb, "| goroutines | %d | %d | %d | %+.1f /min |\n", first.goroutines, mid.goroutines, last.goroutines, slope(xs, series["goroutines"]))
		fmt.Fprintf(&sb, "| open files | %d | %d | %d | %+.1f /min |\n", first.files, mid.files, last.files, slope(xs, series["files"]))
		fmt.Fprintf(&sb, "| machine load (1, 5, 15 min) | %s | %s | %s | |\n", first.load, mid.load, last.load)
	}
	mixedTables = append(mixedTables, sb.String())
}
