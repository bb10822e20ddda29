//! The storage suite: the same cases against SQLite (a temporary file) and PostgreSQL (a
//! fresh schema in OPENLIVENESS_TEST_DATABASE_URL, default the local `test` database).

use std::sync::Arc;

use openliveness_store::postgres::PgStore;
use openliveness_store::sqlite::SqliteStore;
use openliveness_store::*;

const NOW: i64 = 1_800_000_000_000;

fn account(name: &str) -> NewAccount {
    NewAccount {
        name: name.into(),
        regions: vec!["IDN".into(), "SGP".into()],
        allowed_domains: vec!["example.com".into()],
        rate_limit_per_second: Some(5),
        daily_quota: None,
        balance: Some(2),
        expires_at: None,
        pass_threshold: 60,
        video_enabled: true,
        retention_days: 7,
    }
}

fn key(access_key: &str, account_id: i64) -> ApiKey {
    ApiKey {
        access_key: access_key.into(),
        account_id,
        secret_sealed: vec![1, 2, 3],
        partner_code: format!("p-{access_key}"),
        partner_key_hash: "h".into(),
        revoked_at: None,
        created_at: NOW,
    }
}

fn session(id: &str, account_id: i64) -> NewSession {
    NewSession {
        signature_id: id.into(),
        account_id,
        access_key: "ak".into(),
        facade: Facade::Advance,
        capability_hash: "c".repeat(64),
        td_token: Some(format!("td-{id}")),
        region: "IDN".into(),
        user_id: Some("user".into()),
        return_url: "https://example.com".into(),
        failed_return_url: None,
        try_count: 3,
        product_level: "STANDARD".into(),
        locale: Some("en".into()),
        audio: true,
        iframe: false,
        ui_config: Some("{}".into()),
        created_at: NOW,
        expires_at: NOW + 3_600_000,
    }
}

async fn accounts_and_keys(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    assert_eq!(a.name, "acme");
    assert_eq!(a.regions, vec!["IDN", "SGP"]);
    assert_eq!(a.allowed_domains, vec!["example.com"]);
    assert_eq!(
        (a.rate_limit_per_second, a.balance, a.pass_threshold),
        (Some(5), Some(2), 60)
    );
    assert!(matches!(
        s.create_account(account("acme"), NOW).await,
        Err(StoreError::Conflict(_))
    ));
    let b = s
        .update_account(
            "acme",
            AccountPatch {
                disabled: Some(true),
                daily_quota: Some(Some(9)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(b.disabled);
    assert_eq!(s.account_by_name("acme").await.unwrap().unwrap(), b);
    assert_eq!(
        s.account_by_id(a.id).await.unwrap().unwrap().daily_quota,
        Some(9)
    );
    assert!(matches!(
        s.update_account("nobody", AccountPatch::default()).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.list_accounts().await.unwrap().len(), 1);

    s.create_key(key("ak1", a.id)).await.unwrap();
    assert!(matches!(
        s.create_key(key("ak1", a.id)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.key("ak1").await.unwrap().unwrap().secret_sealed,
        vec![1, 2, 3]
    );
    assert_eq!(
        s.key_by_partner_code("p-ak1")
            .await
            .unwrap()
            .unwrap()
            .access_key,
        "ak1"
    );
    assert!(s.revoke_key("ak1", NOW).await.unwrap());
    assert!(!s.revoke_key("nope", NOW).await.unwrap());
    assert_eq!(s.list_keys(a.id).await.unwrap()[0].revoked_at, Some(NOW));
}

async fn tokens_and_replay(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    s.create_key(key("ak", a.id)).await.unwrap();
    let tok = |h: &str, exp: i64| NewToken {
        token_hash: h.into(),
        access_key: "ak".into(),
        account_id: a.id,
        expires_at: exp,
        created_at: NOW,
    };
    let sig = |h: &str| UsedSignature {
        signature_hash: h.into(),
        expires_at: NOW + 1000,
    };
    s.issue_token(sig("s1"), tok("t1", NOW + 10)).await.unwrap();
    assert!(matches!(
        s.issue_token(sig("s1"), tok("t2", NOW)).await,
        Err(StoreError::Replay)
    ));
    assert!(
        s.token_context("t2").await.unwrap().is_none(),
        "a replay leaves no token"
    );
    let ctx = s.token_context("t1").await.unwrap().unwrap();
    assert_eq!(
        (ctx.expires_at, ctx.key.access_key.as_str(), ctx.account.id),
        (NOW + 10, "ak", a.id)
    );

    // Many concurrent uses of one signature: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let t = tok(&format!("c{i}"), NOW);
        tasks.push(tokio::spawn(
            async move { s.issue_token(sig("same"), t).await },
        ));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Replay) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1);
    // Purge removes what expired only.
    assert!(s.purge_expired(NOW + 5000).await.unwrap() >= 2);
    assert!(s.token_context("t1").await.unwrap().is_none());
}

async fn sessions_quota_and_results(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    // Concurrent creations against a quota of 5: exactly 5 succeed, 5 are counted.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        let new = session(&format!("s{i:02}"), a.id);
        tasks.push(tokio::spawn(
            async move { s.create_session(new, Some(5)).await },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::QuotaExceeded) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(s.sessions_today(a.id, NOW).await.unwrap(), 5);
    assert_eq!(s.sessions_today(a.id, NOW + 86_400_000).await.unwrap(), 0);

    let mut first = None;
    for i in 0..12 {
        if let Some(x) = s.session(&format!("s{i:02}")).await.unwrap() {
            first = Some(x);
            break;
        }
    }
    let id = first.expect("a created session");
    assert_eq!(id.status, SessionStatus::Created);
    assert_eq!(id.new, session(id.signature_id(), a.id));
    assert!(id.result.is_none());
    let sid = id.signature_id().to_owned();
    assert_eq!(
        s.session_by_td_token(&format!("td-{sid}"))
            .await
            .unwrap()
            .unwrap()
            .signature_id(),
        sid
    );
    assert!(matches!(
        s.create_session(session(&sid, a.id), None).await,
        Err(StoreError::Conflict(_))
    ));

    s.set_session_status(&sid, SessionStatus::Capturing)
        .await
        .unwrap();
    assert_eq!(
        s.session(&sid).await.unwrap().unwrap().status,
        SessionStatus::Capturing
    );
    let result = SessionResult {
        result_code: "SUCCESS".into(),
        score: Some(77),
        attack_type: None,
        signals: Some("[{\"name\":\"blink\"}]".into()),
        image_far_blob: Some("a".repeat(32)),
        image_near_blob: Some("b".repeat(32)),
        video_blob: None,
        audit_blob: Some("c".repeat(32)),
        far_image_time: Some(NOW + 1),
        near_image_time: Some(NOW + 2),
        multi_device: true,
        use_slave_url: false,
    };
    s.finish_session(&sid, SessionStatus::Passed, result.clone(), NOW + 5)
        .await
        .unwrap();
    let done = s.session(&sid).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.finished_at),
        (SessionStatus::Passed, Some(NOW + 5))
    );
    assert_eq!(done.result.as_ref(), Some(&result));

    let keys = s.clear_session(&sid, NOW + 6).await.unwrap();
    assert_eq!(keys.len(), 3);
    let mut pending = s.pending_blob_deletions(10).await.unwrap();
    pending.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(pending, expected);
    s.confirm_blob_deletions(&keys[..2]).await.unwrap();
    assert_eq!(s.pending_blob_deletions(10).await.unwrap().len(), 1);
    let cleared = s.session(&sid).await.unwrap().unwrap();
    assert_eq!(cleared.cleared_at, Some(NOW + 6));
    assert_eq!(cleared.new.user_id, None);
    assert_eq!(
        cleared.result.as_ref().unwrap().score,
        Some(77),
        "verdict kept"
    );
    assert!(cleared.blob_keys().is_empty());
    assert!(
        matches!(
            s.finish_session(&sid, SessionStatus::Passed, result, NOW)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "a cleared session takes no new images"
    );
    assert!(matches!(
        s.clear_session("none", NOW).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn balance_and_ui(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    assert_eq!(s.debit_balance(a.id).await.unwrap(), Some(1));
    assert_eq!(s.debit_balance(a.id).await.unwrap(), Some(0));
    assert!(matches!(
        s.debit_balance(a.id).await,
        Err(StoreError::InsufficientBalance)
    ));
    let free = s
        .create_account(
            NewAccount {
                balance: None,
                ..account("free")
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(s.debit_balance(free.id).await.unwrap(), None);

    assert_eq!(s.ui_config(a.id).await.unwrap(), None);
    s.set_ui_config(a.id, "{\"a\":1}", NOW).await.unwrap();
    s.set_ui_config(a.id, "{\"a\":2}", NOW).await.unwrap();
    assert_eq!(
        s.ui_config(a.id).await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
}

macro_rules! suite {
    ($($case:ident),*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let s: Arc<dyn Store> =
                        Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
                    super::$case(s).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let url = std::env::var("OPENLIVENESS_TEST_DATABASE_URL")
                        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
                    let schema = format!("s_{}_{}", stringify!($case), std::process::id());
                    let pg = PgStore::connect_in_schema(&url, Some(&schema))
                        .await
                        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed: {e}"));
                    let pg = Arc::new(pg);
                    super::$case(pg.clone()).await;
                    pg.drop_schema(&schema).await.unwrap();
                }
            )*
        }
    };
}

suite!(
    accounts_and_keys,
    tokens_and_replay,
    sessions_quota_and_results,
    balance_and_ui
);

/// Migrations run twice are a no-op, and data survives reopening (the SQLite file).
#[tokio::test]
async fn sqlite_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let s = SqliteStore::open(&path).await.unwrap();
        s.create_account(account("acme"), NOW).await.unwrap();
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert!(s.account_by_name("acme").await.unwrap().is_some());
}
