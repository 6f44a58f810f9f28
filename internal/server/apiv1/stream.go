package apiv1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
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
//
// Thousands of companions hold a stream each, so one costs as little as it
// can: over HTTP/1.1 the connection is taken over from net/http once the
// feed is open, and the handler returns, which frees the connection's
// buffers, request and serving goroutine. Two goroutines are left, one
// writing events and pings straight to the connection in chunks and one
// waiting for the client to go. Where the connection can't be taken over
// (HTTP/2, a response writer without Hijack) the handler writes the stream
// itself.
func (h *handler) streamApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	last, err := lastEventID(r)
	if err != nil {
		return err
	}
	feed, err := h.approvals.Follow(r.Context(), c.device, last)
	if err != nil {
		return approvalError(err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	rc := http.NewResponseController(w)
	if r.ProtoMajor == 1 && r.ProtoMinor >= 1 {
		if conn, _, err := rc.Hijack(); err == nil {
			h.streamOn(conn, hd, feed, c.device.ID)
			return nil
		}
	}
	defer feed.Close()

	// The server's timeouts are for ordinary requests; a stream lives on.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		h.log.Debug("api: stream without clearing the write deadline", "err", err)
	}
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		h.log.Debug("api: stream without clearing the read deadline", "err", err)
	}
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil { // the headers, at once
		if errors.Is(err, http.ErrNotSupported) {
			h.log.Error("api: approval streams need a response writer that flushes; a middleware hides it (give it an Unwrap method)")
		}
		return nil
	}
	h.follow(r.Context(), feed, c.device.ID, func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	})
	return nil
}

// streamOn runs a stream on a connection taken over from net/http (with no
// deadlines, as Hijack leaves it): it writes the response's head, then
// hands the connection to a goroutine that follows the feed and ends the
// chunked body and closes the connection when the stream ends, and to one
// that reads until the client goes. Bytes a client sends are ignored.
func (h *handler) streamOn(conn net.Conn, hd http.Header, feed *approval.Feed, device string) {
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	hd.Write(&head)
	head.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n")
	head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		feed.Close()
		conn.Close()
		return
	}
	ctx, gone := context.WithCancel(context.Background())
	go func() {
		var b [64]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				gone()
				return
			}
		}
	}()
	go func() {
		defer conn.Close() // which ends the reader
		defer feed.Close()
		defer gone()
		h.follow(ctx, feed, device, func(b []byte) bool {
			return writeChunk(conn, b) == nil
		})
		if ctx.Err() == nil {
			io.WriteString(conn, "0\r\n\r\n") // the end of the body
		}
	}()
}

// writeChunk writes b as one chunk of a chunked body.
func writeChunk(w io.Writer, b []byte) error {
	c := make([]byte, 0, len(b)+12)
	c = strconv.AppendInt(c, int64(len(b)), 16)
	c = append(c, "\r\n"...)
	c = append(c, b...)
	c = append(c, "\r\n"...)
	_, err := w.Write(c)
	return err
}

var pingComment = []byte(": ping\n\n")

// follow sends the feed's events and pings through send until ctx ends,
// the server shuts down, the approval service closes, send fails or the
// device is unpaired (after its "unpaired" event). It waits on channels
// only: the feed's wake-ups, a ticker, the ends.
func (h *handler) follow(ctx context.Context, feed *approval.Feed, device string, send func([]byte) bool) {
	h.streams.Add(1)
	defer h.streams.Add(-1)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	evs, err := feed.Next(ctx)
	for {
		if err != nil && ctx.Err() == nil {
			// The cursor stays before what was not read: the next wake
			// reads it again.
			h.log.Warn("api: read approval events for a stream", "device", device, "err", err)
		}
		if b := h.encode(evs); len(b) > 0 && !send(b) {
			return
		}
		if feed.Done() { // it sent this device's "unpaired"
			return
		}
		evs, err = nil, nil
		select {
		case <-ctx.Done():
			return
		case <-h.closing:
			return
		case <-feed.Ended():
			return
		case <-ping.C:
			if !send(pingComment) {
				return
			}
		case <-feed.Wake():
			evs, err = feed.Next(ctx)
		}
	}
}

// encode writes events as SSE, leaving out (and logging) any whose JSON is
// broken.
func (h *handler) encode(evs []api.StreamEvent) []byte {
	if len(evs) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, ev := range evs {
		if err := appendEvent(&b, ev); err != nil {
			h.log.Error("api: an approval event does not encode", "seq", ev.ID, "event", ev.Event, "err", err)
		}
	}
	return b.Bytes()
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

// appendEvent adds one SSE event to b: id, event and its JSON on one data
// line; nothing when the JSON is broken.
func appendEvent(b *bytes.Buffer, ev api.StreamEvent) error {
	mark := b.Len()
	b.WriteString("id: ")
	b.WriteString(strconv.FormatInt(ev.ID, 10))
	b.WriteString("\nevent: ")
	b.WriteString(ev.Event)
	b.WriteString("\ndata: ")
	if err := json.Compact(b, ev.Data); err != nil {
		b.Truncate(mark)
		return err
	}
	b.WriteString("\n\n")
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
	events, cursor, err := h.approvals.Poll(ctx, c.device, after, wait)
	if err != nil {
		return approvalError(err)
	}
	if events == nil {
		events = []api.StreamEvent{}
	}
	writeJSON(w, http.StatusOK, api.PollResult{Events: events, Cursor: max(cursor, after)})
	return nil
}
