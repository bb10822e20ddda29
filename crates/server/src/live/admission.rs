//! Admission control for live tries: a replica starts only as many tries as it can measure
//! on time. A page refused at `hello` hears `SERVER_BUSY` with when to come back, and loses
//! nothing (no try starts, none is counted); a try that was admitted is measured as its
//! frames arrive, so overload never turns into a genuine user's rejection or time-out.
//!
//! Two limits, either refuses: the tries running at once (`max_live_tries`; by default
//! [`tries_per_core`] per core, from what a try costs with the runtime measuring it), and the
//! measuring lag —
//! how long after their arrival the running tries' frames are measured — which also catches
//! a machine slowed by anything else (`admission_max_lag_ms`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A lag sample older than this no longer says anything about now.
const LAG_MEMORY_MS: i64 = 2_000;
/// Weight of a new lag sample in the running average.
const LAG_WEIGHT: f64 = 0.2;

/// The process's live tries and how late their frames are measured.
#[derive(Debug)]
pub struct Admission {
    max_tries: usize,
    max_lag_ms: i64,
    running: AtomicUsize,
    /// Average measuring lag in ms, and when the last sample came (server clock, ms).
    lag: Mutex<(f64, i64)>,
}

/// A refused try: why, and in how many seconds a new `hello` may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after_s: i64,
}

/// One admitted try's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.running.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(crate::telemetry::LIVE_TRIES).decrement(1.0);
    }
}

/// Tries per core admitted by default. Measured with the capacity benchmark
/// (docs/benchmarks.md, "Capacity") on 2 cores: a genuine try costs 4.3–8.7 s of server CPU
/// over ~20 s with ONNX Runtime. Two per core kept the cores ~65 % busy, every admitted try
/// passing and finish → result p99 at 1.0–1.5 s even at twice the offered load; three per
/// core gained 10 % throughput but let finish → result reach 6.7 s (p99) at twice the load.
/// tract costs 2.4 times as much: one per core. The measuring-lag limit refuses earlier
/// still when the machine is slower.
pub fn tries_per_core(runtime: openliveness_vision::Runtime) -> usize {
    match runtime {
        openliveness_vision::Runtime::Ort => 2,
        openliveness_vision::Runtime::Tract => 1,
    }
}

impl Admission {
    /// `max_tries` 0 means `per_core` per core of this machine.
    pub fn new(max_tries: usize, per_core: usize, max_lag_ms: i64) -> Arc<Self> {
        let max_tries = if max_tries == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get()) * per_core.max(1)
        } else {
            max_tries
        };
        Arc::new(Self {
            max_tries,
            max_lag_ms,
            running: AtomicUsize::new(0),
            lag: Mutex::new((0.0, 0)),
        })
    }

    pub fn max_tries(&self) -> usize {
        self.max_tries
    }

    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// A place for a new try at `now`, or why not.
    pub fn admit(self: &Arc<Self>, now: i64) -> Result<Slot, Refusal> {
        let lag = self.lag_at(now);
        if lag > self.max_lag_ms as f64 {
            // The backlog clears in about the time it has grown to.
            let retry_after_s = ((lag / 1000.0).ceil() as i64).clamp(5, 60);
            return Err(Refusal { retry_after_s });
        }
        let taken = self
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_tries).then_some(n + 1)
            });
        if taken.is_err() {
            // A try takes about half a minute; some place frees well before that.
            return Err(Refusal { retry_after_s: 10 });
        }
        metrics::gauge!(crate::telemetry::LIVE_TRIES).increment(1.0);
        Ok(Slot {
            admission: self.clone(),
        })
    }

    /// Records that a frame which arrived at `arrival` was measured by `now`.
    pub fn measured(&self, arrival: i64, now: i64) {
        let sample = (now - arrival).max(0) as f64;
        if let Ok(mut lag) = self.lag.lock() {
            let fresh = now - lag.1 <= LAG_MEMORY_MS;
            lag.0 = if fresh {
                lag.0 * (1.0 - LAG_WEIGHT) + sample * LAG_WEIGHT
            } else {
                sample
            };
            lag.1 = now;
        }
    }

    /// The average measuring lag as of `now` (0 when no frame was measured lately).
    pub fn lag_at(&self, now: i64) -> f64 {
        match self.lag.lock() {
            Ok(lag) if now - lag.1 <= LAG_MEMORY_MS => lag.0,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_are_admitted_up_to_the_limit_and_places_come_back() {
        let a = Admission::new(2, 3, 1_000);
        let one = a.admit(0).unwrap();
        let _two = a.admit(0).unwrap();
        assert_eq!(a.admit(0).unwrap_err(), Refusal { retry_after_s: 10 });
        assert_eq!(a.running(), 2);
        drop(one);
        assert_eq!(a.running(), 1);
        assert!(a.admit(0).is_ok());
    }

    #[test]
    fn a_late_measuring_refuses_until_it_catches_up_or_goes_quiet() {
        let a = Admission::new(10, 3, 1_000);
        for t in 0..20 {
            a.measured(t * 100, t * 100 + 3_000);
        }
        let now = 19 * 100 + 3_000;
        assert!(a.lag_at(now) > 2_500.0);
        assert_eq!(a.admit(now).unwrap_err(), Refusal { retry_after_s: 5 });
        // Measured on time again: the average falls under the limit.
        for t in 0..10 {
            a.measured(now + t * 100, now + t * 100 + 50);
        }
        assert!(a.admit(now + 1_000).is_ok());
        // Nothing measured for a while says nothing about now.
        a.measured(0, 9_000);
        assert!(a.admit(9_000).is_err());
        assert_eq!(a.lag_at(9_000 + LAG_MEMORY_MS + 1), 0.0);
        assert!(a.admit(9_000 + LAG_MEMORY_MS + 1).is_ok());
    }

    #[test]
    fn zero_means_per_core_times_the_cores() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(Admission::new(0, 3, 1_000).max_tries(), 3 * cores);
        assert_eq!(Admission::new(0, 1, 1_000).max_tries(), cores);
    }
}
