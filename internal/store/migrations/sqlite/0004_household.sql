-- Countersign schema, version 4 (SQLite): the household. Every account has
-- members, exactly one of them its owner; devices, approvers, security keys
-- and pairing codes belong to a member (NULL: the owner). Authenticator
-- shares are offered to a member's approvers sealed to their keys.

CREATE TABLE household_members (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    role                 TEXT NOT NULL DEFAULT 'member',
    shares_authenticator BOOLEAN NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX household_members_user ON household_members (user_id, created_at);
CREATE UNIQUE INDEX household_members_name ON household_members (user_id, lower(name));
CREATE UNIQUE INDEX household_members_owner ON household_members (user_id) WHERE role = 'owner';

-- One owner per existing account, named after it.
INSERT INTO household_members (id, user_id, name, role, shares_authenticator, created_at)
    SELECT lower(hex(randomblob(16))), id, CASE WHEN trim(name) = '' THEN 'Owner' ELSE trim(name) END, 'owner', 0, created_at
    FROM users;

ALTER TABLE devices ADD COLUMN member_id TEXT REFERENCES household_members (id) ON DELETE SET NULL;
ALTER TABLE approvers ADD COLUMN member_id TEXT REFERENCES household_members (id) ON DELETE SET NULL;
ALTER TABLE security_keys ADD COLUMN member_id TEXT REFERENCES household_members (id) ON DELETE SET NULL;
ALTER TABLE pairing_codes ADD COLUMN member_id TEXT REFERENCES household_members (id) ON DELETE CASCADE;
ALTER TABLE activity ADD COLUMN member TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_member ON devices (member_id);
CREATE INDEX approvers_member ON approvers (member_id);
CREATE INDEX security_keys_member ON security_keys (member_id);
CREATE INDEX pairing_codes_member ON pairing_codes (member_id);

CREATE TABLE share_offers (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL REFERENCES household_members (id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL REFERENCES approvers (id) ON DELETE CASCADE,
    method_id   TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    from_name   TEXT NOT NULL DEFAULT '',
    rekeyed     BOOLEAN NOT NULL DEFAULT 0,
    sealed      BLOB,
    created_at  INTEGER NOT NULL DEFAULT 0,
    accepted_at INTEGER NOT NULL DEFAULT 0,
    declined_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX share_offers_device ON share_offers (device_id, created_at);
CREATE INDEX share_offers_member ON share_offers (member_id);
CREATE INDEX share_offers_user ON share_offers (user_id);
