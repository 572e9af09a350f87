//! INT8 linear and embedding against PyTorch's dynamic quantization.
//!
//! Fixtures: `tests/fixtures/quant/make_fixtures.py` (torch 2.13.0, fbgemm engine). Both sides
//! run the same fbgemm kernels on the same int8 weight, so outputs agree to float rounding;
//! the int8 weight and the scales must agree exactly.

use std::path::PathBuf;

use jbolt_distill::error::Result;
use jbolt_distill::quant::{QuantizedEmbedding, QuantizedLinear};
use serde_json::Value;
use tch::{Kind, Tensor};

fn case(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quant/quant.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    v["cases"][name].clone()
}

fn shape(v: &Value) -> Vec<i64> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn f32_tensor(v: &Value) -> Tensor {
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_slice(&data).view(shape(v).as_slice())
}

fn i64_tensor(v: &Value) -> Tensor {
    let data: Vec<i64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    Tensor::from_slice(&data).view(shape(v).as_slice())
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

fn relative_error(got: &Tensor, want: &Tensor) -> f64 {
    let g = got.to_kind(Kind::Double);
    let w = want.to_kind(Kind::Double);
    (g - &w).norm().double_value(&[]) / w.norm().double_value(&[])
}

fn layer(c: &Value) -> Result<QuantizedLinear> {
    let bias = if c["bias"].is_null() {
        None
    } else {
        Some(f32_tensor(&c["bias"]))
    };
    QuantizedLinear::from_linear(&f32_tensor(&c["weight"]), bias.as_ref())
}

#[test]
fn int8_weight_and_scales_equal_pytorch_per_channel_quantization() -> Result<()> {
    for name in ["linear_2d", "linear_3d", "linear_no_bias"] {
        let c = case(name);
        let parts = layer(&c)?.int8_parts()?;
        // qlin.weight().int_repr(), q_per_channel_scales(), q_per_channel_zero_points()
        let want_q = i64_tensor(&c["int8_weight"]);
        assert_eq!(parts.weight.kind(), Kind::Int8);
        assert_eq!(
            max_abs_diff(&parts.weight, &want_q),
            0.0,
            "{name}: int8 weight"
        );
        let want_zero_points = i64_tensor(&c["zero_points"]);
        assert_eq!(
            max_abs_diff(&parts.zero_points, &want_zero_points),
            0.0,
            "{name}: zero points"
        );
        let scales = c["scales"]["data"].as_array().unwrap();
        let got: Vec<f32> = Vec::<f32>::try_from(&parts.scales)?;
        for (i, (g, w)) in got.iter().zip(scales).enumerate() {
            // the scales are f32 values; serde_json may read the f64 text one ulp off
            assert_eq!(*g, w.as_f64().unwrap() as f32, "{name}: scale {i}");
        }
    }
    Ok(())
}

#[test]
fn int8_linear_matches_pytorch_dynamic_linear() -> Result<()> {
    for name in ["linear_2d", "linear_3d", "linear_no_bias"] {
        let c = case(name);
        let q = layer(&c)?;
        let x = f32_tensor(&c["input"]);
        let y = q.forward(&x)?;
        // torch.ao.nn.quantized.dynamic.Linear.from_float(lin)(x), i.e.
        // torch.ops.quantized.linear_dynamic(x, packed, reduce_range=True)
        let want = f32_tensor(&c["int8_output"]);
        assert_eq!(y.size(), want.size(), "{name}: shape");
        assert_eq!(y.kind(), Kind::Float);
        // same kernel on the same int8 data: only f32 summation order could differ
        let diff = max_abs_diff(&y, &want);
        assert!(diff <= 1e-5, "{name}: differs from PyTorch by {diff}");

        // against the fp32 layer lin(x): per-channel int8 weights and 7-bit activations
        let fp32 = f32_tensor(&c["fp32_output"]);
        let rel = relative_error(&y, &fp32);
        assert!(rel < 0.03, "{name}: relative error {rel} against fp32");
    }
    Ok(())
}

#[test]
fn int8_parts_round_trip_through_safetensors_gives_identical_outputs() -> Result<()> {
    let c = case("linear_3d");
    let q = layer(&c)?;
    let x = f32_tensor(&c["input"]);
    let before = q.forward(&x)?;

    let dir = std::env::temp_dir().join(format!("jbolt-quant-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| jbolt_distill::error::Error::io(&dir, e))?;
    let path = dir.join("int8.safetensors");
    let parts = q.int8_parts()?;
    let bias = parts.bias.as_ref().expect("the layer has a bias");
    Tensor::write_safetensors(
        &[
            ("w", &parts.weight),
            ("s", &parts.scales),
            ("z", &parts.zero_points),
            ("b", bias),
        ],
        &path,
    )?;
    let loaded: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(&path)?.into_iter().collect();
    std::fs::remove_dir_all(&dir).map_err(|e| jbolt_distill::error::Error::io(&dir, e))?;
    assert_eq!(loaded["w"].kind(), Kind::Int8);

    let again = QuantizedLinear::from_int8_parts(
        &loaded["w"],
        &loaded["s"],
        &loaded["z"],
        Some(&loaded["b"]),
    )?;
    let after = again.forward(&x)?;
    assert_eq!(max_abs_diff(&before, &after), 0.0);
    assert_eq!(again.stored_bytes(), q.stored_bytes());
    // 40x96 int8 + 40 f32 scales + 40 i64 zero points + 40 f32 bias
    assert_eq!(q.stored_bytes(), 40 * 96 + 40 * 4 + 40 * 8 + 40 * 4);
    Ok(())
}

#[test]
fn dequantized_weight_is_close_to_the_original() -> Result<()> {
    let c = case("linear_2d");
    let w = f32_tensor(&c["weight"]);
    let q = layer(&c)?;
    let deq = q.dequantized_weight()?;
    // each weight is off by at most half a quantization step of its channel
    let parts = q.int8_parts()?;
    let half_step = parts.scales.unsqueeze(1) * 0.5 + 1e-7;
    let excess = ((deq - &w).abs() - half_step).max().double_value(&[]);
    assert!(
        excess <= 0.0,
        "a weight is off by more than half a step ({excess})"
    );
    Ok(())
}

#[test]
fn bad_shapes_and_parts_are_errors() -> Result<()> {
    let c = case("linear_2d");
    let q = layer(&c)?;
    let wrong = Tensor::zeros([3, 10], (Kind::Float, tch::Device::Cpu));
    let err = q.forward(&wrong).unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    assert!(err.to_string().contains("[3, 10]"), "{err}");
    assert!(q
        .forward(&Tensor::zeros([2, 64], (Kind::Int64, tch::Device::Cpu)))
        .is_err());
    assert!(QuantizedLinear::from_linear(
        &Tensor::zeros([4], (Kind::Float, tch::Device::Cpu)),
        None
    )
    .is_err());

    let parts = q.int8_parts()?;
    let bad_scales = parts.scales.zeros_like();
    assert!(
        QuantizedLinear::from_int8_parts(&parts.weight, &bad_scales, &parts.zero_points, None)
            .is_err()
    );
    let float_weight = parts.weight.to_kind(Kind::Float);
    assert!(QuantizedLinear::from_int8_parts(
        &float_weight,
        &parts.scales,
        &parts.zero_points,
        None
    )
    .is_err());
    let short = parts.scales.narrow(0, 0, 3);
    assert!(
        QuantizedLinear::from_int8_parts(&parts.weight, &short, &parts.zero_points, None).is_err()
    );
    Ok(())
}

#[test]
fn int8_embedding_matches_reference_and_round_trips() -> Result<()> {
    let c = case("embedding");
    let table = QuantizedEmbedding::from_weight(&f32_tensor(&c["weight"]))?;
    let (q, scales) = table.int8_parts()?;
    // torch.clamp(torch.round(emb / scale[:, None]), -127, 127), scale = max|row| / 127
    assert_eq!(max_abs_diff(&q, &i64_tensor(&c["int8_weight"])), 0.0);
    let want_scales: Vec<f32> = c["scales"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let got_scales: Vec<f32> = Vec::<f32>::try_from(&scales)?;
    for (g, w) in got_scales.iter().zip(&want_scales) {
        assert_eq!(g, w);
    }

    let ids = i64_tensor(&c["ids"]);
    let out = table.forward(&ids)?;
    // q[ids].float() * scale[ids][..., None]
    let want = f32_tensor(&c["output"]);
    assert_eq!(out.size(), want.size());
    assert_eq!(max_abs_diff(&out, &want), 0.0);

    let again = QuantizedEmbedding::from_int8_parts(&q, &scales)?;
    assert_eq!(max_abs_diff(&again.forward(&ids)?, &out), 0.0);
    assert!(table.forward(&Tensor::from_slice(&[20i64])).is_err());
    assert!(table.forward(&Tensor::from_slice(&[-1i64])).is_err());
    Ok(())
}

#[test]
fn quantized_linear_is_shareable_across_threads() -> Result<()> {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<QuantizedLinear>();
    assert_send_sync::<QuantizedEmbedding>();

    let c = case("linear_2d");
    let q = layer(&c)?;
    let x = Vec::<f32>::try_from(&f32_tensor(&c["input"]).flatten(0, -1))?;
    let want = q.forward(&f32_tensor(&c["input"]))?;
    let results: Vec<Result<Tensor>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| q.forward(&Tensor::from_slice(&x).view([5, 64]))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    for r in results {
        assert_eq!(max_abs_diff(&r?, &want), 0.0);
    }
    Ok(())
}
