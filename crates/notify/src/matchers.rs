//! Label matchers as Alertmanager reads and prints them: `foo="bar"`, `foo=~"a.*"`, with both the
//! classic `pkg/labels` syntax and the newer UTF-8 `matcher/parse` syntax, and the legacy
//! `match`/`match_re` maps. Pure: knows nothing of routes or alerts beyond a label set.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

use crate::error::{Error, Result};

/// An alert's labels.
pub type LabelSet = BTreeMap<String, String>;

/// The four comparisons, in Alertmanager's order (which is also its sort order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    fn is_regex(self) -> bool {
        matches!(self, MatchOp::Regex | MatchOp::NotRegex)
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One label matcher. Regex matchers are anchored (`^(?:value)$`) as in Alertmanager; the compiled
/// expression is kept next to the value it came from.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher, compiling `value` when `op` is a regex comparison.
    pub fn new(name: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Result<Matcher> {
        let value = value.into();
        let regex = if op.is_regex() {
            Some(compile_anchored(&value)?)
        } else {
            None
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    /// The anchored expression of a `=~`/`!~` matcher.
    pub fn regex(&self) -> Option<&Regex> {
        self.regex.as_ref()
    }

    /// Whether a label value satisfies this matcher.
    pub fn matches_value(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// Whether a label set satisfies this matcher; a missing label counts as the empty string.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl fmt::Display for Matcher {
    /// `foo="bar"`; a name the classic parser could not read is quoted too: `"foo bar"="x"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.chars().any(is_reserved) {
            write!(f, "{}{}{}", go_quote(&self.name), self.op, go_quote(&self.value))
        } else {
            write!(
                f,
                "{}{}\"{}\"",
                self.name,
                self.op,
                open_metrics_escape(&self.value)
            )
        }
    }
}

/// Whether every matcher holds for `labels` (an empty list matches everything).
pub fn matches_all(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// `{a="1",b=~"x"}`, as Alertmanager prints a matcher list (route keys use it).
pub fn format_matchers(matchers: &[Matcher]) -> String {
    let mut out = String::from("{");
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&m.to_string());
    }
    out.push('}');
    out
}

/// Sorts as Alertmanager's `labels.Matchers` does: by name, then value, then operator.
pub fn sort_matchers(matchers: &mut [Matcher]) {
    matchers.sort_by(|a, b| (&a.name, &a.value, a.op).cmp(&(&b.name, &b.value, b.op)));
}

/// Parses a matcher list as Alertmanager 0.27 does by default (and amtool and the API with it):
/// the classic syntax when it accepts the input, otherwise the UTF-8 syntax; when neither does,
/// the classic parser's error.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>> {
    match parse_matchers_classic(s) {
        Ok(ms) => Ok(ms),
        Err(classic) => parse_matchers_utf8(s).map_err(|_| classic),
    }
}

/// One matcher, as in silences' and amtool's single-matcher arguments.
pub fn parse_matcher(s: &str) -> Result<Matcher> {
    let mut ms = parse_matchers(s)?;
    match ms.len() {
        1 => Ok(ms.remove(0)),
        0 => Err(Error::Matcher(format!("no matchers in {s:?}"))),
        n => Err(Error::Matcher(format!("expected 1 matcher in {s:?}, found {n}"))),
    }
}

/// Compiles `^(?:pattern)$` with Go's meaning of `\d`, `\w`, `\s` and `\b` (ASCII only).
pub(crate) fn compile_anchored(pattern: &str) -> Result<Regex> {
    let translated = translate_go_regex(pattern);
    Regex::new(&format!("^(?:{translated})$")).map_err(|e| Error::Regex {
        pattern: pattern.to_string(),
        reason: regex_reason(&e),
    })
}

fn regex_reason(e: &regex::Error) -> String {
    // The regex crate's message spans several lines with a caret diagram; the last line says why.
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid regexp")
        .trim_start_matches("error: ")
        .to_string()
}

/// Go's RE2 classes `\d \w \s` are ASCII; Rust's are Unicode. Rewrites them so `\d` does not
/// match, say, Arabic digits. Everything else is the same syntax in both engines.
fn translate_go_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let ascii = match n {
                    'd' => Some(("0-9", false)),
                    'w' => Some(("0-9A-Za-z_", false)),
                    's' => Some(("\\t\\n\\f\\r ", false)),
                    'D' => Some(("0-9", true)),
                    'W' => Some(("0-9A-Za-z_", true)),
                    'S' => Some(("\\t\\n\\f\\r ", true)),
                    _ => None,
                };
                match ascii {
                    Some((set, false)) if in_class => out.push_str(set),
                    Some((set, negated)) if !in_class => {
                        out.push_str(if negated { "[^" } else { "[" });
                        out.push_str(set);
                        out.push(']');
                    }
                    _ if !in_class && (n == 'b' || n == 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(n);
                        out.push(')');
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A `]` right after `[` or `[^` is a literal member.
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // `[:alpha:]` inside a class.
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Go's `unicode.IsSpace` plus the characters the UTF-8 lexer reserves.
fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

fn open_metrics_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            _ => out.push(c),
        }
    }
    out
}

/// Go's `strconv.Quote` for the characters labels realistically hold.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// Classic syntax (pkg/labels): `{foo="bar", baz!~x}`, braces optional, values optionally quoted.

/// Parses the classic `pkg/labels` syntax, the only one Alertmanager 0.25 knows.
pub fn parse_matchers_classic(s: &str) -> Result<Vec<Matcher>> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens: Vec<String> = Vec::new();
    let mut token = String::new();
    let (mut in_quotes, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !in_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    in_quotes = !in_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim_matches(is_go_space);
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_matcher_classic(t)).collect()
}

fn is_go_space(c: char) -> bool {
    // RE2's `\s`: ASCII whitespace without \v.
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

fn parse_matcher_classic(s: &str) -> Result<Matcher> {
    let bad = || Error::Matcher(format!("bad matcher format: {s}"));
    let rest = s.trim_start_matches(is_go_space);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| {
            let ok = c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit());
            !ok
        })
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return Err(bad());
    }
    let name = &rest[..name_len];
    let rest = rest[name_len..].trim_start_matches(is_go_space);
    let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::Regex, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, r)
    } else {
        return Err(bad());
    };
    let raw_full = rest.trim_matches(is_go_space);
    let unescaped_quote = || {
        Error::Matcher(format!(
            "matcher value contains unescaped double quote: {raw_full}"
        ))
    };
    let (raw, mut expect_trailing_quote) = match raw_full.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_full, false),
    };
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        let last = i + c.len_utf8() == raw.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                _ => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_trailing_quote || !last {
                    return Err(unescaped_quote());
                }
                expect_trailing_quote = false;
            }
            _ => value.push(c),
        }
    }
    if expect_trailing_quote {
        return Err(unescaped_quote());
    }
    Matcher::new(name, op, value)
}

// ---------------------------------------------------------------------------------------------
// UTF-8 syntax (matcher/parse): names and values either double-quoted Go strings or unquoted runs
// of non-reserved characters.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open,
    Close,
    Comma,
    Op(MatchOp),
    Quoted,
    Unquoted,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    col_start: usize,
    col_end: usize,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    col: usize,
}

impl<'a> Lexer<'a> {
    fn err_at(&self, start: usize, col: usize, end: usize, what: &str) -> Error {
        // Byte offsets from the callers may fall inside a character: widen to whole characters.
        let mut end = end.min(self.input.len());
        while !self.input.is_char_boundary(end) {
            end += 1;
        }
        let mut start = start.min(end);
        while !self.input.is_char_boundary(start) {
            start -= 1;
        }
        let col_end = col + self.input[start..end].chars().count();
        if start >= self.input.len() {
            return Error::Matcher(format!("{col}:{col_end}: unexpected end of input, {what}"));
        }
        Error::Matcher(format!("{col}:{col_end}: {}: {what}", &self.input[start..end]))
    }

    /// The next token, `None` at the end of input.
    fn next(&mut self) -> Result<Option<Token<'a>>> {
        loop {
            let Some(c) = self.input[self.pos..].chars().next() else {
                return Ok(None);
            };
            if c.is_whitespace() {
                self.pos += c.len_utf8();
                self.col += 1;
                continue;
            }
            let start = self.pos;
            let col = self.col;
            let kind = match c {
                '{' => Kind::Open,
                '}' => Kind::Close,
                ',' => Kind::Comma,
                '=' | '!' => {
                    let rest = &self.input[start..];
                    let (op, len) = if rest.starts_with("=~") {
                        (MatchOp::Regex, 2)
                    } else if rest.starts_with("!=") {
                        (MatchOp::NotEqual, 2)
                    } else if rest.starts_with("!~") {
                        (MatchOp::NotRegex, 2)
                    } else if c == '=' {
                        (MatchOp::Equal, 1)
                    } else {
                        return Err(self.err_at(start, col, start + 2, "expected one of '=~'"));
                    };
                    return Ok(Some(self.emit(Kind::Op(op), start, col, len)));
                }
                '"' => {
                    let mut escaped = false;
                    let mut end = None;
                    for (i, d) in self.input[start + 1..].char_indices() {
                        if escaped {
                            escaped = false;
                        } else if d == '\\' {
                            escaped = true;
                        } else if d == '"' {
                            end = Some(start + 1 + i + 1);
                            break;
                        }
                    }
                    let Some(end) = end else {
                        let cols = self.input[start..].chars().count();
                        return Err(Error::Matcher(format!(
                            "{col}:{}: {}: missing end \"",
                            col + cols,
                            &self.input[start..]
                        )));
                    };
                    return Ok(Some(self.emit(Kind::Quoted, start, col, end - start)));
                }
                c if !is_reserved(c) => {
                    let len = self.input[start..]
                        .char_indices()
                        .find(|&(_, d)| is_reserved(d))
                        .map_or(self.input.len() - start, |(i, _)| i);
                    return Ok(Some(self.emit(Kind::Unquoted, start, col, len)));
                }
                _ => {
                    return Err(self.err_at(start, col, start + c.len_utf8(), "invalid input"));
                }
            };
            return Ok(Some(self.emit(kind, start, col, c.len_utf8())));
        }
    }

    fn emit(&mut self, kind: Kind, start: usize, col: usize, len: usize) -> Token<'a> {
        let text = &self.input[start..start + len];
        self.pos = start + len;
        self.col = col + text.chars().count();
        Token {
            kind,
            text,
            col_start: col,
            col_end: self.col,
        }
    }

    fn peek(&mut self) -> Result<Option<Token<'a>>> {
        let (pos, col) = (self.pos, self.col);
        let t = self.next();
        self.pos = pos;
        self.col = col;
        t
    }
}

fn unexpected(t: &Token<'_>, what: &str) -> Error {
    Error::Matcher(format!(
        "{}:{}: unexpected {}: {what}",
        t.col_start, t.col_end, t.text
    ))
}

fn unquote_token(t: &Token<'_>) -> Result<String> {
    match t.kind {
        Kind::Quoted => go_unquote(t.text).ok_or_else(|| {
            Error::Matcher(format!(
                "{}:{}: {}: invalid input",
                t.col_start, t.col_end, t.text
            ))
        }),
        _ => Ok(t.text.to_string()),
    }
}

/// Parses the UTF-8 syntax of Alertmanager 0.27's `matcher/parse` (what `--enable-feature=
/// utf8-strict-mode` accepts): `{"foo bar"="x", env=~"prod|stage"}`.
pub fn parse_matchers_utf8(s: &str) -> Result<Vec<Matcher>> {
    let mut lx = Lexer {
        input: s,
        pos: 0,
        col: 0,
    };
    let mut out = Vec::new();
    let end_col = s.chars().count();
    let eof_err = |what: &str| Error::Matcher(format!("0:{end_col}: end of input: {what}"));
    let Some(first) = lx.peek()? else {
        return Ok(out);
    };
    let has_open = first.kind == Kind::Open;
    if has_open {
        lx.next()?;
    }
    // After the optional brace: a matcher, a close brace or the end.
    let mut want_matcher = match lx.peek()? {
        None => false,
        Some(t) => t.kind != Kind::Close,
    };
    while want_matcher {
        let name = match lx.next()? {
            None => return Err(eof_err("expected label name")),
            Some(t) if matches!(t.kind, Kind::Quoted | Kind::Unquoted) => unquote_token(&t)?,
            Some(t) => return Err(unexpected(&t, "expected label name")),
        };
        let op = match lx.next()? {
            None => return Err(eof_err("expected an operator such as '=', '!=', '=~' or '!~'")),
            Some(Token {
                kind: Kind::Op(op), ..
            }) => op,
            Some(t) => {
                return Err(unexpected(
                    &t,
                    "expected an operator such as '=', '!=', '=~' or '!~'",
                ));
            }
        };
        let value = match lx.next()? {
            None => return Err(eof_err("expected label value")),
            Some(t) if matches!(t.kind, Kind::Quoted | Kind::Unquoted) => unquote_token(&t)?,
            Some(t) => return Err(unexpected(&t, "expected label value")),
        };
        out.push(Matcher::new(name, op, value)?);
        want_matcher = match lx.peek()? {
            None => false,
            Some(t) if t.kind == Kind::Close => false,
            Some(t) if t.kind == Kind::Comma => {
                lx.next()?;
                match lx.peek()? {
                    None => false,
                    Some(t) if t.kind == Kind::Close => false,
                    Some(t) if matches!(t.kind, Kind::Quoted | Kind::Unquoted) => true,
                    Some(t) => return Err(unexpected(&t, "expected a matcher or close brace after comma")),
                }
            }
            Some(t) => return Err(unexpected(&t, "expected a comma or close brace")),
        };
    }
    match lx.next()? {
        Some(t) if t.kind == Kind::Close && !has_open => {
            return Err(Error::Matcher(format!(
                "0:{}: }}: expected opening brace",
                t.col_end
            )));
        }
        Some(t) if t.kind == Kind::Close => {}
        None if has_open => return Err(eof_err("expected close brace")),
        None => {}
        Some(t) if has_open => return Err(unexpected(&t, "expected close brace")),
        Some(t) => return Err(unexpected(&t, "expected end of input")),
    }
    if let Some(t) = lx.next()? {
        return Err(Error::Matcher(format!(
            "{}:{}: {}: expected end of input",
            t.col_start, t.col_end, t.text
        )));
    }
    Ok(out)
}

/// Go's `strconv.Unquote` for a double-quoted literal; `None` where Go reports an error.
fn go_unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars.by_ref().take(n).collect();
                        if hex.len() != n {
                            return None;
                        }
                        let v = u32::from_str_radix(&hex, 16).ok()?;
                        if e == 'x' {
                            // A byte; only ASCII keeps the result valid UTF-8.
                            if v > 0x7f {
                                return None;
                            }
                        }
                        out.push(char::from_u32(v)?);
                    }
                    '0'..='7' => {
                        let rest: String = chars.by_ref().take(2).collect();
                        if rest.len() != 2 {
                            return None;
                        }
                        let v = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                        if v > 0x7f {
                            return None;
                        }
                        out.push(char::from_u32(v)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Legacy maps.

/// Whether `s` is a classic Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Matchers for a legacy `match:` (equality) and `match_re:` (regex) pair of maps.
pub fn from_legacy(
    equal: &BTreeMap<String, String>,
    regex: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>> {
    let mut out = Vec::with_capacity(equal.len() + regex.len());
    for (k, v) in equal {
        out.push(Matcher::new(k.clone(), MatchOp::Equal, v.clone())?);
    }
    for (k, v) in regex {
        out.push(Matcher::new(k.clone(), MatchOp::Regex, v.clone())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: an error pointing into a multi-byte character must not slice through it.
    #[test]
    fn errors_inside_multibyte_characters_do_not_panic() {
        for input in ["\n!\u{5f7}", "!é", "a!ü", "{x=\"y\", !日}"] {
            assert!(parse_matchers(input).is_err(), "{input:?}");
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher::new(name, op, value).unwrap()
    }

    #[test]
    fn classic_examples_from_alertmanager_docs() {
        use MatchOp::*;
        let cases: &[(&str, Vec<Matcher>)] = &[
            (r#"{foo="bar"}"#, vec![m("foo", Equal, "bar")]),
            (r#"{foo=~"bar.*"}"#, vec![m("foo", Regex, "bar.*")]),
            (r#"{foo!="bar"}"#, vec![m("foo", NotEqual, "bar")]),
            (r#"{foo!~"bar.*"}"#, vec![m("foo", NotRegex, "bar.*")]),
            (
                r#"{foo = "bar", dings != "bums", }"#,
                vec![m("foo", Equal, "bar"), m("dings", NotEqual, "bums")],
            ),
            (
                "foo=bar,dings!=bums",
                vec![m("foo", Equal, "bar"), m("dings", NotEqual, "bums")],
            ),
            (
                "foo=bar, dings!=bums",
                vec![m("foo", Equal, "bar"), m("dings", NotEqual, "bums")],
            ),
            ("alertname=Foo", vec![m("alertname", Equal, "Foo")]),
            (
                r#"{quote="She said: \"Hi, ladies! That's gender-neutral…\""}"#,
                vec![m(
                    "quote",
                    Equal,
                    "She said: \"Hi, ladies! That's gender-neutral…\"",
                )],
            ),
            (r#"statuscode=~"5..""#, vec![m("statuscode", Regex, "5..")]),
            ("foo=bar baz", vec![m("foo", Equal, "bar baz")]),
            (r#"foo="\n""#, vec![m("foo", Equal, "\n")]),
            (r#"foo=a\b"#, vec![m("foo", Equal, "a\\b")]),
            (r#"foo=a\"#, vec![m("foo", Equal, "a\\")]),
            ("foo==bar", vec![m("foo", Equal, "=bar")]),
            ("foo=", vec![m("foo", Equal, "")]),
            ("a:b=c", vec![m("a:b", Equal, "c")]),
            ("", vec![]),
            ("{}", vec![]),
        ];
        for (input, want) in cases {
            let got = parse_matchers_classic(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&got, want, "{input}");
            assert_eq!(&parse_matchers(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn classic_errors() {
        for (input, msg) in [
            ("foo", "bad matcher format: foo"),
            ("{,foo=bar}", "bad matcher format: "),
            ("1foo=bar", "bad matcher format: 1foo=bar"),
            ("foo-bar=1", "bad matcher format: foo-bar=1"),
            (
                r#"foo="bar"#,
                "matcher value contains unescaped double quote: \"bar",
            ),
            (
                r#"foo=ba"r"#,
                "matcher value contains unescaped double quote: ba\"r",
            ),
        ] {
            let err = parse_matchers_classic(input).unwrap_err();
            assert_eq!(err.to_string(), msg, "{input}");
        }
        let err = parse_matchers_classic("foo=~\"(\"").unwrap_err();
        assert!(matches!(err, Error::Regex { .. }), "{err}");
    }

    #[test]
    fn utf8_syntax() {
        use MatchOp::*;
        let cases: &[(&str, Vec<Matcher>)] = &[
            (r#"{"foo bar"="baz"}"#, vec![m("foo bar", Equal, "baz")]),
            (r#""fóo"=~"a|b""#, vec![m("fóo", Regex, "a|b")]),
            ("fóo=bar", vec![m("fóo", Equal, "bar")]),
            (
                r#"{a="1",b!~"x",}"#,
                vec![m("a", Equal, "1"), m("b", NotRegex, "x")],
            ),
            (r#"a="\u00e9\t""#, vec![m("a", Equal, "é\t")]),
            ("", vec![]),
            ("{}", vec![]),
            ("{ }", vec![]),
        ];
        for (input, want) in cases {
            let got = parse_matchers_utf8(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&got, want, "{input}");
        }
        for bad in [
            "{",
            "}",
            "{a=b",
            "a=b}",
            "a=b c",
            "a",
            "a=",
            "a!b",
            "a=b,,c=d",
            r#"a="b"#,
            r#"a="\q""#,
            "a~b",
        ] {
            assert!(parse_matchers_utf8(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn fallback_prefers_classic_then_utf8() {
        // Classic reads this as one matcher with a space in the value.
        assert_eq!(
            parse_matchers("foo=bar baz").unwrap(),
            vec![m("foo", MatchOp::Equal, "bar baz")]
        );
        // Only the UTF-8 parser reads quoted names.
        assert_eq!(
            parse_matchers(r#""foo bar"="x""#).unwrap(),
            vec![m("foo bar", MatchOp::Equal, "x")]
        );
        // Neither: the classic error.
        assert_eq!(
            parse_matchers("foo").unwrap_err().to_string(),
            "bad matcher format: foo"
        );
        assert_eq!(parse_matcher("a=b").unwrap(), m("a", MatchOp::Equal, "b"));
        assert!(parse_matcher("a=b,c=d").is_err());
        assert!(parse_matcher("").is_err());
    }

    #[test]
    fn display_as_alertmanager() {
        assert_eq!(m("foo", MatchOp::Equal, "bar").to_string(), r#"foo="bar""#);
        assert_eq!(m("foo", MatchOp::Regex, "a.*").to_string(), r#"foo=~"a.*""#);
        assert_eq!(
            m("foo", MatchOp::NotEqual, "a\"b\n\\").to_string(),
            r#"foo!="a\"b\n\\""#
        );
        assert_eq!(
            m("foo bar", MatchOp::NotRegex, "x").to_string(),
            r#""foo bar"!~"x""#
        );
        let ms = [m("a", MatchOp::Equal, "1"), m("b", MatchOp::Regex, "x")];
        assert_eq!(format_matchers(&ms), r#"{a="1",b=~"x"}"#);
        assert_eq!(format_matchers(&[]), "{}");
    }

    #[test]
    fn matching_semantics() {
        let l = labels(&[("severity", "critical"), ("team", "db")]);
        assert!(m("severity", MatchOp::Equal, "critical").matches(&l));
        assert!(m("missing", MatchOp::Equal, "").matches(&l));
        assert!(!m("missing", MatchOp::NotEqual, "").matches(&l));
        assert!(m("missing", MatchOp::Regex, ".*").matches(&l));
        assert!(m("team", MatchOp::Regex, "d.").matches(&l));
        // Anchored: a partial match is not enough.
        assert!(!m("team", MatchOp::Regex, "d").matches(&l));
        assert!(m("team", MatchOp::NotRegex, "d").matches(&l));
        // Alternation binds inside the anchors.
        assert!(!m("team", MatchOp::Regex, "d|xdb").matches(&l));
        assert!(matches_all(&[], &l));
        // Go's \d is ASCII only.
        assert!(!m("x", MatchOp::Regex, r"\d").matches_value("٣"));
        assert!(m("x", MatchOp::Regex, r"\d+").matches_value("42"));
        assert!(m("x", MatchOp::Regex, r"[\d]+x").matches_value("42x"));
        assert!(m("x", MatchOp::Regex, r"[]a]+").matches_value("]a"));
    }

    #[test]
    fn sorting_like_alertmanager() {
        let mut ms = vec![
            m("z", MatchOp::Equal, "1"),
            m("a", MatchOp::NotEqual, "2"),
            m("a", MatchOp::Equal, "2"),
            m("a", MatchOp::Equal, "1"),
        ];
        sort_matchers(&mut ms);
        assert_eq!(format_matchers(&ms), r#"{a="1",a="2",a!="2",z="1"}"#);
    }

    #[test]
    fn legacy_maps_and_label_names() {
        let eq: BTreeMap<_, _> = [("a".to_string(), "b".to_string())].into();
        let re: BTreeMap<_, _> = [("c".to_string(), "d.*".to_string())].into();
        let ms = from_legacy(&eq, &re).unwrap();
        assert_eq!(format_matchers(&ms), r#"{a="b",c=~"d.*"}"#);
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
        assert!(!is_valid_label_name("a:b"));
    }
}
