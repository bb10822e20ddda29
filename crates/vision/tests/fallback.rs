//! Without ONNX Runtime's library, `Engine::load` runs the models in tract and says why; a
//! missing model stops both. Its own test binary: ONNX Runtime's environment is made once per
//! process, so no other test may have loaded it first.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_vision::{Engine, EngineOptions, Runtime};

#[test]
fn without_its_library_tract_runs_the_models() {
    // The models and their manifest, without `runtime/`.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(models_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let (engine, why) = Engine::load_auto(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(engine.options().runtime, Runtime::Tract);
    if cfg!(feature = "ort") {
        let why = why.expect("a reason").to_string();
        assert!(why.contains("libonnxruntime"), "{why}");
    }
    let frame = openliveness_vision::Frame::from_image(astronaut());
    assert_eq!(engine.analyze(&frame).unwrap().faces.len(), 1);

    // Without a model, neither runtime starts, and the error names the model.
    std::fs::remove_file(dir.path().join("face_mesh.onnx")).unwrap();
    let err = Engine::load_auto(dir.path(), EngineOptions::default()).unwrap_err();
    assert!(err.to_string().contains("face_mesh.onnx"), "{err}");
}
