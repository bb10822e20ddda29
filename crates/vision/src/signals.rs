//! Per-frame signals derived from the mesh: eye and mouth opening, head pose,
//! size and position in the frame, sharpness and brightness of the face.
//!
//! Invariants: every signal is scale-free (ratios, degrees, fractions) so it
//! means the same at any resolution; formulas are documented in docs/vision.md
//! and the tests pin which way each one moves.

use serde::Serialize;

use crate::frame::Frame;
use crate::iris::Eye;
use crate::mesh::{Mesh, LEFT_EYE_OUTER, RIGHT_EYE_OUTER};

const UPPER_LIP_INNER: usize = 13;
const LOWER_LIP_INNER: usize = 14;
const MOUTH_RIGHT: usize = 61;
const MOUTH_LEFT: usize = 291;
const FOREHEAD: usize = 10;
const CHIN: usize = 152;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signals {
    /// Eye aspect ratio of the subject's left eye: ~0.25–0.35 open, < 0.1 closed.
    pub left_eye_openness: f32,
    /// Same for the subject's right eye.
    pub right_eye_openness: f32,
    /// Inner-lip gap over mouth width: ~0 closed, > 0.3 wide open.
    pub mouth_openness: f32,
    /// Degrees; positive when the nose points to the image's right.
    pub yaw: f32,
    /// Degrees; positive when the nose points up.
    pub pitch: f32,
    /// Degrees; positive when the eye line turns clockwise in the image.
    pub roll: f32,
    /// Longer side of the face box over the shorter side of the frame.
    pub face_size: f32,
    /// Face centre offset from the frame centre, each axis in [-1, 1].
    pub center_offset: [f32; 2],
    /// 1 at the frame centre, 0 at a corner.
    pub centredness: f32,
    /// Variance of the Laplacian of the face crop's luma (0–255 scale).
    pub sharpness: f32,
    /// Mean luma of the face crop, 0–1.
    pub brightness: f32,
}

fn dist2d(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Eye aspect ratio from the mesh alone: (|p1−p5| + |p2−p4|) / (2·|p0−p3|)
/// over outer corner, two upper-lid points, inner corner, two lower-lid points.
pub fn mesh_eye_aspect_ratio(mesh: &Mesh, eye: Eye) -> f32 {
    let idx = match eye {
        Eye::Right => [33, 160, 158, 133, 153, 144],
        Eye::Left => [263, 387, 385, 362, 380, 373],
    };
    let [p0, p1, p2, p3, p4, p5] = idx.map(|i| mesh.point(i));
    let width = dist2d(p0, p3);
    if width <= f32::EPSILON {
        return 0.0;
    }
    (dist2d(p1, p5) + dist2d(p2, p4)) / (2.0 * width)
}

pub fn mouth_openness(mesh: &Mesh) -> f32 {
    let width = dist2d(mesh.point(MOUTH_RIGHT), mesh.point(MOUTH_LEFT));
    if width <= f32::EPSILON {
        return 0.0;
    }
    dist2d(mesh.point(UPPER_LIP_INNER), mesh.point(LOWER_LIP_INNER)) / width
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if n <= f32::EPSILON {
        return [0.0; 3];
    }
    [v[0] / n, v[1] / n, v[2] / n]
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Head pose from the mesh's own 3-D frame: x along the eyes (outer corners),
/// y from forehead to chin made orthogonal to x; the face normal is y × x,
/// which points at the camera (−z) for a frontal face.
pub fn head_pose(mesh: &Mesh) -> (f32, f32, f32) {
    let x = normalize(sub(mesh.point(LEFT_EYE_OUTER), mesh.point(RIGHT_EYE_OUTER)));
    let down = sub(mesh.point(CHIN), mesh.point(FOREHEAD));
    let d = dot(down, x);
    let y = normalize([down[0] - d * x[0], down[1] - d * x[1], down[2] - d * x[2]]);
    let n = cross(y, x);
    let yaw = n[0].atan2(-n[2]).to_degrees();
    let pitch = (-n[1]).atan2(-n[2]).to_degrees();
    let roll = x[1].atan2(x[0]).to_degrees();
    (yaw, pitch, roll)
}

/// Sharpness and brightness of the face region, from the mesh crop (HWC, 0–255).
pub fn crop_quality(crop: &[f32], side: usize) -> (f32, f32) {
    // `map`, not `filter_map`, keeps the collect exact-sized (twice as fast here);
    // every chunk has three values, so the fallback never runs.
    let luma: Vec<f32> = crop
        .chunks_exact(3)
        .map(|p| match *p {
            [r, g, b] => 0.299 * r + 0.587 * g + 0.114 * b,
            _ => 0.0,
        })
        .collect();
    // Below 4 the middle half has no row above or below it inside the crop.
    if side < 4 || luma.len() < side * side {
        return (0.0, 0.0);
    }
    let brightness = luma.iter().sum::<f32>() / luma.len() as f32 / 255.0;
    // Only the middle half: the crop's borders are background and padding.
    let (lo, hi) = (side / 4, side - side / 4);
    let mut values = Vec::with_capacity((hi - lo) * (hi - lo));
    // Each pixel with its four neighbours: rows taken in threes centred on
    // `lo..hi`, and in each the columns `lo..hi` shifted up, down, left and
    // right (`lo` ≥ 1 and `hi` ≤ side − 1, so none of them leaves the crop).
    let rows: Vec<&[f32]> = luma.chunks_exact(side).collect();
    for three in rows.windows(3).skip(lo - 1).take(hi - lo) {
        let &[above, row, below] = three else {
            continue;
        };
        let (Some(up), Some(down), Some(left), Some(centre), Some(right)) = (
            above.get(lo..hi),
            below.get(lo..hi),
            row.get(lo - 1..hi - 1),
            row.get(lo..hi),
            row.get(lo + 1..hi + 1),
        ) else {
            continue;
        };
        let around = up.iter().zip(down).zip(left).zip(centre).zip(right);
        for ((((&u, &d), &l), &c), &r) in around {
            values.push(u + d + l + r - 4.0 * c);
        }
    }
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
    (var, brightness)
}

/// `eyes` = (left, right) eye aspect ratios from the iris model, which follows
/// the lids; the mesh alone barely moves when eyes close.
pub fn compute(
    mesh: &Mesh,
    eyes: (f32, f32),
    frame: &Frame,
    crop: &[f32],
    crop_side: usize,
) -> Signals {
    let (yaw, pitch, roll) = head_pose(mesh);
    let bbox = mesh.bbox();
    let (fw, fh) = (frame.width() as f32, frame.height() as f32);
    let c = bbox.center();
    let offset = [
        ((c.x - fw / 2.0) / (fw / 2.0)).clamp(-1.0, 1.0),
        ((c.y - fh / 2.0) / (fh / 2.0)).clamp(-1.0, 1.0),
    ];
    let off_len = (offset[0].powi(2) + offset[1].powi(2)).sqrt();
    let (sharpness, brightness) = crop_quality(crop, crop_side);
    Signals {
        left_eye_openness: eyes.0,
        right_eye_openness: eyes.1,
        mouth_openness: mouth_openness(mesh),
        yaw,
        pitch,
        roll,
        face_size: bbox.w.max(bbox.h) / fw.min(fh).max(1.0),
        center_offset: offset,
        centredness: (1.0 - off_len / std::f32::consts::SQRT_2).clamp(0.0, 1.0),
        sharpness,
        brightness,
    }
}
