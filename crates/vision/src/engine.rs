//! The engine: loaded models plus the pipeline that turns a frame into faces,
//! meshes, signals and still scores.
//!
//! Invariants: an `Engine` only exists with every model verified (see
//! models.rs); it is immutable after load, so one instance can be shared by
//! threads behind an `Arc`; faces come back largest first — the main face is
//! `faces[0]`.

use std::collections::HashMap;
use std::path::Path;

use crate::detect::{self, Detection};
use crate::error::VisionError;
use crate::frame::Frame;
use crate::geometry::{sample, to_nchw, BBox, Point, Roi};
use crate::iris;
use crate::mesh::{self, Mesh};
use crate::models::{self, ModelKind};
use crate::runtime::{self, Runner, Runtime};
use crate::signals::{self, Signals};
use crate::stills::{self, StillScores};

/// Tunables of the pipeline; the defaults are MediaPipe's.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    pub runtime: Runtime,
    /// Detector score below which a candidate is dropped.
    pub min_detection_score: f32,
    /// Mesh presence below which a tracked face counts as lost.
    pub min_presence: f32,
    /// Measure eye openness with the iris model (two more inferences per
    /// face) rather than the mesh's own lid points. The mesh lids barely
    /// move when eyes close (docs/vision.md), so turn this off only where
    /// speed matters more than blinks.
    pub refine_eyes: bool,
    /// Most faces meshed per image (largest first); bounds the work a crowd
    /// photo can cause.
    pub max_faces: usize,
    /// Also run the full-range detector on every detection, so faces the
    /// short-range one is too coarse for (below about a tenth of the frame)
    /// are found and counted. The short-range boxes are kept for the faces
    /// both see, so the mesh crop of a near face does not change.
    pub far_faces: bool,
}

/// Which BlazeFace network a detection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorModel {
    /// 128² input: faces at selfie distance.
    ShortRange,
    /// 192² input, stride-4 anchors: small and distant faces too.
    FullRange,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            runtime: Runtime::Tract,
            min_detection_score: 0.5,
            min_presence: 0.5,
            refine_eyes: true,
            max_faces: 8,
            far_faces: true,
        }
    }
}

/// One face with its mesh and signals.
#[derive(Debug, Clone)]
pub struct Face {
    /// Detector output when this frame ran detection, `None` on tracked frames.
    pub detection: Option<Detection>,
    /// Detector box, or the mesh's extent on tracked frames (pixels).
    pub bbox: BBox,
    /// Detector score, or mesh presence on tracked frames.
    pub score: f32,
    pub mesh: Mesh,
    pub signals: Signals,
}

/// Everything the engine sees in one still.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub width: u32,
    pub height: u32,
    /// Largest face first.
    pub faces: Vec<Face>,
    /// Still-model scores of `faces[0]`.
    pub main_scores: Option<StillScores>,
}

pub struct Engine {
    runners: HashMap<ModelKind, Box<dyn Runner>>,
    short_anchors: Vec<Point>,
    full_anchors: Vec<Point>,
    options: EngineOptions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish()
    }
}

impl Engine {
    /// Loads every model from `dir` with the fastest runtime this build can run (see
    /// [`Engine::load_auto`]).
    pub fn load(dir: &Path) -> Result<Engine, VisionError> {
        Engine::load_auto(dir, EngineOptions::default()).map(|(engine, _)| engine)
    }

    /// ONNX Runtime when this build has it (cargo feature `ort`, on by default) and its
    /// library from `tools/models/setup.sh` loads; tract otherwise, with the reason ONNX
    /// Runtime could not be used. `options.runtime` is ignored. Missing or altered models are
    /// an error either way.
    pub fn load_auto(
        dir: &Path,
        options: EngineOptions,
    ) -> Result<(Engine, Option<VisionError>), VisionError> {
        let ort = EngineOptions {
            runtime: Runtime::Ort,
            ..options
        };
        let tract = EngineOptions {
            runtime: Runtime::Tract,
            ..options
        };
        match Engine::load_with(dir, ort) {
            Ok(engine) => Ok((engine, None)),
            // Missing or altered models fail tract too, and its error names them; a
            // missing or unloadable runtime library does not.
            Err(why) => Engine::load_with(dir, tract).map(|engine| (engine, Some(why))),
        }
    }

    /// Loads from `$OPENLIVENESS_MODELS_DIR` or `./models`.
    pub fn from_env() -> Result<Engine, VisionError> {
        Engine::load(&models::default_models_dir())
    }

    pub fn load_with(dir: &Path, options: EngineOptions) -> Result<Engine, VisionError> {
        let paths = models::verified_paths(dir)?;
        let mut runners = HashMap::new();
        for (kind, path) in paths {
            runners.insert(kind, runtime::load(options.runtime, kind, &path, dir)?);
        }
        Ok(Engine {
            runners,
            short_anchors: detect::SHORT_RANGE.anchors(),
            full_anchors: detect::FULL_RANGE.anchors(),
            options,
        })
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    fn run(&self, kind: ModelKind, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError> {
        let runner = self.runners.get(&kind).ok_or(VisionError::Inference {
            name: kind.name(),
            reason: "model not loaded".into(),
        })?;
        runner.run(input)
    }

    /// The first `len` values of output `i`.
    fn output(
        outputs: &[Vec<f32>],
        i: usize,
        kind: ModelKind,
        len: usize,
    ) -> Result<&[f32], VisionError> {
        outputs
            .get(i)
            .and_then(|v| v.get(..len))
            .ok_or_else(|| Engine::short_output(kind, i, len))
    }

    /// The first `N` values of output `i`, for the heads that give a score or two.
    fn output_array<const N: usize>(
        outputs: &[Vec<f32>],
        i: usize,
        kind: ModelKind,
    ) -> Result<[f32; N], VisionError> {
        Engine::output(outputs, i, kind, N)?
            .try_into()
            .map_err(|_| Engine::short_output(kind, i, N))
    }

    fn short_output(kind: ModelKind, i: usize, len: usize) -> VisionError {
        VisionError::Inference {
            name: kind.name(),
            reason: format!("output {i} is missing or shorter than {len}"),
        }
    }

    /// Every face in the frame, largest first: the short-range detector's
    /// faces, plus (with `far_faces`) the full-range detector's faces that
    /// none of them covers.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, VisionError> {
        let near = self.detect_with(frame, DetectorModel::ShortRange)?;
        if !self.options.far_faces {
            return Ok(near);
        }
        let far = self.detect_with(frame, DetectorModel::FullRange)?;
        let mut found = detect::add_unseen(near, far);
        found.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
        Ok(found)
    }

    /// The faces one detector network finds in the whole frame, largest first.
    pub fn detect_with(
        &self,
        frame: &Frame,
        model: DetectorModel,
    ) -> Result<Vec<Detection>, VisionError> {
        let (kind, layout, anchors) = match model {
            DetectorModel::ShortRange => (
                ModelKind::Detector,
                detect::SHORT_RANGE,
                &self.short_anchors,
            ),
            DetectorModel::FullRange => (
                ModelKind::DetectorFull,
                detect::FULL_RANGE,
                &self.full_anchors,
            ),
        };
        let roi = Roi::letterbox(frame);
        let side = layout.input_side;
        // BlazeFace wants [-1, 1].
        let input = to_nchw(&sample(frame, &roi, side), side, 2.0 / 255.0, -1.0);
        let out = self.run(kind, input)?;
        let (n_regs, n_logits) = layout.output_lens();
        let regs = Engine::output(&out, 0, kind, n_regs)?;
        let logits = Engine::output(&out, 1, kind, n_logits)?;
        let mut found = detect::decode(
            &layout,
            anchors,
            regs,
            logits,
            &roi,
            self.options.min_detection_score,
        );
        found.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
        Ok(found)
    }

    /// Fits the mesh in `roi`; also returns the crop it saw (HWC, 0–255).
    pub fn fit_mesh(&self, frame: &Frame, roi: &Roi) -> Result<(Mesh, Vec<f32>), VisionError> {
        let side = mesh::INPUT_SIDE;
        let crop = sample(frame, roi, side);
        let out = self.run(ModelKind::Mesh, to_nchw(&crop, side, 1.0 / 255.0, 0.0))?;
        let coords = Engine::output(&out, 0, ModelKind::Mesh, mesh::NUM_POINTS * 3)?;
        let [presence] = Engine::output_array(&out, 1, ModelKind::Mesh)?;
        Ok((mesh::decode(roi, coords, presence), crop))
    }

    /// Mesh and signals of the face in `roi`; the eyes measured with the iris model when
    /// `refine_eyes`, else from the mesh's own lid points (the options' choice is the caller's
    /// to pass).
    pub(crate) fn face_in(
        &self,
        frame: &Frame,
        roi: &Roi,
        detection: Option<Detection>,
        refine_eyes: bool,
    ) -> Result<Face, VisionError> {
        let (mesh, crop) = self.fit_mesh(frame, roi)?;
        let eyes = if refine_eyes {
            (
                iris::eye_aspect_ratio(&self.eye_contour(frame, &mesh, iris::Eye::Left)?),
                iris::eye_aspect_ratio(&self.eye_contour(frame, &mesh, iris::Eye::Right)?),
            )
        } else {
            (
                signals::mesh_eye_aspect_ratio(&mesh, iris::Eye::Left),
                signals::mesh_eye_aspect_ratio(&mesh, iris::Eye::Right),
            )
        };
        let signals = signals::compute(&mesh, eyes, frame, &crop, mesh::INPUT_SIDE);
        let (bbox, score) = match &detection {
            Some(d) => (d.bbox, d.score),
            None => (mesh.bbox(), mesh.presence),
        };
        Ok(Face {
            detection,
            bbox,
            score,
            mesh,
            signals,
        })
    }

    /// Detects faces and fits a mesh to each, largest first, at most
    /// `max_faces` of them.
    pub fn faces(&self, frame: &Frame) -> Result<Vec<Face>, VisionError> {
        self.faces_with(frame, self.options.refine_eyes)
    }

    fn faces_with(&self, frame: &Frame, refine_eyes: bool) -> Result<Vec<Face>, VisionError> {
        self.detect(frame)?
            .into_iter()
            .take(self.options.max_faces)
            .map(|d| {
                let roi = mesh::roi_from_detection(&d);
                self.face_in(frame, &roi, Some(d), refine_eyes)
            })
            .collect()
    }

    /// The full still analysis: all faces, and the still models on the main one.
    pub fn analyze(&self, frame: &Frame) -> Result<Analysis, VisionError> {
        self.analyze_with(frame, self.options.refine_eyes)
    }

    /// [`Engine::analyze`], measuring the eyes with the iris model only if `refine_eyes`:
    /// a caller that never reads the eyes' openness saves two inferences per face.
    pub fn analyze_with(&self, frame: &Frame, refine_eyes: bool) -> Result<Analysis, VisionError> {
        let faces = self.faces_with(frame, refine_eyes)?;
        let main_scores = match faces.first() {
            Some(f) => Some(self.still_scores(frame, &f.mesh)?),
            None => None,
        };
        Ok(Analysis {
            width: frame.width(),
            height: frame.height(),
            faces,
            main_scores,
        })
    }

    /// The iris model's 71 eye-and-brow contour points for one eye, in pixels.
    pub fn eye_contour(
        &self,
        frame: &Frame,
        mesh: &Mesh,
        eye: iris::Eye,
    ) -> Result<Vec<Point>, VisionError> {
        let kind = ModelKind::Iris;
        let roi = iris::roi(mesh, eye);
        let side = iris::INPUT_SIDE;
        let mut crop = sample(frame, &roi, side);
        if eye.mirrored() {
            iris::mirror_hwc(&mut crop, side);
        }
        let out = self.run(kind, to_nchw(&crop, side, 1.0 / 255.0, 0.0))?;
        let raw = Engine::output(&out, 0, kind, iris::CONTOUR_POINTS * 3)?;
        Ok(iris::decode(&roi, raw, eye.mirrored()))
    }

    /// Anti-spoof, replay and embedding of the face carrying `mesh`.
    pub fn still_scores(&self, frame: &Frame, mesh: &Mesh) -> Result<StillScores, VisionError> {
        Ok(StillScores {
            anti_spoof: self.anti_spoof(frame, mesh)?,
            liveness: self.liveness(frame, mesh)?,
            embedding: self.embedding(frame, mesh)?,
        })
    }

    pub fn anti_spoof(&self, frame: &Frame, mesh: &Mesh) -> Result<f32, VisionError> {
        let kind = ModelKind::AntiSpoof;
        let out = self.run(kind, stills::crop(frame, mesh, 128, 1.0 / 255.0))?;
        let [score] = Engine::output_array(&out, 0, kind)?;
        Ok(score)
    }

    pub fn liveness(&self, frame: &Frame, mesh: &Mesh) -> Result<f32, VisionError> {
        let kind = ModelKind::Liveness;
        let out = self.run(kind, stills::crop(frame, mesh, 32, 1.0 / 255.0))?;
        let [live, _] = Engine::output_array(&out, 0, kind)?;
        Ok(live)
    }

    /// FaceRes wants 0–255 input.
    pub fn embedding(&self, frame: &Frame, mesh: &Mesh) -> Result<Vec<f32>, VisionError> {
        let kind = ModelKind::FaceRes;
        let out = self.run(kind, stills::crop(frame, mesh, 224, 1.0))?;
        Ok(stills::l2_normalize(
            Engine::output(&out, 0, kind, 1024)?.to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    /// The server shares one engine between request handlers.
    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Engine>();
    }
}
