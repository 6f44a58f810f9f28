package softkey

import (
	"context"
	"encoding/binary"
	"log/slog"
	"time"
)

// CTAPHID framing (CTAP 2.1 section 11.2) over 64-byte reports.
const (
	reportSize    = 64
	initDataSize  = reportSize - 7
	contDataSize  = reportSize - 5
	maxHIDMessage = initDataSize + 128*contDataSize // 7609
	cidBroadcast  = 0xffffffff

	hidPing      = 0x01
	hidMsg       = 0x03
	hidLock      = 0x04
	hidInit      = 0x06
	hidWink      = 0x08
	hidCBOR      = 0x10
	hidCancel    = 0x11
	hidKeepalive = 0x3b
	hidError     = 0x3f

	hidErrInvalidCmd     = 0x01
	hidErrInvalidLen     = 0x03
	hidErrInvalidSeq     = 0x04
	hidErrMsgTimeout     = 0x05
	hidErrChannelBusy    = 0x06
	hidErrInvalidChannel = 0x0b

	keepaliveProcessing = 1
	keepaliveUPNeeded   = 2

	capCBOR = 0x04
	capNMSG = 0x08 // no CTAPHID_MSG (U2F)

	keepaliveEvery = 100 * time.Millisecond
	contTimeout    = 500 * time.Millisecond
)

// hidServer speaks CTAPHID for one Key. Reports arrive on a channel and
// leave through send; run is the only goroutine touching its fields.
//
// A pty has one client at a time (libfido2 flocks the device), so an INIT
// on the broadcast channel means a new client: the server drops any
// half-received message, abandons a running command and flushes answers
// the previous client never read.
type hidServer struct {
	key  *Key
	log  *slog.Logger
	send func(report []byte) error
	// flushInput, if set, discards reports still queued towards the host:
	// stale answers for a client that went away before reading them.
	flushInput func()

	channels map[uint32]bool
	lastCID  uint32
	asm      *assembly
	busy     *transaction
	results  chan result
	stopped  chan struct{} // closed when run returns
}

type assembly struct {
	cid  uint32
	cmd  byte
	need int
	data []byte
	seq  byte
	last time.Time
}

type transaction struct {
	cid    uint32
	cancel context.CancelFunc
}

type result struct {
	tx   *transaction
	resp []byte
}

func newHIDServer(k *Key, send func([]byte) error, flushInput func()) *hidServer {
	return &hidServer{
		key: k, log: k.log, send: send, flushInput: flushInput,
		channels: map[uint32]bool{},
		results:  make(chan result, 1),
		stopped:  make(chan struct{}),
	}
}

// run serves until ctx ends or reports is closed.
func (s *hidServer) run(ctx context.Context, reports <-chan []byte) {
	tick := time.NewTicker(keepaliveEvery)
	defer tick.Stop()
	defer close(s.stopped)
	defer s.abort()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-reports:
			if !ok {
				return
			}
			s.onReport(ctx, r)
		case res := <-s.results:
			if res.tx == s.busy { // else it was abandoned by an INIT
				s.busy = nil
				s.sendMessage(res.tx.cid, hidCBOR, res.resp)
			}
		case <-tick.C:
			if s.busy != nil {
				status := byte(keepaliveProcessing)
				if s.key.waitingUP.Load() {
					status = keepaliveUPNeeded
				}
				s.sendMessage(s.busy.cid, hidKeepalive, []byte{status})
			}
			if s.asm != nil && time.Since(s.asm.last) > contTimeout {
				s.sendError(s.asm.cid, hidErrMsgTimeout)
				s.asm = nil
			}
		}
	}
}

// abort drops the message being assembled and cancels the running command,
// whose answer will then be discarded.
func (s *hidServer) abort() {
	s.asm = nil
	if s.busy != nil {
		s.busy.cancel()
		s.busy = nil
	}
}

func (s *hidServer) onReport(ctx context.Context, r []byte) {
	if len(r) != reportSize {
		return
	}
	cid := binary.BigEndian.Uint32(r)
	if r[4]&0x80 == 0 {
		s.onContinuation(ctx, cid, r)
		return
	}
	cmd := r[4] & 0x7f
	n := int(binary.BigEndian.Uint16(r[5:]))
	if cmd == hidInit {
		s.onInit(cid, n, r[7:])
		return
	}
	if cid == 0 || cid == cidBroadcast || !s.channels[cid] {
		s.sendError(cid, hidErrInvalidChannel)
		return
	}
	if cmd == hidCancel {
		if s.busy != nil && s.busy.cid == cid {
			s.busy.cancel() // the command answers CTAP2_ERR_KEEPALIVE_CANCEL
		}
		return
	}
	if s.busy != nil || (s.asm != nil && s.asm.cid != cid) {
		s.sendError(cid, hidErrChannelBusy)
		return
	}
	if s.asm != nil { // a new request on the channel mid-message
		s.asm = nil
		s.sendError(cid, hidErrInvalidSeq)
		return
	}
	if n > maxHIDMessage {
		s.sendError(cid, hidErrInvalidLen)
		return
	}
	a := &assembly{cid: cid, cmd: cmd, need: n, last: time.Now()}
	a.data = append(make([]byte, 0, n), r[7:7+min(n, initDataSize)]...)
	s.asm = a
	if len(a.data) == n {
		s.complete(ctx)
	}
}

func (s *hidServer) onContinuation(ctx context.Context, cid uint32, r []byte) {
	a := s.asm
	if a == nil || a.cid != cid {
		return // spurious continuation: ignored (CTAP 2.1 11.2.5)
	}
	if r[4] != a.seq {
		s.asm = nil
		s.sendError(cid, hidErrInvalidSeq)
		return
	}
	a.seq++
	a.last = time.Now()
	a.data = append(a.data, r[5:5+min(a.need-len(a.data), contDataSize)]...)
	if len(a.data) == a.need {
		s.complete(ctx)
	}
}

func (s *hidServer) onInit(cid uint32, n int, nonce []byte) {
	if cid == 0 || (cid != cidBroadcast && !s.channels[cid]) {
		s.sendError(cid, hidErrInvalidChannel)
		return
	}
	if n != 8 {
		s.sendError(cid, hidErrInvalidLen)
		return
	}
	newCID := cid
	if cid == cidBroadcast {
		// A new client: whatever the previous one left behind is stale.
		s.abort()
		if s.flushInput != nil {
			s.flushInput()
		}
		newCID = s.allocate()
	} else if (s.asm != nil && s.asm.cid == cid) || (s.busy != nil && s.busy.cid == cid) {
		s.abort()
	}
	resp := append([]byte(nil), nonce[:8]...)
	resp = binary.BigEndian.AppendUint32(resp, newCID)
	resp = append(resp, 2, 1, 0, 0, capCBOR|capNMSG) // protocol 2, device version 1.0.0
	s.sendMessage(cid, hidInit, resp)
}

func (s *hidServer) allocate() uint32 {
	for {
		s.lastCID++
		if c := s.lastCID; c != 0 && c != cidBroadcast && !s.channels[c] {
			s.channels[c] = true
			return c
		}
	}
}

// complete handles a fully assembled request.
func (s *hidServer) complete(ctx context.Context) {
	a := s.asm
	s.asm = nil
	switch a.cmd {
	case hidPing:
		s.sendMessage(a.cid, hidPing, a.data)
	case hidCBOR:
		if len(a.data) == 0 {
			s.sendError(a.cid, hidErrInvalidLen)
			return
		}
		tctx, cancel := context.WithCancel(ctx)
		tx := &transaction{cid: a.cid, cancel: cancel}
		s.busy = tx
		go func() {
			resp := s.key.handle(tctx, a.data)
			cancel()
			select {
			case s.results <- result{tx: tx, resp: resp}:
			case <-s.stopped:
			}
		}()
	default: // MSG (U2F), LOCK, WINK and vendor commands are not implemented
		s.sendError(a.cid, hidErrInvalidCmd)
	}
}

func (s *hidServer) sendError(cid uint32, code byte) {
	s.sendMessage(cid, hidError, []byte{code})
}

// sendMessage splits a message into an initialization report and
// continuation reports.
func (s *hidServer) sendMessage(cid uint32, cmd byte, data []byte) {
	for _, r := range frames(cid, cmd, data) {
		if err := s.send(r); err != nil {
			s.log.Warn("softkey: send report", "err", err)
			return
		}
	}
}

func frames(cid uint32, cmd byte, data []byte) [][]byte {
	var out [][]byte
	r := make([]byte, reportSize)
	binary.BigEndian.PutUint32(r, cid)
	r[4] = 0x80 | cmd
	binary.BigEndian.PutUint16(r[5:], uint16(len(data)))
	n := copy(r[7:], data)
	out = append(out, r)
	for seq := byte(0); n < len(data); seq++ {
		r := make([]byte, reportSize)
		binary.BigEndian.PutUint32(r, cid)
		r[4] = seq
		n += copy(r[5:], data[n:])
		out = append(out, r)
	}
	return out
}
