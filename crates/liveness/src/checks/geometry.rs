//! Is there a 3-D head in front of the camera? Far/near perspective, head-turn
//! parallax, whether the stills belong to the stream, and the passive
//! presentation-attack models (weak inputs).
//!
//! Perspective: a point at depth z in front of the face outline is magnified
//! by D/(D − z) at distance D, so when the face comes closer the nose (a few
//! cm in front of the outline) grows faster than the outline: the
//! nose-to-face-width ratio rises, roughly 0.15–0.2 per unit of scale growth
//! for a head at arm's length. Every ratio of a flat picture is the same at
//! any distance, so its gain is ~0.
//!
//! Invariants: flat geometry and absent parallax are presentation attacks;
//! the anti-spoof and replay models can only take a few points off (they
//! were never measured on spoofs, docs/liveness.md).

use super::{points, reaches, Baseline, Stream};
use crate::policy::Policy;
use crate::signals::{median, StillObs};
use crate::verdict::{AttackType, SignalOutcome, SignalReport};

pub(crate) fn check(
    stream: &Stream,
    baseline: &Baseline,
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    p: &Policy,
) -> Vec<SignalReport> {
    let parallax = parallax(stream, baseline, p);
    let turned_in_3d = matches!(
        parallax.outcome,
        SignalOutcome::Ok | SignalOutcome::Deducted
    );
    let mut out = vec![depth(far, near, p, turned_in_3d), parallax];
    for (label, still) in [("far", far), ("near", near)] {
        if let Some(s) = still {
            out.push(corroborated(label, s, stream, p));
        }
    }
    out.push(weak(
        "pad.anti_spoof",
        far,
        near,
        StillObs::anti_spoof,
        (p.anti_spoof_low, p.anti_spoof_high, p.anti_spoof_weight),
    ));
    out.push(weak(
        "pad.replay",
        far,
        near,
        StillObs::liveness,
        (p.replay_low, p.replay_high, p.replay_weight),
    ));
    out
}

/// Relative growth of the face ratios from far to near, per unit of growth
/// of the face size.
pub(crate) fn depth_gain(far: &StillObs, near: &StillObs) -> Option<(f32, f32)> {
    let scale = near.size()? / far.size()?;
    let gain = |get: fn(&StillObs) -> Option<f32>| Some(get(near)? / get(far)? - 1.0);
    let gains: Vec<f32> = [gain(StillObs::nose_ratio), gain(StillObs::eye_ratio)]
        .into_iter()
        .flatten()
        .filter(|g| g.is_finite())
        .collect();
    if gains.is_empty() || !(scale - 1.0).is_normal() {
        return None;
    }
    let mean = gains.iter().sum::<f32>() / gains.len() as f32;
    Some((scale, mean / (scale - 1.0)))
}

/// `turned_in_3d`: the head turn already showed parallax. The landmark model
/// flattens perspective (measured on the rendered head: a true gain of 0.15
/// reads as about 0.05), so a flat far/near reading is then doubtful rather
/// than proof of a picture.
fn depth(
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    p: &Policy,
    turned_in_3d: bool,
) -> SignalReport {
    let name = "geometry.depth";
    let (Some(far), Some(near)) = (far, near) else {
        return SignalReport::unmeasured(
            name,
            p.missing_still_penalty,
            p.missing_still_penalty,
            "both the far and the near still are required".into(),
        );
    };
    let scale = match (far.size(), near.size()) {
        (Some(f), Some(n)) => n / f,
        _ => {
            return SignalReport::unmeasured(
                name,
                p.missing_still_penalty,
                p.missing_still_penalty,
                "a still has no face size".into(),
            )
        }
    };
    if !reaches(scale, p.min_far_near_scale) {
        return SignalReport::deduct(
            name,
            Some(scale),
            p.missing_still_penalty,
            p.missing_still_penalty,
            format!(
                "the near still is only ×{scale:.2} the far one (need ×{})",
                p.min_far_near_scale
            ),
        );
    }
    let Some((_, gain)) = depth_gain(far, near) else {
        return SignalReport::unmeasured(
            name,
            p.depth_unmeasured_penalty,
            p.depth_unmeasured_penalty,
            "the stills carry no face ratios".into(),
        );
    };
    if !reaches(gain, p.flat_gain_max) && turned_in_3d {
        return SignalReport::deduct(
            name,
            Some(gain),
            p.depth_weight,
            p.depth_weight,
            format!("face ratios grew {gain:.3} per unit of scale from far to near (×{scale:.2}), as flat as a picture; the head turn showed parallax, so this only costs points"),
        );
    }
    if !reaches(gain, p.flat_gain_max) {
        return SignalReport::attack(
            name,
            Some(gain),
            AttackType::Presentation,
            format!("face ratios grew {gain:.3} per unit of scale from far to near (×{scale:.2}); a 3-D face grows ≥ {}: a flat picture", p.depth_gain_ok),
        );
    }
    let band = p.depth_gain_ok - p.flat_gain_max;
    let share = if band > 0.0 {
        (p.depth_gain_ok - gain) / band
    } else {
        0.0
    };
    SignalReport::deduct(
        name,
        Some(gain),
        p.depth_weight,
        points(p.depth_weight, share),
        format!(
            "perspective gain {gain:.3} per unit of scale (×{scale:.2}); ≥ {} costs nothing",
            p.depth_gain_ok
        ),
    )
}

/// On a turned head the nose tip moves across the face outline by about
/// sin(yaw) × its depth; on a picture rotated or warped in 2-D it does not.
fn parallax(stream: &Stream, b: &Baseline, p: &Policy) -> SignalReport {
    let name = "geometry.parallax";
    let (Some(yaw0), Some(nose0)) = (b.yaw, b.nose_offset) else {
        return SignalReport::unmeasured(name, 0, 0, "no nose offset measured".into());
    };
    let ks: Vec<f32> = stream
        .samples()
        .iter()
        .filter_map(|(_, f)| {
            let dyaw = f.yaw()? - yaw0;
            if !reaches(dyaw.abs(), p.parallax_min_yaw_deg) {
                return None;
            }
            Some((f.nose_offset()? - nose0) / dyaw.to_radians().sin())
        })
        .collect();
    let Some(k) = median(ks.iter().copied()).filter(|_| ks.len() >= 2) else {
        return SignalReport::unmeasured(
            name,
            0,
            0,
            "the head never turned far enough to judge parallax".into(),
        );
    };
    if !reaches(k, p.flat_parallax_max) {
        return SignalReport::attack(name, Some(k), AttackType::Presentation, format!("the head turned but the nose did not move across the face (gain {k:.2}): a flat picture warped in 2-D"));
    }
    let band = p.parallax_ok - p.flat_parallax_max;
    let share = if band > 0.0 {
        (p.parallax_ok - k) / band
    } else {
        0.0
    };
    SignalReport::deduct(
        name,
        Some(k),
        p.parallax_weight,
        points(p.parallax_weight, share),
        format!(
            "nose moved {k:.2} × sin(yaw) across the face over {} turned frames",
            ks.len()
        ),
    )
}

/// A still must look like the stream at the moment it claims to be from.
fn corroborated(label: &str, still: &StillObs, stream: &Stream, p: &Policy) -> SignalReport {
    let name = format!("stills.{label}_matches_stream");
    let at = stream.est(still.capture_ms);
    let nearest = stream
        .samples()
        .into_iter()
        .filter_map(|(t, f)| Some((t.saturating_sub(at).saturating_abs(), f.size()?)))
        .min_by_key(|(dt, _)| *dt);
    let (Some((dt, size)), Some(still_size)) = (nearest, still.size()) else {
        return SignalReport::deduct(
            &name,
            None,
            p.uncorroborated_still_penalty,
            p.uncorroborated_still_penalty,
            format!("no frame to compare the {label} still with"),
        );
    };
    if dt > p.still_match_ms {
        return SignalReport::deduct(
            &name,
            Some(dt as f32),
            p.uncorroborated_still_penalty,
            p.uncorroborated_still_penalty,
            format!(
                "no frame within {} ms of the {label} still",
                p.still_match_ms
            ),
        );
    }
    let off = (size / still_size - 1.0).abs();
    if !reaches(p.still_size_tolerance, off) {
        return SignalReport::attack(&name, Some(off), AttackType::Injection, format!("the {label} still's face is {:.0}% off the stream's at that moment: it was not taken from this stream", off * 100.0));
    }
    SignalReport::ok(
        &name,
        Some(off),
        p.uncorroborated_still_penalty,
        format!(
            "matches the frame {dt} ms away (size off by {:.0}%)",
            off * 100.0
        ),
    )
}

/// A weak model score: linear deduction between `low` and `high`.
fn weak(
    name: &str,
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    get: fn(&StillObs) -> Option<f32>,
    (low, high, weight): (f32, f32, u8),
) -> SignalReport {
    let worst = [far, near]
        .into_iter()
        .flatten()
        .filter_map(get)
        .reduce(f32::min);
    let Some(v) = worst else {
        return SignalReport::unmeasured(name, weight, weight, "no score on the stills".into());
    };
    let share = if high > low {
        (high - v) / (high - low)
    } else {
        0.0
    };
    SignalReport::deduct(name, Some(v), weight, points(weight, share), format!("lowest score {v:.2} on the stills (weak signal: full marks from {high}, none below {low})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn still(size: f32, nose: f32, eyes: f32) -> StillObs {
        StillObs {
            capture_ms: 0,
            arrival_ms: 0,
            face_count: 1,
            face_size: size,
            nose_to_face_width: Some(nose),
            eyes_to_face_width: Some(eyes),
            anti_spoof: Some(0.8),
            liveness: Some(0.99),
            embedding: None,
        }
    }

    #[test]
    fn a_head_gains_depth_a_picture_does_not() {
        let p = Policy::default();
        let real = depth(
            Some(&still(0.3, 0.25, 0.70)),
            Some(&still(0.5, 0.285, 0.755)),
            &p,
            false,
        );
        assert_eq!(real.deduction, 0, "{real:?}");
        let flat = depth(
            Some(&still(0.3, 0.25, 0.70)),
            Some(&still(0.5, 0.25, 0.70)),
            &p,
            false,
        );
        assert_eq!(
            flat.outcome,
            crate::verdict::SignalOutcome::Attack(AttackType::Presentation)
        );
    }

    #[test]
    fn flat_far_near_only_costs_points_after_a_turn_with_parallax() {
        let p = Policy::default();
        let flat = depth(
            Some(&still(0.3, 0.25, 0.70)),
            Some(&still(0.5, 0.25, 0.70)),
            &p,
            true,
        );
        assert_eq!(flat.outcome, SignalOutcome::Deducted);
        assert_eq!(flat.deduction, p.depth_weight);
    }

    #[test]
    fn nan_stills_never_pass_geometry() {
        let p = Policy::default();
        let r = depth(
            Some(&still(f32::NAN, 0.25, 0.7)),
            Some(&still(0.5, f32::NAN, f32::NAN)),
            &p,
            false,
        );
        assert_eq!(r.deduction, p.missing_still_penalty);
        let r = depth(
            Some(&still(0.3, f32::NAN, f32::NAN)),
            Some(&still(0.5, f32::NAN, 0.7)),
            &p,
            false,
        );
        assert_eq!(r.deduction, p.depth_unmeasured_penalty);
    }

    #[test]
    fn weak_scores_cost_a_few_points_at_most() {
        let p = Policy::default();
        let bad = still(0.3, 0.25, 0.7);
        let bad = StillObs {
            anti_spoof: Some(0.0),
            ..bad
        };
        let r = weak(
            "pad.anti_spoof",
            Some(&bad),
            None,
            StillObs::anti_spoof,
            (p.anti_spoof_low, p.anti_spoof_high, p.anti_spoof_weight),
        );
        assert_eq!(r.deduction, p.anti_spoof_weight);
    }
}
