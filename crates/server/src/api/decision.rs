//! The signals behind the score, as both facades serve them: `data.decision` of Get Result
//! (camelCase, the vendor's upper-case words) and of the TrustDecision result (snake_case,
//! lower-case words). `docs/api.md` documents the shape; `docs/liveness.md` §4 every signal.
//!
//! Why `data` and not the envelope's `extra`: the ADVANCE document describes `extra` as
//! "exception message" and we already answer a string there (ConfigureUI constants), so a
//! client may well decode it as a string; an object would break that client. `data` is the
//! object the vendor itself grows across versions (`multiDevice` and `useSlaveUrl` appear in
//! some of its examples and not in others), so an added key is what clients already ignore.
//!
//! Invariants:
//! - the stored record (`live/record.rs` writes it) is read into the typed structs below and
//!   written out field by field; nothing stored is passed through as raw JSON, and only the
//!   verdict is served: no nonce, no timings, no images, nothing about the person;
//! - present only for a finished session whose record reads; otherwise absent, never an
//!   error (a record that does not read is logged, the answer is served without it);
//! - the vendors' own fields are not touched: this adds one key to their `data`.

use openliveness_liveness::{AttackType, QualityOutcome, SignalOutcome};
use openliveness_store::Session;
use serde::{Deserialize, Serialize};

/// The parts of the stored try record that are served.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredTry {
    try_no: u32,
    challenge: Vec<String>,
    verdict: StoredVerdict,
}

#[derive(Deserialize)]
struct StoredVerdict {
    score: u8,
    threshold: u8,
    passed: bool,
    quality: Option<QualityOutcome>,
    signals: Vec<StoredSignal>,
}

/// One `SignalReport` as stored. The verdict measures in f32 and the record holds it widened
/// to f64 (0.62 stored as 0.6200000047683716); `shortest_f32` serves the f32's own decimal.
#[derive(Deserialize)]
struct StoredSignal {
    name: String,
    value: Option<f64>,
    weight: u8,
    deduction: u8,
    outcome: SignalOutcome,
    explanation: String,
}

/// `x` as the shortest decimal that reads back as the same f32: the number the verdict meant.
fn shortest_f32(x: f64) -> f64 {
    (x as f32).to_string().parse().unwrap_or(x)
}

/// A finished session's verdict and the signals behind it, in neither facade's words yet.
pub struct Decision {
    try_no: u32,
    challenge: Vec<String>,
    /// `None` for a face-quality outcome, like `data.score`.
    score: Option<u8>,
    threshold: u8,
    passed: bool,
    signals: Vec<Signal>,
}

struct Signal {
    name: String,
    outcome: Outcome,
    value: Option<f64>,
    weight: u8,
    deduction: u8,
    explanation: String,
}

#[derive(Clone, Copy)]
enum Outcome {
    Ok,
    Deducted,
    NotMeasured,
    Attack(AttackType),
    Quality(QualityOutcome),
}

impl Outcome {
    fn of(o: SignalOutcome) -> Outcome {
        match o {
            SignalOutcome::Ok => Outcome::Ok,
            SignalOutcome::Deducted => Outcome::Deducted,
            SignalOutcome::NotMeasured => Outcome::NotMeasured,
            SignalOutcome::Attack(a) => Outcome::Attack(a),
            SignalOutcome::Quality(q) => Outcome::Quality(q),
        }
    }

    /// The ADVANCE word; the TrustDecision one is its lower case.
    fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Deducted => "DEDUCTED",
            Outcome::NotMeasured => "NOT_MEASURED",
            Outcome::Attack(_) => "ATTACK",
            Outcome::Quality(_) => "QUALITY",
        }
    }

    fn td_word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Deducted => "deducted",
            Outcome::NotMeasured => "not_measured",
            Outcome::Attack(_) => "attack",
            Outcome::Quality(_) => "quality",
        }
    }

    /// The vendor's `attackType` code, for an attack signal.
    fn attack_type(self) -> Option<u8> {
        match self {
            Outcome::Attack(a) => Some(a.code()),
            _ => None,
        }
    }

    /// Get Result's code for a face-quality signal.
    fn quality_code(self) -> Option<&'static str> {
        match self {
            Outcome::Quality(q) => Some(quality_code(q)),
            _ => None,
        }
    }
}

/// The primary contract's code for a face-quality outcome (a quality signal's
/// `qualityCode`): the code Get Result answers for it.
pub fn quality_code(q: QualityOutcome) -> &'static str {
    super::advance::result_code(openliveness_store::Outcome::Quality(
        crate::live::record::quality_issue(q),
    ))
}

impl Decision {
    /// The decision of a finished session, if its record holds one.
    pub fn of(session: &Session) -> Option<Decision> {
        if !session.status.is_finished() {
            return None;
        }
        let result = session.result.as_ref()?;
        if matches!(
            result.outcome,
            openliveness_store::Outcome::LockedOut | openliveness_store::Outcome::NotCompleted
        ) {
            return None;
        }
        let stored = result.signals.as_deref()?;
        match Decision::read(stored) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(
                    signature_id = session.signature_id(),
                    error = %e,
                    "stored verdict record does not read; served without its signals"
                );
                None
            }
        }
    }

    fn read(stored: &str) -> Result<Decision, serde_json::Error> {
        let t: StoredTry = serde_json::from_str(stored)?;
        let v = t.verdict;
        Ok(Decision {
            try_no: t.try_no,
            challenge: t.challenge,
            score: v.quality.is_none().then_some(v.score),
            threshold: v.threshold,
            passed: v.passed,
            signals: v
                .signals
                .into_iter()
                .map(|s| Signal {
                    name: s.name,
                    outcome: Outcome::of(s.outcome),
                    value: s.value.filter(|x| x.is_finite()).map(shortest_f32),
                    weight: s.weight,
                    deduction: s.deduction,
                    explanation: s.explanation,
                })
                .collect(),
        })
    }

    /// Get Result's `data.decision`.
    pub fn advance(&self) -> AdvanceDecision<'_> {
        AdvanceDecision {
            try_no: self.try_no,
            challenge: &self.challenge,
            score: self.score,
            threshold: self.threshold,
            passed: self.passed,
            signals: self
                .signals
                .iter()
                .map(|s| AdvanceSignal {
                    name: &s.name,
                    outcome: s.outcome.word(),
                    attack_type: s.outcome.attack_type(),
                    quality_code: s.outcome.quality_code(),
                    value: s.value,
                    weight: s.weight,
                    deduction: s.deduction,
                    explanation: &s.explanation,
                })
                .collect(),
        }
    }

    /// The TrustDecision result's `data.decision`.
    pub fn trustdecision(&self) -> TdDecision<'_> {
        TdDecision {
            try_no: self.try_no,
            challenge: &self.challenge,
            score: self.score,
            threshold: self.threshold,
            passed: self.passed,
            signals: self
                .signals
                .iter()
                .map(|s| TdSignal {
                    name: &s.name,
                    outcome: s.outcome.td_word(),
                    attack_type: s.outcome.attack_type(),
                    quality_code: s.outcome.quality_code(),
                    value: s.value,
                    weight: s.weight,
                    deduction: s.deduction,
                    explanation: &s.explanation,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceDecision<'a> {
    try_no: u32,
    challenge: &'a [String],
    score: Option<u8>,
    threshold: u8,
    passed: bool,
    signals: Vec<AdvanceSignal<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdvanceSignal<'a> {
    name: &'a str,
    outcome: &'static str,
    attack_type: Option<u8>,
    quality_code: Option<&'static str>,
    value: Option<f64>,
    weight: u8,
    deduction: u8,
    explanation: &'a str,
}

#[derive(Serialize)]
pub struct TdDecision<'a> {
    try_no: u32,
    challenge: &'a [String],
    score: Option<u8>,
    threshold: u8,
    passed: bool,
    signals: Vec<TdSignal<'a>>,
}

#[derive(Serialize)]
struct TdSignal<'a> {
    name: &'a str,
    outcome: &'static str,
    attack_type: Option<u8>,
    quality_code: Option<&'static str>,
    value: Option<f64>,
    weight: u8,
    deduction: u8,
    explanation: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &str = r#"{"tryNo":2,"nonce":"n","challenge":["blink","turn_left"],"frames":40,
        "costMs":{"measure":1.5,"decide":0.25},
        "verdict":{"score":0,"threshold":50,"passed":false,"attack_type":"INJECTION","quality":null,
        "signals":[
          {"name":"timing.burst","value":0.3,"weight":100,"deduction":100,"outcome":{"ATTACK":"INJECTION"},"explanation":"e1"},
          {"name":"faces.count","value":null,"weight":100,"deduction":0,"outcome":{"QUALITY":"NO_FACE"},"explanation":"e2"},
          {"name":"pad.replay","value":0.6200000047683716,"weight":7,"deduction":2,"outcome":"DEDUCTED","explanation":"e3"}]}}"#;

    #[test]
    fn reads_the_stored_record_and_speaks_each_facade() {
        let d = Decision::read(STORED).unwrap();
        let a = serde_json::to_value(d.advance()).unwrap();
        assert_eq!(a["tryNo"], 2);
        assert_eq!(a["challenge"], serde_json::json!(["blink", "turn_left"]));
        assert_eq!(a["score"], 0);
        assert!(a.get("nonce").is_none() && a.get("costMs").is_none());
        let s = &a["signals"];
        assert_eq!(s[0]["outcome"], "ATTACK");
        assert_eq!(s[0]["attackType"], 2);
        assert_eq!(s[0]["value"].to_string(), "0.3");
        assert_eq!(
            s[2]["value"].to_string(),
            "0.62",
            "an f32 widened when stored"
        );
        assert_eq!(s[1]["outcome"], "QUALITY");
        assert_eq!(s[1]["qualityCode"], "NO_FACE_DETECTED");
        assert!(s[1]["value"].is_null());
        assert_eq!(
            (s[2]["outcome"].as_str(), s[2]["deduction"].as_u64()),
            (Some("DEDUCTED"), Some(2))
        );
        let t = serde_json::to_value(d.trustdecision()).unwrap();
        assert_eq!(t["try_no"], 2);
        assert_eq!(t["signals"][0]["outcome"], "attack");
        assert_eq!(t["signals"][0]["attack_type"], 2);
        assert_eq!(t["signals"][1]["quality_code"], "NO_FACE_DETECTED");
    }

    #[test]
    fn a_record_without_a_verdict_does_not_read() {
        assert!(Decision::read("[]").is_err());
        assert!(Decision::read(r#"{"tryNo":1,"challenge":[]}"#).is_err());
    }
}
