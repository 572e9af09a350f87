//! Times a 2-layer, 384-wide transformer student in fp32 and int8 at batch 32 x 128 tokens
//! and prints how closely the logits agree.
//!
//! `cargo run --release --example int8_student` (with `LIBTORCH` and `LD_LIBRARY_PATH` set).
//! The student is randomly initialised (BERT initialisation, seed 0) over a pruned vocabulary
//! of 8000 rows of a 30522-id teacher vocabulary; a measurement, not a test.

use std::time::Instant;

use jbolt_distill::config::TransformerStudent as Spec;
use jbolt_distill::distill::batch::Inputs;
use jbolt_distill::error::Result;
use jbolt_distill::models::student::Student;
use jbolt_distill::models::transformer::{build_transformer_student, StudentInit};
use jbolt_distill::quant::QuantizedStudent;
use tch::{nn, Device, Kind, Tensor};

fn median_ms(mut f: impl FnMut() -> Result<()>, runs: usize) -> Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

fn main() -> Result<()> {
    tch::manual_seed(0);
    let vocab: Vec<Vec<i64>> = vec![(1000..9000).collect()];
    let init = StudentInit {
        teacher: None,
        train_ids: &vocab,
        teacher_vocab_size: 30522,
        special_ids: vec![0, 100, 101, 102, 103],
        unk_id: 100,
        num_labels: 5,
    };
    let spec = Spec {
        layers: 2,
        hidden_size: 384,
        heads: 12,
        intermediate_size: 1536,
        max_positions: 128,
        init_from_teacher: false,
        prune_vocab: true,
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let student = Student::Transformer(build_transformer_student(&vs.root(), &spec, &init)?);
    let ids = Tensor::f_randint_low(1000, 9000, [32, 128], (Kind::Int64, Device::Cpu))?;
    let rows: Vec<Vec<i64>> = (0..32)
        .map(|r| Vec::<i64>::try_from(&ids.get(r)).unwrap_or_default())
        .collect();
    let inputs = Inputs::Tokens {
        ids: rows,
        pad_id: 0,
    };
    let batch = inputs.batch(&(0..32).collect::<Vec<_>>(), &[])?;

    println!("intra-op threads: {}", tch::get_num_threads());
    let _guard = tch::no_grad_guard();
    let fp32 = student.forward_t(&batch, false, false)?.logits;
    for embeddings in [false, true] {
        let q = QuantizedStudent::quantize(&student, &vs, embeddings)?;
        let int8 = q.forward(&batch)?;
        let t_fp32 = median_ms(|| student.forward_t(&batch, false, false).map(|_| ()), 15)?;
        let t_int8 = median_ms(|| q.forward(&batch).map(|_| ()), 15)?;
        let diff = int8.f_sub(&fp32)?;
        let rel = diff.f_norm()?.f_double_value(&[])? / fp32.f_norm()?.f_double_value(&[])?;
        let max = diff.f_abs()?.f_max()?.f_double_value(&[])?;
        let agree = fp32
            .f_argmax(-1, false)?
            .f_eq_tensor(&int8.f_argmax(-1, false)?)?
            .f_to_kind(Kind::Float)?
            .f_mean(Kind::Float)?
            .f_double_value(&[])?;
        println!(
            "int8 embeddings {embeddings:5}: fp32 {t_fp32:7.1} ms, int8 {t_int8:7.1} ms, speed-up \
             {:.2}x; logits rel err {rel:.4}, max abs diff {max:.5}, arg-max agreement {agree:.3}",
            t_fp32 / t_int8
        );
    }
    Ok(())
}
