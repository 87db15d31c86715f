//! The PromQL language: lexer, parser, syntax tree, printer and type checks, with errors that carry
//! their position and read like Prometheus's. Pure: no IO, no storage, no evaluation.
//!
//! ```
//! let expr = promql_syntax::parse("sum(rate(http_requests_total{job=\"api\"}[90s])) by (code)").unwrap();
//! assert_eq!(expr.to_string(), r#"sum by (code) (rate(http_requests_total{job="api"}[1m30s]))"#);
//! let err = promql_syntax::parse("rate(http_requests_total)").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#
//! );
//! ```

pub mod ast;
mod check;
mod error;
pub mod functions;
mod lexer;
mod literals;
mod parser;
mod printer;
mod quote;

pub use ast::*;
pub use error::{ParseError, Result, line_col};
pub use parser::{ParseOptions, parse, parse_with};
pub use printer::pretty;

#[cfg(test)]
mod tests;

/// A Prometheus duration (`1h30m`, `15s`, `100ms`) in milliseconds, as the HTTP API accepts for
/// `step`, `timeout` and `lookback_delta`; `None` if it does not parse or does not fit.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    literals::parse_duration(s)
        .ok()
        .and_then(|ns| i64::try_from(ns / 1_000_000).ok())
}

/// Like [`parse_duration_ms`], with Prometheus's message when `s` is not a duration.
pub fn parse_duration_checked(s: &str) -> std::result::Result<u64, String> {
    literals::parse_duration(s).map(|ns| ns / 1_000_000)
}

/// Writes milliseconds as Prometheus writes a duration: `1m30s`, `90d`, `0s`.
pub fn format_duration_ms(ms: u64) -> String {
    literals::format_duration(ms)
}
