package api

import "time"

// App is an app the account let sign in with Countersign ("Sign in with
// Countersign"): an OAuth client holding a grant of the account's.
type App struct {
	ClientID   string    `json:"client_id"`
	Name       string    `json:"name"`
	LogoURL    string    `json:"logo_url"` // "" when the app has none
	Homepage   string    `json:"homepage"`
	Scopes     []string  `json:"scopes"` // the scopes granted, e.g. "openid", "email"
	GrantedAt  time.Time `json:"granted_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// AppList is the answer to GET apps.
type AppList struct {
	Apps []App `json:"apps"`
}
