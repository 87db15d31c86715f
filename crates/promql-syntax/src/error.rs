//! The error of parsing or type-checking a query, positioned and worded as Prometheus's.

use std::fmt;

use crate::ast::Pos;

/// A parse or type error at a position of the query. Displays as Prometheus does:
/// `1:14: parse error: unexpected end of input`, or `unknown position: parse error: …` for an empty
/// query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ParseError {
    pub pos: Pos,
    pub msg: String,
    /// The query text, for computing line and column.
    pub query: String,
}

pub type Result<T, E = ParseError> = std::result::Result<T, E>;

impl ParseError {
    /// 1-based line and column of the error's start (see [`line_col`]).
    pub fn line_col(&self) -> (usize, usize) {
        line_col(&self.query, self.pos.start)
    }
}

/// 1-based line and column of byte `offset` in `query`, as Prometheus reports positions in errors and
/// annotations: the column counts bytes from the start of the line, not characters.
pub fn line_col(query: &str, offset: usize) -> (usize, usize) {
    let start = offset.min(query.len());
    let upto = &query.as_bytes()[..start];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match upto.iter().rposition(|&b| b == b'\n') {
        Some(nl) => start - nl,
        None => start + 1,
    };
    (line, col)
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.query.is_empty() {
            return write!(f, "unknown position: parse error: {}", self.msg);
        }
        let (line, col) = self.line_col();
        write!(f, "{line}:{col}: parse error: {}", self.msg)
    }
}
