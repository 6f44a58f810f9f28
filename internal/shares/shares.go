// Package shares takes in, or turns down, an authenticator that a
// household's owner shared with this desktop (see approver.Share): the
// shared enrollment goes into the vault first, and only then is the server
// told it was accepted, so that an offer is never answered and lost.
//
// It does not fetch or open offers (package approver does) and it never
// logs or prints a secret: its errors and sentences name an account by its
// label only.
package shares

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

// Vault is what accepting needs of the account store (*vault.Vault and
// app/ui's Store have these).
type Vault interface {
	Accounts() []vault.Account
	Add(accounts ...vault.Account) (added, dups []vault.Account, err error)
	Edit(ref string, fn func(*vault.Account) error) (vault.Account, error)
}

// Manager is the paired desktop's side of the offers (*approver.Manager).
type Manager interface {
	Shares(ctx context.Context, accountID string) ([]approver.Share, error)
	AcceptShare(ctx context.Context, accountID, id string) error
	DeclineShare(ctx context.Context, accountID, id string) error
}

// Errors callers may branch on.
var (
	// ErrNotAuthenticator: the offer's URI is not one otpauth:// enrollment.
	ErrNotAuthenticator = errors.New("the shared authenticator is not one otpauth:// enrollment")
	// ErrNotTold: the vault has the authenticator, but the server was not
	// told; the offer stays offered and accepting it again is safe.
	ErrNotTold = errors.New("the server was not told it was accepted")
)

// Accept adds the shared enrollment to v — or, when the vault already has
// that account (same issuer and name, or the same secret), replaces its
// secret (a re-key) — and only then tells the server it was accepted.
// Returns the account as stored and whether an existing one was replaced.
//
// An account already in the vault with the same secret and code settings
// is left as it is. A re-key keeps the account's id, label, tags, pin,
// notes and extra URI parameters (its icon), and replaces only what
// computes the codes. When the vault cannot be written, the server is not
// told and the offer stays offered. When the server cannot be told, the
// stored account comes back with an error wrapping ErrNotTold.
func Accept(ctx context.Context, m Manager, accountID string, s approver.Share, v Vault) (vault.Account, bool, error) {
	shared, err := enrollment(s)
	if err != nil {
		return vault.Account{}, false, err
	}
	stored, replaced, err := store(v, shared)
	if err != nil {
		return vault.Account{}, false, err
	}
	if err := m.AcceptShare(ctx, accountID, s.ID); err != nil {
		return stored, replaced, fmt.Errorf("%s is in the vault, but %w: %w", stored.Label(), ErrNotTold, err)
	}
	return stored, replaced, nil
}

// Decline turns the offer down; the server then forgets the secret.
func Decline(ctx context.Context, m Manager, accountID string, s approver.Share) error {
	if err := m.DeclineShare(ctx, accountID, s.ID); err != nil {
		return fmt.Errorf("decline the shared authenticator: %w", err)
	}
	return nil
}

// Describe says what the offer is, for people: "Demo shared the
// authenticator of demo@countersign.test (Countersign) with this desktop."
func Describe(s approver.Share) string {
	from := s.From
	if from == "" {
		from = "The account's owner"
	}
	name, issuer := s.Account.Email, ""
	if name == "" {
		name = s.Account.Phone
	}
	if a, err := enrollment(s); err == nil {
		name, issuer = a.Name, a.Issuer
	}
	what := "the authenticator"
	switch {
	case name != "" && issuer != "":
		what += " of " + name + " (" + issuer + ")"
	case name != "" || issuer != "":
		what += " of " + name + issuer
	}
	if s.Rekeyed {
		return from + " re-keyed " + what + " shared with this desktop: the old codes stop working."
	}
	return from + " shared " + what + " with this desktop."
}

// enrollment reads the share's URI as the one account it enrolls.
func enrollment(s approver.Share) (vault.Account, error) {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(s.URI)), "otpauth://") {
		return vault.Account{}, ErrNotAuthenticator
	}
	as, err := transfer.ParseURI(s.URI)
	if err != nil {
		return vault.Account{}, fmt.Errorf("read the shared authenticator: %w", err)
	}
	if len(as) != 1 {
		return vault.Account{}, ErrNotAuthenticator
	}
	return as[0], nil
}

// store puts the shared account in v: as it is when v already has it,
// over the secret of the one account it re-keys, or as a new account.
func store(v Vault, shared vault.Account) (vault.Account, bool, error) {
	var same, match []vault.Account
	for _, a := range v.Accounts() {
		switch {
		case sameCodes(a, shared):
			same = append(same, a)
		case sameSecret(a, shared) || sameLabel(a, shared):
			match = append(match, a)
		}
	}
	switch {
	case len(same) > 0:
		return same[0], false, nil
	case len(match) > 1:
		return vault.Account{}, false, fmt.Errorf("%w: %d accounts in the vault could be %s; remove or rename all but one and accept again",
			vault.ErrAmbiguous, len(match), shared.Label())
	case len(match) == 1:
		old := match[0]
		stored, err := v.Edit(old.ID, func(a *vault.Account) error {
			if !sameSecret(*a, old) || !sameLabel(*a, old) {
				return fmt.Errorf("%s changed while its secret was being replaced: accept again", old.Label())
			}
			rekey(a, shared)
			return nil
		})
		if err != nil {
			return vault.Account{}, false, fmt.Errorf("replace the secret of %s: %w", old.Label(), err)
		}
		return stored, true, nil
	}
	added, dups, err := v.Add(shared)
	switch {
	case err != nil:
		return vault.Account{}, false, fmt.Errorf("add %s to the vault: %w", shared.Label(), err)
	case len(added) == 1:
		return added[0], false, nil
	case len(dups) == 1: // added by another process in the meantime
		return dups[0], false, nil
	}
	return vault.Account{}, false, fmt.Errorf("add %s to the vault: the vault neither added nor had it", shared.Label())
}

// rekey gives a what computes the shared account's codes, keeping the
// rest of a: its id, label, tags, pin, notes and extra URI parameters.
func rekey(a *vault.Account, shared vault.Account) {
	a.Type = shared.Type
	a.Secret = bytes.Clone(shared.Secret)
	a.Algorithm = shared.Algorithm
	a.Digits = shared.Digits
	a.Period = shared.Period
	a.Counter = shared.Counter
	a.Encoder = shared.Encoder
}

func sameSecret(a, b vault.Account) bool {
	return subtle.ConstantTimeCompare(a.Secret, b.Secret) == 1
}

// sameLabel compares issuer and name as vault.Account.SameAs does.
func sameLabel(a, b vault.Account) bool {
	return strings.EqualFold(strings.TrimSpace(a.Issuer), strings.TrimSpace(b.Issuer)) &&
		strings.TrimSpace(a.Name) == strings.TrimSpace(b.Name)
}

// sameCodes reports whether a already computes b's codes. Both are
// normalized: the vault stores accounts so, and transfer.ParseURI reads
// them so.
func sameCodes(a, b vault.Account) bool {
	return sameSecret(a, b) && a.Type == b.Type && a.Algorithm == b.Algorithm &&
		a.Digits == b.Digits && a.Period == b.Period && a.Encoder == b.Encoder
}
