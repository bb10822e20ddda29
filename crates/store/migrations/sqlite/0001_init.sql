-- Initial schema. Released migrations are never edited; add a new file instead.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    regions TEXT NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '',
    rate_limit_per_second INTEGER,
    daily_quota INTEGER,
    balance INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    pass_threshold INTEGER NOT NULL DEFAULT 50,
    video_enabled INTEGER NOT NULL DEFAULT 0,
    retention_days INTEGER NOT NULL DEFAULT 30,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    access_key TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    secret_sealed BLOB NOT NULL,
    partner_code TEXT NOT NULL UNIQUE,
    partner_key_hash TEXT NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE used_signatures (
    signature_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_signatures_expiry ON used_signatures(expires_at);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    access_key TEXT NOT NULL REFERENCES api_keys(access_key),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);

CREATE TABLE sessions (
    signature_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    access_key TEXT NOT NULL,
    facade TEXT NOT NULL,
    capability_hash TEXT NOT NULL,
    td_token TEXT UNIQUE,
    region TEXT NOT NULL,
    user_id TEXT,
    return_url TEXT NOT NULL,
    failed_return_url TEXT,
    try_count INTEGER NOT NULL,
    tries_used INTEGER NOT NULL DEFAULT 0,
    product_level TEXT NOT NULL,
    locale TEXT,
    audio INTEGER NOT NULL DEFAULT 0,
    iframe INTEGER NOT NULL DEFAULT 0,
    ui_config TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    finished_at INTEGER,
    cleared_at INTEGER,
    result_code TEXT,
    score INTEGER,
    attack_type INTEGER,
    signals TEXT,
    image_far_blob TEXT,
    image_near_blob TEXT,
    video_blob TEXT,
    audit_blob TEXT,
    far_image_time INTEGER,
    near_image_time INTEGER,
    multi_device INTEGER NOT NULL DEFAULT 0,
    use_slave_url INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_account_created ON sessions(account_id, created_at);

CREATE TABLE daily_usage (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    day INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE ui_configs (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    config TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE pending_blob_deletions (
    blob_key TEXT PRIMARY KEY
);
