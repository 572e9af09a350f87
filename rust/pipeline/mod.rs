//! One distillation run end to end, and the evaluation of a saved bundle.
//!
//! [`distill`]: read and split the data; load the teacher; run it once over every split and
//! keep its outputs (the teacher-output cache, on disk when `training.cache_dir` is set);
//! fit a head on the frozen features when the teacher has none; measure the teacher; build
//! the student (from the teacher's layers when asked) and release the teacher (unless the run
//! is online); train the student, and the hard-label baseline when asked; write the bundle,
//! quantize it and check the int8 student against the fp32 one on the validation split;
//! evaluate teacher and student on the test split through the saved bundle; write
//! `metrics.json`. Every stage sends an event; the listener's `false` cancels the run.

mod head;
mod teacher;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use tch::{nn, Device, Tensor};

use crate::bundle::{self, BundleMeta};
use crate::config::{
    parse_device, AlignmentLoss, DeviceSpec, DistillRequest, EvalRequest, QuantSettings, QuantType,
    StudentSpec,
};
use crate::data::{self, Dataset, InputKind, LabelSet};
use crate::distill::batch::Inputs;
use crate::distill::cache::{teacher_fingerprint, CacheKey, TeacherOutputs};
use crate::distill::events::{Event, Stage};
use crate::distill::loss::{AttentionLossKind, HiddenLossKind, LayerMap};
use crate::distill::trainer::{
    self, AlignmentConfig, AttentionConfig, Split, Targets, TrainMode, TrainerConfig,
};
use crate::error::{Error, Result};
use crate::eval::{self, Latency};
use crate::models::student::{MlpConfig, MlpStudent, Student};
use crate::models::transformer::{build_transformer_student, StudentInit};
use crate::registry::{self, TeacherFormat};
use crate::serve::Predictor;

pub use head::{fit_head, HeadFit, LinearHead};
pub use teacher::Teacher;

/// Rows per teacher forward pass when filling the cache.
const TEACHER_BATCH: usize = 32;
/// Untimed and timed repetitions of each latency measurement.
const LATENCY_WARMUP: usize = 2;
const LATENCY_RUNS: usize = 7;

/// Wall-clock seconds per stage.
#[derive(Debug, Default, Clone, Copy)]
struct Seconds {
    load: f64,
    teacher_head: f64,
    teacher_cache: f64,
    train: f64,
    baseline: f64,
    quantize: f64,
    evaluate: f64,
    save: f64,
}

/// Sends events and turns a `false` from the listener into [`Error::Cancelled`].
struct Progress<'a> {
    on_event: &'a mut dyn FnMut(&Event) -> bool,
}

impl Progress<'_> {
    fn stage(&mut self, stage: Stage, message: impl Into<String>) -> Result<()> {
        let event = Event::stage(stage).with_message(message);
        log::info!(
            "{}: {}",
            serde_json::to_value(stage)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            event.message.as_deref().unwrap_or("")
        );
        if (self.on_event)(&event) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

/// The device a request names.
pub fn device_of(name: &str, field: &str) -> Result<Device> {
    match parse_device(name).map_err(|m| Error::invalid_argument(field, m))? {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(i) => {
            if tch::Cuda::is_available() && (i as i64) < tch::Cuda::device_count() {
                Ok(Device::Cuda(i))
            } else {
                Err(Error::invalid_argument(
                    field,
                    format!(
                        "device {name:?} is not available: this build of the library runs on \
                         the CPU only (found {} CUDA devices); use \"cpu\"",
                        tch::Cuda::device_count()
                    ),
                ))
            }
        }
    }
}

/// Runs the distillation `request`, sending progress to `on_event` (`false` cancels).
///
/// Returns the report; its fields are listed in the README (`dataset`, `n_train`,
/// `n_validation`, `n_test`, `labels`, `teacher` and `student` objects with `params`,
/// `bytes`, `accuracy`, `macro_f1`, `latency_ms_batch1`, `latency_ms_batch32`,
/// `accuracy_retention`, `size_reduction`, `speedup_batch1`, `speedup_batch32`, `agreement`,
/// `baseline_hard_label_accuracy`, `quantization`, `training`, `seconds`, `bundle`). The same
/// report is written to the bundle's `metrics.json`.
pub fn distill(
    request: &DistillRequest,
    on_event: &mut dyn FnMut(&Event) -> bool,
) -> Result<Value> {
    request.validate()?;
    bundle::check_replaceable(Path::new(&request.output_dir))?;
    let started = Instant::now();
    let mut secs = Seconds::default();
    let mut progress = Progress { on_event };
    let settings = &request.training;
    if let Some(threads) = settings.threads {
        tch::set_num_threads(threads as i32);
    }
    let device = device_of(&settings.device, "training.device")?;

    // ---- data and teacher ------------------------------------------------------------------
    let t = Instant::now();
    progress.stage(Stage::Load, format!("reading {}", request.train.name()))?;
    let data = data::prepare_request(request)?;
    let text = data.train.kind() == InputKind::Text;
    let (teacher_path, format) = registry::resolve(&request.teacher)?;
    if settings.attention_alignment && format == TeacherFormat::TorchScript {
        return Err(teacher::script_attention_error(&teacher_path));
    }
    let mut teacher = Teacher::load(&teacher_path, format, device, settings.max_length, text)?;
    let num_labels = data.labels.len() as i64;
    if let Some(own) = teacher.own_labels() {
        if own.len() as i64 != num_labels {
            return Err(Error::invalid_input(
                teacher_path.display().to_string(),
                format!(
                    "the teacher's head has {} classes [{}] but the data has {} labels [{}]",
                    own.len(),
                    own.join(", "),
                    num_labels,
                    data.labels.names().join(", ")
                ),
            ));
        }
    }
    let train_inputs = teacher.encode(&data.train)?;
    let val_inputs = teacher.encode(&data.validation)?;
    let test_inputs = teacher.encode(&data.test)?;
    let train_labels = label_ids(&data.train);
    let val_labels = label_ids(&data.validation);
    let test_labels = label_ids(&data.test);
    secs.load = t.elapsed().as_secs_f64();
    progress.stage(
        Stage::Load,
        format!(
            "{} classes; {} training, {} validation, {} test rows ({} duplicates dropped); \
             teacher {}",
            num_labels,
            data.train.len(),
            data.validation.len(),
            data.test.len(),
            data.duplicates_dropped,
            teacher_path.display()
        ),
    )?;

    // ---- student shape (needed to know which teacher hidden states to keep) ---------------
    let student_layers = match &request.student {
        StudentSpec::Transformer(t) => t.layers,
        StudentSpec::Mlp(m) => m.hidden_sizes.len().max(1),
    };
    let alignment = alignment_config(request, &teacher, student_layers)?;
    let attention = attention_config(request, &teacher);
    let attention_wanted: Vec<usize> = match &attention {
        Some(a) => a
            .layer_pairs(student_layers)?
            .into_iter()
            .map(|(_, t)| t)
            .collect(),
        None => Vec::new(),
    };
    let hidden_wanted: Vec<usize> = match &alignment {
        Some(a) => a
            .layer_map
            .pairs(student_layers, a.teacher_layers)?
            .into_iter()
            .map(|(_, t)| t)
            .collect(),
        None => Vec::new(),
    };

    // ---- teacher outputs, once ---------------------------------------------------------------
    let t = Instant::now();
    progress.stage(
        Stage::TeacherCache,
        format!(
            "running the teacher once over {} rows",
            data.train.len() + data.validation.len() + data.test.len()
        ),
    )?;
    let cache_dir = settings.cache_dir.as_ref().map(PathBuf::from);
    let fingerprint = teacher_fingerprint(&teacher_path)?;
    let run_teacher = |teacher: &Teacher,
                       inputs: &Inputs,
                       hidden: &[usize],
                       split: &str,
                       progress: &mut Progress<'_>|
     -> Result<Option<TeacherOutputs>> {
        if inputs.is_empty() {
            return Ok(None);
        }
        let key = cache_key(&fingerprint, inputs, hidden, settings.max_length, split);
        if let Some(dir) = &cache_dir {
            if let Some(hit) = TeacherOutputs::read(dir, &key, inputs.len() as i64)? {
                log::info!(
                    "teacher outputs for the {split} split read from {}",
                    dir.display()
                );
                return Ok(Some(hit));
            }
        }
        let labels = vec![-1i64; inputs.len()];
        let outputs = TeacherOutputs::compute(
            inputs.len(),
            TEACHER_BATCH,
            settings.max_length as i64,
            &mut |start, end| {
                // Each batch reports its progress, which is also where a cancel lands.
                let mut event = Event::stage(Stage::TeacherCache);
                event.step = start;
                event.total_steps = inputs.len();
                if !(progress.on_event)(&event) {
                    return Err(Error::Cancelled);
                }
                let rows: Vec<usize> = (start..end).collect();
                let batch = inputs.batch(&rows, &labels)?;
                teacher.forward(&batch, hidden)
            },
        )?;
        if let Some(dir) = &cache_dir {
            let path = outputs.write(dir, &key)?;
            log::info!(
                "teacher outputs for the {split} split cached in {}",
                path.display()
            );
        }
        Ok(Some(outputs))
    };
    let mut train_out = run_teacher(
        &teacher,
        &train_inputs,
        &hidden_wanted,
        "train",
        &mut progress,
    )?
    .ok_or_else(|| Error::invalid_input(data.name.clone(), "no training rows"))?;
    let mut val_out = run_teacher(&teacher, &val_inputs, &[], "validation", &mut progress)?;
    let mut test_out = run_teacher(&teacher, &test_inputs, &[], "test", &mut progress)?;
    secs.teacher_cache = t.elapsed().as_secs_f64();

    // ---- a head for a teacher without one ----------------------------------------------------
    let head_kind = if teacher.has_own_logits() {
        "own"
    } else {
        "fitted"
    };
    let mut head_fit: Option<HeadFit> = None;
    if !teacher.has_own_logits() {
        let t = Instant::now();
        progress.stage(
            Stage::TeacherHead,
            "the teacher has no classification head: fitting one on its frozen features",
        )?;
        let val = val_out.as_ref().map(|v| (&v.pooled, val_labels.as_slice()));
        let (head, fit) = fit_head(
            &train_out.pooled,
            &train_labels,
            val,
            num_labels,
            settings.seed,
        )?;
        for out in [Some(&mut train_out), val_out.as_mut(), test_out.as_mut()]
            .into_iter()
            .flatten()
        {
            out.logits = Some(tch::no_grad(|| head.forward(&out.pooled))?);
        }
        teacher.set_head(head);
        secs.teacher_head = t.elapsed().as_secs_f64();
        progress.stage(
            Stage::TeacherHead,
            format!(
                "head fitted on frozen teacher features: train accuracy {:.4}, validation \
                 accuracy {}",
                fit.train_accuracy,
                fit.val_accuracy
                    .map_or("n/a".to_string(), |a| format!("{a:.4}"))
            ),
        )?;
        head_fit = Some(fit);
    }
    check_teacher_classes(&train_out, num_labels, &teacher_path)?;

    // ---- the teacher measured, then the student built --------------------------------------
    let t = Instant::now();
    let teacher_test = test_out
        .as_ref()
        .map(|o| -> Result<Vec<usize>> { argmax(o.logits.as_ref()) })
        .transpose()?;
    let latency_inputs = if !test_inputs.is_empty() {
        &test_inputs
    } else {
        &train_inputs
    };
    let teacher_latency = measure(
        |rows| {
            let labels = vec![-1i64; rows.len()];
            let batch = latency_inputs.batch(rows, &labels)?;
            let _ = teacher.forward(&batch, &[])?;
            Ok(())
        },
        latency_inputs.len(),
    )?;
    let teacher_params = teacher.param_count()?;
    let teacher_bytes = teacher.weight_bytes()?;
    secs.evaluate += t.elapsed().as_secs_f64();

    tch::manual_seed(settings.seed as i64);
    let student_vs = nn::VarStore::new(device);
    let tokens = TokenInfo::of(&teacher);
    let student = build_student(
        request,
        Some(&teacher),
        tokens.as_ref(),
        &data,
        &train_inputs,
        &student_vs,
    )?;
    // Attention maps are never cached: attention alignment runs the teacher on every batch.
    let online = settings.online || attention.is_some();
    let tokenizer_path = teacher.tokenizer.as_ref().map(|t| t.path().to_path_buf());
    let teacher_name = teacher.name();
    let held_teacher = if online {
        Some(teacher)
    } else {
        drop(teacher);
        log::info!("teacher released; its outputs are cached");
        None
    };

    // ---- training ------------------------------------------------------------------------------
    let t = Instant::now();
    let distill_config = trainer_config(
        request,
        alignment.clone(),
        attention.clone(),
        TrainMode::Distill,
        "",
    )?;
    let summary = {
        let val_split = (!val_inputs.is_empty()).then_some(Split {
            inputs: &val_inputs,
            labels: &val_labels,
        });
        let mut online_fn;
        let targets = match &held_teacher {
            Some(teacher) => {
                let hidden = hidden_wanted.clone();
                let attention_layers = attention_wanted.clone();
                online_fn = move |batch: &crate::distill::batch::Batch| -> Result<TeacherOutputs> {
                    let (out, attentions) =
                        teacher.forward_with_attentions(batch, &hidden, &attention_layers)?;
                    Ok(TeacherOutputs {
                        pooled: out.pooled,
                        logits: out.logits,
                        hidden: out.hidden,
                        attentions,
                    })
                };
                Targets::Online(&mut online_fn)
            }
            None => Targets::Cached(&train_out),
        };
        trainer::train(
            &student,
            &student_vs,
            &distill_config,
            Split {
                inputs: &train_inputs,
                labels: &train_labels,
            },
            val_split,
            targets,
            &mut *progress.on_event,
        )?
    };
    drop(held_teacher);
    secs.train = t.elapsed().as_secs_f64();

    // ---- baseline ------------------------------------------------------------------------------
    let mut baseline_accuracy = None;
    if settings.baseline {
        let t = Instant::now();
        progress.stage(
            Stage::Baseline,
            "training the same student architecture from random initialisation on hard labels \
             only, for comparison",
        )?;
        tch::manual_seed(settings.seed as i64);
        let base_vs = nn::VarStore::new(device);
        let base =
            build_baseline_student(request, tokens.as_ref(), &data, &train_inputs, &base_vs)?;
        let cfg = trainer_config(request, None, None, TrainMode::HardOnly, "baseline")?;
        let val_split = (!val_inputs.is_empty()).then_some(Split {
            inputs: &val_inputs,
            labels: &val_labels,
        });
        trainer::train(
            &base,
            &base_vs,
            &cfg,
            Split {
                inputs: &train_inputs,
                labels: &train_labels,
            },
            val_split,
            Targets::None,
            &mut *progress.on_event,
        )?;
        if !test_inputs.is_empty() {
            let logits = trainer::predict_logits(&base, &test_inputs, 64)?;
            baseline_accuracy = trainer::accuracy(&logits, &test_labels)?;
        }
        secs.baseline = t.elapsed().as_secs_f64();
    }

    // ---- bundle, quantization and its check -------------------------------------------------
    let t = Instant::now();
    progress.stage(
        Stage::Save,
        format!("writing the student to {}", request.output_dir),
    )?;
    let out_dir = PathBuf::from(&request.output_dir);
    let input = data.train.kind();
    let meta = BundleMeta {
        labels: data.labels.names().to_vec(),
        max_length: settings.max_length,
        teacher: teacher_name.clone(),
        input,
        metrics: Value::Null,
    };
    let fp32_settings = QuantSettings {
        kind: QuantType::None,
        ..request.quantization.clone()
    };
    bundle::save(
        &out_dir,
        &student,
        &student_vs,
        tokenizer_path.as_deref(),
        &meta,
        &fp32_settings,
    )?;
    secs.save = t.elapsed().as_secs_f64();
    let fp32 = Predictor::load(&out_dir)?;

    let mut quant_report = Value::Null;
    let mut fp32_report = None;
    let served = if request.quantization.kind == QuantType::Int8 {
        let t = Instant::now();
        progress.stage(Stage::Quantize, "quantizing the student to int8")?;
        let int8_dir = sibling(&out_dir, "int8")?;
        bundle::save(
            &int8_dir,
            &student,
            &student_vs,
            tokenizer_path.as_deref(),
            &meta,
            &request.quantization,
        )?;
        let int8 = Predictor::load(&int8_dir)?;
        let (check_inputs, check_labels, check_split) = if !val_inputs.is_empty() {
            (&val_inputs, &val_labels, "validation")
        } else {
            (&train_inputs, &train_labels, "training")
        };
        let p32 = argmax(Some(&logits_of(&fp32, check_inputs)?))?;
        let p8 = argmax(Some(&logits_of(&int8, check_inputs)?))?;
        let acc32 = accuracy_of(&p32, check_labels);
        let acc8 = accuracy_of(&p8, check_labels);
        let agree = eval::agreement(&p32, &p8)?;
        let drop_points = acc32 - acc8;
        secs.quantize = t.elapsed().as_secs_f64();
        quant_report = json!({
            "type": "int8",
            "embeddings": request.quantization.embeddings,
            "checked_on": check_split,
            "fp32_accuracy": acc32,
            "int8_accuracy": acc8,
            "accuracy_drop": drop_points,
            "agreement": agree,
            "max_accuracy_drop": request.quantization.max_accuracy_drop,
        });
        if drop_points > request.quantization.max_accuracy_drop {
            drop(int8);
            let _ = std::fs::remove_dir_all(&int8_dir);
            return Err(Error::invalid_argument(
                "quantization.max_accuracy_drop",
                format!(
                    "the int8 student lost {:.4} accuracy on the {check_split} split (fp32 \
                     {acc32:.4}, int8 {acc8:.4}, agreement {agree:.4}), more than the allowed \
                     {}; the fp32 student is kept at {}; raise the bound or turn quantization \
                     off",
                    drop_points,
                    request.quantization.max_accuracy_drop,
                    out_dir.display()
                ),
            ));
        }
        progress.stage(
            Stage::Quantize,
            format!(
                "int8 student: {check_split} accuracy {acc8:.4} (fp32 {acc32:.4}), agreement \
                 {agree:.4}"
            ),
        )?;
        fp32_report = Some(student_side(
            &fp32,
            &out_dir,
            &test_inputs,
            &test_labels,
            &data.test,
            num_labels,
        )?);
        drop(fp32);
        drop(int8);
        replace_dir(&int8_dir, &out_dir)?;
        Predictor::load(&out_dir)?
    } else {
        fp32
    };

    // ---- evaluation on the test split ----------------------------------------------------------
    let t = Instant::now();
    progress.stage(
        Stage::Evaluate,
        format!("evaluating on {} test rows", data.test.len()),
    )?;
    let student_eval = student_side(
        &served,
        &out_dir,
        &test_inputs,
        &test_labels,
        &data.test,
        num_labels,
    )?;
    let teacher_metrics = match &teacher_test {
        Some(pred) => metrics_of(pred, &data.test, num_labels)?,
        None => None,
    };
    let student_pred = student_eval.predictions.clone();
    let agreement = match (&teacher_test, &student_pred) {
        (Some(t), Some(s)) => Some(eval::agreement(t, s)?),
        _ => None,
    };
    secs.evaluate += t.elapsed().as_secs_f64();

    let student_params = eval::parameter_count(&student_vs) as i64;
    let teacher_json = json!({
        "name": teacher_name,
        "path": teacher_path.display().to_string(),
        "format": match format {
            TeacherFormat::HfDirectory => "hf_directory",
            TeacherFormat::TorchScript => "torchscript",
        },
        "head": head_kind,
        "head_fit": head_fit.as_ref().map(|f| json!({
            "train_accuracy": f.train_accuracy,
            "validation_accuracy": f.val_accuracy,
            "c": f.c,
        })),
        "params": teacher_params,
        "bytes": teacher_bytes,
        "accuracy": teacher_metrics.as_ref().map(|m| m.accuracy),
        "macro_f1": teacher_metrics.as_ref().map(|m| m.macro_f1),
        "latency_ms_batch1": teacher_latency.ms_batch1,
        "latency_ms_batch32": teacher_latency.ms_batch32,
    });
    let student_json =
        student_eval.to_json(&request.student, request.quantization.kind, student_params);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let report = json!({
        "dataset": data.name,
        "n_train": data.train.len(),
        "n_validation": data.validation.len(),
        "n_test": data.test.len(),
        "duplicates_dropped": data.duplicates_dropped,
        "labels": data.labels.names(),
        "teacher": teacher_json,
        "student": student_json,
        "student_fp32": fp32_report
            .map(|r| r.to_json(&request.student, QuantType::None, student_params)),
        "quantization": quant_report,
        "accuracy_retention": ratio(
            student_eval.metrics.as_ref().map(|m| m.accuracy),
            teacher_metrics.as_ref().map(|m| m.accuracy),
        ),
        "size_reduction": 1.0 - student_eval.bytes as f64 / teacher_bytes.max(1) as f64,
        "speedup_batch1": ratio(Some(teacher_latency.ms_batch1), Some(student_eval.latency.ms_batch1)),
        "speedup_batch32": ratio(Some(teacher_latency.ms_batch32), Some(student_eval.latency.ms_batch32)),
        "agreement": agreement,
        "baseline_hard_label_accuracy": baseline_accuracy,
        "training": {
            "steps": summary.steps,
            "epochs_run": summary.epochs_run,
            "best_val_accuracy": summary.best_val_accuracy,
            "best_epoch": summary.best_epoch,
            "stopped_early": summary.stopped_early,
            "resumed": summary.resumed,
            "online": online,
            "attention_alignment": attention.is_some(),
        },
        "seconds": {
            "load": secs.load,
            "teacher_head": secs.teacher_head,
            "teacher_cache": secs.teacher_cache,
            "train": secs.train,
            "baseline": secs.baseline,
            "quantize": secs.quantize,
            "evaluate": secs.evaluate,
            "save": secs.save,
            "total": started.elapsed().as_secs_f64(),
        },
        "bundle": std::fs::canonicalize(&out_dir)
            .unwrap_or_else(|_| out_dir.clone())
            .display()
            .to_string(),
    });
    bundle::write_metrics(&out_dir, &report)?;
    progress.stage(
        Stage::Done,
        format!("student written to {}", out_dir.display()),
    )?;
    Ok(report)
}

/// Evaluates the bundle in `model_dir` on the request's rows.
///
/// Returns `n`, `accuracy`, `macro_f1`, `per_class`, `confusion`, `labels`,
/// `latency_ms_batch1` and `latency_ms_batch32` (median milliseconds per batch, through the
/// same path as a prediction call: tokenization included).
pub fn evaluate(model_dir: &Path, request: &EvalRequest) -> Result<Value> {
    request.validate()?;
    if let Some(threads) = request.threads {
        tch::set_num_threads(threads as i32);
    }
    device_of(&request.device, "device")?;
    let predictor = Predictor::load(model_dir)?;
    let labels = LabelSet::from_ordered(predictor.labels().to_vec())?;
    let dataset = data::load_for_eval(&request.data, &labels)?;
    if dataset.is_empty() {
        return Err(Error::invalid_input(
            request.data.name(),
            "has no rows to evaluate on",
        ));
    }
    let mut predicted = Vec::with_capacity(dataset.len());
    let batch = request.batch_size;
    match dataset.inputs() {
        data::Inputs::Texts(texts) => {
            for chunk in texts.chunks(batch) {
                predicted.extend(predictor.predict_texts(chunk)?.into_iter().map(|p| p.index));
            }
        }
        data::Inputs::Features { values, dim } => {
            for chunk in values.chunks(batch * dim) {
                predicted.extend(
                    predictor
                        .predict_features(chunk, *dim)?
                        .into_iter()
                        .map(|p| p.index),
                );
            }
        }
    }
    let latency = serving_latency(&predictor, &dataset)?;
    let (y_true, y_pred) = eval::labelled_pairs(dataset.labels(), &predicted)?;
    let metrics = eval::classification_metrics(&y_true, &y_pred, labels.len())?;
    Ok(json!({
        "model": model_dir.display().to_string(),
        "data": request.data.name(),
        "n": metrics.n,
        "accuracy": metrics.accuracy,
        "macro_f1": metrics.macro_f1,
        "per_class": metrics
            .per_class
            .iter()
            .zip(labels.names())
            .map(|(m, label)| {
                let mut entry = json!({ "label": label });
                if let (Some(e), Ok(Value::Object(fields))) =
                    (entry.as_object_mut(), serde_json::to_value(m))
                {
                    e.extend(fields);
                }
                entry
            })
            .collect::<Vec<Value>>(),
        "confusion": metrics.confusion,
        "labels": labels.names(),
        "latency_ms_batch1": latency.ms_batch1,
        "latency_ms_batch32": latency.ms_batch32,
    }))
}

/// The student half of the report: test metrics, latency and size of one saved bundle.
struct StudentSide {
    metrics: Option<eval::Metrics>,
    predictions: Option<Vec<usize>>,
    latency: Latency,
    bytes: u64,
    bundle_bytes: u64,
}

impl StudentSide {
    fn to_json(&self, spec: &StudentSpec, quant: QuantType, params: i64) -> Value {
        json!({
            "kind": match spec {
                StudentSpec::Transformer(_) => "transformer",
                StudentSpec::Mlp(_) => "mlp",
            },
            "architecture": spec,
            "quantization": match quant {
                QuantType::None => "none",
                QuantType::Int8 => "int8",
            },
            "params": params,
            "bytes": self.bytes,
            "bundle_bytes": self.bundle_bytes,
            "accuracy": self.metrics.as_ref().map(|m| m.accuracy),
            "macro_f1": self.metrics.as_ref().map(|m| m.macro_f1),
            "latency_ms_batch1": self.latency.ms_batch1,
            "latency_ms_batch32": self.latency.ms_batch32,
        })
    }
}

/// Evaluates a loaded bundle on the test inputs and measures its serving latency.
fn student_side(
    predictor: &Predictor,
    dir: &Path,
    test_inputs: &Inputs,
    test_labels: &[i64],
    test: &Dataset,
    num_labels: i64,
) -> Result<StudentSide> {
    let _ = test_labels;
    let (metrics, predictions) = if test_inputs.is_empty() {
        (None, None)
    } else {
        let pred = argmax(Some(&logits_of(predictor, test_inputs)?))?;
        (metrics_of(&pred, test, num_labels)?, Some(pred))
    };
    let latency = serving_latency(predictor, test)?;
    let weights = dir.join(crate::models::hf::WEIGHTS_FILE);
    Ok(StudentSide {
        metrics,
        predictions,
        latency,
        bytes: eval::dir_size_bytes(&weights)?,
        bundle_bytes: eval::dir_size_bytes(dir)?,
    })
}

/// Median latency of prediction calls at batch 1 and 32 on a dataset's first rows, through the
/// serving path (tokenization included); zeros for an empty dataset.
fn serving_latency(predictor: &Predictor, dataset: &Dataset) -> Result<Latency> {
    match dataset.inputs() {
        data::Inputs::Texts(texts) => measure(
            |rows| {
                let chunk: Vec<String> = rows.iter().map(|&r| texts[r].clone()).collect();
                predictor.predict_texts(&chunk).map(|_| ())
            },
            texts.len(),
        ),
        data::Inputs::Features { values, dim } => measure(
            |rows| {
                let mut chunk = Vec::with_capacity(rows.len() * dim);
                for &r in rows {
                    chunk.extend_from_slice(&values[r * dim..(r + 1) * dim]);
                }
                predictor.predict_features(&chunk, *dim).map(|_| ())
            },
            dataset.len(),
        ),
    }
}

/// Logits of a bundle for already encoded inputs.
fn logits_of(predictor: &Predictor, inputs: &Inputs) -> Result<Tensor> {
    match inputs {
        Inputs::Tokens { ids, .. } => {
            let mut parts = Vec::new();
            for chunk in ids.chunks(64) {
                parts.push(predictor.logits_for_ids(chunk)?);
            }
            Ok(Tensor::f_cat(&parts, 0)?)
        }
        Inputs::Features(t) => predictor.logits_for_features(t),
    }
}

/// Median latency at batch 1 and 32 of `run(rows)` over the first rows of a split of `n`.
fn measure<F: FnMut(&[usize]) -> Result<()>>(mut run: F, n: usize) -> Result<Latency> {
    if n == 0 {
        return Ok(Latency {
            ms_batch1: 0.0,
            ms_batch32: 0.0,
        });
    }
    let rows: Vec<usize> = (0..n).collect();
    eval::measure_latency(
        |b| {
            // Batches wrap around a split smaller than 32 rows.
            let batch: Vec<usize> = (0..b).map(|i| rows[i % n]).collect();
            run(&batch)
        },
        LATENCY_WARMUP,
        LATENCY_RUNS,
    )
}

/// Labels of a dataset as the trainer wants them (`-1` = unlabelled).
fn label_ids(dataset: &Dataset) -> Vec<i64> {
    dataset
        .labels()
        .iter()
        .map(|l| l.map_or(-1, |i| i as i64))
        .collect()
}

/// Arg-max class of every row.
fn argmax(logits: Option<&Tensor>) -> Result<Vec<usize>> {
    let logits = logits.ok_or_else(|| Error::Internal("teacher outputs without logits".into()))?;
    let pred: Vec<i64> = Vec::<i64>::try_from(logits.f_argmax(-1, false)?)?;
    Ok(pred.into_iter().map(|p| p as usize).collect())
}

/// Accuracy of predictions over labelled rows (0 when none is labelled).
fn accuracy_of(pred: &[usize], labels: &[i64]) -> f64 {
    let mut n = 0;
    let mut ok = 0;
    for (p, &l) in pred.iter().zip(labels) {
        if l >= 0 {
            n += 1;
            ok += usize::from(*p as i64 == l);
        }
    }
    if n == 0 {
        0.0
    } else {
        ok as f64 / n as f64
    }
}

/// Classification metrics of predictions on a dataset's labelled rows.
fn metrics_of(pred: &[usize], dataset: &Dataset, num_labels: i64) -> Result<Option<eval::Metrics>> {
    let (y_true, y_pred) = eval::labelled_pairs(dataset.labels(), pred)?;
    if y_true.is_empty() {
        return Ok(None);
    }
    Ok(Some(eval::classification_metrics(
        &y_true,
        &y_pred,
        num_labels as usize,
    )?))
}

/// Checks that the teacher's logits have one column per label.
fn check_teacher_classes(out: &TeacherOutputs, num_labels: i64, path: &Path) -> Result<()> {
    let logits = out
        .logits
        .as_ref()
        .ok_or_else(|| Error::Internal("teacher outputs without logits".into()))?;
    let classes = logits.size()[1];
    if classes != num_labels {
        return Err(Error::invalid_input(
            path.display().to_string(),
            format!(
                "the teacher returns {classes} classes but the data has {num_labels} labels; \
                 a teacher must score exactly the data's classes"
            ),
        ));
    }
    Ok(())
}

/// The cache key of one split's teacher outputs.
fn cache_key(
    fingerprint: &str,
    inputs: &Inputs,
    hidden: &[usize],
    max_length: usize,
    split: &str,
) -> String {
    let mut key = CacheKey::new()
        .text("teacher", fingerprint)
        .text("split", split)
        .text("max_length", &max_length.to_string())
        .text("hidden", &format!("{hidden:?}"));
    match inputs {
        Inputs::Tokens { ids, .. } => key = key.rows("ids", ids),
        Inputs::Features(t) => {
            let values: Vec<f32> = Vec::<f32>::try_from(t.reshape([-1])).unwrap_or_default();
            key = key.features("features", &[values]);
        }
    }
    key.finish()
}

/// Hidden-state alignment settings of a run, or `None` when it is off.
fn alignment_config(
    request: &DistillRequest,
    teacher: &Teacher,
    student_layers: usize,
) -> Result<Option<AlignmentConfig>> {
    let a = &request.training.hidden_alignment;
    if !a.enabled {
        return Ok(None);
    }
    let teacher_layers = teacher.num_layers();
    let layer_map = match &a.layer_map {
        Some(map) => LayerMap::Explicit(map.iter().enumerate().map(|(i, &t)| (i + 1, t)).collect()),
        None if teacher.format == TeacherFormat::TorchScript => {
            LayerMap::Explicit(vec![(student_layers, 1)])
        }
        None => LayerMap::Uniform,
    };
    let teacher_width = match teacher.hidden_width() {
        Some(w) => w,
        None => {
            return Err(Error::invalid_argument(
                "training.hidden_alignment.enabled",
                format!(
                    "hidden alignment with the TorchScript teacher {} needs its hidden width; \
                     use a Hugging Face directory teacher or turn alignment off",
                    teacher.path.display()
                ),
            ))
        }
    };
    Ok(Some(AlignmentConfig {
        kind: match a.loss {
            AlignmentLoss::Mse => HiddenLossKind::Mse,
            AlignmentLoss::Cosine => HiddenLossKind::Cosine,
        },
        weight: a.weight,
        layer_map,
        teacher_layers,
        teacher_width,
    }))
}

/// Attention-map alignment settings of a run, or `None` when it is off.
///
/// The layer map is the hidden alignment's (`training.hidden_alignment.layer_map` when given,
/// otherwise TinyBERT's uniform map), whether or not hidden alignment itself is on; the loss is
/// the KL of teacher and student attention rows (MiniLM). The request's validation and the
/// format check in [`distill`] have already refused mlp students and TorchScript teachers.
fn attention_config(request: &DistillRequest, teacher: &Teacher) -> Option<AttentionConfig> {
    let s = &request.training;
    if !s.attention_alignment {
        return None;
    }
    let layer_map = match &s.hidden_alignment.layer_map {
        Some(map) => LayerMap::Explicit(map.iter().enumerate().map(|(i, &t)| (i + 1, t)).collect()),
        None => LayerMap::Uniform,
    };
    Some(AttentionConfig {
        kind: AttentionLossKind::Kl,
        weight: s.attention_weight,
        layer_map,
        teacher_layers: teacher.num_layers(),
    })
}

/// The trainer settings of a request; `subdir` separates the baseline's checkpoints.
fn trainer_config(
    request: &DistillRequest,
    alignment: Option<AlignmentConfig>,
    attention: Option<AttentionConfig>,
    mode: TrainMode,
    subdir: &str,
) -> Result<TrainerConfig> {
    let s = &request.training;
    let checkpoint_dir = s.checkpoint_dir.as_ref().map(|d| {
        let dir = PathBuf::from(d);
        if subdir.is_empty() {
            dir
        } else {
            dir.join(subdir)
        }
    });
    Ok(TrainerConfig {
        epochs: s.epochs,
        batch_size: s.batch_size,
        learning_rate: s.learning_rate,
        weight_decay: s.weight_decay,
        lr_warmup_share: s.lr_warmup_share,
        grad_clip: s.grad_clip,
        temperature_start: s.temperature_start,
        temperature_end: s.temperature_end,
        alpha: s.alpha,
        alpha_end: s.alpha_end,
        hard_warmup_share: s.hard_warmup_share,
        final_hard_share: s.final_hard_share,
        alignment,
        attention,
        early_stopping_patience: s.early_stopping_patience,
        seed: s.seed,
        checkpoint_every: s.checkpoint_every,
        checkpoint_dir,
        resume: s.resume,
        mode,
    })
}

/// The teacher tokenizer's facts a transformer student needs.
#[derive(Debug, Clone)]
struct TokenInfo {
    special_ids: Vec<i64>,
    unk_id: i64,
    vocab_size: i64,
}

impl TokenInfo {
    fn of(teacher: &Teacher) -> Option<Self> {
        let tokenizer = teacher.tokenizer.as_ref()?;
        let special_ids = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<pad>", "<unk>", "<s>", "</s>",
        ]
        .iter()
        .filter_map(|t| tokenizer.token_to_id(t))
        .chain(std::iter::once(tokenizer.pad_id()))
        .collect();
        let unk_id = tokenizer
            .token_to_id("[UNK]")
            .or_else(|| tokenizer.token_to_id("<unk>"))
            .unwrap_or(tokenizer.pad_id());
        Some(TokenInfo {
            special_ids,
            unk_id,
            vocab_size: tokenizer.vocab_size() as i64,
        })
    }
}

/// Builds the baseline student: the same architecture and vocabulary, from random
/// initialisation (no teacher layers), so that the comparison measures everything the
/// teacher contributes.
fn build_baseline_student(
    request: &DistillRequest,
    tokens: Option<&TokenInfo>,
    data: &data::PreparedData,
    train_inputs: &Inputs,
    vs: &nn::VarStore,
) -> Result<Student> {
    let mut request = request.clone();
    if let StudentSpec::Transformer(t) = &mut request.student {
        t.init_from_teacher = false;
    }
    build_student(&request, None, tokens, data, train_inputs, vs)
}

/// Builds the requested student; `teacher` is needed when it starts from the teacher's
/// layers, `tokens` for every transformer student.
fn build_student(
    request: &DistillRequest,
    teacher: Option<&Teacher>,
    tokens: Option<&TokenInfo>,
    data: &data::PreparedData,
    train_inputs: &Inputs,
    vs: &nn::VarStore,
) -> Result<Student> {
    let num_labels = data.labels.len() as i64;
    match (&request.student, train_inputs) {
        (StudentSpec::Transformer(spec), Inputs::Tokens { ids, .. }) => {
            let tokens =
                tokens.ok_or_else(|| Error::Internal("text teacher without tokenizer".into()))?;
            let encoder = match (spec.init_from_teacher, teacher) {
                (false, _) => None,
                (true, Some(t)) => Some(t.hf_model().ok_or_else(|| {
                    Error::invalid_argument(
                        "student.init_from_teacher",
                        format!(
                            "only a Hugging Face directory teacher has layers to copy; {} is a \
                             TorchScript file; set it to false",
                            t.path.display()
                        ),
                    )
                })?),
                (true, None) => return Err(Error::Internal("no teacher to copy from".into())),
            };
            let init = StudentInit {
                teacher: encoder,
                train_ids: ids,
                teacher_vocab_size: tokens.vocab_size,
                special_ids: tokens.special_ids.clone(),
                unk_id: tokens.unk_id,
                num_labels,
            };
            let student = build_transformer_student(&vs.root(), spec, &init)?;
            Ok(Student::Transformer(student))
        }
        (StudentSpec::Mlp(spec), Inputs::Features(t)) => {
            let config = MlpConfig {
                input_dim: t.size()[1],
                hidden_sizes: spec.hidden_sizes.iter().map(|&h| h as i64).collect(),
                dropout: spec.dropout,
                num_labels,
            };
            let mut mlp = MlpStudent::new(&vs.root(), &config)?;
            mlp.fit_standardisation(t)?;
            Ok(Student::Mlp(mlp))
        }
        (StudentSpec::Transformer(_), Inputs::Features(_)) => Err(Error::invalid_argument(
            "student.kind",
            "a transformer student reads text, but the training data holds feature vectors; \
             use \"kind\": \"mlp\"",
        )),
        (StudentSpec::Mlp(_), Inputs::Tokens { .. }) => Err(Error::invalid_argument(
            "student.kind",
            "an mlp student reads feature vectors, but the training data holds texts; use \
             \"kind\": \"transformer\"",
        )),
    }
}

/// A sibling directory name of `dir` for a temporary bundle: `.<name>.<tag>`.
fn sibling(dir: &Path, tag: &str) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .ok_or_else(|| {
            Error::invalid_argument(
                "output_dir",
                format!("{} has no final directory name", dir.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    Ok(dir.with_file_name(format!(".{name}.{tag}")))
}

/// Moves the bundle at `from` over the bundle at `to`.
fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    let old = sibling(to, "old")?;
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(to, &old).map_err(|e| Error::io(to, e))?;
    std::fs::rename(from, to).map_err(|e| Error::io(from, e))?;
    std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    Ok(())
}
