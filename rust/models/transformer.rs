//! The transformer student: a small BERT-style encoder over a pruned vocabulary, mean pooling
//! and a linear classifier.
//!
//! Batches carry TEACHER vocabulary ids. The student keeps only the vocabulary rows it needs
//! (the ids seen in the training texts plus the special ids) and maps teacher ids to its own
//! rows with `vocab_map` (`[teacher_vocab]` `i64`); a teacher id it does not keep goes to the
//! student's `[UNK]` row. Variables live under the [`nn::Path`] the student is built on, with
//! Hugging Face names (`embeddings.word_embeddings.weight`, `encoder.layer.0....`) plus
//! `classifier.weight` `[C, H]` and `classifier.bias` `[C]`; `vocab_map` is not a variable
//! (it is saved beside them in a bundle).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::error::{Error, Result};
use crate::models::bert::{mean_pool, BertConfig, BertEncoder, EncoderOutput};
use crate::models::hf::HfModel;

/// Architecture of a transformer student, as stored in a bundle's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerStudentConfig {
    /// The encoder; its `vocab_size` is the student's (pruned) vocabulary size.
    pub encoder: BertConfig,
    /// Number of classes C.
    pub num_labels: i64,
    /// Size of the teacher vocabulary the inputs use (length of `vocab_map`).
    pub teacher_vocab_size: i64,
    /// Teacher id of `[UNK]`.
    pub unk_id: i64,
    /// Pooling before the classifier; always `mean` (over the attention mask).
    pub pooling: String,
    /// Whether the weights started from the teacher's (informational).
    pub init_from_teacher: bool,
}

/// What [`build_transformer_student`] needs besides the architecture.
#[derive(Debug, Clone)]
pub struct StudentInit<'a> {
    /// The teacher, for `init_from_teacher` (`None`: random initialisation).
    pub teacher: Option<&'a HfModel>,
    /// Teacher-vocabulary ids of the training rows (for pruning).
    pub train_ids: &'a [Vec<i64>],
    /// Number of ids in the teacher vocabulary.
    pub teacher_vocab_size: i64,
    /// Ids always kept: pad, unk, cls, sep, mask.
    pub special_ids: Vec<i64>,
    /// Teacher id of `[UNK]`; unkept ids map to its student row.
    pub unk_id: i64,
    /// Number of classes.
    pub num_labels: i64,
}

/// A transformer student: [`BertEncoder`] over pruned rows, mean pooling, linear classifier.
#[derive(Debug)]
pub struct TransformerStudent {
    config: TransformerStudentConfig,
    // boxed so that `Student`'s variants stay of similar size
    encoder: Box<BertEncoder>,
    vocab_map: Tensor,
    classifier_weight: Tensor,
    classifier_bias: Tensor,
    prefix: String,
}

/// The dotted prefix of `path` (`""` for the root, else `"a.b."`).
pub(crate) fn path_prefix(path: &nn::Path) -> String {
    let parts: Vec<&str> = path.components().collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}.", parts.join("."))
    }
}

/// The variable named `dotted` (`a.b.weight`) under `path`.
fn var_at(path: &nn::Path, dotted: &str) -> Result<Tensor> {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let name = parts.pop().unwrap_or_default();
    let mut p = path.clone();
    for part in parts {
        p = p.sub(part);
    }
    p.get(name)
        .ok_or_else(|| Error::Internal(format!("student variable {dotted} missing")))
}

impl TransformerStudent {
    /// Creates a randomly initialised student under `path` (BERT initialisation, seeded by the
    /// caller through `tch::manual_seed`) with the given `vocab_map` (`[teacher_vocab]` `i64`,
    /// values in `0..config.encoder.vocab_size`).
    ///
    /// This is what loading a bundle uses; [`build_transformer_student`] builds a new one.
    pub fn new(
        path: &nn::Path,
        config: &TransformerStudentConfig,
        vocab_map: &Tensor,
    ) -> Result<Self> {
        if config.num_labels <= 0 {
            return Err(Error::invalid_argument(
                "num_labels",
                format!("must be greater than 0, got {}", config.num_labels),
            ));
        }
        if vocab_map.size() != [config.teacher_vocab_size] || vocab_map.kind() != Kind::Int64 {
            return Err(Error::invalid_input(
                "vocab_map",
                format!(
                    "expected [{}] int64, got {:?} {:?}",
                    config.teacher_vocab_size,
                    vocab_map.kind(),
                    vocab_map.size()
                ),
            ));
        }
        if config.teacher_vocab_size > 0 {
            let lo = vocab_map.f_min()?.f_int64_value(&[])?;
            let hi = vocab_map.f_max()?.f_int64_value(&[])?;
            if lo < 0 || hi >= config.encoder.vocab_size {
                return Err(Error::invalid_input(
                    "vocab_map",
                    format!(
                        "student rows must be in 0..{}, got values from {lo} to {hi}",
                        config.encoder.vocab_size
                    ),
                ));
            }
        }
        let encoder = Box::new(BertEncoder::new(path, &config.encoder)?);
        let h = config.encoder.hidden_size;
        let c = path.sub("classifier");
        let classifier_weight = c.f_var(
            "weight",
            &[config.num_labels, h],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let classifier_bias = c.f_var("bias", &[config.num_labels], nn::Init::Const(0.0))?;
        Ok(TransformerStudent {
            config: config.clone(),
            encoder,
            vocab_map: vocab_map.f_to_device(path.device())?,
            classifier_weight,
            classifier_bias,
            prefix: path_prefix(path),
        })
    }

    /// Its architecture.
    pub fn config(&self) -> &TransformerStudentConfig {
        &self.config
    }

    /// The encoder.
    pub fn encoder(&self) -> &BertEncoder {
        &self.encoder
    }

    /// Teacher id to student row, `[teacher_vocab]` `i64`.
    pub fn vocab_map(&self) -> &Tensor {
        &self.vocab_map
    }

    /// Dotted prefix of the student's variables in their `VarStore` (`""` at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The teacher id of every student vocabulary row, in row order (`[UNK]`'s row gives
    /// `unk_id`). With [`vocab_map_from_ids`] this rebuilds `vocab_map`; bundles store it
    /// instead of the map because it is much shorter after pruning.
    pub fn vocab_ids(&self) -> Result<Vec<i64>> {
        let map = Vec::<i64>::try_from(&self.vocab_map)?;
        let unk_row = map.get(self.config.unk_id as usize).copied().unwrap_or(-1);
        let mut ids = vec![-1i64; self.config.encoder.vocab_size as usize];
        for (t, &row) in map.iter().enumerate() {
            let slot = &mut ids[row as usize];
            if row != unk_row || t as i64 == self.config.unk_id {
                *slot = t as i64;
            }
        }
        if let Some(row) = ids.iter().position(|&i| i < 0) {
            return Err(Error::Internal(format!(
                "student vocabulary row {row} has no teacher id"
            )));
        }
        Ok(ids)
    }

    /// Maps teacher ids `[b, L]` `i64` to student rows `[b, L]` `i64`.
    ///
    /// An id outside `0..teacher_vocab_size` is [`Error::InvalidInput`] naming it.
    pub fn map_ids(&self, ids: &Tensor) -> Result<Tensor> {
        map_teacher_ids(&self.vocab_map, ids)
    }

    /// Logits `[b, C]` `f32` and the encoder output for teacher ids `[b, L]` `i64` and a mask
    /// `[b, L]` (1 = token). `train` turns dropout on (also before the classifier).
    pub fn forward_t(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
        want_attentions: bool,
    ) -> Result<(Tensor, EncoderOutput)> {
        let rows = self.map_ids(ids)?;
        let out = self
            .encoder
            .forward_t(&rows, mask, train, want_attentions)?;
        let pooled = mean_pool(&out.last_hidden, mask)?
            .f_dropout(self.config.encoder.hidden_dropout_prob, train)?;
        let logits = pooled.f_linear(&self.classifier_weight, Some(&self.classifier_bias))?;
        Ok((logits, out))
    }
}

/// The `vocab_map` `[teacher_vocab_size]` `i64` of a student whose rows hold the teacher ids
/// `ids` (row order): `ids[r]` maps to `r`, every other id to the row of `unk_id`.
///
/// An id out of range, a repeated id or an `unk_id` not among `ids` is
/// [`Error::InvalidInput`] naming it.
pub fn vocab_map_from_ids(ids: &[i64], teacher_vocab_size: i64, unk_id: i64) -> Result<Tensor> {
    let unk_row = ids.iter().position(|&i| i == unk_id).ok_or_else(|| {
        Error::invalid_input(
            "vocab_ids",
            format!("unk id {unk_id} is not in the vocabulary"),
        )
    })?;
    let n = teacher_vocab_size.max(0) as usize;
    let mut map = vec![unk_row as i64; n];
    let mut seen = vec![false; n];
    for (row, &id) in ids.iter().enumerate() {
        if id < 0 || id as usize >= n || seen[id as usize] {
            return Err(Error::invalid_input(
                "vocab_ids",
                format!("row {row} has id {id}, out of 0..{n} or repeated"),
            ));
        }
        seen[id as usize] = true;
        map[id as usize] = row as i64;
    }
    Ok(Tensor::f_from_slice(&map)?)
}

/// Maps teacher ids (`i64`, any shape) through `vocab_map`; ids out of range are an error.
pub(crate) fn map_teacher_ids(vocab_map: &Tensor, ids: &Tensor) -> Result<Tensor> {
    if ids.kind() != Kind::Int64 {
        return Err(Error::invalid_input(
            "ids",
            format!("token ids must be int64, got {:?}", ids.kind()),
        ));
    }
    let n = vocab_map.size().first().copied().unwrap_or(0);
    if ids.numel() > 0 {
        let lo = ids.f_min()?.f_int64_value(&[])?;
        let hi = ids.f_max()?.f_int64_value(&[])?;
        if lo < 0 || hi >= n {
            let bad = if lo < 0 { lo } else { hi };
            return Err(Error::invalid_input(
                "ids",
                format!("token id {bad} is outside the teacher vocabulary 0..{n}"),
            ));
        }
    }
    // `take` gives the shape of `ids` without reading it here, so a trace stays shape-free
    Ok(vocab_map.f_take(ids)?)
}

/// The teacher ids a student keeps (sorted) and the map from teacher id to student row.
///
/// With `prune`, the kept ids are the special ids, `unk_id` and every id of `train_ids`;
/// otherwise every id. An id outside `0..teacher_vocab_size` is
/// [`Error::InvalidArgument`] naming it.
pub fn prune_vocabulary(
    train_ids: &[Vec<i64>],
    teacher_vocab_size: i64,
    special_ids: &[i64],
    unk_id: i64,
    prune: bool,
) -> Result<(Vec<i64>, Vec<i64>)> {
    if teacher_vocab_size <= 0 {
        return Err(Error::invalid_argument(
            "teacher_vocab_size",
            format!("must be greater than 0, got {teacher_vocab_size}"),
        ));
    }
    let check = |field: &str, id: i64| -> Result<()> {
        if (0..teacher_vocab_size).contains(&id) {
            Ok(())
        } else {
            Err(Error::invalid_argument(
                field,
                format!("id {id} is outside the teacher vocabulary 0..{teacher_vocab_size}"),
            ))
        }
    };
    check("unk_id", unk_id)?;
    for &id in special_ids {
        check("special_ids", id)?;
    }
    let kept: Vec<i64> = if prune {
        let mut set: BTreeSet<i64> = special_ids.iter().copied().collect();
        set.insert(unk_id);
        for (r, row) in train_ids.iter().enumerate() {
            for &id in row {
                check(&format!("train_ids[{r}]"), id)?;
                set.insert(id);
            }
        }
        set.into_iter().collect()
    } else {
        (0..teacher_vocab_size).collect()
    };
    let unk_row = kept.binary_search(&unk_id).unwrap_or(0) as i64;
    let mut map = vec![unk_row; teacher_vocab_size as usize];
    for (row, &id) in kept.iter().enumerate() {
        map[id as usize] = row as i64;
    }
    Ok((kept, map))
}

/// Builds a transformer student under `path` for the architecture `spec`.
///
/// Vocabulary: with `spec.prune_vocab`, only the ids in `init.train_ids` and
/// `init.special_ids` get rows (see [`prune_vocabulary`]). Initialisation: BERT's random one
/// (seeded by the caller's `tch::manual_seed`), then, with `spec.init_from_teacher` and a
/// teacher, [`init_from_teacher`]. Without a teacher the flag is ignored with a warning
/// (TorchScript teachers expose no named weights). The encoder takes the teacher's activation,
/// LayerNorm epsilon and segment-table size when there is a teacher, else `gelu`, 1e-12 and 2.
pub fn build_transformer_student(
    path: &nn::Path,
    spec: &crate::config::TransformerStudent,
    init: &StudentInit,
) -> Result<TransformerStudent> {
    spec.validate("student")?;
    if init.num_labels <= 0 {
        return Err(Error::invalid_argument(
            "num_labels",
            format!("must be greater than 0, got {}", init.num_labels),
        ));
    }
    let (kept, map) = prune_vocabulary(
        init.train_ids,
        init.teacher_vocab_size,
        &init.special_ids,
        init.unk_id,
        spec.prune_vocab,
    )?;
    let teacher_cfg = init.teacher.map(|t| &t.config);
    let encoder = BertConfig {
        vocab_size: kept.len() as i64,
        hidden_size: spec.hidden_size as i64,
        num_hidden_layers: spec.layers as i64,
        num_attention_heads: spec.heads as i64,
        intermediate_size: spec.intermediate_size as i64,
        max_position_embeddings: spec.max_positions as i64,
        type_vocab_size: teacher_cfg.map_or(2, |c| c.type_vocab_size),
        layer_norm_eps: teacher_cfg.map_or(1e-12, |c| c.layer_norm_eps),
        hidden_act: teacher_cfg.map_or("gelu".to_string(), |c| c.hidden_act.clone()),
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        pad_token_id: teacher_cfg.map_or(0, |c| c.pad_token_id),
        id2label: None,
        model_type: Some("bert".into()),
    };
    let from_teacher = spec.init_from_teacher && init.teacher.is_some();
    if spec.init_from_teacher && init.teacher.is_none() {
        log::warn!("student.init_from_teacher is set but the teacher has no named weights: random initialisation");
    }
    let config = TransformerStudentConfig {
        encoder,
        num_labels: init.num_labels,
        teacher_vocab_size: init.teacher_vocab_size,
        unk_id: init.unk_id,
        pooling: "mean".into(),
        init_from_teacher: from_teacher,
    };
    let vocab_map = Tensor::f_from_slice(&map)?;
    let student = TransformerStudent::new(path, &config, &vocab_map)?;
    if let (true, Some(teacher)) = (from_teacher, init.teacher) {
        init_from_teacher(&student, path, teacher, &kept)?;
    }
    log::info!(
        "transformer student: {} layers, hidden {}, {} of {} vocabulary rows kept{}",
        spec.layers,
        spec.hidden_size,
        kept.len(),
        init.teacher_vocab_size,
        if from_teacher {
            ", initialised from the teacher"
        } else {
            ""
        }
    );
    Ok(student)
}

/// The teacher layer student layer `j` of `s` starts from, for a teacher of `t` layers:
/// `(j + 1) * t / s - 1` (integer division, at least 0), which is `k - 1, 2k - 1, ...` with
/// `k = t / s` when `s` divides `t` (DistilBERT, Sanh et al. 2019, section 3, takes one layer
/// out of two this way).
pub fn teacher_layer_for(j: usize, s: usize, t: usize) -> usize {
    (((j + 1) * t) / s.max(1))
        .saturating_sub(1)
        .min(t.saturating_sub(1))
}

/// Starts `student` (built under `path`) from the teacher's weights; `kept` lists the teacher
/// ids of the student's vocabulary rows, in row order.
///
/// Same width (`H_s == H_t`): the word-embedding rows of the kept ids, the first
/// `max_positions` position rows (rows beyond the teacher's keep their random values), the
/// segment table and embedding LayerNorm, and for student layer `j` every tensor of teacher
/// layer [`teacher_layer_for`]`(j)` are copied exactly. When the feed-forward widths differ,
/// the first `I_s` units of the teacher's feed-forward are kept.
///
/// Different width (`H_s < H_t`), an approximation: let `P` `[H_t, H_s]` hold the top `H_s`
/// right singular vectors of the centred teacher word-embedding matrix (its principal
/// directions). Every hidden-space tensor is projected onto them: embeddings `E P`, a linear
/// map `W` `[out, in]` becomes `P_out^T W P_in` (with `P` only on the sides that are hidden
/// width), hidden-width biases `P^T b`, LayerNorm weights `(P∘P)^T γ` (a weighted mean of the
/// teacher's per-dimension scales) and biases `P^T β`. This keeps the part of the teacher's
/// computation that lives in the principal subspace; it is not equivalent to the teacher (the
/// nonlinearities, LayerNorm and attention heads do not commute with the projection), only a
/// better starting point than noise. A student wider than the teacher is
/// [`Error::InvalidArgument`]: set `init_from_teacher` to false for it.
pub fn init_from_teacher(
    student: &TransformerStudent,
    path: &nn::Path,
    teacher: &HfModel,
    kept: &[i64],
) -> Result<()> {
    let s_cfg = &student.config.encoder;
    let t_cfg = &teacher.config;
    let (hs, ht) = (s_cfg.hidden_size, t_cfg.hidden_size);
    if hs > ht {
        return Err(Error::invalid_argument(
            "student.hidden_size",
            format!(
                "{hs} is wider than the teacher's {ht}; initialising from the teacher needs a \
                 width at most the teacher's (set init_from_teacher to false)"
            ),
        ));
    }
    if kept.len() as i64 != s_cfg.vocab_size
        || t_cfg.vocab_size != student.config.teacher_vocab_size
    {
        return Err(Error::invalid_argument(
            "teacher_vocab_size",
            format!(
                "the teacher has {} vocabulary rows, the student was built for {}",
                t_cfg.vocab_size, student.config.teacher_vocab_size
            ),
        ));
    }
    let tvars = teacher.vs.variables();
    let tvar = |name: &str| -> Result<Tensor> {
        let full = format!("{}{name}", teacher.prefix);
        tvars
            .get(&full)
            .map(|t| t.shallow_clone())
            .ok_or_else(|| Error::invalid_input("teacher", format!("no variable {full}")))
    };
    tch::no_grad(|| -> Result<()> {
        let projection = if hs == ht {
            None
        } else {
            Some(principal_directions(
                &tvar("embeddings.word_embeddings.weight")?,
                hs,
            )?)
        };
        let proj = Projector {
            p: projection,
            hidden: ht,
        };
        let set = |name: &str, value: Tensor| -> Result<()> {
            let mut target = var_at(path, name)?;
            let value = fit_rows_cols(&value, &target.size())?;
            target.f_copy_(&value)?;
            Ok(())
        };

        // Embeddings: kept rows of the word table, leading rows of the position table.
        let kept_t = Tensor::f_from_slice(kept)?;
        let word = tvar("embeddings.word_embeddings.weight")?.f_index_select(0, &kept_t)?;
        set("embeddings.word_embeddings.weight", proj.right(&word)?)?;
        let positions = s_cfg
            .max_position_embeddings
            .min(t_cfg.max_position_embeddings);
        let pos = tvar("embeddings.position_embeddings.weight")?.f_narrow(0, 0, positions)?;
        let pos_target = var_at(path, "embeddings.position_embeddings.weight")?;
        pos_target
            .f_narrow(0, 0, positions)?
            .f_copy_(&proj.right(&pos)?)?;
        if s_cfg.type_vocab_size > 0 && t_cfg.type_vocab_size == s_cfg.type_vocab_size {
            let tt = tvar("embeddings.token_type_embeddings.weight")?;
            set("embeddings.token_type_embeddings.weight", proj.right(&tt)?)?;
        }
        set(
            "embeddings.LayerNorm.weight",
            proj.norm_weight(&tvar("embeddings.LayerNorm.weight")?)?,
        )?;
        set(
            "embeddings.LayerNorm.bias",
            proj.vector(&tvar("embeddings.LayerNorm.bias")?)?,
        )?;

        // Layers: every k-th teacher layer.
        let (s_layers, t_layers) = (
            s_cfg.num_hidden_layers as usize,
            t_cfg.num_hidden_layers as usize,
        );
        for j in 0..s_layers {
            let src = teacher_layer_for(j, s_layers, t_layers);
            let t = |n: &str| tvar(&format!("encoder.layer.{src}.{n}"));
            let d = |n: &str| format!("encoder.layer.{j}.{n}");
            for lin in [
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
            ] {
                let w = t(&format!("{lin}.weight"))?;
                set(&d(&format!("{lin}.weight")), proj.both(&w)?)?;
                let b = t(&format!("{lin}.bias"))?;
                set(&d(&format!("{lin}.bias")), proj.vector(&b)?)?;
            }
            // Feed-forward: hidden side projected, inner side cut to the student's width.
            let w = t("intermediate.dense.weight")?;
            set(&d("intermediate.dense.weight"), proj.right(&w)?)?;
            set(&d("intermediate.dense.bias"), t("intermediate.dense.bias")?)?;
            let w = t("output.dense.weight")?;
            set(&d("output.dense.weight"), proj.left(&w)?)?;
            set(
                &d("output.dense.bias"),
                proj.vector(&t("output.dense.bias")?)?,
            )?;
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                let g = t(&format!("{norm}.weight"))?;
                set(&d(&format!("{norm}.weight")), proj.norm_weight(&g)?)?;
                let b = t(&format!("{norm}.bias"))?;
                set(&d(&format!("{norm}.bias")), proj.vector(&b)?)?;
            }
        }
        Ok(())
    })
}

/// The top `k` principal directions of the rows of `table` `[V, H]`: `[H, k]` `f32`, columns
/// orthonormal (right singular vectors of the centred table, largest first).
pub fn principal_directions(table: &Tensor, k: i64) -> Result<Tensor> {
    let table = table.f_to_kind(Kind::Float)?;
    let mean = table.f_mean_dim(Some(&[0i64][..]), true, Kind::Float)?;
    let centred = table.f_sub(&mean)?;
    // torch.svd(centred, some=True): V [H, min(V, H)], singular values in decreasing order
    let (_, _, v) = centred.f_svd(true, true)?;
    let available = v.size()[1];
    if available < k {
        return Err(Error::invalid_argument(
            "student.hidden_size",
            format!("the teacher's embeddings span only {available} directions, {k} needed"),
        ));
    }
    Ok(v.f_narrow(1, 0, k)?.f_contiguous()?)
}

/// Applies the width projection `P` `[H_t, H_s]` (identity when `None`) to teacher tensors.
struct Projector {
    p: Option<Tensor>,
    hidden: i64,
}

impl Projector {
    /// `[*, H_t] -> [*, H_s]`: `x P`.
    fn right(&self, x: &Tensor) -> Result<Tensor> {
        match &self.p {
            Some(p) if x.size().last() == Some(&self.hidden) => Ok(x.f_matmul(p)?),
            _ => Ok(x.shallow_clone()),
        }
    }

    /// `[H_t, *] -> [H_s, *]`: `P^T x`.
    fn left(&self, x: &Tensor) -> Result<Tensor> {
        match &self.p {
            Some(p) if x.size().first() == Some(&self.hidden) => {
                Ok(p.f_transpose(0, 1)?.f_matmul(x)?)
            }
            _ => Ok(x.shallow_clone()),
        }
    }

    /// `[H_t, H_t] -> [H_s, H_s]`: `P^T W P`.
    fn both(&self, w: &Tensor) -> Result<Tensor> {
        self.right(&self.left(w)?)
    }

    /// `[H_t] -> [H_s]`: `P^T b`.
    fn vector(&self, b: &Tensor) -> Result<Tensor> {
        match &self.p {
            Some(p) => Ok(p.f_transpose(0, 1)?.f_mv(b)?),
            None => Ok(b.shallow_clone()),
        }
    }

    /// `[H_t] -> [H_s]`: `(P∘P)^T γ`.
    fn norm_weight(&self, g: &Tensor) -> Result<Tensor> {
        match &self.p {
            Some(p) => Ok(p.f_mul(p)?.f_transpose(0, 1)?.f_mv(g)?),
            None => Ok(g.shallow_clone()),
        }
    }
}

/// Cuts `value` to the leading part of `shape` (for a narrower feed-forward); any other
/// mismatch is an error naming both shapes.
fn fit_rows_cols(value: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let have = value.size();
    if have.len() != shape.len() || have.iter().zip(shape).any(|(h, s)| h < s) {
        return Err(Error::invalid_argument(
            "student",
            format!("cannot initialise a {shape:?} tensor from the teacher's {have:?}"),
        ));
    }
    let mut v = value.shallow_clone();
    for (dim, &len) in shape.iter().enumerate() {
        if have[dim] != len {
            v = v.f_narrow(dim as i64, 0, len)?;
        }
    }
    Ok(v.f_contiguous()?)
}
