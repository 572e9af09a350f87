//! AdamW and gradient clipping against `torch.optim.AdamW` / `clip_grad_norm_`.
//!
//! Fixture written by `tests/fixtures/optim/make_fixture.py` with the reference PyTorch.

use jbolt_distill::distill::optim::AdamW;
use jbolt_distill::error::Result;
use serde_json::Value;
use tch::{Kind, Tensor};

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

fn max_abs_diff(a: &Tensor, b: &[f32]) -> Result<f64> {
    let b = Tensor::from_slice(b).f_reshape(a.size())?;
    Ok((a - b).abs().max().double_value(&[]))
}

#[test]
fn adamw_with_clipping_matches_pytorch() -> Result<()> {
    let text = std::fs::read_to_string("tests/fixtures/optim/adamw.json")?;
    let fx: Value = serde_json::from_str(&text)?;
    let x = Tensor::from_slice(&floats(&fx["x"])).reshape([6, 4]);
    let y = Tensor::from_slice(&floats(&fx["y"])).reshape([6, 3]);
    let w = Tensor::from_slice(&floats(&fx["init"]["w"]))
        .reshape([3, 4])
        .set_requires_grad(true);
    let b = Tensor::from_slice(&floats(&fx["init"]["b"])).set_requires_grad(true);
    let lr = fx["lr"].as_f64().unwrap_or(0.0);
    let mut opt = AdamW::new(
        vec![
            ("w".into(), w.shallow_clone(), true),
            ("b".into(), b.shallow_clone(), false),
        ],
        fx["weight_decay"].as_f64().unwrap_or(0.0),
    );
    let steps = fx["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps.len(), 5);
    for s in &steps {
        opt.zero_grad();
        // PyTorch: loss = ((x @ w.T + b - y) ** 2).mean()
        let loss = (x.matmul(&w.tr()) + &b - &y)
            .pow_tensor_scalar(2)
            .mean(Kind::Float);
        assert!((loss.double_value(&[]) - s["loss"].as_f64().unwrap_or(f64::NAN)).abs() < 1e-5);
        loss.backward();
        let norm = opt.clip_grad_norm(fx["max_norm"].as_f64().unwrap_or(0.0))?;
        assert!(
            (norm - s["grad_norm"].as_f64().unwrap_or(f64::NAN)).abs() < 1e-5,
            "norm {norm}"
        );
        opt.step(lr)?;
        assert!(max_abs_diff(&w, &floats(&s["w"]))? < 1e-6);
        assert!(max_abs_diff(&b, &floats(&s["b"]))? < 1e-6);
    }
    assert_eq!(opt.step_count(), 5);
    Ok(())
}

#[test]
fn restored_state_continues_identically() -> Result<()> {
    let make = || {
        let w = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.25]).set_requires_grad(true);
        let opt = AdamW::new(vec![("w".into(), w.shallow_clone(), true)], 0.01);
        (w, opt)
    };
    let run_step = |w: &Tensor, opt: &mut AdamW| -> Result<()> {
        opt.zero_grad();
        (w * w * w).sum(Kind::Float).backward();
        opt.step(0.1)
    };
    let (w1, mut o1) = make();
    for _ in 0..6 {
        run_step(&w1, &mut o1)?;
    }
    let (w2, mut o2) = make();
    for _ in 0..3 {
        run_step(&w2, &mut o2)?;
    }
    let (state, step) = o2.state();
    let state = state.into_iter().map(|(k, t)| (k, t.copy())).collect();
    let w3 = w2.detach().copy().set_requires_grad(true);
    let mut o3 = AdamW::new(vec![("w".into(), w3.shallow_clone(), true)], 0.01);
    o3.load_state(&state, step)?;
    for _ in 0..3 {
        run_step(&w3, &mut o3)?;
    }
    assert!(
        w1.equal(&w3),
        "resumed optimizer must reproduce the uninterrupted run"
    );
    Ok(())
}
