//! The session's vocabulary: its limits, states, the events that drive it,
//! the effects it asks for and its errors. The machine is in `mod.rs`.
//!
//! Invariants: all of it is plain serde data, so the server can persist a
//! session and log every event and effect; names are stable (they end up
//! in stored rows).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::challenge::{ChallengeError, ChallengePolicy, StepView};

/// Session-level limits. Defaults follow the vendor contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionPolicy {
    /// The URL expires this long after Get Token. Default 3 600 000 ms.
    pub url_ttl_ms: i64,
    /// One try, from page opened to `Finished`. Default 120 000 ms.
    pub try_time_limit_ms: i64,
    /// After the last step's deadline the page has this long to send the
    /// stills and `Finished`. Default 15 000 ms.
    pub finish_grace_ms: i64,
    /// Frames accepted per try (positioning included). Default 1200.
    pub max_frames_per_try: u32,
    pub challenge: ChallengePolicy,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            url_ttl_ms: 3_600_000,
            try_time_limit_ms: 120_000,
            finish_grace_ms: 15_000,
            max_frames_per_try: 1_200,
            challenge: ChallengePolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailReason {
    /// The verdict rejected the try.
    Rejected,
    /// The try ran past its time limit or the page never finished.
    TimedOut,
    /// The page was reopened in the middle of a challenge, or went away and did not come
    /// back before the try's time limit.
    Abandoned,
    /// An event out of order or out of bounds.
    ProtocolViolation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionState {
    Created,
    Opened,
    Positioned,
    Challenged,
    Capturing,
    Verifying,
    Passed,
    Failed {
        reason: FailReason,
        retry_allowed: bool,
    },
    Expired,
}

impl SessionState {
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Created => "created",
            SessionState::Opened => "opened",
            SessionState::Positioned => "positioned",
            SessionState::Challenged => "challenged",
            SessionState::Capturing => "capturing",
            SessionState::Verifying => "verifying",
            SessionState::Passed => "passed",
            SessionState::Failed { .. } => "failed",
            SessionState::Expired => "expired",
        }
    }

    /// No event can leave this state.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionState::Passed
                | SessionState::Expired
                | SessionState::Failed {
                    retry_allowed: false,
                    ..
                }
        )
    }

    /// A try is running on the page (the user is in front of the camera).
    /// A try is under way: frames are measured and the try's clock runs.
    pub fn try_running(&self) -> bool {
        matches!(
            self,
            SessionState::Opened
                | SessionState::Positioned
                | SessionState::Challenged
                | SessionState::Capturing
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Event {
    PageOpened {
        now_ms: i64,
    },
    Positioned {
        now_ms: i64,
    },
    ChallengeRequested {
        now_ms: i64,
    },
    FrameReceived {
        now_ms: i64,
        seq: u32,
    },
    /// Step `from` was answered: reveal the next one now. A no-op once `from` is no longer
    /// the open step (the clock revealed the next one first).
    StepAdvanced {
        now_ms: i64,
        from: usize,
    },
    Finished {
        now_ms: i64,
    },
    Verdict {
        now_ms: i64,
        passed: bool,
    },
    Tick {
        now_ms: i64,
    },
}

impl Event {
    pub fn now_ms(&self) -> i64 {
        match *self {
            Event::PageOpened { now_ms }
            | Event::Positioned { now_ms }
            | Event::ChallengeRequested { now_ms }
            | Event::FrameReceived { now_ms, .. }
            | Event::StepAdvanced { now_ms, .. }
            | Event::Finished { now_ms }
            | Event::Verdict { now_ms, .. }
            | Event::Tick { now_ms } => now_ms,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Event::PageOpened { .. } => "page_opened",
            Event::Positioned { .. } => "positioned",
            Event::ChallengeRequested { .. } => "challenge_requested",
            Event::FrameReceived { .. } => "frame_received",
            Event::StepAdvanced { .. } => "step_advanced",
            Event::Finished { .. } => "finished",
            Event::Verdict { .. } => "verdict",
            Event::Tick { .. } => "tick",
        }
    }
}

/// What the caller must do after a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Effect {
    TryStarted {
        try_no: u32,
    },
    /// A fresh challenge exists; tell the page how many steps, not which.
    ChallengeIssued {
        try_no: u32,
        nonce: String,
        steps: usize,
    },
    /// Send this step, and only this, to the page.
    RevealStep {
        step: StepView,
    },
    /// Run the verdict over this try's frames and stills, then send `Verdict`.
    StartVerification {
        try_no: u32,
    },
    TryFailed {
        try_no: u32,
        reason: FailReason,
        retry_allowed: bool,
    },
    SessionPassed {
        try_no: u32,
    },
    SessionExpired,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    #[error("event {event} is not allowed in state {state}")]
    InvalidTransition {
        state: &'static str,
        event: &'static str,
    },
    #[error("the session has expired")]
    Expired,
    #[error("the session is finished ({state})")]
    Terminal { state: &'static str },
    #[error("frame sequence number {got} does not follow {last}")]
    SeqNotIncreasing { last: u32, got: u32 },
    #[error("more than {limit} frames in one try")]
    TooManyFrames { limit: u32 },
    #[error("the challenge is not complete: {revealed} of {total} steps revealed")]
    ChallengeIncomplete { revealed: usize, total: usize },
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
}
