//! Eye refinement with the iris model: a 64×64 crop per eye gives 71 eye and
//! brow contour points and 5 iris points, tighter on the lids than the mesh.
//!
//! Invariants: the model knows one eye side, so the other eye's crop is
//! mirrored and its points mirrored back; contour points 0–15 follow the mesh
//! eye outline (corner, lower lid, corner, upper lid), indices in docs/vision.md.

use crate::geometry::{Point, Roi};
use crate::mesh::Mesh;

pub const INPUT_SIDE: usize = 64;
/// Crop side relative to the eye-corner distance (MediaPipe's 2.3).
const CROP_SCALE: f32 = 2.3;
pub const CONTOUR_POINTS: usize = 71;

/// Which eye, from the subject's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eye {
    Right,
    Left,
}

impl Eye {
    /// Mesh indices of the outer and inner corner.
    pub fn corners(self) -> (usize, usize) {
        match self {
            Eye::Right => (33, 133),
            Eye::Left => (263, 362),
        }
    }

    /// The model takes one eye side; the subject's left eye is mirrored in.
    /// Checked by `iris_contour_agrees_with_mesh` (tests/signals.rs): with the
    /// wrong side the contour's corners land on the wrong ends of the eye.
    pub fn mirrored(self) -> bool {
        matches!(self, Eye::Left)
    }
}

/// The crop for one eye, levelled on the eye line.
pub fn roi(mesh: &Mesh, eye: Eye) -> Roi {
    let (a, b) = eye.corners();
    let (p, q) = (mesh.point(a), mesh.point(b));
    // Angle from the image-left corner to the image-right one, as for the face.
    let (l, r) = if p[0] <= q[0] { (p, q) } else { (q, p) };
    let w = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
    Roi {
        center: Point {
            x: (p[0] + q[0]) / 2.0,
            y: (p[1] + q[1]) / 2.0,
        },
        size: w * CROP_SCALE,
        angle: (r[1] - l[1]).atan2(r[0] - l[0]),
    }
}

/// Mirrors an HWC crop left-right in place.
pub fn mirror_hwc(crop: &mut [f32], side: usize) {
    for row in crop.chunks_exact_mut(side * 3) {
        for x in 0..side / 2 {
            for k in 0..3 {
                row.swap(x * 3 + k, (side - 1 - x) * 3 + k);
            }
        }
    }
}

/// Contour points in image pixels (x, y) from the model's raw output.
pub fn decode(roi: &Roi, raw: &[f32], mirrored: bool) -> Vec<Point> {
    let side = INPUT_SIDE as f32;
    raw.chunks_exact(3)
        .take(CONTOUR_POINTS)
        .filter_map(|c| {
            let &[x, y, _] = c else {
                return None;
            };
            let u = x / side;
            let u = if mirrored { 1.0 - u } else { u };
            Some(roi.to_image(u, y / side))
        })
        .collect()
}

/// Eye aspect ratio from the refined contour: the same six points as the
/// mesh formula (contour 0 and 8 are the corners, 3/5 the lower lid under
/// 11/13 on the upper lid).
pub fn eye_aspect_ratio(contour: &[Point]) -> f32 {
    if contour.len() < 16 {
        return 0.0;
    }
    let d = |a: usize, b: usize| {
        let (p, q) = (contour.get(a)?, contour.get(b)?);
        Some(((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt())
    };
    // All present: the length is checked above.
    let (Some(width), Some(outer), Some(inner)) = (d(0, 8), d(11, 3), d(13, 5)) else {
        return 0.0;
    };
    if width <= f32::EPSILON {
        return 0.0;
    }
    (outer + inner) / (2.0 * width)
}
