package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/shares"
	"github.com/countersign/countersign/internal/vault"
)

const sharesSynopsis = "[--account ID] [--json] [accept ID | decline ID]"

// shareJSON is one offer as shares --json prints it: the API's offer
// without its sealed secret.
type shareJSON struct {
	ID        string         `json:"id"`
	Account   api.AccountRef `json:"account"`
	From      string         `json:"from"`
	Label     string         `json:"label"`
	Rekeyed   bool           `json:"rekeyed"`
	CreatedAt time.Time      `json:"created_at"`
}

type shareListJSON struct {
	Offers []shareJSON `json:"offers"`
}

// acceptedJSON is what shares accept --json prints: where the
// authenticator went in the vault, never its secret.
type acceptedJSON struct {
	Offer    string `json:"offer"`
	ID       string `json:"id"` // the vault account's
	Label    string `json:"label"`
	Replaced bool   `json:"replaced"` // the secret of an account already there
	Already  bool   `json:"already"`  // the vault had it as it is
}

// runShares lists the authenticators the household's owner offered to
// this desktop, or accepts one into the vault, or declines one.
func runShares(env Env, args []string) error {
	d := newDashboard(env, "shares", sharesSynopsis, false)
	verb, pos, err := d.parseVerb(args)
	if err != nil {
		return err
	}
	usage := map[string]string{
		"":        "shares takes no arguments but a subcommand",
		"accept":  "shares accept takes one ID",
		"decline": "shares decline takes one ID",
	}
	if _, ok := usage[verb]; !ok {
		d.fs.Usage()
		return fmt.Errorf("%w: unknown shares subcommand %q", ErrUsage, verb)
	}
	want := 1
	if verb == "" {
		want = 0
	}
	if err := d.args(pos, want, usage[verb]); err != nil {
		return err
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	offers, err := d.m.Shares(d.ctx, d.acct.ID)
	if err != nil {
		return err
	}
	if verb == "" {
		return d.listShares(offers)
	}
	s, err := pick(offers, pos[0], "offer", "countersign shares", func(s approver.Share) string { return s.ID }, nil)
	if err != nil {
		return err
	}
	if verb == "decline" {
		if err := shares.Decline(d.ctx, d.m, d.acct.ID, s); err != nil {
			return err
		}
		from := s.From
		if from == "" {
			from = "the account's owner"
		}
		return d.done("declined the authenticator %s shared: the server forgets it", from)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	had := v.Accounts()
	a, replaced, err := shares.Accept(d.ctx, d.m, d.acct.ID, s, v)
	if err != nil {
		return err
	}
	already := !replaced && slices.ContainsFunc(had, func(h vault.Account) bool { return h.ID == a.ID })
	res := acceptedJSON{Offer: s.ID, ID: a.ID, Label: a.Label(), Replaced: replaced, Already: already}
	switch {
	case replaced:
		return d.print(res, "replaced the secret of %s (id %s): its old codes no longer work", a.Label(), a.ID)
	case already:
		return d.print(res, "%s was already in the vault (id %s): nothing changed", a.Label(), a.ID)
	}
	return d.print(res, "added %s to the vault (id %s)", a.Label(), a.ID)
}

func (d *dashboard) listShares(offers []approver.Share) error {
	if *d.json {
		out := shareListJSON{Offers: make([]shareJSON, 0, len(offers))}
		for _, s := range offers {
			out.Offers = append(out.Offers, shareJSON{ID: s.ID, Account: s.Account, From: s.From, Label: s.Label,
				Rekeyed: s.Rekeyed, CreatedAt: s.CreatedAt})
		}
		return writeJSON(d.env.Stdout, out)
	}
	if len(offers) == 0 {
		warnf(d.env, "no authenticators are offered to this desktop")
		return nil
	}
	now := d.env.Now()
	var rows [][]string
	for _, s := range offers {
		account := s.Account.Email
		if account == "" {
			account = s.Account.Phone
		}
		rekeyed := "-"
		if s.Rekeyed {
			rekeyed = "yes"
		}
		rows = append(rows, []string{s.ID, dash(s.From), dash(s.Label), dash(account), rekeyed, seen(s.CreatedAt, now)})
	}
	if err := table(d.env.Stdout, "ID\tFROM\tLABEL\tACCOUNT\tRE-KEYED\tOFFERED", rows); err != nil {
		return err
	}
	warnf(d.env, "take one into the vault with 'countersign shares accept ID', or turn it down with 'countersign shares decline ID'")
	return nil
}
