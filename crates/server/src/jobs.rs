//! Background work: deleting blobs queued by clear-data, clearing sessions past their
//! account's retention period, purging expired tokens and signature records, dropping
//! delivered webhook jobs past retention, and dropping frame fingerprints older than the
//! replay window. Webhook delivery itself lives in [`crate::webhooks`].
//!
//! Blob deletions are queued in the store in the same transaction that clears the session,
//! so work interrupted by a crash is picked up at the next start.

use std::time::Duration;

use openliveness_store::{BlobStore, Store};

use crate::state::{now_ms, AppState};

/// Deletes `keys` now and confirms them; anything that fails stays queued for the sweeper.
pub async fn delete_blobs(store: &dyn Store, blobs: &BlobStore, keys: Vec<String>) {
    let mut done = Vec::with_capacity(keys.len());
    for key in keys {
        match blobs.delete(&key).await {
            Ok(()) => done.push(key),
            Err(e) => tracing::warn!(blob = %key, error = %e, "blob deletion deferred"),
        }
    }
    if !done.is_empty() {
        if let Err(e) = store.confirm_blob_deletions(&done).await {
            tracing::warn!(error = %e, "could not confirm blob deletions; they will be retried");
        }
    }
}

/// Finishes queued blob deletions left by an earlier run.
pub async fn sweep_blob_deletions(store: &dyn Store, blobs: &BlobStore) {
    const BATCH: u32 = 500;
    loop {
        let keys = match store.pending_blob_deletions(BATCH).await {
            Ok(k) if !k.is_empty() => k,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending blob deletions");
                return;
            }
        };
        let n = keys.len();
        delete_blobs(store, blobs, keys).await;
        if n < BATCH as usize {
            return;
        }
    }
}

/// What one maintenance pass did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeReport {
    pub sessions_cleared: u64,
    pub expired_records_purged: u64,
    pub webhook_jobs_purged: u64,
    /// Frame fingerprints older than the replay window.
    pub frame_prints_purged: u64,
}

/// [`purge_with_window`] with the default replay window, for callers without a
/// configuration at hand.
pub async fn purge(
    store: &dyn Store,
    blobs: &BlobStore,
    now: i64,
) -> openliveness_store::Result<PurgeReport> {
    let window = crate::config::Config::default().replay_window_ms();
    purge_with_window(store, blobs, now, window).await
}

/// One maintenance pass: retention, expired credentials, delivered webhook jobs, frame
/// fingerprints older than `replay_window_ms`, leftover blob deletions.
pub async fn purge_with_window(
    store: &dyn Store,
    blobs: &BlobStore,
    now: i64,
    replay_window_ms: i64,
) -> openliveness_store::Result<PurgeReport> {
    let mut report = PurgeReport::default();
    loop {
        let due = store.sessions_past_retention(now, 200).await?;
        if due.is_empty() {
            break;
        }
        for id in &due {
            let keys = store.clear_session(id, now).await?;
            delete_blobs(store, blobs, keys).await;
            report.sessions_cleared += 1;
        }
    }
    report.expired_records_purged = store.purge_expired(now).await?;
    report.webhook_jobs_purged = store.purge_webhook_jobs(now).await?;
    report.frame_prints_purged = store
        .purge_prints(now.saturating_sub(replay_window_ms))
        .await?;
    sweep_blob_deletions(store, blobs).await;
    Ok(report)
}

/// Runs the periodic maintenance until the process ends.
pub async fn run_maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let pass = purge_with_window(
            state.store.as_ref(),
            &state.blobs,
            now_ms(),
            state.replay_window_ms,
        );
        let horizon = now_ms().saturating_sub(state.lockout.horizon_ms());
        match state.store.purge_try_failures(horizon).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(try_failures = n, "maintenance purge: lockout records"),
            Err(e) => tracing::warn!(error = %e, "maintenance purge of lockout records failed"),
        }
        match pass.await {
            Ok(r)
                if r.sessions_cleared
                    + r.expired_records_purged
                    + r.webhook_jobs_purged
                    + r.frame_prints_purged
                    > 0 =>
            {
                tracing::info!(
                    sessions_cleared = r.sessions_cleared,
                    expired_records = r.expired_records_purged,
                    webhook_jobs = r.webhook_jobs_purged,
                    frame_prints = r.frame_prints_purged,
                    "maintenance purge"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "maintenance purge failed"),
        }
    }
}
