//! Where the model files live and how they are checked before loading.
//!
//! Invariant: nothing is loaded unless every required file is present and its
//! sha256 matches `models/MANIFEST` (written by `tools/models/setup.sh`); the
//! error names the missing file and the setup command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::VisionError;

/// Environment variable naming the models directory; `./models` otherwise.
pub const MODELS_DIR_ENV: &str = "OPENLIVENESS_MODELS_DIR";

/// The networks the engine runs, each with its input geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// BlazeFace short range: selfie-distance faces, the main face's box.
    Detector,
    /// BlazeFace full range: small and distant faces, for counting.
    DetectorFull,
    Mesh,
    Iris,
    AntiSpoof,
    Liveness,
    FaceRes,
}

impl ModelKind {
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Detector,
        ModelKind::DetectorFull,
        ModelKind::Mesh,
        ModelKind::Iris,
        ModelKind::AntiSpoof,
        ModelKind::Liveness,
        ModelKind::FaceRes,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            ModelKind::Detector => "face_detector.onnx",
            ModelKind::DetectorFull => "face_detector_full.onnx",
            ModelKind::Mesh => "face_mesh.onnx",
            ModelKind::Iris => "iris.onnx",
            ModelKind::AntiSpoof => "antispoof.onnx",
            ModelKind::Liveness => "liveness.onnx",
            ModelKind::FaceRes => "faceres.onnx",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Detector => "detector",
            ModelKind::DetectorFull => "detector-full",
            ModelKind::Mesh => "mesh",
            ModelKind::Iris => "iris",
            ModelKind::AntiSpoof => "antispoof",
            ModelKind::Liveness => "liveness",
            ModelKind::FaceRes => "faceres",
        }
    }

    /// Input shape as the ONNX graph declares it: MediaPipe models are NCHW,
    /// the converted TFJS models keep TFJS's NHWC.
    pub fn input_shape(self) -> [usize; 4] {
        match self {
            ModelKind::Detector => [1, 3, 128, 128],
            ModelKind::DetectorFull => [1, 3, 192, 192],
            ModelKind::Mesh => [1, 3, 192, 192],
            ModelKind::Iris => [1, 3, 64, 64],
            ModelKind::AntiSpoof => [1, 128, 128, 3],
            ModelKind::Liveness => [1, 32, 32, 3],
            ModelKind::FaceRes => [1, 224, 224, 3],
        }
    }
}

/// The models directory: `$OPENLIVENESS_MODELS_DIR`, else `./models`.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os(MODELS_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// Checks every required model against the MANIFEST and returns their paths.
pub fn verified_paths(dir: &Path) -> Result<HashMap<ModelKind, PathBuf>, VisionError> {
    let manifest = read_manifest(dir)?;
    let mut out = HashMap::new();
    for kind in ModelKind::ALL {
        let path = dir.join(kind.file_name());
        verify_file(&path, kind.file_name(), &manifest)?;
        out.insert(kind, path);
    }
    Ok(out)
}

/// Path of the ONNX Runtime library fetched by setup, checked like a model.
#[cfg_attr(not(feature = "ort"), allow(dead_code))]
pub fn onnxruntime_library(dir: &Path) -> Result<PathBuf, VisionError> {
    const NAME: &str = "runtime/libonnxruntime.so.1.31.1";
    let manifest = read_manifest(dir)?;
    let path = dir.join(NAME);
    verify_file(&path, NAME, &manifest)?;
    Ok(path)
}

fn read_manifest(dir: &Path) -> Result<HashMap<String, String>, VisionError> {
    let path = dir.join("MANIFEST");
    let text = std::fs::read_to_string(&path)
        .map_err(|_| VisionError::ModelMissing { path: path.clone() })?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (hash, name) = line.split_once("  ")?;
            Some((name.trim().to_string(), hash.trim().to_string()))
        })
        .collect())
}

fn verify_file(
    path: &Path,
    name: &str,
    manifest: &HashMap<String, String>,
) -> Result<(), VisionError> {
    let bytes = std::fs::read(path).map_err(|_| VisionError::ModelMissing {
        path: path.to_path_buf(),
    })?;
    let expected = manifest
        .get(name)
        .ok_or_else(|| VisionError::ModelMissing {
            path: path.to_path_buf(),
        })?;
    let found = hex(&Sha256::digest(&bytes));
    if &found != expected {
        return Err(VisionError::ModelCorrupt {
            path: path.to_path_buf(),
            found,
            expected: expected.clone(),
        });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
