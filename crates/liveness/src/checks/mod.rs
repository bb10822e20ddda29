//! The individual checks behind the verdict, each turning observations into
//! `SignalReport`s, and the shared view of the stream they all read.
//!
//! Invariants: a check never panics and never reads a raw float (only the
//! `signals` accessors); time arithmetic saturates, because every timestamp
//! but `arrival_ms` comes from the untrusted page; each check reports what it
//! measured even when it passes, so the score can be explained.

pub(crate) mod actions;
pub(crate) mod faces;
pub(crate) mod follow;
pub(crate) mod geometry;
pub(crate) mod joins;
pub(crate) mod replay;
pub(crate) mod timing;

use crate::challenge::Challenge;
use crate::policy::Policy;
use crate::signals::{median, median_i64, FaceObs, FrameObs};
use crate::verdict::{AttackType, QualityOutcome, SignalOutcome, SignalReport};

/// The frames in arrival order, with the page clock mapped onto the server's.
pub(crate) struct Stream<'a> {
    /// Arrival order; ties keep the caller's order.
    pub frames: Vec<&'a FrameObs>,
    /// Estimated `arrival − capture`: the page-to-server clock offset plus the
    /// typical uplink latency. Taken from the positioning frames when there
    /// are enough, so replayed challenge frames cannot move it.
    pub offset_ms: i64,
    pub issued_at_ms: i64,
}

impl<'a> Stream<'a> {
    pub fn new(challenge: &Challenge, frames: &'a [FrameObs], policy: &Policy) -> Stream<'a> {
        let mut sorted: Vec<&FrameObs> = frames.iter().collect();
        sorted.sort_by_key(|f| f.arrival_ms);
        let issued_at_ms = challenge.issued_at_ms();
        let lag = |f: &&FrameObs| f.arrival_ms.saturating_sub(f.capture_ms);
        let pre: Vec<i64> = sorted
            .iter()
            .filter(|f| f.arrival_ms < issued_at_ms)
            .map(lag)
            .collect();
        let offset_ms = if pre.len() >= policy.min_baseline_frames.max(1) {
            median_i64(pre)
        } else {
            median_i64(sorted.iter().map(lag))
        }
        .unwrap_or(0);
        Stream {
            frames: sorted,
            offset_ms,
            issued_at_ms,
        }
    }

    /// A page capture time on the server clock (lag included).
    pub fn est(&self, capture_ms: i64) -> i64 {
        capture_ms.saturating_add(self.offset_ms)
    }

    /// Frames that arrived once the challenge existed.
    pub fn challenge_frames(&self) -> impl Iterator<Item = &&'a FrameObs> {
        let issued = self.issued_at_ms;
        self.frames.iter().filter(move |f| f.arrival_ms >= issued)
    }

    /// Single-face frames as (estimated capture time, face).
    pub fn samples(&self) -> Vec<(i64, &'a FaceObs)> {
        self.frames
            .iter()
            .filter_map(|f| f.single_face().map(|face| (self.est(f.capture_ms), face)))
            .collect()
    }
}

/// The subject at rest, from the positioning frames; every action is
/// measured against it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Baseline {
    pub eye: Option<f32>,
    pub mouth: Option<f32>,
    pub yaw: Option<f32>,
    pub pitch: Option<f32>,
    pub size: Option<f32>,
    pub nose_offset: Option<f32>,
}

impl Baseline {
    pub fn new(stream: &Stream, policy: &Policy) -> Baseline {
        let pre: Vec<&FaceObs> = stream
            .frames
            .iter()
            .filter(|f| f.arrival_ms < stream.issued_at_ms)
            .filter_map(|f| f.single_face())
            .collect();
        let faces: Vec<&FaceObs> = if pre.len() >= policy.min_baseline_frames.max(1) {
            pre
        } else {
            // Medians shrug off the short excursions of the actions.
            stream
                .frames
                .iter()
                .filter_map(|f| f.single_face())
                .collect()
        };
        let m = |get: fn(&FaceObs) -> Option<f32>| median(faces.iter().filter_map(|f| get(f)));
        Baseline {
            eye: m(FaceObs::eye).filter(|e| *e > 0.02),
            mouth: m(FaceObs::mouth),
            yaw: m(FaceObs::yaw),
            pitch: m(FaceObs::pitch),
            size: m(FaceObs::size).filter(|s| *s > 0.0),
            nose_offset: m(FaceObs::nose_offset),
        }
    }
}

/// Range (largest − smallest) of one reading over `faces`. Nothing measured
/// reads as 0: it proves no motion.
pub(crate) fn spread(faces: &[&FaceObs], get: fn(&FaceObs) -> Option<f32>) -> f32 {
    let vals: Vec<f32> = faces.iter().filter_map(|f| get(f)).collect();
    let lo = vals.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = vals.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if vals.is_empty() {
        0.0
    } else {
        hi - lo
    }
}

/// `x` clamped to [0, 1]; NaN reads as 0.
pub(crate) fn unit(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// `x ≥ min`, false when either is NaN: a check written as
/// `if !reaches(x, min) { fail }` fails closed on NaN.
pub(crate) fn reaches(x: f32, min: f32) -> bool {
    x >= min
}

/// `weight × share`, rounded, as points.
pub(crate) fn points(weight: u8, share: f32) -> u8 {
    (f32::from(weight) * unit(share)).round() as u8
}

impl SignalReport {
    pub(crate) fn new(
        name: impl Into<String>,
        value: Option<f32>,
        weight: u8,
        deduction: u8,
        outcome: SignalOutcome,
        explanation: impl Into<String>,
    ) -> SignalReport {
        SignalReport {
            name: name.into(),
            value: value.filter(|v| v.is_finite()),
            weight,
            deduction: deduction.min(weight),
            outcome,
            explanation: explanation.into(),
        }
    }

    pub(crate) fn ok(name: &str, value: Option<f32>, weight: u8, why: String) -> SignalReport {
        SignalReport::new(name, value, weight, 0, SignalOutcome::Ok, why)
    }

    /// A soft failure: `deduction` points off (0 reads as a pass).
    pub(crate) fn deduct(
        name: &str,
        value: Option<f32>,
        weight: u8,
        deduction: u8,
        why: String,
    ) -> SignalReport {
        let outcome = if deduction == 0 {
            SignalOutcome::Ok
        } else {
            SignalOutcome::Deducted
        };
        SignalReport::new(name, value, weight, deduction, outcome, why)
    }

    pub(crate) fn unmeasured(name: &str, weight: u8, deduction: u8, why: String) -> SignalReport {
        SignalReport::new(
            name,
            None,
            weight,
            deduction,
            SignalOutcome::NotMeasured,
            why,
        )
    }

    pub(crate) fn attack(
        name: &str,
        value: Option<f32>,
        kind: AttackType,
        why: String,
    ) -> SignalReport {
        SignalReport::new(name, value, 100, 100, SignalOutcome::Attack(kind), why)
    }

    pub(crate) fn quality(
        name: &str,
        value: Option<f32>,
        kind: QualityOutcome,
        why: String,
    ) -> SignalReport {
        SignalReport::new(name, value, 0, 0, SignalOutcome::Quality(kind), why)
    }
}
