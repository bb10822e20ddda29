-- The cross-device link of a session: the SHA-256 of a second, single-use capability and
-- when it was issued and claimed. Cleared with the session's personal data.
ALTER TABLE sessions ADD COLUMN secondary_capability_hash TEXT;
ALTER TABLE sessions ADD COLUMN secondary_issued_at BIGINT;
ALTER TABLE sessions ADD COLUMN secondary_claimed_at BIGINT;
