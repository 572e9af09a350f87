//! A BERT-family encoder on tch (BERT, MiniLM and other post-norm BERT-shaped models).
//!
//! The architecture follows Devlin et al., "BERT: Pre-training of Deep Bidirectional
//! Transformers for Language Understanding" (2019), section 3, which takes its layer from
//! Vaswani et al., "Attention Is All You Need" (2017), section 3: token + position + segment
//! embeddings, LayerNorm, then `num_hidden_layers` post-norm blocks of multi-head
//! self-attention and a GELU feed-forward network.
//!
//! Parameter names equal the Hugging Face `BertModel` state-dict keys relative to the
//! [`nn::Path`] the encoder is built under, so a `VarStore` can be filled by name from a
//! `model.safetensors` (see [`crate::models::hf`]):
//!
//! ```text
//! embeddings.word_embeddings.weight                [vocab, H]
//! embeddings.position_embeddings.weight            [max_positions, H]
//! embeddings.token_type_embeddings.weight          [type_vocab, H]   (absent if type_vocab = 0)
//! embeddings.LayerNorm.{weight,bias}               [H]
//! encoder.layer.{i}.attention.self.{query,key,value}.{weight [H,H], bias [H]}
//! encoder.layer.{i}.attention.output.dense.{weight [H,H], bias [H]}
//! encoder.layer.{i}.attention.output.LayerNorm.{weight,bias}   [H]
//! encoder.layer.{i}.intermediate.dense.{weight [I,H], bias [I]}
//! encoder.layer.{i}.output.dense.{weight [H,I], bias [H]}
//! encoder.layer.{i}.output.LayerNorm.{weight,bias}             [H]
//! ```
//!
//! Build the encoder under `vs.root()` for checkpoints without a prefix (sentence-transformers
//! models such as all-MiniLM-L6-v2) or under `vs.root().sub("bert")` for
//! `BertForSequenceClassification` checkpoints whose keys start with `bert.`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::error::{Error, Result};

fn default_type_vocab_size() -> i64 {
    2
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

fn default_hidden_act() -> String {
    "gelu".to_string()
}

fn default_dropout() -> f64 {
    0.1
}

/// Hyper-parameters of a BERT-family encoder, read from a Hugging Face `config.json`.
///
/// Unknown fields of `config.json` are ignored. DistilBERT's field names (`dim`, `n_layers`,
/// `n_heads`, `hidden_dim`, `dropout`, `attention_dropout`, `activation`) are accepted as
/// aliases so its configuration parses; DistilBERT has no segment embeddings, which a
/// `type_vocab_size` of 0 expresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Number of rows of the word-embedding matrix.
    pub vocab_size: i64,
    /// Width H of every hidden state.
    #[serde(alias = "dim")]
    pub hidden_size: i64,
    /// Number of transformer blocks.
    #[serde(alias = "n_layers")]
    pub num_hidden_layers: i64,
    /// Number of attention heads; must divide `hidden_size`.
    #[serde(alias = "n_heads")]
    pub num_attention_heads: i64,
    /// Width I of the feed-forward layer.
    #[serde(alias = "hidden_dim")]
    pub intermediate_size: i64,
    /// Longest sequence the position embeddings cover.
    pub max_position_embeddings: i64,
    /// Number of segment (token type) embeddings; 0 means none.
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: i64,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Feed-forward activation: `gelu` (erf form), `gelu_new`/`gelu_pytorch_tanh` (tanh
    /// approximation) or `relu`.
    #[serde(default = "default_hidden_act", alias = "activation")]
    pub hidden_act: String,
    /// Dropout after the embeddings, the attention output and the feed-forward output.
    #[serde(default = "default_dropout", alias = "dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities.
    #[serde(default = "default_dropout", alias = "attention_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Id of the padding token (informational; the attention mask decides what is padding).
    #[serde(default)]
    pub pad_token_id: i64,
    /// Class names of a sequence-classification checkpoint, keyed by class index as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    /// The Hugging Face `model_type` (`bert`, `distilbert`, ...), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
}

impl BertConfig {
    /// Parses a `config.json` document; `source` names the file in errors.
    pub fn from_json_str(json: &str, source: &str) -> Result<Self> {
        let cfg: BertConfig = serde_json::from_str(json)
            .map_err(|e| Error::invalid_input(source, format!("cannot parse model config: {e}")))?;
        cfg.validate().map_err(|e| match e {
            Error::InvalidArgument { field, message } => {
                Error::invalid_input(source, format!("field {field}: {message}"))
            }
            other => other,
        })?;
        Ok(cfg)
    }

    /// Checks that the sizes describe a buildable encoder.
    ///
    /// Errors are [`Error::InvalidArgument`] naming the field and the value.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (field, value) in positive {
            if value <= 0 {
                return Err(Error::invalid_argument(
                    field,
                    format!("must be greater than 0, got {value}"),
                ));
            }
        }
        if self.type_vocab_size < 0 {
            return Err(Error::invalid_argument(
                "type_vocab_size",
                format!("must be 0 or more, got {}", self.type_vocab_size),
            ));
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(Error::invalid_argument(
                "num_attention_heads",
                format!(
                    "must divide hidden_size {}, got {} heads",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        for (field, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::invalid_argument(
                    field,
                    format!("must be in [0, 1), got {p}"),
                ));
            }
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return Err(Error::invalid_argument(
                "layer_norm_eps",
                format!("must be greater than 0, got {}", self.layer_norm_eps),
            ));
        }
        Activation::parse(&self.hidden_act)?;
        Ok(())
    }

    /// Width of one attention head, `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Class names ordered by class index, if the config has `id2label`.
    ///
    /// Fails if the keys are not exactly `0..n`.
    pub fn labels(&self) -> Result<Option<Vec<String>>> {
        let Some(map) = &self.id2label else {
            return Ok(None);
        };
        let mut labels = vec![None; map.len()];
        for (key, name) in map {
            let index: usize = key.parse().map_err(|_| {
                Error::invalid_argument("id2label", format!("key {key:?} is not a class index"))
            })?;
            let slot = labels.get_mut(index).ok_or_else(|| {
                Error::invalid_argument(
                    "id2label",
                    format!(
                        "class index {index} is out of range for {} labels",
                        map.len()
                    ),
                )
            })?;
            *slot = Some(name.clone());
        }
        Ok(Some(labels.into_iter().flatten().collect()))
    }

    /// Number of parameters of an encoder with this configuration (no pooler or head).
    pub fn param_count(&self) -> i64 {
        let (h, i) = (self.hidden_size, self.intermediate_size);
        let embeddings =
            (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) * h + 2 * h;
        let layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
        embeddings + self.num_hidden_layers * layer
    }
}

/// Feed-forward activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    Gelu,
    GeluTanh,
    Relu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(Error::invalid_argument(
                "hidden_act",
                format!("unsupported activation {other:?}, expected gelu, gelu_new or relu"),
            )),
        }
    }

    fn apply(self, xs: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Gelu => xs.f_gelu("none")?,
            Activation::GeluTanh => xs.f_gelu("tanh")?,
            Activation::Relu => xs.f_relu()?,
        })
    }
}

/// Initialisation of BERT (Devlin et al. 2019, via the reference code's
/// `initializer_range` 0.02): weights N(0, 0.02), biases 0, LayerNorm weight 1 and bias 0.
const INIT_STD: f64 = 0.02;

fn normal_init() -> nn::Init {
    nn::Init::Randn {
        mean: 0.0,
        stdev: INIT_STD,
    }
}

/// A dense layer `y = x W^T + b`, with `W` named `weight` [out, in] and `b` named `bias` [out].
#[derive(Debug)]
struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn new(p: nn::Path, in_dim: i64, out_dim: i64) -> Result<Self> {
        Ok(Dense {
            weight: p.f_var("weight", &[out_dim, in_dim], normal_init())?,
            bias: p.f_var("bias", &[out_dim], nn::Init::Const(0.0))?,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(xs.f_linear(&self.weight, Some(&self.bias))?)
    }
}

/// A LayerNorm over the last dimension, with `weight` and `bias` of shape [H].
#[derive(Debug)]
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn new(p: nn::Path, dim: i64, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: p.f_var("weight", &[dim], nn::Init::Const(1.0))?,
            bias: p.f_var("bias", &[dim], nn::Init::Const(0.0))?,
            eps,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let dim = self.weight.size();
        Ok(xs.f_layer_norm(
            dim.as_slice(),
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
            true,
        )?)
    }
}

#[derive(Debug)]
struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    norm: Norm,
}

#[derive(Debug)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// What [`BertEncoder::forward_t`] returns.
#[derive(Debug)]
pub struct EncoderOutput {
    /// Output of the last block: [B, L, H] f32.
    pub last_hidden: Tensor,
    /// Embedding output followed by the output of every block: `num_hidden_layers + 1`
    /// tensors of [B, L, H] f32 (the last one equals `last_hidden`).
    pub hidden_states: Vec<Tensor>,
    /// Attention probabilities of every block, [B, heads, L, L] f32 (rows sum to 1 over the
    /// key axis); empty unless asked for.
    pub attentions: Vec<Tensor>,
}

/// A BERT-family encoder whose parameters live in a `VarStore` under Hugging Face names.
///
/// Usable as a frozen teacher (`train = false` inside `tch::no_grad`) and as a trainable
/// student (`train = true` applies dropout).
#[derive(Debug)]
pub struct BertEncoder {
    config: BertConfig,
    activation: Activation,
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertEncoder {
    /// Creates the encoder's variables under `p` (see the module documentation for names).
    ///
    /// Weights start as in BERT: N(0, 0.02), biases 0, LayerNorm 1/0. Fails with
    /// [`Error::InvalidArgument`] naming the field if `cfg` does not validate.
    pub fn new(p: &nn::Path, cfg: &BertConfig) -> Result<Self> {
        cfg.validate()?;
        let activation = Activation::parse(&cfg.hidden_act)?;
        let h = cfg.hidden_size;
        let e = p.sub("embeddings");
        let embeddings = Embeddings {
            word: e
                .sub("word_embeddings")
                .f_var("weight", &[cfg.vocab_size, h], normal_init())?,
            position: e.sub("position_embeddings").f_var(
                "weight",
                &[cfg.max_position_embeddings, h],
                normal_init(),
            )?,
            token_type: if cfg.type_vocab_size > 0 {
                Some(e.sub("token_type_embeddings").f_var(
                    "weight",
                    &[cfg.type_vocab_size, h],
                    normal_init(),
                )?)
            } else {
                None
            },
            norm: Norm::new(e.sub("LayerNorm"), h, cfg.layer_norm_eps)?,
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers as usize);
        for i in 0..cfg.num_hidden_layers {
            let l = p.sub("encoder").sub("layer").sub(i);
            let att = l.sub("attention");
            let sa = att.sub("self");
            let ao = att.sub("output");
            layers.push(Layer {
                query: Dense::new(sa.sub("query"), h, h)?,
                key: Dense::new(sa.sub("key"), h, h)?,
                value: Dense::new(sa.sub("value"), h, h)?,
                attention_out: Dense::new(ao.sub("dense"), h, h)?,
                attention_norm: Norm::new(ao.sub("LayerNorm"), h, cfg.layer_norm_eps)?,
                intermediate: Dense::new(
                    l.sub("intermediate").sub("dense"),
                    h,
                    cfg.intermediate_size,
                )?,
                output: Dense::new(l.sub("output").sub("dense"), cfg.intermediate_size, h)?,
                output_norm: Norm::new(l.sub("output").sub("LayerNorm"), h, cfg.layer_norm_eps)?,
            });
        }
        Ok(BertEncoder {
            config: cfg.clone(),
            activation,
            embeddings,
            layers,
        })
    }

    /// The configuration the encoder was built from.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The word-embedding matrix [vocab, H] f32 (a shallow handle to the variable).
    pub fn word_embeddings(&self) -> &Tensor {
        &self.embeddings.word
    }

    /// Runs the encoder.
    ///
    /// - `input_ids`: [B, L] i64 token ids in `0..vocab_size`, L <= `max_position_embeddings`.
    /// - `attention_mask`: [B, L] i64 (any integer or float kind), 1 for tokens, 0 for padding.
    /// - `train`: applies dropout when true.
    /// - `want_attentions`: also returns the attention probabilities of every block.
    ///
    /// Segment ids are all 0 (single-sentence input). Padding positions still get hidden
    /// states; pool with [`mean_pool`] to ignore them. Bad shapes, kinds or ids give
    /// [`Error::InvalidArgument`] naming the argument.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
        want_attentions: bool,
    ) -> Result<EncoderOutput> {
        self.check_inputs(input_ids, attention_mask)?;
        let cfg = &self.config;

        // Every shape below comes from tensor operations, never from sizes read here, so that
        // a TorchScript trace of this pass (`crate::export`) takes any batch size and length.
        // Positions 0..L of every row, [B, L].
        let positions = input_ids
            .f_ones_like()?
            .f_cumsum(1, Kind::Int64)?
            .f_sub_scalar(1)?;
        let mut xs =
            Tensor::f_embedding(&self.embeddings.word, input_ids, -1, false, false)?.f_add(
                &Tensor::f_embedding(&self.embeddings.position, &positions, -1, false, false)?,
            )?;
        if let Some(tt) = &self.embeddings.token_type {
            xs = xs.f_add(&tt.f_get(0)?)?;
        }
        xs = self
            .embeddings
            .norm
            .forward(&xs)?
            .f_dropout(cfg.hidden_dropout_prob, train)?;

        // Additive mask [B, 1, 1, L]: 0 where a key is a token, the lowest f32 where it is
        // padding, as Hugging Face's `get_extended_attention_mask` does.
        let keep = attention_mask
            .f_to_kind(Kind::Float)?
            .f_unsqueeze(1)?
            .f_unsqueeze(2)?;
        let additive = keep
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(f64::from(f32::MIN))?;

        let mut hidden_states = Vec::with_capacity(self.layers.len() + 1);
        let mut attentions = Vec::new();
        hidden_states.push(xs.shallow_clone());
        for layer in &self.layers {
            let (next, probs) =
                self.layer_forward(layer, &xs, &additive, train, want_attentions)?;
            if let Some(p) = probs {
                attentions.push(p);
            }
            xs = next;
            hidden_states.push(xs.shallow_clone());
        }
        Ok(EncoderOutput {
            last_hidden: xs,
            hidden_states,
            attentions,
        })
    }

    fn check_inputs(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<(i64, i64)> {
        let size = input_ids.size();
        if size.len() != 2 || input_ids.kind() != Kind::Int64 {
            return Err(Error::invalid_argument(
                "input_ids",
                format!(
                    "expected a [batch, length] int64 tensor, got {:?} {size:?}",
                    input_ids.kind()
                ),
            ));
        }
        if attention_mask.size() != size {
            return Err(Error::invalid_argument(
                "attention_mask",
                format!(
                    "expected shape {size:?} like input_ids, got {:?}",
                    attention_mask.size()
                ),
            ));
        }
        let (b, l) = (size[0], size[1]);
        if l > self.config.max_position_embeddings {
            return Err(Error::invalid_argument(
                "input_ids",
                format!(
                    "sequence length {l} exceeds max_position_embeddings {}",
                    self.config.max_position_embeddings
                ),
            ));
        }
        if b > 0 && l > 0 {
            let lo = input_ids.f_min()?.f_int64_value(&[])?;
            let hi = input_ids.f_max()?.f_int64_value(&[])?;
            if lo < 0 || hi >= self.config.vocab_size {
                return Err(Error::invalid_argument(
                    "input_ids",
                    format!(
                        "token ids must be in 0..{}, got values from {lo} to {hi}",
                        self.config.vocab_size
                    ),
                ));
            }
        }
        Ok((b, l))
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        xs: &Tensor,
        additive_mask: &Tensor,
        train: bool,
        want_attentions: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let cfg = &self.config;
        let (heads, dh) = (cfg.num_attention_heads, cfg.head_dim());
        // [B, L, H] -> [B, heads, L, dh], with no batch or length constant (see `forward_t`)
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.f_unflatten(-1, [heads, dh].as_slice())?
                .f_transpose(1, 2)?)
        };
        let q = split(layer.query.forward(xs)?)?;
        let k = split(layer.key.forward(xs)?)?;
        let v = split(layer.value.forward(xs)?)?;
        let scale = 1.0 / (dh as f64).sqrt();
        let dropout_p = if train {
            cfg.attention_probs_dropout_prob
        } else {
            0.0
        };

        // softmax(Q K^T / sqrt(d_k) + mask) V, Vaswani et al. 2017, equation 1.
        let (context, probs) = if want_attentions {
            let scores = q
                .f_matmul(&k.f_transpose(-2, -1)?)?
                .f_mul_scalar(scale)?
                .f_add(additive_mask)?;
            let probs = scores.f_softmax(-1, Kind::Float)?;
            let context = probs.f_dropout(dropout_p, train)?.f_matmul(&v)?;
            (context, Some(probs))
        } else {
            let context = Tensor::f_scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(additive_mask),
                dropout_p,
                false,
                scale,
                false,
            )?;
            (context, None)
        };
        let context = context.f_transpose(1, 2)?.f_contiguous()?.f_flatten(2, 3)?;

        let attended = layer
            .attention_out
            .forward(&context)?
            .f_dropout(cfg.hidden_dropout_prob, train)?
            .f_add(xs)?;
        let attended = layer.attention_norm.forward(&attended)?;
        let inner = self
            .activation
            .apply(&layer.intermediate.forward(&attended)?)?;
        let out = layer
            .output
            .forward(&inner)?
            .f_dropout(cfg.hidden_dropout_prob, train)?
            .f_add(&attended)?;
        Ok((layer.output_norm.forward(&out)?, probs))
    }
}

/// Mean of the hidden states over the positions where `mask` is 1.
///
/// `hidden`: [B, L, H] f32; `mask`: [B, L] (any numeric kind, 1 = token). Returns [B, H] f32:
/// `sum_l(h * m) / max(sum_l(m), 1e-9)`, the sentence-transformers mean pooling (Reimers and
/// Gurevych, "Sentence-BERT", 2019, section 3), so a row of only padding gives zeros.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let hs = hidden.size();
    if hs.len() != 3 || mask.size() != hs[..2] {
        return Err(Error::invalid_argument(
            "mask",
            format!(
                "expected hidden [B, L, H] and mask [B, L], got {hs:?} and {:?}",
                mask.size()
            ),
        ));
    }
    let m = mask.f_to_kind(hidden.kind())?.f_unsqueeze(-1)?;
    let summed = hidden
        .f_mul(&m)?
        .f_sum_dim_intlist(1, false, hidden.kind())?;
    let counts = m
        .f_sum_dim_intlist(1, false, hidden.kind())?
        .f_clamp_min(1e-9)?;
    Ok(summed.f_div(&counts)?)
}

/// The hidden state of the first token (`[CLS]`): [B, L, H] f32 -> [B, H] f32.
pub fn cls_pool(hidden: &Tensor) -> Result<Tensor> {
    if hidden.dim() != 3 || hidden.size()[1] == 0 {
        return Err(Error::invalid_argument(
            "hidden",
            format!(
                "expected a non-empty [B, L, H] tensor, got {:?}",
                hidden.size()
            ),
        ));
    }
    Ok(hidden.f_select(1, 0)?)
}

/// Scales each row to unit Euclidean length: [B, H] f32 -> [B, H] f32.
///
/// `x / max(||x||_2, 1e-12)` along the last dimension, as `torch.nn.functional.normalize`.
pub fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norm = xs
        .f_norm_scalaropt_dim(2.0, [-1i64].as_slice(), true)?
        .f_clamp_min(1e-12)?;
    Ok(xs.f_div(&norm)?)
}

/// Variable-name prefix of block `i` relative to the encoder's path: `encoder.layer.{i}.`.
pub fn layer_prefix(i: usize) -> String {
    format!("encoder.layer.{i}.")
}

/// Which parts of one encoder to copy into another with [`copy_encoder_weights`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerCopy {
    /// Copy every `embeddings.*` variable (word, position, segment embeddings, LayerNorm).
    pub embeddings: bool,
    /// Pairs `(source block, destination block)`, e.g. `[(1, 0), (3, 1), (5, 2)]` to start a
    /// 3-block student from every second block of a 6-block teacher.
    pub layers: Vec<(usize, usize)>,
}

/// Copies selected variables from one encoder's `VarStore` into another's, by name.
///
/// `src_prefix` / `dst_prefix` are the encoders' paths in their stores with a trailing dot,
/// or `""` for the root (`"bert."` for a `BertForSequenceClassification` layout). Every
/// destination variable under a selected prefix must exist in the source with the same
/// shape; otherwise [`Error::InvalidArgument`] names the variable and both shapes. When the
/// destination's vocabulary or position table is smaller than the source's, pass
/// `embeddings = false` and copy the rows you keep yourself. Returns the number of tensors
/// copied. Runs without gradient tracking.
pub fn copy_encoder_weights(
    src: &nn::VarStore,
    src_prefix: &str,
    dst: &nn::VarStore,
    dst_prefix: &str,
    what: &LayerCopy,
) -> Result<usize> {
    let src_vars = src.variables();
    let dst_vars = dst.variables();
    let mut renames: Vec<(String, String)> = Vec::new();
    if what.embeddings {
        renames.push((
            format!("{src_prefix}embeddings."),
            format!("{dst_prefix}embeddings."),
        ));
    }
    for &(s, d) in &what.layers {
        renames.push((
            format!("{src_prefix}{}", layer_prefix(s)),
            format!("{dst_prefix}{}", layer_prefix(d)),
        ));
    }
    let mut copied = 0;
    for (src_head, dst_head) in &renames {
        let mut names: Vec<&String> = dst_vars
            .keys()
            .filter(|n| n.starts_with(dst_head))
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(Error::invalid_argument(
                "layers",
                format!("destination has no variables under {dst_head:?}"),
            ));
        }
        for name in names {
            let src_name = format!("{src_head}{}", &name[dst_head.len()..]);
            let source = src_vars.get(&src_name).ok_or_else(|| {
                Error::invalid_argument(
                    "layers",
                    format!("source has no variable {src_name:?} for destination {name:?}"),
                )
            })?;
            let mut target = dst_vars[name].shallow_clone();
            if source.size() != target.size() {
                return Err(Error::invalid_argument(
                    "layers",
                    format!(
                        "shape mismatch copying {src_name} {:?} into {name} {:?}",
                        source.size(),
                        target.size()
                    ),
                ));
            }
            let source = source.f_to_device(target.device())?;
            tch::no_grad(|| target.f_copy_(&source))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// A `BertForSequenceClassification` head: optional pooler `tanh(W_p h_cls + b_p)`, then a
/// linear classifier.
///
/// Variables: `pooler.dense.{weight [H,H], bias [H]}` under the encoder's path (when
/// `with_pooler`) and `classifier.{weight [C,H], bias [C]}` under the path given.
#[derive(Debug)]
pub struct ClassifierHead {
    pooler: Option<Dense>,
    classifier: Dense,
    num_labels: i64,
}

impl ClassifierHead {
    /// Creates the head's variables: the pooler under `encoder_path.pooler.dense` and the
    /// classifier under `head_path.classifier`.
    pub fn new(
        encoder_path: &nn::Path,
        head_path: &nn::Path,
        hidden_size: i64,
        num_labels: i64,
        with_pooler: bool,
    ) -> Result<Self> {
        if num_labels <= 0 {
            return Err(Error::invalid_argument(
                "num_labels",
                format!("must be greater than 0, got {num_labels}"),
            ));
        }
        let pooler = if with_pooler {
            Some(Dense::new(
                encoder_path.sub("pooler").sub("dense"),
                hidden_size,
                hidden_size,
            )?)
        } else {
            None
        };
        let classifier = Dense::new(head_path.sub("classifier"), hidden_size, num_labels)?;
        Ok(ClassifierHead {
            pooler,
            classifier,
            num_labels,
        })
    }

    /// Number of classes C.
    pub fn num_labels(&self) -> i64 {
        self.num_labels
    }

    /// Logits [B, C] f32 from the encoder's last hidden state [B, L, H] f32 (uses the first
    /// token). Dropout is not applied: the head serves frozen teachers.
    pub fn forward(&self, last_hidden: &Tensor) -> Result<Tensor> {
        let mut xs = cls_pool(last_hidden)?;
        if let Some(pooler) = &self.pooler {
            xs = pooler.forward(&xs)?.f_tanh()?;
        }
        self.classifier.forward(&xs)
    }
}
