-- Countersign schema, version 1 (PostgreSQL).
-- Times are BIGINT unix nanoseconds, 0 for "never"/"none".
-- Optional references (device_id, method_id, a challenge's user_id …) are NULL
-- when absent so that foreign keys hold.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL DEFAULT '',
    phone               TEXT NOT NULL DEFAULT '',
    name                TEXT NOT NULL DEFAULT '',
    password_hash       TEXT NOT NULL DEFAULT '',
    password_changed_at BIGINT NOT NULL DEFAULT 0,
    two_step            BOOLEAN NOT NULL DEFAULT FALSE,
    webauthn_id         BYTEA,
    created_at          BIGINT NOT NULL DEFAULT 0,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    locked_until        BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';
CREATE UNIQUE INDEX users_phone ON users (phone) WHERE phone <> '';
CREATE UNIQUE INDEX users_webauthn_id ON users (webauthn_id);

CREATE TABLE methods (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    secret       BYTEA,
    phone        TEXT NOT NULL DEFAULT '',
    confirmed    BOOLEAN NOT NULL DEFAULT FALSE,
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX methods_user ON methods (user_id);
CREATE UNIQUE INDEX methods_user_kind_phone ON methods (user_id, kind, phone) WHERE phone <> '';

CREATE TABLE backup_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BYTEA NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE security_keys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    credential_id BYTEA NOT NULL,
    credential    BYTEA,
    created_at    BIGINT NOT NULL DEFAULT 0,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX security_keys_credential_id ON security_keys (credential_id);
CREATE INDEX security_keys_user ON security_keys (user_id);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT '',
    browser       TEXT NOT NULL DEFAULT '',
    os            TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    token_hash    BYTEA,
    created_at    BIGINT NOT NULL DEFAULT 0,
    last_seen_at  BIGINT NOT NULL DEFAULT 0,
    trusted_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_user ON devices (user_id, created_at);
CREATE UNIQUE INDEX devices_token_hash ON devices (token_hash);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id    TEXT REFERENCES devices (id) ON DELETE CASCADE,
    stage        TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL DEFAULT 0,
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id, expires_at);
CREATE INDEX sessions_device ON sessions (device_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE activity (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL DEFAULT 0,
    kind       TEXT NOT NULL,
    ok         BOOLEAN NOT NULL DEFAULT FALSE,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activity_user ON activity (user_id, id);

CREATE TABLE reset_tokens (
    hash       BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reset_tokens_user ON reset_tokens (user_id);
CREATE INDEX reset_tokens_expires ON reset_tokens (expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    hash         BYTEA NOT NULL,
    scopes       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

CREATE TABLE sms_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method_id  TEXT REFERENCES methods (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0,
    tries      BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sms_codes_user ON sms_codes (user_id, created_at);
CREATE INDEX sms_codes_method ON sms_codes (method_id);
CREATE INDEX sms_codes_expires ON sms_codes (expires_at);

CREATE TABLE challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    data       BYTEA,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
