//! The default back end: `tract-onnx`, optimised once at load for the fixed
//! input shape, then run from any thread.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::Runner;
use crate::error::VisionError;
use crate::models::ModelKind;

pub(crate) struct TractRunner {
    kind: ModelKind,
    plan: Arc<TypedRunnableModel>,
}

impl TractRunner {
    pub(crate) fn load(kind: ModelKind, path: &Path) -> Result<Self, VisionError> {
        let fail = |e: TractError| VisionError::ModelLoad {
            name: kind.name().to_string(),
            reason: format!("{e:#}"),
        };
        let shape = kind.input_shape();
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(fail)?;
        Ok(TractRunner { kind, plan })
    }
}

impl Runner for TractRunner {
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError> {
        let fail = |e: TractError| VisionError::Inference {
            name: self.kind.name(),
            reason: format!("{e:#}"),
        };
        let tensor = Tensor::from_shape(&self.kind.input_shape(), &input).map_err(fail)?;
        let outputs = self.plan.run(tvec!(tensor.into_tvalue())).map_err(fail)?;
        outputs
            .iter()
            .map(|t| {
                Ok(t.to_plain_array_view::<f32>()
                    .map_err(fail)?
                    .iter()
                    .copied()
                    .collect())
            })
            .collect()
    }
}
