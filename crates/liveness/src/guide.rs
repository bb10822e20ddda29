//! Positioning guidance from the server's own measurements: one tip for each measured frame,
//! the most important first. The page shows it (holding each tip a moment) and counts the
//! good frames before it asks for the challenge, so what the user is told and the frames the
//! verdict takes as its baseline come from the same measurement.
//!
//! Invariants: pure over the frame's observation; the limits are stricter than the verdict's
//! quality checks (`Policy::min_face_size`, `min_brightness`, `max_centre_offset`), so a frame
//! the guide calls good is never one the verdict finds too far, too dark or off-centre.

use serde::Serialize;

use crate::challenge::Challenge;
use crate::policy::Policy;
use crate::signals::{FaceObs, FrameObs};

/// What the user should fix first, or `Good`. Serialised as the page's names (`moveLeft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum Tip {
    Missing,
    Multiple,
    TooDark,
    NotCentered,
    MoveLeft,
    MoveRight,
    MoveUp,
    MoveDown,
    TooFar,
    TooNear,
    NotFrontal,
    Occluded,
    KeepStill,
    Good,
}

/// The limits a positioned face keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Face size (`FaceObs::face_size`: the mesh box's longer side over the frame's shorter
    /// side), which reads about 1.3 times the detector box's width the page used to measure.
    pub min_size: f32,
    pub max_size: f32,
    /// Centre offset per axis, as a fraction of the half-frame.
    pub max_offset_x: f32,
    pub max_offset_y: f32,
    /// Head pose, degrees.
    pub max_yaw_deg: f32,
    pub max_pitch_deg: f32,
    pub max_roll_deg: f32,
    /// Mean luma (0–1) of the face.
    pub min_brightness: f32,
    /// A detector score this low on the main face usually means a hand, mask or hair over it.
    pub occluded_below: f32,
    /// Movement of the face's centre since the previous measured frame, over the face's size.
    pub max_motion: f32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            min_size: 0.25,
            max_size: 0.75,
            max_offset_x: 0.25,
            max_offset_y: 0.3,
            max_yaw_deg: 18.0,
            max_pitch_deg: 20.0,
            max_roll_deg: 20.0,
            min_brightness: 0.18,
            occluded_below: 0.7,
            max_motion: 0.1,
        }
    }
}

/// One measured frame, as the guide needs it.
#[derive(Debug, Clone, Copy)]
pub struct GuideInput<'a> {
    /// Faces the detector last counted (it runs every few frames; in between, the tracked
    /// face keeps the last count).
    pub faces: usize,
    pub face: Option<&'a FaceObs>,
    /// The detector's score for the main face when it last ran.
    pub score: Option<f32>,
    /// The main face of the previous measured frame, for the stillness check.
    pub previous: Option<&'a FaceObs>,
    /// The frame's width and height in pixels.
    pub width: u32,
    pub height: u32,
}

/// The tip for one measured frame, in order of what the user must fix first.
pub fn tip(input: &GuideInput<'_>, l: &Limits) -> Tip {
    let Some(face) = input.face else {
        return Tip::Missing;
    };
    if input.faces >= 2 {
        return Tip::Multiple;
    }
    if face.brightness < l.min_brightness {
        return Tip::TooDark;
    }
    let [x, y] = face.centre;
    let (off_x, off_y) = (x.abs() > l.max_offset_x, y.abs() > l.max_offset_y);
    if off_x && off_y {
        return Tip::NotCentered;
    }
    // Tips speak of the user's own movement. Frames are unmirrored: a face on the image's
    // left is on the user's right, so they move left. A face high in the frame moves down.
    if off_x {
        return if x < 0.0 {
            Tip::MoveLeft
        } else {
            Tip::MoveRight
        };
    }
    if off_y {
        return if y < 0.0 { Tip::MoveDown } else { Tip::MoveUp };
    }
    if face.face_size < l.min_size {
        return Tip::TooFar;
    }
    if face.face_size > l.max_size {
        return Tip::TooNear;
    }
    if face.yaw.abs() > l.max_yaw_deg
        || face.pitch.abs() > l.max_pitch_deg
        || face.roll.abs() > l.max_roll_deg
    {
        return Tip::NotFrontal;
    }
    if input.score.is_some_and(|s| s < l.occluded_below) {
        return Tip::Occluded;
    }
    if let Some(prev) = input.previous {
        if motion(prev, face, input.width, input.height) > l.max_motion {
            return Tip::KeepStill;
        }
    }
    Tip::Good
}

/// The step now open, if the user has done what it asks: its action seen since its reveal and,
/// for the actions that come back (blink, turns, nod), back at rest, by the same measure the
/// verdict uses. The server tells the page and opens the next step early, so nobody waits out a
/// window they have answered. `None` for a `look` step (a target's hold is its measurement) and
/// for the last step.
pub fn open_step_answered(
    challenge: &Challenge,
    frames: &[FrameObs],
    policy: &Policy,
) -> Option<usize> {
    crate::checks::actions::open_step_answered(challenge, frames, policy)
}

/// Movement of the face's centre between two frames, over the face's size.
pub fn motion(a: &FaceObs, b: &FaceObs, width: u32, height: u32) -> f32 {
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let dx = (a.centre[0] - b.centre[0]) * w / 2.0;
    let dy = (a.centre[1] - b.centre[1]) * h / 2.0;
    let size = (b.face_size * w.min(h)).max(1.0);
    (dx * dx + dy * dy).sqrt() / size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(size: f32, x: f32, y: f32) -> FaceObs {
        FaceObs {
            left_eye: 0.3,
            right_eye: 0.3,
            mouth: 0.0,
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            face_size: size,
            centre: [x, y],
            sharpness: 50.0,
            brightness: 0.5,
            nose_offset: Some(0.0),
            embedding: None,
        }
    }

    fn tip_of(faces: usize, f: Option<&FaceObs>, prev: Option<&FaceObs>) -> Tip {
        let input = GuideInput {
            faces,
            face: f,
            score: Some(0.95),
            previous: prev,
            width: 640,
            height: 480,
        };
        tip(&input, &Limits::default())
    }

    #[test]
    fn each_cause_in_its_order() {
        let good = face(0.45, 0.0, 0.0);
        assert_eq!(tip_of(1, Some(&good), Some(&good)), Tip::Good);
        assert_eq!(tip_of(0, None, None), Tip::Missing);
        assert_eq!(tip_of(2, Some(&good), None), Tip::Multiple);
        let dark = FaceObs {
            brightness: 0.1,
            ..good.clone()
        };
        assert_eq!(tip_of(2, Some(&dark), None), Tip::Multiple);
        assert_eq!(tip_of(1, Some(&dark), None), Tip::TooDark);
        assert_eq!(
            tip_of(1, Some(&face(0.45, -0.5, -0.5)), None),
            Tip::NotCentered
        );
        // A face on the image's left: the user stands to their right and moves left.
        assert_eq!(tip_of(1, Some(&face(0.45, -0.4, 0.0)), None), Tip::MoveLeft);
        assert_eq!(tip_of(1, Some(&face(0.45, 0.4, 0.0)), None), Tip::MoveRight);
        assert_eq!(tip_of(1, Some(&face(0.45, 0.0, -0.4)), None), Tip::MoveDown);
        assert_eq!(tip_of(1, Some(&face(0.45, 0.0, 0.4)), None), Tip::MoveUp);
        // Off-centre comes before the distance: a face half out of the frame reads small.
        assert_eq!(tip_of(1, Some(&face(0.2, 0.4, 0.0)), None), Tip::MoveRight);
        assert_eq!(tip_of(1, Some(&face(0.2, 0.0, 0.0)), None), Tip::TooFar);
        assert_eq!(tip_of(1, Some(&face(0.9, 0.0, 0.0)), None), Tip::TooNear);
        let turned = FaceObs {
            yaw: 25.0,
            ..good.clone()
        };
        assert_eq!(tip_of(1, Some(&turned), None), Tip::NotFrontal);
        let tilted = FaceObs {
            roll: -30.0,
            ..good.clone()
        };
        assert_eq!(tip_of(1, Some(&tilted), None), Tip::NotFrontal);
        let input = GuideInput {
            faces: 1,
            face: Some(&good),
            score: Some(0.6),
            previous: None,
            width: 640,
            height: 480,
        };
        assert_eq!(tip(&input, &Limits::default()), Tip::Occluded);
    }

    #[test]
    fn a_moving_face_is_asked_to_keep_still() {
        let a = face(0.45, 0.0, 0.0);
        // 0.45 × 480 = 216 px of face; 0.1 of the half-width (32 px) is 0.15 of it.
        let moved = face(0.45, 0.1, 0.0);
        assert_eq!(tip_of(1, Some(&moved), Some(&a)), Tip::KeepStill);
        let drifted = face(0.45, 0.03, 0.0);
        assert_eq!(tip_of(1, Some(&drifted), Some(&a)), Tip::Good);
    }

    /// A try revealed up to its first action step, with the subject doing `acts`, filmed until
    /// `until` (server clock).
    fn answered_at(
        seed: u64,
        act_late_ms: Option<i64>,
        until_after_reveal: i64,
    ) -> (Option<usize>, usize) {
        use crate::challenge::{Action, Challenge, ProductLevel};
        use crate::synth::{Performance, Subject, ISSUED_AT_MS, REACTION_MS};
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let subject = Subject::new(&mut rng);
        let mut challenge = Challenge::draw(ProductLevel::Standard, &mut rng, ISSUED_AT_MS);
        let mut acts = Vec::new();
        let mut t = ISSUED_AT_MS;
        let index = loop {
            let step = challenge.reveal_next(t).unwrap();
            match step.target {
                Some(target) => acts.push(Performance::look(target, t + REACTION_MS)),
                None if step.action != Action::Look => break step.index,
                None => {}
            }
            t = challenge.next_due_at().unwrap();
        };
        let action = challenge.step(index).unwrap().action;
        if let Some(late) = act_late_ms {
            acts.push(Performance::at(action, t + late));
        }
        let frames = subject.frames(
            ISSUED_AT_MS - 2_000,
            t + until_after_reveal,
            &acts,
            0,
            &mut rng,
        );
        (
            open_step_answered(&challenge, &frames, &Policy::default()),
            index,
        )
    }

    #[test]
    fn an_action_step_is_answered_once_done_and_back_at_rest() {
        for seed in 0..6 {
            // Done 0.7 s after the reveal, filmed for 3 s: answered.
            let (answered, index) = answered_at(seed, Some(700), 3_000);
            assert_eq!(answered, Some(index), "seed {seed}");
            // Not started yet.
            assert_eq!(answered_at(seed, Some(700), 600).0, None, "seed {seed}");
            // Nothing done at all.
            assert_eq!(answered_at(seed, None, 4_000).0, None, "seed {seed}");
        }
    }

    #[test]
    fn names_are_the_pages() {
        let names: Vec<String> = [Tip::MoveLeft, Tip::TooDark, Tip::Good]
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect();
        assert_eq!(names, ["\"moveLeft\"", "\"tooDark\"", "\"good\""]);
    }
}
