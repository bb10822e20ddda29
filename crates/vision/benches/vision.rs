//! Criterion benchmarks: detect, mesh, a tracked frame, the still models and a
//! 60-frame session end to end, for tract and (with `--features ort`) ONNX
//! Runtime side by side. Both run on one thread.
//!
//! Run: `cargo bench --manifest-path crates/vision/Cargo.toml --features ort`
//! (needs `bash tools/models/setup.sh` first). Figures: docs/benchmarks-vision.md.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion};
use image::RgbImage;
use openliveness_vision::{
    decode_image, DetectorModel, Engine, EngineOptions, Frame, Runtime, Tracker,
};

// The tests' helpers: model lookup, photos, the synthetic camera frame.
#[path = "../tests/common/mod.rs"]
mod common;
use common::{astronaut, camera_frame, models_dir};

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg) {
        panic!("jpeg encode: {e}");
    }
    out
}

/// Each runtime three times: the default (iris eyes, both detectors), mesh-only
/// eyes, and the short-range detector alone (`far_faces: false`, the pipeline
/// before the full-range detector was added).
fn engines() -> Vec<(String, Engine)> {
    let mut runtimes = vec![("tract", Runtime::Tract)];
    if cfg!(feature = "ort") {
        runtimes.push(("ort", Runtime::Ort));
    }
    let mut out = Vec::new();
    for (name, runtime) in runtimes {
        for (suffix, refine_eyes, far_faces) in [
            ("", true, true),
            ("-mesh-only-eyes", false, true),
            ("-near-faces-only", true, false),
        ] {
            let engine = Engine::load_with(
                &models_dir(),
                EngineOptions {
                    runtime,
                    refine_eyes,
                    far_faces,
                    ..EngineOptions::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            out.push((format!("{name}{suffix}"), engine));
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let src = astronaut();
    let still = Frame::from_image(camera_frame(&src, 0));
    let session: Vec<Vec<u8>> = (0..60).map(|i| jpeg(&camera_frame(&src, i * 2))).collect();
    for (name, engine) in engines() {
        let face = match engine.faces(&still) {
            Ok(f) if !f.is_empty() => f[0].clone(),
            _ => panic!("no face in the benchmark frame"),
        };
        let roi = face.mesh.next_roi();
        let full = engine.options().refine_eyes && engine.options().far_faces;
        let mut g = c.benchmark_group(name);
        if full {
            g.bench_function("decode_jpeg_640x480", |b| {
                b.iter(|| decode_image(&session[0]))
            });
            // Before issue 9 a detection was the short-range network alone;
            // `detect` now adds the full-range one (far_faces).
            g.bench_function("detect_short_range", |b| {
                b.iter(|| engine.detect_with(&still, DetectorModel::ShortRange))
            });
            g.bench_function("detect_full_range", |b| {
                b.iter(|| engine.detect_with(&still, DetectorModel::FullRange))
            });
            g.bench_function("detect", |b| b.iter(|| engine.detect(&still)));
            g.bench_function("mesh", |b| b.iter(|| engine.fit_mesh(&still, &roi)));
        }
        g.bench_function("tracked_frame", |b| {
            let mut tracker = Tracker::new(u32::MAX);
            let _ = tracker.process(&engine, &still);
            b.iter(|| tracker.process(&engine, &still))
        });
        if full {
            g.bench_function("antispoof", |b| {
                b.iter(|| engine.anti_spoof(&still, &face.mesh))
            });
            g.bench_function("liveness", |b| {
                b.iter(|| engine.liveness(&still, &face.mesh))
            });
            g.bench_function("embedding", |b| {
                b.iter(|| engine.embedding(&still, &face.mesh))
            });
        }
        g.sample_size(10);
        // 60 JPEG frames decoded and tracked (detector every 10th), then the
        // still models on the first and last frame, as a session's verdict needs.
        g.bench_function("session_60_frames", |b| {
            b.iter(|| {
                let mut tracker = Tracker::new(10);
                let mut last = None;
                for bytes in &session {
                    let Ok(frame) = decode_image(bytes) else {
                        continue;
                    };
                    if let Ok(out) = tracker.process(&engine, &frame) {
                        last = out.face.map(|f| (frame, f));
                    }
                }
                if let Some((frame, f)) = last {
                    let _ = engine.still_scores(&frame, &f.mesh);
                    let _ = engine.still_scores(&still, &face.mesh);
                }
            })
        });
        g.finish();
    }
}

criterion_group!(vision, benches);
criterion_main!(vision);
