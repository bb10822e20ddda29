//! Still-image models: embedding identity, anti-spoof and replay scores.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_vision::{cosine_similarity, Frame};

fn embedding(img: &image::RgbImage) -> Vec<f32> {
    let f = main_face(img);
    engine()
        .embedding(&Frame::from_image(img.clone()), &f.mesh)
        .expect("embedding")
}

#[test]
fn embedding_is_1024_unit_vector() {
    let e = embedding(&astronaut());
    assert_eq!(e.len(), 1024);
    let n: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((n - 1.0).abs() < 1e-4, "norm {n}");
}

#[test]
fn same_person_is_closer_than_another_person() {
    let img = astronaut();
    let a = embedding(&img);
    let same = [
        cosine_similarity(&a, &embedding(&rotated(&img, 15.0))),
        cosine_similarity(&a, &embedding(&darkened(&img, 0.6))),
        cosine_similarity(&a, &embedding(&on_canvas(&img, 0.8, 512, 512, 50, 50))),
    ];
    let other = cosine_similarity(&a, &embedding(&photo("camera.png")));
    for s in same {
        // Edits of one photo stay above 0.85 and at least 0.2 above a stranger.
        assert!(s > 0.85 && s > other + 0.2, "same {same:?}, other {other}");
    }
}

#[test]
fn classifier_scores_are_probabilities_and_real_face_scores_live() {
    let frame = Frame::from_image(astronaut());
    let a = engine().analyze(&frame).expect("analysis");
    let s = a.main_scores.expect("main face scores");
    assert!((0.0..=1.0).contains(&s.anti_spoof), "{s:?}");
    // Weak signals (docs/vision.md); a genuine photo must at least not read as a replay.
    assert!(s.liveness > 0.5, "liveness {}", s.liveness);
    assert!(s.anti_spoof > 0.3, "anti-spoof {}", s.anti_spoof);
}
