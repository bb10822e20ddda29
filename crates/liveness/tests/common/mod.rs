//! Helpers shared by the verdict tests: judging a scenario and explaining a
//! verdict when an assertion fails.
#![allow(dead_code)] // each test crate uses its own subset

use openliveness_liveness::synth::{Scenario, ISSUED_AT_MS};
use openliveness_liveness::{
    decide, Action, AttackType, FrameObs, Policy, ProductLevel, SignalOutcome, Verdict,
};

pub fn judge(s: &Scenario) -> Verdict {
    decide(
        &s.challenge,
        &s.frames,
        Some(&s.far),
        Some(&s.near),
        &Policy::default(),
    )
}

pub fn explain(v: &Verdict) -> String {
    let lines: Vec<String> = v
        .signals
        .iter()
        .filter(|s| s.outcome != SignalOutcome::Ok)
        .map(|s| {
            format!(
                "  {} {:?} -{} {:?}: {}",
                s.name, s.value, s.deduction, s.outcome, s.explanation
            )
        })
        .collect();
    format!(
        "score {} attack {:?} quality {:?}\n{}",
        v.score,
        v.attack_type,
        v.quality,
        lines.join("\n")
    )
}

pub fn assert_attack(v: &Verdict, kind: AttackType) {
    assert!(!v.passed, "{}", explain(v));
    assert_eq!(v.score, 0, "{}", explain(v));
    assert_eq!(v.attack_type, Some(kind), "{}", explain(v));
}

/// Index of the first discrete action: the follow part's targets come first.
pub fn first_action(s: &Scenario) -> usize {
    s.challenge.len() - s.challenge.discrete_actions().len()
}

/// First seed whose discrete actions satisfy `want`.
pub fn scenario_where(level: ProductLevel, want: impl Fn(&[Action]) -> bool) -> Scenario {
    (0..500)
        .map(|seed| Scenario::new(level, seed))
        .find(|s| want(&s.challenge.discrete_actions()))
        .expect("some seed draws it")
}

pub fn challenge_frames(s: &mut Scenario) -> impl Iterator<Item = &mut FrameObs> {
    s.frames.iter_mut().filter(|f| f.arrival_ms >= ISSUED_AT_MS)
}
