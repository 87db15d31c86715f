//! Line protocol parser: every escaping rule, field type and error message.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::borrow::Cow;

use exposition::{FieldValue, Line, LineError, Precision, parse_lines};

fn parse_all(body: &str) -> Vec<(usize, Result<Line<'_>, LineError>)> {
    parse_lines(body.as_bytes()).collect()
}

fn one(body: &str) -> Line<'_> {
    let mut all = parse_all(body);
    assert_eq!(all.len(), 1, "{body:?} gave {all:?}");
    match all.remove(0).1 {
        Ok(line) => line,
        Err(e) => panic!("{body:?}: {e}"),
    }
}

fn error(body: &str) -> String {
    let all = parse_all(body);
    assert_eq!(all.len(), 1, "{body:?} gave {all:?}");
    match &all[0].1 {
        Ok(line) => panic!("{body:?} parsed as {line:?}"),
        Err(e) => e.to_string(),
    }
}

fn field<'a>(line: &'a Line<'_>, key: &str) -> &'a FieldValue<'a> {
    match line.fields.iter().find(|(k, _)| k == key) {
        Some((_, value)) => value,
        None => panic!("no field {key:?} in {line:?}"),
    }
}

#[test]
fn full_line() {
    let line = one("cpu,host=a,region=west usage=64.2,count=3i,ok=t,msg=\"hi\" 1590488773254420000");
    assert_eq!(line.measurement, "cpu");
    assert_eq!(
        line.tags,
        vec![
            (Cow::from("host"), Cow::from("a")),
            (Cow::from("region"), Cow::from("west"))
        ]
    );
    assert_eq!(line.fields.len(), 4);
    assert_eq!(field(&line, "usage"), &FieldValue::Float(64.2));
    assert_eq!(field(&line, "count"), &FieldValue::Integer(3));
    assert_eq!(field(&line, "ok"), &FieldValue::Boolean(true));
    assert_eq!(field(&line, "msg"), &FieldValue::String("hi".into()));
    assert_eq!(line.timestamp, Some(1590488773254420000));
}

#[test]
fn minimal_line_has_no_tags_or_timestamp() {
    let line = one("m f=1");
    assert_eq!(line.measurement, "m");
    assert!(line.tags.is_empty());
    assert_eq!(line.fields, vec![(Cow::from("f"), FieldValue::Float(1.0))]);
    assert_eq!(line.timestamp, None);
}

#[test]
fn unescaped_parts_borrow() {
    let line = one("m,t=v f=\"s\"");
    assert!(matches!(line.measurement, Cow::Borrowed(_)));
    assert!(matches!(line.tags[0].0, Cow::Borrowed(_)));
    assert!(matches!(line.tags[0].1, Cow::Borrowed(_)));
    assert!(matches!(line.fields[0].0, Cow::Borrowed(_)));
    assert!(matches!(&line.fields[0].1, FieldValue::String(Cow::Borrowed(_))));
}

#[test]
fn measurement_escapes_comma_and_space_only() {
    let line = one(r"my\ cpu\,1 f=1");
    assert_eq!(line.measurement, "my cpu,1");
    assert!(matches!(line.measurement, Cow::Owned(_)));
    // `=` needs no escape in a measurement, and `\=` stays as written.
    assert_eq!(one(r"a=b\=c f=1").measurement, r"a=b\=c");
    // Any other backslash is literal.
    assert_eq!(one(r"a\b\\c f=1").measurement, r"a\b\\c");
    // `\\,` is a literal backslash then an escaped comma.
    assert_eq!(one(r"a\\,b f=1").measurement, r"a\,b");
}

#[test]
fn tag_escapes_comma_equals_space() {
    let line = one(r"m,k\ 1\,\==v\ 1\,\= f=1");
    assert_eq!(line.tags, vec![(Cow::from("k 1,="), Cow::from("v 1,="))]);
    let line = one(r"m,path=C:\temp\x f=1");
    assert_eq!(line.tags[0].1, r"C:\temp\x");
    let line = one("m,quote=\"x\" f=1");
    assert_eq!(line.tags[0].1, "\"x\"");
}

#[test]
fn field_key_escapes_comma_equals_space() {
    let line = one(r"m f\ 1\,\==1i,b\x=2i");
    assert_eq!(line.fields[0].0, "f 1,=");
    assert_eq!(line.fields[1].0, r"b\x");
}

#[test]
fn string_field_escapes_quote_and_backslash() {
    let line = one(r#"m s="a \"b\" c\\d\e",t="",u="a,b=c d""#);
    assert_eq!(field(&line, "s"), &FieldValue::String(r#"a "b" c\d\e"#.into()));
    assert_eq!(field(&line, "t"), &FieldValue::String("".into()));
    assert_eq!(field(&line, "u"), &FieldValue::String("a,b=c d".into()));
    // The documented backslash table: `\\\` is `\\`, `\\\\` is `\\`, `\\` is `\`.
    let line = one(r#"m a="x\\\y",b="x\\\\y",c="\\""#);
    assert_eq!(field(&line, "a"), &FieldValue::String(r"x\\y".into()));
    assert_eq!(field(&line, "b"), &FieldValue::String(r"x\\y".into()));
    assert_eq!(field(&line, "c"), &FieldValue::String(r"\".into()));
}

#[test]
fn unicode_everywhere() {
    let line = one("mé,tàg=🍭 fïeld=\"Launch 🚀\" 1");
    assert_eq!(line.measurement, "mé");
    assert_eq!(line.tags[0], (Cow::from("tàg"), Cow::from("🍭")));
    assert_eq!(
        line.fields[0],
        (Cow::from("fïeld"), FieldValue::String("Launch 🚀".into()))
    );
}

#[test]
fn float_forms() {
    for (text, want) in [
        ("1", 1.0),
        ("1.0", 1.0),
        ("-1.5e3", -1500.0),
        ("1E+2", 100.0),
        ("2e-2", 0.02),
        (".5", 0.5),
        ("-.5", -0.5),
        ("5.", 5.0),
        ("-0", -0.0),
        ("1.7976931348623157e308", f64::MAX),
    ] {
        let body = format!("m f={text}");
        assert_eq!(field(&one(&body), "f"), &FieldValue::Float(want), "{text}");
    }
}

#[test]
fn integer_and_unsigned_forms() {
    assert_eq!(field(&one("m f=12i"), "f"), &FieldValue::Integer(12));
    assert_eq!(field(&one("m f=-12i"), "f"), &FieldValue::Integer(-12));
    assert_eq!(
        field(&one("m f=9223372036854775807i"), "f"),
        &FieldValue::Integer(i64::MAX)
    );
    assert_eq!(
        field(&one("m f=-9223372036854775808i"), "f"),
        &FieldValue::Integer(i64::MIN)
    );
    assert_eq!(field(&one("m f=12u"), "f"), &FieldValue::UInteger(12));
    assert_eq!(
        field(&one("m f=18446744073709551615u"), "f"),
        &FieldValue::UInteger(u64::MAX)
    );
}

#[test]
fn boolean_forms() {
    for text in ["t", "T", "true", "True", "TRUE"] {
        assert_eq!(
            field(&one(&format!("m f={text}")), "f"),
            &FieldValue::Boolean(true),
            "{text}"
        );
    }
    for text in ["f", "F", "false", "False", "FALSE"] {
        assert_eq!(
            field(&one(&format!("m f={text}")), "f"),
            &FieldValue::Boolean(false),
            "{text}"
        );
    }
}

#[test]
fn timestamps() {
    assert_eq!(one("m f=1 -1").timestamp, Some(-1));
    assert_eq!(one("m f=1 0").timestamp, Some(0));
    assert_eq!(one("m f=1 9223372036854775807").timestamp, Some(i64::MAX));
    assert_eq!(one("m f=1 -9223372036854775808").timestamp, Some(i64::MIN));
    // Extra blanks between sections and after the timestamp are allowed, as in InfluxDB.
    assert_eq!(one("m,t=v   f=1  \t 5   ").timestamp, Some(5));
    assert_eq!(one("m f=1   ").timestamp, None);
}

#[test]
fn duplicate_tags_and_fields_are_kept() {
    let line = one("m,a=1,a=2 f=1,f=2i");
    assert_eq!(line.tags.len(), 2);
    assert_eq!(line.fields.len(), 2);
}

#[test]
fn comments_blank_lines_and_line_numbers() {
    let body = "# comment\n\n   \n\tm f=1\n  # indented comment\nm f=2 # not a comment\n\nm f=3\n";
    let lines: Vec<_> = parse_all(body)
        .into_iter()
        .map(|(n, r)| (n, r.map(|l| l.fields[0].1.clone())))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], (4, Ok(FieldValue::Float(1.0))));
    assert_eq!(lines[1].0, 6);
    assert_eq!(
        lines[1].1,
        Err(LineError::InvalidTimestamp { value: "#".into() }),
        "a # after the fields is not a comment"
    );
    assert_eq!(lines[2], (8, Ok(FieldValue::Float(3.0))));
    assert!(parse_all("").is_empty());
    assert!(parse_all("\n\n# only\n").is_empty());
}

#[test]
fn crlf_line_endings() {
    let body = "m,t=v f=1 10\r\n\r\nm f=\"x\"\r\nm f=2i\r\n";
    let lines: Vec<_> = parse_all(body)
        .into_iter()
        .map(|(n, r)| (n, r.unwrap()))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!((lines[0].0, lines[0].1.timestamp), (1, Some(10)));
    assert_eq!(lines[1].0, 3);
    assert_eq!(field(&lines[1].1, "f"), &FieldValue::String("x".into()));
    assert_eq!(field(&lines[2].1, "f"), &FieldValue::Integer(2));
    // A lone `\r` inside a line is an ordinary byte.
    assert_eq!(one("m\rx f=1").measurement, "m\rx");
}

#[test]
fn string_values_may_span_lines() {
    let body = "m s=\"a\nb\",t=1i 5\nm f=2\n";
    let lines = parse_all(body);
    assert_eq!(lines.len(), 2);
    let first = lines[0].1.as_ref().unwrap();
    assert_eq!(field(first, "s"), &FieldValue::String("a\nb".into()));
    assert_eq!(first.timestamp, Some(5));
    assert_eq!(lines[1].0, 3, "line numbers count the newline inside the string");
}

#[test]
fn bad_lines_do_not_stop_the_rest() {
    let body = "m f=1\nbad\nm f=zz\nm,t= f=1\nm f=2 3";
    let results: Vec<_> = parse_all(body).into_iter().map(|(n, r)| (n, r.is_ok())).collect();
    assert_eq!(
        results,
        vec![(1, true), (2, false), (3, false), (4, false), (5, true)]
    );
    // An unbalanced quote swallows the rest of the body, as in InfluxDB.
    let results: Vec<_> = parse_all("m f=\"open\nm f=1\n")
        .into_iter()
        .map(|(n, r)| (n, r.is_ok()))
        .collect();
    assert_eq!(results, vec![(1, false)]);
}

#[test]
fn error_messages() {
    let cases = [
        (",t=v f=1", "missing measurement"),
        (" ,t=v f=1", "missing measurement"),
        ("m", "missing fields"),
        ("m ", "missing fields"),
        ("m,t=v", "missing fields"),
        ("m,t=v ", "missing fields"),
        ("m,t=v,u=w", "missing fields"),
        ("m, f=1", "missing tag key"),
        ("m,=v f=1", "missing tag key"),
        ("m,t=v, f=1", "missing tag key"),
        ("m,t f=1", "missing tag value for tag key \"t\""),
        ("m,t= f=1", "missing tag value for tag key \"t\""),
        ("m,t=,u=v f=1", "missing tag value for tag key \"t\""),
        (
            "m,t=a=b f=1",
            "invalid tag format: unescaped '=' in value of tag \"t\"",
        ),
        ("m =1", "missing field key"),
        ("m f=1,=2", "missing field key"),
        ("m f=1,", "missing field key"),
        ("m f=1,,g=2", "missing field key"),
        ("m f", "invalid field key \"f\": expected '=' after it"),
        ("m f,g=1", "invalid field key \"f\": expected '=' after it"),
        ("m f g=1", "invalid field key \"f\": expected '=' after it"),
        ("m f=", "missing field value for field \"f\""),
        ("m f= 1", "missing field value for field \"f\""),
        ("m f=,g=1", "missing field value for field \"f\""),
        ("m f=\"abc", "unbalanced quotes in value of field \"f\""),
        ("m f=\"abc\\\"", "unbalanced quotes in value of field \"f\""),
        (
            "m f=\"a\"b",
            "expected ',' or ' ' after string value of field \"f\", found \"b\"",
        ),
        ("m f=12x", "invalid number \"12x\""),
        ("m f=1.2.3", "invalid number \"1.2.3\""),
        ("m f=1e", "invalid number \"1e\""),
        ("m f=-", "invalid number \"-\""),
        ("m f=.", "invalid number \".\""),
        ("m f=1\t2", "invalid number \"1\\t2\""),
        ("m f=1e400", "float out of range \"1e400\""),
        ("m f=+1", "invalid field value \"+1\""),
        ("m f=NaN", "invalid field value \"NaN\""),
        ("m f=nan", "invalid field value \"nan\""),
        ("m f=inf", "invalid field value \"inf\""),
        ("m f=-Inf", "invalid number \"-Inf\""),
        ("m f=1.5i", "invalid integer \"1.5i\""),
        ("m f=1e3i", "invalid integer \"1e3i\""),
        ("m f=-i", "invalid integer \"-i\""),
        ("m f=12xi", "invalid integer \"12xi\""),
        (
            "m f=9223372036854775808i",
            "integer out of range \"9223372036854775808i\"",
        ),
        (
            "m f=-9223372036854775809i",
            "integer out of range \"-9223372036854775809i\"",
        ),
        ("m f=-1u", "invalid unsigned integer \"-1u\""),
        ("m f=1.0u", "invalid unsigned integer \"1.0u\""),
        (
            "m f=18446744073709551616u",
            "unsigned integer out of range \"18446744073709551616u\"",
        ),
        ("m f=tru", "invalid boolean \"tru\""),
        ("m f=tRUE", "invalid boolean \"tRUE\""),
        ("m f=Flase", "invalid boolean \"Flase\""),
        ("m f=1 12a", "invalid timestamp \"12a\""),
        ("m f=1 1.5", "invalid timestamp \"1.5\""),
        ("m f=1 -", "invalid timestamp \"-\""),
        ("m f=1 +5", "invalid timestamp \"+5\""),
        (
            "m f=1 9223372036854775808",
            "timestamp out of range \"9223372036854775808\"",
        ),
        ("m f=1 1 2", "unexpected content after timestamp \"2\""),
    ];
    for (body, want) in cases {
        assert_eq!(error(body), want, "{body:?}");
    }
}

#[test]
fn invalid_utf8_is_an_error_naming_the_part() {
    let all: Vec<_> = parse_lines(b"m\xff f=1\nm,t=\xc3 f=1\nm f=\"\xfe\"\nm f=1\n").collect();
    let messages: Vec<_> = all
        .iter()
        .map(|(n, r)| (*n, r.as_ref().map_err(ToString::to_string).err()))
        .collect();
    assert_eq!(
        messages,
        vec![
            (1, Some("invalid utf-8 in measurement".to_owned())),
            (2, Some("invalid utf-8 in tag value".to_owned())),
            (3, Some("invalid utf-8 in string field value".to_owned())),
            (4, None),
        ]
    );
}

#[test]
fn precision_names() {
    use Precision::*;
    for (s, p) in [
        ("", Nanoseconds),
        ("n", Nanoseconds),
        ("ns", Nanoseconds),
        ("u", Microseconds),
        ("us", Microseconds),
        ("µ", Microseconds),
        ("ms", Milliseconds),
        ("s", Seconds),
        ("m", Minutes),
        ("h", Hours),
    ] {
        assert_eq!(Precision::parse_v1(s), Some(p), "{s:?}");
    }
    assert_eq!(Precision::parse_v1("x"), None);
    assert_eq!(Precision::parse_v1("NS"), None);
    for (s, p) in [
        ("ns", Nanoseconds),
        ("us", Microseconds),
        ("ms", Milliseconds),
        ("s", Seconds),
    ] {
        assert_eq!(Precision::parse_v2(s), Some(p), "{s:?}");
    }
    for s in ["", "n", "u", "m", "h"] {
        assert_eq!(Precision::parse_v2(s), None, "{s:?}");
    }
}

#[test]
fn precision_to_millis() {
    use Precision::*;
    assert_eq!(
        Nanoseconds.to_millis(1_590_488_773_254_420_000),
        Some(1_590_488_773_254)
    );
    assert_eq!(Nanoseconds.to_millis(-1), Some(-1), "floors, not truncates");
    assert_eq!(Nanoseconds.to_millis(-1_000_000), Some(-1));
    assert_eq!(
        Nanoseconds.to_millis(i64::MIN),
        Some(i64::MIN.div_euclid(1_000_000))
    );
    assert_eq!(Microseconds.to_millis(1_999), Some(1));
    assert_eq!(Microseconds.to_millis(-1_001), Some(-2));
    assert_eq!(Milliseconds.to_millis(i64::MIN), Some(i64::MIN));
    assert_eq!(Seconds.to_millis(-3), Some(-3_000));
    assert_eq!(Minutes.to_millis(2), Some(120_000));
    assert_eq!(Hours.to_millis(1), Some(3_600_000));
    assert_eq!(Seconds.to_millis(i64::MAX / 1_000 + 1), None);
    assert_eq!(Minutes.to_millis(i64::MIN), None);
    assert_eq!(Hours.to_millis(i64::MAX), None);
}
