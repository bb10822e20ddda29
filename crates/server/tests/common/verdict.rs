//! Verdicts for tests that finish sessions through the store: a genuine try judged by the
//! real liveness core, the record the live channel stores with it, and the check that a
//! served `data.decision` says exactly what that verdict said.

use openliveness_liveness::synth::Scenario;
use openliveness_liveness::{
    decide, Challenge, Policy, ProductLevel, QualityOutcome, SignalOutcome, Verdict,
};
use openliveness_store::{SessionResult, SessionStatus};
use serde_json::{json, Value};

use super::{now_ms, TestApp};

/// A genuine synthetic subject's try, judged by the real verdict: every signal it emits.
pub fn genuine_try(seed: u64) -> (Challenge, Verdict) {
    let s = Scenario::genuine(ProductLevel::Standard, seed);
    let v = decide(
        &s.challenge,
        &s.frames,
        Some(&s.far),
        Some(&s.near),
        &Policy::default(),
    );
    (s.challenge, v)
}

/// A drawn challenge, for verdicts made by hand.
pub fn some_challenge(seed: u64) -> Challenge {
    Scenario::new(ProductLevel::Standard, seed).challenge
}

/// The record `live/record.rs` stores as `SessionResult.signals`, field for field.
pub fn stored_try(try_no: u32, challenge: &Challenge, verdict: &Verdict) -> String {
    json!({
        "tryNo": try_no,
        "nonce": challenge.nonce(),
        "challenge": challenge.actions().iter().map(|a| a.name()).collect::<Vec<_>>(),
        "frames": 120,
        "costMs": {"measure": 812.4, "decide": 0.37},
        "verdict": verdict,
    })
    .to_string()
}

impl TestApp {
    /// Records `verdict` for `sid` as the live channel does: code, score, attack type, the
    /// try record and a far still.
    pub async fn finish_with_verdict(&self, sid: &str, challenge: &Challenge, verdict: &Verdict) {
        let far = self.blobs.put(b"\xff\xd8\xff far".to_vec()).await.unwrap();
        self.store
            .finish_session(
                sid,
                None,
                if verdict.passed {
                    SessionStatus::Passed
                } else {
                    SessionStatus::Failed
                },
                SessionResult {
                    outcome: openliveness_server::live::record::outcome(verdict),
                    score: verdict
                        .quality
                        .is_none()
                        .then_some(i64::from(verdict.score)),
                    attack_type: verdict.attack_type.map(|a| i64::from(a.code())),
                    signals: Some(stored_try(1, challenge, verdict)),
                    image_far_blob: Some(far),
                    far_image_time: Some(now_ms()),
                    ..SessionResult::of(openliveness_server::live::record::outcome(verdict))
                },
                now_ms(),
            )
            .await
            .unwrap();
    }
}

/// The two facades' spellings of the decision.
#[derive(Clone, Copy, PartialEq)]
pub enum Casing {
    Advance,
    TrustDecision,
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Asserts that the OpenAPI document's schema `name` requires exactly the keys of `served`.
pub async fn assert_schema_matches(app: &TestApp, name: &str, served: &Value) {
    let doc = app
        .send(reqwest::Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let schema = &doc["components"]["schemas"][name];
    let mut required: Vec<String> = schema["required"]
        .as_array()
        .unwrap_or_else(|| panic!("openapi.json: {name} has no required list"))
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    required.sort();
    assert_eq!(
        required,
        keys(served),
        "openapi.json {name} vs served {served}"
    );
}

/// Asserts that `data` holds exactly the vendor's `vendor_keys` plus `decision`.
pub fn assert_vendor_keys_and_decision(data: &Value, vendor_keys: &[&str]) {
    let mut want = vendor_keys.to_vec();
    want.push("decision");
    assert_eq!(keys(data), sorted(&want), "data: {data}");
}

/// Asserts that a served decision is `verdict`, signal for signal, in `casing`'s words.
pub fn assert_decision(d: &Value, challenge: &Challenge, verdict: &Verdict, casing: Casing) {
    let td = casing == Casing::TrustDecision;
    let k = |advance: &'static str, trustdecision: &'static str| {
        if td {
            trustdecision
        } else {
            advance
        }
    };
    assert_eq!(
        keys(d),
        sorted(&[
            k("tryNo", "try_no"),
            "challenge",
            "score",
            "threshold",
            "passed",
            "signals"
        ]),
        "decision: {d}"
    );
    assert_eq!(d[k("tryNo", "try_no")], 1);
    let names: Vec<&str> = challenge.actions().iter().map(|a| a.name()).collect();
    assert_eq!(d["challenge"], json!(names));
    match verdict.quality {
        None => assert_eq!(d["score"], verdict.score),
        Some(_) => assert!(d["score"].is_null(), "no score with a quality outcome: {d}"),
    }
    assert_eq!(d["threshold"], verdict.threshold);
    assert_eq!(d["passed"], verdict.passed);
    let served = d["signals"].as_array().expect("signals is an array");
    assert!(!served.is_empty());
    assert_eq!(served.len(), verdict.signals.len(), "signals: {d}");
    for (s, want) in served.iter().zip(&verdict.signals) {
        assert_eq!(
            keys(s),
            sorted(&[
                "name",
                "outcome",
                k("attackType", "attack_type"),
                k("qualityCode", "quality_code"),
                "value",
                "weight",
                "deduction",
                "explanation"
            ]),
            "signal: {s}"
        );
        assert_eq!(s["name"], want.name.as_str());
        assert_eq!(s["weight"], want.weight, "{s}");
        assert_eq!(s["deduction"], want.deduction, "{s}");
        assert_eq!(s["explanation"], want.explanation.as_str());
        match want.value {
            None => assert!(s["value"].is_null(), "{s}"),
            Some(v) => {
                let got = s["value"].as_f64().unwrap_or_else(|| panic!("value: {s}"));
                assert!(
                    (got - f64::from(v)).abs() <= 1e-6 * (1.0 + got.abs()),
                    "{s}"
                );
            }
        }
        let (word, attack, quality) = match want.outcome {
            SignalOutcome::Ok => ("OK", None, None),
            SignalOutcome::Deducted => ("DEDUCTED", None, None),
            SignalOutcome::NotMeasured => ("NOT_MEASURED", None, None),
            SignalOutcome::Attack(a) => ("ATTACK", Some(a.code()), None),
            SignalOutcome::Quality(q) => ("QUALITY", None, Some(quality_code(q))),
        };
        let word = if td {
            word.to_ascii_lowercase()
        } else {
            word.to_owned()
        };
        assert_eq!(s["outcome"], word, "{s}");
        assert_eq!(s[k("attackType", "attack_type")], json!(attack), "{s}");
        assert_eq!(s[k("qualityCode", "quality_code")], json!(quality), "{s}");
    }
}

fn quality_code(q: QualityOutcome) -> &'static str {
    match q {
        QualityOutcome::NoFace => "NO_FACE_DETECTED",
        QualityOutcome::TooManyFaces => "TOO_MANY_FACES_DETECTED",
        QualityOutcome::InvalidFace => "INVALID_FACE_DETECTED",
        QualityOutcome::Occluded => "FACE_OCCLUDED",
        QualityOutcome::PoorQuality => "FACE_QUALITY_TOO_POOR",
    }
}
