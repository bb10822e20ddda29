//! Inference back ends behind one small trait, so the pipeline never knows
//! which runtime computes a tensor.
//!
//! Invariant: a `Runner` takes one f32 input in the model's declared shape and
//! returns every output flattened, in the graph's output order; both back ends
//! must agree within the tolerance stated in `docs/vision.md`.

use std::path::Path;

use crate::error::VisionError;
use crate::models::ModelKind;

#[cfg(feature = "ort")]
mod onnxruntime;
mod tract;

/// Which library runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Pure Rust, always available, single-threaded.
    Tract,
    /// ONNX Runtime loaded at run time from `models/runtime/` (cargo feature `ort`).
    Ort,
}

pub(crate) trait Runner: Send + Sync {
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError>;
}

pub(crate) fn load(
    runtime: Runtime,
    kind: ModelKind,
    path: &Path,
    models_dir: &Path,
) -> Result<Box<dyn Runner>, VisionError> {
    match runtime {
        Runtime::Tract => Ok(Box::new(tract::TractRunner::load(kind, path)?)),
        #[cfg(feature = "ort")]
        Runtime::Ort => Ok(Box::new(onnxruntime::OrtRunner::load(
            kind, path, models_dir,
        )?)),
        #[cfg(not(feature = "ort"))]
        Runtime::Ort => {
            let _ = models_dir;
            Err(VisionError::RuntimeUnavailable("ort"))
        }
    }
}
