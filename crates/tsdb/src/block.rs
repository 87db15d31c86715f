//! Immutable blocks (docs/format/block.md): a directory per time range with `meta.json`, an `index`
//! (symbols, then every series' labels and chunk references, sorted by labels) and a `chunks` file read
//! through mmap. Written to `<id>.tmp` and renamed into place, so a block directory is always complete.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;
use model::{Labels, Sample};
use serde::{Deserialize, Serialize};
use storage::{Matcher, Series};
use tracing::{info, warn};

use crate::bits::{get_uvarint, get_varint, put_uvarint, put_varint};
use crate::chunk;
use crate::error::{Error, Result};
use crate::index::{self, PostingsSource};
use crate::records::{get_str, put_str};
use crate::wal::sync_dir;

const INDEX_MAGIC: &[u8; 8] = b"PHXIDX01";
pub const FORMAT_VERSION: u32 = 1;
/// Samples per chunk in blocks: larger than in the head, since blocks are read more than written.
const BLOCK_CHUNK_SAMPLES: usize = 2048;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compaction {
    pub level: u32,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    pub id: String,
    /// Inclusive lower bound of the block's range, in ms.
    pub min_time: i64,
    /// Exclusive upper bound of the block's range, in ms.
    pub max_time: i64,
    pub stats: Stats,
    pub compaction: Compaction,
}

struct ChunkRef {
    min_t: i64,
    max_t: i64,
    offset: u64,
    len: u32,
}

struct BlockSeries {
    labels: Box<[u32]>,
    chunks: Box<[ChunkRef]>,
}

pub struct Block {
    pub meta: Meta,
    dir: PathBuf,
    symbols: Vec<String>,
    symbol_ids: HashMap<String, u32>,
    series: Vec<BlockSeries>,
    postings: HashMap<(u32, u32), Vec<u32>>,
    values: HashMap<u32, Vec<u32>>,
    chunks: Option<Mmap>,
    size: u64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn new_id(min_time: i64, level: u32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{min_time:014}-l{level}-{now:016x}{:04x}",
        SEQ.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// Writes a block series by series. Series must come in ascending label order.
pub struct BlockWriter {
    dir: PathBuf,
    tmp: PathBuf,
    meta: Meta,
    chunks: BufWriter<File>,
    offset: u64,
    symbols: BTreeMap<String, u32>,
    entries: Vec<(Labels, Vec<ChunkRef>)>,
}

impl BlockWriter {
    pub fn new(
        blocks_dir: &Path,
        min_time: i64,
        max_time: i64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<Self> {
        fs::create_dir_all(blocks_dir).map_err(Error::io("create directory", blocks_dir))?;
        let id = new_id(min_time, level);
        let tmp = blocks_dir.join(format!("{id}.tmp"));
        fs::create_dir_all(&tmp).map_err(Error::io("create directory", &tmp))?;
        let cpath = tmp.join("chunks");
        let f = File::create(&cpath).map_err(Error::io("create", &cpath))?;
        Ok(Self {
            dir: blocks_dir.join(&id),
            tmp,
            meta: Meta {
                version: FORMAT_VERSION,
                id,
                min_time,
                max_time,
                stats: Stats {
                    series: 0,
                    samples: 0,
                    chunks: 0,
                },
                compaction: Compaction { level, sources },
            },
            chunks: BufWriter::with_capacity(1 << 20, f),
            offset: 0,
            symbols: BTreeMap::new(),
            entries: Vec::new(),
        })
    }

    pub fn add(&mut self, labels: Labels, samples: &[Sample]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut refs = Vec::new();
        for part in samples.chunks(BLOCK_CHUNK_SAMPLES) {
            let data = chunk::encode(part);
            self.chunks
                .write_all(&data)
                .map_err(Error::io("write", self.tmp.join("chunks")))?;
            refs.push(ChunkRef {
                min_t: part[0].t,
                max_t: part[part.len() - 1].t,
                offset: self.offset,
                len: data.len() as u32,
            });
            self.offset += data.len() as u64;
        }
        for (n, v) in labels.iter() {
            self.symbols.entry(n.to_owned()).or_insert(0);
            self.symbols.entry(v.to_owned()).or_insert(0);
        }
        self.meta.stats.series += 1;
        self.meta.stats.samples += samples.len() as u64;
        self.meta.stats.chunks += refs.len() as u64;
        self.entries.push((labels, refs));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes index and meta, fsyncs, renames into place and opens the block.
    pub fn finish(mut self) -> Result<Block> {
        let cpath = self.tmp.join("chunks");
        let f = self.chunks.into_inner().map_err(|e| Error::Io {
            op: "flush",
            path: cpath.clone(),
            source: e.into_error(),
        })?;
        f.sync_all().map_err(Error::io("fsync", &cpath))?;
        for (i, v) in self.symbols.values_mut().enumerate() {
            *v = i as u32;
        }
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(INDEX_MAGIC);
        put_uvarint(&mut buf, self.symbols.len() as u64);
        for s in self.symbols.keys() {
            put_str(&mut buf, s);
        }
        put_uvarint(&mut buf, self.entries.len() as u64);
        for (labels, refs) in &self.entries {
            put_uvarint(&mut buf, labels.len() as u64);
            for (n, v) in labels.iter() {
                put_uvarint(&mut buf, self.symbols[n] as u64);
                put_uvarint(&mut buf, self.symbols[v] as u64);
            }
            put_uvarint(&mut buf, refs.len() as u64);
            for r in refs {
                put_varint(&mut buf, r.min_t);
                put_uvarint(&mut buf, (r.max_t - r.min_t) as u64);
                put_uvarint(&mut buf, r.offset);
                put_uvarint(&mut buf, r.len as u64);
            }
        }
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let ipath = self.tmp.join("index");
        write_synced(&ipath, &buf)?;
        let meta = serde_json::to_vec_pretty(&self.meta).map_err(|e| Error::Invalid(e.to_string()))?;
        write_synced(&self.tmp.join("meta.json"), &meta)?;
        sync_dir(&self.tmp)?;
        fs::rename(&self.tmp, &self.dir).map_err(Error::io("rename block", &self.dir))?;
        if let Some(parent) = self.dir.parent() {
            sync_dir(parent)?;
        }
        Block::open(&self.dir)
    }
}

fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(Error::io("create", path))?;
    f.write_all(data).map_err(Error::io("write", path))?;
    f.sync_all().map_err(Error::io("fsync", path))
}

/// Convenience: writes a whole block from series already sorted by labels.
pub fn write(
    blocks_dir: &Path,
    min_time: i64,
    max_time: i64,
    level: u32,
    sources: Vec<String>,
    data: &[(Labels, Vec<Sample>)],
) -> Result<Block> {
    let mut w = BlockWriter::new(blocks_dir, min_time, max_time, level, sources)?;
    for (l, s) in data {
        w.add(l.clone(), s)?;
    }
    w.finish()
}

impl Block {
    /// Order of blocks for reads and merges: by time range, then by creation, so that for a timestamp
    /// stored in two blocks the first stored value wins, the same way after every restart.
    pub fn order_key(&self) -> (i64, i64, &str) {
        // Ids end in the creation time (ns, hex) and a sequence number, both fixed width.
        let created = self.meta.id.rsplit('-').next().unwrap_or("");
        (self.meta.min_time, self.meta.max_time, created)
    }

    pub fn open(dir: &Path) -> Result<Block> {
        let mpath = dir.join("meta.json");
        let meta: Meta = serde_json::from_slice(&fs::read(&mpath).map_err(Error::io("read", &mpath))?)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", mpath.display())))?;
        if meta.version != FORMAT_VERSION {
            return Err(Error::Corrupt(format!(
                "{}: unsupported block version {}",
                mpath.display(),
                meta.version
            )));
        }
        let ipath = dir.join("index");
        let data = fs::read(&ipath).map_err(Error::io("read", &ipath))?;
        let corrupt = |why: &str| Error::Corrupt(format!("{}: {why}", ipath.display()));
        if data.len() < 12 || &data[..8] != INDEX_MAGIC {
            return Err(corrupt("bad magic"));
        }
        let body = &data[..data.len() - 4];
        let want = u32::from_le_bytes([
            data[data.len() - 4],
            data[data.len() - 3],
            data[data.len() - 2],
            data[data.len() - 1],
        ]);
        if crc32fast::hash(body) != want {
            return Err(corrupt("checksum mismatch"));
        }
        let mut pos = 8;
        let nsym = get_uvarint(body, &mut pos)? as usize;
        let mut symbols = Vec::with_capacity(nsym.min(body.len()));
        for _ in 0..nsym {
            symbols.push(get_str(body, &mut pos)?.to_owned());
        }
        let nseries = get_uvarint(body, &mut pos)? as usize;
        let mut series = Vec::with_capacity(nseries.min(body.len()));
        let mut postings: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        let mut values: HashMap<u32, Vec<u32>> = HashMap::new();
        let sym = |x: u64| -> Result<u32> {
            if (x as usize) < symbols.len() {
                Ok(x as u32)
            } else {
                Err(corrupt("symbol reference out of range"))
            }
        };
        for id in 0..nseries {
            let nl = get_uvarint(body, &mut pos)? as usize;
            let mut labels = Vec::with_capacity(nl.min(64) * 2);
            for _ in 0..nl {
                let n = sym(get_uvarint(body, &mut pos)?)?;
                let v = sym(get_uvarint(body, &mut pos)?)?;
                // Symbols are sorted, so names in label order have increasing ids.
                if labels.len() >= 2 && labels[labels.len() - 2] >= n {
                    return Err(corrupt("labels of a series are not sorted"));
                }
                labels.push(n);
                labels.push(v);
                let list = postings.entry((n, v)).or_default();
                if list.is_empty() {
                    values.entry(n).or_default().push(v);
                }
                list.push(id as u32);
            }
            let nc = get_uvarint(body, &mut pos)? as usize;
            let mut chunks = Vec::with_capacity(nc.min(1024));
            for _ in 0..nc {
                let min_t = get_varint(body, &mut pos)?;
                let max_t = min_t.wrapping_add(get_uvarint(body, &mut pos)? as i64);
                let offset = get_uvarint(body, &mut pos)?;
                let len = u32::try_from(get_uvarint(body, &mut pos)?)
                    .map_err(|_| corrupt("chunk length out of range"))?;
                chunks.push(ChunkRef {
                    min_t,
                    max_t,
                    offset,
                    len,
                });
            }
            series.push(BlockSeries {
                labels: labels.into(),
                chunks: chunks.into(),
            });
        }
        let cpath = dir.join("chunks");
        let cfile = File::open(&cpath).map_err(Error::io("open", &cpath))?;
        let clen = cfile.metadata().map_err(Error::io("stat", &cpath))?.len();
        // SAFETY: block files are immutable once renamed into place; Pharos never writes them again and
        // deletes them only after dropping every reader.
        let chunks = if clen > 0 {
            Some(unsafe { Mmap::map(&cfile) }.map_err(Error::io("mmap", &cpath))?)
        } else {
            None
        };
        for s in &series {
            if s.chunks
                .iter()
                .any(|c| c.offset.checked_add(c.len as u64).is_none_or(|end| end > clen))
            {
                return Err(corrupt("chunk reference past the end of the chunks file"));
            }
        }
        let symbol_ids = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        let size = clen + data.len() as u64;
        Ok(Block {
            meta,
            dir: dir.to_owned(),
            symbols,
            symbol_ids,
            series,
            postings,
            values,
            chunks,
            size,
        })
    }

    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    fn labels(&self, s: &BlockSeries) -> Labels {
        Labels::from_sorted_unchecked(
            s.labels
                .chunks_exact(2)
                .map(|p| {
                    (
                        self.symbols[p[0] as usize].clone(),
                        self.symbols[p[1] as usize].clone(),
                    )
                })
                .collect(),
        )
    }

    fn read_samples(&self, s: &BlockSeries, start: i64, end: i64, out: &mut Vec<Sample>) -> Result<()> {
        let data = self.chunks.as_deref().unwrap_or(&[]);
        let chunks = || {
            s.chunks
                .iter()
                .filter(|c| c.max_t >= start && c.min_t <= end)
                .map(|c| &data[c.offset as usize..(c.offset + c.len as u64) as usize])
        };
        // Sized from the chunk headers, so a query holds no spare capacity.
        out.reserve_exact(chunks().map(chunk::sample_count).sum());
        for bytes in chunks() {
            chunk::decode(bytes, out).map_err(|e| Error::Corrupt(format!("block {}: {e}", self.meta.id)))?;
        }
        out.retain(|x| x.t >= start && x.t <= end);
        chunk::trim_spare(out);
        Ok(())
    }

    /// Series matching `matchers` with their samples in `[start, end]`; fails with
    /// `Error::LimitExceeded` once the series read hold more than `budget` samples
    /// ([`Series::held_samples`]), and lowers `budget` by what it returns.
    pub fn select(
        &self,
        start: i64,
        end: i64,
        matchers: &[Matcher],
        budget: &mut usize,
    ) -> Result<Vec<Series>> {
        let mut out = Vec::new();
        for id in index::select(self, matchers) {
            let s = &self.series[id as usize];
            if !s.chunks.iter().any(|c| c.max_t >= start && c.min_t <= end) {
                continue;
            }
            let mut samples = Vec::new();
            self.read_samples(s, start, end, &mut samples)?;
            if !samples.is_empty() {
                let series = Series::floats(self.labels(s), samples);
                *budget = budget
                    .checked_sub(series.held_samples())
                    .ok_or(Error::LimitExceeded)?;
                out.push(series);
            }
        }
        Ok(out)
    }

    /// Appends the samples in `[start, end]` of the series with exactly these labels (sorted by
    /// name), if the block has it.
    pub fn samples_of(
        &self,
        labels: &[(&str, &str)],
        start: i64,
        end: i64,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        let mut ids = Vec::with_capacity(labels.len() * 2);
        for (n, v) in labels {
            match (self.symbol_ids.get(*n), self.symbol_ids.get(*v)) {
                (Some(n), Some(v)) => ids.extend([*n, *v]),
                _ => return Ok(()),
            }
        }
        // The shortest postings list holds the series if any does.
        let shortest = ids
            .chunks_exact(2)
            .filter_map(|p| self.postings.get(&(p[0], p[1])))
            .min_by_key(|l| l.len());
        let Some(list) = shortest else { return Ok(()) };
        match list
            .iter()
            .map(|id| &self.series[*id as usize])
            .find(|s| *s.labels == *ids)
        {
            Some(s) => self.read_samples(s, start, end, out),
            None => Ok(()),
        }
    }

    pub fn series(&self, start: i64, end: i64, matchers: &[Matcher]) -> Result<Vec<Labels>> {
        Ok(index::select(self, matchers)
            .into_iter()
            .map(|id| &self.series[id as usize])
            .filter(|s| s.chunks.iter().any(|c| c.max_t >= start && c.min_t <= end))
            .map(|s| self.labels(s))
            .collect())
    }

    pub fn label_names(&self) -> Vec<String> {
        self.values
            .keys()
            .map(|n| self.symbols[*n as usize].clone())
            .collect()
    }

    pub fn label_values(&self, name: &str) -> Vec<String> {
        PostingsSource::values(self, name)
    }

    /// Removes the block's directory: renamed first, so a crash midway leaves a `.deleting` directory that
    /// the next open removes, never a half-deleted block.
    pub fn delete(&self) -> Result<()> {
        let doomed = self.dir.with_extension("deleting");
        fs::rename(&self.dir, &doomed).map_err(Error::io("rename block", &self.dir))?;
        fs::remove_dir_all(&doomed).map_err(Error::io("remove block", &doomed))
    }

    /// All series with all samples, in label order (for compaction).
    fn each_series(&self) -> impl Iterator<Item = (Labels, &BlockSeries)> {
        self.series.iter().map(|s| (self.labels(s), s))
    }
}

impl PostingsSource for Block {
    fn postings(&self, name: &str, value: &str) -> Vec<u32> {
        match (self.symbol_ids.get(name), self.symbol_ids.get(value)) {
            (Some(n), Some(v)) => self.postings.get(&(*n, *v)).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn values(&self, name: &str) -> Vec<String> {
        let Some(n) = self.symbol_ids.get(name) else {
            return Vec::new();
        };
        self.values
            .get(n)
            .map(|vs| vs.iter().map(|v| self.symbols[*v as usize].clone()).collect())
            .unwrap_or_default()
    }

    fn all(&self) -> Vec<u32> {
        (0..self.series.len() as u32).collect()
    }
}

/// Opens every block under `dir`, removing leftovers of interrupted writes and compactions.
pub fn open_all(dir: &Path) -> Result<Vec<Block>> {
    fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    let mut blocks = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let e = e.map_err(Error::io("read directory", dir))?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == "tmp" || x == "deleting") {
            info!(dir = %path.display(), "removing unfinished block");
            fs::remove_dir_all(&path).map_err(Error::io("remove", &path))?;
            continue;
        }
        if !path.is_dir() {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(b),
            Err(e) => warn!(block = %path.display(), error = %e, "cannot open block; leaving it aside"),
        }
    }
    // A compaction that crashed after writing its output but before deleting its sources leaves both.
    let replaced: std::collections::HashSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta.compaction.sources.iter().cloned())
        .collect();
    let (gone, keep): (Vec<Block>, Vec<Block>) =
        blocks.into_iter().partition(|b| replaced.contains(&b.meta.id));
    for b in gone {
        info!(block = %b.meta.id, "removing block already merged by a compaction");
        b.delete()?;
    }
    let mut keep = keep;
    keep.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(keep)
}

/// Picks blocks to merge: any overlapping blocks first; then blocks sharing a window 3× or 12× the block
/// range, once the head (which starts at `head_min`) has moved past the window.
pub fn plan_compaction(
    blocks: &[std::sync::Arc<Block>],
    range: i64,
    head_min: i64,
) -> Option<Vec<std::sync::Arc<Block>>> {
    for (i, a) in blocks.iter().enumerate() {
        let group: Vec<_> = blocks[i..]
            .iter()
            .filter(|b| b.meta.min_time < a.meta.max_time && a.meta.min_time < b.meta.max_time)
            .cloned()
            .collect();
        if group.len() > 1 {
            return Some(group);
        }
    }
    for factor in [3, 12] {
        let w = range * factor;
        let mut by_window: BTreeMap<i64, Vec<std::sync::Arc<Block>>> = BTreeMap::new();
        for b in blocks {
            let win = b.meta.min_time.div_euclid(w);
            if b.meta.max_time <= (win + 1) * w && b.meta.max_time - b.meta.min_time < w {
                by_window.entry(win).or_default().push(b.clone());
            }
        }
        for (win, group) in by_window {
            if group.len() > 1 && (win + 1) * w <= head_min {
                return Some(group);
            }
        }
    }
    None
}

/// Merges blocks into one, streaming series by series in label order.
pub fn compact(blocks_dir: &Path, group: &[std::sync::Arc<Block>]) -> Result<Block> {
    let min_time = group.iter().map(|b| b.meta.min_time).min().unwrap_or(0);
    let max_time = group.iter().map(|b| b.meta.max_time).max().unwrap_or(0);
    let level = group.iter().map(|b| b.meta.compaction.level).max().unwrap_or(0) + 1;
    let sources = group.iter().map(|b| b.meta.id.clone()).collect();
    let mut by_labels: BTreeMap<Labels, Vec<(usize, &BlockSeries)>> = BTreeMap::new();
    for (i, b) in group.iter().enumerate() {
        for (l, s) in b.each_series() {
            by_labels.entry(l).or_default().push((i, s));
        }
    }
    let mut w = BlockWriter::new(blocks_dir, min_time, max_time, level, sources)?;
    let mut samples = Vec::new();
    for (labels, parts) in by_labels {
        samples.clear();
        for (i, s) in &parts {
            group[*i].read_samples(s, i64::MIN, i64::MAX, &mut samples)?;
        }
        if parts.len() > 1 {
            samples.sort_by_key(|s| s.t);
            samples.dedup_by_key(|s| s.t);
        }
        w.add(labels, &samples)?;
    }
    w.finish()
}
