//! Each per-frame signal moves the right way under an edit that should move
//! it, by a stated margin.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use image::Rgb;
use openliveness_vision::{Eye, Face};

fn eye_points(f: &Face, corners: (usize, usize)) -> ((f32, f32), f32, f32) {
    let a = f.mesh.point(corners.0);
    let b = f.mesh.point(corners.1);
    let c = ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0);
    let w = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    (c, w, (b[1] - a[1]).atan2(b[0] - a[0]))
}

#[test]
fn astronaut_signals_are_sensible() {
    let s = main_face(&astronaut()).signals;
    // Eyes open: EAR well above the closed range.
    assert!(
        s.left_eye_openness > 0.18 && s.right_eye_openness > 0.18,
        "{s:?}"
    );
    // Near-frontal: within 20° on each axis.
    assert!(
        s.yaw.abs() < 20.0 && s.pitch.abs() < 20.0 && s.roll.abs() < 20.0,
        "{s:?}"
    );
    assert!(s.face_size > 0.12 && s.face_size < 0.35, "{s:?}");
    assert!(s.brightness > 0.3 && s.brightness < 0.8, "{s:?}");
    assert!(s.sharpness > 20.0, "{s:?}");
}

#[test]
fn mirroring_flips_yaw_and_roll_and_swaps_eyes() {
    let img = astronaut();
    let a = main_face(&img).signals;
    let b = main_face(&mirrored(&img)).signals;
    // Mirrored pose is the negated pose, within 4°.
    assert!((a.yaw + b.yaw).abs() < 4.0, "yaw {} vs {}", a.yaw, b.yaw);
    assert!(
        (a.roll + b.roll).abs() < 4.0,
        "roll {} vs {}",
        a.roll,
        b.roll
    );
    assert!(
        (a.pitch - b.pitch).abs() < 4.0,
        "pitch {} vs {}",
        a.pitch,
        b.pitch
    );
    // The subject's eyes swap sides: each within 0.04 of the other's.
    assert!((a.left_eye_openness - b.right_eye_openness).abs() < 0.04);
    assert!((a.right_eye_openness - b.left_eye_openness).abs() < 0.04);
}

#[test]
fn rotation_moves_roll_by_the_angle() {
    let img = astronaut();
    let base = main_face(&img).signals.roll;
    for deg in [-20.0f32, 20.0] {
        let roll = main_face(&rotated(&img, deg)).signals.roll;
        // Clockwise image rotation adds to roll; within 4° of the applied angle.
        assert!(
            (roll - base - deg).abs() < 4.0,
            "rotated {deg}: roll {roll}, base {base}"
        );
    }
}

#[test]
fn turned_head_has_large_yaw() {
    // camera.png: the face is turned towards the image's right.
    let s = main_face(&photo("camera.png")).signals;
    assert!(s.yaw > 20.0, "yaw {}", s.yaw);
}

#[test]
fn darkening_lowers_brightness() {
    let img = astronaut();
    let a = main_face(&img).signals.brightness;
    let b = main_face(&darkened(&img, 0.4)).signals.brightness;
    // Scaled by 0.4 → brightness falls to within 0.35–0.45 of the original.
    assert!(b < 0.45 * a && b > 0.35 * a, "brightness {b} vs {a}");
}

#[test]
fn blurring_lowers_sharpness() {
    let img = astronaut();
    let a = main_face(&img).signals.sharpness;
    let b = main_face(&blurred(&img, 2.5)).signals.sharpness;
    // A 2.5 px Gaussian removes most of the high frequencies: below a quarter.
    assert!(b < 0.25 * a, "sharpness {b} vs {a}");
}

#[test]
fn eyes_painted_closed_lower_eye_openness() {
    let img = astronaut();
    let f = main_face(&img);
    let mut edited = img.clone();
    for corners in [(33, 133), (362, 263)] {
        let (c, w, angle) = eye_points(&f, corners);
        // Skin from just under the eye covers it, feathered into the face; a
        // dark lash line along the lower lid is the closed lid.
        let skin = mean_color(&img, c.0, c.1 + 0.55 * w, 2);
        blend_ellipse(&mut edited, c, (0.7 * w, 0.45 * w), angle, skin, 0.35);
        let lash = (c.0 - 0.1 * w * angle.sin(), c.1 + 0.1 * w * angle.cos());
        blend_ellipse(
            &mut edited,
            lash,
            (0.5 * w, 0.06 * w),
            angle,
            Rgb([50, 32, 28]),
            0.5,
        );
    }
    edited.save("/tmp/openliveness-eyes-closed.png").ok();
    let open = f.signals;
    let closed = main_face(&edited).signals;
    // Closed eyes: EAR falls below 60 % of the open value on both sides.
    assert!(
        closed.left_eye_openness < 0.6 * open.left_eye_openness,
        "left {closed:?} vs {open:?}"
    );
    assert!(
        closed.right_eye_openness < 0.6 * open.right_eye_openness,
        "right {closed:?} vs {open:?}"
    );
    // The mouth did not move: within 0.05.
    assert!((closed.mouth_openness - open.mouth_openness).abs() < 0.05);
}

#[test]
fn mouth_painted_open_raises_mouth_openness() {
    let img = astronaut();
    let f = main_face(&img);
    let up = f.mesh.point(13);
    let low = f.mesh.point(14);
    let l = f.mesh.point(61);
    let r = f.mesh.point(291);
    let w = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt();
    let c = ((up[0] + low[0]) / 2.0, (up[1] + low[1]) / 2.0 + 0.18 * w);
    let angle = (r[1] - l[1]).atan2(r[0] - l[0]);
    let mut edited = img.clone();
    // A dark open mouth below the upper lip, ringed by lip colour.
    let lip = mean_color(&img, low[0], low[1] + 0.08 * w, 1);
    fill_ellipse(&mut edited, c, (0.42 * w, 0.36 * w), angle, lip);
    fill_ellipse(
        &mut edited,
        c,
        (0.36 * w, 0.28 * w),
        angle,
        Rgb([45, 20, 20]),
    );
    edited.save("/tmp/openliveness-mouth-open.png").ok();
    let before = f.signals.mouth_openness;
    let after = main_face(&edited).signals.mouth_openness;
    // A painted hole cannot drop the jaw, so the mesh follows it only partly
    // (measured 0.15 → 0.24): require a rise of at least 0.06 and 40 %.
    assert!(
        after > before + 0.06 && after > 1.4 * before,
        "mouth {after} vs {before}"
    );
}

#[test]
fn moving_the_face_off_centre_lowers_centredness() {
    let img = astronaut();
    // The face sits at (225, 128) of the photo: put it mid-frame, then near
    // the top-right corner of a 640×480 frame.
    let centred = on_canvas(&img, 1.0, 640, 480, 320 - 225, 240 - 128);
    let corner = on_canvas(&img, 1.0, 640, 480, 540 - 225, 100 - 128);
    let a = main_face(&centred).signals;
    let b = main_face(&corner).signals;
    // Centred within 0.1 of the middle; the corner placement loses at least 0.3.
    assert!(a.centredness > 0.9, "centred {a:?}");
    assert!(b.centredness < a.centredness - 0.3, "corner {b:?} vs {a:?}");
    // Offsets point the right way: right and up.
    assert!(
        b.center_offset[0] > 0.5 && b.center_offset[1] < -0.5,
        "{b:?}"
    );
}

#[test]
fn mesh_only_eyes_read_open_on_the_astronaut() {
    let engine = openliveness_vision::Engine::load_with(
        &models_dir(),
        openliveness_vision::EngineOptions {
            refine_eyes: false,
            ..Default::default()
        },
    )
    .expect("engine");
    let frame = openliveness_vision::Frame::from_image(astronaut());
    let s = &engine.faces(&frame).expect("faces")[0].signals;
    // The mesh's own lids: ~0.24 open (docs/vision.md); between 0.18 and 0.32.
    for ear in [s.left_eye_openness, s.right_eye_openness] {
        assert!(ear > 0.18 && ear < 0.32, "{s:?}");
    }
}

#[test]
fn iris_contour_agrees_with_mesh() {
    // Contour points 0–15 follow these mesh indices (docs/vision.md).
    let right = [
        33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
    ];
    let left = [
        263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
    ];
    let img = astronaut();
    let f = main_face(&img);
    let frame = openliveness_vision::Frame::from_image(img);
    for (eye, idx) in [(Eye::Right, right), (Eye::Left, left)] {
        let contour = engine().eye_contour(&frame, &f.mesh, eye).expect("iris");
        let mean = idx
            .iter()
            .zip(&contour)
            .map(|(&i, c)| {
                let m = f.mesh.point(i);
                ((c.x - m[0]).powi(2) + (c.y - m[1]).powi(2)).sqrt()
            })
            .sum::<f32>()
            / 16.0;
        // Measured 0.9 px (right) and 1.4 px (left) on a ~20 px wide eye.
        assert!(mean < 2.5, "{eye:?}: mean distance {mean} px");
    }
}
