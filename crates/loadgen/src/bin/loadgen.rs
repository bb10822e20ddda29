//! `loadgen`: a closed-loop HTTP/1.1 keep-alive load generator for the OpenLiveness API.
//!
//! N connections, each one task issuing requests back to back. Requests that start after
//! the warm-up and finish before the end are measured; every answer must be HTTP 200 with
//! envelope code `SUCCESS`, anything else is counted as an error by its code. Only
//! loopback addresses are accepted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use openliveness_loadgen::{
    cpu_seconds, data_field, envelope_code, generate_token_body, machine_busy_seconds, now_ms,
    parse_keys, summarise, KeyPair, TimestampSeq,
};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST /bench on `bare-axum` with a generate-token-sized body.
    Bare,
    /// POST /openapi/auth/ticket/v1/generate-token, a fresh signature every request.
    GenerateToken,
    /// POST /openapi/liveness/v2/h5/token with one access token per connection.
    GetToken,
}

impl Scenario {
    fn path(self) -> &'static str {
        match self {
            Scenario::Bare => "/bench",
            Scenario::GenerateToken => "/openapi/auth/ticket/v1/generate-token",
            Scenario::GetToken => "/openapi/liveness/v2/h5/token",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::Bare => "bare",
            Scenario::GenerateToken => "generate-token",
            Scenario::GetToken => "get-token",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Closed-loop HTTP/1.1 keep-alive load generator for the OpenLiveness API (loopback only)"
)]
struct Args {
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Base URL of the server, e.g. http://127.0.0.1:8080 (loopback only)
    #[arg(long)]
    url: String,
    /// Concurrent keep-alive connections, one task each
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds, after the warm-up
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Seconds of load before measuring
    #[arg(long, default_value_t = 2.0)]
    warmup_secs: f64,
    /// JSON array of {"accessKey","secretKey"} (generate-token and get-token); connection i
    /// uses key i mod len
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Client runtime worker threads [default: number of CPUs]
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds one request may take before it counts as a timeout error
    #[arg(long, default_value_t = 10.0)]
    request_timeout_secs: f64,
    /// PID of the server, to report its CPU time per request over the measured window
    #[arg(long)]
    server_pid: Option<u32>,
    /// Label of this run in the JSON result (default: the scenario)
    #[arg(long)]
    label: Option<String>,
    /// Append the result as one JSON line to this file
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
}

/// What every connection task shares.
struct Plan {
    scenario: Scenario,
    addr: SocketAddr,
    host: String,
    path: &'static str,
    keys: Vec<KeyPair>,
    /// One timestamp sequence per key, for the measured generate-token requests.
    seqs: Vec<TimestampSeq>,
    timeout: Duration,
}

impl Plan {
    /// The key connection `conn` signs with (the keys are dealt round-robin) and its
    /// timestamp sequence in `seqs`, which holds one per key.
    fn key_for<'a>(
        &'a self,
        conn: usize,
        seqs: &'a [TimestampSeq],
    ) -> anyhow::Result<(&'a KeyPair, &'a TimestampSeq)> {
        let k = conn
            .checked_rem(self.keys.len())
            .context("the scenario needs keys and none were loaded")?;
        self.keys
            .get(k)
            .zip(seqs.get(k))
            .with_context(|| format!("no timestamp sequence for key {k}"))
    }
}

/// Timestamps of the load: 250 s in the past, climbing 1 ms per request per key.
const LOAD_LAG_MS: i64 = 250_000;
/// Timestamps of the get-token set-up: 250 s in the future, so they never meet the load's.
const SETUP_LAG_MS: i64 = -250_000;

/// A body shaped like a generate-token request, for the bare scenario.
const BARE_BODY: &str = concat!(
    r#"{"accessKey":"0123456789abcdef0123456789abcdef","timestamp":1700000000000,"#,
    r#""signature":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#
);
const GET_TOKEN_BODY: &str = r#"{"returnUrl":"https://example.com/done","region":"IDN"}"#;

#[derive(Default)]
struct Tally {
    /// Latency of each measured successful request, in microseconds.
    latencies_us: Vec<u32>,
    /// Measured failures by kind (envelope code, HTTP status, transport error).
    errors: BTreeMap<String, u64>,
    /// Requests completed outside the measured window (warm-up, tail).
    unmeasured: u64,
    /// Failures among those.
    unmeasured_errors: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(run(args, threads))
}

async fn run(args: Args, threads: usize) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(
        args.duration_secs > 0.0 && args.duration_secs <= 600.0,
        "--duration-secs must be in (0, 600]"
    );
    anyhow::ensure!(
        (0.0..=600.0).contains(&args.warmup_secs),
        "--warmup-secs must be in [0, 600]"
    );
    let (addr, host) = loopback_target(&args.url).await?;
    let keys = match (&args.keys, args.scenario) {
        (Some(path), _) => parse_keys(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("keys file {}", path.display()))?,
        (None, Scenario::Bare) => Vec::new(),
        (None, _) => bail!("--keys is needed for the {} scenario", args.scenario.name()),
    };
    let plan = Arc::new(Plan {
        scenario: args.scenario,
        addr,
        host,
        path: args.scenario.path(),
        seqs: keys
            .iter()
            .map(|_| TimestampSeq::new(LOAD_LAG_MS))
            .collect(),
        keys,
        timeout: Duration::from_secs_f64(args.request_timeout_secs),
    });

    // Set-up: open every connection (and, for get-token, obtain its access token) before
    // the clock starts.
    let setup_seqs: Arc<Vec<TimestampSeq>> = Arc::new(
        plan.keys
            .iter()
            .map(|_| TimestampSeq::new(SETUP_LAG_MS))
            .collect(),
    );
    let mut setups = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        let plan = plan.clone();
        let seqs = setup_seqs.clone();
        setups.push(tokio::spawn(async move { setup(&plan, &seqs, i).await }));
    }
    let mut conns = Vec::with_capacity(args.connections);
    for (i, s) in setups.into_iter().enumerate() {
        conns.push(
            s.await?
                .with_context(|| format!("setting up connection {i}"))?,
        );
    }

    let start = Instant::now();
    let warm_end = start + Duration::from_secs_f64(args.warmup_secs);
    let end = warm_end + Duration::from_secs_f64(args.duration_secs);
    let mut cpu_before = None;
    let mut tasks = Vec::with_capacity(args.connections);
    for (i, (sender, token)) in conns.into_iter().enumerate() {
        let plan = plan.clone();
        tasks.push(tokio::spawn(async move {
            drive(&plan, i, sender, token, warm_end, end).await
        }));
    }
    tokio::time::sleep_until(warm_end.into()).await;
    let machine_before = machine_busy_seconds()?;
    if let Some(pid) = args.server_pid {
        cpu_before = Some((cpu_seconds(&format!("/proc/{pid}/stat"))?, cpu_self()?));
    }
    tokio::time::sleep_until(end.into()).await;
    let machine_busy = machine_busy_seconds()? - machine_before;
    let cpu_used = match cpu_before {
        Some((server0, self0)) => Some((
            cpu_seconds(&format!("/proc/{}/stat", args.server_pid.unwrap_or(0)))? - server0,
            cpu_self()? - self0,
        )),
        None => None,
    };

    let mut total = Tally::default();
    for t in tasks {
        let tally = t.await?;
        total.latencies_us.extend_from_slice(&tally.latencies_us);
        for (k, v) in tally.errors {
            *total.errors.entry(k).or_default() += v;
        }
        total.unmeasured += tally.unmeasured;
        total.unmeasured_errors += tally.unmeasured_errors;
    }
    let s = summarise(&mut total.latencies_us);
    let errors: u64 = total.errors.values().sum();
    let rate = s.count as f64 / args.duration_secs;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| args.scenario.name().to_owned());

    println!(
        "{label}: {} connections, {:.0} s measured after {:.0} s warm-up, {threads} client threads",
        args.connections, args.duration_secs, args.warmup_secs
    );
    println!("  requests ok   {}", s.count);
    println!("  requests/s    {rate:.0}");
    println!(
        "  latency ms    p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.max),
        ms(s.mean)
    );
    println!("  errors        {errors} {:?}", total.errors);
    println!(
        "  unmeasured    {} requests in warm-up and tail, {} of them failed",
        total.unmeasured, total.unmeasured_errors
    );
    let mut result = json!({
        "label": label,
        "scenario": args.scenario.name(),
        "connections": args.connections,
        "durationSecs": args.duration_secs,
        "warmupSecs": args.warmup_secs,
        "clientThreads": threads,
        "ok": s.count,
        "requestsPerSec": rate,
        "p50Ms": ms(s.p50),
        "p90Ms": ms(s.p90),
        "p99Ms": ms(s.p99),
        "maxMs": ms(s.max),
        "meanMs": ms(s.mean),
        "errors": errors,
        "errorKinds": total.errors,
        "unmeasured": total.unmeasured,
        "unmeasuredErrors": total.unmeasured_errors,
    });
    if let Some((server_cpu, client_cpu)) = cpu_used {
        let per_req_us = if s.count > 0 {
            server_cpu * 1e6 / s.count as f64
        } else {
            0.0
        };
        println!(
            "  cpu           server {server_cpu:.2} s ({per_req_us:.0} µs/request), client {client_cpu:.2} s, over {:.0} s on {} CPUs",
            args.duration_secs,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        // Whatever else ran on the machine meanwhile (builds, other services): a benchmark
        // on a busy machine is not comparable, so it is reported with the figures.
        let other = (machine_busy - server_cpu - client_cpu).max(0.0);
        println!("  other CPU     {other:.2} s used by other processes and the kernel meanwhile");
        if let Some(fields) = result.as_object_mut() {
            fields.insert("serverCpuSecs".into(), json!(server_cpu));
            fields.insert("serverCpuUsPerRequest".into(), json!(per_req_us));
            fields.insert("clientCpuSecs".into(), json!(client_cpu));
            fields.insert("otherCpuSecs".into(), json!(other));
        }
    }
    if let Some(fields) = result.as_object_mut() {
        fields.insert("machineBusyCpuSecs".into(), json!(machine_busy));
    }
    if let Some(path) = &args.json_out {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        writeln!(f, "{result}")?;
    }
    Ok(())
}

/// Resolves the URL's host and refuses anything but loopback addresses.
async fn loopback_target(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let uri: hyper::Uri = url.parse().with_context(|| format!("bad --url {url}"))?;
    anyhow::ensure!(
        uri.scheme_str() == Some("http"),
        "--url must be http://HOST:PORT"
    );
    let authority = uri.authority().context("--url has no host")?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let addr = addrs
        .iter()
        .copied()
        .find(|a| a.ip().is_loopback())
        .with_context(|| format!("{url} does not resolve to a loopback address"))?;
    if uri.path() != "/" && !uri.path().is_empty() {
        bail!("--url is the base URL only; the scenario chooses the path");
    }
    Ok((addr, authority.as_str().to_owned()))
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One request and its whole answer.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<(u16, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn request(plan: &Plan, body: String, token: Option<&str>) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(plan.path)
        .header(hyper::header::HOST, &plan.host)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header("x-access-token", t);
    }
    Ok(b.body(Full::new(Bytes::from(body)))?)
}

fn next_request(
    plan: &Plan,
    conn: usize,
    token: Option<&str>,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let body = match plan.scenario {
        Scenario::Bare => BARE_BODY.to_owned(),
        Scenario::GenerateToken => {
            let (key, seq) = plan.key_for(conn, &plan.seqs)?;
            generate_token_body(key, seq.next(now_ms()))
        }
        Scenario::GetToken => GET_TOKEN_BODY.to_owned(),
    };
    request(plan, body, token)
}

/// Opens connection `i` and, for get-token, gets its access token over it.
async fn setup(
    plan: &Plan,
    seqs: &[TimestampSeq],
    i: usize,
) -> anyhow::Result<(SendRequest<Full<Bytes>>, Option<String>)> {
    let mut sender = connect(plan.addr).await?;
    if plan.scenario != Scenario::GetToken {
        return Ok((sender, None));
    }
    let (key, seq) = plan.key_for(i, seqs)?;
    let body = generate_token_body(key, seq.next(now_ms()));
    let mut req = request(plan, body, None)?;
    *req.uri_mut() = hyper::Uri::from_static(Scenario::GenerateToken.path());
    let (status, answer) = tokio::time::timeout(plan.timeout, send(&mut sender, req))
        .await
        .context("generate-token timed out")??;
    if let Err(code) = envelope_code(&answer) {
        bail!("generate-token answered HTTP {status} {code}");
    }
    let token = data_field(&answer, "token").context("generate-token answer has no token")?;
    Ok((sender, Some(token)))
}

/// One connection's loop: requests back to back until `end`.
async fn drive(
    plan: &Plan,
    i: usize,
    mut sender: SendRequest<Full<Bytes>>,
    token: Option<String>,
    warm_end: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally {
        latencies_us: Vec::with_capacity(16 * 1024),
        ..Tally::default()
    };
    let mut broken = false;
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        if broken {
            match connect(plan.addr).await {
                Ok(s) => {
                    sender = s;
                    broken = false;
                }
                Err(e) => {
                    if started >= warm_end {
                        *tally.errors.entry(format!("connect: {e}")).or_default() += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let outcome = match next_request(plan, i, token.as_deref()) {
            Ok(req) => match tokio::time::timeout(plan.timeout, send(&mut sender, req)).await {
                Ok(Ok((200, body))) => envelope_code(&body),
                Ok(Ok((status, body))) => Err(match envelope_code(&body) {
                    Err(code) => format!("HTTP {status} {code}"),
                    Ok(()) => format!("HTTP {status}"),
                }),
                Ok(Err(e)) => {
                    broken = true;
                    Err(format!("transport: {e}"))
                }
                Err(_) => {
                    broken = true;
                    Err("timeout".to_owned())
                }
            },
            Err(e) => Err(format!("building request: {e}")),
        };
        let done = Instant::now();
        if started < warm_end || done > end {
            tally.unmeasured += 1;
            tally.unmeasured_errors += u64::from(outcome.is_err());
            continue;
        }
        match outcome {
            Ok(()) => {
                let us = done.duration_since(started).as_micros();
                tally
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Err(kind) => *tally.errors.entry(kind).or_default() += 1,
        }
    }
    tally
}

fn cpu_self() -> anyhow::Result<f64> {
    cpu_seconds("/proc/self/stat")
}
