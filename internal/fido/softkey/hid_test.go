package softkey

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// hidHost drives a hidServer with reports, as libfido2 would over the pty.
type hidHost struct {
	t       *testing.T
	reports chan []byte
	sent    chan []byte
}

func newHIDHost(t *testing.T, k *Key) *hidHost {
	h := &hidHost{t: t, reports: make(chan []byte), sent: make(chan []byte, 256)}
	srv := newHIDServer(k, func(r []byte) error { h.sent <- append([]byte(nil), r...); return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.run(ctx, h.reports) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *hidHost) write(cid uint32, cmd byte, data []byte) {
	for _, r := range frames(cid, cmd, data) {
		h.reports <- r
	}
}

// read reassembles the next message, skipping keepalives unless asked.
func (h *hidHost) read(keepalives bool) (cid uint32, cmd byte, data []byte) {
	h.t.Helper()
	next := func() []byte {
		select {
		case r := <-h.sent:
			return r
		case <-time.After(5 * time.Second):
			h.t.Fatal("no report from the authenticator")
			return nil
		}
	}
	for {
		r := next()
		cid, cmd = binary.BigEndian.Uint32(r), r[4]&0x7f
		if cmd == hidKeepalive && !keepalives {
			continue
		}
		n := int(binary.BigEndian.Uint16(r[5:]))
		data = append(data, r[7:7+min(n, initDataSize)]...)
		for len(data) < n {
			r := next()
			data = append(data, r[5:5+min(n-len(data), contDataSize)]...)
		}
		return cid, cmd, data
	}
}

func (h *hidHost) init() uint32 {
	h.t.Helper()
	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h.write(cidBroadcast, hidInit, nonce)
	cid, cmd, data := h.read(false)
	if cid != cidBroadcast || cmd != hidInit || len(data) != 17 || !bytes.Equal(data[:8], nonce) {
		h.t.Fatalf("INIT: got cid %#x cmd %#x data %x, want the nonce echoed on the broadcast channel", cid, cmd, data)
	}
	if caps := data[16]; caps != capCBOR|capNMSG {
		h.t.Errorf("capabilities: got %#x, want %#x", caps, capCBOR|capNMSG)
	}
	return binary.BigEndian.Uint32(data[8:])
}

func TestHIDFraming(t *testing.T) {
	h := newHIDHost(t, newKey(t, Options{}))
	cid := h.init()
	if other := h.init(); other == cid {
		t.Errorf("two INITs allocated the same channel %#x", cid)
	}

	long := bytes.Repeat([]byte("countersign "), 100) // 1200 bytes: 21 continuation packets
	for _, tc := range []struct {
		name     string
		cid      uint32
		cmd      byte
		data     []byte
		wantCmd  byte
		wantData []byte
	}{
		{"short ping", cid, hidPing, []byte("hi"), hidPing, []byte("hi")},
		{"long ping", cid, hidPing, long, hidPing, long},
		{"empty ping", cid, hidPing, nil, hidPing, nil},
		{"unallocated channel", 0x12345678, hidPing, nil, hidError, []byte{hidErrInvalidChannel}},
		{"U2F message", cid, hidMsg, []byte{0}, hidError, []byte{hidErrInvalidCmd}},
		{"empty CBOR", cid, hidCBOR, nil, hidError, []byte{hidErrInvalidLen}},
		{"CBOR getInfo", cid, hidCBOR, []byte{cmdGetInfo}, hidCBOR, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.write(tc.cid, tc.cmd, tc.data)
			gotCID, gotCmd, got := h.read(false)
			if gotCID != tc.cid || gotCmd != tc.wantCmd {
				t.Fatalf("got cid %#x cmd %#x, want %#x %#x", gotCID, gotCmd, tc.cid, tc.wantCmd)
			}
			if tc.wantData != nil && !bytes.Equal(got, tc.wantData) {
				t.Errorf("got %d bytes %.16x…, want %d bytes %.16x…", len(got), got, len(tc.wantData), tc.wantData)
			}
			if tc.cmd == hidCBOR && tc.wantCmd == hidCBOR && (len(got) < 2 || got[0] != 0) {
				t.Errorf("getInfo over CTAPHID: got %x, want status 0 and a map", got)
			}
		})
	}

	t.Run("wrong sequence", func(t *testing.T) {
		fs := frames(cid, hidPing, long)
		h.reports <- fs[0]
		h.reports <- fs[2]
		if _, cmd, data := h.read(false); cmd != hidError || !bytes.Equal(data, []byte{hidErrInvalidSeq}) {
			t.Errorf("got cmd %#x data %x, want ERROR INVALID_SEQ", cmd, data)
		}
	})
	t.Run("too long", func(t *testing.T) {
		r := frames(cid, hidPing, nil)[0]
		binary.BigEndian.PutUint16(r[5:], maxHIDMessage+1)
		h.reports <- r
		if _, cmd, data := h.read(false); cmd != hidError || !bytes.Equal(data, []byte{hidErrInvalidLen}) {
			t.Errorf("got cmd %#x data %x, want ERROR INVALID_LEN", cmd, data)
		}
	})
	t.Run("continuation timeout", func(t *testing.T) {
		h.reports <- frames(cid, hidPing, long)[0]
		if _, cmd, data := h.read(false); cmd != hidError || !bytes.Equal(data, []byte{hidErrMsgTimeout}) {
			t.Errorf("got cmd %#x data %x, want ERROR MSG_TIMEOUT", cmd, data)
		}
	})
}

func TestHIDKeepaliveAndCancel(t *testing.T) {
	h := newHIDHost(t, newKey(t, Options{Presence: NeverPresent}))
	cid, other := h.init(), h.init()
	req := append([]byte{cmdMakeCredential}, mustMarshal(makeCredReq("example.org", 1, false))...)
	h.write(cid, hidCBOR, req)
	if _, cmd, data := h.read(true); cmd != hidKeepalive || !bytes.Equal(data, []byte{keepaliveUPNeeded}) {
		t.Fatalf("while waiting for a touch: got cmd %#x data %x, want KEEPALIVE UPNEEDED", cmd, data)
	}
	h.write(other, hidPing, []byte("x"))
	if _, cmd, data := h.read(false); cmd != hidError || !bytes.Equal(data, []byte{hidErrChannelBusy}) {
		t.Errorf("ping on another channel while busy: got cmd %#x data %x, want ERROR CHANNEL_BUSY", cmd, data)
	}
	h.write(cid, hidCancel, nil)
	gotCID, cmd, data := h.read(false)
	if gotCID != cid || cmd != hidCBOR || !bytes.Equal(data, []byte{byte(errKeepaliveCancel)}) {
		t.Errorf("after CANCEL: got cid %#x cmd %#x data %x, want CBOR status KEEPALIVE_CANCEL", gotCID, cmd, data)
	}
}

func TestHIDBroadcastInitAbandonsTheOldClient(t *testing.T) {
	h := newHIDHost(t, newKey(t, Options{Presence: NeverPresent}))
	cid := h.init()
	h.write(cid, hidCBOR, append([]byte{cmdMakeCredential}, mustMarshal(makeCredReq("example.org", 1, false))...))
	h.read(true) // a keepalive: the command is waiting
	fresh := h.init()
	h.write(fresh, hidPing, []byte("x"))
	if _, cmd, data := h.read(false); cmd != hidPing || !bytes.Equal(data, []byte("x")) {
		t.Errorf("ping from the new client: got cmd %#x data %x, want the echo", cmd, data)
	}
}
