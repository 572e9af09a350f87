//! The request types: what a distillation or an evaluation is asked to do.
//!
//! The Java side (`JboltDistiller`) builds one JSON document per run; [`DistillRequest::from_json`]
//! parses it and checks every setting. Unknown fields are errors (a misspelt setting must not be
//! ignored silently). Every field except `teacher`, `train` and `output_dir` has a default; the
//! defaults are the ones in the team contract and are listed on each field.
//!
//! Errors are [`Error::InvalidArgument`] whose `field` is the dotted path of the setting
//! (`training.learning_rate`, `student.heads`, `train.csv_delimiter`) and whose message names
//! the value and the allowed range. A document that does not parse names the line and column.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parses a JSON document into `T`, naming the field path, line and column of any error.
///
/// `what` names the document in the message (for example `distill request`).
fn parse_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed: std::result::Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path.is_empty() || path == "." {
            what.to_string()
        } else {
            path
        };
        Error::invalid_argument(field, format!("cannot parse {what}: {inner}"))
    })?;
    de.end()
        .map_err(|err| Error::invalid_argument(what, format!("cannot parse {what}: {err}")))?;
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// The distillation request
// ---------------------------------------------------------------------------------------------

/// One distillation run: teacher, data, student architecture, training, quantization, output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillRequest {
    /// The teacher: a registry name (`all-MiniLM-L6-v2`), a Hugging Face directory holding a
    /// `config.json`, or a TorchScript `.pt` file. Required.
    pub teacher: String,
    /// The training data (and, unless `test` is given or a split field says otherwise, the
    /// source of the validation and test rows). Required.
    pub train: DataSource,
    /// A separate test set; `null` (default) carves the test rows out of `train`.
    #[serde(default)]
    pub test: Option<DataSource>,
    /// Share of the (de-duplicated) rows held out for validation, in `[0, 1)`. Default `0.1`.
    #[serde(default = "default_validation_share")]
    pub validation_share: f64,
    /// Share of the (de-duplicated) rows held out for testing, in `[0, 1)`. Default `0.2`.
    /// Ignored when `test` is given or the split field marks test rows.
    #[serde(default = "default_test_share")]
    pub test_share: f64,
    /// The student architecture. Default: the transformer of [`TransformerStudent::default`].
    #[serde(default)]
    pub student: StudentSpec,
    /// Optimisation and distillation settings.
    #[serde(default)]
    pub training: TrainingSettings,
    /// Post-training quantization.
    #[serde(default)]
    pub quantization: QuantSettings,
    /// Directory the student bundle is written to. Required.
    pub output_dir: String,
}

fn default_validation_share() -> f64 {
    0.1
}

fn default_test_share() -> f64 {
    0.2
}

impl DistillRequest {
    /// Parses a request from JSON and validates it.
    ///
    /// A syntax or type error names the field path, line and column; a value out of range
    /// names the field path, the value and the allowed range (see [`DistillRequest::validate`]).
    pub fn from_json(json: &str) -> Result<Self> {
        let request: DistillRequest = parse_json(json, "distill request")?;
        request.validate()?;
        Ok(request)
    }

    /// Checks every setting against its allowed range.
    ///
    /// Returns the first problem found as [`Error::InvalidArgument`] with the dotted field path.
    pub fn validate(&self) -> Result<()> {
        if self.teacher.trim().is_empty() {
            return Err(Error::invalid_argument(
                "teacher",
                "must name a model, a model directory or a .pt file, got an empty string",
            ));
        }
        if self.output_dir.trim().is_empty() {
            return Err(Error::invalid_argument(
                "output_dir",
                "must be a directory path, got an empty string",
            ));
        }
        self.train.validate("train")?;
        if let Some(test) = &self.test {
            test.validate("test")?;
        }
        check_share("validation_share", self.validation_share)?;
        check_share("test_share", self.test_share)?;
        let held_out = self.validation_share
            + if self.test.is_some() {
                0.0
            } else {
                self.test_share
            };
        if held_out >= 1.0 {
            return Err(Error::invalid_argument(
                "validation_share",
                format!(
                    "validation_share + test_share must be below 1 so that training rows \
                     remain, got {} + {} = {held_out}",
                    self.validation_share, self.test_share
                ),
            ));
        }
        self.student.validate("student")?;
        self.training.validate("training")?;
        self.quantization.validate("quantization")?;

        if self.training.attention_alignment && matches!(self.student, StudentSpec::Mlp(_)) {
            return Err(Error::invalid_argument(
                "training.attention_alignment",
                "attention-map alignment needs a transformer student; an mlp student has no \
                 attention maps; set it to false",
            ));
        }
        if let StudentSpec::Transformer(t) = &self.student {
            if self.training.max_length > t.max_positions {
                return Err(Error::invalid_argument(
                    "training.max_length",
                    format!(
                        "must not exceed student.max_positions ({}), got {}",
                        t.max_positions, self.training.max_length
                    ),
                ));
            }
            if let Some(map) = &self.training.hidden_alignment.layer_map {
                if map.len() != t.layers {
                    return Err(Error::invalid_argument(
                        "training.hidden_alignment.layer_map",
                        format!(
                            "must have one teacher layer per student layer ({} entries), got {} \
                             entries {map:?}",
                            t.layers,
                            map.len()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks a share in `[0, 1)`.
fn check_share(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() || !(0.0..1.0).contains(&value) {
        return Err(Error::invalid_argument(
            field,
            format!("must be in [0, 1), got {value}"),
        ));
    }
    Ok(())
}

/// Checks a fraction in `[0, 1]`.
fn check_unit(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() || !(0.0..=1.0).contains(&value) {
        return Err(Error::invalid_argument(
            field,
            format!("must be in [0, 1], got {value}"),
        ));
    }
    Ok(())
}

/// Checks a finite value strictly above zero.
fn check_positive(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() || value <= 0.0 {
        return Err(Error::invalid_argument(
            field,
            format!("must be a finite number greater than 0, got {value}"),
        ));
    }
    Ok(())
}

/// Checks a finite value at or above zero.
fn check_non_negative(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid_argument(
            field,
            format!("must be a finite number at least 0, got {value}"),
        ));
    }
    Ok(())
}

/// Checks an integer at or above `min`.
fn check_min(field: &str, value: usize, min: usize) -> Result<()> {
    if value < min {
        return Err(Error::invalid_argument(
            field,
            format!("must be at least {min}, got {value}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Data sources
// ---------------------------------------------------------------------------------------------

/// Where rows come from: a file (or directory) on disk, or rows inline in the request.
///
/// In JSON a source is either `{"path": ..., "format": ..., ...}` ([`FileSource`]) or
/// `{"rows": [...]}` ([`InlineRows`]); an object with both `path` and `rows` is an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DataSource {
    /// Rows read from a JSONL file, a CSV file or a directory of label folders.
    File(FileSource),
    /// Rows given in the request itself.
    Inline(InlineRows),
}

impl<'de> Deserialize<'de> for DataSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        /// Every field either shape may carry; unknown fields are rejected here.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            path: Option<String>,
            format: Option<DataFormat>,
            text_field: Option<String>,
            label_field: Option<String>,
            features_field: Option<String>,
            split_field: Option<String>,
            csv_delimiter: Option<String>,
            rows: Option<Vec<InlineRow>>,
        }

        let raw = Raw::deserialize(deserializer)?;
        match (raw.path, raw.rows) {
            (Some(_), Some(_)) => Err(de::Error::custom(
                "a data source has either `path` or `rows`, not both",
            )),
            (None, Some(rows)) => {
                let file_only = [
                    ("format", raw.format.is_some()),
                    ("text_field", raw.text_field.is_some()),
                    ("label_field", raw.label_field.is_some()),
                    ("features_field", raw.features_field.is_some()),
                    ("split_field", raw.split_field.is_some()),
                    ("csv_delimiter", raw.csv_delimiter.is_some()),
                ];
                if let Some((name, _)) = file_only.iter().find(|(_, set)| *set) {
                    return Err(de::Error::custom(format!(
                        "`{name}` applies to file sources only, not to inline `rows`"
                    )));
                }
                Ok(DataSource::Inline(InlineRows { rows }))
            }
            (Some(path), None) => Ok(DataSource::File(FileSource {
                path,
                format: raw.format,
                text_field: raw.text_field.unwrap_or_else(default_text_field),
                label_field: raw.label_field.unwrap_or_else(default_label_field),
                features_field: raw.features_field.unwrap_or_else(default_features_field),
                split_field: raw.split_field,
                csv_delimiter: raw.csv_delimiter.unwrap_or_else(default_csv_delimiter),
            })),
            (None, None) => Err(de::Error::custom(
                "a data source needs `path` (a jsonl/csv file or a folders directory) or `rows`",
            )),
        }
    }
}

impl DataSource {
    /// Checks the source's settings; `field` is its path in the request (`train`, `test`).
    pub fn validate(&self, field: &str) -> Result<()> {
        match self {
            DataSource::File(file) => file.validate(field),
            DataSource::Inline(inline) => {
                if inline.rows.is_empty() {
                    return Err(Error::invalid_argument(
                        format!("{field}.rows"),
                        "must hold at least one row, got an empty array",
                    ));
                }
                Ok(())
            }
        }
    }

    /// A short name for reports: the file path, or `inline`.
    pub fn name(&self) -> String {
        match self {
            DataSource::File(file) => file.path.clone(),
            DataSource::Inline(_) => "inline".to_string(),
        }
    }
}

/// Parses a data source from JSON (the shape of `train` in a request) and validates it.
impl std::str::FromStr for DataSource {
    type Err = Error;

    fn from_str(json: &str) -> Result<Self> {
        let source: DataSource = parse_json(json, "data source")?;
        source.validate("data")?;
        Ok(source)
    }
}

/// The on-disk layout of a file source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma (or `csv_delimiter`) separated values with a header row.
    Csv,
    /// A directory with one sub-directory per label holding one text file per row
    /// (`<dir>/<label>/*.txt`, the layout of the BBC News corpus).
    Folders,
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataFormat::Jsonl => "jsonl",
            DataFormat::Csv => "csv",
            DataFormat::Folders => "folders",
        })
    }
}

/// A JSONL file, a CSV file or a directory of label folders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSource {
    /// File or directory path (relative paths are relative to the working directory).
    pub path: String,
    /// The layout; `null` (default) infers it from the path: a directory is `folders`,
    /// `.jsonl`/`.ndjson`/`.json` is `jsonl`, `.csv`/`.tsv`/`.txt` is `csv`.
    pub format: Option<DataFormat>,
    /// Name of the text field or column. Default `text`.
    pub text_field: String,
    /// Name of the label field or column. Default `label`.
    pub label_field: String,
    /// Name of the feature-vector field or column. Default `features`.
    pub features_field: String,
    /// Name of a field whose values (`train`, `validation`, `test`) assign rows to splits.
    /// Default `null`: the split is drawn by seed.
    pub split_field: Option<String>,
    /// The CSV field delimiter, one ASCII character. Default `,`; a `.tsv` path with the
    /// default delimiter uses a tab.
    pub csv_delimiter: String,
}

fn default_text_field() -> String {
    "text".to_string()
}

fn default_label_field() -> String {
    "label".to_string()
}

fn default_features_field() -> String {
    "features".to_string()
}

fn default_csv_delimiter() -> String {
    ",".to_string()
}

impl FileSource {
    /// A source for `path` with every other setting at its default.
    pub fn new(path: impl Into<String>) -> Self {
        FileSource {
            path: path.into(),
            format: None,
            text_field: default_text_field(),
            label_field: default_label_field(),
            features_field: default_features_field(),
            split_field: None,
            csv_delimiter: default_csv_delimiter(),
        }
    }

    /// The format: the explicit one, or the one the path implies.
    ///
    /// `field` is the source's path in the request, used in the error when nothing fits.
    pub fn resolved_format(&self, field: &str) -> Result<DataFormat> {
        if let Some(format) = self.format {
            return Ok(format);
        }
        let path = Path::new(&self.path);
        if path.is_dir() {
            return Ok(DataFormat::Folders);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl") | Some("ndjson") | Some("json") => Ok(DataFormat::Jsonl),
            Some("csv") | Some("tsv") | Some("txt") => Ok(DataFormat::Csv),
            _ => Err(Error::invalid_argument(
                format!("{field}.format"),
                format!(
                    "is not set and cannot be inferred from the path {:?}; set it to one of \
                     jsonl, csv, folders",
                    self.path
                ),
            )),
        }
    }

    /// The CSV delimiter byte: `csv_delimiter`, or a tab for a `.tsv` path left at the default.
    pub fn delimiter_byte(&self) -> u8 {
        let is_tsv = Path::new(&self.path)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        if is_tsv && self.csv_delimiter == "," {
            return b'\t';
        }
        self.csv_delimiter
            .as_bytes()
            .first()
            .copied()
            .unwrap_or(b',')
    }

    /// Checks the source's settings; `field` is its path in the request.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.path.trim().is_empty() {
            return Err(Error::invalid_argument(
                format!("{field}.path"),
                "must be a file or directory path, got an empty string",
            ));
        }
        for (name, value) in [
            ("text_field", &self.text_field),
            ("label_field", &self.label_field),
            ("features_field", &self.features_field),
        ] {
            if value.is_empty() {
                return Err(Error::invalid_argument(
                    format!("{field}.{name}"),
                    "must be a field name, got an empty string",
                ));
            }
        }
        if let Some(split) = &self.split_field {
            if split.is_empty() {
                return Err(Error::invalid_argument(
                    format!("{field}.split_field"),
                    "must be a field name or null, got an empty string",
                ));
            }
        }
        let d = &self.csv_delimiter;
        if d.len() != 1 || !d.is_ascii() || d == "\"" || d == "\n" || d == "\r" {
            return Err(Error::invalid_argument(
                format!("{field}.csv_delimiter"),
                format!(
                    "must be one ASCII character other than a quote or a line break, got {d:?}"
                ),
            ));
        }
        self.resolved_format(field)?;
        Ok(())
    }
}

/// Rows given inline in the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InlineRows {
    /// The rows, in order.
    pub rows: Vec<InlineRow>,
}

/// One inline row: a text or a feature vector, with an optional label and split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineRow {
    /// The text input (text datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The feature vector (tabular datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<f64>>,
    /// The label: a string or an integer (integers become their decimal string). `null` or
    /// absent marks an unlabelled row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelValue>,
    /// The split (`train`, `validation`, `test`); absent lets the seeded split decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
}

/// A label as written in the data: a string or an integer.
///
/// Integers are turned into their decimal string (`3` and `"3"` are the same label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// A string label.
    Text(String),
    /// An integer label.
    Integer(i64),
}

impl LabelValue {
    /// The label as a string: the text itself, or the integer's decimal form.
    pub fn to_label_string(&self) -> String {
        match self {
            LabelValue::Text(s) => s.clone(),
            LabelValue::Integer(i) => i.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for LabelValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct LabelVisitor;

        impl Visitor<'_> for LabelVisitor {
            type Value = LabelValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer label")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<LabelValue, E> {
                Ok(LabelValue::Text(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<LabelValue, E> {
                Ok(LabelValue::Text(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<LabelValue, E> {
                Ok(LabelValue::Integer(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<LabelValue, E> {
                i64::try_from(v)
                    .map(LabelValue::Integer)
                    .map_err(|_| E::custom(format!("integer label {v} is out of range")))
            }
        }

        deserializer.deserialize_any(LabelVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Students
// ---------------------------------------------------------------------------------------------

/// The student architecture, tagged by `kind` (`transformer` or `mlp`).
///
/// A field of the other kind (for example `dropout` with `"kind": "transformer"`) is an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StudentSpec {
    /// A smaller BERT-family encoder with a classification head (text data).
    Transformer(TransformerStudent),
    /// A multi-layer perceptron (feature data, or text through the teacher's embeddings).
    Mlp(MlpStudent),
}

impl<'de> Deserialize<'de> for StudentSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        /// The student kinds.
        #[derive(Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Transformer,
            Mlp,
        }

        /// Every field of either kind, so that a type error keeps its field path (an
        /// internally tagged enum would buffer the object and lose it).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            kind: Kind,
            layers: Option<usize>,
            hidden_size: Option<usize>,
            heads: Option<usize>,
            intermediate_size: Option<usize>,
            max_positions: Option<usize>,
            init_from_teacher: Option<bool>,
            prune_vocab: Option<bool>,
            hidden_sizes: Option<Vec<usize>>,
            dropout: Option<f64>,
        }

        let raw = Raw::deserialize(deserializer)?;
        let wrong = |name: &str, kind: &str| {
            de::Error::custom(format!(
                "`{name}` does not apply to a student of kind {kind}"
            ))
        };
        match raw.kind {
            Kind::Transformer => {
                if raw.hidden_sizes.is_some() {
                    return Err(wrong("hidden_sizes", "transformer"));
                }
                if raw.dropout.is_some() {
                    return Err(wrong("dropout", "transformer"));
                }
                let d = TransformerStudent::default();
                Ok(StudentSpec::Transformer(TransformerStudent {
                    layers: raw.layers.unwrap_or(d.layers),
                    hidden_size: raw.hidden_size.unwrap_or(d.hidden_size),
                    heads: raw.heads.unwrap_or(d.heads),
                    intermediate_size: raw.intermediate_size.unwrap_or(d.intermediate_size),
                    max_positions: raw.max_positions.unwrap_or(d.max_positions),
                    init_from_teacher: raw.init_from_teacher.unwrap_or(d.init_from_teacher),
                    prune_vocab: raw.prune_vocab.unwrap_or(d.prune_vocab),
                }))
            }
            Kind::Mlp => {
                let transformer_only = [
                    ("layers", raw.layers.is_some()),
                    ("hidden_size", raw.hidden_size.is_some()),
                    ("heads", raw.heads.is_some()),
                    ("intermediate_size", raw.intermediate_size.is_some()),
                    ("max_positions", raw.max_positions.is_some()),
                    ("init_from_teacher", raw.init_from_teacher.is_some()),
                    ("prune_vocab", raw.prune_vocab.is_some()),
                ];
                if let Some((name, _)) = transformer_only.iter().find(|(_, set)| *set) {
                    return Err(wrong(name, "mlp"));
                }
                let d = MlpStudent::default();
                Ok(StudentSpec::Mlp(MlpStudent {
                    hidden_sizes: raw.hidden_sizes.unwrap_or(d.hidden_sizes),
                    dropout: raw.dropout.unwrap_or(d.dropout),
                }))
            }
        }
    }
}

impl Default for StudentSpec {
    fn default() -> Self {
        StudentSpec::Transformer(TransformerStudent::default())
    }
}

impl StudentSpec {
    /// Checks the architecture; `field` is its path in the request (`student`).
    pub fn validate(&self, field: &str) -> Result<()> {
        match self {
            StudentSpec::Transformer(t) => t.validate(field),
            StudentSpec::Mlp(m) => m.validate(field),
        }
    }
}

/// A transformer student (`"kind": "transformer"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerStudent {
    /// Number of encoder layers, at least 1. Default 4.
    pub layers: usize,
    /// Hidden size, a multiple of `heads`. Default 256.
    pub hidden_size: usize,
    /// Attention heads, dividing `hidden_size`. Default 4.
    pub heads: usize,
    /// Feed-forward inner size, at least 1. Default 1024.
    pub intermediate_size: usize,
    /// Position embeddings, at least `training.max_length`. Default 128.
    pub max_positions: usize,
    /// Initialise from the teacher's weights (every other layer, sliced). Default true.
    pub init_from_teacher: bool,
    /// Keep only the vocabulary rows seen in the training texts. Default true.
    pub prune_vocab: bool,
}

impl Default for TransformerStudent {
    fn default() -> Self {
        TransformerStudent {
            layers: 4,
            hidden_size: 256,
            heads: 4,
            intermediate_size: 1024,
            max_positions: 128,
            init_from_teacher: true,
            prune_vocab: true,
        }
    }
}

impl TransformerStudent {
    /// Checks the sizes; `field` is the student's path in the request.
    pub fn validate(&self, field: &str) -> Result<()> {
        check_min(&format!("{field}.layers"), self.layers, 1)?;
        check_min(&format!("{field}.hidden_size"), self.hidden_size, 1)?;
        check_min(&format!("{field}.heads"), self.heads, 1)?;
        check_min(
            &format!("{field}.intermediate_size"),
            self.intermediate_size,
            1,
        )?;
        check_min(&format!("{field}.max_positions"), self.max_positions, 2)?;
        if self.hidden_size % self.heads != 0 {
            return Err(Error::invalid_argument(
                format!("{field}.heads"),
                format!(
                    "must divide hidden_size ({}) evenly, got {} heads",
                    self.hidden_size, self.heads
                ),
            ));
        }
        Ok(())
    }
}

/// A multi-layer perceptron student (`"kind": "mlp"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpStudent {
    /// Sizes of the hidden layers, each at least 1; empty makes a linear model. Default `[256]`.
    pub hidden_sizes: Vec<usize>,
    /// Dropout after each hidden layer, in `[0, 1)`. Default 0.1.
    pub dropout: f64,
}

impl Default for MlpStudent {
    fn default() -> Self {
        MlpStudent {
            hidden_sizes: vec![256],
            dropout: 0.1,
        }
    }
}

impl MlpStudent {
    /// Checks the sizes; `field` is the student's path in the request.
    pub fn validate(&self, field: &str) -> Result<()> {
        for (i, &size) in self.hidden_sizes.iter().enumerate() {
            check_min(&format!("{field}.hidden_sizes[{i}]"), size, 1)?;
        }
        check_share(&format!("{field}.dropout"), self.dropout)
    }
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/// Optimisation and distillation settings (`training` in the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSettings {
    /// Passes over the training data, at least 1. Default 10.
    pub epochs: usize,
    /// Rows per optimiser step, at least 1. Default 32.
    pub batch_size: usize,
    /// Peak learning rate (AdamW), above 0. Default 5e-4.
    pub learning_rate: f64,
    /// AdamW weight decay, at least 0. Default 0.01.
    pub weight_decay: f64,
    /// Share of all steps spent warming the learning rate up linearly, in `[0, 1]`.
    /// Default 0.1.
    pub lr_warmup_share: f64,
    /// Gradient-norm clipping threshold; 0 turns clipping off. Default 1.0.
    pub grad_clip: f64,
    /// Token limit per text (truncation), at least 2 (`[CLS]` and `[SEP]`). Default 128.
    pub max_length: usize,
    /// Softmax temperature at the start of distillation, above 0. Default 4.0.
    pub temperature_start: f64,
    /// Softmax temperature at the end of distillation, above 0. Default 1.0.
    pub temperature_end: f64,
    /// Weight of the soft (teacher) loss against the hard (label) loss, in `[0, 1]`.
    /// Default 0.5.
    pub alpha: f64,
    /// Weight of the soft loss at the end; `null` (default) keeps `alpha` constant.
    pub alpha_end: Option<f64>,
    /// Share of steps at the start trained on hard labels only, in `[0, 1)`. Default 0.2.
    pub hard_warmup_share: f64,
    /// Share of steps at the end trained on hard labels only, in `[0, 1)`. Default 0.0.
    pub final_hard_share: f64,
    /// Hidden-state alignment between student and teacher layers.
    pub hidden_alignment: HiddenAlignment,
    /// Also align attention maps (MiniLM/TinyBERT style). Default false.
    ///
    /// Adds `attention_weight` times the mean over mapped layers of the KL divergence between
    /// the teacher's and the student's attention rows (padding masked; MiniLM, Wang et al.
    /// 2020, eq. 3). Student layer `i` is compared with the teacher layer that
    /// `hidden_alignment.layer_map` gives it, or with TinyBERT's uniform choice
    /// `floor(i * N / M)` when no map is given (whether or not hidden alignment is on); a map
    /// entry of 0 (embeddings) is skipped. When the head counts differ, the head-averaged maps
    /// are compared. Needs a transformer student and a Hugging Face directory teacher (an mlp
    /// student or a TorchScript teacher is refused). Teacher attention maps
    /// (`[rows, heads, L, L]` per layer) are too large to cache, so this option implies
    /// `online`: the teacher (eval mode, no gradients) runs on every training batch; the
    /// cache still holds its outputs for head fitting and evaluation.
    pub attention_alignment: bool,
    /// Weight of the attention-alignment loss, at least 0. Default 1.0.
    pub attention_weight: f64,
    /// Epochs without validation improvement before stopping; 0 turns early stopping off.
    /// Default 3.
    pub early_stopping_patience: usize,
    /// Seed for splits, shuffling and initialisation. Default 42.
    pub seed: u64,
    /// libtorch intra-op threads; `null` (default) leaves libtorch's choice.
    pub threads: Option<usize>,
    /// `cpu` (default), `cuda` or `cuda:N`.
    pub device: String,
    /// Run the teacher on every batch instead of caching its outputs once. Default false;
    /// `attention_alignment` implies it.
    pub online: bool,
    /// Directory for the teacher-output cache; `null` (default) keeps it in memory only.
    pub cache_dir: Option<String>,
    /// Directory for checkpoints; `null` (default) writes none.
    pub checkpoint_dir: Option<String>,
    /// Optimiser steps between checkpoints; 0 (default) checkpoints at the end of each epoch
    /// only (when `checkpoint_dir` is set).
    pub checkpoint_every: usize,
    /// Continue from the last checkpoint in `checkpoint_dir`. Default false.
    pub resume: bool,
    /// Also train the same student on hard labels only, for comparison. Default false.
    pub baseline: bool,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            epochs: 10,
            batch_size: 32,
            learning_rate: 5e-4,
            weight_decay: 0.01,
            lr_warmup_share: 0.1,
            grad_clip: 1.0,
            max_length: 128,
            temperature_start: 4.0,
            temperature_end: 1.0,
            alpha: 0.5,
            alpha_end: None,
            hard_warmup_share: 0.2,
            final_hard_share: 0.0,
            hidden_alignment: HiddenAlignment::default(),
            attention_alignment: false,
            attention_weight: 1.0,
            early_stopping_patience: 3,
            seed: 42,
            threads: None,
            device: "cpu".to_string(),
            online: false,
            cache_dir: None,
            checkpoint_dir: None,
            checkpoint_every: 0,
            resume: false,
            baseline: false,
        }
    }
}

impl TrainingSettings {
    /// Checks every setting; `field` is the section's path in the request (`training`).
    pub fn validate(&self, field: &str) -> Result<()> {
        let f = |name: &str| format!("{field}.{name}");
        check_min(&f("epochs"), self.epochs, 1)?;
        check_min(&f("batch_size"), self.batch_size, 1)?;
        check_positive(&f("learning_rate"), self.learning_rate)?;
        check_non_negative(&f("weight_decay"), self.weight_decay)?;
        check_unit(&f("lr_warmup_share"), self.lr_warmup_share)?;
        check_non_negative(&f("grad_clip"), self.grad_clip)?;
        check_min(&f("max_length"), self.max_length, 2)?;
        check_positive(&f("temperature_start"), self.temperature_start)?;
        check_positive(&f("temperature_end"), self.temperature_end)?;
        check_unit(&f("alpha"), self.alpha)?;
        if let Some(alpha_end) = self.alpha_end {
            check_unit(&f("alpha_end"), alpha_end)?;
        }
        check_share(&f("hard_warmup_share"), self.hard_warmup_share)?;
        check_share(&f("final_hard_share"), self.final_hard_share)?;
        let hard = self.hard_warmup_share + self.final_hard_share;
        if hard >= 1.0 {
            return Err(Error::invalid_argument(
                f("hard_warmup_share"),
                format!(
                    "hard_warmup_share + final_hard_share must be below 1 so that some steps \
                     distill, got {} + {} = {hard}",
                    self.hard_warmup_share, self.final_hard_share
                ),
            ));
        }
        self.hidden_alignment.validate(&f("hidden_alignment"))?;
        check_non_negative(&f("attention_weight"), self.attention_weight)?;
        if let Some(threads) = self.threads {
            check_min(&f("threads"), threads, 1)?;
        }
        parse_device(&self.device)
            .map_err(|message| Error::invalid_argument(f("device"), message))?;
        for (name, dir) in [
            ("cache_dir", &self.cache_dir),
            ("checkpoint_dir", &self.checkpoint_dir),
        ] {
            if dir.as_deref().is_some_and(|d| d.trim().is_empty()) {
                return Err(Error::invalid_argument(
                    f(name),
                    "must be a directory path or null, got an empty string",
                ));
            }
        }
        if self.resume && self.checkpoint_dir.is_none() {
            return Err(Error::invalid_argument(
                f("resume"),
                "is true but training.checkpoint_dir is null; set the directory to resume from",
            ));
        }
        Ok(())
    }
}

/// A compute device named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The CPU.
    Cpu,
    /// A CUDA device by ordinal (`cuda` is ordinal 0).
    Cuda(usize),
}

/// Parses `cpu`, `cuda` or `cuda:N`; the error message names the value and the accepted forms.
pub fn parse_device(device: &str) -> std::result::Result<DeviceSpec, String> {
    let bad = || format!("must be cpu, cuda or cuda:N (N a device number), got {device:?}");
    match device {
        "cpu" => Ok(DeviceSpec::Cpu),
        "cuda" => Ok(DeviceSpec::Cuda(0)),
        other => {
            let ordinal = other.strip_prefix("cuda:").ok_or_else(bad)?;
            if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            ordinal
                .parse::<usize>()
                .map(DeviceSpec::Cuda)
                .map_err(|_| bad())
        }
    }
}

/// The loss used to align hidden states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlignmentLoss {
    /// Mean squared error between (projected) hidden states.
    Mse,
    /// One minus cosine similarity, averaged over tokens.
    Cosine,
}

/// Hidden-state alignment settings (`training.hidden_alignment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HiddenAlignment {
    /// Add the alignment loss. Default false.
    pub enabled: bool,
    /// `mse` (default) or `cosine`.
    pub loss: AlignmentLoss,
    /// Weight of the alignment loss, at least 0. Default 1.0.
    pub weight: f64,
    /// Teacher layer (1-based, 0 = embeddings) for each student layer; `null` (default)
    /// spreads the student layers evenly over the teacher's.
    pub layer_map: Option<Vec<usize>>,
}

impl Default for HiddenAlignment {
    fn default() -> Self {
        HiddenAlignment {
            enabled: false,
            loss: AlignmentLoss::Mse,
            weight: 1.0,
            layer_map: None,
        }
    }
}

impl HiddenAlignment {
    /// Checks the settings; `field` is the section's path in the request.
    pub fn validate(&self, field: &str) -> Result<()> {
        check_non_negative(&format!("{field}.weight"), self.weight)
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization
// ---------------------------------------------------------------------------------------------

/// The quantization applied to the trained student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum QuantType {
    /// Keep fp32 weights.
    #[default]
    None,
    /// Dynamic int8 quantization of the linear layers.
    Int8,
}

/// Quantization settings (`quantization` in the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantSettings {
    /// `none` (default) or `int8`.
    #[serde(rename = "type")]
    pub kind: QuantType,
    /// Also quantize the embedding tables. Default false.
    pub embeddings: bool,
    /// Largest accepted accuracy drop from quantization on the validation split (absolute, in
    /// `[0, 1]`); a larger drop fails the run, leaving the fp32 bundle in `output_dir`.
    /// Default 0.02.
    pub max_accuracy_drop: f64,
}

impl Default for QuantSettings {
    fn default() -> Self {
        QuantSettings {
            kind: QuantType::None,
            embeddings: false,
            max_accuracy_drop: 0.02,
        }
    }
}

impl QuantSettings {
    /// Checks the settings; `field` is the section's path in the request.
    pub fn validate(&self, field: &str) -> Result<()> {
        check_unit(
            &format!("{field}.max_accuracy_drop"),
            self.max_accuracy_drop,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// What `evaluate(model_dir, data_json)` is asked to measure.
///
/// The JSON is either the full form `{"data": <source>, "batch_size": 32, "threads": null,
/// "device": "cpu"}` or just a data source (`{"path": ...}` / `{"rows": [...]}`), which takes
/// the defaults for everything else. Every row must carry a label from the bundle's label set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalRequest {
    /// The rows to evaluate on. Required.
    pub data: DataSource,
    /// Rows per forward pass, at least 1. Default 32.
    #[serde(default = "default_eval_batch_size")]
    pub batch_size: usize,
    /// libtorch intra-op threads; `null` (default) leaves libtorch's choice.
    #[serde(default)]
    pub threads: Option<usize>,
    /// `cpu` (default), `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
}

fn default_eval_batch_size() -> usize {
    32
}

fn default_device() -> String {
    "cpu".to_string()
}

impl EvalRequest {
    /// A request for `data` with the defaults for everything else.
    pub fn for_data(data: DataSource) -> Self {
        EvalRequest {
            data,
            batch_size: default_eval_batch_size(),
            threads: None,
            device: default_device(),
        }
    }

    /// Parses either form (see the type's documentation) and validates it.
    pub fn from_json(json: &str) -> Result<Self> {
        let probe: serde_json::Value = parse_json(json, "evaluation request")?;
        let request = if probe.get("data").is_some() {
            parse_json(json, "evaluation request")?
        } else {
            EvalRequest::for_data(parse_json(json, "data source")?)
        };
        request.validate()?;
        Ok(request)
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        self.data.validate("data")?;
        check_min("batch_size", self.batch_size, 1)?;
        if let Some(threads) = self.threads {
            check_min("threads", threads, 1)?;
        }
        parse_device(&self.device).map_err(|message| Error::invalid_argument("device", message))?;
        Ok(())
    }
}
