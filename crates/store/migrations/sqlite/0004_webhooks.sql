-- Webhooks: an optional callback URL per account with its signing secret (sealed with the
-- master key), and a durable queue of deliveries with every attempt recorded.
ALTER TABLE accounts ADD COLUMN callback_url TEXT;
ALTER TABLE accounts ADD COLUMN webhook_secret_sealed BLOB;

CREATE TABLE webhook_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    signature_id TEXT NOT NULL,
    event TEXT NOT NULL,
    session_status TEXT NOT NULL,
    result_code TEXT NOT NULL,
    score INTEGER,
    attack_type INTEGER,
    finished_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    lease_token TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX webhook_jobs_due ON webhook_jobs(status, next_attempt_at);
CREATE INDEX webhook_jobs_account ON webhook_jobs(account_id, id);

CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES webhook_jobs(id) ON DELETE CASCADE,
    attempted_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    url TEXT NOT NULL,
    http_status INTEGER,
    error TEXT
);
CREATE INDEX webhook_attempts_job ON webhook_attempts(job_id, id);
