//! Why a `blackbox.yml` could not be loaded. Probe failures are not errors: they become
//! `probe_success 0` plus a log line, exactly as in blackbox_exporter.

/// A configuration problem, naming the module and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not YAML, or its top level is not a `modules:` map.
    #[error("parse blackbox config: {0}")]
    Yaml(String),
    /// A module has a field that is misspelled, unknown, of the wrong type or out of range.
    #[error("module {module:?}: {field}: {reason}")]
    Field {
        module: String,
        field: String,
        reason: String,
    },
    /// A module names a prober this crate does not have (`grpc` included).
    #[error("module {module:?}: prober: unknown prober {prober:?} (expected http, tcp, dns or icmp)")]
    UnknownProber { module: String, prober: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn field(module: &str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Field {
            module: module.to_string(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}
