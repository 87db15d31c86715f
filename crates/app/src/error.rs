use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("config file {path}: {msg}")]
    Config { path: String, msg: String },
    #[error("invalid {field}: {msg}")]
    Invalid { field: &'static str, msg: String },
    #[error("storage: {0}")]
    Storage(#[from] tsdb::Error),
    #[error("listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("{0}")]
    Runtime(String),
}
