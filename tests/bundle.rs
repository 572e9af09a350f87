//! Bundles and the predictor: save and load (fp32 exact, int8 close), sizes, atomic
//! replacement, thread safety, bad inputs, TorchScript export.
//!
//! Text students use the tokenizer of all-MiniLM-L6-v2 at `~/.jbolt/models/all-MiniLM-L6-v2`
//! (installed by the setup script) with a small randomly initialised transformer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jbolt_distill::bundle::{self, BundleMeta};
use jbolt_distill::config::{QuantSettings, QuantType, TransformerStudent as Spec};
use jbolt_distill::data::InputKind;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::distill::trainer::predict_logits;
use jbolt_distill::error::{Error, Result};
use jbolt_distill::export;
use jbolt_distill::models::student::{MlpConfig, MlpStudent, Student};
use jbolt_distill::models::tokenizer::TextTokenizer;
use jbolt_distill::models::transformer::{build_transformer_student, StudentInit};
use jbolt_distill::serve::Predictor;
use tch::{nn, Device, Kind, Tensor};

fn tokenizer_file() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| Error::NotFound("HOME".into()))?;
    let file = PathBuf::from(home).join(".jbolt/models/all-MiniLM-L6-v2/tokenizer.json");
    if file.is_file() {
        Ok(file)
    } else {
        Err(Error::NotFound(format!("tokenizer {}", file.display())))
    }
}

/// A fresh empty directory under the system temp dir, removed by `Drop`.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("jbolt-bundle-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// torch's random generator is process-global: tests that seed it must not interleave.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

const LABELS: [&str; 3] = ["business", "sport", "tech"];

fn texts() -> Vec<String> {
    [
        "Shares rose sharply after the bank reported record profits.",
        "The striker scored twice as the home side won the cup final.",
        "A new smartphone chip promises longer battery life.",
        "Oil prices fell as demand slowed in the third quarter.",
        "The tennis champion withdrew from the tournament with an injury.",
        "Engineers unveiled a faster broadband network for rural areas.",
        "The central bank kept interest rates unchanged on Thursday.",
        "Fans celebrated the league title in the city centre.",
        "Software updates fixed a security flaw in the operating system.",
        "Retail sales grew more than economists had expected.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

struct TextStudent {
    vs: nn::VarStore,
    student: Student,
    ids: Vec<Vec<i64>>,
    tokenizer: PathBuf,
}

fn text_student(seed: i64, hidden: usize) -> Result<TextStudent> {
    let tokenizer = tokenizer_file()?;
    let tok = TextTokenizer::from_file(&tokenizer, 64)?;
    let ids = tok.encode_ids(&texts())?;
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let init = StudentInit {
        teacher: None,
        train_ids: &ids,
        teacher_vocab_size: tok.vocab_size() as i64,
        special_ids: vec![0, 100, 101, 102, 103],
        unk_id: 100,
        num_labels: 3,
    };
    let spec = Spec {
        layers: 2,
        hidden_size: hidden,
        heads: 4,
        intermediate_size: 4 * hidden,
        max_positions: 64,
        init_from_teacher: false,
        prune_vocab: true,
    };
    let student = build_transformer_student(&vs.root(), &spec, &init)?;
    // spread the logits (the BERT initialisation gives near-zero ones) so that arg-max
    // agreement means something
    tch::no_grad(|| -> Result<()> {
        let mut w = vs
            .variables()
            .remove("classifier.weight")
            .ok_or_else(|| Error::NotFound("classifier.weight".into()))?;
        let scaled = w.f_mul_scalar(40.0)?;
        w.f_copy_(&scaled)?;
        Ok(())
    })?;
    Ok(TextStudent {
        vs,
        student: Student::Transformer(student),
        ids,
        tokenizer,
    })
}

fn text_meta() -> BundleMeta {
    BundleMeta {
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        max_length: 64,
        teacher: "all-MiniLM-L6-v2".into(),
        input: InputKind::Text,
        metrics: serde_json::json!({"accuracy": 0.5}),
    }
}

fn quant(kind: QuantType, embeddings: bool) -> QuantSettings {
    QuantSettings {
        kind,
        embeddings,
        ..Default::default()
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok(a.f_sub(b)?.f_abs()?.f_max()?.f_double_value(&[])?)
}

fn relative_error(got: &Tensor, want: &Tensor) -> Result<f64> {
    Ok(got.f_sub(want)?.f_norm()?.f_double_value(&[])? / want.f_norm()?.f_double_value(&[])?)
}

fn argmax_agreement(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok(a.f_argmax(-1, false)?
        .f_eq_tensor(&b.f_argmax(-1, false)?)?
        .f_to_kind(Kind::Float)?
        .f_mean(Kind::Float)?
        .f_double_value(&[])?)
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len())
}

#[test]
fn text_bundle_round_trips_fp32_exactly_and_int8_closely() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("text")?;
    let s = text_student(11, 64)?;
    let inputs = Inputs::Tokens {
        ids: s.ids.clone(),
        pad_id: 0,
    };
    let want = predict_logits(&s.student, &inputs, 4)?;

    let fp32_dir = tmp.0.join("fp32");
    bundle::save(
        &fp32_dir,
        &s.student,
        &s.vs,
        Some(&s.tokenizer),
        &text_meta(),
        &quant(QuantType::None, false),
    )?;
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.json",
    ] {
        assert!(fp32_dir.join(f).is_file(), "{f}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fp32_dir.join("config.json"))?)?;
    assert_eq!(config["kind"], "transformer");
    assert_eq!(config["quantization"], "none");
    assert_eq!(config["format_version"], 1);
    assert_eq!(config["architecture"]["encoder"]["hidden_size"], 64);

    let p = Predictor::load(&fp32_dir)?;
    assert_eq!(p.labels(), LABELS);
    let got = p.logits_for_ids(&s.ids)?;
    assert_eq!(got.size(), [10, 3]);
    assert_eq!(max_abs_diff(&got, &want)?, 0.0, "fp32 bundle logits");
    // texts through the bundle's tokenizer give the same logits as the ids
    let preds = p.predict_texts(&texts())?;
    let probs = want.f_softmax(-1, Kind::Float)?;
    for (r, pred) in preds.iter().enumerate() {
        let row = Vec::<f32>::try_from(&probs.f_get(r as i64)?)?;
        for (a, b) in pred.probabilities.iter().zip(&row) {
            assert!((a - b).abs() < 1e-6, "row {r}");
        }
        assert_eq!(pred.label, LABELS[pred.index]);
        assert_eq!(pred.score, pred.probabilities[pred.index]);
        let sum: f32 = pred.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }
    assert_eq!(p.info()["input"], "text");
    assert_eq!(p.info()["quantization"], "none");

    // int8, fp32 word table and int8 word table
    for embeddings in [false, true] {
        let dir = tmp.0.join(format!("int8-{embeddings}"));
        let q = quant(QuantType::Int8, embeddings);
        bundle::save(
            &dir,
            &s.student,
            &s.vs,
            Some(&s.tokenizer),
            &text_meta(),
            &q,
        )?;
        let p8 = Predictor::load(&dir)?;
        let got8 = p8.logits_for_ids(&s.ids)?;
        let rel = relative_error(&got8, &want)?;
        let agree = argmax_agreement(&got8, &want)?;
        println!("int8 (embeddings {embeddings}): relative error {rel:.4}, agreement {agree}");
        assert!(rel < 0.05, "int8 logits relative error {rel}");
        assert!(agree >= 0.9, "int8 arg-max agreement {agree}");
        assert_eq!(p8.info()["quantization"], "int8");
        assert_eq!(p8.info()["quantized_embeddings"], embeddings);
        // the in-memory int8 predictor is the loaded one
        let mem = Predictor::from_student(&s.student, &s.vs, Some(&s.tokenizer), &text_meta(), &q)?;
        assert_eq!(max_abs_diff(&mem.logits_for_ids(&s.ids)?, &got8)?, 0.0);

        let fp32_bytes = file_size(&fp32_dir.join("model.safetensors"))?;
        let int8_bytes = file_size(&dir.join("model.safetensors"))?;
        let ratio = int8_bytes as f64 / fp32_bytes as f64;
        println!("model.safetensors: fp32 {fp32_bytes} B, int8 {int8_bytes} B ({ratio:.3})");
        let limit = if embeddings { 0.4 } else { 0.45 };
        assert!(ratio < limit, "int8/fp32 size ratio {ratio}");
    }
    Ok(())
}

#[test]
fn saving_replaces_a_bundle_atomically_and_refuses_other_directories() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("replace")?;
    let dir = tmp.0.join("model");
    let a = text_student(1, 32)?;
    let b = text_student(2, 32)?;
    let none = quant(QuantType::None, false);
    bundle::save(
        &dir,
        &a.student,
        &a.vs,
        Some(&a.tokenizer),
        &text_meta(),
        &none,
    )?;
    bundle::save(
        &dir,
        &b.student,
        &b.vs,
        Some(&b.tokenizer),
        &text_meta(),
        &none,
    )?;
    let inputs = Inputs::Tokens {
        ids: b.ids.clone(),
        pad_id: 0,
    };
    let want = predict_logits(&b.student, &inputs, 16)?;
    assert_eq!(
        max_abs_diff(&Predictor::load(&dir)?.logits_for_ids(&b.ids)?, &want)?,
        0.0
    );
    // no temporary or old siblings left behind
    let names: Vec<String> = std::fs::read_dir(&tmp.0)
        .map_err(|e| Error::io(&tmp.0, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["model"]);

    bundle::write_metrics(&dir, &serde_json::json!({"accuracy": 0.75}))?;
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json"))?)?;
    assert_eq!(metrics["accuracy"], 0.75);

    // a directory with other files is not replaced
    let other = tmp.0.join("notes");
    std::fs::create_dir_all(&other).map_err(|e| Error::io(&other, e))?;
    std::fs::write(other.join("todo.txt"), "keep me").map_err(|e| Error::io(&other, e))?;
    let err = bundle::save(
        &other,
        &a.student,
        &a.vs,
        Some(&a.tokenizer),
        &text_meta(),
        &none,
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("notes"), "{err}");
    assert!(other.join("todo.txt").is_file());

    // wrong label count, missing tokenizer
    let mut meta = text_meta();
    meta.labels.pop();
    let err = bundle::save(&dir, &a.student, &a.vs, Some(&a.tokenizer), &meta, &none).unwrap_err();
    assert!(err.to_string().contains("2 labels"), "{err}");
    let err = bundle::save(&dir, &a.student, &a.vs, None, &text_meta(), &none).unwrap_err();
    assert!(err.to_string().contains("tokenizer"), "{err}");
    let err = Predictor::load(&tmp.0.join("missing")).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    Ok(())
}

fn mlp_student(seed: i64) -> Result<(nn::VarStore, Student, Tensor)> {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = MlpConfig {
        input_dim: 8,
        hidden_sizes: vec![64, 32],
        dropout: 0.1,
        num_labels: 3,
    };
    let mut mlp = MlpStudent::new(&vs.root(), &config)?;
    let x = Tensor::f_randn([40, 8], (Kind::Float, Device::Cpu))?
        .f_mul_scalar(3.0)?
        .f_add_scalar(1.0)?;
    mlp.fit_standardisation(&x)?;
    Ok((vs, Student::Mlp(mlp), x))
}

fn mlp_meta() -> BundleMeta {
    BundleMeta {
        input: InputKind::Features { dim: 8 },
        ..text_meta()
    }
}

#[test]
fn mlp_bundle_round_trips_and_rejects_bad_features() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("mlp")?;
    let (vs, student, x) = mlp_student(3)?;
    let want = predict_logits(&student, &Inputs::Features(x.shallow_clone()), 16)?;
    let values = Vec::<f32>::try_from(&x.f_flatten(0, -1)?)?;

    let dir = tmp.0.join("fp32");
    bundle::save(
        &dir,
        &student,
        &vs,
        None,
        &mlp_meta(),
        &quant(QuantType::None, false),
    )?;
    assert!(!dir.join("tokenizer.json").exists());
    let p = Predictor::load(&dir)?;
    assert_eq!(max_abs_diff(&p.logits_for_features(&x)?, &want)?, 0.0);
    let preds = p.predict_features(&values, 8)?;
    assert_eq!(preds.len(), 40);
    assert_eq!(p.info()["feature_dim"], 8);

    let dir8 = tmp.0.join("int8");
    bundle::save(
        &dir8,
        &student,
        &vs,
        None,
        &mlp_meta(),
        &quant(QuantType::Int8, false),
    )?;
    let p8 = Predictor::load(&dir8)?;
    let got8 = p8.logits_for_features(&x)?;
    let rel = relative_error(&got8, &want)?;
    assert!(rel < 0.05, "int8 mlp relative error {rel}");
    assert!(argmax_agreement(&got8, &want)? >= 0.9);

    // bad inputs: errors naming the value, never a panic
    let expect = |r: Result<Vec<jbolt_distill::serve::Prediction>>, needle: &str| {
        let err = r.expect_err(needle);
        assert!(
            matches!(
                err,
                Error::InvalidArgument { .. } | Error::InvalidInput { .. }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    };
    let mut nan = values[..8].to_vec();
    nan[3] = f32::NAN;
    expect(p.predict_features(&nan, 8), "NaN at row 0, column 3");
    let mut inf = values[..16].to_vec();
    inf[9] = f32::INFINITY;
    expect(p8.predict_features(&inf, 8), "inf at row 1, column 1");
    expect(p.predict_features(&values[..7], 7), "got dim 7");
    expect(p.predict_features(&values[..9], 8), "got 9");
    expect(p.predict_features(&[], 8), "got 0");
    expect(
        p.predict_texts(&["hello".to_string()]),
        "feature vectors of length 8",
    );
    let err = p.logits_for_ids(&[vec![101, 102]]).unwrap_err();
    assert!(err.to_string().contains("not token ids"), "{err}");
    let err = p
        .logits_for_features(&Tensor::f_zeros([2, 5], (Kind::Float, Device::Cpu))?)
        .unwrap_err();
    assert!(err.to_string().contains("[2, 5]"), "{err}");
    Ok(())
}

#[test]
fn text_predictor_rejects_bad_input_naming_it() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("badtext")?;
    let s = text_student(4, 32)?;
    let dir = tmp.0.join("m");
    bundle::save(
        &dir,
        &s.student,
        &s.vs,
        Some(&s.tokenizer),
        &text_meta(),
        &quant(QuantType::Int8, true),
    )?;
    let p = Predictor::load(&dir)?;
    let err = p.predict_texts(&[]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("texts"), "{err}");
    let err = p.predict_features(&[1.0; 8], 8).unwrap_err();
    assert!(err.to_string().contains("takes texts"), "{err}");
    let err = p.logits_for_ids(&[vec![101, 40000, 102]]).unwrap_err();
    assert!(err.to_string().contains("40000"), "{err}");
    let err = p.logits_for_ids(&[vec![101, 102], vec![]]).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let err = p.logits_for_ids(&[vec![101; 65]]).unwrap_err();
    assert!(err.to_string().contains("65 tokens"), "{err}");
    // words the student never saw map to [UNK]; a long text is truncated to max_length
    let long = "unseen vocabulary words ".repeat(100);
    let preds = p.predict_texts(&["zebra quasar xylophone".to_string(), long])?;
    assert_eq!(preds.len(), 2);
    Ok(())
}

#[test]
fn predictor_gives_the_same_answers_from_many_threads() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("threads")?;
    let s = text_student(5, 32)?;
    for kind in [QuantType::None, QuantType::Int8] {
        let dir = tmp.0.join(format!("{kind:?}"));
        bundle::save(
            &dir,
            &s.student,
            &s.vs,
            Some(&s.tokenizer),
            &text_meta(),
            &quant(kind, false),
        )?;
        let p = Arc::new(Predictor::load_with_replicas(&dir, 2)?);
        let single = p.predict_texts(&texts())?;
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let p = Arc::clone(&p);
                std::thread::spawn(move || -> Result<Vec<Vec<_>>> {
                    // the same batch every time: int8 quantizes activations per batch, so
                    // another batch composition would legitimately change the numbers
                    let all = texts();
                    let mut out = Vec::new();
                    for _ in 0..(4 + t) {
                        out.push(p.predict_texts(&all)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        for h in handles {
            let results = h
                .join()
                .map_err(|_| Error::Internal("prediction thread panicked".into()))??;
            for preds in results {
                assert_eq!(preds.len(), single.len());
                for (got, want) in preds.iter().zip(&single) {
                    assert_eq!(got.label, want.label, "{kind:?}");
                    for (a, b) in got.probabilities.iter().zip(&want.probabilities) {
                        assert!((a - b).abs() < 1e-6, "{kind:?}: {a} vs {b}");
                    }
                }
            }
        }
    }
    Ok(())
}

/// `ids` padded with 0 to their longest row, and the mask: `[n, L]` `i64` each.
fn padded(ids: &[Vec<i64>]) -> Result<(Tensor, Tensor, i64)> {
    let l = ids.iter().map(Vec::len).max().unwrap_or(0);
    let mut flat = Vec::new();
    let mut mask = Vec::new();
    for row in ids {
        for j in 0..l {
            flat.push(row.get(j).copied().unwrap_or(0));
            mask.push(i64::from(j < row.len()));
        }
    }
    let shape = [ids.len() as i64, l as i64];
    Ok((
        Tensor::f_from_slice(&flat)?.f_view(shape)?,
        Tensor::f_from_slice(&mask)?.f_view(shape)?,
        l as i64,
    ))
}

#[test]
fn torchscript_export_of_a_text_bundle_matches_the_native_student_at_any_shape() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("export-text")?;
    let s = text_student(21, 32)?;
    let dir = tmp.0.join("fp32");
    bundle::save(
        &dir,
        &s.student,
        &s.vs,
        Some(&s.tokenizer),
        &text_meta(),
        &quant(QuantType::None, false),
    )?;
    let out = tmp.0.join("student.pt");
    let info = export::export_torchscript(&dir, &out)?;
    assert_eq!(info.kind, "transformer");
    assert!(!info.dequantized);
    assert!(info.bytes > 0 && info.bytes == file_size(&out)?);

    // the trace used [2, 8]; two other batch sizes and lengths, padding included
    let module = tch::CModule::load(&out)?;
    let p = Predictor::load(&dir)?;
    let mut lengths = Vec::new();
    for group in [&s.ids[..3], &s.ids[3..]] {
        let (ids, mask, l) = padded(group)?;
        lengths.push(l);
        let got = module.forward_ts(&[ids, mask])?;
        let want = p.logits_for_ids(group)?;
        assert_eq!(got.size(), [group.len() as i64, 3]);
        let diff = max_abs_diff(&got, &want)?;
        assert!(diff < 1e-5, "batch {}, length {l}: {diff}", group.len());
    }
    assert_ne!(lengths[0], lengths[1], "the groups should differ in length");

    // int8: dequantized weights in fp32, close to the int8 predictor
    let dir8 = tmp.0.join("int8");
    bundle::save(
        &dir8,
        &s.student,
        &s.vs,
        Some(&s.tokenizer),
        &text_meta(),
        &quant(QuantType::Int8, true),
    )?;
    let out8 = tmp.0.join("student-int8.pt");
    assert!(export::export_torchscript(&dir8, &out8)?.dequantized);
    let (ids, mask, _) = padded(&s.ids)?;
    let got8 = tch::CModule::load(&out8)?.forward_ts(&[ids, mask])?;
    let want8 = Predictor::load(&dir8)?.logits_for_ids(&s.ids)?;
    let rel = relative_error(&got8, &want8)?;
    println!("int8 export against the int8 predictor: relative error {rel:.4}");
    assert!(rel < 0.05, "int8 export relative error {rel}");
    Ok(())
}

#[test]
fn torchscript_export_of_an_mlp_bundle_matches_and_errors_name_the_path() -> Result<()> {
    let _g = lock();
    let tmp = TempDir::new("export-mlp")?;
    let (vs, student, x) = mlp_student(22)?;
    let dir = tmp.0.join("fp32");
    bundle::save(
        &dir,
        &student,
        &vs,
        None,
        &mlp_meta(),
        &quant(QuantType::None, false),
    )?;
    let out = tmp.0.join("mlp.pt");
    assert_eq!(export::export_torchscript(&dir, &out)?.kind, "mlp");
    let module = tch::CModule::load(&out)?;
    let p = Predictor::load(&dir)?;
    for (start, len) in [(0, 1), (1, 39)] {
        let rows = x.f_narrow(0, start, len)?;
        let got = module.forward_ts(&[&rows])?;
        let diff = max_abs_diff(&got, &p.logits_for_features(&rows)?)?;
        assert!(diff < 1e-5, "{len} rows: {diff}");
    }

    let missing = tmp.0.join("no-such-bundle");
    let err = export::export_torchscript(&missing, &out).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert!(err.to_string().contains("no-such-bundle"), "{err}");
    let unwritable = tmp.0.join("no-such-dir").join("mlp.pt");
    let err = export::export_torchscript(&dir, &unwritable).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    let err = export::export_torchscript(&dir, &tmp.0).unwrap_err();
    assert!(err.to_string().contains(&*tmp.0.to_string_lossy()), "{err}");
    // nothing left behind but the bundle and the export
    let mut names: Vec<String> = std::fs::read_dir(&tmp.0)
        .map_err(|e| Error::io(&tmp.0, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["fp32", "mlp.pt"]);
    Ok(())
}
