//! Finish → result latency and server time per verified session, over the real live
//! protocol with the rendered genuine subject: one session at a time, then 8 at once. Run with
//! `bash scripts/bench-live.sh` (the test profile, as CI builds it); the figures go to
//! docs/benchmarks.md as printed. `OPENLIVENESS_BENCH_ROUNDS` sets the rounds (default 3).

// A benchmark may panic: a failed expectation ends the run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/mod.rs"]
mod common;
// The support modules' own unit tests are not compiled into a harness-less binary, which
// leaves their imports unused here.
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use common::*;
use std::time::Duration;

use support::client::{self, Outcome, Script};
use support::scripts::Genuine;
use support::subject::{astronaut, Subject};

/// The server's step window, as in the live tests: long enough for a rendered action.
const STEP_WINDOW_MS: i64 = 2000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(finish_to_result());
}

/// Plays one session; `None` when the server refused the try up front (`SERVER_BUSY`:
/// admission control, docs/protocol.md), which is what it does beyond its capacity.
async fn play(app: &TestApp, token: &str, script: &mut dyn Script) -> Option<(String, Outcome)> {
    let (sid, url) = app.session(token).await;
    let (ws, msgs, first) = client::say_hello(&url, Duration::from_secs(10)).await;
    if first["type"] == "error" {
        assert_eq!(first["code"], "SERVER_BUSY", "{first}");
        return None;
    }
    Some((sid, client::after_session(ws, msgs, script).await))
}

async fn finish_to_result() {
    let app = spawn_with(Backend::Sqlite, |c| c.step_window_ms = STEP_WINDOW_MS).await;
    let creds = app.create_account(account("bench")).await;
    let token = app.token(&creds).await;
    let engine = engine();
    let subject: &Subject = astronaut(&engine);
    let rounds: usize = std::env::var("OPENLIVENESS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);

    // Warm the renderer's cache and the engine once, outside the figures.
    play(&app, &token, &mut Genuine::new(subject, 1)).await;

    for concurrency in [1usize, 8] {
        let mut latencies = Vec::new();
        let mut costs = Vec::new();
        let mut passed = 0usize;
        let mut refused = 0usize;
        let started = std::time::Instant::now();
        for round in 0..rounds {
            let runs = (0..concurrency).map(|i| {
                let (app, token) = (&app, &token);
                async move {
                    let seed = 10_000 * (round as u64 + 1) + i as u64 * 100;
                    play(app, token, &mut Genuine::new(subject, seed)).await
                }
            });
            for played in futures_util::future::join_all(runs).await {
                let Some((sid, out)) = played else {
                    refused += 1;
                    continue;
                };
                if out.passed() {
                    passed += 1;
                }
                latencies.extend(out.finish_to_result_ms);
                let signals = app.stored_signals(&sid).await;
                let cost = signals["costMs"]["measure"].as_f64().unwrap_or(0.0)
                    + signals["costMs"]["decide"].as_f64().unwrap_or(0.0);
                costs.push((cost, signals["frames"].as_u64().unwrap_or(0)));
            }
        }
        let wall = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round().max(0.0) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let mean_cost = costs.iter().map(|c| c.0).sum::<f64>() / costs.len() as f64;
        let mean_frames = costs.iter().map(|c| c.1).sum::<u64>() as f64 / costs.len() as f64;
        println!(
            "concurrency {concurrency}: {} sessions, {passed} passed, {refused} refused up front (busy), finish→result p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; server time per session {:.0} ms for {:.0} frames ({:.1} ms/frame) → {:.0} sessions/min/core; wall {:.1} s",
            costs.len(),
            pct(0.5),
            pct(0.99),
            latencies.last().copied().unwrap_or(0.0),
            mean_cost,
            mean_frames,
            mean_cost / mean_frames.max(1.0),
            60_000.0 / mean_cost.max(1.0),
            wall
        );
    }
    app.cleanup().await;
}
