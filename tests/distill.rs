//! Trainer, checkpoint and cache behaviour: reproducibility, resume, cancellation, online vs
//! cached teacher outputs, teacher weights left untouched.
//!
//! These tests use small synthetic feature data and MLP students so that they run in seconds;
//! the transformer path is exercised in `tests/student.rs` and the BBC demo, and attention
//! alignment here with a tiny transformer student and synthetic teacher attention maps.

use std::collections::BTreeMap;

use jbolt_distill::config::TransformerStudent;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::distill::cache::{TeacherBatch, TeacherOutputs};
use jbolt_distill::distill::events::Event;
use jbolt_distill::distill::loss::{self, AttentionLossKind, LayerMap};
use jbolt_distill::distill::schedule::{Stage, StepPlan};
use jbolt_distill::distill::trainer::{self, AttentionConfig, Split, Targets, TrainerConfig};
use jbolt_distill::error::{Error, Result};
use jbolt_distill::models::student::{MlpConfig, MlpStudent, Student};
use jbolt_distill::models::transformer::{build_transformer_student, StudentInit};
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// Three Gaussian blobs in 8 dimensions; labels 0..3, the last `unlabelled` rows marked -1.
fn blobs(n: i64, seed: i64) -> (Tensor, Vec<i64>) {
    tch::manual_seed(seed);
    let labels = Tensor::randint(3, [n], (Kind::Int64, Device::Cpu));
    let centers = Tensor::randn([3, 8], (Kind::Float, Device::Cpu)) * 2.0;
    let x = centers.index_select(0, &labels) + Tensor::randn([n, 8], (Kind::Float, Device::Cpu));
    (x, Vec::<i64>::try_from(&labels).unwrap_or_default())
}

struct Fixture {
    train_x: Inputs,
    train_y: Vec<i64>,
    val_x: Inputs,
    val_y: Vec<i64>,
    teacher_vs: nn::VarStore,
    teacher: nn::Sequential,
}

/// torch's random generator is process-global: tests that seed it must not interleave.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture() -> Fixture {
    let (all_x, all_y) = blobs(300, 1);
    let (x, y) = (all_x.narrow(0, 0, 240), all_y[..240].to_vec());
    let (vx, vy) = (all_x.narrow(0, 240, 60), all_y[240..].to_vec());
    tch::manual_seed(3);
    let teacher_vs = nn::VarStore::new(Device::Cpu);
    let p = teacher_vs.root();
    let teacher = nn::seq()
        .add(nn::linear(&p / "l1", 8, 32, Default::default()))
        .add_fn(|t| t.relu())
        .add(nn::linear(&p / "l2", 32, 3, Default::default()));
    Fixture {
        train_x: Inputs::Features(x),
        train_y: y,
        val_x: Inputs::Features(vx),
        val_y: vy,
        teacher_vs,
        teacher,
    }
}

fn teacher_outputs(f: &Fixture) -> Result<TeacherOutputs> {
    let Inputs::Features(x) = &f.train_x else {
        unreachable!()
    };
    TeacherOutputs::compute(f.train_x.len(), 50, 0, &mut |s, e| {
        let xb = x.narrow(0, s as i64, (e - s) as i64);
        Ok(TeacherBatch {
            pooled: xb.copy(),
            logits: Some(f.teacher.forward(&xb)),
            hidden: BTreeMap::new(),
        })
    })
}

fn new_student(seed: i64) -> Result<(nn::VarStore, Student)> {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MlpConfig {
        input_dim: 8,
        hidden_sizes: vec![16],
        dropout: 0.2,
        num_labels: 3,
    };
    let m = MlpStudent::new(&vs.root(), &cfg)?;
    Ok((vs, Student::Mlp(m)))
}

fn config() -> TrainerConfig {
    TrainerConfig {
        epochs: 4,
        batch_size: 32,
        learning_rate: 1e-2,
        early_stopping_patience: 0,
        seed: 11,
        ..TrainerConfig::default()
    }
}

fn weights(vs: &nn::VarStore) -> BTreeMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(k, t)| (k, t.detach().copy()))
        .collect()
}

fn run(
    f: &Fixture,
    cfg: &TrainerConfig,
    cancel_at: Option<usize>,
) -> Result<(nn::VarStore, Student, trainer::TrainSummary)> {
    let (vs, student) = new_student(5)?;
    let cached = teacher_outputs(f)?;
    let mut on_event = |e: &Event| cancel_at.map_or(true, |c| e.step < c);
    let summary = trainer::train(
        &student,
        &vs,
        cfg,
        Split {
            inputs: &f.train_x,
            labels: &f.train_y,
        },
        Some(Split {
            inputs: &f.val_x,
            labels: &f.val_y,
        }),
        Targets::Cached(&cached),
        &mut on_event,
    )?;
    Ok((vs, student, summary))
}

fn val_logits(f: &Fixture, s: &Student) -> Result<Tensor> {
    trainer::predict_logits(s, &f.val_x, 64)
}

#[test]
fn same_seed_gives_bit_identical_students() -> Result<()> {
    let _guard = lock();
    tch::set_num_threads(1);
    let f = fixture();
    let (vs1, _, s1) = run(&f, &config(), None)?;
    let (vs2, _, s2) = run(&f, &config(), None)?;
    assert_eq!(s1, s2);
    let (w1, w2) = (weights(&vs1), weights(&vs2));
    assert_eq!(
        w1.len(),
        6,
        "norm.mean, norm.std, two linear layers' weight and bias: {:?}",
        w1.keys()
    );
    for (k, t) in &w1 {
        assert!(
            t.equal(&w2[k]),
            "variable {k} differs between two runs with the same seed"
        );
    }
    // A different seed must give a different student (the test can fail).
    let mut other = config();
    other.seed = 12;
    let (vs3, _, _) = run(&f, &other, None)?;
    let w3 = weights(&vs3);
    assert!(w1.iter().any(|(k, t)| !t.equal(&w3[k])));
    Ok(())
}

#[test]
fn distillation_learns_the_blobs() -> Result<()> {
    let _guard = lock();
    tch::set_num_threads(1);
    let f = fixture();
    let (_, student, summary) = run(&f, &config(), None)?;
    let acc = trainer::accuracy(&val_logits(&f, &student)?, &f.val_y)?.unwrap_or(0.0);
    assert!(acc > 0.9, "validation accuracy {acc}");
    assert_eq!(
        summary.best_val_accuracy,
        Some(acc),
        "the best weights are the ones restored"
    );
    Ok(())
}

#[test]
fn with_no_step_interval_every_epoch_ends_with_a_checkpoint_to_resume_from() -> Result<()> {
    let _guard = lock();
    tch::set_num_threads(1);
    let f = fixture();
    let dir = std::env::temp_dir().join(format!("jbolt-epoch-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, s_full, sum_full) = run(&f, &config(), None)?;

    let mut cfg = config();
    cfg.checkpoint_dir = Some(dir.clone());
    cfg.checkpoint_every = 0;
    // 8 steps per epoch; cancelled at step 13, the end of epoch 1 (step 8) is what is kept.
    let err = run(&f, &cfg, Some(13)).err();
    assert!(matches!(err, Some(Error::Cancelled)), "{err:?}");
    let kept: Vec<String> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["step-00000008"]);

    cfg.resume = true;
    let (_, s_res, sum_res) = run(&f, &cfg, None)?;
    assert!(sum_res.resumed);
    assert_eq!(sum_res.steps, sum_full.steps);
    assert!(val_logits(&f, &s_res)?.equal(&val_logits(&f, &s_full)?));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn resumed_run_ends_exactly_like_an_uninterrupted_one() -> Result<()> {
    let _guard = lock();
    tch::set_num_threads(1);
    let f = fixture();
    let dir = std::env::temp_dir().join(format!("jbolt-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (vs_full, s_full, sum_full) = run(&f, &config(), None)?;

    let mut cfg = config();
    cfg.checkpoint_dir = Some(dir.clone());
    cfg.checkpoint_every = 5;
    // 8 steps per epoch; cancel during epoch 2 at step 13 (checkpoint at step 10 kept).
    let err = run(&f, &cfg, Some(13)).err();
    assert!(
        matches!(err, Some(Error::Cancelled)),
        "expected cancellation, got {err:?}"
    );
    let kept: Vec<_> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(kept.len(), 1, "only the latest checkpoint stays: {kept:?}");
    assert_eq!(kept[0].to_string_lossy(), "step-00000010");

    cfg.resume = true;
    let (vs_res, s_res, sum_res) = run(&f, &cfg, None)?;
    assert!(sum_res.resumed);
    assert_eq!(sum_res.steps, sum_full.steps);
    assert_eq!(sum_res.best_val_accuracy, sum_full.best_val_accuracy);
    assert!(val_logits(&f, &s_res)?.equal(&val_logits(&f, &s_full)?));
    let (w1, w2) = (weights(&vs_full), weights(&vs_res));
    for (k, t) in &w1 {
        assert!(t.equal(&w2[k]), "variable {k} differs after resume");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn online_and_cached_teacher_give_the_same_loss_and_leave_the_teacher_unchanged() -> Result<()> {
    let _guard = lock();
    tch::set_num_threads(1);
    let f = fixture();
    let before: Vec<(String, Tensor)> = weights(&f.teacher_vs).into_iter().collect();
    let cached = teacher_outputs(&f)?;
    let (_, student) = new_student(5)?;
    let plan = StepPlan {
        stage: Stage::Distill,
        temperature: 3.0,
        alpha: 0.7,
        lr: 0.0,
    };
    let rows = [3usize, 17, 42, 99, 150, 201];
    let batch = f.train_x.batch(&rows, &f.train_y)?;
    let from_cache = cached.select(&batch.rows)?;
    let online = TeacherOutputs {
        pooled: batch
            .features
            .as_ref()
            .map(|x| x.copy())
            .unwrap_or_default(),
        logits: batch
            .features
            .as_ref()
            .map(|x| tch::no_grad(|| f.teacher.forward(x))),
        hidden: BTreeMap::new(),
        attentions: BTreeMap::new(),
    };
    let a = trainer::batch_loss(
        &student,
        &batch,
        Some(&from_cache),
        &plan,
        None,
        None,
        false,
    )?;
    let b = trainer::batch_loss(&student, &batch, Some(&online), &plan, None, None, false)?;
    assert!(a.soft > 0.0 && a.hard > 0.0);
    assert!((a.total.double_value(&[]) - b.total.double_value(&[])).abs() < 1e-6);

    // A whole online run, then the teacher checksum.
    let (vs, student) = new_student(5)?;
    let mut teacher_fn = |batch: &jbolt_distill::distill::batch::Batch| -> Result<TeacherOutputs> {
        let x = batch
            .features
            .as_ref()
            .map(|x| x.copy())
            .unwrap_or_default();
        Ok(TeacherOutputs {
            logits: Some(f.teacher.forward(&x)),
            pooled: x,
            hidden: BTreeMap::new(),
            attentions: BTreeMap::new(),
        })
    };
    trainer::train(
        &student,
        &vs,
        &config(),
        Split {
            inputs: &f.train_x,
            labels: &f.train_y,
        },
        None,
        Targets::Online(&mut teacher_fn),
        &mut |_| true,
    )?;
    for (k, t) in before {
        assert!(
            t.equal(&f.teacher_vs.variables()[&k]),
            "teacher variable {k} changed"
        );
    }
    Ok(())
}

#[test]
fn cache_file_round_trips_and_shards_cover_rows() -> Result<()> {
    let _guard = lock();
    let f = fixture();
    let out = teacher_outputs(&f)?;
    let dir = std::env::temp_dir().join(format!("jbolt-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // Two shards written separately, as a cluster job would.
    out.write_shard(&dir.join("k1.0-100.jbc"), "k1", 0, 100)?;
    assert!(
        TeacherOutputs::read(&dir, "k1", 240)?.is_none(),
        "incomplete shards are a miss"
    );
    out.write_shard(&dir.join("k1.100-240.jbc"), "k1", 100, 240)?;
    let back = TeacherOutputs::read(&dir, "k1", 240)?.ok_or(Error::Internal("miss".into()))?;
    assert!(back.pooled.equal(&out.pooled));
    assert!(back
        .logits
        .as_ref()
        .zip(out.logits.as_ref())
        .is_some_and(|(a, b)| a.equal(b)));
    assert!(TeacherOutputs::read(&dir, "other", 240)?.is_none());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A kill while a checkpoint is written leaves a `.tmp-step-*` directory with some of its files;
/// the previous checkpoint stays the one read back, and the next save removes the leftover.
#[test]
fn a_checkpoint_torn_by_a_kill_leaves_the_previous_one_valid() -> Result<()> {
    use jbolt_distill::distill::checkpoint::{self, CheckpointState};

    let dir = std::env::temp_dir().join(format!("jbolt-torn-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = |step: usize| CheckpointState {
        version: 1,
        fingerprint: "run".into(),
        step,
        epoch: 0,
        cursor: step,
        optimizer_step: step as i64,
        best_val_accuracy: None,
        best_epoch: 0,
        bad_epochs: 0,
        stopped: false,
        rng: String::new(),
    };
    let weights = |v: f64| vec![("w".to_string(), Tensor::from_slice(&[v, v]))];
    checkpoint::save(&dir, &state(3), &weights(3.0), &weights(0.3), None)?;

    // What a SIGKILL in the middle of writing step 4 leaves: the model half written, no state.
    let torn = dir.join(".tmp-step-00000004");
    std::fs::create_dir_all(&torn).map_err(|e| Error::io(&torn, e))?;
    std::fs::write(
        torn.join("model.safetensors"),
        b"\x40\x00\x00\x00\x00\x00\x00\x00{\"w\":",
    )
    .map_err(|e| Error::io(&torn, e))?;
    // And a directory named like a checkpoint but without its state file (never complete).
    let partial = dir.join("step-00000005");
    std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;

    let latest = checkpoint::load_latest(&dir)?.expect("the step-3 checkpoint");
    assert_eq!(latest.state, state(3));
    assert_eq!(Vec::<f64>::try_from(&latest.model["w"])?, vec![3.0, 3.0]);

    checkpoint::save(&dir, &state(4), &weights(4.0), &weights(0.4), None)?;
    let latest = checkpoint::load_latest(&dir)?.expect("the step-4 checkpoint");
    assert_eq!(latest.state.step, 4);
    assert!(
        !torn.exists(),
        "the torn temporary directory is removed by the next save"
    );
    assert!(
        !dir.join("step-00000003").exists(),
        "older checkpoints are removed"
    );
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(())
}

/// A 2-layer, 4-head transformer student over tiny-fixture style ids (no teacher weights).
fn tiny_transformer(rows: &[Vec<i64>]) -> Result<(nn::VarStore, Student)> {
    tch::manual_seed(21);
    let vs = nn::VarStore::new(Device::Cpu);
    let init = StudentInit {
        teacher: None,
        train_ids: rows,
        teacher_vocab_size: 40,
        special_ids: vec![0, 1, 2, 3, 4],
        unk_id: 1,
        num_labels: 3,
    };
    let spec = TransformerStudent {
        layers: 2,
        hidden_size: 16,
        heads: 4,
        intermediate_size: 32,
        max_positions: 12,
        init_from_teacher: false,
        prune_vocab: true,
    };
    let student = build_transformer_student(&vs.root(), &spec, &init)?;
    Ok((vs, Student::Transformer(student)))
}

/// Random attention probabilities `[b, heads, l, l]` whose rows put no mass on padded keys.
fn teacher_attention(mask: &Tensor, heads: i64) -> Result<Tensor> {
    let (b, l) = (mask.size()[0], mask.size()[1]);
    let padded_keys = mask.f_eq(0)?.f_view([b, 1, 1, l])?;
    Ok(
        Tensor::f_randn([b, heads, l, l], (Kind::Float, Device::Cpu))?
            .f_mul_scalar(2.0)?
            .f_masked_fill(&padded_keys, f64::NEG_INFINITY)?
            .f_softmax(-1, Kind::Float)?,
    )
}

#[test]
fn attention_alignment_adds_the_weighted_mean_kl_of_the_mapped_attention_maps() -> Result<()> {
    let _guard = lock();
    let rows = vec![
        vec![2, 7, 9, 11, 3],
        vec![2, 13, 7, 3],
        vec![2, 21, 22, 23, 24, 25, 3],
    ];
    let (vs, student) = tiny_transformer(&rows)?;
    let inputs = Inputs::Tokens {
        ids: rows.clone(),
        pad_id: 0,
    };
    let batch = inputs.batch(&[0, 1, 2], &[0, 1, -1])?;
    let mask = batch.mask.as_ref().expect("a token batch has a mask");
    // A 4-layer teacher with 2 heads (the student has 4: head-averaged maps are compared).
    tch::manual_seed(5);
    let mut attentions = BTreeMap::new();
    for layer in 1..=4 {
        attentions.insert(layer, teacher_attention(mask, 2)?);
    }
    let teacher = TeacherOutputs {
        pooled: Tensor::f_zeros([3, 8], (Kind::Float, Device::Cpu))?,
        logits: Some(Tensor::f_randn([3, 3], (Kind::Float, Device::Cpu))?),
        hidden: BTreeMap::new(),
        attentions,
    };
    let plan = StepPlan {
        stage: Stage::Distill,
        temperature: 2.0,
        alpha: 0.6,
        lr: 0.0,
    };
    let cfg = AttentionConfig {
        kind: AttentionLossKind::Kl,
        weight: 0.7,
        layer_map: LayerMap::Uniform,
        teacher_layers: 4,
    };
    let got = trainer::batch_loss(
        &student,
        &batch,
        Some(&teacher),
        &plan,
        None,
        Some(&cfg),
        false,
    )?;

    // By hand. Uniform map for M = 2, N = 4: student layer 1 -> teacher 2, 2 -> 4. Per pair
    // (PyTorch): s = S.mean(1); t = T.mean(1); m = mask.float();
    // rows = (t * (t.clamp_min(1e-12).log() - s.clamp_min(1e-12).log()) * m[:, None, :]).sum(-1)
    // kl = (rows * m).sum() / m.sum()
    let out = student.forward_t(&batch, false, true)?;
    let m = mask.f_to_kind(Kind::Float)?;
    let (b, l) = (m.size()[0], m.size()[1]);
    let mut kls = Vec::new();
    for (s, t) in [(0usize, 2usize), (1, 4)] {
        let sa = out.attentions[s].f_mean_dim(1, false, Kind::Float)?;
        let ta = teacher.attentions[&t].f_mean_dim(1, false, Kind::Float)?;
        let log_ratio = ta
            .f_clamp_min(1e-12)?
            .f_log()?
            .f_sub(&sa.f_clamp_min(1e-12)?.f_log()?)?;
        let per_row = ta
            .f_mul(&log_ratio)?
            .f_mul(&m.f_view([b, 1, l])?)?
            .f_sum_dim_intlist(-1, false, Kind::Float)?;
        let kl = per_row.f_mul(&m)?.f_sum(Kind::Float)?.f_double_value(&[])?
            / m.f_sum(Kind::Float)?.f_double_value(&[])?;
        kls.push(kl);
    }
    let mean_kl = (kls[0] + kls[1]) / 2.0;
    let parts = loss::distillation_loss(
        &out.logits,
        teacher.logits.as_ref().expect("logits"),
        &batch.labels,
        None,
        2.0,
        0.6,
    )?;
    let expected = parts.total.f_double_value(&[])? + 0.7 * mean_kl;
    assert!(mean_kl > 0.0);
    assert!(
        (got.attention - mean_kl).abs() < 1e-6,
        "{} vs {mean_kl}",
        got.attention
    );
    assert!(
        (got.total.f_double_value(&[])? - expected).abs() < 1e-6,
        "{:?} vs {expected}",
        got.total
    );

    // The attention term reaches the student's weights.
    got.total.f_backward()?;
    let query = vs
        .variables()
        .into_iter()
        .find(|(k, _)| k.ends_with("layer.0.attention.self.query.weight"))
        .map(|(_, t)| t)
        .ok_or_else(|| Error::NotFound("query weight".into()))?;
    assert!(
        query
            .grad()
            .f_abs()?
            .f_sum(Kind::Float)?
            .f_double_value(&[])?
            > 0.0
    );

    // Hard-label steps neither ask for nor add attention maps.
    let warmup = StepPlan {
        stage: Stage::Warmup,
        ..plan
    };
    let hard = trainer::batch_loss(&student, &batch, None, &warmup, None, Some(&cfg), false)?;
    assert_eq!(hard.attention, 0.0);
    Ok(())
}

#[test]
fn attention_alignment_with_an_mlp_student_is_refused_naming_the_setting() -> Result<()> {
    let _guard = lock();
    let f = fixture();
    let (vs, student) = new_student(5)?;
    let cfg = TrainerConfig {
        attention: Some(AttentionConfig {
            kind: AttentionLossKind::Kl,
            weight: 1.0,
            layer_map: LayerMap::Uniform,
            teacher_layers: 2,
        }),
        ..config()
    };
    let mut teacher_fn = |_: &jbolt_distill::distill::batch::Batch| -> Result<TeacherOutputs> {
        Err(Error::Internal("the teacher must not run".into()))
    };
    let err = trainer::train(
        &student,
        &vs,
        &cfg,
        Split {
            inputs: &f.train_x,
            labels: &f.train_y,
        },
        None,
        Targets::Online(&mut teacher_fn),
        &mut |_| true,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field, .. } if field == "training.attention_alignment"),
        "{err}"
    );
    Ok(())
}
