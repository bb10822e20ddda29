//! The JSON contract of `openliveness analyze --json`, bad input, the drawing,
//! and the refusal to load without models.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Cursor;

use common::*;
use openliveness_vision::{analyze_to_json, draw_analysis, Engine, VisionError};

fn png_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

#[test]
fn json_has_the_contract_fields() {
    let v = analyze_to_json(engine(), &png_bytes(&astronaut())).expect("json");
    let faces = v["faces"].as_array().expect("faces array");
    assert_eq!(faces.len(), 1);
    let f = &faces[0];
    let b = f["box"].as_array().expect("box");
    assert_eq!(b.len(), 4);
    assert!(b.iter().all(|x| x.is_number()));
    assert_eq!(f["landmarks"].as_array().map(|l| l.len()), Some(468));
    assert_eq!(f["landmarks"][0].as_array().map(|p| p.len()), Some(3));
    for key in [
        "score",
        "yaw",
        "pitch",
        "roll",
        "leftEyeOpenness",
        "rightEyeOpenness",
        "mouthOpenness",
        "antiSpoof",
        "liveness",
    ] {
        assert!(f[key].is_number(), "{key} missing");
    }
}

#[test]
fn json_for_two_faces_puts_scores_on_the_main_one_only() {
    let img = astronaut();
    let face = image::imageops::crop_imm(&img, 145, 40, 160, 180).to_image();
    let mut canvas = image::RgbImage::from_pixel(480, 240, image::Rgb([200, 200, 200]));
    image::imageops::overlay(&mut canvas, &face, 30, 30);
    image::imageops::overlay(&mut canvas, &mirrored(&face), 290, 30);
    let v = analyze_to_json(engine(), &png_bytes(&canvas)).expect("json");
    let faces = v["faces"].as_array().expect("faces");
    assert_eq!(faces.len(), 2);
    assert!(faces[0]["antiSpoof"].is_number());
    assert!(faces[1].get("antiSpoof").is_none());
}

#[test]
fn garbage_and_truncated_images_are_errors() {
    for bytes in [b"GIF89a....".to_vec(), vec![0xff, 0xd8, 0xff, 0x00], vec![]] {
        assert!(analyze_to_json(engine(), &bytes).is_err());
    }
    let png = png_bytes(&astronaut());
    assert!(matches!(
        analyze_to_json(engine(), &png[..png.len() / 3]),
        Err(VisionError::Decode(_))
    ));
}

#[test]
fn draw_writes_a_png_of_the_same_size() {
    let bytes = png_bytes(&astronaut());
    let frame = openliveness_vision::decode_image(&bytes).expect("decode");
    let analysis = engine().analyze(&frame).expect("analysis");
    let out = std::env::temp_dir().join(format!("openliveness-draw-{}.png", std::process::id()));
    draw_analysis(&bytes, &analysis, &out).expect("draw");
    let drawn = image::open(&out).expect("png").to_rgb8();
    std::fs::remove_file(&out).ok();
    assert_eq!(drawn.dimensions(), (512, 512));
    assert_ne!(drawn, astronaut(), "something was drawn");
}

#[test]
fn missing_models_are_refused_with_the_setup_command() {
    let dir = std::env::temp_dir().join(format!("openliveness-nomodels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let err = Engine::load(&dir).expect_err("must refuse");
    let msg = err.to_string();
    assert!(
        msg.contains("MANIFEST") && msg.contains("tools/models/setup.sh"),
        "{msg}"
    );
    // With a MANIFEST but no model file, the missing file is named.
    std::fs::write(dir.join("MANIFEST"), "00  face_detector.onnx\n").expect("write");
    let msg = Engine::load(&dir).expect_err("must refuse").to_string();
    assert!(msg.contains("face_detector.onnx"), "{msg}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A JPEG of `img` carrying an EXIF APP1 block with the given orientation.
fn jpeg_with_orientation(img: &image::RgbImage, orientation: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .expect("encode");
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // padding, next IFD = 0
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_honoured() {
    // Stored turned a quarter to the left, tagged "rotate 90° clockwise to display".
    let img = astronaut();
    let stored = image::imageops::rotate270(&img);
    let bytes = jpeg_with_orientation(&stored, 6);
    let frame = openliveness_vision::decode_image(&bytes).expect("decode");
    assert_eq!((frame.width(), frame.height()), (512, 512));
    let faces = engine().faces(&frame).expect("faces");
    assert_eq!(faces.len(), 1);
    let c = faces[0].bbox.center();
    // Upright again: the face is where it is in the original, within 15 px.
    assert!(
        (c.x - 225.0).abs() < 15.0 && (c.y - 128.0).abs() < 15.0,
        "{c:?}"
    );
    assert!(faces[0].signals.roll.abs() < 20.0);
}
