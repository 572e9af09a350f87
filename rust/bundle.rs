//! Student bundles: the directory a distillation writes and `StudentModel` loads.
//!
//! Layout: `config.json` ([`BundleConfig`]: format version, student kind and architecture,
//! labels, input kind, `max_length`, quantization, teacher, crate version),
//! `model.safetensors`, `tokenizer.json` (text students) and `metrics.json`. A bundle is
//! written into a temporary sibling directory and renamed into place, so a reader never sees
//! half a bundle.
//!
//! `model.safetensors` holds the student's tensors under the names of
//! [`Student::named_tensors`] (Hugging Face style, plus `vocab_ids` `[student_vocab]` `i64`,
//! the teacher id of each vocabulary row, for a transformer). An int8 bundle stores the int8 layout of [`crate::quant::student`]:
//! every linear weight as `i8` with per-channel `weight_scales` and `weight_zero_points`, and
//! the word table as `i8` when embeddings are quantized, so the file is about a quarter of
//! the fp32 one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::config::{QuantSettings, QuantType};
use crate::data::InputKind;
use crate::error::{Error, Result};
use crate::models::student::{MlpStudent, Student, StudentArchitecture};
use crate::models::transformer::{vocab_map_from_ids, TransformerStudent};
use crate::quant::student::Tensors;
use crate::quant::QuantizedStudent;

/// Version of the bundle layout written by this crate.
pub const FORMAT_VERSION: u32 = 1;
/// The bundle's configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// The bundle's weights file.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The bundle's tokenizer file (text students).
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The bundle's metrics file.
pub const METRICS_FILE: &str = "metrics.json";

/// What the caller knows about a student besides its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleMeta {
    /// Class names, in index order.
    pub labels: Vec<String>,
    /// Longest token sequence (special tokens included) the tokenizer produces.
    pub max_length: usize,
    /// Teacher name or path (informational).
    pub teacher: String,
    /// Texts or feature vectors.
    pub input: InputKind,
    /// Written to `metrics.json`.
    pub metrics: serde_json::Value,
}

/// The contents of a bundle's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleConfig {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// `transformer` or `mlp`.
    pub kind: String,
    /// The student's architecture.
    pub architecture: StudentArchitecture,
    /// Class names, in index order.
    pub labels: Vec<String>,
    /// Longest token sequence the tokenizer produces (text students).
    pub max_length: usize,
    /// `text` or `features`.
    pub input: String,
    /// Feature-vector length, for `features` input.
    pub feature_dim: Option<usize>,
    /// `none` or `int8`.
    pub quantization: QuantType,
    /// Whether the word-embedding table is int8.
    pub quantized_embeddings: bool,
    /// Teacher name or path.
    pub teacher: String,
    /// Version of jbolt-distill that wrote the bundle.
    pub crate_version: String,
}

impl BundleConfig {
    /// Texts or features, as [`InputKind`].
    pub fn input_kind(&self) -> Result<InputKind> {
        match (self.input.as_str(), self.feature_dim) {
            ("text", _) => Ok(InputKind::Text),
            ("features", Some(dim)) => Ok(InputKind::Features { dim }),
            (other, dim) => Err(Error::invalid_input(
                CONFIG_FILE,
                format!("input {other:?} with feature_dim {dim:?} is not text or features"),
            )),
        }
    }
}

/// A bundle read from disk: its configuration, tensors and tokenizer path.
#[derive(Debug)]
pub struct LoadedBundle {
    /// The directory.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: BundleConfig,
    /// `model.safetensors`, by name.
    pub tensors: Tensors,
    /// `tokenizer.json`, for text students.
    pub tokenizer: Option<PathBuf>,
}

/// The configuration and the tensors `student` would be saved with (int8 when `quant.kind`
/// is [`QuantType::Int8`]), checked against `meta`.
///
/// A label count different from the student's, a text student that is not a transformer, a
/// feature student that is not an MLP or whose input width differs is
/// [`Error::InvalidArgument`].
pub fn bundle_contents(
    student: &Student,
    vs: &nn::VarStore,
    meta: &BundleMeta,
    quant: &QuantSettings,
) -> Result<(BundleConfig, Vec<(String, Tensor)>)> {
    let architecture = student.architecture();
    if meta.labels.len() as i64 != student.num_labels() {
        return Err(Error::invalid_argument(
            "labels",
            format!(
                "{} labels for a student with {} classes",
                meta.labels.len(),
                student.num_labels()
            ),
        ));
    }
    let feature_dim = match (&architecture, meta.input) {
        (StudentArchitecture::Transformer(_), InputKind::Text) => None,
        (StudentArchitecture::Mlp(m), InputKind::Features { dim }) if m.input_dim == dim as i64 => {
            Some(dim)
        }
        (arch, input) => {
            return Err(Error::invalid_argument(
                "input",
                format!("a {} student cannot take {input}", arch.kind()),
            ))
        }
    };
    let (tensors, quantized_embeddings) = match quant.kind {
        QuantType::None => {
            let named = student.named_tensors(vs)?;
            let mut out = Vec::with_capacity(named.len());
            for (name, t) in named {
                out.push((
                    name,
                    t.f_detach()?
                        .f_to_device(tch::Device::Cpu)?
                        .f_contiguous()?,
                ));
            }
            (out, false)
        }
        QuantType::Int8 => {
            let q = QuantizedStudent::quantize(student, vs, quant.embeddings)?;
            (q.to_tensors()?, q.quantized_embeddings())
        }
    };
    let config = BundleConfig {
        format_version: FORMAT_VERSION,
        kind: architecture.kind().to_string(),
        architecture,
        labels: meta.labels.clone(),
        max_length: meta.max_length,
        input: if feature_dim.is_some() {
            "features".into()
        } else {
            "text".into()
        },
        feature_dim,
        quantization: quant.kind,
        quantized_embeddings,
        teacher: meta.teacher.clone(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok((config, tensors))
}

/// Writes `student` (fp32, or int8 when `quant.kind == Int8`) as a bundle at `dir`.
///
/// The bundle is written into a temporary sibling directory and renamed into place; an
/// existing bundle at `dir` (or an empty directory) is replaced, anything else there is
/// [`Error::InvalidArgument`] (nothing is deleted). `tokenizer` is the teacher's
/// `tokenizer.json`, required for text students. See [`bundle_contents`] for the checks.
pub fn save(
    dir: &Path,
    student: &Student,
    vs: &nn::VarStore,
    tokenizer: Option<&Path>,
    meta: &BundleMeta,
    quant: &QuantSettings,
) -> Result<()> {
    let (config, tensors) = bundle_contents(student, vs, meta, quant)?;
    let tokenizer = match (config.input.as_str(), tokenizer) {
        ("text", None) => {
            return Err(Error::invalid_argument(
                "tokenizer",
                "a text student's bundle needs the teacher's tokenizer.json",
            ))
        }
        ("text", Some(t)) if !t.is_file() => {
            return Err(Error::NotFound(format!("tokenizer file {}", t.display())))
        }
        ("text", Some(t)) => Some(t),
        _ => None,
    };
    check_replaceable(dir)?;
    let tmp = sibling(dir, "tmp")?;
    let written = (|| -> Result<()> {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        write_json(&tmp.join(CONFIG_FILE), &serde_json::to_value(&config)?)?;
        let weights = tmp.join(WEIGHTS_FILE);
        Tensor::write_safetensors(&tensors, &weights)
            .map_err(|e| Error::Torch(format!("writing {}: {e}", weights.display())))?;
        if let Some(t) = tokenizer {
            let dst = tmp.join(TOKENIZER_FILE);
            std::fs::copy(t, &dst).map_err(|e| Error::io(t, e))?;
        }
        write_json(&tmp.join(METRICS_FILE), &meta.metrics)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let old = if dir.exists() {
        let old = sibling(dir, "old")?;
        std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        Some(old)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old, dir);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(dir, e));
    }
    if let Some(old) = old {
        if let Err(e) = std::fs::remove_dir_all(&old) {
            log::warn!(
                "could not remove the replaced bundle {}: {e}",
                old.display()
            );
        }
    }
    log::info!(
        "wrote {} student bundle {} ({})",
        config.kind,
        dir.display(),
        match config.quantization {
            QuantType::Int8 => "int8",
            QuantType::None => "fp32",
        }
    );
    Ok(())
}

/// Replaces the bundle's `metrics.json` with `metrics` (temporary file, then rename).
pub fn write_metrics(dir: &Path, metrics: &serde_json::Value) -> Result<()> {
    if !dir.join(CONFIG_FILE).is_file() {
        return Err(Error::NotFound(format!("student bundle {}", dir.display())));
    }
    write_json(&dir.join(METRICS_FILE), metrics)
}

/// Reads the bundle at `dir`: `config.json`, `model.safetensors` and the tokenizer path.
///
/// [`Error::NotFound`] for a missing directory or file; [`Error::InvalidInput`] naming the
/// file for a bad config, an unknown format version or unreadable weights.
pub fn load(dir: &Path) -> Result<LoadedBundle> {
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.is_file() {
        return Err(Error::NotFound(format!(
            "student bundle {} (no {CONFIG_FILE})",
            dir.display()
        )));
    }
    let name = config_path.display().to_string();
    let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
    let config: BundleConfig = serde_json::from_str(&text)
        .map_err(|e| Error::invalid_input(&name, format!("cannot parse bundle config: {e}")))?;
    if config.format_version != FORMAT_VERSION {
        return Err(Error::invalid_input(
            &name,
            format!(
                "format_version {} is not supported (this version reads {FORMAT_VERSION})",
                config.format_version
            ),
        ));
    }
    if config.labels.len() as i64 != config.architecture.num_labels() {
        return Err(Error::invalid_input(
            &name,
            format!(
                "{} labels for an architecture with {} classes",
                config.labels.len(),
                config.architecture.num_labels()
            ),
        ));
    }
    config
        .input_kind()
        .map_err(|e| Error::invalid_input(&name, e.to_string()))?;
    let weights = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        return Err(Error::NotFound(format!(
            "weights file {}",
            weights.display()
        )));
    }
    let tensors = Tensor::read_safetensors(&weights)
        .map_err(|e| Error::invalid_input(weights.display().to_string(), e.to_string()))?
        .into_iter()
        .collect();
    let tokenizer = if config.input == "text" {
        let t = dir.join(TOKENIZER_FILE);
        if !t.is_file() {
            return Err(Error::NotFound(format!("tokenizer file {}", t.display())));
        }
        Some(t)
    } else {
        None
    };
    Ok(LoadedBundle {
        dir: dir.to_path_buf(),
        config,
        tensors,
        tokenizer,
    })
}

/// Builds an fp32 student of `architecture` under `vs.root()` and fills it from `tensors`.
///
/// Every variable must be present with its shape; a missing or misshapen tensor (or an
/// int8 one: build int8 bundles with [`QuantizedStudent::from_tensors`]) is
/// [`Error::InvalidInput`] naming it.
pub fn build_student(
    architecture: &StudentArchitecture,
    tensors: &Tensors,
    vs: &nn::VarStore,
) -> Result<Student> {
    let student = match architecture {
        StudentArchitecture::Transformer(c) => {
            let ids = tensors.get("vocab_ids").ok_or_else(|| {
                Error::invalid_input("student weights", "missing tensor vocab_ids")
            })?;
            if ids.kind() != Kind::Int64 || ids.dim() != 1 {
                return Err(Error::invalid_input(
                    "student weights",
                    format!(
                        "tensor vocab_ids must be 1-d int64, got {:?} {:?}",
                        ids.kind(),
                        ids.size()
                    ),
                ));
            }
            let ids = Vec::<i64>::try_from(ids)?;
            let map = vocab_map_from_ids(&ids, c.teacher_vocab_size, c.unk_id)?;
            Student::Transformer(TransformerStudent::new(&vs.root(), c, &map)?)
        }
        StudentArchitecture::Mlp(c) => Student::Mlp(MlpStudent::new(&vs.root(), c)?),
    };
    tch::no_grad(|| -> Result<()> {
        for (name, var) in vs.variables() {
            let value = tensors.get(&name).ok_or_else(|| {
                Error::invalid_input("student weights", format!("missing tensor {name}"))
            })?;
            if value.size() != var.size() || !value.is_floating_point() {
                return Err(Error::invalid_input(
                    "student weights",
                    format!(
                        "tensor {name} is {:?} {:?}, expected floating {:?}",
                        value.kind(),
                        value.size(),
                        var.size()
                    ),
                ));
            }
            let mut var = var;
            var.f_copy_(&value.f_to_kind(Kind::Float)?)?;
        }
        Ok(())
    })?;
    Ok(student)
}

/// Fails unless `dir` is absent, an empty directory or a bundle (has `config.json` with a
/// `format_version`), so that saving never replaces unrelated files.
/// Checks that `dir` may receive a bundle: absent, empty, or holding a bundle already.
///
/// [`save`] checks again; the pipeline calls this first so that a run into a directory it
/// must not replace fails before any training instead of after it.
pub fn check_replaceable(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::invalid_argument(
            "output_dir",
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .next()
        .is_none();
    let is_bundle = std::fs::read_to_string(dir.join(CONFIG_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("format_version").is_some());
    if empty || is_bundle {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "output_dir",
            format!(
                "{} exists and is not a student bundle; choose another directory",
                dir.display()
            ),
        ))
    }
}

/// `<parent>/.<name>.<tag>-<pid>-<nanos>`: a sibling on the same file system.
fn sibling(dir: &Path, tag: &str) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .ok_or_else(|| {
            Error::invalid_argument(
                "output_dir",
                format!("{} has no directory name", dir.display()),
            )
        })?
        .to_string_lossy()
        .to_string();
    let parent = dir.parent().unwrap_or_else(|| Path::new("."));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok(parent.join(format!(".{name}.{tag}-{}-{nanos}", std::process::id())))
}

/// Writes pretty JSON to a temporary file beside `path`, then renames it over `path`.
fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
