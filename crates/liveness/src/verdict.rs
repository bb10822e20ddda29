//! The verdict: runs every check over one try's frames and stills and turns
//! their reports into a score, an attack type or a face-quality outcome.
//!
//! Invariants:
//! - score = 100 − Σ deductions, clamped to 0..=100, unless an attack or a
//!   quality outcome is judged (then 0); the signals list says why;
//! - `attack_type` is set exactly when the score is 0 and no quality outcome
//!   applies (the vendor contract: "set when score is 0"); a deduction-only
//!   score of 0 is "unsure";
//! - precedence: injection > presentation > quality outcome > unsure > score,
//!   because evidence that the stream was forged makes every other reading
//!   of it meaningless;
//! - `passed` only with no attack, no quality outcome and score ≥ threshold.

use serde::{Deserialize, Serialize};

use crate::challenge::Challenge;
use crate::checks::{actions, faces, follow, geometry, joins, replay, timing, Baseline, Stream};
use crate::policy::Policy;
use crate::signals::{FrameObs, Seen, StillObs};

/// The vendor's `attackType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttackType {
    /// Something was shown to the camera: a picture, a screen, a second face.
    Presentation = 1,
    /// The stream did not come live from a camera: replay, forged timing,
    /// duplicated frames, a face swapped in.
    Injection = 2,
    /// Nothing was answered, but no forgery was proven.
    Unsure = 3,
}

impl AttackType {
    /// The vendor's numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Face-quality outcomes (the vendor's deprecated codes, reported with a
/// null score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QualityOutcome {
    NoFace,
    TooManyFaces,
    InvalidFace,
    Occluded,
    PoorQuality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignalOutcome {
    /// Measured and consistent with a live subject; nothing deducted.
    Ok,
    /// Measured and doubtful; `deduction` points off.
    Deducted,
    /// Could not be measured; `deduction` says what that cost.
    NotMeasured,
    /// Evidence of an attack of this type: the score is 0.
    Attack(AttackType),
    /// The face could not be judged.
    Quality(QualityOutcome),
}

/// One line of the explanation behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalReport {
    /// Dotted name, e.g. `timing.burst`, `action.1.turn_left`.
    pub name: String,
    /// The measured quantity (unit in the explanation); `None` if unmeasured.
    pub value: Option<f32>,
    /// Most points this signal can take off (100 for attack signals).
    pub weight: u8,
    /// Points it took off this time.
    pub deduction: u8,
    pub outcome: SignalOutcome,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// 0..=100; meaningless (0) when `quality` is set.
    pub score: u8,
    /// The threshold the score was held against.
    pub threshold: u8,
    pub passed: bool,
    pub attack_type: Option<AttackType>,
    pub quality: Option<QualityOutcome>,
    pub signals: Vec<SignalReport>,
}

/// What the page of a rejected try may tell its user: a cause a genuine person can fix.
///
/// The rule: a hint names only what the user controls — their face in the picture, the
/// light, nobody else in view, an action they did not do in time — and only when no signal
/// judged an attack. A try caught by any anti-spoofing check (replay, injection, a flat
/// face, a clip that does not follow) gets no hint, so an attacker never learns which check
/// caught them; neither does a score lost to doubtful signals alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Hint {
    /// No face, or it left the picture.
    FaceLost,
    /// More than one face was seen.
    TwoFaces,
    /// The face was covered, cut off or turned away.
    FaceHidden,
    /// Too dark, too blurred, or too few frames arrived.
    PoorQuality,
    /// These actions (by name, in challenge order) were not seen in their windows.
    ActionsMissed { actions: Vec<String> },
}

impl Verdict {
    /// The hint for this verdict's page ([`Hint`] says the rule).
    pub fn hint(&self) -> Option<Hint> {
        if self.passed || self.attack_type.is_some() {
            return None;
        }
        if self
            .signals
            .iter()
            .any(|s| matches!(s.outcome, SignalOutcome::Attack(_)))
        {
            return None;
        }
        if let Some(q) = self.quality {
            return Some(match q {
                QualityOutcome::NoFace => Hint::FaceLost,
                QualityOutcome::TooManyFaces => Hint::TwoFaces,
                QualityOutcome::InvalidFace | QualityOutcome::Occluded => Hint::FaceHidden,
                QualityOutcome::PoorQuality => Hint::PoorQuality,
            });
        }
        // `action.{i}.{name}`: a step not answered in its window costs points.
        let actions: Vec<String> = self
            .signals
            .iter()
            .filter(|s| s.outcome == SignalOutcome::Deducted && s.deduction > 0)
            .filter_map(|s| {
                let mut parts = s.name.split('.');
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some("action"), Some(i), Some(name), None) if i.parse::<u32>().is_ok() => {
                        Some(name.to_owned())
                    }
                    _ => None,
                }
            })
            .collect();
        (!actions.is_empty()).then_some(Hint::ActionsMissed { actions })
    }
}

/// Judges one try. `frames` are every frame of the try, positioning
/// included, ideally in arrival order; `far`/`near` are the stills.
/// Without the cross-session fingerprints: see `decide_seen`.
pub fn decide(
    challenge: &Challenge,
    frames: &[FrameObs],
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    policy: &Policy,
) -> Verdict {
    decide_seen(challenge, frames, far, near, &Seen::default(), policy)
}

/// `decide`, with what the server found of this try among other sessions'
/// fingerprints.
pub fn decide_seen(
    challenge: &Challenge,
    frames: &[FrameObs],
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    seen: &Seen,
    policy: &Policy,
) -> Verdict {
    let stream = Stream::new(challenge, frames, policy);
    let baseline = Baseline::new(&stream, policy);
    let mut signals = timing::check(&stream, near, policy);
    signals.push(replay::check(challenge, &stream, seen, policy));
    signals.push(joins::check(&stream, policy));
    signals.extend(faces::check(&stream, far, near, policy));
    signals.extend(follow::check(challenge, &stream, &baseline, policy));
    signals.extend(actions::check(challenge, &stream, &baseline, policy));
    signals.extend(geometry::check(&stream, &baseline, far, near, policy));
    assemble(signals, policy)
}

fn assemble(signals: Vec<SignalReport>, policy: &Policy) -> Verdict {
    let has = |kind: AttackType| {
        signals
            .iter()
            .any(|s| s.outcome == SignalOutcome::Attack(kind))
    };
    let quality = signals.iter().find_map(|s| match s.outcome {
        SignalOutcome::Quality(q) => Some(q),
        _ => None,
    });
    let deductions: u32 = signals
        .iter()
        .filter(|s| {
            matches!(
                s.outcome,
                SignalOutcome::Deducted | SignalOutcome::NotMeasured
            )
        })
        .map(|s| u32::from(s.deduction))
        .sum();
    let raw = 100u32.saturating_sub(deductions) as u8;
    let (score, attack_type, quality) = if has(AttackType::Injection) {
        (0, Some(AttackType::Injection), None)
    } else if has(AttackType::Presentation) {
        (0, Some(AttackType::Presentation), None)
    } else if quality.is_some() {
        (0, None, quality)
    } else if has(AttackType::Unsure) || raw == 0 {
        (0, Some(AttackType::Unsure), None)
    } else {
        (raw, None, None)
    };
    let passed = attack_type.is_none() && quality.is_none() && score >= policy.pass_threshold;
    Verdict {
        score,
        threshold: policy.pass_threshold,
        passed,
        attack_type,
        quality,
        signals,
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    fn signal(name: &str, deduction: u8, outcome: SignalOutcome) -> SignalReport {
        SignalReport {
            name: name.to_owned(),
            value: None,
            weight: 30,
            deduction,
            outcome,
            explanation: String::new(),
        }
    }

    fn rejected(signals: Vec<SignalReport>) -> Verdict {
        Verdict {
            score: 40,
            threshold: 60,
            passed: false,
            attack_type: None,
            quality: None,
            signals,
        }
    }

    #[test]
    fn a_genuine_user_learns_what_to_fix_and_an_attacker_learns_nothing() {
        let missed = rejected(vec![
            signal("action.0.look", 0, SignalOutcome::Ok),
            signal("action.6.blink", 30, SignalOutcome::Deducted),
            signal("action.7.nod", 30, SignalOutcome::Deducted),
            signal("identity.same_person", 15, SignalOutcome::Deducted),
        ]);
        assert_eq!(
            missed.hint(),
            Some(Hint::ActionsMissed {
                actions: vec!["blink".into(), "nod".into()]
            })
        );
        let json = serde_json::to_value(missed.hint()).unwrap();
        assert_eq!(json["code"], "ACTIONS_MISSED");
        // Any attack signal, even beside a missed action: no hint at all.
        let mut caught = missed.clone();
        caught.signals.push(signal(
            "pad.replay",
            100,
            SignalOutcome::Attack(AttackType::Injection),
        ));
        assert_eq!(caught.hint(), None);
        caught.signals.pop();
        caught.attack_type = Some(AttackType::Presentation);
        assert_eq!(caught.hint(), None);
        // Points lost to doubtful signals alone: nothing to name.
        let doubtful = rejected(vec![signal("follow.path", 30, SignalOutcome::Deducted)]);
        assert_eq!(doubtful.hint(), None);
        // Face quality: the fixable cause.
        let dark = Verdict {
            quality: Some(QualityOutcome::PoorQuality),
            ..rejected(vec![])
        };
        assert_eq!(dark.hint(), Some(Hint::PoorQuality));
        let two = Verdict {
            quality: Some(QualityOutcome::TooManyFaces),
            ..rejected(vec![])
        };
        assert_eq!(
            serde_json::to_value(two.hint()).unwrap()["code"],
            "TWO_FACES"
        );
        let passed = Verdict {
            passed: true,
            ..missed
        };
        assert_eq!(passed.hint(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(outcome: SignalOutcome, deduction: u8) -> SignalReport {
        SignalReport {
            name: "x".into(),
            value: None,
            weight: 100,
            deduction,
            outcome,
            explanation: String::new(),
        }
    }

    #[test]
    fn score_is_100_minus_deductions() {
        let v = assemble(
            vec![
                sig(SignalOutcome::Deducted, 20),
                sig(SignalOutcome::NotMeasured, 10),
                sig(SignalOutcome::Ok, 0),
            ],
            &Policy::default(),
        );
        assert_eq!((v.score, v.passed, v.attack_type), (70, true, None));
    }

    #[test]
    fn precedence_injection_presentation_quality_unsure() {
        let p = Policy::default();
        let inj = sig(SignalOutcome::Attack(AttackType::Injection), 100);
        let pres = sig(SignalOutcome::Attack(AttackType::Presentation), 100);
        let q = sig(SignalOutcome::Quality(QualityOutcome::NoFace), 0);
        let uns = sig(SignalOutcome::Attack(AttackType::Unsure), 100);
        let v = assemble(vec![q.clone(), pres.clone(), inj], &p);
        assert_eq!((v.score, v.attack_type), (0, Some(AttackType::Injection)));
        let v = assemble(vec![q.clone(), pres], &p);
        assert_eq!(v.attack_type, Some(AttackType::Presentation));
        let v = assemble(vec![uns.clone(), q], &p);
        assert_eq!(
            (v.attack_type, v.quality),
            (None, Some(QualityOutcome::NoFace))
        );
        let v = assemble(vec![uns], &p);
        assert_eq!(v.attack_type, Some(AttackType::Unsure));
        assert!(!v.passed);
    }

    #[test]
    fn deductions_reaching_zero_read_as_unsure() {
        let v = assemble(
            vec![
                sig(SignalOutcome::Deducted, 70),
                sig(SignalOutcome::Deducted, 55),
            ],
            &Policy::default(),
        );
        assert_eq!((v.score, v.attack_type), (0, Some(AttackType::Unsure)));
        assert_eq!(AttackType::Unsure.code(), 3);
    }

    #[test]
    fn below_threshold_fails_without_attack() {
        let v = assemble(vec![sig(SignalOutcome::Deducted, 55)], &Policy::default());
        assert_eq!((v.score, v.passed, v.attack_type), (45, false, None));
    }
}
