//! Pieces of the API load benchmark that are worth testing on their own: the latency
//! summary, the generate-token signature, the per-key timestamp sequence that keeps every
//! signed request distinct, the check of an answer's envelope, and the CPU time read from
//! `/proc` (also used by the server's capacity benchmark).
//!
//! The binaries are `loadgen` (the client) and `bare-axum` (the framework's ceiling);
//! `run.sh` beside this crate runs the whole benchmark.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// One API key as `openliveness key create` prints it (other fields are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPair {
    pub access_key: String,
    pub secret_key: String,
}

/// Reads a JSON array of `{"accessKey","secretKey"}` objects.
pub fn parse_keys(json: &str) -> anyhow::Result<Vec<KeyPair>> {
    let keys: Vec<KeyPair> = serde_json::from_str(json)?;
    anyhow::ensure!(!keys.is_empty(), "the keys file holds no key");
    Ok(keys)
}

/// The generate-token signature: lowercase hex SHA-256 of accessKey + secretKey + timestamp.
pub fn signature(access_key: &str, secret_key: &str, timestamp_ms: i64) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(access_key.as_bytes());
    h.update(secret_key.as_bytes());
    h.update(timestamp_ms.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The JSON body of one generate-token request.
pub fn generate_token_body(key: &KeyPair, timestamp_ms: i64) -> String {
    let sig = signature(&key.access_key, &key.secret_key, timestamp_ms);
    format!(
        r#"{{"accessKey":"{}","timestamp":{},"signature":"{}"}}"#,
        key.access_key, timestamp_ms, sig
    )
}

/// Timestamps for one key: strictly increasing, so no (key, timestamp) pair — and so no
/// signature — is ever sent twice, and never older than `now - lag_ms` so they stay inside
/// the server's ±300 s window however long the run. Shared by every connection using
/// the key.
#[derive(Debug)]
pub struct TimestampSeq {
    last: AtomicI64,
    lag_ms: i64,
}

impl TimestampSeq {
    pub fn new(lag_ms: i64) -> Self {
        Self {
            last: AtomicI64::new(i64::MIN),
            lag_ms,
        }
    }

    /// The next timestamp given the current clock.
    pub fn next(&self, now_ms: i64) -> i64 {
        let floor = now_ms - self.lag_ms;
        let mut cur = self.last.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(1).max(floor);
            match self
                .last
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How an answer's body is judged: the envelope's `code` must be `SUCCESS`.
/// Both the real service and `bare-axum` write `code` first, so the common case is a
/// prefix check; anything else is parsed to name the code for the error report.
pub fn envelope_code(body: &[u8]) -> Result<(), String> {
    if body.starts_with(br#"{"code":"SUCCESS""#) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => match v.get("code").and_then(|c| c.as_str()) {
            Some("SUCCESS") => Ok(()),
            Some(code) => Err(code.to_owned()),
            None => Err("no code in answer".to_owned()),
        },
        Err(_) => Err("answer is not JSON".to_owned()),
    }
}

/// Pulls a string field out of `data` of a SUCCESS envelope (e.g. the token).
pub fn data_field(body: &[u8], field: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(v.get("data")?.get(field)?.as_str()?.to_owned())
}

/// Percentiles of recorded latencies (a sorted vector: exact, and small enough at these
/// request counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// Summarises latencies in microseconds; sorts them in place.
pub fn summarise(latencies_us: &mut [u32]) -> Summary {
    latencies_us.sort_unstable();
    let n = latencies_us.len();
    let at = |q: f64| -> Duration {
        if n == 0 {
            return Duration::ZERO;
        }
        // Nearest-rank: the smallest value with at least q of the samples at or below it.
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        latencies_us
            .get(rank - 1)
            .map_or(Duration::ZERO, |&v| Duration::from_micros(u64::from(v)))
    };
    let sum: u64 = latencies_us.iter().map(|&v| u64::from(v)).sum();
    Summary {
        count: n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: latencies_us
            .last()
            .map_or(Duration::ZERO, |&v| Duration::from_micros(u64::from(v))),
        mean: if n == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(sum / n as u64)
        },
    }
}

/// User + system CPU seconds of a process from its `/proc/PID/stat` (all threads).
pub fn cpu_seconds(stat_path: &str) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(stat_path).with_context(|| format!("reading {stat_path}"))?;
    // The command name (field 2) may hold spaces; fields after its ')' are plain.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    // USER_HZ is 100 on Linux's user-space ABI.
    Ok((utime + stime) / 100.0)
}

/// CPU seconds all CPUs have spent busy since boot, from the first line of `/proc/stat`
/// (user, nice, system, irq, softirq, steal; idle and iowait left out).
pub fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let &[user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = v.as_slice() else {
        bail!("unexpected /proc/stat format");
    };
    let busy = user + nice + system + irq + softirq + steal;
    Ok(busy / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_lowercase_hex_sha256_of_the_concatenation() {
        // The three parts are concatenated as text, the timestamp in decimal.
        assert_eq!(
            signature("a", "b", 0),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"ab0"))
        );
        let sig = signature("", "ab", 0);
        assert_eq!(
            sig,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"ab0"))
        );
        assert!(sig
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(sig.len(), 64);
    }

    #[test]
    fn body_carries_a_numeric_13_digit_timestamp() {
        let key = KeyPair {
            access_key: "ak".into(),
            secret_key: "sk".into(),
        };
        let body = generate_token_body(&key, 1_700_000_000_123);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["accessKey"], "ak");
        assert_eq!(v["timestamp"], 1_700_000_000_123_i64);
        assert_eq!(v["signature"], signature("ak", "sk", 1_700_000_000_123));
    }

    #[test]
    fn timestamps_are_distinct_and_never_too_old() {
        let seq = TimestampSeq::new(250_000);
        let now = 1_700_000_000_000;
        let a = seq.next(now);
        let b = seq.next(now);
        assert_eq!(a, now - 250_000);
        assert_eq!(b, a + 1);
        // Later, the floor moves up with the clock.
        let c = seq.next(now + 100_000);
        assert_eq!(c, now - 150_000);
        // A clock that goes back never makes a timestamp repeat.
        assert_eq!(seq.next(now), c + 1);
    }

    #[test]
    fn envelope_codes() {
        assert_eq!(envelope_code(br#"{"code":"SUCCESS","data":{}}"#), Ok(()));
        assert_eq!(envelope_code(br#"{ "code" : "SUCCESS" }"#), Ok(()));
        assert_eq!(
            envelope_code(br#"{"code":"SIGNATURE_ERROR"}"#),
            Err("SIGNATURE_ERROR".into())
        );
        assert!(envelope_code(b"<html>").is_err());
        assert_eq!(
            data_field(br#"{"code":"SUCCESS","data":{"token":"t1"}}"#, "token").as_deref(),
            Some("t1")
        );
    }

    #[test]
    fn percentiles_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        let s = summarise(&mut v);
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, Duration::from_micros(50));
        assert_eq!(s.p90, Duration::from_micros(90));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.max, Duration::from_micros(100));
        assert_eq!(s.mean, Duration::from_micros(50));
        assert_eq!(summarise(&mut []).p99, Duration::ZERO);
    }

    #[test]
    fn keys_file() {
        let keys =
            parse_keys(r#"[{"accessKey":"a","secretKey":"s","partnerCode":"p","partnerKey":"k"}]"#)
                .unwrap();
        assert_eq!(keys[0].access_key, "a");
        assert!(parse_keys("[]").is_err());
    }
}
