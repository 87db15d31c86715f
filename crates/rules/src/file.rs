//! Rule files: Prometheus's YAML format (`groups:` of recording and alerting rules) and the checks
//! `promtool check rules` makes. Parsing collects every problem of a file rather than stopping at the
//! first, and each message names the group, the rule (1-based, as promtool counts) and the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// One group of a rule file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// `interval`; `None` uses the global evaluation interval.
    pub interval_ms: Option<i64>,
    /// `query_offset`; `None` uses the global `rule_query_offset`.
    pub query_offset_ms: Option<i64>,
    /// `limit`: most series a rule may produce (alerts for an alerting rule); 0 or less is none.
    pub limit: i64,
    /// Group `labels`, added to every rule's labels (a rule's own labels win).
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub expr: String,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `record: <metric name>`.
    Record(String),
    /// `alert: <alert name>`.
    Alert(String),
}

impl RuleSpec {
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Record(n) | RuleKind::Alert(n) => n,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Option<Vec<RawGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default, deserialize_with = "scalar")]
    name: String,
    #[serde(default, deserialize_with = "scalar")]
    interval: String,
    #[serde(default, deserialize_with = "scalar")]
    query_offset: String,
    #[serde(default)]
    limit: i64,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default, deserialize_with = "scalar")]
    record: String,
    #[serde(default, deserialize_with = "scalar")]
    alert: String,
    #[serde(default, deserialize_with = "scalar")]
    expr: String,
    #[serde(default, rename = "for", deserialize_with = "scalar")]
    for_: String,
    #[serde(default, deserialize_with = "scalar")]
    keep_firing_for: String,
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    annotations: BTreeMap<String, String>,
}

/// A YAML scalar read into a string as Go's YAML decoder does for string fields: numbers and booleans
/// as written, null as empty.
fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    scalar_text(&v).ok_or_else(|| serde::de::Error::custom("expected a string, not a list or mapping"))
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value;
    match v {
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => scalar_text(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

fn string_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::de::Error;
    let v = serde_yaml::Value::deserialize(d)?;
    let mut out = BTreeMap::new();
    match v {
        serde_yaml::Value::Null => {}
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                let k = scalar_text(&k).ok_or_else(|| D::Error::custom("map keys must be strings"))?;
                let v = scalar_text(&v).ok_or_else(|| {
                    D::Error::custom(format!("value of {k:?} must be a string, not a list or mapping"))
                })?;
                out.insert(k, v);
            }
        }
        _ => return Err(D::Error::custom("expected a mapping of strings")),
    }
    Ok(out)
}

/// A legacy (Prometheus 2) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// A legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses and checks one rule file's text. On failure returns every problem found, each a line of
/// promtool's shape (`group "a", rule 2, "name": …`), without the file name.
pub fn parse(text: &str) -> Result<Vec<GroupSpec>, Vec<String>> {
    let raw: RawFile = if text.trim().is_empty() {
        RawFile { groups: None }
    } else {
        serde_yaml::from_str(text).map_err(|e| vec![yaml_error(&e)])?
    };
    let mut errs = Vec::new();
    let mut groups = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (gi, g) in raw.groups.unwrap_or_default().into_iter().enumerate() {
        let gnum = gi + 1;
        if g.name.is_empty() {
            errs.push(format!("group {gnum}: Groupname must not be empty"));
        }
        if !seen.insert(g.name.clone()) {
            errs.push(format!("groupname: \"{}\" is repeated in the same file", g.name));
        }
        let interval_ms = duration_field(&g.interval, "interval", &g.name, &mut errs);
        let query_offset_ms = duration_field(&g.query_offset, "query_offset", &g.name, &mut errs);
        for k in g.labels.keys() {
            if !is_label_name(k) || k == model::METRIC_NAME {
                errs.push(format!("group {:?}: invalid label name: {k}", g.name));
            }
        }
        let mut rules = Vec::new();
        for (ri, r) in g.rules.unwrap_or_default().into_iter().enumerate() {
            let name = if r.alert.is_empty() { &r.record } else { &r.alert };
            let at = format!("group {:?}, rule {}, {:?}", g.name, ri + 1, name);
            match check_rule(r, &mut |m| errs.push(format!("{at}: {m}"))) {
                Some(rule) => rules.push(rule),
                None => continue,
            }
        }
        groups.push(GroupSpec {
            name: g.name,
            interval_ms: interval_ms.filter(|&ms| ms > 0),
            query_offset_ms,
            limit: g.limit,
            labels: g.labels,
            rules,
        });
    }
    if errs.is_empty() { Ok(groups) } else { Err(errs) }
}

/// A serde_yaml error with its position first, as Go's YAML errors put the line.
fn yaml_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    match e.location() {
        Some(loc) => {
            // serde_yaml appends " at line L column C"; say it once, in front.
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
            format!("{}:{}: {msg}", loc.line(), loc.column())
        }
        None => msg,
    }
}

fn duration_field(v: &str, field: &str, group: &str, errs: &mut Vec<String>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    match promql_syntax::parse_duration_checked(v) {
        Ok(ms) => i64::try_from(ms).ok(),
        Err(e) => {
            errs.push(format!("group {group:?}: {field}: {e}"));
            None
        }
    }
}

/// promtool's per-rule checks; reports each problem through `err` and returns the rule if it is
/// usable.
fn check_rule(r: RawRule, err: &mut dyn FnMut(String)) -> Option<RuleSpec> {
    let mut ok = true;
    let mut fail = |m: String| {
        ok = false;
        err(m)
    };
    if !r.record.is_empty() && !r.alert.is_empty() {
        fail("only one of 'record' and 'alert' must be set".into());
    }
    if r.record.is_empty() && r.alert.is_empty() {
        fail("one of 'record' or 'alert' must be set".into());
    }
    if r.expr.is_empty() {
        fail("field 'expr' must be set in rule".into());
    } else if let Err(e) = promql_syntax::parse(&r.expr) {
        fail(format!("could not parse expression: {e}"));
    }
    let mut dur = |v: &str, field: &str| -> i64 {
        if v.is_empty() {
            return 0;
        }
        match promql_syntax::parse_duration_checked(v) {
            Ok(ms) => i64::try_from(ms).unwrap_or(i64::MAX),
            Err(e) => {
                fail(format!("{field}: {e}"));
                0
            }
        }
    };
    let for_ms = dur(&r.for_, "for");
    let keep_firing_for_ms = dur(&r.keep_firing_for, "keep_firing_for");
    if !r.record.is_empty() {
        if !r.annotations.is_empty() {
            fail("invalid field 'annotations' in recording rule".into());
        }
        if for_ms != 0 {
            fail("invalid field 'for' in recording rule".into());
        }
        if keep_firing_for_ms != 0 {
            fail("invalid field 'keep_firing_for' in recording rule".into());
        }
        if !is_metric_name(&r.record) {
            fail(format!("invalid recording rule name: {}", r.record));
        }
    }
    for k in r.labels.keys() {
        if !is_label_name(k) || k == model::METRIC_NAME {
            fail(format!("invalid label name: {k}"));
        }
    }
    for k in r.annotations.keys() {
        if !is_label_name(k) {
            fail(format!("invalid annotation name: {k}"));
        }
    }
    if !r.alert.is_empty() {
        for (k, v) in &r.labels {
            if let Err(e) = crate::expand::check(&r.alert, v) {
                fail(format!("label {k:?}: {e}"));
            }
        }
        for (k, v) in &r.annotations {
            if let Err(e) = crate::expand::check(&r.alert, v) {
                fail(format!("annotation {k:?}: {e}"));
            }
        }
    }
    if !ok {
        return None;
    }
    let kind = if r.alert.is_empty() {
        RuleKind::Record(r.record)
    } else {
        RuleKind::Alert(r.alert)
    };
    Some(RuleSpec {
        kind,
        expr: r.expr,
        for_ms,
        keep_firing_for_ms,
        labels: r.labels,
        annotations: r.annotations,
    })
}

/// A loaded file: its path and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    pub path: String,
    pub groups: Vec<GroupSpec>,
}

/// Reads and checks one file; errors are prefixed with the path, as promtool prints them.
pub fn load(path: &Path) -> Result<RuleFile, Vec<String>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{shown}: {e}")])?;
    let groups = parse(&text).map_err(|errs| {
        errs.into_iter()
            .map(|e| format!("{shown}: {e}"))
            .collect::<Vec<_>>()
    })?;
    Ok(RuleFile { path: shown, groups })
}

/// Expands `rule_files` globs (relative ones against `base`) into file paths, sorted within each
/// pattern as Go's `filepath.Glob` returns them. A pattern matching nothing adds nothing.
pub fn glob(patterns: &[String], base: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = Vec::new();
    for p in patterns {
        let full = if Path::new(p).is_absolute() {
            std::path::PathBuf::from(p)
        } else {
            base.join(p)
        };
        let mut found = glob_one(&full).map_err(|e| format!("rule_files {p:?}: {e}"))?;
        found.sort();
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// `*`, `?` and `[...]` in any path component (Go's `filepath.Glob`; no `**`).
fn glob_one(pattern: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    use std::path::{Component, PathBuf};
    let has_meta = |s: &str| s.contains(['*', '?', '[']);
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy().into_owned();
        match comp {
            Component::Normal(_) if has_meta(&text) => {
                let re = glob_regex(&text)?;
                let mut next = Vec::new();
                for dir in &current {
                    let read_dir = if dir.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        dir.as_path()
                    };
                    let Ok(entries) = std::fs::read_dir(read_dir) else {
                        continue;
                    };
                    for e in entries.flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if re.is_match(&name) {
                            next.push(dir.join(&name));
                        }
                    }
                }
                current = next;
            }
            _ => {
                for dir in &mut current {
                    dir.push(comp.as_os_str());
                }
            }
        }
    }
    Ok(current.into_iter().filter(|p| p.is_file()).collect())
}

fn glob_regex(pat: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if c == '\\' || c == '[' {
                        re.push('\\');
                    }
                    re.push(c);
                }
                if !closed {
                    return Err("syntax error in pattern".into());
                }
                re.push(']');
            }
            '\\' => match chars.next() {
                Some(c) => re.push_str(&regex::escape(&c.to_string())),
                None => return Err("syntax error in pattern".into()),
            },
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}
