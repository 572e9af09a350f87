//! Student models: a small BERT-style transformer for text and an MLP for feature inputs.
//!
//! Both end in a linear classifier and both have dropout that is active only in training
//! mode. A student's variables live in its own `VarStore` and keep Hugging Face style names
//! (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, ...,
//! plus `classifier.weight`/`classifier.bias`), so that a bundle's `model.safetensors` reads
//! like a `BertForSequenceClassification` checkpoint without the `bert.` prefix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};

use crate::distill::batch::Batch;
use crate::error::{Error, Result};
use crate::models::transformer::{TransformerStudent, TransformerStudentConfig};

/// Architecture of an MLP student, as stored in a bundle's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Number of input features.
    pub input_dim: i64,
    /// Widths of the hidden layers (ReLU after each).
    pub hidden_sizes: Vec<i64>,
    /// Dropout probability after each hidden layer, in training mode only.
    pub dropout: f64,
    /// Number of classes.
    pub num_labels: i64,
}

/// An MLP over standardised features: `x' = (x - mean) / std`, then
/// `[Linear, ReLU, Dropout] * k`, then the `classifier` linear layer.
///
/// The standardisation statistics are buffers (`norm.mean`, `norm.std`, `[F]`) computed from
/// the training split, so a bundle carries them.
#[derive(Debug)]
pub struct MlpStudent {
    /// Its architecture.
    pub config: MlpConfig,
    mean: Tensor,
    std: Tensor,
    layers: Vec<nn::Linear>,
    classifier: nn::Linear,
    prefix: String,
}

impl MlpStudent {
    /// Creates the MLP under `path` with PyTorch's default initialisation (seeded by the
    /// caller through `tch::manual_seed`); the standardisation starts as identity.
    pub fn new(path: &nn::Path, config: &MlpConfig) -> Result<Self> {
        if config.input_dim <= 0 || config.num_labels <= 0 {
            return Err(Error::invalid_argument(
                "student",
                format!(
                    "mlp needs positive input and label counts, got {} features and {} labels",
                    config.input_dim, config.num_labels
                ),
            ));
        }
        let norm = path / "norm";
        let mean = norm.f_zeros_no_train("mean", &[config.input_dim])?;
        let std = norm.f_ones_no_train("std", &[config.input_dim])?;
        let mut layers = Vec::new();
        let mut width = config.input_dim;
        for (i, &h) in config.hidden_sizes.iter().enumerate() {
            if h <= 0 {
                return Err(Error::invalid_argument(
                    "student.hidden_sizes",
                    format!("hidden size {i} must be positive, got {h}"),
                ));
            }
            layers.push(nn::linear(
                path / "layers" / i,
                width,
                h,
                Default::default(),
            ));
            width = h;
        }
        let classifier = nn::linear(
            path / "classifier",
            width,
            config.num_labels,
            Default::default(),
        );
        Ok(MlpStudent {
            config: config.clone(),
            mean,
            std,
            layers,
            classifier,
            prefix: crate::models::transformer::path_prefix(path),
        })
    }

    /// Dotted prefix of the student's variables in their `VarStore` (`""` at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Sets the standardisation from training features `[n, F]` (`std` floored at 1e-6).
    pub fn fit_standardisation(&mut self, features: &Tensor) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            let mean = features.f_mean_dim(Some(&[0i64][..]), false, Kind::Float)?;
            let std = features
                .f_std_dim(Some(&[0i64][..]), false, false)?
                .f_clamp_min(1e-6)?;
            self.mean.f_copy_(&mean)?;
            self.std.f_copy_(&std)?;
            Ok(())
        })
    }

    /// Logits `[b, C]` `f32` for features `[b, F]`, plus the hidden activations (the
    /// standardised input first).
    pub fn forward_t(&self, features: &Tensor, train: bool) -> Result<(Tensor, Vec<Tensor>)> {
        let width = features.size().get(1).copied().unwrap_or(-1);
        if features.dim() != 2 || width != self.config.input_dim {
            return Err(Error::invalid_input(
                "features",
                format!(
                    "expected [rows, {}] features, got shape {:?}",
                    self.config.input_dim,
                    features.size()
                ),
            ));
        }
        let mut x = features.f_sub(&self.mean)?.f_div(&self.std)?;
        let mut hidden = vec![x.shallow_clone()];
        for layer in &self.layers {
            x = layer
                .forward(&x)
                .f_relu()?
                .f_dropout(self.config.dropout, train)?;
            hidden.push(x.shallow_clone());
        }
        Ok((self.classifier.forward(&x), hidden))
    }
}

/// What a student returns for a batch.
#[derive(Debug)]
pub struct StudentOutput {
    /// Class logits `[b, C]`, `f32`.
    pub logits: Tensor,
    /// Hidden states: for a transformer the `M + 1` token-level states `[b, L, H]` (index 0 =
    /// embedding output); for an MLP the layer activations `[b, H_i]`.
    pub hidden_states: Vec<Tensor>,
    /// Per-layer attention probabilities `[b, heads, L, L]`, only when asked for.
    pub attentions: Vec<Tensor>,
}

/// The architecture of a student of either kind, as stored in a bundle's `config.json`
/// (`{"kind": "transformer", ...}` or `{"kind": "mlp", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StudentArchitecture {
    /// A transformer student.
    Transformer(TransformerStudentConfig),
    /// An MLP student.
    Mlp(MlpConfig),
}

impl StudentArchitecture {
    /// `transformer` or `mlp`.
    pub fn kind(&self) -> &'static str {
        match self {
            StudentArchitecture::Transformer(_) => "transformer",
            StudentArchitecture::Mlp(_) => "mlp",
        }
    }

    /// Number of classes.
    pub fn num_labels(&self) -> i64 {
        match self {
            StudentArchitecture::Transformer(t) => t.num_labels,
            StudentArchitecture::Mlp(m) => m.num_labels,
        }
    }
}

/// A student of either kind.
#[derive(Debug)]
pub enum Student {
    /// Transformer over token ids (teacher vocabulary, mapped to the student's rows).
    Transformer(TransformerStudent),
    /// MLP over feature inputs.
    Mlp(MlpStudent),
}

impl Student {
    /// Runs the student on a batch; `train` turns dropout on.
    ///
    /// A transformer reads `batch.ids` and `batch.mask` (`[b, L]` `i64`, teacher vocabulary)
    /// and returns the `M + 1` encoder hidden states `[b, L, H]` and, when `want_attentions`,
    /// the `M` attention maps `[b, heads, L, L]`; an MLP reads `batch.features` `[b, F]`.
    pub fn forward_t(
        &self,
        batch: &Batch,
        train: bool,
        want_attentions: bool,
    ) -> Result<StudentOutput> {
        match self {
            Student::Transformer(t) => {
                let (ids, mask) = batch.ids.as_ref().zip(batch.mask.as_ref()).ok_or_else(|| {
                    Error::invalid_input("batch", "a transformer student needs token ids")
                })?;
                let (logits, out) = t.forward_t(ids, mask, train, want_attentions)?;
                Ok(StudentOutput {
                    logits,
                    hidden_states: out.hidden_states,
                    attentions: out.attentions,
                })
            }
            Student::Mlp(m) => {
                let features = batch.features.as_ref().ok_or_else(|| {
                    Error::invalid_input("batch", "an mlp student needs feature inputs")
                })?;
                let (logits, hidden_states) = m.forward_t(features, train)?;
                Ok(StudentOutput {
                    logits,
                    hidden_states,
                    attentions: Vec::new(),
                })
            }
        }
    }

    /// Width of the student's hidden states (for alignment projections).
    pub fn hidden_width(&self) -> i64 {
        match self {
            Student::Transformer(t) => t.config().encoder.hidden_size,
            Student::Mlp(m) => m
                .config
                .hidden_sizes
                .last()
                .copied()
                .unwrap_or(m.config.input_dim),
        }
    }

    /// Number of transformer layers (hidden layers for an MLP).
    pub fn num_layers(&self) -> usize {
        match self {
            Student::Transformer(t) => t.config().encoder.num_hidden_layers as usize,
            Student::Mlp(m) => m.config.hidden_sizes.len(),
        }
    }

    /// Number of classes.
    pub fn num_labels(&self) -> i64 {
        match self {
            Student::Transformer(t) => t.config().num_labels,
            Student::Mlp(m) => m.config.num_labels,
        }
    }

    /// The architecture, for a bundle's `config.json`.
    pub fn architecture(&self) -> StudentArchitecture {
        match self {
            Student::Transformer(t) => StudentArchitecture::Transformer(t.config().clone()),
            Student::Mlp(m) => StudentArchitecture::Mlp(m.config.clone()),
        }
    }

    /// The student's tensors by name relative to its path (the names a bundle stores): every
    /// variable of `vs` under the student's prefix, plus `vocab_ids` `[student_vocab]` `i64`
    /// (the teacher id of each vocabulary row) for a transformer. Shallow handles, not
    /// copies.
    pub fn named_tensors(&self, vs: &nn::VarStore) -> Result<BTreeMap<String, Tensor>> {
        let prefix = match self {
            Student::Transformer(t) => t.prefix(),
            Student::Mlp(m) => m.prefix(),
        };
        let mut out: BTreeMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .filter_map(|(k, t)| k.strip_prefix(prefix).map(|n| (n.to_string(), t)))
            .collect();
        if !out.contains_key("classifier.weight") {
            return Err(Error::Internal(format!(
                "the variable store holds no student under {prefix:?}"
            )));
        }
        if let Student::Transformer(t) = self {
            out.insert("vocab_ids".into(), Tensor::f_from_slice(&t.vocab_ids()?)?);
        }
        Ok(out)
    }
}
