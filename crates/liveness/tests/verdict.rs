//! The verdict over whole synthetic sessions: genuine subjects pass, the
//! score is explained by its signals, partial answers fail, and no input
//! (NaN, garbage, extreme times) panics or passes.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{explain, first_action, judge, scenario_where};
use openliveness_liveness::synth::{Scenario, ISSUED_AT_MS};
use openliveness_liveness::{
    decide, FrameObs, Policy, ProductLevel, SignalOutcome, StillObs, Verdict,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn genuine_standard_subjects_pass() {
    for seed in 0..40 {
        let v = judge(&Scenario::genuine(ProductLevel::Standard, seed));
        assert!(
            v.passed && v.score >= 50 && v.attack_type.is_none(),
            "seed {seed}: {}",
            explain(&v)
        );
    }
}

#[test]
fn genuine_pro_subjects_pass() {
    for seed in 0..40 {
        let v = judge(&Scenario::genuine(ProductLevel::Pro, seed));
        assert!(v.passed && v.score >= 50, "seed {seed}: {}", explain(&v));
    }
}

#[test]
fn the_score_is_explained_by_the_signals() {
    let mut s = Scenario::genuine(ProductLevel::Standard, 7);
    s.far.anti_spoof = Some(0.5);
    let v = judge(&s);
    let off: u32 = v
        .signals
        .iter()
        .map(|s| match s.outcome {
            SignalOutcome::Deducted | SignalOutcome::NotMeasured => u32::from(s.deduction),
            _ => 0,
        })
        .sum();
    assert_eq!(u32::from(v.score), 100 - off, "{}", explain(&v));
    assert!(
        v.score < 100 && v.passed,
        "a weak signal costs a little: {}",
        explain(&v)
    );
    let json = serde_json::to_string(&v).unwrap();
    let back: Verdict = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
}

#[test]
fn a_missing_action_fails_without_calling_it_an_attack() {
    let mut s = Scenario::new(ProductLevel::Standard, 11);
    s.respond();
    let k = first_action(&s);
    s.performances.remove(k);
    s.film();
    let v = judge(&s);
    assert!(!v.passed && v.score < 50, "{}", explain(&v));
    assert_eq!(v.attack_type, None, "{}", explain(&v));
    let step = v
        .signals
        .iter()
        .find(|x| x.name.starts_with(&format!("action.{k}.")))
        .unwrap();
    assert_eq!(step.outcome, SignalOutcome::Deducted);
}

#[test]
fn actions_in_the_wrong_order_fail() {
    let mut s = scenario_where(ProductLevel::Standard, |a| a.len() == 3);
    s.respond();
    let k = first_action(&s);
    let (a, b) = (s.performances[k].start_ms, s.performances[k + 1].start_ms);
    s.performances[k].start_ms = b;
    s.performances[k + 1].start_ms = a;
    s.film();
    let v = judge(&s);
    assert!(!v.passed, "{}", explain(&v));
    assert!(
        v.attack_type.is_none(),
        "one step still answered: {}",
        explain(&v)
    );
    assert!(
        v.signals
            .iter()
            .any(|x| x.explanation.contains("wrong order")),
        "{}",
        explain(&v)
    );
}

#[test]
fn missing_stills_fail_closed() {
    let s = Scenario::genuine(ProductLevel::Standard, 13);
    let v = decide(
        &s.challenge,
        &s.frames,
        Some(&s.far),
        None,
        &Policy::default(),
    );
    assert!(!v.passed, "{}", explain(&v));
}

#[test]
fn nan_observations_never_pass_and_never_panic() {
    let mut s = Scenario::genuine(ProductLevel::Standard, 14);
    for f in &mut s.frames {
        if let Some(face) = f.face.as_mut() {
            face.left_eye = f32::NAN;
            face.right_eye = f32::NAN;
            face.mouth = f32::NAN;
            face.yaw = f32::INFINITY;
            face.pitch = f32::NAN;
            face.face_size = f32::NAN;
            face.nose_offset = Some(f32::NAN);
            face.embedding = Some(vec![f32::NAN; 4]);
        }
    }
    s.near.face_size = f32::NAN;
    s.far.anti_spoof = Some(f32::NAN);
    let v = judge(&s);
    assert!(!v.passed, "{}", explain(&v));
    assert!(
        serde_json::to_string(&v).is_ok(),
        "NaN never reaches the report"
    );
}

#[test]
fn garbage_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(77);
    let pick = |rng: &mut StdRng| -> f32 {
        *[
            f32::NAN,
            f32::INFINITY,
            -f32::INFINITY,
            f32::MAX,
            -0.0,
            1e-30,
            0.3,
            -7.0,
        ]
        .get(rng.gen_range(0..8))
        .unwrap()
    };
    let time = |rng: &mut StdRng| -> i64 {
        *[i64::MIN, i64::MAX, 0, -1, 10_000, rng.gen()]
            .get(rng.gen_range(0..6))
            .unwrap()
    };
    for round in 0..300 {
        let s = Scenario::new(
            if round % 2 == 0 {
                ProductLevel::Standard
            } else {
                ProductLevel::Pro
            },
            round,
        );
        let frames: Vec<FrameObs> = (0..rng.gen_range(0..40))
            .map(|_| {
                let mut face = s.subject.face_at(ISSUED_AT_MS, &[], &mut rng);
                face.yaw = pick(&mut rng);
                face.left_eye = pick(&mut rng);
                face.face_size = pick(&mut rng);
                face.nose_offset = Some(pick(&mut rng));
                FrameObs {
                    seq: rng.gen(),
                    capture_ms: time(&mut rng),
                    arrival_ms: time(&mut rng),
                    face_count: rng.gen(),
                    face: rng.gen_bool(0.8).then_some(face),
                    content_hash: rng.gen_range(0..4),
                }
            })
            .collect();
        let still = |rng: &mut StdRng| StillObs {
            capture_ms: time(rng),
            arrival_ms: time(rng),
            face_count: rng.gen(),
            face_size: pick(rng),
            nose_to_face_width: Some(pick(rng)),
            eyes_to_face_width: None,
            anti_spoof: Some(pick(rng)),
            liveness: None,
            embedding: Some(vec![pick(rng); 3]),
        };
        let (far, near) = (still(&mut rng), still(&mut rng));
        let v = decide(
            &s.challenge,
            &frames,
            Some(&far),
            Some(&near),
            &Policy::default(),
        );
        assert!(v.score <= 100);
        assert!(!v.passed, "round {round}: {}", explain(&v));
    }
}

/// Not a benchmark (no timing assertion): shows one 60-frame verdict is cheap.

#[test]
fn a_sixty_frame_session_is_cheap_to_decide() {
    let mut s = Scenario::genuine(ProductLevel::Standard, 15);
    s.subject.fps = 4;
    s.film();
    let frames: Vec<FrameObs> = s.frames.iter().take(60).cloned().collect();
    assert_eq!(frames.len(), 60);
    let runs = 200;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        let v = decide(
            &s.challenge,
            &frames,
            Some(&s.far),
            Some(&s.near),
            &Policy::default(),
        );
        assert!(v.score <= 100);
    }
    eprintln!(
        "decide on 60 frames: {:?} per session",
        start.elapsed() / runs
    );
}
