-- Countersign schema, version 5: every device, approver, security key and
-- pairing code names its member; the owner's are no longer NULL. "NULL means
-- the owner" was decided in six places; now the store fills the owner's id
-- on insert (memberOrOwner) and nothing else needs to know.

UPDATE devices SET member_id = (SELECT m.id FROM household_members m WHERE m.user_id = devices.user_id AND m.role = 'owner')
    WHERE member_id IS NULL;
UPDATE approvers SET member_id = (SELECT m.id FROM household_members m WHERE m.user_id = approvers.user_id AND m.role = 'owner')
    WHERE member_id IS NULL AND removed_at = 0;
UPDATE security_keys SET member_id = (SELECT m.id FROM household_members m WHERE m.user_id = security_keys.user_id AND m.role = 'owner')
    WHERE member_id IS NULL;
UPDATE pairing_codes SET member_id = (SELECT m.id FROM household_members m WHERE m.user_id = pairing_codes.user_id AND m.role = 'owner')
    WHERE member_id IS NULL;

-- A session acts as the member whose second step signed it in (their
-- desktop's approval, their security key, their trusted browser); the
-- owner's otherwise. Existing sessions: their trusted browser's member, else
-- the owner. Removing a member ends their sessions.
ALTER TABLE sessions ADD COLUMN member_id TEXT REFERENCES household_members (id) ON DELETE CASCADE;
UPDATE sessions SET member_id = COALESCE(
    (SELECT d.member_id FROM devices d WHERE d.id = sessions.device_id),
    (SELECT m.id FROM household_members m WHERE m.user_id = sessions.user_id AND m.role = 'owner'));
CREATE INDEX sessions_member ON sessions (member_id);
