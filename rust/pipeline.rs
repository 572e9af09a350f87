//! One distillation run end to end, and the evaluation of a saved bundle.
//!
//! `distill`: read and split the data, load the teacher (fitting a head on frozen features
//! when it has none), cache its outputs and release it, train the student (and the hard-label
//! baseline when asked), quantize and check, evaluate teacher and student on the test split,
//! write the bundle. The result is the report JSON documented on [`distill`].

use std::path::Path;

use crate::config::{DistillRequest, EvalRequest};
use crate::distill::events::Event;
use crate::error::{Error, Result};

/// Runs the distillation `request`, sending progress to `on_event` (`false` cancels).
///
/// Returns the report (see the README's report fields): `dataset`, `n_train`,
/// `n_validation`, `n_test`, `labels`, `teacher` and `student` objects (`params`, `bytes`,
/// `accuracy`, `macro_f1`, `latency_ms_batch1`, `latency_ms_batch32`), `accuracy_retention`,
/// `size_reduction`, `speedup_batch1`, `speedup_batch32`, `agreement`,
/// `baseline_hard_label_accuracy`, `quantization`, `training`, `seconds`, `bundle`.
pub fn distill(
    request: &DistillRequest,
    on_event: &mut dyn FnMut(&Event) -> bool,
) -> Result<serde_json::Value> {
    let _ = (request, on_event);
    Err(Error::Internal("distill".into()))
}

/// Evaluates the bundle in `model_dir` on the request's data: `n`, `accuracy`, `macro_f1`,
/// `per_class`, `confusion`, `latency_ms_batch1`, `latency_ms_batch32`.
pub fn evaluate(model_dir: &Path, request: &EvalRequest) -> Result<serde_json::Value> {
    let _ = (model_dir, request);
    Err(Error::Internal("evaluate".into()))
}
