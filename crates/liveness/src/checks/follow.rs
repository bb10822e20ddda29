//! Did the head follow the target the page drew, along the server's own
//! random path, with a human lag?
//!
//! The follow part of a challenge is a run of `Look` steps, each a target
//! at a continuous random position revealed when the previous one's hold
//! ends (`challenge.rs`). The measured head pose, as a path in target units
//! (`yaw` towards the user's right, `pitch` up, each over the pose a target
//! at full reach asks for), is compared with the server's path:
//! - the lag: the shift of the server's path that correlates best with the
//!   measured one, searched from 0 to `follow_max_lag_ms`; a path followed
//!   sooner than `follow_min_lag_ms` after each reveal was known in advance;
//! - the correlation at that lag, and one gain (how far this person turns);
//! - each target on its own, measured after the lag once the head settled:
//!   pointed within `follow_max_angle_deg` of the target's direction, far
//!   enough out; the centre target, back near rest.
//!
//! Invariants: the page's word plays no part, only poses measured on frames
//! and their estimated capture times; nothing measured never passes.

use super::{Baseline, Stream};
use crate::challenge::{Action, Challenge, Target};
use crate::policy::Policy;
use crate::signals::{median, FaceObs};
use crate::verdict::{AttackType, SignalReport};

/// One revealed target and its window on the server clock.
struct Leg {
    index: usize,
    target: Target,
    open: i64,
    close: i64,
}

/// The measured path in target units: (time, x, y).
type Path = Vec<(i64, f32, f32)>;

fn legs(challenge: &Challenge) -> Vec<Leg> {
    let actions = challenge.actions();
    challenge
        .targets()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| actions.get(*i) == Some(&Action::Look))
        .filter_map(|(index, target)| {
            let (open, close) = challenge.window(index)?;
            Some(Leg {
                index,
                target: target?,
                open,
                close,
            })
        })
        .collect()
}

/// Where the head points in target units, relative to the baseline.
fn point(face: &FaceObs, b: &Baseline, p: &Policy) -> Option<(f32, f32)> {
    // The user's right is the image's left in an unmirrored frame: yaw falls.
    let x = (b.yaw? - face.yaw()?) / p.follow_yaw_deg;
    let y = (face.pitch()? - b.pitch?) / p.follow_pitch_deg;
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

/// The target asked for at `t` on the server's path, if `t` is in a leg.
fn asked_at(legs: &[Leg], t: i64) -> Option<Target> {
    legs.iter()
        .find(|l| t >= l.open && t < l.close)
        .map(|l| l.target)
}

/// Pearson correlation of the measured and asked paths at `lag`, over both
/// axes together, and the number of samples it used.
fn correlation(path: &Path, legs: &[Leg], lag: i64) -> Option<(f32, usize)> {
    let pairs: Vec<(f32, f32)> = path
        .iter()
        .filter_map(|&(t, x, y)| {
            let target = asked_at(legs, t.saturating_sub(lag))?;
            Some([(x, target.x()), (y, target.y())])
        })
        .flatten()
        .collect();
    if pairs.len() < 16 {
        return None;
    }
    let n = pairs.len() as f32;
    let (mm, ma) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (m, e)| (a + m / n, b + e / n));
    let (mut cov, mut vm, mut va) = (0.0f32, 0.0f32, 0.0f32);
    for (m, a) in &pairs {
        cov += (m - mm) * (a - ma);
        vm += (m - mm) * (m - mm);
        va += (a - ma) * (a - ma);
    }
    let r = cov / (vm * va).sqrt();
    r.is_finite().then_some((r, pairs.len() / 2))
}

/// Least-squares gain of the measured path over the asked one at `lag`.
fn gain(path: &Path, legs: &[Leg], lag: i64) -> f32 {
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for &(t, x, y) in path {
        if let Some(target) = asked_at(legs, t.saturating_sub(lag)) {
            num += x * target.x() + y * target.y();
            den += target.x() * target.x() + target.y() * target.y();
        }
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

pub(crate) fn check(
    challenge: &Challenge,
    stream: &Stream,
    baseline: &Baseline,
    p: &Policy,
) -> Vec<SignalReport> {
    let name = "follow.path";
    let legs = legs(challenge);
    if legs.is_empty() {
        return vec![SignalReport::unmeasured(
            name,
            p.missing_step_penalty,
            p.missing_step_penalty,
            "the follow part never ran: no target was revealed".into(),
        )];
    }
    let path: Path = stream
        .samples()
        .into_iter()
        .filter_map(|(t, face)| point(face, baseline, p).map(|(x, y)| (t, x, y)))
        .collect();
    let max_lag = p.follow_max_lag_ms.clamp(0, 10_000);
    let best = (0..=max_lag / 50)
        .map(|k| k * 50)
        .filter_map(|lag| correlation(&path, &legs, lag).map(|(r, n)| (lag, r, n)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((lag, r, n)) = best else {
        return vec![SignalReport::unmeasured(
            name,
            p.missing_step_penalty,
            p.missing_step_penalty,
            format!(
                "the head pose was measured on too few frames of the follow part ({} in all)",
                path.len()
            ),
        )];
    };
    let g = gain(&path, &legs, lag);
    let mut out = Vec::with_capacity(legs.len() + 1);
    let summary = format!(
        "correlation {r:.2} with the server's path at a lag of {lag} ms over {n} frames, gain {g:.2}"
    );
    if r < p.follow_unsure_below || g.is_nan() || g < p.follow_min_gain {
        out.push(SignalReport::attack(
            name,
            Some(r),
            AttackType::Unsure,
            format!("the head did not follow the target ({summary})"),
        ));
        return out;
    }
    if lag < p.follow_min_lag_ms {
        out.push(SignalReport::attack(
            name,
            Some(lag as f32),
            AttackType::Injection,
            format!("the head moved with each target sooner than a person could have seen it ({summary}): the stream knew the path"),
        ));
        return out;
    }
    if r < p.follow_min_correlation {
        out.push(SignalReport::deduct(
            name,
            Some(r),
            p.follow_weak_penalty,
            p.follow_weak_penalty,
            format!("the head followed the target loosely ({summary})"),
        ));
    } else {
        out.push(SignalReport::ok(
            name,
            Some(r),
            p.follow_weak_penalty,
            format!("the head followed the target ({summary})"),
        ));
    }
    for leg in &legs {
        out.push(judge_leg(leg, &path, lag, g, p));
    }
    out
}

/// One target: where the head settled, after the lag.
fn judge_leg(leg: &Leg, path: &Path, lag: i64, g: f32, p: &Policy) -> SignalReport {
    let name = format!("action.{}.look", leg.index);
    let settle = ((leg.close.saturating_sub(leg.open)) as f32
        * unit_or(p.follow_settle_fraction, 0.35)) as i64;
    let from = leg.open.saturating_add(settle).saturating_add(lag);
    let to = leg.close.saturating_add(lag);
    let inside: Vec<(f32, f32)> = path
        .iter()
        .filter(|(t, _, _)| *t >= from && *t < to)
        .map(|&(_, x, y)| (x, y))
        .collect();
    let (tx, ty) = (leg.target.x(), leg.target.y());
    let at = format!("target ({tx:+.2}, {ty:+.2})");
    let miss = |why: String| {
        SignalReport::deduct(
            &name,
            None,
            p.follow_miss_penalty,
            p.follow_miss_penalty,
            why,
        )
    };
    if inside.len() < 2 {
        return miss(format!(
            "{at}: too few frames with a measured pose while it was held"
        ));
    }
    let (Some(mx), Some(my)) = (
        median(inside.iter().map(|v| v.0)),
        median(inside.iter().map(|v| v.1)),
    ) else {
        return miss(format!("{at}: the pose was not measured"));
    };
    let reach = (mx * mx + my * my).sqrt();
    let asked = (tx * tx + ty * ty).sqrt();
    if asked < 1e-3 {
        let slack = unit_or(p.follow_centre_slack, 0.5) * g;
        return if reach <= slack {
            SignalReport::ok(
                &name,
                Some(reach),
                p.follow_miss_penalty,
                format!("{at}: the head came back to rest ({reach:.2} off, up to {slack:.2})"),
            )
        } else {
            miss(format!(
                "{at}: the head stayed away from rest ({reach:.2} off, up to {slack:.2})"
            ))
        };
    }
    let cos = (mx * tx + my * ty) / (reach * asked);
    let angle = cos.clamp(-1.0, 1.0).acos().to_degrees();
    let needed = unit_or(p.follow_min_reach, 0.4) * g * asked;
    if angle.is_finite() && angle <= p.follow_max_angle_deg && reach >= needed {
        SignalReport::ok(
            &name,
            Some(angle),
            p.follow_miss_penalty,
            format!("{at}: the head pointed {angle:.0}° from its direction, reach {reach:.2}"),
        )
    } else {
        miss(format!(
            "{at}: the head pointed at ({mx:+.2}, {my:+.2}), {angle:.0}° from its direction (up to {:.0}°), reach {reach:.2} (at least {needed:.2})",
            p.follow_max_angle_deg
        ))
    }
}

/// `x` in [0, 1], or `default` when it is not a number.
fn unit_or(x: f32, default: f32) -> f32 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        default
    }
}
