//! Was this try's picture sent before, in another session? The server keeps compact
//! fingerprints of every session's frames and stills for a window (default 30 days) and
//! tells the verdict which of this try's frames match (`Seen`); this check weighs that.
//!
//! Invariants: exact bytes from another session are injection (a camera's sensor noise
//! never repeats); a perceptual match is injection only as a run of frames of the follow
//! part that moves, each matching a later frame of the same earlier session. One person at
//! one desk can look alike twice at rest, and when asked to turn right twice; only the
//! follow part's path is new in every try, so only there does a look-alike run mean that
//! a recording was played.

use std::collections::HashMap;

use super::Stream;
use crate::challenge::Challenge;
use crate::policy::Policy;
use crate::signals::{FaceObs, Seen};
use crate::verdict::{AttackType, SignalReport};

pub(crate) fn check(
    challenge: &Challenge,
    stream: &Stream,
    seen: &Seen,
    p: &Policy,
) -> SignalReport {
    let name = "replay.cross_session";
    if !seen.checked {
        return SignalReport::unmeasured(
            name,
            0,
            0,
            "the fingerprints of earlier sessions were not consulted".into(),
        );
    }
    if !seen.exact.is_empty() || seen.exact_stills > 0 {
        return SignalReport::attack(
            name,
            Some((seen.exact.len() + seen.exact_stills) as f32),
            AttackType::Injection,
            format!(
                "{} frame(s) and {} still(s) repeat, byte for byte, what another session sent",
                seen.exact.len(),
                seen.exact_stills
            ),
        );
    }
    let run = longest_moving_run(challenge, stream, seen, p);
    if run >= p.replay_min_run.max(2) {
        return SignalReport::attack(
            name,
            Some(run as f32),
            AttackType::Injection,
            format!(
                "a run of {run} moving frames of the follow part matches, in order, the frames of another session: a recording played again, re-encoded or altered"
            ),
        );
    }
    SignalReport::ok(
        name,
        Some(run as f32),
        0,
        format!(
            "no frame repeats another session's ({} perceptual look-alike(s); longest moving run in the follow part {run})",
            seen.similar.len()
        ),
    )
}

/// The longest run of consecutive frames of the follow part (arrival order) that each
/// match a frame of one same earlier session, at strictly increasing positions there,
/// while the head moved by at least `replay_min_motion_deg` over the run.
fn longest_moving_run(challenge: &Challenge, stream: &Stream, seen: &Seen, p: &Policy) -> usize {
    let Some((open, close)) = challenge.follow_span() else {
        return 0;
    };
    let mut by_seq: HashMap<u32, Vec<(&str, u32)>> = HashMap::new();
    for (seq, session, frame_no) in &seen.similar {
        by_seq
            .entry(*seq)
            .or_default()
            .push((session.as_str(), *frame_no));
    }
    let mut best = 0;
    // For each earlier session: (run length, last frame there, poses seen in the run).
    let mut runs: HashMap<&str, (usize, u32, Vec<&FaceObs>)> = HashMap::new();
    for f in &stream.frames {
        let t = stream.est(f.capture_ms);
        let matches = if t >= open && t <= close {
            by_seq.get(&f.seq).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut next: HashMap<&str, (usize, u32, Vec<&FaceObs>)> = HashMap::new();
        for (session, frame_no) in matches {
            let mut run = match runs.get(session) {
                Some((n, last, poses)) if frame_no > *last => (n + 1, frame_no, poses.clone()),
                _ => (1, frame_no, Vec::new()),
            };
            if let Some(face) = f.single_face() {
                run.2.push(face);
            }
            let keep = next.get(session).is_none_or(|r| r.0 < run.0);
            if keep {
                next.insert(session, run);
            }
        }
        for (n, _, poses) in next.values() {
            if *n > best && moved(poses) >= p.replay_min_motion_deg {
                best = *n;
            }
        }
        runs = next;
    }
    best
}

/// Largest range of yaw or pitch over `poses`, in degrees.
fn moved(poses: &[&FaceObs]) -> f32 {
    let range = |get: fn(&FaceObs) -> Option<f32>| {
        let v: Vec<f32> = poses.iter().filter_map(|f| get(f)).collect();
        let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if v.is_empty() {
            0.0
        } else {
            hi - lo
        }
    };
    range(FaceObs::yaw).max(range(FaceObs::pitch))
}
