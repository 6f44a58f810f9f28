package approver

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// readAll parses a whole stream; err is what ended it.
func readAll(s string, max int) ([]sseEvent, error) {
	r := newSSEReader(strings.NewReader(s), max)
	var evs []sseEvent
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSE(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseEvent
	}{
		{"one event", "id: 7\nevent: approval\ndata: {\"id\":\"r1\"}\n\n",
			[]sseEvent{{ID: "7", Event: "approval", Data: `{"id":"r1"}`}}},
		{"default type", "data: x\n\n", []sseEvent{{Event: "message", Data: "x"}}},
		{"multi-line data", "data: a\ndata: b\ndata:\ndata:  c\n\n", []sseEvent{{Event: "message", Data: "a\nb\n\n c"}}},
		{"comments and pings", ": ping\n\n: hello\nevent: resolved\n: in between\ndata: {}\n\n",
			[]sseEvent{{Event: "resolved", Data: "{}"}}},
		{"CRLF", "id: 1\r\nevent: approval\r\ndata: x\r\n\r\n", []sseEvent{{ID: "1", Event: "approval", Data: "x"}}},
		{"CR", "id: 1\revent: approval\rdata: x\r\r", []sseEvent{{ID: "1", Event: "approval", Data: "x"}}},
		{"id persists", "id: 3\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
			[]sseEvent{{ID: "3", Event: "message", Data: "a"}, {ID: "3", Event: "message", Data: "b"}, {ID: "", Event: "message", Data: "c"}}},
		{"id with NUL ignored", "id: 4\ndata: a\n\nid: 5\x006\ndata: b\n\n",
			[]sseEvent{{ID: "4", Event: "message", Data: "a"}, {ID: "4", Event: "message", Data: "b"}}},
		{"no data, no event", "event: approval\nid: 9\n\ndata: z\n\n", []sseEvent{{ID: "9", Event: "message", Data: "z"}}},
		{"field without colon", "data\n\n", []sseEvent{{Event: "message", Data: ""}}},
		{"only one space dropped", "data:  two\n\n", []sseEvent{{Event: "message", Data: " two"}}},
		{"no space", "event:unpaired\ndata:{}\n\n", []sseEvent{{Event: "unpaired", Data: "{}"}}},
		{"unknown fields and retry", "retry: 1000\nfoo: bar\ndata: x\n\n", []sseEvent{{Event: "message", Data: "x"}}},
		{"byte order mark", "\uFEFFdata: x\n\n", []sseEvent{{Event: "message", Data: "x"}}},
		{"unfinished event dropped", "data: x\n\ndata: y\n", []sseEvent{{Event: "message", Data: "x"}}},
		{"unfinished line dropped", "data: x\n\ndata: y", []sseEvent{{Event: "message", Data: "x"}}},
		{"event type resets", "event: a\ndata: 1\n\ndata: 2\n\n", []sseEvent{{Event: "a", Data: "1"}, {Event: "message", Data: "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.in, 1024)
			if !errors.Is(err, io.EOF) {
				t.Errorf("ended with %v, want io.EOF", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSSELimits(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100) + "\n\n"
	if _, err := readAll(long, 64); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("a 106-byte line with a 64-byte limit: %v, want errSSELineTooLong", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("x", 20)+"\n", 10) + "\n"
	if _, err := readAll(many, 64); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("210 bytes of data in short lines with a 64-byte limit: %v, want errSSELineTooLong", err)
	}
	if got, err := readAll("data: "+strings.Repeat("x", 50)+"\n\n", 64); len(got) != 1 || !errors.Is(err, io.EOF) {
		t.Errorf("a line within the limit: %d events, %v", len(got), err)
	}
}

// encodeSSE writes events the way a server would.
func encodeSSE(evs []sseEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("id: " + ev.ID + "\n")
		b.WriteString("event: " + ev.Event + "\n")
		for _, line := range strings.Split(ev.Data, "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString(": ping\n\n")
	}
	return b.String()
}

// FuzzSSE checks that the parser never panics, keeps to its limit, and
// that whatever it reads, written back out, reads the same.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"id: 7\nevent: approval\ndata: {\"id\":\"r1\"}\n\n",
		": ping\n\n",
		"data: a\r\ndata: b\r\rdata\n\n",
		"\uFEFFid: 1\x00\nevent:x\ndata:y\n\n",
		"event: unpaired\ndata: {\"device_id\":\"d\"}\n\nid\n\n",
	} {
		f.Add(s)
	}
	const max = 256
	f.Fuzz(func(t *testing.T, s string) {
		evs, err := readAll(s, max)
		if !errors.Is(err, io.EOF) && !errors.Is(err, errSSELineTooLong) {
			t.Fatalf("ended with %v", err)
		}
		var clean []sseEvent
		for _, ev := range evs {
			if len(ev.Data) > max {
				t.Fatalf("event data of %d bytes passed a %d-byte limit", len(ev.Data), max)
			}
			if ev.Event == "" {
				t.Fatal("an event without a type")
			}
			// Only what a line can carry survives a round trip.
			if strings.ContainsAny(ev.ID+ev.Event+ev.Data, "\r") || strings.ContainsAny(ev.ID+ev.Event, "\n") ||
				strings.HasPrefix(ev.ID, " ") || strings.HasPrefix(ev.Event, " ") {
				return
			}
			clean = append(clean, ev)
		}
		again, err := readAll(encodeSSE(clean), 4*max+64)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("re-reading: %v", err)
		}
		if len(clean) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, clean) {
			t.Fatalf("round trip: got %q, want %q", again, clean)
		}
	})
}
