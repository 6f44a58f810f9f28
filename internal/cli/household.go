package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/names"
)

// addedJSON is what household add --json prints: the member and the
// invitation made for their desktop.
type addedJSON struct {
	Member     api.Member     `json:"member"`
	Invitation api.Invitation `json:"invitation"`
}

// runHousehold lists the household's members, or adds, renames, removes,
// invites one, or shares the authenticator with one.
func runHousehold(env Env, args []string) error {
	d := newDashboard(env, "household", householdSynopsis, true)
	verb, pos, err := d.parseVerb(args)
	if err != nil {
		return err
	}
	usage := map[string]string{
		"":        "household takes no arguments but a subcommand",
		"add":     "household add takes one NAME (quote a name with spaces)",
		"rename":  "household rename takes MEMBER NAME",
		"remove":  "household remove takes one MEMBER",
		"invite":  "household invite takes one MEMBER",
		"share":   "household share takes one MEMBER",
		"unshare": "household unshare takes one MEMBER",
	}
	want := map[string]int{"": 0, "add": 1, "rename": 2, "remove": 1, "invite": 1, "share": 1, "unshare": 1}
	if _, ok := usage[verb]; !ok {
		d.fs.Usage()
		return fmt.Errorf("%w: unknown household subcommand %q", ErrUsage, verb)
	}
	if err := d.args(pos, want[verb], usage[verb]); err != nil {
		return err
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()

	if verb == "add" {
		m, err := d.c.AddMember(d.ctx, pos[0])
		if err != nil {
			return err
		}
		inv, err := d.c.Invite(d.ctx, m.ID)
		if err != nil {
			return fmt.Errorf("%s was added, but no invitation was made: %w (try 'countersign household invite %s')", m.Name, err, m.ID)
		}
		if *d.json {
			return writeJSON(env.Stdout, addedJSON{Member: m, Invitation: inv})
		}
		fmt.Fprintf(env.Stdout, "added %s to the household (member %s)\n", names.Show(m.Name), m.ID)
		return writeInvitation(env, m.Name, inv)
	}

	h, err := d.c.Household(d.ctx)
	if err != nil {
		return err
	}
	if verb == "" {
		return d.listHousehold(h)
	}
	m, err := pick(h.Members, pos[0], "member", "countersign household", memberID, memberName)
	if err != nil {
		return err
	}
	switch verb {
	case "rename":
		got, err := d.c.RenameMember(d.ctx, m.ID, pos[1])
		if err != nil {
			return err
		}
		return d.print(got, "renamed %s to %s", m.Name, got.Name)
	case "invite":
		inv, err := d.c.Invite(d.ctx, m.ID)
		if err != nil {
			return err
		}
		if *d.json {
			return writeJSON(env.Stdout, inv)
		}
		return writeInvitation(env, m.Name, inv)
	case "share":
		n, err := d.c.ShareAuthenticator(d.ctx, m.ID)
		if err != nil {
			return err
		}
		return d.print(api.Shared{Offered: n}, "the authenticator is shared with %s: offered to %s", m.Name, count(n, "desktop"))
	case "unshare":
		if err := d.c.StopSharing(d.ctx, m.ID); err != nil {
			return err
		}
		return d.done("the authenticator is no longer shared with %s", m.Name)
	}
	devices := 0
	for _, dev := range h.Devices {
		if dev.MemberID == m.ID {
			devices++
		}
	}
	if err := d.confirm(fmt.Sprintf("remove %s and their %s from the household?", m.Name, count(devices, "device")), "remove them"); err != nil {
		return err
	}
	if err := d.c.RemoveMember(d.ctx, m.ID); err != nil {
		return err
	}
	return d.done("removed %s and their %s", m.Name, count(devices, "device"))
}

func (d *dashboard) listHousehold(h api.Household) error {
	if *d.json {
		h.Members, h.Devices = nonNil(h.Members), nonNil(h.Devices)
		return writeJSON(d.env.Stdout, h)
	}
	var rows [][]string
	for _, m := range h.Members {
		name := m.Name
		if m.ID == h.You {
			name += " (you)"
		}
		var devs []string
		for _, dev := range h.Devices {
			if dev.MemberID == m.ID {
				devs = append(devs, dev.Name)
			}
		}
		shared := "-"
		if m.SharesAuthenticator {
			shared = "shared"
		}
		rows = append(rows, []string{m.ID, name, m.Role, shared, dash(strings.Join(devs, ", "))})
	}
	return table(d.env.Stdout, "ID\tNAME\tROLE\tAUTHENTICATOR\tDEVICES", rows)
}

// writeInvitation prints a pairing invitation: the code, the link and the
// link as a QR code for the companion's Pair window to scan.
func writeInvitation(env Env, name string, inv api.Invitation) error {
	w, name := env.Stdout, names.Show(name)
	left := inv.ExpiresAt.Sub(env.Now()).Round(time.Minute)
	fmt.Fprintf(w, "invitation for %s's desktop, valid for %s (until %s):\n", name, count(int(left.Minutes()), "minute"), inv.ExpiresAt.Local().Format("15:04"))
	fmt.Fprintf(w, "  code  %s\n  link  %s\n\n", inv.Code, inv.URI)
	if err := writeTerminalQR(w, inv.URI); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\non %s's desktop: countersign pair '%s'\n(or scan the code in the companion's Pair window)\n", name, inv.URI)
	return err
}
