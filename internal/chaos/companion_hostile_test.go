//go:build chaos

package chaos

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// hostile is a server that speaks countersign-server's API v1 well enough
// to be paired with, then answers each desktop's first stream with an
// attack of its own (the desktop's name says which); later streams are
// good: one valid request, then pings. It checks the signatures of the
// decisions it gets, as the real server does.
type hostile struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	devices map[string]*hostileDevice // by device id
	sent    map[string]int64          // bytes written on each desktop's first stream
}

type hostileDevice struct {
	id, attack string
	pub        ed25519.PublicKey
	streams    int
	decisions  int
}

// rightNumber is the number the browser would show for every request here.
const rightNumber = 42

func newHostile(t *testing.T) *hostile {
	h := &hostile{t: t, devices: map[string]*hostileDevice{}, sent: map[string]int64{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.srv.CloseClientConnections)
	return h
}

func (h *hostile) serve(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	device := func() *hostileDevice {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.devices[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "+api.DeviceTokenPrefix)]
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/pairings":
		var p api.Pairing
		json.NewDecoder(r.Body).Decode(&p)
		pub, _ := base64.RawURLEncoding.DecodeString(p.PublicKey)
		h.mu.Lock()
		d := &hostileDevice{id: fmt.Sprintf("dev%d", len(h.devices)+1), attack: p.Name, pub: pub}
		h.devices[d.id] = d
		h.mu.Unlock()
		writeJSON(http.StatusCreated, api.PairingResult{DeviceID: d.id, Server: h.srv.URL,
			Account: api.AccountRef{ID: "u1", Name: "Sam", Email: "sam@example.com"}})
	case r.URL.Path == "/api/v1/auth/challenge":
		writeJSON(http.StatusOK, api.AuthChallenge{Challenge: "c2FtZQ", ExpiresAt: time.Now().Add(time.Minute)})
	case r.URL.Path == "/api/v1/auth/token":
		var req api.AuthTokenRequest
		json.NewDecoder(r.Body).Decode(&req)
		h.mu.Lock()
		d := h.devices[req.DeviceID]
		h.mu.Unlock()
		sig, _ := base64.RawURLEncoding.DecodeString(req.Signature)
		if d == nil || !ed25519.Verify(d.pub, api.AuthMessage(req.DeviceID, req.Challenge), sig) {
			writeJSON(http.StatusUnauthorized, api.Error{Error: "bad signature", Code: api.CodeInvalidSignature})
			return
		}
		writeJSON(http.StatusOK, api.AuthToken{Token: api.DeviceTokenPrefix + d.id, ExpiresAt: time.Now().Add(10 * time.Minute)})
	case r.URL.Path == "/api/v1/approvals":
		d := device()
		h.mu.Lock()
		huge := d != nil && d.attack == "64 MiB answer" && d.streams == 1
		h.mu.Unlock()
		if huge {
			// A list of 64 MiB that never ends: read up to the 4 MiB
			// an answer may have.
			w.Header().Set("Content-Type", "application/json")
			cw := &countingWriter{w: w}
			io.WriteString(cw, `{"approvals":[`)
			item, _ := json.Marshal(goodApproval("listed"))
			for cw.n < 64<<20 {
				if _, err := cw.Write(append(item, ',')); err != nil {
					break
				}
			}
			h.mu.Lock()
			h.sent[d.attack] = cw.n
			h.mu.Unlock()
			return
		}
		writeJSON(http.StatusOK, api.ApprovalList{Approvals: []api.Approval{}})
	case r.URL.Path == "/api/v1/approvals/stream":
		d := device()
		if d == nil {
			writeJSON(http.StatusUnauthorized, api.Error{Error: "who?", Code: api.CodeUnauthorized})
			return
		}
		h.mu.Lock()
		d.streams++
		first := d.streams == 1
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		cw := &countingWriter{w: w}
		if first && d.attack != "64 MiB answer" {
			h.attack(cw, r, d)
			h.mu.Lock()
			h.sent[d.attack] = cw.n
			h.mu.Unlock()
			return
		}
		writeEvent(cw, 100, api.EventApproval, goodApproval("good-"+d.id))
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(15 * time.Second):
				if _, err := io.WriteString(cw, ": ping\n\n"); err != nil {
					return
				}
			}
		}
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/decision"):
		d := device()
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/approvals/"), "/decision")
		var dec api.Decision
		json.NewDecoder(r.Body).Decode(&dec)
		sig, _ := base64.RawURLEncoding.DecodeString(dec.Signature)
		if d == nil || !ed25519.Verify(d.pub, api.DecisionMessage(id, dec.Nonce, dec.Decision, dec.Number), sig) {
			writeJSON(http.StatusUnauthorized, api.Error{Error: "the signature does not verify", Code: api.CodeInvalidSignature})
			return
		}
		h.mu.Lock()
		d.decisions++
		refuse := d.attack == "wrong signature" && d.decisions == 1
		h.mu.Unlock()
		if refuse {
			// The server claims the desktop's good signature is wrong.
			writeJSON(http.StatusUnauthorized, api.Error{Error: "the signature does not verify", Code: api.CodeInvalidSignature})
			return
		}
		status := api.StatusApproved
		if dec.Number != rightNumber {
			status = api.StatusDenied
		}
		writeJSON(http.StatusOK, api.DecisionResult{Status: status})
	default:
		writeJSON(http.StatusNotFound, api.Error{Error: "not here", Code: "not_found"})
	}
}

// attack answers a desktop's first stream.
func (h *hostile) attack(w *countingWriter, r *http.Request, d *hostileDevice) {
	switch d.attack {
	case "truncated event":
		io.WriteString(w, "id: 1\nevent: approval\ndata: {\"id\":\"cut\",\"nonce\":\"bm9uY2U\",\"numb")
		w.flush()
		panic(http.ErrAbortHandler) // the connection is cut mid-event
	case "64 MiB line":
		io.WriteString(w, "id: 1\nevent: approval\ndata: ")
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 1024 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, "\n\n")
	case "2 MiB event in 1 KiB lines":
		io.WriteString(w, "id: 1\nevent: approval\n")
		line := "data: " + strings.Repeat("y", 1<<10) + "\n"
		for range 2048 {
			if _, err := io.WriteString(w, line); err != nil {
				return
			}
		}
		io.WriteString(w, "\n")
	case "invalid JSON":
		io.WriteString(w, "id: 1\nevent: approval\ndata: {\"id\": \"broken\", numbers: [17, 42\n\n")
		io.WriteString(w, "id: 2\nevent: resolved\ndata: [\"not\", \"an\", \"object\"]\n\n")
		writeEvent(w, 3, api.EventApproval, goodApproval("after-bad-json"))
		<-r.Context().Done()
	case "malformed numbers":
		many := make([]int, 10_000)
		for i := range many {
			many[i] = 10 + i%90
		}
		for i, nums := range [][]int{nil, {42}, {42, 42, 17}, {7, 42, 88}, {-42, 17, 88}, {100, 42, 88}, many} {
			a := goodApproval(fmt.Sprintf("bad-numbers-%d", i))
			a.Numbers = nums
			writeEvent(w, int64(i+1), api.EventApproval, a)
		}
		writeEvent(w, 10, api.EventApproval, goodApproval("after-bad-numbers"))
		<-r.Context().Done()
	case "unknown request ids":
		writeEvent(w, 1, api.EventResolved, api.Resolved{ID: "never-sent", Status: api.StatusApproved, DecidedBy: "Eve's laptop"})
		writeEvent(w, 2, api.EventUnpaired, api.Unpaired{DeviceID: "someone-else"})
		writeEvent(w, 3, api.EventApproval, goodApproval("after-unknown-ids"))
		<-r.Context().Done()
	case "wrong signature":
		writeEvent(w, 1, api.EventApproval, goodApproval("signed"))
		<-r.Context().Done()
	case "slowloris":
		io.WriteString(w, ": ping\n\n")
		w.flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				if _, err := io.WriteString(w, ":"); err != nil {
					return
				}
				w.flush()
			}
		}
	}
}

func goodApproval(id string) api.Approval {
	now := time.Now().UTC()
	return api.Approval{ID: id, Nonce: "bm9uY2U", Numbers: []int{17, rightNumber, 88},
		Account: api.AccountRef{ID: "u1", Name: "Sam", Email: "sam@example.com"},
		Browser: "Firefox 133", OS: "Windows 10", IP: "203.0.113.7", Place: "Unknown place",
		CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute)}
}

func writeEvent(w *countingWriter, id int64, event string, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, event, b)
	w.flush()
}

// countingWriter counts what a stream wrote and flushes on demand.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) flush() { c.w.(http.Flusher).Flush() }

// TestCompanionHostileServer: a server that answers the approver with
// truncated, huge, malformed and lying events, or trickles a byte every
// 10 s. Each is refused with a message, memory stays bounded, nothing
// crashes, and each desktop then takes a good request from the same server
// and its signed approval is accepted.
func TestCompanionHostileServer(t *testing.T) {
	needKeyringSession(t)
	t.Parallel()
	row := Begin(t, "C5. companion: malformed and hostile server answers")
	row.Done = "an in-process server paired with 9 desktops answers each one's first stream with: an event cut mid-JSON (connection aborted), a 64 MiB line, a 64 MiB list of requests, a 2 MiB event in 1 KiB lines, invalid JSON, malformed number lists, resolutions and removals for ids never sent, a decision refused as badly signed, a byte every 10 s; then a good request"
	h := newHostile(t)
	var saw, lost []string
	var sawMu sync.Mutex
	note := func(s string) { sawMu.Lock(); saw = append(saw, s); sawMu.Unlock() }
	loss := func(s string) { sawMu.Lock(); lost = append(lost, s); sawMu.Unlock() }

	// run pairs a desktop named after its attack, lets the attack happen,
	// checks what check says about it, then approves the good request.
	run := func(attack string, within time.Duration, check func(d *desktop) string) {
		d := newDesktop(t, attack)
		if _, err := d.Pair(context.Background(), h.srv.URL, "K7Q9-M2XD", attack); err != nil {
			t.Errorf("%s: pairing: %v", attack, err)
			loss(attack + ": pairing")
			return
		}
		d.run()
		if what := check(d); what != "" {
			note(attack + ": " + what)
		}
		r, ok := d.request(0, within)
		if !ok {
			loss(attack + ": the desktop took no good request afterwards")
			return
		}
		if !strings.HasPrefix(r.ID, "good-") && !strings.HasPrefix(r.ID, "after-") && r.ID != "signed" {
			t.Errorf("%s: request %.40q was shown", attack, r.ID)
			loss(attack + ": a request that should have been refused was shown")
			return
		}
		status, err := d.approve(r, rightNumber)
		if attack == "wrong signature" {
			if err == nil || !strings.Contains(err.Error(), "signature") {
				t.Errorf("%s: %q, %v; want the server's refusal", attack, status, err)
				loss(attack + ": the refusal was not reported")
			}
			note(fmt.Sprintf("%s: Decide said %q, the request stayed, the second try was accepted", attack, errText(err)))
			status, err = d.approve(r, rightNumber)
			if as := d.Accounts(); len(as) != 1 || as[0].Unpaired {
				loss(attack + ": the desktop thinks it was removed")
			}
		}
		if err != nil || status != api.StatusApproved {
			t.Errorf("%s: approving the good request: %q, %v", attack, status, err)
			loss(attack + ": the good request could not be approved")
		}
	}

	// connError waits for the account to report why its stream failed.
	connError := func(d *desktop, within time.Duration, want string) string {
		e, ok := d.event(0, within, "connection error", func(e approver.Event) bool {
			return e.Kind == approver.EventConnection && e.Account.LastError != ""
		})
		if !ok {
			loss(d.name + ": no error was reported")
			return ""
		}
		if !strings.Contains(e.Account.LastError, want) {
			t.Errorf("%s: %q, want it to say %q", d.name, e.Account.LastError, want)
			loss(d.name + ": the error does not say what happened")
		}
		return fmt.Sprintf("%q", e.Account.LastError)
	}
	logged := func(d *desktop, want string) string {
		_, ok := waitFor(5*time.Second, func() bool { return strings.Contains(d.logs.String(), want) })
		if !ok {
			t.Errorf("%s: nothing logged saying %q:\n%s", d.name, want, d.logs.String())
			loss(d.name + ": refused without a word")
		}
		return fmt.Sprintf("logged %q ×%d", want, strings.Count(d.logs.String(), want))
	}

	// The slow one runs beside the others: it takes the 45 s idle timeout.
	var slow sync.WaitGroup
	slow.Add(1)
	go func() {
		defer slow.Done()
		start := time.Now()
		run("slowloris", 90*time.Second, func(d *desktop) string {
			got := connError(d, 70*time.Second, "sent no whole line")
			return fmt.Sprintf("%s after %s", got, secs(time.Since(start)))
		})
	}()

	run("truncated event", 10*time.Second, func(d *desktop) string {
		return connError(d, 10*time.Second, "unexpected EOF")
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run("64 MiB line", 10*time.Second, func(d *desktop) string {
		return connError(d, 20*time.Second, "line or event too long")
	})
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	var sent int64
	waitFor(5*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		var done bool
		sent, done = h.sent["64 MiB line"]
		return done
	})
	note(fmt.Sprintf("the 64 MiB line was read up to the 1 MiB limit: the server got %.1f MiB out before the desktop hung up; the whole test process allocated %.1f MiB meanwhile (a line held whole would be 64 MiB and more)", float64(sent)/(1<<20), float64(allocated)/(1<<20)))
	if allocated > 48<<20 {
		t.Errorf("%d MiB allocated while a 64 MiB line came", allocated>>20)
		loss(fmt.Sprintf("memory: %d MiB allocated for a 64 MiB line", allocated>>20))
	}
	run("64 MiB answer", 10*time.Second, func(d *desktop) string {
		return connError(d, 20*time.Second, "more than 4 MiB")
	})
	run("2 MiB event in 1 KiB lines", 10*time.Second, func(d *desktop) string {
		return connError(d, 10*time.Second, "line or event too long")
	})
	run("invalid JSON", 10*time.Second, func(d *desktop) string { return logged(d, "cannot be read") })
	run("malformed numbers", 10*time.Second, func(d *desktop) string { return logged(d, "a request that cannot be shown") })
	run("unknown request ids", 10*time.Second, func(d *desktop) string {
		time.Sleep(500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := d.Decide(ctx, d.Accounts()[0].ID, "never-sent", approver.Approve, rightNumber)
		if !errors.Is(err, approver.ErrNotPending) {
			t.Errorf("deciding an id never sent: %v", err)
			loss("unknown request ids: an id never sent could be decided")
		}
		if as := d.Accounts(); as[0].Unpaired {
			loss("unknown request ids: another device's removal unpaired this one")
		}
		return fmt.Sprintf("ignored (still paired; deciding it: %q)", errText(err))
	})
	run("wrong signature", 10*time.Second, func(*desktop) string { return "" })
	slow.Wait()

	// Nothing leaked: every desktop's streams ended with the test's.
	row.Saw = strings.Join(saw, "; ")
	if len(lost) > 0 {
		row.Lost = strings.Join(lost, "; ")
		return
	}
	row.Lost = Nothing
}
