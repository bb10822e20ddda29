//! One page connection: feeds what arrives into the liveness state machine, measures frames
//! and stills with the vision engine, runs the verdict and records the result.
//!
//! What must stay true: the server stamps every arrival before anything else; nothing the
//! page says is trusted beyond its bytes; every error fails the running try closed; the
//! state machine is persisted after every change, so a reload cannot reset the tries.

use std::collections::VecDeque;
use std::sync::Arc;

use openliveness_liveness::{
    decide_seen, Action, Effect, Event, FailReason, FrameObs, Policy, Seen, Session as LiveSession,
    SessionPolicy, SessionState, StillObs,
};
use openliveness_store::{Account, FramePrint, Outcome, Session, SessionStatus};
use openliveness_vision::{Engine, Face, Frame};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::observe::{self, Analyzer};
use super::protocol::{self, Binary, ClientMsg, Kind, ProtocolError, ServerMsg, TargetPos};
use super::record;
use crate::state::{now_ms, AppState};

/// What a handled message asks of the socket loop.
pub struct Reply {
    pub messages: Vec<ServerMsg>,
    pub close: bool,
}

impl Reply {
    fn send(messages: Vec<ServerMsg>) -> Self {
        Reply {
            messages,
            close: false,
        }
    }
}

pub struct Still {
    pub obs: StillObs,
    pub jpeg: Vec<u8>,
    pub frame: Frame,
    pub face: Option<Face>,
}

/// Everything gathered during one try.
#[derive(Default)]
pub struct TryData {
    pub frames: Vec<FrameObs>,
    /// A few frames kept for the audit image (encoded bytes and the face found).
    pub samples: Vec<(Vec<u8>, Option<Face>)>,
    pub far: Option<Still>,
    pub near: Option<Still>,
    pub video: Vec<u8>,
    /// Fingerprints of every frame (by seq) and of the stills (`FAR_STILL_NO`,
    /// `NEAR_STILL_NO`), for cross-session replay detection.
    pub prints: Vec<FramePrint>,
    arrivals: VecDeque<i64>,
    /// Milliseconds spent measuring this try's frames and stills (one thread each).
    pub measure_ms: f64,
    /// Milliseconds the liveness core took to decide.
    pub decide_ms: f64,
    /// The open step the user answered, and when the page was told (`seen`).
    answered: Option<(usize, i64)>,
}

/// The answer to a page whose user is locked out until `until`: say so and close.
fn locked_out_reply(until: i64, now: i64) -> Reply {
    Reply {
        messages: vec![ServerMsg::LockedOut {
            locked_until: until,
            retry_after_s: ((until - now).max(0) + 999) / 1000,
        }],
        close: true,
    }
}

/// `frame_no` of the stills among a try's fingerprints (frames use their seq).
const FAR_STILL_NO: u32 = u32::MAX - 1;
const NEAR_STILL_NO: u32 = u32::MAX;
/// How long the page shows an answered step as seen before the next one is revealed.
const SEEN_SHOWN_MS: i64 = 700;
/// Fingerprints of other sessions within this many bits count as the same picture.
const SAME_PICTURE_BITS: u32 = 4;
/// Most candidate fingerprints one lookup reads.
const MAX_PRINT_CANDIDATES: usize = 8_192;

/// Frames kept for the audit image, one every this many.
const SAMPLE_EVERY: usize = 15;
const MAX_SAMPLES: usize = 4;

pub struct Conn {
    pub state: AppState,
    pub engine: Arc<Engine>,
    pub session: Session,
    pub account: Account,
    /// This connection came from the cross-device flow's second device (its own link).
    pub secondary_device: bool,
    /// The browser's device cookie, for the lockout of sessions without a user id.
    pub device: Option<String>,
    /// The fencing token of this connection's live lease on the session
    /// (`Store::acquire_live_lease`); every write of the state machine and the verdict
    /// carries it. `None` only where no lease is used (tests driving a `Conn` directly).
    pub fence: Option<i64>,
    /// Set when a write found the lease taken over by another connection: this one must
    /// stop without writing anything more.
    lease_lost: bool,
    lease_released: bool,
    /// The session has a result (a verdict, or the lockout's), so an ending without a verdict
    /// keeps it rather than writing one of its own.
    has_result: bool,
    /// This connection's place among the tries the replica runs at once (admission
    /// control), held from `hello` until its try is over.
    slot: Option<super::admission::Slot>,
    pub live: LiveSession,
    pub data: TryData,
    analyzer: Option<Analyzer>,
    rng: StdRng,
}

impl Conn {
    /// Restores the session's state machine, or starts one on first connection.
    pub fn new(state: AppState, engine: Arc<Engine>, session: Session, account: Account) -> Self {
        let level = match session.new.product_level.as_str() {
            "PRO" => openliveness_liveness::ProductLevel::Pro,
            _ => openliveness_liveness::ProductLevel::Standard,
        };
        let live = session
            .live_state
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_else(|| {
                let mut policy = SessionPolicy::default();
                policy.challenge.step_window_ms = state.step_window_ms;
                policy.try_time_limit_ms = state.try_time_limit_ms;
                // The URL deadline is the one Get Token gave the integrator.
                policy.url_ttl_ms = session
                    .new
                    .expires_at
                    .saturating_sub(session.new.created_at)
                    .max(0);
                LiveSession::new(session.new.created_at, session.new.try_count, level, policy)
            });
        let has_result = session.result.is_some();
        Conn {
            state,
            engine,
            session,
            account,
            secondary_device: false,
            device: None,
            fence: None,
            lease_lost: false,
            lease_released: false,
            has_result,
            slot: None,
            live,
            data: TryData::default(),
            analyzer: Some(Analyzer::default()),
            rng: StdRng::from_entropy(),
        }
    }

    fn tries_left(&self) -> u32 {
        self.live.tries_allowed().saturating_sub(self.live.try_no())
    }

    /// Applies an event and turns its effects into messages (verification included). On a
    /// refused event the state machine has already failed the running try; it is persisted
    /// either way.
    async fn apply(&mut self, event: Event) -> Result<Vec<ServerMsg>, ProtocolError> {
        match self.live.apply(event, &mut self.rng) {
            Ok(effects) => {
                let out = self.handle_effects(effects).await;
                self.persist().await;
                Ok(out)
            }
            Err(e) => {
                self.persist().await;
                Err(ProtocolError::OutOfOrder(e.to_string()))
            }
        }
    }

    fn handle_effects(
        &mut self,
        effects: Vec<Effect>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<ServerMsg>> + Send + '_>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for effect in effects {
                match effect {
                    Effect::TryStarted { .. } => {
                        self.data = TryData::default();
                        if let Some(a) = self.analyzer.as_mut() {
                            a.reset();
                        }
                    }
                    Effect::ChallengeIssued { nonce, steps, .. } => {
                        let blink = self
                            .live
                            .challenge()
                            .is_some_and(|c| c.actions().contains(&Action::Blink));
                        if let Some(a) = self.analyzer.as_mut() {
                            a.iris_eyes = blink;
                        }
                        out.push(ServerMsg::Challenge { nonce, steps })
                    }
                    Effect::RevealStep { step } => out.push(ServerMsg::Step {
                        index: step.index,
                        total: step.total,
                        action: step.action.into(),
                        deadline: step.deadline_ms,
                        target: step.target.map(|t| TargetPos { x: t.x(), y: t.y() }),
                    }),
                    Effect::StartVerification { .. } => {
                        out.push(ServerMsg::Verifying {
                            frames: self.data.frames.len(),
                        });
                        // Recorded first: should the verdict take longer than the lease (a
                        // loaded machine), the sweeper waits for a verification's own limit
                        // instead of ending the try by its capture deadline.
                        self.persist().await;
                        out.extend(self.verify().await);
                    }
                    Effect::TryFailed {
                        reason,
                        retry_allowed,
                        ..
                    } => {
                        if reason != FailReason::Rejected {
                            out.push(ServerMsg::TryFailed {
                                reason: fail_reason_name(reason),
                                retry_allowed,
                                tries_left: self.tries_left(),
                            });
                        }
                    }
                    Effect::SessionPassed { .. } => {}
                    Effect::SessionExpired => out.push(ServerMsg::Expired),
                }
            }
            out
        })
    }

    /// What of this try's pictures other sessions sent within the replay window.
    async fn seen_elsewhere(&self, prints: &[FramePrint]) -> Seen {
        let since = now_ms().saturating_sub(self.state.replay_window_ms);
        let found = self
            .state
            .store
            .find_prints(
                self.session.signature_id(),
                since,
                prints,
                MAX_PRINT_CANDIDATES,
            )
            .await;
        let candidates = match found {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read earlier sessions' fingerprints");
                return Seen::default();
            }
        };
        let mut seen = Seen {
            checked: true,
            ..Seen::default()
        };
        let is_still = |n: u32| n == FAR_STILL_NO || n == NEAR_STILL_NO;
        let exact: std::collections::HashSet<u64> = candidates.iter().map(|c| c.exact).collect();
        for p in prints {
            if exact.contains(&p.exact) {
                if is_still(p.frame_no) {
                    seen.exact_stills += 1;
                } else {
                    seen.exact.push(p.frame_no);
                }
                continue;
            }
            if is_still(p.frame_no) {
                continue;
            }
            for c in candidates
                .iter()
                .filter(|c| !is_still(c.frame_no))
                .filter(|c| openliveness_vision::hamming(c.phash, p.phash) <= SAME_PICTURE_BITS)
            {
                seen.similar.push((
                    p.frame_no,
                    format!("{}#{}", c.session_id, c.try_no),
                    c.frame_no,
                ));
            }
        }
        seen
    }

    /// Runs the verdict over this try, records it, and feeds it back to the state machine.
    async fn verify(&mut self) -> Vec<ServerMsg> {
        let Some(challenge) = self.live.challenge().cloned() else {
            return Vec::new();
        };
        let policy = Policy {
            pass_threshold: self.account.pass_threshold,
            ..Policy::default()
        };
        let mut data = std::mem::take(&mut self.data);
        let seen = self.seen_elsewhere(&data.prints).await;
        let started = std::time::Instant::now();
        let verdict = decide_seen(
            &challenge,
            &data.frames,
            data.far.as_ref().map(|s| &s.obs),
            data.near.as_ref().map(|s| &s.obs),
            &seen,
            &policy,
        );
        data.decide_ms = started.elapsed().as_secs_f64() * 1e3;
        // Kept whatever the verdict: a replay of a failed try is a replay too.
        if let Err(e) = self
            .state
            .store
            .record_prints(
                self.session.signature_id(),
                self.live.try_no(),
                now_ms(),
                &data.prints,
            )
            .await
        {
            tracing::warn!(error = %e, "cannot record the try's fingerprints");
        }
        let recorded = record::store_result(self, &challenge, &verdict, data).await;
        if let Err(e) = &recorded {
            if e.lease_lost() {
                // Another connection took the session over: its try is the one that counts.
                self.lease_lost = true;
                return Vec::new();
            }
            tracing::error!(error = %e, "cannot record the verdict");
        } else {
            self.has_result = true;
            let outcome = match (verdict.passed, verdict.quality.is_some()) {
                (true, _) => "passed",
                (false, true) => "quality",
                (false, false) => "rejected",
            };
            crate::telemetry::verdict(outcome, verdict.attack_type.map(|a| i64::from(a.code())));
        }
        if !verdict.passed {
            // Only what the verdict rejected counts towards the lockout, never a storage error.
            self.record_failure().await;
        }
        let passed = verdict.passed && recorded.is_ok();
        let effects = match self.live.apply(
            Event::Verdict {
                now_ms: now_ms(),
                passed,
            },
            &mut self.rng,
        ) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "verdict event refused");
                Vec::new()
            }
        };
        let retry_allowed = matches!(
            self.live.state(),
            SessionState::Failed {
                retry_allowed: true,
                ..
            }
        );
        let mut out = vec![ServerMsg::Result {
            passed,
            score: self.show_score().then_some(verdict.score),
            retry_allowed,
            tries_left: self.tries_left(),
            redirect_url: (!retry_allowed).then(|| self.redirect_url(passed)),
            hint: if passed { None } else { verdict.hint() },
        }];
        out.extend(self.handle_effects(effects).await);
        out
    }

    fn show_score(&self) -> bool {
        self.session
            .new
            .ui_config
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|v| v.get("mobileResultPage")?.get("showScore")?.as_bool())
            .unwrap_or(false)
    }

    /// Where the page goes next: the return URL (or the failure URL) with the signatureId.
    pub fn redirect_url(&self, passed: bool) -> String {
        let target = if passed {
            &self.session.new.return_url
        } else {
            self.session
                .new
                .failed_return_url
                .as_ref()
                .unwrap_or(&self.session.new.return_url)
        };
        match url::Url::parse(target) {
            Ok(mut u) => {
                u.query_pairs_mut()
                    .append_pair("signatureId", self.session.signature_id());
                u.into()
            }
            Err(_) => target.clone(),
        }
    }

    /// Writes what the state machine says: first, when the session has just ended without
    /// any verdict, its final result ([`Outcome::NotCompleted`], which queues its webhook);
    /// then the state, its status, and when to look at it again should no page come back.
    async fn persist(&mut self) {
        self.end_without_verdict().await;
        if !self.live.state().try_running() && *self.live.state() != SessionState::Verifying {
            // The try is over: its place goes to the next one.
            self.slot = None;
        }
        let status = match self.live.state() {
            SessionState::Created => SessionStatus::Created,
            SessionState::Opened => SessionStatus::Opened,
            SessionState::Positioned => SessionStatus::Positioned,
            SessionState::Challenged => SessionStatus::Challenged,
            SessionState::Capturing => SessionStatus::Capturing,
            SessionState::Verifying => SessionStatus::Verifying,
            SessionState::Passed => SessionStatus::Passed,
            SessionState::Failed { .. } => SessionStatus::Failed,
            SessionState::Expired => SessionStatus::Expired,
        };
        let json = match serde_json::to_string(&self.live) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise the session state");
                return;
            }
        };
        if let Err(e) = self
            .state
            .store
            .save_live_state(
                self.session.signature_id(),
                self.fence,
                status,
                self.live.try_no(),
                &json,
                self.live.unattended_deadline(),
            )
            .await
        {
            if matches!(e, openliveness_store::StoreError::LeaseLost) {
                self.lease_lost = true;
            }
            tracing::error!(error = %e, "cannot persist the session state");
        }
    }

    /// Why the session ended without a verdict, if it just did: its last try failed other
    /// than by a verdict, or its URL expired, and it holds no result yet.
    fn ending(&self) -> Option<&'static str> {
        if self.has_result {
            return None;
        }
        match self.live.state() {
            SessionState::Failed {
                reason,
                retry_allowed: false,
            } if *reason != FailReason::Rejected => Some(fail_reason_name(*reason)),
            SessionState::Expired => Some("EXPIRED"),
            _ => None,
        }
    }

    /// Records the final result of a session that ended without any verdict, so Get Result
    /// answers it and the integrator's webhook fires. A failure is logged; the sweeper finds
    /// the session again (its `sweep_at` stays due).
    async fn end_without_verdict(&mut self) {
        let Some(reason) = self.ending() else { return };
        let signals = serde_json::json!({
            "ending": {
                "reason": reason,
                "triesUsed": self.live.try_no(),
                "triesAllowed": self.live.tries_allowed(),
            }
        })
        .to_string();
        let result = openliveness_store::SessionResult {
            signals: Some(signals),
            secondary_device: self.secondary_device,
            ..openliveness_store::SessionResult::of(Outcome::NotCompleted)
        };
        let status = match self.live.state() {
            SessionState::Expired => SessionStatus::Expired,
            _ => SessionStatus::Failed,
        };
        if self
            .finish(status, result, now_ms(), "the session's ending")
            .await
        {
            crate::telemetry::verdict("not_completed", None);
            tracing::info!(
                signature_id = self.session.signature_id(),
                reason,
                "session ended without a verdict"
            );
        }
    }

    /// Records a final result that is not a verdict (fenced by this connection's lease).
    /// `false`, logged as "cannot record {what}", when it could not be written.
    async fn finish(
        &mut self,
        status: SessionStatus,
        result: openliveness_store::SessionResult,
        now: i64,
        what: &str,
    ) -> bool {
        let written = self
            .state
            .store
            .finish_session(self.session.signature_id(), self.fence, status, result, now)
            .await;
        match written {
            Ok(()) => {
                self.has_result = true;
                true
            }
            Err(e) => {
                if matches!(e, openliveness_store::StoreError::LeaseLost) {
                    self.lease_lost = true;
                }
                tracing::error!(error = %e, "cannot record {what}");
                false
            }
        }
    }

    /// Moves a session no page is connected to on by the clock (the sweeper holds its
    /// lease): an abandoned try fails at its limit, the URL expires, and an ending without
    /// a verdict is recorded.
    pub async fn unattended(&mut self, now: i64) {
        let effects = self.live.unattended(now);
        // No page hears these messages; the effects still reset the try's data.
        let _unheard = self.handle_effects(effects).await;
        self.persist().await;
    }

    /// The session's current settings, sent in answer to `hello`.
    fn session_message(&self) -> ServerMsg {
        ServerMsg::Session {
            signature_id: self.session.signature_id().to_owned(),
            try_no: self.live.try_no(),
            tries_allowed: self.live.tries_allowed(),
            expires_at: self.live.expires_at_ms(),
            server_time: now_ms(),
            locale: self.session.new.locale.clone(),
            audio: self.session.new.audio,
            iframe: self.session.new.iframe,
            ui: self
                .session
                .new
                .ui_config
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
        }
    }

    /// How long until the next step falls due, while a challenge runs and steps remain.
    pub fn next_reveal_in(&self, now: i64) -> Option<std::time::Duration> {
        if !matches!(
            self.live.state(),
            SessionState::Challenged | SessionState::Capturing
        ) {
            return None;
        }
        let due = self.live.challenge()?.next_due_at()?;
        Some(std::time::Duration::from_millis(
            due.saturating_sub(now).max(0) as u64,
        ))
    }

    pub async fn on_tick(&mut self) -> Reply {
        match self.apply(Event::Tick { now_ms: now_ms() }).await {
            Ok(messages) => {
                let close = self.live.state().is_terminal();
                Reply { messages, close }
            }
            Err(e) => self.fail(e).await,
        }
    }

    /// Whether another connection has taken this session over (a fenced write was
    /// refused); the socket loop then ends the connection with [`Conn::taken_over`].
    pub fn lease_lost(&self) -> bool {
        self.lease_lost
    }

    /// Extends this connection's live lease. `false` once another connection holds the
    /// session; a store that cannot answer now is logged and tried again at the next renewal
    /// (the fence still keeps a late write out).
    pub async fn renew_lease(&mut self) -> bool {
        let Some(fence) = self.fence else {
            return true;
        };
        let until = now_ms().saturating_add(self.state.live_lease_ms);
        match self
            .state
            .store
            .renew_live_lease(self.session.signature_id(), fence, until)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                self.lease_lost = true;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the live lease");
                true
            }
        }
    }

    /// Ends this connection's live lease (once), so the page's next connection need not wait
    /// for it to run out. Called before the closing frame is sent, so a client that
    /// reconnects the moment it sees the close finds the session free.
    pub async fn release_lease(&mut self) {
        let Some(fence) = self.fence else { return };
        if std::mem::replace(&mut self.lease_released, true) {
            return;
        }
        super::release_lease(&self.state, self.session.signature_id(), fence).await;
    }

    /// The answer to a page whose session another connection has taken over: say so and
    /// close, writing nothing.
    pub fn taken_over() -> Reply {
        Self::closing(ProtocolError::TakenOver)
    }

    /// Tells the page why the channel closes (no try is failed by it), and closes.
    pub fn closing(why: ProtocolError) -> Reply {
        Reply {
            messages: vec![why.message()],
            close: true,
        }
    }

    /// Whether a try is under way: positioning, the challenge, or its verdict.
    pub fn try_running(&self) -> bool {
        self.live.state().try_running()
    }

    /// The lockout's name for whoever makes this session's tries.
    fn lockout_subject(&self) -> Option<String> {
        crate::lockout::subject(
            self.account.id,
            self.session.new.user_id.as_deref(),
            self.device.as_deref(),
        )
    }

    /// Counts a failed try towards the lockout (a failure to record is logged: the verdict
    /// itself is already stored).
    async fn record_failure(&self) {
        let Some(subject) = self.lockout_subject() else {
            return;
        };
        if let Err(e) = self
            .state
            .store
            .record_try_failure(self.account.id, &subject, now_ms())
            .await
        {
            tracing::error!(error = %e, "cannot record a failed try for the lockout");
        }
    }

    /// At `hello`: `Some(reply)` refusing the session when its user (or browser) is locked
    /// out, or when an earlier lockout ended it. A session refused this way is finished
    /// with the result `LOCKED_OUT`, so the integrator reads a final answer.
    async fn locked_out(&mut self, now: i64) -> Option<Reply> {
        // The session as stored now: an earlier connection may have ended it by lockout, and
        // its last try's images must stay reachable (clear-data, retention).
        let current = match self.state.store.session(self.session.signature_id()).await {
            Ok(Some(s)) => s,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the session for the lockout; try allowed");
                return None;
            }
        };
        if let Some(r) = current
            .result
            .as_ref()
            .filter(|r| r.outcome == Outcome::LockedOut)
        {
            let until = crate::api::advance::lockout_of(r)
                .get("lockedUntil")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(now);
            return Some(locked_out_reply(until, now));
        }
        if self.live.state().is_terminal() {
            return None;
        }
        let subject = self.lockout_subject()?;
        let lockout = self.state.lockout;
        let until = match lockout
            .check(self.state.store.as_ref(), self.account.id, &subject, now)
            .await
        {
            Ok(Some(until)) => until,
            Ok(None) => return None,
            Err(e) => {
                // The verdicts stay guarded; a store hiccup must not lock anyone out.
                tracing::error!(error = %e, "cannot read the lockout; try allowed");
                return None;
            }
        };
        let signals = serde_json::json!({
            "lockout": {
                "lockedUntil": until,
                "failures": lockout.failures,
                "windowMinutes": lockout.window_ms / 60_000,
            }
        })
        .to_string();
        let result = match current.result {
            // An earlier try's images stay with the session (and go with its data).
            Some(previous) => openliveness_store::SessionResult {
                outcome: Outcome::LockedOut,
                score: None,
                attack_type: None,
                signals: Some(signals),
                ..previous
            },
            None => openliveness_store::SessionResult {
                signals: Some(signals),
                secondary_device: self.secondary_device,
                ..openliveness_store::SessionResult::of(Outcome::LockedOut)
            },
        };
        self.finish(
            SessionStatus::Failed,
            result,
            now,
            "the lockout in the session",
        )
        .await;
        Some(locked_out_reply(until, now))
    }

    /// A text message that arrived at `arrival` (server clock).
    pub async fn on_text(&mut self, text: &str, arrival: i64) -> Reply {
        // At `hello` and again at `finish`: tries run in parallel sessions for one user must
        // not all get their verdict once the lockout has been reached meanwhile.
        if let Ok(ClientMsg::Hello { .. } | ClientMsg::Finish) = protocol::parse_text(text) {
            if let Some(refusal) = self.locked_out(arrival).await {
                return refusal;
            }
        }
        if let Ok(ClientMsg::Hello { .. }) = protocol::parse_text(text) {
            if let Some(refusal) = self.admit(arrival) {
                return refusal;
            }
        }
        match self.text(text, arrival).await {
            Ok(messages) => Reply::send(messages),
            Err(e) => self.fail(e).await,
        }
    }

    /// At `hello`: `Some(reply)` refusing the try, with nothing changed, when this replica
    /// already runs all the tries it can measure on time (`admission`).
    fn admit(&mut self, now: i64) -> Option<Reply> {
        if self.slot.is_some() || self.live.state().is_terminal() {
            return None;
        }
        match self.state.admission.admit(now) {
            Ok(slot) => {
                self.slot = Some(slot);
                None
            }
            Err(refusal) => {
                metrics::counter!(crate::telemetry::LIVE_REFUSED, "reason" => "overloaded")
                    .increment(1);
                tracing::info!(
                    signature_id = self.session.signature_id(),
                    running = self.state.admission.running(),
                    lag_ms = self.state.admission.lag_at(now),
                    "try refused: the server is busy"
                );
                Some(Self::closing(ProtocolError::Overloaded {
                    retry_after_s: refusal.retry_after_s,
                }))
            }
        }
    }

    /// A binary message that arrived at `arrival` (server clock).
    pub async fn on_binary(&mut self, bytes: &[u8], arrival: i64) -> Reply {
        match self.binary(bytes, arrival).await {
            Ok(messages) => Reply::send(messages),
            Err(e) => self.fail(e).await,
        }
    }

    /// A refused message: tell the page why, fail the try, close the connection.
    pub async fn fail(&mut self, e: ProtocolError) -> Reply {
        let mut messages = vec![e.message()];
        // A page that went quiet (a phone switching apps, a lost network) left its try; any
        // other refusal is a client breaking the protocol.
        let reason = if matches!(e, ProtocolError::Idle) {
            FailReason::Abandoned
        } else {
            FailReason::ProtocolViolation
        };
        let effects = self.live.abort_try(now_ms(), reason);
        // A client that broke the protocol during a try counts towards the lockout; a page
        // that merely went quiet (a phone switching apps) does not.
        let try_failed = effects
            .iter()
            .any(|e| matches!(e, Effect::TryFailed { .. }));
        if try_failed && !matches!(e, ProtocolError::Idle) {
            self.record_failure().await;
        }
        messages.extend(self.handle_effects(effects).await);
        self.persist().await;
        Reply {
            messages,
            close: true,
        }
    }

    async fn text(&mut self, text: &str, now: i64) -> Result<Vec<ServerMsg>, ProtocolError> {
        match protocol::parse_text(text)? {
            ClientMsg::Hello { .. } => {
                let mut out = self.apply(Event::PageOpened { now_ms: now }).await?;
                out.insert(0, self.session_message());
                Ok(out)
            }
            ClientMsg::Positioned => {
                let mut out = self.apply(Event::Positioned { now_ms: now }).await?;
                out.extend(
                    self.apply(Event::ChallengeRequested { now_ms: now })
                        .await?,
                );
                Ok(out)
            }
            ClientMsg::Finish => self.apply(Event::Finished { now_ms: now }).await,
        }
    }

    async fn binary(
        &mut self,
        bytes: &[u8],
        arrival: i64,
    ) -> Result<Vec<ServerMsg>, ProtocolError> {
        let msg = protocol::parse_binary(bytes)?;
        match msg.kind {
            Kind::Frame => self.frame(msg, arrival).await,
            Kind::FarStill | Kind::NearStill => {
                self.still(msg, arrival).await?;
                Ok(Vec::new())
            }
            Kind::VideoChunk => {
                let total = self.data.video.len() + msg.payload.len();
                if total > protocol::MAX_VIDEO_BYTES {
                    return Err(ProtocolError::TooLarge {
                        what: "video",
                        size: total,
                        limit: protocol::MAX_VIDEO_BYTES,
                    });
                }
                self.data.video.extend_from_slice(msg.payload);
                Ok(Vec::new())
            }
        }
    }

    async fn frame(
        &mut self,
        msg: Binary<'_>,
        arrival: i64,
    ) -> Result<Vec<ServerMsg>, ProtocolError> {
        let arrivals = &mut self.data.arrivals;
        while arrivals.front().is_some_and(|t| *t <= arrival - 1000) {
            arrivals.pop_front();
        }
        if arrivals.len() >= protocol::MAX_FRAMES_PER_SECOND {
            return Err(ProtocolError::RateExceeded);
        }
        arrivals.push_back(arrival);
        // A frame still in flight after a failed try (the page has not heard yet) is
        // dropped unread: nothing measured, nothing written.
        if matches!(
            self.live.state(),
            SessionState::Failed {
                retry_allowed: true,
                ..
            }
        ) {
            return Ok(Vec::new());
        }
        let mut out = self
            .apply(Event::FrameReceived {
                now_ms: arrival,
                seq: msg.seq,
            })
            .await?;
        if !self.live.state().try_running() {
            // The clock ended the try as this frame arrived: the failure is the answer.
            return Ok(out);
        }
        let engine = self.engine.clone();
        let mut analyzer = self.analyzer.take().unwrap_or_default();
        let jpeg = msg.payload.to_vec();
        let (seq, capture) = (msg.seq, msg.capture_ms);
        let (analyzer, analysed, jpeg, took) = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let r = analyzer.frame(&engine, &jpeg, seq, capture, arrival);
            (analyzer, r, jpeg, started.elapsed())
        })
        .await
        .map_err(|_| ProtocolError::BadImage)?;
        self.analyzer = Some(analyzer);
        let measured_at = now_ms();
        self.state.admission.measured(arrival, measured_at);
        metrics::histogram!(crate::telemetry::MEASURE_LAG)
            .record((measured_at - arrival).max(0) as f64 / 1e3);
        self.data.measure_ms += took.as_secs_f64() * 1e3;
        crate::telemetry::frame_measured(took.as_secs_f64());
        let analysed = analysed.map_err(|_| ProtocolError::BadImage)?;
        let n = self.data.frames.len();
        if n % SAMPLE_EVERY == 0 && self.data.samples.len() < MAX_SAMPLES && analysed.face.is_some()
        {
            self.data.samples.push((jpeg, analysed.face));
        }
        self.data.prints.push(FramePrint {
            frame_no: analysed.obs.seq,
            phash: analysed.phash,
            exact: analysed.obs.content_hash,
        });
        out.push(ServerMsg::Guide {
            seq: analysed.obs.seq,
            tip: analysed.tip,
            faces: analysed.faces,
            size: analysed.obs.face.as_ref().map_or(0.0, |f| f.face_size),
        });
        self.data.frames.push(analysed.obs);
        out.extend(self.early_advance().await?);
        Ok(out)
    }

    /// An action step the user has answered is shown as seen at once, and the next step is
    /// revealed `SEEN_SHOWN_MS` later instead of at the window's end (the windows of the
    /// verdict follow the reveals, so nothing is judged differently).
    async fn early_advance(&mut self) -> Result<Vec<ServerMsg>, ProtocolError> {
        let mut out = Vec::new();
        if self.live.state() != &SessionState::Capturing {
            return Ok(out);
        }
        let Some(challenge) = self.live.challenge() else {
            return Ok(out);
        };
        let now = now_ms();
        let open = challenge.revealed_count().checked_sub(1);
        match self.data.answered {
            Some((i, at)) if Some(i) == open => {
                if now >= at + SEEN_SHOWN_MS {
                    self.data.answered = None;
                    // Names the step it ends: if the clock revealed the next one meanwhile
                    // (the window ended), the advance is a no-op, never a skipped step.
                    let event = Event::StepAdvanced {
                        now_ms: now,
                        from: i,
                    };
                    out.extend(self.apply(event).await?);
                }
            }
            _ => {
                let policy = Policy::default();
                let answered = openliveness_liveness::guide::open_step_answered(
                    challenge,
                    &self.data.frames,
                    &policy,
                );
                if let Some(i) = answered {
                    self.data.answered = Some((i, now));
                    out.push(ServerMsg::Seen { index: i });
                }
            }
        }
        Ok(out)
    }

    async fn still(&mut self, msg: Binary<'_>, arrival: i64) -> Result<(), ProtocolError> {
        if !matches!(
            self.live.state(),
            SessionState::Challenged | SessionState::Capturing
        ) {
            return Err(ProtocolError::OutOfOrder(format!(
                "a still is only accepted during the challenge, not in state {}",
                self.live.state().name()
            )));
        }
        let engine = self.engine.clone();
        let jpeg = msg.payload.to_vec();
        let capture = msg.capture_ms;
        let frame_no = if msg.kind == Kind::FarStill {
            FAR_STILL_NO
        } else {
            NEAR_STILL_NO
        };
        // Measuring and fingerprinting are CPU work: off the connection's task.
        let (analysed, jpeg, took) = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let r = observe::still(&engine, &jpeg, capture, arrival).map(|(obs, frame, face)| {
                let print = FramePrint {
                    frame_no,
                    phash: openliveness_vision::perceptual_hash(&frame),
                    exact: observe::content_hash(&jpeg),
                };
                (obs, frame, face, print)
            });
            (r, jpeg, started.elapsed())
        })
        .await
        .map_err(|_| ProtocolError::BadImage)?;
        self.data.measure_ms += took.as_secs_f64() * 1e3;
        crate::telemetry::frame_measured(took.as_secs_f64());
        let (obs, frame, face, print) = analysed.map_err(|_| ProtocolError::BadImage)?;
        self.data.prints.retain(|p| p.frame_no != frame_no);
        self.data.prints.push(print);
        let still = Still {
            obs,
            jpeg,
            frame,
            face,
        };
        match msg.kind {
            Kind::FarStill => self.data.far = Some(still),
            _ => self.data.near = Some(still),
        }
        Ok(())
    }
}

fn fail_reason_name(r: FailReason) -> &'static str {
    match r {
        FailReason::Rejected => "REJECTED",
        FailReason::TimedOut => "TIMED_OUT",
        FailReason::Abandoned => "ABANDONED",
        FailReason::ProtocolViolation => "PROTOCOL_VIOLATION",
    }
}
