//! Series lines: a label set in PromQL series syntax followed by a point sequence in the expanding
//! notation of promtool unit tests, or by a start-timestamp sequence on `@st` lines.

use std::sync::Arc;

use model::{Labels, METRIC_NAME, STALE_NAN_BITS};

use super::values::{GO_NAN_BITS, Quoting, literal_len, parse_duration, parse_go_number, unquote};
use super::{HistogramSpec, HistogramStep, Point, ScriptError};

/// Upper bound on the points one line may expand to, so that a typo such as `0+1x100000000000` is an
/// error rather than an allocation failure. The largest expansion in the Prometheus suite is `x10000`.
const MAX_POINTS: u64 = 1 << 22;

/// The part of a series line before its values.
pub(super) struct Head<'a> {
    /// `None` for a standalone `@st <offsets>` line, which has no series of its own.
    pub labels: Option<Labels>,
    /// The metric is directly followed by `@st`: the values are start-timestamp offsets.
    pub start_timestamps: bool,
    /// The rest of the line: the values.
    pub values: &'a str,
}

/// A read position in one line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.s[start..self.pos]
    }

    fn skip_ws(&mut self) {
        self.take_while(is_space);
    }

    /// True at the end of the line or before whitespace: where a token must stop.
    fn at_boundary(&self) -> bool {
        self.peek().is_none_or(is_space)
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn describe(c: Option<char>) -> String {
    c.map_or_else(|| "end of line".to_owned(), |c| format!("{c:?}"))
}

/// Parses the metric part of a series line: `name`, `name{l="v", ...}`, `{l="v", ...}`,
/// `{"utf8.name", "label.x"="v"}`, each optionally followed by `@st`; or a bare `@st`.
pub(super) fn parse_head(text: &str, line: usize) -> Result<Head<'_>, ScriptError> {
    let invalid = |reason: String| ScriptError::InvalidSeries { line, reason };
    let mut c = Cursor::new(text);
    if c.eat_str("@st") {
        if !c.at_boundary() {
            return Err(invalid(format!("unexpected {} after @st", describe(c.peek()))));
        }
        return Ok(Head {
            labels: None,
            start_timestamps: true,
            values: c.rest().trim_start(),
        });
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let name = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':');
    if name.starts_with(|ch: char| ch.is_ascii_digit()) {
        return Err(invalid(format!("metric name {name:?} starts with a digit")));
    }
    if !name.is_empty() {
        pairs.push((METRIC_NAME.to_owned(), name.to_owned()));
    }
    if c.peek() == Some('{') {
        parse_label_set(&mut c, &mut pairs).map_err(invalid)?;
    } else if name.is_empty() {
        return Err(invalid(format!(
            "expected a metric name or '{{', found {}",
            describe(c.peek())
        )));
    }
    let start_timestamps = c.eat_str("@st");
    if !c.at_boundary() {
        return Err(invalid(format!(
            "unexpected {} after the labels",
            describe(c.peek())
        )));
    }
    let labels = Labels::from_vec(pairs).map_err(|source| ScriptError::InvalidLabels { line, source })?;
    Ok(Head {
        labels: Some(labels),
        start_timestamps,
        values: c.rest().trim_start(),
    })
}

/// Reads `{...}` (the cursor is on the `{`): `name="value"` items, quoted names, and a quoted name
/// alone meaning the metric name; a trailing comma is allowed.
fn parse_label_set(c: &mut Cursor<'_>, pairs: &mut Vec<(String, String)>) -> Result<(), String> {
    c.bump();
    loop {
        c.skip_ws();
        if c.eat('}') {
            return Ok(());
        }
        let (name, quoted) = match c.peek() {
            Some('"' | '\'' | '`') => (string_literal(c)?, true),
            Some(ch) if ch.is_ascii_alphabetic() || ch == '_' => (
                c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    .to_owned(),
                false,
            ),
            other => return Err(format!("expected a label name, found {}", describe(other))),
        };
        c.skip_ws();
        if c.eat('=') {
            c.skip_ws();
            if !matches!(c.peek(), Some('"' | '\'' | '`')) {
                return Err(format!("expected a quoted value for label {name:?}"));
            }
            let value = string_literal(c)?;
            pairs.push((name, value));
        } else if quoted {
            pairs.push((METRIC_NAME.to_owned(), name));
        } else {
            return Err(format!("expected '=' after label name {name:?}"));
        }
        c.skip_ws();
        if c.eat(',') {
            continue;
        }
        if c.eat('}') {
            return Ok(());
        }
        return Err(format!(
            "expected ',' or '}}' in the labels, found {}",
            describe(c.peek())
        ));
    }
}

fn string_literal(c: &mut Cursor<'_>) -> Result<String, String> {
    let len = literal_len(c.rest()).ok_or_else(|| "unterminated string".to_owned())?;
    let lit = &c.rest()[..len];
    c.pos += len;
    unquote(lit, Quoting::PromQl)
}

/// Parses a point sequence: whitespace-separated items, each one of
/// `v`, `vxN` (N+1 copies), `a+bxN` / `a-bxN` (N+1 points a, a+b, ...), `_` (no point), `_xN` (N times
/// no point), `stale`, `{{...}}`, `{{...}}xN`, `{{a}}+{{b}}xN`, `{{a}}-{{b}}xN`.
pub(super) fn parse_points(values: &str, line: usize) -> Result<Vec<Point>, ScriptError> {
    let mut c = Cursor::new(values);
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        if c.peek().is_none() {
            return Ok(out);
        }
        let start = c.pos;
        point_item(&mut c, &mut out).map_err(|reason| ScriptError::InvalidSeries {
            line,
            reason: format!("in {:?}: {reason}", item_text(values, start)),
        })?;
        if !c.at_boundary() {
            return Err(ScriptError::InvalidSeries {
                line,
                reason: format!(
                    "in {:?}: unexpected {}",
                    item_text(values, start),
                    describe(c.peek())
                ),
            });
        }
    }
}

/// The whitespace-delimited text starting at `start`, for error messages.
fn item_text(values: &str, start: usize) -> &str {
    let rest = &values[start..];
    rest.split(is_space).next().unwrap_or(rest)
}

fn point_item(c: &mut Cursor<'_>, out: &mut Vec<Point>) -> Result<(), String> {
    if c.rest().starts_with("{{") {
        let base = histogram_literal(c)?;
        let (step, count) = match c.peek() {
            Some(sign @ ('+' | '-')) if c.rest()[1..].starts_with("{{") => {
                c.bump();
                let literal = histogram_literal(c)?;
                let n = times(c)?.ok_or("expected xN after a histogram increment")?;
                let step = HistogramStep {
                    negative: sign == '-',
                    literal,
                };
                (Some(step), repeat_count(n)?)
            }
            _ => (None, times(c)?.map_or(Ok(1), repeat_count)?),
        };
        check_room(out, count)?;
        let spec = Arc::new(HistogramSpec { base, step });
        out.extend((0..count).map(|index| Point::Histogram {
            spec: Arc::clone(&spec),
            index,
        }));
        return Ok(());
    }
    if c.eat('_') {
        let count = times(c)?.unwrap_or(1);
        check_room(out, count)?;
        out.extend((0..count).map(|_| Point::Missing));
        return Ok(());
    }
    let first = series_value(c)?;
    if matches!(c.peek(), Some('+' | '-')) {
        let delta = signed_number(c)?;
        let n = times(c)?.ok_or("expected xN after the increment")?;
        let count = repeat_count(n)?;
        check_room(out, count)?;
        // Accumulated, not `first + i * delta`, so values are bit-identical to Prometheus's.
        let mut v = first;
        for _ in 0..count {
            out.push(Point::Float(v));
            v += delta;
        }
    } else if let Some(n) = times(c)? {
        let count = repeat_count(n)?;
        check_room(out, count)?;
        out.extend((0..count).map(|_| Point::Float(first)));
    } else {
        out.push(Point::Float(first));
    }
    Ok(())
}

/// `xN` expansions of values produce N+1 points: the first value plus N steps.
fn repeat_count(n: u64) -> Result<u64, String> {
    n.checked_add(1)
        .ok_or_else(|| "repeat count out of range".to_owned())
}

fn check_room(out: &[Point], count: u64) -> Result<(), String> {
    if (out.len() as u64).saturating_add(count) > MAX_POINTS {
        return Err(format!("expands to more than {MAX_POINTS} points"));
    }
    Ok(())
}

/// Reads `{{...}}` up to the first `}}`, braces included.
fn histogram_literal(c: &mut Cursor<'_>) -> Result<String, String> {
    let rest = c.rest();
    let end = rest[2..]
        .find("}}")
        .ok_or_else(|| "unterminated histogram, missing '}}'".to_owned())?;
    let lit = &rest[..end + 4];
    c.pos += lit.len();
    Ok(lit.to_owned())
}

/// Reads an optional `xN`.
fn times(c: &mut Cursor<'_>) -> Result<Option<u64>, String> {
    if !c.eat('x') {
        return Ok(None);
    }
    let digits = c.take_while(|ch| ch.is_ascii_digit());
    if digits.is_empty() {
        return Err("expected a count after 'x'".to_owned());
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| format!("repeat count {digits} out of range"))
}

/// A value: a number, optionally signed, or `stale`.
fn series_value(c: &mut Cursor<'_>) -> Result<f64, String> {
    if matches!(c.peek(), Some('+' | '-')) {
        return signed_number(c);
    }
    if c.peek().is_some_and(|ch| ch.is_ascii_alphabetic()) {
        let word = word(c);
        if word == "stale" {
            return Ok(f64::from_bits(STALE_NAN_BITS));
        }
        return word_number(word).ok_or_else(|| format!("expected a number or \"stale\", found {word:?}"));
    }
    number(c)
}

fn signed_number(c: &mut Cursor<'_>) -> Result<f64, String> {
    let negative = match c.bump() {
        Some('-') => true,
        Some('+') => false,
        other => return Err(format!("expected '+' or '-', found {}", describe(other))),
    };
    let v = if c.peek().is_some_and(|ch| ch.is_ascii_alphabetic()) {
        let word = word(c);
        word_number(word).ok_or_else(|| format!("expected a number after the sign, found {word:?}"))?
    } else {
        number(c)?
    };
    Ok(if negative { -v } else { v })
}

/// An identifier as PromQL's lexer reads one; this swallows a following `x`, so `stalex3` or `Infx2`
/// are single (invalid) words, as in Prometheus.
fn word<'a>(c: &mut Cursor<'a>) -> &'a str {
    c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

/// The number keywords of PromQL, in any letter case.
fn word_number(word: &str) -> Option<f64> {
    if word.eq_ignore_ascii_case("inf") {
        Some(f64::INFINITY)
    } else if word.eq_ignore_ascii_case("nan") {
        Some(f64::from_bits(GO_NAN_BITS))
    } else {
        None
    }
}

/// An unsigned decimal literal as PromQL's lexer scans it in series values: digits, fraction, exponent
/// (no hexadecimal: `0x3` means 0 repeated).
fn number(c: &mut Cursor<'_>) -> Result<f64, String> {
    let start = c.pos;
    let digit = |ch: char| ch.is_ascii_digit();
    c.take_while(digit);
    if c.eat('.') {
        c.take_while(digit);
    }
    if c.eat('e') || c.eat('E') {
        let _ = c.eat('+') || c.eat('-');
        c.take_while(digit);
    }
    let text = &c.s[start..c.pos];
    if text.is_empty() {
        return Err(format!("expected a number, found {}", describe(c.peek())));
    }
    if c.peek()
        .is_some_and(|ch| ch != 'x' && (ch.is_ascii_alphanumeric() || ch == '_'))
    {
        return Err(format!("bad number {:?}", item_text(c.s, start)));
    }
    parse_go_number(text).ok_or_else(|| format!("bad number {text:?}"))
}

/// Parses the offsets of an `@st` line, in milliseconds relative to each sample's timestamp:
/// `_` (none), `_xN` (N times none, N > 0), `<dur>`, `<dur>xN` (N+1 copies), `<dur>+<dur>xN` /
/// `<dur>-<dur>xN` (N+1 offsets stepping by the second duration), `*` / `*xN` (the previous offset
/// again, 1 or N+1 times). Durations may carry a sign: `-1m`, `+30s`, `-59999ms`.
pub(super) fn parse_start_offsets(values: &str, line: usize) -> Result<Vec<Option<i64>>, ScriptError> {
    let mut out: Vec<Option<i64>> = Vec::new();
    for item in values.split_whitespace() {
        start_offset_item(item, &mut out).map_err(|reason| ScriptError::InvalidSeries {
            line,
            reason: format!("in start-timestamp item {item:?}: {reason}"),
        })?;
        if out.len() as u64 > MAX_POINTS {
            return Err(ScriptError::InvalidSeries {
                line,
                reason: format!("expands to more than {MAX_POINTS} points"),
            });
        }
    }
    Ok(out)
}

fn start_offset_item(item: &str, out: &mut Vec<Option<i64>>) -> Result<(), String> {
    let count = |digits: &str| -> Result<u64, String> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid repeat count".to_owned());
        }
        let n: u64 = digits.parse().map_err(|_| "invalid repeat count".to_owned())?;
        if n >= MAX_POINTS {
            return Err("repeat count out of range".to_owned());
        }
        Ok(n)
    };
    if item == "_" {
        out.push(None);
        return Ok(());
    }
    if let Some(digits) = item.strip_prefix("_x") {
        let n = count(digits)?;
        if n == 0 {
            return Err("invalid repeat count".to_owned());
        }
        out.extend((0..n).map(|_| None));
        return Ok(());
    }
    if let Some(rest) = item.strip_prefix('*') {
        // The previous offset that was given, or 0 when there is none.
        let prev = out.iter().rev().find_map(|v| *v).unwrap_or(0);
        let n = if rest.is_empty() {
            0
        } else {
            count(rest.strip_prefix('x').ok_or("expected xN after '*'")?)?
        };
        out.extend((0..=n).map(|_| Some(prev)));
        return Ok(());
    }
    let (base, rest) = duration_prefix(item)?;
    if rest.is_empty() {
        out.push(Some(base));
        return Ok(());
    }
    if let Some(digits) = rest.strip_prefix('x') {
        let n = count(digits)?;
        out.extend((0..=n).map(|_| Some(base)));
        return Ok(());
    }
    let negative = match rest.as_bytes()[0] {
        b'+' => false,
        b'-' => true,
        _ => return Err(format!("unexpected {rest:?} after the duration")),
    };
    let (delta, rest) = duration_prefix(&rest[1..])?;
    let delta = if negative { -delta } else { delta };
    let n = count(
        rest.strip_prefix('x')
            .ok_or("expected xN after the step duration")?,
    )?;
    let mut v = base;
    for _ in 0..=n {
        out.push(Some(v));
        v = v.checked_add(delta).ok_or("offset out of range")?;
    }
    Ok(())
}

/// Reads an optionally signed duration (`-1m`, `30s`, `0`) from the start of `s`: digits then letters,
/// stopping at `x` (the repeat separator). Returns milliseconds and the rest.
fn duration_prefix(s: &str) -> Result<(i64, &str), String> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return Err("empty duration".to_owned()),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("expected digits in duration {s:?}"));
    }
    let unit = body[digits..]
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() && *b != b'x')
        .count();
    let text = &body[..digits + unit];
    let ms = parse_duration(text).map_err(|e| format!("invalid duration {text:?}: {e}"))?;
    Ok((if negative { -ms } else { ms }, &body[digits + unit..]))
}
