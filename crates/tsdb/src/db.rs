//! The database: a head fed through the WAL, checkpoints that bound restart time, and persisted blocks.
//!
//! Write path: resolve or create each series (a new series' WAL record is queued while its creation is
//! exclusive), store the samples in the head under the series' lock, then queue one samples record and
//! hand the caller an acknowledgement that completes when the record is durable.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::{Labels, Sample};
use parking_lot::{Mutex, RwLock};
use storage::{Matcher, Queryable, Series};
use tracing::{info, warn};

use crate::block::{self, Block};
use crate::checkpoint;
use crate::error::{Error, Rejection, Result};
use crate::head::{Appended, Head, HeadOptions, Persisted, SeriesRef};
use crate::head_chunks::ChunkStore;
use crate::metrics::TsdbMetrics;
use crate::records::{self, SamplesEncoder};
use crate::wal::{self, Ack, FsyncPolicy, ReadStats, Wal};

#[derive(Debug, Clone)]
pub struct Options {
    pub fsync: FsyncPolicy,
    pub head: HeadOptions,
    pub segment_size: u64,
    /// How often the head is checkpointed (and the WAL before it deleted).
    pub checkpoint_interval: Duration,
    /// Raw data older than this (relative to the newest sample) is deleted.
    pub retention_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::Always,
            head: HeadOptions::default(),
            segment_size: 128 << 20,
            checkpoint_interval: Duration::from_secs(600),
            retention_ms: 7 * 86_400_000,
        }
    }
}

/// One series of a write: labels sorted by name, unique, non-empty values; samples in any order.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub labels: &'a [(&'a str, &'a str)],
    pub samples: &'a [Sample],
}

/// A sample that was not stored, by position in the request.
#[derive(Debug, Clone, Copy)]
pub struct Rejected {
    pub series: usize,
    pub t: i64,
    pub reason: Rejection,
}

/// What happened to a write. `ack` completes when the stored samples are durable.
pub struct WriteOutcome {
    pub written: u64,
    pub duplicates: u64,
    pub rejected: Vec<Rejected>,
    pub ack: Option<Ack>,
}

impl WriteOutcome {
    /// Waits until the written samples are durable per the fsync policy.
    pub async fn durable(&mut self) -> Result<()> {
        match self.ack.take() {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Error::Wal(e.to_string())),
                Err(_) => Err(Error::WalClosed),
            },
        }
    }

    /// Blocking form of [`WriteOutcome::durable`], for threads outside the async runtime.
    pub fn wait_durable(&mut self) -> Result<()> {
        match self.ack.take() {
            None => Ok(()),
            Some(rx) => match rx.blocking_recv() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Error::Wal(e.to_string())),
                Err(_) => Err(Error::WalClosed),
            },
        }
    }
}

pub struct Db {
    dir: PathBuf,
    opts: Options,
    head: Head,
    wal: Wal,
    pub metrics: Arc<TsdbMetrics>,
    maintenance: Mutex<Instant>,
    wal_bytes_at_checkpoint: AtomicU64,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// The newest block's end: a sample older than this may be in a block, so a late write there is
    /// checked against blocks as well as the head.
    blocks_max_t: AtomicI64,
    closed: AtomicBool,
}

impl Db {
    /// Opens or creates a database in `dir`: loads blocks, the newest checkpoint, replays the WAL after it.
    pub fn open(dir: &Path, opts: Options, metrics: Arc<TsdbMetrics>) -> Result<Db> {
        let started = Instant::now();
        let wal_dir = dir.join("wal");
        fs::create_dir_all(&wal_dir).map_err(Error::io("create directory", &wal_dir))?;
        fs::create_dir_all(dir.join("blocks")).map_err(Error::io("create directory", dir.join("blocks")))?;
        // New directory entries must survive a power loss before anything in them is acknowledged.
        wal::sync_dir(dir)?;
        let blocks = block::open_all(&dir.join("blocks"))?;
        let chunk_store = Arc::new(ChunkStore::open(&dir.join("chunks_head"))?);
        let fresh_head = || {
            let h = Head::with_store(opts.head.clone(), chunk_store.clone());
            if let Some(b) = blocks.last() {
                h.note_time(b.meta.max_time);
            }
            h
        };
        let mut head = fresh_head();
        checkpoint::remove_temporary(&wal_dir)?;
        let checkpoints = checkpoint::list(&wal_dir)?;
        let mut from_segment = 0;
        for seg in checkpoints.iter().rev() {
            let p = checkpoint::path(&wal_dir, *seg);
            info!(checkpoint = %p.display(), "loading head checkpoint");
            match checkpoint::load(&head, &p, |n| info!(series = n, "loading head checkpoint")) {
                Ok(n) => {
                    info!(series = n, "head checkpoint loaded");
                    from_segment = *seg;
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "head checkpoint unusable; trying an older one");
                    metrics.wal_corrupt_records.inc();
                    // Whatever the broken checkpoint loaded must not mix with an older one.
                    head = fresh_head();
                }
            }
        }

        let segments: Vec<u64> = wal::list_segments(&wal_dir)?
            .into_iter()
            .filter(|s| *s >= from_segment)
            .collect();
        let total = segments.len();
        let mut stats = ReadStats::default();
        let mut unknown = 0u64;
        for (i, seg) in segments.iter().enumerate() {
            let path = wal::segment_path(&wal_dir, *seg);
            info!(
                segment = seg,
                progress = format!("{}/{}", i + 1, total),
                "replaying write-ahead log"
            );
            wal::read_segment(&path, &mut stats, |kind, payload| match kind {
                wal::REC_SERIES => records::decode_series(payload, |id, labels| {
                    head.create_with_id(id, &labels);
                }),
                wal::REC_SAMPLES => records::decode_samples(payload, |id, s| match head.get(id) {
                    Some(series) => {
                        head.append(&mut series.data.lock(), s.t, s.v, true);
                    }
                    None => unknown += 1,
                }),
                k => Err(Error::Corrupt(format!("unknown wal record type {k}"))),
            })?;
        }
        if unknown > 0 {
            warn!(
                samples = unknown,
                "write-ahead log samples refer to unknown series; skipped"
            );
        }
        metrics.wal_corrupt_records.inc_by(stats.corrupt);
        metrics.wal_truncated_bytes.inc_by(stats.truncated_bytes);
        let next = wal::list_segments(&wal_dir)?
            .last()
            .map_or(0, |s| s + 1)
            .max(from_segment);
        let wal = Wal::start(&wal_dir, next, opts.segment_size, opts.fsync, metrics.clone())?;
        metrics.wal_segment.set(next as i64);
        metrics.head_series.set(head.num_series() as i64);
        metrics.blocks.set(blocks.len() as i64);
        info!(
            series = head.num_series(),
            blocks = blocks.len(),
            wal_records = stats.records,
            wal_bytes = stats.bytes,
            corrupt_records = stats.corrupt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storage opened"
        );
        let db = Db {
            dir: dir.to_owned(),
            opts,
            head,
            wal,
            metrics,
            maintenance: Mutex::new(Instant::now()),
            wal_bytes_at_checkpoint: AtomicU64::new(0),
            blocks_max_t: AtomicI64::new(blocks.iter().map(|b| b.meta.max_time).max().unwrap_or(i64::MIN)),
            blocks: RwLock::new(blocks.into_iter().map(Arc::new).collect()),
            closed: AtomicBool::new(false),
        };
        Ok(db)
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Stores a batch of series given as owned label sets. See [`Db::append_inputs`].
    pub fn append(&self, batch: &[(Labels, Vec<Sample>)], atomic: bool) -> Result<WriteOutcome> {
        let pairs: Vec<Vec<(&str, &str)>> = batch.iter().map(|(l, _)| l.iter().collect()).collect();
        let inputs: Vec<Input<'_>> = batch
            .iter()
            .zip(&pairs)
            .map(|((_, s), p)| Input {
                labels: p,
                samples: s,
            })
            .collect();
        self.append_inputs(&inputs, atomic)
    }

    /// Stores a batch of series. Labels must be sorted by name, unique, with non-empty values (as
    /// `model::Labels` guarantees). With `atomic`, a sample refused as out of order, duplicate or too old
    /// refuses the whole batch (Prometheus remote write 1.0); otherwise the rest is stored. Samples of
    /// new series past the series limit are refused either way while existing series keep ingesting.
    pub fn append_inputs(&self, batch: &[Input<'_>], atomic: bool) -> Result<WriteOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::WalClosed);
        }
        let mut rejected = Vec::new();
        let mut resolved: Vec<Option<SeriesRef>> = Vec::with_capacity(batch.len());
        for (i, input) in batch.iter().enumerate() {
            let created = self
                .head
                .get_or_create(input.labels, |id| self.log_series(id, input.labels));
            if created.is_none() {
                rejected.extend(input.samples.iter().map(|s| Rejected {
                    series: i,
                    t: s.t,
                    reason: Rejection::SeriesLimit,
                }));
            }
            resolved.push(created);
        }
        if atomic {
            let mut refused = Vec::new();
            for (i, (input, r)) in batch.iter().zip(&resolved).enumerate() {
                let Some(s) = r else { continue };
                let g = s.data.lock();
                let persisted = self.persisted_samples(input.labels, input.samples)?;
                let mut newest = g.max_t;
                for x in input.samples {
                    let verdict = if let Some(v) = persisted_verdict(&persisted, x) {
                        v
                    } else if x.t > newest {
                        Appended::Stored
                    } else {
                        self.head.check(&g, x.t, x.v)
                    };
                    if let Appended::Rejected(reason) = verdict {
                        refused.push(Rejected {
                            series: i,
                            t: x.t,
                            reason,
                        });
                    }
                    newest = newest.max(x.t);
                }
            }
            if !refused.is_empty() {
                for r in &refused {
                    self.metrics.reject(r.reason.reason(), 1);
                }
                refused.extend(rejected);
                return Ok(WriteOutcome {
                    written: 0,
                    duplicates: 0,
                    rejected: refused,
                    ack: None,
                });
            }
        }
        let mut enc = SamplesEncoder::new();
        let mut duplicates = 0;
        for (i, (input, r)) in batch.iter().zip(resolved).enumerate() {
            let Some(mut s) = r else { continue };
            loop {
                let mut g = s.data.lock();
                if g.deleted {
                    // The series left the head (garbage collection) since it was resolved: look again.
                    drop(g);
                    match self
                        .head
                        .get_or_create(input.labels, |id| self.log_series(id, input.labels))
                    {
                        Some(ns) => {
                            s = ns;
                            continue;
                        }
                        None => {
                            rejected.extend(input.samples.iter().map(|x| Rejected {
                                series: i,
                                t: x.t,
                                reason: Rejection::SeriesLimit,
                            }));
                            break;
                        }
                    }
                }
                // Under the series' lock: a block cut publishes its block before it truncates the head.
                let persisted = self.persisted_samples(input.labels, input.samples)?;
                for x in input.samples {
                    let verdict = match persisted_verdict(&persisted, x) {
                        Some(v) => v,
                        None => self.head.append(&mut g, x.t, x.v, false),
                    };
                    match verdict {
                        Appended::Stored => enc.add(s.id, *x),
                        Appended::Duplicate => duplicates += 1,
                        Appended::Rejected(reason) => rejected.push(Rejected {
                            series: i,
                            t: x.t,
                            reason,
                        }),
                    }
                }
                break;
            }
        }
        for r in &rejected {
            self.metrics.reject(r.reason.reason(), 1);
        }
        self.metrics.samples_appended.inc_by(enc.count);
        self.metrics.head_series.set(self.head.num_series() as i64);
        let written = enc.count;
        let ack = if written > 0 {
            self.wal_bytes_at_checkpoint
                .fetch_add(enc.buf.len() as u64, Ordering::Relaxed);
            Some(self.wal.write(enc.finish(wal::REC_SAMPLES)))
        } else if duplicates > 0 {
            // The first copy of these samples may still wait for its fsync; acknowledging the duplicate
            // only after the next fsync keeps "acknowledged means durable" true for retries.
            Some(self.wal.write(Vec::new()))
        } else {
            None
        };
        Ok(WriteOutcome {
            written,
            duplicates,
            rejected,
            ack,
        })
    }

    /// Finds or creates the series with these labels (sorted by name, unique, non-empty values) for
    /// [`Db::append_resolved`]; `None` past the series limit.
    pub fn resolve(&self, labels: &[(&str, &str)]) -> Option<SeriesRef> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        self.head.get_or_create(labels, |id| self.log_series(id, labels))
    }

    /// Stores samples of series resolved before, one sample per item, without waiting for the WAL's
    /// fsync: for collectors that own their samples (scrapes), where nobody waits for an answer. A
    /// staleness marker is stored only in order: behind a newer sample it would end a series that
    /// is alive. A series removed from the head since it was resolved is resolved again, and the
    /// item updated. Rejected positions index `items`.
    pub fn append_resolved(&self, items: &mut [(SeriesRef, Sample)]) -> Result<WriteOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::WalClosed);
        }
        let mut enc = SamplesEncoder::new();
        // A scrape's samples share one timestamp: an id of up to three bytes, a one-byte time
        // delta and eight bytes of value each, so the record is built without growing.
        enc.buf.reserve(items.len() * 12 + 16);
        let mut rejected = Vec::new();
        let mut duplicates = 0;
        for (i, (s, x)) in items.iter_mut().enumerate() {
            let mut g = s.data.lock();
            if g.deleted {
                let labels = self.head.labels_of(s);
                let pairs: Vec<(&str, &str)> = labels.iter().collect();
                drop(g);
                match self.head.get_or_create(&pairs, |id| self.log_series(id, &pairs)) {
                    Some(ns) => *s = ns,
                    None => {
                        rejected.push(Rejected {
                            series: i,
                            t: x.t,
                            reason: Rejection::SeriesLimit,
                        });
                        continue;
                    }
                }
                g = s.data.lock();
            }
            if model::is_stale_nan(x.v) && x.t <= g.max_t {
                rejected.push(Rejected {
                    series: i,
                    t: x.t,
                    reason: Rejection::OutOfOrder,
                });
                continue;
            }
            let persisted = if x.t < self.blocks_max_t.load(Ordering::Acquire) {
                let labels = self.head.labels_of(s);
                let pairs: Vec<(&str, &str)> = labels.iter().collect();
                self.persisted_samples(&pairs, std::slice::from_ref(x))?
            } else {
                Vec::new()
            };
            let verdict = match persisted_verdict(&persisted, x) {
                Some(v) => v,
                None => self.head.append(&mut g, x.t, x.v, false),
            };
            match verdict {
                Appended::Stored => enc.add(s.id, *x),
                Appended::Duplicate => duplicates += 1,
                Appended::Rejected(reason) => rejected.push(Rejected {
                    series: i,
                    t: x.t,
                    reason,
                }),
            }
        }
        for r in &rejected {
            self.metrics.reject(r.reason.reason(), 1);
        }
        self.metrics.samples_appended.inc_by(enc.count);
        self.metrics.head_series.set(self.head.num_series() as i64);
        let written = enc.count;
        let ack = (written > 0).then(|| {
            self.wal_bytes_at_checkpoint
                .fetch_add(enc.buf.len() as u64, Ordering::Relaxed);
            self.wal.write(enc.finish(wal::REC_SAMPLES))
        });
        Ok(WriteOutcome {
            written,
            duplicates,
            rejected,
            ack,
        })
    }

    /// What blocks hold for this series at the timestamps of `samples` that blocks may cover, sorted;
    /// for a timestamp in two blocks, the one a query reads (the first).
    fn persisted_samples(&self, labels: &[(&str, &str)], samples: &[Sample]) -> Result<Vec<Sample>> {
        let below = self.blocks_max_t.load(Ordering::Acquire);
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for x in samples.iter().filter(|x| x.t < below) {
            lo = lo.min(x.t);
            hi = hi.max(x.t);
        }
        let mut out = Vec::new();
        if lo > hi {
            return Ok(out);
        }
        let mut sources = 0;
        for b in self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.min_time <= hi && b.meta.max_time > lo)
        {
            let before = out.len();
            b.samples_of(labels, lo, hi, &mut out)?;
            sources += usize::from(out.len() > before);
        }
        if sources > 1 {
            out.sort_by_key(|s| s.t); // stable: the first block's copy stays first
            out.dedup_by_key(|s| s.t);
        }
        Ok(out)
    }

    fn log_series(&self, id: u32, labels: &[(&str, &str)]) {
        let mut rec = Vec::with_capacity(wal::RECORD_HEADER + 64);
        rec.resize(wal::RECORD_HEADER, 0);
        records::encode_series(&mut rec, id, labels.iter().copied());
        wal::frame_in_place(&mut rec, wal::REC_SERIES);
        self.wal.write_nowait(rec);
        self.metrics.series_created.inc();
    }

    /// Snapshots the head and deletes the WAL segments and checkpoints it makes redundant.
    pub fn checkpoint(&self) -> Result<()> {
        let started = Instant::now();
        let wal_dir = self.dir.join("wal");
        let seg = self.wal.rotate()?;
        self.wal_bytes_at_checkpoint.store(0, Ordering::Relaxed);
        let series = checkpoint::write(&self.head, &wal_dir, seg)?;
        for old in checkpoint::list(&wal_dir)?.into_iter().filter(|s| *s < seg) {
            let p = checkpoint::path(&wal_dir, old);
            fs::remove_file(&p).map_err(Error::io("remove checkpoint", &p))?;
        }
        for old in wal::list_segments(&wal_dir)?.into_iter().filter(|s| *s < seg) {
            let p = wal::segment_path(&wal_dir, old);
            fs::remove_file(&p).map_err(Error::io("remove wal segment", &p))?;
        }
        self.metrics.checkpoints.inc();
        self.metrics
            .checkpoint_seconds
            .observe(started.elapsed().as_secs_f64());
        info!(
            segment = seg,
            series,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "head checkpoint written"
        );
        Ok(())
    }

    /// Periodic work: persist old head data into blocks, compact, apply retention, checkpoint. Cheap to
    /// call often; each step decides whether it is due.
    pub fn maintain(&self) -> Result<()> {
        let mut last = self.maintenance.lock();
        let mut changed = self.persist_blocks()?;
        changed |= self.compact()?;
        self.apply_retention()?;
        let due = last.elapsed() >= self.opts.checkpoint_interval
            || self.wal_bytes_at_checkpoint.load(Ordering::Relaxed) > 4 * self.opts.segment_size;
        if due || changed {
            self.checkpoint()?;
            *last = Instant::now();
        }
        Ok(())
    }

    /// Persists everything in the head into blocks now, whatever its age (for benchmarks and backups).
    pub fn flush(&self) -> Result<()> {
        let _g = self.maintenance.lock();
        self.persist_range(i64::MAX)?;
        self.checkpoint()
    }

    /// Writes head data older than the head's newest block range into blocks, then drops it from the head.
    fn persist_blocks(&self) -> Result<bool> {
        let range = self.opts.head.chunk_range_ms.max(1);
        let max_t = self.head.max_t();
        if max_t == i64::MIN {
            return Ok(false);
        }
        // Keep one and a half block ranges in the head, as Prometheus does, so late samples in the
        // out-of-order window still land in the head.
        let keep_from = (max_t - range - range / 2).div_euclid(range) * range;
        if self.head.min_time() >= keep_from {
            return Ok(false);
        }
        self.persist_range(keep_from)?;
        Ok(true)
    }

    /// Cuts head data with timestamps below `before` into blocks (one per block range), then truncates it.
    fn persist_range(&self, before: i64) -> Result<()> {
        let range = self.opts.head.chunk_range_ms.max(1);
        let series = self.head.all_series();
        // Group every series' old samples by block window.
        let mut windows: BTreeMap<i64, Vec<(Labels, Vec<Sample>)>> = BTreeMap::new();
        // What was read of each series, so that truncating keeps what comes in meanwhile.
        let mut read: Vec<Persisted> = Vec::with_capacity(series.len());
        for s in &series {
            let g = s.data.lock();
            read.push(g.persisted_snapshot(before));
            if g.min_t() >= before {
                continue;
            }
            let mut samples = Vec::new();
            g.samples(i64::MIN, before.saturating_sub(1), &mut samples);
            let labels = self.head.labels_of(s);
            drop(g);
            let mut start = 0;
            while start < samples.len() {
                let w = samples[start].t.div_euclid(range);
                let end = start
                    + samples[start..]
                        .iter()
                        .take_while(|x| x.t.div_euclid(range) == w)
                        .count();
                windows
                    .entry(w)
                    .or_default()
                    .push((labels.clone(), samples[start..end].to_vec()));
                start = end;
            }
        }
        let blocks_dir = self.dir.join("blocks");
        for (w, mut data) in windows {
            data.sort_by(|a, b| a.0.cmp(&b.0));
            let (mint, maxt) = (w * range, (w + 1) * range);
            let b = block::write(&blocks_dir, mint, maxt, 1, Vec::new(), &data)?;
            info!(block = %b.meta.id, min_time = mint, max_time = maxt, series = b.meta.stats.series,
                samples = b.meta.stats.samples, "block written from head");
            self.metrics.block_writes.inc();
            let mut blocks = self.blocks.write();
            self.blocks_max_t.fetch_max(b.meta.max_time, Ordering::AcqRel);
            blocks.push(Arc::new(b));
            blocks.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        }
        for (s, read) in series.iter().zip(&read) {
            s.data.lock().truncate_before(&self.head.chunks, before, read);
        }
        let removed = self.head.gc_empty();
        self.metrics.series_removed.inc_by(removed as u64);
        self.metrics.head_series.set(self.head.num_series() as i64);
        self.update_block_metrics();
        Ok(())
    }

    fn update_block_metrics(&self) {
        let blocks = self.blocks.read();
        self.metrics.blocks.set(blocks.len() as i64);
        self.metrics
            .blocks_bytes
            .set(blocks.iter().map(|b| b.size_bytes()).sum::<u64>() as i64);
    }

    /// Merges blocks: overlapping ones always, and adjacent ones into 3× and then 12× larger ranges once
    /// the head has moved past them.
    fn compact(&self) -> Result<bool> {
        let range = self.opts.head.chunk_range_ms.max(1);
        let plan = {
            let blocks = self.blocks.read();
            block::plan_compaction(&blocks, range, self.head_min_time())
        };
        let Some(group) = plan else { return Ok(false) };
        let started = Instant::now();
        let merged = match block::compact(&self.dir.join("blocks"), &group) {
            Ok(b) => b,
            Err(e) => {
                self.metrics.compaction_failures.inc();
                return Err(e);
            }
        };
        info!(block = %merged.meta.id, sources = group.len(), min_time = merged.meta.min_time,
            max_time = merged.meta.max_time, elapsed_ms = started.elapsed().as_millis() as u64, "blocks compacted");
        {
            let mut blocks = self.blocks.write();
            blocks.retain(|b| !group.iter().any(|g| g.meta.id == b.meta.id));
            blocks.push(Arc::new(merged));
            blocks.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        }
        for b in &group {
            b.delete()?;
        }
        self.metrics.compactions.inc();
        self.update_block_metrics();
        Ok(true)
    }

    fn head_min_time(&self) -> i64 {
        let range = self.opts.head.chunk_range_ms.max(1);
        let max_t = self.head.max_t();
        if max_t == i64::MIN {
            i64::MIN
        } else {
            (max_t - range - range / 2).div_euclid(range) * range
        }
    }

    fn apply_retention(&self) -> Result<()> {
        let newest = self
            .head
            .max_t()
            .max(self.blocks.read().last().map_or(i64::MIN, |b| b.meta.max_time));
        if newest == i64::MIN || self.opts.retention_ms <= 0 {
            return Ok(());
        }
        // A sample stamped in the future must not push everything else out of retention.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| d.as_millis() as i64);
        let newest = newest.min(now);
        let cutoff = newest - self.opts.retention_ms;
        let expired: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.max_time <= cutoff)
            .cloned()
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        self.blocks.write().retain(|b| b.meta.max_time > cutoff);
        for b in &expired {
            info!(block = %b.meta.id, max_time = b.meta.max_time, "block deleted by retention");
            b.delete()?;
        }
        self.metrics.retention_deleted_blocks.inc_by(expired.len() as u64);
        self.update_block_metrics();
        Ok(())
    }

    /// Checkpoints the head and closes the WAL. Writes after this fail.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let r = self.checkpoint();
        self.wal.close();
        r
    }

    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// The head's part of a select; `None` once the series read hold more than `budget` samples
    /// ([`Series::held_samples`]).
    fn head_select(
        &self,
        start: i64,
        end: i64,
        matchers: &[Matcher],
        budget: &mut usize,
    ) -> Option<Vec<Series>> {
        let mut out = Vec::new();
        for id in self.head.select_ids(matchers) {
            let Some(s) = self.head.get(id) else { continue };
            let g = s.data.lock();
            if g.max_t_all() < start || g.min_t() > end {
                continue;
            }
            let mut samples = Vec::new();
            g.samples(start, end, &mut samples);
            if !samples.is_empty() {
                let series = Series::floats(self.head.labels_of(&s), samples);
                *budget = budget.checked_sub(series.held_samples())?;
                out.push(series);
            }
        }
        Some(out)
    }
}

/// The verdict for a sample whose timestamp a block already holds: the same value is a harmless
/// repeat, another value is refused, as in the head.
fn persisted_verdict(persisted: &[Sample], x: &Sample) -> Option<Appended> {
    let i = persisted.binary_search_by_key(&x.t, |s| s.t).ok()?;
    Some(if persisted[i].v.to_bits() == x.v.to_bits() {
        Appended::Duplicate
    } else {
        Appended::Rejected(Rejection::Duplicate)
    })
}

/// Merges per-source series lists: same labels → samples merged by time, first source wins on ties.
fn merge(sources: Vec<Vec<Series>>) -> Vec<Series> {
    let mut by_labels: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    let mut multi = false;
    for list in sources {
        for s in list {
            match by_labels.entry(s.labels) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(s.samples);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    multi = true;
                    e.get_mut().extend(s.samples);
                }
            }
        }
    }
    by_labels
        .into_iter()
        .map(|(labels, mut samples)| {
            if multi {
                // Stable sort keeps the earlier source first among equal timestamps.
                samples.sort_by_key(|s| s.t);
                samples.dedup_by_key(|s| s.t);
            }
            Series::floats(labels, samples)
        })
        .collect()
}

impl Queryable for Db {
    fn select(&self, start: i64, end: i64, matchers: &[Matcher]) -> storage::Result<Vec<Series>> {
        self.select_limited(start, end, matchers, usize::MAX)
    }

    fn select_limited(
        &self,
        start: i64,
        end: i64,
        matchers: &[Matcher],
        max_samples: usize,
    ) -> storage::Result<Vec<Series>> {
        // Blocks before the head: for a timestamp stored twice, the first stored value wins. `budget`
        // counts down as samples are decoded, so reading stops at the limit.
        let mut budget = max_samples;
        let over = || storage::Error::LimitExceeded(storage::too_many_samples(max_samples));
        let mut sources = Vec::new();
        for b in self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.max_time > start && b.meta.min_time <= end)
        {
            sources.push(b.select(start, end, matchers, &mut budget).map_err(|e| match e {
                Error::LimitExceeded => over(),
                e => storage::Error::Backend(e.to_string()),
            })?);
        }
        sources.push(
            self.head_select(start, end, matchers, &mut budget)
                .ok_or_else(over)?,
        );
        Ok(merge(sources))
    }

    fn series(&self, start: i64, end: i64, matchers: &[Matcher]) -> storage::Result<Vec<Labels>> {
        let mut set = std::collections::BTreeSet::new();
        for id in self.head.select_ids(matchers) {
            let Some(s) = self.head.get(id) else { continue };
            let g = s.data.lock();
            if g.max_t_all() >= start && g.min_t() <= end {
                set.insert(self.head.labels_of(&s));
            }
        }
        for b in self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.max_time > start && b.meta.min_time <= end)
        {
            set.extend(
                b.series(start, end, matchers)
                    .map_err(|e| storage::Error::Backend(e.to_string()))?,
            );
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, start: i64, end: i64, matchers: &[Matcher]) -> storage::Result<Vec<String>> {
        let mut set = std::collections::BTreeSet::new();
        if matchers.is_empty() {
            set.extend(self.head.label_names());
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.meta.max_time > start && b.meta.min_time <= end)
            {
                set.extend(b.label_names());
            }
        } else {
            for l in self.series(start, end, matchers)? {
                set.extend(l.iter().map(|(n, _)| n.to_owned()));
            }
        }
        Ok(set.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        start: i64,
        end: i64,
        matchers: &[Matcher],
    ) -> storage::Result<Vec<String>> {
        // Sorting a vector once beats inserting into an ordered set: values often share long prefixes
        // (`host-0001:9100`), so every comparison is a long memcmp and a set compares more often.
        let mut out = if matchers.is_empty() {
            // The head's values come sorted; only values from blocks need a merge.
            let mut out = index::PostingsSource::values(&self.head, name);
            let mut merged = false;
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.meta.max_time > start && b.meta.min_time <= end)
            {
                out.extend(b.label_values(name));
                merged = true;
            }
            if !merged {
                return Ok(out);
            }
            out
        } else {
            self.series(start, end, matchers)?
                .into_iter()
                .filter_map(|l| l.get(name).map(str::to_owned))
                .collect()
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

use crate::index;
