//! Small and distant faces: the full-range detector finds what the short-range
//! one is too coarse for, the near face keeps its short-range box, and the
//! smallest face found is measured as a fraction of the frame width
//! (docs/vision.md quotes the figure this file prints).

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use image::{imageops, Rgb, RgbImage};
use openliveness_vision::{BBox, Detection, DetectorModel, Frame};

/// The astronaut photo scaled by `scale` and pasted with its top-left corner
/// at (x, y); its face box is then about `scale` × 100 px wide.
fn paste(canvas: &mut RgbImage, src: &RgbImage, scale: f32, x: i64, y: i64) {
    let side = ((src.width() as f32 * scale).round() as u32).max(1);
    let small = imageops::resize(src, side, side, imageops::FilterType::Triangle);
    imageops::overlay(canvas, &small, x, y);
}

fn detect(img: &RgbImage) -> Vec<Detection> {
    engine()
        .detect(&Frame::from_image(img.clone()))
        .expect("detection of a valid image must succeed")
}

fn detect_with(img: &RgbImage, model: DetectorModel) -> Vec<Detection> {
    engine()
        .detect_with(&Frame::from_image(img.clone()), model)
        .expect("detection of a valid image must succeed")
}

fn covers(b: &BBox, x: f32, y: f32) -> bool {
    x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h
}

/// Where the astronaut's face centre lands once pasted (hand-measured at
/// (225, 128) on the 512-px photo).
fn face_centre(scale: f32, x: i64, y: i64) -> (f32, f32) {
    (x as f32 + 225.0 * scale, y as f32 + 128.0 * scale)
}

#[test]
fn two_faces_of_100_px_in_a_1024_px_frame_are_both_found() {
    // Two people side by side at full photo scale: faces ~100 px wide in a
    // 1024×768 frame, which the short-range detector alone reads as none.
    let src = astronaut();
    let mut canvas = RgbImage::from_pixel(1024, 768, Rgb([120, 120, 120]));
    paste(&mut canvas, &src, 1.0, 0, 128);
    paste(&mut canvas, &mirrored(&src), 1.0, 512, 128);
    let near_only = detect_with(&canvas, DetectorModel::ShortRange);
    let found = detect(&canvas);
    assert_eq!(found.len(), 2, "two faces expected, got {found:?}");
    let (lx, ly) = face_centre(1.0, 0, 128);
    let (rx, ry) = (1024.0 - lx, ly);
    assert!(found.iter().any(|d| covers(&d.bbox, lx, ly)), "left face");
    assert!(found.iter().any(|d| covers(&d.bbox, rx, ry)), "right face");
    for d in &found {
        assert!(
            d.bbox.w > 70.0 && d.bbox.w < 140.0,
            "face box {:?} (short range alone found {})",
            d.bbox,
            near_only.len()
        );
    }
}

#[test]
fn a_small_face_behind_a_selfie_is_found() {
    // A selfie-sized 640×480 frame: the main face ~100 px (as in the
    // tracking tests), and a second person in the background at 0.4 scale
    // (face ~40 px, 6 % of the frame width).
    let src = astronaut();
    let mut frame = camera_frame(&src, 0);
    paste(&mut frame, &mirrored(&src), 0.4, 440, 20);
    let main_only = detect_with(&camera_frame(&src, 0), DetectorModel::ShortRange);
    let found = detect(&frame);
    assert_eq!(found.len(), 2, "main face and background face: {found:?}");
    // Largest first: the selfie face stays the main face, with the very box
    // the short-range detector gave it alone, so its mesh crop is unchanged.
    assert_eq!(main_only.len(), 1);
    let (main, back) = (&found[0], &found[1]);
    let d = (main.bbox.x - main_only[0].bbox.x).abs() + (main.bbox.w - main_only[0].bbox.w).abs();
    assert!(
        d < 1.0,
        "main box {:?} vs {:?}",
        main.bbox,
        main_only[0].bbox
    );
    // Mirrored: the face centre sits 225 px from the photo's right edge.
    let (bx, by) = (440.0 + (512.0 - 225.0) * 0.4, 20.0 + 128.0 * 0.4);
    assert!(
        covers(&back.bbox, bx, by),
        "background face {:?}",
        back.bbox
    );
    // The engine meshes both and reports the count the session checks.
    assert_eq!(faces(&frame).len(), 2);
}

#[test]
fn far_faces_add_nothing_where_there_is_no_face_or_one_face() {
    let blank = RgbImage::from_pixel(640, 480, Rgb([128, 128, 128]));
    assert!(detect(&blank).is_empty(), "blank image");
    let lower = imageops::crop_imm(&astronaut(), 0, 256, 512, 256).to_image();
    assert!(detect(&lower).is_empty(), "faceless crop");
    let src = astronaut();
    for img in [src.clone(), camera_frame(&src, 0), photo("camera.png")] {
        assert_eq!(detect(&img).len(), 1, "one face, counted once");
    }
    for deg in [-25.0f32, 25.0] {
        assert_eq!(detect(&rotated(&src, deg)).len(), 1, "rotation {deg}");
    }
}

/// Smallest face width, as a fraction of the frame width, that each detector
/// finds at every size from there up to twice the photo (the astronaut scaled
/// in steps of 10 % on a 640×480 and a 1280×720 frame, at the centre and near
/// the top right corner). Run with `--nocapture` to print the figures.
#[test]
fn smallest_face_found_as_a_fraction_of_the_frame() {
    let src = astronaut();
    // Face box width at full scale, from the short-range detector.
    let face_w = detect_with(&src, DetectorModel::ShortRange)[0].bbox.w;
    let mut report = Vec::new();
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        let mut smallest = [f32::NAN; 2];
        for (m, model) in [DetectorModel::ShortRange, DetectorModel::FullRange]
            .into_iter()
            .enumerate()
        {
            // From large to small; stop at the first size missed anywhere.
            let mut scale = 2.0f32;
            while scale > 0.05 {
                let side = 512.0 * scale;
                let spots = [
                    (
                        (w as f32 / 2.0 - 225.0 * scale) as i64,
                        (h as f32 / 2.0 - 128.0 * scale) as i64,
                    ),
                    (
                        (w as f32 * 0.8 - side / 2.0) as i64,
                        (h as f32 * 0.1) as i64,
                    ),
                ];
                let all = spots.iter().all(|&(x, y)| {
                    let mut canvas = RgbImage::from_pixel(w, h, Rgb([120, 120, 120]));
                    paste(&mut canvas, &src, scale, x, y);
                    let (cx, cy) = face_centre(scale, x, y);
                    detect_with(&canvas, model)
                        .iter()
                        .any(|d| covers(&d.bbox, cx, cy))
                });
                if !all {
                    break;
                }
                smallest[m] = face_w * scale / w as f32;
                scale *= 0.9;
            }
        }
        report.push(format!(
            "{w}x{h}: smallest face found, width / frame width: short range {:.3}, full range {:.3}",
            smallest[0], smallest[1]
        ));
        // The full-range detector must reach well below the short range's
        // limit (about a tenth of the frame).
        assert!(
            smallest[1] < 0.075 && (smallest[0].is_nan() || smallest[1] < 0.7 * smallest[0]),
            "{}",
            report.last().map(String::as_str).unwrap_or("")
        );
    }
    println!("{}", report.join("\n"));
}
