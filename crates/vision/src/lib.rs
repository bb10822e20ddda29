//! OpenLiveness vision engine: images in, numbers out.
//!
//! Decodes JPEG/PNG, finds faces (BlazeFace), fits the 468-point mesh, derives
//! per-frame signals (eyes, mouth, head pose, size, position, sharpness,
//! brightness) and, for stills, presentation-attack scores and a face embedding.
//!
//! Architecture invariant: this crate is the only one that knows ONNX; it knows
//! nothing of HTTP or storage. Outside input never panics it.

mod error;
mod models;
mod runtime;

pub use error::{VisionError, SETUP_COMMAND};
pub use models::{default_models_dir, ModelKind, MODELS_DIR_ENV};
pub use runtime::Runtime;

mod detect;
mod engine;
mod frame;
mod geometry;
mod iris;
mod mesh;
mod print;
mod signals;
mod stills;

pub use detect::Detection;
pub use engine::{Analysis, DetectorModel, Engine, EngineOptions, Face};
pub use frame::{decode_image, Frame, MAX_DIMENSION};
pub use geometry::{BBox, Point, Roi};
pub use iris::Eye;
pub use mesh::{Mesh, LEFT_EYE_OUTER, NUM_POINTS, RIGHT_EYE_OUTER};
pub use print::{hamming, perceptual_hash};
pub use signals::Signals;
pub use stills::{cosine_similarity, StillScores};

mod draw;
mod report;

pub use draw::{draw_analysis, draw_on};
pub use report::{analysis_to_json, analyze_to_json};

mod tracker;

pub use tracker::{TrackedFrame, Tracker, DEFAULT_DETECT_EVERY};
