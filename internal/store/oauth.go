package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const oauthClientCols = `id, owner_id, name, logo_url, homepage, privacy_url, redirect_uris, scopes, public, secret_hash, created_at`

func scanOAuthClient(row interface{ Scan(...any) error }) (*OAuthClient, error) {
	var c OAuthClient
	var redirects, scopes string
	var created int64
	if err := row.Scan(&c.ID, &c.OwnerID, &c.Name, &c.LogoURL, &c.Homepage, &c.PrivacyURL, &redirects, &scopes, &c.Public, &c.SecretHash, &created); err != nil {
		return nil, mapErr(err)
	}
	c.RedirectURIs = strings.Fields(redirects)
	c.Scopes = strings.Fields(scopes)
	c.CreatedAt = fromTS(created)
	return &c, nil
}

// CreateOAuthClient implements Store.
func (db *DB) CreateOAuthClient(ctx context.Context, c *OAuthClient) error {
	if c.ID == "" {
		c.ID = newID()
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OwnerID, c.Name, c.LogoURL, c.Homepage, c.PrivacyURL, strings.Join(c.RedirectURIs, "\n"), strings.Join(c.Scopes, " "),
		c.Public, nullBytes(c.SecretHash), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create oauth client: %w", mapErr(err))
	}
	return nil
}

// OAuthClient implements Store.
func (db *DB) OAuthClient(ctx context.Context, id string) (*OAuthClient, error) {
	c, err := scanOAuthClient(db.queryRow(ctx, db.sql, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("oauth client: %w", err)
	}
	return c, nil
}

// OAuthClients implements Store.
func (db *DB) OAuthClients(ctx context.Context, ownerID string) ([]OAuthClient, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE owner_id = ? ORDER BY created_at, id`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("oauth clients: %w", err)
	}
	defer rows.Close()
	var cs []OAuthClient
	for rows.Next() {
		c, err := scanOAuthClient(rows)
		if err != nil {
			return nil, fmt.Errorf("oauth clients: %w", err)
		}
		cs = append(cs, *c)
	}
	return cs, rows.Err()
}

// SetOAuthClientSecret implements Store.
func (db *DB) SetOAuthClientSecret(ctx context.Context, ownerID, id string, hash []byte) error {
	if err := db.execOne(ctx, db.sql, `UPDATE oauth_clients SET secret_hash = ? WHERE id = ? AND owner_id = ?`, nullBytes(hash), id, ownerID); err != nil {
		return fmt.Errorf("set oauth client secret: %w", err)
	}
	return nil
}

// DeleteOAuthClient implements Store. Grants and tokens go with the client
// (ON DELETE CASCADE); they are deleted here too so that the result does
// not depend on the foreign-key setting.
func (db *DB) DeleteOAuthClient(ctx context.Context, ownerID, id string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.execOne(ctx, tx, `DELETE FROM oauth_clients WHERE id = ? AND owner_id = ?`, id, ownerID); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM oauth_tokens WHERE client_id = ?`, id); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `DELETE FROM oauth_grants WHERE client_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete oauth client: %w", err)
	}
	return nil
}

const oauthGrantCols = `user_id, client_id, scopes, granted_at, last_used_at, revoked_at`

func scanOAuthGrant(row interface{ Scan(...any) error }) (*OAuthGrant, error) {
	var g OAuthGrant
	var scopes string
	var granted, used, revoked int64
	if err := row.Scan(&g.UserID, &g.ClientID, &scopes, &granted, &used, &revoked); err != nil {
		return nil, mapErr(err)
	}
	g.Scopes = strings.Fields(scopes)
	g.GrantedAt, g.LastUsedAt, g.RevokedAt = fromTS(granted), fromTS(used), fromTS(revoked)
	return &g, nil
}

// SaveOAuthGrant implements Store.
func (db *DB) SaveOAuthGrant(ctx context.Context, g *OAuthGrant) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Access and refresh tokens a racing request created while the
		// grant was revoked must not come back to life with it.
		if _, err := db.exec(ctx, tx, `DELETE FROM oauth_tokens WHERE user_id = ? AND client_id = ? AND kind IN (?, ?)
	AND EXISTS (SELECT 1 FROM oauth_grants WHERE user_id = ? AND client_id = ? AND revoked_at <> 0)`,
			g.UserID, g.ClientID, OAuthAccess, OAuthRefresh, g.UserID, g.ClientID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `INSERT INTO oauth_grants (`+oauthGrantCols+`) VALUES (?, ?, ?, ?, ?, 0)
ON CONFLICT (user_id, client_id) DO UPDATE SET
	scopes = excluded.scopes,
	last_used_at = excluded.last_used_at,
	granted_at = CASE WHEN oauth_grants.revoked_at <> 0 THEN excluded.granted_at ELSE oauth_grants.granted_at END,
	revoked_at = 0`,
			g.UserID, g.ClientID, strings.Join(g.Scopes, " "), ts(g.GrantedAt), ts(g.LastUsedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("save oauth grant: %w", mapErr(err))
	}
	return nil
}

// OAuthGrant implements Store.
func (db *DB) OAuthGrant(ctx context.Context, userID, clientID string) (*OAuthGrant, error) {
	g, err := scanOAuthGrant(db.queryRow(ctx, db.sql, `SELECT `+oauthGrantCols+` FROM oauth_grants WHERE user_id = ? AND client_id = ? AND revoked_at = 0`, userID, clientID))
	if err != nil {
		return nil, fmt.Errorf("oauth grant: %w", err)
	}
	return g, nil
}

// OAuthGrants implements Store.
func (db *DB) OAuthGrants(ctx context.Context, userID string) ([]OAuthGrant, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+oauthGrantCols+` FROM oauth_grants WHERE user_id = ? AND revoked_at = 0 ORDER BY granted_at, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("oauth grants: %w", err)
	}
	defer rows.Close()
	var gs []OAuthGrant
	for rows.Next() {
		g, err := scanOAuthGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("oauth grants: %w", err)
		}
		gs = append(gs, *g)
	}
	return gs, rows.Err()
}

// TouchOAuthGrant implements Store. An up-to-date grant is not an error.
func (db *DB) TouchOAuthGrant(ctx context.Context, userID, clientID string, at, olderThan time.Time) error {
	_, err := db.exec(ctx, db.sql, `UPDATE oauth_grants SET last_used_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0 AND last_used_at < ?`,
		ts(at), userID, clientID, ts(olderThan))
	if err != nil {
		return fmt.Errorf("touch oauth grant: %w", mapErr(err))
	}
	return nil
}

// RevokeOAuthGrant implements Store.
func (db *DB) RevokeOAuthGrant(ctx context.Context, userID, clientID string, at time.Time) error {
	n, err := useTime(at)
	if err != nil {
		return fmt.Errorf("revoke oauth grant: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.execOne(ctx, tx, `UPDATE oauth_grants SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`, n, userID, clientID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `DELETE FROM oauth_tokens WHERE user_id = ? AND client_id = ?`, userID, clientID)
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke oauth grant: %w", err)
	}
	return nil
}

// AddOAuthToken implements Store.
func (db *DB) AddOAuthToken(ctx context.Context, t *OAuthToken) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO oauth_tokens (kind, signature, request_id, client_id, user_id, data, active, created_at, expires_at, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Kind, t.Signature, t.RequestID, t.ClientID, t.UserID, t.Data, t.Active, ts(t.CreatedAt), ts(t.ExpiresAt), t.SessionID)
	if err != nil {
		return fmt.Errorf("add oauth %s: %w", t.Kind, mapErr(err))
	}
	return nil
}

// OAuthToken implements Store.
func (db *DB) OAuthToken(ctx context.Context, kind, signature string) (*OAuthToken, error) {
	var t OAuthToken
	var created, expires int64
	err := db.queryRow(ctx, db.sql, `SELECT kind, signature, request_id, client_id, user_id, data, active, created_at, expires_at, session_id FROM oauth_tokens WHERE kind = ? AND signature = ?`, kind, signature).
		Scan(&t.Kind, &t.Signature, &t.RequestID, &t.ClientID, &t.UserID, &t.Data, &t.Active, &created, &expires, &t.SessionID)
	if err != nil {
		return nil, fmt.Errorf("oauth %s: %w", kind, mapErr(err))
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return &t, nil
}

// DeactivateOAuthToken implements Store.
func (db *DB) DeactivateOAuthToken(ctx context.Context, kind, signature string) error {
	err := db.execOne(ctx, db.sql, `UPDATE oauth_tokens SET active = ? WHERE kind = ? AND signature = ? AND active = ?`, false, kind, signature, true)
	if errors.Is(err, ErrNotFound) {
		if _, err := db.OAuthToken(ctx, kind, signature); err != nil {
			return fmt.Errorf("deactivate oauth %s: %w", kind, err)
		}
		err = ErrUsed
	}
	if err != nil {
		return fmt.Errorf("deactivate oauth %s: %w", kind, err)
	}
	return nil
}

// DeleteOAuthToken implements Store.
func (db *DB) DeleteOAuthToken(ctx context.Context, kind, signature string) error {
	if err := db.execOne(ctx, db.sql, `DELETE FROM oauth_tokens WHERE kind = ? AND signature = ?`, kind, signature); err != nil {
		return fmt.Errorf("delete oauth %s: %w", kind, err)
	}
	return nil
}

// DeleteOAuthRequestTokens implements Store.
func (db *DB) DeleteOAuthRequestTokens(ctx context.Context, kind, requestID string) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM oauth_tokens WHERE kind = ? AND request_id = ?`, kind, requestID); err != nil {
		return fmt.Errorf("delete oauth %s tokens of a request: %w", kind, mapErr(err))
	}
	return nil
}

// AddOAuthKey implements Store.
func (db *DB) AddOAuthKey(ctx context.Context, k *OAuthKey) error {
	private, err := db.seal(sealedOAuthKey, k.Private, k.ID, k.Alg)
	if err != nil {
		return fmt.Errorf("add oauth key: %w", err)
	}
	if _, err := db.exec(ctx, db.sql, `INSERT INTO oauth_keys (id, alg, private_key, created_at) VALUES (?, ?, ?, ?)`, k.ID, k.Alg, private, ts(k.CreatedAt)); err != nil {
		return fmt.Errorf("add oauth key: %w", mapErr(err))
	}
	return nil
}

// OAuthKeys implements Store.
func (db *DB) OAuthKeys(ctx context.Context) ([]OAuthKey, error) {
	rows, err := db.query(ctx, db.sql, `SELECT id, alg, private_key, created_at FROM oauth_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("oauth keys: %w", err)
	}
	defer rows.Close()
	var ks []OAuthKey
	for rows.Next() {
		var k OAuthKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &created); err != nil {
			return nil, fmt.Errorf("oauth keys: %w", err)
		}
		k.CreatedAt = fromTS(created)
		if k.Private, err = db.open(sealedOAuthKey, k.Private, k.ID, k.Alg); err != nil {
			return nil, fmt.Errorf("oauth keys: %w", err)
		}
		ks = append(ks, k)
	}
	return ks, rows.Err()
}
