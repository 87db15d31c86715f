//! Label and annotation templates of alerting rules, expanded as Prometheus does: Go template syntax
//! with `$labels`, `$externalLabels`, `$externalURL` and `$value` defined in front of the text, the
//! template named `__alert_<alertname>`, Prometheus's functions plus `query`, missing label keys
//! reading as empty strings (`missingkey=zero`), and a failed expansion leaving an
//! `<error expanding template: …>` text in place of the value.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use template::{Funcs, MissingKey, Struct, Template, Value};

use crate::rule::EvalCtx;

/// What Prometheus puts in front of every rule template.
const DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

fn new_template(name: &str, funcs: Funcs) -> Template {
    let mut t = Template::new(name, funcs);
    t.set_missing_key(MissingKey::Zero);
    t
}

/// Checks that `text` parses as a template of alert `alert` (promtool's check).
pub fn check(alert: &str, text: &str) -> Result<(), String> {
    let name = format!("__alert_{alert}");
    let mut funcs = template::prometheus::funcs();
    // Only parsed here: `query` must exist, it is never called.
    funcs.insert(
        "query",
        Arc::new(|_: &[Value]| Err(template::Error::func("no store to query while checking"))),
    );
    let mut t = new_template(&name, funcs);
    t.parse(&format!("{DEFS}{text}")).map_err(|e| e.to_string())
}

/// Expands the templates of one rule during one evaluation; parses each distinct text once.
pub struct Expander<'a> {
    name: String,
    funcs: Funcs,
    external_labels: Value,
    external_url: &'a str,
    parsed: RefCell<HashMap<String, Result<Arc<Template>, String>>>,
}

impl<'a> Expander<'a> {
    pub fn new(alert: &str, ctx: &'a EvalCtx<'a>) -> Self {
        let ts = ctx.query_ts();
        let mut funcs = template::prometheus::funcs_with(ctx.external_url, ts);
        let engine = ctx.engine.clone();
        let store = ctx.store.clone();
        funcs.insert(
            "query",
            Arc::new(move |args: &[Value]| query(&engine, store.as_ref(), ts, args)),
        );
        Self {
            name: format!("__alert_{alert}"),
            funcs,
            external_labels: Value::StrMap(Arc::new(ctx.external_labels.clone())),
            external_url: ctx.external_url,
            parsed: RefCell::new(HashMap::new()),
        }
    }

    /// Expands `text` for one sample; errors become Prometheus's error text.
    pub fn expand(&self, text: &str, labels: &BTreeMap<String, String>, value: f64) -> String {
        if !text.contains("{{") {
            return text.to_string();
        }
        let tmpl = {
            let mut parsed = self.parsed.borrow_mut();
            parsed
                .entry(text.to_string())
                .or_insert_with(|| {
                    let mut t = new_template(&self.name, self.funcs.clone());
                    t.parse(&format!("{DEFS}{text}"))
                        .map(|()| Arc::new(t))
                        .map_err(|e| format!("error parsing template {}: {e}", self.name))
                })
                .clone()
        };
        let data = Value::object(Struct::new(
            "template.tmplData",
            [
                ("Labels", Value::StrMap(Arc::new(labels.clone()))),
                ("ExternalLabels", self.external_labels.clone()),
                ("ExternalURL", Value::Str(self.external_url.to_string())),
                ("Value", Value::Float(value)),
            ],
        ));
        let result = tmpl.and_then(|t| {
            t.execute(&data)
                .map_err(|e| format!("error executing template {}: {e}", self.name))
        });
        match result {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(template = %self.name, error = %e, "expanding alert template failed");
                format!("<error expanding template: {e}>")
            }
        }
    }
}

/// The template function `query`: an instant query at the evaluation time, as a list of samples
/// (`.Labels`, `.Value`); a scalar is one sample without labels.
fn query(
    engine: &promql::Engine,
    store: &dyn storage::Queryable,
    ts: i64,
    args: &[Value],
) -> template::Result<Value> {
    let q = template::str_arg(args, 0)?;
    let res = engine
        .instant(store, q, ts)
        .map_err(|e| template::Error::func(e.to_string()))?;
    let samples = match res.value {
        promql::Value::Vector(v) => v
            .into_iter()
            .map(|e| {
                let labels = e
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                template::prometheus::sample(labels, e.v)
            })
            .collect(),
        promql::Value::Scalar { v, .. } => {
            vec![template::prometheus::sample(BTreeMap::new(), v)]
        }
        _ => {
            return Err(template::Error::func("rule result is not a vector or scalar"));
        }
    };
    Ok(template::prometheus::query_result(samples))
}
