-- Countersign schema, version 7 (PostgreSQL): passkeys. A security key whose
-- credential is discoverable (resident on the authenticator, registered
-- with user verification required) is a passkey: it signs in on its own,
-- without the password, as well as serving as a second step like any key.
-- Keys registered before version 7 are not passkeys.

ALTER TABLE security_keys ADD COLUMN discoverable BOOLEAN NOT NULL DEFAULT FALSE;
