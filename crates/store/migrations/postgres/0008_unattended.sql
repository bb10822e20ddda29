-- When the server must look at a session that no page is connected to: the running try's
-- time limit, or else the URL deadline. NULL once nothing can change any more (passed,
-- failed with no try left and its final result written, expired with its final result).
-- The sweeper (server live/sweep.rs) ends such sessions itself, so an abandoned try fails
-- and a session with no try left gets a final result and its webhook.
ALTER TABLE sessions ADD COLUMN sweep_at BIGINT;
-- Sessions a page was in the middle of: look now. Waiting ones: at their URL deadline.
UPDATE sessions SET sweep_at = 0
 WHERE cleared_at IS NULL
   AND status IN ('opened', 'positioned', 'challenged', 'capturing', 'verifying');
UPDATE sessions SET sweep_at = expires_at
 WHERE cleared_at IS NULL AND result_code IS NULL
   AND status IN ('created', 'failed', 'expired');
CREATE INDEX sessions_sweep_at ON sessions (sweep_at) WHERE sweep_at IS NOT NULL;
