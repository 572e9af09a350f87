//! Training checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! A checkpoint is a directory `<checkpoint_dir>/step-<8 digits>/` holding
//!
//! - `state.json`: [`CheckpointState`] (step, epoch, position in the epoch's batch order,
//!   optimizer step count, best-so-far validation result, the run's fingerprint);
//! - `model.safetensors`: the student's variables (and the alignment projection, prefixed
//!   `aux.`);
//! - `optimizer.safetensors`: AdamW's moments (`m.<var>`, `v.<var>`);
//! - `best.safetensors`: the best-so-far student weights, when early stopping has kept any.
//!
//! Random state needs no file: dropout masks are drawn after seeding torch with a value
//! derived from `(seed, step)` at every step, and the data order of an epoch from
//! `(seed, epoch)`, so the step and epoch recorded here reproduce both.
//!
//! Writing goes to `.tmp-step-<n>` and is then renamed, so a crash mid-write leaves the
//! previous checkpoint intact; older checkpoints are removed only after the rename.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};

/// Progress of a training run, as saved in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Format version (1).
    pub version: u32,
    /// Hash of the settings and data that must match for a resume to be exact.
    pub fingerprint: String,
    /// Optimizer steps done.
    pub step: usize,
    /// Current epoch, 0-based.
    pub epoch: usize,
    /// Batches of the current epoch already done.
    pub cursor: usize,
    /// AdamW's step count (bias correction).
    pub optimizer_step: i64,
    /// Best validation accuracy so far.
    pub best_val_accuracy: Option<f64>,
    /// Epoch (1-based) at which the best weights were seen.
    pub best_epoch: usize,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
    /// True when early stopping has ended the run.
    pub stopped: bool,
    /// How random numbers are reproduced (informational).
    pub rng: String,
}

/// A checkpoint read back from disk.
pub struct Checkpoint {
    /// Its directory.
    pub path: PathBuf,
    /// Its progress record.
    pub state: CheckpointState,
    /// Model variables by name (auxiliary ones prefixed `aux.`).
    pub model: BTreeMap<String, Tensor>,
    /// Optimizer moments by name.
    pub optimizer: BTreeMap<String, Tensor>,
    /// Best-so-far weights, if any.
    pub best: Option<BTreeMap<String, Tensor>>,
}

fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let list: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| Ok((k.clone(), t.f_detach()?.f_contiguous()?)))
        .collect::<Result<_>>()?;
    Tensor::write_safetensors(&list, path)
        .map_err(|e| Error::from(e).torch_context(&format!("writing {}", path.display())))
}

fn read_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    let list = Tensor::read_safetensors(path)
        .map_err(|e| Error::from(e).torch_context(&format!("reading {}", path.display())))?;
    Ok(list.into_iter().collect())
}

/// Writes a checkpoint for `state.step` into `dir` atomically and removes older ones.
pub fn save(
    dir: &Path,
    state: &CheckpointState,
    model: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
    best: Option<&[(String, Tensor)]>,
) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = format!("step-{:08}", state.step);
    let tmp = dir.join(format!(".tmp-{name}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    write_tensors(&tmp.join("model.safetensors"), model)?;
    write_tensors(&tmp.join("optimizer.safetensors"), optimizer)?;
    if let Some(best) = best {
        write_tensors(&tmp.join("best.safetensors"), best)?;
    }
    let json = serde_json::to_string_pretty(state)?;
    let state_path = tmp.join("state.json");
    fs::write(&state_path, json).map_err(|e| Error::io(&state_path, e))?;

    let target = dir.join(&name);
    if target.exists() {
        fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
    }
    fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
    for old in list(dir)? {
        if old != target {
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
    }
    // A process killed while writing leaves its `.tmp-step-*` directory behind; no writer of
    // this directory is running now (one run owns it), so any left is stale.
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-step-")
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    log::debug!("checkpoint written to {}", target.display());
    Ok(target)
}

/// Complete checkpoint directories in `dir`, oldest first.
fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(found);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("step-") && entry.path().join("state.json").is_file() {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Reads the latest complete checkpoint in `dir`, or `None` when there is none.
pub fn load_latest(dir: &Path) -> Result<Option<Checkpoint>> {
    let Some(path) = list(dir)?.pop() else {
        return Ok(None);
    };
    let state_path = path.join("state.json");
    let text = fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: CheckpointState = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(
            state_path.display().to_string(),
            format!("bad checkpoint state: {e}"),
        )
    })?;
    let model = read_tensors(&path.join("model.safetensors"))?;
    let optimizer = read_tensors(&path.join("optimizer.safetensors"))?;
    let best_path = path.join("best.safetensors");
    let best = if best_path.is_file() {
        Some(read_tensors(&best_path)?)
    } else {
        None
    };
    Ok(Some(Checkpoint {
        path,
        state,
        model,
        optimizer,
        best,
    }))
}
