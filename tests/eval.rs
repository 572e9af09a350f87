//! Metrics against scikit-learn (fixture written by tests/fixtures/eval/make_fixtures.py),
//! agreement, sizes and the latency helper's bookkeeping (no timing assertions).

use std::path::PathBuf;

use jbolt_distill::error::{Error, Result};
use jbolt_distill::eval::{
    accuracy, agreement, argmax_rows, classification_metrics, confusion_matrix, dir_size_bytes,
    labelled_pairs, macro_f1, measure_latency, median_ms, parameter_bytes, parameter_count,
};
use serde::Deserialize;

/// One case of `tests/fixtures/eval/metrics.json`.
#[derive(Deserialize)]
struct Case {
    name: String,
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
    n_classes: usize,
    accuracy: f64,
    macro_f1: f64,
    precision: Vec<f64>,
    recall: Vec<f64>,
    f1: Vec<f64>,
    support: Vec<usize>,
    confusion: Vec<Vec<usize>>,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn fixture() -> Result<Fixture> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/metrics.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    Ok(serde_json::from_str(&text)?)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn metrics_match_scikit_learn() -> Result<()> {
    let fixture = fixture()?;
    assert_eq!(fixture.cases.len(), 6);
    for case in &fixture.cases {
        let m = classification_metrics(&case.y_true, &case.y_pred, case.n_classes)?;
        let name = &case.name;
        // sklearn.metrics.accuracy_score(y_true, y_pred)
        assert!(
            close(m.accuracy, case.accuracy),
            "{name}: {} vs {}",
            m.accuracy,
            case.accuracy
        );
        // sklearn.metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)
        assert!(
            close(m.macro_f1, case.macro_f1),
            "{name}: {} vs {}",
            m.macro_f1,
            case.macro_f1
        );
        // sklearn.metrics.precision_recall_fscore_support(..., labels=range(n), zero_division=0)
        for (c, class) in m.per_class.iter().enumerate() {
            assert!(
                close(class.precision, case.precision[c]),
                "{name} precision {c}"
            );
            assert!(close(class.recall, case.recall[c]), "{name} recall {c}");
            assert!(close(class.f1, case.f1[c]), "{name} f1 {c}");
            assert_eq!(class.support, case.support[c], "{name} support {c}");
        }
        // sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(n))
        assert_eq!(m.confusion, case.confusion, "{name}");
        assert!(
            close(accuracy(&case.y_true, &case.y_pred)?, case.accuracy),
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn a_small_case_by_hand() -> Result<()> {
    // y_true = [0,0,1,1,2,2], y_pred = [0,1,1,1,0,2]
    // class 0: tp 1, predicted 2, support 2 -> p 1/2, r 1/2, f1 1/2
    // class 1: tp 2, predicted 3, support 2 -> p 2/3, r 1,   f1 4/5
    // class 2: tp 1, predicted 1, support 2 -> p 1,   r 1/2, f1 2/3
    // macro-F1 = (1/2 + 4/5 + 2/3) / 3 = 59/90; accuracy = 4/6.
    let (t, p) = ([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2]);
    assert!(close(macro_f1(&t, &p)?, 59.0 / 90.0));
    assert!(close(accuracy(&t, &p)?, 4.0 / 6.0));
    assert_eq!(
        confusion_matrix(&t, &p, 3)?,
        [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    );
    Ok(())
}

#[test]
fn bad_prediction_vectors_are_errors() {
    let err = classification_metrics(&[0, 1], &[0], 2).unwrap_err();
    assert!(
        err.to_string().contains("1 entries for 2 true labels"),
        "{err}"
    );
    let err = classification_metrics(&[], &[], 2).unwrap_err();
    assert!(err.to_string().contains("is empty"), "{err}");
    let err = classification_metrics(&[0, 1], &[0, 5], 2).unwrap_err();
    assert!(
        err.to_string().contains("entry 1 is class 5, outside 0..2"),
        "{err}"
    );
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(agreement(&[1], &[1, 2]).is_err());
    assert!(agreement(&[], &[]).is_err());
}

#[test]
fn agreement_pairs_and_argmax() -> Result<()> {
    assert!(close(agreement(&[0, 1, 2, 3], &[0, 1, 0, 3])?, 0.75));
    let (t, p) = labelled_pairs(&[Some(1), None, Some(0)], &[1, 2, 1])?;
    assert_eq!((t, p), (vec![1, 0], vec![1, 1]));
    assert!(labelled_pairs(&[Some(1)], &[]).is_err());
    let logits = [0.1, 0.7, 0.2, 3.0, -1.0, 3.0, f32::NAN, -5.0, 0.0];
    assert_eq!(argmax_rows(&logits, 3)?, [1, 0, 2]);
    assert!(argmax_rows(&logits, 4).is_err());
    assert!(argmax_rows(&logits, 0).is_err());
    Ok(())
}

#[test]
fn parameter_counts_and_bytes() -> Result<()> {
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _linear = tch::nn::linear(vs.root() / "fc", 4, 3, Default::default());
    let _embedding = tch::nn::embedding(vs.root() / "emb", 10, 2, Default::default());
    // 4*3 weights + 3 biases + 10*2 embeddings, fp32.
    assert_eq!(parameter_count(&vs), 35);
    assert_eq!(parameter_bytes(&vs), 35 * 4);
    Ok(())
}

#[test]
fn directory_sizes_add_up_recursively() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("a.bin"), [0u8; 100])?;
    std::fs::create_dir(dir.path().join("sub"))?;
    std::fs::write(dir.path().join("sub/b.bin"), [0u8; 23])?;
    assert_eq!(dir_size_bytes(dir.path())?, 123);
    assert_eq!(dir_size_bytes(&dir.path().join("a.bin"))?, 100);
    let err = dir_size_bytes(&dir.path().join("missing")).unwrap_err();
    assert_eq!(err.code(), "IO");
    Ok(())
}

#[test]
fn latency_helpers_warm_up_and_pass_batch_sizes() -> Result<()> {
    let mut calls = 0;
    let ms = median_ms(
        || {
            calls += 1;
            Ok(())
        },
        2,
        5,
    )?;
    assert_eq!(calls, 7);
    assert!(ms >= 0.0 && ms.is_finite());
    assert!(median_ms(|| Ok(()), 0, 0).is_err());

    let mut sizes = Vec::new();
    let latency = measure_latency(
        |batch| {
            sizes.push(batch);
            Ok(())
        },
        1,
        3,
    )?;
    assert_eq!(sizes, [1, 1, 1, 1, 32, 32, 32, 32]);
    assert!(latency.ms_batch1 >= 0.0 && latency.ms_batch32 >= 0.0);

    let err = median_ms(|| Err(Error::Cancelled), 0, 1).unwrap_err();
    assert_eq!(err.code(), "CANCELLED");
    Ok(())
}
