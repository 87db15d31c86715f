//! Why a config, a matcher, a time interval or a time zone could not be read. Messages follow
//! Alertmanager's wording where it has one, so users can search for them.

/// Everything this crate can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not YAML, a value of the wrong type, or a field Alertmanager does not know (it decodes
    /// strictly). Carries serde_yaml's path and line.
    #[error("parse alertmanager config: {0}")]
    Yaml(String),
    /// Well-formed YAML that Alertmanager's `config.Load` would refuse.
    #[error("{0}")]
    Invalid(String),
    /// A matcher that neither the classic nor the UTF-8 parser accepts.
    #[error("{0}")]
    Matcher(String),
    /// A regular expression in a matcher, `match_re` or inhibit rule that does not compile.
    #[error("error parsing regexp {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
    /// A `time_intervals` entry out of range or badly written.
    #[error("{0}")]
    TimeInterval(String),
    /// A `location` that is not in the zoneinfo database.
    #[error("unknown time zone {0}")]
    UnknownTimeZone(String),
    /// A zoneinfo file that is not valid TZif.
    #[error("time zone {name}: bad zoneinfo data: {reason}")]
    BadZoneinfo { name: String, reason: String },
    /// A notification template that does not parse or execute, or a template file that cannot
    /// be read; names the file or the template text.
    #[error("{0}")]
    Template(String),
    /// A notifier config that cannot be turned into a working integration.
    #[error("receiver {receiver:?}: {integration}[{index}]: {reason}")]
    Integration {
        receiver: String,
        integration: &'static str,
        index: u32,
        reason: String,
    },
    /// A state file (silences, notification log, alert journal, outbox) that could not be read,
    /// written, renamed or synced; `op` says which step failed.
    #[error("{op} {path}: {reason}")]
    Io {
        op: &'static str,
        path: String,
        reason: String,
    },
    /// A state file whose content does not decode; `reason` names the line or field.
    #[error("{path}: corrupt state file: {reason}")]
    Corrupt { path: String, reason: String },
    /// A silence the API or the silence store refuses, in Alertmanager's wording.
    #[error("{0}")]
    InvalidSilence(String),
    /// No silence with this id (Alertmanager: `silence not found`).
    #[error("silence {0} not found")]
    SilenceNotFound(String),
    /// Expiring a silence that has already ended.
    #[error("silence {0} already expired")]
    SilenceExpired(String),
    /// No pending notification with this id in the outbox.
    #[error("pending notification {0} not found")]
    PendingNotFound(u64),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one attempt to send a notification failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The service is unavailable, overloaded or rate limiting (5xx, 429), the network failed, or
    /// the attempt timed out: the caller retries with backoff.
    #[error("{0}")]
    Retry(String),
    /// The request was refused as such (other 4xx), or the notification could not be built
    /// (template, address, missing key): retrying sends the same thing again.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retry(_))
    }
}
