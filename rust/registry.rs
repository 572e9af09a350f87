//! Teachers by name: the local model directory and how names resolve in it.
//!
//! A teacher is given as a path (a Hugging Face style directory holding `config.json`, or a
//! TorchScript `.pt` file) or as a name. Names resolve in the model home, never over the
//! network: `$JBOLT_MODEL_HOME`, else `~/.jbolt/models`. A name `N` matches the entry
//! `<home>/N` (a directory with `config.json`, or a symbolic link to one) or `<home>/N.pt`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// The environment variable that overrides the model home.
pub const MODEL_HOME_ENV: &str = "JBOLT_MODEL_HOME";

/// What kind of teacher a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeacherFormat {
    /// A Hugging Face style directory (`config.json`, `model.safetensors`, `tokenizer.json`).
    HfDirectory,
    /// A TorchScript file.
    #[serde(rename = "torchscript")]
    TorchScript,
}

/// One model found in the model home.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEntry {
    /// The name it resolves by.
    pub name: String,
    /// Its path (links are not followed in the name, but are in `format`).
    pub path: String,
    /// Its format.
    pub format: TeacherFormat,
}

/// The model home: `$JBOLT_MODEL_HOME`, else `~/.jbolt/models`.
pub fn model_home() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODEL_HOME_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".jbolt").join("models")
}

/// The format of `path`, or `None` when it is neither kind of teacher.
pub fn format_of(path: &Path) -> Option<TeacherFormat> {
    if path.is_dir() && path.join("config.json").is_file() {
        Some(TeacherFormat::HfDirectory)
    } else if path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pt") || e.eq_ignore_ascii_case("pth"))
    {
        Some(TeacherFormat::TorchScript)
    } else {
        None
    }
}

/// Lists the models in `home` (an absent directory lists nothing), sorted by name.
pub fn list_models_in(home: &Path) -> Result<Vec<ModelEntry>> {
    let entries = match std::fs::read_dir(home) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(home, e)),
    };
    let mut models = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(home, e))?.path();
        let Some(format) = format_of(&path) else {
            continue;
        };
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let name = match format {
            TeacherFormat::HfDirectory => file_name.to_string(),
            TeacherFormat::TorchScript => path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        };
        models.push(ModelEntry {
            name,
            path: path.display().to_string(),
            format,
        });
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// Lists the models in [`model_home`].
pub fn list_models() -> Result<Vec<ModelEntry>> {
    list_models_in(&model_home())
}

/// Resolves a teacher given as a path or a name in `home` to its path and format.
///
/// An existing path wins. A name that matches nothing is [`Error::NotFound`] naming the
/// directory searched and the names found there; a path that exists but is neither kind of
/// teacher is [`Error::InvalidArgument`] on field `teacher`.
pub fn resolve_in(teacher: &str, home: &Path) -> Result<(PathBuf, TeacherFormat)> {
    let given = PathBuf::from(teacher);
    if given.exists() {
        return format_of(&given)
            .map(|f| (given.clone(), f))
            .ok_or_else(|| {
                Error::invalid_argument(
                    "teacher",
                    format!(
                        "{} is neither a model directory with config.json nor a TorchScript .pt \
                     file",
                        given.display()
                    ),
                )
            });
    }
    let looks_like_name = !teacher.contains('/') && !teacher.contains('\\');
    if looks_like_name {
        for candidate in [home.join(teacher), home.join(format!("{teacher}.pt"))] {
            if let Some(format) = format_of(&candidate) {
                return Ok((candidate, format));
            }
        }
    }
    let names: Vec<String> = list_models_in(home)?.into_iter().map(|m| m.name).collect();
    let found = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    Err(Error::NotFound(format!(
        "teacher {teacher:?}: no such file or directory, and no model of that name in {} \
         (set {MODEL_HOME_ENV} to change it); models found: {found}",
        home.display()
    )))
}

/// Resolves a teacher in [`model_home`] (see [`resolve_in`]).
pub fn resolve(teacher: &str) -> Result<(PathBuf, TeacherFormat)> {
    resolve_in(teacher, &model_home())
}
