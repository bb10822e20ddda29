//! The storage suite: the same cases against SQLite (a temporary file) and PostgreSQL (a
//! fresh schema in OPENLIVENESS_TEST_DATABASE_URL, default the local `test` database).

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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
        outcome: Outcome::Judged,
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
        secondary_device: false,
    };
    s.finish_session(&sid, None, SessionStatus::Passed, result.clone(), NOW + 5)
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
            s.finish_session(&sid, None, SessionStatus::Passed, result, NOW)
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

async fn secondary_link(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    s.create_session(session("x1", a.id), None).await.unwrap();
    assert_eq!(s.session("x1").await.unwrap().unwrap().secondary, None);
    assert!(!s.issue_secondary("nope", "h1", NOW).await.unwrap());
    assert!(
        !s.claim_secondary("x1", "h1", NOW).await.unwrap(),
        "nothing issued yet"
    );

    assert!(s.issue_secondary("x1", "h1", NOW + 1).await.unwrap());
    // Re-issuing before a claim replaces the link.
    assert!(s.issue_secondary("x1", "h2", NOW + 2).await.unwrap());
    assert_eq!(
        s.session("x1").await.unwrap().unwrap().secondary,
        Some(SecondaryLink {
            capability_hash: "h2".into(),
            issued_at: NOW + 2,
            claimed_at: None,
        })
    );

    // Only the current link can be claimed, not one it replaced.
    assert!(!s.claim_secondary("x1", "h1", NOW + 3).await.unwrap());

    // Many concurrent claims: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_secondary("x1", "h2", NOW + 10 + i).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    let link = s.session("x1").await.unwrap().unwrap().secondary.unwrap();
    assert_eq!(link.capability_hash, "h2");
    assert!(link
        .claimed_at
        .is_some_and(|t| (NOW + 10..NOW + 26).contains(&t)));
    assert!(
        !s.issue_secondary("x1", "h3", NOW + 30).await.unwrap(),
        "a claimed link is not replaced"
    );
    assert_eq!(
        s.session("x1").await.unwrap().unwrap().secondary,
        Some(link.clone()),
        "a refused issue changes nothing"
    );

    // The verdict keeps whatever the caller says about the second device.
    let result = SessionResult {
        outcome: Outcome::Judged,
        score: Some(90),
        multi_device: true,
        secondary_device: true,
        ..SessionResult::of(Outcome::Judged)
    };
    s.finish_session("x1", None, SessionStatus::Passed, result.clone(), NOW + 40)
        .await
        .unwrap();
    let done = s.session("x1").await.unwrap().unwrap();
    assert_eq!(done.result, Some(result));
    assert_eq!(done.secondary, Some(link));

    // A failed try with tries left keeps the link usable; with none left, the session
    // takes no new link and no claim.
    s.create_session(session("x2", a.id), None).await.unwrap();
    assert!(s.issue_secondary("x2", "h4", NOW).await.unwrap());
    let try_count = s.session("x2").await.unwrap().unwrap().new.try_count;
    assert!(try_count >= 2, "the fixture session allows a retry");
    s.save_live_state("x2", None, SessionStatus::Failed, 1, "{}", None)
        .await
        .unwrap();
    assert!(s.issue_secondary("x2", "h5", NOW + 1).await.unwrap());
    s.save_live_state("x2", None, SessionStatus::Failed, try_count, "{}", None)
        .await
        .unwrap();
    s.finish_session(
        "x2",
        None,
        SessionStatus::Failed,
        SessionResult::of(Outcome::Judged),
        NOW,
    )
    .await
    .unwrap();
    assert!(!s.claim_secondary("x2", "h5", NOW + 2).await.unwrap());
    assert!(!s.issue_secondary("x2", "h6", NOW + 2).await.unwrap());

    // Clearing drops the link; a cleared session takes none again.
    s.clear_session("x1", NOW + 50).await.unwrap();
    assert_eq!(s.session("x1").await.unwrap().unwrap().secondary, None);
    s.create_session(session("x3", a.id), None).await.unwrap();
    assert!(s.issue_secondary("x3", "h6", NOW).await.unwrap());
    s.clear_session("x3", NOW + 1).await.unwrap();
    assert_eq!(s.session("x3").await.unwrap().unwrap().secondary, None);
    assert!(!s.issue_secondary("x3", "h7", NOW + 2).await.unwrap());
    assert!(!s.claim_secondary("x3", "h6", NOW + 2).await.unwrap());
}

fn attempt(at: i64, status: Option<u16>, error: Option<&str>) -> WebhookAttempt {
    WebhookAttempt {
        attempted_at: at,
        duration_ms: 12,
        url: "https://hooks.example.com/in".into(),
        http_status: status,
        error: error.map(str::to_owned),
    }
}

async fn finished(s: &Arc<dyn Store>, id: &str, account_id: i64, at: i64) {
    s.create_session(session(id, account_id), None)
        .await
        .unwrap();
    let result = SessionResult {
        outcome: Outcome::Judged,
        score: Some(88),
        attack_type: Some(2),
        ..SessionResult::of(Outcome::Judged)
    };
    s.finish_session(id, None, SessionStatus::Passed, result, at)
        .await
        .unwrap();
}

async fn webhook_queue(s: Arc<dyn Store>) {
    let a = s.create_account(account("acme"), NOW).await.unwrap();
    assert_eq!(a.callback_url, None);
    assert_eq!(s.webhook_secret(a.id).await.unwrap(), None);
    s.set_webhook_secret(a.id, &[9, 9]).await.unwrap();
    assert_eq!(s.webhook_secret(a.id).await.unwrap(), Some(vec![9, 9]));
    assert!(matches!(
        s.set_webhook_secret(a.id + 100, &[1]).await,
        Err(StoreError::NotFound(_))
    ));

    // No callback URL: a verdict queues nothing.
    finished(&s, "w0", a.id, NOW).await;
    let all = WebhookFilter {
        limit: 100,
        ..Default::default()
    };
    assert!(s.webhook_jobs(all).await.unwrap().is_empty());

    let url = "https://hooks.example.com/in".to_owned();
    let patched = s
        .update_account(
            "acme",
            AccountPatch {
                callback_url: Some(Some(url.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.callback_url.as_deref(), Some(url.as_str()));
    assert_eq!(
        s.account_by_id(a.id).await.unwrap().unwrap().callback_url,
        Some(url.clone())
    );

    finished(&s, "w1", a.id, NOW + 10).await;
    let jobs = s.webhook_jobs(all).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = jobs[0].clone();
    assert_eq!(
        (
            job.signature_id.as_str(),
            job.event.as_str(),
            job.session_status,
            job.outcome,
            job.score,
            job.attack_type,
            job.finished_at,
        ),
        (
            "w1",
            WEBHOOK_EVENT_SESSION_FINISHED,
            SessionStatus::Passed,
            Outcome::Judged,
            Some(88),
            Some(2),
            NOW + 10
        )
    );
    assert_eq!(
        (job.status, job.attempts, job.next_attempt_at),
        (WebhookStatus::Pending, 0, NOW + 10)
    );
    assert_eq!(s.webhook_job(job.id).await.unwrap(), Some(job.clone()));

    // Not due yet, then leased once; a second claimer gets nothing until the lease ends.
    assert!(s
        .claim_webhook_jobs(NOW, 1000, 10)
        .await
        .unwrap()
        .is_empty());
    let first = s.claim_webhook_jobs(NOW + 20, 1000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].lease_until, NOW + 1020);
    assert!(s
        .claim_webhook_jobs(NOW + 500, 1000, 10)
        .await
        .unwrap()
        .is_empty());
    // The first worker died: its lease expires and another worker takes the job.
    let second = s.claim_webhook_jobs(NOW + 1020, 1000, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].token, first[0].token);
    assert!(
        !s.record_webhook_attempt(
            job.id,
            &first[0].token,
            attempt(NOW + 1030, Some(200), None),
            WebhookOutcome::Delivered
        )
        .await
        .unwrap(),
        "a lost lease records nothing"
    );
    let long_error = "x".repeat(10_000);
    assert!(s
        .record_webhook_attempt(
            job.id,
            &second[0].token,
            attempt(NOW + 1040, Some(503), Some(&long_error)),
            WebhookOutcome::RetryAt(NOW + 2000)
        )
        .await
        .unwrap());
    let j = s.webhook_job(job.id).await.unwrap().unwrap();
    assert_eq!(
        (j.status, j.attempts, j.next_attempt_at),
        (WebhookStatus::Pending, 1, NOW + 2000)
    );
    assert!(j.last_error.as_ref().is_some_and(|e| e.len() <= 500));
    assert!(
        !s.record_webhook_attempt(
            job.id,
            &second[0].token,
            attempt(NOW + 1050, Some(200), None),
            WebhookOutcome::Delivered
        )
        .await
        .unwrap(),
        "a recorded attempt releases the lease"
    );
    assert!(s
        .claim_webhook_jobs(NOW + 1999, 1000, 10)
        .await
        .unwrap()
        .is_empty());
    let third = s.claim_webhook_jobs(NOW + 2000, 1000, 10).await.unwrap();
    assert_eq!(third.len(), 1);
    assert!(s
        .record_webhook_attempt(
            job.id,
            &third[0].token,
            attempt(NOW + 2001, Some(204), None),
            WebhookOutcome::Delivered
        )
        .await
        .unwrap());
    let j = s.webhook_job(job.id).await.unwrap().unwrap();
    assert_eq!(
        (j.status, j.attempts, j.delivered_at),
        (WebhookStatus::Delivered, 2, Some(NOW + 2001))
    );
    let attempts = s.webhook_attempts(job.id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.attempted_at, a.http_status))
            .collect::<Vec<_>>(),
        vec![(NOW + 1040, Some(503)), (NOW + 2001, Some(204))]
    );
    assert!(attempts[0].error.as_ref().is_some_and(|e| e.len() <= 500));
    assert_eq!(attempts[1].error, None);
    assert!(s
        .claim_webhook_jobs(NOW + 9000, 1000, 10)
        .await
        .unwrap()
        .is_empty());

    // An operator's retry sends a delivered job again with fresh attempts; a failure
    // with no attempts left ends as failed.
    assert!(s.retry_webhook_job(job.id, NOW + 3000).await.unwrap());
    assert!(!s.retry_webhook_job(job.id + 1000, NOW).await.unwrap());
    let j = s.webhook_job(job.id).await.unwrap().unwrap();
    assert_eq!(
        (j.status, j.attempts, j.delivered_at),
        (WebhookStatus::Pending, 0, None)
    );
    let again = s.claim_webhook_jobs(NOW + 3000, 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(s
        .record_webhook_attempt(
            job.id,
            &again[0].token,
            attempt(NOW + 3001, None, Some("connection refused")),
            WebhookOutcome::Failed
        )
        .await
        .unwrap());
    let failed = WebhookFilter {
        status: Some(WebhookStatus::Failed),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(s.webhook_jobs(failed).await.unwrap().len(), 1);
    assert_eq!(s.webhook_attempts(job.id).await.unwrap().len(), 3);
    let other = WebhookFilter {
        account_id: Some(a.id + 100),
        limit: 100,
        ..Default::default()
    };
    assert!(s.webhook_jobs(other).await.unwrap().is_empty());

    // Concurrent claimers never take the same job.
    for i in 0..20 {
        finished(&s, &format!("m{i:02}"), a.id, NOW + 10).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_webhook_jobs(NOW + 100, 60_000, 8).await
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap().unwrap().into_iter().map(|l| l.job.id));
    }
    let n = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), n, "a job was claimed twice");
    assert_eq!(n, 20);
    let newest = s
        .webhook_jobs(WebhookFilter {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 3);
    assert!(newest[0].id > newest[1].id, "newest first");

    // Retention drops delivered jobs and their attempts only (the account keeps 7 days).
    assert!(s.retry_webhook_job(job.id, NOW + 4000).await.unwrap());
    let lease = s.claim_webhook_jobs(NOW + 4000, 1000, 1).await.unwrap();
    assert_eq!(lease[0].job.id, job.id);
    assert!(s
        .record_webhook_attempt(
            job.id,
            &lease[0].token,
            attempt(NOW + 4001, Some(200), None),
            WebhookOutcome::Delivered
        )
        .await
        .unwrap());
    assert_eq!(s.purge_webhook_jobs(NOW + 86_400_000).await.unwrap(), 0);
    assert_eq!(
        s.purge_webhook_jobs(NOW + 4002 + 7 * 86_400_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.webhook_job(job.id).await.unwrap(), None);
    assert!(s.webhook_attempts(job.id).await.unwrap().is_empty());
    assert_eq!(s.webhook_jobs(all).await.unwrap().len(), 20);

    // Removing the callback URL stops new jobs.
    s.update_account(
        "acme",
        AccountPatch {
            callback_url: Some(None),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    finished(&s, "w9", a.id, NOW).await;
    assert_eq!(s.webhook_jobs(all).await.unwrap().len(), 20);
}

fn print(frame_no: u32, phash: u64, exact: u64) -> FramePrint {
    FramePrint {
        frame_no,
        phash,
        exact,
    }
}

/// Sorted (session, try, frame) of each match, for comparisons that ignore order.
fn found(m: &[PrintMatch]) -> Vec<(String, u32, u32)> {
    let mut v: Vec<_> = m
        .iter()
        .map(|p| (p.session_id.clone(), p.try_no, p.frame_no))
        .collect();
    v.sort();
    v
}

async fn frame_prints(s: Arc<dyn Store>) {
    let top = 0x8000_0000_0000_0000u64;
    // Session "a": exact and perceptual hashes with the top bit set must round-trip.
    let a = [
        print(0, 0xF123_4567_89AB_CDEF, u64::MAX),
        print(1, 0x0000_0000_0000_0000, top | 7),
        print(2, 0xFFFF_0000_FFFF_0000, 42),
    ];
    s.record_prints("a", 1, NOW, &a).await.unwrap();
    // Recording the same frames again (a retried call) adds nothing.
    s.record_prints("a", 1, NOW, &a).await.unwrap();
    s.record_prints("a", 1, NOW, &[]).await.unwrap();

    // Exact match, found from another session, values intact.
    let q = [print(9, 0x1111_2222_3333_4444, u64::MAX)];
    let m = s.find_prints("b", NOW, &q, 10).await.unwrap();
    assert_eq!(
        m,
        vec![PrintMatch {
            session_id: "a".into(),
            try_no: 1,
            frame_no: 0,
            phash: 0xF123_4567_89AB_CDEF,
            exact: u64::MAX,
        }]
    );
    // Its own session is excluded; so are rows recorded before `since_ms`.
    assert!(s.find_prints("a", NOW, &q, 10).await.unwrap().is_empty());
    assert!(s
        .find_prints("b", NOW + 1, &q, 10)
        .await
        .unwrap()
        .is_empty());
    let q = [print(0, 0x1111_2222_3333_4444, top | 7)];
    let m = s.find_prints("b", 0, &q, 10).await.unwrap();
    assert_eq!(found(&m), vec![("a".into(), 1, 1)]);
    assert_eq!(m[0].exact, top | 7);

    // Band match: three bits flipped in three different bands still shares the fourth.
    let near = 0xF123_4567_89AB_CDEF ^ (1 << 3) ^ (1 << 20) ^ (1 << 63);
    assert_eq!((near ^ 0xF123_4567_89AB_CDEFu64).count_ones(), 3);
    let m = s
        .find_prints("b", NOW, &[print(0, near, 5)], 10)
        .await
        .unwrap();
    assert_eq!(found(&m), vec![("a".into(), 1, 0)]);
    assert_eq!(m[0].phash, 0xF123_4567_89AB_CDEF);
    // The top band 0xFFFF (a negative i64 bit pattern) matches frame 2's.
    let m = s
        .find_prints("b", NOW, &[print(0, 0xFFFF_1234_5678_9ABC, 5)], 10)
        .await
        .unwrap();
    assert_eq!(found(&m), vec![("a".into(), 1, 2)]);
    // Every band differs: nothing.
    let far = [print(0, 0x0101_0202_0303_0404, 6)];
    assert!(s.find_prints("b", NOW, &far, 10).await.unwrap().is_empty());
    assert!(s.find_prints("b", NOW, &[], 10).await.unwrap().is_empty());

    // Exact matches come first, and `limit` is respected.
    for (i, session) in ["c", "d", "e"].iter().enumerate() {
        s.record_prints(
            session,
            2,
            NOW + i as i64,
            &[print(7, 0x0A0A_0B0B_0C0C_0D0D, 99)],
        )
        .await
        .unwrap();
    }
    s.record_prints("f", 1, NOW, &[print(3, 0x0A0A_0000_0000_0000, 1)])
        .await
        .unwrap();
    let q = [
        print(0, 0x0A0A_1111_1111_1111, 1000),
        print(1, 0x1234_1234_1234_1234, 99),
    ];
    let all = s.find_prints("z", NOW, &q, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all[..3].iter().all(|m| m.exact == 99), "{all:?}");
    assert_eq!(all[3].session_id, "f");
    let two = s.find_prints("z", NOW, &q, 2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert!(two.iter().all(|m| m.exact == 99));
    assert_eq!(s.find_prints("z", NOW, &q, 4).await.unwrap().len(), 4);
    assert!(s.find_prints("z", NOW, &q, 0).await.unwrap().is_empty());
    assert_eq!(
        found(&s.find_prints("z", NOW + 2, &q, 10).await.unwrap()),
        vec![("e".into(), 2, 7)]
    );

    // Purge removes only rows recorded before the cut-off.
    assert_eq!(s.purge_prints(NOW).await.unwrap(), 0);
    assert_eq!(s.purge_prints(NOW + 2).await.unwrap(), 6);
    assert_eq!(
        found(&s.find_prints("z", 0, &q, 10).await.unwrap()),
        vec![("e".into(), 2, 7)]
    );
    assert_eq!(s.purge_prints(NOW + 2).await.unwrap(), 0);
}

/// A whole try's frames in one call, and a lookup with as many prints: no parameter limit.
async fn frame_prints_in_bulk(s: Arc<dyn Store>) {
    let spread = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let old: Vec<FramePrint> = (0..1000)
        .map(|i| print(i as u32, spread(i), spread(i + 5000)))
        .collect();
    s.record_prints("old", 1, NOW - 10, &old).await.unwrap();
    let mine: Vec<FramePrint> = (0..1200)
        .map(|i| print(i as u32, spread(i), spread(i) ^ 1))
        .collect();
    s.record_prints("mine", 1, NOW, &mine).await.unwrap();
    s.record_prints("mine", 2, NOW, &mine).await.unwrap();
    // Each of "mine"'s phashes equals one of "old"'s: every old row is a band candidate.
    let m = s.find_prints("mine", 0, &mine, 5000).await.unwrap();
    assert_eq!(m.len(), 1000);
    assert!(m.iter().all(|p| p.session_id == "old"));
    let m = s.find_prints("mine", NOW, &mine, 5000).await.unwrap();
    assert!(m.is_empty());
    // A third session asks with the old prints: their 1000 exact matches first, then the
    // rows of "mine" whose phash shares a band (its first 1000 frames' equal the old ones).
    let bands: Vec<[u16; 4]> = old.iter().map(FramePrint::bands).collect();
    let band_rows = mine
        .iter()
        .filter(|p| {
            let b = p.bands();
            bands.iter().any(|q| (0..4).any(|i| q[i] == b[i]))
        })
        .count();
    assert!((1000..1200).contains(&band_rows));
    let m = s.find_prints("x", 0, &old, 5000).await.unwrap();
    assert_eq!(m.len(), 1000 + 2 * band_rows);
    assert!(m[..1000].iter().all(|p| p.session_id == "old"));
    assert!(m[1000..].iter().all(|p| p.session_id == "mine"));
    assert_eq!(s.find_prints("x", 0, &old, 50).await.unwrap().len(), 50);
    assert_eq!(s.purge_prints(NOW).await.unwrap(), 1000);
    assert_eq!(s.purge_prints(NOW + 1).await.unwrap(), 2400);
}

/// Failed tries by subject: newest first, bounded, per account, purged by age.
async fn try_failures(s: Arc<dyn Store>) {
    for (i, at) in [NOW - 30, NOW - 10, NOW - 20].into_iter().enumerate() {
        s.record_try_failure(1, "u1", at).await.unwrap();
        assert_eq!(
            i + 1,
            s.recent_try_failures(1, "u1", 10).await.unwrap().len()
        );
    }
    s.record_try_failure(1, "u2", NOW).await.unwrap();
    s.record_try_failure(2, "u1", NOW).await.unwrap();
    assert_eq!(
        s.recent_try_failures(1, "u1", 2).await.unwrap(),
        vec![NOW - 10, NOW - 20]
    );
    assert!(s.recent_try_failures(3, "u1", 5).await.unwrap().is_empty());
    assert_eq!(s.purge_try_failures(NOW - 15).await.unwrap(), 2);
    assert_eq!(
        s.recent_try_failures(1, "u1", 5).await.unwrap(),
        vec![NOW - 10]
    );
}

/// The live lease: one holder at a time, racing claimers get exactly one lease, an expired
/// or released lease passes on with the next fence, and only the current fence writes.
async fn live_lease(s: Arc<dyn Store>) {
    let a = s.create_account(account("lease"), NOW).await.unwrap();
    s.create_session(session("l1", a.id), None).await.unwrap();
    assert!(matches!(
        s.acquire_live_lease("nope", NOW, NOW + 10).await,
        Err(StoreError::NotFound(_))
    ));

    // Sixteen connections race for the lease: one wins.
    let racers = (0..16).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.acquire_live_lease("l1", NOW, NOW + 1_000).await })
    });
    let mut won = Vec::new();
    for r in racers {
        if let Some(f) = r.await.unwrap().unwrap() {
            won.push(f);
        }
    }
    assert_eq!(won, vec![1], "exactly one of 16 racers holds the lease");

    // The holder writes and renews; nobody else gets in while it runs.
    s.save_live_state("l1", Some(1), SessionStatus::Capturing, 1, "{}", None)
        .await
        .unwrap();
    assert!(s.renew_live_lease("l1", 1, NOW + 2_000).await.unwrap());
    assert_eq!(
        s.acquire_live_lease("l1", NOW + 1_500, NOW + 3_000)
            .await
            .unwrap(),
        None
    );

    // Once it has run out, the next connection takes over with the next fence, and the
    // old holder can neither renew, nor write its state, nor record a verdict.
    let f2 = s
        .acquire_live_lease("l1", NOW + 2_000, NOW + 5_000)
        .await
        .unwrap();
    assert_eq!(f2, Some(2));
    assert!(!s.renew_live_lease("l1", 1, NOW + 9_000).await.unwrap());
    assert!(matches!(
        s.save_live_state(
            "l1",
            Some(1),
            SessionStatus::Failed,
            1,
            "{\"stale\":1}",
            None
        )
        .await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        s.finish_session(
            "l1",
            Some(1),
            SessionStatus::Passed,
            SessionResult::of(Outcome::Judged),
            NOW
        )
        .await,
        Err(StoreError::LeaseLost)
    ));
    let now = s.session("l1").await.unwrap().unwrap();
    assert_eq!(
        now.status,
        SessionStatus::Capturing,
        "the stale holder wrote nothing"
    );
    assert_eq!(now.live_state.as_deref(), Some("{}"));
    s.finish_session(
        "l1",
        Some(2),
        SessionStatus::Failed,
        SessionResult::of(Outcome::Judged),
        NOW,
    )
    .await
    .unwrap();

    // A released lease is free at once; releasing a stale fence frees nothing.
    s.release_live_lease("l1", 1).await.unwrap();
    assert_eq!(
        s.acquire_live_lease("l1", NOW + 2_500, NOW + 6_000)
            .await
            .unwrap(),
        None
    );
    s.release_live_lease("l1", 2).await.unwrap();
    assert!(!s.renew_live_lease("l1", 2, NOW + 9_000).await.unwrap());
    assert_eq!(
        s.acquire_live_lease("l1", NOW + 2_500, NOW + 6_000)
            .await
            .unwrap(),
        Some(3)
    );
}

/// Sessions that need the server without a page: due by their URL deadline from creation,
/// by the deadline the live state gives, never while a connection holds the lease, never
/// once cleared or once nothing can change.
async fn sessions_due(s: Arc<dyn Store>) {
    let a = s.create_account(account("sweep"), NOW).await.unwrap();
    for id in ["d1", "d2", "d3"] {
        s.create_session(session(id, a.id), None).await.unwrap();
    }
    let expires = NOW + 3_600_000;
    assert!(s.sessions_due(expires - 1, 10).await.unwrap().is_empty());
    assert_eq!(
        s.sessions_due(expires, 10).await.unwrap(),
        vec!["d1", "d2", "d3"]
    );
    // A try running: due at its limit, earliest first, and the limit of results holds.
    s.save_live_state(
        "d2",
        None,
        SessionStatus::Capturing,
        1,
        "{}",
        Some(NOW + 120_000),
    )
    .await
    .unwrap();
    assert_eq!(s.sessions_due(NOW + 120_000, 10).await.unwrap(), vec!["d2"]);
    assert_eq!(s.sessions_due(expires, 1).await.unwrap(), vec!["d2"]);
    // Not while a connection holds it; again once its lease has run out.
    let fence = s
        .acquire_live_lease("d2", NOW, NOW + 200_000)
        .await
        .unwrap()
        .unwrap();
    assert!(s.sessions_due(NOW + 150_000, 10).await.unwrap().is_empty());
    assert_eq!(s.sessions_due(NOW + 200_000, 10).await.unwrap(), vec!["d2"]);
    // Nothing left to change, or cleared: never due.
    s.save_live_state("d2", Some(fence), SessionStatus::Passed, 1, "{}", None)
        .await
        .unwrap();
    s.clear_session("d3", NOW).await.unwrap();
    assert_eq!(s.sessions_due(i64::MAX, 10).await.unwrap(), vec!["d1"]);
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
    balance_and_ui,
    secondary_link,
    webhook_queue,
    frame_prints,
    frame_prints_in_bulk,
    try_failures,
    live_lease,
    sessions_due
);

/// The database file and its WAL and shared-memory files, the blob directories and blobs
/// are readable by their owner only, whatever the umask (the test process's is usually
/// 022, which would give 0644); files left by an older version are narrowed on open.
#[tokio::test]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    {
        let s = SqliteStore::open(&path).await.unwrap();
        s.create_account(account("acme"), NOW).await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let p = dir.path().join(format!("t.db{suffix}"));
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    let sealer =
        openliveness_store::Sealer::from_hex(&openliveness_store::Sealer::generate_hex()).unwrap();
    let root = dir.path().join("blobs");
    let blobs = openliveness_store::BlobStore::new(&root, sealer).unwrap();
    let key = blobs.put(b"face".to_vec()).await.unwrap();
    assert_eq!(mode(&root), 0o700);
    let shard = root.join(&key[..2]);
    assert_eq!(mode(&shard), 0o700);
    assert_eq!(mode(&shard.join(&key)), 0o600);
}

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
