-- Initial schema. Released migrations are never edited; add a new file instead.
CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    regions TEXT NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '',
    rate_limit_per_second BIGINT,
    daily_quota BIGINT,
    balance BIGINT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT,
    pass_threshold BIGINT NOT NULL DEFAULT 50,
    video_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    retention_days BIGINT NOT NULL DEFAULT 30,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    access_key TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    secret_sealed BYTEA NOT NULL,
    partner_code TEXT NOT NULL UNIQUE,
    partner_key_hash TEXT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE used_signatures (
    signature_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_signatures_expiry ON used_signatures(expires_at);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    access_key TEXT NOT NULL REFERENCES api_keys(access_key),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);

CREATE TABLE sessions (
    signature_id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    access_key TEXT NOT NULL,
    facade TEXT NOT NULL,
    capability_hash TEXT NOT NULL,
    td_token TEXT UNIQUE,
    region TEXT NOT NULL,
    user_id TEXT,
    return_url TEXT NOT NULL,
    failed_return_url TEXT,
    try_count BIGINT NOT NULL,
    tries_used BIGINT NOT NULL DEFAULT 0,
    product_level TEXT NOT NULL,
    locale TEXT,
    audio BOOLEAN NOT NULL DEFAULT FALSE,
    iframe BOOLEAN NOT NULL DEFAULT FALSE,
    ui_config TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    finished_at BIGINT,
    cleared_at BIGINT,
    result_code TEXT,
    score BIGINT,
    attack_type BIGINT,
    signals TEXT,
    image_far_blob TEXT,
    image_near_blob TEXT,
    video_blob TEXT,
    audit_blob TEXT,
    far_image_time BIGINT,
    near_image_time BIGINT,
    multi_device BOOLEAN NOT NULL DEFAULT FALSE,
    use_slave_url BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_account_created ON sessions(account_id, created_at);

CREATE TABLE daily_usage (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    day BIGINT NOT NULL,
    sessions BIGINT NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE ui_configs (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id),
    config TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pending_blob_deletions (
    blob_key TEXT PRIMARY KEY
);
