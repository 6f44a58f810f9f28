package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/vault"
	"github.com/countersign/countersign/internal/vaultsync/syncer"
)

const syncSynopsis = "[--account ID] [--json] [status | start | join | approve CODE | now | watch [--for DURATION] | off]"

// syncStatusJSON is what sync status --json prints.
type syncStatusJSON struct {
	Syncing     bool       `json:"syncing"`      // this desktop holds the key
	Started     bool       `json:"started"`      // some desktop of this member syncs
	Generation  int        `json:"generation"`   // the key's
	RotateFirst bool       `json:"rotate_first"` // a desktop holding the key went: the next sync rotates it
	Devices     []string   `json:"devices"`
	Joins       []joinJSON `json:"joins"`
}

type joinJSON struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	Code   string `json:"code"` // as computed here: approve only if the joining desktop shows the same
}

// syncResultJSON is what sync start and now print.
type syncResultJSON struct {
	Pulled, Applied, Pushed int
	Rotated                 bool
	Refused                 int
}

// runSync syncs the vault between this person's desktops through the
// paired account: status, start, join, approve CODE, now, off.
func runSync(env Env, args []string) error {
	d := newDashboard(env, "sync", syncSynopsis, false)
	watchFor := d.fs.Duration("for", 0, "with watch: stop after this long (default: until Ctrl-C)")
	verb, pos, err := d.parseVerb(args)
	if err != nil {
		return err
	}
	want := map[string]int{"": 0, "status": 0, "start": 0, "join": 0, "approve": 1, "now": 0, "watch": 0, "off": 0}
	n, ok := want[verb]
	if !ok {
		d.fs.Usage()
		return fmt.Errorf("%w: unknown sync subcommand %q", ErrUsage, verb)
	}
	if err := d.args(pos, n, map[bool]string{true: "sync approve takes the CODE the joining desktop shows", false: "sync " + verb + " takes no arguments"}[verb == "approve"]); err != nil {
		return err
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	switch verb {
	case "", "status":
		return d.syncStatus()
	case "join":
		j, code, err := d.m.SyncJoin(d.ctx, d.acct.ID)
		if err != nil {
			return err
		}
		warnf(env, "on a desktop that syncs, check that it shows this code for %q, then run: countersign sync approve %s", j.DeviceName, code)
		warnf(env, "once approved, run countersign sync now here (the request lasts 10 minutes)")
		return d.print(joinJSON{ID: j.ID, Device: j.DeviceName, Code: code}, "%s", code)
	case "approve":
		j, err := d.m.SyncApprove(d.ctx, d.acct.ID, pos[0])
		if err != nil {
			return err
		}
		return d.print(joinJSON{ID: j.ID, Device: j.DeviceName, Code: j.Code}, "gave the sync key to %q: it syncs once it runs countersign sync now", j.DeviceName)
	case "off":
		s, err := d.syncer()
		if err != nil {
			return err
		}
		if err := d.m.SyncStop(d.ctx, d.acct.ID); err != nil {
			return err
		}
		if err := s.Forget(); err != nil {
			return err
		}
		return d.done("this desktop no longer syncs; its vault keeps every account, and the other desktops rotate the key at their next sync")
	case "start":
		if _, err := d.m.SyncStart(d.ctx, d.acct.ID); err != nil {
			return err
		}
	case "watch":
		return d.syncWatch(*watchFor)
	}
	s, err := d.syncer()
	if err != nil {
		return err
	}
	res, err := s.Sync(d.ctx)
	for _, r := range res.Refused {
		warnf(env, "refused version %d of entry %s from desktop %s: %s", r.Version, r.Entry, r.Device, r.Why)
	}
	if err != nil && !errors.Is(err, syncer.ErrRefused) {
		return err
	}
	msg := fmt.Sprintf("synced: %d records read, %d changes made here, %d sent", res.Pulled, res.Applied, res.Pushed)
	if res.Rotated {
		msg += "; the key was rotated (a desktop holding it had gone)"
	}
	if perr := d.print(syncResultJSON{Pulled: res.Pulled, Applied: res.Applied, Pushed: res.Pushed, Rotated: res.Rotated, Refused: len(res.Refused)}, "%s", msg); perr != nil {
		return perr
	}
	return err
}

func (d *dashboard) syncer() (*syncer.Syncer, error) {
	dir, err := vault.DefaultDir(d.env.Getenv)
	if err != nil {
		return nil, err
	}
	v, err := openVault(d.env)
	if err != nil {
		return nil, err
	}
	return syncer.New(syncer.Options{Server: d.m, Vault: v, AccountID: d.acct.ID, Dir: dir})
}

func (d *dashboard) syncStatus() error {
	st, _, err := d.m.SyncKey(d.ctx, d.acct.ID)
	holds := err == nil
	if err != nil && !errors.Is(err, approver.ErrNotSyncing) {
		return err
	}
	out := syncStatusJSON{Syncing: holds, Started: st.Syncing, Generation: st.Generation, RotateFirst: st.RotateFirst,
		Devices: []string{}, Joins: []joinJSON{}}
	for _, dv := range st.Devices {
		name := dv.Name
		if dv.ID == d.acct.ID {
			name += " (this desktop)"
		}
		if !dv.Live {
			name += " (removed: the key is rotated at the next sync)"
		}
		out.Devices = append(out.Devices, name)
	}
	if holds {
		js, err := d.m.SyncJoins(d.ctx, d.acct.ID)
		if err != nil {
			return err
		}
		for _, j := range js {
			out.Joins = append(out.Joins, joinJSON{ID: j.ID, Device: j.DeviceName, Code: j.Code})
		}
	}
	if *d.json {
		return writeJSON(d.env.Stdout, out)
	}
	var b strings.Builder
	switch {
	case holds:
		fmt.Fprintf(&b, "syncing (key generation %d) with: %s\n", st.Generation, strings.Join(out.Devices, ", "))
	case st.Syncing:
		fmt.Fprintf(&b, "not syncing here; your desktops %s sync: run countersign sync join\n", strings.Join(out.Devices, ", "))
	default:
		b.WriteString("not syncing: run countersign sync start on one desktop, then countersign sync join on the others\n")
	}
	if st.RotateFirst && holds {
		b.WriteString("a desktop that held the key was removed: countersign sync now rotates it\n")
	}
	for _, j := range out.Joins {
		fmt.Fprintf(&b, "%q asks to join, code %s: if it shows the same, run countersign sync approve %s\n", j.Device, j.Code, j.Code)
	}
	_, err = fmt.Fprint(d.env.Stdout, b.String())
	return err
}

// watchEvery is how often sync watch runs a round without being told.
const watchEvery = time.Minute

// syncWatch runs rounds at every "vault" event of the account's stream and
// every watchEvery until Ctrl-C or for d; a line per round that changed
// something, refusals and failures on stderr.
func (d *dashboard) syncWatch(dur time.Duration) error {
	s, err := d.syncer()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	if dur > 0 {
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	running := make(chan struct{})
	go func() { defer close(running); d.m.Run(ctx) }()
	defer func() { cancel(); <-running }()
	wake := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case ev := <-d.m.Events():
				if ev.Kind == approver.EventVault && ev.Account.ID == d.acct.ID {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	var failed error
	s.Run(ctx, wake, tick.C, func(res syncer.Result, err error) {
		for _, r := range res.Refused {
			warnf(d.env, "refused version %d of entry %s from desktop %s: %s", r.Version, r.Entry, r.Device, r.Why)
		}
		if err != nil && !errors.Is(err, syncer.ErrRefused) {
			warnf(d.env, "sync: %v (trying again at the next change or in a minute)", err)
			failed = err
			return
		}
		failed = nil
		if res.Applied+res.Pushed > 0 || res.Rotated {
			fmt.Fprintf(d.env.Stdout, "%s synced: %d changes made here, %d sent\n", d.env.Now().Format(time.TimeOnly), res.Applied, res.Pushed)
		}
	})
	if errors.Is(failed, approver.ErrUnpaired) || errors.Is(failed, approver.ErrNotSyncing) {
		return failed
	}
	return nil
}
