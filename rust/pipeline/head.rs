//! A classification head fitted on frozen teacher features, for teachers without one.
//!
//! Multinomial logistic regression on the pooled features of the labelled training rows:
//! the features are standardised with the training rows' mean and standard deviation, a
//! linear layer is trained full-batch with AdamW on cross-entropy, and the step with the best
//! validation accuracy is kept (the training loss when there is no validation split). The
//! standardisation is folded into the layer afterwards, so the head is one affine map of the
//! raw pooled features: `logits = x W^T + b`.

use tch::{nn, nn::Module, nn::OptimizerConfig, Kind, Tensor};

use crate::error::{Error, Result};

/// Steps of full-batch optimisation.
const STEPS: usize = 300;
/// Peak learning rate.
const LEARNING_RATE: f64 = 1e-2;
/// Decoupled weight decay.
const WEIGHT_DECAY: f64 = 1e-2;
/// Steps between validation checks.
const CHECK_EVERY: usize = 10;

/// An affine head `x W^T + b` over pooled features.
#[derive(Debug)]
pub struct LinearHead {
    weight: Tensor,
    bias: Tensor,
}

/// How the fit went.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadFit {
    /// Accuracy on the labelled training rows.
    pub train_accuracy: f64,
    /// Accuracy on the validation rows, when there are any.
    pub val_accuracy: Option<f64>,
    /// The step whose weights were kept.
    pub best_step: usize,
}

impl LinearHead {
    /// Logits `[b, C]` f32 for pooled features `[b, D]` f32.
    pub fn forward(&self, pooled: &Tensor) -> Result<Tensor> {
        let x = pooled.f_to_device(self.weight.device())?;
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }

    /// Number of scalar parameters.
    pub fn param_count(&self) -> i64 {
        (self.weight.numel() + self.bias.numel()) as i64
    }
}

/// Fits a head on `features` `[n, D]` f32 with labels `labels` (`-1` = unlabelled, skipped),
/// choosing the step by accuracy on `val` when given.
///
/// Fails with [`Error::InvalidInput`] when no training row is labelled.
pub fn fit_head(
    features: &Tensor,
    labels: &[i64],
    val: Option<(&Tensor, &[i64])>,
    num_labels: i64,
    seed: u64,
) -> Result<(LinearHead, HeadFit)> {
    let (x, y) = labelled(features, labels)?;
    if y.size()[0] == 0 {
        return Err(Error::invalid_input(
            "train",
            "fitting a head on the teacher's features needs labelled training rows, found none",
        ));
    }
    let mean = x.f_mean_dim(0, false, Kind::Float)?;
    let std = x.f_std_dim(0, false, false)?.f_clamp_min(1e-6)?;
    let standardise = |t: &Tensor| -> Result<Tensor> { Ok(t.f_sub(&mean)?.f_div(&std)?) };
    let xs = standardise(&x)?;
    let val = val
        .map(|(f, l)| -> Result<(Tensor, Tensor)> {
            let (vx, vy) = labelled(f, l)?;
            Ok((standardise(&vx)?, vy))
        })
        .transpose()?
        .filter(|(_, vy)| vy.size()[0] > 0);

    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(x.device());
    let dim = x.size()[1];
    let linear = nn::linear(vs.root() / "head", dim, num_labels, Default::default());
    let mut opt = nn::AdamW {
        wd: WEIGHT_DECAY,
        ..Default::default()
    }
    .build(&vs, LEARNING_RATE)?;

    let mut best: Option<(f64, usize, Tensor, Tensor)> = None;
    for step in 1..=STEPS {
        let loss = linear.forward(&xs).f_cross_entropy_loss::<Tensor>(
            &y,
            None,
            tch::Reduction::Mean,
            -100,
            0.0,
        )?;
        opt.zero_grad();
        loss.f_backward()?;
        opt.step();
        if step % CHECK_EVERY == 0 || step == STEPS {
            let score = tch::no_grad(|| -> Result<f64> {
                match &val {
                    Some((vx, vy)) => accuracy(&linear.forward(vx), vy),
                    None => Ok(-loss.f_double_value(&[])?),
                }
            })?;
            if best.as_ref().map_or(true, |(b, ..)| score > *b) {
                best = Some((
                    score,
                    step,
                    linear.ws.detach().copy(),
                    linear
                        .bs
                        .as_ref()
                        .ok_or_else(|| Error::Internal("linear layer without bias".into()))?
                        .detach()
                        .copy(),
                ));
            }
        }
    }
    let (_, best_step, w, b) =
        best.ok_or_else(|| Error::Internal("head fitting ran no step".into()))?;

    // Fold the standardisation in: (x - m) / s W^T + b = x (W / s)^T + (b - (W / s) m).
    let weight = w.f_div(&std.f_unsqueeze(0)?)?;
    let bias = b.f_sub(&weight.f_matmul(&mean)?)?;
    let head = LinearHead { weight, bias };
    let train_accuracy = tch::no_grad(|| accuracy(&head.forward(&x)?, &y))?;
    let val_accuracy = match val {
        Some((vx, vy)) => Some(tch::no_grad(|| {
            // `vx` is standardised; undo it for the folded head.
            let raw = vx.f_mul(&std)?.f_add(&mean)?;
            accuracy(&head.forward(&raw)?, &vy)
        })?),
        None => None,
    };
    Ok((
        head,
        HeadFit {
            train_accuracy,
            val_accuracy,
            best_step,
        },
    ))
}

/// The labelled rows of `features` and their labels as an int64 tensor.
fn labelled(features: &Tensor, labels: &[i64]) -> Result<(Tensor, Tensor)> {
    let keep: Vec<i64> = labels
        .iter()
        .enumerate()
        .filter(|(_, &l)| l >= 0)
        .map(|(i, _)| i as i64)
        .collect();
    let y: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
    let index = Tensor::f_from_slice(&keep)?.f_to_device(features.device())?;
    Ok((
        features.f_index_select(0, &index)?.f_to_kind(Kind::Float)?,
        Tensor::f_from_slice(&y)?.f_to_device(features.device())?,
    ))
}

/// Share of rows whose arg-max equals the label.
fn accuracy(logits: &Tensor, labels: &Tensor) -> Result<f64> {
    let n = labels.size()[0];
    if n == 0 {
        return Ok(0.0);
    }
    let correct = logits
        .f_argmax(-1, false)?
        .f_eq_tensor(labels)?
        .f_sum(Kind::Int64)?
        .f_int64_value(&[])?;
    Ok(correct as f64 / n as f64)
}
