//! The head: recent data of every active series, in memory. Labels are interned once; each series owns
//! its sealed chunks, one open XOR chunk and a small sorted buffer of out-of-order samples, behind its own
//! lock. Series are found by label hash (sharded maps) and by id (sharded maps); the inverted index maps
//! each label pair to sorted series ids.
//!
//! Invariant: the head never does file IO; persistence (WAL, checkpoints, blocks) drives it from outside.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};

use model::{Labels, Sample};
use parking_lot::{Mutex, RwLock};
use storage::Matcher;

use crate::chunk::{self, XorAppender};
use crate::error::Rejection;
use crate::head_chunks::{ChunkBytes, ChunkStore};
use crate::index::{self, PostingsSource};

const SHARDS: usize = 64;

/// A fast, non-cryptographic hasher (the rustc "Fx" mix). Label hashes never leave the process.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

/// Hash of a label set given as sorted pairs.
pub fn hash_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = FxHasher::default();
    for (n, v) in pairs {
        h.write(n.as_bytes());
        h.add(0xff);
        h.write(v.as_bytes());
        h.add(0xfe);
    }
    h.finish()
}

#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// How far behind the newest sample in the head a sample may arrive and still be stored.
    pub ooo_window_ms: i64,
    /// The block range: the open chunk is cut at its multiples. Chunks loaded from a checkpoint may
    /// span one; cutting a block splits them (`MemSeries::truncate_before`).
    pub chunk_range_ms: i64,
    /// Samples per chunk before it is sealed.
    pub chunk_samples: usize,
    pub max_series: usize,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            ooo_window_ms: 3_600_000,
            chunk_range_ms: 7_200_000,
            chunk_samples: 120,
            max_series: 5_000_000,
        }
    }
}

#[derive(Default)]
struct SymbolsInner {
    ids: HashMap<Arc<str>, u32>,
    strs: Vec<Arc<str>>,
}

/// Every distinct label name and value, stored once.
#[derive(Default)]
pub struct Symbols(RwLock<SymbolsInner>);

impl Symbols {
    pub fn intern(&self, s: &str) -> u32 {
        if let Some(id) = self.0.read().ids.get(s) {
            return *id;
        }
        let mut w = self.0.write();
        if let Some(id) = w.ids.get(s) {
            return *id;
        }
        let id = w.strs.len() as u32;
        let a: Arc<str> = Arc::from(s);
        w.strs.push(a.clone());
        w.ids.insert(a, id);
        id
    }

    /// Every symbol, indexed by id.
    pub fn snapshot(&self) -> Vec<Arc<str>> {
        self.0.read().strs.clone()
    }

    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.0.read().ids.get(s).copied()
    }

    pub fn get(&self, id: u32) -> Arc<str> {
        self.0
            .read()
            .strs
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    /// The strings of many ids under one lock (an unknown id reads as the empty string).
    pub fn strings(&self, ids: &[u32]) -> Vec<String> {
        let inner = self.0.read();
        ids.iter()
            .map(|&id| {
                inner
                    .strs
                    .get(id as usize)
                    .map_or_else(String::new, |s| s.to_string())
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.read().strs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// See [`Head::cardinality`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cardinality {
    pub num_series: u64,
    pub num_label_pairs: u64,
    pub series_by_metric_name: Vec<(String, u64)>,
    pub label_values_by_name: Vec<(String, u64)>,
    pub memory_bytes_by_label_name: Vec<(String, u64)>,
    pub series_by_label_pair: Vec<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct SealedChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub data: ChunkBytes,
}

/// One series in the head: identity outside the lock (immutable), data inside.
pub struct Series {
    pub id: u32,
    /// Interned name, value, name, value… sorted by name.
    pub labels: Box<[u32]>,
    pub data: Mutex<MemSeries>,
}

pub type SeriesRef = Arc<Series>;

pub struct MemSeries {
    pub sealed: Vec<SealedChunk>,
    pub open: Option<XorAppender>,
    /// Out-of-order samples, sorted by time, unique timestamps.
    pub ooo: Vec<Sample>,
    /// Newest in-order timestamp (`i64::MIN` when none).
    pub max_t: i64,
    /// Set when the series left the head; an appender holding it must look the series up again.
    pub deleted: bool,
}

impl MemSeries {
    fn new() -> Self {
        Self {
            sealed: Vec::new(),
            open: None,
            ooo: Vec::new(),
            max_t: i64::MIN,
            deleted: false,
        }
    }

    pub fn min_t(&self) -> i64 {
        let inorder = self
            .sealed
            .first()
            .map(|c| c.min_t)
            .or(self.open.as_ref().map(|o| o.min_t));
        let ooo = self.ooo.first().map(|s| s.t);
        match (inorder, ooo) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(i64::MAX),
        }
    }

    pub fn max_t_all(&self) -> i64 {
        self.max_t.max(self.ooo.last().map_or(i64::MIN, |s| s.t))
    }

    fn seal(&mut self, store: &ChunkStore) {
        if let Some(open) = self.open.take() {
            let mut samples = Vec::with_capacity(open.count());
            if chunk::decode(open.bytes(), &mut samples).is_ok() && !samples.is_empty() {
                self.sealed.push(SealedChunk {
                    min_t: open.min_t,
                    max_t: open.max_t(),
                    data: store.put(chunk::encode(&samples)),
                });
            }
        }
    }

    /// The in-order sample at exactly `t`, if any.
    fn inorder_at(&self, t: i64) -> Option<f64> {
        let mut buf = Vec::new();
        if let Some(c) = self.sealed.iter().find(|c| c.min_t <= t && t <= c.max_t) {
            let _ = c.data.decode(&mut buf);
        } else if let Some(o) = self.open.as_ref().filter(|o| o.min_t <= t && t <= o.max_t()) {
            let _ = chunk::decode(o.bytes(), &mut buf);
        }
        buf.binary_search_by_key(&t, |x| x.t).ok().map(|i| buf[i].v)
    }

    /// Samples in `[start, end]`, sorted, one per timestamp (in-order data wins over out-of-order).
    pub fn samples(&self, start: i64, end: i64, out: &mut Vec<Sample>) {
        let sealed = || self.sealed.iter().filter(|c| c.max_t >= start && c.min_t <= end);
        let open = self
            .open
            .as_ref()
            .filter(|o| o.max_t() >= start && o.min_t <= end);
        let ooo = || self.ooo.iter().filter(|s| s.t >= start && s.t <= end);
        // Sized from the chunk headers, so a query holds no spare capacity.
        let count: usize = sealed()
            .map(|c| c.data.with(chunk::sample_count).unwrap_or(0))
            .sum::<usize>()
            + open.map_or(0, XorAppender::count)
            + ooo().count();
        let mut v = Vec::with_capacity(count);
        for c in sealed() {
            let _ = c.data.decode(&mut v);
        }
        if let Some(o) = open {
            let _ = chunk::decode(o.bytes(), &mut v);
        }
        v.retain(|s| s.t >= start && s.t <= end);
        if !self.ooo.is_empty() {
            v.extend(ooo().copied());
            v.sort_by_key(|s| s.t); // stable: in-order samples come first for equal timestamps
            v.dedup_by_key(|s| s.t);
        }
        chunk::trim_spare(&mut v);
        if out.is_empty() {
            *out = v;
        } else {
            out.extend(v);
        }
    }

    /// What a block cut read of this series: everything below the cut that is in-order up to
    /// [`Persisted::max_t`] or out of order at one of [`Persisted::ooo`].
    pub fn persisted_snapshot(&self, before: i64) -> Persisted {
        Persisted {
            max_t: self.max_t,
            ooo: self.ooo.iter().map(|s| s.t).take_while(|t| *t < before).collect(),
        }
    }

    /// Removes every sample older than `before` that `persisted` says is in a block now. Samples that
    /// came in after the cut read the series (late ones below `before`) stay, as out-of-order samples,
    /// for the next cut. Returns how many chunks went.
    pub fn truncate_before(&mut self, store: &ChunkStore, before: i64, persisted: &Persisted) -> usize {
        let mut late = Vec::new();
        if persisted.max_t < before.saturating_sub(1) && self.max_t_all() > persisted.max_t {
            self.samples(persisted.max_t.saturating_add(1), before - 1, &mut late);
        }
        late.extend(
            self.ooo
                .iter()
                .filter(|s| s.t <= persisted.max_t && s.t < before)
                .filter(|s| persisted.ooo.binary_search(&s.t).is_err()),
        );
        let n = self.sealed.len();
        self.sealed.retain(|c| c.max_t >= before);
        // A chunk straddling the cut keeps only its samples from `before` on.
        for c in self.sealed.iter_mut().filter(|c| c.min_t < before) {
            let mut samples = Vec::new();
            if c.data.decode(&mut samples).is_ok() {
                samples.retain(|x| x.t >= before);
                if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
                    *c = SealedChunk {
                        min_t: first.t,
                        max_t: last.t,
                        data: store.put(chunk::encode(&samples)),
                    };
                }
            }
        }
        self.ooo.retain(|s| s.t >= before);
        // The open chunk goes too once all of it is persisted; `max_t` stays, so the out-of-order and
        // duplicate rules still see where the series was.
        if self.open.as_ref().is_some_and(|o| o.max_t() < before) {
            self.open = None;
        }
        if !late.is_empty() {
            late.append(&mut self.ooo);
            late.sort_by_key(|s| s.t);
            late.dedup_by_key(|s| s.t);
            self.ooo = late;
        }
        n - self.sealed.len()
    }
}

/// See [`MemSeries::persisted_snapshot`].
#[derive(Debug, Clone, Default)]
pub struct Persisted {
    pub max_t: i64,
    /// Sorted.
    pub ooo: Vec<i64>,
}

/// Result of appending one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Stored,
    /// Same timestamp and same value as what is stored: accepted, nothing to write.
    Duplicate,
    Rejected(Rejection),
}

type SeriesMap = HashMap<u32, SeriesRef, FxBuild>;

#[derive(Default)]
struct Postings {
    by_pair: HashMap<(u32, u32), Vec<u32>, FxBuild>,
    values: HashMap<u32, Vec<u32>, FxBuild>,
    /// `values` of a label name sorted by string, made on the first lookup and dropped when a value
    /// comes or goes: dashboards ask for the same label's values again and again, and new values
    /// are rare.
    sorted_values: Mutex<HashMap<u32, Arc<[u32]>, FxBuild>>,
    all: Vec<u32>,
}

fn sorted_insert(v: &mut Vec<u32>, id: u32) {
    match v.last() {
        Some(last) if *last >= id => {
            if let Err(pos) = v.binary_search(&id) {
                v.insert(pos, id);
            }
        }
        _ => v.push(id),
    }
}

pub struct Head {
    pub opts: HeadOptions,
    /// Where sealed chunks live (files under `chunks_head/`, or memory).
    pub chunks: Arc<ChunkStore>,
    pub symbols: Symbols,
    by_hash: Vec<RwLock<HashMap<u64, Vec<SeriesRef>, FxBuild>>>,
    by_id: Vec<RwLock<SeriesMap>>,
    postings: RwLock<Postings>,
    next_id: AtomicU32,
    num_series: AtomicUsize,
    /// Newest timestamp in the head, for the out-of-order window.
    max_t: AtomicI64,
}

impl Head {
    /// A head keeping sealed chunks in memory.
    pub fn new(opts: HeadOptions) -> Self {
        Self::with_store(opts, Arc::new(ChunkStore::memory()))
    }

    pub fn with_store(opts: HeadOptions, chunks: Arc<ChunkStore>) -> Self {
        Self {
            opts,
            chunks,
            symbols: Symbols::default(),
            by_hash: (0..SHARDS).map(|_| RwLock::new(HashMap::default())).collect(),
            by_id: (0..SHARDS).map(|_| RwLock::new(HashMap::default())).collect(),
            postings: RwLock::new(Postings::default()),
            next_id: AtomicU32::new(1),
            num_series: AtomicUsize::new(0),
            max_t: AtomicI64::new(i64::MIN),
        }
    }

    /// Cardinality of the head, for `/api/v1/status/tsdb`: the `limit` largest entries of each list,
    /// largest first, ties by name.
    pub fn cardinality(&self, limit: usize) -> Cardinality {
        let syms = self.symbols.snapshot();
        let name_of = |id: u32| syms.get(id as usize).map_or("", |s| s.as_ref()).to_owned();
        let p = self.postings.read();
        let mut by_metric = Vec::new();
        let mut by_pair = Vec::new();
        let mut memory: HashMap<u32, u64, FxBuild> = HashMap::default();
        for ((n, v), ids) in &p.by_pair {
            let (name, value) = (name_of(*n), name_of(*v));
            if name == model::METRIC_NAME {
                by_metric.push((value.clone(), ids.len() as u64));
            }
            *memory.entry(*n).or_default() += (value.len() * ids.len()) as u64;
            by_pair.push((format!("{name}={value}"), ids.len() as u64));
        }
        let values: Vec<(String, u64)> = p
            .values
            .iter()
            .map(|(n, vs)| (name_of(*n), vs.len() as u64))
            .collect();
        let memory: Vec<(String, u64)> = memory.into_iter().map(|(n, b)| (name_of(n), b)).collect();
        let top = |mut v: Vec<(String, u64)>| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        Cardinality {
            num_series: self.num_series() as u64,
            num_label_pairs: p.by_pair.len() as u64,
            series_by_metric_name: top(by_metric),
            label_values_by_name: top(values),
            memory_bytes_by_label_name: top(memory),
            series_by_label_pair: top(by_pair),
        }
    }

    /// Oldest sample time in the head (ms), or `i64::MAX` when it is empty.
    pub fn min_time(&self) -> i64 {
        self.all_series()
            .iter()
            .map(|s| s.data.lock().min_t())
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Chunks in the head, the open ones included.
    pub fn num_chunks(&self) -> usize {
        self.all_series()
            .iter()
            .map(|s| {
                let g = s.data.lock();
                g.sealed.len() + usize::from(g.open.is_some())
            })
            .sum()
    }

    pub fn num_series(&self) -> usize {
        self.num_series.load(Ordering::Relaxed)
    }

    pub fn max_t(&self) -> i64 {
        self.max_t.load(Ordering::Relaxed)
    }

    /// Raises the head's newest timestamp (replay of checkpoints).
    pub fn note_time(&self, t: i64) {
        self.max_t.fetch_max(t, Ordering::Relaxed);
    }

    fn same_labels(&self, ids: &[u32], pairs: &[(&str, &str)]) -> bool {
        if ids.len() != pairs.len() * 2 {
            return false;
        }
        let sym = self.symbols.0.read();
        pairs.iter().enumerate().all(|(i, (n, v))| {
            sym.strs.get(ids[2 * i] as usize).is_some_and(|s| &**s == *n)
                && sym.strs.get(ids[2 * i + 1] as usize).is_some_and(|s| &**s == *v)
        })
    }

    pub fn get(&self, id: u32) -> Option<SeriesRef> {
        self.by_id[id as usize % SHARDS].read().get(&id).cloned()
    }

    /// Finds the series with these labels (sorted by name, unique, non-empty values), or creates it.
    /// `on_create(id)` runs while the creation is still exclusive, so a WAL record written there precedes
    /// any sample record of the series. Returns `None` when the series does not exist and the series
    /// limit is reached.
    pub fn get_or_create(&self, pairs: &[(&str, &str)], on_create: impl FnOnce(u32)) -> Option<SeriesRef> {
        let h = hash_pairs(pairs.iter().copied());
        let shard = &self.by_hash[h as usize % SHARDS];
        let find = |m: &HashMap<u64, Vec<SeriesRef>, FxBuild>| -> Option<SeriesRef> {
            m.get(&h)?
                .iter()
                .find(|s| self.same_labels(&s.labels, pairs))
                .cloned()
        };
        if let Some(s) = find(&shard.read()) {
            return Some(s);
        }
        let mut w = shard.write();
        if let Some(s) = find(&w) {
            return Some(s);
        }
        if self.num_series() >= self.opts.max_series {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let s = self.insert(id, pairs);
        w.entry(h).or_default().push(s.clone());
        on_create(id);
        Some(s)
    }

    /// Adds a series under a known id (replay). Returns the existing one if the id is taken.
    pub fn create_with_id(&self, id: u32, labels: &Labels) -> SeriesRef {
        if let Some(s) = self.get(id) {
            return s;
        }
        let pairs: Vec<(&str, &str)> = labels.iter().collect();
        let h = hash_pairs(pairs.iter().copied());
        let s = self.insert(id, &pairs);
        self.by_hash[h as usize % SHARDS]
            .write()
            .entry(h)
            .or_default()
            .push(s.clone());
        self.next_id.fetch_max(id + 1, Ordering::Relaxed);
        s
    }

    fn insert(&self, id: u32, pairs: &[(&str, &str)]) -> SeriesRef {
        let ids: Box<[u32]> = pairs
            .iter()
            .flat_map(|(n, v)| [self.symbols.intern(n), self.symbols.intern(v)])
            .collect();
        {
            let mut p = self.postings.write();
            for pair in ids.chunks_exact(2) {
                let key = (pair[0], pair[1]);
                if !p.by_pair.contains_key(&key) {
                    p.values.entry(pair[0]).or_default().push(pair[1]);
                    p.sorted_values.get_mut().remove(&pair[0]);
                }
                sorted_insert(p.by_pair.entry(key).or_default(), id);
            }
            sorted_insert(&mut p.all, id);
        }
        let s = Arc::new(Series {
            id,
            labels: ids,
            data: Mutex::new(MemSeries::new()),
        });
        self.by_id[id as usize % SHARDS].write().insert(id, s.clone());
        self.num_series.fetch_add(1, Ordering::Relaxed);
        s
    }

    /// Checks a sample against the series without storing it.
    pub fn check(&self, s: &MemSeries, t: i64, v: f64) -> Appended {
        if t > s.max_t {
            return Appended::Stored;
        }
        // The newest in-order sample is the open chunk's last. Once the open chunk went to a block,
        // `t == max_t` is an old timestamp like any other below.
        if t == s.max_t
            && let Some(last) = s.open.as_ref().map(|o| o.last_value_bits())
        {
            return if last == v.to_bits() {
                Appended::Duplicate
            } else {
                Appended::Rejected(Rejection::Duplicate)
            };
        }
        if self.opts.ooo_window_ms <= 0 {
            return Appended::Rejected(Rejection::OutOfOrder);
        }
        if t < self.max_t().saturating_sub(self.opts.ooo_window_ms) {
            return Appended::Rejected(Rejection::TooOld);
        }
        let existing = match s.ooo.binary_search_by_key(&t, |x| x.t) {
            Ok(i) => Some(s.ooo[i].v),
            Err(_) => s.inorder_at(t),
        };
        match existing {
            Some(e) if e.to_bits() == v.to_bits() => Appended::Duplicate,
            Some(_) => Appended::Rejected(Rejection::Duplicate),
            None => Appended::Stored,
        }
    }

    /// Appends one sample, applying the out-of-order and duplicate rules. With `replay`, the sample was
    /// acknowledged before: it is stored wherever it fits, whatever the window.
    pub fn append(&self, s: &mut MemSeries, t: i64, v: f64, replay: bool) -> Appended {
        let verdict = self.check(s, t, v);
        match verdict {
            Appended::Stored => {}
            Appended::Rejected(Rejection::TooOld | Rejection::OutOfOrder) if replay => {}
            other => return other,
        }
        if t > s.max_t {
            let range = self.opts.chunk_range_ms.max(1);
            if let Some(o) = &s.open
                && (o.count() >= self.opts.chunk_samples.min(chunk::MAX_SAMPLES)
                    || t.div_euclid(range) != o.min_t.div_euclid(range))
            {
                s.seal(&self.chunks);
            }
            s.open.get_or_insert_with(XorAppender::new).append(t, v);
            s.max_t = t;
        } else {
            match s.ooo.binary_search_by_key(&t, |x| x.t) {
                Ok(_) => return Appended::Duplicate,
                Err(i) => s.ooo.insert(i, Sample::new(t, v)),
            }
        }
        self.max_t.fetch_max(t, Ordering::Relaxed);
        Appended::Stored
    }

    pub fn labels_of(&self, s: &Series) -> Labels {
        Labels::from_sorted_unchecked(
            s.labels
                .chunks_exact(2)
                .map(|p| {
                    (
                        self.symbols.get(p[0]).to_string(),
                        self.symbols.get(p[1]).to_string(),
                    )
                })
                .collect(),
        )
    }

    /// Ids of the series matching all matchers.
    pub fn select_ids(&self, matchers: &[Matcher]) -> Vec<u32> {
        index::select(self, matchers)
    }

    /// Every series, in id order.
    pub fn all_series(&self) -> Vec<SeriesRef> {
        let ids = self.postings.read().all.clone();
        ids.into_iter().filter_map(|id| self.get(id)).collect()
    }

    /// Label names used by any series in the head.
    pub fn label_names(&self) -> Vec<String> {
        let p = self.postings.read();
        p.values
            .keys()
            .map(|n| self.symbols.get(*n).to_string())
            .collect()
    }

    /// Drops series that hold no data any more. Their ids leave the index.
    pub fn gc_empty(&self) -> usize {
        let mut removed = Vec::new();
        for shard in &self.by_id {
            let mut w = shard.write();
            w.retain(|id, s| {
                let mut g = s.data.lock();
                let empty = g.sealed.is_empty() && g.open.is_none() && g.ooo.is_empty();
                if empty {
                    g.deleted = true;
                    removed.push((*id, s.labels.clone()));
                }
                !empty
            });
        }
        if removed.is_empty() {
            return 0;
        }
        let mut p = self.postings.write();
        for (id, labels) in &removed {
            for pair in labels.chunks_exact(2) {
                if let Some(list) = p.by_pair.get_mut(&(pair[0], pair[1])) {
                    list.retain(|x| x != id);
                    if list.is_empty() {
                        p.by_pair.remove(&(pair[0], pair[1]));
                        p.sorted_values.get_mut().remove(&pair[0]);
                        if let Some(vals) = p.values.get_mut(&pair[0]) {
                            vals.retain(|v| *v != pair[1]);
                            if vals.is_empty() {
                                p.values.remove(&pair[0]);
                            }
                        }
                    }
                }
            }
            p.all.retain(|x| x != id);
        }
        drop(p);
        let gone: std::collections::HashSet<u32> = removed.iter().map(|(id, _)| *id).collect();
        for shard in &self.by_hash {
            shard.write().retain(|_, ids| {
                ids.retain(|s| !gone.contains(&s.id));
                !ids.is_empty()
            });
        }
        self.num_series.fetch_sub(removed.len(), Ordering::Relaxed);
        removed.len()
    }
}

impl PostingsSource for Head {
    fn postings(&self, name: &str, value: &str) -> Vec<u32> {
        let (Some(n), Some(v)) = (self.symbols.lookup(name), self.symbols.lookup(value)) else {
            return Vec::new();
        };
        self.postings
            .read()
            .by_pair
            .get(&(n, v))
            .cloned()
            .unwrap_or_default()
    }

    fn values(&self, name: &str) -> Vec<String> {
        let Some(n) = self.symbols.lookup(name) else {
            return Vec::new();
        };
        let postings = self.postings.read();
        let Some(vals) = postings.values.get(&n) else {
            return Vec::new();
        };
        let cached = postings.sorted_values.lock().get(&n).cloned();
        let sorted = cached.unwrap_or_else(|| {
            let mut ids = vals.clone();
            {
                let syms = self.symbols.0.read();
                let str_of = |id: u32| syms.strs.get(id as usize).map_or("", |s| s.as_ref());
                ids.sort_unstable_by(|a, b| str_of(*a).cmp(str_of(*b)));
            }
            let ids: Arc<[u32]> = ids.into();
            postings.sorted_values.lock().insert(n, ids.clone());
            ids
        });
        self.symbols.strings(&sorted)
    }

    fn all(&self) -> Vec<u32> {
        self.postings.read().all.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block cut reads a series, writes the block, then truncates: samples that came in between,
    /// in order or late, are not in the block and must stay in the head.
    #[test]
    fn truncation_keeps_samples_that_came_after_the_cut_read_them() {
        let head = Head::new(HeadOptions {
            chunk_samples: 4,
            chunk_range_ms: 100,
            ..HeadOptions::default()
        });
        let s = head.get_or_create(&[("__name__", "m")], |_| {}).unwrap();
        let mut g = s.data.lock();
        for t in [10, 20, 30, 40, 50, 60] {
            head.append(&mut g, t, t as f64, false);
        }
        head.append(&mut g, 15, 15.0, false); // out of order, read by the cut
        let read = g.persisted_snapshot(100);
        let mut persisted = Vec::new();
        g.samples(i64::MIN, 99, &mut persisted);
        // Meanwhile: one more in-order sample below the cut, one above, and a late one.
        head.append(&mut g, 70, 70.0, false);
        head.append(&mut g, 120, 120.0, false);
        head.append(&mut g, 25, 25.0, false);
        g.truncate_before(&head.chunks, 100, &read);
        let mut left = Vec::new();
        g.samples(i64::MIN, i64::MAX, &mut left);
        let ts: Vec<i64> = left.iter().map(|x| x.t).collect();
        assert_eq!(ts, vec![25, 70, 120]);
        assert!(left.iter().all(|x| x.v == x.t as f64));
        assert!(persisted.iter().all(|x| !ts.contains(&x.t)));
        // The head still refuses another value at a timestamp it kept.
        assert_eq!(head.check(&g, 70, 1.0), Appended::Rejected(Rejection::Duplicate));
    }

    #[test]
    fn cardinality_counts_series_per_name_value_and_pair() {
        let head = Head::new(HeadOptions::default());
        for (name, job, i) in [
            ("up", "a", "1"),
            ("up", "a", "2"),
            ("up", "b", "1"),
            ("req_total", "a", "1"),
        ] {
            head.get_or_create(&[("__name__", name), ("i", i), ("job", job)], |_| {})
                .unwrap();
        }
        let c = head.cardinality(2);
        assert_eq!(c.num_series, 4);
        assert_eq!(
            c.series_by_metric_name,
            vec![("up".to_owned(), 3), ("req_total".to_owned(), 1)]
        );
        assert_eq!(
            c.label_values_by_name,
            vec![("__name__".to_owned(), 2), ("i".to_owned(), 2)]
        );
        assert_eq!(
            c.series_by_label_pair,
            vec![("__name__=up".to_owned(), 3), ("i=1".to_owned(), 3)]
        );
        // "up" on three series and "req_total" on one.
        assert_eq!(
            c.memory_bytes_by_label_name[0],
            ("__name__".to_owned(), 3 * 2 + 9)
        );
    }
    #[test]
    fn label_values_stay_sorted_as_values_come_and_go() {
        use crate::index::PostingsSource;
        let head = Head::new(HeadOptions::default());
        let add = |host: &str| {
            head.get_or_create(&[("__name__", "up"), ("host", host)], |_| {})
                .unwrap()
        };
        for h in ["b", "d", "a"] {
            add(h);
        }
        assert_eq!(head.values("host"), ["a", "b", "d"]);
        // A new value after the sorted list was made must appear in its place.
        let c = add("c");
        assert_eq!(head.values("host"), ["a", "b", "c", "d"]);
        // An existing value again changes nothing.
        add("a");
        assert_eq!(head.values("host"), ["a", "b", "c", "d"]);
        // Series without data leave the index, and their values with them; "c" keeps a series with data.
        let mut g = c.data.lock();
        assert_eq!(head.append(&mut g, 1_000, 1.0, false), Appended::Stored);
        drop(g);
        head.gc_empty();
        assert_eq!(head.values("host"), ["c"]);
        assert!(head.values("nope").is_empty());
    }
}
