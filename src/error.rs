//! The library's error type. Every variant says what went wrong and, where there is one, what
//! the user can do about it; the binary maps [`Error::is_usage`] errors to exit status 2.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A runtime the snippets need is not installed or too old.
    #[error("{what} is required but {problem}: install {install}")]
    MissingRuntime {
        what: String,
        problem: String,
        install: String,
    },
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("invalid mock definition: {0}")]
    Mock(#[from] crate::mock::MockError),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    /// Ctrl-C or SIGTERM stopped an install or a build (the binary exits 130).
    #[error("interrupted (Ctrl-C or SIGTERM)")]
    Interrupted,
}

impl Error {
    /// Ctrl-C or SIGTERM: the binary exits 130.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted)
    }

    /// Errors of usage or configuration: the run could not start. Exit status 2.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::MissingRuntime { .. } | Error::Input { .. } | Error::Mock(_) | Error::Usage(_)
        )
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
