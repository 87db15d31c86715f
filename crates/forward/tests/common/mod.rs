//! A remote-write receiver on a real socket that decodes what it gets with `remote::decode_body`,
//! records it, and can be told to fail or be stopped; and helpers to feed a forwarder.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use collect::Appender;
use forward::{BufferConfig, Forwarder, Options, RemoteWrite, SeriesRef};
use model::Sample;
use parking_lot::Mutex;
use remote::Version;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub type Labels = Vec<(String, String)>;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub version: Version,
    pub version_header: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
    pub series: Vec<(Labels, Vec<(i64, f64)>)>,
}

impl Request {
    pub fn samples(&self) -> usize {
        self.series.iter().map(|(_, s)| s.len()).sum()
    }
}

#[derive(Default)]
pub struct Behaviour {
    /// Answer with this status instead of 204 (0: succeed).
    pub status: AtomicU16,
    /// Answer 415 to 2.0 bodies.
    pub refuse_v2: AtomicBool,
    pub requests: Mutex<Vec<Request>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<Behaviour>,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

async fn write(State(st): State<Arc<Behaviour>>, headers: HeaderMap, body: Bytes) -> Response {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let req = match remote::decode_body(
        get(header::CONTENT_TYPE.as_str()).as_deref(),
        get(header::CONTENT_ENCODING.as_str()).as_deref(),
        &body,
        64 << 20,
    ) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let version = req.version();
    let mut series = Vec::new();
    req.for_each_series(|_, labels, samples| {
        let l = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        series.push((l, samples.to_vec()));
        Ok(())
    })
    .unwrap();
    let status = if version == Version::V2 && st.refuse_v2.load(Ordering::SeqCst) {
        415
    } else {
        match st.status.load(Ordering::SeqCst) {
            0 => 204,
            s => s,
        }
    };
    st.requests.lock().push(Request {
        version,
        version_header: get(remote::VERSION_HEADER),
        user_agent: get(header::USER_AGENT.as_str()),
        status,
        series,
    });
    let code = StatusCode::from_u16(status).unwrap();
    (code, if status >= 400 { "refused on purpose\n" } else { "" }).into_response()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let mut r = Receiver {
            addr: "127.0.0.1:0".parse().unwrap(),
            state: Arc::new(Behaviour::default()),
            server: None,
        };
        r.listen().await;
        r
    }

    /// A receiver that is down: its port is known but nothing listens on it.
    pub async fn stopped() -> Receiver {
        let mut r = Self::start().await;
        r.stop().await;
        r
    }

    async fn listen(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("binding {}: {e}", self.addr),
            }
        };
        self.addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/api/v1/write", post(write))
            .with_state(self.state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        self.server = Some((tx, task));
    }

    /// Closes the port (and every connection).
    pub async fn stop(&mut self) {
        if let Some((tx, task)) = self.server.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.listen().await;
    }

    pub fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().clone()
    }

    /// Every sample of the requests answered 2xx, in arrival order, with its series' labels.
    pub fn accepted(&self) -> Vec<(Labels, i64, f64)> {
        let mut out = Vec::new();
        for r in self.state.requests.lock().iter().filter(|r| r.status < 300) {
            for (l, samples) in &r.series {
                for &(t, v) in samples {
                    out.push((l.clone(), t, v));
                }
            }
        }
        out
    }

    /// How many distinct (series, timestamp) pairs were accepted.
    pub fn distinct(&self) -> usize {
        self.accepted()
            .into_iter()
            .map(|(l, t, _)| (l, t))
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// `m{i="<i>"}`, labels sorted.
pub fn labels(i: usize) -> Labels {
    vec![("__name__".into(), "m".into()), ("i".into(), i.to_string())]
}

/// A receiver config that retries fast and batches small, for tests.
pub fn fast(url: &str) -> RemoteWrite {
    let mut rw = RemoteWrite::new(url);
    rw.timeout = Duration::from_secs(2);
    rw.queue.max_samples_per_send = 50;
    rw.queue.batch_send_deadline = Duration::from_millis(20);
    rw.queue.min_backoff = Duration::from_millis(5);
    rw.queue.max_backoff = Duration::from_millis(50);
    rw
}

pub fn options(dir: &std::path::Path, receivers: Vec<RemoteWrite>) -> Options {
    Options {
        buffer: BufferConfig::new(dir),
        receivers,
        external_labels: Vec::new(),
    }
}

/// The series refs of `n` series, as a scrape cache would hold them.
pub fn refs(fwd: &Forwarder, n: usize) -> Vec<SeriesRef> {
    (0..n).map(|i| fwd.resolve(&labels(i)).unwrap()).collect()
}

/// Value of series `i` at `t`: distinct per sample so that mix-ups show.
pub fn value(i: usize, t: i64) -> f64 {
    t as f64 * 1000.0 + i as f64
}

/// Appends one scrape at `t`: every series once.
pub fn scrape(fwd: &Forwarder, refs: &[SeriesRef], t: i64) {
    let mut batch: Vec<(SeriesRef, Sample)> = refs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), Sample::new(t, value(i, t))))
        .collect();
    assert_eq!(fwd.append(&mut batch).unwrap(), 0);
}

/// Polls `cond` until it holds or 20 s pass.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Per series (by its `i` label), the accepted timestamps in arrival order.
pub fn by_series(samples: &[(Labels, i64, f64)]) -> BTreeMap<Labels, Vec<i64>> {
    let mut out: BTreeMap<Labels, Vec<i64>> = BTreeMap::new();
    for (l, t, _) in samples {
        out.entry(l.clone()).or_default().push(*t);
    }
    out
}

/// Checks that, first copies only, each series arrived in strictly increasing time order.
pub fn assert_in_order(samples: &[(Labels, i64, f64)]) {
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<Labels, i64> = BTreeMap::new();
    for (l, t, _) in samples {
        if !seen.insert((l.clone(), *t)) {
            continue;
        }
        if let Some(prev) = last.get(l) {
            assert!(t > prev, "series {l:?}: {t} arrived after {prev}");
        }
        last.insert(l.clone(), *t);
    }
}

/// The text of a metric line's value, e.g. `pharos_agent_buffer_dropped_samples_total`.
pub fn metric(fwd: &Forwarder, name_and_labels: &str) -> f64 {
    let mut text = String::new();
    fwd.metrics().render(&mut text);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(name_and_labels)
            && let Some(v) = rest.strip_prefix(' ')
        {
            return v.trim().parse().unwrap();
        }
    }
    panic!("metric {name_and_labels} not found in:\n{text}");
}

/// A per-receiver metric's value, e.g. `pharos_agent_remote_samples_sent_total` of `remote_name`.
pub fn remote_metric(fwd: &Forwarder, name: &str, remote_name: &str) -> f64 {
    let mut text = String::new();
    fwd.metrics().render(&mut text);
    let prefix = format!("{name}{{remote_name=\"{remote_name}\"");
    for line in text.lines() {
        if line.starts_with(&prefix) {
            return line.rsplit(' ').next().unwrap().parse().unwrap();
        }
    }
    panic!("metric {prefix} not found in:\n{text}");
}
