//! Function maps and Go's predefined template functions (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print*`, `html`, `js`, `urlquery`, `eq`…`ge`), plus the argument helpers other
//! function sets use to check types the way Go's reflection-based calls do.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::fmt::{sprint, sprintf, sprintln, value_string};
use crate::value::Value;

/// A template function: gets the evaluated arguments (the piped value last).
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value> + Send + Sync>;

/// How many arguments a function takes; execution checks it before evaluating the arguments,
/// with Go's `wrong number of args for NAME: want N got M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// The function checks its arguments itself.
    Any,
    Exact(usize),
    AtLeast(usize),
}

/// Builtins execution treats specially, as Go does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// `and`/`or` evaluate their arguments lazily and return the deciding one.
    And,
    Or,
}

#[derive(Clone)]
pub(crate) struct FuncDef {
    pub f: Func,
    pub arity: Arity,
    pub special: Special,
}

/// A set of named functions; cheap to clone.
#[derive(Clone, Default)]
pub struct Funcs {
    map: Arc<HashMap<String, FuncDef>>,
}

impl fmt::Debug for Funcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_tuple("Funcs").field(&names).finish()
    }
}

impl Funcs {
    /// No functions. Templates always have Go's builtins besides these.
    pub fn new() -> Funcs {
        Funcs::default()
    }

    /// Go's predefined functions only.
    pub fn builtins() -> Funcs {
        static BUILTINS: OnceLock<Funcs> = OnceLock::new();
        BUILTINS.get_or_init(make_builtins).clone()
    }

    /// Adds or replaces a function that checks its own arguments.
    pub fn insert(&mut self, name: &str, f: Func) {
        self.insert_with_arity(name, Arity::Any, f);
    }

    /// Adds or replaces a function with a fixed argument count.
    pub fn insert_with_arity(&mut self, name: &str, arity: Arity, f: Func) {
        Arc::make_mut(&mut self.map).insert(
            name.to_string(),
            FuncDef {
                f,
                arity,
                special: Special::None,
            },
        );
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds every function of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: &Funcs) {
        let map = Arc::make_mut(&mut self.map);
        for (k, v) in other.map.iter() {
            map.insert(k.clone(), v.clone());
        }
    }

    /// The function names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.map.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<&FuncDef> {
        self.map.get(name)
    }

    fn add(
        &mut self,
        name: &str,
        arity: Arity,
        special: Special,
        f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    ) {
        Arc::make_mut(&mut self.map).insert(
            name.to_string(),
            FuncDef {
                f: Arc::new(f),
                arity,
                special,
            },
        );
    }
}

fn make_builtins() -> Funcs {
    let mut fs = Funcs::default();
    // `and` and `or` never run through here: execution short-circuits them.
    fs.add("and", Arity::AtLeast(1), Special::And, |a| {
        Ok(a.last().cloned().unwrap_or(Value::Missing))
    });
    fs.add("or", Arity::AtLeast(1), Special::Or, |a| {
        Ok(a.last().cloned().unwrap_or(Value::Missing))
    });
    fs.add("not", Arity::Exact(1), Special::None, |a| {
        Ok(Value::Bool(!a[0].is_true()))
    });
    fs.add("len", Arity::Exact(1), Special::None, |a| {
        length(&a[0]).map(|n| Value::Int(n as i64))
    });
    fs.add("index", Arity::AtLeast(1), Special::None, |a| {
        index(&a[0], &a[1..])
    });
    fs.add("slice", Arity::AtLeast(1), Special::None, |a| {
        slice(&a[0], &a[1..])
    });
    fs.add("call", Arity::AtLeast(1), Special::None, |a| {
        Err(Error::func(format!("non-function of type {}", a[0].type_name())))
    });
    fs.add("html", Arity::Any, Special::None, |a| {
        Ok(Value::Str(html_escape(&eval_args(a))))
    });
    fs.add("js", Arity::Any, Special::None, |a| {
        Ok(Value::Str(js_escape(&eval_args(a))))
    });
    fs.add("urlquery", Arity::Any, Special::None, |a| {
        Ok(Value::Str(query_escape(&eval_args(a))))
    });
    fs.add("print", Arity::Any, Special::None, |a| Ok(Value::Str(sprint(a))));
    fs.add("println", Arity::Any, Special::None, |a| {
        Ok(Value::Str(sprintln(a)))
    });
    fs.add("printf", Arity::AtLeast(1), Special::None, |a| {
        let format = str_arg(a, 0)?;
        Ok(Value::Str(sprintf(format, &a[1..])))
    });
    fs.add("eq", Arity::AtLeast(1), Special::None, |a| {
        eq(&a[0], &a[1..]).map(Value::Bool)
    });
    fs.add("ne", Arity::Exact(2), Special::None, |a| {
        eq(&a[0], &a[1..]).map(|t| Value::Bool(!t))
    });
    fs.add("lt", Arity::Exact(2), Special::None, |a| {
        lt(&a[0], &a[1]).map(Value::Bool)
    });
    fs.add("le", Arity::Exact(2), Special::None, |a| {
        le(&a[0], &a[1]).map(Value::Bool)
    });
    fs.add("gt", Arity::Exact(2), Special::None, |a| {
        le(&a[0], &a[1]).map(|t| Value::Bool(!t))
    });
    fs.add("ge", Arity::Exact(2), Special::None, |a| {
        lt(&a[0], &a[1]).map(|t| Value::Bool(!t))
    });
    fs
}

/// Argument `i` as a Go `string` (not `template.HTML`, which Go does not assign to `string`).
pub fn str_arg(args: &[Value], i: usize) -> Result<&str> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(Value::Missing) | None => Err(Error::Arg("invalid value; expected string".to_string())),
        Some(other) => Err(Error::arg_type("string", other.type_name())),
    }
}

/// Go's `evalArgs` for `html`, `js` and `urlquery`: `fmt.Sprint` of the arguments, with an
/// absent value printing `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.clone();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Missing => Value::Str("<no value>".to_string()),
            a => a.clone(),
        })
        .collect();
    sprint(&printable)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// html/template's escaping of text in HTML element content (it also escapes `+`).
pub(crate) fn html_content_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && !crate::fmt::is_print(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn length(v: &Value) -> Result<usize> {
    match v {
        Value::Missing => Err(Error::func("reflect: call of reflect.Value.Type on zero Value")),
        Value::Nil => Err(Error::func("len of nil pointer")),
        Value::Str(s) | Value::Html(s) => Ok(s.len()),
        v => {
            if let Some(l) = v.as_list() {
                Ok(l.len())
            } else if let Some(m) = v.map_view() {
                Ok(m.len())
            } else {
                Err(Error::func(format!("len of type {}", v.type_name())))
            }
        }
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize> {
    let x = match index.basic() {
        Value::Int(x) | Value::Duration(x) => x,
        Value::Missing | Value::Nil => return Err(Error::func("cannot index slice/array with nil")),
        other => {
            return Err(Error::func(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(Error::func(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Missing | Value::Nil) {
        return Err(Error::func("index of untyped nil"));
    }
    let mut item = item.clone();
    for idx in indexes {
        item = match &item {
            Value::Nil | Value::Missing => return Err(Error::func("index of nil pointer")),
            Value::Str(s) | Value::Html(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(&b) => Value::Int(i64::from(b)),
                    None => return Err(Error::func("reflect: string index out of range")),
                }
            }
            v => {
                if let Some(l) = v.as_list() {
                    let x = index_arg(idx, l.len())?;
                    match l.get(x) {
                        Some(e) => e.clone(),
                        None => return Err(Error::func("reflect: slice index out of range")),
                    }
                } else if let Some(m) = v.map_view() {
                    let key = match idx {
                        Value::Str(k) => k,
                        Value::Missing | Value::Nil => {
                            return Err(Error::func("value is nil; should be of type string"));
                        }
                        other => {
                            return Err(Error::func(format!(
                                "value has type {}; should be string",
                                other.type_name()
                            )));
                        }
                    };
                    m.get(key).unwrap_or_else(|| m.zero())
                } else {
                    return Err(Error::func(format!("can't index item of type {}", v.type_name())));
                }
            }
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Missing | Value::Nil) {
        return Err(Error::func("slice of untyped nil"));
    }
    if indexes.len() > 3 {
        return Err(Error::func(format!("too many slice indexes: {}", indexes.len())));
    }
    let len = match item {
        Value::Str(s) | Value::Html(s) => {
            if indexes.len() == 3 {
                return Err(Error::func("cannot 3-index slice a string"));
            }
            s.len()
        }
        v => match v.as_list() {
            Some(l) => l.len(),
            None => return Err(Error::func(format!("can't slice item of type {}", v.type_name()))),
        },
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(Error::func(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(Error::func(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    Ok(match item {
        Value::Str(s) | Value::Html(s) => {
            let bytes = &s.as_bytes()[idx[0]..idx[1]];
            let out = String::from_utf8_lossy(bytes).into_owned();
            if matches!(item, Value::Html(_)) {
                Value::Html(out)
            } else {
                Value::Str(out)
            }
        }
        v => Value::list(
            v.as_list()
                .map(|l| l[idx[0]..idx[1]].to_vec())
                .unwrap_or_default(),
        ),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BasicKind {
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Option<BasicKind> {
    match v {
        Value::Bool(_) => Some(BasicKind::Bool),
        Value::Int(_) | Value::Duration(_) => Some(BasicKind::Int),
        Value::Float(_) => Some(BasicKind::Float),
        Value::Str(_) | Value::Html(_) => Some(BasicKind::String),
        _ => None,
    }
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Missing | Value::Nil)
}

const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";
const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go's `eq`: `a == b || a == c || …` over basic kinds; other values compare by identity.
pub(crate) fn eq(arg1: &Value, rest: &[Value]) -> Result<bool> {
    if rest.is_empty() {
        return Err(Error::func("missing argument for comparison"));
    }
    let a1 = arg1.basic();
    let k1 = basic_kind(&a1);
    for arg in rest {
        let a2 = arg.basic();
        let k2 = basic_kind(&a2);
        let truth = if k1 != k2 {
            if !is_nil(&a1) && !is_nil(&a2) {
                return Err(Error::func(BAD_COMPARISON));
            }
            false
        } else {
            match (&a1, &a2) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(x) | Value::Duration(x), Value::Int(y) | Value::Duration(y)) => x == y,
                (Value::Str(x) | Value::Html(x), Value::Str(y) | Value::Html(y)) => x == y,
                _ => compare_other(&a1, &a2)?,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `==` on values without a basic kind: nil against nil, times and objects by identity; slices and
/// maps are not comparable.
fn compare_other(a: &Value, b: &Value) -> Result<bool> {
    if is_nil(a) || is_nil(b) {
        return Ok(is_nil(a) == is_nil(b));
    }
    match (a, b) {
        (Value::Time(x), Value::Time(y)) => Ok(x == y),
        (Value::Object(x), Value::Object(y)) if x.as_list().is_none() && x.as_map().is_none() => {
            Ok(std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)))
        }
        (Value::List(_) | Value::Map(_) | Value::StrMap(_) | Value::Object(_), _) => Err(Error::func(
            format!("non-comparable type {}: {}", value_string(a), a.type_name()),
        )),
        (_, Value::List(_) | Value::Map(_) | Value::StrMap(_) | Value::Object(_)) => Err(Error::func(
            format!("non-comparable type {}: {}", value_string(b), b.type_name()),
        )),
        _ => Err(Error::func(format!(
            "non-comparable types {}: {}, {}: {}",
            value_string(a),
            a.type_name(),
            b.type_name(),
            value_string(b)
        ))),
    }
}

pub(crate) fn lt(arg1: &Value, arg2: &Value) -> Result<bool> {
    let a = arg1.basic();
    let b = arg2.basic();
    let k1 = basic_kind(&a).ok_or_else(|| Error::func(BAD_COMPARISON_TYPE))?;
    let k2 = basic_kind(&b).ok_or_else(|| Error::func(BAD_COMPARISON_TYPE))?;
    if k1 != k2 {
        return Err(Error::func(BAD_COMPARISON));
    }
    Ok(match (&a, &b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x) | Value::Duration(x), Value::Int(y) | Value::Duration(y)) => x < y,
        (Value::Str(x) | Value::Html(x), Value::Str(y) | Value::Html(y)) => x < y,
        _ => return Err(Error::func(BAD_COMPARISON_TYPE)),
    })
}

fn le(arg1: &Value, arg2: &Value) -> Result<bool> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}
