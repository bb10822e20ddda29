//! Frame sequences: the tracker follows a moving face with one mesh run per
//! frame and re-detects on schedule or when the face is lost.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use image::{Rgb, RgbImage};
use openliveness_vision::{Frame, Tracker};

fn frame_at(src: &RgbImage, dx: i64) -> Frame {
    Frame::from_image(camera_frame(src, dx))
}

#[test]
fn tracker_follows_a_moving_face_with_few_detections() {
    let src = astronaut();
    let mut tracker = Tracker::new(10);
    let mut detections = 0;
    for i in 0..30i64 {
        let dx = i * 4;
        let out = tracker
            .process(engine(), &frame_at(&src, dx))
            .expect("frame");
        if let Some(n) = out.detected_faces {
            detections += 1;
            assert_eq!(n, 1, "frame {i}");
        }
        let face = out.face.expect("face followed");
        // The face centre moves with the content: within 8 px of where it was put.
        let expect_x = 120.0 + dx as f32 + (225.0 - 96.0);
        let c = face.mesh.bbox().center();
        assert!(
            (c.x - expect_x).abs() < 8.0,
            "frame {i}: x {} vs {expect_x}",
            c.x
        );
    }
    // Detection on frames 0, 10, 20 only.
    assert_eq!(detections, 3);
}

#[test]
fn tracker_redetects_when_the_face_leaves() {
    let src = astronaut();
    let mut tracker = Tracker::new(30);
    assert!(tracker
        .process(engine(), &frame_at(&src, 0))
        .unwrap()
        .face
        .is_some());
    let empty = Frame::from_image(RgbImage::from_pixel(640, 480, Rgb([90, 90, 90])));
    let out = tracker.process(engine(), &empty).unwrap();
    // Lost: the mesh found no face, so the detector ran and found none.
    assert!(out.face.is_none());
    assert_eq!(out.detected_faces, Some(0));
    let back = tracker.process(engine(), &frame_at(&src, 40)).unwrap();
    assert_eq!(back.detected_faces, Some(1));
}
