//! Text to token ids: a thin wrapper over the `tokenizers` crate reading `tokenizer.json`.
//!
//! The padding and truncation stored in a `tokenizer.json` are replaced on load: padding is
//! switched off (batches are padded to their own longest sequence here) and truncation is set
//! to the `max_length` the caller chooses, counting the special tokens (`[CLS]`, `[SEP]`).
//! sentence-transformers models keep their maximum in `sentence_bert_config.json`
//! (`max_seq_length`, 256 for all-MiniLM-L6-v2), which differs from the 128 stored in their
//! `tokenizer.json`; [`crate::models::hf::default_max_length`] reads it.

use std::path::{Path, PathBuf};

use tch::{Device, Tensor};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

/// A batch of token ids ready for an encoder.
#[derive(Debug)]
pub struct EncodedBatch {
    /// Token ids [B, L] i64, padded on the right with the pad id to the longest row.
    pub input_ids: Tensor,
    /// [B, L] i64: 1 for tokens, 0 for padding.
    pub attention_mask: Tensor,
    /// Number of real tokens (special tokens included) of each row.
    pub lengths: Vec<usize>,
}

/// A `tokenizer.json` tokenizer with deliberate truncation and batch-longest padding.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    path: PathBuf,
    max_length: usize,
    pad_id: i64,
}

impl TextTokenizer {
    /// Loads `path` (a `tokenizer.json`) and truncates every text to `max_length` tokens.
    ///
    /// Fails with [`Error::NotFound`] if the file is missing and [`Error::InvalidInput`]
    /// naming the file if it does not parse; [`Error::InvalidArgument`] if `max_length` is
    /// below 3 (room for `[CLS]`, one token and `[SEP]`).
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self> {
        if max_length < 3 {
            return Err(Error::invalid_argument(
                "max_length",
                format!("must be at least 3, got {max_length}"),
            ));
        }
        if !path.is_file() {
            return Err(Error::NotFound(format!(
                "tokenizer file {}",
                path.display()
            )));
        }
        let name = path.display().to_string();
        let mut inner = Tokenizer::from_file(path)
            .map_err(|e| Error::invalid_input(&name, format!("cannot load tokenizer: {e}")))?;
        let pad_id = inner
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| inner.token_to_id("[PAD]"))
            .or_else(|| inner.token_to_id("<pad>"))
            .unwrap_or(0);
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::invalid_input(&name, format!("cannot set truncation: {e}")))?;
        Ok(TextTokenizer {
            inner,
            path: path.to_path_buf(),
            max_length,
            pad_id: i64::from(pad_id),
        })
    }

    /// The file the tokenizer was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Longest sequence produced, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Id used for padding positions.
    pub fn pad_id(&self) -> i64 {
        self.pad_id
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The underlying `tokenizers` tokenizer (padding off, truncation at `max_length`).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// Id of `token`, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<i64> {
        self.inner.token_to_id(token).map(i64::from)
    }

    /// Token ids of each text, with special tokens, truncated, not padded.
    pub fn encode_ids<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<i64>>> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self.inner.encode_batch(inputs, true).map_err(|e| {
            Error::invalid_input(
                self.path.display().to_string(),
                format!("tokenization failed: {e}"),
            )
        })?;
        Ok(encodings
            .iter()
            .map(|e| e.get_ids().iter().map(|&id| i64::from(id)).collect())
            .collect())
    }

    /// Tokenizes `texts` into one right-padded batch on `device`.
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S], device: Device) -> Result<EncodedBatch> {
        let ids = self.encode_ids(texts)?;
        pad_batch(&ids, self.pad_id, device)
    }
}

/// Right-pads rows of token ids to the longest row: ids and mask [B, L] i64 on `device`.
///
/// An empty batch gives [0, 0] tensors.
pub fn pad_batch(rows: &[Vec<i64>], pad_id: i64, device: Device) -> Result<EncodedBatch> {
    let b = rows.len();
    let l = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = vec![pad_id; b * l];
    let mut mask = vec![0i64; b * l];
    for (r, row) in rows.iter().enumerate() {
        ids[r * l..r * l + row.len()].copy_from_slice(row);
        mask[r * l..r * l + row.len()].fill(1);
    }
    let shape = [b as i64, l as i64];
    let input_ids = Tensor::f_from_slice(&ids)?
        .f_view(shape)?
        .f_to_device(device)?;
    let attention_mask = Tensor::f_from_slice(&mask)?
        .f_view(shape)?
        .f_to_device(device)?;
    Ok(EncodedBatch {
        input_ids,
        attention_mask,
        lengths: rows.iter().map(Vec::len).collect(),
    })
}
