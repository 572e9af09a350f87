//! The one error type of the engine and its stable codes.
//!
//! Every fallible function in the crate returns [`Result`]. The JNI boundary turns an
//! [`Error`] into a Java exception whose `code()` is [`Error::code`]: `INVALID_ARGUMENT`,
//! `INVALID_INPUT` and `NOT_FOUND` become `InvalidInputException`, every other code becomes
//! `NativeFailureException`. Messages are lowercase and name the operation and the offending
//! value (path, line, field, shape).

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way an engine operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting or argument is out of range or malformed (`field` names it).
    #[error("invalid argument {field}: {message}")]
    InvalidArgument {
        /// The setting or argument at fault, e.g. `training.batch_size`.
        field: String,
        /// What is wrong, with the value and what was expected.
        message: String,
    },

    /// Input data (a file, a row, a model file) cannot be used.
    ///
    /// `source_name` is the file or data source; put line or row context in `message`.
    #[error("invalid input {source_name}: {message}")]
    InvalidInput {
        /// The file path or data source name, e.g. `train.jsonl`.
        source_name: String,
        /// What is wrong, with line or row number where known.
        message: String,
    },

    /// A named model, file or entry does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// Reading or writing a file failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// libtorch reported an error; the message is libtorch's own first line.
    #[error("libtorch error: {0}")]
    Torch(String),

    /// The caller asked to stop (for example a listener returned false).
    #[error("cancelled")]
    Cancelled,

    /// A bug or a caught panic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable code that crosses the JNI boundary with this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::InvalidInput { .. } => "INVALID_INPUT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Io { .. } => "IO",
            Error::Torch(_) => "TORCH",
            Error::Cancelled => "CANCELLED",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid_argument(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid_input(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Io`] that records the path being accessed.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Adds context (for example the operation) in front of a libtorch error message.
    ///
    /// Other variants are returned unchanged.
    pub fn torch_context(self, context: &str) -> Self {
        match self {
            Error::Torch(message) => Error::Torch(format!("{context}: {message}")),
            other => other,
        }
    }
}

/// Keeps the first meaningful line of a libtorch message and drops the C++ backtrace.
///
/// libtorch appends `Exception raised from ...` and a list of stack frames to its messages;
/// none of that helps a user, so only the text before it is kept.
pub fn trim_torch_message(message: &str) -> String {
    let head = message
        .split("Exception raised from")
        .next()
        .unwrap_or(message);
    let line = head
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.is_empty() {
        message.trim().to_string()
    } else {
        line.to_string()
    }
}

impl From<tch::TchError> for Error {
    fn from(err: tch::TchError) -> Self {
        match err {
            tch::TchError::Io(source) => Error::Io {
                path: PathBuf::new(),
                source,
            },
            tch::TchError::Torch(message) => Error::Torch(trim_torch_message(&message)),
            other => Error::Torch(trim_torch_message(&other.to_string())),
        }
    }
}

impl From<std::io::Error> for Error {
    /// Prefer [`Error::io`], which records the path; this conversion leaves it empty.
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            path: PathBuf::new(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    /// A JSON document that does not parse or does not match the expected shape.
    fn from(err: serde_json::Error) -> Self {
        Error::InvalidInput {
            source_name: "json".to_string(),
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torch_message_keeps_only_the_first_line() {
        let raw = "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)\nException raised from \
                   meta at /pytorch/aten/src/ATen/native/LinearAlgebra.cpp:191 (most recent call \
                   first):\nframe #0: c10::Error::Error() + 0x9a";
        assert_eq!(
            trim_torch_message(raw),
            "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"
        );
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::invalid_argument("a", "b").code(), "INVALID_ARGUMENT");
        assert_eq!(Error::invalid_input("a", "b").code(), "INVALID_INPUT");
        assert_eq!(Error::NotFound("x".into()).code(), "NOT_FOUND");
        assert_eq!(Error::io("/x", std::io::Error::other("e")).code(), "IO");
        assert_eq!(Error::Torch("t".into()).code(), "TORCH");
        assert_eq!(Error::Cancelled.code(), "CANCELLED");
        assert_eq!(Error::Internal("i".into()).code(), "INTERNAL");
    }

    #[test]
    fn messages_name_the_field_and_path() {
        let e = Error::invalid_argument("training.batch_size", "must be at least 1, got 0");
        assert_eq!(
            e.to_string(),
            "invalid argument training.batch_size: must be at least 1, got 0"
        );
        let e = Error::io("/tmp/x.json", std::io::Error::other("denied"));
        assert_eq!(e.to_string(), "i/o error on /tmp/x.json: denied");
    }
}
