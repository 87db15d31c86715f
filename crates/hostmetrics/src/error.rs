//! Why a collector failed. A failure never stops the other collectors: it becomes
//! `node_scrape_collector_success{collector="…"} 0` and is kept for [`crate::Collector::last_errors`].
//!
//! Written by hand rather than with `thiserror` because this crate keeps its dependencies to
//! `exposition` and `libc` (it is linked into the lightweight agent).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// One collector's failure, naming the file or system call involved.
#[derive(Debug)]
pub enum Error {
    /// A file could not be opened or read.
    Read { path: PathBuf, source: io::Error },
    /// A file was read but its content is not what the kernel writes there.
    Parse { path: PathBuf, reason: String },
    /// A system call that takes no path failed (`uname`).
    Syscall { call: &'static str, source: io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn parse(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Parse {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "read {}: {source}", path.display()),
            Self::Parse { path, reason } => write!(f, "parse {}: {reason}", path.display()),
            Self::Syscall { call, source } => write!(f, "{call}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } | Self::Syscall { source, .. } => Some(source),
            Self::Parse { .. } => None,
        }
    }
}
