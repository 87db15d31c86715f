//! One target's scrapes turned into samples: the body parsed line by line, each series' labels
//! combined with the target's and passed through `metric_relabel_configs` once and then remembered
//! by the line's series text, so a repeated scrape costs a hash lookup and a float parse per line.
//! Staleness markers are written for series that were in the previous scrape and are not in this one,
//! for all of them when a scrape fails, and at the end of a target's life.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use model::{STALE_NAN_BITS, Sample};

use crate::config::Limits;
use crate::relabel::{self, LabelPairs, Rule};
use crate::target::{Fnv, get, hash_labels, set};

/// Where resolved series go: the caller's handle for a label set (a storage reference, an index in
/// a remote-write queue). `None` refuses the series (a series limit, say); its samples are counted
/// as refused and the series is asked again in the next scrape.
pub trait Resolve {
    type Ref: Clone;
    fn resolve(&mut self, labels: &[(String, String)]) -> Option<Self::Ref>;
}

/// The format a body is in, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    PrometheusText,
    OpenMetrics,
}

impl Format {
    /// OpenMetrics for `application/openmetrics-text`, the Prometheus text format otherwise (also
    /// for a missing or unknown type, as Prometheus 2 does).
    pub fn from_content_type(ct: Option<&str>) -> Format {
        match ct {
            Some(ct)
                if ct
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/openmetrics-text") =>
            {
                Format::OpenMetrics
            }
            _ => Format::PrometheusText,
        }
    }
}

/// How a job treats the samples of its targets.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Labels every series of the target gets (`job`, `instance`, …).
    pub target_labels: &'a [(String, String)],
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub metric_relabel: &'a [Rule],
    pub limits: Limits,
}

struct Series<R> {
    labels: Box<[(String, String)]>,
    /// FNV-1a of the final labels: identifies the series within the target.
    hash: u64,
    handle: Option<R>,
}

struct Entry<R> {
    /// `None` when `metric_relabel_configs` dropped the series.
    series: Option<Series<R>>,
    /// Scrape number that last had this line.
    last_used: u64,
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

/// A `Hasher` over FNV-1a for the cache's string keys: short keys, no need for DoS resistance
/// inside one target's own output.
#[derive(Default)]
pub struct FnvHasher(Fnv);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }
}

/// What one scrape produced.
#[derive(Debug)]
pub struct Outcome<R> {
    /// Samples to store, staleness markers included.
    pub samples: Vec<(R, Sample)>,
    /// Samples in the body (`scrape_samples_scraped`).
    pub scraped: u64,
    /// Samples left after metric relabeling (`scrape_samples_post_metric_relabeling`).
    pub post_relabel: u64,
    /// Series not seen in the scrapes before (`scrape_series_added`).
    pub series_added: u64,
    /// Samples refused because their series could not be resolved.
    pub unresolved: u64,
    /// Samples whose series already had a sample in this scrape.
    pub duplicates: u64,
    /// Why the scrape failed; then `samples` holds only staleness markers.
    pub error: Option<String>,
}

impl<R> Default for Outcome<R> {
    fn default() -> Self {
        Self {
            samples: Vec::new(),
            scraped: 0,
            post_relabel: 0,
            series_added: 0,
            unresolved: 0,
            duplicates: 0,
            error: None,
        }
    }
}

/// The per-target scrape state.
pub struct Cache<R> {
    entries: FastMap<Box<str>, Entry<R>>,
    /// Series written without an explicit timestamp in the last successful scrape, by label hash.
    prev: FastMap<u64, R>,
    cur: FastMap<u64, R>,
    iteration: u64,
    labels_buf: LabelPairs,
}

impl<R: Clone> Default for Cache<R> {
    fn default() -> Self {
        Self::new()
    }
}

fn stale(t: i64) -> Sample {
    Sample::new(t, f64::from_bits(STALE_NAN_BITS))
}

impl<R: Clone> Cache<R> {
    pub fn new() -> Self {
        Self {
            entries: FastMap::default(),
            prev: FastMap::default(),
            cur: FastMap::default(),
            iteration: 0,
            labels_buf: Vec::new(),
        }
    }

    /// Number of distinct series lines remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Turns one scrape body into samples at time `t` (ms). On a parse error or an exceeded limit
    /// nothing of the body is kept: the outcome holds the error and staleness markers for every
    /// series of the last successful scrape.
    pub fn scrape<S: Resolve<Ref = R>>(
        &mut self,
        body: &[u8],
        format: Format,
        t: i64,
        settings: &Settings<'_>,
        sink: &mut S,
    ) -> Outcome<R> {
        self.iteration += 1;
        let mut out = Outcome::default();
        self.cur.clear();
        if let Err(e) = self.parse_body(body, format, t, settings, sink, &mut out) {
            return self.fail(t, e);
        }
        let limit = settings.limits.samples;
        if limit > 0 && out.post_relabel > limit {
            return self.fail(
                t,
                format!(
                    "sample limit exceeded: {} samples, limit {limit}",
                    out.post_relabel
                ),
            );
        }
        for (h, r) in self.prev.drain() {
            if !self.cur.contains_key(&h) {
                out.samples.push((r, stale(t)));
            }
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
        let it = self.iteration;
        self.entries.retain(|_, e| it - e.last_used <= 2);
        out
    }

    /// A failed scrape: staleness markers for what the last successful one had.
    pub fn fail(&mut self, t: i64, error: String) -> Outcome<R> {
        Outcome {
            samples: self.stale_all(t),
            error: Some(error),
            ..Outcome::default()
        }
    }

    /// Staleness markers at `t` for every series of the last successful scrape, which is then
    /// forgotten: when a target goes away, or a scrape fails.
    pub fn stale_all(&mut self, t: i64) -> Vec<(R, Sample)> {
        self.cur.clear();
        self.prev.drain().map(|(_, r)| (r, stale(t))).collect()
    }

    fn parse_body<S: Resolve<Ref = R>>(
        &mut self,
        body: &[u8],
        format: Format,
        t: i64,
        settings: &Settings<'_>,
        sink: &mut S,
        out: &mut Outcome<R>,
    ) -> Result<(), String> {
        let text = std::str::from_utf8(body).map_err(|e| {
            let line = body
                .get(..e.valid_up_to())
                .map_or(1, |b| b.iter().filter(|&&c| c == b'\n').count() + 1);
            format!("line {line}: invalid UTF-8")
        })?;
        let om = format == Format::OpenMetrics;
        let mut eof = false;
        let mut lines = text.split('\n').enumerate().peekable();
        while let Some((i, raw)) = lines.next() {
            let lineno = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if eof {
                if line.is_empty() && lines.peek().is_none() {
                    continue;
                }
                return Err(format!("line {lineno}: content after # EOF"));
            }
            let line = line.trim_start_matches([' ', '\t']);
            if line.is_empty() {
                continue;
            }
            if line.starts_with('#') {
                if om && line == "# EOF" {
                    eof = true;
                    continue;
                }
                comment(line, om).map_err(|e| format!("line {lineno}: {e}"))?;
                continue;
            }
            self.sample_line(line, om, t, settings, sink, out)
                .map_err(|e| format!("line {lineno}: {e}"))?;
        }
        if om && !eof {
            return Err("OpenMetrics body does not end with # EOF".into());
        }
        Ok(())
    }

    fn sample_line<S: Resolve<Ref = R>>(
        &mut self,
        line: &str,
        om: bool,
        t: i64,
        settings: &Settings<'_>,
        sink: &mut S,
        out: &mut Outcome<R>,
    ) -> Result<(), String> {
        let (series, rest) = exposition::split_series(line);
        let (value, ts) = value_and_timestamp(rest, om)?;
        out.scraped += 1;
        let it = self.iteration;
        let entry = match self.entries.get_mut(series) {
            Some(e) => e,
            None => {
                let (name, labels) = exposition::parse_series(series).map_err(|e| e.to_string())?;
                let built = self.build(&name, &labels, settings)?;
                let series_out = match built {
                    None => None,
                    Some(labels) => {
                        out.series_added += 1;
                        Some(Series {
                            hash: hash_labels(&labels),
                            labels: labels.into_boxed_slice(),
                            handle: None,
                        })
                    }
                };
                self.entries.entry(series.into()).or_insert(Entry {
                    series: series_out,
                    last_used: it,
                })
            }
        };
        entry.last_used = it;
        let Some(s) = &mut entry.series else {
            return Ok(());
        };
        out.post_relabel += 1;
        if s.handle.is_none() {
            s.handle = sink.resolve(&s.labels);
        }
        let Some(handle) = s.handle.clone() else {
            out.unresolved += 1;
            return Ok(());
        };
        let explicit = ts.filter(|_| settings.honor_timestamps);
        let track = explicit.is_none() || settings.track_timestamps_staleness;
        if track {
            if self.cur.contains_key(&s.hash) {
                out.duplicates += 1;
                return Ok(());
            }
            self.cur.insert(s.hash, handle.clone());
        }
        out.samples
            .push((handle, Sample::new(explicit.unwrap_or(t), value)));
        Ok(())
    }

    /// Final labels of a newly seen series, `None` if metric relabeling drops it.
    fn build(
        &mut self,
        name: &str,
        parsed: &[(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)],
        settings: &Settings<'_>,
    ) -> Result<Option<LabelPairs>, String> {
        let l = &mut self.labels_buf;
        l.clear();
        l.push(("__name__".to_string(), name.to_string()));
        for (n, v) in parsed {
            if !v.is_empty() {
                l.push((n.to_string(), v.to_string()));
            }
        }
        l.sort();
        for (n, v) in settings.target_labels {
            let existing = get(l, n).map(str::to_string);
            if settings.honor_labels {
                // A label the target exposes empty still wins: Prometheus keeps it (and so drops it).
                let exposed_empty = parsed.iter().any(|(pn, pv)| pv.is_empty() && pn == n);
                if existing.is_none() && !exposed_empty {
                    set(l, n, v.clone());
                }
                continue;
            }
            if let Some(ev) = existing {
                let mut exported = format!("exported_{n}");
                while get(l, &exported).is_some() {
                    exported.insert_str(0, "exported_");
                }
                set(l, &exported, ev);
            }
            set(l, n, v.clone());
        }
        if !relabel::process(l, settings.metric_relabel) {
            return Ok(None);
        }
        if get(l, "__name__").is_none() {
            return Err("missing metric name (__name__ label)".into());
        }
        let lim = settings.limits;
        if lim.labels > 0 && l.len() as u64 > lim.labels {
            return Err(format!(
                "label_limit exceeded (metric: {:.50}, number of labels: {}, limit: {})",
                name,
                l.len(),
                lim.labels
            ));
        }
        for (n, v) in l.iter() {
            if lim.label_name_length > 0 && n.len() as u64 > lim.label_name_length {
                return Err(format!(
                    "label_name_length_limit exceeded (metric: {name:.50}, label name: {n:.50}, length: {}, limit: {})",
                    n.len(),
                    lim.label_name_length
                ));
            }
            if lim.label_value_length > 0 && v.len() as u64 > lim.label_value_length {
                return Err(format!(
                    "label_value_length_limit exceeded (metric: {name:.50}, label name: {n:.50}, value: {v:.50}, length: {}, limit: {})",
                    v.len(),
                    lim.label_value_length
                ));
            }
        }
        Ok(Some(l.clone()))
    }
}

/// Checks a comment line: `# HELP` and `# TYPE` must be well formed; OpenMetrics adds `# UNIT` and
/// its own types.
fn comment(line: &str, om: bool) -> Result<(), String> {
    if om {
        let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
        let _hash = words.next();
        match words.next() {
            Some("UNIT") => return Ok(()),
            Some("TYPE") => {
                let _name = words.next();
                if let Some(kind) = words.next()
                    && matches!(kind, "info" | "stateset" | "gaugehistogram" | "unknown")
                {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    exposition::parse_line(line)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The value and optional timestamp after a line's series. Text format timestamps are integer
/// milliseconds; OpenMetrics ones are seconds, possibly fractional, and an exemplar (`# {…} v [t]`)
/// may follow.
fn value_and_timestamp(rest: &str, om: bool) -> Result<(f64, Option<i64>), String> {
    let rest = if om {
        match rest.find(" # ") {
            Some(i) => rest.get(..i).unwrap_or(rest),
            None => rest,
        }
    } else {
        rest
    };
    let mut words = rest.split([' ', '\t']).filter(|w| !w.is_empty());
    let Some(v) = words.next() else {
        return Err("missing value".into());
    };
    let value = exposition::parse_value(v).ok_or_else(|| format!("invalid value {v:?}"))?;
    let ts = match words.next() {
        None => None,
        Some(w) if om => {
            let secs: f64 = w
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite())
                .ok_or_else(|| format!("invalid timestamp {w:?}"))?;
            Some((secs * 1000.0).round() as i64)
        }
        Some(w) => Some(w.parse::<i64>().map_err(|_| format!("invalid timestamp {w:?}"))?),
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected trailing content {extra:?}"));
    }
    Ok((value, ts))
}
