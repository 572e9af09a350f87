//! A classification head fitted on frozen teacher features, for teachers without one.
//!
//! Multinomial logistic regression on the pooled features of the labelled training rows, as
//! scikit-learn's `LogisticRegression` fits it: mean cross-entropy plus the L2 penalty
//! `||W||² / (2 C n)` (bias not penalised), optimised full-batch with Adam. The inverse
//! regularisation strength `C` is chosen from a small grid by accuracy on the validation split
//! (by the training loss when there is none). The features are used as they are: an encoder
//! teacher's pooled features are L2-normalised sentence embeddings, on one scale. (Standardising
//! them first was tried on the BBC corpus and chose weaker heads.) The head is one affine map:
//! `logits = x W^T + b`.

use tch::{nn, nn::Module, nn::OptimizerConfig, Kind, Tensor};

use crate::error::{Error, Result};

/// Full-batch optimisation steps per value of `C`.
const STEPS: usize = 500;
/// Adam's learning rate.
const LEARNING_RATE: f64 = 5e-2;
/// The values of `C` tried, from the most regularised.
const C_GRID: [f64; 5] = [0.1, 1.0, 10.0, 100.0, 1000.0];

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
    /// The inverse regularisation strength chosen.
    pub c: f64,
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
/// choosing `C` by accuracy on `val` when given.
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
    let val = val
        .map(|(f, l)| labelled(f, l))
        .transpose()?
        .filter(|(_, vy)| vy.size()[0] > 0);
    let n = y.size()[0] as f64;
    let dim = x.size()[1];

    let mut best: Option<(f64, f64, Tensor, Tensor)> = None;
    for c in C_GRID {
        tch::manual_seed(seed as i64);
        let vs = nn::VarStore::new(x.device());
        let linear = nn::linear(vs.root() / "head", dim, num_labels, Default::default());
        let mut opt = nn::Adam::default().build(&vs, LEARNING_RATE)?;
        let mut loss_value = 0.0;
        for _ in 0..STEPS {
            let ce = linear.forward(&x).f_cross_entropy_loss::<Tensor>(
                &y,
                None,
                tch::Reduction::Mean,
                -100,
                0.0,
            )?;
            let penalty = linear
                .ws
                .f_square()?
                .f_sum(Kind::Float)?
                .f_mul_scalar(1.0 / (2.0 * c * n))?;
            let loss = ce.f_add(&penalty)?;
            opt.zero_grad();
            loss.f_backward()?;
            opt.step();
            loss_value = ce.f_double_value(&[])?;
        }
        let score = tch::no_grad(|| -> Result<f64> {
            match &val {
                Some((vx, vy)) => accuracy(&linear.forward(vx), vy),
                None => Ok(-loss_value),
            }
        })?;
        log::debug!("head with C = {c}: selection score {score:.4}");
        if best.as_ref().map_or(true, |(b, ..)| score > *b) {
            let bias = linear
                .bs
                .as_ref()
                .ok_or_else(|| Error::Internal("linear layer without bias".into()))?
                .detach()
                .copy();
            best = Some((score, c, linear.ws.detach().copy(), bias));
        }
    }
    let (_, c, weight, bias) =
        best.ok_or_else(|| Error::Internal("head fitting tried no C".into()))?;
    let head = LinearHead { weight, bias };
    let train_accuracy = tch::no_grad(|| accuracy(&head.forward(&x)?, &y))?;
    let val_accuracy = match val {
        Some((vx, vy)) => Some(tch::no_grad(|| accuracy(&head.forward(&vx)?, &vy))?),
        None => None,
    };
    Ok((
        head,
        HeadFit {
            train_accuracy,
            val_accuracy,
            c,
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
