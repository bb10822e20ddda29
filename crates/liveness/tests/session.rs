//! The session state machine, driven event by event: the happy path,
//! retries, expiry, time limits and every kind of out-of-order event.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use openliveness_liveness::{
    Effect, Event, FailReason, ProductLevel, Session, SessionPolicy, SessionState, TransitionError,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const T0: i64 = 1_000_000;

fn rng() -> StdRng {
    StdRng::seed_from_u64(42)
}

fn session(tries: u32) -> Session {
    Session::new(T0, tries, ProductLevel::Standard, SessionPolicy::default())
}

/// Drives a session to `Capturing` with one frame in, at T0 + 2 s.
fn capturing(s: &mut Session, r: &mut StdRng, at: i64) -> Vec<Effect> {
    s.apply(Event::PageOpened { now_ms: at }, r).unwrap();
    s.apply(
        Event::FrameReceived {
            now_ms: at + 100,
            seq: 1,
        },
        r,
    )
    .unwrap();
    s.apply(Event::Positioned { now_ms: at + 500 }, r).unwrap();
    let fx = s
        .apply(Event::ChallengeRequested { now_ms: at + 1_000 }, r)
        .unwrap();
    s.apply(
        Event::FrameReceived {
            now_ms: at + 1_100,
            seq: 2,
        },
        r,
    )
    .unwrap();
    assert_eq!(s.state(), &SessionState::Capturing);
    fx
}

fn reveal_all(s: &mut Session, r: &mut StdRng, from: i64) -> i64 {
    let mut now = from;
    while !s.challenge().unwrap().all_revealed() {
        now += 5_000;
        let fx = s.apply(Event::Tick { now_ms: now }, r).unwrap();
        assert!(
            matches!(fx.as_slice(), [Effect::RevealStep { .. }]),
            "{fx:?}"
        );
    }
    now
}

/// Starts capturing at `T0` and lets the clock reveal the follow part's targets and then the
/// first action: that action's index, and when it was revealed.
fn through_the_follow_part(s: &mut Session, r: &mut StdRng) -> (usize, i64) {
    capturing(s, r, T0);
    let follow = {
        let c = s.challenge().unwrap();
        c.len() - c.discrete_actions().len()
    };
    let mut now = T0;
    while s.challenge().unwrap().revealed_count() <= follow {
        now = s.challenge().unwrap().next_due_at().unwrap();
        s.apply(Event::Tick { now_ms: now }, r).unwrap();
    }
    (follow, now)
}

#[test]
fn the_happy_path_reveals_steps_one_at_a_time_and_passes() {
    let (mut s, mut r) = (session(3), rng());
    let fx = capturing(&mut s, &mut r, T0);
    let [Effect::ChallengeIssued {
        nonce,
        steps,
        try_no: 1,
    }, Effect::RevealStep { step }] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(nonce.len(), 32);
    assert_eq!((step.index, step.total), (0, *steps));
    let c = s.challenge().unwrap();
    assert!(c.step(1).is_none(), "step 1 stays hidden until due");
    let now = reveal_all(&mut s, &mut r, T0 + 1_000);
    let fx = s
        .apply(
            Event::Finished {
                now_ms: now + 2_000,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(fx, vec![Effect::StartVerification { try_no: 1 }]);
    assert_eq!(s.state(), &SessionState::Verifying);
    let fx = s
        .apply(
            Event::Verdict {
                now_ms: now + 2_500,
                passed: true,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(fx, vec![Effect::SessionPassed { try_no: 1 }]);
    assert!(s.state().is_terminal());
    let err = s
        .apply(
            Event::PageOpened {
                now_ms: now + 3_000,
            },
            &mut r,
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::Terminal { state: "passed" });
}

#[test]
fn an_early_step_advance_is_allowed_after_the_minimum_only() {
    // A target's hold is its measurement: it cannot be cut short.
    let (mut s, mut r) = (session(1), rng());
    capturing(&mut s, &mut r, T0);
    let err = s.apply(
        Event::StepAdvanced {
            now_ms: T0 + 2_000,
            from: 0,
        },
        &mut r,
    );
    assert!(matches!(err, Err(TransitionError::Challenge(_))), "{err:?}");
    assert_eq!(
        s.state(),
        &SessionState::Failed {
            reason: FailReason::ProtocolViolation,
            retry_allowed: false
        }
    );

    // Once the follow part is over, an action may be advanced after the minimum.
    let (mut s, mut r) = (session(1), rng());
    let (follow, now) = through_the_follow_part(&mut s, &mut r);
    let fx = s
        .apply(
            Event::StepAdvanced {
                now_ms: now + 1_000,
                from: follow,
            },
            &mut r,
        )
        .unwrap();
    assert!(
        matches!(fx.as_slice(), [Effect::RevealStep { step }] if step.index == follow + 1),
        "{fx:?}"
    );
    // 100 ms later is too early for the next: the try fails closed.
    // (NotDue, or AllRevealed for a two-action challenge.)
    let err = s.apply(
        Event::StepAdvanced {
            now_ms: now + 1_100,
            from: follow + 1,
        },
        &mut r,
    );
    assert!(matches!(err, Err(TransitionError::Challenge(_))), "{err:?}");
    assert_eq!(
        s.state(),
        &SessionState::Failed {
            reason: FailReason::ProtocolViolation,
            retry_allowed: false
        }
    );
}

#[test]
fn an_advance_the_clock_overtook_reveals_nothing_more() {
    // The server decided to advance step i, but i's window ended first and the clock revealed
    // i + 1: the advance must not reveal i + 2 (i + 1 would get no window) nor fail the try.
    let (mut s, mut r) = (session(1), rng());
    let (follow, _) = through_the_follow_part(&mut s, &mut r);
    let due = s.challenge().unwrap().next_due_at().unwrap();
    let fx = s
        .apply(
            Event::StepAdvanced {
                now_ms: due + 50,
                from: follow,
            },
            &mut r,
        )
        .unwrap();
    assert!(
        matches!(fx.as_slice(), [Effect::RevealStep { step }] if step.index == follow + 1),
        "only the step the clock revealed: {fx:?}"
    );
    assert_eq!(s.challenge().unwrap().revealed_count(), follow + 2);
    assert_eq!(s.state(), &SessionState::Capturing);
}

#[test]
fn a_failed_try_gets_a_new_challenge_while_tries_remain() {
    let (mut s, mut r) = (session(2), rng());
    capturing(&mut s, &mut r, T0);
    let first = s.challenge().unwrap().nonce().to_string();
    let now = reveal_all(&mut s, &mut r, T0 + 1_000);
    s.apply(
        Event::Finished {
            now_ms: now + 1_000,
        },
        &mut r,
    )
    .unwrap();
    let fx = s
        .apply(
            Event::Verdict {
                now_ms: now + 1_200,
                passed: false,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(
        fx,
        vec![Effect::TryFailed {
            try_no: 1,
            reason: FailReason::Rejected,
            retry_allowed: true
        }]
    );
    assert!(!s.state().is_terminal());

    let fx = capturing(&mut s, &mut r, now + 5_000);
    assert_eq!(s.try_no(), 2);
    assert!(matches!(&fx[0], Effect::ChallengeIssued { try_no: 2, nonce, .. } if *nonce != first));
    let now = reveal_all(&mut s, &mut r, now + 6_000);
    s.apply(
        Event::Finished {
            now_ms: now + 1_000,
        },
        &mut r,
    )
    .unwrap();
    s.apply(
        Event::Verdict {
            now_ms: now + 1_200,
            passed: false,
        },
        &mut r,
    )
    .unwrap();
    assert!(s.state().is_terminal());
    let err = s
        .apply(
            Event::PageOpened {
                now_ms: now + 2_000,
            },
            &mut r,
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::Terminal { state: "failed" });
}

#[test]
fn the_url_expires_an_hour_after_creation() {
    let (mut s, mut r) = (session(3), rng());
    s.apply(Event::PageOpened { now_ms: T0 }, &mut r).unwrap();
    let fx = s
        .apply(
            Event::Tick {
                now_ms: T0 + 3_600_000,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(fx, vec![Effect::SessionExpired]);
    assert_eq!(s.state(), &SessionState::Expired);
    assert_eq!(
        s.apply(
            Event::Positioned {
                now_ms: T0 + 3_600_001
            },
            &mut r
        ),
        Err(TransitionError::Expired)
    );
    assert_eq!(
        s.apply(
            Event::Tick {
                now_ms: T0 + 3_700_000
            },
            &mut r
        ),
        Ok(vec![])
    );
    // An event arriving after the deadline expires the session and is refused.
    let mut s = session(3);
    let err = s.apply(
        Event::PageOpened {
            now_ms: T0 + 4_000_000,
        },
        &mut r,
    );
    assert_eq!(err, Err(TransitionError::Expired));
    assert_eq!(s.state(), &SessionState::Expired);
}

#[test]
fn a_try_that_stalls_times_out_and_may_be_retried() {
    let (mut s, mut r) = (session(2), rng());
    s.apply(Event::PageOpened { now_ms: T0 }, &mut r).unwrap();
    let fx = s
        .apply(
            Event::Tick {
                now_ms: T0 + 120_000,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(
        fx,
        vec![Effect::TryFailed {
            try_no: 1,
            reason: FailReason::TimedOut,
            retry_allowed: true
        }]
    );
    // All steps out but no Finished within the grace: also a timeout.
    capturing(&mut s, &mut r, T0 + 130_000);
    let now = reveal_all(&mut s, &mut r, T0 + 131_000);
    let last = s.challenge().unwrap().last_deadline().unwrap();
    assert!(last > now - 1);
    let fx = s
        .apply(
            Event::Tick {
                now_ms: last + 15_000,
            },
            &mut r,
        )
        .unwrap();
    assert_eq!(
        fx,
        vec![Effect::TryFailed {
            try_no: 2,
            reason: FailReason::TimedOut,
            retry_allowed: false
        }]
    );
}

#[test]
fn invalid_events_are_errors_and_fail_a_running_challenge() {
    let mut r = rng();
    // Before any try: refused, nothing changes.
    let mut s = session(2);
    let err = s
        .apply(Event::ChallengeRequested { now_ms: T0 }, &mut r)
        .unwrap_err();
    assert_eq!(
        err,
        TransitionError::InvalidTransition {
            state: "created",
            event: "challenge_requested"
        }
    );
    assert_eq!(s.state(), &SessionState::Created);

    // Finished before every step was revealed.
    let mut s = session(2);
    capturing(&mut s, &mut r, T0);
    let err = s
        .apply(Event::Finished { now_ms: T0 + 2_000 }, &mut r)
        .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::ChallengeIncomplete { revealed: 1, .. }
    ));
    assert_eq!(
        s.state(),
        &SessionState::Failed {
            reason: FailReason::ProtocolViolation,
            retry_allowed: true
        }
    );

    // A frame number that goes back.
    let mut s = session(1);
    capturing(&mut s, &mut r, T0);
    let err = s
        .apply(
            Event::FrameReceived {
                now_ms: T0 + 1_500,
                seq: 2,
            },
            &mut r,
        )
        .unwrap_err();
    assert_eq!(err, TransitionError::SeqNotIncreasing { last: 2, got: 2 });
    assert!(s.state().is_terminal());

    // A verdict nobody asked for; a second challenge in the same try.
    for bad in [
        Event::Verdict {
            now_ms: T0 + 1_500,
            passed: true,
        },
        Event::ChallengeRequested { now_ms: T0 + 1_500 },
    ] {
        let mut s = session(1);
        capturing(&mut s, &mut r, T0);
        assert!(matches!(
            s.apply(bad, &mut r),
            Err(TransitionError::InvalidTransition {
                state: "capturing",
                ..
            })
        ));
        assert!(matches!(s.state(), SessionState::Failed { .. }));
    }

    // Frames beyond the per-try limit.
    let policy = SessionPolicy {
        max_frames_per_try: 2,
        ..SessionPolicy::default()
    };
    let mut s = Session::new(T0, 1, ProductLevel::Pro, policy);
    s.apply(Event::PageOpened { now_ms: T0 }, &mut r).unwrap();
    for seq in 0..2 {
        s.apply(Event::FrameReceived { now_ms: T0, seq }, &mut r)
            .unwrap();
    }
    let err = s
        .apply(Event::FrameReceived { now_ms: T0, seq: 2 }, &mut r)
        .unwrap_err();
    assert_eq!(err, TransitionError::TooManyFrames { limit: 2 });
}

#[test]
fn reopening_the_page_mid_challenge_abandons_the_try() {
    let (mut s, mut r) = (session(2), rng());
    capturing(&mut s, &mut r, T0);
    // Within the first target's hold, so no step falls due first.
    let fx = s
        .apply(Event::PageOpened { now_ms: T0 + 1_300 }, &mut r)
        .unwrap();
    assert_eq!(
        fx,
        vec![
            Effect::TryFailed {
                try_no: 1,
                reason: FailReason::Abandoned,
                retry_allowed: true
            },
            Effect::TryStarted { try_no: 2 },
        ]
    );
    assert_eq!(s.state(), &SessionState::Opened);
    assert!(s.challenge().is_none(), "the old challenge is gone");
}

#[test]
fn a_session_survives_a_serde_round_trip_mid_capture() {
    let (mut s, mut r) = (session(3), rng());
    capturing(&mut s, &mut r, T0);
    let json = serde_json::to_string(&s).unwrap();
    let mut back: Session = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    // The restored machine carries on exactly like the original.
    let a = s.apply(Event::Tick { now_ms: T0 + 6_000 }, &mut r).unwrap();
    let b = back
        .apply(Event::Tick { now_ms: T0 + 6_000 }, &mut r)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_clock_stepping_back_does_not_reopen_anything() {
    let (mut s, mut r) = (session(1), rng());
    capturing(&mut s, &mut r, T0);
    s.apply(Event::Tick { now_ms: T0 + 7_000 }, &mut r).unwrap();
    let before = s.challenge().unwrap().revealed_count();
    s.apply(Event::Tick { now_ms: T0 }, &mut r).unwrap();
    assert_eq!(s.challenge().unwrap().revealed_count(), before);
}
