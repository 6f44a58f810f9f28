package api

import "time"

// DeveloperApp is an app the account registered to offer "Sign in with
// Countersign": an OAuth client of the account's own.
type DeveloperApp struct {
	ClientID     string    `json:"client_id"`
	Name         string    `json:"name"`
	LogoURL      string    `json:"logo_url"`    // "" when the app has none
	Homepage     string    `json:"homepage"`    // "" when not given
	PrivacyURL   string    `json:"privacy_url"` // "" when not given
	RedirectURIs []string  `json:"redirect_uris"`
	Scopes       []string  `json:"scopes"` // the scopes the app may ask for
	Public       bool      `json:"public"` // a native or browser app, without a secret
	CreatedAt    time.Time `json:"created_at"`
	// ClientSecret is sent once, in the answer that registers a
	// confidential app; never in a list.
	ClientSecret string `json:"client_secret,omitempty"`
}

// DeveloperAppList is the answer to GET developer/apps.
type DeveloperAppList struct {
	Apps []DeveloperApp `json:"apps"`
}

// NewDeveloperApp is the body of POST developer/apps. RedirectURIs are
// https, or http on a loopback host for a native app; Scopes are those the
// app may ask for (openid, profile, email, profile:user_id, postal_code).
// An app is confidential (it gets a secret) unless Public is true.
type NewDeveloperApp struct {
	Name         string   `json:"name"`
	LogoURL      string   `json:"logo_url,omitempty"`
	Homepage     string   `json:"homepage,omitempty"`
	PrivacyURL   string   `json:"privacy_url,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	Public       bool     `json:"public,omitempty"`
}

// ClientSecret is the answer to POST developer/apps/{client_id}/secret: the
// app's new secret, shown once. The old one no longer works.
type ClientSecret struct {
	ClientSecret string `json:"client_secret"`
}
