//! Capacity: the server CPU one verified session costs, and what users feel at half, once and
//! twice the load this machine can carry.
//!
//! The server is the `openliveness` binary as a process of its own (SQLite, a fresh data
//! directory, default settings; the account and key made with its CLI, as an operator does).
//! The client plays genuine sessions over the real live protocol in real time from
//! pre-rendered frames (`FrameBank`: each pose rendered and encoded once), so its own CPU stays
//! small and is reported beside the server's, which is read from `/proc`.
//!
//! First a few sessions one at a time give the CPU a session costs and how long it lasts; the
//! capacity is the number of sessions at once that would keep every core busy
//! (cores × duration ÷ CPU per session). Then each load keeps that many users (×0.5, ×1, ×2)
//! starting sessions back to back for a window; a user refused up front (`SERVER_BUSY`) comes
//! back when the refusal says. Run with `bash scripts/bench-capacity.sh` (release build).
//!
//! Settings: `OPENLIVENESS_CAPACITY_SECONDS` (each load's window, default 60),
//! `OPENLIVENESS_CAPACITY_LOADS` (default `0.5,1,2`), `OPENLIVENESS_CAPACITY_CALIBRATE`
//! (sessions one at a time, default 4), `OPENLIVENESS_CAPACITY_SERVER_ENV` (extra settings for
//! the server, `NAME=VALUE` separated by spaces).

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

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{models_dir, openliveness_bin, serve_process, sign, ChildProcess};
use openliveness_loadgen::{cpu_seconds, machine_busy_seconds};
use serde_json::{json, Value};
use support::client;
use support::scripts::Prerendered;
use support::subject::{astronaut, FrameBank};

/// The step window the server is started with (its default), to place each step's opening.
const STEP_WINDOW_MS: i64 = 5000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(capacity());
}

struct Server {
    process: ChildProcess,
    base: String,
    access_key: String,
    secret_key: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Server {
    fn cpu(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.process.id())).expect("server CPU time")
    }

    async fn token(&self) -> String {
        let ts = (client::now_ms() - 1000).to_string();
        let body = json!({
            "accessKey": self.access_key,
            "timestamp": ts,
            "signature": sign(&self.access_key, &self.secret_key, &ts),
        });
        let reply = self
            .post("/openapi/auth/ticket/v1/generate-token", None, body)
            .await;
        reply["data"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {reply}"))
            .to_owned()
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.header("X-ACCESS-TOKEN", t);
        }
        req.send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    /// A new session: its signature id and page URL.
    async fn session(&self, token: &str) -> (String, String) {
        let body = json!({"returnUrl": "https://www.example.com/done", "region": "IDN"});
        let reply = self
            .post("/openapi/liveness/v2/h5/token", Some(token), body)
            .await;
        let field = |k: &str| {
            reply["data"][k]
                .as_str()
                .unwrap_or_else(|| panic!("no session: {reply}"))
                .to_owned()
        };
        (field("signatureId"), field("url"))
    }

    /// The signals that cost a finished session points, as Get Result serves them.
    async fn faults(&self, token: &str, signature_id: &str) -> Vec<String> {
        let body = json!({ "signatureId": signature_id });
        let reply = self
            .post("/openapi/liveness/v4/h5/get-result", Some(token), body)
            .await;
        let signals = reply["data"]["decision"]["signals"].as_array().cloned();
        signals
            .unwrap_or_default()
            .iter()
            .filter(|s| s["outcome"] != "OK")
            .map(|s| format!("{} {}: {}", s["name"], s["outcome"], s["explanation"]))
            .collect()
    }
}

/// Runs the binary's CLI against `data` (as an operator would before starting it).
fn cli(data: &std::path::Path, master_key: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(openliveness_bin())
        .args(args)
        .env("OPENLIVENESS_DATA_DIR", data)
        .env("OPENLIVENESS_MASTER_KEY", master_key)
        .env("OPENLIVENESS_MODELS_DIR", models_dir())
        .output()
        .expect("the CLI runs");
    assert!(
        out.status.success(),
        "openliveness {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

async fn start_server() -> Server {
    let data = tempfile::tempdir().expect("temp dir");
    let master_key = openliveness_store::Sealer::generate_hex();
    let dir = data.path().to_path_buf();
    let (process, base, key) = tokio::task::spawn_blocking(move || {
        cli(
            &dir,
            &master_key,
            &["account", "create", "bench", "--regions", "IDN"],
        );
        let key: Value =
            serde_json::from_str(&cli(&dir, &master_key, &["key", "create", "bench"])).unwrap();
        let mut env = vec![
            ("OPENLIVENESS_MASTER_KEY".to_owned(), master_key),
            (
                "OPENLIVENESS_STEP_WINDOW_MS".to_owned(),
                STEP_WINDOW_MS.to_string(),
            ),
        ];
        let extra = std::env::var("OPENLIVENESS_CAPACITY_SERVER_ENV").unwrap_or_default();
        for pair in extra.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("NAME=VALUE");
            env.push((k.to_owned(), v.to_owned()));
        }
        let (process, base) = serve_process(&dir, &env);
        (process, base, key)
    })
    .await
    .unwrap();
    Server {
        process,
        base,
        access_key: key["accessKey"].as_str().unwrap().to_owned(),
        secret_key: key["secretKey"].as_str().unwrap().to_owned(),
        http: reqwest::Client::new(),
        _data: data,
    }
}

/// One user's attempt.
enum Played {
    /// Refused at `hello`; come back after this many seconds.
    Refused(u64),
    Ran {
        passed: bool,
        finish_to_result_ms: Option<f64>,
        /// For each action step: from its window's opening to the step message's arrival.
        step_delays_ms: Vec<i64>,
        frames: usize,
        /// From `hello` to the result.
        duration_ms: f64,
        /// The challenge's actions, in order.
        actions: Vec<String>,
    },
}

async fn play(server: &Server, token: &str, bank: &FrameBank, tag: String) -> Played {
    let (sid, url) = server.session(token).await;
    let started = Instant::now();
    let (ws, msgs, first) = client::say_hello(&url, Duration::from_secs(30)).await;
    if first["type"] == "error" {
        assert_eq!(first["code"], "SERVER_BUSY", "{first}");
        // "… try again in N s"
        let message = first["message"].as_str().unwrap_or("");
        let secs = message
            .rsplit("in ")
            .next()
            .and_then(|s| s.trim_end_matches(" s").parse().ok())
            .unwrap_or(5);
        return Played::Refused(secs);
    }
    let mut script = Prerendered::new(bank, tag);
    let out = client::after_session(ws, msgs, &mut script).await;
    if !out.passed() {
        // What failed a genuine session is the first thing to know about a load.
        let faults = match &out.result {
            Some(_) => server.faults(token, &sid).await,
            None => vec![format!("no result: {:?}", out.messages.last())],
        };
        eprintln!("a genuine session failed ({sid}): {faults:#?}");
    }
    Played::Ran {
        passed: out.passed(),
        finish_to_result_ms: out.finish_to_result_ms,
        step_delays_ms: out
            .received
            .iter()
            .filter(|(a, _, _)| a != "look")
            .map(|(_, at, deadline)| at - (deadline - STEP_WINDOW_MS))
            .collect(),
        frames: out.sent.len(),
        duration_ms: started.elapsed().as_secs_f64() * 1e3,
        actions: out.received.iter().map(|(a, _, _)| a.clone()).collect(),
    }
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round().max(0.0) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

#[derive(Default)]
struct Tally {
    admitted: usize,
    passed: usize,
    refused: usize,
    frames: usize,
    finish_to_result: Vec<f64>,
    step_delays: Vec<f64>,
    durations: Vec<f64>,
}

impl Tally {
    fn add(&mut self, played: Played) {
        match played {
            Played::Refused(_) => self.refused += 1,
            Played::Ran {
                passed,
                finish_to_result_ms,
                step_delays_ms,
                frames,
                duration_ms,
                ..
            } => {
                self.admitted += 1;
                self.passed += usize::from(passed);
                self.frames += frames;
                self.finish_to_result.extend(finish_to_result_ms);
                self.step_delays
                    .extend(step_delays_ms.into_iter().map(|d| d as f64));
                self.durations.push(duration_ms);
            }
        }
    }
}

async fn capacity() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let window_s: f64 = env_or("OPENLIVENESS_CAPACITY_SECONDS", 60.0);
    let calibrate: usize = env_or("OPENLIVENESS_CAPACITY_CALIBRATE", 4);
    let loads: Vec<f64> = std::env::var("OPENLIVENESS_CAPACITY_LOADS")
        .unwrap_or_else(|_| "0.5,1,2".into())
        .split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.trim().parse().expect("a load factor"))
        .collect();

    let engine = common::engine();
    let bank: &'static FrameBank = Box::leak(Box::new(FrameBank::new(astronaut(&engine), 3)));
    let server = Arc::new(start_server().await);
    println!(
        "server: {} (pid {}), {cores} cores, client pre-renders its frames",
        openliveness_bin().display(),
        server.process.id()
    );

    // The follow part's poses (the look grid at arm's length), rendered before anything is
    // measured; then a few sessions render the actions' poses and warm the server.
    let mut grid = Vec::new();
    for yaw in -12..=12 {
        for pitch in -9..=9 {
            let mut act = support::subject::Act::REST;
            act.pose.yaw = yaw as f32 * 2.5;
            act.pose.pitch = pitch as f32 * 2.0;
            grid.push(act);
        }
    }
    let started = Instant::now();
    bank.prerender(&grid, cores as usize);
    println!(
        "pre-rendered {} frames in {:.0} s",
        bank.rendered(),
        started.elapsed().as_secs_f64()
    );
    let token = server.token().await;
    let warm = (0..4).map(|i| play(&server, &token, bank, format!("warm {i}")));
    futures_util::future::join_all(warm).await;

    // One at a time: what a session costs and how long it lasts.
    let mut one = Tally::default();
    let cpu0 = server.cpu();
    for i in 0..calibrate {
        let before = server.cpu();
        let played = play(&server, &token, bank, format!("one {i}")).await;
        if let Played::Ran {
            passed,
            frames,
            actions,
            ..
        } = &played
        {
            // A blink keeps the iris model on for the whole try (docs/liveness.md).
            let non_look: Vec<&str> = actions
                .iter()
                .map(String::as_str)
                .filter(|a| *a != "look")
                .collect();
            println!(
                "  session {i}: {} looks + {non_look:?}, {frames} frames, passed {passed}, server CPU {:.2} s",
                actions.len() - non_look.len(),
                server.cpu() - before
            );
        }
        one.add(played);
    }
    let cpu_per_session = (server.cpu() - cpu0) / one.admitted.max(1) as f64;
    let duration_s = one.durations.iter().sum::<f64>() / one.durations.len().max(1) as f64 / 1e3;
    let capacity = cores * duration_s / cpu_per_session;
    println!(
        "one at a time: {} sessions, {} passed, {:.0} frames each, server CPU {:.2} s per session ({:.1} ms per frame), {:.1} s per session → {:.0} verified sessions/min/core; capacity ≈ {:.1} sessions at once on {cores} cores",
        one.admitted,
        one.passed,
        one.frames as f64 / one.admitted.max(1) as f64,
        cpu_per_session,
        cpu_per_session * 1e3 * one.admitted.max(1) as f64 / one.frames.max(1) as f64,
        duration_s,
        60.0 / cpu_per_session,
        capacity
    );

    println!(
        "| load | users | sessions admitted | refused hellos | passed | finish→result p50 / p99 | step message p50 / p99 after its window opened | server CPU per session | server CPU used | client CPU | frames rendered in window |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for factor in loads {
        let users = ((capacity * factor).round() as usize).max(1);
        let token = server.token().await;
        let rendered0 = bank.rendered();
        let (cpu0, client0, busy0) = (
            server.cpu(),
            cpu_seconds("/proc/self/stat").unwrap(),
            machine_busy_seconds().unwrap(),
        );
        let started = Instant::now();
        let window = Duration::from_secs_f64(window_s);
        let runs = (0..users).map(|u| {
            let (server, token) = (server.clone(), token.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut n = 0;
                // Users start spread over the first seconds, as they would arrive.
                tokio::time::sleep(Duration::from_millis(u as u64 * 3000 / users as u64)).await;
                while started.elapsed() < window {
                    n += 1;
                    let played = play(&server, &token, bank, format!("x{factor} u{u} s{n}")).await;
                    if let Played::Refused(secs) = played {
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                    }
                    tally.add(played);
                }
                tally
            })
        });
        let mut all = Tally::default();
        for t in futures_util::future::join_all(runs).await {
            let t = t.unwrap();
            all.admitted += t.admitted;
            all.passed += t.passed;
            all.refused += t.refused;
            all.frames += t.frames;
            all.finish_to_result.extend(t.finish_to_result);
            all.step_delays.extend(t.step_delays);
            all.durations.extend(t.durations);
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = server.cpu() - cpu0;
        let client_cpu = cpu_seconds("/proc/self/stat").unwrap() - client0;
        let busy = machine_busy_seconds().unwrap() - busy0;
        all.finish_to_result.sort_by(f64::total_cmp);
        all.step_delays.sort_by(f64::total_cmp);
        println!(
            "| ×{factor} | {users} | {} | {} | {} ({:.1} %) | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.2} s | {:.0} % of {cores} cores | {:.1} s | {} |",
            all.admitted,
            all.refused,
            all.passed,
            100.0 * all.passed as f64 / all.admitted.max(1) as f64,
            pct(&all.finish_to_result, 0.5),
            pct(&all.finish_to_result, 0.99),
            pct(&all.step_delays, 0.5),
            pct(&all.step_delays, 0.99),
            cpu / all.admitted.max(1) as f64,
            100.0 * cpu / (wall * cores),
            client_cpu,
            bank.rendered() - rendered0,
        );
        println!(
            "    (wall {wall:.0} s; machine busy {:.0} % of {cores} cores; {:.1} verified sessions/min)",
            100.0 * busy / (wall * cores),
            all.passed as f64 * 60.0 / wall
        );
    }
}
