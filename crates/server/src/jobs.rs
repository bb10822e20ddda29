//! Background work: deleting blobs queued by clear-data, and purging expired tokens and
//! signature records. Blob deletions are queued in the store in the same transaction that
//! clears the session, so work interrupted by a crash is picked up at the next start.

use std::time::Duration;

use crate::state::{now_ms, AppState};

/// Deletes `keys` now and confirms them; anything that fails stays queued for the sweeper.
pub async fn delete_blobs(state: &AppState, keys: Vec<String>) {
    let mut done = Vec::with_capacity(keys.len());
    for key in keys {
        match state.blobs.delete(&key).await {
            Ok(()) => done.push(key),
            Err(e) => tracing::warn!(blob = %key, error = %e, "blob deletion deferred"),
        }
    }
    if !done.is_empty() {
        if let Err(e) = state.store.confirm_blob_deletions(&done).await {
            tracing::warn!(error = %e, "could not confirm blob deletions; they will be retried");
        }
    }
}

/// Finishes queued blob deletions left by an earlier run.
pub async fn sweep_blob_deletions(state: &AppState) {
    loop {
        let keys = match state.store.pending_blob_deletions(500).await {
            Ok(k) if !k.is_empty() => k,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending blob deletions");
                return;
            }
        };
        let n = keys.len();
        delete_blobs(state, keys).await;
        if n < 500 {
            return;
        }
    }
}

/// Runs the periodic maintenance until the process ends.
pub async fn run_maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        sweep_blob_deletions(&state).await;
        match state.store.purge_expired(now_ms()).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "purged expired tokens and signatures"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired records failed"),
        }
    }
}
