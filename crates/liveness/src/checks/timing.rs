//! Is this a live stream? Checks on sequence numbers, the page's capture
//! clock against the server's arrival clock, repeated bytes, bursts and gaps.
//!
//! Invariants: the server's `arrival_ms` is the only trusted time; capture
//! times are judged only by how they agree with it. A live camera produces
//! strictly increasing sequence numbers and capture times, never the same
//! bytes twice apart from a stall, and frames that arrive about one uplink
//! latency after capture; everything here measures a departure from that.

use std::collections::HashSet;

use super::{points, Stream};
use crate::policy::Policy;
use crate::signals::{median_i64, StillObs};
use crate::verdict::{AttackType, QualityOutcome, SignalReport};

const INJ: AttackType = AttackType::Injection;

pub(crate) fn check(
    stream: &Stream,
    near: Option<&StillObs>,
    policy: &Policy,
) -> Vec<SignalReport> {
    let mut out = vec![
        sequence(stream),
        clock_offset(stream, policy),
        pre_challenge(stream, near, policy),
        clock_skew(stream, policy),
        duplicates(stream, policy),
        burst(stream, policy),
        gaps(stream, policy),
        frame_rate(stream, policy),
    ];
    out.extend(clock_rate(stream, policy));
    out
}

fn sequence(stream: &Stream) -> SignalReport {
    let bad = stream
        .frames
        .windows(2)
        .filter(|w| {
            matches!(w, [prev, next] if next.seq <= prev.seq || next.capture_ms <= prev.capture_ms)
        })
        .count();
    let name = "timing.sequence";
    if bad > 0 {
        SignalReport::attack(
            name,
            Some(bad as f32),
            INJ,
            format!("{bad} frame(s) arrived with a sequence number or capture time not after the previous frame's; a camera cannot go back in time"),
        )
    } else {
        SignalReport::ok(
            name,
            Some(0.0),
            0,
            "sequence numbers and capture times strictly increase".into(),
        )
    }
}

fn clock_offset(stream: &Stream, policy: &Policy) -> SignalReport {
    let off = stream.offset_ms;
    let name = "timing.clock_offset";
    let value = Some(off as f32);
    if off.saturating_abs() > policy.max_clock_offset_ms {
        SignalReport::attack(
            name,
            value,
            INJ,
            format!("frames arrive {off} ms after their declared capture (limit ±{} ms): they were not captured now", policy.max_clock_offset_ms),
        )
    } else {
        SignalReport::ok(
            name,
            value,
            0,
            format!("median arrival − capture is {off} ms"),
        )
    }
}

fn pre_challenge(stream: &Stream, near: Option<&StillObs>, policy: &Policy) -> SignalReport {
    let limit = stream
        .issued_at_ms
        .saturating_sub(policy.pre_challenge_slack_ms);
    let early = stream
        .challenge_frames()
        .filter(|f| stream.est(f.capture_ms) < limit)
        .count();
    let near_early = near.is_some_and(|s| stream.est(s.capture_ms) < limit);
    let name = "timing.pre_challenge";
    if early > policy.max_pre_challenge_frames || near_early {
        SignalReport::attack(
            name,
            Some(early as f32),
            INJ,
            format!("{early} challenge frame(s){} were captured before the challenge existed: a recording, not an answer", if near_early { " and the near still" } else { "" }),
        )
    } else {
        SignalReport::ok(
            name,
            Some(early as f32),
            0,
            format!("{early} frame(s) in flight when the challenge was issued"),
        )
    }
}

fn clock_skew(stream: &Stream, policy: &Policy) -> SignalReport {
    let n = stream.frames.len();
    let skewed = stream
        .frames
        .iter()
        .filter(|f| {
            let lag = f.arrival_ms.saturating_sub(stream.est(f.capture_ms));
            lag.saturating_abs() > policy.clock_tolerance_ms
        })
        .count();
    let share = if n == 0 {
        0.0
    } else {
        skewed as f32 / n as f32
    };
    let name = "timing.clock_skew";
    if share > policy.max_skewed_fraction {
        SignalReport::attack(
            name,
            Some(share),
            INJ,
            format!("{skewed} of {n} frames drift more than {} ms from the stream's own latency: their capture times were written, not measured", policy.clock_tolerance_ms),
        )
    } else {
        SignalReport::ok(
            name,
            Some(share),
            0,
            format!(
                "{skewed} of {n} frames off the usual latency by more than {} ms",
                policy.clock_tolerance_ms
            ),
        )
    }
}

/// Capture clock speed against the server's, from the medians of the first
/// and last quarter of the challenge frames (robust to a jittery frame).
fn clock_rate(stream: &Stream, policy: &Policy) -> Option<SignalReport> {
    let frames: Vec<_> = stream.challenge_frames().collect();
    let q = (frames.len() / 4).max(1);
    if frames.len() < 8 {
        return None;
    }
    let head = frames.get(..q)?;
    let tail = frames.get(frames.len() - q..)?;
    let cap = |s: &[&&crate::signals::FrameObs]| median_i64(s.iter().map(|f| f.capture_ms));
    let arr = |s: &[&&crate::signals::FrameObs]| median_i64(s.iter().map(|f| f.arrival_ms));
    let dc = cap(tail)?.saturating_sub(cap(head)?);
    let da = arr(tail)?.saturating_sub(arr(head)?);
    let name = "timing.clock_rate";
    if dc < policy.min_rate_span_ms.max(1) {
        return Some(SignalReport::unmeasured(
            name,
            0,
            0,
            format!("only {dc} ms of capture time to compare clocks on"),
        ));
    }
    let rate = (da as f64 / dc as f64) as f32;
    Some(if (rate - 1.0).abs() > policy.max_clock_rate_error {
        SignalReport::attack(
            name,
            Some(rate),
            INJ,
            format!("the server saw {rate:.2} s pass per second of declared capture: the clip runs at the wrong speed"),
        )
    } else {
        SignalReport::ok(
            name,
            Some(rate),
            0,
            format!("{rate:.3} s of arrival time per second of capture"),
        )
    })
}

/// Frames per second over the challenge, on the server's arrival clock. A
/// stream of a few frames a second cannot show a blink, the lag of a
/// reaction or the path of a turn, and gives a generator seconds per frame:
/// the try is not judged.
fn frame_rate(stream: &Stream, policy: &Policy) -> SignalReport {
    let name = "timing.frame_rate";
    let arrivals: Vec<i64> = stream.challenge_frames().map(|f| f.arrival_ms).collect();
    let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) else {
        return SignalReport::unmeasured(
            name,
            0,
            0,
            "no frame arrived during the challenge".into(),
        );
    };
    let span_ms = last.saturating_sub(*first);
    if span_ms < 1_000 {
        return SignalReport::unmeasured(
            name,
            0,
            0,
            format!("the challenge frames span {span_ms} ms: too short to measure a rate"),
        );
    }
    let rate = (arrivals.len() - 1) as f32 * 1_000.0 / span_ms as f32;
    if rate < policy.min_frame_rate {
        SignalReport::quality(
            name,
            Some(rate),
            QualityOutcome::PoorQuality,
            format!(
                "{rate:.1} frames per second during the challenge, below the {:.0} needed to follow the movements: the camera or the connection is too slow",
                policy.min_frame_rate
            ),
        )
    } else {
        SignalReport::ok(
            name,
            Some(rate),
            0,
            format!("{rate:.1} frames per second during the challenge"),
        )
    }
}

fn duplicates(stream: &Stream, policy: &Policy) -> SignalReport {
    let (mut stalls, mut loops) = (0usize, 0usize);
    let mut seen = HashSet::new();
    let mut prev: Option<u64> = None;
    for f in &stream.frames {
        if prev == Some(f.content_hash) {
            stalls += 1;
        } else if !seen.insert(f.content_hash) {
            loops += 1;
        }
        prev = Some(f.content_hash);
    }
    let n = stream.frames.len().max(1);
    let share = stalls as f32 / n as f32;
    let name = "timing.duplicates";
    if loops > 0 || share > policy.max_stall_fraction {
        SignalReport::attack(
            name,
            Some((stalls + loops) as f32),
            INJ,
            format!("{loops} frame(s) repeat earlier bytes and {stalls} repeat the previous frame: a camera's sensor noise never repeats"),
        )
    } else if stalls > 0 {
        SignalReport::deduct(
            name,
            Some(stalls as f32),
            policy.stall_penalty,
            policy.stall_penalty,
            format!("{stalls} frame(s) repeat the previous frame (a stalled camera?)"),
        )
    } else {
        SignalReport::ok(
            name,
            Some(0.0),
            policy.stall_penalty,
            "no frame repeats another".into(),
        )
    }
}

fn burst(stream: &Stream, policy: &Policy) -> SignalReport {
    let (mut longest, mut run) = (1usize, 1usize);
    for w in stream.frames.windows(2) {
        let [prev, next] = w else {
            continue;
        };
        if next.arrival_ms.saturating_sub(prev.arrival_ms) <= policy.burst_gap_ms {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 1;
        }
    }
    if stream.frames.is_empty() {
        longest = 0;
    }
    let name = "timing.burst";
    let value = Some(longest as f32);
    if longest >= policy.burst_attack_frames {
        SignalReport::attack(
            name,
            value,
            INJ,
            format!("{longest} frames arrived within {} ms of each other: uploaded in one go, not streamed", policy.burst_gap_ms),
        )
    } else if longest >= 3 {
        SignalReport::deduct(
            name,
            value,
            policy.burst_penalty,
            policy.burst_penalty,
            format!("a burst of {longest} frames (network hiccup?)"),
        )
    } else {
        SignalReport::ok(
            name,
            value,
            policy.burst_penalty,
            format!("longest burst {longest} frame(s)"),
        )
    }
}

fn gaps(stream: &Stream, policy: &Policy) -> SignalReport {
    let mut arrivals: Vec<i64> = vec![stream.issued_at_ms];
    arrivals.extend(stream.challenge_frames().map(|f| f.arrival_ms));
    let count = arrivals
        .windows(2)
        .filter(|w| matches!(w, [prev, next] if next.saturating_sub(*prev) > policy.max_gap_ms))
        .count();
    let name = "timing.gaps";
    let lost = u8::try_from(count)
        .unwrap_or(u8::MAX)
        .saturating_mul(policy.gap_penalty);
    let deduction = lost.min(policy.max_gap_penalty);
    let share = if policy.max_gap_penalty == 0 {
        0.0
    } else {
        f32::from(deduction) / f32::from(policy.max_gap_penalty)
    };
    SignalReport::deduct(
        name,
        Some(count as f32),
        policy.max_gap_penalty,
        points(policy.max_gap_penalty, share),
        format!(
            "{count} pause(s) over {} ms in the stream during the challenge",
            policy.max_gap_ms
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::{Challenge, ProductLevel};
    use crate::signals::FrameObs;
    use crate::verdict::SignalOutcome;
    use rand::{rngs::StdRng, SeedableRng};

    fn frames(times: &[(i64, i64)]) -> Vec<FrameObs> {
        times
            .iter()
            .enumerate()
            .map(|(i, &(c, a))| FrameObs {
                seq: i as u32,
                capture_ms: c,
                arrival_ms: a,
                face_count: 1,
                face: None,
                content_hash: i as u64,
            })
            .collect()
    }

    fn run(f: &[FrameObs]) -> Vec<SignalReport> {
        let c = Challenge::draw(ProductLevel::Standard, &mut StdRng::seed_from_u64(0), 1_000);
        let p = Policy::default();
        check(&Stream::new(&c, f, &p), None, &p)
    }

    fn outcome(r: &[SignalReport], name: &str) -> SignalOutcome {
        r.iter()
            .find(|s| s.name == name)
            .map(|s| s.outcome)
            .unwrap()
    }

    #[test]
    fn a_steady_stream_is_clean() {
        let t: Vec<_> = (0..60).map(|i| (i * 100, i * 100 + 80)).collect();
        let r = run(&frames(&t));
        assert!(r.iter().all(|s| s.outcome == SignalOutcome::Ok), "{r:#?}");
    }

    #[test]
    fn a_clip_at_double_speed_is_caught() {
        let t: Vec<_> = (0..60).map(|i| (i * 100, i * 50 + 80)).collect();
        let r = run(&frames(&t));
        assert_eq!(outcome(&r, "timing.clock_rate"), SignalOutcome::Attack(INJ));
    }

    #[test]
    fn going_back_in_time_is_caught() {
        let mut t: Vec<_> = (0..20).map(|i| (i * 100, i * 100 + 80)).collect();
        t[10].0 = 0;
        let r = run(&frames(&t));
        assert_eq!(outcome(&r, "timing.sequence"), SignalOutcome::Attack(INJ));
    }

    #[test]
    fn one_stall_costs_points_a_loop_is_injection() {
        let t: Vec<_> = (0..20).map(|i| (i * 100, i * 100 + 80)).collect();
        let mut f = frames(&t);
        f[5].content_hash = f[4].content_hash;
        let r = run(&f);
        assert_eq!(outcome(&r, "timing.duplicates"), SignalOutcome::Deducted);
        f[15].content_hash = f[2].content_hash;
        let r = run(&f);
        assert_eq!(outcome(&r, "timing.duplicates"), SignalOutcome::Attack(INJ));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let f = frames(&[(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (0, 0)]);
        let _ = run(&f);
    }
}
