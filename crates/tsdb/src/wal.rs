//! The write-ahead log (format in docs/format/wal.md): numbered segment files of checksummed records,
//! written by one thread that batches whatever is queued into a single write and a single fsync
//! (group commit), then acknowledges every writer in the batch.
//!
//! Invariant: with `FsyncPolicy::Always` an acknowledgement is sent only after the bytes of that record
//! reached stable storage (`fdatasync` returned). After an fsync failure the log refuses all further
//! writes: the page cache state is unknown, and silently continuing could acknowledge lost data.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::metrics::TsdbMetrics;

/// Bytes before the payload: length (u32 LE), CRC-32 of type and payload (u32 LE), type (u8).
pub const RECORD_HEADER: usize = 9;
/// A record larger than this is corrupt (a torn length field would otherwise allocate gigabytes).
pub const MAX_RECORD: usize = 256 << 20;

pub const REC_SERIES: u8 = 1;
pub const REC_SAMPLES: u8 = 2;

/// When the log makes writes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Acknowledge only after fsync. Group commit shares one fsync among all concurrent writers.
    Always,
    /// Acknowledge after the write reaches the OS; fsync at most this long after. A power loss can lose
    /// up to this much acknowledged data; a process crash (`kill -9`) loses nothing.
    Interval(Duration),
}

/// Appends a framed record of `kind` to `out`.
pub fn frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
}

/// Frames a record whose first [`RECORD_HEADER`] bytes were reserved for the header.
pub fn frame_in_place(buf: &mut [u8], kind: u8) {
    let payload_len = buf.len() - RECORD_HEADER;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(&buf[RECORD_HEADER..]);
    let crc = h.finalize();
    buf[0..4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
    buf[8] = kind;
}

pub type Ack = oneshot::Receiver<std::result::Result<(), Arc<str>>>;

enum Msg {
    Write(
        Vec<u8>,
        Option<oneshot::Sender<std::result::Result<(), Arc<str>>>>,
    ),
    Rotate(oneshot::Sender<std::result::Result<u64, Arc<str>>>),
    Close(oneshot::Sender<()>),
}

pub struct Wal {
    tx: Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// Segment numbers present in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let e = e.map_err(Error::io("read directory", dir))?;
        // Only canonical names (eight digits) are segments; anything else in the directory is ignored.
        let name = e.file_name();
        if let Some(s) = name
            .to_str()
            .filter(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
            && let Ok(n) = s.parse::<u64>()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl Wal {
    /// Starts the writer on a new segment numbered `first`. Never appends to an existing segment, whose
    /// tail may be torn.
    pub fn start(
        dir: &Path,
        first: u64,
        segment_size: u64,
        policy: FsyncPolicy,
        metrics: Arc<TsdbMetrics>,
    ) -> Result<Wal> {
        fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        let policy = match policy {
            FsyncPolicy::Interval(d) if d.is_zero() => FsyncPolicy::Always,
            p => p,
        };
        let seg = Segment::create(dir, first)?;
        sync_dir(dir)?;
        let (tx, rx) = mpsc::channel();
        let mut w = Writer {
            dir: dir.to_owned(),
            seg,
            segment_size,
            policy,
            metrics,
            failed: None,
        };
        let thread = std::thread::Builder::new()
            .name("pharos-wal".into())
            .spawn(move || w.run(rx))
            .map_err(Error::io("spawn wal thread", dir))?;
        Ok(Wal {
            tx,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues framed records. The returned receiver completes once they are durable per the policy.
    pub fn write(&self, records: Vec<u8>) -> Ack {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Write(records, Some(tx))).is_err() {
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(Err(Arc::from("write-ahead log is closed")));
            return rx;
        }
        rx
    }

    /// Queues framed records without waiting. Order with later writes is kept.
    pub fn write_nowait(&self, records: Vec<u8>) {
        let _ = self.tx.send(Msg::Write(records, None));
    }

    /// Closes the current segment (fsynced) and starts the next; returns the new segment's number. Every
    /// record queued before this call is in an older segment, every one queued after in this or a newer.
    pub fn rotate(&self) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Msg::Rotate(tx)).map_err(|_| Error::WalClosed)?;
        rx.blocking_recv()
            .map_err(|_| Error::WalClosed)?
            .map_err(|e| Error::Wal(e.to_string()))
    }

    /// Flushes, fsyncs and stops the writer thread.
    pub fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(tx)).is_ok() {
            let _ = rx.blocking_recv();
        }
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

struct Segment {
    n: u64,
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
}

impl Segment {
    fn create(dir: &Path, n: u64) -> Result<Segment> {
        let path = segment_path(dir, n);
        let f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(Error::io("create wal segment", &path))?;
        Ok(Segment {
            n,
            path,
            out: BufWriter::with_capacity(1 << 20, f),
            size: 0,
        })
    }
}

struct Writer {
    dir: PathBuf,
    seg: Segment,
    segment_size: u64,
    policy: FsyncPolicy,
    metrics: Arc<TsdbMetrics>,
    failed: Option<Arc<str>>,
}

type Acks = Vec<oneshot::Sender<std::result::Result<(), Arc<str>>>>;

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        let mut last_sync = Instant::now();
        let mut dirty = false;
        loop {
            let first = match self.policy {
                FsyncPolicy::Always => match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                },
                FsyncPolicy::Interval(iv) => {
                    let wait = iv.saturating_sub(last_sync.elapsed());
                    match rx.recv_timeout(wait) {
                        Ok(m) => m,
                        Err(RecvTimeoutError::Timeout) => {
                            if dirty {
                                let _ = self.sync();
                                dirty = false;
                            }
                            last_sync = Instant::now();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            let mut acks: Acks = Vec::new();
            let mut pending = Some(first);
            let mut batch_bytes = 0usize;
            while let Some(msg) = pending.take() {
                match msg {
                    Msg::Write(buf, ack) => {
                        batch_bytes += buf.len();
                        self.append(&buf);
                        dirty = true;
                        acks.extend(ack);
                    }
                    Msg::Rotate(ack) => {
                        self.finish(&mut acks);
                        dirty = false;
                        let r = self.rotate().map_err(|e| Arc::<str>::from(e.to_string()));
                        let _ = ack.send(r);
                    }
                    Msg::Close(ack) => {
                        self.finish(&mut acks);
                        info!(segment = self.seg.n, "write-ahead log closed");
                        let _ = ack.send(());
                        return;
                    }
                }
                if batch_bytes < 16 << 20 {
                    pending = rx.try_recv().ok();
                }
            }
            match self.policy {
                FsyncPolicy::Always => {
                    self.finish(&mut acks);
                    dirty = false;
                }
                FsyncPolicy::Interval(iv) => {
                    let r = self.flush();
                    for a in acks.drain(..) {
                        let _ = a.send(r.clone());
                    }
                    if last_sync.elapsed() >= iv {
                        let _ = self.sync();
                        dirty = false;
                        last_sync = Instant::now();
                    }
                }
            }
            if self.seg.size >= self.segment_size && self.failed.is_none() {
                if let Err(e) = self
                    .sync()
                    .and_then(|_| self.rotate().map_err(|e| Arc::from(e.to_string())))
                {
                    warn!(error = %e, "wal segment rotation failed");
                }
                dirty = false;
            }
        }
        let mut none = Vec::new();
        self.finish(&mut none);
    }

    fn append(&mut self, buf: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.seg.out.write_all(buf) {
            self.fail(format!("write {}: {e}", self.seg.path.display()));
        }
        self.seg.size += buf.len() as u64;
        self.metrics.wal_bytes.inc_by(buf.len() as u64);
    }

    fn fail(&mut self, msg: String) {
        warn!(error = %msg, "write-ahead log failed; refusing further writes");
        self.metrics.wal_failures.inc();
        self.failed = Some(Arc::from(msg));
    }

    fn flush(&mut self) -> std::result::Result<(), Arc<str>> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        if let Err(e) = self.seg.out.flush() {
            self.fail(format!("write {}: {e}", self.seg.path.display()));
        }
        self.failed.clone().map_or(Ok(()), Err)
    }

    fn sync(&mut self) -> std::result::Result<(), Arc<str>> {
        self.flush()?;
        let start = Instant::now();
        if let Err(e) = self.seg.out.get_ref().sync_data() {
            self.fail(format!("fsync {}: {e}", self.seg.path.display()));
        }
        self.metrics.wal_fsyncs.inc();
        self.metrics
            .wal_fsync_seconds
            .observe(start.elapsed().as_secs_f64());
        self.failed.clone().map_or(Ok(()), Err)
    }

    /// Makes everything written so far durable and answers the waiting writers.
    fn finish(&mut self, acks: &mut Acks) {
        let r = self.sync();
        for a in acks.drain(..) {
            let _ = a.send(r.clone());
        }
    }

    fn rotate(&mut self) -> Result<u64> {
        if let Some(f) = &self.failed {
            return Err(Error::Wal(f.to_string()));
        }
        let next = Segment::create(&self.dir, self.seg.n + 1)?;
        sync_dir(&self.dir)?;
        self.seg = next;
        self.metrics.wal_segment.set(self.seg.n as i64);
        Ok(self.seg.n)
    }
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("fsync directory", dir))
}

/// What replay found.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    pub records: u64,
    pub bytes: u64,
    pub corrupt: u64,
    pub truncated_bytes: u64,
}

/// Walks the records in `data`, calling `f(kind, payload)` for each. Stops at the first record that is
/// torn (its length runs past the end) or fails its checksum, and returns its offset and what is wrong.
pub fn scan(
    data: &[u8],
    stats: &mut ReadStats,
    mut f: impl FnMut(u8, &[u8]) -> Result<()>,
) -> Result<Option<(usize, &'static str)>> {
    let mut pos = 0usize;
    while pos < data.len() {
        if data.len() - pos < RECORD_HEADER {
            return Ok(Some((pos, "torn record header")));
        }
        let len = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        if len > MAX_RECORD || len > data.len() - pos - RECORD_HEADER {
            return Ok(Some((pos, "torn record")));
        }
        let end = pos + RECORD_HEADER + len;
        let mut h = crc32fast::Hasher::new();
        h.update(&data[pos + 8..end]);
        if h.finalize() != crc {
            return Ok(Some((pos, "checksum mismatch")));
        }
        f(data[pos + 8], &data[pos + RECORD_HEADER..end])?;
        stats.records += 1;
        stats.bytes += (end - pos) as u64;
        pos = end;
    }
    Ok(None)
}

/// Reads every record of one segment file. A torn or corrupt record ends the segment: it is logged,
/// counted, and the file is truncated there so the next start reads cleanly.
pub fn read_segment(
    path: &Path,
    stats: &mut ReadStats,
    f: impl FnMut(u8, &[u8]) -> Result<()>,
) -> Result<()> {
    let data = fs::read(path).map_err(Error::io("read wal segment", path))?;
    if let Some((pos, why)) = scan(&data, stats, f)? {
        // A tail of zeros is a never-written tail, not corruption worth a warning.
        if !data[pos..].iter().all(|b| *b == 0) {
            warn!(segment = %path.display(), problem = why, offset = pos, dropped_bytes = data.len() - pos,
                "corrupt write-ahead log record; truncating the segment here");
            stats.corrupt += 1;
        }
        stats.truncated_bytes += (data.len() - pos) as u64;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(Error::io("open wal segment", path))?;
        file.set_len(pos as u64)
            .map_err(Error::io("truncate wal segment", path))?;
        file.sync_all().map_err(Error::io("fsync wal segment", path))?;
    }
    Ok(())
}
