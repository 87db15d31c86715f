//! Prometheus 3's default OTLP naming (`translation_strategy: UnderscoreEscapingWithSuffixes`, with
//! the backwards-compatible label settings that are its defaults): metric names escaped to
//! `[a-zA-Z0-9:_]` with unit, `_total` and `_ratio` suffixes; label names escaped to
//! `[a-zA-Z0-9_]` with a `key` prefix where they would start with a digit or a single underscore;
//! attribute values rendered the way the OpenTelemetry Collector's `pcommon.Value.AsString` does.
//! Written from the rules in `prometheus/otlptranslator` and `pdata`; no IO.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::proto::{AnyValue, KeyValue, any_value};

/// What a metric turns into, which decides the suffixes its name gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    /// A monotonic sum: gets `_total`.
    Counter,
    /// A sum that may go down: written like a gauge, but without `_ratio`.
    UpDownCounter,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// UCUM units with a Prometheus name; others are kept as written (then escaped).
fn main_unit(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The denominator of a `x/y` unit, singular.
fn per_unit(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// The main and the `per_` suffix of a unit, before escaping. Annotations in braces (`{request}`)
/// carry no unit.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (unit, None),
    };
    let main = main.trim();
    let main = if !main.is_empty() && !main.contains(['{', '}']) {
        main_unit(main).to_owned()
    } else {
        String::new()
    };
    let mut per_suffix = String::new();
    if let Some(p) = per.map(str::trim)
        && !p.is_empty()
        && !p.contains(['{', '}'])
    {
        let p = per_unit(p);
        if !p.is_empty() {
            per_suffix = format!("per_{p}");
        }
    }
    (main, per_suffix)
}

/// Escapes a unit suffix: invalid characters become `_`, runs of `_` collapse, one leading `_` goes.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// The Prometheus metric family name for an OTLP metric, or why there is none.
pub fn metric_name(name: &str, unit: &str, kind: MetricKind) -> Result<String, String> {
    // Splitting on every character outside [a-zA-Z0-9:] also collapses runs of underscores and
    // drops leading and trailing ones.
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (mut main, mut per) = (clean_unit(&main), clean_unit(&per));
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if kind == MetricKind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == MetricKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        return Err(format!(
            "normalization for metric {name:?} resulted in empty name"
        ));
    }
    if out != name && out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for metric {name:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// The Prometheus label name for an attribute key, or why there is none.
pub fn label_name(key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("normalization for label name \"\" resulted in empty name".into());
    }
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out != key && out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for label name {key:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// A bucket bound or quantile as a label value: Go's `strconv.FormatFloat(f, 'f', -1, 64)`, the
/// shortest decimal that reads back to the same float, never in exponent form.
pub fn format_bound(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's Display for floats is shortest-round-trip without an exponent, like Go's 'f', -1.
        format!("{f}")
    }
}

/// An attribute value as a label value, as `pcommon.Value.AsString` renders it: strings as they
/// are, numbers like JavaScript prints them, bytes in base64, lists and maps as JSON.
pub fn value_string(v: Option<&AnyValue>) -> String {
    let Some(value) = v.and_then(|v| v.value.as_ref()) else {
        return String::new();
    };
    match value {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(f) => {
            if f.is_finite() {
                es6_number(*f)
            } else {
                let g = if f.is_nan() {
                    "NaN"
                } else if *f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                format!("json: unsupported value: {g}")
            }
        }
        any_value::Value::BytesValue(b) => base64::engine::general_purpose::STANDARD.encode(b),
        any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_) => {
            let mut out = String::new();
            // Go's encoder fails on NaN and infinities and the Collector then renders "".
            match go_json(v, &mut out) {
                Ok(()) => out,
                Err(()) => String::new(),
            }
        }
    }
}

/// A finite float as ECMAScript's Number::toString prints it (Go's encoding/json float format):
/// plain decimals from 1e-6 up to 1e21, exponent form outside, exponent without zero padding.
fn es6_number(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // `{:e}` gives the shortest mantissa and a bare exponent ("1.5e-7", "1e21").
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

/// Go's `json.Marshal` of `Value.AsRaw()`: maps with sorted keys (the last of duplicate keys
/// wins), HTML-safe string escaping, bytes as base64 strings, empty values as null.
fn go_json(v: Option<&AnyValue>, out: &mut String) -> Result<(), ()> {
    let Some(value) = v.and_then(|v| v.value.as_ref()) else {
        out.push_str("null");
        return Ok(());
    };
    match value {
        any_value::Value::StringValue(s) => go_json_string(s, out),
        any_value::Value::BoolValue(b) => out.push_str(if *b { "true" } else { "false" }),
        any_value::Value::IntValue(i) => {
            let _ = write!(out, "{i}");
        }
        any_value::Value::DoubleValue(f) => {
            if !f.is_finite() {
                return Err(());
            }
            out.push_str(&es6_number(*f));
        }
        any_value::Value::BytesValue(b) => {
            go_json_string(&base64::engine::general_purpose::STANDARD.encode(b), out)
        }
        any_value::Value::ArrayValue(a) => {
            out.push('[');
            for (i, item) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(Some(item), out)?;
            }
            out.push(']');
        }
        any_value::Value::KvlistValue(kv) => {
            let mut entries: Vec<&KeyValue> = Vec::with_capacity(kv.values.len());
            // Keep the last of each key, then sort by key bytes like Go's map encoder.
            for (i, e) in kv.values.iter().enumerate() {
                if !kv.values[i + 1..].iter().any(|later| later.key == e.key) {
                    entries.push(e);
                }
            }
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(&e.key, out);
                out.push(':');
                go_json(e.value.as_ref(), out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string as Go's encoder writes it with HTML escaping on.
fn go_json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize & 0xf] as char);
                out.push(HEX[b as usize & 0xf] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, unit: &str, kind: MetricKind) -> String {
        metric_name(n, unit, kind).unwrap()
    }

    #[test]
    fn metric_names_get_unit_and_type_suffixes() {
        use MetricKind::*;
        assert_eq!(
            name("http.server.request.duration", "s", Histogram),
            "http_server_request_duration_seconds"
        );
        assert_eq!(name("shop.requests", "{request}", Counter), "shop_requests_total");
        assert_eq!(name("requests_total", "", Counter), "requests_total");
        assert_eq!(name("total.requests", "", Counter), "requests_total");
        assert_eq!(
            name("system.memory.usage", "By", Gauge),
            "system_memory_usage_bytes"
        );
        assert_eq!(name("cpu.utilization", "1", Gauge), "cpu_utilization_ratio");
        assert_eq!(name("queue.depth", "1", UpDownCounter), "queue_depth");
        assert_eq!(name("jobs.done", "1", Counter), "jobs_done_total");
        assert_eq!(name("net.io", "By/s", Gauge), "net_io_bytes_per_second");
        assert_eq!(name("temp", "Cel", Gauge), "temp_celsius");
        assert_eq!(name("duration_seconds", "s", Histogram), "duration_seconds");
        assert_eq!(name("foo", "m/s", Gauge), "foo_meters_per_second");
        assert_eq!(name("foo", "{packets}/s", Gauge), "foo_per_second");
        assert_eq!(name("foo", "widgets", Gauge), "foo_widgets");
        assert_eq!(name("foo", "%", Gauge), "foo_percent");
        assert_eq!(name("foo", "1/y", Counter), "foo_per_year_total");
        assert_eq!(name("foo..bar__baz", "", Gauge), "foo_bar_baz");
        assert_eq!(name("2xx.count", "", Gauge), "_2xx_count");
        assert_eq!(name("ns:metric", "", Gauge), "ns:metric");
        assert_eq!(name("métrica", "", Gauge), "m_trica");
        assert_eq!(
            metric_name("...", "", Gauge).unwrap_err(),
            "normalization for metric \"...\" resulted in empty name"
        );
    }

    #[test]
    fn label_names_are_escaped_and_prefixed() {
        assert_eq!(label_name("http.method").unwrap(), "http_method");
        assert_eq!(label_name("2xx").unwrap(), "key_2xx");
        assert_eq!(label_name("_private").unwrap(), "key_private");
        assert_eq!(label_name("__reserved__").unwrap(), "__reserved__");
        assert_eq!(label_name("a..b").unwrap(), "a__b");
        assert_eq!(label_name(".x").unwrap(), "key_x");
        assert_eq!(label_name("ö").unwrap(), "key_");
        assert!(label_name("").is_err());
        assert_eq!(
            label_name("..").unwrap_err(),
            "normalization for label name \"..\" resulted in invalid name \"__\""
        );
    }

    #[test]
    fn values_render_like_the_collector() {
        use any_value::Value as V;
        let s = |v: V| value_string(Some(&AnyValue { value: Some(v) }));
        assert_eq!(s(V::StringValue("x".into())), "x");
        assert_eq!(s(V::IntValue(-7)), "-7");
        assert_eq!(s(V::BoolValue(true)), "true");
        assert_eq!(s(V::DoubleValue(1.5)), "1.5");
        assert_eq!(s(V::DoubleValue(100.0)), "100");
        assert_eq!(s(V::DoubleValue(1e21)), "1e+21");
        assert_eq!(s(V::DoubleValue(1.5e-7)), "1.5e-7");
        assert_eq!(s(V::DoubleValue(1e-6)), "0.000001");
        assert_eq!(s(V::DoubleValue(f64::INFINITY)), "json: unsupported value: +Inf");
        assert_eq!(s(V::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])), "3q2+7w==");
        let kv = |k: &str, v: V| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
        };
        let map = V::KvlistValue(crate::proto::KeyValueList {
            values: vec![
                kv("z", V::StringValue("<a&b>".into())),
                kv("a", V::IntValue(1)),
                kv("a", V::DoubleValue(2.5)),
            ],
        });
        assert_eq!(s(map), r#"{"a":2.5,"z":"\u003ca\u0026b\u003e"}"#);
        let list = V::ArrayValue(crate::proto::ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(V::StringValue("q\"\n".into())),
                },
                AnyValue { value: None },
                AnyValue {
                    value: Some(V::BoolValue(false)),
                },
            ],
        });
        assert_eq!(s(list), r#"["q\"\n",null,false]"#);
        let bad = V::ArrayValue(crate::proto::ArrayValue {
            values: vec![AnyValue {
                value: Some(V::DoubleValue(f64::NAN)),
            }],
        });
        assert_eq!(s(bad), "");
        assert_eq!(value_string(None), "");
    }

    #[test]
    fn bounds_format_like_go() {
        assert_eq!(format_bound(0.1), "0.1");
        assert_eq!(format_bound(5.0), "5");
        assert_eq!(format_bound(1e21), "1000000000000000000000");
        assert_eq!(format_bound(f64::INFINITY), "+Inf");
        assert_eq!(format_bound(-0.0), "-0");
    }
}
