//! The dynamic values templates work on, standing in for the Go values text/template reflects
//! over: their Go type names, truth, and the list and map views `range`, `index` and `len` use.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::time::Time;

/// A Go value as a template sees it.
#[derive(Clone)]
pub enum Value {
    /// Go `nil` (a nil pointer or the `nil` literal); prints `<nil>`.
    Nil,
    /// An absent map key or invalid value; prints `<no value>`.
    Missing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `html/template.HTML`, e.g. from `safeHtml`: not escaped in HTML mode.
    Html(String),
    /// A Go slice of `interface{}`.
    List(Arc<Vec<Value>>),
    /// A Go `map[string]interface{}`; an absent key reads as [`Value::Missing`]. Range iterates in
    /// key order as Go does.
    Map(Arc<BTreeMap<String, Value>>),
    /// A Go `map[string]string` (label sets): under `missingkey=zero` an absent key reads as `""`.
    StrMap(Arc<BTreeMap<String, String>>),
    Time(Time),
    /// A Go `time.Duration` in nanoseconds; prints like Go (`1h2m3.5s`).
    Duration(i64),
    Object(Arc<dyn Object>),
}

/// A Go struct, pointer, or named slice or map type with methods, implemented by the caller.
pub trait Object: Send + Sync + fmt::Debug {
    /// Field access or method call (`args` empty for a field or niladic method). `None`: no such
    /// field or method. A failing method returns `Err(Error::Func(..))`.
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>>;
    /// When the object is a Go slice type with methods (Alertmanager's `Alerts` has `.Firing`):
    /// what range, len, index and slice see.
    fn as_list(&self) -> Option<&[Value]> {
        None
    }
    /// When the object is a Go map type with methods (Alertmanager's `KV`): what range, len, index
    /// and `.key` access see.
    fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        None
    }
    /// The zero value of the map's element type, read for an absent key by `index` and by `.key`
    /// under `missingkey=zero`: `Value::Str("")` for a map of strings.
    fn map_zero(&self) -> Value {
        Value::Missing
    }
    /// When the object is a Go named basic type (`time.Month`): its underlying value, which
    /// comparisons, truth and numeric printf verbs see.
    fn underlying(&self) -> Option<Value> {
        None
    }
    /// The Go type name in error messages and `%T` (`template.KV`, `*template.sample`).
    fn type_name(&self) -> &str {
        "struct"
    }
    /// How fmt's `%v` prints it (its `String` method, or Go's struct printing).
    fn go_string(&self) -> String;
    /// What `toJson` encodes in its place, when it can be encoded.
    fn to_json(&self) -> Option<Value> {
        None
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Missing => write!(f, "Missing"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::Html(s) => write!(f, "Html({s:?})"),
            Value::List(l) => f.debug_tuple("List").field(l).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::StrMap(m) => f.debug_tuple("StrMap").field(m).finish(),
            Value::Time(t) => write!(f, "Time({})", t.go_string()),
            Value::Duration(d) => write!(f, "Duration({d})"),
            Value::Object(o) => write!(f, "Object({o:?})"),
        }
    }
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// A Go `map[string]interface{}`.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// A Go `map[string]string`, such as a label set.
    pub fn map_of_strings<K: Into<String>, V: Into<String>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Value {
        Value::StrMap(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        ))
    }

    pub fn object(o: impl Object + 'static) -> Value {
        Value::Object(Arc::new(o))
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil | Value::Missing => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_) => "int".to_string(),
            Value::Float(_) => "float64".to_string(),
            Value::Str(_) => "string".to_string(),
            Value::Html(_) => "template.HTML".to_string(),
            Value::List(_) => "[]interface {}".to_string(),
            Value::Map(_) => "map[string]interface {}".to_string(),
            Value::StrMap(_) => "map[string]string".to_string(),
            Value::Time(_) => "time.Time".to_string(),
            Value::Duration(_) => "time.Duration".to_string(),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// Go's truth for `if`, `with`, `and`, `or` and `not`: not the zero value of its type.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil | Value::Missing => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Duration(i) => *i != 0,
            Value::Float(x) => *x != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::Time(_) => true,
            Value::Object(o) => {
                if let Some(l) = o.as_list() {
                    !l.is_empty()
                } else if let Some(m) = o.as_map() {
                    !m.is_empty()
                } else if let Some(u) = o.underlying() {
                    u.is_true()
                } else {
                    true
                }
            }
        }
    }

    /// The string inside a Go string kind (`string` or `template.HTML`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s),
            _ => None,
        }
    }

    /// The elements when this is a Go slice.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            Value::Object(o) => o.as_list(),
            _ => None,
        }
    }

    /// The entries when this is a Go map.
    pub(crate) fn map_view(&self) -> Option<MapView<'_>> {
        match self {
            Value::Map(m) => Some(MapView::Any(m, Value::Missing)),
            Value::StrMap(m) => Some(MapView::Str(m)),
            Value::Object(o) => o.as_map().map(|m| MapView::Any(m, o.map_zero())),
            _ => None,
        }
    }

    /// The value comparisons and numeric verbs see: the underlying value of a named basic type.
    pub(crate) fn basic(&self) -> Value {
        match self {
            Value::Object(o) => o.underlying().unwrap_or_else(|| self.clone()),
            _ => self.clone(),
        }
    }
}

/// A read-only view of a Go map of either element type.
pub(crate) enum MapView<'a> {
    /// Values of any type, with the zero value of the element type.
    Any(&'a BTreeMap<String, Value>, Value),
    Str(&'a BTreeMap<String, String>),
}

impl MapView<'_> {
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        match self {
            MapView::Any(m, _) => m.get(key).cloned(),
            MapView::Str(m) => m.get(key).map(|s| Value::Str(s.clone())),
        }
    }

    pub(crate) fn zero(&self) -> Value {
        match self {
            MapView::Any(_, zero) => zero.clone(),
            MapView::Str(_) => Value::Str(String::new()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            MapView::Any(m, _) => m.len(),
            MapView::Str(m) => m.len(),
        }
    }

    /// Entries in key order, as Go's range and fmt sort map keys.
    pub(crate) fn entries(&self) -> Vec<(String, Value)> {
        match self {
            MapView::Any(m, _) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            MapView::Str(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                .collect(),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Value {
        Value::List(Arc::new(l))
    }
}

impl From<Time> for Value {
    fn from(t: Time) -> Value {
        Value::Time(t)
    }
}

impl From<BTreeMap<String, String>> for Value {
    fn from(m: BTreeMap<String, String>) -> Value {
        Value::StrMap(Arc::new(m))
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Arc::new(m))
    }
}

/// A Go struct (or pointer to one) with exported fields and no methods, for building template
/// data such as Alertmanager's `Alert` or Prometheus's `sample`. Prints as Go prints a struct:
/// `{v1 v2 …}` (`&{…}` for a pointer).
#[derive(Debug, Clone)]
pub struct Struct {
    type_name: String,
    fields: Vec<(String, Value)>,
    pointer: bool,
}

impl Struct {
    /// A struct of Go type `type_name` (e.g. `template.Alert`, or `*template.sample` for a
    /// pointer) with its fields in declaration order.
    pub fn new<K: Into<String>>(type_name: &str, fields: impl IntoIterator<Item = (K, Value)>) -> Struct {
        Struct {
            type_name: type_name.to_string(),
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            pointer: type_name.starts_with('*'),
        }
    }

    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

impl Object for Struct {
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        let v = self.field(name)?;
        Some(field_result(name, args, v.clone()))
    }
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn go_string(&self) -> String {
        let inner: Vec<String> = self
            .fields
            .iter()
            .map(|(_, v)| crate::fmt::value_string(v))
            .collect();
        format!("{}{{{}}}", if self.pointer { "&" } else { "" }, inner.join(" "))
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::map(
            self.fields.iter().map(|(k, v)| (k.clone(), v.clone())),
        ))
    }
}

/// The result of reading struct field `name`: Go refuses arguments to a field.
pub fn field_result(name: &str, args: &[Value], v: Value) -> Result<Value> {
    if args.is_empty() {
        Ok(v)
    } else {
        Err(crate::Error::Arg(format!(
            "{name} has arguments but cannot be invoked as function"
        )))
    }
}

/// Field or niladic method `name` of a value (struct field, object method or map key), as
/// `.name` reads it under `missingkey=default`; `None` when there is none.
pub fn field_of(v: &Value, name: &str) -> Option<Value> {
    if let Value::Object(o) = v
        && let Some(Ok(r)) = o.get(name, &[])
    {
        return Some(r);
    }
    v.map_view().and_then(|m| m.get(name))
}
