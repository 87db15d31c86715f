//! The buffer and a reader against a model (the list of appended samples): whatever the batch size,
//! the segment size, where a reader is recreated from its cursor (mid-record included) and where
//! the buffer is closed and reopened, every series' samples come out once each, in order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use model::Sample;
use proptest::prelude::*;

use crate::buffer::Buffer;
use crate::config::{BufferConfig, Fsync};
use crate::format;
use crate::metrics::{Metrics, ReceiverMetrics};
use crate::reader::{Batch, Fill, Reader, Transform};
use crate::{Series, SeriesRef};

fn series(id: u64, i: usize) -> SeriesRef {
    let labels = vec![
        ("__name__".to_owned(), "m".to_owned()),
        ("i".to_owned(), i.to_string()),
    ];
    SeriesRef(Arc::new(Series {
        id,
        labels: Arc::from(format::encode_labels(&labels)),
        written: AtomicU64::new(0),
    }))
}

struct Harness {
    cfg: BufferConfig,
    metrics: Arc<Metrics>,
    buffer: Option<Buffer>,
    reader: Option<Reader>,
    /// Per series, the timestamps read so far.
    got: BTreeMap<String, Vec<i64>>,
}

impl Harness {
    fn buffer(&self) -> &Buffer {
        self.buffer.as_ref().unwrap()
    }

    fn open(&mut self) {
        self.reader = None;
        self.buffer = None;
        let b = Buffer::open(self.cfg.clone(), &["r".to_owned()], self.metrics.clone()).unwrap();
        self.buffer = Some(b);
        self.new_reader();
    }

    fn new_reader(&mut self) {
        let b = self.buffer();
        self.reader = Some(Reader::new(
            b.segments_dir().to_owned(),
            b.acked(0),
            Arc::new(Transform {
                external: Vec::new(),
                rules: Vec::new(),
            }),
            self.metrics.clone(),
            self.metrics.receivers[0].clone(),
        ));
    }

    /// Reads and acknowledges up to `batches` batches; false once caught up.
    fn read(&mut self, max: usize, batches: usize) -> bool {
        let mut batch = Batch::default();
        for _ in 0..batches {
            let b = self.buffer.as_ref().unwrap();
            let head = *b.subscribe().borrow();
            let floor = b.floor();
            let r = self.reader.as_mut().unwrap();
            batch.clear();
            let start = r.pos();
            let fill = r.fill(&mut batch, max, head, floor, None).unwrap();
            let end = r.pos();
            assert!(batch.samples <= max);
            if fill == Fill::Full {
                assert_eq!(batch.samples, max);
            }
            if end == start {
                return false;
            }
            assert!(b.take(0, start, end));
            for (s, samples) in &batch.groups {
                let i = s.labels[1].1.clone();
                self.got
                    .entry(i)
                    .or_default()
                    .extend(samples.iter().map(|(t, _)| *t));
            }
            b.ack(0, end);
            b.release();
        }
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_sample_once_in_order_from_any_cursor(
        scrapes in proptest::collection::vec(1usize..25, 1..60),
        max in 1usize..40,
        steps in proptest::collection::vec((0usize..4, 0usize..3), 1..12),
        reopen_after in 0usize..60,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = BufferConfig::new(dir.path());
        cfg.segment_bytes = 1024;
        cfg.fsync = Fsync::Interval(Duration::from_secs(3600));
        let metrics = Arc::new(Metrics::new(vec![Arc::new(ReceiverMetrics::new("r", "u"))]));
        let mut h = Harness { cfg, metrics, buffer: None, reader: None, got: BTreeMap::new() };
        h.open();
        let mut want: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut refs: Vec<SeriesRef> = (0..25).map(|i| series(i as u64 + 1, i)).collect();
        let mut steps = steps.into_iter().cycle();
        for (k, &n) in scrapes.iter().enumerate() {
            if k == reopen_after {
                // Close (cursor written) and reopen, as a restart does; the next process's
                // series get new refs with ids that may repeat the old ones.
                h.read(max, 2);
                h.buffer().close().unwrap();
                h.open();
                refs = (0..25).map(|i| series(i as u64 + 100, i)).collect();
            }
            let t = 1000 + k as i64;
            let samples: Vec<(SeriesRef, Sample)> =
                (0..n).map(|i| (refs[i].clone(), Sample::new(t, i as f64))).collect();
            h.buffer().append(&samples).unwrap();
            for i in 0..n {
                want.entry(i.to_string()).or_default().push(t);
            }
            let (batches, recreate) = steps.next().unwrap();
            h.read(max, batches);
            if recreate == 0 {
                h.new_reader();
            }
        }
        while h.read(max, 1000) {}
        prop_assert_eq!(&h.got, &want);
        // Everything was acknowledged: only the segment being written is left.
        h.buffer().release();
        prop_assert_eq!(h.metrics.buffer.segments.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
