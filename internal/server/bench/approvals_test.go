package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/store/pgtest"
)

// companion is one paired desktop holding its approvals stream open.
type companion struct {
	userID   string
	deviceID string
	priv     ed25519.PrivateKey
	token    string
	tokenAt  time.Time // device tokens live 10 minutes
	events   chan api.Approval
	cancel   context.CancelFunc
}

var b64 = base64.RawURLEncoding

func postJSON(c *http.Client, url, token string, in, out any) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// pairCompanions pairs one companion with each of n fresh two-step accounts
// through the real API (four at a time) and opens its stream.
func (e *env) pairCompanions(b *testing.B, svc *approval.Service, n int) []*companion {
	b.Helper()
	out := make([]*companion, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			c := &http.Client{}
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				cp, err := e.pairCompanion(b, c, svc, i)
				if err != nil {
					errs <- err
					next.Store(int64(n)) // the others stop too
					return
				}
				out[i] = cp
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return out
}

func (e *env) pairCompanion(b *testing.B, c *http.Client, svc *approval.Service, i int) (*companion, error) {
	ctx := context.Background()
	u := e.users(b, 1, true)[0]
	user, err := e.store.UserByLogin(ctx, u.email)
	if err != nil {
		return nil, err
	}
	_, uri, _, err := svc.NewPairingCode(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	_, code, err := api.ParsePairURI(uri)
	if err != nil {
		return nil, err
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	// Redeemed through the service, not POST /api/v1/pairings, whose
	// per-address limit (10 a minute) a thousand pairings from one
	// address would hit.
	res, err := svc.Redeem(ctx, api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: fmt.Sprintf("Desk %d", i), Platform: "linux"},
		fmt.Sprintf("10.9.%d.%d", i>>8&255, i&255), "bench")
	if err != nil {
		return nil, err
	}
	cp := &companion{userID: user.ID, deviceID: res.DeviceID, priv: priv, events: make(chan api.Approval, 4)}
	return cp, cp.signIn(c, e.url)
}

// signIn gets the companion a fresh device token by signing a challenge.
func (cp *companion) signIn(c *http.Client, base string) error {
	var ch api.AuthChallenge
	if err := postJSON(c, base+"/api/v1/auth/challenge", "", api.AuthChallengeRequest{DeviceID: cp.deviceID}, &ch); err != nil {
		return err
	}
	sig := ed25519.Sign(cp.priv, api.AuthMessage(cp.deviceID, ch.Challenge))
	var tok api.AuthToken
	if err := postJSON(c, base+"/api/v1/auth/token", "", api.AuthTokenRequest{DeviceID: cp.deviceID, Challenge: ch.Challenge, Signature: b64.EncodeToString(sig)}, &tok); err != nil {
		return err
	}
	cp.token, cp.tokenAt = tok.Token, time.Now()
	return nil
}

// open starts the companion's stream and returns once it is connected.
func (cp *companion) open(b *testing.B, base string) {
	ctx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/approvals/stream", nil)
	req.Header.Set("Authorization", "Bearer "+cp.token)
	resp, err := streamClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b.Fatalf("stream: %d", resp.StatusCode)
	}
	go readApprovals(resp.Body, 4096, func(data []byte) {
		var a api.Approval
		if json.Unmarshal(data, &a) == nil {
			cp.events <- a
		}
	})
}

var streamClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0}}

// roundTrip makes a request as the web sign-in does after the password,
// waits for the companion to hold it, approves it with the right number and
// waits until the request is decided, as the browser's stream does. It
// returns the two latencies.
func roundTrip(ctx context.Context, base string, svc *approval.Service, cp *companion, seq int) (deliver, decide time.Duration, err error) {
	t0 := time.Now()
	req, err := svc.Request(ctx, approval.SignIn{UserID: cp.userID, SessionID: fmt.Sprintf("bench-session-%d", seq), IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"})
	if err != nil {
		return 0, 0, err
	}
	var got api.Approval
	select {
	case got = <-cp.events:
	case <-time.After(5 * time.Second):
		return 0, 0, fmt.Errorf("request %s never reached the companion", req.ID)
	}
	deliver = time.Since(t0)
	if got.ID != req.ID {
		return 0, 0, fmt.Errorf("companion got %s, want %s", got.ID, req.ID)
	}
	waited := make(chan error, 1)
	go func() {
		r, err := svc.WaitDecided(ctx, req.ID)
		if err == nil && r.Status != "approved" {
			err = fmt.Errorf("request ended %s", r.Status)
		}
		waited <- err
	}()
	t1 := time.Now()
	sig := ed25519.Sign(cp.priv, api.DecisionMessage(got.ID, got.Nonce, "approve", req.Number))
	var res api.DecisionResult
	if err := postJSON(http.DefaultClient, base+"/api/v1/approvals/"+got.ID+"/decision", cp.token,
		api.Decision{Decision: "approve", Number: req.Number, Nonce: got.Nonce, Signature: b64.EncodeToString(sig)}, &res); err != nil {
		return 0, 0, err
	}
	if err := <-waited; err != nil {
		return 0, 0, err
	}
	return deliver, time.Since(t1), nil
}

func percentile(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)*p/100].Microseconds()) / 1000
}

// BenchmarkApprovals holds 1,000 paired companions' streams open on one
// server (SQLite) and runs approval round trips: request made → companion
// holds it → signed approval → the sign-in sees the decision.
func BenchmarkApprovals(b *testing.B) {
	const companions = 1000
	e := newEnv(b)
	svc := e.srv.Approvals()
	cps := e.pairCompanions(b, svc, companions)

	for _, cp := range cps {
		cp.open(b, e.url)
	}
	b.Cleanup(func() {
		for _, cp := range cps {
			cp.cancel()
		}
	})
	// What the server spends per open stream, with the streams held by
	// another process (this test binary run as a stream farm) so that only
	// the server's side is counted.
	perStream, goroutines := serverMemoryPerStream(b, e.url, cps)
	ctx := context.Background()

	b.Run("latency", func(b *testing.B) {
		var deliver, decide []time.Duration
		for i := 0; i < b.N; i++ {
			d1, d2, err := roundTrip(ctx, e.url, svc, cps[i%companions], int(seqN.Add(1)))
			if err != nil {
				b.Fatal(err)
			}
			deliver, decide = append(deliver, d1), append(decide, d2)
		}
		b.ReportMetric(percentile(deliver, 50), "deliver-p50-ms")
		b.ReportMetric(percentile(deliver, 99), "deliver-p99-ms")
		b.ReportMetric(percentile(decide, 50), "decide-p50-ms")
		b.ReportMetric(percentile(decide, 99), "decide-p99-ms")
		b.ReportMetric(perStream/1024, "server-KiB/stream")
		b.ReportMetric(goroutines, "server-goroutines/stream")
	})
	b.Run("throughput", func(b *testing.B) {
		var next atomic.Int64
		var wg sync.WaitGroup
		workers := 16
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= b.N {
						return
					}
					// worker w only uses its own companions, so no account has
					// two requests at once.
					cp := cps[(i/workers*workers+w)%companions]
					if _, _, err := roundTrip(ctx, e.url, svc, cp, int(seqN.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
	})
}

var seqN atomic.Int64

// farmEnv names the file of a stream farm: this test binary, started again
// by startFarm, opens an approvals stream for every token in the file (a
// line with a URL names the server of the tokens after it), says "ready"
// and the number of files it holds open, and holds the streams until its
// standard input closes. With farmReportEnv=1 it also prints
// "delivered ID UNIXNANO" for every approval event it receives.
const (
	farmEnv       = "COUNTERSIGN_BENCH_STREAM_FARM"
	farmReportEnv = "COUNTERSIGN_BENCH_STREAM_FARM_REPORT"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(farmEnv); spec != "" {
		os.Exit(streamFarm(spec, os.Getenv(farmReportEnv) == "1"))
	}
	os.Exit(pgtest.Run(m))
}

func streamFarm(spec string, report bool) int {
	b, err := os.ReadFile(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	type stream struct{ base, token string }
	var streams []stream
	base := ""
	for _, l := range strings.Fields(string(b)) {
		if strings.HasPrefix(l, "http") {
			base = l
			continue
		}
		streams = append(streams, stream{base, l})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(streams)}}
	reports := make(chan string, 1024)
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	go func() {
		for l := range reports {
			outMu.Lock()
			out.WriteString(l)
			if len(reports) == 0 {
				out.Flush()
			}
			outMu.Unlock()
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range 8 { // connects eight at a time
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(streams) && !failed.Load(); i = int(next.Add(1)) - 1 {
				req, _ := http.NewRequest("GET", streams[i].base+"/api/v1/approvals/stream", nil)
				req.Header.Set("Authorization", "Bearer "+streams[i].token)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					fmt.Fprintln(os.Stderr, "stream:", err, resp)
					failed.Store(true)
					return
				}
				if !report {
					go io.Copy(io.Discard, resp.Body)
					continue
				}
				go readApprovals(resp.Body, 1024, func(data []byte) {
					var a struct{ ID string }
					if json.Unmarshal(data, &a) == nil {
						reports <- "delivered " + a.ID + " " + strconv.FormatInt(time.Now().UnixNano(), 10) + "\n"
					}
				})
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		return 1
	}
	outMu.Lock()
	fmt.Fprintln(out, "ready", openFiles())
	out.Flush()
	outMu.Unlock()
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// readApprovals reads an approvals stream through a buffer of size bytes
// (small for the farm's thousands of streams) and calls got with the data
// of every approval event.
func readApprovals(body io.ReadCloser, size int, got func(data []byte)) {
	defer body.Close()
	r := bufio.NewReaderSize(body, size)
	var event string
	var data []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		switch s := strings.TrimRight(string(line), "\r\n"); {
		case strings.HasPrefix(s, "event:"):
			event = strings.TrimSpace(s[6:])
		case strings.HasPrefix(s, "data:"):
			data = append(data, strings.TrimSpace(s[5:])...)
		case s == "":
			if event == api.EventApproval {
				got(data)
			}
			event, data = "", data[:0]
		}
	}
}

// openFiles is how many files this process holds open.
func openFiles() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// farm is a running stream farm.
type farm struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader // after "ready": the farm's reports
	fds   int           // files the farm held open when ready
}

// startFarm starts a stream farm holding a stream for each companion, on
// the server bases[i%len(bases)] for the i-th, and returns once every
// stream is open. Stop it with stop.
func startFarm(b *testing.B, cps []*companion, bases []string, report bool) *farm {
	b.Helper()
	spec := filepathJoin(b.TempDir(), "farm")
	var sb strings.Builder
	last := ""
	for i, cp := range cps {
		if base := bases[i%len(bases)]; base != last {
			sb.WriteString(base + "\n")
			last = base
		}
		sb.WriteString(cp.token + "\n")
	}
	if err := os.WriteFile(spec, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), farmEnv+"="+spec)
	if report {
		cmd.Env = append(cmd.Env, farmReportEnv+"=1")
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f := &farm{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 64<<10)}
	line, err := f.out.ReadString('\n')
	if _, perr := fmt.Sscanf(line, "ready %d", &f.fds); err != nil || perr != nil {
		f.stop()
		b.Fatalf("stream farm: %q, %v", line, err)
	}
	return f
}

// stop closes the farm's streams and waits for it to exit.
func (f *farm) stop() {
	f.stdin.Close()
	f.cmd.Wait()
}

// memory is what this process holds: heap in use and goroutine stacks
// after a collection, and its goroutines.
func memory() (heapAndStacks uint64, goroutines int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
}

// settledMemory is heap in use and goroutine stacks once idle stacks have
// shrunk: a collection halves a stack that uses under a quarter of it, so
// a running server's own collections bring a stream's stacks down after
// its burst of work. This collects five times and measures after the last.
func settledMemory() (heapAndStacks uint64, goroutines int) {
	for range 4 {
		runtime.GC()
	}
	return memory()
}

// serverMemoryPerStream opens one more stream per companion from a child
// process and returns the heap and stack this process (the server) grew by,
// per stream, and its goroutines per stream.
func serverMemoryPerStream(b *testing.B, base string, cps []*companion) (bytesPer, goroutinesPer float64) {
	b.Helper()
	mem0, g0 := settledMemory()
	f := startFarm(b, cps, []string{base}, false)
	defer f.stop()
	time.Sleep(500 * time.Millisecond) // every stream past its replay
	mem1, g1 := settledMemory()
	n := float64(len(cps))
	return (float64(mem1) - float64(mem0)) / n, float64(g1-g0) / n
}
