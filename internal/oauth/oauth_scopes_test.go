package oauth

import (
	"testing"

	"github.com/countersign/countersign/internal/api"
)

// TestEveryScopeHasWords: every scope an app may ask for says in words what
// it lets the app do (api.ScopeWords, shown on the consent page, the lists
// of apps and the command line).
func TestEveryScopeHasWords(t *testing.T) {
	for _, sc := range scopeOrder {
		if w := api.ScopeWords(sc); w == sc || ScopeDescriptions[sc] != w {
			t.Errorf("scope %q: words %q, description %q", sc, w, ScopeDescriptions[sc])
		}
	}
}
