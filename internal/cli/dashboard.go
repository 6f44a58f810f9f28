package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/names"
)

// The account dashboard on the command line: devices, apps, sessions,
// activity and the household of a paired account, through the desktop's
// device token (package client). Tables are for people; --json prints the
// API's own JSON for scripts.

// Synopses of the dashboard's commands.
const (
	devicesSynopsis   = "[--account ID] [--json] [rename ID NAME | remove [--yes] ID | move ID MEMBER | sign-out ID | add-key [--passkey] [--name NAME] [--device PATH] [--pin-file F]]"
	appsSynopsis      = "[--account ID] [--json] [revoke CLIENT_ID]"
	sessionsSynopsis  = "[--account ID] [--json] [revoke (ID | --all [--yes])]"
	activitySynopsis  = "[--account ID] [--json] [--category signins|approvals|changes] [--limit N] [--before CURSOR]"
	householdSynopsis = "[--account ID] [--json] [add NAME | rename MEMBER NAME | remove [--yes] MEMBER | invite MEMBER | share MEMBER | unshare MEMBER]"
)

// dashboard is one dashboard command on its way: the flags every one
// takes, then the account and its client once open.
type dashboard struct {
	env     Env
	fs      *flag.FlagSet
	account *string
	json    *bool
	yes     *bool // only where something is removed
	pwFile  *string
	ctx     context.Context
	m       *approver.Manager
	acct    approver.Account
	c       *client.Client
}

func newDashboard(env Env, name, synopsis string, confirms bool) *dashboard {
	d := &dashboard{env: env, fs: newFlags(env, name, synopsis)}
	d.account = d.fs.String("account", "", "the paired account (see 'countersign accounts'); needed when several are paired")
	d.json = d.fs.Bool("json", false, "print the server's JSON")
	d.pwFile = d.fs.String("password-file", "", "the account's password, on the first line of `FILE` (- for stdin), for when the server asks to confirm it is you; on a terminal it is asked for")
	if confirms {
		d.yes = d.fs.Bool("yes", false, "do not ask for confirmation (needed when stdin is not a terminal)")
	}
	return d
}

// open picks the account and makes its client; ctx ends on Ctrl-C.
func (d *dashboard) open() (context.CancelFunc, error) {
	m, err := openApprover(d.env)
	if err != nil {
		return nil, err
	}
	d.acct, err = pickAccount(m.Accounts(), *d.account)
	if err != nil {
		return nil, err
	}
	d.m = m
	d.c = client.New(stepUpCaller{d: d, c: client.ForAccount(m, d.acct.ID)})
	ctx, cancel := commandContext()
	d.ctx = ctx
	return cancel, nil
}

// stepUpCaller is the account's Caller that, when the server asks to
// confirm it is the account's person (moving a device, inviting, sharing),
// confirms and tries once more: with the password from --password-file,
// or on a terminal the password typed (nothing typed: a touch of a
// security key).
type stepUpCaller struct {
	d *dashboard
	c client.Caller
}

func (s stepUpCaller) Call(ctx context.Context, method, path string, in, out any) error {
	err := s.c.Call(ctx, method, path, in, out)
	if !approver.NeedsStepUp(err) {
		return err
	}
	if err := s.d.stepUp(ctx); err != nil {
		return err
	}
	return s.c.Call(ctx, method, path, in, out)
}

// stepUp confirms it is the account's person for the next five minutes.
func (d *dashboard) stepUp(ctx context.Context) error {
	var pw []byte
	var err error
	switch {
	case *d.pwFile != "":
		pw, err = readSecretFile(d.env, *d.pwFile)
	case d.env.IsTerminal():
		fmt.Fprintf(d.env.Stderr, "For your safety, confirm it is you (%s on %s).\n", names.Show(d.acct.Email), d.acct.Server)
		pw, err = d.env.ReadPassword("the account's password (or Enter to touch your security key): ")
	default:
		return errors.New("the server asks to confirm it is you: give the account's password with --password-file FILE, or run this on a terminal")
	}
	if err != nil {
		return err
	}
	if len(pw) == 0 {
		fmt.Fprintln(d.env.Stderr, "touch your security key…")
		err = d.m.StepUpWithKey(ctx, d.acct.ID)
	} else {
		err = d.m.StepUp(ctx, d.acct.ID, string(pw))
		clear(pw)
	}
	if approver.WrongPassword(err) {
		return errors.New("that is not the account's password; nothing was changed (wrong passwords count as failed sign-ins)")
	}
	return err
}

// pickAccount is the account --account names (an id or a unique prefix),
// or the only one paired.
func pickAccount(as []approver.Account, id string) (approver.Account, error) {
	if id != "" {
		a, err := findPaired(as, id)
		if err == nil && a.Unpaired {
			return a, fmt.Errorf("%s: %w", a.Email, approver.ErrUnpaired)
		}
		return a, err
	}
	var live []approver.Account
	for _, a := range as {
		if !a.Unpaired {
			live = append(live, a)
		}
	}
	switch len(live) {
	case 0:
		return approver.Account{}, errors.New("no paired accounts: pair this desktop first with 'countersign pair countersign://pair?…'")
	case 1:
		return live[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d accounts are paired: choose one with --account ID", len(live))
	for _, a := range live {
		fmt.Fprintf(&b, "\n  %s  %s on %s", a.ID, a.Email, a.Server)
	}
	return approver.Account{}, errors.New(b.String())
}

// confirm asks on the terminal before something is removed; without a
// terminal --yes must say so.
func (d *dashboard) confirm(question, flagHint string) error {
	if d.yes != nil && *d.yes {
		return nil
	}
	if d.env.IsTerminal == nil || !d.env.IsTerminal() {
		return fmt.Errorf("stdin is not a terminal to confirm on: add --yes to %s", flagHint)
	}
	fmt.Fprintf(d.env.Stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(d.env.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errCancelled
}

// errCancelled is a confirmation answered no: nothing was done.
var errCancelled = errors.New("cancelled: nothing was changed")

// table writes aligned columns for people. Every cell is shown through
// names.Show: what a server or a QR code named cannot move the terminal's
// cursor, change its colours or turn the text around.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = names.Show(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// args checks the positional arguments of a subcommand.
func (d *dashboard) args(pos []string, n int, what string) error {
	if len(pos) != n {
		d.fs.Usage()
		return fmt.Errorf("%w: %s", ErrUsage, what)
	}
	return nil
}

// pick finds one item by id, by name (case-insensitive) or by a unique
// prefix of its id.
func pick[T any](items []T, arg, what, listCmd string, id, name func(T) string) (T, error) {
	var zero T
	var byName, byPrefix []T
	for _, it := range items {
		if id(it) == arg {
			return it, nil
		}
		if name != nil && strings.EqualFold(name(it), arg) {
			byName = append(byName, it)
		}
		if arg != "" && strings.HasPrefix(id(it), arg) {
			byPrefix = append(byPrefix, it)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		return zero, fmt.Errorf("%d %ss are called %q: give the id (see '%s')", len(byName), what, arg, listCmd)
	case len(byPrefix) == 1:
		return byPrefix[0], nil
	case len(byPrefix) > 1:
		return zero, fmt.Errorf("%q matches %d %ss: give more of the id", arg, len(byPrefix), what)
	}
	return zero, fmt.Errorf("no %s %q: see '%s'", what, arg, listCmd)
}

func deviceID(d api.Device) string   { return d.ID }
func deviceName(d api.Device) string { return d.Name }
func memberID(m api.Member) string   { return m.ID }
func memberName(m api.Member) string { return m.Name }

// parseVerb parses the flags and splits off the sub-command ("" for none)
// from the other arguments.
func (d *dashboard) parseVerb(args []string) (verb string, rest []string, err error) {
	pos, err := parse(d.fs, args)
	if err != nil || len(pos) == 0 {
		return "", pos, err
	}
	return pos[0], pos[1:], nil
}

// runDevices lists the account's devices, or renames, removes, moves or
// signs out one.
func runDevices(env Env, args []string) error {
	d := newDashboard(env, "devices", devicesSynopsis, true)
	k := addKeyFlags(d)
	verb, pos, err := d.parseVerb(args)
	if err != nil {
		return err
	}
	switch verb {
	case "add-key":
		return d.addKey(k, pos)
	case "", "rename", "remove", "move", "sign-out":
	default:
		d.fs.Usage()
		return fmt.Errorf("%w: unknown devices subcommand %q", ErrUsage, verb)
	}
	if err := d.args(pos, map[string]int{"": 0, "rename": 2, "remove": 1, "move": 2, "sign-out": 1}[verb],
		map[string]string{"": "devices takes no arguments but a subcommand", "rename": "devices rename takes ID NAME",
			"remove": "devices remove takes one ID", "move": "devices move takes ID MEMBER", "sign-out": "devices sign-out takes one ID"}[verb]); err != nil {
		return err
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	if verb == "" {
		return d.listDevices()
	}
	h, err := d.c.Household(d.ctx)
	if err != nil {
		return err
	}
	dev, err := pick(h.Devices, pos[0], "device", "countersign devices", deviceID, deviceName)
	if err != nil {
		return err
	}
	switch verb {
	case "rename":
		got, err := d.c.UpdateDevice(d.ctx, dev.ID, api.DeviceUpdate{Name: pos[1]})
		if err != nil {
			return err
		}
		return d.print(got, "renamed %q to %q", dev.Name, got.Name)
	case "move":
		to, err := pick(h.Members, pos[1], "member", "countersign household", memberID, memberName)
		if err != nil {
			return err
		}
		got, err := d.c.UpdateDevice(d.ctx, dev.ID, api.DeviceUpdate{MemberID: to.ID})
		if err != nil {
			return err
		}
		return d.print(got, "moved %q to %s", dev.Name, to.Name)
	case "sign-out":
		n, err := d.c.SignOutDevice(d.ctx, dev.ID)
		if err != nil {
			return err
		}
		return d.print(api.SignedOut{Ended: n}, "signed %q out: %s ended", dev.Name, count(n, "session"))
	}
	what := fmt.Sprintf("remove %s %q", strings.ToLower(client.DeviceKindName(dev.Kind)), dev.Name)
	if dev.Current {
		what += " (this desktop: it will stop approving sign-ins)"
	}
	if err := d.confirm(what+"?", "remove it"); err != nil {
		return err
	}
	if err := d.c.RemoveDevice(d.ctx, dev.ID); err != nil {
		return err
	}
	return d.done("removed %q", dev.Name)
}

// print writes v as JSON with --json, else the sentence.
func (d *dashboard) print(v any, format string, args ...any) error {
	if *d.json {
		return writeJSON(d.env.Stdout, v)
	}
	_, err := fmt.Fprintf(d.env.Stdout, format+"\n", args...)
	return err
}

// done writes the sentence of a change the server answers with nothing:
// with --json, nothing (the exit status says it).
func (d *dashboard) done(format string, args ...any) error {
	if *d.json {
		return nil
	}
	_, err := fmt.Fprintf(d.env.Stdout, format+"\n", args...)
	return err
}

func (d *dashboard) listDevices() error {
	if *d.json {
		devs, err := d.c.Devices(d.ctx)
		if err != nil {
			return err
		}
		return writeJSON(d.env.Stdout, api.DeviceList{Devices: nonNil(devs)})
	}
	h, err := d.c.Household(d.ctx)
	if err != nil {
		return err
	}
	members := map[string]string{}
	for _, m := range h.Members {
		members[m.ID] = m.Name
	}
	now := d.env.Now()
	var rows [][]string
	for _, dev := range h.Devices {
		rows = append(rows, []string{dev.ID, client.DeviceName(dev), deviceKind(dev), dash(members[dev.MemberID]), seen(dev.LastSeenAt, now), where(dev.Place, dev.IP)})
	}
	if len(rows) == 0 {
		warnf(d.env, "no devices")
		return nil
	}
	return table(d.env.Stdout, "ID\tNAME\tKIND\tMEMBER\tLAST SEEN\tWHERE", rows)
}

// deviceKind says what a device is: "Laptop, Linux", "Browser, Firefox 128 on Linux, 2 sessions".
func deviceKind(d api.Device) string {
	parts := []string{client.DeviceKindName(d.Kind)}
	switch {
	case d.Browser != "" && d.OS != "":
		parts = append(parts, d.Browser+" on "+d.OS)
	case d.Browser != "" || d.OS != "":
		parts = append(parts, d.Browser+d.OS)
	}
	if d.Type == api.DeviceBrowser && d.Sessions > 0 {
		parts = append(parts, count(d.Sessions, "session"))
	}
	return strings.Join(parts, ", ")
}

func seen(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return client.Ago(t, now)
}

func where(place, ip string) string {
	switch {
	case place != "" && ip != "":
		return place + " (" + ip + ")"
	case place != "" || ip != "":
		return place + ip
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// count is n words: "1 device", "2 devices".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func runApps(env Env, args []string) error {
	d := newDashboard(env, "apps", appsSynopsis, false)
	pos, err := parse(d.fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
	case pos[0] == "revoke":
		if err := d.args(pos, 2, "apps revoke takes one CLIENT_ID"); err != nil {
			return err
		}
	default:
		d.fs.Usage()
		return fmt.Errorf("%w: unknown apps subcommand %q", ErrUsage, pos[0])
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	apps, err := d.c.Apps(d.ctx)
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		app, err := pick(apps, pos[1], "app", "countersign apps", func(a api.App) string { return a.ClientID }, func(a api.App) string { return a.Name })
		if err != nil {
			return err
		}
		if err := d.c.RevokeApp(d.ctx, app.ClientID); err != nil {
			return err
		}
		return d.done("%s may no longer sign in with your account", app.Name)
	}
	if *d.json {
		return writeJSON(d.env.Stdout, api.AppList{Apps: nonNil(apps)})
	}
	if len(apps) == 0 {
		warnf(env, "no apps may sign in with your account")
		return nil
	}
	now := env.Now()
	var rows [][]string
	for _, a := range apps {
		words := make([]string, len(a.Scopes))
		for i, s := range a.Scopes {
			words[i] = api.ScopeWords(s)
		}
		rows = append(rows, []string{a.ClientID, a.Name, strings.Join(words, "; "), client.Date(a.GrantedAt, now), seen(a.LastUsedAt, now)})
	}
	return table(env.Stdout, "CLIENT ID\tNAME\tMAY\tALLOWED\tLAST USED", rows)
}

func runSessions(env Env, args []string) error {
	d := newDashboard(env, "sessions", sessionsSynopsis, true)
	all := d.fs.Bool("all", false, "with revoke: end every session")
	pos, err := parse(d.fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0 && !*all:
	case len(pos) > 0 && pos[0] == "revoke":
		want := 2
		if *all {
			want = 1
		}
		if err := d.args(pos, want, "sessions revoke takes one ID, or --all"); err != nil {
			return err
		}
	case len(pos) == 0:
		d.fs.Usage()
		return fmt.Errorf("%w: --all goes with revoke: countersign sessions revoke --all", ErrUsage)
	default:
		d.fs.Usage()
		return fmt.Errorf("%w: unknown sessions subcommand %q", ErrUsage, pos[0])
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	if *all {
		if err := d.confirm("sign out every session of "+d.acct.Email+"?", "end every session"); err != nil {
			return err
		}
		n, err := d.c.EndAllSessions(d.ctx)
		if err != nil {
			return err
		}
		return d.print(api.SignedOut{Ended: n}, "%s ended", count(n, "session"))
	}
	sessions, err := d.c.Sessions(d.ctx)
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		s, err := pick(sessions, pos[1], "session", "countersign sessions", func(s api.Session) string { return s.ID }, nil)
		if err != nil {
			return err
		}
		if err := d.c.EndSession(d.ctx, s.ID); err != nil {
			return err
		}
		return d.done("signed out %s", sessionWhat(s))
	}
	if *d.json {
		return writeJSON(d.env.Stdout, api.SessionList{Sessions: nonNil(sessions)})
	}
	if len(sessions) == 0 {
		warnf(env, "no one is signed in")
		return nil
	}
	now := env.Now()
	var rows [][]string
	for _, s := range sessions {
		rows = append(rows, []string{s.ID, sessionWhat(s), dash(s.IP), client.Ago(s.CreatedAt, now), seen(s.LastSeenAt, now)})
	}
	return table(env.Stdout, "ID\tBROWSER\tIP\tSTARTED\tLAST SEEN", rows)
}

func sessionWhat(s api.Session) string {
	switch {
	case s.Browser != "" && s.OS != "":
		return s.Browser + " on " + s.OS
	case s.Browser != "" || s.OS != "":
		return s.Browser + s.OS
	}
	return "a browser"
}

func runActivity(env Env, args []string) error {
	d := newDashboard(env, "activity", activitySynopsis, false)
	category := d.fs.String("category", "", "only signins, approvals or changes")
	limit := d.fs.Int("limit", 0, "at most this many events, 1–200 (default: the server's, 50)")
	before := d.fs.String("before", "", "older events: the cursor the previous page ended with")
	pos, err := parse(d.fs, args)
	if err != nil {
		return err
	}
	if err := d.args(pos, 0, "activity takes no arguments"); err != nil {
		return err
	}
	switch *category {
	case "", api.ActivitySignIns, api.ActivityApprovals, api.ActivityChanges:
	default:
		return fmt.Errorf("%w: --category is signins, approvals or changes, not %q", ErrUsage, *category)
	}
	if *limit < 0 || *limit > 200 {
		return fmt.Errorf("%w: --limit is from 1 to 200", ErrUsage)
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	page, err := d.c.Activity(d.ctx, *category, *before, *limit)
	if err != nil {
		return err
	}
	if *d.json {
		page.Events = nonNil(page.Events)
		return writeJSON(env.Stdout, page)
	}
	if len(page.Events) == 0 {
		warnf(env, "no activity")
		return nil
	}
	now := env.Now()
	var rows [][]string
	for _, e := range page.Events {
		what := e.Detail
		if what == "" {
			what = api.ActivityTitle(e.Kind)
		}
		if !e.OK {
			what += " (failed)"
		}
		var from []string
		if e.Browser != "" || e.OS != "" {
			from = append(from, sessionWhat(api.Session{Browser: e.Browser, OS: e.OS}))
		}
		if e.IP != "" {
			from = append(from, e.IP)
		}
		rows = append(rows, []string{client.Ago(e.At, now), what, dash(e.Member), dash(strings.Join(from, ", "))})
	}
	if err := table(env.Stdout, "WHEN\tWHAT\tWHO\tFROM", rows); err != nil {
		return err
	}
	if page.Next != "" {
		warnf(env, "older activity: countersign activity --before %s", page.Next)
	}
	return nil
}
