//! Go's `text/template` language over dynamic [`Value`]s, faithful enough that Prometheus rule
//! annotations and Alertmanager notification templates render byte for byte as Go renders them,
//! with Prometheus's ([`prometheus`]) and Alertmanager's ([`alertmanager`]) function sets.
//! Pure: no IO, no clock except where a caller hands one in; execution is bounded in depth,
//! steps and output size so untrusted templates cannot hang or exhaust memory.
//!
//! ```
//! use template::{MissingKey, Template, Value, prometheus};
//! // Prometheus prepends these definitions to every annotation template.
//! let defs = "{{$labels := .Labels}}{{$value := .Value}}";
//! let mut t = Template::new("summary", prometheus::funcs());
//! t.set_missing_key(MissingKey::Zero);
//! t.parse(&format!("{defs}{{{{ $labels.instance }}}} is at {{{{ humanize $value }}}}")).unwrap();
//! let data = Value::map([
//!     ("Labels", Value::map_of_strings([("instance", "db1")])),
//!     ("Value", Value::Float(1234567.0)),
//! ]);
//! assert_eq!(t.execute(&data).unwrap(), "db1 is at 1.235M");
//! let err = Template::new("x", prometheus::funcs()).parse("{{ nosuch 1 }}").unwrap_err();
//! assert_eq!(err.to_string(), r#"template: x:1: function "nosuch" not defined"#);
//! ```

pub mod alertmanager;
mod error;
mod exec;
mod fmt;
mod funcs;
mod lex;
mod parse;
pub mod prometheus;
mod strconv;
mod time;
mod value;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use error::{Error, Result};
pub use exec::{Limits, MissingKey};
pub use fmt::{format_float, quote, sprint, sprintf, sprintln, value_string};
pub use funcs::{Arity, Func, Funcs, html_escape, js_escape, query_escape, str_arg};
pub use time::{Time, Zone, duration_string};
pub use value::{Object, Struct, Value, field_of, field_result};

/// A named set of templates, like Go's `*template.Template` with its associated templates.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    funcs: Funcs,
    trees: BTreeMap<String, Arc<parse::Tree>>,
    missing_key: MissingKey,
    limits: Limits,
}

impl Template {
    /// An empty set whose main template is `name`. Go's builtins are always available; `funcs`
    /// add to them or replace them.
    pub fn new(name: &str, funcs: Funcs) -> Template {
        let mut all = Funcs::builtins();
        all.extend(&funcs);
        Template {
            name: name.to_string(),
            funcs: all,
            trees: BTreeMap::new(),
            missing_key: MissingKey::Default,
            limits: Limits::default(),
        }
    }

    /// Go's `Option("missingkey=…")`. Prometheus and Alertmanager both use [`MissingKey::Zero`].
    pub fn set_missing_key(&mut self, missing_key: MissingKey) {
        self.missing_key = missing_key;
    }

    /// Bounds on execution; [`Limits::default`] unless set.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The name given to [`Template::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The functions templates of this set can call.
    pub fn funcs(&self) -> &Funcs {
        &self.funcs
    }

    /// Parses `text` as the body of this template (Go's `t.Parse`); `define`d templates join the
    /// set. May be called again with more text: later definitions replace earlier ones, and an
    /// empty body (only spaces and comments) never replaces a template, as in Go.
    pub fn parse(&mut self, text: &str) -> Result<()> {
        let name = self.name.clone();
        self.parse_named(&name, text)
    }

    /// Parses `text` as another named template of the set (Go's `t.New(name).Parse(text)`).
    pub fn parse_named(&mut self, name: &str, text: &str) -> Result<()> {
        let trees = parse::parse(name, text, &self.funcs)?;
        for (n, tree) in trees {
            if parse::is_empty_list(&tree.root) && self.trees.contains_key(&n) {
                continue;
            }
            self.trees.insert(n, Arc::new(tree));
        }
        Ok(())
    }

    /// Executes the template named at [`Template::new`].
    pub fn execute(&self, data: &Value) -> Result<String> {
        self.run(&self.name, data, false)
    }

    /// Executes the named template of the set (Go's `ExecuteTemplate`).
    pub fn execute_named(&self, name: &str, data: &Value) -> Result<String> {
        self.run(name, data, false)
    }

    /// HTML mode, a simplification of html/template: the output of every action is HTML-escaped
    /// unless it is [`Value::Html`], and an absent value prints nothing. Text between actions is
    /// left as is; there is no context-dependent (attribute, URL, script) escaping.
    pub fn execute_html(&self, data: &Value) -> Result<String> {
        self.run(&self.name, data, true)
    }

    /// [`Template::execute_html`] for a named template of the set.
    pub fn execute_html_named(&self, name: &str, data: &Value) -> Result<String> {
        self.run(name, data, true)
    }

    /// Whether the set has a template of this name.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of the templates in the set, sorted.
    pub fn names(&self) -> Vec<String> {
        self.trees.keys().cloned().collect()
    }

    fn run(&self, name: &str, data: &Value, html: bool) -> Result<String> {
        match self.trees.get(name) {
            Some(tree) => exec::execute(self, tree, data, html),
            None if name == self.name => Err(Error::Exec(format!(
                "template: {name}: {} is an incomplete or empty template",
                quote(name, false)
            ))),
            None => Err(Error::Exec(format!(
                "template: no template {} associated with template {}",
                quote(name, false),
                quote(&self.name, false)
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
