//! One receiver's reader of the buffer: walks the segments from the receiver's cursor, keeps the
//! current segment's series (after external labels and `write_relabel_configs`), and fills batches
//! of samples in log order. Blocking file IO; the sender runs it on the blocking pool.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use scrape::relabel::{self, Rule};
use tracing::warn;

use crate::buffer::{Head, segment_path};
use crate::format::{self, Parsed, Pos, REC_SAMPLES, REC_SERIES, SEGMENT_HEADER};
use crate::metrics::{Metrics, ReceiverMetrics};

/// What a receiver sends instead of the stored labels: external labels added where the series
/// lacks them, then the receiver's relabeling.
pub(crate) struct Transform {
    pub external: Vec<(String, String)>,
    pub rules: Vec<Rule>,
}

impl Transform {
    /// The labels to send, or `None` when relabeling drops the series or leaves no label.
    fn apply(&self, mut labels: Vec<(String, String)>) -> Option<Vec<(String, String)>> {
        for (n, v) in &self.external {
            if let Err(i) = labels.binary_search_by(|(ln, _)| ln.as_str().cmp(n)) {
                labels.insert(i, (n.clone(), v.clone()));
            }
        }
        if !relabel::process(&mut labels, &self.rules) || labels.is_empty() {
            return None;
        }
        Some(labels)
    }
}

/// A series as one receiver sends it. `uid` tells series apart within a batch, across segments.
pub(crate) struct OutSeries {
    pub uid: u64,
    pub labels: Vec<(String, String)>,
}

/// One series of a batch and its samples (timestamp, value) in log order.
pub(crate) type Group = (Arc<OutSeries>, Vec<(i64, f64)>);

/// The samples of one request, grouped by series in order of first appearance.
#[derive(Default)]
pub(crate) struct Batch {
    pub groups: Vec<Group>,
    index: HashMap<u64, usize>,
    pub samples: usize,
    /// Timestamp of the first sample taken, for the lag gauges.
    pub first_t: Option<i64>,
    pub max_t: i64,
}

impl Batch {
    fn push(&mut self, s: &Arc<OutSeries>, t: i64, v: f64) {
        let i = *self.index.entry(s.uid).or_insert_with(|| {
            self.groups.push((s.clone(), Vec::new()));
            self.groups.len() - 1
        });
        self.groups[i].1.push((t, v));
        self.samples += 1;
        if self.first_t.is_none() {
            self.first_t = Some(t);
            self.max_t = t;
        }
        self.max_t = self.max_t.max(t);
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    pub fn clear(&mut self) {
        self.groups.clear();
        self.index.clear();
        self.samples = 0;
        self.first_t = None;
        self.max_t = i64::MIN;
    }
}

/// Why [`Reader::fill`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// The batch holds the most samples a request may carry.
    Full,
    /// Everything written so far has been read.
    CaughtUp,
}

enum Step {
    Record {
        kind: u8,
        payload: std::ops::Range<usize>,
        end: u64,
    },
    End,
    Bad(&'static str),
}

/// Read-ahead for records: one read serves many small records.
const READ_AHEAD: usize = 256 << 10;

pub(crate) struct Reader {
    dir: PathBuf,
    transform: Arc<Transform>,
    metrics: Arc<Metrics>,
    receiver: Arc<ReceiverMetrics>,
    seg: u64,
    /// Offset of the record holding the next sample; `u64::MAX` when the rest of the segment is
    /// unreadable.
    off: u64,
    /// Samples of the record at `off` already consumed.
    skip: u32,
    file: Option<File>,
    sealed_len: Option<u64>,
    buf: Vec<u8>,
    buf_at: u64,
    /// The segment's series by id; `None` for series the receiver's relabeling drops.
    series: HashMap<u64, Option<Arc<OutSeries>>>,
    next_uid: u64,
    /// The samples record at `off`, decoded, and where it ends.
    decoded: Vec<(u64, i64, f64)>,
    decoded_end: Option<u64>,
}

impl Reader {
    pub(crate) fn new(
        dir: PathBuf,
        start: Pos,
        transform: Arc<Transform>,
        metrics: Arc<Metrics>,
        receiver: Arc<ReceiverMetrics>,
    ) -> Self {
        Self {
            dir,
            transform,
            metrics,
            receiver,
            seg: start.seg,
            off: start.off,
            skip: start.skip,
            file: None,
            sealed_len: None,
            buf: Vec::new(),
            buf_at: 0,
            series: HashMap::new(),
            next_uid: 0,
            decoded: Vec::new(),
            decoded_end: None,
        }
    }

    /// Where the next sample is.
    pub(crate) fn pos(&self) -> Pos {
        Pos {
            seg: self.seg,
            off: self.off,
            skip: self.skip,
        }
    }

    /// Starts again at `pos` (after a drop discarded the batch being built).
    pub(crate) fn seek(&mut self, pos: Pos) {
        self.move_to(pos.seg);
        self.off = pos.off;
        self.skip = pos.skip;
    }

    fn move_to(&mut self, seg: u64) {
        self.seg = seg;
        self.off = 0;
        self.skip = 0;
        self.file = None;
        self.sealed_len = None;
        self.buf.clear();
        self.buf_at = 0;
        self.series.clear();
        self.decoded.clear();
        self.decoded_end = None;
    }

    fn corrupt(&mut self, why: &'static str) {
        warn!(segment = %segment_path(&self.dir, self.seg).display(), offset = self.off, problem = why,
            "unreadable buffer record; skipping the rest of the segment");
        self.metrics
            .buffer
            .corrupt_records
            .fetch_add(1, Ordering::Relaxed);
        self.off = u64::MAX;
        self.skip = 0;
        self.decoded_end = None;
    }

    /// Adds samples to `batch` until it holds `max` or everything written (up to `head`) is read.
    /// Samples older than `min_t` are skipped and counted. Segments before `floor` were dropped
    /// and are skipped.
    pub(crate) fn fill(
        &mut self,
        batch: &mut Batch,
        max: usize,
        head: Head,
        floor: u64,
        min_t: Option<i64>,
    ) -> std::io::Result<Fill> {
        loop {
            if let Some(end) = self.decoded_end {
                while (self.skip as usize) < self.decoded.len() {
                    if batch.samples >= max {
                        return Ok(Fill::Full);
                    }
                    let (id, t, v) = self.decoded[self.skip as usize];
                    self.skip += 1;
                    match self.series.get(&id) {
                        Some(Some(s)) => {
                            if min_t.is_some_and(|m| t < m) {
                                self.receiver.dropped_too_old.fetch_add(1, Ordering::Relaxed);
                            } else {
                                batch.push(s, t, v);
                            }
                        }
                        Some(None) => {}
                        None => {
                            self.metrics
                                .buffer
                                .corrupt_records
                                .fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                self.off = end;
                self.skip = 0;
                self.decoded_end = None;
                continue;
            }
            if batch.samples >= max {
                return Ok(Fill::Full);
            }
            if self.seg < floor {
                self.move_to(floor);
            }
            if self.seg > head.seg {
                return Ok(Fill::CaughtUp);
            }
            let sealed = self.seg < head.seg;
            if self.file.is_none() && !self.open_segment(sealed, head)? {
                if sealed {
                    self.move_to(self.seg + 1);
                    continue;
                }
                return Ok(Fill::CaughtUp);
            }
            let limit = self.limit(sealed, head)?;
            if self.off >= limit {
                if sealed {
                    self.move_to(self.seg + 1);
                    continue;
                }
                return Ok(Fill::CaughtUp);
            }
            match self.step(self.off, limit)? {
                Step::End => {
                    if sealed {
                        self.move_to(self.seg + 1);
                        continue;
                    }
                    return Ok(Fill::CaughtUp);
                }
                Step::Bad(why) => self.corrupt(why),
                Step::Record { kind, payload, end } => match kind {
                    REC_SERIES => {
                        if let Err(why) = self.read_series(payload) {
                            self.corrupt(why);
                        } else {
                            self.off = end;
                        }
                    }
                    REC_SAMPLES => {
                        let mut decoded = std::mem::take(&mut self.decoded);
                        let r = format::decode_samples(&self.buf[payload], &mut decoded);
                        self.decoded = decoded;
                        match r {
                            Err(why) => self.corrupt(why),
                            Ok(()) => {
                                if self.skip as usize > self.decoded.len() {
                                    self.skip = self.decoded.len() as u32;
                                }
                                self.decoded_end = Some(end);
                            }
                        }
                    }
                    // A record type from a later version: not ours to send.
                    _ => self.off = end,
                },
            }
        }
    }

    fn read_series(&mut self, payload: std::ops::Range<usize>) -> Result<(), &'static str> {
        let mut found = Vec::new();
        format::decode_series(&self.buf[payload], |id, labels| found.push((id, labels)))?;
        for (id, labels) in found {
            let out = self.transform.apply(labels).map(|labels| {
                self.next_uid += 1;
                Arc::new(OutSeries {
                    uid: self.next_uid,
                    labels,
                })
            });
            self.series.insert(id, out);
        }
        Ok(())
    }

    fn limit(&mut self, sealed: bool, head: Head) -> std::io::Result<u64> {
        if !sealed {
            return Ok(head.end);
        }
        if let Some(l) = self.sealed_len {
            return Ok(l);
        }
        let len = match &self.file {
            Some(f) => f.metadata()?.len(),
            None => 0,
        };
        self.sealed_len = Some(len);
        Ok(len)
    }

    /// Opens the segment, checks its header, and when starting inside it reads the series
    /// records before the start. False when the file does not exist (dropped or deleted).
    fn open_segment(&mut self, sealed: bool, head: Head) -> std::io::Result<bool> {
        let path = segment_path(&self.dir, self.seg);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        self.file = Some(file);
        self.buf.clear();
        self.buf_at = 0;
        self.series.clear();
        let limit = self.limit(sealed, head)?;
        let header_ok = if limit < SEGMENT_HEADER as u64 {
            Err("short segment header")
        } else {
            self.load(0, SEGMENT_HEADER, limit)?;
            format::check_segment_header(&self.buf[..SEGMENT_HEADER.min(self.buf.len())])
                .map_err(|_| "bad segment header")
        };
        if let Err(why) = header_ok {
            if sealed {
                self.corrupt(why);
            } else {
                // The writer creates the header before publishing the segment, so this is a
                // damaged disk; wait for the next segment.
                self.off = u64::MAX;
            }
            return Ok(true);
        }
        if self.off < SEGMENT_HEADER as u64 {
            self.off = SEGMENT_HEADER as u64;
            self.skip = 0;
            return Ok(true);
        }
        // Starting inside the segment: the ids used from here on were defined before.
        let target = self.off.min(limit);
        let mut at = SEGMENT_HEADER as u64;
        while at < target {
            match self.step(at, limit)? {
                Step::Record { kind, payload, end } => {
                    if kind == REC_SERIES
                        && let Err(why) = self.read_series(payload)
                    {
                        self.off = at;
                        self.corrupt(why);
                        return Ok(true);
                    }
                    at = end;
                }
                Step::End => break,
                Step::Bad(why) => {
                    self.off = at;
                    self.corrupt(why);
                    return Ok(true);
                }
            }
        }
        if at != self.off && self.off < limit {
            // The cursor is not on a record boundary: the segment changed under it (a tail
            // truncated after a power loss). Go on from the boundary reached.
            self.off = at;
            self.skip = 0;
        }
        Ok(true)
    }

    /// Makes `buf` hold `[at, at + need)`, reading ahead up to `limit`.
    fn load(&mut self, at: u64, need: usize, limit: u64) -> std::io::Result<()> {
        let have_from = self.buf_at;
        let have_to = self.buf_at + self.buf.len() as u64;
        if at >= have_from && at + need as u64 <= have_to {
            return Ok(());
        }
        let len = (limit.saturating_sub(at)).min(need.max(READ_AHEAD) as u64) as usize;
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        self.buf.clear();
        self.buf.resize(len, 0);
        self.buf_at = at;
        file.seek(SeekFrom::Start(at))?;
        let mut filled = 0;
        while filled < len {
            match file.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }

    /// The record at `at`, within `limit`.
    fn step(&mut self, at: u64, limit: u64) -> std::io::Result<Step> {
        if at >= limit {
            return Ok(Step::End);
        }
        let mut need = format::RECORD_HEADER;
        loop {
            if at + need as u64 > limit {
                return Ok(Step::Bad("torn record"));
            }
            self.load(at, need, limit)?;
            let rel = (at - self.buf_at) as usize;
            if self.buf.len() < rel + need {
                return Ok(Step::Bad("segment shorter than expected"));
            }
            match format::parse_record(&self.buf[rel..]) {
                Parsed::Record { kind, payload, len } => {
                    return Ok(Step::Record {
                        kind,
                        payload: rel + payload.start..rel + payload.end,
                        end: at + len as u64,
                    });
                }
                Parsed::Short { need: n } if n > need => need = n,
                Parsed::Short { .. } => return Ok(Step::Bad("torn record")),
                Parsed::Corrupt(why) => return Ok(Step::Bad(why)),
            }
        }
    }
}
