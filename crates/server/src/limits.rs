//! Per-account request-rate limits: in process by default, in Redis when replicas must
//! share them.
//!
//! What must stay true: a refused request learns when to retry (`Retry-After`, whole
//! seconds, at least 1), and a limiter failure (Redis down) never turns into a refusal —
//! it is logged and the request proceeds, because the daily quota and balance still guard
//! the account in the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// `Err(seconds)` when `account_id` has used its `per_second` allowance.
    async fn check(&self, account_id: i64, per_second: u32) -> Result<(), u64>;
    fn backend(&self) -> &'static str;
}

/// A token bucket per account: bursts up to one second's allowance, refilled continuously.
#[derive(Default)]
pub struct InProcessLimiter {
    buckets: Mutex<HashMap<i64, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl InProcessLimiter {
    fn take(&self, account_id: i64, per_second: u32, now: Instant) -> Result<(), u64> {
        let rate = f64::from(per_second.max(1));
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let b = buckets.entry(account_id).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - b.tokens) / rate).ceil() as u64).max(1))
        }
    }
}

#[async_trait]
impl RateLimiter for InProcessLimiter {
    async fn check(&self, account_id: i64, per_second: u32) -> Result<(), u64> {
        self.take(account_id, per_second, Instant::now())
    }
    fn backend(&self) -> &'static str {
        "in-process"
    }
}

/// A fixed one-second window per account in Redis (`INCR` + `EXPIRE`), shared by replicas.
pub struct RedisLimiter {
    conn: redis::aio::MultiplexedConnection,
}

impl RedisLimiter {
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = client.get_multiplexed_tokio_connection().await?;
        Ok(Self { conn })
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(&self, account_id: i64, per_second: u32) -> Result<(), u64> {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let key = format!("openliveness:rate:{account_id}:{second}");
        let mut conn = self.conn.clone();
        let res: Result<(i64,), redis::RedisError> = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, 2)
            .ignore()
            .query_async(&mut conn)
            .await;
        match res {
            Ok((count,)) if count > i64::from(per_second) => Err(1),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "Redis rate limiter unavailable; request allowed");
                Ok(())
            }
        }
    }
    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let l = InProcessLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take(1, 3, t0).is_ok());
        }
        assert_eq!(l.take(1, 3, t0), Err(1));
        // Another account is not affected.
        assert!(l.take(2, 3, t0).is_ok());
        assert!(l.take(1, 3, t0 + Duration::from_millis(400)).is_ok());
        assert!(l.take(1, 3, t0 + Duration::from_millis(400)).is_err());
    }
}
