-- Countersign schema, version 10: how a session signed in. "" is the
-- password (with the second step when two-step verification is on);
-- "passkey" a passkey alone. The ID tokens' amr claim says which.

ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT '';
