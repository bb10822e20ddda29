//! The optional back end: ONNX Runtime through `ort`, loaded at run time from
//! the library `tools/models/setup.sh` copies out of the PyPI wheel.
//!
//! Invariants: one ONNX Runtime environment per process (ort's rule), created
//! on first use from `models/runtime/`; every session runs on one intra-op
//! thread, like tract, so the two are compared like for like. `Session::run`
//! needs `&mut`, so each model has a pool of sessions, one per core: threads
//! measuring different tries at once each take a free one instead of queueing
//! behind one lock.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use super::Runner;
use crate::error::VisionError;
use crate::models::{self, ModelKind};

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

fn environment(models_dir: &Path) -> Result<Environment, VisionError> {
    let env = ENVIRONMENT.get_or_init(|| {
        let lib = models::onnxruntime_library(models_dir).map_err(|e| e.to_string())?;
        ort::init_from(&lib)
            .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
            .with_name("openliveness")
            .build()
            .map_err(|e| e.to_string())
    });
    env.clone().map_err(|reason| VisionError::ModelLoad {
        name: "onnxruntime".into(),
        reason,
    })
}

pub(crate) struct OrtRunner {
    kind: ModelKind,
    /// One session per core; see the module's invariants.
    sessions: Vec<Mutex<Session>>,
}

impl OrtRunner {
    pub(crate) fn load(
        kind: ModelKind,
        path: &Path,
        models_dir: &Path,
    ) -> Result<Self, VisionError> {
        let env = environment(models_dir)?;
        let fail = |e: String| VisionError::ModelLoad {
            name: kind.name().to_string(),
            reason: e,
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut sessions = Vec::with_capacity(cores);
        for _ in 0..cores {
            let session = Session::builder(&env)
                .map_err(|e| fail(e.to_string()))?
                .with_intra_threads(1)
                .map_err(|e| fail(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| fail(e.to_string()))?
                .commit_from_file(path)
                .map_err(|e| fail(e.to_string()))?;
            sessions.push(Mutex::new(session));
        }
        Ok(OrtRunner { kind, sessions })
    }
}

impl Runner for OrtRunner {
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError> {
        let fail = |e: String| VisionError::Inference {
            name: self.kind.name(),
            reason: e,
        };
        let shape = self.kind.input_shape().map(|d| d as i64);
        let tensor = Tensor::from_array((shape, input)).map_err(|e| fail(e.to_string()))?;
        // A free session if there is one, else wait for the first. A poisoned
        // lock only means another thread panicked mid-run; the session itself
        // holds no partial state between runs.
        let free = self.sessions.iter().find_map(|m| match m.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        let mut session = match free {
            Some(guard) => guard,
            None => self
                .sessions
                .first()
                .ok_or_else(|| fail("no session".into()))?
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        };
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|e| fail(e.to_string()))?;
        let mut out = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (_, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| fail(e.to_string()))?;
            out.push(data.to_vec());
        }
        Ok(out)
    }
}
