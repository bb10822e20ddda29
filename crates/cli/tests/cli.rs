//! The command-line contract, driven through the real binary: `serve` with no
//! configuration, `account create`, `key create`, `account disable`, `key revoke`, a
//! kill -9 that must lose no acknowledged write, and the webhook commands around a real
//! delivery.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_openliveness");

/// The repository's models (fetched by `bash tools/models/setup.sh`).
fn models_dir() -> String {
    std::env::var("OPENLIVENESS_MODELS_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../models").to_owned())
}

fn run(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("OPENLIVENESS_DATA_DIR")
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?} printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openliveness serve` in `dir` with no flags but a free port, and waits for /healthz.
fn serve(dir: &Path) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("OPENLIVENESS_MODELS_DIR", models_dir())
        .env("OPENLIVENESS_BIND", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("OPENLIVENESS_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(url) = line.strip_prefix("openliveness listening on ") {
            break url.to_owned();
        }
    };
    let server = Server { child, base };
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq_get(&format!("{}/healthz", server.base)).map(|(s, _)| s) != Some(200) {
        assert!(Instant::now() < deadline, "healthz never answered 200");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// With a umask that would make every file world-writable, the data directory is still 0700
/// and the database and master key 0600: user ids, URLs and signals stay private.
#[test]
fn data_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            "umask 000; exec \"$0\" account create acme --regions IDN",
            BIN,
        ])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("OPENLIVENESS_DATA_DIR")
        .env_remove("OPENLIVENESS_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    for name in ["openliveness.db", "master.key"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
}

/// A tiny blocking HTTP client over std, so this test needs no HTTP library.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Option<(u16, Value)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n")?.1;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn ureq_get(url: &str) -> Option<(u16, Value)> {
    http("GET", url, &[], "")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn generate_token(base: &str, ak: &str, sk: &str, ts: i64) -> Value {
    use sha2::Digest;
    let sig = hex::encode(sha2::Sha256::digest(format!("{ak}{sk}{ts}").as_bytes()));
    let body = json!({"accessKey": ak, "timestamp": ts.to_string(), "signature": sig}).to_string();
    http(
        "POST",
        &format!("{base}/openapi/auth/ticket/v1/generate-token"),
        &[],
        &body,
    )
    .unwrap()
    .1
}

#[test]
fn zero_config_serve_and_operator_commands() {
    let dir = tempfile::tempdir().unwrap();
    let acct = run(
        dir.path(),
        &[
            "account",
            "create",
            "acme",
            "--regions",
            "IDN,SGP",
            "--allowed-domains",
            "example.com,b.org",
            "--rate-limit-per-second",
            "50",
            "--daily-quota",
            "100",
            "--balance",
            "10",
        ],
    );
    assert_eq!(acct["name"], "acme");
    assert_eq!(acct["regions"], json!(["IDN", "SGP"]));
    assert_eq!(acct["allowedDomains"], json!(["example.com", "b.org"]));
    assert_eq!(
        (
            acct["rateLimitPerSecond"].as_u64(),
            acct["dailyQuota"].as_u64(),
            acct["balance"].as_i64()
        ),
        (Some(50), Some(100), Some(10))
    );
    let key = run(dir.path(), &["key", "create", "acme"]);
    for field in ["accessKey", "secretKey", "partnerCode", "partnerKey"] {
        assert!(
            key[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} in {key}"
        );
    }
    // No configuration: ./data with the SQLite file, created in the working directory.
    assert!(dir.path().join("data/openliveness.db").exists());

    let server = serve(dir.path());
    let (ak, sk) = (
        key["accessKey"].as_str().unwrap(),
        key["secretKey"].as_str().unwrap(),
    );
    // One base time: a signature is accepted once, so every call gets its own timestamp.
    let t0 = now_ms();
    let r = generate_token(&server.base, ak, sk, t0);
    assert_eq!(r["code"], "SUCCESS", "{r}");
    let token = r["data"]["token"].as_str().unwrap().to_owned();
    let get_token = |t: &str| {
        http(
            "POST",
            &format!("{}/openapi/liveness/v2/h5/token", server.base),
            &[("X-ACCESS-TOKEN", t)],
            r#"{"returnUrl":"https://example.com/ok","region":"IDN"}"#,
        )
        .unwrap()
        .1
    };
    assert_eq!(get_token(&token)["code"], "SUCCESS");

    // Operator commands take effect on the running server.
    run(dir.path(), &["account", "disable", "acme"]);
    let r = get_token(&token);
    assert_eq!(
        (r["code"].as_str(), r["message"].as_str()),
        (
            Some("IAM_FAILED"),
            Some("Account is disabled. Please contact your sales manager for help")
        )
    );
    let r = generate_token(&server.base, ak, sk, t0 - 7);
    assert_eq!(r["code"], "ACCOUNT_DISABLED");
    run(dir.path(), &["account", "enable", "acme"]);
    run(dir.path(), &["key", "revoke", ak]);
    let r = get_token(&token);
    assert_eq!(r["message"], "Access Key not found or expired");
    let listed = run(dir.path(), &["account", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    run(
        dir.path(),
        &[
            "account",
            "create",
            "acme",
            "--regions",
            "IDN",
            "--data-dir",
            data,
        ],
    );
    let key = run(dir.path(), &["key", "create", "acme", "--data-dir", data]);
    let (ak, sk) = (
        key["accessKey"].as_str().unwrap(),
        key["secretKey"].as_str().unwrap(),
    );
    let mut serve_cmd = {
        let mut c = Command::new(BIN);
        c.args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data])
            .current_dir(dir.path())
            .env("OPENLIVENESS_MODELS_DIR", models_dir());
        c
    };
    let start = |cmd: &mut Command| {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().unwrap().unwrap();
            if let Some(url) = line.strip_prefix("openliveness listening on ") {
                break url.to_owned();
            }
        };
        Server { child, base }
    };
    let mut server = start(&mut serve_cmd);
    // One base time: a signature is accepted once, so every call gets its own timestamp.
    let t0 = now_ms();
    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..20 {
        let r = generate_token(&server.base, ak, sk, t0 - i);
        assert_eq!(r["code"], "SUCCESS", "{r}");
        let t = r["data"]["token"].as_str().unwrap().to_owned();
        let (_, s) = http(
            "POST",
            &format!("{}/openapi/liveness/v2/h5/token", server.base),
            &[("X-ACCESS-TOKEN", &t)],
            r#"{"returnUrl":"https://example.com/ok","region":"IDN"}"#,
        )
        .unwrap();
        sessions.push(s["data"]["signatureId"].as_str().unwrap().to_owned());
        tokens.push(t);
    }
    // SIGKILL right after the last acknowledged write.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start(&mut serve_cmd);
    for (t, sid) in tokens.iter().zip(&sessions) {
        let (_, r) = http(
            "POST",
            &format!("{}/openapi/liveness/v4/h5/get-result", server.base),
            &[("X-ACCESS-TOKEN", t)],
            &json!({ "signatureId": sid }).to_string(),
        )
        .unwrap();
        assert_eq!(
            r["code"], "LIVENESS_NO_RESULT",
            "token and session survived: {r}"
        );
    }
}

#[test]
fn bad_invocations_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["key", "create", "ghost"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no account named \"ghost\""), "{err}");
    let out = Command::new(BIN)
        .args(["account", "create", "x", "--regions", "INDONESIA"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ISO 3166-1 alpha-3"));
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in [
        "serve", "migrate", "account", "key", "webhook", "purge", "version",
    ] {
        assert!(help.contains(cmd), "--help lists {cmd}");
    }
}

#[test]
fn analyze_reports_faces_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let astronaut = format!("{}/testdata/astronaut.png", models_dir());
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"\xff\xd8 not really").unwrap();
    let blank = dir.path().join("blank.png");
    // A valid PNG with no face: 64x64 grey.
    let png = {
        let mut out = Vec::new();
        let img = image_grey(64);
        out.extend_from_slice(&img);
        out
    };
    std::fs::write(&blank, png).unwrap();
    let out = Command::new(BIN)
        .args([
            "analyze",
            &astronaut,
            "--json",
            "--models",
            &models_dir(),
            "--draw",
        ])
        .arg(dir.path().join("drawn.png"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{v}");
    let f = &faces[0];
    assert_eq!(f["landmarks"].as_array().unwrap().len(), 468);
    for key in [
        "box",
        "score",
        "yaw",
        "pitch",
        "roll",
        "leftEyeOpenness",
        "rightEyeOpenness",
        "mouthOpenness",
        "antiSpoof",
        "liveness",
    ] {
        assert!(!f[key].is_null(), "{key} in {f}");
    }
    assert!(dir.path().join("drawn.png").exists());

    let out = Command::new(BIN)
        .args(["analyze", "--json", "--models", &models_dir()])
        .arg(&blank)
        .arg(&garbage)
        .output()
        .unwrap();
    assert!(!out.status.success(), "garbage makes the command fail");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["faces"].as_array().map(Vec::len),
        Some(0),
        "{}",
        lines[0]
    );
    assert!(lines[1]["error"].as_str().is_some(), "{}", lines[1]);
}

/// A minimal uncompressed-deflate PNG of a grey square, written by hand so the test needs
/// no image library.
fn image_grey(side: u32) -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for _ in 0..side {
        raw.push(0u8);
        raw.extend(std::iter::repeat_n(128u8, side as usize));
    }
    // zlib stream with stored (uncompressed) blocks.
    let mut z = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        z.push(u8::from(last));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn run_fails(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("OPENLIVENESS_DATA_DIR")
        .output()
        .expect("binary runs");
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One HTTP request as a receiver saw it: headers (lower-case names) and body.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Accepts one request on `listener`, answers 204, and hands the request over.
fn receive_one(listener: std::net::TcpListener) -> std::thread::JoinHandle<Option<Received>> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (stream, _) = listener.accept().ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let mut reader = BufReader::new(stream);
        let mut headers = Vec::new();
        let mut request_line = String::new();
        reader.read_line(&mut request_line).ok()?;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':')?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")?
            .1
            .parse()
            .ok()?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        let mut stream = reader.into_inner();
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .ok()?;
        Some(Received { headers, body })
    })
}

#[test]
fn webhook_commands_around_a_real_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_fails(
        dir.path(),
        &[
            "account",
            "create",
            "acme",
            "--regions",
            "IDN",
            "--callback-url",
            "ftp://x.org/",
        ],
    );
    assert!(err.contains("use http:// or https://"), "{err}");
    assert_eq!(
        run(dir.path(), &["account", "list"]),
        json!([]),
        "a refused URL leaves no account behind"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let created = run(
        dir.path(),
        &[
            "account",
            "create",
            "acme",
            "--regions",
            "IDN",
            "--callback-url",
            "http://x.org/a",
        ],
    );
    assert_eq!(created["callbackUrl"], "http://x.org/a");
    let first_secret = created["webhookSecret"].as_str().unwrap().to_owned();
    let updated = run(
        dir.path(),
        &["account", "update", "acme", "--callback-url", &hook],
    );
    assert_eq!(updated["callbackUrl"], hook.as_str());
    assert!(updated.get("webhookSecret").is_none(), "shown once only");
    let rotated = run(dir.path(), &["account", "rotate-webhook-secret", "acme"]);
    let secret = rotated["webhookSecret"].as_str().unwrap().to_owned();
    assert_ne!(secret, first_secret);
    assert!(run(dir.path(), &["account", "list"])[0]
        .get("webhookSecret")
        .is_none());
    let err = run_fails(
        dir.path(),
        &[
            "account",
            "update",
            "acme",
            "--callback-url",
            &hook,
            "--no-callback-url",
        ],
    );
    assert!(err.contains("cannot be used with"), "{err}");

    // A verdict recorded in the store queues the job, as the live channel does.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use openliveness_store::*;
        let store = sqlite::SqliteStore::open(&dir.path().join("data/openliveness.db"))
            .await
            .unwrap();
        let account = store.account_by_name("acme").await.unwrap().unwrap();
        let now = now_ms();
        store
            .create_session(
                NewSession {
                    signature_id: "sig-cli".into(),
                    account_id: account.id,
                    access_key: "ak".into(),
                    facade: Facade::Advance,
                    capability_hash: "c".repeat(64),
                    td_token: None,
                    region: "IDN".into(),
                    user_id: None,
                    return_url: "https://example.com/ok".into(),
                    failed_return_url: None,
                    try_count: 1,
                    product_level: "STANDARD".into(),
                    locale: None,
                    audio: false,
                    iframe: false,
                    ui_config: None,
                    created_at: now,
                    expires_at: now + 60_000,
                },
                None,
            )
            .await
            .unwrap();
        let result = SessionResult {
            outcome: Outcome::Judged,
            score: Some(81),
            ..SessionResult::of(Outcome::Judged)
        };
        store
            .finish_session("sig-cli", None, SessionStatus::Passed, result, now)
            .await
            .unwrap();
    });
    let pending = run(dir.path(), &["webhook", "list", "--status", "pending"]);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let id = pending[0]["id"].as_i64().unwrap();
    assert_eq!(pending[0]["account"], "acme");

    let received = receive_one(listener);
    let _server = serve(dir.path());
    let got = received
        .join()
        .unwrap()
        .expect("the receiver got a request");
    let header = |name: &str| {
        got.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // The integrator's check, with the secret the operator was shown.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(header("x-openliveness-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&got.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header("x-openliveness-signature"), expected);
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        (&body["signatureId"], &body["score"], &body["eventId"]),
        (&json!("sig-cli"), &json!(81), &json!(id))
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let shown = loop {
        let shown = run(dir.path(), &["webhook", "show", &id.to_string()]);
        if shown["status"] == "delivered" {
            break shown;
        }
        assert!(Instant::now() < deadline, "never marked delivered: {shown}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(shown["attempts"][0]["httpStatus"], 204);
    assert_eq!(shown["attempts"][0]["url"], hook.as_str());
    let delivered = run(
        dir.path(),
        &[
            "webhook",
            "list",
            "--account",
            "acme",
            "--status",
            "delivered",
        ],
    );
    assert_eq!(delivered.as_array().unwrap().len(), 1);

    let retried = run(dir.path(), &["webhook", "retry", &id.to_string()]);
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );
    let err = run_fails(dir.path(), &["webhook", "show", "999"]);
    assert!(err.contains("no webhook job 999"), "{err}");
    let err = run_fails(dir.path(), &["webhook", "list", "--status", "done"]);
    assert!(err.contains("pending"), "{err}");
    let err = run_fails(dir.path(), &["webhook", "list", "--account", "ghost"]);
    assert!(err.contains("no account named \"ghost\""), "{err}");
}
