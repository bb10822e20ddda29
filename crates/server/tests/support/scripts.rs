//! The species of the attack suite, as scripts for the live client: one genuine responsive
//! subject and the attacks of SPEC §5.

use image::RgbImage;

use super::client::{Look, Moment, Script, Sent, Shot};
use super::render::Pose;
use super::subject::{
    jpeg, noise, warp_2d, with_background_face, with_second_face, Act, FrameBank, Subject,
};
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
        "move_closer" | "near" => act.pose.distance = 1.0 - 0.35 * ramp(250, 900),
        _ => {}
    }
    act
}

/// Yaw and pitch the subject turns to for a target at full reach: the landmark model
/// reads about four fifths of a rendered turn, so this reads near the verdict's 20° and 12°.
const LOOK_YAW_DEG: f32 = 25.0;
const LOOK_PITCH_DEG: f32 = 16.0;

/// The genuine subject following the target: it reacts after 300 ms and turns its head
/// from the previous target to this one over the next 450 ms.
pub fn respond_look(look: &Look) -> Act {
    let k = ((look.e - 300) as f32 / 450.0).clamp(0.0, 1.0);
    let x = look.from.0 + k * (look.to.0 - look.from.0);
    let y = look.from.1 + k * (look.to.1 - look.from.1);
    let mut act = Act::REST;
    // The user's right is the image's left in an unmirrored frame: yaw falls.
    act.pose.yaw = -x * LOOK_YAW_DEG;
    act.pose.pitch = y * LOOK_PITCH_DEG;
    act
}

/// What the genuine subject does at moment `m`.
pub fn respond_to(m: &Moment) -> Act {
    if let Some(look) = &m.look {
        return respond_look(look);
    }
    match &m.step {
        Some((a, e)) => respond(a, *e),
        None => Act::REST,
    }
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

/// The latest far and near frames at rest of a stream, with their capture times: what the
/// page sends as stills.
#[derive(Default)]
pub struct Stills {
    far: Option<(RgbImage, i64)>,
    near: Option<(RgbImage, i64)>,
}

impl Stills {
    /// Notes a frame the subject showed at `act` (with its distance), captured at `at`.
    pub fn note(&mut self, img: &RgbImage, act: &Act, at: i64) {
        let p = act.pose;
        let at_rest = !act.eyes_closed && !act.mouth_open && p.yaw == 0.0 && p.pitch == 0.0;
        if at_rest && p.distance == 1.0 {
            self.far = Some((img.clone(), at));
        } else if at_rest && p.distance <= 0.66 {
            self.near = Some((img.clone(), at));
        }
    }

    /// The stills; `fallback(distance)` renders one if the stream never showed it.
    pub fn take(&self, fallback: impl Fn(f32) -> RgbImage) -> (Shot, Shot) {
        let pick = |s: &Option<(RgbImage, i64)>, distance: f32| match s {
            Some((img, at)) => Shot::Raw(jpeg(img), *at),
            None => Shot::Image(fallback(distance)),
        };
        (pick(&self.far, 1.0), pick(&self.near, 0.65))
    }
}

/// The genuine subject: answers each step when it is revealed, and sends as stills the
/// best far and near frames of its own stream, with their capture times (as the page does).
pub struct Genuine<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
    pub stills: Stills,
    /// What the subject did in the last frame, for scripts that alter it.
    pub last: Act,
}

impl<'a> Genuine<'a> {
    pub fn new(subject: &'a Subject, seed: u64) -> Genuine<'a> {
        Genuine {
            subject,
            seed,
            stills: Stills::default(),
            last: Act::REST,
        }
    }
}

impl Script for Genuine<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.seed += 1;
        let mut act = respond_to(m);
        if act.pose.distance == 1.0 {
            act.pose.distance = carried_distance(m);
        }
        let img = self.subject.frame(act, self.seed);
        // The page takes the far still while the user holds still at arm's length, not in
        // the instant before they start to come closer.
        let approaching = matches!(&m.step, Some((a, _)) if a == "move_closer" || a == "near");
        if !approaching || act.pose.distance < 1.0 {
            self.stills.note(&img, &act, m.now_ms);
        }
        self.last = act;
        Some(Shot::Image(img))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let (subject, seed) = (self.subject, self.seed);
        self.stills
            .take(|distance| subject.at_rest(distance, seed + 1000))
    }
}

/// The genuine subject played from a [`FrameBank`]: the same answers as [`Genuine`], each
/// frame an encoded picture taken from the bank (rendered once per pose), so a load client
/// can play many sessions at once on little CPU.
pub struct Prerendered<'a> {
    pub bank: &'a FrameBank,
    /// Names this session's frames (their JPEG comments).
    pub tag: String,
    sent: u64,
    far: Option<(Vec<u8>, i64)>,
    near: Option<(Vec<u8>, i64)>,
}

impl<'a> Prerendered<'a> {
    pub fn new(bank: &'a FrameBank, tag: String) -> Prerendered<'a> {
        Prerendered {
            bank,
            tag,
            sent: 0,
            far: None,
            near: None,
        }
    }
}

impl Script for Prerendered<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.sent += 1;
        let mut act = respond_to(m);
        if act.pose.distance == 1.0 {
            act.pose.distance = carried_distance(m);
        }
        let bytes = self
            .bank
            .frame(act, self.sent, &format!("{} {}", self.tag, self.sent));
        let approaching = matches!(&m.step, Some((a, _)) if a == "move_closer" || a == "near");
        let p = act.pose;
        let at_rest = !act.eyes_closed && !act.mouth_open && p.yaw == 0.0 && p.pitch == 0.0;
        if at_rest && p.distance == 1.0 && !approaching {
            self.far = Some((bytes.clone(), m.now_ms));
        } else if at_rest && p.distance <= 0.66 {
            self.near = Some((bytes.clone(), m.now_ms));
        }
        Some(Shot::Raw(bytes, m.now_ms))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let now = super::client::now_ms();
        let pick = |s: Option<(Vec<u8>, i64)>, distance: f32, n: u64| match s {
            Some((bytes, at)) => Shot::Raw(bytes, at),
            None => {
                let pose = Pose {
                    distance,
                    ..Pose::FRONT
                };
                let tag = format!("{} still {n}", self.tag);
                Shot::Raw(self.bank.frame(Act { pose, ..Act::REST }, n, &tag), now)
            }
        };
        let far = pick(self.far.take(), 1.0, 1);
        let near = pick(self.near.take(), 0.65, 2);
        (far, near)
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
    pub stills: Stills,
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
        let mut act = respond_to(m);
        act.pose.distance = act.pose.distance.min(carried_distance(m));
        let scale = 1.0 / act.pose.distance;
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
        self.stills.note(&img, &act, m.now_ms);
        Some(Shot::Image(img))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let (photo, centre) = (self.subject.neutral(), self.centre());
        self.stills
            .take(|distance| warp_2d(photo, centre, 1.0 / distance, 0.0, 0.0))
    }
}

/// A recorded clip of the real subject blinking, turning and coming closer at its own
/// times, played whatever the challenge asks.
pub struct NonResponsive<'a> {
    pub subject: &'a Subject,
    pub seed: u64,
    pub stills: Stills,
}

impl Script for NonResponsive<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.seed += 1;
        // A fixed programme, like a clip of someone looking around: blinks every 1.9 s,
        // the head turned right and left in turn every 1.6 s from 1.2 s, then closer from
        // 7.5 s. Whatever the challenge, some turn comes before its step or unasked.
        let t = m.t_ms;
        let mut act = respond("blink", t % 1900);
        if (1200..7500).contains(&t) {
            let k = (t - 1200) / 1600;
            let turn = if k % 2 == 0 {
                "turn_right"
            } else {
                "turn_left"
            };
            act = respond(turn, (t - 1200) % 1600);
        }
        if t >= 7500 {
            act = respond("move_closer", t - 7500);
        }
        let img = self.subject.frame(act, self.seed);
        self.stills.note(&img, &act, m.now_ms);
        Some(Shot::Image(img))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let (subject, seed) = (self.subject, self.seed);
        self.stills.take(|distance| subject.at_rest(distance, seed))
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

/// The genuine subject's responses pushed through the API in bursts: each frame twice at
/// once with one capture time, the timing of an upload tool rather than a camera. It sends
/// a pair every other tick, 10 frames a second in all like a camera: under the channel's
/// frame-rate limit, so the verdict, not the rate limiter, has to catch it, and no more work
/// for the server than a genuine stream. (At 16 frames a second it outran the measuring of
/// the test profile on two cores: its try timed out before a verdict in some runs, which
/// tests overload, not burst detection; overload is issue 13's admission control.)
pub struct Burst<'a> {
    pub inner: Genuine<'a>,
    pub tick: u32,
}

impl Script for Burst<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.tick += 1;
        if self.tick % 2 == 0 {
            return None;
        }
        self.inner.frame(m)
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
    fn burst(&mut self) -> usize {
        1
    }
}

/// A second face enters the picture once the challenge runs: leaning in (large), or
/// `small` in the background.
pub struct SecondFace<'a> {
    pub inner: Genuine<'a>,
    pub other: &'a Subject,
    pub stills: Stills,
    pub small: bool,
}

impl SecondFace<'_> {
    fn add(&self, img: &RgbImage) -> RgbImage {
        if self.small {
            with_background_face(img, self.other)
        } else {
            with_second_face(img, self.other)
        }
    }
}

impl Script for SecondFace<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        let shot = self.inner.frame(m)?;
        match (shot, m.revealed.len()) {
            (Shot::Image(img), n) if n >= 1 => {
                let img = self.add(&img);
                self.stills.note(&img, &self.inner.last, m.now_ms);
                Some(Shot::Image(img))
            }
            (s, _) => Some(s),
        }
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let (subject, seed) = (self.inner.subject, self.inner.seed);
        let at_rest = |distance| self.add(&subject.at_rest(distance, seed));
        self.stills.take(at_rest)
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
            return Some(Shot::Image(
                self.other.frame(respond_to(m), self.inner.seed),
            ));
        }
        self.inner.frame(m)
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
}

/// One step of a recorded session: what was asked, and the frames that answered it, as
/// (milliseconds after the reveal, bytes).
#[derive(Clone)]
pub struct Segment {
    pub action: String,
    pub target: Option<(f32, f32)>,
    pub frames: Vec<(i64, Vec<u8>)>,
}

/// Cuts a recorded session into its positioning frames and one segment per step.
pub fn segments(out: &super::client::Outcome) -> (Vec<Vec<u8>>, Vec<Segment>) {
    let frames: Vec<&Sent> = out.sent.iter().filter(|s| s.kind == Kind::Frame).collect();
    let first = out.steps.first().map_or(i64::MAX, |s| s.1);
    let positioning = frames
        .iter()
        .filter(|s| s.t_ms < first)
        .map(|s| s.payload.clone())
        .collect();
    let segs = out
        .steps
        .iter()
        .enumerate()
        .map(|(i, (action, at, target))| {
            let end = out.steps.get(i + 1).map_or(i64::MAX, |s| s.1);
            Segment {
                action: action.clone(),
                target: *target,
                frames: frames
                    .iter()
                    .filter(|s| s.t_ms >= *at && s.t_ms < end)
                    .map(|s| (s.t_ms - at, s.payload.clone()))
                    .collect(),
            }
        })
        .collect();
    (positioning, segs)
}

/// A library of recorded genuine sessions spliced to answer a new challenge: for each
/// revealed step it plays the recorded segment that answered the same action — for a
/// follow target, the recorded target nearest to the new one — re-timed to the new
/// reveal, with fresh capture times; its stills are a recording's stills. With `altered`,
/// every frame is decoded, shifted and scaled a little in 2-D, given noise and re-encoded,
/// so no byte repeats a recording.
pub struct Splice {
    pub positioning: Vec<Vec<u8>>,
    pub library: Vec<Segment>,
    pub stills: (Vec<u8>, Vec<u8>),
    pub altered: Option<u64>,
    pub tick: usize,
}

impl Splice {
    fn pick(&self, m: &Moment) -> Option<&Vec<u8>> {
        let Some((action, e)) = &m.step else {
            return self
                .positioning
                .get(self.tick % self.positioning.len().max(1));
        };
        let segment = match &m.look {
            Some(look) => self
                .library
                .iter()
                .filter_map(|s| s.target.map(|t| (s, t)))
                .min_by(|(_, a), (_, b)| {
                    let d = |t: &(f32, f32)| (t.0 - look.to.0).powi(2) + (t.1 - look.to.1).powi(2);
                    d(a).total_cmp(&d(b))
                })
                .map(|(s, _)| s),
            None => self.library.iter().find(|s| &s.action == action),
        };
        match segment {
            Some(s) => s
                .frames
                .iter()
                .find(|(t, _)| t >= e)
                .or(s.frames.last())
                .map(|(_, b)| b),
            None => self.positioning.last(),
        }
    }

    fn alter(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Some(seed) = self.altered.as_mut() else {
            return bytes.to_vec();
        };
        *seed += 1;
        let Ok(img) = image::load_from_memory(bytes) else {
            return bytes.to_vec();
        };
        let img = img.to_rgb8();
        let centre = (img.width() as f32 / 2.0, img.height() as f32 / 2.0);
        let mut img = warp_2d(&img, centre, 1.03, 3.0, 0.0);
        noise(&mut img, *seed);
        jpeg(&img)
    }
}

impl Script for Splice {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.tick += 1;
        let bytes = self.pick(m)?.clone();
        Some(Shot::Raw(self.alter(&bytes), m.now_ms))
    }
    fn stills(&mut self) -> (Shot, Shot) {
        let (far, near) = self.stills.clone();
        let now = super::client::now_ms();
        (
            Shot::Raw(self.alter(&far), now - 1_200),
            Shot::Raw(self.alter(&near), now - 100),
        )
    }
}

/// The genuine subject at 3 frames a second: a generator with time to spare per frame.
pub struct Slow<'a> {
    pub inner: Genuine<'a>,
    pub tick: u32,
}

impl Script for Slow<'_> {
    fn frame(&mut self, m: &Moment) -> Option<Shot> {
        self.tick += 1;
        let shot = self.inner.frame(m);
        (self.tick % 3 == 0).then_some(shot).flatten()
    }
    fn stills(&mut self) -> (Shot, Shot) {
        self.inner.stills()
    }
}
