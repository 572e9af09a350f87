//! An int8 linear layer: per-channel int8 weight, fp32 activations quantized on the fly,
//! computed by fbgemm (`quantized::linear_dynamic`).

use tch::{Kind, Tensor};

use super::ffi::{make_per_channel, quantize_per_channel, PackedWeight};
use crate::error::{Error, Result};

/// The storable parts of an int8 linear layer, for saving as int8 (e.g. in safetensors) and
/// re-packing with [`QuantizedLinear::from_int8_parts`].
#[derive(Debug)]
pub struct Int8Parts {
    /// Quantized weight `[out, in]`, `Int8`.
    pub weight: Tensor,
    /// Per-output-channel scales `[out]`, `f32` (exact: they are computed in `f32`).
    pub scales: Tensor,
    /// Per-output-channel zero points `[out]`, `Int64` (0 for the symmetric scheme).
    pub zero_points: Tensor,
    /// Bias `[out]`, `f32`, kept in floating point.
    pub bias: Option<Tensor>,
}

/// A linear layer `y = x Wᵀ + b` with an int8 weight, run on libtorch's fbgemm kernels.
///
/// The weight is quantized per output channel, symmetric: `scale_c = max(|w_c|) / 127.5`
/// (at least `f32::EPSILON`), zero point 0, `q = clamp(round(w / scale_c), -128, 127)`;
/// this is what PyTorch's `PerChannelMinMaxObserver(qint8, per_channel_symmetric)` (the
/// weight observer of `per_channel_dynamic_qconfig`) computes. At each call the input is
/// quantized per tensor to uint8 with a 7-bit range (`reduce_range`, needed by fbgemm on CPUs
/// without VNNI), as `torch.ao.nn.quantized.dynamic.Linear` does.
///
/// The struct is `Send + Sync`: it keeps its int8 parts as plain vectors and the packed
/// weight behind [`PackedWeight`], whose thread safety is argued in `ffi.rs`.
#[derive(Debug)]
pub struct QuantizedLinear {
    packed: PackedWeight,
    in_features: i64,
    out_features: i64,
    weight: Vec<i8>,
    scales: Vec<f32>,
    zero_points: Vec<i64>,
    bias: Option<Vec<f32>>,
}

impl QuantizedLinear {
    /// Quantizes a floating-point linear layer.
    ///
    /// `weight` is `[out, in]` and `bias` `[out]`, any floating dtype (converted to `f32`).
    pub fn from_linear(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (out_features, in_features) = check_weight(weight)?;
        let weight = weight.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
        let max_pos = weight.f_abs()?.f_amax([1i64].as_slice(), false)?;
        let scales = max_pos
            .f_div_scalar(127.5)?
            .f_clamp_min(f64::from(f32::EPSILON))?;
        let zero_points = Tensor::f_zeros([out_features], (Kind::Int64, weight.device()))?;
        let qweight =
            quantize_per_channel(&weight, &scales.f_to_kind(Kind::Double)?, &zero_points)?;
        let int8 = qweight.f_int_repr()?;
        Self::build(
            &qweight,
            &int8,
            &scales,
            &zero_points,
            bias,
            out_features,
            in_features,
        )
    }

    /// Rebuilds the layer from saved int8 parts (see [`Self::int8_parts`]).
    ///
    /// `weight` `[out, in]` `Int8`; `scales` `[out]` floating, positive; `zero_points` `[out]`
    /// integer in `-128..=127`; `bias` `[out]` floating. Gives the same outputs as the layer the
    /// parts came from.
    pub fn from_int8_parts(
        weight: &Tensor,
        scales: &Tensor,
        zero_points: &Tensor,
        bias: Option<&Tensor>,
    ) -> Result<Self> {
        let (out_features, in_features) = check_weight(weight)?;
        if weight.kind() != Kind::Int8 {
            return Err(Error::invalid_input(
                "int8 linear",
                format!("weight must be Int8, got {:?}", weight.kind()),
            ));
        }
        check_vector("scales", scales, out_features, true)?;
        check_vector("zero_points", zero_points, out_features, false)?;
        let scales = scales.f_to_kind(Kind::Float)?;
        let min_scale = scales.f_min()?.f_double_value(&[])?;
        if !(min_scale > 0.0 && min_scale.is_finite()) {
            return Err(Error::invalid_input(
                "int8 linear",
                format!("scales must be positive and finite, found {min_scale}"),
            ));
        }
        let zero_points = zero_points.f_to_kind(Kind::Int64)?;
        let (zmin, zmax) = (
            zero_points.f_min()?.f_int64_value(&[])?,
            zero_points.f_max()?.f_int64_value(&[])?,
        );
        if zmin < -128 || zmax > 127 {
            return Err(Error::invalid_input(
                "int8 linear",
                format!("zero points must lie in -128..=127, found {zmin}..={zmax}"),
            ));
        }
        let int8 = weight.f_contiguous()?;
        let qweight = make_per_channel(&int8, &scales.f_to_kind(Kind::Double)?, &zero_points)?;
        Self::build(
            &qweight,
            &int8,
            &scales,
            &zero_points,
            bias,
            out_features,
            in_features,
        )
    }

    fn build(
        qweight: &Tensor,
        int8: &Tensor,
        scales: &Tensor,
        zero_points: &Tensor,
        bias: Option<&Tensor>,
        out_features: i64,
        in_features: i64,
    ) -> Result<Self> {
        let bias = match bias {
            Some(b) => {
                check_vector("bias", b, out_features, true)?;
                Some(b.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?)
            }
            None => None,
        };
        let packed = PackedWeight::prepack(qweight, bias.as_ref())?;
        Ok(QuantizedLinear {
            packed,
            in_features,
            out_features,
            weight: Vec::<i8>::try_from(&int8.f_flatten(0, -1)?)?,
            scales: Vec::<f32>::try_from(scales)?,
            zero_points: Vec::<i64>::try_from(zero_points)?,
            bias: bias.as_ref().map(Vec::<f32>::try_from).transpose()?,
        })
    }

    /// Input width (`in`).
    pub fn in_features(&self) -> i64 {
        self.in_features
    }

    /// Output width (`out`).
    pub fn out_features(&self) -> i64 {
        self.out_features
    }

    /// Applies the layer: `x` `[*, in]` floating (computed in `f32`) to `[*, out]` `f32`.
    ///
    /// Not differentiable: this is for inference only.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shape = x.size();
        if shape.is_empty() || shape[shape.len() - 1] != self.in_features {
            return Err(Error::invalid_input(
                "int8 linear",
                format!(
                    "input must be [*, {}], got shape {shape:?}",
                    self.in_features
                ),
            ));
        }
        if !x.is_floating_point() {
            return Err(Error::invalid_input(
                "int8 linear",
                format!("input must be floating point, got {:?}", x.kind()),
            ));
        }
        let x = x.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
        self.packed.linear_dynamic(&x, true)
    }

    /// The int8 weight, scales, zero points and bias as CPU tensors (copies).
    pub fn int8_parts(&self) -> Result<Int8Parts> {
        let weight =
            Tensor::f_from_slice(&self.weight)?.f_view([self.out_features, self.in_features])?;
        Ok(Int8Parts {
            weight,
            scales: Tensor::f_from_slice(&self.scales)?,
            zero_points: Tensor::f_from_slice(&self.zero_points)?,
            bias: self.bias.as_deref().map(Tensor::f_from_slice).transpose()?,
        })
    }

    /// The weight as the int8 layer sees it, `w ≈ (q − zero_point) · scale`, `[out, in]` `f32`.
    pub fn dequantized_weight(&self) -> Result<Tensor> {
        let parts = self.int8_parts()?;
        let q = parts.weight.f_to_kind(Kind::Float)?;
        let zp = parts.zero_points.f_to_kind(Kind::Float)?.f_unsqueeze(1)?;
        Ok(q.f_sub(&zp)?.f_mul(&parts.scales.f_unsqueeze(1)?)?)
    }

    /// Bytes of the int8 parts as stored (weight, scales, zero points, bias).
    pub fn stored_bytes(&self) -> usize {
        self.weight.len()
            + 4 * self.scales.len()
            + 8 * self.zero_points.len()
            + 4 * self.bias.as_ref().map_or(0, Vec::len)
    }
}

fn check_weight(weight: &Tensor) -> Result<(i64, i64)> {
    match weight.size().as_slice() {
        &[out, inp] if out > 0 && inp > 0 => Ok((out, inp)),
        other => Err(Error::invalid_input(
            "int8 linear",
            format!("weight must be [out, in] with out, in > 0, got shape {other:?}"),
        )),
    }
}

fn check_vector(name: &str, t: &Tensor, len: i64, floating: bool) -> Result<()> {
    if t.size() != [len] {
        return Err(Error::invalid_input(
            "int8 linear",
            format!("{name} must be [{len}], got shape {:?}", t.size()),
        ));
    }
    if floating != t.is_floating_point() {
        let want = if floating {
            "floating point"
        } else {
            "integer"
        };
        return Err(Error::invalid_input(
            "int8 linear",
            format!("{name} must be {want}, got {:?}", t.kind()),
        ));
    }
    Ok(())
}
