//! Number and duration literals, read and written the way Prometheus does: Go's `strconv.ParseInt`
//! (base 0) then `ParseFloat` for numbers, `model.ParseDuration` and `model.Duration.String` for
//! durations, and Go's `FormatFloat(v, 'f', -1, 64)` for printing numbers.

use crate::quote::quote;

/// Nanoseconds per duration unit, with the order units must appear in.
const UNITS: &[(&str, u32, u64)] = &[
    ("y", 1, 365 * 24 * 3600 * 1_000_000_000),
    ("w", 2, 7 * 24 * 3600 * 1_000_000_000),
    ("d", 3, 24 * 3600 * 1_000_000_000),
    ("h", 4, 3600 * 1_000_000_000),
    ("m", 5, 60 * 1_000_000_000),
    ("s", 6, 1_000_000_000),
    ("ms", 7, 1_000_000),
];

/// Reads a NUMBER token. The error is the text Prometheus puts after `error parsing number: `.
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if let Some(i) = parse_int_base0(s) {
        return Ok(i as f64);
    }
    parse_float(s)
}

/// Go's `strconv.ParseInt(s, 0, 64)` for unsigned input: `0x`, `0o`, `0b` prefixes, a leading `0`
/// meaning octal, and underscores between digits.
fn parse_int_base0(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (base, digits) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    i64::try_from(n).ok()
}

/// Go's rule for underscores in number literals: only between digits, or between a base prefix and
/// a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)`, for the shapes the lexer produces.
fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let lower = s.to_ascii_lowercase();
    let (sign, unsigned) = match lower.as_bytes().first() {
        Some(b'+') => (1.0, &lower[1..]),
        Some(b'-') => (-1.0, &lower[1..]),
        _ => (1.0, lower.as_str()),
    };
    match unsigned {
        "inf" | "infinity" => return Ok(sign * f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if s.contains('_') && !underscore_ok(unsigned) {
        return Err(syntax());
    }
    let cleaned: String = unsigned.chars().filter(|&c| c != '_').collect();
    // A hexadecimal mantissa needs a 'p' exponent, which the lexer never produces.
    if cleaned.starts_with("0x") || !is_decimal_float(&cleaned) {
        return Err(syntax());
    }
    let v: f64 = cleaned.parse().map_err(|_| syntax())?;
    if v.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        ));
    }
    Ok(sign * v)
}

/// `digits [. digits] [e [+-] digits]` with at least one mantissa digit.
fn is_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa += 1;
        }
    }
    if mantissa == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'e' {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Prometheus's `model.ParseDuration`, returning nanoseconds. Units must appear at most once each,
/// largest first.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".to_string()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", quote(s));
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(&(_, order, mult)) = UNITS.iter().find(|(name, _, _)| *name == unit) else {
            return Err(format!("unknown unit {} in duration {}", quote(unit), quote(s)));
        };
        if order <= last_unit {
            return Err(invalid());
        }
        last_unit = order;
        const LIMIT: u64 = 1 << 63;
        if v > LIMIT / mult {
            return Err("duration out of range".to_string());
        }
        total += v * mult;
        if total > LIMIT - 1 {
            return Err("duration out of range".to_string());
        }
    }
    Ok(total)
}

/// Prometheus's `model.Duration.String` for a non-negative number of milliseconds: years and weeks
/// only when they divide exactly, then days down to milliseconds.
pub(crate) fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    const DAY: u64 = 24 * 3600 * 1000;
    let parts: [(&str, u64, bool); 7] = [
        ("y", 365 * DAY, true),
        ("w", 7 * DAY, true),
        ("d", DAY, false),
        ("h", 3600 * 1000, false),
        ("m", 60 * 1000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    let mut rest = ms;
    let mut out = String::new();
    for (unit, mult, exact) in parts {
        if exact && !rest.is_multiple_of(mult) {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            out.push_str(&v.to_string());
            out.push_str(unit);
            rest -= v * mult;
        }
    }
    out
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back as `v`, never in
/// exponent form.
pub(crate) fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// Go's `%f` (six decimals), used in the `@` bounds message.
pub(crate) fn format_go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        }
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_go() {
        assert_eq!(parse_number("0755").unwrap(), 493.0);
        assert_eq!(parse_number("0xc").unwrap(), 12.0);
        assert_eq!(parse_number("0x_1f").unwrap(), 31.0);
        assert_eq!(parse_number("08").unwrap(), 8.0);
        assert_eq!(parse_number("1_000").unwrap(), 1000.0);
        assert_eq!(parse_number("5.").unwrap(), 5.0);
        assert_eq!(parse_number(".5").unwrap(), 0.5);
        assert_eq!(parse_number("5e-3").unwrap(), 0.005);
        assert_eq!(
            parse_number("9223372036854775808").unwrap(),
            9_223_372_036_854_775_808_f64
        );
        assert_eq!(parse_number("Inf").unwrap(), f64::INFINITY);
        assert!(parse_number("nAn").unwrap().is_nan());
        assert_eq!(parse_number("1e-400").unwrap(), 0.0);
        assert_eq!(
            parse_number("1e400").unwrap_err(),
            r#"strconv.ParseFloat: parsing "1e400": value out of range"#
        );
        assert_eq!(
            parse_number("0x").unwrap_err(),
            r#"strconv.ParseFloat: parsing "0x": invalid syntax"#
        );
        assert!(parse_number(".5.3").is_err());
        assert!(parse_number("0x1e+5").is_err());
    }

    #[test]
    fn durations_like_prometheus() {
        let s = 1_000_000_000;
        assert_eq!(parse_duration("1h30m").unwrap(), 5400 * s);
        assert_eq!(parse_duration("1m30ms").unwrap(), 60 * s + 30_000_000);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(
            parse_duration("5m1h").unwrap_err(),
            r#"not a valid duration string: "5m1h""#
        );
        assert_eq!(
            parse_duration("5m1m").unwrap_err(),
            r#"not a valid duration string: "5m1m""#
        );
        assert_eq!(
            parse_duration("5y1hs").unwrap_err(),
            r#"unknown unit "hs" in duration "5y1hs""#
        );
        assert_eq!(
            parse_duration("1.5h").unwrap_err(),
            r#"unknown unit "." in duration "1.5h""#
        );
        assert_eq!(parse_duration("300y").unwrap_err(), "duration out of range");
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90 * 24 * 3600 * 1000), "90d");
        assert_eq!(format_duration(14 * 24 * 3600 * 1000), "2w");
        assert_eq!(format_duration(365 * 24 * 3600 * 1000), "1y");
        assert_eq!(format_duration(3_600_006), "1h6ms");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(1e-7), "0.0000001");
        assert_eq!(format_float(-0.05), "-0.05");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(
            format_go_f(9_223_372_036_854_775_808_f64),
            "9223372036854775808.000000"
        );
    }
}
