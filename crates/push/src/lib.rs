//! A Pushgateway-compatible store: batch jobs push metric groups over HTTP, and the groups are
//! exposed for scraping until deleted.
//!
//! A group is named by its grouping key (`job` plus the label pairs of the URL path). `PUT`
//! replaces a group, `POST` replaces only the metric families it carries, `DELETE` removes it.
//! Exposed series carry the grouping key's labels (over any pushed label of the same name) and
//! `instance=""` when neither gave an instance. Each group also exposes `push_time_seconds` and
//! `push_failure_time_seconds`. A push that would make the exposition inconsistent (a family
//! pushed with another type than other groups use, a series exposed twice) or that carries
//! timestamps is refused, and only marks the group's failure time, as the Pushgateway does.
//!
//! Every change is written to a file before it is acknowledged (pushes landing together share one
//! write), so an acknowledged push survives a crash.

mod parse;
pub mod proto;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use exposition::MetricType;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

pub use parse::{Parsed, is_protobuf, parse_protobuf, parse_text};

/// Families the store writes itself; pushed ones of these names are ignored.
const PUSH_TIME: &str = "push_time_seconds";
const PUSH_FAILURE_TIME: &str = "push_failure_time_seconds";

/// One metric family of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    #[serde(with = "kind_text")]
    pub kind: MetricType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    pub samples: Vec<Pushed>,
}

impl Family {
    fn new(kind: MetricType) -> Self {
        Self {
            kind,
            help: None,
            samples: Vec::new(),
        }
    }
}

/// One pushed sample: its full name (with any `_bucket`/`_sum`/`_count` suffix) and its own
/// labels, sorted, before the grouping key is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pushed {
    pub name: String,
    pub labels: Vec<(String, String)>,
    #[serde(with = "float_text")]
    pub value: f64,
}

/// A grouping key: `job` and the other URL labels, sorted by name.
pub type GroupKey = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: GroupKey,
    pub families: BTreeMap<String, Family>,
    /// Unix seconds of the last successful change; 0 if none succeeded.
    pub push_time: f64,
    /// Unix seconds of the last refused change; 0 if none failed.
    pub failure_time: f64,
}

impl Group {
    /// The labels a series of this group is exposed with.
    fn series_labels(&self, own: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = own
            .iter()
            .filter(|(n, _)| !self.key.iter().any(|(k, _)| k == n))
            .cloned()
            .collect();
        out.extend(self.key.iter().cloned());
        if !out.iter().any(|(n, _)| n == "instance") {
            out.push(("instance".into(), String::new()));
        }
        out.sort();
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Replace the whole group.
    Put,
    /// Replace the pushed families only.
    Post,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The push was refused; the group's failure time was set.
    #[error("pushed metrics are invalid or inconsistent with existing metrics: {0}")]
    Inconsistent(String),
    #[error("writing the push store {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

#[derive(Default)]
struct State {
    groups: BTreeMap<GroupKey, Group>,
    /// Counts changes; the file holds every change up to `Store::persisted`.
    generation: u64,
}

pub struct Store {
    state: Mutex<State>,
    /// The generation the file holds. Held while writing, so concurrent pushes share one write.
    persisted: Mutex<u64>,
    path: Option<PathBuf>,
}

impl Store {
    /// A store kept in memory only.
    pub fn memory() -> Self {
        Self {
            state: Mutex::new(State::default()),
            persisted: Mutex::new(0),
            path: None,
        }
    }

    /// A store persisted in `path`, loading what is there.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let groups = match std::fs::read(path) {
            Ok(bytes) => {
                let list: Vec<Group> = serde_json::from_slice(&bytes)
                    .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
                list.into_iter().map(|g| (g.key.clone(), g)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io(e)),
        };
        Ok(Self {
            state: Mutex::new(State {
                groups,
                generation: 0,
            }),
            persisted: Mutex::new(0),
            path: Some(path.to_owned()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a push to the group `key` at `now` (Unix seconds).
    pub fn push(&self, key: GroupKey, parsed: Parsed, method: Method, now: f64) -> Result<(), Error> {
        let (generation, verdict) = {
            let mut st = self.lock();
            let verdict = check(&st.groups, &key, parsed, method);
            let group = st.groups.entry(key.clone()).or_insert_with(|| Group {
                key,
                families: BTreeMap::new(),
                push_time: 0.0,
                failure_time: 0.0,
            });
            let verdict = match verdict {
                Ok(families) => {
                    group.families = families;
                    group.push_time = now;
                    Ok(())
                }
                Err(msg) => {
                    group.failure_time = now;
                    Err(Error::Inconsistent(msg))
                }
            };
            st.generation += 1;
            (st.generation, verdict)
        };
        self.persist_through(generation)?;
        verdict
    }

    /// Removes the group `key` (nothing happens if there is none).
    pub fn delete(&self, key: &GroupKey) -> Result<(), Error> {
        let generation = {
            let mut st = self.lock();
            if st.groups.remove(key).is_none() {
                return Ok(());
            }
            st.generation += 1;
            st.generation
        };
        self.persist_through(generation)
    }

    /// Every group, in key order.
    pub fn groups(&self) -> Vec<Group> {
        self.lock().groups.values().cloned().collect()
    }

    /// Writes the file unless a write since `generation` already did.
    fn persist_through(&self, generation: u64) -> Result<(), Error> {
        let Some(path) = &self.path else { return Ok(()) };
        let mut persisted = self.persisted.lock().unwrap_or_else(|e| e.into_inner());
        if *persisted >= generation {
            return Ok(());
        }
        let (snapshot, at) = {
            let st = self.lock();
            let list: Vec<&Group> = st.groups.values().collect();
            (serde_json::to_vec(&list).unwrap_or_default(), st.generation)
        };
        write_atomically(path, &snapshot).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        *persisted = at;
        Ok(())
    }

    /// The exposition of every group in the text format 0.0.4.
    pub fn render(&self, out: &mut String) {
        let st = self.lock();
        // Families of the same name across groups are written together.
        let mut merged: BTreeMap<&str, Merged<'_>> = BTreeMap::new();
        for g in st.groups.values() {
            for (name, f) in &g.families {
                let e = merged.entry(name).or_insert((f.kind, None, Vec::new()));
                if e.1.is_none() {
                    e.1 = f.help.as_deref();
                }
                e.2.extend(
                    f.samples
                        .iter()
                        .map(|s| (s.name.as_str(), g.series_labels(&s.labels), s.value)),
                );
            }
        }
        for (name, (kind, help, samples)) in merged {
            if let Some(h) = help {
                exposition::write_help(out, name, h);
            }
            exposition::write_type(out, name, kind);
            for (sample, labels, value) in samples {
                let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                exposition::write_sample(out, sample, &pairs, value, None);
            }
        }
        for (name, help, value) in [
            (
                PUSH_FAILURE_TIME,
                "Last Unix time when changing this group failed.",
                (|g: &Group| g.failure_time) as fn(&Group) -> f64,
            ),
            (
                PUSH_TIME,
                "Last Unix time when changing this group succeeded.",
                |g: &Group| g.push_time,
            ),
        ] {
            if st.groups.is_empty() {
                break;
            }
            exposition::write_help(out, name, help);
            exposition::write_type(out, name, MetricType::Gauge);
            for g in st.groups.values() {
                let labels = g.series_labels(&[]);
                let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                exposition::write_sample(out, name, &pairs, value(g), None);
            }
        }
    }
}

/// A family as exposed: type, help and every group's samples with their exposed labels.
type Merged<'a> = (
    MetricType,
    Option<&'a str>,
    Vec<(&'a str, Vec<(String, String)>, f64)>,
);

/// The families group `key` would hold after the push, or why the push is refused.
fn check(
    groups: &BTreeMap<GroupKey, Group>,
    key: &GroupKey,
    parsed: Parsed,
    method: Method,
) -> Result<BTreeMap<String, Family>, String> {
    if parsed.timestamped {
        return Err("pushed metrics must not have timestamps".into());
    }
    let mut families = match (method, groups.get(key)) {
        (Method::Post, Some(g)) => g.families.clone(),
        _ => BTreeMap::new(),
    };
    for (name, f) in parsed.families {
        if name != PUSH_TIME && name != PUSH_FAILURE_TIME {
            families.insert(name, f);
        }
    }
    let shape = Group {
        key: key.clone(),
        families: BTreeMap::new(),
        push_time: 0.0,
        failure_time: 0.0,
    };
    let mut seen = std::collections::HashSet::new();
    for (name, f) in &families {
        for s in &f.samples {
            let labels = shape.series_labels(&s.labels);
            if !seen.insert((s.name.as_str(), labels.clone())) {
                return Err(format!(
                    "series {} is pushed twice with the same labels",
                    describe(&s.name, &labels)
                ));
            }
        }
        for other in groups.values().filter(|g| &g.key != key) {
            let Some(of) = other.families.get(name) else {
                continue;
            };
            if of.kind != f.kind {
                return Err(format!(
                    "metric family {name} is pushed as {} but group {} has it as {}",
                    f.kind.as_str(),
                    describe("", &other.key),
                    of.kind.as_str()
                ));
            }
            for s in &of.samples {
                let labels = other.series_labels(&s.labels);
                if seen.contains(&(s.name.as_str(), labels.clone())) {
                    return Err(format!(
                        "series {} is already exposed by group {}",
                        describe(&s.name, &labels),
                        describe("", &other.key)
                    ));
                }
            }
        }
    }
    Ok(families)
}

fn describe(name: &str, labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{name}{{{}}}", pairs.join(", "))
}

/// Writes `bytes` to `path` by a synced temporary file and a rename, then syncs the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Decodes a Pushgateway URL path after `/metrics/`: `job/<job>{/<label>/<value>}`, where a name
/// ending in `@base64` marks its value as base64url (padding optional). Returns the sorted key.
pub fn parse_grouping_path(path: &str) -> Result<GroupKey, String> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if !parts.len().is_multiple_of(2) {
        return Err(format!("odd number of components in label string {path:?}"));
    }
    let mut key: BTreeMap<String, String> = BTreeMap::new();
    for pair in parts.chunks_exact(2) {
        let (raw, value) = (pair[0], pair[1]);
        let (name, value) = match raw.strip_suffix("@base64") {
            Some(name) => (
                name,
                decode_base64(value)
                    .map_err(|e| format!("invalid base64 encoding for label {name}={value:?}: {e}"))?,
            ),
            None => (raw, value.to_string()),
        };
        if !exposition::is_label_name(name) || name.starts_with("__") {
            return Err(format!("improper label name {name:?}"));
        }
        if key.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} given twice in the URL"));
        }
    }
    match key.get("job") {
        None => return Err("the URL path must start with job/<job name>".into()),
        Some(j) if j.is_empty() => return Err("job name is required".into()),
        Some(_) => {}
    }
    // An empty value is the same as no label, as everywhere in Prometheus.
    key.retain(|_, v| !v.is_empty());
    Ok(key.into_iter().collect())
}

fn decode_base64(s: &str) -> Result<String, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "the value is not UTF-8".to_string())
}

mod kind_text {
    use exposition::MetricType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &MetricType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MetricType, D::Error> {
        let s = String::deserialize(d)?;
        MetricType::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown metric type {s:?}")))
    }
}

/// Values as text, so NaN and infinities survive JSON.
mod float_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        let mut t = String::new();
        exposition::write_value(&mut t, *v);
        s.serialize_str(&t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        exposition::parse_value(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid value {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(path: &str) -> GroupKey {
        parse_grouping_path(path).unwrap()
    }

    fn rendered(store: &Store) -> String {
        let mut s = String::new();
        store.render(&mut s);
        s
    }

    #[test]
    fn grouping_paths() {
        assert_eq!(
            key("job/a/instance/b"),
            vec![("instance".into(), "b".into()), ("job".into(), "a".into())]
        );
        // base64url with or without padding; a slash inside a value needs it.
        assert_eq!(
            key("job@base64/YQ/dir@base64/L3Zhci90bXA="),
            key("job/a/dir@base64/L3Zhci90bXA")
        );
        assert_eq!(key("job/a/dir@base64/L3Zhci90bXA")[0].1, "/var/tmp");
        for (bad, why) in [
            ("job/a/odd", "odd number"),
            ("job/a/__x/1", "improper label name"),
            ("job/a/1x/1", "improper label name"),
            ("job/", "odd number"),
            ("job//x/1", "job name is required"),
            ("instance/a", "must start with job"),
            ("job/a/x/1/x/2", "given twice"),
            ("job/a/x@base64/!!", "invalid base64"),
        ] {
            let e = parse_grouping_path(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn put_replaces_the_group_post_only_the_pushed_families() {
        let s = Store::memory();
        let k = key("job/j");
        s.push(k.clone(), parse_text(b"a 1\nb 2\n").unwrap(), Method::Put, 10.0)
            .unwrap();
        s.push(k.clone(), parse_text(b"a 3\n").unwrap(), Method::Post, 11.0)
            .unwrap();
        let text = rendered(&s);
        assert!(text.contains("a{instance=\"\",job=\"j\"} 3\n"), "{text}");
        assert!(text.contains("b{instance=\"\",job=\"j\"} 2\n"), "{text}");
        s.push(k.clone(), parse_text(b"c 4\n").unwrap(), Method::Put, 12.0)
            .unwrap();
        let text = rendered(&s);
        assert!(
            !text.contains("a{") && !text.contains("b{") && text.contains("c{"),
            "{text}"
        );
        assert!(
            text.contains("push_time_seconds{instance=\"\",job=\"j\"} 12\n"),
            "{text}"
        );
        s.delete(&k).unwrap();
        assert_eq!(rendered(&s), "");
    }

    #[test]
    fn refused_pushes_only_mark_the_failure_time() {
        let s = Store::memory();
        s.push(
            key("job/a"),
            parse_text(b"# TYPE m counter\nm 1\n").unwrap(),
            Method::Put,
            5.0,
        )
        .unwrap();
        let e = s.push(
            key("job/b"),
            parse_text(b"# TYPE m gauge\nm 2\n").unwrap(),
            Method::Put,
            6.0,
        );
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("metric family m is pushed as gauge")
        );
        let e = s.push(key("job/a"), parse_text(b"m 1 1000\n").unwrap(), Method::Put, 7.0);
        assert!(e.unwrap_err().to_string().contains("must not have timestamps"));
        let groups = s.groups();
        assert_eq!((groups[0].push_time, groups[0].failure_time), (5.0, 7.0));
        assert_eq!(
            groups[0].families["m"].samples[0].value, 1.0,
            "the stored push is intact"
        );
        assert_eq!((groups[1].push_time, groups[1].failure_time), (0.0, 6.0));
        assert!(groups[1].families.is_empty());
    }

    #[test]
    fn the_file_keeps_every_acknowledged_push_and_special_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("push.json");
        {
            let s = Store::open(&path).unwrap();
            let body = b"# HELP v Odd values.\n# TYPE v gauge\nv{k=\"nan\"} NaN\nv{k=\"inf\"} +Inf\nv{k=\"neg\"} -0\n";
            s.push(
                key("job/x/instance/i"),
                parse_text(body).unwrap(),
                Method::Put,
                1.5,
            )
            .unwrap();
            s.push(key("job/y"), parse_text(b"w 1\n").unwrap(), Method::Put, 2.5)
                .unwrap();
            s.delete(&key("job/y")).unwrap();
        }
        let s = Store::open(&path).unwrap();
        let g = s.groups();
        assert_eq!(g.len(), 1);
        let v = &g[0].families["v"];
        assert_eq!(v.help.as_deref(), Some("Odd values."));
        assert!(v.samples[0].value.is_nan());
        assert_eq!(v.samples[1].value, f64::INFINITY);
        assert!(v.samples[2].value == 0.0 && v.samples[2].value.is_sign_negative());
        assert_eq!(g[0].push_time, 1.5);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(
            Store::open(&path).is_err(),
            "a damaged file is reported, not silently emptied"
        );
    }

    #[test]
    fn protobuf_pushes_become_the_same_families_as_text() {
        use prost::Message;
        let mf = proto::MetricFamily {
            name: Some("h".into()),
            help: Some("A histogram.".into()),
            r#type: Some(4),
            metric: vec![proto::Metric {
                label: vec![proto::LabelPair {
                    name: Some("path".into()),
                    value: Some("/".into()),
                }],
                histogram: Some(proto::Histogram {
                    sample_count: Some(3),
                    sample_sum: Some(1.5),
                    bucket: vec![proto::Bucket {
                        upper_bound: Some(0.25),
                        cumulative_count: Some(2),
                        cumulative_count_float: None,
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            }],
        };
        let mut body = Vec::new();
        mf.encode_length_delimited(&mut body).unwrap();
        let from_proto = parse_protobuf(&body).unwrap();
        let text = b"# HELP h A histogram.\n# TYPE h histogram\nh_bucket{path=\"/\",le=\"0.25\"} 2\n\
            h_bucket{path=\"/\",le=\"+Inf\"} 3\nh_sum{path=\"/\"} 1.5\nh_count{path=\"/\"} 3\n";
        assert_eq!(from_proto.families, parse_text(text).unwrap().families);
        assert!(
            parse_protobuf(&body[..body.len() - 1])
                .unwrap_err()
                .contains("runs past the end")
        );
        assert!(is_protobuf(Some(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        )));
        assert!(!is_protobuf(Some("text/plain; version=0.0.4")));
    }
}
