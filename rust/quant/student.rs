//! The int8 inference form of a trained student (transformer or MLP).
//!
//! Every linear layer (attention projections, feed-forward, MLP layers, classifier) becomes a
//! [`QuantizedLinear`] (per-channel int8 weight, fbgemm dynamic int8 matmul); the word
//! embeddings optionally become a [`QuantizedEmbedding`]; LayerNorm parameters, position and
//! segment embeddings, biases and the MLP's standardisation stay `f32`. The forward pass is
//! the same computation as [`crate::models::bert::BertEncoder::forward_t`] in eval mode (no
//! dropout), written again here over int8 layers; query, key and value are fused into one
//! `[3H, H]` int8 layer, which per-channel quantization makes identical to three.
//!
//! Stored form ([`QuantizedStudent::to_tensors`], read back by
//! [`QuantizedStudent::from_tensors`]): a linear layer `X` is `X.weight` `[out, in]` `i8`,
//! `X.weight_scales` `[out]` `f32`, `X.weight_zero_points` `[out]` `i64` and `X.bias` `[out]`
//! `f32`; an int8 word table is `embeddings.word_embeddings.weight` `i8` plus
//! `embeddings.word_embeddings.weight_scales` `[rows]` `f32`. Every other tensor keeps its
//! name and `f32` value; `vocab_ids` `[rows]` `i64` holds the teacher id of each row. Inference only: nothing here is differentiable.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

use crate::distill::batch::Batch;
use crate::error::{Error, Result};
use crate::models::bert::mean_pool;
use crate::models::student::{MlpConfig, Student, StudentArchitecture};
use crate::models::transformer::{map_teacher_ids, vocab_map_from_ids, TransformerStudentConfig};
use crate::quant::{QuantizedEmbedding, QuantizedLinear};

const SCALES: &str = "_scales";
const ZERO_POINTS: &str = "_zero_points";

/// Named tensors, as read from or written to a bundle.
pub type Tensors = BTreeMap<String, Tensor>;

fn get<'a>(tensors: &'a Tensors, name: &str) -> Result<&'a Tensor> {
    tensors
        .get(name)
        .ok_or_else(|| Error::invalid_input("student weights", format!("missing tensor {name}")))
}

/// Reads linear layer `name`: int8 parts when `name.weight` is `i8`, else quantizes the
/// floating weight.
fn read_linear(tensors: &Tensors, name: &str) -> Result<QuantizedLinear> {
    let weight = get(tensors, &format!("{name}.weight"))?;
    let bias = tensors.get(&format!("{name}.bias"));
    if weight.kind() == Kind::Int8 {
        QuantizedLinear::from_int8_parts(
            weight,
            get(tensors, &format!("{name}.weight{SCALES}"))?,
            get(tensors, &format!("{name}.weight{ZERO_POINTS}"))?,
            bias,
        )
    } else {
        QuantizedLinear::from_linear(weight, bias)
    }
    .map_err(|e| match e {
        Error::InvalidInput { message, .. } => {
            Error::invalid_input("student weights", format!("layer {name}: {message}"))
        }
        other => other,
    })
}

/// Query, key and value of one layer fused into one `[3H, H]` int8 layer.
fn read_fused_qkv(tensors: &Tensors, prefix: &str) -> Result<QuantizedLinear> {
    let parts: Vec<_> = ["query", "key", "value"]
        .iter()
        .map(|n| read_linear(tensors, &format!("{prefix}attention.self.{n}"))?.int8_parts())
        .collect::<Result<_>>()?;
    let cat = |f: &dyn Fn(&crate::quant::Int8Parts) -> &Tensor| -> Result<Tensor> {
        let ts: Vec<&Tensor> = parts.iter().map(f).collect();
        Ok(Tensor::f_cat(&ts, 0)?)
    };
    let weight = cat(&|p| &p.weight)?;
    let scales = cat(&|p| &p.scales)?;
    let zero_points = cat(&|p| &p.zero_points)?;
    let biases: Option<Vec<&Tensor>> = parts.iter().map(|p| p.bias.as_ref()).collect();
    let bias = biases.map(|b| Tensor::f_cat(&b, 0)).transpose()?;
    QuantizedLinear::from_int8_parts(&weight, &scales, &zero_points, bias.as_ref())
}

fn write_linear(
    out: &mut Vec<(String, Tensor)>,
    name: &str,
    layer: &QuantizedLinear,
) -> Result<()> {
    let parts = layer.int8_parts()?;
    out.push((format!("{name}.weight"), parts.weight));
    out.push((format!("{name}.weight{SCALES}"), parts.scales));
    out.push((format!("{name}.weight{ZERO_POINTS}"), parts.zero_points));
    if let Some(b) = parts.bias {
        out.push((format!("{name}.bias"), b));
    }
    Ok(())
}

/// A copy of `t` that shares no storage with it.
fn deep_copy(t: &Tensor) -> Result<Tensor> {
    let mut out = t.f_empty_like()?;
    out.f_copy_(t)?;
    Ok(out)
}

fn float_copy(tensors: &Tensors, name: &str) -> Result<Tensor> {
    let t = get(tensors, name)?;
    if !t.is_floating_point() {
        return Err(Error::invalid_input(
            "student weights",
            format!("tensor {name} must be floating point, got {:?}", t.kind()),
        ));
    }
    deep_copy(&t.f_detach()?.f_to_kind(Kind::Float)?)
}

/// The word table, int8 or `f32`.
#[derive(Debug)]
enum WordTable {
    Float(Tensor),
    Int8(QuantizedEmbedding),
}

#[derive(Debug)]
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn read(tensors: &Tensors, name: &str, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: float_copy(tensors, &format!("{name}.weight"))?,
            bias: float_copy(tensors, &format!("{name}.bias"))?,
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

    fn write(&self, out: &mut Vec<(String, Tensor)>, name: &str) {
        out.push((format!("{name}.weight"), self.weight.shallow_clone()));
        out.push((format!("{name}.bias"), self.bias.shallow_clone()));
    }
}

#[derive(Debug)]
struct Layer {
    qkv: QuantizedLinear,
    attention_out: QuantizedLinear,
    attention_norm: Norm,
    intermediate: QuantizedLinear,
    output: QuantizedLinear,
    output_norm: Norm,
}

/// A transformer student with int8 linear layers (see the module documentation).
#[derive(Debug)]
pub struct QuantizedTransformer {
    config: TransformerStudentConfig,
    vocab_map: Tensor,
    vocab_ids: Vec<i64>,
    word: WordTable,
    position: Tensor,
    token_type: Option<Tensor>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    classifier: QuantizedLinear,
}

impl QuantizedTransformer {
    fn from_tensors(
        config: &TransformerStudentConfig,
        tensors: &Tensors,
        quantize_embeddings: bool,
    ) -> Result<Self> {
        let enc = &config.encoder;
        enc.validate()?;
        let eps = enc.layer_norm_eps;
        let word_name = "embeddings.word_embeddings.weight";
        let word_t = get(tensors, word_name)?;
        let word = if word_t.kind() == Kind::Int8 {
            WordTable::Int8(QuantizedEmbedding::from_int8_parts(
                word_t,
                get(tensors, &format!("{word_name}{SCALES}"))?,
            )?)
        } else if quantize_embeddings {
            WordTable::Int8(QuantizedEmbedding::from_weight(word_t)?)
        } else {
            WordTable::Float(float_copy(tensors, word_name)?)
        };
        let expect = |name: &str, t: &Tensor, shape: &[i64]| -> Result<()> {
            if t.size() != shape {
                return Err(Error::invalid_input(
                    "student weights",
                    format!("tensor {name} has shape {:?}, expected {shape:?}", t.size()),
                ));
            }
            Ok(())
        };
        expect(word_name, word_t, &[enc.vocab_size, enc.hidden_size])?;
        let position = float_copy(tensors, "embeddings.position_embeddings.weight")?;
        expect(
            "embeddings.position_embeddings.weight",
            &position,
            &[enc.max_position_embeddings, enc.hidden_size],
        )?;
        let token_type = if enc.type_vocab_size > 0 {
            Some(float_copy(tensors, "embeddings.token_type_embeddings.weight")?.f_get(0)?)
        } else {
            None
        };
        let vocab_ids = get(tensors, "vocab_ids")?;
        if vocab_ids.size() != [enc.vocab_size] || vocab_ids.kind() != Kind::Int64 {
            return Err(Error::invalid_input(
                "student weights",
                format!(
                    "tensor vocab_ids must be [{}] int64, got {:?} {:?}",
                    enc.vocab_size,
                    vocab_ids.kind(),
                    vocab_ids.size()
                ),
            ));
        }
        let vocab_ids = Vec::<i64>::try_from(vocab_ids)?;
        let vocab_map = vocab_map_from_ids(&vocab_ids, config.teacher_vocab_size, config.unk_id)?;
        let mut layers = Vec::with_capacity(enc.num_hidden_layers as usize);
        for i in 0..enc.num_hidden_layers {
            let p = format!("encoder.layer.{i}.");
            let layer = Layer {
                qkv: read_fused_qkv(tensors, &p)?,
                attention_out: read_linear(tensors, &format!("{p}attention.output.dense"))?,
                attention_norm: Norm::read(
                    tensors,
                    &format!("{p}attention.output.LayerNorm"),
                    eps,
                )?,
                intermediate: read_linear(tensors, &format!("{p}intermediate.dense"))?,
                output: read_linear(tensors, &format!("{p}output.dense"))?,
                output_norm: Norm::read(tensors, &format!("{p}output.LayerNorm"), eps)?,
            };
            let h = enc.hidden_size;
            let i_size = enc.intermediate_size;
            for (name, l, inp, out) in [
                ("attention.self", &layer.qkv, h, 3 * h),
                ("attention.output.dense", &layer.attention_out, h, h),
                ("intermediate.dense", &layer.intermediate, h, i_size),
                ("output.dense", &layer.output, i_size, h),
            ] {
                if l.in_features() != inp || l.out_features() != out {
                    return Err(Error::invalid_input(
                        "student weights",
                        format!(
                            "layer {p}{name} is {}->{}, the config says {inp}->{out}",
                            l.in_features(),
                            l.out_features()
                        ),
                    ));
                }
            }
            layers.push(layer);
        }
        let classifier = read_linear(tensors, "classifier")?;
        if classifier.in_features() != enc.hidden_size
            || classifier.out_features() != config.num_labels
        {
            return Err(Error::invalid_input(
                "student weights",
                format!(
                    "classifier is {}->{}, the config says {}->{}",
                    classifier.in_features(),
                    classifier.out_features(),
                    enc.hidden_size,
                    config.num_labels
                ),
            ));
        }
        Ok(QuantizedTransformer {
            config: config.clone(),
            vocab_map,
            vocab_ids,
            word,
            position,
            token_type,
            embedding_norm: Norm::read(tensors, "embeddings.LayerNorm", eps)?,
            layers,
            classifier,
        })
    }

    /// Logits `[b, C]` `f32` for teacher ids `[b, L]` `i64` and a mask `[b, L]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let enc = &self.config.encoder;
        let size = ids.size();
        if size.len() != 2 || mask.size() != size {
            return Err(Error::invalid_input(
                "ids",
                format!(
                    "expected ids and mask of one [batch, length] shape, got {size:?} and {:?}",
                    mask.size()
                ),
            ));
        }
        let (b, l) = (size[0], size[1]);
        if l > enc.max_position_embeddings {
            return Err(Error::invalid_input(
                "ids",
                format!(
                    "sequence length {l} exceeds max_position_embeddings {}",
                    enc.max_position_embeddings
                ),
            ));
        }
        let rows = map_teacher_ids(&self.vocab_map, ids)?;
        let mut xs = match &self.word {
            WordTable::Float(w) => Tensor::f_embedding(w, &rows, -1, false, false)?,
            WordTable::Int8(q) => q.forward(&rows)?,
        }
        .f_add(&self.position.f_narrow(0, 0, l)?)?;
        if let Some(tt) = &self.token_type {
            xs = xs.f_add(tt)?;
        }
        xs = self.embedding_norm.forward(&xs)?;
        let additive = mask
            .f_to_kind(Kind::Float)?
            .f_view([b, 1, 1, l])?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(f64::from(f32::MIN))?;
        let (heads, h) = (enc.num_attention_heads, enc.hidden_size);
        let dh = enc.head_dim();
        let scale = 1.0 / (dh as f64).sqrt();
        for layer in &self.layers {
            // [b, l, 3H] -> three [b, heads, l, dh]
            let qkv = layer
                .qkv
                .forward(&xs)?
                .f_view([b, l, 3, heads, dh])?
                .f_permute([2, 0, 3, 1, 4])?;
            let (q, k, v) = (qkv.f_get(0)?, qkv.f_get(1)?, qkv.f_get(2)?);
            let context = Tensor::f_scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&additive),
                0.0,
                false,
                scale,
                false,
            )?
            .f_transpose(1, 2)?
            .f_contiguous()?
            .f_view([b, l, h])?;
            let attended = layer
                .attention_norm
                .forward(&layer.attention_out.forward(&context)?.f_add(&xs)?)?;
            let inner = activation(&enc.hidden_act, &layer.intermediate.forward(&attended)?)?;
            xs = layer
                .output_norm
                .forward(&layer.output.forward(&inner)?.f_add(&attended)?)?;
        }
        self.classifier.forward(&mean_pool(&xs, mask)?)
    }

    fn to_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        out.push((
            "vocab_ids".to_string(),
            Tensor::f_from_slice(&self.vocab_ids)?,
        ));
        let word_name = "embeddings.word_embeddings.weight";
        match &self.word {
            WordTable::Float(w) => out.push((word_name.into(), w.shallow_clone())),
            WordTable::Int8(q) => {
                let (w, s) = q.int8_parts()?;
                out.push((word_name.into(), w));
                out.push((format!("{word_name}{SCALES}"), s));
            }
        }
        out.push((
            "embeddings.position_embeddings.weight".into(),
            self.position.shallow_clone(),
        ));
        if let Some(tt) = &self.token_type {
            // row 0 is the only one single-sentence input uses; the table keeps its shape
            let rows = self.config.encoder.type_vocab_size;
            let table = tt.f_unsqueeze(0)?.f_repeat([rows, 1])?;
            out.push(("embeddings.token_type_embeddings.weight".into(), table));
        }
        self.embedding_norm.write(&mut out, "embeddings.LayerNorm");
        let h = self.config.encoder.hidden_size;
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("encoder.layer.{i}.");
            let parts = layer.qkv.int8_parts()?;
            for (j, n) in ["query", "key", "value"].iter().enumerate() {
                let start = j as i64 * h;
                let name = format!("{p}attention.self.{n}");
                out.push((
                    format!("{name}.weight"),
                    parts.weight.f_narrow(0, start, h)?.f_contiguous()?,
                ));
                out.push((
                    format!("{name}.weight{SCALES}"),
                    parts.scales.f_narrow(0, start, h)?.f_contiguous()?,
                ));
                out.push((
                    format!("{name}.weight{ZERO_POINTS}"),
                    parts.zero_points.f_narrow(0, start, h)?.f_contiguous()?,
                ));
                if let Some(b) = &parts.bias {
                    out.push((
                        format!("{name}.bias"),
                        b.f_narrow(0, start, h)?.f_contiguous()?,
                    ));
                }
            }
            write_linear(
                &mut out,
                &format!("{p}attention.output.dense"),
                &layer.attention_out,
            )?;
            layer
                .attention_norm
                .write(&mut out, &format!("{p}attention.output.LayerNorm"));
            write_linear(
                &mut out,
                &format!("{p}intermediate.dense"),
                &layer.intermediate,
            )?;
            write_linear(&mut out, &format!("{p}output.dense"), &layer.output)?;
            layer
                .output_norm
                .write(&mut out, &format!("{p}output.LayerNorm"));
        }
        write_linear(&mut out, "classifier", &self.classifier)?;
        Ok(out)
    }
}

fn activation(name: &str, xs: &Tensor) -> Result<Tensor> {
    Ok(match name {
        "gelu" => xs.f_gelu("none")?,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => xs.f_gelu("tanh")?,
        "relu" => xs.f_relu()?,
        other => {
            return Err(Error::invalid_input(
                "student config",
                format!("unsupported activation {other:?}"),
            ))
        }
    })
}

/// An MLP student with int8 linear layers; the standardisation stays `f32`.
#[derive(Debug)]
pub struct QuantizedMlp {
    config: MlpConfig,
    mean: Tensor,
    std: Tensor,
    layers: Vec<QuantizedLinear>,
    classifier: QuantizedLinear,
}

impl QuantizedMlp {
    fn from_tensors(config: &MlpConfig, tensors: &Tensors) -> Result<Self> {
        let mean = float_copy(tensors, "norm.mean")?;
        let std = float_copy(tensors, "norm.std")?;
        if mean.size() != [config.input_dim] || std.size() != [config.input_dim] {
            return Err(Error::invalid_input(
                "student weights",
                format!(
                    "norm.mean and norm.std must be [{}], got {:?} and {:?}",
                    config.input_dim,
                    mean.size(),
                    std.size()
                ),
            ));
        }
        let mut layers = Vec::new();
        let mut width = config.input_dim;
        for (i, &h) in config.hidden_sizes.iter().enumerate() {
            let l = read_linear(tensors, &format!("layers.{i}"))?;
            if l.in_features() != width || l.out_features() != h {
                return Err(Error::invalid_input(
                    "student weights",
                    format!(
                        "layer layers.{i} is {}->{}, the config says {width}->{h}",
                        l.in_features(),
                        l.out_features()
                    ),
                ));
            }
            layers.push(l);
            width = h;
        }
        let classifier = read_linear(tensors, "classifier")?;
        if classifier.in_features() != width || classifier.out_features() != config.num_labels {
            return Err(Error::invalid_input(
                "student weights",
                format!(
                    "classifier is {}->{}, the config says {width}->{}",
                    classifier.in_features(),
                    classifier.out_features(),
                    config.num_labels
                ),
            ));
        }
        Ok(QuantizedMlp {
            config: config.clone(),
            mean,
            std,
            layers,
            classifier,
        })
    }

    /// Logits `[b, C]` `f32` for features `[b, F]`.
    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
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
        let mut x = features
            .f_to_kind(Kind::Float)?
            .f_sub(&self.mean)?
            .f_div(&self.std)?;
        for layer in &self.layers {
            x = layer.forward(&x)?.f_relu()?;
        }
        self.classifier.forward(&x)
    }

    fn to_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![
            ("norm.mean".to_string(), self.mean.shallow_clone()),
            ("norm.std".to_string(), self.std.shallow_clone()),
        ];
        for (i, l) in self.layers.iter().enumerate() {
            write_linear(&mut out, &format!("layers.{i}"), l)?;
        }
        write_linear(&mut out, "classifier", &self.classifier)?;
        Ok(out)
    }
}

/// The int8 inference form of a student of either kind.
#[derive(Debug)]
pub enum QuantizedStudent {
    /// Int8 transformer (boxed: it is much larger than the MLP).
    Transformer(Box<QuantizedTransformer>),
    /// Int8 MLP.
    Mlp(QuantizedMlp),
}

impl QuantizedStudent {
    /// Quantizes a trained student whose variables live in `vs`; `embeddings` also quantizes
    /// the word-embedding table (transformer only).
    pub fn quantize(student: &Student, vs: &tch::nn::VarStore, embeddings: bool) -> Result<Self> {
        let tensors = student.named_tensors(vs)?;
        Self::from_tensors(&student.architecture(), &tensors, embeddings)
    }

    /// Builds the int8 form from named tensors: int8 parts where they are stored as such
    /// (see the module documentation), floating weights quantized here. `embeddings` applies
    /// to a floating word table only; an int8 table stays int8.
    ///
    /// A missing or misshapen tensor is [`Error::InvalidInput`] naming it.
    pub fn from_tensors(
        architecture: &StudentArchitecture,
        tensors: &Tensors,
        embeddings: bool,
    ) -> Result<Self> {
        tch::no_grad(|| match architecture {
            StudentArchitecture::Transformer(c) => Ok(QuantizedStudent::Transformer(Box::new(
                QuantizedTransformer::from_tensors(c, tensors, embeddings)?,
            ))),
            StudentArchitecture::Mlp(c) => Ok(QuantizedStudent::Mlp(QuantizedMlp::from_tensors(
                c, tensors,
            )?)),
        })
    }

    /// The tensors to store, int8 where the model is int8 (see the module documentation).
    pub fn to_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        match self {
            QuantizedStudent::Transformer(t) => t.to_tensors(),
            QuantizedStudent::Mlp(m) => m.to_tensors(),
        }
    }

    /// Whether the word-embedding table is int8.
    pub fn quantized_embeddings(&self) -> bool {
        match self {
            QuantizedStudent::Transformer(t) => matches!(t.word, WordTable::Int8(_)),
            QuantizedStudent::Mlp(_) => false,
        }
    }

    /// Logits `[b, C]` `f32` for a batch (ids and mask for a transformer, features for an
    /// MLP). Runs without gradient tracking.
    pub fn forward(&self, batch: &Batch) -> Result<Tensor> {
        tch::no_grad(|| match self {
            QuantizedStudent::Transformer(t) => {
                let (ids, mask) = batch.ids.as_ref().zip(batch.mask.as_ref()).ok_or_else(|| {
                    Error::invalid_input("batch", "a transformer student needs token ids")
                })?;
                t.forward(ids, mask)
            }
            QuantizedStudent::Mlp(m) => {
                let features = batch.features.as_ref().ok_or_else(|| {
                    Error::invalid_input("batch", "an mlp student needs feature inputs")
                })?;
                m.forward(features)
            }
        })
    }
}
