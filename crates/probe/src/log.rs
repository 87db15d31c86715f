//! The log of one probe: kept as logfmt lines for the `debug=true` answer, and forwarded to
//! `tracing` (at debug level, except warnings about the environment, such as an ICMP socket that
//! cannot be opened, which go out as `warn`).

use std::fmt::{self, Write as _};
use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Collects one probe's log lines.
#[derive(Debug)]
pub struct ProbeLog {
    module: String,
    target: String,
    lines: String,
}

impl ProbeLog {
    pub fn new(module: &str, target: &str) -> Self {
        Self {
            module: module.to_string(),
            target: target.to_string(),
            lines: String::new(),
        }
    }

    /// Everything logged so far, one logfmt line each.
    pub fn text(&self) -> &str {
        &self.lines
    }

    pub fn log(&mut self, level: Level, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
        let mut line = String::with_capacity(128);
        let _ = write!(
            line,
            "ts={} module={} target={} level={} msg=",
            crate::date::format_rfc3339(SystemTime::now()),
            logfmt_value(&self.module),
            logfmt_value(&self.target),
            level.as_str(),
        );
        line.push_str(&logfmt_value(msg));
        let mut rest = String::new();
        for (k, v) in fields {
            let v = v.to_string();
            let _ = write!(rest, " {k}={}", logfmt_value(&v));
        }
        line.push_str(&rest);
        match level {
            Level::Warn => tracing::warn!(module = %self.module, target = %self.target, "{msg}{rest}"),
            _ => {
                tracing::debug!(module = %self.module, target = %self.target, level = level.as_str(), "{msg}{rest}")
            }
        }
        self.lines.push_str(&line);
        self.lines.push('\n');
    }

    pub fn debug(&mut self, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
        self.log(Level::Debug, msg, fields);
    }

    pub fn info(&mut self, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
        self.log(Level::Info, msg, fields);
    }

    pub fn warn(&mut self, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
        self.log(Level::Warn, msg, fields);
    }

    pub fn error(&mut self, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
        self.log(Level::Error, msg, fields);
    }
}

/// Quotes a value when logfmt needs it.
fn logfmt_value(v: &str) -> String {
    let needs_quotes = v.is_empty() || v.chars().any(|c| c <= ' ' || c == '=' || c == '"' || c == '\\');
    if !needs_quotes {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_lines() {
        let mut log = ProbeLog::new("http_2xx", "http://x/");
        log.info("Resolving target address", &[("ip_protocol", &"ip6")]);
        log.error(
            "Error for HTTP request",
            &[("err", &"connection refused (os error 111)")],
        );
        let text = log.text();
        assert!(text.contains(
            "module=http_2xx target=http://x/ level=info msg=\"Resolving target address\" ip_protocol=ip6\n"
        ));
        assert!(text.contains(
            "level=error msg=\"Error for HTTP request\" err=\"connection refused (os error 111)\"\n"
        ));
    }
}
