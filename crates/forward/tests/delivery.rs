//! The forwarder against receivers on real sockets: order, retries, refusals, protocol fallback,
//! a full buffer, a crash, and shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use collect::Appender;
use common::*;
use forward::{BufferConfig, Forwarder, Fsync, Options};
use model::{STALE_NAN_BITS, Sample};
use remote::Version;

/// Scrape `k`'s timestamp.
fn ts(k: usize) -> i64 {
    1_700_000_000_000 + k as i64 * 1000
}

fn expected(series: usize, scrapes: std::ops::Range<usize>) -> BTreeSet<(Labels, i64)> {
    scrapes
        .flat_map(|k| (0..series).map(move |i| (labels(i), ts(k))))
        .collect()
}

fn distinct_pairs(r: &Receiver) -> BTreeSet<(Labels, i64)> {
    r.accepted().into_iter().map(|(l, t, _)| (l, t)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_delivery_to_two_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let a = Receiver::start().await;
    let b = Receiver::start().await;
    let mut rb = fast(&b.url());
    rb.protocol = Version::V2;
    let fwd = Forwarder::open(options(dir.path(), vec![fast(&a.url()), rb])).unwrap();
    let refs = refs(&fwd, 20);
    for k in 0..100 {
        scrape(&fwd, &refs, ts(k));
        if k % 7 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let stale = f64::from_bits(STALE_NAN_BITS);
    fwd.append(&mut [(refs[0].clone(), Sample::new(ts(100), stale))])
        .unwrap();
    let total = 20 * 100 + 1;
    wait_for("both receivers to have everything", || {
        a.accepted().len() >= total && b.accepted().len() >= total
    })
    .await;
    for (r, version, header) in [(&a, Version::V1, "0.1.0"), (&b, Version::V2, "2.0.0")] {
        let got = r.accepted();
        assert_eq!(got.len(), total, "nothing failed, so nothing is sent twice");
        assert_eq!(r.distinct(), total);
        assert_in_order(&got);
        let mut want = expected(20, 0..100);
        want.insert((labels(0), ts(100)));
        assert_eq!(distinct_pairs(r), want);
        for (l, t, v) in &got {
            let i: usize = l[1].1.parse().unwrap();
            if *t == ts(100) {
                assert_eq!(v.to_bits(), STALE_NAN_BITS, "the staleness marker keeps its bits");
            } else {
                assert_eq!(*v, value(i, *t));
            }
        }
        for req in r.requests() {
            assert!(req.samples() <= 50, "a request carried {} samples", req.samples());
            assert_eq!(req.version, version);
            assert_eq!(req.version_header.as_deref(), Some(header));
            assert!(req.user_agent.as_deref().unwrap().starts_with("Pharos/"));
        }
    }
    for rw in fwd.receivers() {
        assert_eq!(
            remote_metric(&fwd, "pharos_agent_remote_samples_sent_total", &rw.remote_name),
            total as f64
        );
    }
    assert_eq!(metric(&fwd, "pharos_agent_samples_appended_total"), total as f64);
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_up_gets_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Receiver::stopped().await;
    let fwd = Forwarder::open(options(dir.path(), vec![fast(&r.url())])).unwrap();
    let rn = fwd.receivers()[0].remote_name.clone();
    let refs = refs(&fwd, 10);
    for k in 0..50 {
        scrape(&fwd, &refs, ts(k));
    }
    wait_for("retries against the closed port", || {
        remote_metric(&fwd, "pharos_agent_remote_samples_retried_total", &rn) >= 100.0
    })
    .await;
    assert!(remote_metric(&fwd, "pharos_agent_remote_lag_seconds", &rn) > 0.0);
    r.restart().await;
    for k in 50..60 {
        scrape(&fwd, &refs, ts(k));
    }
    wait_for("everything after the receiver came back", || r.distinct() == 600).await;
    assert_eq!(distinct_pairs(&r), expected(10, 0..60));
    assert_in_order(&r.accepted());
    wait_for("the lag gauge to drop", || {
        remote_metric(&fwd, "pharos_agent_remote_lag_seconds", &rn) == 0.0
    })
    .await;
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_drop_and_server_errors_retry() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    let fwd = Forwarder::open(options(dir.path(), vec![fast(&r.url())])).unwrap();
    let rn = fwd.receivers()[0].remote_name.clone();
    let refs = refs(&fwd, 5);

    r.set_status(400);
    scrape(&fwd, &refs, ts(0));
    wait_for("the refused batch to be counted", || {
        remote_metric(&fwd, "pharos_agent_remote_samples_failed_total", &rn) == 5.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(r.requests().len(), 1, "a 400 is not retried");

    for (status, k) in [(500u16, 1usize), (503, 2), (429, 3)] {
        r.set_status(status);
        let before = r.requests().len();
        scrape(&fwd, &refs, ts(k));
        wait_for("retries", || r.requests().len() >= before + 3).await;
        assert!(r.requests()[before..].iter().all(|q| q.status == status));
        r.set_status(0);
        wait_for("the retried batch to land", || {
            r.accepted().iter().filter(|(_, t, _)| *t == ts(k)).count() == 5
        })
        .await;
    }
    assert!(
        r.accepted().iter().all(|(_, t, _)| *t != ts(0)),
        "the refused batch is gone"
    );
    assert!(remote_metric(&fwd, "pharos_agent_remote_samples_retried_total", &rn) >= 30.0);
    assert_eq!(
        remote_metric(&fwd, "pharos_agent_remote_samples_sent_total", &rn),
        15.0
    );
    assert!(fwd.shutdown(Duration::from_secs(5)).await);

    // With retry_on_http_429 off, a 429 is a refusal like any other 4xx.
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    r.set_status(429);
    let mut rw = fast(&r.url());
    rw.queue.retry_on_http_429 = false;
    let fwd = Forwarder::open(options(dir.path(), vec![rw])).unwrap();
    let rn = fwd.receivers()[0].remote_name.clone();
    let refs = common::refs(&fwd, 5);
    scrape(&fwd, &refs, ts(0));
    wait_for("the 429 to be taken as final", || {
        remote_metric(&fwd, "pharos_agent_remote_samples_failed_total", &rn) == 5.0
    })
    .await;
    assert_eq!(r.requests().len(), 1);
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_falls_back_to_v1_on_415() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    r.state.refuse_v2.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut rw = fast(&r.url());
    rw.protocol = Version::V2;
    let fwd = Forwarder::open(options(dir.path(), vec![rw])).unwrap();
    let rn = fwd.receivers()[0].remote_name.clone();
    let refs = refs(&fwd, 8);
    scrape(&fwd, &refs, ts(0));
    wait_for("the batch in 1.0", || r.accepted().len() == 8).await;
    scrape(&fwd, &refs, ts(1));
    wait_for("the next batch", || r.accepted().len() == 16).await;
    let reqs = r.requests();
    assert_eq!((reqs[0].version, reqs[0].status), (Version::V2, 415));
    assert_eq!(
        reqs[0].samples(),
        8,
        "the refused 2.0 body decodes to the same samples"
    );
    assert!(
        reqs[1..]
            .iter()
            .all(|q| q.version == Version::V1 && q.status == 204)
    );
    assert_eq!(
        remote_metric(&fwd, "pharos_agent_remote_protocol_fallback", &rn),
        1.0
    );
    assert_eq!(distinct_pairs(&r), expected(8, 0..2));
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_buffer_drops_the_oldest_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Receiver::stopped().await;
    let max_bytes = 64 << 10;
    let mut opts = options(dir.path(), vec![fast(&r.url())]);
    opts.buffer = BufferConfig::with_max_bytes(dir.path(), max_bytes);
    let fwd = Forwarder::open(opts).unwrap();
    let rn = fwd.receivers()[0].remote_name.clone();
    let refs = refs(&fwd, 20);
    let scrapes = 400;
    for k in 0..scrapes {
        scrape(&fwd, &refs, ts(k));
        assert!(metric(&fwd, "pharos_agent_buffer_bytes") <= max_bytes as f64);
    }
    let dropped = metric(&fwd, "pharos_agent_buffer_dropped_samples_total");
    assert!(dropped > 0.0, "400 scrapes of 20 series do not fit in 64 KiB");
    r.restart().await;
    let total = 20 * scrapes;
    wait_for("what is left to arrive", || {
        r.distinct() as f64 + metric(&fwd, "pharos_agent_buffer_dropped_samples_total") >= total as f64
    })
    .await;
    let dropped = metric(&fwd, "pharos_agent_buffer_dropped_samples_total");
    let got = distinct_pairs(&r);
    assert_eq!(
        got.len() as f64 + dropped,
        total as f64,
        "each sample is either sent or counted"
    );
    assert_eq!(
        remote_metric(&fwd, "pharos_agent_remote_samples_dropped_buffer_full_total", &rn),
        dropped
    );
    // What arrived is the batch that was in flight when the receiver went away, then every
    // scrape from some point on: the newest are kept.
    let complete = |k: usize| (0..20).all(|i| got.contains(&(labels(i), ts(k))));
    let mut first_kept = scrapes;
    while first_kept > 0 && complete(first_kept - 1) {
        first_kept -= 1;
    }
    assert!(first_kept > 0 && first_kept < scrapes - 10);
    let early = got.iter().filter(|(_, t)| *t < ts(first_kept)).count();
    assert!(early <= 50, "{early} samples from before the cut arrived");
    assert_in_order(&r.accepted());
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_resumes_at_the_cursor_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Receiver::start().await;
    let url = r.url();
    let opts = || {
        let mut o = options(dir.path(), vec![fast(&url)]);
        o.buffer.fsync = Fsync::Always;
        o
    };
    let fwd = Forwarder::open(opts()).unwrap();
    let refs1 = refs(&fwd, 10);
    for k in 0..30 {
        scrape(&fwd, &refs1, ts(k));
    }
    wait_for("the first scrapes", || r.distinct() == 300).await;
    // The cursor file follows the acknowledged position within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    r.stop().await;
    for k in 30..60 {
        scrape(&fwd, &refs1, ts(k));
    }
    drop(refs1);
    drop(fwd);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The crash also left half a record at the end of the newest segment.
    let segs = dir.path().join("segments");
    let newest = std::fs::read_dir(&segs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&newest).unwrap();
    std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9, 9]).unwrap();
    drop(f);

    r.restart().await;
    let fwd = Forwarder::open(opts()).unwrap();
    assert!(metric(&fwd, "pharos_agent_buffer_corrupt_records_total") >= 1.0);
    let refs2 = refs(&fwd, 10);
    for k in 60..70 {
        scrape(&fwd, &refs2, ts(k));
    }
    wait_for("everything appended before and after the crash", || {
        r.distinct() == 700
    })
    .await;
    assert_eq!(distinct_pairs(&r), expected(10, 0..70));
    assert_in_order(&r.accepted());
    let early = r.accepted().iter().filter(|(_, t, _)| *t < ts(30)).count();
    assert_eq!(
        early, 300,
        "the restart resumed at the cursor instead of resending everything"
    );
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_partial_batches_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    let mut rw = fast(&r.url());
    // Without a drain, these samples would wait an hour for a fuller batch.
    rw.queue.batch_send_deadline = Duration::from_secs(3600);
    let fwd = Forwarder::open(options(dir.path(), vec![rw.clone()])).unwrap();
    let refs = refs(&fwd, 7);
    for k in 0..3 {
        scrape(&fwd, &refs, ts(k));
    }
    assert!(fwd.shutdown(Duration::from_secs(10)).await);
    assert_eq!(distinct_pairs(&r), expected(7, 0..3));
    assert!(
        fwd.append(&mut [(refs[0].clone(), Sample::new(ts(9), 1.0))])
            .is_err()
    );
    drop(fwd);

    // One receiver down at shutdown: the other is drained, the deadline passes, and the down
    // one's samples stay for the next start.
    let dir = tempfile::tempdir().unwrap();
    let up = Receiver::start().await;
    let mut r = Receiver::stopped().await;
    let receivers = vec![fast(&up.url()), fast(&r.url())];
    let fwd = Forwarder::open(options(dir.path(), receivers.clone())).unwrap();
    let refs = common::refs(&fwd, 7);
    scrape(&fwd, &refs, ts(0));
    assert!(!fwd.shutdown(Duration::from_millis(300)).await);
    assert_eq!(up.distinct(), 7);
    drop(refs);
    drop(fwd);
    r.restart().await;
    let fwd = Forwarder::open(options(dir.path(), receivers.clone())).unwrap();
    wait_for("the samples kept over the restart", || r.distinct() == 7).await;
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
    drop(fwd);
    // A clean shutdown with everything sent leaves only the empty newest segment behind.
    let fwd = Forwarder::open(options(dir.path(), receivers)).unwrap();
    assert_eq!(metric(&fwd, "pharos_agent_buffer_segments"), 1.0);
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
    assert_eq!((up.distinct(), r.distinct()), (7, 7));
    assert_eq!(
        up.accepted().len(),
        7,
        "the receiver that had everything got nothing twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabeling_and_external_labels_per_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Receiver::start().await;
    let filtered = Receiver::start().await;
    let yaml = format!(
        r#"
- url: {}
- url: {}
  name: filtered
  write_relabel_configs:
    - source_labels: [i]
      regex: "3"
      action: drop
"#,
        plain.url(),
        filtered.url()
    );
    let list: Vec<forward::RemoteWriteYaml> = serde_yaml::from_str(&yaml).unwrap();
    let mut receivers = forward::resolve(&list).unwrap();
    for rw in &mut receivers {
        rw.queue.batch_send_deadline = Duration::from_millis(20);
    }
    let fwd = Forwarder::open(Options {
        buffer: BufferConfig::new(dir.path()),
        receivers,
        external_labels: vec![("cluster".into(), "c1".into())],
    })
    .unwrap();
    let refs = refs(&fwd, 5);
    let own = fwd
        .resolve(&[
            ("__name__".into(), "m".into()),
            ("cluster".into(), "mine".into()),
            ("i".into(), "own".into()),
        ])
        .unwrap();
    scrape(&fwd, &refs, ts(0));
    fwd.append(&mut [(own, Sample::new(ts(0), 1.0))]).unwrap();
    wait_for("both receivers", || {
        plain.accepted().len() == 6 && filtered.accepted().len() == 5
    })
    .await;
    for (l, _, _) in plain.accepted() {
        let cluster = l.iter().find(|(n, _)| n == "cluster").unwrap().1.clone();
        let i = l.iter().find(|(n, _)| n == "i").unwrap().1.clone();
        assert_eq!(cluster, if i == "own" { "mine" } else { "c1" });
        assert!(l.is_sorted());
    }
    assert!(
        filtered
            .accepted()
            .iter()
            .all(|(l, _, _)| !l.contains(&("i".into(), "3".into())))
    );
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_per_buffer_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fwd = Forwarder::open(options(dir.path(), vec![])).unwrap();
    let second = Forwarder::open(options(dir.path(), vec![]));
    assert!(matches!(second, Err(forward::Error::Locked(_))));
    let refs = refs(&fwd, 3);
    scrape(&fwd, &refs, ts(0));
    let mut text = String::new();
    fwd.metrics().render(&mut text);
    assert!(
        text.contains("# TYPE pharos_agent_buffer_dropped_samples counter"),
        "{text}"
    );
    assert!(fwd.shutdown(Duration::from_secs(1)).await);
}

/// A reload may replace the forwarder under running scrape loops, whose caches keep the series
/// handles of the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_handles_outlive_their_forwarder() {
    let r = Receiver::start().await;
    let first_dir = tempfile::tempdir().unwrap();
    let fwd = Forwarder::open(options(first_dir.path(), vec![fast(&r.url())])).unwrap();
    let refs = refs(&fwd, 4);
    scrape(&fwd, &refs, ts(0));
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
    drop(fwd);
    // Another directory: its segment numbers start over, but the handles still get their labels
    // written there.
    let second_dir = tempfile::tempdir().unwrap();
    let fwd = Forwarder::open(options(second_dir.path(), vec![fast(&r.url())])).unwrap();
    let fresh = common::refs(&fwd, 2);
    scrape(&fwd, &fresh, ts(1));
    scrape(&fwd, &refs, ts(2));
    wait_for("both scrapes", || r.distinct() == 4 + 2 + 4).await;
    let mut want = expected(4, 0..1);
    want.extend(expected(2, 1..2));
    want.extend(expected(4, 2..3));
    assert_eq!(distinct_pairs(&r), want);
    for (l, t, v) in r.accepted() {
        assert_eq!(v, value(l[1].1.parse().unwrap(), t));
    }
    assert!(fwd.shutdown(Duration::from_secs(5)).await);
}
