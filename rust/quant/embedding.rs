//! An int8 embedding table with one scale per row, dequantized on lookup.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// An embedding table stored as int8 with per-row symmetric scales.
///
/// `scale_r = max(|w_r|) / 127` (at least `f32::EPSILON`), `q = clamp(round(w / scale_r),
/// -127, 127)`; a lookup returns `q[ids] · scale[ids]` in `f32`. The table is a quarter of its
/// `f32` size; only the looked-up rows are dequantized. Keeps plain vectors, so it is
/// `Send + Sync`.
#[derive(Debug, Clone)]
pub struct QuantizedEmbedding {
    rows: i64,
    dim: i64,
    weight: Vec<i8>,
    scales: Vec<f32>,
}

impl QuantizedEmbedding {
    /// Quantizes a floating table `[rows, dim]`.
    pub fn from_weight(weight: &Tensor) -> Result<Self> {
        let (rows, dim) = check_table(weight)?;
        let w = weight.f_detach()?.f_to_kind(Kind::Float)?.f_contiguous()?;
        let scales = w
            .f_abs()?
            .f_amax([1i64].as_slice(), false)?
            .f_div_scalar(127.0)?
            .f_clamp_min(f64::from(f32::EPSILON))?;
        let q = w
            .f_div(&scales.f_unsqueeze(1)?)?
            .f_round()?
            .f_clamp(-127.0, 127.0)?
            .f_to_kind(Kind::Int8)?;
        Ok(QuantizedEmbedding {
            rows,
            dim,
            weight: Vec::<i8>::try_from(&q.f_flatten(0, -1)?)?,
            scales: Vec::<f32>::try_from(&scales)?,
        })
    }

    /// Rebuilds a table from saved parts: `weight` `[rows, dim]` `Int8`, `scales` `[rows]`
    /// floating and positive.
    pub fn from_int8_parts(weight: &Tensor, scales: &Tensor) -> Result<Self> {
        let (rows, dim) = check_table(weight)?;
        if weight.kind() != Kind::Int8 {
            return Err(Error::invalid_input(
                "int8 embedding",
                format!("weight must be Int8, got {:?}", weight.kind()),
            ));
        }
        if scales.size() != [rows] || !scales.is_floating_point() {
            return Err(Error::invalid_input(
                "int8 embedding",
                format!(
                    "scales must be floating [{rows}], got {:?} {:?}",
                    scales.kind(),
                    scales.size()
                ),
            ));
        }
        let scales = Vec::<f32>::try_from(&scales.f_to_kind(Kind::Float)?.f_contiguous()?)?;
        if let Some(bad) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::invalid_input(
                "int8 embedding",
                format!("scales must be positive and finite, found {bad}"),
            ));
        }
        let weight = Vec::<i8>::try_from(&weight.f_contiguous()?.f_flatten(0, -1)?)?;
        Ok(QuantizedEmbedding {
            rows,
            dim,
            weight,
            scales,
        })
    }

    /// Number of rows (vocabulary size).
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// Embedding width.
    pub fn dim(&self) -> i64 {
        self.dim
    }

    /// Looks up `ids` (any shape, integer, each in `0..rows`) and returns `[*ids, dim]` `f32`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        if ids.is_floating_point() {
            return Err(Error::invalid_input(
                "int8 embedding",
                format!("ids must be integers, got {:?}", ids.kind()),
            ));
        }
        let ids_vec = Vec::<i64>::try_from(&ids.f_to_kind(Kind::Int64)?.f_flatten(0, -1)?)?;
        let dim = self.dim as usize;
        let mut out = Vec::with_capacity(ids_vec.len() * dim);
        for &id in &ids_vec {
            if id < 0 || id >= self.rows {
                return Err(Error::invalid_input(
                    "int8 embedding",
                    format!("id {id} out of range 0..{}", self.rows),
                ));
            }
            let row = id as usize;
            let scale = self.scales[row];
            out.extend(
                self.weight[row * dim..(row + 1) * dim]
                    .iter()
                    .map(|&q| f32::from(q) * scale),
            );
        }
        let mut shape = ids.size();
        shape.push(self.dim);
        Ok(Tensor::f_from_slice(&out)?
            .f_view(shape.as_slice())?
            .f_to(ids.device())?)
    }

    /// The int8 table `[rows, dim]` `Int8` and the scales `[rows]` `f32`, as CPU tensors.
    pub fn int8_parts(&self) -> Result<(Tensor, Tensor)> {
        let weight = Tensor::f_from_slice(&self.weight)?.f_view([self.rows, self.dim])?;
        Ok((weight, Tensor::f_from_slice(&self.scales)?))
    }

    /// Bytes of the stored parts (table and scales).
    pub fn stored_bytes(&self) -> usize {
        self.weight.len() + 4 * self.scales.len()
    }
}

fn check_table(weight: &Tensor) -> Result<(i64, i64)> {
    match weight.size().as_slice() {
        &[rows, dim] if rows > 0 && dim > 0 => Ok((rows, dim)),
        other => Err(Error::invalid_input(
            "int8 embedding",
            format!("table must be [rows, dim] with rows, dim > 0, got shape {other:?}"),
        )),
    }
}
