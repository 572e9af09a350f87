//! The thread-safe predictor behind Java's `StudentModel`: loads a student bundle and answers
//! predictions for texts or feature vectors.
//!
//! Concurrency: a [`Predictor`] holds a small pool of replicas of the model (by default one
//! per core, at most 4), each behind its own `Mutex` (tch tensors are `Send` but not `Sync`).
//! A call runs on the caller's thread: it takes the first free replica, starting from a
//! rotating index, or waits for one when all are busy, and runs the forward pass there. Each
//! call uses libtorch's intra-op thread setting of the process (`tch::set_num_threads`, set
//! once at start-up by the host); with many concurrent callers, 1 intra-op thread is the
//! fastest on small machines. Tokenization happens outside the replica locks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use tch::{nn, Device, Kind, Tensor};

use crate::bundle::{self, BundleConfig, BundleMeta};
use crate::config::{QuantSettings, QuantType};
use crate::data::InputKind;
use crate::distill::batch::Inputs;
use crate::error::{Error, Result};
use crate::models::student::{Student, StudentArchitecture};
use crate::models::tokenizer::TextTokenizer;
use crate::quant::student::Tensors;
use crate::quant::QuantizedStudent;

/// Rows per forward pass; longer requests are split.
const CHUNK: usize = 64;

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

/// One copy of the model.
#[derive(Debug)]
enum Model {
    Float {
        // owns the student's variables
        _vs: nn::VarStore,
        student: Student,
    },
    Int8(QuantizedStudent),
}

impl Model {
    fn build(config: &BundleConfig, tensors: &Tensors) -> Result<Self> {
        match config.quantization {
            QuantType::None => {
                let vs = nn::VarStore::new(Device::Cpu);
                let student = bundle::build_student(&config.architecture, tensors, &vs)?;
                Ok(Model::Float { _vs: vs, student })
            }
            QuantType::Int8 => Ok(Model::Int8(QuantizedStudent::from_tensors(
                &config.architecture,
                tensors,
                config.quantized_embeddings,
            )?)),
        }
    }

    fn logits(&self, batch: &crate::distill::batch::Batch) -> Result<Tensor> {
        match self {
            Model::Float { student, .. } => {
                tch::no_grad(|| Ok(student.forward_t(batch, false, false)?.logits))
            }
            Model::Int8(q) => q.forward(batch),
        }
    }
}

/// A loaded student bundle, safe to share between threads (`Send + Sync`).
///
/// See the module documentation for how concurrent calls run.
#[derive(Debug)]
pub struct Predictor {
    path: Option<PathBuf>,
    config: BundleConfig,
    input: InputKind,
    tokenizer: Option<TextTokenizer>,
    pad_id: i64,
    max_positions: usize,
    replicas: Vec<Mutex<Model>>,
    next: AtomicUsize,
    params: usize,
    bytes: u64,
}

// The pool is the only shared state; this fails to compile if a replica stops being `Send`.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Predictor>();
};

fn default_replicas() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

impl Predictor {
    /// Loads the bundle directory `dir` (fp32 or int8) onto the CPU.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with_replicas(dir, default_replicas())
    }

    /// Loads `dir` with `replicas` copies of the model (at least 1).
    pub fn load_with_replicas(dir: &Path, replicas: usize) -> Result<Self> {
        let loaded = bundle::load(dir)?;
        let bytes = crate::eval::dir_size_bytes(&dir.join(bundle::WEIGHTS_FILE))?;
        let p = Self::from_parts(
            Some(loaded.dir),
            loaded.config,
            &loaded.tensors,
            loaded.tokenizer.as_deref(),
            bytes,
            replicas,
        )?;
        log::info!(
            "loaded student bundle {} ({} {}, {} replicas)",
            dir.display(),
            p.config.kind,
            quant_name(p.config.quantization),
            p.replicas.len()
        );
        Ok(p)
    }

    /// A predictor for a student in memory, exactly as [`bundle::save`] followed by
    /// [`Predictor::load`] would give it (int8 when `quant.kind == Int8`), without touching
    /// the disk; `bytes` in [`Self::info`] is then the stored tensors' size.
    pub fn from_student(
        student: &Student,
        vs: &nn::VarStore,
        tokenizer: Option<&Path>,
        meta: &BundleMeta,
        quant: &QuantSettings,
    ) -> Result<Self> {
        let (config, tensors) = bundle::bundle_contents(student, vs, meta, quant)?;
        let bytes = tensors
            .iter()
            .map(|(_, t)| (t.numel() * t.kind().elt_size_in_bytes()) as u64)
            .sum();
        let tensors: Tensors = tensors.into_iter().collect();
        Self::from_parts(None, config, &tensors, tokenizer, bytes, default_replicas())
    }

    fn from_parts(
        path: Option<PathBuf>,
        config: BundleConfig,
        tensors: &Tensors,
        tokenizer: Option<&Path>,
        bytes: u64,
        replicas: usize,
    ) -> Result<Self> {
        let input = config.input_kind()?;
        let tokenizer = match (input, tokenizer) {
            (InputKind::Text, Some(t)) => Some(TextTokenizer::from_file(t, config.max_length)?),
            (InputKind::Text, None) => {
                return Err(Error::invalid_argument(
                    "tokenizer",
                    "a text student needs a tokenizer.json",
                ))
            }
            _ => None,
        };
        let pad_id = tokenizer.as_ref().map_or(0, TextTokenizer::pad_id);
        let max_positions = match &config.architecture {
            StudentArchitecture::Transformer(t) => t.encoder.max_position_embeddings as usize,
            StudentArchitecture::Mlp(_) => 0,
        };
        let params = tensors
            .iter()
            .filter(|(n, _)| {
                *n != "vocab_ids" && !n.ends_with("_scales") && !n.ends_with("_zero_points")
            })
            .map(|(_, t)| t.numel())
            .sum();
        let mut pool = Vec::with_capacity(replicas.max(1));
        for _ in 0..replicas.max(1) {
            pool.push(Mutex::new(Model::build(&config, tensors)?));
        }
        Ok(Predictor {
            path,
            config,
            input,
            tokenizer,
            pad_id,
            max_positions,
            replicas: pool,
            next: AtomicUsize::new(0),
            params,
            bytes,
        })
    }

    /// The class names, in index order.
    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    /// The bundle's configuration.
    pub fn config(&self) -> &BundleConfig {
        &self.config
    }

    /// What the bundle holds, as JSON: `kind`, `input` (`text` or `features`), `feature_dim`,
    /// `labels`, `quantization`, `params`, `bytes`, `max_length`, `path`.
    pub fn info(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.config.kind,
            "input": self.config.input,
            "feature_dim": self.config.feature_dim,
            "labels": self.config.labels,
            "quantization": quant_name(self.config.quantization),
            "quantized_embeddings": self.config.quantized_embeddings,
            "params": self.params,
            "bytes": self.bytes,
            "max_length": self.config.max_length,
            "teacher": self.config.teacher,
            "replicas": self.replicas.len(),
            "path": self.path.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// Predictions for texts (text students only).
    ///
    /// Texts are tokenized with the bundle's `tokenizer.json` at its `max_length`. An empty
    /// list, or a features student, is [`Error::InvalidArgument`].
    pub fn predict_texts(&self, texts: &[String]) -> Result<Vec<Prediction>> {
        let tokenizer = self.tokenizer.as_ref().ok_or_else(|| {
            Error::invalid_argument(
                "texts",
                format!("this student takes {}, not texts", self.input),
            )
        })?;
        if texts.is_empty() {
            return Err(Error::invalid_argument(
                "texts",
                "the list of texts is empty",
            ));
        }
        let ids = tokenizer.encode_ids(texts)?;
        let logits = self.logits_for_ids(&ids)?;
        self.predictions(&logits)
    }

    /// Predictions for `values.len() / dim` feature rows of `dim` values (MLP students only).
    ///
    /// A text student, `dim` different from the bundle's feature length, a length that is
    /// not a positive multiple of `dim`, or a NaN or infinite value is an error naming it.
    pub fn predict_features(&self, values: &[f32], dim: usize) -> Result<Vec<Prediction>> {
        let want = self.feature_dim("values")?;
        if dim != want {
            return Err(Error::invalid_argument(
                "dim",
                format!("this student takes {want} features per row, got dim {dim}"),
            ));
        }
        if values.is_empty() || values.len() % dim != 0 {
            return Err(Error::invalid_argument(
                "values",
                format!(
                    "expected a positive multiple of {dim} values, got {}",
                    values.len()
                ),
            ));
        }
        check_finite(values, dim)?;
        let rows = (values.len() / dim) as i64;
        let features = Tensor::f_from_slice(values)?.f_view([rows, dim as i64])?;
        let logits = self.logits_for_features(&features)?;
        self.predictions(&logits)
    }

    /// Logits `[n, C]` f32 for rows already tokenized with the teacher's tokenizer (teacher
    /// vocabulary ids, special tokens included); the pipeline evaluates through this.
    ///
    /// An empty list, an empty row, a row longer than the student's positions or an id outside
    /// the teacher vocabulary is an error naming the row or id.
    pub fn logits_for_ids(&self, ids: &[Vec<i64>]) -> Result<Tensor> {
        if self.input != InputKind::Text {
            return Err(Error::invalid_argument(
                "ids",
                format!("this student takes {}, not token ids", self.input),
            ));
        }
        if ids.is_empty() {
            return Err(Error::invalid_argument("ids", "the list of rows is empty"));
        }
        for (r, row) in ids.iter().enumerate() {
            if row.is_empty() || row.len() > self.max_positions {
                return Err(Error::invalid_input(
                    "ids",
                    format!(
                        "row {r} has {} tokens, expected 1 to {}",
                        row.len(),
                        self.max_positions
                    ),
                ));
            }
        }
        let mut parts = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let inputs = Inputs::Tokens {
                ids: chunk.to_vec(),
                pad_id: self.pad_id,
            };
            let rows: Vec<usize> = (0..chunk.len()).collect();
            let batch = inputs.batch(&rows, &[])?;
            parts.push(self.with_replica(|m| m.logits(&batch))?);
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    /// Logits `[n, C]` f32 for feature rows `[n, F]` f32.
    pub fn logits_for_features(&self, features: &Tensor) -> Result<Tensor> {
        let want = self.feature_dim("features")?;
        let size = features.size();
        if size.len() != 2 || size[0] == 0 || size[1] != want as i64 {
            return Err(Error::invalid_argument(
                "features",
                format!("expected [rows > 0, {want}] features, got shape {size:?}"),
            ));
        }
        let features = features.f_to_kind(Kind::Float)?.f_contiguous()?;
        let finite = features.f_isfinite()?.f_all()?.f_int64_value(&[])? == 1;
        if !finite {
            let flat = Vec::<f32>::try_from(&features.f_flatten(0, -1)?)?;
            check_finite(&flat, want)?;
        }
        let n = size[0];
        let mut parts = Vec::new();
        let mut start = 0;
        while start < n {
            let len = (CHUNK as i64).min(n - start);
            let inputs = Inputs::Features(features.f_narrow(0, start, len)?);
            let rows: Vec<usize> = (0..len as usize).collect();
            let batch = inputs.batch(&rows, &[])?;
            parts.push(self.with_replica(|m| m.logits(&batch))?);
            start += len;
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    fn feature_dim(&self, field: &str) -> Result<usize> {
        match self.input {
            InputKind::Features { dim } => Ok(dim),
            InputKind::Text => Err(Error::invalid_argument(
                field,
                "this student takes texts, not feature vectors",
            )),
        }
    }

    /// Runs `f` on a free replica, or waits for one.
    fn with_replica<T>(&self, f: impl FnOnce(&Model) -> Result<T>) -> Result<T> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard: Option<MutexGuard<'_, Model>> = None;
        for i in 0..n {
            if let Ok(g) = self.replicas[(start + i) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let guard = match guard {
            Some(g) => g,
            // a replica whose holder panicked is still a valid model: forward passes do not
            // leave it half-updated
            None => self.replicas[start]
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        };
        f(&guard)
    }

    fn predictions(&self, logits: &Tensor) -> Result<Vec<Prediction>> {
        let classes = self.config.labels.len();
        let probs = logits.f_softmax(-1, Kind::Float)?.f_contiguous()?;
        let flat = Vec::<f32>::try_from(&probs.f_flatten(0, -1)?)?;
        if classes == 0 || flat.len() % classes != 0 {
            return Err(Error::Internal(format!(
                "logits of shape {:?} for {classes} labels",
                logits.size()
            )));
        }
        Ok(flat
            .chunks(classes)
            .map(|row| {
                let (index, score) =
                    row.iter()
                        .enumerate()
                        .fold((0, f32::NEG_INFINITY), |best, (i, &p)| {
                            if p > best.1 {
                                (i, p)
                            } else {
                                best
                            }
                        });
                Prediction {
                    label: self.config.labels[index].clone(),
                    index,
                    score,
                    probabilities: row.to_vec(),
                }
            })
            .collect())
    }
}

fn quant_name(q: QuantType) -> &'static str {
    match q {
        QuantType::None => "none",
        QuantType::Int8 => "int8",
    }
}

fn check_finite(values: &[f32], dim: usize) -> Result<()> {
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::invalid_input(
            "features",
            format!(
                "value {v} at row {}, column {} is not a finite number",
                i / dim.max(1),
                i % dim.max(1)
            ),
        ));
    }
    Ok(())
}
