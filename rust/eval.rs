//! Metrics from predictions, model sizes and latency.
//!
//! Conventions (the same as scikit-learn's `precision_recall_fscore_support` with
//! `zero_division=0`): precision of a class never predicted is 0, recall of a class without
//! true rows is 0, F1 is 0 when precision and recall are both 0. Macro-F1 is the unweighted
//! mean of the per-class F1 over the classes that occur in the true labels or the
//! predictions (scikit-learn's default label set); classes that occur in neither are
//! reported with zero support and left out of the mean.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Correct predictions of this class over all predictions of it.
    pub precision: f64,
    /// Correct predictions of this class over all its true rows.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of true rows of this class.
    pub support: usize,
    /// Number of rows predicted as this class.
    pub predicted: usize,
}

/// Classification metrics over one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Number of rows.
    pub n: usize,
    /// Share of rows predicted correctly.
    pub accuracy: f64,
    /// Mean F1 over the classes present in the truth or the predictions.
    pub macro_f1: f64,
    /// Per-class metrics, indexed by class.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]` row counts.
    pub confusion: Vec<Vec<usize>>,
}

/// Checks two label vectors for equal length, non-emptiness and class range.
fn check_pairs(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<()> {
    if y_true.len() != y_pred.len() {
        return Err(Error::invalid_argument(
            "predictions",
            format!(
                "has {} entries for {} true labels",
                y_pred.len(),
                y_true.len()
            ),
        ));
    }
    if y_true.is_empty() {
        return Err(Error::invalid_argument(
            "predictions",
            "is empty; metrics need at least one row",
        ));
    }
    for (name, values) in [("labels", y_true), ("predictions", y_pred)] {
        if let Some((i, v)) = values.iter().enumerate().find(|(_, &v)| v >= n_classes) {
            return Err(Error::invalid_argument(
                name,
                format!("entry {i} is class {v}, outside 0..{n_classes}"),
            ));
        }
    }
    Ok(())
}

/// The confusion matrix `confusion[true][predicted]` over `n_classes` classes.
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Vec<Vec<usize>>> {
    check_pairs(y_true, y_pred, n_classes)?;
    let mut confusion = vec![vec![0usize; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        confusion[t][p] += 1;
    }
    Ok(confusion)
}

/// Accuracy, macro-F1, per-class metrics and the confusion matrix.
///
/// Fails with [`Error::InvalidArgument`] when the vectors differ in length, are empty, or hold
/// a class at or above `n_classes`.
pub fn classification_metrics(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Metrics> {
    let confusion = confusion_matrix(y_true, y_pred, n_classes)?;
    let n = y_true.len();
    let correct: usize = (0..n_classes).map(|c| confusion[c][c]).sum();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };

    let mut per_class = Vec::with_capacity(n_classes);
    let mut f1_sum = 0.0;
    let mut present = 0usize;
    for c in 0..n_classes {
        let tp = confusion[c][c];
        let support: usize = confusion[c].iter().sum();
        let predicted: usize = confusion.iter().map(|row| row[c]).sum();
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        if support > 0 || predicted > 0 {
            f1_sum += f1;
            present += 1;
        }
        per_class.push(ClassMetrics {
            precision,
            recall,
            f1,
            support,
            predicted,
        });
    }
    Ok(Metrics {
        n,
        accuracy: ratio(correct, n),
        macro_f1: if present == 0 {
            0.0
        } else {
            f1_sum / present as f64
        },
        per_class,
        confusion,
    })
}

/// Share of rows where `y_pred` equals `y_true`.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    let n_classes = y_true.iter().chain(y_pred).max().map_or(0, |m| m + 1);
    Ok(classification_metrics(y_true, y_pred, n_classes)?.accuracy)
}

/// Macro-F1 (see the module documentation for the convention).
pub fn macro_f1(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    let n_classes = y_true.iter().chain(y_pred).max().map_or(0, |m| m + 1);
    Ok(classification_metrics(y_true, y_pred, n_classes)?.macro_f1)
}

/// Share of rows on which two models predict the same class (for example teacher and student,
/// or fp32 and int8 student). Fails when the lengths differ or the vectors are empty.
pub fn agreement(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::invalid_argument(
            "predictions",
            format!(
                "agreement needs equal lengths, got {} and {}",
                a.len(),
                b.len()
            ),
        ));
    }
    if a.is_empty() {
        return Err(Error::invalid_argument(
            "predictions",
            "agreement needs at least one row",
        ));
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    Ok(same as f64 / a.len() as f64)
}

/// Keeps the rows that have a label: returns `(y_true, y_pred)` for them.
///
/// Fails when the lengths differ.
pub fn labelled_pairs(
    labels: &[Option<usize>],
    predictions: &[usize],
) -> Result<(Vec<usize>, Vec<usize>)> {
    if labels.len() != predictions.len() {
        return Err(Error::invalid_argument(
            "predictions",
            format!(
                "has {} entries for {} rows",
                predictions.len(),
                labels.len()
            ),
        ));
    }
    Ok(labels
        .iter()
        .zip(predictions)
        .filter_map(|(l, &p)| l.map(|t| (t, p)))
        .unzip())
}

/// Index of the largest value in each row of a row-major `rows x cols` matrix (ties go to the
/// lowest index; NaN never wins). Fails when `values.len()` is not `rows * cols` or `cols` is 0.
pub fn argmax_rows(values: &[f32], cols: usize) -> Result<Vec<usize>> {
    if cols == 0 || values.len() % cols != 0 {
        return Err(Error::invalid_argument(
            "logits",
            format!("{} values do not form rows of {cols} columns", values.len()),
        ));
    }
    Ok(values
        .chunks(cols)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] || row[best].is_nan() && !v.is_nan() {
                    best = i;
                }
            }
            best
        })
        .collect())
}

/// Number of scalar parameters in a variable store (trainable or not).
pub fn parameter_count(vs: &tch::nn::VarStore) -> usize {
    vs.variables().values().map(|t| t.numel()).sum()
}

/// Bytes the variable store's tensors take in memory (element count times element size).
pub fn parameter_bytes(vs: &tch::nn::VarStore) -> usize {
    vs.variables()
        .values()
        .map(|t| t.numel() * t.kind().elt_size_in_bytes())
        .sum()
}

/// Total size in bytes of the regular files under `path` (recursively; symbolic links are not
/// followed). A file path gives its own size.
pub fn dir_size_bytes(path: &Path) -> Result<u64> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    if !meta.is_dir() {
        return Ok(0);
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        total += dir_size_bytes(&entry.path())?;
    }
    Ok(total)
}

/// Median wall time of a batch at batch size 1 and 32, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median milliseconds for one batch of one row.
    pub ms_batch1: f64,
    /// Median milliseconds for one batch of 32 rows.
    pub ms_batch32: f64,
}

/// Runs `run` `warmup` times untimed, then `iterations` times timed, and returns the median
/// milliseconds per call. Fails when `iterations` is 0 or `run` fails.
pub fn median_ms<F: FnMut() -> Result<()>>(
    mut run: F,
    warmup: usize,
    iterations: usize,
) -> Result<f64> {
    if iterations == 0 {
        return Err(Error::invalid_argument(
            "iterations",
            "must be at least 1, got 0",
        ));
    }
    for _ in 0..warmup {
        run()?;
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        run()?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    Ok(if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2.0
    })
}

/// Measures `run(batch_size)` at batch sizes 1 and 32 (see [`median_ms`]).
///
/// `run` receives the batch size and must process one batch of that many rows.
pub fn measure_latency<F: FnMut(usize) -> Result<()>>(
    mut run: F,
    warmup: usize,
    iterations: usize,
) -> Result<Latency> {
    let ms_batch1 = median_ms(|| run(1), warmup, iterations)?;
    let ms_batch32 = median_ms(|| run(32), warmup, iterations)?;
    Ok(Latency {
        ms_batch1,
        ms_batch32,
    })
}
