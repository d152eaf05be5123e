//! Errors in files users write (catalogues, scenarios): `file:line:col: what is wrong`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A mistake at a place in a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SourceError {
    pub file: PathBuf,
    pub line: u64,
    pub col: u64,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

impl SourceError {
    pub fn at(file: &Path, loc: serde_saphyr::Location, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: loc.line().max(1),
            col: loc.column().max(1),
            message: message.into(),
        }
    }

    /// An error from the YAML reader, located where it says.
    pub fn from_yaml(file: &Path, err: &serde_saphyr::Error) -> Self {
        let (line, col) = err
            .location()
            .map(|l| (l.line().max(1), l.column().max(1)))
            .unwrap_or((1, 1));
        SourceError {
            file: file.to_path_buf(),
            line,
            col,
            message: yaml_message(err),
        }
    }
}

/// The YAML reader's message without its own location suffix and snippet.
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr appends " at line L, column C"; the location is already in front.
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}
