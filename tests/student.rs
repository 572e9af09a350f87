//! Transformer student: shapes, vocabulary pruning, initialisation from the teacher.
//!
//! Teachers: the tiny `BertForSequenceClassification` fixture (`tests/fixtures/encoder`,
//! written by `make_fixtures.py`) and the real all-MiniLM-L6-v2 at
//! `~/.jbolt/models/all-MiniLM-L6-v2` (the setup script installs it).

use std::path::{Path, PathBuf};

use jbolt_distill::config::TransformerStudent as Spec;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::error::{Error, Result};
use jbolt_distill::models::hf::HfModel;
use jbolt_distill::models::student::Student;
use jbolt_distill::models::transformer::{
    build_transformer_student, prune_vocabulary, teacher_layer_for, StudentInit,
};
use tch::{nn, Device, Kind, Tensor};

fn tiny_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder/tiny_classifier")
}

fn minilm_dir() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| Error::NotFound("HOME".into()))?;
    let dir = PathBuf::from(home).join(".jbolt/models/all-MiniLM-L6-v2");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::NotFound(format!("teacher {}", dir.display())))
    }
}

/// torch's random generator is process-global: tests that seed it must not interleave.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn var(vs: &nn::VarStore, name: &str) -> Result<Tensor> {
    vs.variables()
        .remove(name)
        .ok_or_else(|| Error::NotFound(format!("variable {name}")))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok(a.f_sub(b)?.f_abs()?.f_max()?.f_double_value(&[])?)
}

fn spec(layers: usize, hidden: usize, heads: usize, inter: usize, positions: usize) -> Spec {
    Spec {
        layers,
        hidden_size: hidden,
        heads,
        intermediate_size: inter,
        max_positions: positions,
        init_from_teacher: true,
        prune_vocab: true,
    }
}

/// Rows of tiny-fixture ids: [CLS]=2 ... [SEP]=3 style, values from 0..40.
fn tiny_rows() -> Vec<Vec<i64>> {
    vec![
        vec![2, 7, 9, 11, 3],
        vec![2, 13, 7, 3],
        vec![2, 21, 22, 23, 24, 25, 3],
    ]
}

#[test]
fn pruning_keeps_seen_and_special_ids_and_maps_the_rest_to_unk() -> Result<()> {
    let rows = vec![vec![101, 7592, 2088, 102], vec![101, 2088, 999, 102]];
    let (kept, map) = prune_vocabulary(&rows, 30522, &[0, 100, 101, 102, 103], 100, true)?;
    assert_eq!(kept, vec![0, 100, 101, 102, 103, 999, 2088, 7592]);
    assert_eq!(map.len(), 30522);
    for (row, &id) in kept.iter().enumerate() {
        assert_eq!(map[id as usize], row as i64, "id {id}");
    }
    // an unseen id goes to the row of [UNK] (teacher id 100, student row 1)
    assert_eq!(map[5], 1);
    assert_eq!(map[30521], 1);

    let (all, identity) = prune_vocabulary(&rows, 50, &[0], 1, false)?;
    assert_eq!(all.len(), 50);
    assert_eq!(identity, (0..50).collect::<Vec<i64>>());

    let err = prune_vocabulary(&[vec![3, 77]], 50, &[0], 1, true).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("77"), "{err}");
    assert!(err.to_string().contains("train_ids[0]"), "{err}");
    Ok(())
}

#[test]
fn teacher_layers_are_taken_every_k_th_as_in_distilbert() {
    assert_eq!(
        (0..3)
            .map(|j| teacher_layer_for(j, 3, 6))
            .collect::<Vec<_>>(),
        [1, 3, 5]
    );
    assert_eq!(
        (0..2)
            .map(|j| teacher_layer_for(j, 2, 6))
            .collect::<Vec<_>>(),
        [2, 5]
    );
    assert_eq!(
        (0..6)
            .map(|j| teacher_layer_for(j, 6, 6))
            .collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(teacher_layer_for(0, 1, 6), 5);
}

#[test]
fn student_shapes_hidden_states_and_attentions() -> Result<()> {
    let _g = lock();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let rows = tiny_rows();
    let init = StudentInit {
        teacher: None,
        train_ids: &rows,
        teacher_vocab_size: 40,
        special_ids: vec![0, 1, 2, 3, 4],
        unk_id: 1,
        num_labels: 3,
    };
    let mut sp = spec(2, 16, 4, 32, 12);
    sp.init_from_teacher = false;
    let student = build_transformer_student(&vs.root(), &sp, &init)?;
    // 5 special ids + 7, 9, 11, 13, 21..25
    assert_eq!(student.config().encoder.vocab_size, 14);
    assert_eq!(
        var(&vs, "embeddings.word_embeddings.weight")?.size(),
        [14, 16]
    );
    assert_eq!(var(&vs, "classifier.weight")?.size(), [3, 16]);
    assert_eq!(var(&vs, "classifier.bias")?.size(), [3]);
    let map = Vec::<i64>::try_from(student.vocab_map())?;
    assert_eq!(map[7], 5);
    assert_eq!(map[30], 1, "unseen id 30 goes to [UNK]'s row");

    let student = Student::Transformer(student);
    assert_eq!(student.hidden_width(), 16);
    assert_eq!(student.num_layers(), 2);
    assert_eq!(student.num_labels(), 3);
    let inputs = Inputs::Tokens {
        ids: rows.clone(),
        pad_id: 0,
    };
    let batch = inputs.batch(&[0, 1, 2], &[0, 1, 2])?;
    let out = tch::no_grad(|| student.forward_t(&batch, false, true))?;
    assert_eq!(out.logits.size(), [3, 3]);
    assert_eq!(out.logits.kind(), Kind::Float);
    assert_eq!(out.hidden_states.len(), 3);
    for h in &out.hidden_states {
        assert_eq!(h.size(), [3, 7, 16]);
    }
    assert_eq!(out.attentions.len(), 2);
    assert_eq!(out.attentions[0].size(), [3, 4, 7, 7]);
    let sums = out.attentions[1].f_sum_dim_intlist(-1, false, Kind::Float)?;
    assert!(max_abs_diff(&sums, &sums.f_ones_like()?)? < 1e-5);

    // train mode: dropout changes the logits; eval mode is deterministic
    let a = student.forward_t(&batch, true, false)?.logits;
    let b = student.forward_t(&batch, true, false)?.logits;
    assert!(max_abs_diff(&a, &b)? > 0.0);

    // padding does not change a row's logits (mean pooling over the mask)
    let alone = inputs.batch(&[1], &[1])?;
    let single = tch::no_grad(|| student.forward_t(&alone, false, false))?.logits;
    assert!(max_abs_diff(&single, &out.logits.f_narrow(0, 1, 1)?)? < 1e-5);
    Ok(())
}

#[test]
fn bad_inputs_are_errors_naming_the_value() -> Result<()> {
    let _g = lock();
    let vs = nn::VarStore::new(Device::Cpu);
    let rows = tiny_rows();
    let init = StudentInit {
        teacher: None,
        train_ids: &rows,
        teacher_vocab_size: 40,
        special_ids: vec![0, 1, 2, 3],
        unk_id: 1,
        num_labels: 3,
    };
    let mut sp = spec(1, 8, 2, 16, 8);
    sp.init_from_teacher = false;
    let student = Student::Transformer(build_transformer_student(&vs.root(), &sp, &init)?);
    let too_big = Inputs::Tokens {
        ids: vec![vec![2, 45, 3]],
        pad_id: 0,
    };
    let err = student
        .forward_t(&too_big.batch(&[0], &[0])?, false, false)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("45"), "{err}");

    let too_long = Inputs::Tokens {
        ids: vec![vec![2; 9]],
        pad_id: 0,
    };
    let err = student
        .forward_t(&too_long.batch(&[0], &[0])?, false, false)
        .unwrap_err();
    assert!(err.to_string().contains("9"), "{err}");

    let features = Inputs::Features(Tensor::f_zeros([1, 4], (Kind::Float, Device::Cpu))?);
    let err = student
        .forward_t(&features.batch(&[0], &[0])?, false, false)
        .unwrap_err();
    assert!(err.to_string().contains("token ids"), "{err}");

    let mut bad = sp.clone();
    bad.heads = 3;
    let err = build_transformer_student(&vs.root().sub("x"), &bad, &init).unwrap_err();
    assert!(err.to_string().contains("student.heads"), "{err}");
    let bad_init = StudentInit {
        unk_id: 40,
        ..init.clone()
    };
    let err = build_transformer_student(&vs.root().sub("y"), &sp, &bad_init).unwrap_err();
    assert!(err.to_string().contains("unk_id"), "{err}");
    Ok(())
}

#[test]
fn equal_width_student_copies_the_tiny_teacher_exactly() -> Result<()> {
    let _g = lock();
    let teacher = HfModel::load(&tiny_dir(), Device::Cpu)?;
    let rows = tiny_rows();
    let init = StudentInit {
        teacher: Some(&teacher),
        train_ids: &rows,
        teacher_vocab_size: 40,
        special_ids: vec![0, 1, 2, 3, 4],
        unk_id: 1,
        num_labels: 3,
    };
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let student = build_transformer_student(&vs.root(), &spec(2, 8, 2, 16, 16), &init)?;
    assert!(student.config().init_from_teacher);

    // every layer copied and the kept rows copied: the encoder states equal the teacher's
    let student = Student::Transformer(student);
    let inputs = Inputs::Tokens {
        ids: rows.clone(),
        pad_id: 0,
    };
    let batch = inputs.batch(&[0, 1, 2], &[0, 1, 2])?;
    let (ids, mask) = (batch.ids.as_ref().unwrap(), batch.mask.as_ref().unwrap());
    let mine = tch::no_grad(|| student.forward_t(&batch, false, false))?;
    let theirs = tch::no_grad(|| teacher.encoder.forward_t(ids, mask, false, false))?;
    assert_eq!(mine.hidden_states.len(), theirs.hidden_states.len());
    for (i, (a, b)) in mine
        .hidden_states
        .iter()
        .zip(&theirs.hidden_states)
        .enumerate()
    {
        assert_eq!(max_abs_diff(a, b)?, 0.0, "hidden state {i}");
    }

    // a one-layer student takes teacher layer 1 (k = 2: layer k - 1)
    tch::manual_seed(6);
    let vs1 = nn::VarStore::new(Device::Cpu);
    let one = build_transformer_student(&vs1.root().sub("s"), &spec(1, 8, 2, 16, 16), &init)?;
    assert_eq!(one.prefix(), "s.");
    for name in [
        "attention.self.query.weight",
        "attention.output.LayerNorm.bias",
        "intermediate.dense.weight",
        "output.dense.bias",
    ] {
        let got = var(&vs1, &format!("s.encoder.layer.0.{name}"))?;
        let want = var(&teacher.vs, &format!("bert.encoder.layer.1.{name}"))?;
        assert_eq!(max_abs_diff(&got, &want)?, 0.0, "{name}");
    }
    let kept = [0i64, 1, 2, 3, 4, 7, 9, 11, 13, 21, 22, 23, 24, 25];
    let word = var(&vs1, "s.embeddings.word_embeddings.weight")?;
    let t_word = var(&teacher.vs, "bert.embeddings.word_embeddings.weight")?;
    let want = t_word.f_index_select(0, &Tensor::f_from_slice(&kept)?)?;
    assert_eq!(max_abs_diff(&word, &want)?, 0.0);
    Ok(())
}

#[test]
fn minilm_half_depth_student_copies_every_second_layer() -> Result<()> {
    let _g = lock();
    let teacher = HfModel::load(&minilm_dir()?, Device::Cpu)?;
    let rows = vec![vec![101, 7592, 2088, 2003, 102], vec![101, 2204, 102]];
    let init = StudentInit {
        teacher: Some(&teacher),
        train_ids: &rows,
        teacher_vocab_size: 30522,
        special_ids: vec![0, 100, 101, 102, 103],
        unk_id: 100,
        num_labels: 5,
    };
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let student = build_transformer_student(&vs.root(), &spec(3, 384, 12, 1536, 128), &init)?;
    assert_eq!(student.config().encoder.vocab_size, 9);
    for (j, t) in [(0, 1), (1, 3), (2, 5)] {
        for name in [
            "attention.self.key.weight",
            "attention.self.value.bias",
            "attention.output.dense.weight",
            "output.LayerNorm.weight",
            "output.dense.weight",
        ] {
            let got = var(&vs, &format!("encoder.layer.{j}.{name}"))?;
            let want = var(&teacher.vs, &format!("encoder.layer.{t}.{name}"))?;
            assert_eq!(max_abs_diff(&got, &want)?, 0.0, "layer {j} <- {t}: {name}");
        }
    }
    // position rows 0..128 of the teacher's 512
    let pos = var(&vs, "embeddings.position_embeddings.weight")?;
    let t_pos = var(&teacher.vs, "embeddings.position_embeddings.weight")?.f_narrow(0, 0, 128)?;
    assert_eq!(max_abs_diff(&pos, &t_pos)?, 0.0);
    // the row of "hello" (7592) is student row 8 (the largest kept id)
    let word = var(&vs, "embeddings.word_embeddings.weight")?.f_get(8)?;
    let t_word = var(&teacher.vs, "embeddings.word_embeddings.weight")?.f_get(7592)?;
    assert_eq!(max_abs_diff(&word, &t_word)?, 0.0);
    Ok(())
}

#[test]
fn narrower_student_is_the_principal_projection_of_the_teacher() -> Result<()> {
    let _g = lock();
    let teacher = HfModel::load(&minilm_dir()?, Device::Cpu)?;
    let rows = vec![vec![101, 7592, 2088, 102]];
    let init = StudentInit {
        teacher: Some(&teacher),
        train_ids: &rows,
        teacher_vocab_size: 30522,
        special_ids: vec![0, 100, 101, 102, 103],
        unk_id: 100,
        num_labels: 2,
    };
    tch::manual_seed(8);
    let vs = nn::VarStore::new(Device::Cpu);
    let student = build_transformer_student(&vs.root(), &spec(2, 128, 4, 512, 64), &init)?;
    let p = jbolt_distill::models::transformer::principal_directions(
        &var(&teacher.vs, "embeddings.word_embeddings.weight")?,
        128,
    )?;
    assert_eq!(p.size(), [384, 128]);
    // columns orthonormal
    let gram = p.f_transpose(0, 1)?.f_matmul(&p)?;
    assert!(max_abs_diff(&gram, &Tensor::f_eye(128, (Kind::Float, Device::Cpu))?)? < 1e-4);
    // the word row of "hello" is the teacher's row projected: E P
    let word = var(&vs, "embeddings.word_embeddings.weight")?.f_get(6)?;
    let t_word = var(&teacher.vs, "embeddings.word_embeddings.weight")?.f_get(7592)?;
    let want = t_word.f_unsqueeze(0)?.f_matmul(&p)?.f_squeeze()?;
    assert!(max_abs_diff(&word, &want)? < 1e-5);
    // query weight of layer 0 (teacher layer 2): P^T W P
    let q = var(&vs, "encoder.layer.0.attention.self.query.weight")?;
    let t_q = var(&teacher.vs, "encoder.layer.2.attention.self.query.weight")?;
    let want = p.f_transpose(0, 1)?.f_matmul(&t_q)?.f_matmul(&p)?;
    assert!(max_abs_diff(&q, &want)? < 1e-5);
    // feed-forward cut to 512 of 1536 units
    assert_eq!(
        var(&vs, "encoder.layer.1.intermediate.dense.weight")?.size(),
        [512, 128]
    );

    let student = Student::Transformer(student);
    let inputs = Inputs::Tokens {
        ids: rows.clone(),
        pad_id: 0,
    };
    let out = tch::no_grad(|| student.forward_t(&inputs.batch(&[0], &[0])?, false, false))?;
    assert_eq!(out.logits.size(), [1, 2]);
    assert!(out.logits.f_isfinite()?.f_all()?.f_int64_value(&[])? == 1);

    // wider than the teacher cannot start from it
    let err = build_transformer_student(&vs.root().sub("w"), &spec(1, 512, 8, 512, 64), &init)
        .unwrap_err();
    assert!(err.to_string().contains("student.hidden_size"), "{err}");
    Ok(())
}
