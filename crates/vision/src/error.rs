//! The one error type of the crate.
//!
//! Invariant: every failure on outside input (image bytes, model files) is a
//! `VisionError`, never a panic. Messages name what is wrong and, for missing
//! models, the command that fetches them; they carry no image content.

use std::path::PathBuf;

/// The command that writes `./models/`; quoted in every missing-model error.
pub const SETUP_COMMAND: &str = "bash tools/models/setup.sh";

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("model file {path} is missing: run `{SETUP_COMMAND}` from the repository root (or set OPENLIVENESS_MODELS_DIR)")]
    ModelMissing { path: PathBuf },

    #[error("model file {path} does not match models/MANIFEST (sha256 {found}, expected {expected}): rerun `{SETUP_COMMAND}`")]
    ModelCorrupt {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error("cannot load model {name}: {reason}")]
    ModelLoad { name: String, reason: String },

    #[error("inference failed in model {name}: {reason}")]
    Inference { name: &'static str, reason: String },

    #[error("unsupported image format: only JPEG and PNG are accepted")]
    UnsupportedFormat,

    #[error("image too large: {width}x{height} exceeds {max}x{max}")]
    ImageTooLarge { width: u32, height: u32, max: u32 },

    #[error("cannot decode image: {0}")]
    Decode(String),

    #[error("cannot write image {path}: {reason}")]
    Write { path: PathBuf, reason: String },

    #[error("runtime {0} is not available in this build (enable the cargo feature)")]
    RuntimeUnavailable(&'static str),
}
