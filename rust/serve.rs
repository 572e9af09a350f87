//! The thread-safe predictor behind Java's `StudentModel`: loads a student bundle and answers
//! predictions for texts or feature vectors.

use std::path::Path;

use serde::Serialize;
use tch::Tensor;

use crate::error::{Error, Result};

/// One prediction: the winning label, its probability and every class probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Name of the most probable class.
    pub label: String,
    /// Index of that class in the bundle's label list.
    pub index: usize,
    /// Probability of that class.
    pub score: f32,
    /// Probability of every class, in label order.
    pub probabilities: Vec<f32>,
}

/// A loaded student bundle, safe to share between threads (`Send + Sync`).
#[derive(Debug)]
pub struct Predictor {
    _private: (),
}

impl Predictor {
    /// Loads the bundle directory `dir` (fp32 or int8) onto the CPU.
    pub fn load(dir: &Path) -> Result<Self> {
        Err(Error::NotFound(format!("student bundle {}", dir.display())))
    }

    /// The class names, in index order.
    pub fn labels(&self) -> &[String] {
        &[]
    }

    /// What the bundle holds, as JSON: `kind`, `input` (`text` or `features`), `feature_dim`,
    /// `labels`, `quantization`, `params`, `bytes`, `max_length`, `path`.
    pub fn info(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Predictions for texts (text students only).
    pub fn predict_texts(&self, texts: &[String]) -> Result<Vec<Prediction>> {
        let _ = texts;
        Err(Error::Internal("predict_texts".into()))
    }

    /// Predictions for `values.len() / dim` feature rows of `dim` values (MLP students only).
    pub fn predict_features(&self, values: &[f32], dim: usize) -> Result<Vec<Prediction>> {
        let _ = (values, dim);
        Err(Error::Internal("predict_features".into()))
    }

    /// Logits `[n, C]` f32 for rows already tokenized with the teacher's tokenizer (teacher
    /// vocabulary ids, special tokens included); the pipeline evaluates through this.
    pub fn logits_for_ids(&self, ids: &[Vec<i64>]) -> Result<Tensor> {
        let _ = ids;
        Err(Error::Internal("logits_for_ids".into()))
    }

    /// Logits `[n, C]` f32 for feature rows `[n, F]` f32.
    pub fn logits_for_features(&self, features: &Tensor) -> Result<Tensor> {
        let _ = features;
        Err(Error::Internal("logits_for_features".into()))
    }
}
