//! From what the vision engine measured to what the liveness core judges: the one place the
//! two crates' types meet.
//!
//! What must stay true: these functions are pure over the vision output (the engine calls
//! happen in [`Analyzer`]), and geometry uses the mesh's image-plane points only.

use openliveness_liveness::guide::{self, GuideInput, Limits as GuideLimits, Tip};
use openliveness_liveness::{FaceObs, FrameObs, StillObs};
use openliveness_vision::{
    Engine, Face, Frame, Mesh, Tracker, VisionError, LEFT_EYE_OUTER, RIGHT_EYE_OUTER,
};

/// Mesh indices (MediaPipe face mesh) used for the depth and parallax ratios.
const NOSE_TIP: usize = 1;
const CHEEK_RIGHT: usize = 234;
const CHEEK_LEFT: usize = 454;
const ALA_RIGHT: usize = 48;
const ALA_LEFT: usize = 278;
/// An embedding costs three to four meshes: compute one every this many frames with a face
/// (about every 1.6 s at 10 frames/s). A swap needs `swap_min_samples` (2) low frames or the
/// near still to be judged, so a face swapped in for the rest of a try is still caught.
const EMBED_EVERY: u32 = 16;

fn dist2d(m: &Mesh, a: usize, b: usize) -> f32 {
    let (p, q) = (m.point(a), m.point(b));
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
}

/// Where the nose tip sits between the cheeks, −1…1, positive to the image's right.
pub fn nose_offset(m: &Mesh) -> Option<f32> {
    let (r, l, n) = (m.point(CHEEK_RIGHT), m.point(CHEEK_LEFT), m.point(NOSE_TIP));
    let half = (l[0] - r[0]).abs() / 2.0;
    (half >= 1.0).then(|| (n[0] - (l[0] + r[0]) / 2.0) / half)
}

/// Nose width and eye-corner distance over face width: perspective changes the first more.
pub fn depth_ratios(m: &Mesh) -> (Option<f32>, Option<f32>) {
    let width = dist2d(m, CHEEK_RIGHT, CHEEK_LEFT);
    if width < 1.0 {
        return (None, None);
    }
    (
        Some(dist2d(m, ALA_RIGHT, ALA_LEFT) / width),
        Some(dist2d(m, RIGHT_EYE_OUTER, LEFT_EYE_OUTER) / width),
    )
}

pub fn face_obs(face: &Face, embedding: Option<Vec<f32>>) -> FaceObs {
    let s = &face.signals;
    FaceObs {
        left_eye: s.left_eye_openness,
        right_eye: s.right_eye_openness,
        mouth: s.mouth_openness,
        yaw: s.yaw,
        pitch: s.pitch,
        roll: s.roll,
        face_size: s.face_size,
        centre: s.center_offset,
        sharpness: s.sharpness,
        brightness: s.brightness,
        nose_offset: nose_offset(&face.mesh),
        embedding,
    }
}

/// A short, stable fingerprint of the encoded bytes (duplicate-frame detection).
pub fn content_hash(bytes: &[u8]) -> u64 {
    use sha2::Digest;
    let d: [u8; 32] = sha2::Sha256::digest(bytes).into();
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = d;
    u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
}

/// Per-connection vision state: the tracker, the embedding cadence and whether the eyes'
/// openness is needed.
pub struct Analyzer {
    tracker: Tracker,
    /// Measure the eyes with the iris model (two inferences per frame, as much as the mesh):
    /// while positioning, whose frames make the baseline a blink is measured against, and in a
    /// try whose challenge holds a blink. Otherwise the mesh's own lid points say the eyes are
    /// there, which is all the rest of the verdict reads of them.
    pub iris_eyes: bool,
    frames_with_face: u32,
    /// Faces the detector counted when it last ran, and its score for the main face.
    last_count: usize,
    last_score: Option<f32>,
    /// The previous frame's main face, for the guide's stillness check.
    previous: Option<FaceObs>,
}

/// One analysed frame: the observation for the verdict and, for the audit image, the face.
pub struct Analysed {
    pub obs: FrameObs,
    pub face: Option<Face>,
    /// The frame's perceptual fingerprint (cross-session replays).
    pub phash: u64,
    /// What the user is told about this frame.
    pub tip: Tip,
    /// Faces for the guide: this frame's detection, or the last one while tracking.
    pub faces: usize,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            tracker: Tracker::default(),
            iris_eyes: true,
            frames_with_face: 0,
            last_count: 0,
            last_score: None,
            previous: None,
        }
    }
}

impl Analyzer {
    pub fn reset(&mut self) {
        self.tracker.reset();
        self.iris_eyes = true;
        self.frames_with_face = 0;
        self.last_count = 0;
        self.last_score = None;
        self.previous = None;
    }

    /// Decodes and measures one streamed frame. CPU-bound: call from a blocking thread.
    pub fn frame(
        &mut self,
        engine: &Engine,
        jpeg: &[u8],
        seq: u32,
        capture_ms: i64,
        arrival_ms: i64,
    ) -> Result<Analysed, VisionError> {
        let frame = openliveness_vision::decode_image(jpeg)?;
        let tracked = self.tracker.process_with(engine, &frame, self.iris_eyes)?;
        let embedding = match &tracked.face {
            Some(face) => {
                self.frames_with_face += 1;
                if self.frames_with_face % EMBED_EVERY == 1 {
                    engine.embedding(&frame, &face.mesh).ok()
                } else {
                    None
                }
            }
            None => None,
        };
        let face_count = tracked
            .detected_faces
            .unwrap_or(usize::from(tracked.face.is_some()))
            .min(u8::MAX as usize) as u8;
        let obs_face = tracked.face.as_ref().map(|f| face_obs(f, embedding));
        self.last_count = match (tracked.detected_faces, &obs_face) {
            (Some(n), _) => n,
            (None, Some(_)) => self.last_count.max(1),
            (None, None) => 0,
        };
        if let Some(face) = &tracked.face {
            if let Some(d) = &face.detection {
                self.last_score = Some(d.score);
            }
        } else {
            self.last_score = None;
        }
        let tip = guide::tip(
            &GuideInput {
                faces: self.last_count,
                face: obs_face.as_ref(),
                score: self.last_score,
                previous: self.previous.as_ref(),
                width: frame.width(),
                height: frame.height(),
            },
            &GuideLimits::default(),
        );
        self.previous.clone_from(&obs_face);
        Ok(Analysed {
            obs: FrameObs {
                seq,
                capture_ms,
                arrival_ms,
                face_count,
                face: obs_face,
                content_hash: content_hash(jpeg),
            },
            face: tracked.face,
            phash: openliveness_vision::perceptual_hash(&frame),
            tip,
            faces: self.last_count,
        })
    }
}

/// Measures a far or near still: every face, the main face's geometry, the PAD scores and
/// the embedding. Returns the decoded frame too, for the audit image.
pub fn still(
    engine: &Engine,
    jpeg: &[u8],
    capture_ms: i64,
    arrival_ms: i64,
) -> Result<(StillObs, Frame, Option<Face>), VisionError> {
    let frame = openliveness_vision::decode_image(jpeg)?;
    // Nothing reads a still's eyes: no iris model.
    let analysis = engine.analyze_with(&frame, false)?;
    let main = analysis.faces.first().cloned();
    let (nose, eyes) = main
        .as_ref()
        .map(|f| depth_ratios(&f.mesh))
        .unwrap_or((None, None));
    let scores = analysis.main_scores.as_ref();
    let obs = StillObs {
        capture_ms,
        arrival_ms,
        face_count: analysis.faces.len().min(u8::MAX as usize) as u8,
        face_size: main.as_ref().map_or(0.0, |f| f.signals.face_size),
        nose_to_face_width: nose,
        eyes_to_face_width: eyes,
        anti_spoof: scores.map(|s| s.anti_spoof),
        liveness: scores.map(|s| s.liveness),
        embedding: scores.map(|s| s.embedding.clone()),
    };
    Ok((obs, frame, main))
}
