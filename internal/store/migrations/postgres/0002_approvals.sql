-- Countersign schema, version 2 (PostgreSQL): pairing and sign-in approvals.

CREATE TABLE approvers (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    platform     TEXT NOT NULL DEFAULT '',
    public_key   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL DEFAULT 0,
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    removed_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX approvers_user ON approvers (user_id, created_at);

CREATE TABLE pairing_codes (
    hash       BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX pairing_codes_user ON pairing_codes (user_id);
CREATE INDEX pairing_codes_expires ON pairing_codes (expires_at);

CREATE TABLE device_challenges (
    hash       BYTEA PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES approvers (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX device_challenges_device ON device_challenges (device_id);
CREATE INDEX device_challenges_expires ON device_challenges (expires_at);

CREATE TABLE device_tokens (
    hash       BYTEA PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES approvers (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX device_tokens_device ON device_tokens (device_id);
CREATE INDEX device_tokens_expires ON device_tokens (expires_at);

CREATE TABLE approval_requests (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id       TEXT NOT NULL DEFAULT '',
    nonce            TEXT NOT NULL,
    number           BIGINT NOT NULL,
    decoys           TEXT NOT NULL DEFAULT '',
    browser          TEXT NOT NULL DEFAULT '',
    os               TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    place            TEXT NOT NULL DEFAULT '',
    app              TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'pending',
    reason           TEXT NOT NULL DEFAULT '',
    decided_by       TEXT NOT NULL DEFAULT '',
    decided_by_name  TEXT NOT NULL DEFAULT '',
    decided_at       BIGINT NOT NULL DEFAULT 0,
    require_key      BOOLEAN NOT NULL DEFAULT FALSE,
    key_challenge_id TEXT NOT NULL DEFAULT '',
    key_options      BYTEA,
    consumed_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX approval_requests_user ON approval_requests (user_id, status, expires_at);
CREATE INDEX approval_requests_session ON approval_requests (session_id, created_at);
CREATE INDEX approval_requests_pending ON approval_requests (expires_at) WHERE status = 'pending';
CREATE INDEX approval_requests_decided ON approval_requests (user_id, decided_at);

CREATE TABLE approval_events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX approval_events_user ON approval_events (user_id, seq);
CREATE INDEX approval_events_created ON approval_events (created_at);

CREATE TABLE approval_settings (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    require_key BOOLEAN NOT NULL DEFAULT FALSE
);
