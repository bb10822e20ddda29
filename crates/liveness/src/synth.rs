//! Synthetic subjects: frame observations of a face that performs chosen
//! actions at chosen times, for this crate's tests and for anyone who needs
//! a session's numbers without a camera (the attack suite, benchmarks).
//!
//! Invariants: everything is a pure function of the seed (no clock, no
//! global RNG), so a test built on it is deterministic; a "3-D" subject
//! obeys perspective and parallax the way docs/liveness.md describes, a
//! flat one keeps every ratio constant, as a picture would.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::challenge::{Action, Challenge, ProductLevel, Target};
use crate::signals::{FaceObs, FrameObs, StillObs};

/// Depth of the nose and of the eye corners in front of the face outline,
/// as a share of the far distance: drives the perspective of the stills.
const NOSE_DEPTH: f32 = 0.14;
const EYE_DEPTH: f32 = 0.08;
/// How far the nose tip crosses the outline per sin(yaw) on a real head.
const NOSE_PARALLAX: f32 = 0.8;
const EMBEDDING_DIM: usize = 64;
/// A look moves the head over this long, smoothly, from where it pointed.
const LOOK_MOVE_MS: i64 = 400;
/// Yaw and pitch of a look at full reach (the verdict's nominal 20° and 12°,
/// turned a little further).
const LOOK_YAW_DEG: f32 = 22.0;
const LOOK_PITCH_DEG: f32 = 13.0;

/// One action performed: movement starts at `start_ms` (server clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Performance {
    pub action: Action,
    pub start_ms: i64,
    pub duration_ms: i64,
    /// `Look`: where the head turns to (and stays until the next look).
    pub target: Option<Target>,
}

impl Performance {
    /// Typical durations: a blink is quick, an approach is slow.
    pub fn at(action: Action, start_ms: i64) -> Performance {
        let duration_ms = match action {
            Action::Blink => 300,
            Action::OpenMouth => 1_200,
            Action::TurnLeft | Action::TurnRight => 1_400,
            Action::Nod => 1_200,
            Action::MoveCloser => 1_500,
            Action::Look => LOOK_MOVE_MS,
        };
        Performance {
            action,
            start_ms,
            duration_ms,
            target: None,
        }
    }

    /// Turning the head towards `target`, starting at `start_ms`.
    pub fn look(target: Target, start_ms: i64) -> Performance {
        Performance {
            target: Some(target),
            ..Performance::at(Action::Look, start_ms)
        }
    }

    /// 0 → 1 → 0 with a hold in the middle; MoveCloser ramps up and stays.
    fn amount(&self, t: i64) -> f32 {
        let u = (t.saturating_sub(self.start_ms)) as f32 / self.duration_ms.max(1) as f32;
        if self.action == Action::MoveCloser {
            return (u / 0.7).clamp(0.0, 1.0);
        }
        if !(0.0..=1.0).contains(&u) {
            0.0
        } else if u < 0.3 {
            u / 0.3
        } else if u > 0.7 {
            (1.0 - u) / 0.3
        } else {
            1.0
        }
    }
}

/// A face and a camera.
#[derive(Debug, Clone)]
pub struct Subject {
    pub eye: f32,
    pub mouth: f32,
    pub face_size: f32,
    pub embedding: Vec<f32>,
    /// A real head (perspective, parallax) or a flat picture of one.
    pub three_d: bool,
    pub fps: u32,
    /// Page clock minus server clock.
    pub page_clock_ms: i64,
    pub latency_ms: i64,
    pub jitter_ms: i64,
    pub anti_spoof: f32,
    pub liveness: f32,
}

impl Subject {
    pub fn new(rng: &mut impl Rng) -> Subject {
        let embedding = normalize(
            (0..EMBEDDING_DIM)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect(),
        );
        Subject {
            eye: 0.26,
            mouth: 0.03,
            face_size: 0.30,
            embedding,
            three_d: true,
            fps: 10,
            page_clock_ms: rng.gen_range(-3_000..3_000),
            latency_ms: 80,
            jitter_ms: 40,
            anti_spoof: 0.78,
            liveness: 0.99,
        }
    }

    /// The face at server time `t` while doing `acts`, with sensor noise.
    pub fn face_at(&self, t: i64, acts: &[Performance], rng: &mut impl Rng) -> FaceObs {
        let embedding = Some(self.embedding_sample(rng));
        let mut n = |a: f32| rng.gen_range(-a..=a);
        let (mut eye, mut mouth, mut yaw, mut pitch, mut scale) =
            (self.eye, self.mouth, 0.0, 0.0, 1.0);
        let mut looks: Vec<&Performance> = acts
            .iter()
            .filter(|p| p.action == Action::Look && p.start_ms <= t)
            .collect();
        looks.sort_by_key(|p| p.start_ms);
        for p in looks {
            let Some(target) = p.target else { continue };
            let k = ((t - p.start_ms) as f32 / p.duration_ms.max(1) as f32).clamp(0.0, 1.0);
            // The user's right is the image's left: yaw falls.
            yaw += k * (-target.x() * LOOK_YAW_DEG - yaw);
            pitch += k * (target.y() * LOOK_PITCH_DEG - pitch);
        }
        for p in acts {
            let k = p.amount(t);
            match p.action {
                Action::Blink => eye *= 1.0 - 0.9 * k,
                Action::OpenMouth => mouth += 0.4 * k,
                Action::TurnLeft => yaw += 25.0 * k,
                Action::TurnRight => yaw -= 25.0 * k,
                Action::Nod => pitch -= 15.0 * k,
                Action::MoveCloser => scale *= 1.0 + 0.7 * k,
                Action::Look => {}
            }
        }
        let nose = if self.three_d {
            NOSE_PARALLAX * f32::to_radians(yaw).sin()
        } else {
            0.0
        };
        FaceObs {
            left_eye: eye + n(0.005),
            right_eye: eye + n(0.005),
            mouth: (mouth + n(0.005)).max(0.0),
            yaw: yaw + n(0.4),
            pitch: pitch + n(0.4),
            roll: n(0.5),
            face_size: self.face_size * scale * (1.0 + n(0.003)),
            centre: [n(0.02), n(0.02)],
            sharpness: 60.0 + n(5.0),
            brightness: 0.5 + n(0.02),
            nose_offset: Some(nose + n(0.01)),
            embedding,
        }
    }

    /// Same person, a little noise: cosine ≈ 0.95 to the reference.
    pub fn embedding_sample(&self, rng: &mut impl Rng) -> Vec<f32> {
        normalize(
            self.embedding
                .iter()
                .map(|x| x + rng.gen_range(-0.07..0.07))
                .collect(),
        )
    }

    /// Frames captured every 1/fps from `from_ms` to `to_ms` (server clock).
    pub fn frames(
        &self,
        from_ms: i64,
        to_ms: i64,
        acts: &[Performance],
        seq0: u32,
        rng: &mut impl Rng,
    ) -> Vec<FrameObs> {
        let step = 1_000 / i64::from(self.fps.max(1));
        let mut out = Vec::new();
        let mut t = from_ms;
        let mut seq = seq0;
        while t < to_ms {
            let mut face = self.face_at(t, acts, rng);
            // Embeddings are costly: the server computes them on a sample.
            if seq % 5 != 0 {
                face.embedding = None;
            }
            out.push(FrameObs {
                seq,
                capture_ms: t.saturating_add(self.page_clock_ms),
                arrival_ms: t
                    .saturating_add(self.latency_ms)
                    .saturating_add(rng.gen_range(0..=self.jitter_ms.max(0))),
                face_count: 1,
                face: Some(face),
                content_hash: rng.gen(),
            });
            seq = seq.saturating_add(1);
            t = t.saturating_add(step);
        }
        out
    }

    /// A still at server time `t`. A 3-D head's ratios follow perspective as
    /// its size grows from `self.face_size`; a flat picture's stay put.
    pub fn still(&self, t: i64, acts: &[Performance], rng: &mut impl Rng) -> StillObs {
        let face = self.face_at(t, acts, rng);
        let s = face.face_size / self.face_size;
        let persp = |depth: f32| {
            if self.three_d {
                (1.0 - depth) / (1.0 - (s * depth).min(0.9))
            } else {
                1.0
            }
        };
        StillObs {
            capture_ms: t.saturating_add(self.page_clock_ms),
            arrival_ms: t.saturating_add(self.latency_ms.saturating_mul(3)),
            face_count: 1,
            face_size: face.face_size,
            nose_to_face_width: Some(
                0.25 * persp(NOSE_DEPTH) * (1.0 + rng.gen_range(-0.005..0.005)),
            ),
            eyes_to_face_width: Some(
                0.70 * persp(EYE_DEPTH) * (1.0 + rng.gen_range(-0.005..0.005)),
            ),
            anti_spoof: Some(self.anti_spoof),
            liveness: Some(self.liveness),
            embedding: Some(self.embedding_sample(rng)),
        }
    }
}

fn normalize(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > f32::EPSILON {
        v.into_iter().map(|x| x / n).collect()
    } else {
        v
    }
}

/// A whole try: the challenge (every step revealed), the frames from two
/// seconds of positioning to the near still, and the two stills.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub challenge: Challenge,
    pub subject: Subject,
    pub performances: Vec<Performance>,
    pub frames: Vec<FrameObs>,
    pub far: StillObs,
    pub near: StillObs,
    pub rng: StdRng,
}

/// When the challenge is issued in every scenario (server clock).
pub const ISSUED_AT_MS: i64 = 10_000;
/// Reaction time from reveal to the start of the movement.
pub const REACTION_MS: i64 = 700;

impl Scenario {
    /// A challenge for `level` with steps revealed every `step_window_ms`
    /// (as `Tick`s would), and a subject that has not done anything yet.
    pub fn new(level: ProductLevel, seed: u64) -> Scenario {
        let mut rng = StdRng::seed_from_u64(seed);
        let subject = Subject::new(&mut rng);
        let mut challenge = Challenge::draw(level, &mut rng, ISSUED_AT_MS);
        let mut t = ISSUED_AT_MS;
        while challenge.reveal_next(t).is_ok() {
            t = challenge.next_due_at().unwrap_or(t);
        }
        let far_t = ISSUED_AT_MS - 500;
        let far = subject.still(far_t, &[], &mut rng);
        Scenario {
            challenge,
            subject,
            performances: Vec::new(),
            frames: Vec::new(),
            near: far.clone(),
            far,
            rng,
        }
    }

    /// The responsive subject: each action `REACTION_MS` after its reveal.
    pub fn respond(&mut self) -> &mut Self {
        for i in 0..self.challenge.len() {
            if let Some(step) = self.challenge.step(i) {
                let start = step.revealed_at_ms + REACTION_MS;
                self.performances.push(match step.target {
                    Some(target) => Performance::look(target, start),
                    None => Performance::at(step.action, start),
                });
            }
        }
        self
    }

    /// Films the try: positioning from 2 s before issue, the approach for
    /// the near still (after the last step unless it was one), the stills.
    pub fn film(&mut self) -> &mut Self {
        let last_open = (0..self.challenge.len())
            .filter_map(|i| self.challenge.step(i))
            .map(|s| s.revealed_at_ms)
            .max()
            .unwrap_or(ISSUED_AT_MS);
        let approach = self
            .performances
            .iter()
            .find(|p| p.action == Action::MoveCloser)
            .copied();
        let approach = match approach {
            Some(p) => p,
            None => {
                let p = Performance::at(Action::MoveCloser, last_open + 2_500);
                self.performances.push(p);
                p
            }
        };
        let near_t = approach.start_ms + approach.duration_ms + 200;
        let end = near_t.max(last_open + 5_000) + 500;
        self.frames = self.subject.frames(
            ISSUED_AT_MS - 2_000,
            end,
            &self.performances,
            0,
            &mut self.rng,
        );
        self.near = self
            .subject
            .still(near_t, &self.performances, &mut self.rng);
        self
    }

    /// A genuine responsive subject, filmed.
    pub fn genuine(level: ProductLevel, seed: u64) -> Scenario {
        let mut s = Scenario::new(level, seed);
        s.respond().film();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::cosine_similarity;

    #[test]
    fn actions_rise_hold_and_fall_except_the_approach() {
        let blink = Performance::at(Action::Blink, 1_000);
        assert_eq!(blink.amount(999), 0.0);
        assert_eq!(blink.amount(1_150), 1.0);
        assert_eq!(blink.amount(1_400), 0.0);
        let near = Performance::at(Action::MoveCloser, 0);
        assert_eq!(near.amount(10_000), 1.0, "the approach stays near");
    }

    #[test]
    fn same_seed_same_session_and_embeddings_look_like_faceres() {
        let a = Scenario::genuine(ProductLevel::Standard, 4);
        let b = Scenario::genuine(ProductLevel::Standard, 4);
        assert_eq!(a.frames, b.frames);
        let mut rng = StdRng::seed_from_u64(0);
        let me = Subject::new(&mut rng);
        let other = Subject::new(&mut rng);
        let same = cosine_similarity(&me.embedding, &me.embedding_sample(&mut rng)).unwrap();
        let diff = cosine_similarity(&me.embedding, &other.embedding).unwrap();
        assert!(same > 0.9 && diff < 0.5, "{same} {diff}");
    }
}
