//! The Rust side of the benchmark harness (`scripts/bench`): each subcommand measures one
//! thing and prints one JSON object on standard output.
//!
//! ```text
//! bench distill REQUEST.json            a whole pipeline::distill run: report, wall time, peak RSS
//! bench quantize FP32_BUNDLE OUT_DIR    writes the int8 form (embeddings too) of a bundle
//! bench tokenize BUNDLE TEXTS.json      token ids (teacher vocabulary) of each text
//! bench predict BUNDLE TEXTS.json RUNS1 RUNS32  direct-Rust predict latency, batch 1 and 32
//! bench train BUNDLE IDS.json STEPS     distillation step throughput (examples/s)
//! ```
//!
//! `TEXTS.json` is a JSON array of strings; `IDS.json` is `{"ids": [[...]], "labels": [...]}`.
//! libtorch's intra-op threads come from `BENCH_THREADS` (default 1), set before any torch
//! work. Build with `cargo build --release --example bench`; a measurement, not a test.

use std::path::Path;
use std::time::Instant;

use jbolt_distill::bundle::{self, BundleMeta};
use jbolt_distill::config::{DistillRequest, QuantSettings, QuantType};
use jbolt_distill::data::InputKind;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::distill::loss;
use jbolt_distill::distill::optim::AdamW;
use jbolt_distill::error::{Error, Result};
use jbolt_distill::models::tokenizer::TextTokenizer;
use jbolt_distill::serve::Predictor;
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let threads: i32 = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    tch::set_num_threads(threads);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| Error::invalid_argument("args", format!("missing argument {i}")))
    };
    let out = match arg(0)? {
        "distill" => distill(Path::new(arg(1)?))?,
        "quantize" => quantize(Path::new(arg(1)?), Path::new(arg(2)?))?,
        "tokenize" => tokenize(Path::new(arg(1)?), Path::new(arg(2)?))?,
        "predict" => predict(
            Path::new(arg(1)?),
            Path::new(arg(2)?),
            parse(arg(3)?)?,
            parse(arg(4)?)?,
        )?,
        "train" => train(Path::new(arg(1)?), Path::new(arg(2)?), parse(arg(3)?)?)?,
        other => {
            return Err(Error::invalid_argument(
                "command",
                format!("unknown command {other:?}"),
            ))
        }
    };
    let mut out = out;
    out["threads"] = json!(threads);
    out["rss"] = rss();
    println!("{out}");
    Ok(())
}

fn parse(s: &str) -> Result<usize> {
    s.parse()
        .map_err(|_| Error::invalid_argument("args", format!("expected a count, got {s:?}")))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid_input(path.display().to_string(), e.to_string()))
}

/// `VmHWM` (peak) and `VmRSS` (now) of this process in MiB, from `/proc/self/status`.
fn rss() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    json!({"peak_mib": field("VmHWM:"), "current_mib": field("VmRSS:")})
}

/// p50 and p99 (nearest rank) of `times` in milliseconds, plus the mean.
fn percentiles(mut times: Vec<f64>) -> Value {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    json!({"p50_ms": at(0.5), "p99_ms": at(0.99), "runs": times.len(),
           "mean_ms": times.iter().sum::<f64>() / times.len() as f64})
}

fn time_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Value> {
    for _ in 0..(runs / 10).max(3) {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(percentiles(times))
}

fn distill(request: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(request).map_err(|e| Error::io(request, e))?;
    let request = DistillRequest::from_json(&text)?;
    let start = Instant::now();
    // the largest VmRSS seen at the progress events of each stage
    let mut stage_rss = serde_json::Map::new();
    let report = jbolt_distill::pipeline::distill(&request, &mut |e| {
        let stage = serde_json::to_value(e)
            .ok()
            .and_then(|v| v["stage"].as_str().map(String::from));
        if let (Some(stage), Some(now)) = (stage, rss()["current_mib"].as_f64()) {
            let seen = stage_rss.get(&stage).and_then(Value::as_f64).unwrap_or(0.0);
            stage_rss.insert(stage, json!(seen.max(now)));
        }
        true
    })?;
    Ok(
        json!({"seconds": start.elapsed().as_secs_f64(), "report": report,
              "rss_by_stage_mib": stage_rss}),
    )
}

fn quantize(fp32: &Path, out: &Path) -> Result<Value> {
    let loaded = bundle::load(fp32)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let student = bundle::build_student(&loaded.config.architecture, &loaded.tensors, &vs)?;
    let meta = BundleMeta {
        labels: loaded.config.labels.clone(),
        max_length: loaded.config.max_length,
        teacher: loaded.config.teacher.clone(),
        input: InputKind::Text,
        metrics: json!({"note": "int8 form of the benchmark's fp32 student"}),
    };
    let quant = QuantSettings {
        kind: QuantType::Int8,
        embeddings: true,
        max_accuracy_drop: 1.0,
    };
    bundle::save(
        out,
        &student,
        &vs,
        loaded.tokenizer.as_deref(),
        &meta,
        &quant,
    )?;
    Ok(json!({"bundle": out.display().to_string()}))
}

fn texts(path: &Path) -> Result<Vec<String>> {
    serde_json::from_value(read_json(path)?)
        .map_err(|e| Error::invalid_input(path.display().to_string(), e.to_string()))
}

fn tokenize(bundle_dir: &Path, texts_path: &Path) -> Result<Value> {
    let loaded = bundle::load(bundle_dir)?;
    let tokenizer_path = loaded
        .tokenizer
        .ok_or_else(|| Error::invalid_input("bundle", "no tokenizer.json"))?;
    let tokenizer = TextTokenizer::from_file(&tokenizer_path, loaded.config.max_length)?;
    let ids = tokenizer.encode_ids(&texts(texts_path)?)?;
    Ok(json!({"ids": ids, "pad_id": tokenizer.pad_id(), "max_length": loaded.config.max_length}))
}

fn predict(bundle_dir: &Path, texts_path: &Path, runs1: usize, runs32: usize) -> Result<Value> {
    let texts = texts(texts_path)?;
    if texts.len() < 32 {
        return Err(Error::invalid_input("texts", "need at least 32 texts"));
    }
    let predictor = Predictor::load_with_replicas(bundle_dir, 1)?;
    let loaded = bundle::load(bundle_dir)?;
    let tokenizer_path = loaded
        .tokenizer
        .ok_or_else(|| Error::invalid_input("bundle", "no tokenizer.json"))?;
    let tokenizer = TextTokenizer::from_file(&tokenizer_path, loaded.config.max_length)?;
    let ids = tokenizer.encode_ids(&texts)?;

    let mut out = json!({"quantization": predictor.info()["quantization"]});
    for (batch, runs) in [(1usize, runs1), (32, runs32)] {
        let mut i = 0usize;
        let mut next = |n: usize| -> std::ops::Range<usize> {
            let start = i % (texts.len() - n + 1);
            i += n;
            start..start + n
        };
        let texts_time = time_ms(runs, || {
            predictor.predict_texts(&texts[next(batch)])?;
            Ok(())
        })?;
        let ids_time = time_ms(runs, || {
            let _ = predictor.logits_for_ids(&ids[next(batch)])?;
            Ok(())
        })?;
        let tok_time = time_ms(runs, || {
            tokenizer.encode_ids(&texts[next(batch)])?;
            Ok(())
        })?;
        out[format!("batch{batch}")] = json!({
            "predict_texts": texts_time, "forward_from_ids": ids_time, "tokenize": tok_time});
    }
    let first: Vec<Value> = predictor
        .predict_texts(&texts[..32])?
        .into_iter()
        .map(|p| json!(p.probabilities))
        .collect();
    out["probabilities"] = json!(first);
    Ok(out)
}

fn train(bundle_dir: &Path, ids_path: &Path, steps: usize) -> Result<Value> {
    const BATCH: usize = 32;
    const TEMPERATURE: f64 = 2.0;
    const ALPHA: f64 = 0.5;
    const LR: f64 = 1e-4;
    let data = read_json(ids_path)?;
    let ids: Vec<Vec<i64>> = serde_json::from_value(data["ids"].clone())
        .map_err(|e| Error::invalid_input("ids", e.to_string()))?;
    let labels: Vec<i64> = serde_json::from_value(data["labels"].clone())
        .map_err(|e| Error::invalid_input("labels", e.to_string()))?;
    let loaded = bundle::load(bundle_dir)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let student = bundle::build_student(&loaded.config.architecture, &loaded.tensors, &vs)?;
    let classes = loaded.config.labels.len() as i64;
    // Teacher logits stand in for the cache: same generator and seed as the Python side.
    tch::manual_seed(0);
    let teacher = Tensor::f_randn([ids.len() as i64, classes], (Kind::Float, Device::Cpu))?
        .f_mul_scalar(3.0)?;
    let inputs = Inputs::Tokens {
        ids,
        pad_id: data["pad_id"].as_i64().unwrap_or(0),
    };
    let mut opt = AdamW::from_var_store(&vs, 0.01);
    let batches = inputs.ordered_batches(BATCH);
    let mut times = Vec::with_capacity(steps);
    let mut losses = Vec::new();
    let warmup = 2;
    for step in 0..steps + warmup {
        let rows = &batches[step % batches.len()];
        let start = Instant::now();
        let batch = inputs.batch(rows, &labels)?;
        let t_logits = teacher.f_index_select(0, &batch.rows)?;
        let out = student.forward_t(&batch, true, false)?;
        let parts = loss::distillation_loss(
            &out.logits,
            &t_logits,
            &batch.labels,
            None,
            TEMPERATURE,
            ALPHA,
        )?;
        opt.zero_grad();
        parts.total.f_backward()?;
        opt.clip_grad_norm(1.0)?;
        opt.step(LR)?;
        let value = parts.total.f_double_value(&[])?;
        let secs = start.elapsed().as_secs_f64();
        if step >= warmup {
            times.push(rows.len() as f64 / secs);
            losses.push(value);
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(json!({
        "examples_per_sec_median": sorted[sorted.len() / 2],
        "examples_per_sec": times,
        "steps": steps, "batch_size": BATCH, "losses": losses,
    }))
}
