//! Go-compatible quoting and unquoting. Prometheus prints strings with Go's `strconv.Quote` and
//! words its messages with Go's `%q` and `%#U`; doing the same here keeps printed queries and error
//! messages byte-for-byte comparable with Prometheus's.

use std::fmt::Write as _;

/// Go's `unicode.IsPrint`, approximated without Unicode category tables: Rust's standard library has
/// no general-category lookup, so unassigned code points are treated as printable. The visible
/// consequence is limited to how such characters are escaped when printed.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x100 {
        // Go's Latin-1 fast path: NBSP (0xA0) and the soft hyphen (0xAD) are not printable.
        return (0x20..0x7f).contains(&u) || ((0xa1..=0xff).contains(&u) && u != 0xad);
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    !is_format_or_private(u)
}

/// Format characters (Cf), private-use characters (Co) and non-characters: not printable in Go.
fn is_format_or_private(u: u32) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xe000, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    // U+xxFFFE and U+xxFFFF are non-characters in every plane.
    if u & 0xfffe == 0xfffe {
        return true;
    }
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ => {
            let u = c as u32;
            // Writing to a String cannot fail.
            let _ = if u < 0x20 || u == 0x7f {
                write!(out, "\\x{u:02x}")
            } else if u < 0x10000 {
                write!(out, "\\u{u:04x}")
            } else {
                write!(out, "\\U{u:08x}")
            };
        }
    }
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%q` of a rune; `None` stands for the end of input, which Go prints as U+FFFD.
pub(crate) fn quote_rune(c: Option<char>) -> String {
    let c = c.unwrap_or('\u{fffd}');
    let mut out = String::with_capacity(4);
    out.push('\'');
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U`: `U+0063 'c'`, without the quoted character when it is not printable.
pub(crate) fn unicode_hash(c: char) -> String {
    let u = c as u32;
    if is_print(c) {
        format!("U+{u:04X} '{c}'")
    } else {
        format!("U+{u:04X}")
    }
}

/// Go's `%.10q...` as Prometheus uses it for long tokens in messages: the first ten characters,
/// quoted, followed by an ellipsis.
pub(crate) fn quote_truncated(s: &str) -> String {
    if s.len() > 10 {
        let head: String = s.chars().take(10).collect();
        format!("{}...", quote(&head))
    } else {
        quote(s)
    }
}

/// Whether `s` is a label name under the legacy rules (`[a-zA-Z_][a-zA-Z0-9_]*`), which decides
/// whether the printer must quote it.
pub(crate) fn is_legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn unhex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Decodes a string token as lexed (quotes included), as Prometheus's `strutil.Unquote` does. The
/// lexer has already validated escapes, so errors only guard against misuse. `\x` and octal escapes
/// produce raw bytes, hence the byte vector.
pub(crate) fn unquote(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let n = bytes.len();
    if n < 2 {
        return None;
    }
    let quote = bytes[0];
    if quote != bytes[n - 1] {
        return None;
    }
    let body = &s[1..n - 1];
    if quote == b'`' {
        return if body.contains('`') {
            None
        } else {
            Some(body.as_bytes().to_vec())
        };
    }
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == '\n' || c == quote as char {
            return None;
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let esc = rest.as_bytes().get(1).copied()?;
        rest = &rest[2..];
        match esc {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' | b'"' if esc == quote => out.push(esc),
            b'x' | b'u' | b'U' => {
                let len = match esc {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let digits = rest.as_bytes().get(..len)?;
                let mut v: u32 = 0;
                for &d in digits {
                    v = (v << 4) | unhex(d)?;
                }
                rest = &rest[len..];
                if esc == b'x' {
                    out.push(v as u8);
                } else {
                    let ch = char::from_u32(v)?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            b'0'..=b'7' => {
                let digits = rest.as_bytes().get(..2)?;
                let mut v = u32::from(esc - b'0');
                for &d in digits {
                    if !(b'0'..=b'7').contains(&d) {
                        return None;
                    }
                    v = (v << 3) | u32::from(d - b'0');
                }
                if v > 255 {
                    return None;
                }
                rest = &rest[2..];
                out.push(v as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\n\t\u{7}\u{0}\u{7f}"), r#""\n\t\a\x00\x7f""#);
        assert_eq!(quote("é日🍭"), "\"é日🍭\"");
        assert_eq!(
            quote("\u{a0}\u{200b}\u{e000}\u{10ffff}"),
            r#""\u00a0\u200b\ue000\U0010ffff""#
        );
        assert_eq!(quote_rune(Some('\'')), r"'\''");
        assert_eq!(quote_rune(Some('.')), "'.'");
        assert_eq!(quote_rune(None), "'\u{fffd}'");
        assert_eq!(unicode_hash('c'), "U+0063 'c'");
        assert_eq!(unicode_hash('\n'), "U+000A");
        assert_eq!(quote_truncated("\"abcdefghijkl\""), r#""\"abcdefghi"..."#);
    }

    #[test]
    fn unquotes_like_prometheus() {
        assert_eq!(unquote(r#""a\"b""#).unwrap(), b"a\"b");
        assert_eq!(unquote(r"'a\'b'").unwrap(), b"a'b");
        assert_eq!(
            unquote(r#""\x41\101\u00e9\U0001F36D""#).unwrap(),
            "AAé🍭".as_bytes()
        );
        assert_eq!(unquote(r#""\xff""#).unwrap(), vec![0xff]);
        assert_eq!(unquote(r"`a\n`").unwrap(), b"a\\n");
        assert!(unquote(r#""\'""#).is_none());
        assert!(unquote(r#""\400""#).is_none());
        assert!(unquote("\"").is_none());
    }

    #[test]
    fn legacy_label_names() {
        assert!(is_legacy_label_name("_a1"));
        assert!(!is_legacy_label_name("1a"));
        assert!(!is_legacy_label_name("a.b"));
        assert!(!is_legacy_label_name(""));
    }
}
