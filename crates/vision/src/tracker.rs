//! Following one face through a frame sequence: the previous mesh places the
//! next crop, and the detector runs only when the face is lost or every N
//! frames.
//!
//! Invariants: a tracked frame costs one mesh inference; detection frames
//! also report how many faces the frame holds (the session's one-face check
//! relies on it), so a second face can go unseen for at most N−1 frames.

use crate::engine::{Engine, Face};
use crate::error::VisionError;
use crate::frame::Frame;
use crate::geometry::Roi;
use crate::mesh;

/// Default re-detection period: at 10–15 frames per second, about once a second.
pub const DEFAULT_DETECT_EVERY: u32 = 10;

/// What the tracker saw in one frame.
#[derive(Debug, Clone)]
pub struct TrackedFrame {
    /// The followed face, if any.
    pub face: Option<Face>,
    /// Faces the detector found, when it ran on this frame.
    pub detected_faces: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    roi: Option<Roi>,
    since_detect: u32,
    detect_every: u32,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(DEFAULT_DETECT_EVERY)
    }
}

impl Tracker {
    /// `detect_every` = 1 detects on every frame; 0 is treated as 1.
    pub fn new(detect_every: u32) -> Tracker {
        Tracker {
            roi: None,
            since_detect: 0,
            detect_every: detect_every.max(1),
        }
    }

    /// Forget the face: the next frame runs the detector.
    pub fn reset(&mut self) {
        self.roi = None;
    }

    pub fn process(&mut self, engine: &Engine, frame: &Frame) -> Result<TrackedFrame, VisionError> {
        self.process_with(engine, frame, engine.options().refine_eyes)
    }

    /// [`Tracker::process`], measuring the eyes with the iris model only if `refine_eyes`
    /// (a try whose challenge has no blink never reads how open the eyes are beyond "seen").
    pub fn process_with(
        &mut self,
        engine: &Engine,
        frame: &Frame,
        refine_eyes: bool,
    ) -> Result<TrackedFrame, VisionError> {
        if let Some(roi) = self.roi {
            if self.since_detect + 1 < self.detect_every {
                let face = engine.face_in(frame, &roi, None, refine_eyes)?;
                if face.mesh.presence >= engine.options().min_presence {
                    self.since_detect += 1;
                    self.roi = Some(face.mesh.next_roi());
                    return Ok(TrackedFrame {
                        face: Some(face),
                        detected_faces: None,
                    });
                }
            }
        }
        self.detect(engine, frame, refine_eyes)
    }

    fn detect(
        &mut self,
        engine: &Engine,
        frame: &Frame,
        refine_eyes: bool,
    ) -> Result<TrackedFrame, VisionError> {
        let detections = engine.detect(frame)?;
        let count = detections.len();
        self.since_detect = 0;
        let face = match detections.into_iter().next() {
            Some(d) => {
                let face =
                    engine.face_in(frame, &mesh::roi_from_detection(&d), Some(d), refine_eyes)?;
                self.roi = Some(face.mesh.next_roi());
                Some(face)
            }
            None => {
                self.roi = None;
                None
            }
        };
        Ok(TrackedFrame {
            face,
            detected_faces: Some(count),
        })
    }
}
