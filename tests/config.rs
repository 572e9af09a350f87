//! Request parsing: defaults, accepted shapes, and one error per bad setting naming the field,
//! the value and the allowed range.

use jbolt_distill::config::{
    parse_device, AlignmentLoss, DataFormat, DataSource, DeviceSpec, DistillRequest, EvalRequest,
    FileSource, LabelValue, QuantType, StudentSpec,
};
use jbolt_distill::error::{Error, Result};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The smallest valid request: only the required fields.
fn minimal() -> Value {
    json!({"teacher": "all-MiniLM-L6-v2", "train": {"path": "train.jsonl"}, "output_dir": "out"})
}

/// Sets `value` at the dotted `path` of `request` (creating objects on the way).
fn with(mut request: Value, path: &str, value: Value) -> Value {
    let mut node = &mut request;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = node
            .as_object_mut()
            .expect("test paths go through objects")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    node[parts[parts.len() - 1]] = value;
    request
}

/// Parses `request`, expecting an `INVALID_ARGUMENT` error on `field` whose message holds
/// every piece of `expected`.
fn expect_invalid(request: &Value, field: &str, expected: &[&str]) -> Result<()> {
    match DistillRequest::from_json(&request.to_string()) {
        Ok(parsed) => panic!("expected an error on {field}, parsed {parsed:?}"),
        Err(err) => {
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
            let Error::InvalidArgument {
                field: got,
                message,
            } = &err
            else {
                panic!("expected InvalidArgument, got {err:?}")
            };
            assert_eq!(got, field, "{err}");
            for piece in expected {
                assert!(
                    message.contains(piece),
                    "message {message:?} lacks {piece:?}"
                );
            }
            Ok(())
        }
    }
}

#[test]
fn minimal_request_takes_the_contract_defaults() -> Result<()> {
    let r = DistillRequest::from_json(&minimal().to_string())?;
    assert_eq!(r.teacher, "all-MiniLM-L6-v2");
    assert_eq!(r.output_dir, "out");
    assert_eq!(r.test, None);
    assert_eq!(r.validation_share, 0.1);
    assert_eq!(r.test_share, 0.2);
    let DataSource::File(train) = &r.train else {
        panic!("expected a file source")
    };
    assert_eq!(train.path, "train.jsonl");
    assert_eq!(train.format, None);
    assert_eq!(train.resolved_format("train")?, DataFormat::Jsonl);
    assert_eq!(
        (
            train.text_field.as_str(),
            train.label_field.as_str(),
            train.features_field.as_str()
        ),
        ("text", "label", "features")
    );
    assert_eq!(train.split_field, None);
    assert_eq!(train.csv_delimiter, ",");

    let StudentSpec::Transformer(s) = &r.student else {
        panic!("default student")
    };
    assert_eq!(
        (
            s.layers,
            s.hidden_size,
            s.heads,
            s.intermediate_size,
            s.max_positions
        ),
        (4, 256, 4, 1024, 128)
    );
    assert!(s.init_from_teacher && s.prune_vocab);

    let t = &r.training;
    assert_eq!((t.epochs, t.batch_size, t.max_length), (10, 32, 128));
    assert_eq!(
        (t.learning_rate, t.weight_decay, t.lr_warmup_share),
        (5e-4, 0.01, 0.1)
    );
    assert_eq!(
        (t.grad_clip, t.temperature_start, t.temperature_end),
        (1.0, 4.0, 1.0)
    );
    assert_eq!((t.alpha, t.alpha_end), (0.5, None));
    assert_eq!((t.hard_warmup_share, t.final_hard_share), (0.2, 0.0));
    assert!(!t.hidden_alignment.enabled);
    assert_eq!(t.hidden_alignment.loss, AlignmentLoss::Mse);
    assert_eq!(t.hidden_alignment.weight, 1.0);
    assert_eq!(t.hidden_alignment.layer_map, None);
    assert!(!t.attention_alignment);
    assert_eq!(t.attention_weight, 1.0);
    assert_eq!(
        (t.early_stopping_patience, t.seed, t.threads),
        (3, 42, None)
    );
    assert_eq!(t.device, "cpu");
    assert!(!t.online && !t.resume && !t.baseline);
    assert_eq!(
        (t.cache_dir.as_deref(), t.checkpoint_dir.as_deref()),
        (None, None)
    );
    assert_eq!(t.checkpoint_every, 0);

    assert_eq!(r.quantization.kind, QuantType::None);
    assert!(!r.quantization.embeddings);
    assert_eq!(r.quantization.max_accuracy_drop, 0.02);
    Ok(())
}

#[test]
fn the_full_contract_example_parses() -> Result<()> {
    let request = json!({
        "teacher": "/models/minilm",
        "train": {"path": "train.csv", "format": "csv", "text_field": "body",
                  "label_field": "topic", "features_field": "f", "split_field": "part",
                  "csv_delimiter": ";"},
        "test": {"rows": [{"text": "x", "label": "a"}, {"text": "y", "label": 7}]},
        "validation_share": 0.15, "test_share": 0.25,
        "student": {"kind": "transformer", "layers": 2, "hidden_size": 128, "heads": 2,
                    "intermediate_size": 512, "max_positions": 64, "init_from_teacher": false,
                    "prune_vocab": false},
        "training": {"epochs": 3, "batch_size": 16, "learning_rate": 1e-3,
                     "weight_decay": 0.0, "lr_warmup_share": 0.0, "grad_clip": 0.0,
                     "max_length": 64, "temperature_start": 2.0, "temperature_end": 2.0,
                     "alpha": 1.0, "alpha_end": 0.2, "hard_warmup_share": 0.0,
                     "final_hard_share": 0.1,
                     "hidden_alignment": {"enabled": true, "loss": "cosine", "weight": 0.5,
                                          "layer_map": [3, 6]},
                     "attention_alignment": true, "early_stopping_patience": 0, "seed": 7,
                     "threads": 2, "device": "cuda:1", "online": true, "cache_dir": "/c",
                     "checkpoint_dir": "/k", "checkpoint_every": 100, "resume": true,
                     "baseline": true},
        "quantization": {"type": "int8", "embeddings": true, "max_accuracy_drop": 0.05},
        "output_dir": "/out"
    });
    let r = DistillRequest::from_json(&request.to_string())?;
    let DataSource::File(train) = &r.train else {
        panic!("file source")
    };
    assert_eq!(train.resolved_format("train")?, DataFormat::Csv);
    assert_eq!(train.delimiter_byte(), b';');
    assert_eq!(train.split_field.as_deref(), Some("part"));
    let Some(DataSource::Inline(test)) = &r.test else {
        panic!("inline test")
    };
    assert_eq!(test.rows.len(), 2);
    assert_eq!(test.rows[1].label, Some(LabelValue::Integer(7)));
    assert_eq!(
        test.rows[1].label.as_ref().map(LabelValue::to_label_string),
        Some("7".into())
    );
    let StudentSpec::Transformer(s) = &r.student else {
        panic!("transformer")
    };
    assert_eq!((s.layers, s.hidden_size, s.heads), (2, 128, 2));
    assert_eq!(r.training.hidden_alignment.loss, AlignmentLoss::Cosine);
    assert_eq!(r.training.hidden_alignment.layer_map, Some(vec![3, 6]));
    assert_eq!(r.training.alpha_end, Some(0.2));
    assert_eq!(r.quantization.kind, QuantType::Int8);
    assert_eq!(parse_device(&r.training.device), Ok(DeviceSpec::Cuda(1)));

    // Serialising and parsing again gives the same request.
    let again = DistillRequest::from_json(&serde_json::to_string(&r)?)?;
    assert_eq!(again, r);
    Ok(())
}

#[test]
fn mlp_students_and_feature_rows_parse() -> Result<()> {
    let request = with(
        with(
            minimal(),
            "student",
            json!({"kind": "mlp", "hidden_sizes": [64, 32]}),
        ),
        "train",
        json!({"rows": [{"features": [0.5, 1.0], "label": 1}, {"features": [2.0, 0.0]}]}),
    );
    let r = DistillRequest::from_json(&request.to_string())?;
    let StudentSpec::Mlp(m) = &r.student else {
        panic!("mlp")
    };
    assert_eq!(m.hidden_sizes, vec![64, 32]);
    assert_eq!(m.dropout, 0.1);
    let DataSource::Inline(rows) = &r.train else {
        panic!("inline")
    };
    assert_eq!(rows.rows[0].features, Some(vec![0.5, 1.0]));
    assert_eq!(rows.rows[1].label, None);
    Ok(())
}

#[test]
fn formats_are_inferred_from_the_path() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cases = [
        ("a.jsonl", DataFormat::Jsonl),
        ("a.ndjson", DataFormat::Jsonl),
        ("a.CSV", DataFormat::Csv),
        ("a.tsv", DataFormat::Csv),
    ];
    for (path, format) in cases {
        assert_eq!(
            FileSource::new(path).resolved_format("train")?,
            format,
            "{path}"
        );
    }
    let folders = FileSource::new(dir.path().to_string_lossy());
    assert_eq!(folders.resolved_format("train")?, DataFormat::Folders);
    assert_eq!(FileSource::new("a.tsv").delimiter_byte(), b'\t');
    assert_eq!(FileSource::new("a.csv").delimiter_byte(), b',');
    expect_invalid(
        &with(minimal(), "train.path", json!("data.parquet")),
        "train.format",
        &["data.parquet", "jsonl, csv, folders"],
    )
}

#[test]
fn unknown_fields_are_errors_naming_the_path() -> Result<()> {
    expect_invalid(
        &with(minimal(), "learning_rate", json!(0.1)),
        "learning_rate",
        &["unknown field `learning_rate`"],
    )?;
    expect_invalid(
        &with(minimal(), "training.learnig_rate", json!(0.1)),
        "training.learnig_rate",
        &["unknown field `learnig_rate`", "learning_rate"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "student",
            json!({"kind": "transformer", "layerz": 2}),
        ),
        "student.layerz",
        &["unknown field `layerz`"],
    )?;
    expect_invalid(
        &with(minimal(), "train.textfield", json!("t")),
        "train.textfield",
        &["unknown field `textfield`"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "quantization",
            json!({"type": "int8", "bits": 4}),
        ),
        "quantization.bits",
        &["unknown field `bits`"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "train",
            json!({"rows": [{"text": "a", "labl": "x"}]}),
        ),
        "train.rows[0].labl",
        &["unknown field `labl`"],
    )
}

#[test]
fn parse_errors_name_line_column_and_field() -> Result<()> {
    let text = "{\n  \"teacher\": \"t\",\n  \"train\": {\"path\": \"a.jsonl\"},\n  \"output_dir\": \"o\",\n  \"training\": {\"batch_size\": \"big\"}\n}";
    let err = DistillRequest::from_json(text).unwrap_err();
    let Error::InvalidArgument { field, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "training.batch_size");
    assert!(
        message.contains("invalid type: string \"big\""),
        "{message}"
    );
    assert!(message.contains("line 5 column"), "{message}");

    let err = DistillRequest::from_json("{\"teacher\": \"t\",\n \"train\": [1,}").unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.to_string().contains("line 2 column"), "{err}");

    expect_invalid(
        &json!({"teacher": "t", "output_dir": "o"}),
        "distill request",
        &["missing field `train`"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "train.rows",
            json!([{"text": "a", "label": 2.5}]),
        ),
        "train.rows[0].label",
        &["floating point `2.5`", "a string or an integer label"],
    )?;
    expect_invalid(
        &with(minimal(), "student", json!({"kind": "cnn"})),
        "student.kind",
        &["unknown variant `cnn`"],
    )?;
    expect_invalid(
        &with(minimal(), "student", json!({"kind": "mlp", "layers": 2})),
        "student",
        &["`layers` does not apply to a student of kind mlp"],
    )?;
    expect_invalid(
        &with(minimal(), "quantization.type", json!("int4")),
        "quantization.type",
        &["unknown variant `int4`", "expected `none` or `int8`"],
    )?;
    expect_invalid(
        &with(minimal(), "train.format", json!("xml")),
        "train.format",
        &["unknown variant `xml`", "`jsonl`, `csv`, `folders`"],
    )?;
    expect_invalid(
        &with(minimal(), "train", json!({"path": "a.jsonl", "rows": []})),
        "train",
        &["either `path` or `rows`"],
    )?;
    expect_invalid(
        &with(minimal(), "train", json!({"label_field": "y"})),
        "train",
        &["needs `path`"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "train",
            json!({"rows": [{"text": "a"}], "csv_delimiter": ";"}),
        ),
        "train",
        &["`csv_delimiter` applies to file sources only"],
    )
}

#[test]
fn out_of_range_settings_name_field_value_and_range() -> Result<()> {
    let cases: Vec<(&str, Value, &str, Vec<&str>)> = vec![
        (
            "training.learning_rate",
            json!(-0.001),
            "training.learning_rate",
            vec!["-0.001", "greater than 0"],
        ),
        (
            "training.learning_rate",
            json!(0.0),
            "training.learning_rate",
            vec!["got 0", "greater than 0"],
        ),
        (
            "training.batch_size",
            json!(0),
            "training.batch_size",
            vec!["at least 1, got 0"],
        ),
        (
            "training.epochs",
            json!(0),
            "training.epochs",
            vec!["at least 1, got 0"],
        ),
        (
            "training.temperature_start",
            json!(0.0),
            "training.temperature_start",
            vec!["greater than 0, got 0"],
        ),
        (
            "training.temperature_end",
            json!(-1.0),
            "training.temperature_end",
            vec!["greater than 0, got -1"],
        ),
        (
            "training.alpha",
            json!(1.5),
            "training.alpha",
            vec!["[0, 1]", "1.5"],
        ),
        (
            "training.alpha",
            json!(-0.1),
            "training.alpha",
            vec!["[0, 1]", "-0.1"],
        ),
        (
            "training.alpha_end",
            json!(2.0),
            "training.alpha_end",
            vec!["[0, 1]", "got 2"],
        ),
        (
            "training.weight_decay",
            json!(-1e-3),
            "training.weight_decay",
            vec!["at least 0", "-0.001"],
        ),
        (
            "training.grad_clip",
            json!(-1.0),
            "training.grad_clip",
            vec!["at least 0", "-1"],
        ),
        (
            "training.lr_warmup_share",
            json!(1.2),
            "training.lr_warmup_share",
            vec!["[0, 1]", "1.2"],
        ),
        (
            "training.hard_warmup_share",
            json!(1.0),
            "training.hard_warmup_share",
            vec!["[0, 1)", "got 1"],
        ),
        (
            "training.final_hard_share",
            json!(0.9),
            "training.hard_warmup_share",
            vec!["below 1", "0.2 + 0.9"],
        ),
        (
            "training.max_length",
            json!(1),
            "training.max_length",
            vec!["at least 2, got 1"],
        ),
        (
            "training.max_length",
            json!(256),
            "training.max_length",
            vec!["max_positions (128)", "256"],
        ),
        (
            "training.threads",
            json!(0),
            "training.threads",
            vec!["at least 1, got 0"],
        ),
        (
            "training.device",
            json!("tpu"),
            "training.device",
            vec!["cpu, cuda or cuda:N", "\"tpu\""],
        ),
        (
            "training.device",
            json!("cuda:x"),
            "training.device",
            vec!["\"cuda:x\""],
        ),
        (
            "training.device",
            json!("cuda:"),
            "training.device",
            vec!["\"cuda:\""],
        ),
        (
            "training.device",
            json!("CPU"),
            "training.device",
            vec!["\"CPU\""],
        ),
        (
            "training.resume",
            json!(true),
            "training.resume",
            vec!["checkpoint_dir is null"],
        ),
        (
            "training.cache_dir",
            json!(""),
            "training.cache_dir",
            vec!["empty string"],
        ),
        (
            "training.hidden_alignment.weight",
            json!(-2.0),
            "training.hidden_alignment.weight",
            vec!["at least 0", "-2"],
        ),
        (
            "training.attention_weight",
            json!(-0.5),
            "training.attention_weight",
            vec!["at least 0", "-0.5"],
        ),
        (
            "training.hidden_alignment.layer_map",
            json!([1, 2]),
            "training.hidden_alignment.layer_map",
            vec!["4 entries", "got 2"],
        ),
        (
            "validation_share",
            json!(1.0),
            "validation_share",
            vec!["[0, 1)", "got 1"],
        ),
        (
            "test_share",
            json!(-0.1),
            "test_share",
            vec!["[0, 1)", "-0.1"],
        ),
        (
            "test_share",
            json!(0.95),
            "validation_share",
            vec!["below 1", "0.1 + 0.95"],
        ),
        (
            "quantization.max_accuracy_drop",
            json!(1.5),
            "quantization.max_accuracy_drop",
            vec!["[0, 1]", "1.5"],
        ),
        ("teacher", json!(" "), "teacher", vec!["empty string"]),
        ("output_dir", json!(""), "output_dir", vec!["empty string"]),
        ("train.path", json!(""), "train.path", vec!["empty string"]),
        (
            "train.csv_delimiter",
            json!("ab"),
            "train.csv_delimiter",
            vec!["one ASCII character", "\"ab\""],
        ),
        (
            "train.csv_delimiter",
            json!("\""),
            "train.csv_delimiter",
            vec!["other than a quote"],
        ),
        (
            "train.text_field",
            json!(""),
            "train.text_field",
            vec!["empty string"],
        ),
        (
            "train.rows",
            json!([]),
            "train.rows",
            vec!["at least one row"],
        ),
    ];
    for (path, value, field, expected) in cases {
        let request = if path == "train.rows" {
            with(minimal(), "train", json!({"rows": value}))
        } else {
            with(minimal(), path, value)
        };
        expect_invalid(&request, field, &expected)?;
    }

    let transformer = |layers: u64, hidden: u64, heads: u64| {
        with(
            minimal(),
            "student",
            json!({"kind": "transformer", "layers": layers, "hidden_size": hidden, "heads": heads}),
        )
    };
    expect_invalid(
        &transformer(4, 256, 3),
        "student.heads",
        &["divide hidden_size (256)", "3 heads"],
    )?;
    expect_invalid(
        &transformer(0, 256, 4),
        "student.layers",
        &["at least 1, got 0"],
    )?;
    expect_invalid(
        &transformer(4, 256, 0),
        "student.heads",
        &["at least 1, got 0"],
    )?;
    expect_invalid(
        &transformer(4, 0, 4),
        "student.hidden_size",
        &["at least 1, got 0"],
    )?;
    expect_invalid(
        &with(
            minimal(),
            "student",
            json!({"kind": "mlp", "hidden_sizes": [8, 0]}),
        ),
        "student.hidden_sizes[1]",
        &["at least 1, got 0"],
    )?;
    expect_invalid(
        &with(minimal(), "student", json!({"kind": "mlp", "dropout": 1.0})),
        "student.dropout",
        &["[0, 1)", "got 1"],
    )?;
    // A separate test set leaves test_share out of the sum.
    let request = with(
        with(minimal(), "test_share", json!(0.95)),
        "test",
        json!({"path": "test.jsonl"}),
    );
    DistillRequest::from_json(&request.to_string())?;
    Ok(())
}

#[test]
fn devices_cpu_cuda_and_cuda_n_are_accepted() -> Result<()> {
    assert_eq!(parse_device("cpu"), Ok(DeviceSpec::Cpu));
    assert_eq!(parse_device("cuda"), Ok(DeviceSpec::Cuda(0)));
    assert_eq!(parse_device("cuda:3"), Ok(DeviceSpec::Cuda(3)));
    for bad in [
        "gpu",
        "cuda:-1",
        "cuda:+1",
        "cuda: 1",
        "cuda:99999999999999999999999",
        "mps",
    ] {
        assert!(parse_device(bad).is_err(), "{bad}");
    }
    for device in ["cpu", "cuda", "cuda:0"] {
        DistillRequest::from_json(&with(minimal(), "training.device", json!(device)).to_string())?;
    }
    Ok(())
}

#[test]
fn eval_requests_take_a_full_form_or_a_bare_source() -> Result<()> {
    let full = EvalRequest::from_json(
        &json!({"data": {"path": "t.csv", "text_field": "body"}, "batch_size": 8}).to_string(),
    )?;
    assert_eq!(full.batch_size, 8);
    assert_eq!(full.device, "cpu");
    let DataSource::File(file) = &full.data else {
        panic!("file")
    };
    assert_eq!(file.text_field, "body");

    let bare = EvalRequest::from_json(&json!({"rows": [{"text": "a", "label": "x"}]}).to_string())?;
    assert_eq!(bare.batch_size, 32);
    assert!(matches!(bare.data, DataSource::Inline(_)));

    let err =
        EvalRequest::from_json(&json!({"data": {"path": "a.csv"}, "batch_size": 0}).to_string())
            .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field, .. } if field == "batch_size"),
        "{err}"
    );
    let err =
        EvalRequest::from_json(&json!({"path": "a.csv", "batchsize": 3}).to_string()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field, .. } if field == "batchsize"),
        "{err}"
    );
    let source: DataSource = r#"{"path": "x.jsonl", "split_field": "part"}"#.parse()?;
    assert!(matches!(source, DataSource::File(f) if f.split_field.as_deref() == Some("part")));
    Ok(())
}

/// Any JSON value, nested up to a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_ ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Setting paths of a request, for targeted mutation.
const PATHS: &[&str] = &[
    "teacher",
    "train",
    "train.path",
    "train.format",
    "train.rows",
    "test",
    "validation_share",
    "test_share",
    "student",
    "student.kind",
    "student.layers",
    "student.heads",
    "training",
    "training.epochs",
    "training.batch_size",
    "training.learning_rate",
    "training.alpha",
    "training.device",
    "training.hidden_alignment",
    "training.hidden_alignment.layer_map",
    "training.threads",
    "quantization",
    "quantization.type",
    "output_dir",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_json_never_panics(value in any_json()) {
        let text = value.to_string();
        let result = DistillRequest::from_json(&text);
        prop_assert!(result.is_err() || value.is_object());
        let _ = EvalRequest::from_json(&text);
    }

    #[test]
    fn random_settings_never_panic(index in 0..PATHS.len(), value in any_json()) {
        let request = with(minimal(), PATHS[index], value);
        if let Err(err) = DistillRequest::from_json(&request.to_string()) {
            prop_assert!(err.code() == "INVALID_ARGUMENT", "{}", err);
        }
    }

    #[test]
    fn random_text_never_panics(text in ".{0,200}") {
        prop_assert!(DistillRequest::from_json(&text).is_err());
    }
}
