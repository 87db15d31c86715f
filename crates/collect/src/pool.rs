//! A job's scrape pool: its discovery providers, the targets built from their groups, and one loop
//! per active target. Loops are keyed by target hash (labels and URL), so a discovery update or a
//! reload that leaves a target unchanged leaves its loop alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use scrape::relabel::LabelPairs;
use scrape::{Job, Populated, TargetGroup, populate};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::target_loop::{self, Health, LoopArgs, TargetStatus};
use crate::{Appender, discovery};

/// Why a loop stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The target is gone: its series get staleness markers.
    Removed,
    /// The server stops or the loop is replaced: no markers.
    Shutdown,
}

/// A snapshot of one pool for `/api/v1/targets`.
#[derive(Debug, Clone)]
pub struct PoolStatus {
    pub job: String,
    pub active: Vec<TargetStatus>,
    /// Discovered labels of targets that relabeling dropped (at most `keep_dropped_targets` when set).
    pub dropped: Vec<LabelPairs>,
    /// All dropped targets, kept or not.
    pub dropped_count: usize,
    /// Targets that could not be built, with why.
    pub invalid: Vec<(LabelPairs, String)>,
}

enum Cmd {
    Reconfigure(Arc<Job>, reqwest::Client, Vec<reqwest::Client>),
    Stop(Stop),
}

struct Shared {
    active: Vec<Arc<Mutex<TargetStatus>>>,
    dropped: Vec<LabelPairs>,
    dropped_count: usize,
    invalid: Vec<(LabelPairs, String)>,
}

pub(crate) struct PoolHandle {
    job: String,
    tx: mpsc::UnboundedSender<Cmd>,
    shared: Arc<Mutex<Shared>>,
}

impl PoolHandle {
    pub(crate) fn start<A: Appender>(
        job: Arc<Job>,
        client: reqwest::Client,
        sd_clients: Vec<reqwest::Client>,
        local: Option<crate::LocalSource>,
        appender: Arc<A>,
        shard: crate::ShardRx,
    ) -> PoolHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            active: Vec::new(),
            dropped: Vec::new(),
            dropped_count: 0,
            invalid: Vec::new(),
        }));
        let name = job.name.clone();
        let pool = Pool {
            job,
            client,
            local,
            appender,
            shared: shared.clone(),
            loops: HashMap::new(),
            forced_error: Arc::new(Mutex::new(None)),
            shard,
        };
        tokio::spawn(pool.run(rx, sd_clients));
        PoolHandle {
            job: name,
            tx,
            shared,
        }
    }

    pub(crate) fn reconfigure(
        &self,
        job: Arc<Job>,
        client: reqwest::Client,
        sd_clients: Vec<reqwest::Client>,
    ) {
        let _ = self.tx.send(Cmd::Reconfigure(job, client, sd_clients));
    }

    pub(crate) fn stop(&self, why: Stop) {
        let _ = self.tx.send(Cmd::Stop(why));
    }

    pub(crate) fn status(&self) -> PoolStatus {
        let s = self.shared.lock();
        PoolStatus {
            job: self.job.clone(),
            active: s.active.iter().map(|t| t.lock().clone()).collect(),
            dropped: s.dropped.clone(),
            dropped_count: s.dropped_count,
            invalid: s.invalid.clone(),
        }
    }
}

struct LoopHandle {
    stop: oneshot::Sender<Stop>,
    status: Arc<Mutex<TargetStatus>>,
}

struct Pool<A: Appender> {
    job: Arc<Job>,
    client: reqwest::Client,
    local: Option<crate::LocalSource>,
    appender: Arc<A>,
    shared: Arc<Mutex<Shared>>,
    loops: HashMap<u64, LoopHandle>,
    forced_error: Arc<Mutex<Option<String>>>,
    /// The members sharing the targets; `None` scrapes them all.
    shard: crate::ShardRx,
}

type GroupsRx = mpsc::UnboundedReceiver<(usize, Vec<TargetGroup>)>;

/// How long a pool waits for all its providers' first answer before building targets from what it
/// has.
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(5);

impl<A: Appender> Pool<A> {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>, sd_clients: Vec<reqwest::Client>) {
        let (mut providers, mut groups_rx) = self.start_providers(sd_clients);
        let mut groups: HashMap<usize, Vec<TargetGroup>> = HashMap::new();
        let mut waiting = providers.len();
        // Once every provider has ended (static groups are sent once), `recv` answers `None` at
        // once, forever: polling it then would spin this task on a core.
        let mut groups_open = true;
        let mut shard_open = true;
        let mut deadline = Some(tokio::time::Instant::now() + FIRST_SYNC_WAIT);
        loop {
            let sleep_until =
                deadline.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None | Some(Cmd::Stop(_)) => {
                        let why = match cmd { Some(Cmd::Stop(w)) => w, _ => Stop::Shutdown };
                        for p in &providers { p.abort(); }
                        for (_, l) in self.loops.drain() { let _ = l.stop.send(why); }
                        return;
                    }
                    Some(Cmd::Reconfigure(job, client, sd_clients)) => {
                        for p in &providers { p.abort(); }
                        let restart = !job.same_scrape(&self.job);
                        self.job = job;
                        self.client = client;
                        if restart {
                            info!(job = %self.job.name, "scrape settings changed: restarting the job's loops");
                            for (_, l) in self.loops.drain() { let _ = l.stop.send(Stop::Shutdown); }
                        }
                        (providers, groups_rx) = self.start_providers(sd_clients);
                        groups_open = true;
                        groups.clear();
                        waiting = providers.len();
                        deadline = Some(tokio::time::Instant::now() + FIRST_SYNC_WAIT);
                    }
                },
                upd = groups_rx.recv(), if groups_open => {
                    let Some((id, g)) = upd else {
                        groups_open = false;
                        continue;
                    };
                    let first = groups.insert(id, g).is_none();
                    if first { waiting = waiting.saturating_sub(1); }
                    if deadline.is_none() || waiting == 0 {
                        deadline = None;
                        self.sync(&groups);
                    }
                }
                _ = tokio::time::sleep_until(sleep_until), if deadline.is_some() => {
                    deadline = None;
                    self.sync(&groups);
                }
                changed = self.shard.changed(), if shard_open => {
                    if changed.is_err() {
                        // The manager is gone (the pool stops next): keep the last membership.
                        shard_open = false;
                        continue;
                    }
                    if deadline.is_none() {
                        self.sync(&groups);
                    }
                }
            }
        }
    }

    fn start_providers(&self, sd_clients: Vec<reqwest::Client>) -> (Vec<JoinHandle<()>>, GroupsRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut out = Vec::new();
        let job = &self.job;
        if !job.static_groups.is_empty() || (job.file_sd.is_empty() && job.http_sd.is_empty()) {
            out.push(discovery::start_static(
                out.len(),
                job.static_groups.clone(),
                tx.clone(),
            ));
        }
        for f in &job.file_sd {
            out.push(discovery::start_file(
                out.len(),
                job.name.clone(),
                f.clone(),
                tx.clone(),
            ));
        }
        for (h, c) in job.http_sd.iter().zip(sd_clients) {
            out.push(discovery::start_http(
                out.len(),
                job.name.clone(),
                h.clone(),
                c,
                tx.clone(),
            ));
        }
        (out, rx)
    }

    /// Rebuilds the targets from all groups and starts and stops loops to match.
    fn sync(&mut self, groups: &HashMap<usize, Vec<TargetGroup>>) {
        let mut ids: Vec<&usize> = groups.keys().collect();
        ids.sort();
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        let mut invalid = Vec::new();
        let mut seen = HashSet::new();
        for id in ids {
            for g in groups.get(id).map(Vec::as_slice).unwrap_or_default() {
                for t in &g.targets {
                    match populate(&self.job, g, t) {
                        Populated::Active(t) => {
                            if seen.insert(t.hash) {
                                active.push(t);
                            }
                        }
                        Populated::Dropped(l) => dropped.push(l),
                        Populated::Invalid(l, e) => {
                            warn!(job = %self.job.name, error = %e, "target dropped: it cannot be scraped");
                            invalid.push((l, e));
                        }
                    }
                }
            }
        }
        // Targets another member scrapes leave without staleness markers: they are not gone.
        let mut moved = HashSet::new();
        if let Some(m) = self.shard.borrow_and_update().as_deref() {
            active.retain(|t| m.owns(t.hash) || !moved.insert(t.hash));
        }
        let limit = self.job.limits.targets;
        *self.forced_error.lock() = (limit > 0 && active.len() as u64 > limit).then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                active.len()
            )
        });
        let keep: HashSet<u64> = active.iter().map(|t| t.hash).collect();
        self.loops.retain(|h, l| {
            let stay = keep.contains(h);
            if !stay {
                let (tx, _) = oneshot::channel();
                let stop = std::mem::replace(&mut l.stop, tx);
                let _ = stop.send(if moved.contains(h) {
                    Stop::Shutdown
                } else {
                    Stop::Removed
                });
            }
            stay
        });
        let mut statuses = Vec::with_capacity(active.len());
        for t in active {
            if let Some(l) = self.loops.get(&t.hash) {
                statuses.push(l.status.clone());
                continue;
            }
            let status = Arc::new(Mutex::new(TargetStatus {
                job: self.job.name.clone(),
                target: t.clone(),
                health: Health::Unknown,
                last_error: String::new(),
                last_scrape: None,
                last_duration: Duration::ZERO,
                last_samples: 0,
            }));
            let (tx, rx) = oneshot::channel();
            let hash = t.hash;
            let args = LoopArgs {
                job: self.job.clone(),
                target: t,
                client: self.client.clone(),
                local: self.local.clone(),
                appender: self.appender.clone(),
                forced_error: self.forced_error.clone(),
                status: status.clone(),
            };
            tokio::spawn(target_loop::run(args, rx));
            statuses.push(status.clone());
            self.loops.insert(hash, LoopHandle { stop: tx, status });
        }
        let mut sh = self.shared.lock();
        sh.active = statuses;
        sh.dropped_count = dropped.len();
        let keep_dropped = self.job.keep_dropped_targets as usize;
        if keep_dropped > 0 {
            dropped.truncate(keep_dropped);
        }
        sh.dropped = dropped;
        sh.invalid = invalid;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Discard;

    impl Appender for Discard {
        type Ref = ();
        fn resolve(&self, _: &[(String, String)]) -> Option<()> {
            Some(())
        }
        fn append(&self, _: &mut [((), model::Sample)]) -> Result<u64, String> {
            Ok(0)
        }
    }

    /// A static job's provider ends once it has sent its groups; its pool must then go idle. With
    /// the clock paused, the hour below passes only when no task is ready to run, so a pool that
    /// keeps polling its closed channel never lets it pass.
    #[test]
    fn pool_idles_once_discovery_has_ended() {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async {
                let yaml = scrape::ScrapeConfigYaml {
                    job_name: "idle".into(),
                    ..Default::default()
                };
                let job = scrape::resolve(&Default::default(), &[yaml]).unwrap().remove(0);
                let pool = PoolHandle::start(
                    Arc::new(job),
                    reqwest::Client::new(),
                    Vec::new(),
                    None,
                    Arc::new(Discard),
                    tokio::sync::watch::channel(None).1,
                );
                tokio::time::sleep(Duration::from_secs(3600)).await;
                pool.stop(Stop::Shutdown);
            });
            let _ = done_tx.send(());
        });
        assert!(
            done_rx.recv_timeout(Duration::from_secs(30)).is_ok(),
            "the pool kept the runtime busy"
        );
    }
}
