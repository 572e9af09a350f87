//! Times an int8 linear layer against the fp32 one at batch 32 and prints the speed ratio.
//!
//! `cargo run --release --example int8_linear` (with `LIBTORCH` and `LD_LIBRARY_PATH` set).
//! Shapes: 768→768 (a BERT-base projection) and 256→1024 / 1024→256 (the feed-forward of a
//! 256-wide student). Reports medians over repeated runs; a measurement, not a test.

use std::time::Instant;

use jbolt_distill::error::Result;
use jbolt_distill::quant::QuantizedLinear;
use tch::{Device, Kind, Tensor};

fn median_micros(mut f: impl FnMut() -> Result<()>, runs: usize) -> Result<f64> {
    for _ in 0..20 {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

fn main() -> Result<()> {
    tch::manual_seed(0);
    let _guard = tch::no_grad_guard();
    let opts = (Kind::Float, Device::Cpu);
    println!("threads: {}", tch::get_num_threads());
    println!(
        "{:>12} {:>10} {:>10} {:>7} {:>9}",
        "in->out", "fp32 us", "int8 us", "ratio", "rel err"
    );
    for (inp, out) in [(768i64, 768i64), (256, 1024), (1024, 256)] {
        let w = Tensor::f_randn([out, inp], opts)?.f_mul_scalar(0.05)?;
        let b = Tensor::f_randn([out], opts)?.f_mul_scalar(0.1)?;
        let x = Tensor::f_randn([32, inp], opts)?;
        let q = QuantizedLinear::from_linear(&w, Some(&b))?;

        let fp32 = median_micros(
            || x.f_linear(&w, Some(&b)).map(drop).map_err(Into::into),
            300,
        )?;
        let int8 = median_micros(|| q.forward(&x).map(drop), 300)?;

        let y = x.f_linear(&w, Some(&b))?;
        let yq = q.forward(&x)?;
        let rel = yq.f_sub(&y)?.f_norm()?.f_double_value(&[])? / y.f_norm()?.f_double_value(&[])?;
        println!(
            "{:>12} {fp32:>10.1} {int8:>10.1} {:>6.2}x {:>8.2}%",
            format!("{inp}->{out}"),
            fp32 / int8,
            rel * 100.0
        );
    }
    Ok(())
}
