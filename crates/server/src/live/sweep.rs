//! Sessions no page is connected to. A try whose page went away fails at its time limit, a
//! URL expires at its deadline, and a session that ended without any verdict gets its final
//! result (`NOT_COMPLETED`, with the reason) and its webhook — so an integrator can tell an
//! abandoned session from one in progress.
//!
//! What must stay true: the sweeper drives a session only while it holds the session's live
//! lease, exactly like a page's connection, so it never races one (a page that comes back
//! waits at most one pass); every replica sweeps, and the lease makes each session's work
//! happen once. The store says which sessions are due (`sweep_at`, written with the state).

use std::time::Duration;

use crate::state::{now_ms, AppState};

use super::conn::Conn;

/// Most sessions looked at in one pass; a full batch is followed by the next at once.
const BATCH: u32 = 100;

/// Sweeps every `interval` until the task is dropped.
pub async fn run(state: AppState, interval: Duration) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A full batch is followed by the next at once, within reason: a store that keeps
        // failing to write leaves its sessions due, and they wait for the next tick.
        for _ in 0..10 {
            if pass(&state, now_ms()).await < BATCH as usize {
                break;
            }
        }
    }
}

/// One pass over the sessions due at `now`; returns how many were due.
pub async fn pass(state: &AppState, now: i64) -> usize {
    let due = match state.store.sessions_due(now, BATCH).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the sessions due for a sweep");
            return 0;
        }
    };
    for id in &due {
        sweep_one(state, id, now).await;
    }
    due.len()
}

async fn sweep_one(state: &AppState, id: &str, now: i64) {
    let until = now.saturating_add(state.live_lease_ms);
    let fence = match state.store.acquire_live_lease(id, now, until).await {
        Ok(Some(fence)) => fence,
        // A page connected meanwhile: its connection moves the session on.
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(signature_id = id, error = %e, "cannot take a due session's lease");
            return;
        }
    };
    let loaded = match state.store.session(id).await {
        Ok(Some(session)) => match state.store.account_by_id(session.new.account_id).await {
            Ok(Some(account)) => Some((session, account)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(signature_id = id, error = %e, "cannot read a due session's account");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(signature_id = id, error = %e, "cannot read a due session");
            None
        }
    };
    if let Some((session, account)) = loaded {
        let secondary_device = session.result.as_ref().is_some_and(|r| r.secondary_device)
            || session
                .secondary
                .as_ref()
                .is_some_and(|l| l.claimed_at.is_some());
        let mut conn = Conn::new(state.clone(), state.vision.clone(), session, account);
        conn.secondary_device = secondary_device;
        conn.fence = Some(fence);
        conn.unattended(now).await;
    }
    super::release_lease(state, id, fence).await;
}
