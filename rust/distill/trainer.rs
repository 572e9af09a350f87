//! The training loop: hard-label warm-up, distillation, optional final hard-label stage.
//!
//! Stages, temperature, alpha and learning rate per step come from
//! [`crate::distill::schedule::Schedule`]; the loss from [`crate::distill::loss`]; the update
//! from [`AdamW`] after clipping gradients by global norm. After every epoch the student is
//! evaluated on the validation split; the best weights are kept and restored at the end, and
//! training stops after `early_stopping_patience` epochs without improvement.
//!
//! Reproducibility: before every step torch's generator is seeded with a value derived from
//! `(seed, step)` (dropout masks), and every epoch's data order is a shuffle seeded from
//! `(seed, epoch)`. With one intra-op thread, the same seed, data and settings give the same
//! student bit for bit, and a run resumed from a checkpoint takes exactly the same steps as an
//! uninterrupted one.
//!
//! Cancellation: the event callback is called after every step; when it returns `false` the
//! run ends with [`Error::Cancelled`] and the last checkpoint on disk stays as it was.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use tch::{nn, Kind, Tensor};

use crate::distill::batch::{Batch, Inputs};
use crate::distill::cache::TeacherOutputs;
use crate::distill::checkpoint::{self, CheckpointState};
use crate::distill::events::{Event, Stage};
use crate::distill::loss::{self, AttentionLossKind, HiddenAligner, HiddenLossKind, LayerMap};
use crate::distill::optim::AdamW;
use crate::distill::schedule::{self, Schedule, ScheduleConfig, StepPlan};
use crate::error::{Error, Result};
use crate::models::student::Student;

/// Whether the run distils from the teacher or trains on hard labels only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainMode {
    /// The staged distillation schedule.
    Distill,
    /// Hard labels only at every step (the baseline); events report stage `baseline`.
    HardOnly,
}

/// Hidden-state alignment settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignmentConfig {
    /// MSE or cosine.
    pub kind: HiddenLossKind,
    /// Weight of the alignment loss added to the distillation loss.
    pub weight: f64,
    /// Student-to-teacher hidden-state mapping.
    pub layer_map: LayerMap,
    /// Number of teacher transformer layers.
    pub teacher_layers: usize,
    /// Width of the teacher's hidden states.
    pub teacher_width: i64,
}

/// Attention-map alignment settings (MiniLM, Wang et al. 2020; TinyBERT, Jiao et al. 2020).
///
/// The student's attention probabilities of layer `i` are compared with the teacher's of the
/// layer the map gives it, by [`loss::attention_loss`] (which averages heads when the head
/// counts differ); pairs involving the embeddings (index 0) are skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionConfig {
    /// KL (MiniLM) or MSE (TinyBERT) between attention rows.
    pub kind: AttentionLossKind,
    /// Weight of the mean attention loss added to the distillation loss.
    pub weight: f64,
    /// Student-to-teacher layer mapping (hidden-state indices; layer `i` is index `i`).
    pub layer_map: LayerMap,
    /// Number of teacher transformer layers.
    pub teacher_layers: usize,
}

impl AttentionConfig {
    /// The `(student layer, teacher layer)` pairs compared, both 1-based, for a student of
    /// `student_layers` layers; an error naming `training.attention_alignment` when none is
    /// left once the embedding pairs are dropped.
    pub fn layer_pairs(&self, student_layers: usize) -> Result<Vec<(usize, usize)>> {
        let pairs: Vec<(usize, usize)> = self
            .layer_map
            .pairs(student_layers, self.teacher_layers)?
            .into_iter()
            .filter(|&(s, t)| s > 0 && t > 0)
            .collect();
        if pairs.is_empty() {
            return Err(Error::invalid_argument(
                "training.attention_alignment",
                "attention alignment needs at least one pair of transformer layers in the layer \
                 map (pairs with the embeddings, index 0, have no attention map)",
            ));
        }
        Ok(pairs)
    }
}

/// Settings of one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerConfig {
    /// Passes over the training split.
    pub epochs: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Share of steps for the learning-rate warm-up.
    pub lr_warmup_share: f64,
    /// Maximum global gradient norm (0 = no clipping).
    pub grad_clip: f64,
    /// Temperature at the first distillation step.
    pub temperature_start: f64,
    /// Temperature at the last distillation step.
    pub temperature_end: f64,
    /// Soft-loss weight.
    pub alpha: f64,
    /// Soft-loss weight at the last distillation step (`None`: constant).
    pub alpha_end: Option<f64>,
    /// Share of steps on hard labels before distilling.
    pub hard_warmup_share: f64,
    /// Share of steps on hard labels at the end.
    pub final_hard_share: f64,
    /// Hidden-state alignment, when on.
    pub alignment: Option<AlignmentConfig>,
    /// Attention-map alignment, when on (needs a transformer student and teacher outputs
    /// with attention maps, that is an online teacher).
    pub attention: Option<AttentionConfig>,
    /// Epochs without validation improvement before stopping (0 = never stop early).
    pub early_stopping_patience: usize,
    /// Seed of data order and dropout.
    pub seed: u64,
    /// Where checkpoints go (none when `None`).
    pub checkpoint_dir: Option<PathBuf>,
    /// Steps between extra checkpoints; 0 = only the one at the end of each epoch (with
    /// `checkpoint_dir`).
    pub checkpoint_every: usize,
    /// Continue from the latest checkpoint in `checkpoint_dir`.
    pub resume: bool,
    /// Distillation or hard labels only.
    pub mode: TrainMode,
}

impl Default for TrainerConfig {
    /// The request's defaults.
    fn default() -> Self {
        TrainerConfig {
            epochs: 10,
            batch_size: 32,
            learning_rate: 5e-4,
            weight_decay: 0.01,
            lr_warmup_share: 0.1,
            grad_clip: 1.0,
            temperature_start: 4.0,
            temperature_end: 1.0,
            alpha: 0.5,
            alpha_end: None,
            hard_warmup_share: 0.2,
            final_hard_share: 0.0,
            alignment: None,
            attention: None,
            early_stopping_patience: 3,
            seed: 42,
            checkpoint_dir: None,
            checkpoint_every: 0,
            resume: false,
            mode: TrainMode::Distill,
        }
    }
}

/// A split as the trainer sees it: inputs and labels (`-1` = unlabelled).
pub struct Split<'a> {
    /// The rows' inputs.
    pub inputs: &'a Inputs,
    /// One label per row.
    pub labels: &'a [i64],
}

/// Where soft targets come from.
pub enum Targets<'a> {
    /// No teacher (hard-label training only).
    None,
    /// Teacher outputs computed beforehand for every training row (with `logits`).
    Cached(&'a TeacherOutputs),
    /// A resident teacher run on each batch; returns outputs aligned with the batch rows.
    Online(&'a mut dyn FnMut(&Batch) -> Result<TeacherOutputs>),
}

/// The loss of one batch, split into its parts.
#[derive(Debug)]
pub struct BatchLoss {
    /// What is minimised, shape `[]`.
    pub total: Tensor,
    /// Soft-target loss value.
    pub soft: f64,
    /// Hard-label loss value.
    pub hard: f64,
    /// Hidden-alignment loss value.
    pub hidden: f64,
    /// Attention-alignment loss value (the unweighted mean over the mapped layers).
    pub attention: f64,
}

/// What a training run ends with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Optimizer steps done.
    pub steps: usize,
    /// Epochs run (fully or partly).
    pub epochs_run: usize,
    /// Best validation accuracy (the restored weights), if there is a validation split.
    pub best_val_accuracy: Option<f64>,
    /// Epoch (1-based) of the restored weights.
    pub best_epoch: usize,
    /// True when early stopping ended the run.
    pub stopped_early: bool,
    /// True when the run started from a checkpoint.
    pub resumed: bool,
}

/// The value torch is seeded with before step `step` of a run seeded with `seed`.
pub fn step_seed(seed: u64, step: usize) -> i64 {
    (splitmix64(seed ^ splitmix64(step as u64 ^ 0x5354_4550)) >> 1) as i64
}

/// The shuffled row order of epoch `epoch` (0-based) for `n` rows.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(epoch as u64 ^ 0x4550_4f43)));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

fn splitmix64(x: u64) -> u64 {
    // SplitMix64 finaliser (Steele, Lea and Flood, "Fast Splittable Pseudorandom Number
    // Generators", OOPSLA 2014).
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The loss of `batch` for the step `plan`, given the teacher outputs of the batch's rows.
///
/// Hard-only plans (`alpha == 0` or a warm-up/final stage) use [`loss::hard_loss`] alone;
/// distillation plans use [`loss::distillation_loss`] plus, when `aligner` is given, the
/// weighted mean of [`loss::hidden_loss`] over the mapped layers (teacher hidden states are
/// zero-padded to the cache length and cut to the batch length here), plus, when `attention`
/// is given, `attention.weight` times the mean of [`loss::attention_loss`] over the mapped
/// layer pairs ([`AttentionConfig::layer_pairs`]), masked by the batch's padding mask. The
/// teacher's attention maps come from [`TeacherOutputs::attentions`] at the batch's length.
pub fn batch_loss(
    student: &Student,
    batch: &Batch,
    teacher: Option<&TeacherOutputs>,
    plan: &StepPlan,
    aligner: Option<(&HiddenAligner, &AlignmentConfig)>,
    attention: Option<&AttentionConfig>,
    train: bool,
) -> Result<BatchLoss> {
    let hard_only = plan.stage.hard_only() || plan.alpha == 0.0 || teacher.is_none();
    let attention = attention.filter(|_| !hard_only);
    let out = student.forward_t(batch, train, attention.is_some())?;
    if hard_only {
        let hard = loss::hard_loss(&out.logits, &batch.labels)?;
        let value = hard.f_double_value(&[])?;
        return Ok(BatchLoss {
            total: hard,
            soft: 0.0,
            hard: value,
            hidden: 0.0,
            attention: 0.0,
        });
    }
    let teacher = teacher.ok_or_else(|| Error::Internal("teacher outputs missing".into()))?;
    let t_logits = teacher.logits.as_ref().ok_or_else(|| {
        Error::invalid_argument(
            "teacher",
            "the teacher gives no class logits to distil from",
        )
    })?;
    let parts = loss::distillation_loss(
        &out.logits,
        t_logits,
        &batch.labels,
        None,
        plan.temperature,
        plan.alpha,
    )?;
    let mut total = parts.total;
    let mut hidden_value = 0.0;
    if let Some((aligner, cfg)) = aligner {
        let mask = batch.mask.as_ref();
        let len = out.hidden_states.first().map(|h| h.size()[1]).unwrap_or(0);
        let mut losses = Vec::new();
        for &(s, t) in aligner.pairs() {
            let sh = out
                .hidden_states
                .get(s)
                .ok_or_else(|| Error::Internal(format!("student hidden state {s} missing")))?;
            let th = teacher.hidden.get(&t).ok_or_else(|| {
                Error::Internal(format!("teacher hidden state {t} missing from the cache"))
            })?;
            let th = th.f_narrow(1, 0, len)?;
            losses.push(loss::hidden_loss(
                sh,
                &th,
                aligner.projection(),
                mask,
                cfg.kind,
            )?);
        }
        if !losses.is_empty() {
            let mean = Tensor::f_stack(&losses, 0)?.f_mean(Kind::Float)?;
            hidden_value = mean.f_double_value(&[])?;
            total = total.f_add(&mean.f_mul_scalar(cfg.weight)?)?;
        }
    }
    let mut attention_value = 0.0;
    if let Some(cfg) = attention {
        let mut losses = Vec::new();
        for (s, t) in cfg.layer_pairs(student.num_layers())? {
            let sa = out.attentions.get(s - 1).ok_or_else(|| {
                Error::invalid_argument(
                    "training.attention_alignment",
                    format!(
                        "the student gives no attention map for layer {s}; only transformer \
                         students have attention maps"
                    ),
                )
            })?;
            let ta = teacher.attentions.get(&t).ok_or_else(|| {
                Error::Internal(format!(
                    "teacher attention map of layer {t} missing; attention alignment needs the \
                     teacher run online on every batch"
                ))
            })?;
            losses.push(loss::attention_loss(sa, ta, batch.mask.as_ref(), cfg.kind)?);
        }
        let mean = Tensor::f_stack(&losses, 0)?.f_mean(Kind::Float)?;
        attention_value = mean.f_double_value(&[])?;
        total = total.f_add(&mean.f_mul_scalar(cfg.weight)?)?;
    }
    Ok(BatchLoss {
        total,
        soft: parts.soft.f_double_value(&[])?,
        hard: parts.hard.f_double_value(&[])?,
        hidden: hidden_value,
        attention: attention_value,
    })
}

/// Logits `[n, C]` `f32` of the student for every row of `inputs`, in order (eval mode).
pub fn predict_logits(student: &Student, inputs: &Inputs, batch_size: usize) -> Result<Tensor> {
    let labels = vec![-1i64; inputs.len()];
    let mut parts = Vec::new();
    tch::no_grad(|| -> Result<()> {
        for rows in inputs.ordered_batches(batch_size) {
            let batch = inputs.batch(&rows, &labels)?;
            parts.push(student.forward_t(&batch, false, false)?.logits);
        }
        Ok(())
    })?;
    if parts.is_empty() {
        return Err(Error::invalid_input("predict", "no rows"));
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Accuracy of arg-max predictions against labels, over labelled rows (`None` if none).
pub fn accuracy(logits: &Tensor, labels: &[i64]) -> Result<Option<f64>> {
    let pred: Vec<i64> = Vec::<i64>::try_from(logits.f_argmax(-1, false)?)?;
    let mut n = 0usize;
    let mut ok = 0usize;
    for (p, l) in pred.iter().zip(labels) {
        if *l >= 0 {
            n += 1;
            if p == l {
                ok += 1;
            }
        }
    }
    Ok((n > 0).then(|| ok as f64 / n as f64))
}

fn named_copies(vars: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
    vars.iter()
        .map(|(k, t)| (k.clone(), t.detach().copy()))
        .collect()
}

fn sorted_vars(vs: &nn::VarStore, prefix: &str) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (format!("{prefix}{k}"), t))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn assign(vars: &[(String, Tensor)], values: &BTreeMap<String, Tensor>) -> Result<()> {
    tch::no_grad(|| -> Result<()> {
        for (name, var) in vars {
            let value = values.get(name).ok_or_else(|| {
                Error::invalid_input("checkpoint", format!("tensor {name} missing"))
            })?;
            if value.size() != var.size() {
                return Err(Error::invalid_input(
                    "checkpoint",
                    format!(
                        "tensor {name} has shape {:?}, expected {:?}",
                        value.size(),
                        var.size()
                    ),
                ));
            }
            let mut var = var.shallow_clone();
            var.f_copy_(value)?;
        }
        Ok(())
    })
}

/// Trains `student` (whose variables live in `student_vs`) on `train`, validating on `val`.
///
/// `targets` supplies the teacher's outputs for distillation steps. Alignment (when
/// configured) creates a projection in a private `VarStore` trained alongside the student and
/// dropped at the end. Attention alignment (`config.attention`) needs a transformer student and
/// [`Targets::Online`] whose outputs carry the mapped layers' attention maps; anything else is
/// refused with [`Error::InvalidArgument`] naming `training.attention_alignment`. Emits one [`Event`] per step and one per epoch (with the validation
/// accuracy) through `on_event`; `false` from it cancels the run.
pub fn train(
    student: &Student,
    student_vs: &nn::VarStore,
    config: &TrainerConfig,
    train: Split<'_>,
    val: Option<Split<'_>>,
    mut targets: Targets<'_>,
    on_event: &mut dyn FnMut(&Event) -> bool,
) -> Result<TrainSummary> {
    let n = train.inputs.len();
    if n == 0 {
        return Err(Error::invalid_input("train", "the training split is empty"));
    }
    if train.labels.len() != n {
        return Err(Error::Internal(format!(
            "{} labels for {n} training rows",
            train.labels.len()
        )));
    }
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(Error::invalid_argument(
            "training.epochs",
            format!(
                "epochs and batch_size must be at least 1, got {} and {}",
                config.epochs, config.batch_size
            ),
        ));
    }
    let distilling = config.mode == TrainMode::Distill;
    if distilling && matches!(targets, Targets::None) {
        return Err(Error::Internal("distillation needs teacher outputs".into()));
    }
    let attention = config.attention.as_ref().filter(|_| distilling);
    if let Some(a) = attention {
        if !matches!(student, Student::Transformer(_)) {
            return Err(Error::invalid_argument(
                "training.attention_alignment",
                "attention-map alignment needs a transformer student; an mlp student has no \
                 attention maps; set it to false",
            ));
        }
        if matches!(targets, Targets::Cached(_)) {
            return Err(Error::invalid_argument(
                "training.attention_alignment",
                "attention-map alignment needs the teacher run online on every batch (attention \
                 maps are never cached)",
            ));
        }
        a.layer_pairs(student.num_layers())?;
    }
    let steps_per_epoch = n.div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let schedule = Schedule::new(ScheduleConfig {
        total_steps,
        learning_rate: config.learning_rate,
        lr_warmup_share: config.lr_warmup_share,
        temperature_start: config.temperature_start,
        temperature_end: config.temperature_end,
        alpha: config.alpha,
        alpha_end: config.alpha_end,
        hard_warmup_share: config.hard_warmup_share,
        final_hard_share: config.final_hard_share,
    })?;

    // Alignment projection, in its own store so that the student's variables stay clean.
    let aux_vs = nn::VarStore::new(tch::Device::Cpu);
    let aligner = match (&config.alignment, distilling) {
        (Some(a), true) => {
            tch::manual_seed(step_seed(config.seed, usize::MAX));
            Some(HiddenAligner::new(
                &(aux_vs.root() / "align"),
                student.hidden_width(),
                a.teacher_width,
                student.num_layers(),
                a.teacher_layers,
                &a.layer_map,
                a.kind,
            )?)
        }
        _ => None,
    };
    let student_vars = sorted_vars(student_vs, "");
    let aux_vars = sorted_vars(&aux_vs, "aux.");
    let all_vars: Vec<(String, Tensor)> = student_vars
        .iter()
        .chain(aux_vars.iter())
        .map(|(k, t)| (k.clone(), t.shallow_clone()))
        .collect();
    let mut opt = AdamW::new(
        all_vars
            .iter()
            .filter(|(_, t)| t.requires_grad())
            .map(|(k, t)| (k.clone(), t.shallow_clone(), t.dim() >= 2))
            .collect(),
        config.weight_decay,
    );

    let fingerprint = run_fingerprint(config, n, train.labels, &all_vars);
    let mut state = CheckpointState {
        version: 1,
        fingerprint: fingerprint.clone(),
        step: 0,
        epoch: 0,
        cursor: 0,
        optimizer_step: 0,
        best_val_accuracy: None,
        best_epoch: 0,
        bad_epochs: 0,
        stopped: false,
        rng: "torch seeded with splitmix64(seed, step) before each step; epoch order from \
              ChaCha8(splitmix64(seed, epoch))"
            .into(),
    };
    let mut best: Option<Vec<(String, Tensor)>> = None;
    let mut resumed = false;
    if config.resume {
        let dir = config.checkpoint_dir.as_ref().ok_or_else(|| {
            Error::invalid_argument("training.resume", "resume needs training.checkpoint_dir")
        })?;
        if let Some(ck) = checkpoint::load_latest(dir)? {
            if ck.state.fingerprint != fingerprint {
                return Err(Error::invalid_argument(
                    "training.resume",
                    format!(
                        "checkpoint {} belongs to a different run (other settings, data or model)",
                        ck.path.display()
                    ),
                ));
            }
            assign(&all_vars, &ck.model)?;
            opt.load_state(&ck.optimizer, ck.state.optimizer_step)?;
            best = ck.best.map(|b| b.into_iter().collect());
            state = ck.state;
            resumed = true;
            log::info!(
                "resuming training from {} (step {})",
                ck.path.display(),
                state.step
            );
        } else {
            log::warn!(
                "resume asked, but {} holds no checkpoint of this run; starting from the \
                 beginning",
                dir.display()
            );
        }
    }

    let save_checkpoint = |state: &CheckpointState,
                           opt: &AdamW,
                           best: &Option<Vec<(String, Tensor)>>|
     -> Result<()> {
        if let Some(dir) = &config.checkpoint_dir {
            let (opt_state, opt_step) = opt.state();
            let mut s = state.clone();
            s.optimizer_step = opt_step;
            checkpoint::save(dir, &s, &all_vars, &opt_state, best.as_deref())?;
        }
        Ok(())
    };

    while state.epoch < config.epochs && !state.stopped {
        let order = epoch_order(config.seed, state.epoch, n);
        let batches: Vec<Vec<usize>> = order
            .chunks(config.batch_size)
            .map(|c| c.to_vec())
            .collect();
        while state.cursor < batches.len() {
            let started = Instant::now();
            let rows = &batches[state.cursor];
            let mut plan = schedule.at(state.step);
            if !distilling {
                plan.alpha = 0.0;
            }
            tch::manual_seed(step_seed(config.seed, state.step));
            let batch = train.inputs.batch(rows, train.labels)?;
            let needs_teacher = distilling && !plan.stage.hard_only() && plan.alpha > 0.0;
            let teacher_out = if needs_teacher {
                match &mut targets {
                    Targets::Cached(t) => Some(t.select(&batch.rows)?),
                    Targets::Online(f) => Some(tch::no_grad(|| f(&batch))?),
                    Targets::None => None,
                }
            } else {
                None
            };
            let align = aligner.as_ref().zip(config.alignment.as_ref());
            let losses = batch_loss(
                student,
                &batch,
                teacher_out.as_ref(),
                &plan,
                align,
                attention,
                true,
            )?;
            opt.zero_grad();
            losses.total.f_backward()?;
            opt.clip_grad_norm(config.grad_clip)?;
            opt.step(plan.lr)?;
            state.step += 1;
            state.cursor += 1;

            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let mut event = Event::stage(if distilling {
                event_stage(plan.stage)
            } else {
                Stage::Baseline
            });
            event.epoch = state.epoch + 1;
            event.step = state.step;
            event.total_steps = total_steps;
            event.loss = losses.total.f_double_value(&[])?;
            event.soft_loss = losses.soft;
            event.hard_loss = losses.hard;
            event.hidden_loss = losses.hidden;
            event.attention_loss = losses.attention;
            // Hard-label steps use no temperature; report 0 rather than the schedule's value.
            event.temperature = if needs_teacher { plan.temperature } else { 0.0 };
            event.alpha = plan.alpha;
            event.lr = plan.lr;
            event.examples_per_sec = rows.len() as f64 / secs;
            if config.checkpoint_every > 0 && state.step % config.checkpoint_every == 0 {
                save_checkpoint(&state, &opt, &best)?;
            }
            if !on_event(&event) {
                log::info!("training cancelled by the listener at step {}", state.step);
                return Err(Error::Cancelled);
            }
        }

        // End of epoch: validate, keep the best weights, maybe stop.
        state.epoch += 1;
        state.cursor = 0;
        // The epoch's summary carries the stage of its last step, so stages never go back.
        let mut event = Event::stage(if distilling {
            event_stage(schedule.at(state.step.saturating_sub(1)).stage)
        } else {
            Stage::Baseline
        });
        event.epoch = state.epoch;
        event.step = state.step;
        event.total_steps = total_steps;
        if let Some(val) = &val {
            if !val.inputs.is_empty() {
                let logits = predict_logits(student, val.inputs, config.batch_size.max(32))?;
                if let Some(acc) = accuracy(&logits, val.labels)? {
                    event.val_accuracy = Some(acc);
                    if !matches!(state.best_val_accuracy, Some(b) if acc <= b) {
                        state.best_val_accuracy = Some(acc);
                        state.best_epoch = state.epoch;
                        state.bad_epochs = 0;
                        best = Some(named_copies(&student_vars));
                    } else {
                        // Epochs spent in the hard-label warm-up do not use up the patience:
                        // distillation has not started yet.
                        let in_warmup = distilling
                            && schedule.at(state.step.saturating_sub(1)).stage
                                == schedule::Stage::Warmup;
                        if !in_warmup {
                            state.bad_epochs += 1;
                        }
                        if config.early_stopping_patience > 0
                            && state.bad_epochs >= config.early_stopping_patience
                        {
                            state.stopped = true;
                        }
                    }
                }
            }
        }
        event.message = Some(format!(
            "epoch {} done{}",
            state.epoch,
            if state.stopped {
                ", early stopping"
            } else {
                ""
            }
        ));
        // Every epoch ends with a checkpoint (besides those every `checkpoint_every` steps).
        save_checkpoint(&state, &opt, &best)?;
        if !on_event(&event) {
            return Err(Error::Cancelled);
        }
    }

    if let Some(best) = &best {
        let values: BTreeMap<String, Tensor> = best
            .iter()
            .map(|(k, t)| (k.clone(), t.shallow_clone()))
            .collect();
        assign(&student_vars, &values)?;
    }
    Ok(TrainSummary {
        steps: state.step,
        epochs_run: state.epoch,
        best_val_accuracy: state.best_val_accuracy,
        best_epoch: state.best_epoch,
        stopped_early: state.stopped,
        resumed,
    })
}

/// The event stage of a schedule stage.
fn event_stage(stage: schedule::Stage) -> Stage {
    match stage {
        schedule::Stage::Warmup => Stage::Warmup,
        schedule::Stage::Distill => Stage::Distill,
        schedule::Stage::Final => Stage::Final,
    }
}

fn run_fingerprint(
    config: &TrainerConfig,
    n: usize,
    labels: &[i64],
    vars: &[(String, Tensor)],
) -> String {
    let mut h = Sha256::new();
    let mut c = config.clone();
    c.resume = false;
    c.checkpoint_every = 0;
    c.checkpoint_dir = None;
    h.update(format!("{c:?}|{n}").as_bytes());
    for l in labels {
        h.update(l.to_le_bytes());
    }
    for (k, t) in vars {
        h.update(format!("{k}{:?};", t.size()).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
