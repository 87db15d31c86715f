//! InfluxDB line protocol (1.x and 2.x) parser.
//!
//! Turns a write body into measurement, tags, fields and a raw timestamp per line. It knows
//! nothing of series, storage or HTTP: duplicate tags, reserved names and the timestamp's range
//! are the caller's to judge.
//!
//! Grammar, following InfluxDB's Go parser (`models/points.go`):
//!
//! ```text
//! line        = measurement *("," tag_key "=" tag_value) 1*" " field *("," field) [1*blank timestamp] *blank
//! field       = field_key "=" (float | integer "i" | unsigned "u" | boolean | '"' string '"')
//! ```
//!
//! - The measurement escapes `\,` and `\ `; tag keys, tag values and field keys escape `\,`,
//!   `\=` and `\ `; a string value escapes `\"` and `\\`. A backslash before any other byte is
//!   a literal backslash, so a name cannot end in a backslash (as in InfluxDB).
//! - Floats are `-?digits[.digits][e[+-]digits]` (`1`, `-.5`, `1.`, `6e5`); no `+`, `NaN` or
//!   `Inf`. Booleans are `t T true True TRUE f F false False FALSE`.
//! - A quoted string value may span lines, as InfluxDB allows; everything else ends at the
//!   newline. `\r\n` ends a line like `\n`.
//! - Blank lines and lines whose first non-blank byte is `#` are skipped.

use std::borrow::Cow;

use crate::error::LineError;

/// A field's value as written: the type comes from the syntax (`1` float, `1i` integer, `1u`
/// unsigned, `"1"` string, `t` boolean).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Float(f64),
    Integer(i64),
    UInteger(u64),
    String(Cow<'a, str>),
    Boolean(bool),
}

/// One parsed point. Names and strings borrow from the body unless they had escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub measurement: Cow<'a, str>,
    /// In the order written; duplicates are kept.
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// In the order written, at least one; duplicates are kept.
    pub fields: Vec<(Cow<'a, str>, FieldValue<'a>)>,
    /// Raw, in the request's precision.
    pub timestamp: Option<i64>,
}

/// Timestamp precision of a write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
}

impl Precision {
    /// The `precision` query parameter of the 1.x `/write` API; empty means nanoseconds.
    pub fn parse_v1(s: &str) -> Option<Self> {
        Some(match s {
            "" | "n" | "ns" => Self::Nanoseconds,
            "u" | "us" | "µ" => Self::Microseconds,
            "ms" => Self::Milliseconds,
            "s" => Self::Seconds,
            "m" => Self::Minutes,
            "h" => Self::Hours,
            _ => return None,
        })
    }

    /// The `precision` query parameter of the 2.x `/api/v2/write` API.
    pub fn parse_v2(s: &str) -> Option<Self> {
        Some(match s {
            "ns" => Self::Nanoseconds,
            "us" => Self::Microseconds,
            "ms" => Self::Milliseconds,
            "s" => Self::Seconds,
            _ => return None,
        })
    }

    /// Converts a raw timestamp to milliseconds since the epoch: sub-millisecond precisions
    /// round towards negative infinity, coarser ones return `None` on overflow.
    pub fn to_millis(self, ts: i64) -> Option<i64> {
        match self {
            Self::Nanoseconds => Some(ts.div_euclid(1_000_000)),
            Self::Microseconds => Some(ts.div_euclid(1_000)),
            Self::Milliseconds => Some(ts),
            Self::Seconds => ts.checked_mul(1_000),
            Self::Minutes => ts.checked_mul(60_000),
            Self::Hours => ts.checked_mul(3_600_000),
        }
    }
}

/// Parses a line protocol body lazily, one point per item.
///
/// Yields the 1-based line number where each point starts together with the point or the
/// reason it was rejected; a bad line does not stop the lines after it.
pub fn parse_lines(body: &[u8]) -> LineIter<'_> {
    LineIter {
        body,
        pos: 0,
        line: 1,
    }
}

/// Iterator returned by [`parse_lines`].
#[derive(Debug, Clone)]
pub struct LineIter<'a> {
    body: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (usize, Result<Line<'a>, LineError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let start = self.pos;
            if start >= self.body.len() {
                return None;
            }
            let mut cur = Cursor {
                b: self.body,
                pos: start,
            };
            cur.skip_blanks();
            let line_no = self.line;
            let (result, end) = match cur.peek() {
                // Blank line.
                None => (None, cur.pos),
                Some(b'#') => (None, cur.pos),
                Some(_) => match parse_line(&mut cur) {
                    Ok(line) => (Some(Ok(line)), cur.pos),
                    Err(e) => (Some(Err(e)), cur.pos),
                },
            };
            // Resume after the newline that ends this line. After an error, or for a comment,
            // that is the first newline at or after where parsing stopped.
            let next = match self
                .body
                .get(end..)
                .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
            {
                Some(offset) => end + offset + 1,
                None => self.body.len(),
            };
            self.line += self.body.get(start..next).map_or(0, count_newlines);
            self.pos = next;
            if let Some(result) = result {
                return Some((line_no, result));
            }
        }
    }
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&c| c == b'\n').count()
}

/// What the measurement lets a backslash escape.
const MEASUREMENT_ESCAPES: &[u8] = b", ";
/// What tag keys, tag values and field keys let a backslash escape.
const KEY_ESCAPES: &[u8] = b",= ";

/// A position in the whole body; the current line ends at `\n`, `\r\n` or the end of the body.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn is_eol(&self, i: usize) -> bool {
        match self.b.get(i) {
            None | Some(b'\n') => true,
            Some(b'\r') => matches!(self.b.get(i + 1), None | Some(b'\n')),
            Some(_) => false,
        }
    }

    /// The byte at the cursor, or `None` at the end of the line.
    fn peek(&self) -> Option<u8> {
        if self.is_eol(self.pos) {
            None
        } else {
            self.b.get(self.pos).copied()
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Index of the first unescaped byte in `stops` from the cursor on, or of the end of line.
    fn scan_escaped(&self, escapes: &[u8], stops: &[u8]) -> usize {
        let mut i = self.pos;
        while !self.is_eol(i) {
            let Some(&c) = self.b.get(i) else { break };
            if c == b'\\' && self.b.get(i + 1).is_some_and(|n| escapes.contains(n)) {
                i += 2;
                continue;
            }
            if stops.contains(&c) {
                break;
            }
            i += 1;
        }
        i
    }

    /// Index of the first byte in `stops` from the cursor on, or of the end of line.
    fn scan_plain(&self, stops: &[u8]) -> usize {
        let mut i = self.pos;
        while !self.is_eol(i) && self.b.get(i).is_some_and(|c| !stops.contains(c)) {
            i += 1;
        }
        i
    }

    fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        self.b.get(from..to).unwrap_or_default()
    }

    /// The rest of the line, for error messages.
    fn rest_of_line(&self) -> String {
        let end = self.scan_plain(b"");
        String::from_utf8_lossy(self.slice(self.pos, end)).into_owned()
    }
}

fn parse_line<'a>(cur: &mut Cursor<'a>) -> Result<Line<'a>, LineError> {
    let end = cur.scan_escaped(MEASUREMENT_ESCAPES, b", ");
    if end == cur.pos {
        return Err(LineError::MissingMeasurement);
    }
    let measurement = unescape(cur.slice(cur.pos, end), MEASUREMENT_ESCAPES, "measurement")?;
    cur.pos = end;

    let mut tags = Vec::new();
    if cur.peek() == Some(b',') {
        cur.pos += 1;
        parse_tags(cur, &mut tags)?;
    }
    // The cursor is now on the space after the key, or at the end of the line.
    cur.skip_blanks();
    if cur.peek().is_none() {
        return Err(LineError::MissingFields);
    }
    let fields = parse_fields(cur)?;

    cur.skip_blanks();
    let timestamp = match cur.peek() {
        None => None,
        Some(_) => Some(parse_timestamp(cur)?),
    };
    cur.skip_blanks();
    if cur.peek().is_some() {
        return Err(LineError::TrailingContent {
            content: cur.rest_of_line(),
        });
    }
    Ok(Line {
        measurement,
        tags,
        fields,
        timestamp,
    })
}

/// Parses `key=value[,key=value...]` up to the first unescaped space or the end of the line.
fn parse_tags<'a>(
    cur: &mut Cursor<'a>,
    tags: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Result<(), LineError> {
    loop {
        let key_end = cur.scan_escaped(KEY_ESCAPES, b"=, ");
        if key_end == cur.pos {
            return Err(LineError::MissingTagKey);
        }
        let key = unescape(cur.slice(cur.pos, key_end), KEY_ESCAPES, "tag key")?;
        cur.pos = key_end;
        if cur.peek() != Some(b'=') {
            return Err(LineError::MissingTagValue {
                key: key.into_owned(),
            });
        }
        cur.pos += 1;

        let value_end = cur.scan_escaped(KEY_ESCAPES, b"=, ");
        if value_end == cur.pos {
            return Err(LineError::MissingTagValue {
                key: key.into_owned(),
            });
        }
        let value = unescape(cur.slice(cur.pos, value_end), KEY_ESCAPES, "tag value")?;
        cur.pos = value_end;
        match cur.peek() {
            Some(b'=') => {
                return Err(LineError::InvalidTagValue {
                    key: key.into_owned(),
                });
            }
            None => return Err(LineError::MissingFields),
            Some(b',') => {
                tags.push((key, value));
                cur.pos += 1;
            }
            Some(_) => {
                tags.push((key, value));
                return Ok(());
            }
        }
    }
}

/// Parses the field set, leaving the cursor on the space after it or at the end of the line.
fn parse_fields<'a>(cur: &mut Cursor<'a>) -> Result<Vec<(Cow<'a, str>, FieldValue<'a>)>, LineError> {
    let mut fields = Vec::new();
    loop {
        let key_end = cur.scan_escaped(KEY_ESCAPES, b"=, ");
        if key_end == cur.pos {
            return Err(LineError::MissingFieldKey);
        }
        let key = unescape(cur.slice(cur.pos, key_end), KEY_ESCAPES, "field key")?;
        cur.pos = key_end;
        if cur.peek() != Some(b'=') {
            return Err(LineError::InvalidFieldKey {
                key: key.into_owned(),
            });
        }
        cur.pos += 1;

        let value = match cur.peek() {
            None | Some(b',' | b' ') => {
                return Err(LineError::MissingFieldValue {
                    key: key.into_owned(),
                });
            }
            Some(b'"') => {
                cur.pos += 1;
                let value = parse_string(cur, &key)?;
                if !matches!(cur.peek(), None | Some(b',' | b' ')) {
                    let found = cur.slice(cur.pos, cur.scan_plain(b", "));
                    return Err(LineError::AfterString {
                        key: key.into_owned(),
                        found: String::from_utf8_lossy(found).into_owned(),
                    });
                }
                FieldValue::String(value)
            }
            Some(_) => {
                let end = cur.scan_plain(b", ");
                let token = cur.slice(cur.pos, end);
                cur.pos = end;
                parse_scalar(token)?
            }
        };
        fields.push((key, value));
        if cur.peek() == Some(b',') {
            cur.pos += 1;
        } else {
            return Ok(fields);
        }
    }
}

/// Parses a string value after its opening quote, leaving the cursor after the closing quote.
/// Newlines are part of the string.
fn parse_string<'a>(cur: &mut Cursor<'a>, key: &str) -> Result<Cow<'a, str>, LineError> {
    let start = cur.pos;
    let mut i = start;
    let mut owned: Option<Vec<u8>> = None;
    let mut chunk = start;
    while let Some(&c) = cur.b.get(i) {
        match c {
            b'"' => {
                cur.pos = i + 1;
                let value = match owned {
                    None => Cow::Borrowed(to_str(cur.slice(start, i), "string field value")?),
                    Some(mut buf) => {
                        buf.extend_from_slice(cur.slice(chunk, i));
                        Cow::Owned(String::from_utf8(buf).map_err(|_| LineError::InvalidUtf8 {
                            part: "string field value",
                        })?)
                    }
                };
                return Ok(value);
            }
            b'\\' if matches!(cur.b.get(i + 1), Some(b'"' | b'\\')) => {
                // Keep the escaped byte as the start of the next chunk.
                owned
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(cur.slice(chunk, i));
                chunk = i + 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    cur.pos = cur.b.len();
    Err(LineError::UnbalancedQuotes { key: key.to_owned() })
}

/// Parses an unquoted field value: a number or a boolean.
fn parse_scalar<'a>(token: &[u8]) -> Result<FieldValue<'a>, LineError> {
    let text = || String::from_utf8_lossy(token).into_owned();
    match token.first() {
        Some(b'0'..=b'9' | b'-' | b'.') => parse_number(token, text),
        Some(b't' | b'T' | b'f' | b'F') => match token {
            b"t" | b"T" | b"true" | b"True" | b"TRUE" => Ok(FieldValue::Boolean(true)),
            b"f" | b"F" | b"false" | b"False" | b"FALSE" => Ok(FieldValue::Boolean(false)),
            _ => Err(LineError::InvalidBoolean { value: text() }),
        },
        _ => Err(LineError::InvalidFieldValue { value: text() }),
    }
}

fn parse_number<'a>(token: &[u8], text: impl Fn() -> String) -> Result<FieldValue<'a>, LineError> {
    if let Some(digits) = token.strip_suffix(b"i") {
        let unsigned = digits.strip_prefix(b"-").unwrap_or(digits);
        if !is_digits(unsigned) {
            return Err(LineError::InvalidInteger { value: text() });
        }
        return parse_ascii::<i64>(digits)
            .map(FieldValue::Integer)
            .ok_or_else(|| LineError::IntegerOutOfRange { value: text() });
    }
    if let Some(digits) = token.strip_suffix(b"u") {
        if !is_digits(digits) {
            return Err(LineError::InvalidUnsigned { value: text() });
        }
        return parse_ascii::<u64>(digits)
            .map(FieldValue::UInteger)
            .ok_or_else(|| LineError::UnsignedOutOfRange { value: text() });
    }
    if !is_float(token) {
        return Err(LineError::InvalidNumber { value: text() });
    }
    match parse_ascii::<f64>(token) {
        Some(v) if v.is_finite() => Ok(FieldValue::Float(v)),
        Some(_) => Err(LineError::FloatOutOfRange { value: text() }),
        None => Err(LineError::InvalidNumber { value: text() }),
    }
}

fn parse_timestamp(cur: &mut Cursor<'_>) -> Result<i64, LineError> {
    let end = cur.scan_plain(b" \t");
    let token = cur.slice(cur.pos, end);
    cur.pos = end;
    let unsigned = token.strip_prefix(b"-").unwrap_or(token);
    let text = || String::from_utf8_lossy(token).into_owned();
    if !is_digits(unsigned) {
        return Err(LineError::InvalidTimestamp { value: text() });
    }
    parse_ascii::<i64>(token).ok_or_else(|| LineError::TimestampOutOfRange { value: text() })
}

fn is_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// `-?(digits[.digits*] | .digits)([eE][+-]?digits)?`, the float syntax InfluxDB accepts.
fn is_float(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut rest = s.get(int_len..).unwrap_or_default();
    let mut frac_len = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        frac_len = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = after_dot.get(frac_len..).unwrap_or_default();
    }
    if int_len + frac_len == 0 {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'e' | b'E', exponent)) => {
            let exponent = exponent
                .strip_prefix(b"+")
                .or_else(|| exponent.strip_prefix(b"-"))
                .unwrap_or(exponent);
            is_digits(exponent)
        }
        Some(_) => false,
    }
}

fn parse_ascii<T: std::str::FromStr>(s: &[u8]) -> Option<T> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn to_str<'a>(bytes: &'a [u8], part: &'static str) -> Result<&'a str, LineError> {
    std::str::from_utf8(bytes).map_err(|_| LineError::InvalidUtf8 { part })
}

/// Removes the backslash from each `\x` where `x` is in `escapes`; borrows when there is none.
fn unescape<'a>(raw: &'a [u8], escapes: &[u8], part: &'static str) -> Result<Cow<'a, str>, LineError> {
    let raw = to_str(raw, part)?;
    let bytes = raw.as_bytes();
    let mut owned: Option<String> = None;
    let mut chunk = 0;
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' && bytes.get(i + 1).is_some_and(|n| escapes.contains(n)) {
            // Splitting around ASCII bytes keeps every chunk on char boundaries.
            let out = owned.get_or_insert_with(|| String::with_capacity(raw.len()));
            out.push_str(raw.get(chunk..i).unwrap_or_default());
            chunk = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(match owned {
        None => Cow::Borrowed(raw),
        Some(mut out) => {
            out.push_str(raw.get(chunk..).unwrap_or_default());
            Cow::Owned(out)
        }
    })
}
