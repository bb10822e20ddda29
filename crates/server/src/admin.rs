//! Operator actions shared by the command line and demo mode: accounts, keys, webhook
//! settings, the master key. Input from the operator is validated here, once, for every
//! caller.

use std::path::Path;
use std::sync::Arc;

use openliveness_store::{
    Account, AccountPatch, ApiKey, NewAccount, Sealer, Store, StoreError, WebhookJob,
};
use serde::Serialize;

use crate::config::Config;
use crate::state::{now_ms, random_hex, sha256_hex};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "no account named {0:?} (create it with `openliveness account create {0} --regions IDN`)"
    )]
    NoAccount(String),
    #[error("no key {0:?}")]
    NoKey(String),
    #[error("no webhook job {0} (list them with `openliveness webhook list`)")]
    NoWebhookJob(i64),
    #[error("an account named {0:?} already exists")]
    AccountExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Credentials of a new key, shown to the operator once.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredentials {
    pub access_key: String,
    pub secret_key: String,
    pub partner_code: String,
    pub partner_key: String,
}

/// Validates and normalises an account name.
pub fn check_name(name: &str) -> Result<String, AdminError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| name.to_owned()).ok_or_else(|| {
        AdminError::Invalid(format!(
            "account name {name:?}: use 1–64 letters, digits, '-', '_' or '.'"
        ))
    })
}

/// Parses `IDN,SGP` into ISO 3166-1 alpha-3 codes.
pub fn parse_regions(s: &str) -> Result<Vec<String>, AdminError> {
    let regions: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if regions.is_empty() {
        return Err(AdminError::Invalid(
            "--regions needs at least one code, e.g. IDN,SGP".into(),
        ));
    }
    if let Some(bad) = regions
        .iter()
        .find(|r| r.len() != 3 || !r.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(AdminError::Invalid(format!(
            "region {bad:?} is not an ISO 3166-1 alpha-3 code (three letters, e.g. IDN)"
        )));
    }
    Ok(regions)
}

/// Parses `a.com,b.org` into lower-case host names.
pub fn parse_domains(s: &str) -> Result<Vec<String>, AdminError> {
    let domains: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if let Some(bad) = domains.iter().find(|d| {
        d.len() > 253
            || d.starts_with('.')
            || d.ends_with('.')
            || !d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    }) {
        return Err(AdminError::Invalid(format!(
            "allowed domain {bad:?} is not a host name (e.g. example.com)"
        )));
    }
    Ok(domains)
}

pub async fn create_account(store: &dyn Store, new: NewAccount) -> Result<Account, AdminError> {
    let name = new.name.clone();
    store
        .create_account(new, now_ms())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AdminError::AccountExists(name),
            other => other.into(),
        })
}

pub async fn update_account(
    store: &dyn Store,
    name: &str,
    patch: AccountPatch,
) -> Result<Account, AdminError> {
    store
        .update_account(name, patch)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => AdminError::NoAccount(name.to_owned()),
            other => other.into(),
        })
}

/// Parses an operator's callback URL (see [`crate::webhooks::CallbackUrl`]).
pub fn parse_callback_url(s: &str) -> Result<String, AdminError> {
    crate::webhooks::CallbackUrl::parse(s)
        .map(|u| u.as_str().to_owned())
        .map_err(AdminError::Invalid)
}

/// Sets or removes the account's callback URL. Setting one on an account without a
/// webhook secret first creates the secret and returns it: it exists in clear only in the
/// return value.
pub async fn set_callback_url(
    store: &dyn Store,
    sealer: &Sealer,
    name: &str,
    callback_url: Option<&str>,
) -> Result<(Account, Option<String>), AdminError> {
    let account = store
        .account_by_name(name)
        .await?
        .ok_or_else(|| AdminError::NoAccount(name.to_owned()))?;
    let url = callback_url.map(parse_callback_url).transpose()?;
    // The secret goes first, so the worker never finds a URL without one.
    let secret = match &url {
        Some(_) if store.webhook_secret(account.id).await?.is_none() => {
            Some(store_new_webhook_secret(store, sealer, account.id).await?)
        }
        _ => None,
    };
    let patch = AccountPatch {
        callback_url: Some(url),
        ..Default::default()
    };
    Ok((update_account(store, name, patch).await?, secret))
}

/// Replaces the account's webhook signing secret and returns the new one. The old secret
/// stops signing at once.
pub async fn rotate_webhook_secret(
    store: &dyn Store,
    sealer: &Sealer,
    name: &str,
) -> Result<String, AdminError> {
    let account = store
        .account_by_name(name)
        .await?
        .ok_or_else(|| AdminError::NoAccount(name.to_owned()))?;
    store_new_webhook_secret(store, sealer, account.id).await
}

async fn store_new_webhook_secret(
    store: &dyn Store,
    sealer: &Sealer,
    account_id: i64,
) -> Result<String, AdminError> {
    let secret = crate::webhooks::new_secret();
    store
        .set_webhook_secret(
            account_id,
            &crate::webhooks::seal_secret(sealer, account_id, &secret),
        )
        .await?;
    Ok(secret)
}

/// Makes a webhook job due now again (a failed or delivered one with fresh attempts).
pub async fn retry_webhook(store: &dyn Store, id: i64) -> Result<WebhookJob, AdminError> {
    if !store.retry_webhook_job(id, now_ms()).await? {
        return Err(AdminError::NoWebhookJob(id));
    }
    store
        .webhook_job(id)
        .await?
        .ok_or(AdminError::NoWebhookJob(id))
}

/// Creates a key pair for the account. The secrets exist in clear only in the return value.
pub async fn create_key(
    store: &dyn Store,
    sealer: &Sealer,
    account_name: &str,
) -> Result<KeyCredentials, AdminError> {
    let account = store
        .account_by_name(account_name)
        .await?
        .ok_or_else(|| AdminError::NoAccount(account_name.to_owned()))?;
    let creds = KeyCredentials {
        access_key: random_hex(16),
        secret_key: random_hex(32),
        partner_code: format!("olp{}", random_hex(8)),
        partner_key: random_hex(32),
    };
    store
        .create_key(ApiKey {
            access_key: creds.access_key.clone(),
            account_id: account.id,
            secret_sealed: sealer.seal(creds.secret_key.as_bytes(), creds.access_key.as_bytes()),
            partner_code: creds.partner_code.clone(),
            partner_key_hash: sha256_hex(creds.partner_key.as_bytes()),
            revoked_at: None,
            created_at: now_ms(),
        })
        .await?;
    Ok(creds)
}

pub async fn revoke_key(store: &dyn Store, access_key: &str) -> Result<(), AdminError> {
    if store.revoke_key(access_key, now_ms()).await? {
        Ok(())
    } else {
        Err(AdminError::NoKey(access_key.to_owned()))
    }
}

/// The master key: from configuration, or from `master.key` in the data directory,
/// generated on first use with a warning (a stronger one with PostgreSQL, where replicas
/// must share the key).
/// Returns the sealer and a warning for the log when the file was generated.
pub fn master_key(config: &Config) -> Result<(Sealer, Option<String>), AdminError> {
    if let Some(k) = &config.master_key {
        return Sealer::from_hex(k.expose())
            .map(|s| (s, None))
            .map_err(|e| AdminError::MasterKey(format!("OPENLIVENESS_MASTER_KEY: {e}")));
    }
    let shared_db = config
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    let path = config.data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => Sealer::from_hex(&text)
            .map(|s| (s, None))
            .map_err(|e| AdminError::MasterKey(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hex = Sealer::generate_hex();
            write_private(&path, hex.as_bytes())
                .map_err(|e| AdminError::MasterKey(format!("{}: {e}", path.display())))?;
            let sealer =
                Sealer::from_hex(&hex).map_err(|e| AdminError::MasterKey(e.to_string()))?;
            let mut warning = format!(
                "generated a master key in {}; for production set OPENLIVENESS_MASTER_KEY \
                 and keep it out of the data directory",
                path.display()
            );
            if shared_db {
                warning.push_str(
                    "; with PostgreSQL every replica and every `openliveness key create` must \
                     use the same key, so set OPENLIVENESS_MASTER_KEY",
                );
            }
            Ok((sealer, Some(warning)))
        }
        Err(e) => Err(AdminError::MasterKey(format!("{}: {e}", path.display()))),
    }
}

/// Checks that `sealer` opens the API secrets stored in the database: a replica (or CLI
/// command) started with another master key than the one that sealed them would answer
/// every signed call with an error. Looks at the first key in use of the first accounts
/// that have one; a database without keys has nothing to check.
pub async fn check_master_key(store: &dyn Store, sealer: &Sealer) -> Result<(), String> {
    let accounts = store.list_accounts().await.map_err(|e| e.to_string())?;
    for account in accounts.iter().take(20) {
        let keys = store
            .list_keys(account.id)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(key) = keys.iter().find(|k| k.revoked_at.is_none()) {
            return sealer
                .open(&key.secret_sealed, key.access_key.as_bytes())
                .map(|_| ())
                .map_err(|_| {
                    "the master key does not open the API secrets in the database: start \
                     every replica with the master key they were created with"
                        .to_owned()
                });
        }
    }
    Ok(())
}

/// Writes a file readable by its owner only, atomically (temporary file, sync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    // A temporary file left by a crash may carry another mode: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Demo mode: an account `demo` with a key, kept in `demo-credentials.json` so restarts
/// reuse it.
pub async fn ensure_demo(
    store: &Arc<dyn Store>,
    sealer: &Sealer,
    data_dir: &Path,
) -> Result<KeyCredentials, AdminError> {
    let path = data_dir.join("demo-credentials.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(creds) = serde_json::from_str::<KeyCredentials>(&text) {
            if store
                .key(&creds.access_key)
                .await?
                .is_some_and(|k| k.revoked_at.is_none())
            {
                return Ok(creds);
            }
        }
    }
    if store.account_by_name("demo").await?.is_none() {
        create_account(
            store.as_ref(),
            NewAccount {
                name: "demo".into(),
                regions: parse_regions("IDN,SGP,PHL,MYS,THA,VNM,IND,CHN,USA")?,
                allowed_domains: Vec::new(),
                rate_limit_per_second: None,
                daily_quota: None,
                balance: None,
                expires_at: None,
                pass_threshold: 50,
                video_enabled: true,
                retention_days: 7,
            },
        )
        .await?;
    }
    let creds = create_key(store.as_ref(), sealer, "demo").await?;
    let json = serde_json::to_vec_pretty(&creds).map_err(|e| AdminError::Invalid(e.to_string()))?;
    write_private(&path, &json)
        .map_err(|e| AdminError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_input() {
        assert_eq!(parse_regions("idn, SGP").unwrap(), vec!["IDN", "SGP"]);
        assert!(parse_regions("").is_err());
        assert!(parse_regions("ID").is_err());
        assert_eq!(
            parse_domains("A.com,b.org").unwrap(),
            vec!["a.com", "b.org"]
        );
        assert!(parse_domains("https://a.com").is_err());
        assert!(check_name("acme-1").is_ok());
        assert!(check_name("bad name").is_err());
        assert!(check_name("").is_err());
        assert_eq!(
            parse_callback_url("https://Hooks.Example.com/in").unwrap(),
            "https://hooks.example.com/in"
        );
        assert!(parse_callback_url("hooks.example.com").is_err());
    }
}
