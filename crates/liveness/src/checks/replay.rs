//! Was this try's picture sent before, in another session? The server keeps compact
//! fingerprints of every session's frames and stills for a window (default 30 days) and
//! tells the verdict which of this try's frames match (`Seen`); this check weighs that.
//!
//! Invariants: exact bytes from another session are injection (a camera's sensor noise
//! never repeats). Perceptual look-alikes are measured as moves of the follow part
//! replayed frame by frame, in order, at a camera's pace, and reported, not judged: one
//! person at one desk looks alike on two days, and the 64-bit fingerprint cannot yet tell
//! that from a re-encoded recording (docs/liveness.md).

use std::collections::HashMap;

use super::{spread, Stream};
use crate::challenge::{Action, Challenge};
use crate::policy::Policy;
use crate::signals::{FaceObs, FrameObs, Seen};
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
    // Perceptual look-alikes are reported, not judged: on the rendered test head, genuine
    // runs whose targets nearly coincide show the very same pictures, and a 64-bit hash
    // cannot tell a re-encoded recording from the same person at the same pose. Real
    // captures must set a threshold first (docs/liveness.md, "What is not known").
    let legs = replayed_moves(challenge, stream, seen, p);
    SignalReport::ok(
        name,
        Some(legs.len() as f32),
        0,
        format!(
            "no frame repeats another session's bytes; {} perceptual look-alike(s), {} move(s) of the follow part alike frame by frame (reported, not judged)",
            seen.similar.len(),
            legs.len()
        ),
    )
}

/// The follow part's moves (by step index) whose frames replay, in order and at a camera's
/// pace, frames of one other session: a run of at least `replay_min_run` consecutive
/// frames inside the move's window, each matching a frame 1–3 positions after the previous
/// one's match there, while the head moved by at least `replay_min_motion_deg`. A person
/// at one desk can repeat a move once by chance (a few degrees alike); the path's targets
/// are random, so not move after move.
fn replayed_moves(challenge: &Challenge, stream: &Stream, seen: &Seen, p: &Policy) -> Vec<usize> {
    let mut by_seq: HashMap<u32, Vec<(&str, u32)>> = HashMap::new();
    for (seq, session, frame_no) in &seen.similar {
        by_seq
            .entry(*seq)
            .or_default()
            .push((session.as_str(), *frame_no));
    }
    let actions = challenge.actions();
    let mut replayed = Vec::new();
    for (i, _) in actions
        .iter()
        .enumerate()
        .filter(|(_, a)| **a == Action::Look)
    {
        let Some((open, close)) = challenge.window(i) else {
            continue;
        };
        let frames: Vec<&&FrameObs> = stream
            .frames
            .iter()
            .filter(|f| {
                let t = stream.est(f.capture_ms);
                t >= open && t < close
            })
            .collect();
        if longest_paced_run(&frames, &by_seq, p) >= p.replay_min_run.max(2) {
            replayed.push(i);
        }
    }
    replayed
}

/// The longest run of consecutive `frames` matching frames of one other session at a
/// camera's pace, over which the head moved enough.
fn longest_paced_run(
    frames: &[&&FrameObs],
    by_seq: &HashMap<u32, Vec<(&str, u32)>>,
    p: &Policy,
) -> usize {
    // Runs ending at the previous frame: (session, frame there) → (length, poses).
    let mut runs: HashMap<(&str, u32), (usize, Vec<&FaceObs>)> = HashMap::new();
    let mut best = 0;
    for f in frames {
        let mut next: HashMap<(&str, u32), (usize, Vec<&FaceObs>)> = HashMap::new();
        for &(session, frame_no) in by_seq.get(&f.seq).map(Vec::as_slice).unwrap_or(&[]) {
            let before = (1..=3)
                .filter_map(|d| frame_no.checked_sub(d))
                .filter_map(|prev| runs.get(&(session, prev)))
                .max_by_key(|r| r.0);
            let (mut n, mut poses) = before.map_or((0, Vec::new()), |r| (r.0, r.1.clone()));
            n += 1;
            if let Some(face) = f.single_face() {
                poses.push(face);
            }
            if n > best && moved(&poses) >= p.replay_min_motion_deg {
                best = n;
            }
            let keep = next.get(&(session, frame_no)).is_none_or(|r| r.0 < n);
            if keep {
                next.insert((session, frame_no), (n, poses));
            }
        }
        runs = next;
    }
    best
}

/// Largest range of yaw or pitch over `poses`, in degrees.
fn moved(poses: &[&FaceObs]) -> f32 {
    spread(poses, FaceObs::yaw).max(spread(poses, FaceObs::pitch))
}
