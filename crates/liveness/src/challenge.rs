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
//! - every challenge opens with the follow part: `Look` steps whose targets
//!   are continuous random positions, each revealed only when the previous
//!   one's hold ends, then a last target in the centre. A library of recorded
//!   clips cannot hold an answer to every path (docs/liveness.md, §5);
//! - a `Look` step cannot be advanced early: its hold is the measurement;
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
    /// Turn the head towards the target the page draws (the follow part).
    /// Never drawn as a discrete action: it always carries a `Target`.
    Look,
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
            Action::Look => "look",
        }
    }
}

/// Where the page draws the follow target, in the user's own view: `x`
/// towards the user's right, `y` up, in thousandths of the reach (−1000…1000),
/// whatever way the page mirrors its preview. (0, 0) is straight ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub x_milli: i16,
    pub y_milli: i16,
}

impl Target {
    pub const CENTRE: Target = Target {
        x_milli: 0,
        y_milli: 0,
    };

    /// The target at `(x, y)`, each clamped to [−1, 1].
    pub fn at(x: f32, y: f32) -> Target {
        let milli = |v: f32| (v.clamp(-1.0, 1.0) * 1000.0).round() as i16;
        Target {
            x_milli: milli(x),
            y_milli: milli(y),
        }
    }

    pub fn x(self) -> f32 {
        f32::from(self.x_milli) / 1000.0
    }

    pub fn y(self) -> f32 {
        f32::from(self.y_milli) / 1000.0
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
    /// Off-centre targets of the follow part (a centre target follows them).
    /// Clamped to 3..=8: every try has a follow part. Default 5.
    pub follow_targets: usize,
    /// Each off-centre target is held for a random time in this range:
    /// a recording cannot know when the next move comes. Defaults 1400 and
    /// 2000 ms (one reaction, one movement, a moment to settle).
    pub follow_hold_min_ms: i64,
    pub follow_hold_max_ms: i64,
    /// How long the closing centre target is held. Default 1400 ms.
    pub follow_centre_hold_ms: i64,
    /// Nearest distance of an off-centre target from the centre, in percent
    /// of the reach (clamped to 30..=100). Default 75.
    pub follow_min_reach_pct: u8,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            standard_min_steps: 2,
            standard_max_steps: 3,
            pro_steps: 4,
            step_window_ms: 5_000,
            min_step_ms: 600,
            follow_targets: 5,
            follow_hold_min_ms: 1_400,
            follow_hold_max_ms: 2_000,
            follow_centre_hold_ms: 1_400,
            follow_min_reach_pct: 75,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Step {
    action: Action,
    revealed_at_ms: Option<i64>,
    /// `Look` steps: where the page draws the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<Target>,
    /// `Look` steps: the hold, instead of `step_window_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window_ms: Option<i64>,
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
    /// `Look` steps: where the page draws the target.
    pub target: Option<Target>,
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
    if let Some(a) = actions.get_mut(i) {
        *a = turn;
    }
    actions
}

/// The follow part: `n` off-centre targets at continuous random angles, each
/// at least 90° round from the one before (every move is a new direction),
/// at a random reach, held for a random time; then the centre.
fn follow_steps(policy: &ChallengePolicy, rng: &mut impl Rng) -> Vec<Step> {
    let n = policy.follow_targets.clamp(3, 8);
    let lo = policy.follow_hold_min_ms.clamp(500, 10_000);
    let hi = policy.follow_hold_max_ms.clamp(lo, 10_000);
    let reach_lo = f32::from(policy.follow_min_reach_pct.clamp(30, 100)) / 100.0;
    let mut angle: f32 = rng.gen_range(0.0..360.0);
    let mut steps = Vec::with_capacity(n + 1);
    for k in 0..n {
        if k > 0 {
            angle = (angle + rng.gen_range(90.0..270.0)) % 360.0;
        }
        let reach = rng.gen_range(reach_lo..=1.0);
        let (sin, cos) = angle.to_radians().sin_cos();
        steps.push(Step {
            action: Action::Look,
            revealed_at_ms: None,
            target: Some(Target::at(reach * cos, reach * sin)),
            window_ms: Some(rng.gen_range(lo..=hi)),
        });
    }
    steps.push(Step {
        action: Action::Look,
        revealed_at_ms: None,
        target: Some(Target::CENTRE),
        window_ms: Some(policy.follow_centre_hold_ms.clamp(500, 10_000)),
    });
    steps
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

    /// The follow part first (`follow_steps`), then the discrete actions.
    /// STANDARD: 2–3 distinct actions from all six. PRO: `pro_steps` distinct
    /// actions ending with `MoveCloser` (the far → near step). Either way, a
    /// challenge of two or more actions includes a turn, left or right.
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
                with_a_turn(pool.into_iter().take(n).collect(), n, rng)
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
        let mut steps = follow_steps(policy, rng);
        steps.extend(actions.into_iter().map(|action| Step {
            action,
            revealed_at_ms: None,
            target: None,
            window_ms: None,
        }));
        Challenge {
            nonce: format!("{:032x}", rng.gen::<u128>()),
            level,
            issued_at_ms: now_ms,
            step_window_ms: policy.step_window_ms.max(1),
            min_step_ms: policy.min_step_ms.clamp(0, policy.step_window_ms.max(1)),
            steps,
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

    /// The whole order, `Look` steps included. For the verdict and the audit
    /// trail only: never send this to the page.
    pub fn actions(&self) -> Vec<Action> {
        self.steps.iter().map(|s| s.action).collect()
    }

    /// The discrete actions, in order, without the follow part.
    pub fn discrete_actions(&self) -> Vec<Action> {
        self.steps
            .iter()
            .map(|s| s.action)
            .filter(|a| *a != Action::Look)
            .collect()
    }

    /// Every step's target (`None` for discrete actions), by index. For the
    /// verdict and the audit trail only.
    pub fn targets(&self) -> Vec<Option<Target>> {
        self.steps.iter().map(|s| s.target).collect()
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
            deadline_ms: revealed_at_ms
                .saturating_add(step.window_ms.unwrap_or(self.step_window_ms)),
            target: step.target,
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
            // A target's hold is its measurement: never cut short.
            Some(prev) if prev.action == Action::Look => Some(prev.deadline_ms),
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

    /// The follow part's span on the server clock: from the first target's
    /// reveal to the close of the last target revealed so far.
    pub fn follow_span(&self) -> Option<(i64, i64)> {
        let looks: Vec<usize> = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.action == Action::Look)
            .map(|(i, _)| i)
            .collect();
        let open = self.window(*looks.first()?)?.0;
        let close = looks
            .iter()
            .filter_map(|i| self.window(*i))
            .map(|w| w.1)
            .max()?;
        Some((open, close))
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
            let acts = c.discrete_actions();
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
                let acts = Challenge::draw(level, &mut rng, 0).discrete_actions();
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
            let acts = Challenge::draw(ProductLevel::Pro, &mut rng, 0).discrete_actions();
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

    /// Reveals the follow part at each hold's end; returns when it ended.
    fn through_follow(c: &mut Challenge, from: i64) -> i64 {
        let mut t = from;
        while c.next_due_at().is_some() && c.revealed_count() < c.len() {
            let i = c.revealed_count();
            if c.actions()[i] != Action::Look {
                break;
            }
            t = c.next_due_at().unwrap().max(t);
            c.reveal_next(t).unwrap();
        }
        c.next_due_at().unwrap()
    }

    #[test]
    fn steps_stay_hidden_until_revealed_in_order() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut c = Challenge::draw(ProductLevel::Pro, &mut rng, 1_000);
        assert!(c.step(0).is_none());
        assert_eq!(c.next_due_at(), Some(1_000));
        let look = c.reveal_next(1_000).unwrap();
        assert_eq!(look.action, Action::Look);
        assert!(c.step(1).is_none());
        assert_eq!(
            c.reveal_next(1_700),
            Err(ChallengeError::NotDue {
                earliest_ms: look.deadline_ms
            }),
            "a target's hold is never cut short"
        );
        let t0 = through_follow(&mut c, look.deadline_ms);
        let k = c.revealed_count();
        assert_eq!(k, 6, "five targets and the centre");
        let s0 = c.reveal_next(t0).unwrap();
        assert_eq!((s0.index, s0.deadline_ms, s0.target), (k, t0 + 5_000, None));
        assert!(c.step(k + 1).is_none());
        assert_eq!(
            c.reveal_next(t0 + 200),
            Err(ChallengeError::NotDue {
                earliest_ms: t0 + 600
            })
        );
        c.reveal_next(t0 + 1_000).unwrap();
        assert_eq!(
            c.window(k),
            Some((t0, t0 + 1_000)),
            "early advance closes it"
        );
        c.reveal_next(t0 + 6_000).unwrap();
        c.reveal_next(t0 + 11_000).unwrap();
        assert!(c.all_revealed());
        assert_eq!(c.reveal_next(t0 + 20_000), Err(ChallengeError::AllRevealed));
        assert_eq!(c.window(k + 3), Some((t0 + 11_000, t0 + 16_000)));
        assert_eq!(c.last_deadline(), Some(t0 + 16_000));
        assert_eq!(c.follow_span(), Some((1_000, t0)));
    }

    #[test]
    fn targets_are_continuous_far_apart_and_end_in_the_centre() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut distinct = HashSet::new();
        for _ in 0..200 {
            let c = Challenge::draw(ProductLevel::Standard, &mut rng, 0);
            let targets: Vec<Target> = c.targets().into_iter().flatten().collect();
            assert_eq!(targets.len(), 6);
            assert_eq!(targets.last(), Some(&Target::CENTRE));
            for pair in targets[..5].windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let dot = a.x() * b.x() + a.y() * b.y();
                let reach = |t: Target| (t.x() * t.x() + t.y() * t.y()).sqrt();
                assert!(reach(a) >= 0.74 && reach(a) <= 1.001, "{a:?}");
                assert!(dot <= 0.01, "each move turns by 90° or more: {a:?} {b:?}");
            }
            distinct.extend(targets);
        }
        assert!(distinct.len() > 700, "positions are not from a small set");
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
            ..ChallengePolicy::default()
        };
        let s = Challenge::draw_with(ProductLevel::Standard, &policy, &mut rng, i64::MAX);
        assert_eq!(s.discrete_actions().len(), 6);
        assert_eq!(s.len(), 6 + 5 + 1, "five targets and the centre");
        let p = Challenge::draw_with(ProductLevel::Pro, &policy, &mut rng, i64::MAX);
        assert_eq!(p.discrete_actions(), vec![Action::MoveCloser]);
        let mut p = p;
        assert!(p.reveal_next(i64::MAX).is_ok());
        assert!(p.window(0).is_some());
    }
}
