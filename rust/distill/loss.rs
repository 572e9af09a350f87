//! Distillation losses: soft targets, hard labels, hidden-state and attention alignment.
//!
//! Every function takes floating-point tensors (`f32` or `f64`, all inputs of one call on one
//! device) and returns a scalar tensor (shape `[]`) of the student's dtype that stays in the
//! autograd graph of the student tensors. Teacher tensors are detached: no gradient ever flows
//! into the teacher. Inputs are checked (ranks, shapes, label range, temperature) and a bad one
//! gives [`Error::InvalidArgument`] rather than a libtorch panic.
//!
//! Averages over tokens use a mask (`[B, L]`, any dtype, non-zero = real token). When a mask
//! selects nothing, the loss is 0 (the divisor is clamped to 1), never NaN.

use tch::{nn, Kind, Tensor};

use crate::error::{Error, Result};

/// Floor for probabilities before taking their logarithm in the attention KL.
///
/// Attention probabilities of padded keys are exactly 0; `ln(max(p, 1e-12))` keeps the KL
/// finite there, and the teacher factor `p_t = 0` makes those terms vanish.
pub const ATTENTION_LOG_FLOOR: f64 = 1e-12;

/// The `eps` of the cosine similarity in the hidden-state loss (PyTorch's default).
pub const COSINE_EPS: f64 = 1e-8;

/// The parts of the combined distillation loss of one batch.
#[derive(Debug)]
pub struct LossParts {
    /// `alpha * soft + (1 - alpha) * hard`, shape `[]`; call `backward` on this one.
    pub total: Tensor,
    /// The soft-target loss (see [`soft_loss`]), shape `[]`.
    pub soft: Tensor,
    /// The hard-label loss (see [`hard_loss`]), shape `[]`; 0 when no row is labelled.
    pub hard: Tensor,
}

/// How student and teacher hidden states are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenLossKind {
    /// Mean squared error over the hidden features of each token (TinyBERT, Jiao et al. 2020,
    /// eq. 8).
    Mse,
    /// `1 - cos(projected student, teacher)` per token.
    Cosine,
}

impl HiddenLossKind {
    /// Parses the request's `"mse"` / `"cosine"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "mse" => Ok(HiddenLossKind::Mse),
            "cosine" => Ok(HiddenLossKind::Cosine),
            other => Err(Error::invalid_argument(
                "training.hidden_alignment.loss",
                format!("unknown hidden loss {other:?}, expected \"mse\" or \"cosine\""),
            )),
        }
    }
}

/// How student and teacher attention probabilities are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionLossKind {
    /// `KL(teacher row || student row)` over the keys of each query row (MiniLM, Wang et al.
    /// 2020, eq. 3).
    Kl,
    /// Mean squared error over valid (query, key) entries (TinyBERT, Jiao et al. 2020, eq. 7,
    /// applied to probabilities).
    Mse,
}

/// Which student hidden state is aligned with which teacher hidden state.
///
/// Indices follow the Hugging Face `output_hidden_states` convention: index 0 is the embedding
/// output and index `i` (1-based) is the output of transformer layer `i`, so a model with `M`
/// layers has `M + 1` hidden states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerMap {
    /// TinyBERT's uniform rule (Jiao et al. 2020, section 3.1, `n = g(m)`): embeddings to
    /// embeddings (`0 -> 0`) and student layer `i` to teacher layer `floor(i * N / M)` for
    /// `i = 1..=M`, so the last student layer always meets the last teacher layer.
    Uniform,
    /// Explicit `(student index, teacher index)` pairs in the convention above.
    Explicit(Vec<(usize, usize)>),
}

impl LayerMap {
    /// Resolves the map into `(student, teacher)` hidden-state index pairs.
    ///
    /// `student_layers` (`M`) and `teacher_layers` (`N`) count transformer layers (not hidden
    /// states). Explicit pairs are checked against `0..=M` and `0..=N`.
    pub fn pairs(
        &self,
        student_layers: usize,
        teacher_layers: usize,
    ) -> Result<Vec<(usize, usize)>> {
        if student_layers == 0 || teacher_layers == 0 {
            return Err(Error::invalid_argument(
                "training.hidden_alignment.layer_map",
                format!(
                    "layer mapping needs at least one layer on each side, got student \
                     {student_layers} and teacher {teacher_layers}"
                ),
            ));
        }
        match self {
            LayerMap::Uniform => Ok(uniform_layer_map(student_layers, teacher_layers)),
            LayerMap::Explicit(pairs) => {
                if pairs.is_empty() {
                    return Err(Error::invalid_argument(
                        "training.hidden_alignment.layer_map",
                        "explicit layer map is empty",
                    ));
                }
                for &(s, t) in pairs {
                    if s > student_layers || t > teacher_layers {
                        return Err(Error::invalid_argument(
                            "training.hidden_alignment.layer_map",
                            format!(
                                "pair ({s}, {t}) out of range: student hidden states are \
                                 0..={student_layers}, teacher hidden states 0..={teacher_layers}"
                            ),
                        ));
                    }
                }
                Ok(pairs.clone())
            }
        }
    }
}

/// TinyBERT's uniform layer mapping: `[(0, 0), (i, floor(i * N / M)) for i in 1..=M]`.
///
/// `student_layers` is `M` and `teacher_layers` is `N` (transformer layers). For `M = 4`,
/// `N = 6` this gives `(0,0) (1,1) (2,3) (3,4) (4,6)`.
pub fn uniform_layer_map(student_layers: usize, teacher_layers: usize) -> Vec<(usize, usize)> {
    let mut pairs = vec![(0, 0)];
    if student_layers == 0 {
        return pairs;
    }
    pairs.extend((1..=student_layers).map(|i| (i, i * teacher_layers / student_layers)));
    pairs
}

/// Soft-target loss of Hinton et al. 2015 ("Distilling the Knowledge in a Neural Network",
/// section 2): `T² · KL(softmax(t/T) ‖ softmax(s/T))`.
///
/// Shapes: `student_logits` and `teacher_logits` are `[B, C]` (sequence classification) or
/// `[B, L, C]` (token level), same shape, `f32`/`f64`. `mask` is optional: `[B]` for 2-D
/// logits or `[B, L]` for 3-D ones. Returns a scalar of the student's dtype.
///
/// Per row (or token) `KL = Σ_c p_t,c (log p_t,c − log p_s,c)` with both log-probabilities from
/// `log_softmax` (stable for extreme logits and large or small `T`). The KL is summed over
/// classes and averaged over rows, which for 2-D logits equals PyTorch's
/// `F.kl_div(F.log_softmax(s/T,-1), F.log_softmax(t/T,-1), reduction='batchmean',
/// log_target=True)`; for 3-D logits it is averaged over valid tokens (all `B·L` without a
/// mask), unlike `batchmean`, which would divide by `B` only. The `T²` factor keeps gradient
/// magnitudes comparable across temperatures (Hinton et al. 2015).
pub fn soft_loss(
    student_logits: &Tensor,
    teacher_logits: &Tensor,
    temperature: f64,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    check_temperature(temperature)?;
    check_float("soft loss", "student logits", student_logits)?;
    check_float("soft loss", "teacher logits", teacher_logits)?;
    let shape = student_logits.size();
    if shape.len() != 2 && shape.len() != 3 {
        return Err(shape_error(
            "soft loss",
            "student logits",
            "[B, C] or [B, L, C]",
            &shape,
        ));
    }
    if teacher_logits.size() != shape {
        return Err(shape_error(
            "soft loss",
            "teacher logits",
            &format!("{shape:?} like the student logits"),
            &teacher_logits.size(),
        ));
    }

    let kind = student_logits.kind();
    let log_p_s = student_logits
        .f_div_scalar(temperature)?
        .f_log_softmax(-1, kind)?;
    let log_p_t = teacher_logits
        .f_detach()?
        .f_div_scalar(temperature)?
        .f_log_softmax(-1, kind)?;
    let per_row = log_p_t
        .f_exp()?
        .f_mul(&log_p_t.f_sub(&log_p_s)?)?
        .f_sum_dim_intlist(-1, false, kind)?;
    let mean = masked_mean("soft loss", &per_row, mask)?;
    Ok(mean.f_mul_scalar(temperature * temperature)?)
}

/// Cross-entropy on hard labels, averaged over labelled rows only.
///
/// Shapes: `student_logits` `[B, C]` with `labels` `[B]`, or `[B, L, C]` with `labels`
/// `[B, L]`; labels are integers in `0..C`, or `-1` for an unlabelled row (or a padded token).
/// Returns a scalar of the logits' dtype: `-(1/n) Σ log softmax(s)[label]` over the `n`
/// labelled rows, which equals `F.cross_entropy(s, labels, ignore_index=-1)`; when `n = 0` it
/// is 0 (PyTorch would give NaN) and still part of the graph.
pub fn hard_loss(student_logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    check_float("hard loss", "student logits", student_logits)?;
    let shape = student_logits.size();
    if shape.len() != 2 && shape.len() != 3 {
        return Err(shape_error(
            "hard loss",
            "student logits",
            "[B, C] or [B, L, C]",
            &shape,
        ));
    }
    let label_shape = labels.size();
    if label_shape.as_slice() != &shape[..shape.len() - 1] {
        return Err(shape_error(
            "hard loss",
            "labels",
            &format!("{:?}", &shape[..shape.len() - 1]),
            &label_shape,
        ));
    }
    if labels.is_floating_point() {
        return Err(Error::invalid_argument(
            "labels",
            format!("hard loss needs integer labels, got {:?}", labels.kind()),
        ));
    }
    let classes = shape[shape.len() - 1];
    let labels = labels.f_to_kind(Kind::Int64)?;
    if labels.numel() > 0 {
        let min = labels.f_min()?.f_int64_value(&[])?;
        let max = labels.f_max()?.f_int64_value(&[])?;
        if min < -1 || max >= classes {
            let bad = if min < -1 { min } else { max };
            return Err(Error::invalid_argument(
                "labels",
                format!("label {bad} out of range: expected -1 (unlabelled) or 0..{classes}"),
            ));
        }
    }

    let kind = student_logits.kind();
    let labelled = labels.f_ne(-1)?;
    let log_p = student_logits.f_log_softmax(-1, kind)?;
    let picked = log_p
        .f_gather(-1, &labels.f_clamp_min(0)?.f_unsqueeze(-1)?, false)?
        .f_squeeze_dim(-1)?;
    let weights = labelled.f_to_kind(kind)?;
    let count = weights.f_sum(kind)?.f_clamp_min(1.0)?;
    Ok(picked
        .f_mul(&weights)?
        .f_sum(kind)?
        .f_neg()?
        .f_div(&count)?)
}

/// The combined loss `alpha · soft + (1 − alpha) · hard` (Hinton et al. 2015, section 2).
///
/// `soft` is [`soft_loss`] over every row, labelled or not; `hard` is [`hard_loss`], averaged
/// over the labelled rows only (label `-1` marks an unlabelled row), and 0 when the batch has
/// no labelled row. An unlabelled row therefore contributes through the soft term only, with
/// the same weight as a labelled one. Shapes as in [`soft_loss`]; `labels` `[B]` or `[B, L]`;
/// `mask` applies to the soft term (the hard term is masked by `-1` labels). `alpha` must lie
/// in `[0, 1]`.
pub fn distillation_loss(
    student_logits: &Tensor,
    teacher_logits: &Tensor,
    labels: &Tensor,
    mask: Option<&Tensor>,
    temperature: f64,
    alpha: f64,
) -> Result<LossParts> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::invalid_argument(
            "training.alpha",
            format!("alpha must lie in [0, 1], got {alpha}"),
        ));
    }
    let soft = soft_loss(student_logits, teacher_logits, temperature, mask)?;
    let hard = hard_loss(student_logits, labels)?;
    let total = soft
        .f_mul_scalar(alpha)?
        .f_add(&hard.f_mul_scalar(1.0 - alpha)?)?;
    Ok(LossParts { total, soft, hard })
}

/// Alignment loss between one student and one teacher hidden state.
///
/// Shapes: `student_hidden` `[B, L, Hs]`, `teacher_hidden` `[B, L, Ht]`, `mask` `[B, L]`
/// (optional). When `Hs != Ht` a `projection` (`Hs -> Ht`, weight `[Ht, Hs]`) is required; it
/// is applied to the student as `h W^T + b` (TinyBERT's `H^S W_h`, Jiao et al. 2020, eq. 8).
/// Per token the loss is the mean over `Ht` of the squared difference ([`HiddenLossKind::Mse`])
/// or `1 − cos` with `eps = 1e-8` ([`HiddenLossKind::Cosine`]); tokens are averaged over the
/// valid ones. Returns a scalar of the student's dtype.
pub fn hidden_loss(
    student_hidden: &Tensor,
    teacher_hidden: &Tensor,
    projection: Option<&nn::Linear>,
    mask: Option<&Tensor>,
    kind: HiddenLossKind,
) -> Result<Tensor> {
    check_float("hidden loss", "student hidden states", student_hidden)?;
    check_float("hidden loss", "teacher hidden states", teacher_hidden)?;
    let s_shape = student_hidden.size();
    let t_shape = teacher_hidden.size();
    if s_shape.len() != 3 {
        return Err(shape_error(
            "hidden loss",
            "student hidden states",
            "[B, L, Hs]",
            &s_shape,
        ));
    }
    if t_shape.len() != 3 || t_shape[..2] != s_shape[..2] {
        return Err(shape_error(
            "hidden loss",
            "teacher hidden states",
            &format!("[{}, {}, Ht]", s_shape[0], s_shape[1]),
            &t_shape,
        ));
    }
    let projected = match projection {
        Some(linear) => {
            let w_shape = linear.ws.size();
            if w_shape != [t_shape[2], s_shape[2]] {
                return Err(shape_error(
                    "hidden loss",
                    "projection weight",
                    &format!("[{}, {}]", t_shape[2], s_shape[2]),
                    &w_shape,
                ));
            }
            student_hidden.f_linear(&linear.ws, linear.bs.as_ref())?
        }
        None if s_shape[2] != t_shape[2] => {
            return Err(Error::invalid_argument(
                "hidden_alignment",
                format!(
                    "student width {} differs from teacher width {} and no projection was given",
                    s_shape[2], t_shape[2]
                ),
            ))
        }
        None => student_hidden.shallow_clone(),
    };

    let dtype = student_hidden.kind();
    let teacher = teacher_hidden.f_detach()?.f_to_kind(dtype)?;
    let per_token = match kind {
        HiddenLossKind::Mse => projected
            .f_sub(&teacher)?
            .f_square()?
            .f_mean_dim(-1, false, dtype)?,
        HiddenLossKind::Cosine => {
            Tensor::f_cosine_similarity(&projected, &teacher, -1, COSINE_EPS)?.f_rsub_scalar(1.0)?
        }
    };
    masked_mean("hidden loss", &per_token, mask)
}

/// Alignment loss between one student and one teacher attention map.
///
/// Shapes: `student_probs` `[B, Hs, L, L]` and `teacher_probs` `[B, Ht, L, L]`, attention
/// probabilities (rows sum to 1 over keys); `mask` `[B, L]` (optional). When the head counts
/// differ both maps are first averaged over heads. With a mask, a (query, key) entry counts
/// only if both tokens are real. [`AttentionLossKind::Kl`]: per query row
/// `Σ_k m_k p_t (ln max(p_t, ε) − ln max(p_s, ε))` with `ε = 1e-12`, averaged over heads and
/// valid query rows. [`AttentionLossKind::Mse`]: `Σ m_q m_k (p_s − p_t)²` over heads, queries
/// and keys, divided by `heads · Σ m_q m_k`. Returns a scalar of the student's dtype.
pub fn attention_loss(
    student_probs: &Tensor,
    teacher_probs: &Tensor,
    mask: Option<&Tensor>,
    kind: AttentionLossKind,
) -> Result<Tensor> {
    check_float("attention loss", "student attention", student_probs)?;
    check_float("attention loss", "teacher attention", teacher_probs)?;
    let s_shape = student_probs.size();
    let t_shape = teacher_probs.size();
    if s_shape.len() != 4 || s_shape[2] != s_shape[3] {
        return Err(shape_error(
            "attention loss",
            "student attention",
            "[B, H, L, L]",
            &s_shape,
        ));
    }
    if t_shape.len() != 4 || t_shape[0] != s_shape[0] || t_shape[2..] != s_shape[2..] {
        return Err(shape_error(
            "attention loss",
            "teacher attention",
            &format!("[{}, H, {}, {}]", s_shape[0], s_shape[2], s_shape[3]),
            &t_shape,
        ));
    }
    let (batch, length) = (s_shape[0], s_shape[2]);
    let dtype = student_probs.kind();
    let mut student = student_probs.shallow_clone();
    let mut teacher = teacher_probs.f_detach()?.f_to_kind(dtype)?;
    if s_shape[1] != t_shape[1] {
        student = student.f_mean_dim(1, true, dtype)?;
        teacher = teacher.f_mean_dim(1, true, dtype)?;
    }
    let heads = student.size()[1];

    let token_mask = match mask {
        Some(m) => {
            if m.size() != [batch, length] {
                return Err(shape_error(
                    "attention loss",
                    "mask",
                    &format!("[{batch}, {length}]"),
                    &m.size(),
                ));
            }
            m.f_ne(0)?.f_to_kind(dtype)?
        }
        None => Tensor::f_ones([batch, length], (dtype, student.device()))?,
    };
    let query_mask = token_mask.f_view([batch, 1, length, 1])?;
    let key_mask = token_mask.f_view([batch, 1, 1, length])?;

    match kind {
        AttentionLossKind::Kl => {
            let log_t = teacher.f_clamp_min(ATTENTION_LOG_FLOOR)?.f_log()?;
            let log_s = student.f_clamp_min(ATTENTION_LOG_FLOOR)?.f_log()?;
            let rows = teacher
                .f_mul(&log_t.f_sub(&log_s)?)?
                .f_mul(&key_mask)?
                .f_sum_dim_intlist(-1, true, dtype)?;
            let total = rows.f_mul(&query_mask)?.f_sum(dtype)?;
            let count = token_mask
                .f_sum(dtype)?
                .f_mul_scalar(heads)?
                .f_clamp_min(1.0)?;
            Ok(total.f_div(&count)?)
        }
        AttentionLossKind::Mse => {
            let pair_mask = query_mask.f_mul(&key_mask)?;
            let total = student
                .f_sub(&teacher)?
                .f_square()?
                .f_mul(&pair_mask)?
                .f_sum(dtype)?;
            let count = pair_mask
                .f_sum(dtype)?
                .f_mul_scalar(heads)?
                .f_clamp_min(1.0)?;
            Ok(total.f_div(&count)?)
        }
    }
}

/// Hidden-state (and attention) alignment over a layer mapping, with its learned projection.
///
/// Holds the resolved [`LayerMap`] and, only when the student and teacher widths differ, one
/// `nn::Linear` projection `Hs -> Ht` shared by all mapped layers (as in TinyBERT's single
/// `W_h`). The projection's variables live under the `nn::Path` given to [`Self::new`], so the
/// trainer's optimizer updates them; they are a training aid and not part of the student.
#[derive(Debug)]
pub struct HiddenAligner {
    pairs: Vec<(usize, usize)>,
    projection: Option<nn::Linear>,
    kind: HiddenLossKind,
}

impl HiddenAligner {
    /// Builds the aligner: resolves `map` for `student_layers` and `teacher_layers`
    /// transformer layers and, when `student_width != teacher_width`, creates the projection
    /// `path / "projection"` (weight `[teacher_width, student_width]`, bias `[teacher_width]`,
    /// PyTorch's default `nn.Linear` initialisation) in the path's dtype and device.
    pub fn new(
        path: &nn::Path,
        student_width: i64,
        teacher_width: i64,
        student_layers: usize,
        teacher_layers: usize,
        map: &LayerMap,
        kind: HiddenLossKind,
    ) -> Result<Self> {
        if student_width <= 0 || teacher_width <= 0 {
            return Err(Error::invalid_argument(
                "hidden_alignment",
                format!(
                    "hidden widths must be positive, got student {student_width} and teacher \
                     {teacher_width}"
                ),
            ));
        }
        let pairs = map.pairs(student_layers, teacher_layers)?;
        let projection = (student_width != teacher_width).then(|| {
            nn::linear(
                path / "projection",
                student_width,
                teacher_width,
                Default::default(),
            )
        });
        Ok(HiddenAligner {
            pairs,
            projection,
            kind,
        })
    }

    /// The `(student, teacher)` hidden-state index pairs in use.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// The projection `Hs -> Ht`, present only when the widths differ.
    pub fn projection(&self) -> Option<&nn::Linear> {
        self.projection.as_ref()
    }

    /// Mutable access to the projection (for example to load given weights).
    pub fn projection_mut(&mut self) -> Option<&mut nn::Linear> {
        self.projection.as_mut()
    }

    /// Mean of [`hidden_loss`] over the mapped pairs.
    ///
    /// `student_hidden` holds the `M + 1` student hidden states (`[B, L, Hs]` each, index 0 the
    /// embedding output), `teacher_hidden` the `N + 1` teacher ones (`[B, L, Ht]`); `mask` is
    /// `[B, L]`. Averaging over pairs keeps the loss scale independent of the depth.
    pub fn hidden_loss(
        &self,
        student_hidden: &[Tensor],
        teacher_hidden: &[Tensor],
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let mut losses = Vec::with_capacity(self.pairs.len());
        for &(s, t) in &self.pairs {
            let (student, teacher) =
                pick_pair("hidden states", student_hidden, teacher_hidden, s, t)?;
            losses.push(hidden_loss(
                student,
                teacher,
                self.projection(),
                mask,
                self.kind,
            )?);
        }
        mean_of(&losses)
    }

    /// Mean of [`attention_loss`] over the mapped pairs that involve transformer layers.
    ///
    /// `student_attention` holds the `M` per-layer student attention maps (`[B, Hs, L, L]`,
    /// index 0 is layer 1), `teacher_attention` the `N` teacher ones; a pair `(i, j)` of the
    /// map with `i, j >= 1` compares `student_attention[i - 1]` with
    /// `teacher_attention[j - 1]`; pairs involving embeddings are skipped.
    pub fn attention_loss(
        &self,
        student_attention: &[Tensor],
        teacher_attention: &[Tensor],
        mask: Option<&Tensor>,
        kind: AttentionLossKind,
    ) -> Result<Tensor> {
        let mut losses = Vec::with_capacity(self.pairs.len());
        for &(s, t) in self.pairs.iter().filter(|(s, t)| *s > 0 && *t > 0) {
            let (student, teacher) = pick_pair(
                "attention maps",
                student_attention,
                teacher_attention,
                s - 1,
                t - 1,
            )?;
            losses.push(attention_loss(student, teacher, mask, kind)?);
        }
        if losses.is_empty() {
            return Err(Error::invalid_argument(
                "training.hidden_alignment.layer_map",
                "attention alignment needs at least one pair of transformer layers",
            ));
        }
        mean_of(&losses)
    }
}

fn pick_pair<'a>(
    what: &str,
    student: &'a [Tensor],
    teacher: &'a [Tensor],
    s: usize,
    t: usize,
) -> Result<(&'a Tensor, &'a Tensor)> {
    match (student.get(s), teacher.get(t)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Error::invalid_argument(
            "hidden_alignment",
            format!(
                "layer pair ({s}, {t}) needs student {what} index {s} and teacher index {t}, but \
                 got {} student and {} teacher {what}",
                student.len(),
                teacher.len()
            ),
        )),
    }
}

fn mean_of(losses: &[Tensor]) -> Result<Tensor> {
    let stacked = Tensor::f_stack(losses, 0)?;
    Ok(stacked.f_mean(stacked.kind())?)
}

/// Mean of `values` over the entries where `mask` is non-zero (all entries without a mask).
fn masked_mean(op: &str, values: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let kind = values.kind();
    match mask {
        // sum / count like PyTorch's `batchmean`, and 0 (not NaN) for an empty batch
        None => Ok(values
            .f_sum(kind)?
            .f_div_scalar(values.numel().max(1) as f64)?),
        Some(m) => {
            if m.size() != values.size() {
                return Err(shape_error(
                    op,
                    "mask",
                    &format!("{:?}", values.size()),
                    &m.size(),
                ));
            }
            let weights = m.f_ne(0)?.f_to_kind(kind)?;
            let count = weights.f_sum(kind)?.f_clamp_min(1.0)?;
            Ok(values.f_mul(&weights)?.f_sum(kind)?.f_div(&count)?)
        }
    }
}

fn check_temperature(temperature: f64) -> Result<()> {
    if temperature.is_finite() && temperature > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "temperature",
            format!("temperature must be a positive finite number, got {temperature}"),
        ))
    }
}

fn check_float(op: &str, name: &str, tensor: &Tensor) -> Result<()> {
    if tensor.is_floating_point() {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            name,
            format!("{op} needs floating-point {name}, got {:?}", tensor.kind()),
        ))
    }
}

fn shape_error(op: &str, name: &str, expected: &str, got: &[i64]) -> Error {
    Error::invalid_argument(
        name,
        format!("{op}: {name} must be {expected}, got shape {got:?}"),
    )
}
