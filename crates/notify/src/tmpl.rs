//! Notification templates: Alertmanager's template data (`Data`, `Alert`, `KV`, `Alerts`) built
//! from a group of alerts, and the template set notifiers render with — Pharos's own default
//! templates (`default.tmpl`, same output as Alertmanager's) plus the config's `templates:` files.
//! Reads template files once at load; knows nothing about HTTP, SMTP or the alert store.

use std::path::{Path, PathBuf};

use template::alertmanager::{Alerts, KV};
use template::{MissingKey, Struct, Template, Time, Value};

use crate::error::{Error, Result};
use crate::matchers::LabelSet;
use crate::types::Alert;

/// Pharos's default notification templates. Every name Alertmanager's `default.tmpl` defines is
/// here, rendering the same text, plus `twilio.default.message` and `email.default.text`.
pub const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");

/// Go's `regexp.QuoteMeta`, which Alertmanager applies to the receiver name in `.Receiver` (and
/// so in the webhook message's `receiver`).
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn kv(set: &LabelSet) -> Value {
    KV::new(set.iter().map(|(k, v)| (k.as_str(), v.as_str()))).into_value()
}

/// Labels (or annotations) every alert has with the same value.
fn common(alerts: &[Alert], pick: fn(&Alert) -> &LabelSet) -> LabelSet {
    let Some(first) = alerts.first() else {
        return LabelSet::new();
    };
    let mut out = pick(first).clone();
    for a in &alerts[1..] {
        if out.is_empty() {
            break;
        }
        let set = pick(a);
        out.retain(|k, v| set.get(k) == Some(v));
    }
    out
}

/// Go's `time.Time` for a Unix-millisecond timestamp; 0 is the zero time.
pub fn go_time(ms: i64) -> Time {
    if ms == 0 {
        Time::zero()
    } else {
        Time::from_unix_millis(ms)
    }
}

/// `EndsAt` as Alertmanager shows it to templates and webhooks: the zero time while the alert is
/// still firing (its end is only an estimate then).
pub fn visible_end(a: &Alert, now: i64) -> Time {
    if a.resolved_at(now) {
        go_time(a.ends_at)
    } else {
        Time::zero()
    }
}

/// `"firing"` when any alert fires at `now`, else `"resolved"`.
pub fn group_status(alerts: &[Alert], now: i64) -> &'static str {
    if alerts.iter().any(|a| !a.resolved_at(now)) {
        "firing"
    } else {
        "resolved"
    }
}

/// One alert as templates see it (Alertmanager's `template.Alert`).
pub fn alert_value(a: &Alert, now: i64) -> Value {
    Value::object(Struct::new(
        "template.Alert",
        [
            ("Status", Value::str(a.status(now))),
            ("Labels", kv(&a.labels)),
            ("Annotations", kv(&a.annotations)),
            ("StartsAt", Value::Time(go_time(a.starts_at))),
            ("EndsAt", Value::Time(visible_end(a, now))),
            ("GeneratorURL", Value::str(a.generator_url.as_str())),
            ("Fingerprint", Value::str(format!("{:016x}", a.fingerprint()))),
        ],
    ))
}

/// Alertmanager's `template.Data` for a notification of `alerts` to `receiver`, at `now` (Unix
/// ms): the group's status, its alerts, group labels, and the labels and annotations all alerts
/// share.
pub fn data(
    receiver: &str,
    group_labels: &LabelSet,
    alerts: &[Alert],
    external_url: &str,
    now: i64,
) -> Value {
    let list: Vec<Value> = alerts.iter().map(|a| alert_value(a, now)).collect();
    Value::object(Struct::new(
        "*template.Data",
        [
            ("Receiver", Value::str(quote_meta(receiver))),
            ("Status", Value::str(group_status(alerts, now))),
            ("Alerts", Alerts::new(list).into_value()),
            ("GroupLabels", kv(group_labels)),
            ("CommonLabels", kv(&common(alerts, |a| &a.labels))),
            ("CommonAnnotations", kv(&common(alerts, |a| &a.annotations))),
            ("ExternalURL", Value::str(external_url)),
        ],
    ))
}

/// The labels all `alerts` share with the same value (Alertmanager's `CommonLabels`).
pub fn common_labels(alerts: &[Alert]) -> LabelSet {
    common(alerts, |a| &a.labels)
}

/// The annotations all `alerts` share with the same value.
pub fn common_annotations(alerts: &[Alert]) -> LabelSet {
    common(alerts, |a| &a.annotations)
}

/// The name the text being executed gets inside the set; not a name users can define.
const EXEC_NAME: &str = "\u{0}pharos-exec";

/// The template set notifiers render their fields with.
#[derive(Debug, Clone)]
pub struct Templates {
    set: Template,
}

impl Templates {
    /// The defaults only.
    pub fn defaults() -> Result<Templates> {
        Templates::from_texts(&[])
    }

    /// The defaults, then each `(name, text)` in order; later definitions replace earlier ones.
    pub fn from_texts(texts: &[(&str, &str)]) -> Result<Templates> {
        let mut set = Template::new(EXEC_NAME, template::alertmanager::funcs());
        set.set_missing_key(MissingKey::Zero);
        set.parse_named("default.tmpl", DEFAULT_TEMPLATES)
            .map_err(|e| Error::Template(format!("default templates: {e}")))?;
        for (name, text) in texts {
            set.parse_named(name, text)
                .map_err(|e| Error::Template(format!("template file {name}: {e}")))?;
        }
        Ok(Templates { set })
    }

    /// The defaults plus every file the config's `templates:` globs match, globs in order and the
    /// files of one glob sorted by name, as Alertmanager loads them. A glob matching nothing is
    /// not an error.
    pub fn load(globs: &[String]) -> Result<Templates> {
        let mut files = Vec::new();
        for g in globs {
            files.extend(glob(g).map_err(|e| Error::Template(format!("template glob {g:?}: {e}")))?);
        }
        let mut texts = Vec::with_capacity(files.len());
        for f in &files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Error::Template(format!("read template file {}: {e}", f.display())))?;
            texts.push((f.display().to_string(), text));
        }
        let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        Templates::from_texts(&refs)
    }

    /// Whether a template of this name is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    fn with_text(&self, text: &str) -> Result<Template> {
        let mut t = self.set.clone();
        t.parse_named(EXEC_NAME, text)
            .map_err(|e| Error::Template(format!("parse {text:?}: {e}")))?;
        Ok(t)
    }

    /// Alertmanager's `ExecuteTextString`: `text` executed as a template of the set; empty text
    /// renders as the empty string.
    pub fn execute_text(&self, text: &str, data: &Value) -> Result<String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        self.with_text(text)?
            .execute_named(EXEC_NAME, data)
            .map_err(|e| Error::Template(e.to_string()))
    }

    /// Alertmanager's `ExecuteHTMLString`: like [`Templates::execute_text`] with the output of
    /// actions HTML-escaped.
    pub fn execute_html(&self, text: &str, data: &Value) -> Result<String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        self.with_text(text)?
            .execute_html_named(EXEC_NAME, data)
            .map_err(|e| Error::Template(e.to_string()))
    }
}

/// Go's `filepath.Glob` for `*`, `?` and `[…]` in any path component: the matches, sorted within
/// each directory. A pattern without wildcards matches the file if it exists.
pub fn glob(pattern: &str) -> std::result::Result<Vec<PathBuf>, String> {
    let path = Path::new(pattern);
    let mut bases: Vec<PathBuf> = vec![if path.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for base in &bases {
            if !part.contains(['*', '?', '[']) {
                let p = base.join(part);
                if (last && p.exists()) || (!last && p.is_dir()) {
                    next.push(p);
                }
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                if glob_match(part, &n)? {
                    let p = base.join(&n);
                    if last || p.is_dir() {
                        next.push(p);
                    }
                }
            }
        }
        bases = next;
    }
    Ok(bases)
}

/// Go's `filepath.Match` for one path component.
fn glob_match(pattern: &str, name: &str) -> std::result::Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> std::result::Result<bool, String> {
    match p.first() {
        None => Ok(n.is_empty()),
        Some('*') => {
            for i in 0..=n.len() {
                if match_from(&p[1..], &n[i..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some('?') => Ok(!n.is_empty() && match_from(&p[1..], &n[1..])?),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                return Err("syntax error in pattern".to_string());
            };
            let Some(&c) = n.first() else {
                return Ok(false);
            };
            let mut class = &p[1..close];
            let negate = class.first() == Some(&'^');
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            Ok(hit != negate && match_from(&p[close + 1..], &n[1..])?)
        }
        Some('\\') if p.len() > 1 => Ok(n.first() == Some(&p[1]) && match_from(&p[2..], &n[1..])?),
        Some(&c) => Ok(n.first() == Some(&c) && match_from(&p[1..], &n[1..])?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn alert(labels: &[(&str, &str)], ends_at: i64) -> Alert {
        Alert {
            labels: ls(labels),
            annotations: ls(&[("summary", "s")]),
            starts_at: 1_000,
            ends_at,
            generator_url: "http://prom/graph".to_string(),
            updated_at: 1_000,
            timeout: false,
        }
    }

    #[test]
    fn data_status_and_common_labels() {
        let alerts = [
            alert(&[("alertname", "A"), ("job", "x"), ("i", "1")], 0),
            alert(&[("alertname", "A"), ("job", "x"), ("i", "2")], 1_500),
        ];
        let t = Templates::defaults().unwrap();
        let d = data("a.b", &ls(&[("alertname", "A")]), &alerts, "http://am", 2_000);
        let r = |s: &str| t.execute_text(s, &d).unwrap();
        assert_eq!(r("{{ .Status }} {{ .Receiver }}"), r"firing a\.b");
        assert_eq!(r("{{ .CommonLabels.SortedPairs.Values }}"), "[A x]");
        assert_eq!(r("{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}"), "1/1");
        assert_eq!(
            r("{{ range .Alerts }}{{ .EndsAt.IsZero }} {{ end }}"),
            "true false "
        );
        assert_eq!(r(r#"{{ template "__subject" . }}"#), "[FIRING:1] A (x)");
        assert_eq!(
            r(r#"{{ template "__text_alert_list" .Alerts.Resolved }}"#),
            "Labels:\n - alertname = A\n - i = 2\n - job = x\nAnnotations:\n - summary = s\nSource: http://prom/graph\n"
        );
        let d = data("r", &LabelSet::new(), &alerts[1..], "", 5_000);
        assert_eq!(t.execute_text("{{ .Status }}", &d).unwrap(), "resolved");
        assert_eq!(t.execute_text("", &d).unwrap(), "");
    }

    #[test]
    fn quote_meta_matches_go() {
        assert_eq!(quote_meta("team-x (ops)*"), r"team-x \(ops\)\*");
    }

    #[test]
    fn globs() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.tmpl", "a.tmpl", "c.txt"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let pat = format!("{}/*.tmpl", dir.path().display());
        let got: Vec<String> = glob(&pat)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["a.tmpl", "b.tmpl"]);
        assert!(glob_match("[a-c]?.t*", "b1.tmpl").unwrap());
        assert!(!glob_match("[^a-c]*", "b").unwrap());
        assert!(
            glob(&format!("{}/none/*.x", dir.path().display()))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn load_reads_globs_in_order_later_files_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.tmpl"),
            r#"{{ define "x" }}a{{ end }}{{ define "y" }}a{{ end }}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.tmpl"), r#"{{ define "x" }}b{{ end }}"#).unwrap();
        let t = Templates::load(&[
            format!("{}/*.tmpl", dir.path().display()),
            "/nonexistent/*.tmpl".to_string(),
        ])
        .unwrap();
        let d = data("r", &LabelSet::new(), &[], "", 0);
        assert_eq!(
            t.execute_text(r#"{{ template "x" . }}{{ template "y" . }}"#, &d)
                .unwrap(),
            "ba"
        );
        assert!(t.contains("email.default.html") && t.contains("twilio.default.message"));
    }

    #[test]
    fn user_templates_override_defaults() {
        let t =
            Templates::from_texts(&[("mine", r#"{{ define "__alertmanager" }}Pharos{{ end }}"#)]).unwrap();
        let d = data("r", &LabelSet::new(), &[], "", 0);
        assert_eq!(
            t.execute_text(r#"{{ template "slack.default.username" . }}"#, &d)
                .unwrap(),
            "Pharos"
        );
        let e = Templates::from_texts(&[("bad.tmpl", "{{ if }}")]).unwrap_err();
        assert!(e.to_string().contains("bad.tmpl"), "{e}");
    }
}
