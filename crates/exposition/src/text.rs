//! Prometheus text exposition format 0.0.4: a streaming parser and a sample writer.
//!
//! The parser yields samples, `# HELP` and `# TYPE` lines as written; it does not check that
//! samples agree with their `TYPE` (histogram buckets, summary quantiles) nor that a family is
//! contiguous: that is the importer's job. It accepts Prometheus 3's quoted UTF-8 names
//! (`{"my.metric", "a.label"="v"}`, `# TYPE "my.metric" gauge`).
//!
//! Leniencies, as in Prometheus' own scrape parser: blanks (spaces and tabs) may surround every
//! token, the label set may end with a comma, an unknown escape in a label value or help text
//! (`\x`) stays as written, and `\r\n` ends a line like `\n`.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::TextError;

/// The type named by a `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    /// The name used in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
        }
    }

    /// Parses a `# TYPE` keyword, ignoring ASCII case as Prometheus' Go parser does.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Counter,
            Self::Gauge,
            Self::Histogram,
            Self::Summary,
            Self::Untyped,
        ]
        .into_iter()
        .find(|kind| kind.as_str().eq_ignore_ascii_case(s))
    }
}

/// One sample line. `labels` excludes the metric name and keeps the written order.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSample<'a> {
    pub name: Cow<'a, str>,
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// One meaningful line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub enum TextItem<'a> {
    Sample(TextSample<'a>),
    Help { name: Cow<'a, str>, text: Cow<'a, str> },
    Type { name: Cow<'a, str>, kind: MetricType },
}

/// Parses an exposition lazily, one item per sample, `HELP` or `TYPE` line.
///
/// Yields the 1-based line number with each item or the reason the line was rejected; blank
/// lines and other comments are skipped, and a bad line does not stop the lines after it.
pub fn parse_text(body: &[u8]) -> TextIter<'_> {
    TextIter {
        body,
        pos: 0,
        line: 0,
    }
}

/// Iterator returned by [`parse_text`].
#[derive(Debug, Clone)]
pub struct TextIter<'a> {
    body: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Iterator for TextIter<'a> {
    type Item = (usize, Result<TextItem<'a>, TextError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.body.get(self.pos..).filter(|rest| !rest.is_empty())?;
            let (mut line, advance) = match rest.iter().position(|&c| c == b'\n') {
                Some(end) => (rest.get(..end).unwrap_or_default(), end + 1),
                None => (rest, rest.len()),
            };
            self.pos += advance;
            self.line += 1;
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            let result = match std::str::from_utf8(line) {
                Ok(line) => parse_line(line).transpose(),
                Err(_) => Some(Err(TextError::InvalidUtf8)),
            };
            if let Some(result) = result {
                return Some((self.line, result));
            }
        }
    }
}

/// A position in one line (without its line terminator).
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Takes bytes until one in `stops` or the end of the line. Every stop is ASCII, so the
    /// split lands on a char boundary.
    fn take_until(&mut self, stops: &[u8]) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !stops.contains(&c)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Parses a double-quoted string at the cursor (`\\`, `\"` and `\n` escapes); `None` if it
    /// is not terminated on this line.
    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        let bytes = self.s.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut owned: Option<String> = None;
        let mut chunk = start;
        while let Some(&c) = bytes.get(i) {
            match c {
                b'"' => {
                    self.pos = i + 1;
                    let tail = self.s.get(chunk..i).unwrap_or_default();
                    return Some(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut out) => {
                            out.push_str(tail);
                            Cow::Owned(out)
                        }
                    });
                }
                b'\\' => {
                    let replacement = match bytes.get(i + 1) {
                        Some(b'\\') => '\\',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        // Unknown escapes stay as written; the next byte is taken literally.
                        _ => {
                            i += 2;
                            continue;
                        }
                    };
                    let out = owned.get_or_insert_with(String::new);
                    out.push_str(self.s.get(chunk..i).unwrap_or_default());
                    out.push(replacement);
                    i += 2;
                    chunk = i;
                }
                _ => i += 1,
            }
        }
        None
    }
}

const BLANKS: &[u8] = b" \t";

/// Splits a sample line (without leading blanks) into its series, `name{labels}`, and what follows
/// it: the value, a timestamp, an OpenMetrics exemplar. A scraper keys its cache on the series part
/// and parses it only when it has not seen it before. An unterminated label set is all series; the
/// full parse reports it.
pub fn split_series(line: &str) -> (&str, &str) {
    let b = line.as_bytes();
    let name_end = b
        .iter()
        .position(|c| matches!(c, b' ' | b'\t' | b'{'))
        .unwrap_or(b.len());
    let brace = b
        .iter()
        .skip(name_end)
        .position(|c| !matches!(c, b' ' | b'\t'))
        .map(|i| i + name_end)
        .filter(|&i| b.get(i) == Some(&b'{'));
    let Some(open) = brace else {
        return line.split_at(name_end);
    };
    let mut quoted = false;
    let mut i = open + 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'}' if !quoted => return line.split_at(i + 1),
            _ => {}
        }
        i += 1;
    }
    (line, "")
}

/// Parses the series part of a sample line (see [`split_series`]): the metric name and its labels
/// in written order, with the checks of a full line.
pub fn parse_series(series: &str) -> Result<NameAndLabels<'_>, TextError> {
    let mut cur = Cursor { s: series, pos: 0 };
    cur.skip_blanks();
    let (name, labels) = parse_name_and_labels(&mut cur)?;
    cur.skip_blanks();
    if !cur.at_end() {
        return Err(TextError::TrailingContent {
            content: cur.rest().to_owned(),
        });
    }
    Ok((name, labels))
}

/// Parses a sample value as the text format writes it; see [`parse_float`].
pub fn parse_value(s: &str) -> Option<f64> {
    parse_float(s)
}

/// Parses one line; `Ok(None)` for blank lines and plain comments.
pub fn parse_line(line: &str) -> Result<Option<TextItem<'_>>, TextError> {
    let mut cur = Cursor { s: line, pos: 0 };
    cur.skip_blanks();
    match cur.peek() {
        None => Ok(None),
        Some(b'#') => {
            cur.pos += 1;
            parse_comment(&mut cur)
        }
        Some(_) => parse_sample(&mut cur).map(|sample| Some(TextItem::Sample(sample))),
    }
}

fn parse_comment<'a>(cur: &mut Cursor<'a>) -> Result<Option<TextItem<'a>>, TextError> {
    cur.skip_blanks();
    let keyword = cur.take_until(BLANKS);
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(None);
    }
    cur.skip_blanks();
    let name = comment_metric_name(cur)?;
    if !cur.at_end() && !matches!(cur.peek(), Some(b' ' | b'\t')) {
        return Err(TextError::TrailingContent {
            content: cur.rest().to_owned(),
        });
    }
    cur.skip_blanks();
    if keyword == "HELP" {
        let text = unescape_help(cur.rest());
        return Ok(Some(TextItem::Help { name, text }));
    }
    let kind = cur.take_until(BLANKS);
    if kind.is_empty() {
        return Err(TextError::MissingMetricType {
            name: name.into_owned(),
        });
    }
    let kind = MetricType::parse(kind).ok_or_else(|| TextError::InvalidMetricType {
        kind: kind.to_owned(),
    })?;
    cur.skip_blanks();
    if !cur.at_end() {
        return Err(TextError::TrailingContent {
            content: cur.rest().to_owned(),
        });
    }
    Ok(Some(TextItem::Type { name, kind }))
}

/// The metric name of a `HELP` or `TYPE` line: a legacy name or a quoted UTF-8 one.
fn comment_metric_name<'a>(cur: &mut Cursor<'a>) -> Result<Cow<'a, str>, TextError> {
    match cur.peek() {
        None => Err(TextError::MissingMetricName),
        Some(b'"') => {
            let name = cur.quoted().ok_or(TextError::UnterminatedQuotedName)?;
            if name.is_empty() {
                return Err(TextError::InvalidMetricName { name: String::new() });
            }
            Ok(name)
        }
        Some(_) => {
            let name = cur.take_until(BLANKS);
            if !is_metric_name(name) {
                return Err(TextError::InvalidMetricName {
                    name: name.to_owned(),
                });
            }
            Ok(Cow::Borrowed(name))
        }
    }
}

/// Help text escapes only `\\` and `\n`.
fn unescape_help(raw: &str) -> Cow<'_, str> {
    if !raw.contains("\\\\") && !raw.contains("\\n") {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn parse_sample<'a>(cur: &mut Cursor<'a>) -> Result<TextSample<'a>, TextError> {
    let (name, labels) = parse_name_and_labels(cur)?;
    let token = cur.take_until(BLANKS);
    finish_sample(cur, name, labels, token)
}

pub type NameAndLabels<'a> = (Cow<'a, str>, Vec<(Cow<'a, str>, Cow<'a, str>)>);

fn parse_name_and_labels<'a>(cur: &mut Cursor<'a>) -> Result<NameAndLabels<'a>, TextError> {
    let mut name = None;
    if cur.peek() != Some(b'{') {
        let token = cur.take_until(b" \t{");
        if !is_metric_name(token) {
            return Err(TextError::InvalidMetricName {
                name: token.to_owned(),
            });
        }
        name = Some(Cow::Borrowed(token));
        cur.skip_blanks();
    }
    let mut labels = Vec::new();
    if cur.eat(b'{') {
        parse_labels(cur, &mut name, &mut labels)?;
        cur.skip_blanks();
    }
    let name = match name {
        Some(name) => name,
        // `{__name__="x"}` names the metric like a quoted name does.
        None => match labels.iter().position(|(k, _)| k == "__name__") {
            Some(i) if labels.get(i).is_some_and(|(_, v)| v.is_empty()) => {
                return Err(TextError::InvalidMetricName { name: String::new() });
            }
            Some(i) => labels.remove(i).1,
            None => return Err(TextError::MissingMetricName),
        },
    };
    check_duplicates(&labels)?;
    Ok((name, labels))
}

fn finish_sample<'a>(
    cur: &mut Cursor<'a>,
    name: Cow<'a, str>,
    labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    token: &'a str,
) -> Result<TextSample<'a>, TextError> {
    if token.is_empty() {
        return Err(TextError::MissingValue {
            name: name.into_owned(),
        });
    }
    let value = parse_float(token).ok_or_else(|| TextError::InvalidValue {
        value: token.to_owned(),
    })?;
    cur.skip_blanks();

    let mut timestamp_ms = None;
    if !cur.at_end() {
        let token = cur.take_until(BLANKS);
        let ts = token.parse::<i64>().map_err(|_| TextError::InvalidTimestamp {
            value: token.to_owned(),
        })?;
        timestamp_ms = Some(ts);
        cur.skip_blanks();
    }
    if !cur.at_end() {
        return Err(TextError::TrailingContent {
            content: cur.rest().to_owned(),
        });
    }
    Ok(TextSample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// Parses label pairs after `{` up to and including `}`. A bare quoted string in the set is the
/// metric name (Prometheus 3).
fn parse_labels<'a>(
    cur: &mut Cursor<'a>,
    name: &mut Option<Cow<'a, str>>,
    labels: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Result<(), TextError> {
    loop {
        cur.skip_blanks();
        let label = match cur.peek() {
            None => return Err(TextError::UnterminatedLabels),
            Some(b'}') => {
                cur.pos += 1;
                return Ok(());
            }
            Some(b'"') => {
                let quoted = cur.quoted().ok_or(TextError::UnterminatedQuotedName)?;
                cur.skip_blanks();
                if cur.peek() != Some(b'=') {
                    if quoted.is_empty() {
                        return Err(TextError::InvalidMetricName { name: String::new() });
                    }
                    if let Some(first) = name.take() {
                        return Err(TextError::DuplicateMetricName {
                            first: first.into_owned(),
                            second: quoted.into_owned(),
                        });
                    }
                    expect_separator(cur, || format!("metric name {quoted:?}"))?;
                    *name = Some(quoted);
                    continue;
                }
                if quoted.is_empty() {
                    return Err(TextError::InvalidLabelName { name: String::new() });
                }
                quoted
            }
            Some(_) => {
                let token = cur.take_until(b"= \t,}\"");
                if token.is_empty() {
                    return Err(TextError::ExpectedLabelName {
                        found: cur.rest().chars().take(1).collect(),
                    });
                }
                if !is_label_name(token) {
                    return Err(TextError::InvalidLabelName {
                        name: token.to_owned(),
                    });
                }
                cur.skip_blanks();
                Cow::Borrowed(token)
            }
        };
        if !cur.eat(b'=') {
            return Err(TextError::ExpectedEquals {
                label: label.into_owned(),
            });
        }
        cur.skip_blanks();
        if cur.peek() != Some(b'"') {
            return Err(TextError::ExpectedLabelValue {
                label: label.into_owned(),
            });
        }
        let Some(value) = cur.quoted() else {
            return Err(TextError::UnterminatedLabelValue {
                label: label.into_owned(),
            });
        };
        expect_separator(cur, || format!("the value of label {label:?}"))?;
        labels.push((label, value));
        if cur.peek() == Some(b'}') {
            cur.pos += 1;
            return Ok(());
        }
    }
}

/// After a label value (or a quoted metric name): blanks, then `,` (consumed) or `}` (left).
fn expect_separator(cur: &mut Cursor<'_>, after: impl Fn() -> String) -> Result<(), TextError> {
    cur.skip_blanks();
    match cur.peek() {
        Some(b',') => {
            cur.pos += 1;
            Ok(())
        }
        Some(b'}') => Ok(()),
        _ => Err(TextError::ExpectedLabelSeparator { after: after() }),
    }
}

/// Rejects a label set naming a label twice; `__name__` counts as the metric name's label.
fn check_duplicates(labels: &[(Cow<'_, str>, Cow<'_, str>)]) -> Result<(), TextError> {
    let duplicate = |label: &str| TextError::DuplicateLabel {
        label: label.to_owned(),
    };
    if let Some((k, _)) = labels.iter().find(|(k, _)| k == "__name__") {
        return Err(duplicate(k));
    }
    // Label sets are small: a quadratic scan beats sorting until they are not.
    if labels.len() <= 16 {
        for (i, (k, _)) in labels.iter().enumerate() {
            if labels.iter().skip(i + 1).any(|(other, _)| other == k) {
                return Err(duplicate(k));
            }
        }
        return Ok(());
    }
    let mut keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|pair| pair.first() == pair.last()) {
        Some(pair) => Err(duplicate(pair.first().copied().unwrap_or_default())),
        None => Ok(()),
    }
}

/// Parses a sample value the way Go's `strconv.ParseFloat` does: decimal and exponent forms,
/// `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity` in any case. Hexadecimal floats are not accepted.
/// Finite values out of range are an error, as in Go.
fn parse_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let special = unsigned
        .as_bytes()
        .first()
        .is_some_and(|c| matches!(c, b'i' | b'I' | b'n' | b'N'));
    if special {
        let lower = unsigned.to_ascii_lowercase();
        return match lower.as_str() {
            "nan" if unsigned.len() == s.len() => Some(f64::NAN),
            "inf" | "infinity" if s.starts_with('-') => Some(f64::NEG_INFINITY),
            "inf" | "infinity" => Some(f64::INFINITY),
            _ => None,
        };
    }
    // Rust and Go agree on the decimal syntax (including `1.`, `.5` and no `_`), and Rust rejects
    // the hexadecimal forms Go would also take.
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Appends one sample line (with its `\n`) in the text format.
///
/// A name that is not a legacy metric or label name is written quoted, Prometheus 3 style
/// (`{"my.metric", "a.label"="v"}`). The value is formatted like Prometheus does (Go's `%g` with
/// the shortest round-trip digits: `NaN`, `+Inf`, `-Inf`, `1e+06`, `0.001`), except that negative
/// zero stays `-0`.
pub fn write_sample(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    value: f64,
    timestamp_ms: Option<i64>,
) {
    let legacy_name = is_metric_name(name);
    if legacy_name {
        out.push_str(name);
    }
    if !legacy_name || !labels.is_empty() {
        out.push('{');
        if !legacy_name {
            write_quoted(out, name);
        }
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 || !legacy_name {
                out.push(',');
            }
            if is_label_name(label) {
                out.push_str(label);
            } else {
                write_quoted(out, label);
            }
            out.push('=');
            write_quoted(out, value);
        }
        out.push('}');
    }
    out.push(' ');
    write_value(out, value);
    if let Some(ts) = timestamp_ms {
        // Writing to a String cannot fail.
        let _ = write!(out, " {ts}");
    }
    out.push('\n');
}

/// Appends a `# HELP` line, escaping `\` and newlines in the text.
pub fn write_help(out: &mut String, name: &str, text: &str) {
    out.push_str("# HELP ");
    write_comment_name(out, name);
    out.push(' ');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\n');
}

/// Appends a `# TYPE` line.
pub fn write_type(out: &mut String, name: &str, kind: MetricType) {
    out.push_str("# TYPE ");
    write_comment_name(out, name);
    out.push(' ');
    out.push_str(kind.as_str());
    out.push('\n');
}

fn write_comment_name(out: &mut String, name: &str) {
    if is_metric_name(name) {
        out.push_str(name);
    } else {
        write_quoted(out, name);
    }
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Formats like Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which Prometheus uses: shortest
/// round-trip digits, in exponent form when the decimal exponent is below -4 or at least 6
/// (Go's shortest `%g` decides with precision 6), with at least two exponent digits.
pub fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits as `d[.ddd]e[-]x`.
    let mut buf = StackBuf::default();
    let _ = write!(buf, "{:e}", v.abs());
    let repr = buf.as_str();
    let (mantissa, exp) = repr.split_once('e').unwrap_or((repr, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (head, tail) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if v.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(head);
        if !tail.is_empty() {
            out.push('.');
            out.push_str(tail);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
        return;
    }
    // Positional form; `digits` has no leading zeros and the decimal point goes after
    // `exp + 1` of them.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(head);
        out.push_str(tail);
        return;
    }
    out.push_str(head);
    let int_from_tail = usize::try_from(point - 1).unwrap_or(0);
    if tail.len() <= int_from_tail {
        out.push_str(tail);
        for _ in tail.len()..int_from_tail {
            out.push('0');
        }
    } else {
        let (int_part, frac) = tail.split_at(int_from_tail);
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac);
    }
}

/// A fixed buffer for formatting one float without allocating; `{:e}` of an `f64` needs at
/// most 24 bytes.
#[derive(Default)]
struct StackBuf {
    bytes: [u8; 32],
    len: usize,
}

impl StackBuf {
    fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
