package vault

import (
	"crypto/subtle"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/otp"
)

// Account is one authenticator entry: its key and how the person organises it.
type Account struct {
	ID string `json:"id"`
	otp.Key
	Tags     []string  `json:"tags,omitempty"`
	Pinned   bool      `json:"pinned,omitempty"`
	Notes    string    `json:"notes,omitempty"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// SameAs reports whether two accounts are the same enrollment: same issuer,
// name and secret. Adding one that is already there is refused.
func (a Account) SameAs(b Account) bool {
	return strings.EqualFold(strings.TrimSpace(a.Issuer), strings.TrimSpace(b.Issuer)) &&
		strings.TrimSpace(a.Name) == strings.TrimSpace(b.Name) &&
		subtle.ConstantTimeCompare(a.Secret, b.Secret) == 1
}

// PlanAdd is what Vault.Add would add to a vault holding have, and which of
// have it would find there already, without adding: a restore's or an
// import's preview (the same rule as Add: the same enrollment, SameAs, is
// added once).
func PlanAdd(have, incoming []Account) (added, dups []Account) {
next:
	for _, a := range incoming {
		for _, h := range append(have, added...) {
			if h.SameAs(a) {
				dups = append(dups, h)
				continue next
			}
		}
		added = append(added, a)
	}
	return added, dups
}
