//! Distillation losses and schedule against PyTorch reference values.
//!
//! The fixtures come from `tests/fixtures/loss/make_fixtures.py` (torch 2.13.0); the PyTorch
//! expression behind each expected value is quoted beside the comparison. Tensors are `f64`,
//! so the comparisons hold to 1e-6 (relative for large values); the `f32` checks of extreme
//! logits state their own tolerance.

use std::path::PathBuf;

use jbolt_distill::distill::loss::{
    attention_loss, distillation_loss, hard_loss, hidden_loss, soft_loss, uniform_layer_map,
    AttentionLossKind, HiddenAligner, HiddenLossKind, LayerMap,
};
use jbolt_distill::distill::schedule::{adamw, Schedule, ScheduleConfig, Stage};
use jbolt_distill::error::Result;
use serde_json::Value;
use tch::{nn, Kind, Tensor};

const TOL: f64 = 1e-6;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/loss")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn case(name: &str) -> Value {
    fixture("losses.json")["cases"][name].clone()
}

fn shape(v: &Value) -> Vec<i64> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn f64_tensor(v: &Value) -> Tensor {
    let data: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
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

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.double_value(&[])
}

fn assert_close(got: f64, want: f64, what: &str) {
    let tol = TOL * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

#[test]
fn soft_loss_is_batchmean_kl_teacher_to_student_times_t_squared() -> Result<()> {
    let c = case("soft_2d");
    let (s, t, temp) = (
        f64_tensor(&c["student"]),
        f64_tensor(&c["teacher"]),
        num(&c["temperature"]),
    );
    let got = scalar(&soft_loss(&s, &t, temp, None)?);
    // F.kl_div(F.log_softmax(s/T,-1), F.log_softmax(t/T,-1), reduction='batchmean', log_target=True)*T*T
    assert_close(got, num(&c["batchmean"]), "batchmean");
    // The same with reduction='mean', KL(student || teacher), and T on the student only differ.
    for other in ["mean", "reversed", "student_only_temperature"] {
        assert!(
            (got - num(&c[other])).abs() > 0.1,
            "soft loss must not equal the {other} variant"
        );
    }

    let c1 = case("soft_2d_t1");
    let got1 = scalar(&soft_loss(&s, &t, 1.0, None)?);
    assert_close(got1, num(&c1["batchmean"]), "batchmean at T=1");
    Ok(())
}

#[test]
fn soft_loss_gradient_matches_autograd() -> Result<()> {
    let c = case("soft_2d");
    let s = f64_tensor(&c["student"]).set_requires_grad(true);
    let t = f64_tensor(&c["teacher"]);
    let loss = soft_loss(&s, &t, num(&c["temperature"]), None)?;
    loss.backward();
    // s.grad after soft(s, t, T).backward() in PyTorch
    let want = f64_tensor(&c["grad_student"]);
    let diff = scalar(&(s.grad() - &want).abs().max());
    assert!(diff <= TOL, "gradient differs by {diff}");
    Ok(())
}

#[test]
fn token_level_soft_loss_averages_over_unmasked_tokens() -> Result<()> {
    let c = case("soft_token_masked");
    let (s, t) = (f64_tensor(&c["student"]), f64_tensor(&c["teacher"]));
    let mask = i64_tensor(&c["mask"]);
    let temp = num(&c["temperature"]);
    // (kl_div(..., reduction='none', log_target=True).sum(-1) * mask).sum() / mask.sum() * T*T
    assert_close(
        scalar(&soft_loss(&s, &t, temp, Some(&mask))?),
        num(&c["value"]),
        "masked",
    );
    assert_close(
        scalar(&soft_loss(&s, &t, temp, None)?),
        num(&c["unmasked"]),
        "unmasked",
    );
    let bool_mask = mask.ne(0);
    assert_close(
        scalar(&soft_loss(&s, &t, temp, Some(&bool_mask))?),
        num(&c["value"]),
        "bool",
    );
    Ok(())
}

#[test]
fn hard_loss_ignores_unlabelled_rows() -> Result<()> {
    let c = case("hard_2d");
    let got = scalar(&hard_loss(
        &f64_tensor(&c["student"]),
        &i64_tensor(&c["labels"]),
    )?);
    // F.cross_entropy(s, labels, ignore_index=-1)
    assert_close(got, num(&c["value"]), "2-d cross-entropy");

    let c = case("hard_token");
    let got = scalar(&hard_loss(
        &f64_tensor(&c["student"]),
        &i64_tensor(&c["labels"]),
    )?);
    // F.cross_entropy(s.reshape(-1, C), labels.reshape(-1), ignore_index=-1)
    assert_close(got, num(&c["value"]), "token cross-entropy");
    Ok(())
}

#[test]
fn combined_loss_mixes_soft_and_hard_and_handles_unlabelled_batches() -> Result<()> {
    for name in ["combined", "combined_unlabelled"] {
        let c = case(name);
        let s = f64_tensor(&c["student"]).set_requires_grad(true);
        let parts = distillation_loss(
            &s,
            &f64_tensor(&c["teacher"]),
            &i64_tensor(&c["labels"]),
            None,
            num(&c["temperature"]),
            num(&c["alpha"]),
        )?;
        // alpha * soft(s, t, T) + (1 - alpha) * F.cross_entropy(s, labels, ignore_index=-1),
        // with the hard term 0 when no row is labelled
        assert_close(scalar(&parts.soft), num(&c["soft"]), name);
        assert_close(scalar(&parts.hard), num(&c["hard"]), name);
        assert_close(scalar(&parts.total), num(&c["total"]), name);
        parts.total.backward();
        assert!(scalar(&s.grad().isfinite().all().to_kind(Kind::Double)) == 1.0);
    }
    Ok(())
}

#[test]
fn extreme_logits_and_temperatures_stay_finite() -> Result<()> {
    let c = case("extreme");
    let (s, t) = (f64_tensor(&c["student"]), f64_tensor(&c["teacher"]));
    for v in c["values"].as_array().unwrap() {
        let temp = num(&v["temperature"]);
        let got = scalar(&soft_loss(&s, &t, temp, None)?);
        assert!(got.is_finite(), "T={temp}: {got}");
        assert_close(got, num(&v["value"]), &format!("f64 at T={temp}"));

        // f32: logits of 1e4 carry about 1e-3 absolute rounding (1e4 * 2^-24), and the KL is a
        // difference of such values, so agreement with PyTorch's f32 result is checked to a
        // relative 1e-5 rather than 1e-6.
        let s32 = s.to_kind(Kind::Float).set_requires_grad(true);
        let loss32 = soft_loss(&s32, &t.to_kind(Kind::Float), temp, None)?;
        let got32 = scalar(&loss32);
        assert!(got32.is_finite(), "f32 T={temp}: {got32}");
        let want32 = num(&v["value_f32"]);
        assert!(
            (got32 - want32).abs() <= 1e-5 * want32.abs(),
            "f32 T={temp}: {got32} vs {want32}"
        );
        loss32.backward();
        let grad_finite = s32.grad().isfinite().all().int64_value(&[]);
        assert_eq!(grad_finite, 1, "f32 gradient at T={temp} is not finite");
    }
    Ok(())
}

#[test]
fn hidden_alignment_through_projection_matches_pytorch() -> Result<()> {
    let c = case("hidden");
    let (hs, ht) = (f64_tensor(&c["student"]), f64_tensor(&c["teacher"]));
    let mask = i64_tensor(&c["mask"]);
    let proj = nn::Linear {
        ws: f64_tensor(&c["weight"]),
        bs: Some(f64_tensor(&c["bias"])),
    };

    // F.mse_loss(F.linear(hs, w, b)[mask], ht[mask])
    let mse = hidden_loss(&hs, &ht, Some(&proj), Some(&mask), HiddenLossKind::Mse)?;
    assert_close(scalar(&mse), num(&c["mse"]), "mse");
    // (1 - F.cosine_similarity(F.linear(hs, w, b), ht, dim=-1, eps=1e-8))[mask].mean()
    let cos = hidden_loss(&hs, &ht, Some(&proj), Some(&mask), HiddenLossKind::Cosine)?;
    assert_close(scalar(&cos), num(&c["cosine"]), "cosine");
    // F.mse_loss(F.linear(hs, w, b), ht)
    let all = hidden_loss(&hs, &ht, Some(&proj), None, HiddenLossKind::Mse)?;
    assert_close(scalar(&all), num(&c["mse_unmasked"]), "mse unmasked");

    let same = f64_tensor(&c["same_width_teacher"]);
    let mse = hidden_loss(&hs, &same, None, Some(&mask), HiddenLossKind::Mse)?;
    assert_close(scalar(&mse), num(&c["same_width_mse"]), "same-width mse");
    let cos = hidden_loss(&hs, &same, None, Some(&mask), HiddenLossKind::Cosine)?;
    assert_close(
        scalar(&cos),
        num(&c["same_width_cosine"]),
        "same-width cosine",
    );

    assert!(hidden_loss(&hs, &ht, None, Some(&mask), HiddenLossKind::Mse).is_err());
    Ok(())
}

#[test]
fn aligner_creates_a_projection_only_when_widths_differ() -> Result<()> {
    let c = case("hidden");
    let (hs, ht) = (f64_tensor(&c["student"]), f64_tensor(&c["teacher"]));
    let mask = i64_tensor(&c["mask"]);

    let mut vs = nn::VarStore::new(tch::Device::Cpu);
    let map = LayerMap::Explicit(vec![(1, 2), (2, 2)]);
    let mut aligner = HiddenAligner::new(&vs.root(), 6, 8, 2, 2, &map, HiddenLossKind::Mse)?;
    vs.double();
    assert_eq!(vs.trainable_variables().len(), 2);
    let proj = aligner
        .projection_mut()
        .expect("widths differ, so a projection exists");
    tch::no_grad(|| {
        proj.ws.copy_(&f64_tensor(&c["weight"]));
        proj.bs.as_mut().unwrap().copy_(&f64_tensor(&c["bias"]));
    });
    let student = [hs.zeros_like(), hs.shallow_clone(), hs.shallow_clone()];
    let teacher = [ht.zeros_like(), ht.zeros_like(), ht.shallow_clone()];
    // both pairs compare (hs, ht): the mean of two equal losses
    let loss = aligner.hidden_loss(&student, &teacher, Some(&mask))?;
    assert_close(scalar(&loss), num(&c["mse"]), "aligner mse");
    loss.backward();
    assert!(
        scalar(
            &aligner
                .projection()
                .unwrap()
                .ws
                .grad()
                .abs()
                .sum(Kind::Double)
        ) > 0.0
    );
    assert!(aligner
        .hidden_loss(&student[..1], &teacher, Some(&mask))
        .is_err());

    let vs2 = nn::VarStore::new(tch::Device::Cpu);
    let same = HiddenAligner::new(
        &vs2.root(),
        8,
        8,
        4,
        6,
        &LayerMap::Uniform,
        HiddenLossKind::Cosine,
    )?;
    assert!(same.projection().is_none());
    assert!(vs2.trainable_variables().is_empty());
    assert_eq!(same.pairs(), &[(0, 0), (1, 1), (2, 3), (3, 4), (4, 6)]);

    let bad = LayerMap::Explicit(vec![(5, 1)]);
    assert!(HiddenAligner::new(&vs2.root(), 8, 8, 4, 6, &bad, HiddenLossKind::Mse).is_err());
    Ok(())
}

#[test]
fn uniform_layer_map_follows_tinybert() {
    let c = case("uniform_map");
    for m in c.as_array().unwrap() {
        let (sl, tl) = (
            m["student_layers"].as_u64().unwrap(),
            m["teacher_layers"].as_u64().unwrap(),
        );
        // [(0, 0)] + [(i, i * N // M) for i in 1..=M]
        let want: Vec<(usize, usize)> = m["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert_eq!(
            uniform_layer_map(sl as usize, tl as usize),
            want,
            "M={sl} N={tl}"
        );
    }
}

#[test]
fn attention_alignment_matches_pytorch() -> Result<()> {
    let c = case("attention");
    let s = f64_tensor(&c["student"]);
    let mask = i64_tensor(&c["mask"]);
    for (teacher, suffix) in [
        ("teacher_same_heads", "same"),
        ("teacher_more_heads", "more"),
    ] {
        let t = f64_tensor(&c[teacher]);
        // (F.kl_div(s.clamp_min(1e-12).log(), t.clamp_min(1e-12), reduction='none') * key_mask)
        //   .sum(-1) * query_mask).sum() / (mask.sum() * heads), heads averaged if they differ
        let kl = attention_loss(&s, &t, Some(&mask), AttentionLossKind::Kl)?;
        assert_close(
            scalar(&kl),
            num(&c[format!("kl_{suffix}").as_str()]),
            "attention kl",
        );
        // ((s - t)**2 * pair_mask).sum() / (pair_mask.sum() * heads)
        let mse = attention_loss(&s, &t, Some(&mask), AttentionLossKind::Mse)?;
        assert_close(
            scalar(&mse),
            num(&c[format!("mse_{suffix}").as_str()]),
            "attention mse",
        );
    }

    let vs = nn::VarStore::new(tch::Device::Cpu);
    let map = LayerMap::Explicit(vec![(0, 0), (1, 2)]);
    let aligner = HiddenAligner::new(&vs.root(), 4, 4, 1, 2, &map, HiddenLossKind::Mse)?;
    let t = f64_tensor(&c["teacher_same_heads"]);
    let loss = aligner.attention_loss(
        &[s.shallow_clone()],
        &[s.zeros_like(), t],
        Some(&mask),
        AttentionLossKind::Kl,
    )?;
    assert_close(scalar(&loss), num(&c["kl_same"]), "aligner attention kl");
    Ok(())
}

#[test]
fn empty_batches_give_zero_not_nan() -> Result<()> {
    let empty = Tensor::zeros([0, 3], (Kind::Float, tch::Device::Cpu));
    let no_labels = Tensor::zeros([0], (Kind::Int64, tch::Device::Cpu));
    let parts = distillation_loss(&empty, &empty, &no_labels, None, 2.0, 0.5)?;
    assert_eq!(scalar(&parts.total), 0.0);
    Ok(())
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let s = Tensor::zeros([4, 3], (Kind::Float, tch::Device::Cpu));
    let t = Tensor::zeros([4, 2], (Kind::Float, tch::Device::Cpu));
    assert!(soft_loss(&s, &t, 2.0, None).is_err());
    assert!(soft_loss(&s, &s, 0.0, None).is_err());
    assert!(soft_loss(&s, &s, f64::NAN, None).is_err());
    let bad_mask = Tensor::ones([3], (Kind::Int64, tch::Device::Cpu));
    assert!(soft_loss(&s, &s, 1.0, Some(&bad_mask)).is_err());
    let labels = Tensor::from_slice(&[0i64, 1, 3, -1]);
    let err = hard_loss(&s, &labels).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.to_string().contains("label 3"), "{err}");
    assert!(hard_loss(&s, &Tensor::from_slice(&[0i64, -2, 1, 1])).is_err());
    assert!(hard_loss(&s, &Tensor::from_slice(&[0.0f32, 1.0, 1.0, 1.0])).is_err());
    assert!(distillation_loss(
        &s,
        &s,
        &Tensor::from_slice(&[0i64, 1, 2, -1]),
        None,
        2.0,
        1.5
    )
    .is_err());
    let att = Tensor::zeros([1, 2, 3, 3], (Kind::Float, tch::Device::Cpu));
    let att_bad = Tensor::zeros([1, 2, 4, 4], (Kind::Float, tch::Device::Cpu));
    assert!(attention_loss(&att, &att_bad, None, AttentionLossKind::Kl).is_err());
}

fn stage_name(stage: Stage) -> &'static str {
    stage.as_str()
}

#[test]
fn schedule_matches_the_documented_rule_and_lambda_lr() -> Result<()> {
    let fx = fixture("schedule.json");
    for sched in fx["schedules"].as_array().unwrap() {
        let c = &sched["config"];
        let config = ScheduleConfig {
            total_steps: c["total_steps"].as_u64().unwrap() as usize,
            learning_rate: num(&c["learning_rate"]),
            lr_warmup_share: num(&c["lr_warmup_share"]),
            temperature_start: num(&c["temperature_start"]),
            temperature_end: num(&c["temperature_end"]),
            alpha: num(&c["alpha"]),
            alpha_end: c["alpha_end"].as_f64(),
            hard_warmup_share: num(&c["hard_warmup_share"]),
            final_hard_share: num(&c["final_hard_share"]),
        };
        let schedule = Schedule::new(config)?;
        for p in sched["plans"].as_array().unwrap() {
            let step = p["step"].as_u64().unwrap() as usize;
            let plan = schedule.at(step);
            let what = format!("total {} step {step}", schedule.total_steps());
            assert_eq!(
                stage_name(plan.stage),
                p["stage"].as_str().unwrap(),
                "{what}"
            );
            assert_close(plan.temperature, num(&p["temperature"]), &what);
            assert_close(plan.alpha, num(&p["alpha"]), &what);
            // LambdaLR(AdamW(lr), lambda s: factor(s)); opt.param_groups[0]['lr'] before step s
            assert!(
                (plan.lr - num(&p["lr"])).abs() <= 1e-12,
                "{what}: lr {} vs {}",
                plan.lr,
                p["lr"]
            );
        }
    }
    Ok(())
}

#[test]
fn default_schedule_has_the_documented_stages() -> Result<()> {
    let schedule = Schedule::new(ScheduleConfig {
        total_steps: 500,
        ..Default::default()
    })?;
    assert_eq!(
        (
            schedule.warmup_steps(),
            schedule.distill_steps(),
            schedule.final_steps()
        ),
        (100, 400, 0)
    );
    assert_eq!(schedule.at(99).stage, Stage::Warmup);
    assert_eq!(schedule.at(99).alpha, 0.0);
    let first = schedule.at(100);
    assert_eq!(
        (first.stage, first.temperature, first.alpha),
        (Stage::Distill, 4.0, 0.5)
    );
    assert_eq!(schedule.at(499).temperature, 1.0);
    assert_eq!(schedule.lr_at(49), 5e-4);
    assert_eq!(schedule.lr_at(500), 0.0);

    let bad = ScheduleConfig {
        hard_warmup_share: 0.7,
        final_hard_share: 0.5,
        ..Default::default()
    };
    assert_eq!(Schedule::new(bad).unwrap_err().code(), "INVALID_ARGUMENT");
    assert!(Schedule::new(ScheduleConfig {
        total_steps: 0,
        ..Default::default()
    })
    .is_err());
    assert!(Schedule::new(ScheduleConfig {
        alpha: 1.5,
        ..Default::default()
    })
    .is_err());

    let vs = nn::VarStore::new(tch::Device::Cpu);
    let _w = vs.root().var("w", &[2], nn::Init::Const(1.0));
    let mut opt = adamw(&vs, 1e-3, 0.01)?;
    opt.set_lr(schedule.at(0).lr);
    assert!(adamw(&vs, 1e-3, -1.0).is_err());
    Ok(())
}
