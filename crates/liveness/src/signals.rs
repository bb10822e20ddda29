//! The verdict's inputs: what the server measured on each frame and on the far
//! and near stills, as plain numbers. The server maps the vision crate's
//! output into these; nothing here knows about images, models or the wire.
//!
//! Invariants:
//! - every value may be anything an attacker or a broken model can produce:
//!   readers go through the accessors, which turn non-finite numbers into
//!   `None` ("not measured"), so NaN can neither panic nor pass a check;
//! - conventions (signs, units) are the vision crate's, restated on each field.

use serde::{Deserialize, Serialize};

/// One streamed frame as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameObs {
    /// The page's sequence number.
    pub seq: u32,
    /// Capture time the page declared, on the page's clock (ms). Untrusted.
    pub capture_ms: i64,
    /// Arrival time stamped by the server (ms). Trusted.
    pub arrival_ms: i64,
    /// Faces the detector found.
    pub face_count: u8,
    /// The main face's measurements, when there is one.
    pub face: Option<FaceObs>,
    /// Hash of the frame's encoded bytes; a real camera never repeats one.
    pub content_hash: u64,
}

/// What the server found of one try's frames and stills among the fingerprints of other
/// sessions (kept for a window, default 30 days). Frames are named by `seq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// The lookup ran; `false` when fingerprints were not available.
    pub checked: bool,
    /// Frames whose exact bytes another session sent.
    pub exact: Vec<u32>,
    /// Stills whose exact bytes another session sent.
    pub exact_stills: usize,
    /// Frames whose perceptual fingerprint is within a few bits of a frame of another
    /// session: (seq, that session, that frame's position there).
    pub similar: Vec<(u32, String, u32)>,
}

/// Measurements of one face in one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceObs {
    /// Eye aspect ratio of the subject's left eye: ~0.24 open, near 0 closed.
    pub left_eye: f32,
    /// Same, right eye.
    pub right_eye: f32,
    /// Inner-lip gap over mouth width: ~0 closed, > 0.3 wide open.
    pub mouth: f32,
    /// Degrees; positive when the nose points to the image's right, which in
    /// an unmirrored camera frame is the subject turning to their own LEFT.
    pub yaw: f32,
    /// Degrees; positive when the nose points up.
    pub pitch: f32,
    /// Degrees; positive when the eye line turns clockwise in the image.
    pub roll: f32,
    /// Longer side of the face box over the shorter side of the frame.
    pub face_size: f32,
    /// Face centre offset from the frame centre, each axis in [-1, 1].
    pub centre: [f32; 2],
    /// Variance of the Laplacian of the face crop's luma (0–255 scale).
    pub sharpness: f32,
    /// Mean luma of the face crop, 0–1.
    pub brightness: f32,
    /// Horizontal position of the nose tip within the face outline, from the
    /// mesh's 2-D image points: (nose_x − outline_mid_x) / (outline_width / 2),
    /// positive towards the image's right. Near 0 for a frontal face; on a
    /// real head it follows sin(yaw), on a flat picture it does not move.
    #[serde(default)]
    pub nose_offset: Option<f32>,
    /// FaceRes embedding, computed on a sample of frames only.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
}

/// The far or the near still.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StillObs {
    pub capture_ms: i64,
    pub arrival_ms: i64,
    pub face_count: u8,
    /// Same definition as `FaceObs::face_size`.
    pub face_size: f32,
    /// Alar (nose) width over face-outline width, from the mesh's 2-D points
    /// (48–278 over 234–454). Perspective makes it grow as the face nears.
    pub nose_to_face_width: Option<f32>,
    /// Outer eye corners' distance over face-outline width (33–263 over
    /// 234–454). Grows less than the nose ratio as the face nears.
    pub eyes_to_face_width: Option<f32>,
    /// Anti-spoof model, probability of a real face, 0–1. Weak signal.
    pub anti_spoof: Option<f32>,
    /// Replay ("liveness") model, probability of a live face, 0–1. Weak.
    pub liveness: Option<f32>,
    pub embedding: Option<Vec<f32>>,
}

pub(crate) fn finite(x: f32) -> Option<f32> {
    x.is_finite().then_some(x)
}

fn finite_opt(x: Option<f32>) -> Option<f32> {
    x.and_then(finite)
}

/// An embedding is usable only if it is non-empty and entirely finite.
fn usable_embedding(e: &Option<Vec<f32>>) -> Option<&[f32]> {
    e.as_deref()
        .filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()))
}

impl FaceObs {
    /// Mean of the eyes that were measured.
    pub fn eye(&self) -> Option<f32> {
        match (finite(self.left_eye), finite(self.right_eye)) {
            (Some(l), Some(r)) => Some((l + r) / 2.0),
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        }
    }
    pub fn mouth(&self) -> Option<f32> {
        finite(self.mouth)
    }
    pub fn yaw(&self) -> Option<f32> {
        finite(self.yaw)
    }
    pub fn pitch(&self) -> Option<f32> {
        finite(self.pitch)
    }
    pub fn size(&self) -> Option<f32> {
        finite(self.face_size).filter(|s| *s > 0.0)
    }
    pub fn centre_offset(&self) -> Option<f32> {
        let [x, y] = [finite(self.centre[0])?, finite(self.centre[1])?];
        Some((x * x + y * y).sqrt())
    }
    pub fn sharpness(&self) -> Option<f32> {
        finite(self.sharpness)
    }
    pub fn brightness(&self) -> Option<f32> {
        finite(self.brightness)
    }
    pub fn nose_offset(&self) -> Option<f32> {
        finite_opt(self.nose_offset)
    }
    pub fn embedding(&self) -> Option<&[f32]> {
        usable_embedding(&self.embedding)
    }
}

impl StillObs {
    pub fn size(&self) -> Option<f32> {
        finite(self.face_size).filter(|s| *s > 0.0)
    }
    pub fn nose_ratio(&self) -> Option<f32> {
        finite_opt(self.nose_to_face_width).filter(|r| *r > 0.0)
    }
    pub fn eye_ratio(&self) -> Option<f32> {
        finite_opt(self.eyes_to_face_width).filter(|r| *r > 0.0)
    }
    pub fn anti_spoof(&self) -> Option<f32> {
        finite_opt(self.anti_spoof)
    }
    pub fn liveness(&self) -> Option<f32> {
        finite_opt(self.liveness)
    }
    pub fn embedding(&self) -> Option<&[f32]> {
        usable_embedding(&self.embedding)
    }
}

impl FrameObs {
    /// The face, only when exactly one face was found.
    pub fn single_face(&self) -> Option<&FaceObs> {
        if self.face_count == 1 {
            self.face.as_ref()
        } else {
            None
        }
    }
}

/// Cosine similarity; `None` when the lengths differ or a vector is zero.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let denom = (na * nb).sqrt();
    if !(denom.is_finite() && denom > f64::EPSILON) {
        return None;
    }
    finite((dot / denom) as f32)
}

/// Median of the finite values; `None` when there are none.
pub fn median(values: impl IntoIterator<Item = f32>) -> Option<f32> {
    let mut v: Vec<f32> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(mid).copied()
    } else {
        Some((v.get(mid - 1)? + v.get(mid)?) / 2.0)
    }
}

/// Median of integers (lower middle for an even count).
pub fn median_i64(values: impl IntoIterator<Item = i64>) -> Option<i64> {
    let mut v: Vec<i64> = values.into_iter().collect();
    v.sort_unstable();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_read_as_missing() {
        let f = FaceObs {
            left_eye: f32::NAN,
            right_eye: 0.2,
            mouth: f32::INFINITY,
            yaw: 0.0,
            pitch: f32::NAN,
            roll: 0.0,
            face_size: -1.0,
            centre: [0.0, f32::NAN],
            sharpness: 1.0,
            brightness: 0.5,
            nose_offset: Some(f32::NAN),
            embedding: Some(vec![1.0, f32::NAN]),
        };
        assert_eq!(f.eye(), Some(0.2));
        assert_eq!(f.mouth(), None);
        assert_eq!(f.pitch(), None);
        assert_eq!(f.size(), None);
        assert_eq!(f.centre_offset(), None);
        assert_eq!(f.nose_offset(), None);
        assert!(f.embedding().is_none());
    }

    #[test]
    fn cosine_and_medians() {
        assert_eq!(cosine_similarity(&[1.0, 0.0], &[2.0, 0.0]), Some(1.0));
        assert_eq!(cosine_similarity(&[1.0, 0.0], &[0.0, 3.0]), Some(0.0));
        assert_eq!(cosine_similarity(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(cosine_similarity(&[0.0, 0.0], &[1.0, 2.0]), None);
        assert_eq!(cosine_similarity(&[f32::MAX; 4], &[f32::MAX; 4]), Some(1.0));
        assert_eq!(median([3.0, f32::NAN, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([1.0, 2.0]), Some(1.5));
        assert_eq!(median([f32::NAN]), None);
        assert_eq!(median_i64([5, 1, 9, 3]), Some(3));
        assert_eq!(median_i64([]), None);
    }
}
