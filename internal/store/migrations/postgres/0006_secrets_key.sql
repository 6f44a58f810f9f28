-- Countersign schema, version 6 (PostgreSQL): secrets at rest. Its one row says
-- that the TOTP secrets (methods.secret), the settings (settings.value) and
-- the ID-token signing keys (oauth_keys.private_key) are sealed under the
-- secrets key key_id (package atrest); proof is a known value sealed under
-- it, so a wrong key is refused before anything is read. No row: they are
-- in clear, as before version 6, until a server starts with a key.

CREATE TABLE secrets_key (
    one       INTEGER PRIMARY KEY CHECK (one = 1),
    key_id    TEXT NOT NULL,
    proof     BYTEA NOT NULL,
    sealed_at BIGINT NOT NULL DEFAULT 0
);
