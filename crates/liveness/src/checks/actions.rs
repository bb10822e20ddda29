//! Was each requested action performed, in order, inside its window, and
//! not before it was asked? Also: did anything move at all?
//!
//! Each action becomes one "excursion" series measured from the baseline,
//! larger meaning further into the action; an occurrence starts when the
//! series reaches the action's threshold and ends when it falls back to
//! rest. Yaw sign: positive = nose towards the image's right = the subject
//! turning to their own LEFT in an unmirrored frame (`FaceObs::yaw`).
//!
//! Invariants: a step is answered only by an occurrence whose onset lies in
//! its own window (so order follows); an occurrence of a requested action
//! (blinks excepted, people blink on their own) starting shortly before its
//! reveal is an answer to a question not yet asked, i.e. injection.

use super::{spread, Baseline, Stream};
use crate::challenge::{Action, Challenge};
use crate::policy::Policy;
use crate::signals::FaceObs;
use crate::verdict::{AttackType, SignalOutcome, SignalReport};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Occurrence {
    pub onset: i64,
    pub end: Option<i64>,
}

/// (enter threshold, rest threshold, must come back).
fn thresholds(action: Action, p: &Policy) -> (f32, f32, bool) {
    match action {
        Action::Blink => (1.0 - p.blink_closed_ratio, 1.0 - p.blink_open_ratio, true),
        Action::OpenMouth => (p.mouth_open_delta, p.mouth_rest_delta, false),
        Action::TurnLeft | Action::TurnRight => {
            (p.turn_yaw_deg, p.turn_yaw_deg * p.return_fraction, true)
        }
        Action::Nod => (p.nod_pitch_deg, p.nod_pitch_deg * p.return_fraction, true),
        Action::MoveCloser => {
            let hi = p.closer_scale - 1.0;
            (hi, hi * p.return_fraction, false)
        }
        // Judged by the follow check, never by occurrences.
        Action::Look => (f32::INFINITY, f32::INFINITY, false),
    }
}

/// How far into `action` the face is, relative to the baseline.
fn excursion(action: Action, face: &FaceObs, b: &Baseline, p: &Policy) -> Option<f32> {
    let v = match action {
        Action::Blink => 1.0 - face.eye()? / b.eye?,
        Action::OpenMouth => {
            // Judged on near-frontal frames only: a turned or tilted head
            // foreshortens the mouth's width and reads as a wider opening.
            let turned = (face.yaw()? - b.yaw?).abs() > p.mouth_frontal_deg;
            let tilted = (face.pitch()? - b.pitch?).abs() > p.mouth_frontal_deg;
            if turned || tilted {
                return None;
            }
            face.mouth()? - b.mouth?
        }
        Action::TurnLeft => face.yaw()? - b.yaw?,
        Action::TurnRight => b.yaw? - face.yaw()?,
        Action::Nod => {
            // A turned head reads as pitched too: judge nods on frames
            // facing roughly forward.
            if (face.yaw()? - b.yaw?).abs() > p.nod_max_yaw_deg {
                return None;
            }
            (face.pitch()? - b.pitch?).abs()
        }
        Action::MoveCloser => face.size()? / b.size? - 1.0,
        Action::Look => return None,
    };
    v.is_finite().then_some(v)
}

pub(crate) fn occurrences(
    action: Action,
    samples: &[(i64, &FaceObs)],
    b: &Baseline,
    p: &Policy,
) -> Vec<Occurrence> {
    let (hi, lo, _) = thresholds(action, p);
    let mut out = Vec::new();
    let mut current: Option<i64> = None;
    for (t, face) in samples {
        let Some(v) = excursion(action, face, b, p) else {
            continue;
        };
        match current {
            None if v >= hi => current = Some(*t),
            Some(onset) if v <= lo => {
                out.push(Occurrence {
                    onset,
                    end: Some(*t),
                });
                current = None;
            }
            _ => {}
        }
    }
    if let Some(onset) = current {
        out.push(Occurrence { onset, end: None });
    }
    out
}

/// The step now open, if its action has been answered — seen since its reveal and, for the
/// actions that come back (blink, turns, nod), back at rest — measured as `check` will
/// measure it. `None` for a `look` step (its hold is its measurement) and for the last step.
pub(crate) fn open_step_answered(
    challenge: &Challenge,
    frames: &[crate::signals::FrameObs],
    p: &Policy,
) -> Option<usize> {
    let i = challenge.revealed_count().checked_sub(1)?;
    if i + 1 >= challenge.len() {
        return None;
    }
    let step = challenge.step(i)?;
    if step.action == Action::Look {
        return None;
    }
    let stream = Stream::new(challenge, frames, p);
    let baseline = Baseline::new(&stream, p);
    let since = step.revealed_at_ms.saturating_sub(p.reveal_slack_ms);
    let samples: Vec<(i64, &FaceObs)> = stream
        .samples()
        .into_iter()
        .filter(|(t, _)| *t >= since)
        .collect();
    let (_, _, needs_return) = thresholds(step.action, p);
    occurrences(step.action, &samples, &baseline, p)
        .iter()
        .any(|o| !needs_return || o.end.is_some())
        .then_some(i)
}

pub(crate) fn check(
    challenge: &Challenge,
    stream: &Stream,
    baseline: &Baseline,
    p: &Policy,
) -> Vec<SignalReport> {
    let samples = stream.samples();
    let actions = challenge.actions();
    let windows: Vec<Option<(i64, i64)>> =
        (0..actions.len()).map(|i| challenge.window(i)).collect();
    let mut out = Vec::new();
    let mut answered = 0usize;
    let mut budget = p.max_action_penalty;
    let following = following(challenge, p);
    for (i, &action) in actions.iter().enumerate() {
        if action == Action::Look {
            continue;
        }
        let name = format!("action.{i}.{}", action.name());
        let occs = occurrences(action, &samples, baseline, p);
        let (_, _, needs_return) = thresholds(action, p);
        let Some((open, close)) = windows.get(i).copied().flatten() else {
            out.push(missed(
                &name,
                &mut budget,
                p,
                "this step was never revealed".into(),
            ));
            continue;
        };
        let lo = open.saturating_sub(p.reveal_slack_ms);
        let hi = close.saturating_add(p.window_grace_ms);
        let back_by = hi.saturating_add(p.return_grace_ms);
        // Moves the follow part asked for are not anticipations.
        let early = occs.iter().find(|o| {
            o.onset < lo
                && o.onset >= open.saturating_sub(p.anticipation_lookback_ms)
                && !following(o.onset)
        });
        if let (Some(o), false) = (early, action == Action::Blink) {
            let ahead = open.saturating_sub(o.onset);
            out.push(SignalReport::attack(
                &name,
                Some(ahead as f32),
                AttackType::Injection,
                format!("{} began {ahead} ms before the step was revealed: the stream knew the challenge in advance", action.name()),
            ));
            continue;
        }
        let hit = occs.iter().find(|o| {
            o.onset >= lo && o.onset <= hi && (!needs_return || o.end.is_some_and(|e| e <= back_by))
        });
        if let Some(o) = hit {
            answered += 1;
            let latency = o.onset.saturating_sub(open);
            out.push(SignalReport::ok(
                &name,
                Some(latency as f32),
                p.missing_step_penalty,
                format!(
                    "{} seen {latency} ms after the reveal, inside its window",
                    action.name()
                ),
            ));
            continue;
        }
        out.push(missed(
            &name,
            &mut budget,
            p,
            why_missing(action, &occs, &windows, i),
        ));
    }
    out.push(stillness(stream, p));
    out.push(unrequested_turns(challenge, stream, baseline, p));
    let discrete = challenge.discrete_actions().len();
    if answered == 0 && discrete > 0 {
        out.push(SignalReport::attack(
            "actions.answered",
            Some(0.0),
            AttackType::Unsure,
            format!("none of the {discrete} requested actions was performed when asked"),
        ));
    } else {
        out.push(SignalReport::ok(
            "actions.answered",
            Some(answered as f32),
            0,
            format!("{answered} of {discrete} actions answered"),
        ));
    }
    out
}

/// Whether a time lies in the follow part, where the head turns and tilts as
/// the targets ask (the window grace included: the last move settles).
fn following(challenge: &Challenge, p: &Policy) -> impl Fn(i64) -> bool {
    let span = challenge.follow_span();
    let grace = p.window_grace_ms;
    move |t| span.is_some_and(|(open, close)| t >= open && t <= close.saturating_add(grace))
}

/// A step not answered: `missing_step_penalty` off until the budget of
/// `max_action_penalty` runs out; still reported as failed after that.
fn missed(name: &str, budget: &mut u8, p: &Policy, why: String) -> SignalReport {
    let d = p.missing_step_penalty.min(*budget);
    *budget -= d;
    SignalReport::new(
        name,
        None,
        p.missing_step_penalty,
        d,
        SignalOutcome::Deducted,
        why,
    )
}

fn why_missing(
    action: Action,
    occs: &[Occurrence],
    windows: &[Option<(i64, i64)>],
    i: usize,
) -> String {
    let elsewhere = occs.iter().find_map(|o| {
        windows
            .iter()
            .enumerate()
            .find(|(j, w)| *j != i && w.is_some_and(|(a, b)| o.onset >= a && o.onset < b))
            .map(|(j, _)| j)
    });
    match (elsewhere, occs.is_empty()) {
        (Some(j), _) => format!(
            "{} was done during step {j} instead: wrong order",
            action.name()
        ),
        (None, false) => format!(
            "{} happened, but not inside its window (or never came back)",
            action.name()
        ),
        (None, true) => format!("{} was not seen", action.name()),
    }
}

/// A head turn nobody asked for, after the challenge was issued: a clip
/// playing its own programme, not a person following the prompts. Only
/// turns count: they are deliberate and large, while people blink, talk and
/// shift on their own.
fn unrequested_turns(
    challenge: &Challenge,
    stream: &Stream,
    baseline: &Baseline,
    p: &Policy,
) -> SignalReport {
    let name = "actions.unrequested";
    let samples = stream.samples();
    let actions = challenge.actions();
    let following = following(challenge, p);
    for turn in [Action::TurnLeft, Action::TurnRight] {
        for o in occurrences(turn, &samples, baseline, p) {
            if o.onset < stream.issued_at_ms || following(o.onset) {
                continue;
            }
            // Only a step asking for this very turn counts: a clip shaking its head would
            // otherwise answer every turn step. A person who turns the wrong way first fails
            // this try and gets another.
            let asked = actions.iter().enumerate().any(|(i, a)| {
                *a == turn
                    && challenge.window(i).is_some_and(|(open, close)| {
                        o.onset >= open.saturating_sub(p.anticipation_lookback_ms)
                            && o.onset <= close.saturating_add(p.window_grace_ms)
                    })
            });
            if !asked {
                return SignalReport::attack(
                    name,
                    Some(o.onset.saturating_sub(stream.issued_at_ms) as f32),
                    AttackType::Unsure,
                    format!(
                        "{} {} ms into the challenge, when it was not asked: the stream does not follow the prompts",
                        turn.name(),
                        o.onset.saturating_sub(stream.issued_at_ms)
                    ),
                );
            }
        }
    }
    SignalReport::ok(name, Some(0.0), 0, "no head turn that was not asked".into())
}

/// A picture held still: pose, eyes, mouth and size all frozen while a
/// challenge ran. A living face cannot hold that still for seconds.
fn stillness(stream: &Stream, p: &Policy) -> SignalReport {
    let name = "motion.static";
    let faces: Vec<&FaceObs> = stream
        .challenge_frames()
        .filter_map(|f| f.single_face())
        .collect();
    if faces.len() < p.min_face_frames.max(2) {
        return SignalReport::unmeasured(name, 0, 0, "too few challenge frames with a face".into());
    }
    // Nothing measured counts as frozen: it proves no motion either.
    let range = |get: fn(&FaceObs) -> Option<f32>| spread(&faces, get);
    let size = range(FaceObs::size);
    let size_rel = faces
        .iter()
        .find_map(|f| f.size())
        .map_or(0.0, |s| size / s);
    let frozen = range(FaceObs::yaw) < p.static_pose_range_deg
        && range(FaceObs::pitch) < p.static_pose_range_deg
        && range(FaceObs::eye) < p.static_eye_range
        && range(FaceObs::mouth) < p.static_mouth_range
        && size_rel < p.static_size_range;
    let yaw = range(FaceObs::yaw);
    if frozen {
        SignalReport::attack(
            name,
            Some(yaw),
            AttackType::Presentation,
            format!(
                "nothing moved over {} challenge frames: a still picture",
                faces.len()
            ),
        )
    } else {
        SignalReport::ok(
            name,
            Some(yaw),
            0,
            format!(
                "the face moved (ranges: yaw {yaw:.1}°, pitch {:.1}°, eyes {:.3}, mouth {:.3}, size ×{:.3})",
                range(FaceObs::pitch),
                range(FaceObs::eye),
                range(FaceObs::mouth),
                size_rel
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(eye: f32, yaw: f32) -> FaceObs {
        FaceObs {
            left_eye: eye,
            right_eye: eye,
            mouth: 0.02,
            yaw,
            pitch: 0.0,
            roll: 0.0,
            face_size: 0.4,
            centre: [0.0, 0.0],
            sharpness: 50.0,
            brightness: 0.5,
            nose_offset: None,
            embedding: None,
        }
    }

    fn base() -> Baseline {
        Baseline {
            eye: Some(0.25),
            mouth: Some(0.02),
            yaw: Some(0.0),
            pitch: Some(0.0),
            size: Some(0.4),
            nose_offset: None,
        }
    }

    #[test]
    fn a_blink_dips_and_recovers() {
        let faces: Vec<FaceObs> = [0.25, 0.24, 0.05, 0.03, 0.22, 0.25]
            .iter()
            .map(|e| face(*e, 0.0))
            .collect();
        let s: Vec<(i64, &FaceObs)> = faces
            .iter()
            .enumerate()
            .map(|(i, f)| (i as i64 * 100, f))
            .collect();
        let o = occurrences(Action::Blink, &s, &base(), &Policy::default());
        assert_eq!(
            o,
            vec![Occurrence {
                onset: 200,
                end: Some(400)
            }]
        );
    }

    #[test]
    fn turns_are_signed_and_nan_is_skipped() {
        let faces: Vec<FaceObs> = [0.0, 10.0, 20.0, f32::NAN, 25.0, 5.0, -20.0]
            .iter()
            .map(|y| face(0.25, *y))
            .collect();
        let s: Vec<(i64, &FaceObs)> = faces
            .iter()
            .enumerate()
            .map(|(i, f)| (i as i64 * 100, f))
            .collect();
        let p = Policy::default();
        let left = occurrences(Action::TurnLeft, &s, &base(), &p);
        assert_eq!(
            left,
            vec![Occurrence {
                onset: 200,
                end: Some(500)
            }]
        );
        let right = occurrences(Action::TurnRight, &s, &base(), &p);
        assert_eq!(
            right,
            vec![Occurrence {
                onset: 600,
                end: None
            }]
        );
    }

    #[test]
    fn no_baseline_means_no_occurrence() {
        let f = face(0.0, 0.0);
        let s = vec![(0, &f)];
        let o = occurrences(Action::Blink, &s, &Baseline::default(), &Policy::default());
        assert!(o.is_empty());
    }
}
