//! Prometheus's template functions (its `template/template.go` with the `humanize*` helpers of
//! `prometheus/common`), byte-exact: `humanize` and friends format with Go's `%.4g`, accept
//! numbers or numeric strings, and fail with Go's messages. `query` needs storage, so the rules
//! crate inserts it; [`sample`] and [`query_result`] build what it returns.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::fmt::{format_float, quote, value_string};
use crate::funcs::{Arity, Funcs, query_escape, str_arg};
use crate::strconv::parse_float;
use crate::time::Time;
use crate::value::{Object, Struct, Value, field_of};

/// Builtins plus Prometheus's functions, with an empty external URL and evaluation time 0.
pub fn funcs() -> Funcs {
    funcs_with("", 0)
}

/// Builtins plus Prometheus's functions. `external_url` is what `externalURL` returns (and
/// `pathPrefix` its path); `eval_time_ms` is the evaluation time `now` returns, in seconds.
pub fn funcs_with(external_url: &str, eval_time_ms: i64) -> Funcs {
    let mut fs = Funcs::builtins();
    let add = |fs: &mut Funcs, name: &str, n: usize, f: fn(&[Value]) -> Result<Value>| {
        fs.insert_with_arity(name, Arity::Exact(n), Arc::new(f));
    };
    add(&mut fs, "first", 1, |a| {
        let list = query_result_arg(&a[0])?;
        list.first()
            .cloned()
            .ok_or_else(|| Error::func("first() called on vector with no elements"))
    });
    add(&mut fs, "label", 2, |a| {
        let label = str_arg(a, 0)?;
        let labels = sample_field(&a[1], "Labels")?;
        Ok(labels
            .map_view()
            .and_then(|m| m.get(label))
            .unwrap_or_else(|| Value::Str(String::new())))
    });
    add(&mut fs, "value", 1, |a| sample_field(&a[0], "Value"));
    add(&mut fs, "strvalue", 1, |a| {
        let labels = sample_field(&a[0], "Labels")?;
        Ok(labels
            .map_view()
            .and_then(|m| m.get("__value__"))
            .unwrap_or_else(|| Value::Str(String::new())))
    });
    fs.insert_with_arity(
        "args",
        Arity::Any,
        Arc::new(|a: &[Value]| {
            // A nil argument is a nil interface in the map, which reads back as no value.
            Ok(Value::map(a.iter().enumerate().map(|(i, v)| {
                let v = match v {
                    Value::Nil => Value::Missing,
                    v => v.clone(),
                };
                (format!("arg{i}"), v)
            })))
        }),
    );
    add(&mut fs, "reReplaceAll", 3, re_replace_all);
    add(&mut fs, "match", 2, re_match);
    add(&mut fs, "safeHtml", 1, |a| {
        Ok(Value::Html(str_arg(a, 0)?.to_string()))
    });
    add(&mut fs, "title", 1, |a| {
        Ok(Value::Str(title(str_arg(a, 0)?, false)))
    });
    add(&mut fs, "toUpper", 1, |a| {
        Ok(Value::Str(to_upper(str_arg(a, 0)?)))
    });
    add(&mut fs, "toLower", 1, |a| {
        Ok(Value::Str(to_lower(str_arg(a, 0)?)))
    });
    add(&mut fs, "graphLink", 1, |a| {
        Ok(Value::Str(format!(
            "/graph?g0.expr={}&g0.tab=0",
            query_escape(str_arg(a, 0)?)
        )))
    });
    add(&mut fs, "tableLink", 1, |a| {
        Ok(Value::Str(format!(
            "/graph?g0.expr={}&g0.tab=1",
            query_escape(str_arg(a, 0)?)
        )))
    });
    add(&mut fs, "sortByLabel", 2, |a| {
        let label = str_arg(a, 0)?;
        let mut samples = query_result_arg(&a[1])?.to_vec();
        let key = |s: &Value| {
            field_of(s, "Labels")
                .and_then(|l| l.map_view().and_then(|m| m.get(label)))
                .map(|v| value_string(&v))
        };
        samples.sort_by_cached_key(|s| key(s).unwrap_or_default());
        Ok(query_result(samples))
    });
    add(&mut fs, "stripPort", 1, |a| {
        let hp = str_arg(a, 0)?;
        Ok(Value::Str(split_host_port(hp).map_or(hp, |(h, _)| h).to_string()))
    });
    add(&mut fs, "stripDomain", 1, |a| {
        Ok(Value::Str(strip_domain(str_arg(a, 0)?)))
    });
    add(&mut fs, "humanize", 1, |a| {
        humanize(convert_to_float(&a[0])?).map(Value::Str)
    });
    add(&mut fs, "humanize1024", 1, |a| {
        Ok(Value::Str(humanize1024(convert_to_float(&a[0])?)))
    });
    add(&mut fs, "humanizeDuration", 1, |a| {
        Ok(Value::Str(humanize_duration(convert_to_float(&a[0])?)))
    });
    add(&mut fs, "humanizePercentage", 1, |a| {
        Ok(Value::Str(format!(
            "{}%",
            format_float(convert_to_float(&a[0])? * 100.0, 'g', 4)
        )))
    });
    add(&mut fs, "humanizeTimestamp", 1, |a| {
        humanize_timestamp(convert_to_float(&a[0])?).map(Value::Str)
    });
    add(&mut fs, "toTime", 1, |a| {
        float_to_time(convert_to_float(&a[0])?).map(Value::Time)
    });
    add(&mut fs, "toDuration", 1, |a| {
        float_to_duration(convert_to_float(&a[0])?).map(Value::Duration)
    });
    add(&mut fs, "parseDuration", 1, |a| {
        let ns = parse_duration(str_arg(a, 0)?).map_err(Error::Func)?;
        Ok(Value::Float(ns as f64 / 1e9))
    });
    let url = external_url.to_string();
    let path = url_path(external_url);
    fs.insert_with_arity(
        "externalURL",
        Arity::Exact(0),
        Arc::new(move |_: &[Value]| Ok(Value::Str(url.clone()))),
    );
    fs.insert_with_arity(
        "pathPrefix",
        Arity::Exact(0),
        Arc::new(move |_: &[Value]| Ok(Value::Str(path.clone()))),
    );
    let now = eval_time_ms as f64 / 1000.0;
    fs.insert_with_arity(
        "now",
        Arity::Exact(0),
        Arc::new(move |_: &[Value]| Ok(Value::Float(now))),
    );
    fs
}

/// Prometheus's `*sample`: `.Labels` (a label map) and `.Value` (a float).
pub fn sample(labels: BTreeMap<String, String>, value: f64) -> Value {
    Value::object(Struct::new(
        "*template.sample",
        [("Labels", Value::from(labels)), ("Value", Value::Float(value))],
    ))
}

/// Prometheus's `queryResult`, what `query` returns: a list of [`sample`]s.
pub fn query_result(samples: Vec<Value>) -> Value {
    Value::object(QueryResult(samples))
}

#[derive(Debug)]
struct QueryResult(Vec<Value>);

impl Object for QueryResult {
    fn get(&self, _name: &str, _args: &[Value]) -> Option<Result<Value>> {
        None
    }
    fn as_list(&self) -> Option<&[Value]> {
        Some(&self.0)
    }
    fn type_name(&self) -> &str {
        "template.queryResult"
    }
    fn go_string(&self) -> String {
        value_string(&Value::list(self.0.iter().cloned()))
    }
}

fn query_result_arg(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Missing | Value::Nil => Ok(&[]),
        Value::Object(o) if o.type_name() == "template.queryResult" => Ok(o.as_list().unwrap_or(&[])),
        other => Err(Error::arg_type("template.queryResult", other.type_name())),
    }
}

fn sample_field(v: &Value, name: &str) -> Result<Value> {
    match v {
        Value::Missing | Value::Nil => Err(Error::func(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        Value::Object(o) if o.type_name() == "*template.sample" => {
            Ok(field_of(v, name).unwrap_or(Value::Missing))
        }
        other => Err(Error::arg_type("*template.sample", other.type_name())),
    }
}

/// `prometheus/common`'s `ConvertToFloat`: floats, integers, numeric strings and durations.
pub(crate) fn convert_to_float(v: &Value) -> Result<f64> {
    match v {
        Value::Float(x) => Ok(*x),
        Value::Int(i) => Ok(*i as f64),
        Value::Duration(d) => Ok((d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9),
        Value::Str(s) => parse_float(s).map_err(|e| Error::Func(e.message(s))),
        other => Err(Error::func(format!(
            "can't convert {} to float",
            other.type_name()
        ))),
    }
}

fn humanize(mut v: f64) -> Result<String> {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return Ok(format_float(v, 'g', 4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    Ok(format!("{}{prefix}", format_float(v, 'g', 4)))
}

fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', 4);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_float(v, 'g', 4))
}

/// `prometheus/common`'s `HumanizeDuration` of seconds: `1d 2h 3m 4s`, `1.234s`, `100ms`.
pub(crate) fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', 4);
    }
    if v == 0.0 {
        return format!("{}s", format_float(v, 'g', 4));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        let d = v as i64;
        let (seconds, minutes, hours, days) = (d % 60, d / 60 % 60, d / 3600 % 24, d / 86_400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", format_float(v, 'g', 4));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_float(v, 'g', 4))
}

/// `prometheus/common`'s `HumanizeTimestamp`: the UTC time of Unix seconds, as Go prints it.
pub(crate) fn humanize_timestamp(v: f64) -> Result<String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(format_float(v, 'g', 4));
    }
    Ok(float_to_time(v)?.go_string())
}

/// Unix seconds to a UTC time at millisecond precision, as Prometheus's `floatToTime` does.
pub(crate) fn float_to_time(v: f64) -> Result<Time> {
    if v.is_nan() || v.is_infinite() {
        return Err(Error::func("value is NaN or Inf"));
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(Error::func(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_float(v, 'g', -1)
        )));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(Time::from_unix(ms / 1000, (ms % 1000) * 1_000_000))
}

fn float_to_duration(v: f64) -> Result<i64> {
    if v.is_nan() || v.is_infinite() {
        return Err(Error::func("value is NaN or Inf"));
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(Error::func(format!(
            "{} cannot be represented as a nanoseconds duration since it overflows int64",
            format_float(v, 'g', -1)
        )));
    }
    Ok(ns as i64)
}

/// `prometheus/common`'s `model.ParseDuration` in nanoseconds: `1h30m`, `90d`, `0`. Its smallest
/// unit is the millisecond, so milliseconds convert exactly.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<i64, String> {
    promql_syntax::parse_duration_checked(s).map(|ms| ms as i64 * 1_000_000)
}

/// Go's `net.SplitHostPort`: host and port, or `None` when `hp` is not `host:port`.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = match split_host_port(hp) {
        Some((h, p)) => (h, p),
        None => (hp, ""),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        return host.to_string();
    }
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The unescaped path of a URL, as Go's `url.URL.Path`.
fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            &after[end..]
        }
        None => url,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    percent_decode(&rest[..end], false).unwrap_or_else(|_| rest[..end].to_string())
}

/// `%XX` decoding (and `+` as space for query strings), with Go's `url.EscapeError` message.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> std::result::Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {}", quote(&bad, false)));
                };
                let hi = char::from(hex[0]).to_digit(16).unwrap_or(0);
                let lo = char::from(hex[1]).to_digit(16).unwrap_or(0);
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `strings.ToUpper`: simple per-character mapping (a character whose upper case is several
/// characters, like `ß`, stays).
pub(crate) fn to_upper(s: &str) -> String {
    s.chars().map(|c| single(c.to_uppercase()).unwrap_or(c)).collect()
}

/// Go's `strings.ToLower`.
pub(crate) fn to_lower(s: &str) -> String {
    s.chars().map(|c| single(c.to_lowercase()).unwrap_or(c)).collect()
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// `golang.org/x/text/cases` title casing for American English: the first cased letter of each
/// word is upper-cased; the rest are lower-cased unless `keep_rest` (`cases.NoLower`, as
/// Prometheus uses). Word boundaries approximate Unicode's: letters, digits, `_` and marks join
/// words; `'`, `.`, `:` and `·` join them unless doubled; anything else breaks them.
pub(crate) fn title(s: &str, lower_rest: bool) -> String {
    let is_mid = |c: char| {
        matches!(
            c,
            '\'' | '.'
                | ':'
                | '·'
                | '\u{2019}'
                | '\u{FE13}'
                | '\u{FE55}'
                | '\u{FF07}'
                | '\u{FF0E}'
                | '\u{FF1A}'
        )
    };
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    let mut prev_mid = false;
    for c in s.chars() {
        let mid = is_mid(c);
        if prev_mid && mid {
            mid_word = false;
        }
        let cased = c.is_lowercase() || c.is_uppercase();
        if cased {
            if !mid_word {
                out.push(single(c.to_uppercase()).unwrap_or(c));
                mid_word = true;
            } else if lower_rest {
                out.push(single(c.to_lowercase()).unwrap_or(c));
            } else {
                out.push(c);
            }
        } else {
            out.push(c);
            let joins = c.is_alphanumeric() || c == '_' || mid || ('\u{300}'..='\u{36F}').contains(&c);
            if !joins {
                mid_word = false;
            }
        }
        prev_mid = mid;
    }
    out
}

/// Go's RE2 syntax in Rust's engine: `\d`, `\s`, `\w` and `\b` are ASCII-only in Go.
fn go_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(c) = cache.lock()
        && let Some(re) = c.get(pattern)
    {
        return Ok(re.clone());
    }
    let mut translated = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            translated.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => translated.push_str("[0-9]"),
            Some('D') => translated.push_str("[^0-9]"),
            Some('s') => translated.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => translated.push_str("[^\\t\\n\\f\\r ]"),
            Some('w') => translated.push_str("[0-9A-Za-z_]"),
            Some('W') => translated.push_str("[^0-9A-Za-z_]"),
            Some('b') => translated.push_str("(?-u:\\b)"),
            Some('B') => translated.push_str("(?-u:\\B)"),
            Some(e) => {
                translated.push('\\');
                translated.push(e);
            }
            None => translated.push('\\'),
        }
    }
    let re = regex::RegexBuilder::new(&translated)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("error parsing regexp: {}: `{pattern}`", regex_error(&e)))?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .last()
            .unwrap_or("invalid syntax")
            .trim_start_matches("error: ")
            .to_string(),
        regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
        _ => "invalid syntax".to_string(),
    }
}

/// `regexp.MatchString(pattern, text)`.
pub(crate) fn re_match(a: &[Value]) -> Result<Value> {
    let pattern = str_arg(a, 0)?;
    let text = str_arg(a, 1)?;
    let re = go_regex(pattern).map_err(Error::Func)?;
    Ok(Value::Bool(re.is_match(text)))
}

/// `regexp.MustCompile(pattern).ReplaceAllString(text, repl)`; a bad pattern is an error where
/// Go panics (and text/template reports the panic as the call's error).
pub(crate) fn re_replace_all(a: &[Value]) -> Result<Value> {
    let pattern = str_arg(a, 0)?;
    let repl = str_arg(a, 1)?;
    let text = str_arg(a, 2)?;
    let re = go_regex(pattern)
        .map_err(|e| Error::Func(format!("regexp: Compile({}): {e}", quote(pattern, false))))?;
    Ok(Value::Str(re.replace_all(text, repl).into_owned()))
}
