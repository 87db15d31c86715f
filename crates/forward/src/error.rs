use std::path::PathBuf;

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// A `remote_write` entry or the buffer section was refused; the message names the entry and
    /// the field.
    #[error("{0}")]
    Config(String),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another process holds the buffer directory.
    #[error("buffer directory {0} is in use by another process")]
    Locked(PathBuf),
    #[error("the forwarder is shut down")]
    Closed,
    #[error("the forwarder must be opened within a tokio runtime: {0}")]
    NoRuntime(String),
    /// A receiver's HTTP client could not be built (a missing CA file, say).
    #[error("receiver {receiver:?}: {msg}")]
    Receiver { receiver: String, msg: String },
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}
