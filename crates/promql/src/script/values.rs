//! Scalar tokens of the script format: Prometheus durations, Go-syntax numbers and quoted strings.

/// The NaN Go's `math.NaN()` returns (and so what Prometheus parses `NaN` to). Differs from
/// `f64::NAN` in its payload; used so parsed values are bit-identical to those of the reference runner.
pub(crate) const GO_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Parses a Prometheus duration (`model.ParseDuration` of prometheus/common): integers each followed by a
/// unit, units strictly from largest to smallest (`1h30m`, `10s53ms`), or a bare `0`. No sign, no
/// fractions. Returns milliseconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    // Prometheus keeps durations as Go nanoseconds, so anything beyond ~292 years is out of range.
    const MAX_MS: u64 = (i64::MAX as u64) / 1_000_000;
    match s {
        "" => return Err("empty duration".to_owned()),
        "0" => return Ok(0),
        _ => {}
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while pos < bytes.len() {
        let digits_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == digits_start {
            return Err("expected a number followed by a unit".to_owned());
        }
        let unit_start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == unit_start {
            return Err("missing unit".to_owned());
        }
        let unit = &s[unit_start..pos];
        let Some(idx) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?}"));
        };
        if idx < next_unit {
            return Err("units must go from the largest to the smallest, each at most once".to_owned());
        }
        next_unit = idx + 1;
        let value: u64 = s[digits_start..unit_start]
            .parse()
            .map_err(|_| "duration out of range".to_owned())?;
        total = value
            .checked_mul(UNITS[idx].1)
            .and_then(|v| v.checked_add(total))
            .filter(|v| *v <= MAX_MS)
            .ok_or_else(|| "duration out of range".to_owned())?;
    }
    i64::try_from(total).map_err(|_| "duration out of range".to_owned())
}

/// Parses a number the way Prometheus's test code does (`strconv.ParseInt(s, 0, 64)`, falling back to
/// `strconv.ParseFloat(s, 64)`): hence a leading `0` means octal (`010` is 8), `0x`/`0o`/`0b` prefixes
/// and `_` digit separators are accepted for integers, and `Inf`, `Infinity`, `NaN` in any letter case.
/// Hexadecimal floating-point literals (`0x1p-2`) are not supported.
pub(crate) fn parse_go_number(s: &str) -> Option<f64> {
    match parse_go_int(s) {
        Some(i) => Some(i as f64),
        None => parse_go_float(s),
    }
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if !underscores_ok(digits, prefixed) {
        return None;
    }
    let mut magnitude: u64 = 0;
    let mut any = false;
    for c in digits.chars().filter(|c| *c != '_') {
        let d = c.to_digit(radix)?;
        magnitude = magnitude
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
        any = true;
    }
    if !any {
        return None;
    }
    if negative {
        if magnitude == 1 << 63 {
            return Some(i64::MIN);
        }
        i64::try_from(magnitude).ok().map(|m| -m)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go allows `_` only between digits, or between a base prefix and a digit.
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    let mut prev_is_digit = prefixed;
    let mut prev_is_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_is_digit {
                return false;
            }
            prev_is_digit = false;
            prev_is_underscore = true;
        } else {
            prev_is_digit = true;
            prev_is_underscore = false;
        }
    }
    !prev_is_underscore
}

/// `strconv.ParseFloat(s, 64)` for decimal literals and the special values.
fn parse_go_float(s: &str) -> Option<f64> {
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::from_bits(GO_NAN_BITS));
    }
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Rust's parser knows more spellings than Go's decimal syntax (`inf`, `nan` after a sign), so only
    // hand it plain decimal literals.
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    if !body.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Which flavour of single-quoted literal is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// PromQL strings: `'...'` is a string like `"..."`.
    PromQl,
    /// Go's `strconv.Unquote` (used for `expect string`): `'...'` is a single character.
    Go,
}

/// Finds the end of the quoted literal starting at `s[0]` (a `"`, `'` or `` ` ``) and returns its byte
/// length including both quotes, or `None` if it is not terminated.
pub(crate) fn literal_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next()?;
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote != '`' {
            escaped = true;
        } else if c == quote {
            return Some(i + c.len_utf8());
        }
    }
    None
}

/// Unquotes one complete string literal: `"..."` or `'...'` with Go escapes (`\n`, `\\`, `\"`,
/// `\x41`, `\101`, `\u00e9`, `\U0001F600`, ...), or a raw `` `...` ``. Escapes that produce bytes
/// (`\x`, octal) must add up to valid UTF-8.
pub(crate) fn unquote(lit: &str, quoting: Quoting) -> Result<String, String> {
    let quote = lit
        .chars()
        .next()
        .ok_or_else(|| "empty string literal".to_owned())?;
    if !matches!(quote, '"' | '\'' | '`') || lit.len() < 2 || !lit.ends_with(quote) {
        return Err(format!("not a quoted string: {lit}"));
    }
    let inner = &lit[1..lit.len() - 1];
    if quote == '`' {
        if inner.contains('`') {
            return Err("unexpected backquote inside a raw string".to_owned());
        }
        return Ok(inner.to_owned());
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return Err(format!("unescaped {quote} inside the string"));
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars
            .next()
            .ok_or_else(|| "string ends in a backslash".to_owned())?;
        let simple = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '"' | '\'' if e == quote => Some(e as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        match e {
            'x' => out.push(hex_escape(&mut chars, 2)? as u8),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars
                        .next()
                        .and_then(|c| c.to_digit(8))
                        .ok_or_else(|| "octal escape needs three digits".to_owned())?;
                    v = v * 8 + d;
                }
                out.push(u8::try_from(v).map_err(|_| "octal escape above \\377".to_owned())?);
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let v = hex_escape(&mut chars, n)?;
                let c = char::from_u32(v).ok_or_else(|| format!("invalid unicode escape {v:#x}"))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(format!("unknown escape sequence \\{e}")),
        }
    }
    let s = String::from_utf8(out).map_err(|_| "escapes produce invalid UTF-8".to_owned())?;
    if quote == '\'' && quoting == Quoting::Go && s.chars().count() != 1 {
        return Err("a single-quoted literal must hold exactly one character".to_owned());
    }
    Ok(s)
}

fn hex_escape(chars: &mut std::str::Chars<'_>, n: usize) -> Result<u32, String> {
    let mut v = 0u32;
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| format!("escape needs {n} hexadecimal digits"))?;
        v = v * 16 + d;
    }
    Ok(v)
}
