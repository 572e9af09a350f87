//! AdamW with inspectable state, and gradient clipping by global norm.
//!
//! tch's `nn::Optimizer` hides its moment buffers, so a checkpoint could not hold them and a
//! resumed run would diverge from an uninterrupted one. This optimizer keeps the first and
//! second moments and the step count as plain tensors that [`AdamW::state`] exports and
//! [`AdamW::load_state`] restores.
//!
//! The update is the decoupled weight-decay Adam of Loshchilov and Hutter, "Decoupled Weight
//! Decay Regularization" (ICLR 2019), Algorithm 2, written in the same order of floating-point
//! operations as `torch.optim.AdamW` with `foreach=False`, so that results agree with PyTorch
//! to float32 rounding (checked against a fixture in `tests/optim.rs`):
//!
//! ```text
//! p  <- p * (1 - lr * wd)
//! m  <- m + (g - m) * (1 - b1)           (lerp)
//! v  <- v * b2 + (1 - b2) * g * g
//! p  <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! ```

use std::collections::BTreeMap;

use tch::{nn::VarStore, Kind, Tensor};

use crate::error::{Error, Result};

/// One parameter the optimizer updates.
struct Param {
    name: String,
    var: Tensor,
    decay: bool,
    m: Tensor,
    v: Tensor,
}

/// AdamW over a fixed list of named parameters, with state that can be checkpointed.
pub struct AdamW {
    params: Vec<Param>,
    /// Adam's (beta1, beta2).
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Decoupled weight decay, applied only to parameters marked for decay.
    pub weight_decay: f64,
    step: i64,
}

impl AdamW {
    /// Builds an optimizer over the trainable variables of `vs`, sorted by name.
    ///
    /// Weight decay applies to tensors with two or more dimensions (weight matrices and
    /// embedding tables); biases and LayerNorm parameters (one dimension) are not decayed,
    /// the usual convention for transformers (as in BERT's original optimizer).
    pub fn from_var_store(vs: &VarStore, weight_decay: f64) -> Self {
        let mut named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let params = named
            .into_iter()
            .map(|(name, var)| {
                let decay = var.dim() >= 2;
                (name, var, decay)
            })
            .collect();
        Self::new(params, weight_decay)
    }

    /// Builds an optimizer over explicit `(name, variable, decayed)` triples.
    pub fn new(params: Vec<(String, Tensor, bool)>, weight_decay: f64) -> Self {
        let params = params
            .into_iter()
            .map(|(name, var, decay)| {
                let m = var.detach().zeros_like();
                let v = var.detach().zeros_like();
                Param {
                    name,
                    var,
                    decay,
                    m,
                    v,
                }
            })
            .collect();
        AdamW {
            params,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay,
            step: 0,
        }
    }

    /// The number of updates applied so far.
    pub fn step_count(&self) -> i64 {
        self.step
    }

    /// Sets every parameter's gradient to zero (drops it).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// Scales gradients so that their global L2 norm is at most `max_norm`; returns the norm
    /// before clipping.
    ///
    /// Same rule as `torch.nn.utils.clip_grad_norm_`: `coef = min(1, max_norm / (norm + 1e-6))`
    /// multiplies every gradient. `max_norm <= 0` disables clipping (the norm is still
    /// returned).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64> {
        let vars: Vec<Tensor> = self.params.iter().map(|p| p.var.shallow_clone()).collect();
        clip_grad_norm(&vars, max_norm)
    }

    /// Applies one AdamW update with learning rate `lr` to every parameter that has a
    /// gradient.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        self.step += 1;
        let (b1, b2) = self.betas;
        let t = self.step as f64;
        let bias1 = 1.0 - b1.powf(t);
        let bias2_sqrt = (1.0 - b2.powf(t)).sqrt();
        let step_size = lr / bias1;
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                let g = p.var.grad();
                if !g.defined() {
                    continue;
                }
                if p.decay && self.weight_decay != 0.0 {
                    let _ = p.var.f_mul_scalar_(1.0 - lr * self.weight_decay)?;
                }
                let _ = p.m.f_lerp_(&g, 1.0 - b1)?;
                let _ = p.v.f_mul_scalar_(b2)?;
                let _ = p.v.f_addcmul_(&g, &g.f_mul_scalar(1.0 - b2)?)?;
                let denom =
                    p.v.f_sqrt()?
                        .f_div_scalar(bias2_sqrt)?
                        .f_add_scalar(self.eps)?;
                let scaled = p.m.f_mul_scalar(-step_size)?;
                let _ = p.var.f_addcdiv_(&scaled, &denom)?;
            }
            Ok(())
        })
    }

    /// The optimizer state as named tensors (`m.<param>`, `v.<param>`) plus the step count.
    pub fn state(&self) -> (Vec<(String, Tensor)>, i64) {
        let mut out = Vec::with_capacity(self.params.len() * 2);
        for p in &self.params {
            out.push((format!("m.{}", p.name), p.m.shallow_clone()));
            out.push((format!("v.{}", p.name), p.v.shallow_clone()));
        }
        (out, self.step)
    }

    /// Restores state written by [`AdamW::state`]; every parameter must be present with the
    /// same shape.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, step: i64) -> Result<()> {
        for p in &mut self.params {
            for (prefix, slot) in [("m.", &mut p.m), ("v.", &mut p.v)] {
                let key = format!("{prefix}{}", p.name);
                let t = tensors.get(&key).ok_or_else(|| {
                    Error::invalid_input("optimizer state", format!("missing tensor {key}"))
                })?;
                if t.size() != slot.size() {
                    return Err(Error::invalid_input(
                        "optimizer state",
                        format!(
                            "tensor {key} has shape {:?}, expected {:?}",
                            t.size(),
                            slot.size()
                        ),
                    ));
                }
                *slot = t.f_to_kind(Kind::Float)?.f_contiguous()?.f_detach_copy()?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Clips the gradients of `vars` to a global L2 norm of at most `max_norm` (in place) and
/// returns the norm before clipping; see [`AdamW::clip_grad_norm`].
pub fn clip_grad_norm(vars: &[Tensor], max_norm: f64) -> Result<f64> {
    let grads: Vec<Tensor> = vars
        .iter()
        .map(|v| v.grad())
        .filter(|g| g.defined())
        .collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    tch::no_grad(|| -> Result<f64> {
        let norms: Vec<Tensor> = grads
            .iter()
            .map(|g| g.f_norm())
            .collect::<std::result::Result<_, _>>()?;
        let total = Tensor::f_stack(&norms, 0)?.f_norm()?;
        let total_f = total.f_double_value(&[])?;
        if max_norm > 0.0 {
            let coef_t = total
                .f_add_scalar(1e-6)?
                .f_reciprocal()?
                .f_mul_scalar(max_norm)?
                .f_clamp_max(1.0)?;
            for g in &grads {
                let mut g = g.shallow_clone();
                let _ = g.f_mul_(&coef_t)?;
            }
        }
        Ok(total_f)
    })
}
