-- Failed tries by subject, for the lockout after repeated failures. `subject` is the SHA-256
-- (hex) of the user id or of the page's device cookie, with the account: never the id
-- itself. Rows are purged once they are older than the lockout can look back.
CREATE TABLE try_failures (
    account_id BIGINT NOT NULL,
    subject TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX try_failures_subject ON try_failures(account_id, subject, failed_at);
CREATE INDEX try_failures_failed_at ON try_failures(failed_at);
