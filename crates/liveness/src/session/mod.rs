//! The per-session state machine: events in, effects out, no I/O.
//!
//! ```text
//! Created ─PageOpened─▶ Opened ─Positioned─▶ Positioned ─ChallengeRequested─▶ Challenged
//!                         ▲                                                       │ FrameReceived
//!                         │ PageOpened (new try, while tries remain)              ▼
//!                       Failed ◀─Verdict(fail)── Verifying ◀──Finished──────── Capturing
//!                         ▲                          │ Verdict(pass)              │ StepAdvanced / Tick
//!                         │ try timed out,           ▼                            ▼ (reveal next step)
//!                         │ abandoned or broken    Passed
//!   any non-terminal state ──Tick/any event past the URL deadline──▶ Expired
//! ```
//!
//! Invariants:
//! - time-based transitions (URL deadline, try time limit, due steps) are
//!   applied first, on every event, from the event's own `now_ms`;
//! - an event that does not fit the state is an error, and when a try is in
//!   progress that try fails (fail closed). `apply` may therefore change the
//!   session even when it returns `Err`: persist it after every call;
//! - every try gets a new challenge; `try_no` never exceeds `tries_allowed`.

mod types;

pub use types::{Effect, Event, FailReason, SessionPolicy, SessionState, TransitionError};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::challenge::{Challenge, ProductLevel};

/// How long a verification may run before a session left in it (its connection died with
/// the process) counts as abandoned. A verdict takes seconds.
pub const VERIFY_LIMIT_MS: i64 = 60_000;

/// One session (one signatureId). Plain data: serialize it to persist it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    state: SessionState,
    level: ProductLevel,
    policy: SessionPolicy,
    created_at_ms: i64,
    tries_allowed: u32,
    /// 0 before the first try starts.
    try_no: u32,
    try_started_at_ms: i64,
    challenge: Option<Challenge>,
    frames_this_try: u32,
    last_seq: Option<u32>,
    /// Latest `now_ms` seen, so a clock stepping back cannot reopen a window.
    clock_ms: i64,
    /// When the running verification started (`Finished`); 0 before any.
    #[serde(default)]
    verifying_since_ms: i64,
}

impl Session {
    pub fn new(
        created_at_ms: i64,
        tries_allowed: u32,
        level: ProductLevel,
        policy: SessionPolicy,
    ) -> Session {
        Session {
            state: SessionState::Created,
            level,
            policy,
            created_at_ms,
            tries_allowed: tries_allowed.max(1),
            try_no: 0,
            try_started_at_ms: created_at_ms,
            challenge: None,
            frames_this_try: 0,
            last_seq: None,
            clock_ms: created_at_ms,
            verifying_since_ms: 0,
        }
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }

    pub fn try_no(&self) -> u32 {
        self.try_no
    }

    pub fn tries_allowed(&self) -> u32 {
        self.tries_allowed
    }

    pub fn level(&self) -> ProductLevel {
        self.level
    }

    /// The current (or last) try's challenge, for the verdict.
    pub fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_ref()
    }

    pub fn expires_at_ms(&self) -> i64 {
        self.created_at_ms.saturating_add(self.policy.url_ttl_ms)
    }

    /// Applies one event. See the module invariants for what `Err` means.
    pub fn apply(
        &mut self,
        event: Event,
        rng: &mut impl Rng,
    ) -> Result<Vec<Effect>, TransitionError> {
        self.clock_ms = self.clock_ms.max(event.now_ms());
        let now = self.clock_ms;
        let mut effects = Vec::new();
        self.advance_clock(now, &mut effects)?;
        if self.state == SessionState::Expired {
            return match event {
                Event::Tick { .. } => Ok(effects),
                _ => Err(TransitionError::Expired),
            };
        }
        if let Event::Tick { .. } = event {
            return Ok(effects);
        }
        // The clock ended the try as this event arrived (it came after the deadline), or the
        // try already ended and the page has not heard yet: a frame, a finish or a request in
        // flight then is moot, not a violation. It is dropped, and the try's failure is
        // what the page hears (losing it here once left a page waiting forever).
        let try_over = effects
            .iter()
            .any(|e| matches!(e, Effect::TryFailed { .. }))
            || matches!(
                self.state,
                SessionState::Failed {
                    retry_allowed: true,
                    ..
                }
            );
        if try_over
            && matches!(
                event,
                Event::FrameReceived { .. }
                    | Event::Finished { .. }
                    | Event::Positioned { .. }
                    | Event::ChallengeRequested { .. }
            )
        {
            return Ok(effects);
        }
        match self.transition(&event, now, rng, &mut effects) {
            Ok(()) => Ok(effects),
            Err(err) => {
                if self.state.try_running() {
                    self.fail_try(FailReason::ProtocolViolation, &mut effects);
                }
                Err(err)
            }
        }
    }

    /// URL deadline, try time limit, and steps that fell due.
    fn advance_clock(
        &mut self,
        now: i64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), TransitionError> {
        // A finished session keeps its outcome; only live ones can expire.
        if self.state.is_terminal() {
            return Ok(());
        }
        if now >= self.expires_at_ms() {
            self.state = SessionState::Expired;
            effects.push(Effect::SessionExpired);
            return Ok(());
        }
        if !self.state.try_running() {
            return Ok(());
        }
        if now >= self.try_deadline() {
            self.fail_try(FailReason::TimedOut, effects);
            return Ok(());
        }
        if matches!(
            self.state,
            SessionState::Challenged | SessionState::Capturing
        ) {
            if let Some(challenge) = self.challenge.as_mut() {
                while challenge.next_due_at().is_some_and(|due| now >= due) {
                    let step = challenge.reveal_next(now)?;
                    effects.push(Effect::RevealStep { step });
                }
            }
        }
        Ok(())
    }

    fn transition(
        &mut self,
        event: &Event,
        now: i64,
        rng: &mut impl Rng,
        effects: &mut Vec<Effect>,
    ) -> Result<(), TransitionError> {
        use SessionState as S;
        if self.state.is_terminal() {
            return Err(TransitionError::Terminal {
                state: self.state.name(),
            });
        }
        match (&self.state, event) {
            (S::Created, Event::PageOpened { .. }) => self.start_try(now, effects),
            // A reload before the challenge keeps the try: nothing was asked yet.
            (S::Opened | S::Positioned, Event::PageOpened { .. }) => self.state = S::Opened,
            (S::Challenged | S::Capturing, Event::PageOpened { .. }) => {
                self.fail_try(FailReason::Abandoned, effects);
                if self.retry_allowed() {
                    self.start_try(now, effects);
                }
            }
            (
                S::Failed {
                    retry_allowed: true,
                    ..
                },
                Event::PageOpened { .. },
            ) => self.start_try(now, effects),
            (S::Opened | S::Positioned, Event::Positioned { .. }) => self.state = S::Positioned,
            (S::Positioned, Event::ChallengeRequested { .. }) => {
                let mut challenge =
                    Challenge::draw_with(self.level, &self.policy.challenge, rng, now);
                let first = challenge.reveal_next(now)?;
                effects.push(Effect::ChallengeIssued {
                    try_no: self.try_no,
                    nonce: challenge.nonce().to_string(),
                    steps: challenge.len(),
                });
                effects.push(Effect::RevealStep { step: first });
                self.challenge = Some(challenge);
                self.state = S::Challenged;
            }
            (
                S::Opened | S::Positioned | S::Challenged | S::Capturing,
                Event::FrameReceived { seq, .. },
            ) => {
                self.accept_frame(*seq)?;
                if self.state == S::Challenged {
                    self.state = S::Capturing;
                }
            }
            (S::Challenged | S::Capturing, Event::StepAdvanced { from, .. }) => {
                let err = self.invalid(event);
                let challenge = self.challenge.as_mut().ok_or(err)?;
                if challenge.revealed_count().checked_sub(1) == Some(*from) {
                    let step = challenge.reveal_next(now)?;
                    effects.push(Effect::RevealStep { step });
                }
            }
            (S::Capturing, Event::Finished { .. }) => {
                let challenge = self.challenge.as_ref().ok_or(self.invalid(event))?;
                if !challenge.all_revealed() {
                    return Err(TransitionError::ChallengeIncomplete {
                        revealed: challenge.revealed_count(),
                        total: challenge.len(),
                    });
                }
                self.state = S::Verifying;
                self.verifying_since_ms = now;
                effects.push(Effect::StartVerification {
                    try_no: self.try_no,
                });
            }
            (S::Verifying, Event::Verdict { passed: true, .. }) => {
                self.state = S::Passed;
                effects.push(Effect::SessionPassed {
                    try_no: self.try_no,
                });
            }
            (S::Verifying, Event::Verdict { passed: false, .. }) => {
                self.fail_try(FailReason::Rejected, effects);
            }
            _ => return Err(self.invalid(event)),
        }
        Ok(())
    }

    fn invalid(&self, event: &Event) -> TransitionError {
        TransitionError::InvalidTransition {
            state: self.state.name(),
            event: event.name(),
        }
    }

    /// Fails the running try for a reason found outside the state machine (a malformed
    /// message, an undecodable image, a flood of frames): the try fails closed. No effect
    /// when no try is running.
    pub fn abort_try(&mut self, now_ms: i64, reason: FailReason) -> Vec<Effect> {
        self.clock_ms = self.clock_ms.max(now_ms);
        let mut effects = Vec::new();
        if self.state.try_running() || self.state == SessionState::Verifying {
            self.fail_try(reason, &mut effects);
        }
        effects
    }

    /// When the running try fails as timed out: its time limit, or earlier the last step's
    /// deadline plus the grace for the stills and `Finished`.
    fn try_deadline(&self) -> i64 {
        let limit = self
            .try_started_at_ms
            .saturating_add(self.policy.try_time_limit_ms);
        self.challenge
            .as_ref()
            .and_then(Challenge::last_deadline)
            .map(|d| d.saturating_add(self.policy.finish_grace_ms))
            .map_or(limit, |finish| finish.min(limit))
    }

    /// When the server must look at this session again if no page is connected: the URL
    /// deadline, and while a try runs its time limit (or its verdict's, for a verification
    /// whose connection died). `None` once nothing can change any more.
    pub fn unattended_deadline(&self) -> Option<i64> {
        let expires = self.expires_at_ms();
        let due = match &self.state {
            s if s.is_terminal() => return None,
            SessionState::Verifying => self.verifying_since_ms.saturating_add(VERIFY_LIMIT_MS),
            s if s.try_running() => self.try_deadline(),
            _ => expires,
        };
        Some(due.min(expires))
    }

    /// Advances the clock of a session no page is connected to: a try whose time ran out
    /// while its page was gone fails as [`FailReason::Abandoned`] (and so does a
    /// verification whose connection died), the URL expires at its deadline.
    pub fn unattended(&mut self, now_ms: i64) -> Vec<Effect> {
        let verifying_since =
            (self.state == SessionState::Verifying).then_some(self.verifying_since_ms);
        self.clock_ms = self.clock_ms.max(now_ms);
        let now = self.clock_ms;
        let mut effects = Vec::new();
        if self.state.try_running() && now < self.expires_at_ms() {
            let due = self.unattended_deadline().unwrap_or(i64::MAX);
            if now >= due {
                self.fail_try(FailReason::Abandoned, &mut effects);
                return effects;
            }
        }
        if verifying_since.is_some_and(|since| now >= since.saturating_add(VERIFY_LIMIT_MS))
            && now < self.expires_at_ms()
        {
            self.fail_try(FailReason::Abandoned, &mut effects);
            return effects;
        }
        // Only a step reveal can fail here, and no page is there to be shown one: the
        // deadlines above are what matters.
        let _revealed = self.advance_clock(now, &mut effects).is_ok();
        effects
    }

    fn retry_allowed(&self) -> bool {
        self.try_no < self.tries_allowed
    }

    fn start_try(&mut self, now: i64, effects: &mut Vec<Effect>) {
        self.try_no = self.try_no.saturating_add(1);
        self.try_started_at_ms = now;
        self.challenge = None;
        self.frames_this_try = 0;
        self.last_seq = None;
        self.state = SessionState::Opened;
        effects.push(Effect::TryStarted {
            try_no: self.try_no,
        });
    }

    fn fail_try(&mut self, reason: FailReason, effects: &mut Vec<Effect>) {
        let retry_allowed = self.retry_allowed();
        self.state = SessionState::Failed {
            reason,
            retry_allowed,
        };
        effects.push(Effect::TryFailed {
            try_no: self.try_no,
            reason,
            retry_allowed,
        });
    }

    fn accept_frame(&mut self, seq: u32) -> Result<(), TransitionError> {
        if let Some(last) = self.last_seq {
            if seq <= last {
                return Err(TransitionError::SeqNotIncreasing { last, got: seq });
            }
        }
        if self.frames_this_try >= self.policy.max_frames_per_try {
            return Err(TransitionError::TooManyFrames {
                limit: self.policy.max_frames_per_try,
            });
        }
        self.frames_this_try += 1;
        self.last_seq = Some(seq);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn a_finished_session_never_turns_into_expired() {
        let mut r = StdRng::seed_from_u64(0);
        let mut s = Session::new(0, 1, ProductLevel::Standard, SessionPolicy::default());
        s.apply(Event::PageOpened { now_ms: 0 }, &mut r).unwrap();
        s.apply(Event::Tick { now_ms: 200_000 }, &mut r).unwrap();
        assert!(s.state().is_terminal());
        assert_eq!(
            s.apply(Event::Tick { now_ms: 9_000_000 }, &mut r),
            Ok(vec![])
        );
        assert_eq!(s.state().name(), "failed");
    }

    #[test]
    fn a_frame_after_the_time_limit_gets_the_failure_not_a_violation() {
        let mut r = StdRng::seed_from_u64(0);
        let policy = SessionPolicy::default();
        let late = policy.try_time_limit_ms + 10;
        let mut s = Session::new(0, 2, ProductLevel::Standard, policy);
        s.apply(Event::PageOpened { now_ms: 0 }, &mut r).unwrap();
        s.apply(Event::FrameReceived { now_ms: 5, seq: 1 }, &mut r)
            .unwrap();
        // The frame that arrives past the limit: the try's time-out is the answer.
        let fx = s
            .apply(
                Event::FrameReceived {
                    now_ms: late,
                    seq: 2,
                },
                &mut r,
            )
            .unwrap();
        assert_eq!(
            fx,
            vec![Effect::TryFailed {
                try_no: 1,
                reason: FailReason::TimedOut,
                retry_allowed: true,
            }]
        );
        // Frames still in flight after that are dropped, and the page can start again.
        for event in [
            Event::FrameReceived {
                now_ms: late + 1,
                seq: 3,
            },
            Event::Finished { now_ms: late + 2 },
        ] {
            assert_eq!(s.apply(event, &mut r), Ok(vec![]));
        }
        let fx = s
            .apply(Event::PageOpened { now_ms: late + 3 }, &mut r)
            .unwrap();
        assert_eq!(fx, vec![Effect::TryStarted { try_no: 2 }]);
    }

    #[test]
    fn a_try_whose_page_left_ends_at_its_limit_and_the_url_at_its_deadline() {
        let mut r = StdRng::seed_from_u64(0);
        let policy = SessionPolicy::default();
        let limit = policy.try_time_limit_ms;
        let mut s = Session::new(0, 2, ProductLevel::Standard, policy);
        assert_eq!(s.unattended_deadline(), Some(3_600_000));
        s.apply(Event::PageOpened { now_ms: 10 }, &mut r).unwrap();
        assert_eq!(s.unattended_deadline(), Some(10 + limit));
        // Before the limit nothing happens.
        assert_eq!(s.unattended(limit), vec![]);
        assert_eq!(s.state(), &SessionState::Opened);
        let fx = s.unattended(10 + limit);
        assert_eq!(
            fx,
            vec![Effect::TryFailed {
                try_no: 1,
                reason: FailReason::Abandoned,
                retry_allowed: true,
            }]
        );
        // A try is left: the session waits for its page until the URL runs out.
        assert_eq!(s.unattended_deadline(), Some(3_600_000));
        assert_eq!(s.unattended(3_600_000), vec![Effect::SessionExpired]);
        assert_eq!(s.unattended_deadline(), None);
    }

    #[test]
    fn a_verification_left_by_a_dead_connection_is_abandoned() {
        let mut s = Session::new(0, 1, ProductLevel::Standard, SessionPolicy::default());
        s.state = SessionState::Verifying;
        s.try_no = 1;
        s.clock_ms = 5_000;
        s.verifying_since_ms = 5_000;
        assert_eq!(s.unattended_deadline(), Some(5_000 + VERIFY_LIMIT_MS));
        assert_eq!(s.unattended(5_000 + VERIFY_LIMIT_MS - 1), vec![]);
        let fx = s.unattended(5_000 + VERIFY_LIMIT_MS);
        assert_eq!(
            fx,
            vec![Effect::TryFailed {
                try_no: 1,
                reason: FailReason::Abandoned,
                retry_allowed: false,
            }]
        );
        assert_eq!(s.unattended_deadline(), None);
    }

    #[test]
    fn tries_allowed_is_at_least_one_and_counts_up() {
        let mut r = StdRng::seed_from_u64(0);
        let mut s = Session::new(0, 0, ProductLevel::Pro, SessionPolicy::default());
        assert_eq!((s.tries_allowed(), s.try_no()), (1, 0));
        let fx = s.apply(Event::PageOpened { now_ms: 1 }, &mut r).unwrap();
        assert_eq!(fx, vec![Effect::TryStarted { try_no: 1 }]);
        assert_eq!(s.expires_at_ms(), 3_600_000);
    }
}
