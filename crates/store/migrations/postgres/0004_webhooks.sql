-- Webhooks: an optional callback URL per account with its signing secret (sealed with the
-- master key), and a durable queue of deliveries with every attempt recorded.
ALTER TABLE accounts ADD COLUMN callback_url TEXT;
ALTER TABLE accounts ADD COLUMN webhook_secret_sealed BYTEA;

CREATE TABLE webhook_jobs (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    signature_id TEXT NOT NULL,
    event TEXT NOT NULL,
    session_status TEXT NOT NULL,
    result_code TEXT NOT NULL,
    score BIGINT,
    attack_type BIGINT,
    finished_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    lease_token TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_jobs_due ON webhook_jobs(status, next_attempt_at);
CREATE INDEX webhook_jobs_account ON webhook_jobs(account_id, id);

CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES webhook_jobs(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    url TEXT NOT NULL,
    http_status BIGINT,
    error TEXT
);
CREATE INDEX webhook_attempts_job ON webhook_attempts(job_id, id);
