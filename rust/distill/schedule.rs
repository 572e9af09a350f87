//! The training schedule: stages, temperature, alpha and learning rate per optimizer step.
//!
//! Steps are counted from 0 to `total_steps - 1`. With `W = round(total · hard_warmup_share)`
//! and `F = round(total · final_hard_share)`, the distillation stage has `D = total − W − F`
//! steps:
//!
//! | steps | stage | loss | temperature | alpha |
//! |---|---|---|---|---|
//! | `0 .. W` | [`Stage::Warmup`] | hard labels only | `temperature_start` | 0 |
//! | `W .. W+D` | [`Stage::Distill`] | `alpha·soft + (1−alpha)·hard` | linear | linear or constant |
//! | `W+D .. total` | [`Stage::Final`] | hard labels only | `temperature_end` | 0 |
//!
//! In the distillation stage, progress is `p = (step − W) / (D − 1)` (`p = 0` when `D = 1`), so
//! the first distillation step uses the start values and the last one the end values:
//! `T = T_start + (T_end − T_start)·p`, and `alpha = alpha + (alpha_end − alpha)·p` when
//! `alpha_end` is given (constant `alpha` otherwise). A warm-up on hard labels before
//! distilling follows the staged training of Jiao et al. 2020 (TinyBERT) in spirit; annealing
//! the temperature towards 1 ends on the plain softmax.
//!
//! Learning rate (independent of the stages), with `Wlr = round(total · lr_warmup_share)`:
//! `lr = base · (step + 1) / Wlr` for `step < Wlr` (linear warm-up reaching `base` at step
//! `Wlr − 1`), then `lr = base · (total − step) / (total − Wlr)` (linear decay, `base` at step
//! `Wlr`, reaching 0 at step `total`); this is the schedule of Devlin et al. 2019 (BERT,
//! appendix A.2) for AdamW (Loshchilov and Hutter 2019). Steps at or beyond `total` get the
//! plan of the last step with `lr = 0`.

use tch::nn::{self, OptimizerConfig};

use crate::error::{Error, Result};

/// The schedule's settings, as found in the request's `training` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// Number of optimizer steps of the whole run (epochs × batches per epoch), at least 1.
    pub total_steps: usize,
    /// Peak learning rate, positive.
    pub learning_rate: f64,
    /// Share of steps for the linear learning-rate warm-up, in `[0, 1]`.
    pub lr_warmup_share: f64,
    /// Temperature at the first distillation step, positive.
    pub temperature_start: f64,
    /// Temperature at the last distillation step, positive.
    pub temperature_end: f64,
    /// Soft-loss weight at the first distillation step, in `[0, 1]`.
    pub alpha: f64,
    /// Soft-loss weight at the last distillation step, in `[0, 1]`; `None` keeps `alpha`.
    pub alpha_end: Option<f64>,
    /// Share of steps trained on hard labels only at the start, in `[0, 1]`.
    pub hard_warmup_share: f64,
    /// Share of steps trained on hard labels only at the end, in `[0, 1]`.
    pub final_hard_share: f64,
}

impl Default for ScheduleConfig {
    /// The request defaults: lr 5e-4, 10 % lr warm-up, T 4 → 1, alpha 0.5, 20 % hard warm-up.
    fn default() -> Self {
        ScheduleConfig {
            total_steps: 1,
            learning_rate: 5e-4,
            lr_warmup_share: 0.1,
            temperature_start: 4.0,
            temperature_end: 1.0,
            alpha: 0.5,
            alpha_end: None,
            hard_warmup_share: 0.2,
            final_hard_share: 0.0,
        }
    }
}

/// The stage a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Hard labels only, before distillation.
    Warmup,
    /// Soft targets mixed with hard labels.
    Distill,
    /// Hard labels only, after distillation.
    Final,
}

impl Stage {
    /// The stage name used in event JSON: `"warmup"`, `"distill"` or `"final"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Warmup => "warmup",
            Stage::Distill => "distill",
            Stage::Final => "final",
        }
    }

    /// True when the step trains on hard labels only (the teacher is not needed).
    pub fn hard_only(self) -> bool {
        self != Stage::Distill
    }
}

/// What one optimizer step should do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepPlan {
    /// The stage of the step.
    pub stage: Stage,
    /// Softmax temperature for the soft loss.
    pub temperature: f64,
    /// Weight of the soft loss (`0` in hard-only stages).
    pub alpha: f64,
    /// Learning rate to set on the optimizer before the step.
    pub lr: f64,
}

/// A validated schedule; [`Schedule::at`] is a pure function of the step.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    config: ScheduleConfig,
    warmup_steps: usize,
    distill_steps: usize,
    lr_warmup_steps: usize,
}

impl Schedule {
    /// Validates `config` and computes the stage boundaries (see the module documentation).
    pub fn new(config: ScheduleConfig) -> Result<Self> {
        if config.total_steps == 0 {
            return Err(Error::invalid_argument(
                "total_steps",
                "schedule needs at least 1 step, got 0",
            ));
        }
        positive("training.learning_rate", config.learning_rate)?;
        positive("training.temperature_start", config.temperature_start)?;
        positive("training.temperature_end", config.temperature_end)?;
        unit("training.lr_warmup_share", config.lr_warmup_share)?;
        unit("training.alpha", config.alpha)?;
        if let Some(alpha_end) = config.alpha_end {
            unit("training.alpha_end", alpha_end)?;
        }
        unit("training.hard_warmup_share", config.hard_warmup_share)?;
        unit("training.final_hard_share", config.final_hard_share)?;
        if config.hard_warmup_share + config.final_hard_share > 1.0 {
            return Err(Error::invalid_argument(
                "training.final_hard_share",
                format!(
                    "hard_warmup_share {} plus final_hard_share {} exceeds 1",
                    config.hard_warmup_share, config.final_hard_share
                ),
            ));
        }

        let total = config.total_steps;
        let warmup_steps = share_of(total, config.hard_warmup_share);
        let final_steps = share_of(total, config.final_hard_share).min(total - warmup_steps);
        let distill_steps = total - warmup_steps - final_steps;
        let lr_warmup_steps = share_of(total, config.lr_warmup_share);
        Ok(Schedule {
            config,
            warmup_steps,
            distill_steps,
            lr_warmup_steps,
        })
    }

    /// The settings this schedule was built from.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// Total number of steps.
    pub fn total_steps(&self) -> usize {
        self.config.total_steps
    }

    /// Number of hard-label warm-up steps (`W`).
    pub fn warmup_steps(&self) -> usize {
        self.warmup_steps
    }

    /// Number of distillation steps (`D`).
    pub fn distill_steps(&self) -> usize {
        self.distill_steps
    }

    /// Number of final hard-label steps (`F`).
    pub fn final_steps(&self) -> usize {
        self.config.total_steps - self.warmup_steps - self.distill_steps
    }

    /// Number of learning-rate warm-up steps (`Wlr`).
    pub fn lr_warmup_steps(&self) -> usize {
        self.lr_warmup_steps
    }

    /// The plan for `step` (0-based); see the module documentation for the rules.
    pub fn at(&self, step: usize) -> StepPlan {
        let c = &self.config;
        let total = c.total_steps;
        let clamped = step.min(total - 1);
        let distill_start = self.warmup_steps;
        let distill_end = self.warmup_steps + self.distill_steps;

        let (stage, temperature, alpha) = if clamped < distill_start {
            (Stage::Warmup, c.temperature_start, 0.0)
        } else if clamped < distill_end {
            let p = if self.distill_steps > 1 {
                (clamped - distill_start) as f64 / (self.distill_steps - 1) as f64
            } else {
                0.0
            };
            let temperature = c.temperature_start + (c.temperature_end - c.temperature_start) * p;
            let alpha = match c.alpha_end {
                Some(end) => c.alpha + (end - c.alpha) * p,
                None => c.alpha,
            };
            (Stage::Distill, temperature, alpha)
        } else {
            (Stage::Final, c.temperature_end, 0.0)
        };
        StepPlan {
            stage,
            temperature,
            alpha,
            lr: self.lr_at(step),
        }
    }

    /// The learning rate at `step` (0 at or beyond `total_steps`).
    pub fn lr_at(&self, step: usize) -> f64 {
        let total = self.config.total_steps;
        let base = self.config.learning_rate;
        let warm = self.lr_warmup_steps;
        if step >= total {
            0.0
        } else if step < warm {
            base * (step + 1) as f64 / warm as f64
        } else {
            base * (total - step) as f64 / (total - warm) as f64
        }
    }
}

/// Creates the AdamW optimizer (Loshchilov and Hutter 2019) over all trainable variables of
/// `vs`, with betas (0.9, 0.999), eps 1e-8 and decoupled `weight_decay`.
///
/// Set the learning rate of each step with `optimizer.set_lr(schedule.at(step).lr)`.
pub fn adamw(vs: &nn::VarStore, learning_rate: f64, weight_decay: f64) -> Result<nn::Optimizer> {
    if !(weight_decay.is_finite() && weight_decay >= 0.0) {
        return Err(Error::invalid_argument(
            "training.weight_decay",
            format!("weight decay must be a finite number >= 0, got {weight_decay}"),
        ));
    }
    positive("training.learning_rate", learning_rate)?;
    let config = nn::AdamW {
        wd: weight_decay,
        ..Default::default()
    };
    Ok(config.build(vs, learning_rate)?)
}

/// `round(total · share)`, never more than `total`.
fn share_of(total: usize, share: f64) -> usize {
    ((total as f64 * share).round() as usize).min(total)
}

fn positive(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            field,
            format!("must be a positive number, got {value}"),
        ))
    }
}

fn unit(field: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            field,
            format!("must lie in [0, 1], got {value}"),
        ))
    }
}
