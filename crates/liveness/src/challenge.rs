//! The random challenge of one try: which actions, in which order, bound to a
//! one-time nonce, with a time window per step.
//!
//! Invariants:
//! - a step is visible (`step`) only once it has been revealed, and steps are
//!   revealed strictly in order, never before the previous step has run for
//!   `min_step_ms`; so the page cannot learn the order ahead of time;
//! - a step's window runs from its reveal to the next step's reveal or to
//!   `step_window_ms` after its own reveal, whichever is first; windows never
//!   overlap, so "in order" follows from "inside its window";
//! - every challenge of two or more steps includes a head turn: the turn's
//!   parallax (the nose moving across the face outline) is the strongest
//!   3-D evidence the frames carry, stronger than far/near perspective,
//!   which the landmark model flattens (docs/liveness.md);
//! - all times are the server's clock, in milliseconds.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Something the subject is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    Blink,
    OpenMouth,
    /// Turn the head to the subject's own left (see `FaceObs::yaw`).
    TurnLeft,
    /// Turn the head to the subject's own right.
    TurnRight,
    Nod,
    /// Bring the face closer to the camera (far → near).
    MoveCloser,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Blink,
        Action::OpenMouth,
        Action::TurnLeft,
        Action::TurnRight,
        Action::Nod,
        Action::MoveCloser,
    ];

    /// Stable lower-case name, used in signal names.
    pub fn name(self) -> &'static str {
        match self {
            Action::Blink => "blink",
            Action::OpenMouth => "open_mouth",
            Action::TurnLeft => "turn_left",
            Action::TurnRight => "turn_right",
            Action::Nod => "nod",
            Action::MoveCloser => "move_closer",
        }
    }
}

/// The vendor's `productLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductLevel {
    Standard,
    Pro,
}

/// How challenges are drawn. Out-of-range values are clamped, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChallengePolicy {
    /// Fewest actions in a STANDARD challenge. Default 2.
    pub standard_min_steps: usize,
    /// Most actions in a STANDARD challenge. Default 3.
    pub standard_max_steps: usize,
    /// Actions in a PRO challenge, the last always `MoveCloser`. Default 4.
    pub pro_steps: usize,
    /// Longest window of one step, from its reveal. Default 5000 ms.
    pub step_window_ms: i64,
    /// Shortest time a step stays current before the next may be revealed
    /// early; stops a page from flushing all steps at once. Default 600 ms.
    pub min_step_ms: i64,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            standard_min_steps: 2,
            standard_max_steps: 3,
            pro_steps: 4,
            step_window_ms: 5_000,
            min_step_ms: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Step {
    action: Action,
    revealed_at_ms: Option<i64>,
}

/// What the page may know about one step, once revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub index: usize,
    pub total: usize,
    pub action: Action,
    pub revealed_at_ms: i64,
    /// The step's window closes here at the latest (earlier if the next step
    /// is revealed first).
    pub deadline_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChallengeError {
    #[error("every step has already been revealed")]
    AllRevealed,
    #[error("the next step is not due before {earliest_ms}")]
    NotDue { earliest_ms: i64 },
}

/// Puts a turn into `actions` if it has none and the challenge has `total ≥ 2`
/// steps: a random one of them becomes a random turn.
fn with_a_turn(mut actions: Vec<Action>, total: usize, rng: &mut impl Rng) -> Vec<Action> {
    let is_turn = |a: &Action| matches!(a, Action::TurnLeft | Action::TurnRight);
    if total < 2 || actions.is_empty() || actions.iter().any(is_turn) {
        return actions;
    }
    let turn = if rng.gen_bool(0.5) {
        Action::TurnLeft
    } else {
        Action::TurnRight
    };
    let i = rng.gen_range(0..actions.len());
    actions[i] = turn;
    actions
}

/// One try's challenge. Fields are private so the order cannot leak by
/// accident; `actions()` exists for the verdict and the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    nonce: String,
    level: ProductLevel,
    issued_at_ms: i64,
    step_window_ms: i64,
    min_step_ms: i64,
    steps: Vec<Step>,
}

impl Challenge {
    /// Draws a challenge with the default policy.
    pub fn draw(level: ProductLevel, rng: &mut impl Rng, now_ms: i64) -> Challenge {
        Challenge::draw_with(level, &ChallengePolicy::default(), rng, now_ms)
    }

    /// STANDARD: 2–3 distinct actions from all six. PRO: `pro_steps` distinct
    /// actions ending with `MoveCloser` (the far → near step). Either way, a
    /// challenge of two or more steps includes a turn, left or right.
    pub fn draw_with(
        level: ProductLevel,
        policy: &ChallengePolicy,
        rng: &mut impl Rng,
        now_ms: i64,
    ) -> Challenge {
        let all = Action::ALL.len();
        let actions: Vec<Action> = match level {
            ProductLevel::Standard => {
                let lo = policy.standard_min_steps.clamp(1, all);
                let hi = policy.standard_max_steps.clamp(lo, all);
                let n = rng.gen_range(lo..=hi);
                let mut pool = Action::ALL;
                pool.shuffle(rng);
                with_a_turn(pool[..n].to_vec(), n, rng)
            }
            ProductLevel::Pro => {
                let n = policy.pro_steps.clamp(1, all);
                let mut pool: Vec<Action> = Action::ALL
                    .into_iter()
                    .filter(|a| *a != Action::MoveCloser)
                    .collect();
                pool.shuffle(rng);
                pool.truncate(n - 1);
                let mut pool = with_a_turn(pool, n, rng);
                pool.push(Action::MoveCloser);
                pool
            }
        };
        Challenge {
            nonce: format!("{:032x}", rng.gen::<u128>()),
            level,
            issued_at_ms: now_ms,
            step_window_ms: policy.step_window_ms.max(1),
            min_step_ms: policy.min_step_ms.clamp(0, policy.step_window_ms.max(1)),
            steps: actions
                .into_iter()
                .map(|action| Step {
                    action,
                    revealed_at_ms: None,
                })
                .collect(),
        }
    }

    /// 128-bit random, lower-case hex; binds frames and stills to this try.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    pub fn level(&self) -> ProductLevel {
        self.level
    }

    pub fn issued_at_ms(&self) -> i64 {
        self.issued_at_ms
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The whole order. For the verdict and the audit trail only: never send
    /// this to the page.
    pub fn actions(&self) -> Vec<Action> {
        self.steps.iter().map(|s| s.action).collect()
    }

    pub fn revealed_count(&self) -> usize {
        self.steps
            .iter()
            .take_while(|s| s.revealed_at_ms.is_some())
            .count()
    }

    pub fn all_revealed(&self) -> bool {
        self.revealed_count() == self.steps.len()
    }

    /// Step `i`, if it has been revealed; `None` for a step still hidden.
    pub fn step(&self, i: usize) -> Option<StepView> {
        let step = self.steps.get(i)?;
        let revealed_at_ms = step.revealed_at_ms?;
        Some(StepView {
            index: i,
            total: self.steps.len(),
            action: step.action,
            revealed_at_ms,
            deadline_ms: revealed_at_ms.saturating_add(self.step_window_ms),
        })
    }

    /// Step `i`'s window `[open, close)` on the server clock, once revealed.
    pub fn window(&self, i: usize) -> Option<(i64, i64)> {
        let view = self.step(i)?;
        let close = match self.steps.get(i + 1).and_then(|s| s.revealed_at_ms) {
            Some(next) => next.min(view.deadline_ms),
            None => view.deadline_ms,
        };
        Some((view.revealed_at_ms, close))
    }

    /// When the next step becomes due on its own (the current step's
    /// deadline), or `None` when every step is out. Step 0 is due at issue.
    pub fn next_due_at(&self) -> Option<i64> {
        let n = self.revealed_count();
        if n >= self.steps.len() {
            return None;
        }
        match n.checked_sub(1).and_then(|p| self.step(p)) {
            Some(prev) => Some(prev.deadline_ms),
            None => Some(self.issued_at_ms),
        }
    }

    /// Earliest time the next step may be revealed early.
    fn earliest_reveal(&self) -> Option<i64> {
        let n = self.revealed_count();
        if n >= self.steps.len() {
            return None;
        }
        match n.checked_sub(1).and_then(|p| self.step(p)) {
            Some(prev) => Some(prev.revealed_at_ms.saturating_add(self.min_step_ms)),
            None => Some(self.issued_at_ms),
        }
    }

    /// Reveals the next step at `now_ms` and returns what the page may see.
    pub fn reveal_next(&mut self, now_ms: i64) -> Result<StepView, ChallengeError> {
        let earliest = self.earliest_reveal().ok_or(ChallengeError::AllRevealed)?;
        if now_ms < earliest {
            return Err(ChallengeError::NotDue {
                earliest_ms: earliest,
            });
        }
        let i = self.revealed_count();
        let step = self.steps.get_mut(i).ok_or(ChallengeError::AllRevealed)?;
        step.revealed_at_ms = Some(now_ms);
        self.step(i).ok_or(ChallengeError::AllRevealed)
    }

    /// When the last step's window closes, once every step is out.
    pub fn last_deadline(&self) -> Option<i64> {
        if !self.all_revealed() {
            return None;
        }
        self.steps
            .len()
            .checked_sub(1)
            .and_then(|i| self.step(i))
            .map(|v| v.deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn standard_draws_two_or_three_distinct_actions() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut lens = HashSet::new();
        for _ in 0..200 {
            let c = Challenge::draw(ProductLevel::Standard, &mut rng, 0);
            let acts = c.actions();
            lens.insert(acts.len());
            assert!((2..=3).contains(&acts.len()));
            let distinct: HashSet<_> = acts.iter().collect();
            assert_eq!(distinct.len(), acts.len());
        }
        assert_eq!(lens.len(), 2, "both lengths occur");
    }

    #[test]
    fn every_challenge_has_a_turn_and_every_action_occurs() {
        let mut rng = StdRng::seed_from_u64(6);
        let mut seen = HashSet::new();
        let mut firsts = HashSet::new();
        for level in [ProductLevel::Standard, ProductLevel::Pro] {
            for _ in 0..300 {
                let acts = Challenge::draw(level, &mut rng, 0).actions();
                assert!(
                    acts.iter()
                        .any(|a| matches!(a, Action::TurnLeft | Action::TurnRight)),
                    "{acts:?}"
                );
                seen.extend(acts.iter().copied());
                firsts.insert(acts[0]);
            }
        }
        assert_eq!(seen.len(), Action::ALL.len());
        assert!(
            firsts.len() >= 5,
            "the first step is not predictable: {firsts:?}"
        );
    }

    #[test]
    fn pro_draws_four_and_ends_far_to_near() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..100 {
            let acts = Challenge::draw(ProductLevel::Pro, &mut rng, 0).actions();
            assert_eq!(acts.len(), 4);
            assert_eq!(acts.last(), Some(&Action::MoveCloser));
            let distinct: HashSet<_> = acts.iter().collect();
            assert_eq!(distinct.len(), 4);
        }
    }

    #[test]
    fn nonce_is_128_bit_hex_and_fresh() {
        let mut rng = StdRng::seed_from_u64(3);
        let a = Challenge::draw(ProductLevel::Standard, &mut rng, 0);
        let b = Challenge::draw(ProductLevel::Standard, &mut rng, 0);
        assert_eq!(a.nonce().len(), 32);
        assert!(a.nonce().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.nonce(), b.nonce());
    }

    #[test]
    fn steps_stay_hidden_until_revealed_in_order() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut c = Challenge::draw(ProductLevel::Pro, &mut rng, 1_000);
        assert!(c.step(0).is_none());
        assert_eq!(c.next_due_at(), Some(1_000));
        let s0 = c.reveal_next(1_000).unwrap();
        assert_eq!((s0.index, s0.deadline_ms), (0, 6_000));
        assert!(c.step(1).is_none());
        assert_eq!(
            c.reveal_next(1_200),
            Err(ChallengeError::NotDue { earliest_ms: 1_600 })
        );
        c.reveal_next(2_000).unwrap();
        assert_eq!(c.window(0), Some((1_000, 2_000)), "early advance closes it");
        c.reveal_next(7_000).unwrap();
        c.reveal_next(12_000).unwrap();
        assert!(c.all_revealed());
        assert_eq!(c.reveal_next(20_000), Err(ChallengeError::AllRevealed));
        assert_eq!(c.window(3), Some((12_000, 17_000)));
        assert_eq!(c.last_deadline(), Some(17_000));
    }

    #[test]
    fn absurd_policy_is_clamped_not_a_panic() {
        let mut rng = StdRng::seed_from_u64(5);
        let policy = ChallengePolicy {
            standard_min_steps: 9,
            standard_max_steps: 0,
            pro_steps: 0,
            step_window_ms: -5,
            min_step_ms: i64::MAX,
        };
        let s = Challenge::draw_with(ProductLevel::Standard, &policy, &mut rng, i64::MAX);
        assert_eq!(s.len(), 6);
        let p = Challenge::draw_with(ProductLevel::Pro, &policy, &mut rng, i64::MAX);
        assert_eq!(p.actions(), vec![Action::MoveCloser]);
        let mut p = p;
        assert!(p.reveal_next(i64::MAX).is_ok());
        assert!(p.window(0).is_some());
    }
}
