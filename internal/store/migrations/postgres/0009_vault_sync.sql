-- Countersign schema, version 9 (PostgreSQL): end-to-end encrypted vault sync
-- between one person's desktops. A scope is one household member of one
-- account; the server keeps only ciphertext: the sync key sealed to each
-- syncing desktop's key, and an append-only log of sealed entry records
-- named by opaque ids. No secret, issuer or account name is stored here.

CREATE TABLE sync_scopes (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL REFERENCES household_members (id) ON DELETE CASCADE,
    generation   BIGINT NOT NULL,
    rotate_first BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, member_id)
);

-- The sync key of the scope's generation sealed to each syncing desktop.
-- device_id has no foreign key on purpose: a desktop removed on the server
-- keeps its row until a remaining desktop rotates the key, which is how
-- the scope knows it must rotate first.
CREATE TABLE sync_keys (
    user_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    generation BIGINT NOT NULL,
    sealed     BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, member_id, device_id),
    FOREIGN KEY (user_id, member_id) REFERENCES sync_scopes (user_id, member_id) ON DELETE CASCADE
);

CREATE TABLE sync_records (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    entry      TEXT NOT NULL,
    version    BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    sealed     BYTEA NOT NULL,
    device_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (user_id, member_id) REFERENCES sync_scopes (user_id, member_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sync_records_version ON sync_records (user_id, member_id, entry, version);
CREATE INDEX sync_records_scope ON sync_records (user_id, member_id, seq);

CREATE TABLE sync_joins (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    nonce      BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (user_id, member_id) REFERENCES sync_scopes (user_id, member_id) ON DELETE CASCADE
);
CREATE INDEX sync_joins_scope ON sync_joins (user_id, member_id, created_at);
