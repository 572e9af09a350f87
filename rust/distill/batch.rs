//! Model inputs of a split and the batches cut from them.
//!
//! Text rows are kept as teacher token ids (already truncated to the maximum length, with the
//! tokenizer's special tokens); a batch pads them to its longest row (dynamic padding) and
//! builds the attention mask. Feature rows are kept as one `[n, F]` `f32` tensor.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// The inputs of every row of one split.
#[derive(Debug)]
pub enum Inputs {
    /// Token ids per row (teacher vocabulary) and the id used for padding.
    Tokens {
        /// One id sequence per row, at most the maximum length long, never empty.
        ids: Vec<Vec<i64>>,
        /// Padding id of the tokenizer.
        pad_id: i64,
    },
    /// Numeric features, `[n, F]`, `f32`.
    Features(Tensor),
}

/// A batch of inputs ready for a model.
#[derive(Debug)]
pub struct Batch {
    /// Token ids `[b, L]` int64 (teacher vocabulary), for text inputs.
    pub ids: Option<Tensor>,
    /// Attention mask `[b, L]` int64 (1 = token, 0 = padding), for text inputs.
    pub mask: Option<Tensor>,
    /// Features `[b, F]` `f32`, for feature inputs.
    pub features: Option<Tensor>,
    /// Labels `[b]` int64, `-1` = unlabelled.
    pub labels: Tensor,
    /// Row indices `[b]` int64 of the batch's rows in its split.
    pub rows: Tensor,
}

impl Inputs {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Tokens { ids, .. } => ids.len(),
            Inputs::Features(t) => t.size().first().copied().unwrap_or(0) as usize,
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of `rows` (indices into this split) with `labels` (aligned with the split).
    pub fn batch(&self, rows: &[usize], labels: &[i64]) -> Result<Batch> {
        if rows.is_empty() {
            return Err(Error::Internal("empty batch".into()));
        }
        let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let lab: Vec<i64> = rows
            .iter()
            .map(|&r| labels.get(r).copied().unwrap_or(-1))
            .collect();
        let row_t = Tensor::from_slice(&idx);
        let labels = Tensor::from_slice(&lab);
        match self {
            Inputs::Tokens { ids, pad_id } => {
                let longest = rows.iter().map(|&r| ids[r].len()).max().unwrap_or(1).max(1);
                let mut flat = Vec::with_capacity(rows.len() * longest);
                let mut mask = Vec::with_capacity(rows.len() * longest);
                for &r in rows {
                    let row = &ids[r];
                    flat.extend_from_slice(row);
                    mask.extend(std::iter::repeat(1i64).take(row.len()));
                    flat.extend(std::iter::repeat(*pad_id).take(longest - row.len()));
                    mask.extend(std::iter::repeat(0i64).take(longest - row.len()));
                }
                let shape = [rows.len() as i64, longest as i64];
                Ok(Batch {
                    ids: Some(Tensor::from_slice(&flat).f_reshape(shape)?),
                    mask: Some(Tensor::from_slice(&mask).f_reshape(shape)?),
                    features: None,
                    labels,
                    rows: row_t,
                })
            }
            Inputs::Features(t) => Ok(Batch {
                ids: None,
                mask: None,
                features: Some(t.f_index_select(0, &row_t)?.f_to_kind(Kind::Float)?),
                labels,
                rows: row_t,
            }),
        }
    }

    /// Consecutive batches of at most `batch_size` rows covering every row in order.
    pub fn ordered_batches(&self, batch_size: usize) -> Vec<Vec<usize>> {
        let n = self.len();
        (0..n)
            .collect::<Vec<_>>()
            .chunks(batch_size.max(1))
            .map(|c| c.to_vec())
            .collect()
    }
}
