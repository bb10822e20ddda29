//! The JSON shape of one analysed image, as `openliveness analyze --json`
//! prints it.
//!
//! Invariant (outside contract): each face has `box` [x, y, w, h] in pixels,
//! `score`, `landmarks` (468 × [x, y, z]), `yaw`, `pitch`, `roll`,
//! `leftEyeOpenness`, `rightEyeOpenness`, `mouthOpenness`; the main face
//! (the first) also `antiSpoof` and `liveness`. Fields may be added, never
//! renamed or removed.

use serde_json::{json, Map, Value};

use crate::engine::{Analysis, Engine, Face};
use crate::error::VisionError;
use crate::frame::decode_image;

/// Decodes and analyses one image, returning its JSON object.
pub fn analyze_to_json(engine: &Engine, image_bytes: &[u8]) -> Result<Value, VisionError> {
    let frame = decode_image(image_bytes)?;
    Ok(analysis_to_json(&engine.analyze(&frame)?))
}

/// Rounds to 4 decimals: more is noise and bloats the 468-point arrays.
fn r(v: f32) -> f64 {
    (v as f64 * 1e4).round() / 1e4
}

fn face_json(face: &Face) -> Map<String, Value> {
    let s = &face.signals;
    let b = &face.bbox;
    let landmarks: Vec<Value> = face
        .mesh
        .points
        .iter()
        .map(|p| json!([r(p[0]), r(p[1]), r(p[2])]))
        .collect();
    let mut m = Map::new();
    m.insert("box".into(), json!([r(b.x), r(b.y), r(b.w), r(b.h)]));
    m.insert("score".into(), json!(r(face.score)));
    if let Some(d) = &face.detection {
        let kps: Vec<Value> = d
            .keypoints
            .iter()
            .map(|p| json!([r(p.x), r(p.y)]))
            .collect();
        m.insert("keypoints".into(), Value::Array(kps));
    }
    m.insert("landmarks".into(), Value::Array(landmarks));
    m.insert("meshPresence".into(), json!(r(face.mesh.presence)));
    m.insert("yaw".into(), json!(r(s.yaw)));
    m.insert("pitch".into(), json!(r(s.pitch)));
    m.insert("roll".into(), json!(r(s.roll)));
    m.insert("leftEyeOpenness".into(), json!(r(s.left_eye_openness)));
    m.insert("rightEyeOpenness".into(), json!(r(s.right_eye_openness)));
    m.insert("mouthOpenness".into(), json!(r(s.mouth_openness)));
    m.insert("faceSize".into(), json!(r(s.face_size)));
    m.insert(
        "centerOffset".into(),
        json!([r(s.center_offset[0]), r(s.center_offset[1])]),
    );
    m.insert("centredness".into(), json!(r(s.centredness)));
    m.insert("sharpness".into(), json!(r(s.sharpness)));
    m.insert("brightness".into(), json!(r(s.brightness)));
    m
}

/// The JSON object of an analysis already computed.
pub fn analysis_to_json(analysis: &Analysis) -> Value {
    let faces: Vec<Value> = analysis
        .faces
        .iter()
        .enumerate()
        .map(|(i, face)| {
            let mut m = face_json(face);
            if let (0, Some(scores)) = (i, &analysis.main_scores) {
                m.insert("antiSpoof".into(), json!(r(scores.anti_spoof)));
                m.insert("liveness".into(), json!(r(scores.liveness)));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "width": analysis.width,
        "height": analysis.height,
        "faces": faces,
    })
}
