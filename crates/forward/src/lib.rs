//! The agent's way out: scraped samples go into an append-only buffer on disk, and one sender per
//! receiver pushes them by Prometheus remote write (1.0 or 2.0) in order, moving that receiver's
//! cursor only when it answers 2xx. Knows nothing of scraping or of how receivers store samples;
//! the scrape manager sees a [`collect::Appender`].
//!
//! # Durability
//!
//! With `fsync: always`, [`Appender::append`](collect::Appender::append) returns `Ok` only after
//! the samples' bytes were fsynced: an acknowledged append survives a crash and a power loss. With
//! `fsync: <interval>` (the default, 1s) it returns once the bytes were written to the file (in
//! the kernel, not in a user-space buffer): an acknowledged append survives a crash of the process
//! (`kill -9`), and a power loss loses at most the appends of the last interval. Either way a torn
//! tail is cut at the last whole record when the buffer is opened.
//!
//! Delivery is at least once: a receiver's cursor file is written at most a second after the
//! receiver acknowledged a batch (at once when the cursor enters a new segment, and at shutdown),
//! so after a crash a receiver can get the batches of its last second again. Receivers store
//! identical samples once. The bytes on disk are described in docs/format/agent-buffer.md.
//!
//! # Ordering
//!
//! Each receiver has one request in flight, and its batches are cut from the log in order, so
//! every series reaches every receiver in timestamp order. That is enough at the agent's scale:
//! 1,000 series scraped every 10 s are one request per scrape, and even 100,000 are 50 requests
//! of 2000 samples per 10 s, which one connection sustains while a request takes under 200 ms
//! (and a larger `max_samples_per_send` divides the count). Prometheus's shards exist to push
//! millions of samples per second, which an agent never produces, and sharding would need
//! per-series routing to keep each series in order. `capacity`, `min_shards` and `max_shards` are
//! accepted for compatibility and do nothing. A receiver that is down only delays itself: each has
//! its own cursor.
//!
//! # Cost
//!
//! An append is one `write(2)` of two records per scrape, with no allocation per sample once the
//! scratch buffer has grown; senders sleep on a watch channel that the writer bumps after each
//! append, so between scrapes the only work is a once-a-second check for moved cursors to write
//! (and, with an fsync interval, for bytes to fsync).

mod buffer;
pub mod config;
mod error;
mod format;
pub mod metrics;
mod reader;
mod sender;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, File};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use model::Sample;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::buffer::Buffer;
use crate::reader::{Reader, Transform};
use crate::sender::{Mode, Sender};

pub use config::{
    BufferConfig, BufferYaml, Fsync, QueueConfig, QueueConfigYaml, RemoteWrite, RemoteWriteYaml, resolve,
};
pub use error::{Error, Result};
pub use metrics::Metrics;

/// What [`Forwarder::open`] needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub buffer: BufferConfig,
    pub receivers: Vec<RemoteWrite>,
    /// Prometheus's `global.external_labels`: added to every series sent where the series lacks
    /// the label, before each receiver's `write_relabel_configs`.
    pub external_labels: Vec<(String, String)>,
}

/// A series as the buffer knows it: an id unique in the process and its labels, encoded once.
pub(crate) struct Series {
    id: u64,
    labels: Arc<[u8]>,
    /// The token of the segment that last got this series' labels (0: none).
    written: AtomicU64,
}

/// Series ids, unique in the process rather than per forwarder, so that a [`SeriesRef`] can be
/// appended to any forwarder (one reopened on a reload, say) without colliding with its series.
static NEXT_SERIES_ID: AtomicU64 = AtomicU64::new(1);

/// The [`collect::Appender`] handle of one series, kept by the scrape cache. A series no scrape
/// cache holds any more is forgotten. A handle from one forwarder may be appended to another.
#[derive(Clone)]
pub struct SeriesRef(Arc<Series>);

struct SeriesTable {
    by_labels: HashMap<Arc<[u8]>, Weak<Series>>,
    /// Entries after the last sweep of forgotten series.
    swept_len: usize,
}

/// Buffers scraped samples on disk and sends them to every configured receiver.
pub struct Forwarder {
    buffer: Arc<Buffer>,
    series: Mutex<SeriesTable>,
    metrics: Arc<Metrics>,
    receivers: Vec<RemoteWrite>,
    mode: watch::Sender<Mode>,
    senders: Mutex<Vec<JoinHandle<()>>>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    /// Held for the forwarder's life: one process per buffer directory.
    _lock: File,
}

impl Forwarder {
    /// Opens (or creates) the buffer and starts one sender per receiver. Must be called within a
    /// tokio runtime. Each receiver resumes at its cursor; a receiver the buffer has no cursor for
    /// starts with the samples appended from now on.
    pub fn open(opts: Options) -> Result<Arc<Forwarder>> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| Error::NoRuntime(e.to_string()))?;
        let root = opts.buffer.path.clone();
        fs::create_dir_all(&root).map_err(Error::io("create directory", &root))?;
        let lock_path = root.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Error::io("open lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked(root)),
            Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path)(e)),
        }
        let mut clients = Vec::with_capacity(opts.receivers.len());
        for rw in &opts.receivers {
            clients.push(collect::http::client(&rw.http).map_err(|msg| Error::Receiver {
                receiver: rw.remote_name.clone(),
                msg,
            })?);
        }
        let receiver_metrics = opts
            .receivers
            .iter()
            .map(|r| Arc::new(metrics::ReceiverMetrics::new(&r.remote_name, &r.url)))
            .collect();
        let metrics = Arc::new(Metrics::new(receiver_metrics));
        let keys: Vec<String> = opts.receivers.iter().map(|r| r.key.clone()).collect();
        let fsync = opts.buffer.fsync;
        let buffer = Arc::new(Buffer::open(opts.buffer, &keys, metrics.clone())?);
        let (mode, mode_rx) = watch::channel(Mode::Run);
        let mut senders = Vec::with_capacity(opts.receivers.len());
        for (i, (rw, client)) in opts.receivers.iter().zip(clients).enumerate() {
            let transform = Arc::new(Transform {
                external: opts.external_labels.clone(),
                rules: rw.relabel.clone(),
            });
            let reader = Reader::new(
                buffer.segments_dir().to_owned(),
                buffer.acked(i),
                transform,
                metrics.clone(),
                metrics.receivers[i].clone(),
            );
            let sender = Sender {
                receiver: i,
                cfg: rw.clone(),
                client,
                buffer: buffer.clone(),
                metrics: metrics.clone(),
                mode: mode_rx.clone(),
            };
            info!(receiver = %rw.remote_name, url = %rw.url, protocol = rw.protocol.proto(), "remote write starting");
            senders.push(runtime.spawn(sender.run(reader)));
        }
        let syncer = runtime.spawn(housekeeping(buffer.clone(), fsync));
        Ok(Arc::new(Forwarder {
            buffer,
            series: Mutex::new(SeriesTable {
                by_labels: HashMap::new(),
                swept_len: 0,
            }),
            metrics,
            receivers: opts.receivers,
            mode,
            senders: Mutex::new(senders),
            syncer: Mutex::new(Some(syncer)),
            closed: AtomicBool::new(false),
            _lock: lock,
        }))
    }

    /// The forwarder's metrics, for a registry ([`Metrics::register`]) or as text
    /// ([`Metrics::render`]).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The receivers, in configuration order.
    pub fn receivers(&self) -> &[RemoteWrite] {
        &self.receivers
    }

    /// Stops the senders, letting each send what is buffered (without waiting for full batches)
    /// until `deadline`; then abandons requests in flight, fsyncs the buffer and writes every
    /// cursor. What was not sent stays buffered for the next start. Appends fail from the moment
    /// this is called; stop the scrape loops first. Returns true if every receiver had everything.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return true;
        }
        self.buffer.refuse_appends();
        self.mode.send_replace(Mode::Drain);
        // A finished handle leaves the queue, since a handle must not be awaited twice.
        let mut senders: std::collections::VecDeque<_> = std::mem::take(&mut *self.senders.lock()).into();
        let drained = tokio::time::timeout(deadline, async {
            while let Some(s) = senders.front_mut() {
                let _ = s.await;
                senders.pop_front();
            }
        })
        .await
        .is_ok();
        if !drained {
            self.mode.send_replace(Mode::Abort);
            for s in senders {
                let _ = s.await;
            }
        }
        if let Some(s) = self.syncer.lock().take() {
            s.abort();
        }
        let buffer = self.buffer.clone();
        match tokio::task::spawn_blocking(move || buffer.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "closing the remote-write buffer failed"),
            Err(e) => warn!(error = %e, "closing the remote-write buffer failed"),
        }
        let head = *self.buffer.subscribe().borrow();
        let mut all_sent = true;
        for (i, rw) in self.receivers.iter().enumerate() {
            let at = self.buffer.acked(i);
            let done = at.seg > head.seg || (at.seg == head.seg && at.off >= head.end);
            if !done {
                all_sent = false;
                warn!(receiver = %rw.remote_name, url = %rw.url,
                    "remote write stopped before the receiver had everything; the rest stays buffered");
            }
        }
        info!(all_sent, "remote write stopped");
        all_sent
    }

    fn intern(&self, labels: &[(String, String)]) -> SeriesRef {
        let encoded = if labels.is_sorted() {
            format::encode_labels(labels)
        } else {
            let mut sorted = labels.to_vec();
            sorted.sort();
            format::encode_labels(&sorted)
        };
        let mut t = self.series.lock();
        if let Some(s) = t.by_labels.get(encoded.as_slice()).and_then(Weak::upgrade) {
            return SeriesRef(s);
        }
        let labels: Arc<[u8]> = Arc::from(encoded);
        let s = Arc::new(Series {
            id: NEXT_SERIES_ID.fetch_add(1, Ordering::Relaxed),
            labels: labels.clone(),
            written: AtomicU64::new(0),
        });
        t.by_labels.insert(labels, Arc::downgrade(&s));
        // Forget the series no scrape cache holds any more, each time the table has doubled.
        if t.by_labels.len() > 2 * t.swept_len.max(1024) {
            t.by_labels.retain(|_, w| w.strong_count() > 0);
            t.swept_len = t.by_labels.len();
        }
        SeriesRef(s)
    }
}

/// How often moved cursors are written.
const CURSOR_EVERY: Duration = Duration::from_secs(1);

/// Writes moved cursors every [`CURSOR_EVERY`] and, with an fsync interval, fsyncs the segment
/// being written at that interval. Each tick is a no-op when nothing changed.
async fn housekeeping(buffer: Arc<Buffer>, fsync: Fsync) {
    let every = match fsync {
        Fsync::Interval(d) => d.min(CURSOR_EVERY),
        Fsync::Always => CURSOR_EVERY,
    };
    let ticks = |d: Duration| (d.as_nanos() / every.as_nanos().max(1)).max(1);
    let sync_ticks = match fsync {
        Fsync::Interval(d) => Some(ticks(d)),
        Fsync::Always => None,
    };
    let cursor_ticks = ticks(CURSOR_EVERY);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut n: u128 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let sync = sync_ticks.is_some_and(|k| n.is_multiple_of(k));
        let cursors = n.is_multiple_of(cursor_ticks);
        let b = buffer.clone();
        let done = tokio::task::spawn_blocking(move || {
            if sync {
                b.sync();
            }
            if cursors { b.persist_all() } else { Ok(()) }
        })
        .await;
        if let Ok(Err(e)) = done {
            warn!(error = %e, "writing remote-write cursors failed");
        }
    }
}

impl collect::Appender for Forwarder {
    type Ref = SeriesRef;

    fn resolve(&self, labels: &[(String, String)]) -> Option<SeriesRef> {
        Some(self.intern(labels))
    }

    /// Writes the samples to the buffer (staleness markers included, bit for bit). Refuses none;
    /// fails only when the buffer cannot be written or the forwarder is shut down.
    fn append(&self, samples: &mut [(SeriesRef, Sample)]) -> std::result::Result<u64, String> {
        self.buffer.append(samples).map(|()| 0).map_err(|e| e.to_string())
    }
}

impl Drop for Forwarder {
    /// Without [`Forwarder::shutdown`], this is a crash as far as the buffer is concerned: the
    /// tasks stop where they are and nothing more is written.
    fn drop(&mut self) {
        for s in self.senders.get_mut().drain(..) {
            s.abort();
        }
        if let Some(s) = self.syncer.get_mut().take() {
            s.abort();
        }
    }
}
