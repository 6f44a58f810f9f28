-- Countersign schema, version 3 (SQLite): "Sign in with Countersign" (OAuth 2.0 / OpenID Connect).

CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    logo_url      TEXT NOT NULL DEFAULT '',
    homepage      TEXT NOT NULL DEFAULT '',
    privacy_url   TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL DEFAULT '', -- one per line
    scopes        TEXT NOT NULL DEFAULT '', -- space-separated
    public        BOOLEAN NOT NULL DEFAULT 0,
    secret_hash   BLOB,
    created_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_clients_owner ON oauth_clients (owner_id, created_at);

CREATE TABLE oauth_grants (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL DEFAULT '',
    granted_at   INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id);

-- The provider's token storage, one table for every kind (authorization
-- codes, access tokens, refresh tokens, PKCE and OpenID Connect requests):
-- signature is the token's HMAC signature as fosite gives it, never the token.
CREATE TABLE oauth_tokens (
    kind       TEXT NOT NULL,
    signature  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data       BLOB NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth_tokens_request ON oauth_tokens (request_id);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (user_id, client_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

-- ID token signing keys. The private keys sit in the database like the CSRF
-- key in settings: whoever reads the database could sign ID tokens, which is
-- acceptable for this server (the database holds the accounts anyway).
CREATE TABLE oauth_keys (
    id          TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL DEFAULT 0
);
