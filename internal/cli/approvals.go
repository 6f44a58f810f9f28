package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/vault"
)

// openApprover opens the paired accounts. Device keys live in their own
// keyring service; a test's in-memory Keys stands in when it can delete.
func openApprover(env Env) (*approver.Manager, error) {
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return nil, err
	}
	var secrets approver.Secrets
	switch k := env.Keys.(type) {
	case keyring.Keyring:
		secrets = keyring.New(approver.KeyringService)
	case approver.Secrets:
		secrets = k
	default:
		return nil, errors.New("no keyring for device keys")
	}
	return approver.Open(approver.Options{Dir: dir, Keyring: secrets, Now: env.Now})
}

// commandContext ends on Ctrl-C.
func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func runPair(env Env, args []string) error {
	const synopsis = "URI_OR_URL [--code CODE] [--name NAME]"
	fs := newFlags(env, "pair", synopsis)
	code := fs.String("code", "", "the pairing code shown beside the QR code (with a server URL)")
	name := fs.String("name", "", "this desktop's name on the server (default: \""+approver.DefaultDeviceName()+"\")")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: pair takes one countersign://pair link or server URL", ErrUsage)
	}
	m, err := openApprover(env)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext()
	defer cancel()
	a, err := m.Pair(ctx, pos[0], *code, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "paired with %s on %s as %q (device %s)\n", a.Email, a.Server, a.DeviceName, a.ID)
	return nil
}

// pairedJSON is one line of accounts --json.
type pairedJSON struct {
	ID         string    `json:"id"`
	Server     string    `json:"server"`
	AccountID  string    `json:"account_id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	DeviceName string    `json:"device_name"`
	PairedAt   time.Time `json:"paired_at"`
	State      string    `json:"state"` // "paired" or "unpaired"
}

func pairedState(a approver.Account) string {
	if a.Unpaired {
		return "unpaired"
	}
	return "paired"
}

func runAccounts(env Env, args []string) error {
	fs := newFlags(env, "accounts", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: accounts takes no arguments", ErrUsage)
	}
	m, err := openApprover(env)
	if err != nil {
		return err
	}
	as := m.Accounts()
	if *asJSON {
		out := make([]pairedJSON, 0, len(as))
		for _, a := range as {
			out = append(out, pairedJSON{ID: a.ID, Server: a.Server, AccountID: a.AccountID, Name: a.Name, Email: a.Email,
				DeviceName: a.DeviceName, PairedAt: a.PairedAt, State: pairedState(a)})
		}
		return writeJSON(env.Stdout, out)
	}
	if len(as) == 0 {
		warnf(env, "no paired accounts: pair with 'countersign pair countersign://pair?…'")
		return nil
	}
	for _, a := range as {
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\t%q\n", a.ID, a.Email, a.Server, pairedState(a), a.DeviceName)
	}
	return nil
}

// findPaired resolves an id or a unique prefix of one.
func findPaired(as []approver.Account, id string) (approver.Account, error) {
	var found []approver.Account
	for _, a := range as {
		if a.ID == id {
			return a, nil
		}
		if strings.HasPrefix(a.ID, id) {
			found = append(found, a)
		}
	}
	switch {
	case id == "" || len(found) == 0:
		return approver.Account{}, fmt.Errorf("no paired account with id %q: see 'countersign accounts'", id)
	case len(found) > 1:
		return approver.Account{}, fmt.Errorf("%q matches %d paired accounts: give more of the id", id, len(found))
	}
	return found[0], nil
}

func runUnpair(env Env, args []string) error {
	fs := newFlags(env, "unpair", "ID")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: unpair takes one id", ErrUsage)
	}
	m, err := openApprover(env)
	if err != nil {
		return err
	}
	a, err := findPaired(m.Accounts(), pos[0])
	if err != nil {
		return err
	}
	ctx, cancel := commandContext()
	defer cancel()
	if err := m.Unpair(ctx, a.ID); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "unpaired from %s on %s (device %s)\n", a.Email, a.Server, a.ID)
	return nil
}

// approvalJSON is one line of approvals --json.
type approvalJSON struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"` // the paired account (device) id
	Email      string    `json:"email"`
	Server     string    `json:"server"`
	Numbers    []int     `json:"numbers"`
	Browser    string    `json:"browser"`
	OS         string    `json:"os"`
	IP         string    `json:"ip"`
	Place      string    `json:"place"`
	App        string    `json:"app,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RequireKey bool      `json:"require_key"`
}

func runApprovals(env Env, args []string) error {
	fs := newFlags(env, "approvals", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: approvals takes no arguments", ErrUsage)
	}
	m, err := openApprover(env)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext()
	defer cancel()
	rs, fetchErr := m.Fetch(ctx)
	if *asJSON {
		out := make([]approvalJSON, 0, len(rs))
		for _, r := range rs {
			out = append(out, approvalJSON{ID: r.ID, AccountID: r.Account.ID, Email: r.Account.Email, Server: r.Account.Server,
				Numbers: r.Numbers, Browser: r.Browser, OS: r.OS, IP: r.IP, Place: r.Place, App: r.App,
				CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RequireKey: r.RequireKey})
		}
		if err := writeJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		if len(rs) == 0 && fetchErr == nil {
			warnf(env, "no sign-in requests are waiting")
		}
		for _, r := range rs {
			left := r.ExpiresAt.Sub(env.Now()).Round(time.Second)
			fmt.Fprintf(env.Stdout, "%s\t%s\t%s on %s\t%s (%s)\tnumbers %s\texpires in %v\n", r.ID, r.Account.Email,
				r.Browser, r.OS, r.IP, r.Place, joinInts(r.Numbers), max(left, 0))
		}
	}
	return fetchErr
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " ")
}
