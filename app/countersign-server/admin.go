package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/store"
)

// pairingCode is `countersign-server pairing-code --login EMAIL_OR_PHONE`:
// an administrator's way (and make run's) to make the one-time code that
// pairs a desktop companion with an account, without the web page. It
// prints the countersign://pair URI on stdout and the code and its expiry on
// stderr.
func pairingCode(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var login string
	cfg, err := parseConfigWith(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&login, "login", "", "the account's `email or mobile number` (pairing-code only)")
	})
	if err != nil {
		return err
	}
	if login == "" {
		fmt.Fprintln(stderr, "countersign-server: pairing-code needs --login EMAIL_OR_PHONE")
		return errUsage
	}
	db, err := store.Open(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByLogin(ctx, strings.ToLower(strings.TrimSpace(login)))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account signs in as %q in %s", login, redactDB(cfg.db))
	}
	if err != nil {
		return err
	}
	svc, err := approval.New(ctx, approval.Config{Store: db, PublicURL: cfg.publicURL})
	if err != nil {
		return err
	}
	defer svc.Close()
	code, uri, expires, err := svc.NewPairingCode(ctx, u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, uri)
	fmt.Fprintf(stderr, "countersign-server: pairing code %s for %s, valid until %s\n", code, login, expires.Local().Format("15:04:05"))
	return nil
}
