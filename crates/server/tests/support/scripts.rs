//! The species of the attack suite, as scripts for the live client: one genuine responsive
//! subject and the attacks of SPEC §5.

use image::RgbImage;

use super::client::{Moment, Script, Sent, Shot};
use super::render::Pose;
use super::subject::{noise, warp_2d, with_second_face, Act, Subject};
use openliveness_server::live::protocol::Kind;

/// The genuine subject's body language for `action`, `e` ms after it was asked.
pub fn respond(action: &str, e: i64) -> Act {
    let ramp = |from: i64, to: i64| ((e - from) as f32 / (to - from) as f32).clamp(0.0, 1.0);
    let mut act = Act::REST;
    match action {
        "blink" => act.eyes_closed = (450..750).contains(&e),
        "open_mouth" => act.mouth_open = (350..1300).contains(&e),
        "turn_left" | "turn_right" => {
            let sign = if action == "turn_left" { 1.0 } else { -1.0 };
            let k = ramp(250, 650) - ramp(1100, 1500);
            act.pose.yaw = sign * 45.0 * k;
        }
        "nod" => act.pose.pitch = -18.0 * (ramp(250, 600) - ramp(900, 1250)),
        "move_closer" => act.pose.distance = 1.0 - 0.35 * ramp(250, 900),
        _ => {}
    }
    act
}

/// Once the subject moved closer, they stay closer for the rest of the challenge.
fn carried_distance(m: &Moment) -> f32 {
    let closer_done = m.revealed.iter().rev().skip(1).any(|a| a == "move_closer");
    if closer_done {
        0.65
    } else {
        1.0
    }
}

pub struct Genuine<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
}

impl Script for Genuine<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.seed += 1;
        let mut act = match &m.step {
            Some((a, e)) => respond(a, *e),
            None => Act::REST,
        };
        if act.pose.distance == 1.0 {
            act.pose.distance = carried_distance(m);
        }
        Some(Shot::Image(self.subject.frame(act, self.seed)))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let far = self.subject.frame(Act::REST, self.seed + 1000);
        let near = self.subject.frame(
            Act {
                pose: Pose {
                    distance: 0.65,
                    ..Pose::FRONT
                },
                ..Act::REST
            },
            self.seed + 1001,
        );
        (Shot::Image(far), Shot::Image(near))
    }
}

/// A printed photo held in front of the camera: never moves, never answers.
pub struct StaticPhoto<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
}

impl Script for StaticPhoto<'_> {
    fn frame(&mut self, _m: &Moment) -> Option<Shot> {
        self.seed += 1;
        let mut img = self.subject.neutral().clone();
        noise(&mut img, self.seed);
        Some(Shot::Image(img))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let img = self.subject.neutral().clone();
        (Shot::Image(img.clone()), Shot::Image(img))
    }
}

/// The photo moved and warped in 2-D to pretend: shifted and sheared for turns and nods,
/// scaled for "closer". It has no depth, so no parallax.
pub struct Warped2d<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
}

impl Warped2d<'_> {
    fn centre(&self) -> (f32, f32) {
        let p = &self.subject.head.points;
        let n = p.len() as f32;
        (
            p.iter().map(|q| q[0]).sum::<f32>() / n,
            p.iter().map(|q| q[1]).sum::<f32>() / n,
        )
    }
}

impl Script for Warped2d<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.seed += 1;
        let act = match &m.step {
            Some((a, e)) => respond(a, *e),
            None => Act::REST,
        };
        let scale = 1.0 / act.pose.distance.min(carried_distance(m));
        let shift = act.pose.yaw * 1.6;
        let shear = act.pose.yaw / 120.0;
        let mut img = warp_2d(
            self.subject.neutral(),
            self.centre(),
            scale,
            shift,
            shear + act.pose.pitch / 150.0,
        );
        noise(&mut img, self.seed);
        Some(Shot::Image(img))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let far = self.subject.neutral().clone();
        let near = warp_2d(&far, self.centre(), 1.0 / 0.65, 0.0, 0.0);
        (Shot::Image(far), Shot::Image(near))
    }
}

/// A recorded clip of the real subject blinking, turning and coming closer at its own
/// times, played whatever the challenge asks.
pub struct NonResponsive<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
}

impl Script for NonResponsive<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.seed += 1;
        // A fixed programme: blink every 1.9 s, open the mouth at 4.5 s, turn left at 7 s.
        let t = m.t_ms;
        let mut act = respond("blink", t % 1900);
        if (4500..6000).contains(&t) {
            act = respond("open_mouth", t - 4500);
        }
        if (7000..8600).contains(&t) {
            act = respond("turn_left", t - 7000);
        }
        Some(Shot::Image(self.subject.frame(act, self.seed)))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        Genuine {
            subject: self.subject,
            seed: self.seed,
        }
        .stills()
    }
}

/// An earlier session's messages, sent again byte for byte with their recorded times.
pub struct Replay {
    pub recorded: Vec<Sent>,
}

impl Script for Replay {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        let frames: Vec<&Sent> = self
            .recorded
            .iter()
            .filter(|s| s.kind == Kind::Frame)
            .collect();
        let s = frames.iter().find(|s| s.t_ms >= m.t_ms).or(frames.last())?;
        Some(Shot::Raw(s.payload.clone(), s.capture_ms))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let find = |k: Kind| {
            self.recorded
                .iter()
                .find(|s| s.kind == k)
                .map(|s| Shot::Raw(s.payload.clone(), s.capture_ms))
        };
        (
            find(Kind::FarStill).unwrap_or(Shot::Raw(Vec::new(), 0)),
            find(Kind::NearStill).unwrap_or(Shot::Raw(Vec::new(), 0)),
        )
    }
}

/// The genuine subject's responses, injected with capture times that no live camera
/// produces: taken long before the challenge existed.
pub struct PreChallenge<'a> {
    pub inner: Genuine<'a>,
}

impl Script for PreChallenge<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.inner.frame(m)
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
    fn capture_ms(&mut self, now_ms: i64, _m: &Moment) -> i64 {
        now_ms - 90_000
    }
}

/// The genuine subject's responses pushed through the API in bursts: each frame three
/// times at once, with the timing of a file being uploaded, not a camera.
pub struct Burst<'a> {
    pub inner: Genuine<'a>,
}

impl Script for Burst<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.inner.frame(m)
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
    fn burst(&mut self) -> usize {
        2
    }
}

/// A second face enters the picture once the challenge runs.
pub struct SecondFace<'a> {
    pub inner: Genuine<'a>,
    pub other: RgbImage,
}

impl Script for SecondFace<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        let shot = self.inner.frame(m)?;
        match (shot, m.revealed.len()) {
            (Shot::Image(img), n) if n >= 1 => {
                Some(Shot::Image(with_second_face(&img, &self.other)))
            }
            (s, _) => Some(s),
        }
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
}

/// The genuine subject answers the first step, then another person's face is swapped in.
pub struct FaceSwap<'a> {
    pub inner: Genuine<'a>,
    pub other: &'a Subject,
}

impl Script for FaceSwap<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        if m.revealed.len() >= 2 {
            self.inner.seed += 1;
            let act = match &m.step {
                Some((a, e)) => respond(a, *e),
                None => Act::REST,
            };
            return Some(Shot::Image(self.other.frame(act, self.inner.seed)));
        }
        self.inner.frame(m)
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
}
