//! Models run on stills only: the anti-spoof and replay ("liveness")
//! classifiers and the FaceRes embedding, plus cosine similarity.
//!
//! Invariants: all three see the face levelled on the eyes (from the mesh), so
//! a tilted head does not change the crop; the embedding is L2-normalised.
//! Both classifiers are weak signals (see docs/vision.md), never a verdict.

use serde::Serialize;

use crate::geometry::{sample, to_nhwc};
use crate::mesh::Mesh;

/// Crop around the mesh extent for the classifiers and the embedding: the
/// mesh covers brow to chin, these models were trained on slightly looser crops.
pub const STILLS_CROP_SCALE: f32 = 1.15;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StillScores {
    /// Probability the face is a real one (anti-spoof model), 0–1.
    pub anti_spoof: f32,
    /// Probability the face is live rather than replayed (liveness model), 0–1.
    pub liveness: f32,
    /// 1024-d FaceRes descriptor, L2-normalised.
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

pub(crate) fn crop(frame: &crate::Frame, mesh: &Mesh, side: usize, scale: f32) -> Vec<f32> {
    to_nhwc(
        &sample(frame, &mesh.aligned_roi(STILLS_CROP_SCALE), side),
        scale,
    )
}

pub(crate) fn l2_normalize(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > f32::EPSILON {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// Cosine similarity of two embeddings; 0 when either is empty or zero.
/// Same person ≈ 0.9+, different people ≈ 0.4 (see docs/vision.md).
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na <= f32::EPSILON || nb <= f32::EPSILON {
        return 0.0;
    }
    dot / (na * nb)
}
