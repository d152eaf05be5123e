//! gauntlet's errors and the exit codes they map to (docs/architecture.md).

use crate::diag::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a file, a flag, a name (exit 2).
    #[error("{0}")]
    Input(String),
    /// A mistake at a place in a file (exit 2).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Several mistakes, each at its place (exit 2).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Sources(Vec<SourceError>),
    /// The checks ran and one failed: a budget, a regression (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The run could not be carried out: a port in use, a process that would not start (exit 3).
    #[error("{0}")]
    Run(String),
    /// Stopped by a signal after writing what ran (exit 130).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The error as printed for users: source errors with their line shown.
    pub fn render(&self) -> String {
        match self {
            Error::Source(e) => crate::diag::render(e),
            Error::Sources(list) => list
                .iter()
                .map(crate::diag::render)
                .collect::<Vec<_>>()
                .join("\n\n"),
            other => other.to_string(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Source(_) | Error::Sources(_) => 2,
            Error::Failed(_) => 1,
            Error::Run(_) => 3,
            Error::Interrupted => 130,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
