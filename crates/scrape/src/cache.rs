//! One target's scrapes turned into samples: the body parsed line by line, each series' labels
//! combined with the target's and passed through `metric_relabel_configs` once and then remembered
//! by the line's series text, so a repeated scrape costs a hash lookup and a float parse per line.
//! Exporters write the same lines in the same order at every scrape, so each line is first compared
//! with the line at its position in the last successful scrape: then it costs a comparison of bytes
//! read in order, and a comment line found valid before is not parsed again.
//! Staleness markers are written for series that were in the previous scrape and are not in this one,
//! for all of them when a scrape fails, and at the end of a target's life.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use model::{STALE_NAN_BITS, Sample};

use crate::config::Limits;
use crate::relabel::{self, LabelPairs, Rule};
use crate::target::{get, hash_labels, set};

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

/// A remembered series line.
struct Slot<R> {
    /// The series text (name and labels as written); empty while the slot is free.
    key: Arc<str>,
    /// Whether the key has a label set.
    braced: bool,
    entry: Entry<R>,
    /// Where the line was in [`Cache::lines`], if the last successful scrape had it.
    pos: u32,
}

/// One line of the last successful scrape.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// A comment line that was valid in that scrape's format: its bytes in [`Cache::comments`].
    Comment { start: u32, len: u32 },
    /// A sample line whose series text is this slot's key.
    Sample(u32),
}

/// The part of `line` after its series text if that text is exactly `key`, as
/// [`exposition::split_series`] would split `line`. A key with a label set (`braced`) ends at the
/// brace that closes it, so the same bytes end it in `line`; a bare name must be followed by the
/// end of the line or blanks, and the blanks not by a label set.
fn strip_series<'a>(line: &'a str, key: &str, braced: bool) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?;
    if key.is_empty() {
        return None;
    }
    if braced {
        return Some(rest);
    }
    let b = rest.as_bytes();
    match b.first() {
        None => Some(rest),
        Some(b' ' | b'\t') => (b.iter().find(|c| !matches!(c, b' ' | b'\t')) != Some(&b'{')).then_some(rest),
        Some(_) => None,
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<LineHasher>>;

/// The cache's `Hasher`: eight bytes per step, each folded in by a 64×64→128-bit multiply whose
/// halves are xored, so every input bit reaches every output bit. Every sample line is looked up
/// by its series text (about 60 bytes), and FNV-1a's byte at a time took a tenth of a scrape's CPU.
/// No DoS resistance is needed within one target's own output.
#[derive(Default)]
pub struct LineHasher(u64);

const SEED: u64 = 0x243F_6A88_85A3_08D3;
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

fn fold(h: u64, word: u64) -> u64 {
    let full = u128::from(h ^ word) * u128::from(MULTIPLIER);
    (full as u64) ^ ((full >> 64) as u64)
}

impl std::hash::Hasher for LineHasher {
    fn finish(&self) -> u64 {
        fold(self.0, SEED)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ SEED;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            h = fold(h, u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        // The length tells `ab` from `ab\0`.
        h = fold(h, u64::from_le_bytes(b) ^ ((bytes.len() as u64) << 56));
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = fold(self.0, u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = fold(self.0, i);
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
    /// Series lines seen in the last scrapes: their series text to their slot.
    index: FastMap<Arc<str>, u32>,
    slots: Vec<Slot<R>>,
    /// Slots left by series lines no longer seen.
    free: Vec<u32>,
    /// The key of a free slot.
    no_key: Arc<str>,
    /// Series written without an explicit timestamp in the last successful scrape, by label hash.
    prev: FastMap<u64, R>,
    cur: FastMap<u64, R>,
    iteration: u64,
    labels_buf: LabelPairs,
    /// The lines of the last successful scrape in order, the text of its comment lines, and its
    /// format (a comment valid in one format may not be in the other).
    lines: Vec<Known>,
    comments: String,
    lines_format: Option<Format>,
    /// The same for the scrape under way; they replace the above when it succeeds.
    next_lines: Vec<Known>,
    next_comments: String,
    /// Where in `lines` the next line is expected.
    cursor: usize,
    /// Samples of the last successful scrape, to size the next one's.
    last_samples: usize,
    /// Slots the scrape under way has used: when that is all of them, none is old enough to forget.
    touched: usize,
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
            index: FastMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            no_key: Arc::from(""),
            prev: FastMap::default(),
            cur: FastMap::default(),
            iteration: 0,
            labels_buf: Vec::new(),
            lines: Vec::new(),
            comments: String::new(),
            lines_format: None,
            next_lines: Vec::new(),
            next_comments: String::new(),
            cursor: 0,
            last_samples: 0,
            touched: 0,
        }
    }

    /// Number of distinct series lines remembered.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
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
        let mut out = Outcome {
            // The caller adds its report samples: up, duration and the counts.
            samples: Vec::with_capacity(self.last_samples + 8),
            ..Outcome::default()
        };
        self.cur.clear();
        if self.lines_format != Some(format) {
            self.lines.clear();
            self.comments.clear();
        }
        self.next_lines.clear();
        self.next_comments.clear();
        self.cursor = 0;
        self.touched = 0;
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
        std::mem::swap(&mut self.lines, &mut self.next_lines);
        std::mem::swap(&mut self.comments, &mut self.next_comments);
        self.lines_format = Some(format);
        self.last_samples = out.samples.len();
        let it = self.iteration;
        if self.touched == self.index.len() {
            return out;
        }
        let (slots, free, no_key) = (&mut self.slots, &mut self.free, &self.no_key);
        self.index.retain(|_, i| {
            let Some(s) = slots.get_mut(*i as usize) else {
                return false;
            };
            if it - s.entry.last_used <= 2 {
                return true;
            }
            s.key = no_key.clone();
            s.entry.series = None;
            free.push(*i);
            false
        });
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
                if !self.known_comment(line) {
                    comment(line, om).map_err(|e| format!("line {lineno}: {e}"))?;
                }
                self.remember_comment(line);
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

    /// Whether `line` is the comment line the last successful scrape had at this position (and so
    /// is valid). A different comment there moves on past it: it was most likely changed in place.
    fn known_comment(&mut self, line: &str) -> bool {
        let Some(Known::Comment { start, len }) = self.lines.get(self.cursor).copied() else {
            return false;
        };
        self.cursor += 1;
        let (start, len) = (start as usize, len as usize);
        self.comments.get(start..start + len) == Some(line)
    }

    /// Notes a valid comment line of the scrape under way.
    fn remember_comment(&mut self, line: &str) {
        if let (Ok(start), Ok(len)) = (u32::try_from(self.next_comments.len()), u32::try_from(line.len())) {
            self.next_comments.push_str(line);
            self.next_lines.push(Known::Comment { start, len });
        }
    }

    /// The slot of the series line the last successful scrape had at this position, if `line`
    /// has the same series text, and the rest of the line.
    fn known_sample<'l>(&mut self, line: &'l str) -> Option<(u32, &'l str)> {
        let Known::Sample(i) = *self.lines.get(self.cursor)? else {
            return None;
        };
        let slot = self.slots.get(i as usize)?;
        let rest = strip_series(line, &slot.key, slot.braced)?;
        self.cursor += 1;
        Some((i, rest))
    }

    /// Remembers a new series line.
    fn insert(&mut self, key: &str, entry: Entry<R>) -> u32 {
        let key: Arc<str> = Arc::from(key);
        let slot = Slot {
            braced: key.contains('{'),
            key: key.clone(),
            entry,
            pos: u32::MAX,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, i);
        i
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
        let known = self.known_sample(line);
        let (series, rest) = match known {
            Some((_, rest)) => ("", rest),
            None => exposition::split_series(line),
        };
        let (value, ts) = value_and_timestamp(rest, om)?;
        out.scraped += 1;
        let it = self.iteration;
        let slot = match known {
            Some((i, _)) => i,
            None => match self.index.get(series) {
                Some(&i) => {
                    // In step again with the last scrape's order after lines were added or removed.
                    if let Some(s) = self.slots.get(i as usize) {
                        self.cursor = (s.pos as usize).saturating_add(1);
                    }
                    i
                }
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
                    self.insert(
                        series,
                        Entry {
                            series: series_out,
                            // Not yet: set below, with the other lines.
                            last_used: 0,
                        },
                    )
                }
            },
        };
        let index = slot;
        let slot = &mut self.slots[index as usize];
        if let Ok(pos) = u32::try_from(self.next_lines.len()) {
            self.next_lines.push(Known::Sample(index));
            slot.pos = pos;
        }
        let entry = &mut slot.entry;
        if entry.last_used != it {
            entry.last_used = it;
            self.touched += 1;
        }
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

/// The words of a string separated by runs of blanks (spaces and tabs), as
/// `s.split([' ', '\t']).filter(|w| !w.is_empty())` gives them, without the pattern machinery: it
/// is run on every sample line.
struct Words<'a>(&'a str);

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let blank = |c: &u8| matches!(c, b' ' | b'\t');
        let b = self.0.as_bytes();
        let start = b.iter().position(|c| !blank(c))?;
        let end = b[start..].iter().position(blank).map_or(b.len(), |n| start + n);
        let (word, rest) = (self.0.get(start..end)?, self.0.get(end..)?);
        self.0 = rest;
        Some(word)
    }
}

/// A sample value. The usual plain decimals (`42`, `-3.25`, `1.5e+06`) are read here by Clinger's
/// fast path: a mantissa below 2^53 and a power of ten up to 10^22 are exact doubles, so one
/// correctly rounded multiplication or division gives the correctly rounded value, which is what
/// the full parser returns. Everything else (more digits, `NaN`, `Inf`, malformed) goes to
/// `exposition::parse_value`.
fn parse_value(s: &str) -> Option<f64> {
    plain_decimal(s).or_else(|| exposition::parse_value(s))
}

/// `[+-]digits[.digits][(e|E)[+-]digits]` with at least one mantissa digit, at most 19 mantissa
/// digits worth below 2^53, and a power of ten of at most 22 either way; `None` otherwise.
fn plain_decimal(s: &str) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
        1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let b = s.as_bytes();
    let mut i = 0;
    let negative = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let (mut mantissa, mut digits, mut fraction) = (0u64, 0u32, 0i32);
    let mut in_fraction = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 19 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(c - b'0');
                fraction += i32::from(in_fraction);
            }
            b'.' if !in_fraction => in_fraction = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 || mantissa > 1 << 53 {
        return None;
    }
    let mut exponent = 0i32;
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let negative_exponent = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start >= 3 {
                return None;
            }
            exponent = exponent * 10 + i32::from(c - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        if negative_exponent {
            exponent = -exponent;
        }
    }
    if i != b.len() {
        return None;
    }
    let power = exponent - fraction;
    let v = mantissa as f64;
    let v = if power >= 0 {
        v * POW10.get(usize::try_from(power).ok()?)?
    } else {
        v / POW10.get(usize::try_from(-power).ok()?)?
    };
    Some(if negative { -v } else { v })
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
    let mut words = Words(rest);
    let Some(v) = words.next() else {
        return Err("missing value".into());
    };
    let value = parse_value(v).ok_or_else(|| format!("invalid value {v:?}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves each label set to its index in a list.
    #[derive(Default)]
    struct Refs(Vec<Vec<(String, String)>>);

    impl Resolve for Refs {
        type Ref = usize;
        fn resolve(&mut self, labels: &[(String, String)]) -> Option<usize> {
            if let Some(i) = self.0.iter().position(|l| l == labels) {
                return Some(i);
            }
            self.0.push(labels.to_vec());
            Some(self.0.len() - 1)
        }
    }

    /// Everything a scrape returned, with handles replaced by their labels, in a stable order.
    fn shown(refs: &Refs, o: &Outcome<usize>) -> String {
        let mut samples: Vec<String> = o
            .samples
            .iter()
            .map(|(r, s)| format!("{:?} {} {:x}", refs.0[*r], s.t, s.v.to_bits()))
            .collect();
        samples.sort();
        format!(
            "scraped {} post {} added {} unresolved {} duplicates {} error {:?}\n{}",
            o.scraped,
            o.post_relabel,
            o.series_added,
            o.unresolved,
            o.duplicates,
            o.error,
            samples.join("\n")
        )
    }

    /// Each line compared with the last scrape's line at its position must give what a lookup of
    /// every line gives: a second cache forgets the last scrape's lines before each scrape, so it
    /// hashes every series and validates every comment, as the cache did before it kept them.
    #[test]
    fn lines_known_from_the_last_scrape_change_nothing() {
        let rules: Vec<Rule> = [
            "{source_labels: [__name__], regex: 'drop_.*', action: drop}",
            "{regex: 'tmp', action: labeldrop}",
        ]
        .iter()
        .map(|y| {
            serde_yaml::from_str::<relabel::RelabelConfig>(y)
                .unwrap()
                .compile()
                .unwrap()
        })
        .collect();
        let target = vec![("job".to_string(), "j".to_string())];
        let st = Settings {
            target_labels: &target,
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            metric_relabel: &rules,
            limits: Limits::default(),
        };
        let text = Format::PrometheusText;
        let om = Format::OpenMetrics;
        let base = "# HELP a A.\n# TYPE a counter\na 1\na{x=\"1\"} 2\nb 3\ndrop_me 4\nc{tmp=\"1\"} 5\nc{tmp=\"2\"} 6\n";
        let steps: Vec<(Format, String)> = vec![
            (text, base.into()),
            (text, base.into()),
            // A bare name followed by a label set, or a longer name, is another series.
            (text, base.replace("a 1\n", "a {y=\"1\"} 1\n")),
            (text, base.replace("a 1\n", "ab 1\n")),
            (text, base.replace("a 1\n", "a\t1\n")),
            (text, base.replace("a 1\n", "a 1 1000\n")),
            // Lines added, removed, moved.
            (text, base.replace("b 3\n", "b 3\nnew{k=\"v\"} 7\n")),
            (text, base.replace("b 3\n", "")),
            (text, format!("b 3\n{base}")),
            (text, base.into()),
            // A comment changed where a valid one was: it must be checked again.
            (text, base.replace("# TYPE a counter", "# TYPE a countre")),
            (text, base.replace("# HELP a A.", "# HELP a B.")),
            (text, base.replace("a{x=\"1\"} 2", "a{x=\"1\"} two")),
            (text, base.replace("a{x=\"1\"} 2", "a{x=\"1\" 2")),
            (text, base.into()),
            // Valid in OpenMetrics only: the same lines in the text format fail.
            (om, "# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\n".into()),
            (text, "# TYPE i info\ni_info{v=\"1\"} 1\n".into()),
            (om, "# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\n".into()),
            (om, "# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\ni_info 2\n".into()),
            // Series gone for long enough to be forgotten, their slots taken by others, then back.
            (text, "z1 1\nz2 2\n".into()),
            (text, "z1 1\nz2 2\n".into()),
            (text, "z1 1\nz2 2\n".into()),
            (
                text,
                "y1 1\ny2 2\ny3 3\ny4 4\ny5 5\ny6 6\ny7 7\ny8 8\ny9 9\n".into(),
            ),
            (text, base.into()),
            (text, base.into()),
            // The same series twice.
            (text, format!("{base}a 9\n")),
        ];
        let (mut known, mut looked_up) = (Cache::new(), Cache::new());
        let (mut r1, mut r2) = (Refs::default(), Refs::default());
        for (i, (format, body)) in steps.iter().enumerate() {
            looked_up.lines.clear();
            let t = 1000 * (i as i64 + 1);
            let a = known.scrape(body.as_bytes(), *format, t, &st, &mut r1);
            let b = looked_up.scrape(body.as_bytes(), *format, t, &st, &mut r2);
            assert_eq!(shown(&r1, &a), shown(&r2, &b), "step {i}:\n{body}");
            assert_eq!(known.len(), looked_up.len(), "step {i}");
        }
        // The bodies that repeat their predecessor were matched line by line.
        let mut c = Cache::new();
        let mut r = Refs::default();
        c.scrape(base.as_bytes(), text, 1, &st, &mut r);
        c.scrape(base.as_bytes(), text, 2, &st, &mut r);
        assert_eq!(c.cursor, c.lines.len());
        assert_eq!(c.lines.len(), base.lines().count());
    }

    /// The fast path reads exactly what the full parser reads, and leaves to it what it cannot.
    #[test]
    fn plain_decimals_parse_as_the_full_parser_does() {
        let fixed = [
            "0",
            "-0",
            "+0",
            "1",
            "-1",
            "42",
            "3.25",
            "-3.25",
            "+.5",
            ".5",
            "5.",
            "1.e5",
            "1.5e+06",
            "8.253464576e+09",
            "5e-05",
            "1E3",
            "0.1",
            "0.3",
            "123456.789",
            "9007199254740992",
            "9007199254740993",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "4.9e-324",
            "1.7976931348623157e308",
            "12345678901234567890",
            "0000000000000000001",
            "00000000000000000001",
            "1e0000",
            "1e",
            "1e+",
            ".",
            "-",
            "+",
            "",
            "e5",
            ".e5",
            "1..2",
            "1.2.3",
            "1_000",
            "0x10",
            "NaN",
            "Inf",
            "-Inf",
            "+Inf",
            "inf",
            "nan",
            "1 ",
            " 1",
            "1e5x",
            "--1",
            "1.7040672213718712e+09",
            "0.000123456",
            "61.433237231",
            "1024",
            "1.8446744073709552e+19",
        ];
        let mut cases: Vec<String> = fixed.iter().map(|s| (*s).to_string()).collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789012345678901234567890123456789.-+eE";
        for _ in 0..200_000 {
            let len = 1 + (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            cases.push(s);
            let (m, e) = (next() % 10_000_000_000, next() % 40);
            cases.push(format!("{}.{}e-{e}", m / 1000, m % 1000));
            cases.push(format!("{m}e{e}"));
        }
        for s in &cases {
            let full = exposition::parse_value(s);
            if let Some(fast) = plain_decimal(s) {
                assert_eq!(Some(fast.to_bits()), full.map(f64::to_bits), "{s:?}");
            }
            assert_eq!(parse_value(s).map(f64::to_bits), full.map(f64::to_bits), "{s:?}");
        }
        assert!(plain_decimal("1.5e+06").is_some());
        assert!(plain_decimal("12345.67").is_some());
        assert!(plain_decimal("1e23").is_none());
    }

    /// A series line is forgotten once three successful scrapes in a row went without it.
    #[test]
    fn lines_are_forgotten_after_three_scrapes_without_them() {
        let st = Settings {
            target_labels: &[],
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            metric_relabel: &[],
            limits: Limits::default(),
        };
        let mut c = Cache::new();
        let mut r = Refs::default();
        let mut lens = Vec::new();
        for (t, body) in ["a 1\nb 1\n", "a 1\n", "a 1\n", "a 1\n", "a 1\nb 1\n", "b 1\n"]
            .iter()
            .enumerate()
        {
            let o = c.scrape(body.as_bytes(), Format::PrometheusText, t as i64, &st, &mut r);
            assert_eq!(o.error, None);
            lens.push(c.len());
        }
        assert_eq!(lens, vec![2, 2, 2, 1, 2, 2]);
    }

    #[test]
    fn words_split_on_runs_of_blanks() {
        fn w(s: &str) -> Vec<&str> {
            Words(s).collect()
        }
        assert_eq!(w(" 1 \t 2\t"), vec!["1", "2"]);
        assert_eq!(w("1"), vec!["1"]);
        assert!(w(" \t ").is_empty());
        assert!(w("").is_empty());
        for s in [" 1 \t 2\t", "a  b", "\tx", "x y z "] {
            let want: Vec<&str> = s.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            assert_eq!(w(s), want);
        }
    }
}
