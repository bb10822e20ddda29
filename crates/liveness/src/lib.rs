//! OpenLiveness decision core: the random challenge, the per-session state
//! machine and the verdict over what the server measured on the frames.
//!
//! Architecture Invariant: this crate never does I/O and knows nothing of
//! HTTP, JSON wire shapes, storage or the vision models. The server maps the
//! vision crate's output into [`FrameObs`] / [`StillObs`], feeds [`Event`]s to
//! a [`Session`], and calls [`decide`] when a try finishes.
//!
//! Architecture Invariant: every input is untrusted (the page may be the
//! attacker's); no input panics, and a non-finite number is "not measured",
//! which can only cost points, never earn them.
//!
//! docs/liveness.md explains every signal, threshold and weight.

pub mod challenge;
mod checks;
pub mod guide;
pub mod policy;
pub mod session;
pub mod signals;
pub mod synth;
pub mod verdict;

pub use challenge::{
    Action, Challenge, ChallengeError, ChallengePolicy, ProductLevel, StepView, Target,
};
pub use policy::Policy;
pub use session::{
    Effect, Event, FailReason, Session, SessionPolicy, SessionState, TransitionError,
};
pub use signals::{cosine_similarity, FaceObs, FrameObs, Seen, StillObs};
pub use verdict::{
    decide, decide_seen, AttackType, Hint, QualityOutcome, SignalOutcome, SignalReport, Verdict,
};
