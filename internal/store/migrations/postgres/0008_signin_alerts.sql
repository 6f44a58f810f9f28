-- Countersign schema, version 8 (PostgreSQL): sign-in alerts.

-- The browsers (browser and OS, "Chrome on Linux") and places (a city by
-- GeoIP, else the IP network: a /24 or /48) each account has signed in
-- from: a sign-in from one it has not used sends an alert.
CREATE TABLE signin_seen (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL, -- 'browser' or 'place'
    value    TEXT NOT NULL,
    first_at BIGINT NOT NULL DEFAULT 0,
    last_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, kind, value)
);

-- Which channels send the account's alerts. No row: both.
CREATE TABLE signin_alert_settings (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    mail    BOOLEAN NOT NULL DEFAULT TRUE,
    desktop BOOLEAN NOT NULL DEFAULT TRUE
);

-- One alert per new sign-in: the session it names (its new id after a
-- privilege change), when that session signed in, what the alert said, and
-- when "This wasn't me" was used on it.
CREATE TABLE signin_alerts (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id         TEXT NOT NULL,
    session_created_at BIGINT NOT NULL DEFAULT 0,
    member_id          TEXT NOT NULL DEFAULT '',
    browser            TEXT NOT NULL DEFAULT '',
    place              TEXT NOT NULL DEFAULT '',
    ip                 TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL DEFAULT 0,
    expires_at         BIGINT NOT NULL DEFAULT 0,
    used_at            BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signin_alerts_user ON signin_alerts (user_id, created_at);
CREATE INDEX signin_alerts_expires ON signin_alerts (expires_at);

-- The browser session an app's codes and tokens were issued in (the
-- OpenID Connect "sid" the ID token carries), so that ending the session
-- from an alert ends them too. Empty for those issued before version 8.
ALTER TABLE oauth_tokens ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
CREATE INDEX oauth_tokens_session ON oauth_tokens (user_id, session_id);
