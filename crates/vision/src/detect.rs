//! BlazeFace decoding for both MediaPipe detectors: anchors, scores, boxes,
//! keypoints and weighted non-maximum suppression.
//!
//! Invariants: each model's anchor table matches its outputs — short range
//! 128² input, 896 anchors (16×16×2 then 8×8×6); full range 192² input, 2304
//! anchors (48×48×1, stride 4); every anchor has fixed size 1, so regressors
//! are offsets in input pixels. Boxes and keypoints come back in image pixels
//! of the frame that was letterboxed into the input.

use serde::Serialize;

use crate::geometry::{BBox, Point, Roi};

const VALUES_PER_ANCHOR: usize = 16;
/// Raw logits are clipped before the sigmoid, as MediaPipe does.
const SCORE_CLIP: f32 = 100.0;
/// MediaPipe's suppression threshold for both detectors.
const NMS_IOU: f32 = 0.3;

/// One BlazeFace variant: its square input side and its SSD anchor grids
/// (cells per side, anchors per cell), in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub input_side: usize,
    grids: &'static [(usize, usize)],
}

/// Built for selfies: faces from about a tenth of the frame up.
pub const SHORT_RANGE: Layout = Layout {
    input_side: 128,
    grids: &[(16, 2), (8, 6)],
};

/// Built for faces up to ~5 m away: one dense stride-4 grid.
pub const FULL_RANGE: Layout = Layout {
    input_side: 192,
    grids: &[(48, 1)],
};

impl Layout {
    pub fn num_anchors(&self) -> usize {
        self.grids.iter().map(|(g, n)| g * g * n).sum()
    }

    /// Anchor centres in the unit square, in the model's output order.
    pub fn anchors(&self) -> Vec<Point> {
        let mut out = Vec::with_capacity(self.num_anchors());
        for &(grid, per_cell) in self.grids {
            for y in 0..grid {
                for x in 0..grid {
                    for _ in 0..per_cell {
                        out.push(Point {
                            x: (x as f32 + 0.5) / grid as f32,
                            y: (y as f32 + 0.5) / grid as f32,
                        });
                    }
                }
            }
        }
        out
    }

    /// Output lengths: regressors, then logits.
    pub fn output_lens(&self) -> (usize, usize) {
        (self.num_anchors() * VALUES_PER_ANCHOR, self.num_anchors())
    }
}

/// One face found by the detector.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
    /// Right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides).
    pub keypoints: [Point; 6],
}

/// Decodes raw regressors/scores into detections above `min_score`, in image
/// pixels through `roi` (the letterbox the input was sampled from), after
/// weighted NMS.
pub fn decode(
    layout: &Layout,
    anchors: &[Point],
    regressors: &[f32],
    logits: &[f32],
    roi: &Roi,
    min_score: f32,
) -> Vec<Detection> {
    let side = layout.input_side as f32;
    let mut found = Vec::new();
    // A short output just yields fewer anchors: the zip stops at the shortest.
    let per_anchor = anchors
        .iter()
        .zip(logits)
        .zip(regressors.chunks_exact(VALUES_PER_ANCHOR));
    for ((a, &logit), r) in per_anchor {
        let score = sigmoid(logit.clamp(-SCORE_CLIP, SCORE_CLIP));
        // NaN logits (a broken model) must not pass: is_nan is checked explicitly.
        if score.is_nan() || score < min_score {
            continue;
        }
        // Box centre offset and size, then six keypoint offsets (x, y).
        let &[dx, dy, w, h, ref kps @ ..] = r else {
            continue;
        };
        let (cx, cy, w, h) = (a.x + dx / side, a.y + dy / side, w / side, h / side);
        // The letterbox ROI is axis-aligned, so corners map independently.
        let p0 = roi.to_image(cx - w / 2.0, cy - h / 2.0);
        let p1 = roi.to_image(cx + w / 2.0, cy + h / 2.0);
        let mut keypoints = [Point { x: 0.0, y: 0.0 }; 6];
        for (kp, xy) in keypoints.iter_mut().zip(kps.chunks_exact(2)) {
            if let &[x, y] = xy {
                *kp = roi.to_image(a.x + x / side, a.y + y / side);
            }
        }
        found.push(Detection {
            bbox: BBox {
                x: p0.x,
                y: p0.y,
                w: p1.x - p0.x,
                h: p1.y - p0.y,
            },
            score,
            keypoints,
        });
    }
    weighted_nms(found, NMS_IOU)
}

/// The near detections, plus each far detection that none of them covers:
/// the two networks box the same face differently, so overlap is judged
/// loosely (any overlap of note, or either centre inside the other box) and
/// the near box, which places the mesh crop, wins.
pub fn add_unseen(near: Vec<Detection>, far: Vec<Detection>) -> Vec<Detection> {
    let unseen: Vec<Detection> = far
        .into_iter()
        .filter(|f| !near.iter().any(|n| same_face(&n.bbox, &f.bbox)))
        .collect();
    let mut out = near;
    out.extend(unseen);
    out
}

fn same_face(a: &BBox, b: &BBox) -> bool {
    let inside =
        |p: Point, r: &BBox| p.x >= r.x && p.x <= r.x + r.w && p.y >= r.y && p.y <= r.y + r.h;
    a.iou(b) > 0.1 || inside(a.center(), b) || inside(b.center(), a)
}

/// MediaPipe's blending suppression: overlapping candidates are averaged,
/// weighted by score, which steadies the box between frames.
fn weighted_nms(mut candidates: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !candidates.is_empty() {
        // `best` always leaves the list with its group, even a degenerate box (zero, negative
        // or NaN size) whose overlap with itself is 0: otherwise the loop never ends.
        let best = candidates.remove(0);
        let (mut group, rest): (Vec<Detection>, Vec<Detection>) = candidates
            .into_iter()
            .partition(|d| d.bbox.iou(&best.bbox) > iou_threshold);
        group.insert(0, best.clone());
        candidates = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = best.clone();
        if total > 0.0 {
            let avg = |f: &dyn Fn(&Detection) -> f32| {
                group.iter().map(|d| f(d) * d.score).sum::<f32>() / total
            };
            merged.bbox = BBox {
                x: avg(&|d| d.bbox.x),
                y: avg(&|d| d.bbox.y),
                w: avg(&|d| d.bbox.w),
                h: avg(&|d| d.bbox.h),
            };
            for (k, kp) in merged.keypoints.iter_mut().enumerate() {
                // `get` never misses: every detection has the same six keypoints.
                let weighted =
                    |coord: fn(&Point) -> f32| avg(&|d| d.keypoints.get(k).map_or(0.0, coord));
                *kp = Point {
                    x: weighted(|p| p.x),
                    y: weighted(|p| p.y),
                };
            }
        }
        out.push(merged);
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_ends_on_degenerate_boxes() {
        let det = |w: f32, score: f32| Detection {
            score,
            bbox: BBox {
                x: 0.2,
                y: 0.2,
                w,
                h: 0.3,
            },
            keypoints: [Point { x: 0.3, y: 0.3 }; 6],
        };
        let merged = weighted_nms(
            vec![
                det(-0.1, 0.9),
                det(f32::NAN, 0.8),
                det(0.3, 0.7),
                det(0.3, 0.6),
            ],
            0.3,
        );
        // The two degenerate boxes stand alone; the two equal boxes merge into one.
        assert_eq!(merged.len(), 3);
    }

    #[test]
    fn short_range_anchor_table_has_896_entries() {
        let a = SHORT_RANGE.anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(
            a[0],
            Point {
                x: 1.0 / 32.0,
                y: 1.0 / 32.0
            }
        );
        assert_eq!(
            a[512],
            Point {
                x: 1.0 / 16.0,
                y: 1.0 / 16.0
            }
        );
    }

    #[test]
    fn full_range_anchor_table_is_one_48_grid() {
        let a = FULL_RANGE.anchors();
        assert_eq!(a.len(), 2304);
        assert_eq!(
            a[0],
            Point {
                x: 0.5 / 48.0,
                y: 0.5 / 48.0
            }
        );
        assert_eq!(
            a[48],
            Point {
                x: 0.5 / 48.0,
                y: 1.5 / 48.0
            }
        );
        assert_eq!(FULL_RANGE.output_lens(), (2304 * 16, 2304));
    }

    #[test]
    fn nan_scores_are_dropped() {
        let a = SHORT_RANGE.anchors();
        let (n_regs, n_logits) = SHORT_RANGE.output_lens();
        let regs = vec![0.0; n_regs];
        let logits = vec![f32::NAN; n_logits];
        let roi = Roi {
            center: Point { x: 64.0, y: 64.0 },
            size: 128.0,
            angle: 0.0,
        };
        assert!(decode(&SHORT_RANGE, &a, &regs, &logits, &roi, 0.5).is_empty());
    }
}
