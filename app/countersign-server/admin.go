package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// pairingCode is `countersign-server pairing-code --login EMAIL_OR_PHONE
// [--member NAME]`: an administrator's way (and make run's) to make the
// one-time code that pairs a desktop companion with an account, without the
// web page. With --member the companion pairs as that household member's,
// who is added to the household first when it has no member of that name
// (compared case-insensitively). It prints the countersign://pair URI on
// stdout and the code and its expiry on stderr.
func pairingCode(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var login, member string
	cfg, err := parseConfigWith(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&login, "login", "", "the account's `email or mobile number` (pairing-code only)")
		fs.StringVar(&member, "member", "", "the household member's `name` whose desktop pairs; made if absent (pairing-code only)")
	})
	if err != nil {
		return err
	}
	if login == "" {
		fmt.Fprintln(stderr, "countersign-server: pairing-code needs --login EMAIL_OR_PHONE")
		return errUsage
	}
	db, _, err := openStore(ctx, cfg, false)
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
	memberID, whose := "", login
	if member != "" {
		m, err := householdMember(ctx, db, svc, u.ID, member)
		if err != nil {
			return err
		}
		memberID, whose = m.ID, m.Name+" of "+login
	}
	code, uri, expires, err := svc.NewMemberPairingCode(ctx, u.ID, memberID)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, uri)
	fmt.Fprintf(stderr, "countersign-server: pairing code %s for %s, valid until %s\n", code, whose, expires.Local().Format("15:04:05"))
	return nil
}

// householdMember finds the account's member called name, or adds one.
func householdMember(ctx context.Context, db store.Store, svc *approval.Service, userID, name string) (*store.Member, error) {
	h, err := household.New(household.Options{Store: db, Approvals: svc})
	if err != nil {
		return nil, err
	}
	name, err = household.CleanName(name)
	if err != nil {
		return nil, fmt.Errorf("--member: %w", err)
	}
	ms, err := h.Members(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if strings.EqualFold(ms[i].Name, name) {
			return &ms[i], nil
		}
	}
	return h.AddMember(ctx, userID, name)
}
