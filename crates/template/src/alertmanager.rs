//! Alertmanager's template functions (`template.DefaultFuncs`) and the data types with methods
//! its templates call: [`KV`] (`.SortedPairs`, `.Names`, `.Values`, `.Remove`) and [`Alerts`]
//! (`.Firing`, `.Resolved`). The notify crate builds the rest of `Data` and `Alert` with
//! [`crate::Struct`]. Time zones and the clock are handed in: no zone database, no IO here.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fmt::{format_float, value_string};
use crate::funcs::{Arity, Funcs, str_arg};
use crate::prometheus::{
    convert_to_float, humanize_duration, percent_decode, re_match, re_replace_all, title, to_lower, to_upper,
};
use crate::time::{Time, Zone};
use crate::value::{Object, Struct, Value, field_of, field_result};

/// Resolves a time zone name (`Europe/Berlin`) to its abbreviation and offset at an instant.
pub type ZoneResolver = Arc<dyn Fn(&str, &Time) -> Option<Zone> + Send + Sync>;
/// The current time, for `since`.
pub type Clock = Arc<dyn Fn() -> Time + Send + Sync>;

/// Builtins plus Alertmanager's functions, with the system clock and only the `UTC` and `Local`
/// (treated as UTC) zones.
pub fn funcs() -> Funcs {
    funcs_with(Arc::new(system_now), None)
}

/// Like [`funcs`], with zones from `resolver`.
pub fn funcs_with_zones(resolver: ZoneResolver) -> Funcs {
    funcs_with(Arc::new(system_now), Some(resolver))
}

/// Builtins plus Alertmanager's functions with an injected clock and zone resolver.
pub fn funcs_with(clock: Clock, zones: Option<ZoneResolver>) -> Funcs {
    let mut fs = Funcs::builtins();
    let add = |fs: &mut Funcs, name: &str, n: usize, f: fn(&[Value]) -> Result<Value>| {
        fs.insert_with_arity(name, Arity::Exact(n), Arc::new(f));
    };
    add(&mut fs, "toUpper", 1, |a| {
        Ok(Value::Str(to_upper(str_arg(a, 0)?)))
    });
    add(&mut fs, "toLower", 1, |a| {
        Ok(Value::Str(to_lower(str_arg(a, 0)?)))
    });
    add(&mut fs, "title", 1, |a| {
        Ok(Value::Str(title(str_arg(a, 0)?, true)))
    });
    add(&mut fs, "trimSpace", 1, |a| {
        Ok(Value::Str(str_arg(a, 0)?.trim().to_string()))
    });
    add(&mut fs, "join", 2, |a| {
        let sep = str_arg(a, 0)?;
        Ok(Value::Str(string_slice_arg(&a[1])?.join(sep)))
    });
    add(&mut fs, "match", 2, re_match);
    add(&mut fs, "reReplaceAll", 3, re_replace_all);
    add(&mut fs, "safeHtml", 1, |a| {
        Ok(Value::Html(str_arg(a, 0)?.to_string()))
    });
    add(&mut fs, "safeUrl", 1, |a| {
        Ok(Value::Str(str_arg(a, 0)?.to_string()))
    });
    add(&mut fs, "urlUnescape", 1, |a| {
        percent_decode(str_arg(a, 0)?, true)
            .map(Value::Str)
            .map_err(Error::Func)
    });
    fs.insert_with_arity(
        "stringSlice",
        Arity::Any,
        Arc::new(|a: &[Value]| {
            let items = (0..a.len())
                .map(|i| str_arg(a, i).map(|s| Value::Str(s.to_string())))
                .collect::<Result<Vec<_>>>()?;
            Ok(Value::list(items))
        }),
    );
    add(&mut fs, "date", 2, |a| {
        let layout = str_arg(a, 0)?;
        Ok(Value::Str(time_arg(&a[1])?.format(layout)))
    });
    fs.insert_with_arity(
        "tz",
        Arity::Exact(2),
        Arc::new(move |a: &[Value]| {
            let name = str_arg(a, 0)?;
            let t = time_arg(&a[1])?;
            let zone = match name {
                "" | "UTC" | "Local" => Some(Zone::utc()),
                _ => zones.as_ref().and_then(|z| z(name, &t)),
            };
            match zone {
                Some(z) => Ok(Value::Time(t.in_zone(z))),
                None => Err(Error::func(format!("unknown time zone {name}"))),
            }
        }),
    );
    fs.insert_with_arity(
        "since",
        Arity::Exact(1),
        Arc::new(move |a: &[Value]| Ok(Value::Duration(clock().sub(&time_arg(&a[0])?)))),
    );
    add(&mut fs, "humanizeDuration", 1, |a| {
        Ok(Value::Str(humanize_duration(convert_to_float(&a[0])?)))
    });
    add(&mut fs, "toJson", 1, |a| {
        let mut out = String::new();
        to_json(&a[0], &mut out, 0)?;
        Ok(Value::Str(out))
    });
    fs
}

fn system_now() -> Time {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Time::from_unix(d.as_secs() as i64, i64::from(d.subsec_nanos())),
        Err(e) => Time::from_unix(0, 0).add(-(e.duration().as_nanos().min(i64::MAX as u128) as i64)),
    }
}

fn time_arg(v: &Value) -> Result<Time> {
    match v {
        Value::Time(t) => Ok(t.clone()),
        Value::Missing => Err(Error::Arg("invalid value; expected time.Time".to_string())),
        other => Err(Error::arg_type("time.Time", other.type_name())),
    }
}

/// A Go `[]string`: a list whose elements are all strings (as `stringSlice`, `.Names` and
/// `.Values` return); nil is empty.
fn string_slice_arg(v: &Value) -> Result<Vec<String>> {
    if matches!(v, Value::Missing | Value::Nil) {
        return Ok(Vec::new());
    }
    let Some(list) = v.as_list() else {
        return Err(Error::arg_type("[]string", v.type_name()));
    };
    list.iter()
        .map(|e| match e {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(Error::arg_type("[]string", v.type_name())),
        })
        .collect()
}

/// Alertmanager's `KV`, a label or annotation set: a map of strings with methods.
#[derive(Debug, Clone, Default)]
pub struct KV(BTreeMap<String, Value>);

impl KV {
    pub fn new<K: Into<String>, V: Into<String>>(entries: impl IntoIterator<Item = (K, V)>) -> KV {
        KV(entries
            .into_iter()
            .map(|(k, v)| (k.into(), Value::Str(v.into())))
            .collect())
    }

    pub fn into_value(self) -> Value {
        Value::object(self)
    }

    /// Pairs sorted by name, except that `alertname` comes first.
    fn sorted_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        if let Some(i) = pairs.iter().position(|(k, _)| k == "alertname") {
            let p = pairs.remove(i);
            pairs.insert(0, p);
        }
        pairs
    }
}

impl Object for KV {
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        let niladic = |v: Value| Some(field_result(name, args, v));
        match name {
            "SortedPairs" => niladic(pairs_value(self.sorted_pairs())),
            "Names" => niladic(Value::list(
                self.sorted_pairs().into_iter().map(|(k, _)| Value::Str(k)),
            )),
            "Values" => niladic(Value::list(
                self.sorted_pairs().into_iter().map(|(_, v)| Value::Str(v)),
            )),
            "String" => niladic(Value::Str(self.go_string())),
            "Remove" => Some(match args {
                [keys] => string_slice_arg(keys).map(|keys| {
                    Value::object(KV(self
                        .0
                        .iter()
                        .filter(|(k, _)| !keys.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()))
                }),
                _ => Err(Error::Arg(format!(
                    "wrong number of args for Remove: want 1 got {}",
                    args.len()
                ))),
            }),
            _ => None,
        }
    }
    fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        Some(&self.0)
    }
    fn map_zero(&self) -> Value {
        Value::Str(String::new())
    }
    fn type_name(&self) -> &str {
        "template.KV"
    }
    fn go_string(&self) -> String {
        pairs_string(&self.sorted_pairs())
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::Map(Arc::new(self.0.clone())))
    }
}

fn pairs_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs_value(pairs: Vec<(String, String)>) -> Value {
    let items = pairs.iter().map(|(k, v)| pair(k, v)).collect();
    Value::object(Pairs(pairs, items))
}

/// Alertmanager's `Pairs`: a list of `Pair{Name, Value}` with `.Names` and `.Values`.
#[derive(Debug)]
struct Pairs(Vec<(String, String)>, Vec<Value>);

impl Object for Pairs {
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        let v = match name {
            "Names" => Value::list(self.0.iter().map(|(k, _)| Value::Str(k.clone()))),
            "Values" => Value::list(self.0.iter().map(|(_, v)| Value::Str(v.clone()))),
            "String" => Value::Str(self.go_string()),
            _ => return None,
        };
        Some(field_result(name, args, v))
    }
    fn as_list(&self) -> Option<&[Value]> {
        Some(&self.1)
    }
    fn type_name(&self) -> &str {
        "template.Pairs"
    }
    fn go_string(&self) -> String {
        pairs_string(&self.0)
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::list(self.1.iter().cloned()))
    }
}

fn pair(k: &str, v: &str) -> Value {
    Value::object(Struct::new(
        "template.Pair",
        [("Name", Value::str(k)), ("Value", Value::str(v))],
    ))
}

/// Alertmanager's `Alerts`: a list of alerts (objects or maps with a `.Status` of `firing` or
/// `resolved`) with `.Firing` and `.Resolved`.
#[derive(Debug, Clone, Default)]
pub struct Alerts(Vec<Value>);

impl Alerts {
    pub fn new(alerts: Vec<Value>) -> Alerts {
        Alerts(alerts)
    }

    pub fn into_value(self) -> Value {
        Value::object(self)
    }

    fn with_status(&self, status: &str) -> Value {
        Value::list(
            self.0
                .iter()
                .filter(|a| field_of(a, "Status").is_some_and(|s| s.as_str() == Some(status)))
                .cloned(),
        )
    }
}

impl Object for Alerts {
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        let v = match name {
            "Firing" => self.with_status("firing"),
            "Resolved" => self.with_status("resolved"),
            _ => return None,
        };
        Some(field_result(name, args, v))
    }
    fn as_list(&self) -> Option<&[Value]> {
        Some(&self.0)
    }
    fn type_name(&self) -> &str {
        "template.Alerts"
    }
    fn go_string(&self) -> String {
        value_string(&Value::list(self.0.iter().cloned()))
    }
}

/// `encoding/json.Marshal` of a value: map keys sorted, HTML-safe string escaping, Go's float
/// format, times as RFC 3339.
fn to_json(v: &Value, out: &mut String, depth: usize) -> Result<()> {
    if depth > 100 {
        return Err(Error::func(
            "json: unsupported value: encountered a cycle or too deep nesting",
        ));
    }
    match v {
        Value::Nil | Value::Missing => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Duration(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if f.is_nan() || f.is_infinite() {
                return Err(Error::func(format!(
                    "json: unsupported value: {}",
                    format_float(*f, 'g', -1)
                )));
            }
            let abs = f.abs();
            let mut s = format_float(
                *f,
                if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                    'e'
                } else {
                    'f'
                },
                -1,
            );
            if let Some(i) = s.find("e-0") {
                s.remove(i + 2);
            }
            out.push_str(&s);
        }
        Value::Str(s) | Value::Html(s) => json_string(s, out),
        Value::Time(t) => json_string(&t.rfc3339_nano(), out),
        Value::List(l) => json_list(l, out, depth)?,
        Value::Map(_) | Value::StrMap(_) => {
            let entries = v.map_view().map(|m| m.entries()).unwrap_or_default();
            out.push('{');
            for (i, (k, e)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                to_json(e, out, depth + 1)?;
            }
            out.push('}');
        }
        Value::Object(o) => {
            if let Some(j) = o.to_json() {
                to_json(&j, out, depth + 1)?;
            } else if let Some(l) = o.as_list() {
                json_list(l, out, depth)?;
            } else if let Some(m) = o.as_map() {
                to_json(&Value::Map(Arc::new(m.clone())), out, depth + 1)?;
            } else if let Some(u) = o.underlying() {
                to_json(&u, out, depth + 1)?;
            } else {
                return Err(Error::func(format!("json: unsupported type: {}", o.type_name())));
            }
        }
    }
    Ok(())
}

fn json_list(l: &[Value], out: &mut String, depth: usize) -> Result<()> {
    out.push('[');
    for (i, e) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        to_json(e, out, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
