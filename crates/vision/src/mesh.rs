//! The 468-point face mesh: where its crop comes from (a detection or the
//! previous mesh) and how its output maps back to the image.
//!
//! Invariants: the crop is a square 1.5× the face, rotated so the eye line is
//! level (the model was trained that way); landmarks are returned in image
//! pixels, z in the same pixel scale (smaller = nearer the camera).

use crate::detect::Detection;
use crate::geometry::{BBox, Point, Roi};

pub const INPUT_SIDE: usize = 192;
pub const NUM_POINTS: usize = 468;
/// Crop side relative to the face box (MediaPipe's 1.5).
const CROP_SCALE: f32 = 1.5;

/// Mesh indices of the outer eye corners (subject's right, left).
pub const RIGHT_EYE_OUTER: usize = 33;
pub const LEFT_EYE_OUTER: usize = 263;

/// The fitted mesh of one face.
#[derive(Debug, Clone)]
pub struct Mesh {
    /// 468 points, `[x, y, z]` in image pixels.
    pub points: Vec<[f32; 3]>,
    /// Face-presence probability from the model's second head.
    pub presence: f32,
    /// The crop the mesh was fitted in.
    pub roi: Roi,
}

impl Mesh {
    pub fn point(&self, i: usize) -> [f32; 3] {
        self.points.get(i).copied().unwrap_or([0.0; 3])
    }

    pub fn bbox(&self) -> BBox {
        BBox::around(self.points.iter().map(|p| Point { x: p[0], y: p[1] }))
    }

    /// The crop for the next frame: around this mesh, levelled on its eyes.
    pub fn next_roi(&self) -> Roi {
        self.aligned_roi(CROP_SCALE)
    }

    /// A square around the mesh, levelled on the eyes, `scale` times its extent.
    pub fn aligned_roi(&self, scale: f32) -> Roi {
        let r = self.point(RIGHT_EYE_OUTER);
        let l = self.point(LEFT_EYE_OUTER);
        let angle = (l[1] - r[1]).atan2(l[0] - r[0]);
        // Measure the extent in the rotated frame so a tilted head is not inflated.
        let probe = Roi {
            center: self.bbox().center(),
            size: 1.0,
            angle,
        };
        let local = BBox::around(
            self.points
                .iter()
                .map(|p| probe.to_roi(Point { x: p[0], y: p[1] })),
        );
        let c = local.center();
        Roi {
            center: probe.to_image(c.x, c.y),
            size: local.w.max(local.h) * scale,
            angle,
        }
    }
}

/// The mesh crop for a fresh detection, levelled on the detector's eye points.
pub fn roi_from_detection(d: &Detection) -> Roi {
    let r = d.keypoints[0];
    let l = d.keypoints[1];
    Roi {
        center: d.bbox.center(),
        size: d.bbox.w.max(d.bbox.h) * CROP_SCALE,
        angle: (l.y - r.y).atan2(l.x - r.x),
    }
}

/// Maps the model's raw outputs (1404 coordinates in crop pixels, presence logit).
pub fn decode(roi: &Roi, coords: &[f32], presence_logit: f32) -> Mesh {
    let side = INPUT_SIDE as f32;
    let points = coords
        .chunks_exact(3)
        .take(NUM_POINTS)
        .filter_map(|c| {
            let &[x, y, z] = c else {
                return None;
            };
            let p = roi.to_image(x / side, y / side);
            Some([p.x, p.y, z / side * roi.size])
        })
        .collect();
    Mesh {
        points,
        presence: 1.0 / (1.0 + (-presence_logit).exp()),
        roi: *roi,
    }
}
