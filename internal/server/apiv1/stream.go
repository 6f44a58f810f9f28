package apiv1

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// pingEvery is how often an approvals stream sends a ": ping" comment, so
// that proxies and the companion see the connection is alive. A variable
// for tests.
var pingEvery = 15 * time.Second

// Long polls.
const (
	defaultPollWait = 25 * time.Second
	maxPollWait     = 30 * time.Second
)

// streamApprovals sends the account's approval events as Server-Sent
// Events until the client goes, the device is unpaired or the server shuts
// down.
func (h *handler) streamApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	last, err := lastEventID(r)
	if err != nil {
		return err
	}
	ctx, cancel := h.untilClosing(r.Context())
	defer cancel()
	events, err := h.approvals.Stream(ctx, c.device, last)
	if err != nil {
		return approvalError(err)
	}

	// The server's timeouts are for ordinary requests; a stream lives on.
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		h.log.Debug("api: stream without clearing the write deadline", "err", err)
	}
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		h.log.Debug("api: stream without clearing the read deadline", "err", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	send := func() bool {
		if err := bw.Flush(); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if err := rc.Flush(); err != nil { // the headers, at once
		if errors.Is(err, http.ErrNotSupported) {
			h.log.Error("api: approval streams need a response writer that flushes; a middleware hides it (give it an Unwrap method)")
		}
		return nil
	}

	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ping.C:
			bw.WriteString(": ping\n\n")
			if !send() {
				return nil
			}
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := writeEvent(bw, ev); err != nil {
				h.log.Error("api: an approval event does not encode", "seq", ev.ID, "event", ev.Event, "err", err)
				continue
			}
			if !send() {
				return nil
			}
			if ev.Event == api.EventUnpaired {
				return nil
			}
		}
	}
}

// untilClosing is ctx, ended too when the server shuts down
// (Options.Closing).
func (h *handler) untilClosing(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if h.closing != nil {
		go func() {
			select {
			case <-h.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// writeEvent writes one SSE event: id, event and its JSON on one data line.
func writeEvent(bw *bufio.Writer, ev api.StreamEvent) error {
	var data bytes.Buffer
	if err := json.Compact(&data, ev.Data); err != nil {
		return err
	}
	bw.WriteString("id: " + strconv.FormatInt(ev.ID, 10) + "\n")
	bw.WriteString("event: " + ev.Event + "\n")
	bw.WriteString("data: ")
	bw.Write(data.Bytes())
	bw.WriteString("\n\n")
	return nil
}

// lastEventID is where a stream resumes: the Last-Event-ID header a
// reconnecting EventSource sends, or ?last_event_id=; 0 when neither.
func lastEventID(r *http.Request) (int64, error) {
	s := r.Header.Get("Last-Event-ID")
	if s == "" {
		s = r.URL.Query().Get("last_event_id")
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errBadRequest("The last event id must be the id of an event of this stream.")
	}
	return n, nil
}

// pollApprovals is the long-poll fallback of the stream: it answers at once
// with the events after ?after=, or waits up to ?timeout= seconds for one.
func (h *handler) pollApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	q := r.URL.Query()
	var after int64
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return errBadRequest("after must be the id of an event already seen, or 0.")
		}
		after = n
	}
	wait := defaultPollWait
	if s := q.Get("timeout"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > int(maxPollWait/time.Second) {
			return errBadRequest("timeout must be a whole number of seconds from 0 to %d.", int(maxPollWait/time.Second))
		}
		wait = time.Duration(n) * time.Second
	}
	ctx, cancel := h.untilClosing(r.Context())
	defer cancel()
	events, err := h.approvals.Poll(ctx, c.device, after, wait)
	if err != nil {
		return approvalError(err)
	}
	if events == nil {
		events = []api.StreamEvent{}
	}
	writeJSON(w, http.StatusOK, api.PollResult{Events: events})
	return nil
}
