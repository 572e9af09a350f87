//! Export of a student bundle to TorchScript, for serving from Python (`torch.jit.load`) or C++
//! (`torch::jit::load`, tch's `CModule::load`).
//!
//! The exported module is a trace of the native student's own eval-mode forward pass
//! ([`TransformerStudent::forward_t`], [`MlpStudent::forward_t`]) with the weights baked in as
//! constants. Its `forward` takes and returns:
//!
//! - transformer: `forward(input_ids, attention_mask)`, both `[B, L]` `i64`, ids in the
//!   TEACHER vocabulary (what the bundle's `tokenizer.json` produces, special tokens
//!   included), mask 1 for tokens and 0 for padding, `1 <= L <= max_position_embeddings`;
//!   the map from teacher ids to the student's pruned vocabulary is inside the graph.
//!   Returns logits `[B, C]` `f32`.
//! - MLP: `forward(features)`, `[B, F]` `f32`, raw features (the standardisation is inside
//!   the graph). Returns logits `[B, C]` `f32`.
//!
//! Class names stay in the bundle's `config.json` (`labels`, in logit order).
//!
//! An int8 bundle is exported with its int8 weights dequantized (`(q - zero_point) * scale`
//! per channel) into an fp32 graph: the export then runs in fp32 with the int8-rounded
//! weights. Its logits differ from the int8 [`crate::serve::Predictor`]'s by the activation
//! quantization that the int8 kernels add (about 1-2 % relative); the fp32 weights are not in
//! an int8 bundle, so an exact fp32 export needs the fp32 bundle.
//!
//! Batch size and sequence length are free: the forward passes build every shape from tensor
//! operations, never from sizes read in Rust (which a trace would record as constants), and
//! [`export_torchscript`] checks this on every export by running the traced module on a second
//! shape against the native student.

use std::path::Path;

use tch::{nn, CModule, Device, Kind, Tensor};

use crate::bundle::{self, LoadedBundle};
use crate::config::QuantType;
use crate::error::{Error, Result};
use crate::models::student::Student;
use crate::quant::student::Tensors;

/// Largest difference between the traced module and the native student tolerated by the
/// check after tracing (fp32, same weights; observed differences are below 1e-6).
const CHECK_TOLERANCE: f64 = 1e-4;

/// What [`export_torchscript`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportInfo {
    /// `transformer` or `mlp`.
    pub kind: String,
    /// Whether the weights were dequantized from an int8 bundle.
    pub dequantized: bool,
    /// Size of the written file in bytes.
    pub bytes: u64,
}

/// Exports the student bundle at `bundle_dir` as a TorchScript file at `out` (see the module
/// documentation for what the graph takes and returns).
///
/// The file is written to a temporary sibling and renamed over `out`, so a reader never sees
/// half a file. A missing bundle is [`Error::NotFound`]; a bad one [`Error::InvalidInput`]; a
/// directory at `out`, a missing parent directory or an unwritable path [`Error::Io`] or
/// [`Error::InvalidArgument`] naming `out`; a traced module that disagrees with the native
/// student on a second input shape is [`Error::Internal`].
pub fn export_torchscript(bundle_dir: &Path, out: &Path) -> Result<ExportInfo> {
    if out.is_dir() {
        return Err(Error::invalid_argument(
            "out",
            format!("{} is a directory, expected a file path", out.display()),
        ));
    }
    let loaded = bundle::load(bundle_dir)?;
    let dequantized = loaded.config.quantization == QuantType::Int8;
    let tensors = fp32_tensors(&loaded)?;
    let mut vs = nn::VarStore::new(Device::Cpu);
    let student = bundle::build_student(&loaded.config.architecture, &tensors, &vs)?;
    // a trace bakes the weights in as constants, which must not require gradients
    vs.freeze();
    let module = tch::no_grad(|| -> Result<CModule> {
        let module = trace(&student)?;
        check_free_shapes(&module, &student)?;
        Ok(module)
    })?;
    write_module(&module, out)?;
    let bytes = std::fs::metadata(out).map_err(|e| Error::io(out, e))?.len();
    log::info!(
        "exported {} student bundle {} to TorchScript {} ({bytes} bytes{})",
        loaded.config.kind,
        bundle_dir.display(),
        out.display(),
        if dequantized {
            ", int8 weights dequantized to fp32"
        } else {
            ""
        }
    );
    Ok(ExportInfo {
        kind: loaded.config.kind.clone(),
        dequantized,
        bytes,
    })
}

/// The bundle's tensors with every int8 weight dequantized to `f32` and the scale and
/// zero-point tensors dropped: the names and kinds [`bundle::build_student`] reads.
fn fp32_tensors(loaded: &LoadedBundle) -> Result<Tensors> {
    let t = &loaded.tensors;
    let mut out = Tensors::new();
    for (name, value) in t {
        if name.ends_with("_scales") || name.ends_with("_zero_points") {
            continue;
        }
        if value.kind() != Kind::Int8 {
            out.insert(name.clone(), value.shallow_clone());
            continue;
        }
        let scales = t.get(&format!("{name}_scales")).ok_or_else(|| {
            Error::invalid_input(
                loaded.dir.join(bundle::WEIGHTS_FILE).display().to_string(),
                format!("int8 tensor {name} has no {name}_scales"),
            )
        })?;
        let q = value.f_to_kind(Kind::Float)?;
        // linear layers: (q - zp) * scale per output row; the word table is symmetric
        let q = match t.get(&format!("{name}_zero_points")) {
            Some(zp) => q.f_sub(&zp.f_to_kind(Kind::Float)?.f_unsqueeze(1)?)?,
            None => q,
        };
        let w = q.f_mul(&scales.f_to_kind(Kind::Float)?.f_unsqueeze(1)?)?;
        out.insert(name.clone(), w);
    }
    Ok(out)
}

/// Example inputs of `rows` rows and `length` positions for `student`: teacher `[UNK]` ids
/// and a mask whose last row is padded after its first token (transformer), or fixed
/// pseudo-random features `sin(0.37 i)` (MLP; the global random generator is left alone).
fn example_inputs(student: &Student, rows: i64, length: i64) -> Result<Vec<Tensor>> {
    Ok(match student {
        Student::Transformer(t) => {
            let c = t.config();
            let length = length.min(c.encoder.max_position_embeddings).max(1);
            let ids = Tensor::f_full([rows, length], c.unk_id, (Kind::Int64, Device::Cpu))?;
            let mask = Tensor::f_ones([rows, length], (Kind::Int64, Device::Cpu))?;
            let _ = mask
                .f_get(rows - 1)?
                .f_narrow(0, 1, length - 1)?
                .f_fill_(0)?;
            vec![ids, mask]
        }
        Student::Mlp(m) => {
            let f = m.config.input_dim;
            vec![Tensor::f_arange(rows * f, (Kind::Float, Device::Cpu))?
                .f_mul_scalar(0.37)?
                .f_sin()?
                .f_view([rows, f])?]
        }
    })
}

/// The eval-mode logits of `student` for the export's inputs.
fn logits(student: &Student, inputs: &[Tensor]) -> Result<Tensor> {
    match (student, inputs) {
        (Student::Transformer(t), [ids, mask]) => Ok(t.forward_t(ids, mask, false, false)?.0),
        (Student::Mlp(m), [features]) => Ok(m.forward_t(features, false)?.0),
        (s, _) => Err(Error::Internal(format!(
            "{} inputs for a {} student",
            inputs.len(),
            s.architecture().kind()
        ))),
    }
}

/// Traces `student`'s forward pass on example inputs of 2 rows and 8 positions.
fn trace(student: &Student) -> Result<CModule> {
    let inputs = example_inputs(student, 2, 8)?;
    // the closure cannot return an error: keep it and return an input as a stand-in output
    let mut failure = None;
    let module = CModule::create_by_tracing(
        "JboltStudent",
        "forward",
        &inputs,
        &mut |xs: &[Tensor]| match logits(student, xs) {
            Ok(l) => vec![l],
            Err(e) => {
                failure = Some(e);
                vec![xs[0].shallow_clone()]
            }
        },
    )
    .map_err(|e| Error::from(e).torch_context("tracing the student"))?;
    match failure {
        Some(e) => Err(e),
        None => Ok(module),
    }
}

/// Runs `module` on 3 rows of 5 positions (another shape than the trace's) and compares it
/// with the native student.
fn check_free_shapes(module: &CModule, student: &Student) -> Result<()> {
    let inputs = example_inputs(student, 3, 5)?;
    let got = module
        .forward_ts(&inputs)
        .map_err(|e| Error::from(e).torch_context("running the traced module on [3, 5] inputs"))?;
    let want = logits(student, &inputs)?;
    if got.size() != want.size() {
        return Err(Error::Internal(format!(
            "the traced module gave logits of shape {:?} for 3 rows, expected {:?}",
            got.size(),
            want.size()
        )));
    }
    let diff = got.f_sub(&want)?.f_abs()?.f_max()?.f_double_value(&[])?;
    if diff > CHECK_TOLERANCE {
        return Err(Error::Internal(format!(
            "the traced module differs from the native student by {diff} on another input \
             shape than the trace's"
        )));
    }
    Ok(())
}

/// Saves `module` to a temporary sibling of `out`, then renames it over `out`.
fn write_module(module: &CModule, out: &Path) -> Result<()> {
    let name = out
        .file_name()
        .ok_or_else(|| {
            Error::invalid_argument("out", format!("{} has no file name", out.display()))
        })?
        .to_string_lossy()
        .to_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::io(
            out,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("directory {} does not exist", parent.display()),
            ),
        ));
    }
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    // creating the file first gives an i/o error naming the path when it is not writable
    std::fs::File::create(&tmp).map_err(|e| Error::io(out, e))?;
    let saved = module
        .save(&tmp)
        .map_err(|e| Error::from(e).torch_context(&format!("writing {}", out.display())))
        .and_then(|()| std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e)));
    if saved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    saved
}
