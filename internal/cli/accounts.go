package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

// accountJSON is an account as list and import --json print it: never the secret.
type accountJSON struct {
	ID        string    `json:"id"`
	Issuer    string    `json:"issuer"`
	Name      string    `json:"name"`
	Type      otp.Type  `json:"type"`
	Algorithm string    `json:"algorithm"`
	Digits    int       `json:"digits"`
	Period    int       `json:"period,omitempty"`
	Counter   *uint64   `json:"counter,omitempty"`
	Steam     bool      `json:"steam,omitempty"`
	Tags      []string  `json:"tags"`
	Pinned    bool      `json:"pinned"`
	Notes     string    `json:"notes,omitempty"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
}

func toJSON(a vault.Account) accountJSON {
	j := accountJSON{
		ID: a.ID, Issuer: a.Issuer, Name: a.Name, Type: a.Type, Algorithm: string(a.Algorithm),
		Digits: a.Digits, Period: a.Period, Steam: a.IsSteam(), Tags: a.Tags, Pinned: a.Pinned,
		Notes: a.Notes, Created: a.Created, Modified: a.Modified,
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if a.Type == otp.HOTP {
		c := a.Counter
		j.Counter = &c
	}
	return j
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseAccounts reads an otpauth:// URI (one account) or an
// otpauth-migration:// URI (every account in it).
func parseAccounts(uri string) ([]vault.Account, error) {
	accounts, err := transfer.ParseURI(uri)
	if errors.Is(err, transfer.ErrNotURI) {
		return nil, fmt.Errorf("%w (to read a file exported by another app, use countersign import)", err)
	}
	return accounts, err
}

func runAdd(env Env, args []string) error {
	const synopsis = "[--tag TAG]... (URI | --qr IMAGE... | --screen | --clipboard)"
	fs := newFlags(env, "add", synopsis)
	var tags, images multiFlag
	fs.Var(&tags, "tag", "add this tag to the new accounts (repeatable)")
	fs.Var(&images, "qr", "enroll every authenticator QR code in this image (repeatable)")
	fromScreen := fs.Bool("screen", false, "enroll every authenticator QR code on the screen")
	fromClipboard := fs.Bool("clipboard", false, "enroll from the clipboard: an image with QR codes, or an otpauth:// URI")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	sources := len(pos) + len(images)
	if *fromScreen {
		sources++
	}
	if *fromClipboard {
		sources++
	}
	if sources == 0 || (len(pos) > 0 && sources != len(pos)) || len(pos) > 1 || (*fromScreen && *fromClipboard) {
		fs.Usage()
		return fmt.Errorf("%w: add takes one source: a URI, --qr IMAGE, --screen or --clipboard", ErrUsage)
	}

	var accounts []vault.Account
	if len(pos) == 1 {
		if accounts, err = parseAccounts(pos[0]); err != nil {
			return err
		}
	} else {
		var codes []found
		switch {
		case *fromScreen:
			codes, err = decodeScreen(env)
		case *fromClipboard:
			codes, err = decodeClipboard(env)
		default:
			codes, err = decodeFiles(env, images)
		}
		if err != nil && len(codes) == 0 {
			return err
		}
		if err != nil {
			return fmt.Errorf("%w (nothing was added)", err)
		}
		if accounts, err = accountsFromCodes(env, codes); err != nil {
			return err
		}
	}
	for i := range accounts {
		accounts[i].Tags = append(accounts[i].Tags, tags...)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	added, dups, err := v.Add(accounts...)
	if err != nil {
		return err
	}
	for _, a := range added {
		fmt.Fprintf(env.Stdout, "%s\t%s\n", a.ID, a.Label())
	}
	for _, d := range dups {
		warnf(env, "%s is already in the vault (id %s); not added again", d.Label(), d.ID)
	}
	return nil
}

func runList(env Env, args []string) error {
	fs := newFlags(env, "list", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: list takes no arguments", ErrUsage)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	accounts := v.Accounts()
	if *asJSON {
		out := make([]accountJSON, len(accounts))
		for i, a := range accounts {
			out[i] = toJSON(a)
		}
		return writeJSON(env.Stdout, out)
	}
	if len(accounts) == 0 {
		warnf(env, "no accounts yet; add one with 'countersign add URI' or 'countersign import FILE'")
		return nil
	}
	rows := make([][]string, len(accounts))
	for i, a := range accounts {
		kind := string(a.Type)
		if a.IsSteam() {
			kind = "steam"
		}
		issuer := a.Issuer
		if a.Pinned {
			issuer = "* " + issuer
		}
		rows[i] = []string{a.ID, issuer, a.Name, kind, strings.Join(a.Tags, ",")}
	}
	return table(env.Stdout, "ID\tISSUER\tNAME\tTYPE\tTAGS", rows)
}

// codeJSON is one entry of code --json: a stable contract.
type codeJSON struct {
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Name      string   `json:"name"`
	Type      otp.Type `json:"type"`
	Code      string   `json:"code"`           // empty for HOTP accounts not asked for by id
	Period    int      `json:"period"`         // seconds; 0 for HOTP
	Remaining int      `json:"remaining"`      // whole seconds the code stays valid; 0 for HOTP
	Next      string   `json:"next,omitempty"` // the following code, when fewer than 5 s remain
	Counter   *uint64  `json:"counter,omitempty"`
}

func runCode(env Env, args []string) error {
	fs := newFlags(env, "code", "[--json] [--at UNIX_SECONDS] [QUERY]")
	asJSON := fs.Bool("json", false, "print a JSON array")
	at := fs.String("at", "", "show the codes at this Unix time instead of now")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: code takes at most one QUERY", ErrUsage)
	}
	now := env.Now()
	if *at != "" {
		secs, err := strconv.ParseInt(*at, 10, 64)
		if err != nil || secs < 0 {
			return fmt.Errorf("%w: --at %q is not a Unix time in seconds", ErrUsage, *at)
		}
		now = time.Unix(secs, 0)
	}
	query := ""
	if len(pos) == 1 {
		query = pos[0]
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}

	var matches []vault.Account
	q := strings.ToLower(query)
	for _, a := range v.Accounts() {
		if a.ID == query {
			matches = []vault.Account{a}
			break
		}
		if strings.Contains(strings.ToLower(a.Issuer), q) || strings.Contains(strings.ToLower(a.Name), q) {
			matches = append(matches, a)
		}
	}
	if len(matches) == 0 {
		if query == "" {
			return errors.New("no accounts yet; add one with 'countersign add URI' or 'countersign import FILE'")
		}
		return fmt.Errorf("no account matches %q", query)
	}

	out := make([]codeJSON, 0, len(matches))
	spentID, spentAt := "", uint64(0) // the HOTP account whose code is shown, and that code's counter
	for _, a := range matches {
		c := codeJSON{ID: a.ID, Issuer: a.Issuer, Name: a.Name, Type: a.Type}
		switch a.Type {
		case otp.HOTP:
			// A HOTP code is used up once shown: advance only on an exact id.
			if a.ID == query {
				code, after, err := v.NextHOTP(a.ID)
				if err != nil {
					return err
				}
				c.Code = code
				spentID, spentAt = a.ID, a.Counter
				a = after
			}
			counter := a.Counter
			c.Counter = &counter
		default:
			if c.Code, err = otp.Code(a.Key, now); err != nil {
				return fmt.Errorf("%s: %w", a.Label(), err)
			}
			c.Period = a.Period
			left := a.Remaining(now)
			c.Remaining = int((left + time.Second - 1) / time.Second)
			if left < 5*time.Second {
				c.Next, _ = otp.Code(a.Key, now.Add(left))
			}
		}
		out = append(out, c)
	}

	// The HOTP counter moved on disk before its code is shown (NextHOTP), so
	// that a code once shown is never shown again, even if this process dies
	// right after. But a code that cannot be shown must not be lost: the
	// output goes in one write, and when not a byte of it reached stdout the
	// counter moves back (RewindHOTP, unless another process has taken the
	// next code meanwhile), and the next code command shows that same code.
	var buf bytes.Buffer
	if err := printCodes(&buf, out, *asJSON); err != nil {
		return err
	}
	n, err := env.Stdout.Write(buf.Bytes())
	if err != nil && n == 0 && spentID != "" {
		if rerr := v.RewindHOTP(spentID, spentAt); rerr != nil {
			return fmt.Errorf("%w (and its HOTP code is skipped: %v)", err, rerr)
		}
	}
	return err
}

// printCodes writes the codes as code prints them: JSON, a lone code, or a
// table.
func printCodes(w io.Writer, out []codeJSON, asJSON bool) error {
	if asJSON {
		return writeJSON(w, out)
	}
	if len(out) == 1 && out[0].Code != "" {
		_, err := fmt.Fprintln(w, out[0].Code)
		return err
	}
	rows := make([][]string, len(out))
	for i, c := range out {
		code, left := c.Code, fmt.Sprintf("%ds", c.Remaining)
		if c.Type == otp.HOTP {
			if code == "" {
				code = "(countersign code " + c.ID + ")"
			}
			left = "-"
		}
		rows[i] = []string{c.ID, c.Issuer, c.Name, code, left}
	}
	return table(w, "ID\tISSUER\tNAME\tCODE\tLEFT", rows)
}

func runRemove(env Env, args []string) error {
	fs := newFlags(env, "remove", "ID")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: remove takes one ID (see countersign list)", ErrUsage)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	gone, err := v.Remove(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\t%s\n", gone.ID, gone.Label())
	return nil
}
