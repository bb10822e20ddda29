//! Did the head ever jump from one still pose to another between two frames?
//!
//! A splice of recorded clips answers each revealed step with a recording that answered a
//! similar one, from that recording's own reveal on. At each join the picture changes from
//! where the last clip ended (the head holding one pose) to where the next clip begins (the
//! head holding another pose, that recording's previous target): the measured pose steps
//! between two consecutive frames with the head still on both sides. A head does not do that:
//! a person's turn speeds up and slows down over several frames at 8–15 frames a second.
//!
//! A jump is a change of pose (yaw and pitch together) of at least `joins_jump_deg` between
//! two consecutive measured frames, while the steps just before and just after it are each at
//! most `joins_still_share` of it, or `joins_still_deg` when that is more (the jitter of a
//! held pose): a turn from still to still within about two frame intervals. Consecutive
//! means: both frames hold one measured face and lie at most `joins_max_gap_ms` apart by their
//! capture times, so a frame the page dropped or a face lost for a moment never reads as a
//! jump. A genuine flick of the head can look like one jump when the camera samples it at an
//! unlucky moment (a turn of 15° in 0.2 s at 10 frames a second, or in 0.25 s at 8; a
//! minimum-jerk turn over 0.3 s never does at 8–15); `joins_attack_count` jumps in one try
//! are judged, fewer are reported.
//!
//! Invariants: only poses measured on frames and the page's capture times are read; a stream
//! without enough measured poses has no jumps (other checks judge a stream that shows no
//! head); a splice whose joins are smoothed (the head morphed from one clip's pose to the
//! next's) is not caught here, the cross-session fingerprints and the follow part's path are
//! what stand against it (docs/liveness.md).

use super::Stream;
use crate::policy::Policy;
use crate::signals::FaceObs;
use crate::verdict::{AttackType, SignalReport};

/// One measured pose: (capture time on the page's clock, yaw, pitch).
type Pose = (i64, f32, f32);

pub(crate) fn check(stream: &Stream, p: &Policy) -> SignalReport {
    let name = "motion.joins";
    let jumps = jumps(&poses(stream), p);
    let count = jumps.len();
    let largest = jumps.iter().copied().fold(0.0f32, f32::max);
    if count >= p.joins_attack_count.max(1) {
        return SignalReport::attack(
            name,
            Some(count as f32),
            AttackType::Injection,
            format!(
                "the head jumped {count} times from one still pose to another between two frames (up to {largest:.0}°), as at the joins of spliced recordings"
            ),
        );
    }
    let why = if count == 0 {
        "the head never jumped between two still poses".to_string()
    } else {
        format!(
            "the head jumped once between two still poses ({largest:.0}°): a quick turn sampled at an unlucky moment can, so it is reported, not judged"
        )
    };
    SignalReport::ok(name, Some(count as f32), 0, why)
}

/// The challenge's single-face frames with a measured pose, in capture order.
fn poses(stream: &Stream) -> Vec<Option<Pose>> {
    let mut frames: Vec<_> = stream.challenge_frames().collect();
    frames.sort_by_key(|f| f.capture_ms);
    frames
        .into_iter()
        .map(|f| {
            let face = f.single_face()?;
            Some((f.capture_ms, FaceObs::yaw(face)?, FaceObs::pitch(face)?))
        })
        .collect()
}

/// The size in degrees of every jump in `poses` (a `None` breaks the chain).
fn jumps(poses: &[Option<Pose>], p: &Policy) -> Vec<f32> {
    let gap = p.joins_max_gap_ms.max(1);
    // steps[i]: the move from poses[i] to poses[i + 1], when both were measured close enough.
    let steps: Vec<Option<f32>> = poses
        .windows(2)
        .map(|w| match w {
            [Some((t0, y0, p0)), Some((t1, y1, p1))] => {
                let dt = t1.saturating_sub(*t0);
                (dt > 0 && dt <= gap).then(|| (y1 - y0).hypot(p1 - p0))
            }
            _ => None,
        })
        .collect();
    steps
        .windows(3)
        .filter_map(|w| match w {
            [Some(before), Some(step), Some(after)] => {
                let still = p.joins_still_deg.max(p.joins_still_share * step);
                let jumped = *step >= p.joins_jump_deg && *before <= still && *after <= still;
                jumped.then_some(*step)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    /// Poses sampled every `1000 / fps` ms from `phase_ms` on, of a head turning by `amount`°
    /// of yaw in `duration_ms` (minimum-jerk, the way people move) starting at 1000 ms.
    fn turn(amount: f32, duration_ms: f32, fps: f32, phase_ms: f32) -> Vec<Option<Pose>> {
        let dt = 1000.0 / fps;
        (0..40)
            .map(|i| {
                let t = phase_ms + i as f32 * dt;
                let u = ((t - 1000.0) / duration_ms).clamp(0.0, 1.0);
                let s = u * u * u * (10.0 - 15.0 * u + 6.0 * u * u);
                Some((t as i64, amount * s, 0.0))
            })
            .collect()
    }

    #[test]
    fn a_turn_over_a_few_frames_is_no_jump() {
        let p = Policy::default();
        for fps in [8.0, 10.0, 12.0, 15.0] {
            for phase in 0..20 {
                let phase = phase as f32 * 5.0;
                for (amount, ms) in [(20.0, 300.0), (30.0, 350.0), (12.0, 300.0)] {
                    let j = jumps(&turn(amount, ms, fps, phase), &p);
                    assert!(
                        j.is_empty(),
                        "{amount}° in {ms} ms at {fps}/s, phase {phase}: {j:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_flick_sampled_unluckily_is_at_most_one_jump() {
        let p = Policy::default();
        let worst = (0..20)
            .map(|k| jumps(&turn(15.0, 200.0, 10.0, k as f32 * 5.0), &p).len())
            .max();
        assert_eq!(worst, Some(1), "one flick shows at most one jump");
        assert!(p.joins_attack_count >= 2);
    }

    #[test]
    fn a_cut_between_two_held_poses_is_a_jump() {
        let p = Policy::default();
        let mut poses: Vec<Option<Pose>> = (0..10)
            .map(|i| Some((i * 100, 0.5 * (i % 2) as f32, 0.0)))
            .collect();
        poses.extend((10..20).map(|i| Some((i * 100, 12.0, -6.0 + 0.3 * (i % 2) as f32))));
        let j = jumps(&poses, &p);
        assert_eq!(j.len(), 1, "{j:?}");
        assert!((j[0] - 11.5f32.hypot(6.0)).abs() < 0.01, "{j:?}");
    }

    #[test]
    fn a_gap_or_a_lost_face_is_no_jump() {
        let p = Policy::default();
        let still =
            |from: i64, to: i64, yaw: f32| (from..to).map(move |i| Some((i * 100, yaw, 0.0)));
        // Half a second without frames between the two poses.
        let gap: Vec<_> = still(0, 10, 0.0).chain(still(15, 25, 15.0)).collect();
        assert!(jumps(&gap, &p).is_empty());
        // One frame without a face between them.
        let lost: Vec<_> = still(0, 10, 0.0)
            .chain(std::iter::once(None))
            .chain(still(11, 20, 15.0))
            .collect();
        assert!(jumps(&lost, &p).is_empty());
    }
}
