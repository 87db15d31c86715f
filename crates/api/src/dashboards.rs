//! Dashboards for the web UI: the ones built into the binary, those provisioned from a folder named
//! in the config (re-read on every request, so a changed file shows on the next load), and those
//! saved from the UI under `<data-dir>/dashboards/`. For one uid a saved copy wins over a
//! provisioned file, which wins over the built-in one; deleting the saved copy reverts to the
//! others. The format is in `docs/format/dashboards.md`.
//!
//! `GET /api/pharos/v1/dashboards` lists them; `GET|PUT|DELETE /api/pharos/v1/dashboards/{uid}`
//! reads, saves (validated: each field that is wrong is named) and reverts one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ApiState;
use crate::read::{ApiError, success};

/// Largest dashboard accepted by `PUT`.
pub const MAX_DASHBOARD_BYTES: usize = 1 << 20;

const PANEL_TYPES: [&str; 5] = ["timeseries", "stat", "gauge", "table", "bargauge"];

/// Where a dashboard comes from, in increasing precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Builtin,
    Provisioned,
    Saved,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Provisioned => "provisioned",
            Source::Saved => "saved",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub uid: String,
    pub source: Source,
    pub body: Value,
    /// Whether a lower-precedence version exists under the saved one (deleting reverts to it).
    pub shadows: bool,
}

pub struct Store {
    builtin: Vec<(String, Value)>,
    provision_dir: RwLock<Option<PathBuf>>,
    saved_dir: PathBuf,
}

impl Store {
    /// `builtin` is (file name, JSON text); each must be a valid dashboard. `saved_dir` is created
    /// on the first save.
    pub fn new(builtin: &[(&str, &str)], saved_dir: PathBuf) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for (name, text) in builtin {
            let v: Value =
                serde_json::from_str(text).map_err(|e| format!("built-in dashboard {name}: {e}"))?;
            validate(&v).map_err(|e| format!("built-in dashboard {name}: {e}"))?;
            let uid = uid_of(&v, name);
            parsed.push((uid, v));
        }
        Ok(Self {
            builtin: parsed,
            provision_dir: RwLock::new(None),
            saved_dir,
        })
    }

    /// The folder of provisioned dashboards (`dashboards.dir` in the config), or none.
    pub fn set_provision_dir(&self, dir: Option<PathBuf>) {
        *self.provision_dir.write().unwrap_or_else(|e| e.into_inner()) = dir;
    }

    /// Every dashboard by uid, with the files that could not be read and why.
    pub fn all(&self) -> (BTreeMap<String, Dashboard>, Vec<String>) {
        let mut out: BTreeMap<String, Dashboard> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut put = |uid: String, source: Source, body: Value| {
            let shadows = out.contains_key(&uid);
            out.insert(
                uid.clone(),
                Dashboard {
                    uid,
                    source,
                    body,
                    shadows,
                },
            );
        };
        for (uid, v) in &self.builtin {
            put(uid.clone(), Source::Builtin, v.clone());
        }
        let dir = self
            .provision_dir
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(dir) = dir {
            for (uid, v) in read_dir(&dir, &mut problems) {
                put(uid, Source::Provisioned, v);
            }
        }
        for (uid, v) in read_dir(&self.saved_dir, &mut problems) {
            put(uid, Source::Saved, v);
        }
        (out, problems)
    }

    pub fn get(&self, uid: &str) -> Option<Dashboard> {
        self.all().0.remove(uid)
    }

    /// Validates and saves `body` as dashboard `uid`, durably (written, fsynced, renamed).
    pub fn save(&self, uid: &str, body: &[u8]) -> Result<Value, String> {
        check_uid(uid)?;
        let mut v: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        validate(&v)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("uid".into(), json!(uid));
        }
        std::fs::create_dir_all(&self.saved_dir)
            .map_err(|e| format!("creating {}: {e}", self.saved_dir.display()))?;
        let path = self.saved_dir.join(format!("{uid}.json"));
        let tmp = self.saved_dir.join(format!(".{uid}.json.tmp"));
        let text = serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.saved_dir)?.sync_all()
        };
        write().map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(v)
    }

    /// Removes the saved copy of `uid`; false when there is none.
    pub fn delete(&self, uid: &str) -> Result<bool, String> {
        check_uid(uid)?;
        let path = self.saved_dir.join(format!("{uid}.json"));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("removing {}: {e}", path.display())),
        }
    }
}

fn uid_of(v: &Value, file_name: &str) -> String {
    match v.get("uid").and_then(Value::as_str) {
        Some(u) if check_uid(u).is_ok() => u.to_string(),
        _ => file_name
            .rsplit('/')
            .next()
            .unwrap_or(file_name)
            .trim_end_matches(".json")
            .to_string(),
    }
}

fn read_dir(dir: &FsPath, problems: &mut Vec<String>) -> Vec<(String, Value)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let parsed = std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
            .and_then(|v| validate(&v).map(|()| v));
        match parsed {
            Ok(v) => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                out.push((uid_of(&v, &name), v));
            }
            Err(e) => problems.push(format!("{}: {e}", p.display())),
        }
    }
    out
}

fn check_uid(uid: &str) -> Result<(), String> {
    let ok = !uid.is_empty()
        && uid.len() <= 64
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid dashboard uid {uid:?}: use 1 to 64 letters, digits, '-' or '_'"
        ))
    }
}

/// Checks a dashboard's shape; the error names the field (`panels[2].targets[0].expr: …`).
pub fn validate(v: &Value) -> Result<(), String> {
    let obj = v.as_object().ok_or("a dashboard must be a JSON object")?;
    match obj.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => {}
        _ => return Err("title: required, a non-empty string".into()),
    }
    let vars = match obj.get("variables") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err("variables: must be an array".into()),
    };
    let mut names = Vec::new();
    for (i, var) in vars.iter().enumerate() {
        let name = var
            .get("name")
            .and_then(Value::as_str)
            .ok_or(format!("variables[{i}].name: required, a string"))?;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || name.starts_with("__")
        {
            return Err(format!(
                "variables[{i}].name: {name:?} must be letters, digits and '_', not starting with '__'"
            ));
        }
        let query = var
            .get("query")
            .and_then(Value::as_str)
            .ok_or(format!("variables[{i}].query: required, a string"))?;
        if !query.trim_start().starts_with("label_values(") {
            return Err(format!(
                "variables[{i}].query: {query:?} is not label_values(label) or label_values(selector, label)"
            ));
        }
        names.push(name.to_string());
    }
    let panels = obj
        .get("panels")
        .and_then(Value::as_array)
        .ok_or("panels: required, an array")?;
    for (i, p) in panels.iter().enumerate() {
        let at = format!("panels[{i}]");
        let kind = p
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("{at}.type: required, one of {}", PANEL_TYPES.join(", ")))?;
        if !PANEL_TYPES.contains(&kind) {
            return Err(format!(
                "{at}.type: unknown panel type {kind:?}: use one of {}",
                PANEL_TYPES.join(", ")
            ));
        }
        if let Some(w) = p.get("w")
            && !w.as_u64().is_some_and(|w| (1..=12).contains(&w))
        {
            return Err(format!("{at}.w: {w} is not a width from 1 to 12 columns"));
        }
        let targets = p
            .get("targets")
            .and_then(Value::as_array)
            .ok_or(format!("{at}.targets: required, an array of {{\"expr\": …}}"))?;
        if targets.is_empty() {
            return Err(format!("{at}.targets: at least one query"));
        }
        for (j, t) in targets.iter().enumerate() {
            let expr = t
                .get("expr")
                .and_then(Value::as_str)
                .ok_or(format!("{at}.targets[{j}].expr: required, a string"))?;
            let plain = substitute_for_check(expr, &names);
            promql_syntax::parse(&plain).map_err(|e| format!("{at}.targets[{j}].expr: {e}"))?;
        }
    }
    Ok(())
}

/// The expression with `$__interval`-style and dashboard variables replaced by sample values, so
/// that its syntax can be checked before any variable has a value.
fn substitute_for_check(expr: &str, vars: &[String]) -> String {
    replace_variables(expr, |name| match name {
        "__interval" | "__rate_interval" | "__range" => Some("1m".to_string()),
        n if vars.iter().any(|v| v == n) => Some("x".to_string()),
        _ => None,
    })
}

/// Replaces each `$name` and `${name}` (letters, digits, `_`) for which `value` has a text, as the
/// UI does; the others stay as they are.
fn replace_variables(expr: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let is_name = |n: &str| !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let braced = after
            .strip_prefix('{')
            .and_then(|x| x.find('}').map(|e| (&x[..e], e + 2)))
            .filter(|(n, _)| is_name(n));
        let (name, len) = braced.unwrap_or_else(|| {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        });
        match Some(name).filter(|n| is_name(n)).and_then(&value) {
            Some(v) => {
                out.push_str(&v);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn store(st: &ApiState) -> Result<&Arc<Store>, ApiError> {
    st.hooks.dashboards.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "dashboards are not set up",
        )
    })
}

fn summary(d: &Dashboard) -> Value {
    json!({
        "uid": d.uid,
        "title": d.body.get("title").cloned().unwrap_or(Value::Null),
        "description": d.body.get("description").cloned().unwrap_or(json!("")),
        "tags": d.body.get("tags").cloned().unwrap_or(json!([])),
        "source": d.source.as_str(),
        "revertible": d.source == Source::Saved && d.shadows,
    })
}

/// One `label_values(...)` lookup the UI makes for a variable: the label, the selector with the
/// variables before it substituted exactly as the UI substitutes them, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableOptions {
    pub label: String,
    pub selector: Option<String>,
    pub values: Vec<String>,
}

/// The label and selector of `label_values(label)` or `label_values(selector, label)`, split as the
/// UI splits them (at the last comma).
fn parse_label_values(q: &str) -> Option<(String, Option<String>)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?.trim();
    let is_name = |s: &str| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    match inner.rfind(',') {
        None => is_name(inner).then(|| (inner.to_string(), None)),
        Some(i) => {
            let label = inner[i + 1..].trim();
            let sel = inner[..i].trim();
            (is_name(label) && !sel.is_empty()).then(|| (label.to_string(), Some(sel.to_string())))
        }
    }
}

/// What a selection stands for in an expression, as the UI computes it: `.*` for All, the value
/// itself, or the values regex-escaped and joined by `|`.
fn variable_text(selected: &[String]) -> String {
    if selected.iter().any(|s| s == "$__all") {
        return ".*".into();
    }
    match selected {
        [] => String::new(),
        [one] => one.clone(),
        many => many
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// `$name` and `${name}` replaced by the values (escaped for a PromQL string), as the UI does.
fn substitute_values(expr: &str, values: &BTreeMap<String, String>) -> String {
    replace_variables(expr, |name| {
        values
            .get(name)
            .map(|v| v.replace('\\', "\\\\").replace('"', "\\\""))
    })
}

/// The lookups the UI will make for the dashboard's variables, in order, answered by `lookup`
/// (label, selector → values). `chosen` is each variable's selection from the page's URL
/// (`var-<name>`); without one a variable takes All when it offers it, else its first value.
/// Stops at a variable whose query is not `label_values(...)` or whose lookup fails.
pub fn variable_options(
    d: &Dashboard,
    chosen: &BTreeMap<String, Vec<String>>,
    mut lookup: impl FnMut(&str, Option<&str>) -> Option<Vec<String>>,
) -> Vec<VariableOptions> {
    let mut out = Vec::new();
    let mut values = BTreeMap::new();
    let vars = d
        .body
        .get("variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in vars {
        let (Some(name), Some(query)) = (
            v.get("name").and_then(Value::as_str),
            v.get("query").and_then(Value::as_str),
        ) else {
            break;
        };
        let Some((label, selector)) = parse_label_values(query) else {
            break;
        };
        let selector = selector.map(|s| substitute_values(&s, &values));
        let Some(found) = lookup(&label, selector.as_deref()) else {
            break;
        };
        let all = v.get("includeAll").and_then(Value::as_bool).unwrap_or(false);
        let selected = match chosen.get(name).filter(|c| !c.is_empty()) {
            Some(c) => c.clone(),
            None if all => vec!["$__all".to_string()],
            None => found.first().cloned().into_iter().collect(),
        };
        values.insert(name.to_string(), variable_text(&selected));
        out.push(VariableOptions {
            label,
            selector,
            values: found,
        });
    }
    out
}

/// The dashboard as the UI's page carries it: its summary and body, and the answers to its
/// variables' lookups, as JSON safe inside a `<script>` element (no `</script>` or `<!--` can end
/// it early).
pub fn boot_json(d: &Dashboard, options: &[VariableOptions]) -> String {
    let mut v = summary(d);
    v["dashboard"] = d.body.clone();
    v["variableOptions"] = options
        .iter()
        .map(|o| json!({"label": o.label, "match": o.selector, "values": o.values}))
        .collect();
    // `<` only occurs inside JSON strings, where `\u003c` means the same.
    v.to_string().replace('<', "\\u003c")
}

pub async fn list(State(st): State<Arc<ApiState>>) -> Response {
    let s = match store(&st) {
        Ok(s) => s.clone(),
        Err(e) => return e.into_response(),
    };
    match tokio::task::spawn_blocking(move || s.all()).await {
        Ok((all, problems)) => {
            let list: Vec<Value> = all.values().map(summary).collect();
            success(json!(list), problems)
        }
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

pub async fn get(State(st): State<Arc<ApiState>>, Path(uid): Path<String>) -> Response {
    let s = match store(&st) {
        Ok(s) => s.clone(),
        Err(e) => return e.into_response(),
    };
    let found = tokio::task::spawn_blocking(move || s.get(&uid).ok_or(uid)).await;
    match found {
        Ok(Ok(d)) => {
            let mut meta = summary(&d);
            meta["dashboard"] = d.body;
            success(meta, Vec::new())
        }
        Ok(Err(uid)) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no dashboard {uid:?}"),
        )
        .into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

pub async fn put(State(st): State<Arc<ApiState>>, Path(uid): Path<String>, body: Bytes) -> Response {
    let s = match store(&st) {
        Ok(s) => s.clone(),
        Err(e) => return e.into_response(),
    };
    if body.len() > MAX_DASHBOARD_BYTES {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_data",
            format!("a dashboard is at most {MAX_DASHBOARD_BYTES} bytes"),
        )
        .into_response();
    }
    match tokio::task::spawn_blocking(move || s.save(&uid, &body)).await {
        Ok(Ok(v)) => success(v, Vec::new()),
        Ok(Err(e)) => ApiError::bad_data(e).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

pub async fn delete(State(st): State<Arc<ApiState>>, Path(uid): Path<String>) -> Response {
    let s = match store(&st) {
        Ok(s) => s.clone(),
        Err(e) => return e.into_response(),
    };
    let u = uid.clone();
    match tokio::task::spawn_blocking(move || s.delete(&u)).await {
        Ok(Ok(true)) => success(json!({"uid": uid}), Vec::new()),
        Ok(Ok(false)) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("dashboard {uid:?} has no saved copy to delete"),
        )
        .into_response(),
        Ok(Err(e)) => ApiError::bad_data(e).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"{"title": "T", "panels": [{"type": "stat", "targets": [{"expr": "up"}]}]}"#;

    #[test]
    fn validation_names_the_field() {
        let bad = |s: &str| validate(&serde_json::from_str(s).unwrap()).unwrap_err();
        assert!(validate(&serde_json::from_str(MIN).unwrap()).is_ok());
        assert_eq!(bad("[]"), "a dashboard must be a JSON object");
        assert_eq!(bad(r#"{"panels": []}"#), "title: required, a non-empty string");
        assert!(
            bad(r#"{"title": "T", "panels": [{"type": "pie", "targets": []}]}"#)
                .starts_with("panels[0].type: unknown panel type \"pie\"")
        );
        assert_eq!(
            bad(r#"{"title": "T", "panels": [{"type": "stat", "w": 13, "targets": [{"expr": "up"}]}]}"#),
            "panels[0].w: 13 is not a width from 1 to 12 columns"
        );
        let e = bad(
            r#"{"title": "T", "panels": [{"type": "stat", "targets": [{"expr": "up"}, {"expr": "sum(up"}]}]}"#,
        );
        assert!(e.starts_with("panels[0].targets[1].expr: 1:"), "{e}");
        assert!(
            bad(r#"{"title": "T", "variables": [{"name": "x", "query": "up"}], "panels": []}"#)
                .starts_with("variables[0].query:")
        );
    }

    #[test]
    fn variables_and_intervals_pass_the_syntax_check() {
        let v = r#"{"title": "T", "variables": [{"name": "instance", "query": "label_values(up, instance)"}],
            "panels": [{"type": "timeseries", "targets": [
              {"expr": "rate(node_cpu_seconds_total{instance=\"$instance\"}[$__rate_interval])"},
              {"expr": "up{instance=~\"${instance}\"}"}]}]}"#;
        assert!(validate(&serde_json::from_str(v).unwrap()).is_ok());
        // An unknown variable is left as it is, and the parser says what is wrong.
        let v = r#"{"title": "T", "panels": [{"type": "stat", "targets": [{"expr": "rate(x[$nope])"}]}]}"#;
        assert!(validate(&serde_json::from_str(v).unwrap()).is_err());
        assert_eq!(
            substitute_for_check("a{b=\"$v\"}[$__interval] $other ${v}", &["v".into()]),
            "a{b=\"x\"}[1m] $other x"
        );
    }

    #[test]
    fn variable_lookups_follow_the_ui() {
        let body = serde_json::from_str(
            r#"{"title": "T", "panels": [], "variables": [
                {"name": "region", "query": "label_values(up, region)", "includeAll": true},
                {"name": "host", "query": "label_values(node_uname_info{region=~\"$region\"}, instance)"},
                {"name": "disk", "query": "label_values(node_disk_info{instance=\"${host}\"}, device)"}]}"#,
        )
        .unwrap();
        let d = Dashboard {
            uid: "t".into(),
            source: Source::Builtin,
            body,
            shadows: false,
        };
        let mut asked = Vec::new();
        let mut lookup = |label: &str, sel: Option<&str>| {
            asked.push((label.to_string(), sel.map(str::to_string)));
            Some(match label {
                "region" => vec!["eu".to_string(), "us".to_string()],
                "instance" => vec!["a\"b".to_string(), "c".to_string()],
                _ => vec!["vda".to_string()],
            })
        };
        let got = variable_options(&d, &BTreeMap::new(), &mut lookup);
        assert_eq!(got.len(), 3);
        assert_eq!(
            asked,
            [
                ("region".to_string(), Some("up".to_string())),
                (
                    "instance".to_string(),
                    Some(r#"node_uname_info{region=~".*"}"#.to_string())
                ),
                (
                    "device".to_string(),
                    Some(r#"node_disk_info{instance="a\"b"}"#.to_string())
                ),
            ]
        );
        // Values chosen in the URL are used instead; several are a regex alternation.
        let mut chosen = BTreeMap::new();
        chosen.insert(
            "region".to_string(),
            vec!["eu".to_string(), "us.west".to_string()],
        );
        let got = variable_options(&d, &chosen, |_, _| Some(vec!["x".to_string()]));
        assert_eq!(
            got[1].selector.as_deref(),
            Some(r#"node_uname_info{region=~"eu|us\\.west"}"#)
        );
        // A failed lookup stops there.
        assert!(variable_options(&d, &BTreeMap::new(), |_, _| None).is_empty());
        assert_eq!(
            parse_label_values("label_values(job)"),
            Some(("job".into(), None))
        );
        assert_eq!(
            parse_label_values("label_values(up{a=\"1,2\"}, job)")
                .unwrap()
                .1
                .as_deref(),
            Some("up{a=\"1,2\"}")
        );
        assert_eq!(parse_label_values("query_result(up)"), None);
    }

    #[test]
    fn saved_wins_over_provisioned_over_builtin_and_delete_reverts() {
        let dir = tempfile::tempdir().unwrap();
        let prov = dir.path().join("prov");
        std::fs::create_dir_all(&prov).unwrap();
        let builtin = r#"{"uid": "host", "title": "Built in", "panels": []}"#;
        let s = Store::new(&[("host.json", builtin)], dir.path().join("saved")).unwrap();
        assert_eq!(s.get("host").unwrap().source, Source::Builtin);
        std::fs::write(
            prov.join("host.json"),
            r#"{"title": "Provisioned", "panels": []}"#,
        )
        .unwrap();
        std::fs::write(prov.join("broken.json"), "{").unwrap();
        s.set_provision_dir(Some(prov.clone()));
        let (all, problems) = s.all();
        assert_eq!(all["host"].source, Source::Provisioned);
        assert_eq!(all["host"].body["title"], "Provisioned");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("broken.json"));
        s.save("host", br#"{"title": "Mine", "panels": []}"#).unwrap();
        let d = s.get("host").unwrap();
        assert_eq!((d.source, d.shadows), (Source::Saved, true));
        assert_eq!(d.body["uid"], "host");
        assert!(s.save("host", br#"{"title": ""}"#).is_err());
        assert_eq!(s.get("host").unwrap().body["title"], "Mine");
        assert!(
            s.save("../x", MIN.as_bytes())
                .unwrap_err()
                .contains("invalid dashboard uid")
        );
        assert!(s.delete("host").unwrap());
        assert!(!s.delete("host").unwrap());
        assert_eq!(s.get("host").unwrap().body["title"], "Provisioned");
    }
}
