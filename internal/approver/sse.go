package approver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxSSELine bounds one line of the event stream and the data of one event.
const maxSSELine = 1 << 20

// errSSELineTooLong means the stream sent a line or an event larger than
// the parser accepts.
var errSSELineTooLong = errors.New("event stream: line or event too long")

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	ID    string // the last event ID when it was dispatched
	Event string // "message" when the stream named none
	Data  string // data lines joined by "\n"
}

// sseReader parses a text/event-stream as the HTML standard describes it:
// lines end with CRLF, LF or CR; a blank line dispatches; "id", "event" and
// "data" fields; comments and unknown fields are skipped.
type sseReader struct {
	r      *bufio.Reader
	max    int
	lastID string
	first  bool // before the first line: a byte order mark is dropped
	line   []byte
	onLine func() // when not nil, called at the end of every whole line
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 4096), max: max, first: true}
}

// Next returns the next event. At the end of the stream it returns io.EOF
// (an event without its blank line is dropped).
func (p *sseReader) Next() (sseEvent, error) {
	var (
		event   string
		data    strings.Builder
		hasData bool
	)
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				event = ""
				continue
			}
			d := data.String()
			d = strings.TrimSuffix(d, "\n")
			if event == "" {
				event = "message"
			}
			return sseEvent{ID: p.lastID, Event: event, Data: d}, nil
		}
		if line[0] == ':' {
			continue
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte{' '})
		}
		switch string(name) {
		case "event":
			event = string(value)
		case "data":
			if data.Len()+len(value)+1 > p.max {
				return sseEvent{}, errSSELineTooLong
			}
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.lastID = string(value)
			}
		}
	}
}

// readLine returns the next line without its end. The slice is valid until
// the next call.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(p.line) > 0 {
				// A last line without its end dispatches nothing anyway.
				return nil, io.EOF
			}
			return nil, err
		}
		switch b {
		case '\n':
			p.lineDone()
			return p.trimBOM(), nil
		case '\r':
			if next, err := p.r.Peek(1); err == nil && next[0] == '\n' {
				_, _ = p.r.ReadByte()
			}
			p.lineDone()
			return p.trimBOM(), nil
		}
		if len(p.line) >= p.max {
			return nil, errSSELineTooLong
		}
		p.line = append(p.line, b)
	}
}

func (p *sseReader) lineDone() {
	if p.onLine != nil {
		p.onLine()
	}
}

func (p *sseReader) trimBOM() []byte {
	if p.first {
		p.first = false
		return bytes.TrimPrefix(p.line, []byte("\uFEFF"))
	}
	return p.line
}
