//! The teacher of a run: a Hugging Face style encoder or a TorchScript module, behind one
//! interface that turns a batch into pooled features, class logits and hidden states.
//!
//! The teacher always runs in eval mode under `no_grad`; its parameters are frozen when it is
//! loaded (`VarStore::freeze` for encoders; TorchScript modules are only ever called forward),
//! so no gradient can reach it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{CModule, Device, IValue, Kind, Tensor};

use crate::data::{self, Dataset};
use crate::distill::batch::{Batch, Inputs};
use crate::distill::cache::TeacherBatch;
use crate::error::{Error, Result};
use crate::models::bert::{l2_normalize, mean_pool};
use crate::models::hf::{self, HfModel};
use crate::models::tokenizer::TextTokenizer;
use crate::pipeline::head::LinearHead;
use crate::registry::TeacherFormat;

/// The network inside a teacher.
enum Backbone {
    /// A BERT-family encoder read from a Hugging Face style directory.
    Hf(Box<HfModel>),
    /// A TorchScript module whose forward takes `(input_ids, attention_mask)` for text or
    /// `(features)` for feature rows, and returns logits or a tuple whose first element is
    /// the logits and whose second (optional) is the last hidden state `[B, L, D]` or a
    /// list of hidden states.
    Script(CModule),
}

/// A loaded teacher.
pub struct Teacher {
    /// The file or directory it was read from.
    pub path: PathBuf,
    /// Its format.
    pub format: TeacherFormat,
    backbone: Backbone,
    /// The tokenizer for text inputs (`None` for a feature teacher).
    pub tokenizer: Option<TextTokenizer>,
    /// A head fitted on frozen features, for a teacher without one.
    head: Option<LinearHead>,
    device: Device,
}

impl std::fmt::Debug for Teacher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teacher")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Teacher {
    /// Loads the teacher at `path`; text teachers get a tokenizer truncating at `max_length`.
    ///
    /// A TorchScript teacher of text reads `tokenizer.json` from its own directory, or
    /// `<stem>.tokenizer.json` beside it; `text` says whether the data holds texts.
    pub fn load(
        path: &Path,
        format: TeacherFormat,
        device: Device,
        max_length: usize,
        text: bool,
    ) -> Result<Self> {
        let (backbone, tokenizer) = match format {
            TeacherFormat::HfDirectory => {
                let model = HfModel::load(path, device)?;
                let tokenizer = if text {
                    Some(model.tokenizer(Some(max_length))?)
                } else {
                    None
                };
                (Backbone::Hf(Box::new(model)), tokenizer)
            }
            TeacherFormat::TorchScript => {
                let module = CModule::load_on_device(path, device).map_err(|e| {
                    Error::invalid_input(
                        path.display().to_string(),
                        format!("cannot load the TorchScript teacher: {e}"),
                    )
                })?;
                let tokenizer = if text {
                    Some(script_tokenizer(path, max_length)?)
                } else {
                    None
                };
                (Backbone::Script(module), tokenizer)
            }
        };
        if !text {
            if let Backbone::Hf(_) = backbone {
                return Err(Error::invalid_argument(
                    "teacher",
                    format!(
                        "{} is a text encoder but the training data holds feature vectors; \
                         use a TorchScript teacher that takes features",
                        path.display()
                    ),
                ));
            }
        }
        Ok(Teacher {
            path: path.to_path_buf(),
            format,
            backbone,
            tokenizer,
            head: None,
            device,
        })
    }

    /// The teacher's name in reports: the directory or file name.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// The encoder, for initialising a student from its layers.
    pub fn hf_model(&self) -> Option<&HfModel> {
        match &self.backbone {
            Backbone::Hf(m) => Some(m),
            Backbone::Script(_) => None,
        }
    }

    /// True when the teacher gives class logits of its own (a classification head or a
    /// TorchScript module).
    pub fn has_own_logits(&self) -> bool {
        match &self.backbone {
            Backbone::Hf(m) => m.head.is_some(),
            Backbone::Script(_) => true,
        }
    }

    /// Class names of the teacher's own head, when its config names them.
    pub fn own_labels(&self) -> Option<Vec<String>> {
        match &self.backbone {
            Backbone::Hf(m) => m.labels.clone(),
            Backbone::Script(_) => None,
        }
    }

    /// Installs a head fitted on frozen pooled features.
    pub fn set_head(&mut self, head: LinearHead) {
        self.head = Some(head);
    }

    /// The fitted head, if one was installed.
    pub fn fitted_head(&self) -> Option<&LinearHead> {
        self.head.as_ref()
    }

    /// Number of transformer layers (hidden states are `layers + 1` for encoders); a
    /// TorchScript teacher that returns one hidden state counts as one layer.
    pub fn num_layers(&self) -> usize {
        match &self.backbone {
            Backbone::Hf(m) => m.config.num_hidden_layers as usize,
            Backbone::Script(_) => 1,
        }
    }

    /// Width of the teacher's hidden states, when known without running it.
    pub fn hidden_width(&self) -> Option<i64> {
        match &self.backbone {
            Backbone::Hf(m) => Some(m.config.hidden_size),
            Backbone::Script(_) => None,
        }
    }

    /// Scalar parameters, including a fitted head.
    pub fn param_count(&self) -> Result<i64> {
        let own = match &self.backbone {
            Backbone::Hf(m) => m.param_count(),
            Backbone::Script(m) => m
                .named_parameters()?
                .iter()
                .map(|(_, t)| t.numel() as i64)
                .sum(),
        };
        Ok(own + self.head.as_ref().map_or(0, LinearHead::param_count))
    }

    /// Bytes of the weights on disk (`model.safetensors` or the `.pt` file), plus a fitted
    /// head's fp32 bytes.
    pub fn weight_bytes(&self) -> Result<u64> {
        let file = match self.format {
            TeacherFormat::HfDirectory => self.path.join(hf::WEIGHTS_FILE),
            TeacherFormat::TorchScript => self.path.clone(),
        };
        let meta = std::fs::metadata(&file).map_err(|e| Error::io(&file, e))?;
        let head = self.head.as_ref().map_or(0, |h| h.param_count() as u64 * 4);
        Ok(meta.len() + head)
    }

    /// The model inputs of a dataset: teacher token ids for texts, a feature tensor otherwise.
    pub fn encode(&self, dataset: &Dataset) -> Result<Inputs> {
        match dataset.inputs() {
            data::Inputs::Texts(texts) => {
                let tokenizer = self.tokenizer.as_ref().ok_or_else(|| {
                    Error::Internal("text data reached a teacher without a tokenizer".into())
                })?;
                Ok(Inputs::Tokens {
                    ids: tokenizer.encode_ids(texts)?,
                    pad_id: tokenizer.pad_id(),
                })
            }
            data::Inputs::Features { values, dim } => {
                let rows = (values.len() / (*dim).max(1)) as i64;
                Ok(Inputs::Features(
                    Tensor::f_from_slice(values)?.f_view([rows, *dim as i64])?,
                ))
            }
        }
    }

    /// Runs the teacher on `batch`: pooled features `[b, D]`, logits `[b, C]` (own head or
    /// fitted head; `None` before a head is fitted) and the hidden states listed in `hidden`
    /// (hidden-state indices, 0 = embeddings). Runs under `no_grad` in eval mode.
    pub fn forward(&self, batch: &Batch, hidden: &[usize]) -> Result<TeacherBatch> {
        Ok(self.forward_with_attentions(batch, hidden, &[])?.0)
    }

    /// Like [`Self::forward`], and also the attention probabilities of the transformer layers
    /// listed in `attention_layers` (1-based), each `[b, heads, l, l]` `f32` on the CPU at the
    /// batch's length `l`, keyed by layer. Runs under `no_grad` in eval mode (no dropout).
    ///
    /// Only a Hugging Face encoder teacher has attention maps: a TorchScript teacher asked for
    /// any gives [`Error::InvalidArgument`] naming `training.attention_alignment`.
    pub fn forward_with_attentions(
        &self,
        batch: &Batch,
        hidden: &[usize],
        attention_layers: &[usize],
    ) -> Result<(TeacherBatch, BTreeMap<usize, Tensor>)> {
        tch::no_grad(|| self.forward_inner(batch, hidden, attention_layers))
    }

    fn forward_inner(
        &self,
        batch: &Batch,
        hidden: &[usize],
        attention_layers: &[usize],
    ) -> Result<(TeacherBatch, BTreeMap<usize, Tensor>)> {
        match &self.backbone {
            Backbone::Hf(model) => {
                let (ids, mask) = text_inputs(batch, self.device)?;
                let want_attentions = !attention_layers.is_empty();
                let out = model
                    .encoder
                    .forward_t(&ids, &mask, false, want_attentions)?;
                let pooled = l2_normalize(&mean_pool(&out.last_hidden, &mask)?)?;
                let logits = match (&model.head, &self.head) {
                    (Some(own), _) => Some(own.forward(&out.last_hidden)?),
                    (None, Some(fitted)) => Some(fitted.forward(&pooled)?),
                    (None, None) => None,
                };
                let mut states = BTreeMap::new();
                for &i in hidden {
                    let h = out.hidden_states.get(i).ok_or_else(|| {
                        Error::invalid_argument(
                            "training.hidden_alignment.layer_map",
                            format!(
                                "teacher hidden state {i} does not exist; the teacher has \
                                 hidden states 0..={}",
                                out.hidden_states.len().saturating_sub(1)
                            ),
                        )
                    })?;
                    states.insert(i, h.f_to_device(Device::Cpu)?);
                }
                let mut attentions = BTreeMap::new();
                for &layer in attention_layers {
                    let a = layer
                        .checked_sub(1)
                        .and_then(|i| out.attentions.get(i))
                        .ok_or_else(|| {
                            Error::invalid_argument(
                                "training.attention_alignment",
                                format!(
                                    "teacher layer {layer} has no attention map; the teacher \
                                     has layers 1..={}",
                                    out.attentions.len()
                                ),
                            )
                        })?;
                    attentions.insert(layer, a.f_to_device(Device::Cpu)?);
                }
                let outputs = TeacherBatch {
                    pooled: pooled.f_to_device(Device::Cpu)?,
                    logits: logits.map(|l| l.f_to_device(Device::Cpu)).transpose()?,
                    hidden: states,
                };
                Ok((outputs, attentions))
            }
            Backbone::Script(module) => {
                if !attention_layers.is_empty() {
                    return Err(script_attention_error(&self.path));
                }
                let args = match (&batch.ids, &batch.mask, &batch.features) {
                    (Some(ids), Some(mask), _) => vec![
                        IValue::Tensor(ids.f_to_device(self.device)?),
                        IValue::Tensor(mask.f_to_device(self.device)?),
                    ],
                    (_, _, Some(f)) => vec![IValue::Tensor(f.f_to_device(self.device)?)],
                    _ => return Err(Error::Internal("batch without inputs".into())),
                };
                let output = module.forward_is(&args).map_err(|e| {
                    let shapes: Vec<String> = args
                        .iter()
                        .filter_map(|a| match a {
                            IValue::Tensor(t) => Some(format!("{:?}", t.size())),
                            _ => None,
                        })
                        .collect();
                    Error::invalid_input(
                        self.path.display().to_string(),
                        format!(
                            "the TorchScript teacher failed on a batch of inputs shaped [{}]: {}",
                            shapes.join(", "),
                            crate::error::trim_torch_message(&e.to_string())
                        ),
                    )
                })?;
                let (logits, states) = self.script_outputs(output, batch, hidden)?;
                let logits = logits.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?;
                let outputs = TeacherBatch {
                    pooled: logits.shallow_clone(),
                    logits: Some(logits),
                    hidden: states,
                };
                Ok((outputs, BTreeMap::new()))
            }
        }
    }

    /// Splits a TorchScript output into logits and the requested hidden states, checking
    /// their shapes.
    fn script_outputs(
        &self,
        output: IValue,
        batch: &Batch,
        hidden: &[usize],
    ) -> Result<(Tensor, BTreeMap<usize, Tensor>)> {
        let file = self.path.display().to_string();
        let rows = batch.labels.size()[0];
        let bad = |what: String| Error::invalid_input(&file, what);
        let (logits, rest) =
            match output {
                IValue::Tensor(t) => (t, Vec::new()),
                IValue::Tuple(items) | IValue::GenericList(items) => {
                    let mut items = items.into_iter();
                    match items.next() {
                        Some(IValue::Tensor(t)) => (t, items.collect::<Vec<_>>()),
                        _ => return Err(bad(
                            "the teacher's forward returned a tuple whose first element is not \
                             a logits tensor"
                                .into(),
                        )),
                    }
                }
                other => {
                    return Err(bad(format!(
                        "the teacher's forward must return logits [batch, classes] or a tuple \
                     (logits, hidden states), got {}",
                        ivalue_kind(&other)
                    )))
                }
            };
        let size = logits.size();
        if size.len() != 2 || size[0] != rows {
            return Err(bad(format!(
                "the teacher returned logits of shape {size:?} for a batch of {rows} rows, \
                 expected [{rows}, classes]"
            )));
        }
        let mut states = BTreeMap::new();
        if !hidden.is_empty() {
            let tensors: Vec<Tensor> = match rest.into_iter().next() {
                Some(IValue::Tensor(t)) => vec![t],
                Some(IValue::TensorList(v)) => v,
                Some(IValue::Tuple(v)) | Some(IValue::GenericList(v)) => v
                    .into_iter()
                    .filter_map(|i| match i {
                        IValue::Tensor(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if tensors.is_empty() {
                return Err(bad(
                    "hidden alignment needs hidden states, but the teacher's forward returns \
                     logits only; return (logits, hidden) or turn hidden alignment off"
                        .into(),
                ));
            }
            // One tensor is the last hidden state (index 1 of a one-layer teacher); a list
            // holds every hidden state from index 0.
            let offset = usize::from(tensors.len() == 1);
            for &i in hidden {
                let t = i
                    .checked_sub(offset)
                    .and_then(|k| tensors.get(k))
                    .ok_or_else(|| {
                        bad(format!(
                            "teacher hidden state {i} requested, the teacher returns {} hidden \
                             state(s)",
                            tensors.len()
                        ))
                    })?;
                if t.dim() != 3 || t.size()[0] != rows {
                    return Err(bad(format!(
                        "hidden state {i} has shape {:?}, expected [{rows}, tokens, width]",
                        t.size()
                    )));
                }
                states.insert(i, t.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?);
            }
        }
        Ok((logits, states))
    }
}

/// The refusal of attention alignment with a TorchScript teacher at `path`.
pub(crate) fn script_attention_error(path: &Path) -> Error {
    Error::invalid_argument(
        "training.attention_alignment",
        format!(
            "attention-map alignment needs a Hugging Face directory teacher, whose attention \
             probabilities can be read; {} is a TorchScript file, which returns none; set it to \
             false",
            path.display()
        ),
    )
}

/// Ids and mask of a text batch on `device`.
fn text_inputs(batch: &Batch, device: Device) -> Result<(Tensor, Tensor)> {
    match (&batch.ids, &batch.mask) {
        (Some(ids), Some(mask)) => Ok((ids.f_to_device(device)?, mask.f_to_device(device)?)),
        _ => Err(Error::Internal(
            "a text teacher got a batch without token ids".into(),
        )),
    }
}

/// The tokenizer of a TorchScript text teacher: `tokenizer.json` in its directory, or
/// `<stem>.tokenizer.json` beside it.
fn script_tokenizer(path: &Path, max_length: usize) -> Result<TextTokenizer> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let candidates = [
        dir.join(format!("{stem}.tokenizer.json")),
        dir.join(hf::TOKENIZER_FILE),
    ];
    for c in &candidates {
        if c.is_file() {
            return TextTokenizer::from_file(c, max_length);
        }
    }
    Err(Error::NotFound(format!(
        "tokenizer for the TorchScript teacher {}: looked for {} and {}",
        path.display(),
        candidates[0].display(),
        candidates[1].display()
    )))
}

/// A short name of an IValue's kind for messages.
fn ivalue_kind(v: &IValue) -> &'static str {
    match v {
        IValue::None => "None",
        IValue::Tensor(_) => "a tensor",
        IValue::Double(_) | IValue::Int(_) => "a number",
        IValue::Bool(_) => "a bool",
        IValue::Tuple(_) => "a tuple",
        IValue::String(_) => "a string",
        IValue::GenericDict(_) => "a dict",
        _ => "a list or another value",
    }
}
