//! Abuse control: a user (or, for sessions without a `userId`, a browser) that fails
//! `failures` tries within `window` may not start another try for `lock` after the last
//! failure.
//!
//! What must stay true: the lockout never stores the user id or the device cookie, only a
//! SHA-256 of it with the account; failures are counted across sessions, devices and
//! replicas (the rows live in the store); a try that timed out or was abandoned does not
//! count, a try the verdict rejected or a client that broke the protocol does.

use openliveness_store::{Store, StoreError};

use crate::config::Config;
use crate::state::sha256_hex;

/// The page's device cookie: a random id, set by the session page when the browser has none.
pub const DEVICE_COOKIE: &str = "ol_device";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures that lock; 0 turns the lockout off.
    pub failures: u32,
    pub window_ms: i64,
    pub lock_ms: i64,
}

impl Lockout {
    pub fn from_config(c: &Config) -> Self {
        Self {
            failures: c.lockout_failures,
            window_ms: i64::from(c.lockout_window_minutes) * 60_000,
            lock_ms: i64::from(c.lockout_minutes) * 60_000,
        }
    }

    /// Failures older than this many milliseconds can no longer lock anyone (purged).
    pub fn horizon_ms(&self) -> i64 {
        self.window_ms + self.lock_ms
    }

    /// When the lock on a subject whose failures are `recent` (newest first) ends, if it is
    /// locked at `now`: the last `failures` of them fell within one window and the newest
    /// is less than `lock` ago.
    pub fn locked_until(&self, recent: &[i64], now: i64) -> Option<i64> {
        let n = usize::try_from(self.failures).ok().filter(|n| *n > 0)?;
        let newest = *recent.first()?;
        let oldest = *recent.get(n - 1)?;
        let until = newest.saturating_add(self.lock_ms);
        (newest - oldest <= self.window_ms && now < until).then_some(until)
    }

    /// Whether `subject` is locked now; `Ok(Some(until))` when it is.
    pub async fn check(
        &self,
        store: &dyn Store,
        account_id: i64,
        subject: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        if self.failures == 0 {
            return Ok(None);
        }
        let recent = store
            .recent_try_failures(account_id, subject, self.failures)
            .await?;
        Ok(self.locked_until(&recent, now))
    }
}

/// The lockout's name for whoever makes a try: the session's user id when the integrator
/// gave one, else the browser's device cookie; `None` when there is neither.
pub fn subject(account_id: i64, user_id: Option<&str>, device: Option<&str>) -> Option<String> {
    match (user_id.filter(|u| !u.is_empty()), device) {
        (Some(user), _) => Some(sha256_hex(format!("user\0{account_id}\0{user}").as_bytes())),
        (None, Some(device)) => Some(sha256_hex(
            format!("device\0{account_id}\0{device}").as_bytes(),
        )),
        (None, None) => None,
    }
}

/// The device cookie's value in `headers`, if it is one we could have set (32 hex digits).
pub fn device_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| {
            *k == DEVICE_COOKIE && v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(|(_, v)| v.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn locks_after_n_failures_within_the_window_for_the_lock_time() {
        let l = Lockout {
            failures: 3,
            window_ms: 10 * MIN,
            lock_ms: 30 * MIN,
        };
        let t = 1_000_000_000;
        // Two failures: not yet.
        assert_eq!(l.locked_until(&[t, t - MIN], t), None);
        // Three within ten minutes: locked for thirty after the last.
        let three = [t, t - MIN, t - 9 * MIN];
        assert_eq!(l.locked_until(&three, t + MIN), Some(t + 30 * MIN));
        assert_eq!(l.locked_until(&three, t + 30 * MIN), None);
        // Three spread over more than the window: not locked.
        assert_eq!(l.locked_until(&[t, t - MIN, t - 11 * MIN], t), None);
        // Off.
        let off = Lockout { failures: 0, ..l };
        assert_eq!(off.locked_until(&three, t), None);
    }

    #[test]
    fn subjects_name_users_before_devices_and_never_hold_the_id() {
        let u = subject(1, Some("alice"), Some("d")).unwrap();
        assert_eq!(u, subject(1, Some("alice"), None).unwrap());
        assert_ne!(u, subject(2, Some("alice"), None).unwrap());
        assert!(!u.contains("alice"));
        let d = subject(1, None, Some("d")).unwrap();
        assert_ne!(d, u);
        assert_eq!(subject(1, Some(""), None), None);
        assert_eq!(subject(1, None, None), None);
    }

    #[test]
    fn device_cookie_is_read_only_in_our_shape() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=b; ol_device=0123456789abcdef0123456789ABCDEF"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            device_cookie(&h).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        h.insert(
            axum::http::header::COOKIE,
            "ol_device=x'; DROP".parse().unwrap(),
        );
        assert_eq!(device_cookie(&h), None);
    }
}
