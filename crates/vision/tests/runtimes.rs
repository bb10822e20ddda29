//! tract and ONNX Runtime give the same answers, within the tolerances stated
//! in docs/vision.md, and `Engine::load` picks ONNX Runtime when it loads, tract
//! when not. Runs with the feature `ort` (on by default).

#![cfg(feature = "ort")]
// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_vision::{cosine_similarity, Engine, EngineOptions, Frame, Runtime};

#[test]
fn ort_matches_tract() {
    let ort = Engine::load_with(
        &models_dir(),
        EngineOptions {
            runtime: Runtime::Ort,
            ..EngineOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("ort engine: {e}; run `bash tools/models/setup.sh`"));
    for img in [
        astronaut(),
        photo("camera.png"),
        rotated(&astronaut(), 20.0),
    ] {
        let frame = Frame::from_image(img);
        let a = engine().analyze(&frame).expect("tract");
        let b = ort.analyze(&frame).expect("ort");
        assert_eq!(a.faces.len(), b.faces.len());
        for (fa, fb) in a.faces.iter().zip(&b.faces) {
            // Boxes and landmarks within 0.5 px, scores within 0.005.
            assert!((fa.bbox.x - fb.bbox.x).abs() < 0.5 && (fa.bbox.w - fb.bbox.w).abs() < 0.5);
            assert!((fa.score - fb.score).abs() < 0.005);
            for (p, q) in fa.mesh.points.iter().zip(&fb.mesh.points) {
                for k in 0..3 {
                    assert!((p[k] - q[k]).abs() < 0.5, "landmark {p:?} vs {q:?}");
                }
            }
            let (sa, sb) = (&fa.signals, &fb.signals);
            assert!((sa.left_eye_openness - sb.left_eye_openness).abs() < 0.005);
            assert!((sa.right_eye_openness - sb.right_eye_openness).abs() < 0.005);
            assert!((sa.mouth_openness - sb.mouth_openness).abs() < 0.005);
            // Angles within 0.5°.
            assert!((sa.yaw - sb.yaw).abs() < 0.5 && (sa.pitch - sb.pitch).abs() < 0.5);
            assert!((sa.roll - sb.roll).abs() < 0.5);
        }
        let (ma, mb) = (a.main_scores.expect("tract"), b.main_scores.expect("ort"));
        assert!((ma.anti_spoof - mb.anti_spoof).abs() < 0.005);
        assert!((ma.liveness - mb.liveness).abs() < 0.005);
        // Embeddings: cosine above 0.9999.
        assert!(cosine_similarity(&ma.embedding, &mb.embedding) > 0.9999);
    }
}

#[test]
fn load_prefers_ort() {
    let (engine, why) = Engine::load_auto(&models_dir(), EngineOptions::default()).unwrap();
    assert_eq!(engine.options().runtime, Runtime::Ort, "{why:?}");
    assert!(why.is_none());
}
