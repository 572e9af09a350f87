//! Loading a Hugging Face style model directory: `config.json` + `model.safetensors`
//! (+ `tokenizer.json`).
//!
//! Only safetensors weights are read. Pickle weights (`pytorch_model.bin`, `*.pkl`, `*.pth`,
//! `*.ckpt`) are refused, because unpickling can run arbitrary code; the error says how to
//! convert them. A `BertForSequenceClassification` checkpoint (keys prefixed `bert.`, plus
//! `classifier.weight`/`classifier.bias` and `id2label` in `config.json`) also loads its
//! classification head. Checkpoints split over several safetensors files and DistilBERT's
//! key layout are not read: re-save such a model as one `model.safetensors` of a
//! `BertModel` (or `BertForSequenceClassification`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensors};
use tch::{nn, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::models::bert::{BertConfig, BertEncoder, ClassifierHead};
use crate::models::tokenizer::TextTokenizer;

/// Name of the model configuration file in a model directory.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the weights file in a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Name of the tokenizer file in a model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

const PICKLE_EXTENSIONS: [&str; 4] = ["bin", "pkl", "pth", "ckpt"];

/// Whether `path` looks like a pickle weights file (`.bin`, `.pkl`, `.pth`, `.ckpt`).
pub fn is_pickle_weights(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PICKLE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The error returned for a pickle weights file: [`Error::InvalidInput`] naming the file.
pub fn pickle_refused(path: &Path) -> Error {
    Error::invalid_input(
        path.display().to_string(),
        "pickle weights are refused because loading a pickle can run arbitrary code; convert \
         the model to safetensors (in Python: AutoModel.from_pretrained(dir).save_pretrained(dir, \
         safe_serialization=True)) and use the directory with model.safetensors",
    )
}

/// Reads and validates a `config.json`.
///
/// [`Error::NotFound`] if it is missing; [`Error::InvalidInput`] naming the file (and the
/// field and value where one is at fault) if it does not parse or does not validate.
/// DistilBERT configs get `type_vocab_size = 0`.
pub fn read_config(path: &Path) -> Result<BertConfig> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound(format!("model config {name}")))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid_input(&name, format!("cannot parse model config: {e}")))?;
    if value.get("model_type").and_then(|v| v.as_str()) == Some("distilbert") {
        if let Some(obj) = value.as_object_mut() {
            obj.entry("type_vocab_size").or_insert(serde_json::json!(0));
        }
    }
    BertConfig::from_json_str(&value.to_string(), &name)
}

/// The maximum sequence length a model directory asks for, special tokens included.
///
/// Order: `max_seq_length` of `sentence_bert_config.json` (what sentence-transformers
/// uses), then `model_max_length` of `tokenizer_config.json`, then the config's
/// `max_position_embeddings`; always capped at `max_position_embeddings`.
pub fn default_max_length(dir: &Path, cfg: &BertConfig) -> usize {
    let read = |file: &str, field: &str| -> Option<u64> {
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()?
            .get(field)?
            .as_u64()
    };
    let cap = cfg.max_position_embeddings.max(1) as u64;
    let wanted = read("sentence_bert_config.json", "max_seq_length")
        .or_else(|| read("tokenizer_config.json", "model_max_length"))
        .unwrap_or(cap);
    wanted.clamp(1, cap) as usize
}

/// Names, dtypes and shapes of the tensors in a safetensors file, read from its header only.
///
/// [`Error::InvalidInput`] naming the file if the header is malformed.
pub fn read_safetensors_header(path: &Path) -> Result<BTreeMap<String, (Dtype, Vec<usize>)>> {
    let name = path.display().to_string();
    let corrupt =
        |why: String| Error::invalid_input(&name, format!("corrupt safetensors file: {why}"));
    let mut file = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|e| corrupt(format!("cannot read header length: {e}")))?;
    let n = u64::from_le_bytes(len);
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if n > 100_000_000 || n + 8 > size {
        return Err(corrupt(format!(
            "header length {n} does not fit the file size {size}"
        )));
    }
    let mut buf = vec![0u8; 8 + n as usize];
    buf[..8].copy_from_slice(&len);
    file.read_exact(&mut buf[8..])
        .map_err(|e| corrupt(format!("cannot read header: {e}")))?;
    let meta: Metadata =
        serde_json::from_slice(&buf[8..]).map_err(|e| corrupt(format!("bad header: {e}")))?;
    if 8 + n + meta.data_len() as u64 != size {
        return Err(corrupt(format!(
            "header describes {} data bytes but the file holds {}",
            meta.data_len(),
            size - 8 - n
        )));
    }
    Ok(meta
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype, v.shape.clone())))
        .collect())
}

fn open_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound(format!("weights file {}", path.display()))
    } else {
        Error::io(path, e)
    }
}

/// What [`load_safetensors_into`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Variables filled from the file.
    pub loaded: usize,
    /// Tensors of the file that no variable asked for (sorted).
    pub unused: Vec<String>,
}

/// Fills every variable of `vs` from the tensor of the same name in the safetensors file.
///
/// Floating tensors (F32, F16, BF16, F64) are converted to the variable's kind. Errors are
/// [`Error::InvalidInput`] naming the file: a corrupt file, a missing tensor (with the shape
/// expected), a shape different from the variable's (both shapes given), or a non-float dtype.
/// Tensors the store does not ask for are listed in the report, not an error.
pub fn load_safetensors_into(vs: &nn::VarStore, path: &Path) -> Result<LoadReport> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| open_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::invalid_input(&name, format!("corrupt safetensors file: {e}")))?;
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    let mut used = BTreeSet::new();
    for (var_name, var) in &variables {
        let view = file.tensor(var_name).map_err(|_| {
            Error::invalid_input(
                &name,
                format!(
                    "missing tensor {var_name} (expected shape {:?})",
                    var.size()
                ),
            )
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        if shape != var.size() {
            return Err(Error::invalid_input(
                &name,
                format!(
                    "tensor {var_name} has shape {shape:?}, the model config expects {:?}",
                    var.size()
                ),
            ));
        }
        let kind = match view.dtype() {
            Dtype::F32 => Kind::Float,
            Dtype::F16 => Kind::Half,
            Dtype::BF16 => Kind::BFloat16,
            Dtype::F64 => Kind::Double,
            other => {
                return Err(Error::invalid_input(
                    &name,
                    format!("tensor {var_name} has dtype {other:?}, expected a float type"),
                ))
            }
        };
        let value = Tensor::f_from_data_size(view.data(), &shape, kind)?
            .f_to_kind(var.kind())?
            .f_to_device(var.device())?;
        let mut target = var.shallow_clone();
        tch::no_grad(|| target.f_copy_(&value))?;
        used.insert(var_name.clone());
    }
    let unused = file
        .names()
        .into_iter()
        .filter(|n| !used.contains(*n))
        .map(String::from)
        .collect();
    Ok(LoadReport {
        loaded: used.len(),
        unused,
    })
}

/// A BERT-family model loaded from a Hugging Face directory, with its head if it has one.
#[derive(Debug)]
pub struct HfModel {
    /// The directory read.
    pub dir: PathBuf,
    /// Parsed `config.json`.
    pub config: BertConfig,
    /// Store holding every parameter under its Hugging Face name.
    pub vs: nn::VarStore,
    /// The encoder.
    pub encoder: BertEncoder,
    /// The `BertForSequenceClassification` head, if the checkpoint has `classifier.*`.
    pub head: Option<ClassifierHead>,
    /// Class names from `id2label`, ordered by index, when there is a head.
    pub labels: Option<Vec<String>>,
    /// Prefix of the encoder's keys in the file: `""` or `"bert."`.
    pub prefix: String,
}

impl HfModel {
    /// Loads `dir` onto `device`.
    ///
    /// Errors: [`Error::NotFound`] for a missing directory, `config.json` or
    /// `model.safetensors`; [`Error::InvalidInput`] naming the file for a pickle-only
    /// directory, a sharded checkpoint, a bad config, or a corrupt/incompatible weights file.
    /// Integer buffers such as `embeddings.position_ids` and an unused pooler are ignored;
    /// other unexpected tensors are logged at `warn`.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::NotFound(format!(
                "model directory {}",
                dir.display()
            )));
        }
        let weights = weights_file(dir)?;
        let config = read_config(&dir.join(CONFIG_FILE))?;
        let header = read_safetensors_header(&weights)?;
        let wname = weights.display().to_string();

        let prefix = if header.contains_key("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else if header.contains_key("embeddings.word_embeddings.weight") {
            ""
        } else {
            return Err(Error::invalid_input(
                &wname,
                "no BERT encoder found: expected tensor embeddings.word_embeddings.weight or \
                 bert.embeddings.word_embeddings.weight",
            ));
        };
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let encoder_path = if prefix.is_empty() {
            root.clone()
        } else {
            root.sub("bert")
        };
        let encoder = BertEncoder::new(&encoder_path, &config)?;

        let (head, labels) = match header.get("classifier.weight") {
            Some((_, shape)) if shape.len() == 2 => {
                let num_labels = shape[0] as i64;
                let with_pooler = header.contains_key(&format!("{prefix}pooler.dense.weight"));
                let head = ClassifierHead::new(
                    &encoder_path,
                    &root,
                    config.hidden_size,
                    num_labels,
                    with_pooler,
                )?;
                let labels = head_labels(&config, num_labels, dir)?;
                (Some(head), Some(labels))
            }
            Some((_, shape)) => {
                return Err(Error::invalid_input(
                    &wname,
                    format!(
                        "tensor classifier.weight has shape {shape:?}, expected [classes, hidden]"
                    ),
                ))
            }
            None => (None, None),
        };

        let mut vs = vs;
        let report = load_safetensors_into(&vs, &weights)?;
        let ignored: Vec<&String> = report
            .unused
            .iter()
            .filter(|n| {
                let int_buffer = header
                    .get(*n)
                    .is_some_and(|(d, _)| matches!(d, Dtype::I64 | Dtype::I32));
                !int_buffer && !n.starts_with(&format!("{prefix}pooler."))
            })
            .collect();
        if !ignored.is_empty() {
            log::warn!(
                "{wname}: {} tensors not used by the encoder: {:?}",
                ignored.len(),
                ignored
            );
        }
        vs.freeze();
        log::info!(
            "loaded {} ({} tensors, {} layers, hidden {}, head: {})",
            dir.display(),
            report.loaded,
            config.num_hidden_layers,
            config.hidden_size,
            head.as_ref().map_or("none".to_string(), |h| format!(
                "{} classes",
                h.num_labels()
            ))
        );
        Ok(HfModel {
            dir: dir.to_path_buf(),
            config,
            vs,
            encoder,
            head,
            labels,
            prefix: prefix.into(),
        })
    }

    /// Loads the directory's `tokenizer.json` with `max_length`, or with
    /// [`default_max_length`] when `None`.
    pub fn tokenizer(&self, max_length: Option<usize>) -> Result<TextTokenizer> {
        let max_length = max_length.unwrap_or_else(|| default_max_length(&self.dir, &self.config));
        TextTokenizer::from_file(&self.dir.join(TOKENIZER_FILE), max_length)
    }

    /// Number of scalar parameters (encoder, plus head when present).
    pub fn param_count(&self) -> i64 {
        self.vs.variables().values().map(|t| t.numel() as i64).sum()
    }
}

fn head_labels(config: &BertConfig, num_labels: i64, dir: &Path) -> Result<Vec<String>> {
    let cfg_name = dir.join(CONFIG_FILE).display().to_string();
    let labels = config
        .labels()
        .map_err(|e| Error::invalid_input(&cfg_name, e.to_string()))?
        .unwrap_or_else(|| (0..num_labels).map(|i| format!("LABEL_{i}")).collect());
    if labels.len() as i64 != num_labels {
        return Err(Error::invalid_input(
            &cfg_name,
            format!(
                "field id2label has {} labels but classifier.weight has {num_labels} rows",
                labels.len()
            ),
        ));
    }
    Ok(labels)
}

/// The weights file of `dir`, or the error saying why there is none usable.
fn weights_file(dir: &Path) -> Result<PathBuf> {
    let weights = dir.join(WEIGHTS_FILE);
    if weights.is_file() {
        return Ok(weights);
    }
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        return Err(Error::invalid_input(
            index.display().to_string(),
            "sharded safetensors checkpoints are not supported; save the model as one \
             model.safetensors",
        ));
    }
    let mut pickles: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_pickle_weights(p))
        .collect();
    pickles.sort();
    if let Some(p) = pickles.first() {
        return Err(pickle_refused(p));
    }
    Err(Error::NotFound(format!(
        "weights file {} (the directory has no model.safetensors)",
        weights.display()
    )))
}
