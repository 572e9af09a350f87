//! Datasets: reading rows, label sets, de-duplication, seeded splits and batching.
//!
//! Rows come from a JSONL file, a CSV file, a directory of label folders or inline in the
//! request ([`crate::config::DataSource`]). Each row holds either a text or a feature vector,
//! an optional label and an optional split assignment. Files are read as streams (one line or
//! record at a time), never as one string.
//!
//! Decisions a caller relies on:
//! - **Labels** are strings. Integer labels become their decimal string (`3` and `"3"` are the
//!   same label). A [`LabelSet`] is sorted: numerically when every label is a decimal integer
//!   (so `"2"` comes before `"10"` and digit labels map to their own index), otherwise by byte
//!   order. An empty label (`""`, `null`, an empty CSV cell, an absent field) marks an
//!   unlabelled row: allowed in training rows (they still get soft targets from the teacher),
//!   an error in validation and test rows.
//! - **Empty texts** are allowed (a tokenizer turns them into `[CLS] [SEP]`); callers that want
//!   to refuse them check [`Dataset::texts`].
//! - **Non-UTF-8 bytes** are an error in JSONL and CSV files (naming line and byte column).
//!   A file in a `folders` directory that is not UTF-8 is decoded as Latin-1 with a warning:
//!   such corpora predate UTF-8 (one BBC News article is Latin-1).
//! - **De-duplication**: identical texts are kept once, before splitting, so that no text is
//!   in two splits. Rows designated as test (a separate test source or the split field) win,
//!   then validation, then the rest in file order. Feature rows are not de-duplicated
//!   (identical tabular records are usually distinct observations).
//! - **Splits**: a split field (`train`, `validation`/`val`/`valid`/`dev`, `test`, any case)
//!   or a separate test source designate rows; the remaining rows are split per class with a
//!   seeded ChaCha8 generator (`validation_share`, `test_share`; a share is set to zero when
//!   rows were designated for that split). Every class keeps at least one training row.
//!   Unlabelled rows always train.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{DataFormat, DataSource, DistillRequest, FileSource, InlineRows};
use crate::error::{Error, Result};

/// Longest value excerpt quoted in an error message, in characters.
const EXCERPT_CHARS: usize = 60;

/// Quotes a value for an error message, cut to [`EXCERPT_CHARS`] characters.
fn excerpt(value: &str) -> String {
    let mut out: String = value.chars().take(EXCERPT_CHARS).collect();
    if value.chars().count() > EXCERPT_CHARS {
        out.push_str("...");
    }
    format!("{out:?}")
}

// ---------------------------------------------------------------------------------------------
// Raw rows
// ---------------------------------------------------------------------------------------------

/// The split a row is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training rows.
    Train,
    /// Validation rows (early stopping, model selection).
    Validation,
    /// Held-out test rows (the reported metrics).
    Test,
}

impl Split {
    /// Parses a split value: `train`, `validation` (or `val`, `valid`, `dev`), `test`; any case,
    /// surrounding spaces ignored.
    pub fn parse(value: &str) -> Option<Split> {
        match value.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Split::Train),
            "validation" | "val" | "valid" | "dev" => Some(Split::Validation),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        })
    }
}

/// Where a row came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOrigin {
    /// A 1-based line of a JSONL or CSV file.
    Line(usize),
    /// A file of a `folders` directory.
    File(PathBuf),
    /// A 0-based index into inline `rows`.
    Inline(usize),
}

impl fmt::Display for RowOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowOrigin::Line(line) => write!(f, "line {line}"),
            RowOrigin::File(path) => write!(f, "file {}", path.display()),
            RowOrigin::Inline(index) => write!(f, "rows[{index}]"),
        }
    }
}

/// The input of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum RawInput {
    /// A text.
    Text(String),
    /// A feature vector (finite values).
    Features(Vec<f32>),
}

/// One row as read, before labels are indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// The text or feature vector.
    pub input: RawInput,
    /// The label as a string; `None` for an unlabelled row.
    pub label: Option<String>,
    /// The split named by the split field, if any.
    pub split: Option<Split>,
    /// Where the row came from.
    pub origin: RowOrigin,
}

/// Whether a table holds texts or feature vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Text rows.
    Text,
    /// Feature rows, all of length `dim`.
    Features {
        /// The feature-vector length.
        dim: usize,
    },
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputKind::Text => f.write_str("texts"),
            InputKind::Features { dim } => write!(f, "feature vectors of length {dim}"),
        }
    }
}

/// All rows of one source, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    /// The source's name in messages: the file or directory path, or `<role>.rows`.
    pub source_name: String,
    /// The label field's name, for messages.
    pub label_field: String,
    /// Texts or features (never empty: a table has at least one row).
    pub kind: InputKind,
    /// The rows in source order.
    pub rows: Vec<RawRow>,
}

/// Collects rows and checks that they agree on kind and feature length.
struct TableBuilder {
    source_name: String,
    label_field: String,
    kind: Option<(InputKind, RowOrigin)>,
    rows: Vec<RawRow>,
}

impl TableBuilder {
    fn new(source_name: &str, label_field: &str) -> Self {
        TableBuilder {
            source_name: source_name.to_string(),
            label_field: label_field.to_string(),
            kind: None,
            rows: Vec::new(),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::invalid_input(&self.source_name, message)
    }

    /// The kind established by the first row, if any.
    fn kind(&self) -> Option<InputKind> {
        self.kind.as_ref().map(|(kind, _)| *kind)
    }

    fn push(&mut self, row: RawRow) -> Result<()> {
        let kind = match &row.input {
            RawInput::Text(_) => InputKind::Text,
            RawInput::Features(values) => {
                if values.is_empty() {
                    return Err(self.error(format!(
                        "{}: the feature vector is empty; expected at least one number",
                        row.origin
                    )));
                }
                InputKind::Features { dim: values.len() }
            }
        };
        match &self.kind {
            None => self.kind = Some((kind, row.origin.clone())),
            Some((first, first_origin)) if *first != kind => {
                return Err(self.error(format!(
                    "{}: row has {kind}, but {first_origin} has {first}; every row must have the \
                     same kind of input",
                    row.origin
                )));
            }
            Some(_) => {}
        }
        self.rows.push(row);
        Ok(())
    }

    fn finish(self) -> Result<RawTable> {
        match self.kind {
            None => Err(Error::invalid_input(
                &self.source_name,
                "no data rows: the source is empty".to_string(),
            )),
            Some((kind, _)) => Ok(RawTable {
                source_name: self.source_name,
                label_field: self.label_field,
                kind,
                rows: self.rows,
            }),
        }
    }
}

/// Checks that a parsed number fits a finite `f32`; `what` names it for the message.
fn finite_f32(value: f64, what: impl FnOnce() -> String) -> std::result::Result<f32, String> {
    let narrowed = value as f32;
    if narrowed.is_finite() {
        Ok(narrowed)
    } else {
        Err(format!(
            "{} is {value:?}, expected a finite number within the 32-bit float range",
            what()
        ))
    }
}

/// Normalises a label string: an empty label means "unlabelled".
fn label_from_str(value: &str) -> Option<String> {
    if value.is_empty() {
        None
    } else {
        Some(value.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading sources
// ---------------------------------------------------------------------------------------------

/// Reads every row of `source`; `role` (`train`, `test`, `data`) names it in messages.
///
/// A missing file or directory is [`Error::NotFound`]; unusable content is
/// [`Error::InvalidInput`] naming the file, the line and the field.
pub fn read_source(source: &DataSource, role: &str) -> Result<RawTable> {
    match source {
        DataSource::Inline(inline) => read_inline(inline, role),
        DataSource::File(file) => {
            let path = Path::new(&file.path);
            if !path.exists() {
                return Err(Error::NotFound(format!(
                    "{role} data {} does not exist ({role}.path)",
                    file.path
                )));
            }
            match file.resolved_format(role)? {
                DataFormat::Jsonl => {
                    let reader = open_file(path)?;
                    parse_jsonl(reader, &file.path, file)
                }
                DataFormat::Csv => {
                    let reader = open_file(path)?;
                    parse_csv(reader, &file.path, file)
                }
                DataFormat::Folders => read_folders(path),
            }
        }
    }
}

/// Opens a regular file for buffered reading.
fn open_file(path: &Path) -> Result<BufReader<File>> {
    if path.is_dir() {
        return Err(Error::invalid_input(
            path.display().to_string(),
            "is a directory; expected a jsonl or csv file (use format \"folders\" for a \
             directory of label folders)"
                .to_string(),
        ));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(BufReader::new(file))
}

/// The JSON type of a value, for messages.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_f64() => "a float",
        serde_json::Value::Number(_) => "an integer",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A JSON value quoted for a message.
fn json_excerpt(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push_str("...");
    }
    out
}

/// Parses JSONL from any reader, one object per line.
///
/// `source_name` names the input in messages; the field names come from `fields`. Blank lines
/// are skipped; a UTF-8 byte-order mark on the first line is dropped. Each object has the text
/// field (a string) or the features field (an array of numbers); the label field (a string, an
/// integer or null) and the split field are optional.
pub fn parse_jsonl<R: BufRead>(
    mut reader: R,
    source_name: &str,
    fields: &FileSource,
) -> Result<RawTable> {
    let mut table = TableBuilder::new(source_name, &fields.label_field);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(source_name, e))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let had_newline = buf.last() == Some(&b'\n');
        let mut bytes: &[u8] = &buf;
        if had_newline {
            bytes = &bytes[..bytes.len() - 1];
        }
        if bytes.last() == Some(&b'\r') {
            bytes = &bytes[..bytes.len() - 1];
        }
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            table.error(format!(
                "line {line_no}: invalid utf-8 at byte column {} (byte 0x{:02X}); the file must \
                 be utf-8",
                at + 1,
                bytes.get(at).copied().unwrap_or(0)
            ))
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() && !had_newline {
                table.error(format!(
                    "line {line_no}: truncated last line: the file ends inside a json value \
                     ({e})"
                ))
            } else {
                table.error(format!("line {line_no}: malformed json: {e}"))
            }
        })?;
        let serde_json::Value::Object(object) = value else {
            return Err(table.error(format!(
                "line {line_no}: expected a json object, found {} {}",
                json_type(&value),
                json_excerpt(&value)
            )));
        };
        let row = jsonl_row(&object, line_no, fields, table.kind())
            .map_err(|message| table.error(format!("line {line_no}: {message}")))?;
        table.push(row)?;
    }
    if line_no == 0 {
        return Err(table.error("the file is empty".to_string()));
    }
    table.finish()
}

/// Turns one JSONL object into a row; the error is the message without the line prefix.
fn jsonl_row(
    object: &serde_json::Map<String, serde_json::Value>,
    line_no: usize,
    fields: &FileSource,
    kind: Option<InputKind>,
) -> std::result::Result<RawRow, String> {
    let present = || {
        let names: Vec<String> = object.keys().map(|k| format!("`{k}`")).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let text = object.get(&fields.text_field).filter(|v| !v.is_null());
    let features = object.get(&fields.features_field).filter(|v| !v.is_null());
    let want_text = match kind {
        Some(InputKind::Text) => true,
        Some(InputKind::Features { .. }) => false,
        None => text.is_some() || features.is_none(),
    };

    let input = if want_text {
        match text {
            Some(serde_json::Value::String(s)) => RawInput::Text(s.clone()),
            Some(other) => {
                return Err(format!(
                    "field `{}` is {} ({}), expected a string",
                    fields.text_field,
                    json_type(other),
                    json_excerpt(other)
                ))
            }
            None if kind.is_none() => {
                return Err(format!(
                    "missing field `{}` (or `{}` for feature vectors); fields present: {}",
                    fields.text_field,
                    fields.features_field,
                    present()
                ))
            }
            None => {
                return Err(format!(
                    "missing field `{}`; fields present: {}",
                    fields.text_field,
                    present()
                ))
            }
        }
    } else {
        match features {
            Some(serde_json::Value::Array(items)) => {
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let number = item.as_f64().ok_or_else(|| {
                        format!(
                            "field `{}`[{i}] is {} ({}), expected a number",
                            fields.features_field,
                            json_type(item),
                            json_excerpt(item)
                        )
                    })?;
                    values.push(finite_f32(number, || {
                        format!("field `{}`[{i}]", fields.features_field)
                    })?);
                }
                if let Some(InputKind::Features { dim }) = kind {
                    if values.len() != dim {
                        return Err(format!(
                            "field `{}` has {} values, expected {dim} like the first row",
                            fields.features_field,
                            values.len()
                        ));
                    }
                }
                RawInput::Features(values)
            }
            Some(other) => {
                return Err(format!(
                    "field `{}` is {} ({}), expected an array of numbers",
                    fields.features_field,
                    json_type(other),
                    json_excerpt(other)
                ))
            }
            None => {
                return Err(format!(
                    "missing field `{}`; fields present: {}",
                    fields.features_field,
                    present()
                ))
            }
        }
    };

    let label = match object.get(&fields.label_field) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => label_from_str(s),
        Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(other) => {
            return Err(format!(
                "field `{}` is {} ({}), expected a string or an integer label",
                fields.label_field,
                json_type(other),
                json_excerpt(other)
            ))
        }
    };

    let split = match &fields.split_field {
        None => None,
        Some(name) => match object.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(Split::parse(s).ok_or_else(|| {
                format!(
                    "field `{name}` is {}, expected train, validation or test",
                    excerpt(s)
                )
            })?),
            Some(other) => {
                return Err(format!(
                    "field `{name}` is {} ({}), expected the string train, validation or test",
                    json_type(other),
                    json_excerpt(other)
                ))
            }
        },
    };

    Ok(RawRow {
        input,
        label,
        split,
        origin: RowOrigin::Line(line_no),
    })
}

/// Parses CSV with a header row from any reader.
///
/// Columns: the text column (`fields.text_field`) makes a text table. Without it, the features
/// column (`fields.features_field`, numbers separated by spaces, commas or semicolons,
/// optionally in brackets) makes a feature table; without that too, every column other than
/// the label and split columns is a numeric feature. A missing label column means every row is
/// unlabelled. Records with a different number of fields than the header are errors.
pub fn parse_csv<R: Read>(reader: R, source_name: &str, fields: &FileSource) -> Result<RawTable> {
    let mut table = TableBuilder::new(source_name, &fields.label_field);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(fields.delimiter_byte())
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| csv_error(source_name, e))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header.get(0) == Some("")) {
        return Err(table.error("the file is empty: expected a header row".to_string()));
    }
    let mut names: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    if let Some(first) = names.first_mut() {
        if let Some(stripped) = first.strip_prefix('\u{feff}') {
            *first = stripped.to_string();
        }
    }
    let find = |name: &str| names.iter().position(|h| h == name);
    let header_list = || {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    let label_col = find(&fields.label_field);
    let split_col = match &fields.split_field {
        None => None,
        Some(name) => Some(find(name).ok_or_else(|| {
            table.error(format!(
                "header has no split column `{name}`; columns: {}",
                header_list()
            ))
        })?),
    };
    let text_col = find(&fields.text_field);
    let features_col = find(&fields.features_field);
    enum Layout {
        Text(usize),
        FeatureCell(usize),
        FeatureColumns(Vec<usize>),
    }
    let layout = if let Some(col) = text_col {
        Layout::Text(col)
    } else if let Some(col) = features_col {
        Layout::FeatureCell(col)
    } else {
        let cols: Vec<usize> = (0..names.len())
            .filter(|&c| Some(c) != label_col && Some(c) != split_col)
            .collect();
        if cols.is_empty() {
            return Err(table.error(format!(
                "header has no text column `{}`, no features column `{}` and no other columns \
                 to use as numeric features; columns: {}",
                fields.text_field,
                fields.features_field,
                header_list()
            )));
        }
        Layout::FeatureColumns(cols)
    };

    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(source_name, e)),
        }
        let line_no = record.position().map_or(0, |p| p.line() as usize);
        let cell = |c: usize| record.get(c).unwrap_or("");
        let input = match &layout {
            Layout::Text(c) => RawInput::Text(cell(*c).to_string()),
            Layout::FeatureCell(c) => {
                RawInput::Features(parse_feature_cell(cell(*c)).map_err(|m| {
                    table.error(format!(
                        "line {line_no}: column `{}`: {m}",
                        fields.features_field
                    ))
                })?)
            }
            Layout::FeatureColumns(cols) => {
                let mut values = Vec::with_capacity(cols.len());
                for &c in cols {
                    let raw = cell(c).trim();
                    let number: f64 = raw.parse().map_err(|_| {
                        table.error(format!(
                            "line {line_no}: column `{}` is {}, expected a number (no text \
                             column `{}` in the header, so every column but the label is read \
                             as a numeric feature)",
                            names[c],
                            excerpt(raw),
                            fields.text_field
                        ))
                    })?;
                    values.push(
                        finite_f32(number, || format!("column `{}`", names[c]))
                            .map_err(|m| table.error(format!("line {line_no}: {m}")))?,
                    );
                }
                RawInput::Features(values)
            }
        };
        if let (RawInput::Features(values), Some(InputKind::Features { dim })) =
            (&input, table.kind())
        {
            if values.len() != dim {
                return Err(table.error(format!(
                    "line {line_no}: column `{}` has {} values, expected {dim} like the first row",
                    fields.features_field,
                    values.len()
                )));
            }
        }
        let label = label_col.and_then(|c| label_from_str(cell(c)));
        let split = match split_col {
            None => None,
            Some(c) => {
                let raw = cell(c);
                if raw.trim().is_empty() {
                    None
                } else {
                    Some(Split::parse(raw).ok_or_else(|| {
                        table.error(format!(
                            "line {line_no}: column `{}` is {}, expected train, validation or \
                             test",
                            names[c],
                            excerpt(raw)
                        ))
                    })?)
                }
            }
        };
        table.push(RawRow {
            input,
            label,
            split,
            origin: RowOrigin::Line(line_no),
        })?;
    }
    if table.rows.is_empty() {
        return Err(table.error(format!(
            "no data rows after the header (columns: {})",
            header_list()
        )));
    }
    table.finish()
}

/// Parses a feature cell: numbers separated by spaces, commas or semicolons, optionally
/// wrapped in `[...]`.
fn parse_feature_cell(cell: &str) -> std::result::Result<Vec<f32>, String> {
    let trimmed = cell.trim();
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    let mut values = Vec::new();
    for (i, piece) in inner
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let number: f64 = piece
            .parse()
            .map_err(|_| format!("value [{i}] is {}, expected a number", excerpt(piece)))?;
        values.push(finite_f32(number, || format!("value [{i}]"))?);
    }
    Ok(values)
}

/// Turns a csv-crate error into an error naming the file and line.
fn csv_error(source_name: &str, err: csv::Error) -> Error {
    let line = err.position().map(|p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(source_name, e),
        csv::ErrorKind::Utf8 { pos, err } => Error::invalid_input(
            source_name,
            format!(
                "line {}: invalid utf-8 in field {} (at byte {} of the field); the file must \
                 be utf-8",
                pos.as_ref().map_or(line.unwrap_or(0), |p| p.line()),
                err.field() + 1,
                err.valid_up_to() + 1
            ),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => Error::invalid_input(
            source_name,
            format!(
                "line {}: record has {len} fields, expected {expected_len} like the header",
                pos.as_ref().map_or(line.unwrap_or(0), |p| p.line())
            ),
        ),
        other => Error::invalid_input(source_name, format!("malformed csv: {other:?}")),
    }
}

/// Reads a `folders` directory: `<dir>/<label>/<file>`, one text per file.
///
/// Label folders and files are visited in name order; names starting with `.` are skipped, as
/// are files directly in `dir` (with a warning). A file that is not UTF-8 is decoded as
/// Latin-1 (with a warning).
pub fn read_folders(dir: &Path) -> Result<RawTable> {
    let source_name = dir.display().to_string();
    let mut table = TableBuilder::new(&source_name, "<folder name>");
    let mut label_dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            label_dirs.push((name, path));
        } else {
            log::warn!(
                "{}: ignoring {name}, which is not a label folder",
                source_name
            );
        }
    }
    label_dirs.sort();
    for (label, label_dir) in &label_dirs {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(label_dir).map_err(|e| Error::io(label_dir, e))? {
            let entry = entry.map_err(|e| Error::io(label_dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            files.push(path);
        }
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text.to_string(),
                Err(e) => {
                    log::warn!(
                        "{}: not utf-8 at byte {}; decoding the file as latin-1",
                        path.display(),
                        e.valid_up_to()
                    );
                    bytes.iter().map(|&b| char::from(b)).collect()
                }
            };
            table.push(RawRow {
                input: RawInput::Text(text),
                label: label_from_str(label),
                split: None,
                origin: RowOrigin::File(path),
            })?;
        }
    }
    if table.rows.is_empty() {
        return Err(table.error(
            "no rows: expected one sub-directory per label holding one text file per row"
                .to_string(),
        ));
    }
    table.finish()
}

/// Reads inline rows; `role` names them in messages (`train.rows`).
pub fn read_inline(inline: &InlineRows, role: &str) -> Result<RawTable> {
    let source_name = format!("{role}.rows");
    let mut table = TableBuilder::new(&source_name, "label");
    for (i, row) in inline.rows.iter().enumerate() {
        let origin = RowOrigin::Inline(i);
        let input = match (&row.text, &row.features) {
            (Some(_), Some(_)) => {
                return Err(table.error(format!(
                    "{origin}: has both `text` and `features`; give one"
                )))
            }
            (None, None) => {
                return Err(table.error(format!(
                    "{origin}: has neither `text` nor `features`; give one"
                )))
            }
            (Some(text), None) => RawInput::Text(text.clone()),
            (None, Some(features)) => {
                let mut values = Vec::with_capacity(features.len());
                for (j, &v) in features.iter().enumerate() {
                    values.push(
                        finite_f32(v, || format!("`features`[{j}]"))
                            .map_err(|m| table.error(format!("{origin}: {m}")))?,
                    );
                }
                if let Some(InputKind::Features { dim }) = table.kind() {
                    if values.len() != dim {
                        return Err(table.error(format!(
                            "{origin}: `features` has {} values, expected {dim} like rows[0]",
                            values.len()
                        )));
                    }
                }
                RawInput::Features(values)
            }
        };
        let label = row
            .label
            .as_ref()
            .and_then(|l| label_from_str(&l.to_label_string()));
        let split = match &row.split {
            None => None,
            Some(s) => Some(Split::parse(s).ok_or_else(|| {
                table.error(format!(
                    "{origin}: `split` is {}, expected train, validation or test",
                    excerpt(s)
                ))
            })?),
        };
        table.push(RawRow {
            input,
            label,
            split,
            origin,
        })?;
    }
    table.finish()
}

// ---------------------------------------------------------------------------------------------
// Label sets
// ---------------------------------------------------------------------------------------------

/// The class labels of a task, in index order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl LabelSet {
    /// The sorted unique labels among `labels` (numeric order when all are decimal integers,
    /// byte order otherwise).
    pub fn from_labels<I, S>(labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names: Vec<String> = labels.into_iter().map(|s| s.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        let numeric: Option<Vec<i128>> = names
            .iter()
            .map(|n| {
                let canonical = !n.starts_with('+')
                    && !(n.len() > 1 && (n.starts_with('0') || n.starts_with("-0")));
                n.parse::<i128>().ok().filter(|_| canonical)
            })
            .collect();
        if let Some(keys) = numeric {
            let mut pairs: Vec<(i128, String)> = keys.into_iter().zip(names).collect();
            pairs.sort();
            names = pairs.into_iter().map(|(_, n)| n).collect();
        }
        Self::from_order(names)
    }

    /// Keeps `names` in the given order (for a label set saved in a bundle).
    ///
    /// Fails with [`Error::InvalidInput`] on a duplicate or empty name.
    pub fn from_ordered(names: Vec<String>) -> Result<Self> {
        let mut seen = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::invalid_input(
                    "labels",
                    format!("label {i} is empty; labels must be non-empty strings"),
                ));
            }
            if let Some(first) = seen.insert(name.as_str(), i) {
                return Err(Error::invalid_input(
                    "labels",
                    format!("label {} appears twice (at {first} and {i})", excerpt(name)),
                ));
            }
        }
        Ok(Self::from_order(names))
    }

    fn from_order(names: Vec<String>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        LabelSet { names, index }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of `label`, if it is in the set.
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.index.get(label).copied()
    }

    /// The label at `index`, if in range.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    /// All labels in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

// ---------------------------------------------------------------------------------------------
// Datasets and batches
// ---------------------------------------------------------------------------------------------

/// The inputs of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// One text per row.
    Texts(Vec<String>),
    /// A row-major `rows x dim` matrix of finite `f32` values.
    Features {
        /// The values, row after row (`len = rows * dim`).
        values: Vec<f32>,
        /// The number of features per row.
        dim: usize,
    },
}

/// Rows with indexed labels: texts or a feature matrix, plus one optional label per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    inputs: Inputs,
    labels: Vec<Option<usize>>,
}

impl Dataset {
    /// A text dataset. Fails when the lengths differ.
    pub fn from_texts(texts: Vec<String>, labels: Vec<Option<usize>>) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(Error::invalid_argument(
                "labels",
                format!("has {} entries for {} texts", labels.len(), texts.len()),
            ));
        }
        Ok(Dataset {
            inputs: Inputs::Texts(texts),
            labels,
        })
    }

    /// A feature dataset from a row-major matrix. Fails when `dim` is 0, the values are not
    /// `labels.len() * dim` long, or a value is not finite.
    pub fn from_features(values: Vec<f32>, dim: usize, labels: Vec<Option<usize>>) -> Result<Self> {
        if dim == 0 {
            return Err(Error::invalid_argument("dim", "must be at least 1, got 0"));
        }
        if values.len() != labels.len() * dim {
            return Err(Error::invalid_argument(
                "features",
                format!(
                    "has {} values, expected {} rows x {dim} = {}",
                    values.len(),
                    labels.len(),
                    labels.len() * dim
                ),
            ));
        }
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid_argument(
                "features",
                format!(
                    "value {} at row {}, column {} is not finite",
                    values[pos],
                    pos / dim,
                    pos % dim
                ),
            ));
        }
        Ok(Dataset {
            inputs: Inputs::Features { values, dim },
            labels,
        })
    }

    /// An empty dataset of the given kind.
    pub fn empty(kind: InputKind) -> Self {
        let inputs = match kind {
            InputKind::Text => Inputs::Texts(Vec::new()),
            InputKind::Features { dim } => Inputs::Features {
                values: Vec::new(),
                dim,
            },
        };
        Dataset {
            inputs,
            labels: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Texts or features.
    pub fn kind(&self) -> InputKind {
        match &self.inputs {
            Inputs::Texts(_) => InputKind::Text,
            Inputs::Features { dim, .. } => InputKind::Features { dim: *dim },
        }
    }

    /// The inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// The texts, for a text dataset.
    pub fn texts(&self) -> Option<&[String]> {
        match &self.inputs {
            Inputs::Texts(texts) => Some(texts),
            Inputs::Features { .. } => None,
        }
    }

    /// The row-major feature matrix and its width, for a feature dataset.
    pub fn features(&self) -> Option<(&[f32], usize)> {
        match &self.inputs {
            Inputs::Features { values, dim } => Some((values, *dim)),
            Inputs::Texts(_) => None,
        }
    }

    /// The label index of each row (`None` for unlabelled rows).
    pub fn labels(&self) -> &[Option<usize>] {
        &self.labels
    }

    /// Number of labelled rows.
    pub fn labelled_len(&self) -> usize {
        self.labels.iter().filter(|l| l.is_some()).count()
    }

    /// Rows per class, for `n_classes` classes (labels at or above `n_classes` are not counted).
    pub fn class_counts(&self, n_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; n_classes];
        for label in self.labels.iter().flatten() {
            if let Some(c) = counts.get_mut(*label) {
                *c += 1;
            }
        }
        counts
    }

    /// The rows at `indices`, in that order. Fails on an index out of range.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        self.check_indices(indices)?;
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        let inputs = match &self.inputs {
            Inputs::Texts(texts) => {
                Inputs::Texts(indices.iter().map(|&i| texts[i].clone()).collect())
            }
            Inputs::Features { values, dim } => Inputs::Features {
                values: indices
                    .iter()
                    .flat_map(|&i| values[i * dim..(i + 1) * dim].iter().copied())
                    .collect(),
                dim: *dim,
            },
        };
        Ok(Dataset { inputs, labels })
    }

    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid_argument(
                "indices",
                format!(
                    "row index {bad} is out of range for a dataset of {} rows",
                    self.len()
                ),
            ));
        }
        Ok(())
    }

    /// The rows at `indices` as one batch. Fails on an index out of range.
    pub fn batch(&self, indices: &[usize]) -> Result<Batch<'_>> {
        self.check_indices(indices)?;
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        let inputs = match &self.inputs {
            Inputs::Texts(texts) => {
                BatchInputs::Texts(indices.iter().map(|&i| texts[i].as_str()).collect())
            }
            Inputs::Features { values, dim } => BatchInputs::Features {
                values: indices
                    .iter()
                    .flat_map(|&i| values[i * dim..(i + 1) * dim].iter().copied())
                    .collect(),
                dim: *dim,
            },
        };
        Ok(Batch {
            indices: indices.to_vec(),
            inputs,
            labels,
        })
    }

    /// Row indices of one epoch cut into batches of `batch_size` (the last may be shorter),
    /// shuffled by `(seed, epoch)` (see [`epoch_order`]). A `batch_size` of 0 is taken as 1.
    pub fn epoch_batches(&self, batch_size: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
        chunk(&epoch_order(self.len(), seed, epoch), batch_size)
    }

    /// Row indices in order cut into batches of `batch_size` (for evaluation). A `batch_size`
    /// of 0 is taken as 1.
    pub fn sequential_batches(&self, batch_size: usize) -> Vec<Vec<usize>> {
        chunk(&(0..self.len()).collect::<Vec<_>>(), batch_size)
    }
}

fn chunk(order: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// A permutation of `0..n` for one epoch, fixed by `(seed, epoch)`.
///
/// ChaCha8 seeded with `seed`, on stream `epoch + 1` (stream 0 draws the splits), then a
/// Fisher-Yates shuffle; the same arguments always give the same order.
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch.wrapping_add(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// The inputs of one batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchInputs<'a> {
    /// The batch's texts.
    Texts(Vec<&'a str>),
    /// The batch's features, row-major `rows x dim`.
    Features {
        /// The values (`len = rows * dim`).
        values: Vec<f32>,
        /// Features per row.
        dim: usize,
    },
}

/// One batch: the dataset row indices, their inputs and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<'a> {
    /// Row indices into the dataset (to look up cached teacher outputs).
    pub indices: Vec<usize>,
    /// The inputs.
    pub inputs: BatchInputs<'a>,
    /// The labels (`None` for unlabelled rows).
    pub labels: Vec<Option<usize>>,
}

// ---------------------------------------------------------------------------------------------
// Preparing the splits
// ---------------------------------------------------------------------------------------------

/// How the rows not designated by a split field or test source are split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitSettings {
    /// Share of each class held out for validation, in `[0, 1)`.
    pub validation_share: f64,
    /// Share of each class held out for testing, in `[0, 1)`.
    pub test_share: f64,
    /// The seed of the split.
    pub seed: u64,
}

impl SplitSettings {
    /// The split settings of a request.
    pub fn from_request(request: &DistillRequest) -> Self {
        SplitSettings {
            validation_share: request.validation_share,
            test_share: request.test_share,
            seed: request.training.seed,
        }
    }
}

/// Train, validation and test datasets with their label set.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedData {
    /// The dataset's name for reports (the training source's path, or `inline`).
    pub name: String,
    /// The classes, in index order.
    pub labels: LabelSet,
    /// Training rows (may include unlabelled rows).
    pub train: Dataset,
    /// Validation rows (all labelled; may be empty).
    pub validation: Dataset,
    /// Test rows (all labelled; may be empty when `test_share` is 0 and nothing is designated).
    pub test: Dataset,
    /// Rows dropped because their text repeated an earlier kept text.
    pub duplicates_dropped: usize,
    /// Of those, how many carried a different label than the kept row.
    pub conflicting_duplicates: usize,
}

/// Reads the request's sources and prepares the splits (see [`prepare_tables`]).
pub fn prepare_request(request: &DistillRequest) -> Result<PreparedData> {
    prepare(
        &request.train,
        request.test.as_ref(),
        &SplitSettings::from_request(request),
    )
}

/// Reads `train` (and `test`, if given) and prepares the splits (see [`prepare_tables`]).
pub fn prepare(
    train: &DataSource,
    test: Option<&DataSource>,
    settings: &SplitSettings,
) -> Result<PreparedData> {
    let train_table = read_source(train, "train")?;
    let test_table = test.map(|t| read_source(t, "test")).transpose()?;
    let mut prepared = prepare_tables(train_table, test_table, settings)?;
    prepared.name = train.name();
    Ok(prepared)
}

/// Where a row stands before the seeded split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assignment {
    Designated(Split),
    Pool,
}

/// De-duplicates, builds the label set, checks labels and splits.
///
/// The rules are in the module documentation. Fails with [`Error::InvalidInput`] when the
/// training rows have fewer than two classes, when a validation or test row is unlabelled or
/// has a label the training rows lack, when the test source's kind differs from the training
/// source's, or when no training rows remain.
pub fn prepare_tables(
    train: RawTable,
    test: Option<RawTable>,
    settings: &SplitSettings,
) -> Result<PreparedData> {
    if let Some(test) = &test {
        if test.kind != train.kind {
            return Err(Error::invalid_input(
                &test.source_name,
                format!(
                    "test data has {}, but the training data {} has {}",
                    test.kind, train.source_name, train.kind
                ),
            ));
        }
    }
    let kind = train.kind;
    let name = train.source_name.clone();

    // Every row with its table (0 = train, 1 = test) and its assignment.
    let mut rows: Vec<(usize, RawRow, Assignment)> = Vec::new();
    let tables: Vec<RawTable> = std::iter::once(train).chain(test).collect();
    let mut meta = Vec::new();
    for (t, table) in tables.into_iter().enumerate() {
        meta.push((table.source_name, table.label_field));
        for row in table.rows {
            let assignment = if t == 1 {
                Assignment::Designated(Split::Test)
            } else {
                match row.split {
                    Some(split) => Assignment::Designated(split),
                    None => Assignment::Pool,
                }
            };
            rows.push((t, row, assignment));
        }
    }

    // De-duplicate texts: test designations first, then validation, then the rest.
    let priority = |a: Assignment| match a {
        Assignment::Designated(Split::Test) => 0,
        Assignment::Designated(Split::Validation) => 1,
        _ => 2,
    };
    let mut visit: Vec<usize> = (0..rows.len()).collect();
    visit.sort_by_key(|&i| (priority(rows[i].2), i));
    let mut keep = vec![true; rows.len()];
    let mut duplicates_dropped = 0;
    let mut conflicting_duplicates = 0;
    {
        let mut first_seen: HashMap<&str, usize> = HashMap::new();
        for &i in &visit {
            if let RawInput::Text(text) = &rows[i].1.input {
                match first_seen.get(text.as_str()) {
                    Some(&kept) => {
                        keep[i] = false;
                        duplicates_dropped += 1;
                        let (a, b) = (&rows[kept].1.label, &rows[i].1.label);
                        if a.is_some() && b.is_some() && a != b {
                            conflicting_duplicates += 1;
                        }
                    }
                    None => {
                        first_seen.insert(text.as_str(), i);
                    }
                }
            }
        }
    }
    if duplicates_dropped > 0 {
        log::info!(
            "{name}: dropped {duplicates_dropped} duplicate texts ({conflicting_duplicates} with \
             a different label than the kept copy)"
        );
    }

    // The label set comes from the rows that can train.
    let trainable =
        |a: Assignment| matches!(a, Assignment::Pool | Assignment::Designated(Split::Train));
    let labels = LabelSet::from_labels(
        rows.iter()
            .zip(&keep)
            .filter(|((_, row, a), k)| **k && trainable(*a) && row.label.is_some())
            .filter_map(|((_, row, _), _)| row.label.as_deref()),
    );
    let (train_source, label_field) = &meta[0];
    match labels.len() {
        0 => {
            return Err(Error::invalid_input(
                train_source,
                format!(
                    "no training row has a label (label field `{label_field}`); distillation \
                     into a classifier needs labelled rows of at least 2 classes"
                ),
            ))
        }
        1 => {
            return Err(Error::invalid_input(
                train_source,
                format!(
                    "the training rows have a single class {}; distillation into a classifier \
                     needs at least 2 classes",
                    excerpt(&labels.names()[0])
                ),
            ))
        }
        _ => {}
    }

    // Validation and test rows must carry a known label.
    for ((t, row, a), k) in rows.iter().zip(&keep) {
        let Assignment::Designated(split) = a else {
            continue;
        };
        if !*k || *split == Split::Train {
            continue;
        }
        let (source, field) = &meta[*t];
        match &row.label {
            None => {
                return Err(Error::invalid_input(
                    source,
                    format!(
                        "{}: {split} row has no label (field `{field}`); {split} rows need labels",
                        row.origin
                    ),
                ))
            }
            Some(label) if labels.index_of(label).is_none() => {
                return Err(Error::invalid_input(
                    source,
                    format!(
                        "{}: {split} label {} is not among the training labels [{}]",
                        row.origin,
                        excerpt(label),
                        labels.names().join(", ")
                    ),
                ))
            }
            Some(_) => {}
        }
    }

    // Seeded stratified split of the pool.
    let designated = |s: Split| {
        rows.iter()
            .zip(&keep)
            .any(|((_, _, a), k)| *k && *a == Assignment::Designated(s))
    };
    let test_share = if designated(Split::Test) {
        0.0
    } else {
        settings.test_share
    };
    let validation_share = if designated(Split::Validation) {
        0.0
    } else {
        settings.validation_share
    };
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut final_split: Vec<Option<Split>> = vec![None; rows.len()];
    for (i, ((_, row, a), k)) in rows.iter().zip(&keep).enumerate() {
        if !*k {
            continue;
        }
        match a {
            Assignment::Designated(split) => final_split[i] = Some(*split),
            Assignment::Pool => match row.label.as_deref().and_then(|l| labels.index_of(l)) {
                Some(class) => by_class.entry(class).or_default().push(i),
                None => final_split[i] = Some(Split::Train),
            },
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    for members in by_class.values_mut() {
        members.shuffle(&mut rng);
        let (n_test, n_val) = held_out_counts(members.len(), test_share, validation_share);
        for (j, &i) in members.iter().enumerate() {
            final_split[i] = Some(if j < n_test {
                Split::Test
            } else if j < n_test + n_val {
                Split::Validation
            } else {
                Split::Train
            });
        }
    }

    // Build the datasets in source order.
    let mut parts: [(Vec<RawInput>, Vec<Option<usize>>); 3] = Default::default();
    for ((_, row, _), split) in rows.into_iter().zip(final_split) {
        let Some(split) = split else { continue };
        let part = &mut parts[split as usize];
        part.1
            .push(row.label.as_deref().and_then(|l| labels.index_of(l)));
        part.0.push(row.input);
    }
    let [train_part, validation_part, test_part] = parts;
    let train = build_dataset(kind, train_part)?;
    if train.is_empty() {
        return Err(Error::invalid_input(
            train_source,
            "no training rows remain after de-duplication and splitting".to_string(),
        ));
    }
    let validation = build_dataset(kind, validation_part)?;
    let test = build_dataset(kind, test_part)?;
    log::info!(
        "{name}: {} classes, {} train ({} unlabelled), {} validation, {} test rows",
        labels.len(),
        train.len(),
        train.len() - train.labelled_len(),
        validation.len(),
        test.len()
    );
    Ok(PreparedData {
        name,
        labels,
        train,
        validation,
        test,
        duplicates_dropped,
        conflicting_duplicates,
    })
}

/// Test and validation counts for a class of `n` rows: each share rounded to the nearest
/// row, then reduced (validation first) until at least one row trains.
pub fn held_out_counts(n: usize, test_share: f64, validation_share: f64) -> (usize, usize) {
    let mut n_test = (n as f64 * test_share).round() as usize;
    let mut n_val = (n as f64 * validation_share).round() as usize;
    while n_test + n_val >= n && n_test + n_val > 0 {
        if n_val > 0 {
            n_val -= 1;
        } else {
            n_test -= 1;
        }
    }
    (n_test, n_val)
}

/// Assembles a dataset from raw inputs of one kind.
fn build_dataset(kind: InputKind, part: (Vec<RawInput>, Vec<Option<usize>>)) -> Result<Dataset> {
    let (inputs, labels) = part;
    match kind {
        InputKind::Text => {
            let texts = inputs
                .into_iter()
                .map(|input| match input {
                    RawInput::Text(text) => Ok(text),
                    RawInput::Features(_) => {
                        Err(Error::Internal("feature row in a text dataset".to_string()))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Dataset::from_texts(texts, labels)
        }
        InputKind::Features { dim } => {
            let mut values = Vec::with_capacity(inputs.len() * dim);
            for input in inputs {
                match input {
                    RawInput::Features(v) => values.extend(v),
                    RawInput::Text(_) => {
                        return Err(Error::Internal("text row in a feature dataset".to_string()))
                    }
                }
            }
            Dataset::from_features(values, dim, labels)
        }
    }
}

/// Reads `source` for evaluation against a saved label set: every row must be labelled with a
/// label in `labels`. No de-duplication, no split; rows stay in source order.
pub fn load_for_eval(source: &DataSource, labels: &LabelSet) -> Result<Dataset> {
    let table = read_source(source, "data")?;
    let mut inputs = Vec::with_capacity(table.rows.len());
    let mut indices = Vec::with_capacity(table.rows.len());
    for row in table.rows {
        let index = match &row.label {
            None => {
                return Err(Error::invalid_input(
                    &table.source_name,
                    format!(
                        "{}: row has no label (field `{}`); evaluation needs labelled rows",
                        row.origin, table.label_field
                    ),
                ))
            }
            Some(label) => labels.index_of(label).ok_or_else(|| {
                Error::invalid_input(
                    &table.source_name,
                    format!(
                        "{}: label {} is not among the model's labels [{}]",
                        row.origin,
                        excerpt(label),
                        labels.names().join(", ")
                    ),
                )
            })?,
        };
        indices.push(Some(index));
        inputs.push(row.input);
    }
    build_dataset(table.kind, (inputs, indices))
}
