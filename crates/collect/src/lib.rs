//! The scrape loops: for each job, discovery (static, file, HTTP) feeds a pool that builds targets
//! and runs one loop per target on a fixed schedule, spread over the interval by the target's hash.
//! Samples go to an [`Appender`]: the local store in `pharos server`, a remote-write queue in
//! `pharos agent`. A reload keeps the loops of targets that did not change.

mod discovery;
pub mod http;
pub mod members;
mod pool;
mod target_loop;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use model::Sample;
use parking_lot::Mutex;
use scrape::Job;
use tokio::sync::mpsc;

pub use pool::PoolStatus;
pub use target_loop::{Health, TargetStatus};

/// Where scraped samples go.
pub trait Appender: Send + Sync + 'static {
    /// A handle on one series, kept by the scrape cache.
    type Ref: Clone + Send + Sync + 'static;
    /// Finds or creates a series; `None` refuses it (a series limit).
    fn resolve(&self, labels: &[(String, String)]) -> Option<Self::Ref>;
    /// Stores one scrape's samples. Returns how many were refused (out of order, too old, …).
    fn append(&self, samples: &mut [(Self::Ref, Sample)]) -> Result<u64, String>;

    /// Called once a scrape whose `up` differs from the target's previous one (or the first scrape
    /// that failed) has been stored, so that whatever watches `up` (rules) can look at once.
    fn health_changed(&self, _job: &str, _up: bool) {}
}

/// A target served in process (the host collector): produces a body as a scrape would fetch it.
pub type LocalSource = Arc<dyn Fn() -> Result<http::Fetched, String> + Send + Sync>;

/// The current split of targets among collectors (see [`scrape::shard`]); `None` scrapes all.
pub type ShardRx = tokio::sync::watch::Receiver<Option<Arc<scrape::Membership>>>;

/// Runs the scrape jobs of the current configuration.
pub struct Manager<A: Appender> {
    appender: Arc<A>,
    shard: tokio::sync::watch::Sender<Option<Arc<scrape::Membership>>>,
    locals: Mutex<HashMap<String, LocalSource>>,
    pools: Mutex<HashMap<String, pool::PoolHandle>>,
    /// Job order as configured, for listings.
    order: Mutex<Vec<String>>,
}

impl<A: Appender> Manager<A> {
    pub fn new(appender: Arc<A>) -> Arc<Self> {
        Arc::new(Self {
            appender,
            shard: tokio::sync::watch::channel(None).0,
            locals: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
            order: Mutex::new(Vec::new()),
        })
    }

    /// Makes the targets of job `job` read `source` instead of fetching over HTTP. Takes effect for
    /// pools started after the call.
    pub fn set_local(&self, job: &str, source: LocalSource) {
        self.locals.lock().insert(job.to_string(), source);
    }

    /// Sets the members sharing the targets: each pool keeps only the targets this member owns.
    /// Targets that move to another member stop without staleness markers. `None` scrapes all.
    pub fn set_membership(&self, m: Option<scrape::Membership>) {
        let m = m.map(Arc::new);
        self.shard.send_if_modified(|cur| {
            let changed = *cur != m;
            if changed {
                *cur = m;
            }
            changed
        });
    }

    /// The membership in force.
    pub fn membership(&self) -> Option<Arc<scrape::Membership>> {
        self.shard.borrow().clone()
    }

    /// Applies a new set of jobs: new jobs start, removed ones stop (their series go stale), and a
    /// changed job restarts its loops unless only its discovery or target relabeling changed. Must
    /// be called within a tokio runtime. Fails, changing nothing, if a job's HTTP client cannot be
    /// built (a missing CA file, say).
    pub fn apply(&self, jobs: Vec<Job>) -> Result<(), String> {
        let mut clients = Vec::with_capacity(jobs.len());
        for j in &jobs {
            let c = http::client(&j.http).map_err(|e| format!("job {:?}: {e}", j.name))?;
            let mut sd = Vec::with_capacity(j.http_sd.len());
            for h in &j.http_sd {
                sd.push(
                    http::client(&h.http).map_err(|e| format!("job {:?}: http_sd_configs: {e}", j.name))?,
                );
            }
            clients.push((c, sd));
        }
        let mut pools = self.pools.lock();
        let names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
        let keep: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        pools.retain(|name, p| {
            let stay = keep.contains(name.as_str());
            if !stay {
                p.stop(pool::Stop::Removed);
            }
            stay
        });
        for (job, (client, sd_clients)) in jobs.into_iter().zip(clients) {
            let job = Arc::new(job);
            match pools.get(&job.name) {
                Some(p) => p.reconfigure(job, client, sd_clients),
                None => {
                    let local = self.locals.lock().get(&job.name).cloned();
                    let p = pool::PoolHandle::start(
                        job.clone(),
                        client,
                        sd_clients,
                        local,
                        self.appender.clone(),
                        self.shard.subscribe(),
                    );
                    pools.insert(job.name.clone(), p);
                }
            }
        }
        *self.order.lock() = names;
        Ok(())
    }

    /// Stops every loop without staleness markers: the server is shutting down and will resume.
    pub fn shutdown(&self) {
        for (_, p) in self.pools.lock().drain() {
            p.stop(pool::Stop::Shutdown);
        }
    }

    /// Every pool's targets, in configuration order.
    pub fn status(&self) -> Vec<PoolStatus> {
        let pools = self.pools.lock();
        self.order
            .lock()
            .iter()
            .filter_map(|n| pools.get(n).map(|p| p.status()))
            .collect()
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Messages from discovery providers to their pool: a provider's complete current groups.
pub(crate) type GroupsTx = mpsc::UnboundedSender<(usize, Vec<scrape::TargetGroup>)>;
