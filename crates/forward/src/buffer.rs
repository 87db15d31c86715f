//! The on-disk buffer: numbered segment files of framed records (format in docs/format/agent-buffer.md), one
//! writer, and one cursor per receiver. Appends go to the newest segment; a segment is closed once
//! it reaches `segment_bytes`, deleted once every receiver has passed it, and dropped whole (oldest
//! first, counted) when the buffer would pass `max_bytes`.
//!
//! Each receiver has two positions: `acked`, up to which the receiver answered 2xx (persisted in
//! its cursor file), and `taken`, the end of the batch it has in memory. Dropping a segment counts
//! the samples past each receiver's `taken`, so a batch already in flight is not counted as lost;
//! a sender whose next batch starts in a dropped segment discards it and starts again at the oldest
//! segment left.
//!
//! Invariant: every segment but the newest was fsynced when it was closed, so after a power loss
//! only the newest segment of the previous run can have a torn tail; it is truncated at open.
//! Invariant: a run never appends to a segment of an earlier run; series ids are only meaningful
//! within the segment whose series records define them.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::SeriesRef;
use crate::config::{BufferConfig, Fsync};
use crate::error::{Error, Result};
use crate::format::{self, Pos, REC_SAMPLES, REC_SERIES, RECORD_HEADER, SEGMENT_HEADER};
use crate::metrics::Metrics;
use model::Sample;

/// How far the written data reaches: the newest segment and the end of its last whole record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub seg: u64,
    pub end: u64,
}

pub(crate) struct Buffer {
    segments_dir: PathBuf,
    cursors_dir: PathBuf,
    cfg: BufferConfig,
    writer: Mutex<Writer>,
    state: Mutex<State>,
    head: watch::Sender<Head>,
    /// The oldest segment still on disk; readers behind it jump to it.
    floor: AtomicU64,
    /// Held while a cursor file is written: two writers would share its temporary file.
    cursor_io: Mutex<()>,
    metrics: Arc<Metrics>,
}

/// Tokens of segments being written, unique in the process: a series marks the token of the
/// segment that has its labels, so a [`SeriesRef`] stays right whichever forwarder (or buffer
/// directory) it is later appended to.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn new_token() -> u64 {
    NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
}

struct Writer {
    seg: u64,
    token: u64,
    file: Arc<File>,
    size: u64,
    scratch: Vec<u8>,
    /// A write or fsync failed: the segment's tail is not trusted, so the next append starts a
    /// new segment (which also makes every series write its labels again).
    broken: bool,
    /// Written since the last fsync.
    dirty: bool,
    closed: bool,
}

struct Segment {
    n: u64,
    bytes: u64,
}

struct State {
    /// Ascending; the last one is being written.
    segments: VecDeque<Segment>,
    bytes: u64,
    cursors: Vec<Cursor>,
    /// The newest segment dropped because the buffer was full (0: none).
    dropped_upto: u64,
}

struct Cursor {
    key: String,
    path: PathBuf,
    acked: Pos,
    taken: Pos,
    persisted: Pos,
}

pub(crate) fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// Segment numbers in `dir`, ascending. Names that are not all digits are not segments.
fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let e = e.map_err(Error::io("read directory", dir))?;
        let name = e.file_name();
        if let Some(n) = name
            .to_str()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("fsync directory", dir))
}

/// The cursor file of a receiver: named by a hash of its key, which the file also holds.
fn cursor_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("cursor-{:016x}", crate::config::fnv64(key)))
}

/// Runs blocking IO from a scrape loop's task without stalling the other tasks of its worker
/// thread, where the runtime allows it.
fn blocking_io<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = segment_path(dir, n);
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .map_err(Error::io("create buffer segment", &path))?;
    f.write_all(&format::segment_header())
        .and_then(|_| f.sync_data())
        .map_err(Error::io("write buffer segment", &path))?;
    sync_dir(dir)?;
    Ok(f)
}

/// Truncates the last segment of a previous run at its last whole record. Returns false if the
/// file has no valid header (it was created but never written): the caller deletes it.
fn repair_tail(path: &Path, metrics: &Metrics) -> Result<bool> {
    let data = fs::read(path).map_err(Error::io("read buffer segment", path))?;
    if format::check_segment_header(&data).is_err() {
        if data.iter().any(|b| *b != 0) {
            warn!(segment = %path.display(), "buffer segment without a valid header; deleting it");
            metrics.buffer.corrupt_records.fetch_add(1, Ordering::Relaxed);
        }
        return Ok(false);
    }
    let (end, problem) = format::scan(&data[SEGMENT_HEADER..], |_, _, _| {});
    if let Some(why) = problem {
        let at = SEGMENT_HEADER + end;
        // A tail of zeros was never written (a file system that extended the file before the
        // crash), not corrupted.
        if data[at..].iter().any(|b| *b != 0) {
            warn!(segment = %path.display(), problem = why, offset = at, dropped_bytes = data.len() - at,
                "torn buffer record after a crash; truncating the segment there");
            metrics.buffer.corrupt_records.fetch_add(1, Ordering::Relaxed);
        }
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(Error::io("open buffer segment", path))?;
        f.set_len(at as u64)
            .and_then(|_| f.sync_all())
            .map_err(Error::io("truncate buffer segment", path))?;
    }
    Ok(true)
}

/// What dropping a segment cost: samples no receiver had (counted once), and per receiver.
struct Lost {
    any: u64,
    per_receiver: Vec<u64>,
}

impl Buffer {
    /// Opens (or creates) the buffer at `cfg.path` for receivers with these keys, in this order.
    /// A receiver without a cursor file is new and starts at the end of the buffer.
    pub(crate) fn open(cfg: BufferConfig, keys: &[String], metrics: Arc<Metrics>) -> Result<Buffer> {
        let segments_dir = cfg.path.join("segments");
        let cursors_dir = cfg.path.join("cursors");
        for d in [&segments_dir, &cursors_dir] {
            fs::create_dir_all(d).map_err(Error::io("create directory", d))?;
        }
        let mut numbers = list_segments(&segments_dir)?;
        // Numbers are never reused, not even that of a segment deleted here: a cursor may name it.
        let current = numbers.last().map_or(1, |n| n + 1);
        if let Some(&last) = numbers.last() {
            let path = segment_path(&segments_dir, last);
            if !repair_tail(&path, &metrics)? {
                fs::remove_file(&path).map_err(Error::io("delete buffer segment", &path))?;
                numbers.pop();
            }
        }
        let file = create_segment(&segments_dir, current)?;
        numbers.push(current);
        let mut segments = VecDeque::with_capacity(numbers.len());
        let mut bytes = 0;
        for &n in &numbers {
            let path = segment_path(&segments_dir, n);
            let len = fs::metadata(&path)
                .map_err(Error::io("stat buffer segment", &path))?
                .len();
            bytes += len;
            segments.push_back(Segment { n, bytes: len });
        }
        let first = numbers[0];
        let cursors = load_cursors(&cursors_dir, keys, first, current)?;
        let buffer = Buffer {
            segments_dir,
            cursors_dir,
            writer: Mutex::new(Writer {
                seg: current,
                token: new_token(),
                file: Arc::new(file),
                size: SEGMENT_HEADER as u64,
                scratch: Vec::new(),
                broken: false,
                dirty: false,
                closed: false,
            }),
            state: Mutex::new(State {
                segments,
                bytes,
                cursors,
                dropped_upto: 0,
            }),
            head: watch::Sender::new(Head {
                seg: current,
                end: SEGMENT_HEADER as u64,
            }),
            floor: AtomicU64::new(first),
            cursor_io: Mutex::new(()),
            metrics,
            cfg,
        };
        buffer.persist_all()?;
        buffer.release();
        {
            let st = buffer.state.lock();
            buffer.publish_sizes(&st);
            if st.segments.len() > 1 {
                info!(
                    segments = st.segments.len() - 1,
                    bytes = st.bytes,
                    "resuming the remote-write buffer"
                );
            }
        }
        Ok(buffer)
    }

    pub(crate) fn segments_dir(&self) -> &Path {
        &self.segments_dir
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Head> {
        self.head.subscribe()
    }

    pub(crate) fn floor(&self) -> u64 {
        self.floor.load(Ordering::Acquire)
    }

    pub(crate) fn acked(&self, receiver: usize) -> Pos {
        self.state.lock().cursors[receiver].acked
    }

    fn publish_sizes(&self, st: &State) {
        let b = &self.metrics.buffer;
        b.bytes.store(st.bytes, Ordering::Relaxed);
        b.segments.store(st.segments.len() as u64, Ordering::Relaxed);
        if let Some(s) = st.segments.front() {
            self.floor.store(s.n, Ordering::Release);
        }
    }

    /// Writes one append call's samples: a series record for the series this segment has not
    /// seen yet, then a samples record, in one write. Returns once the bytes are in the kernel
    /// (or on disk, with `fsync: always`).
    pub(crate) fn append(&self, samples: &[(SeriesRef, Sample)]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut w = self.writer.lock();
        if w.closed {
            return Err(Error::Closed);
        }
        if w.broken || w.size >= self.cfg.segment_bytes {
            self.rotate(&mut w)?;
        }
        let mark = w.token;
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let start = format::begin_record(&mut buf);
        for (s, _) in samples {
            if s.0.written.swap(mark, Ordering::Relaxed) != mark {
                format::put_series(&mut buf, s.0.id, &s.0.labels);
            }
        }
        if buf.len() == start + RECORD_HEADER {
            buf.truncate(start);
        } else {
            format::finish_record(&mut buf, start, REC_SERIES);
        }
        let start = format::begin_record(&mut buf);
        format::put_samples(&mut buf, samples.iter().map(|(s, x)| (s.0.id, x.t, x.v)));
        format::finish_record(&mut buf, start, REC_SAMPLES);
        self.make_room(buf.len() as u64);
        let written = (&*w.file).write_all(&buf);
        let result = match written {
            Ok(()) => {
                w.size += buf.len() as u64;
                match self.cfg.fsync {
                    Fsync::Always => {
                        let file = w.file.clone();
                        blocking_io(|| file.sync_data())
                    }
                    Fsync::Interval(_) => {
                        w.dirty = true;
                        Ok(())
                    }
                }
            }
            Err(e) => {
                // Take back what part of the write landed, so the segment stays readable to the
                // end; either way the next append starts a new segment.
                let _ = w.file.set_len(w.size);
                Err(e)
            }
        };
        w.scratch = buf;
        if let Err(e) = result {
            w.broken = true;
            self.metrics
                .buffer
                .append_failures
                .fetch_add(1, Ordering::Relaxed);
            return Err(Error::Io {
                op: "write buffer segment",
                path: segment_path(&self.segments_dir, w.seg),
                source: e,
            });
        }
        {
            let mut st = self.state.lock();
            let before = st.segments.back().map_or(0, |s| s.bytes);
            if let Some(s) = st.segments.back_mut() {
                s.bytes = w.size;
            }
            st.bytes = st.bytes - before + w.size;
            self.publish_sizes(&st);
        }
        let b = &self.metrics.buffer;
        b.samples_appended
            .fetch_add(samples.len() as u64, Ordering::Relaxed);
        let newest = samples.iter().map(|(_, s)| s.t).max().unwrap_or(i64::MIN);
        b.highest_timestamp_ms.fetch_max(newest, Ordering::Relaxed);
        self.head.send_replace(Head {
            seg: w.seg,
            end: w.size,
        });
        Ok(())
    }

    /// Closes the segment being written (fsynced, so that it is whole after a power loss) and
    /// starts the next.
    fn rotate(&self, w: &mut Writer) -> Result<()> {
        if let Err(e) = w.file.sync_data() {
            warn!(segment = w.seg, error = %e, "fsync of a closed buffer segment failed");
        }
        let sealed_len = w.file.metadata().map_or(w.size, |m| m.len());
        let n = w.seg + 1;
        let file = create_segment(&self.segments_dir, n)?;
        {
            let mut st = self.state.lock();
            let before = st.segments.back().map_or(0, |s| s.bytes);
            if let Some(s) = st.segments.back_mut() {
                s.bytes = sealed_len;
            }
            st.bytes = st.bytes - before + sealed_len + SEGMENT_HEADER as u64;
            st.segments.push_back(Segment {
                n,
                bytes: SEGMENT_HEADER as u64,
            });
            self.publish_sizes(&st);
        }
        w.seg = n;
        w.token = new_token();
        w.file = Arc::new(file);
        w.size = SEGMENT_HEADER as u64;
        w.broken = false;
        w.dirty = false;
        self.head.send_replace(Head { seg: n, end: w.size });
        self.release();
        Ok(())
    }

    /// Drops the oldest closed segments until `incoming` more bytes fit in `max_bytes`. The
    /// segment being written is never dropped, so one append larger than the whole buffer still
    /// goes in.
    fn make_room(&self, incoming: u64) {
        loop {
            let (victim, taken) = {
                let mut st = self.state.lock();
                if st.bytes + incoming <= self.cfg.max_bytes || st.segments.len() < 2 {
                    return;
                }
                let Some(victim) = st.segments.pop_front() else {
                    return;
                };
                st.bytes -= victim.bytes;
                st.dropped_upto = victim.n;
                self.publish_sizes(&st);
                let taken: Vec<Pos> = st.cursors.iter().map(|c| c.taken).collect();
                (victim, taken)
            };
            let path = segment_path(&self.segments_dir, victim.n);
            let lost = count_lost(&path, victim.n, &taken);
            if let Err(e) = fs::remove_file(&path) {
                warn!(segment = %path.display(), error = %e, "deleting a dropped buffer segment failed");
            }
            self.metrics
                .buffer
                .dropped_samples
                .fetch_add(lost.any, Ordering::Relaxed);
            for (r, n) in self.metrics.receivers.iter().zip(&lost.per_receiver) {
                r.dropped_buffer_full.fetch_add(*n, Ordering::Relaxed);
            }
            warn!(
                segment = victim.n,
                bytes = victim.bytes,
                dropped_samples = lost.any,
                max_bytes = self.cfg.max_bytes,
                "remote-write buffer full; dropped its oldest segment"
            );
        }
    }

    /// Deletes the closed segments every receiver has acknowledged in full.
    pub(crate) fn release(&self) {
        let mut doomed = Vec::new();
        {
            let mut st = self.state.lock();
            let min = st.cursors.iter().map(|c| c.acked).min();
            while st.segments.len() > 1 {
                let Some(front) = st.segments.front() else {
                    break;
                };
                let passed = match min {
                    None => true,
                    Some(p) => p.seg > front.n || (p.seg == front.n && p.off >= front.bytes),
                };
                if !passed {
                    break;
                }
                let bytes = front.bytes;
                doomed.push(front.n);
                st.segments.pop_front();
                st.bytes -= bytes;
            }
            if !doomed.is_empty() {
                self.publish_sizes(&st);
            }
        }
        for n in doomed {
            let path = segment_path(&self.segments_dir, n);
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                warn!(segment = %path.display(), error = %e, "deleting a sent buffer segment failed");
            }
        }
    }

    /// Claims the batch `[start, end)` for a receiver's sender. False if a segment it may hold
    /// samples of was dropped since it was read (those samples are counted as lost): the sender
    /// discards it and reads again from the oldest segment left. Segments deleted because every
    /// receiver had them do not count: a batch starts after them.
    pub(crate) fn take(&self, receiver: usize, start: Pos, end: Pos) -> bool {
        let mut st = self.state.lock();
        if start.seg <= st.dropped_upto {
            return false;
        }
        let c = &mut st.cursors[receiver];
        c.taken = c.taken.max(end);
        true
    }

    /// Records that the receiver acknowledged everything before `end`. True when this moved the
    /// cursor into a later segment (so closed segments may now be deletable).
    pub(crate) fn ack(&self, receiver: usize, end: Pos) -> bool {
        let mut st = self.state.lock();
        let c = &mut st.cursors[receiver];
        let crossed = end.seg > c.acked.seg;
        c.acked = c.acked.max(end);
        c.taken = c.taken.max(end);
        crossed
    }

    /// Writes a receiver's cursor file if it moved: a temporary file, fsynced, renamed over the
    /// old one, so the file is always whole.
    pub(crate) fn persist(&self, receiver: usize) -> Result<()> {
        let _io = self.cursor_io.lock();
        let (key, path, pos) = {
            let st = self.state.lock();
            let c = &st.cursors[receiver];
            if c.acked == c.persisted {
                return Ok(());
            }
            (c.key.clone(), c.path.clone(), c.acked)
        };
        let tmp = path.with_extension("tmp");
        let data = format::encode_cursor(&key, pos);
        (|| -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_data()?;
            fs::rename(&tmp, &path)
        })()
        .map_err(Error::io("write cursor file", &path))?;
        let mut st = self.state.lock();
        let c = &mut st.cursors[receiver];
        c.persisted = c.persisted.max(pos);
        Ok(())
    }

    /// Writes every cursor that moved since it was last written.
    pub(crate) fn persist_all(&self) -> Result<()> {
        let n = self.state.lock().cursors.len();
        for r in 0..n {
            self.persist(r)?;
        }
        Ok(())
    }

    /// Fsyncs the segment being written if anything was written since the last fsync.
    pub(crate) fn sync(&self) {
        let (file, seg) = {
            let mut w = self.writer.lock();
            if !w.dirty || w.closed {
                return;
            }
            w.dirty = false;
            (w.file.clone(), w.seg)
        };
        if let Err(e) = file.sync_data() {
            warn!(segment = seg, error = %e, "fsync of the buffer failed; starting a new segment");
            self.metrics
                .buffer
                .append_failures
                .fetch_add(1, Ordering::Relaxed);
            let mut w = self.writer.lock();
            if w.seg == seg {
                w.broken = true;
            }
        }
    }

    /// Refuses further appends; what was appended before is readable up to the head.
    pub(crate) fn refuse_appends(&self) {
        self.writer.lock().closed = true;
    }

    /// Refuses further appends, fsyncs the segment being written, and writes every cursor.
    pub(crate) fn close(&self) -> Result<()> {
        let file = {
            let mut w = self.writer.lock();
            w.closed = true;
            w.file.clone()
        };
        let seg = self.head.borrow().seg;
        file.sync_data().map_err(Error::io(
            "fsync buffer segment",
            segment_path(&self.segments_dir, seg),
        ))?;
        self.persist_all()?;
        sync_dir(&self.cursors_dir)
    }
}

/// Reads the cursors of `keys`, deleting the cursor files of receivers no longer configured.
fn load_cursors(dir: &Path, keys: &[String], first: u64, current: u64) -> Result<Vec<Cursor>> {
    let mut cursors = Vec::with_capacity(keys.len());
    let mut wanted = std::collections::HashSet::new();
    for key in keys {
        let path = cursor_path(dir, key);
        wanted.insert(path.clone());
        // A cursor not read back from its file is written at once (`persisted` differs), so
        // that a restart before the first acknowledgement finds it.
        let (acked, from_file) = match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                info!(receiver = %key, "new remote-write receiver; it starts with samples appended from now on");
                (Pos::start_of(current), false)
            }
            Err(e) => return Err(Error::io("read cursor file", &path)(e)),
            Ok(data) => match format::decode_cursor(&data) {
                Ok((k, pos)) if &k == key => {
                    let clamped = pos.clamp(Pos::start_of(first), Pos::start_of(current));
                    (clamped, clamped == pos)
                }
                Ok((k, _)) => {
                    warn!(receiver = %key, file = %path.display(), found = %k,
                        "cursor file belongs to another receiver; sending this one the whole buffer");
                    (Pos::start_of(first), false)
                }
                Err(why) => {
                    warn!(receiver = %key, file = %path.display(), problem = why,
                        "unreadable cursor file; sending this receiver the whole buffer");
                    (Pos::start_of(first), false)
                }
            },
        };
        cursors.push(Cursor {
            key: key.clone(),
            path,
            acked,
            taken: acked,
            persisted: if from_file { acked } else { Pos::default() },
        });
    }
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let e = e.map_err(Error::io("read directory", dir))?;
        let path = e.path();
        let is_cursor = e.file_name().to_str().is_some_and(|n| n.starts_with("cursor-"));
        if is_cursor && !wanted.contains(&path) {
            info!(file = %path.display(), "removing the cursor of a receiver no longer configured");
            if let Err(e) = fs::remove_file(&path) {
                warn!(file = %path.display(), error = %e, "removing a stale cursor file failed");
            }
        }
    }
    Ok(cursors)
}

/// Counts the samples of segment `n` at or after each receiver's taken position.
fn count_lost(path: &Path, n: u64, taken: &[Pos]) -> Lost {
    let mut lost = Lost {
        any: 0,
        per_receiver: vec![0; taken.len()],
    };
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            warn!(segment = %path.display(), error = %e, "reading a dropped segment to count its samples failed");
            return lost;
        }
    };
    if data.len() < SEGMENT_HEADER {
        return lost;
    }
    format::scan(&data[SEGMENT_HEADER..], |at, kind, payload| {
        if kind != REC_SAMPLES {
            return;
        }
        let Ok(count) = format::sample_count(payload) else {
            return;
        };
        let off = (SEGMENT_HEADER + at) as u64;
        let mut most = 0;
        for (t, slot) in taken.iter().zip(lost.per_receiver.iter_mut()) {
            let untaken = if t.seg < n || (t.seg == n && t.off < off) {
                count
            } else if t.seg == n && t.off == off {
                count.saturating_sub(u64::from(t.skip))
            } else {
                0
            };
            *slot += untaken;
            most = most.max(untaken);
        }
        lost.any += most;
    });
    lost
}
