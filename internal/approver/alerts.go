package approver

import (
	"context"
	"net/http"
	"net/url"

	"github.com/countersign/countersign/internal/api"
)

// NotMe is "This wasn't me" on a sign-in alert of the account: the server
// signs that sign-in's session out with the apps' tokens issued in it. The
// answer says what ended and where the password is changed, which the
// person should do next.
func (m *Manager) NotMe(ctx context.Context, accountID, alertID string) (api.Disowned, error) {
	var out api.Disowned
	err := m.Call(ctx, accountID, http.MethodPost, "/api/v1/alerts/"+url.PathEscape(alertID)+"/not-me", nil, &out)
	return out, err
}
