//! BlazeFace (short range) decoding: anchors, scores, boxes, keypoints and
//! weighted non-maximum suppression.
//!
//! Invariants: the anchor table matches the model's 896 outputs (16×16×2 then
//! 8×8×6, fixed size 1); boxes and keypoints come back in image pixels of the
//! frame that was letterboxed into the 128×128 input.

use serde::Serialize;

use crate::geometry::{BBox, Point, Roi};

pub const INPUT_SIDE: usize = 128;
const NUM_ANCHORS: usize = 896;
const VALUES_PER_ANCHOR: usize = 16;
/// Raw logits are clipped before the sigmoid, as MediaPipe does.
const SCORE_CLIP: f32 = 100.0;

/// One face found by the detector.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
    /// Right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides).
    pub keypoints: [Point; 6],
}

/// Anchor centres in the unit square, in the model's output order.
pub fn anchors() -> Vec<Point> {
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
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

/// Decodes raw regressors/scores into detections above `min_score`, in image
/// pixels through `roi` (the letterbox the input was sampled from).
pub fn decode(
    anchors: &[Point],
    regressors: &[f32],
    logits: &[f32],
    roi: &Roi,
    min_score: f32,
) -> Vec<Detection> {
    let side = INPUT_SIDE as f32;
    let mut found = Vec::new();
    let n = anchors
        .len()
        .min(logits.len())
        .min(regressors.len() / VALUES_PER_ANCHOR);
    for i in 0..n {
        let score = sigmoid(logits[i].clamp(-SCORE_CLIP, SCORE_CLIP));
        // NaN logits (a broken model) must not pass: is_nan is checked explicitly.
        if score.is_nan() || score < min_score {
            continue;
        }
        let r = &regressors[i * VALUES_PER_ANCHOR..(i + 1) * VALUES_PER_ANCHOR];
        let a = anchors[i];
        let cx = a.x + r[0] / side;
        let cy = a.y + r[1] / side;
        let w = r[2] / side;
        let h = r[3] / side;
        // The letterbox ROI is axis-aligned, so corners map independently.
        let p0 = roi.to_image(cx - w / 2.0, cy - h / 2.0);
        let p1 = roi.to_image(cx + w / 2.0, cy + h / 2.0);
        let mut keypoints = [Point { x: 0.0, y: 0.0 }; 6];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = roi.to_image(a.x + r[4 + 2 * k] / side, a.y + r[5 + 2 * k] / side);
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
    weighted_nms(found, 0.3)
}

/// MediaPipe's blending suppression: overlapping candidates are averaged,
/// weighted by score, which steadies the box between frames.
fn weighted_nms(mut candidates: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !candidates.is_empty() {
        let best = candidates[0].clone();
        let (group, rest): (Vec<Detection>, Vec<Detection>) = candidates
            .into_iter()
            .partition(|d| d.bbox.iou(&best.bbox) > iou_threshold);
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
            for k in 0..6 {
                merged.keypoints[k] = Point {
                    x: avg(&|d| d.keypoints[k].x),
                    y: avg(&|d| d.keypoints[k].y),
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
    fn anchor_table_has_896_entries() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
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
    fn nan_scores_are_dropped() {
        let a = anchors();
        let regs = vec![0.0; NUM_ANCHORS * VALUES_PER_ANCHOR];
        let logits = vec![f32::NAN; NUM_ANCHORS];
        let roi = Roi {
            center: Point { x: 64.0, y: 64.0 },
            size: 128.0,
            angle: 0.0,
        };
        assert!(decode(&a, &regs, &logits, &roi, 0.5).is_empty());
    }
}
