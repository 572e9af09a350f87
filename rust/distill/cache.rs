//! Teacher outputs computed once and kept in memory or in a file on disk.
//!
//! The teacher is the expensive part of a run: it is run once, in batches, over every split,
//! and its outputs are kept as [`TeacherOutputs`]: row-aligned `f32` arrays named
//!
//! - `pooled`: `[n, D]`, the teacher's pooled features (mean pooling for encoders);
//! - `logits`: `[n, C]`, the teacher's class logits, when the teacher has a head;
//! - `hidden.<i>`: `[n, L, D]`, hidden state `i` (0 = embedding output) padded with zeros to
//!   `L = max_length` tokens, present only when hidden-state alignment is on, and only for the
//!   teacher layers the layer map uses.
//!
//! Attention maps (`[n, heads, L, L]` per layer) are far too large to keep for a whole split
//! and are never cached or written to a file: with `training.attention_alignment` the
//! pipeline runs the teacher online and [`TeacherOutputs::attentions`] is filled per batch.
//!
//! # File format (`*.jbc`, version 1)
//!
//! ```text
//! bytes 0..8     magic "JBTCACHE"
//! bytes 8..16    header length H, u64 little-endian
//! bytes 16..16+H header, UTF-8 JSON:
//!                {"version": 1, "key": "<sha-256 hex>", "row_start": 0, "rows": n,
//!                 "arrays": [{"name": "pooled", "shape": [n, 384], "offset": 0}, ...]}
//! then           zero padding up to the next multiple of 64 bytes (= data start)
//! data           each array as raw little-endian f32, row-major, at data start + offset;
//!                every array's first dimension is the shard's row count `rows`
//! ```
//!
//! A file holds rows `row_start .. row_start + rows` of one split; a split may be spread over
//! several shard files (named `<key>.<row_start>-<row_end>.jbc`), which is how teacher outputs
//! computed elsewhere (for example in parallel on a cluster) are handed to the trainer: write
//! shards in this format into the cache directory and the run reads them instead of running
//! the teacher. Files are read through `memmap2`. Files are only a cache: deleting them is
//! always safe, the next run recomputes them.
//!
//! The key is a SHA-256 over the teacher's identity (file paths, sizes and modification times,
//! see [`teacher_fingerprint`]), the split's token ids, and the settings that change the
//! outputs (maximum length, stored hidden layers); a change to any of them gives a new key.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"JBTCACHE";
const ALIGN: usize = 64;

/// Teacher outputs for the rows of one split, aligned with the split's row order.
#[derive(Debug)]
pub struct TeacherOutputs {
    /// Pooled features `[n, D]`, `f32`.
    pub pooled: Tensor,
    /// Class logits `[n, C]`, `f32`, when the teacher has a classification head.
    pub logits: Option<Tensor>,
    /// Token-level hidden states by teacher hidden-state index, each `[n, L, D]`, `f32`,
    /// zero-padded to `L` tokens.
    pub hidden: BTreeMap<usize, Tensor>,
    /// Attention probabilities by teacher layer (1-based, as in the layer map), each
    /// `[n, heads, l, l]` `f32` at the batch's own length `l`. Filled only by an online
    /// teacher for one batch; always empty in cached outputs (never stored in a file).
    pub attentions: BTreeMap<usize, Tensor>,
}

/// What the teacher returns for one batch of rows, all `f32`.
#[derive(Debug)]
pub struct TeacherBatch {
    /// `[b, D]` pooled features.
    pub pooled: Tensor,
    /// `[b, C]` class logits, when the teacher has a head.
    pub logits: Option<Tensor>,
    /// Requested hidden states, each `[b, l, D]` with `l <= max_length` (padded here).
    pub hidden: BTreeMap<usize, Tensor>,
}

impl TeacherOutputs {
    /// Number of rows.
    pub fn rows(&self) -> i64 {
        self.pooled.size()[0]
    }

    /// Runs `teacher` over rows `0..n` in batches of `batch_size` and stacks the outputs.
    ///
    /// `teacher(start, end)` returns the outputs for rows `start..end`; hidden states are
    /// zero-padded to `max_length` tokens.
    pub fn compute(
        n: usize,
        batch_size: usize,
        max_length: i64,
        teacher: &mut dyn FnMut(usize, usize) -> Result<TeacherBatch>,
    ) -> Result<Self> {
        let batch_size = batch_size.max(1);
        let mut pooled = Vec::new();
        let mut logits = Vec::new();
        let mut hidden: BTreeMap<usize, Vec<Tensor>> = BTreeMap::new();
        let mut start = 0;
        while start < n {
            let end = (start + batch_size).min(n);
            let out = tch::no_grad(|| teacher(start, end))?;
            pooled.push(out.pooled.f_to_kind(Kind::Float)?.f_detach()?);
            if let Some(l) = out.logits {
                logits.push(l.f_to_kind(Kind::Float)?.f_detach()?);
            }
            for (layer, h) in out.hidden {
                let len = h.size()[1];
                let padded = if len < max_length {
                    h.f_constant_pad_nd([0, 0, 0, max_length - len])?
                } else {
                    h.f_narrow(1, 0, max_length)?
                };
                hidden
                    .entry(layer)
                    .or_default()
                    .push(padded.f_to_kind(Kind::Float)?);
            }
            start = end;
        }
        if pooled.is_empty() {
            return Err(Error::invalid_input(
                "teacher outputs",
                "no rows to run the teacher on",
            ));
        }
        let logits = if logits.is_empty() {
            None
        } else if logits.len() != pooled.len() {
            return Err(Error::Internal(
                "teacher returned logits for some batches only".into(),
            ));
        } else {
            Some(Tensor::f_cat(&logits, 0)?)
        };
        let hidden = hidden
            .into_iter()
            .map(|(k, v)| Ok((k, Tensor::f_cat(&v, 0)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(TeacherOutputs {
            pooled: Tensor::f_cat(&pooled, 0)?,
            logits,
            hidden,
            attentions: BTreeMap::new(),
        })
    }

    /// The outputs for the rows `index` (`[b]`, int64) of this split.
    pub fn select(&self, index: &Tensor) -> Result<TeacherOutputs> {
        Ok(TeacherOutputs {
            pooled: self.pooled.f_index_select(0, index)?,
            logits: self
                .logits
                .as_ref()
                .map(|l| l.f_index_select(0, index))
                .transpose()?,
            hidden: self
                .hidden
                .iter()
                .map(|(k, h)| Ok((*k, h.f_index_select(0, index)?)))
                .collect::<Result<_>>()?,
            attentions: self
                .attentions
                .iter()
                .map(|(k, a)| Ok((*k, a.f_index_select(0, index)?)))
                .collect::<Result<_>>()?,
        })
    }

    fn arrays(&self) -> Vec<(String, &Tensor)> {
        let mut out = vec![("pooled".to_string(), &self.pooled)];
        if let Some(l) = &self.logits {
            out.push(("logits".to_string(), l));
        }
        for (k, h) in &self.hidden {
            out.push((format!("hidden.{k}"), h));
        }
        out
    }

    /// Writes rows `start..end` as one shard file at `path` (see the module doc), atomically
    /// (temporary file, then rename).
    pub fn write_shard(&self, path: &Path, key: &str, start: i64, end: i64) -> Result<()> {
        let rows = end - start;
        if start < 0 || rows <= 0 || end > self.rows() {
            return Err(Error::invalid_argument(
                "cache shard",
                format!("row range {start}..{end} outside 0..{}", self.rows()),
            ));
        }
        let mut entries = Vec::new();
        let mut blobs = Vec::new();
        let mut offset = 0usize;
        for (name, t) in self.arrays() {
            let part = t
                .f_narrow(0, start, rows)?
                .f_contiguous()?
                .f_to_kind(Kind::Float)?;
            let shape = part.size();
            let numel = part.numel();
            let mut values = vec![0f32; numel];
            part.f_copy_data(&mut values, numel)?;
            let mut bytes = Vec::with_capacity(numel * 4);
            for v in values {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            entries.push(ArrayEntry {
                name,
                shape,
                offset,
            });
            offset += bytes.len();
            blobs.push(bytes);
        }
        let header = Header {
            version: 1,
            key: key.to_string(),
            row_start: start,
            rows,
            arrays: entries,
        };
        let header_bytes = serde_json::to_vec(&header)?;
        let data_start = (16 + header_bytes.len()).div_ceil(ALIGN) * ALIGN;

        let tmp = path.with_extension("jbc.tmp");
        let mut file = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut head = Vec::with_capacity(data_start);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
        head.extend_from_slice(&header_bytes);
        head.resize(data_start, 0);
        file.write_all(&head).map_err(|e| Error::io(&tmp, e))?;
        for b in blobs {
            file.write_all(&b).map_err(|e| Error::io(&tmp, e))?;
        }
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    /// Writes all rows as one shard `<dir>/<key>.0-<n>.jbc`; returns its path.
    pub fn write(&self, dir: &Path, key: &str) -> Result<PathBuf> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let n = self.rows();
        let path = dir.join(format!("{key}.0-{n}.jbc"));
        self.write_shard(&path, key, 0, n)?;
        Ok(path)
    }

    /// Reads the shards of `key` in `dir` when together they cover rows `0..n` exactly;
    /// `Ok(None)` when no complete set is present (a cache miss).
    pub fn read(dir: &Path, key: &str, n: i64) -> Result<Option<TeacherOutputs>> {
        let Ok(listing) = fs::read_dir(dir) else {
            return Ok(None);
        };
        let prefix = format!("{key}.");
        let mut shards = Vec::new();
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(&prefix) && name.ends_with(".jbc") {
                shards.push(read_shard(&entry.path())?);
            }
        }
        shards.sort_by_key(|s| s.0.row_start);
        let mut next = 0;
        let mut parts: Vec<BTreeMap<String, Tensor>> = Vec::new();
        for (header, arrays) in shards {
            if header.key != key {
                return Err(Error::invalid_input(
                    "teacher cache",
                    format!("shard key {} is not {key}", header.key),
                ));
            }
            if header.row_start != next {
                return Ok(None);
            }
            next += header.rows;
            parts.push(arrays);
        }
        if next != n || parts.is_empty() {
            return Ok(None);
        }
        let cat = |name: &str| -> Result<Option<Tensor>> {
            let list: Vec<&Tensor> = parts.iter().filter_map(|p| p.get(name)).collect();
            if list.is_empty() {
                return Ok(None);
            }
            if list.len() != parts.len() {
                return Err(Error::invalid_input(
                    "teacher cache",
                    format!("array {name} missing in some shards"),
                ));
            }
            Ok(Some(Tensor::f_cat(&list, 0)?))
        };
        let pooled = cat("pooled")?
            .ok_or_else(|| Error::invalid_input("teacher cache", "array pooled missing"))?;
        let logits = cat("logits")?;
        let mut hidden = BTreeMap::new();
        for name in parts[0].keys().filter(|k| k.starts_with("hidden.")) {
            let layer: usize = name["hidden.".len()..].parse().map_err(|_| {
                Error::invalid_input("teacher cache", format!("bad array name {name}"))
            })?;
            if let Some(t) = cat(name)? {
                hidden.insert(layer, t);
            }
        }
        Ok(Some(TeacherOutputs {
            pooled,
            logits,
            hidden,
            attentions: BTreeMap::new(),
        }))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ArrayEntry {
    name: String,
    shape: Vec<i64>,
    offset: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    version: u32,
    key: String,
    row_start: i64,
    rows: i64,
    arrays: Vec<ArrayEntry>,
}

fn read_shard(path: &Path) -> Result<(Header, BTreeMap<String, Tensor>)> {
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only and dropped before this function returns; cache files are
    // written to a temporary name and renamed, so a file is never modified while mapped by a
    // well-behaved writer.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    if map.len() < 16 || &map[..8] != MAGIC {
        return Err(Error::invalid_input(
            &name,
            "not a teacher cache file (bad magic)",
        ));
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&map[8..16]);
    let header_len = u64::from_le_bytes(len_bytes) as usize;
    if 16 + header_len > map.len() {
        return Err(Error::invalid_input(
            &name,
            format!("header length {header_len} past end of file"),
        ));
    }
    let header: Header = serde_json::from_slice(&map[16..16 + header_len])
        .map_err(|e| Error::invalid_input(&name, format!("bad header: {e}")))?;
    if header.version != 1 {
        return Err(Error::invalid_input(
            &name,
            format!("unsupported version {}", header.version),
        ));
    }
    let data_start = (16 + header_len).div_ceil(ALIGN) * ALIGN;
    let mut arrays = BTreeMap::new();
    for a in &header.arrays {
        if a.shape.first() != Some(&header.rows) || a.shape.iter().any(|d| *d < 0) {
            return Err(Error::invalid_input(
                &name,
                format!(
                    "array {} has shape {:?} for {} rows",
                    a.name, a.shape, header.rows
                ),
            ));
        }
        let numel: i64 = a.shape.iter().product();
        let begin = data_start + a.offset;
        let end = begin + numel as usize * 4;
        if end > map.len() {
            return Err(Error::invalid_input(
                &name,
                format!("array {} runs past end of file", a.name),
            ));
        }
        let values: Vec<f32> = map[begin..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        arrays.insert(
            a.name.clone(),
            Tensor::from_slice(&values).f_reshape(&a.shape)?,
        );
    }
    Ok((header, arrays))
}

/// A fingerprint of the teacher's files: for each file under `path` (recursively, sorted),
/// its relative name, size and modification time. Cheap (no file is read) and changes when
/// any weight file is replaced.
pub fn teacher_fingerprint(path: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(path.display().to_string().as_bytes());
    for f in files {
        let meta = fs::metadata(&f).map_err(|e| Error::io(&f, e))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hasher.update(format!("{}|{}|{}\n", f.display(), meta.len(), mtime).as_bytes());
    }
    Ok(hex(&hasher.finalize()))
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        collect_files(&entry.path(), out)?;
    }
    Ok(())
}

/// Builder of a cache key: SHA-256 over labelled parts, hex-encoded.
#[derive(Default)]
pub struct CacheKey {
    hasher: Sha256,
}

impl CacheKey {
    /// An empty key.
    pub fn new() -> Self {
        CacheKey::default()
    }

    /// Adds a named text part.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.hasher
            .update(format!("{name}={}:{value};", value.len()).as_bytes());
        self
    }

    /// Adds a named list of token-id rows.
    pub fn rows(mut self, name: &str, rows: &[Vec<i64>]) -> Self {
        self.hasher
            .update(format!("{name}#{};", rows.len()).as_bytes());
        for r in rows {
            self.hasher.update((r.len() as u64).to_le_bytes());
            for id in r {
                self.hasher.update(id.to_le_bytes());
            }
        }
        self
    }

    /// Adds a named list of feature rows.
    pub fn features(mut self, name: &str, rows: &[Vec<f32>]) -> Self {
        self.hasher
            .update(format!("{name}#{};", rows.len()).as_bytes());
        for r in rows {
            self.hasher.update((r.len() as u64).to_le_bytes());
            for v in r {
                self.hasher.update(v.to_le_bytes());
            }
        }
        self
    }

    /// The hex digest.
    pub fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
