// Command keylatency measures how long a window takes to show a keystroke:
// it types into the X window given by -window with XTEST and times each key
// press until the window's next frame, which the X server reports with a
// DAMAGE event on that window. .ci/bench-ui runs it on Countersign's window
// and on the bare Fyne window (.ci/hello) alike.
//
// It types the search -text ("git") one key at a time and then takes it back
// with BackSpace, over and over, -keys times (after -warmup keys that are not
// counted: the first ones focus the field), waiting -gap after each frame so
// that the next key meets an idle window. The gap stays under the 300 ms
// after a key in which Fyne's text cursor does not blink, so that a blink is
// not taken for the key's frame. Other frames the window draws on its own
// (Countersign's countdown, a few times a minute) can still be taken for one:
// they make that sample shorter, never longer.
//
// It prints one sample a line, in milliseconds, on stdout, and p50, p95 and
// the maximum on stderr.
//
// With -idle it types nothing: it counts the frames the window draws on its
// own over that long and prints the count (what an idle window's CPU goes
// to: every frame redraws the whole window).
//
//	keylatency -window 0x200001 [-keys 100] [-text git]
//	keylatency -window 0x200001 -idle 10s
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// keysymBackSpace is X's BackSpace key; the letters' keysyms are their
// Latin-1 codes.
const keysymBackSpace = 0xff08

func main() {
	window := flag.String("window", "", "the X window to type into (decimal or 0x hex, as xdotool prints it)")
	keys := flag.Int("keys", 100, "keystrokes to time")
	warmup := flag.Int("warmup", 6, "keystrokes to send first without timing them")
	text := flag.String("text", "git", "the search to type and take back (lower-case letters)")
	gap := flag.Duration("gap", 80*time.Millisecond, "the pause after each frame before the next key")
	timeout := flag.Duration("timeout", 5*time.Second, "how long to wait for a frame before giving up")
	idle := flag.Duration("idle", 0, "type nothing: count the frames the window draws over this long")
	flag.Parse()
	if err := run(*window, *keys, *warmup, *text, *gap, *timeout, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "keylatency:", err)
		os.Exit(1)
	}
}

func run(window string, keys, warmup int, text string, gap, timeout, idle time.Duration) error {
	id, err := strconv.ParseUint(window, 0, 32)
	if err != nil || id == 0 {
		return fmt.Errorf("-window %q is not an X window id: pass one as xdotool search prints it", window)
	}
	if text == "" || keys < 1 || warmup < 0 {
		return errors.New("-text must not be empty, -keys must be at least 1 and -warmup not negative")
	}
	xgb.Logger = log.New(io.Discard, "", 0) // it says it found no ~/.Xauthority, as Xvfb needs none
	x, err := xgb.NewConn()
	if err != nil {
		return fmt.Errorf("cannot connect to the X display %q: %w", os.Getenv("DISPLAY"), err)
	}
	defer x.Close()
	win := xproto.Window(id)
	if err := initExtensions(x); err != nil {
		return err
	}
	if idle > 0 {
		n, err := countFrames(x, win, idle)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	}
	codes, err := keycodes(x, append([]rune(text), keysymBackSpace))
	if err != nil {
		return err
	}
	// The sequence of keys: the text typed, then as many BackSpaces.
	var seq []xproto.Keycode
	for _, r := range text {
		seq = append(seq, codes[r])
	}
	for range text {
		seq = append(seq, codes[keysymBackSpace])
	}

	dmg, err := damage.NewDamageId(x)
	if err != nil {
		return err
	}
	if err := damage.CreateChecked(x, dmg, xproto.Drawable(win), damage.ReportLevelNonEmpty).Check(); err != nil {
		return fmt.Errorf("cannot watch window %#x for new frames: %w", id, err)
	}
	if err := xproto.SetInputFocusChecked(x, xproto.InputFocusPointerRoot, win, xproto.TimeCurrentTime).Check(); err != nil {
		return fmt.Errorf("cannot give window %#x the keyboard: %w", id, err)
	}
	var samples []float64
	for i := 0; i < warmup+keys; i++ {
		time.Sleep(gap)
		// Watch afresh, and forget the frames drawn since the last key: the
		// reply comes after every event sent before it.
		damage.Subtract(x, dmg, 0, 0)
		if _, err := xproto.GetInputFocus(x).Reply(); err != nil {
			return err
		}
		for {
			if ev, err := x.PollForEvent(); ev == nil && err == nil {
				break
			}
		}
		k := byte(seq[i%len(seq)])
		start := time.Now()
		xtest.FakeInput(x, xproto.KeyPress, k, 0, 0, 0, 0, 0)
		xtest.FakeInput(x, xproto.KeyRelease, k, 0, 0, 0, 0, 0)
		giveUp := time.AfterFunc(timeout, func() {
			fmt.Fprintf(os.Stderr, "keylatency: window %#x drew nothing within %v of key %d: is it typing into a field?\n", id, timeout, i+1)
			os.Exit(1)
		})
		at, err := nextFrame(x, dmg)
		giveUp.Stop()
		if err != nil {
			return err
		}
		if i >= warmup {
			samples = append(samples, float64(at.Sub(start))/float64(time.Millisecond))
		}
	}
	// Leave the field as it was found: empty.
	for i := len(samples) + warmup; i%len(seq) != 0; i++ {
		k := byte(seq[i%len(seq)])
		xtest.FakeInput(x, xproto.KeyPress, k, 0, 0, 0, 0, 0)
		xtest.FakeInput(x, xproto.KeyRelease, k, 0, 0, 0, 0, 0)
	}
	x.Sync()

	for _, s := range samples {
		fmt.Printf("%.2f\n", s)
	}
	slices.Sort(samples)
	fmt.Fprintf(os.Stderr, "keylatency: %d keys: p50 %.1f ms  p95 %.1f ms  max %.1f ms\n",
		len(samples), percentile(samples, 50), percentile(samples, 95), samples[len(samples)-1])
	return nil
}

// countFrames counts the frames window win draws over d: the damage events
// on it, each acknowledged before the next can come.
func countFrames(x *xgb.Conn, win xproto.Window, d time.Duration) (int, error) {
	dmg, err := damage.NewDamageId(x)
	if err != nil {
		return 0, err
	}
	if err := damage.CreateChecked(x, dmg, xproto.Drawable(win), damage.ReportLevelNonEmpty).Check(); err != nil {
		return 0, fmt.Errorf("cannot watch window %#x for new frames: %w", win, err)
	}
	// The events come on their own goroutine, so that the count stops on
	// time; watching starts afresh once the server has seen the request.
	damage.Subtract(x, dmg, 0, 0)
	if _, err := xproto.GetInputFocus(x).Reply(); err != nil {
		return 0, err
	}
	for {
		if ev, err := x.PollForEvent(); ev == nil && err == nil {
			break
		}
	}
	frames := make(chan struct{})
	go func() {
		for {
			ev, err := x.WaitForEvent()
			if ev == nil && err == nil {
				close(frames)
				return
			}
			if n, ok := ev.(damage.NotifyEvent); ok && n.Damage == dmg {
				damage.Subtract(x, dmg, 0, 0)
				frames <- struct{}{}
			}
		}
	}()
	n := 0
	end := time.After(d)
	for {
		select {
		case _, ok := <-frames:
			if !ok {
				return n, errors.New("the X connection closed")
			}
			n++
		case <-end:
			return n, nil
		}
	}
}

// nextFrame waits for the damage event of dmg and says when it came.
func nextFrame(x *xgb.Conn, dmg damage.Damage) (time.Time, error) {
	for {
		ev, err := x.WaitForEvent()
		if ev == nil && err == nil {
			return time.Time{}, errors.New("the X connection closed")
		}
		if n, ok := ev.(damage.NotifyEvent); ok && n.Damage == dmg {
			return time.Now(), nil
		}
	}
}

// initExtensions makes sure the server has DAMAGE (with XFIXES, whose
// regions it uses) and XTEST, and says which versions this client speaks.
func initExtensions(x *xgb.Conn) error {
	if err := xfixes.Init(x); err != nil {
		return fmt.Errorf("the X server has no XFIXES extension: %w", err)
	}
	if _, err := xfixes.QueryVersion(x, 5, 0).Reply(); err != nil {
		return err
	}
	if err := damage.Init(x); err != nil {
		return fmt.Errorf("the X server has no DAMAGE extension: %w", err)
	}
	if _, err := damage.QueryVersion(x, 1, 1).Reply(); err != nil {
		return err
	}
	if err := xtest.Init(x); err != nil {
		return fmt.Errorf("the X server has no XTEST extension (Xvfb has it unless started with -extension XTEST): %w", err)
	}
	_, err := xtest.GetVersion(x, 2, 2).Reply()
	return err
}

// keycodes finds the key that types each keysym without modifiers.
func keycodes(x *xgb.Conn, syms []rune) (map[rune]xproto.Keycode, error) {
	setup := xproto.Setup(x)
	first, last := setup.MinKeycode, setup.MaxKeycode
	m, err := xproto.GetKeyboardMapping(x, first, byte(last-first+1)).Reply()
	if err != nil {
		return nil, err
	}
	per := int(m.KeysymsPerKeycode)
	codes := map[rune]xproto.Keycode{}
	for _, s := range syms {
		for i := 0; i*per < len(m.Keysyms); i++ {
			if per > 0 && rune(m.Keysyms[i*per]) == s {
				codes[s] = first + xproto.Keycode(i)
				break
			}
		}
		if _, ok := codes[s]; !ok {
			return nil, fmt.Errorf("no key on the X keyboard types %q", s)
		}
	}
	return codes, nil
}

// percentile is the p-th percentile of sorted samples, nearest rank.
func percentile(sorted []float64, p int) float64 {
	i := (p*len(sorted) + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}
