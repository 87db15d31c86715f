//! The alert manager itself: alerts come in (from the rule engine or `POST /api/v2/alerts`), are
//! stored durably, routed into aggregation groups, and each group is flushed on its schedule
//! (`group_wait`, then every `group_interval`) through Alertmanager's pipeline: inhibition, silences,
//! mute/active time intervals, then per integration the notification-log dedup. A notification
//! that must go out is first written to the outbox, then delivered by a worker that retries with
//! backoff until it succeeds (or the receiver refuses it for good), and only then logged as sent.
//! So a crash or a receiver outage delays notifications but loses none, and a restart neither
//! repeats what was delivered nor forgets what was not.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::inhibit::{self, InhibitRule};
use crate::integrations::{self, Integration, Notification, NotifyMetrics, SendError};
use crate::matchers::LabelSet;
use crate::nflog::{Entry, EntryKey, Nflog, needs_update};
use crate::outbox::{Outbox, Pending};
use crate::route::Route;
use crate::silence::Silences;
use crate::store::Alerts;
use crate::tmpl::Templates;
use crate::types::Alert;

/// How the alert manager runs.
#[derive(Clone)]
pub struct Options {
    /// Where silences, the notification log, the alerts and the outbox live.
    pub data_dir: PathBuf,
    /// The URL users reach the alert manager at (links in notifications).
    pub external_url: String,
    /// How long expired silences and notification-log entries are kept (Alertmanager's
    /// `--data.retention`, 120h).
    pub retention_ms: i64,
    /// First and longest wait between delivery attempts of one notification.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Wall clock, Unix ms.
    pub now_ms: fn() -> i64,
}

impl Options {
    pub fn new(data_dir: impl Into<PathBuf>, external_url: &str) -> Self {
        Self {
            data_dir: data_dir.into(),
            external_url: external_url.trim_end_matches('/').to_string(),
            retention_ms: 120 * 3_600_000,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
            now_ms: wall_ms,
        }
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A loaded configuration, swapped whole on reload.
pub struct Loaded {
    pub config: Config,
    pub route: Route,
    pub inhibit: Vec<InhibitRule>,
    pub integrations: HashMap<String, Vec<Arc<Integration>>>,
    /// The config as `/api/v2/status` shows it.
    pub original: String,
}

impl Loaded {
    /// Builds routes, inhibition rules, templates and integrations from a checked config.
    pub fn new(config: Config, external_url: &str) -> Result<Self> {
        let route = Route::new(&config.route)?;
        let inhibit = inhibit::rules(&config.inhibit_rules)?;
        let templates = Arc::new(Templates::load(&config.templates)?);
        let mut integrations = HashMap::new();
        for r in &config.receivers {
            let list = integrations::build(r, &config, templates.clone(), external_url)?;
            integrations.insert(r.name.clone(), list.into_iter().map(Arc::new).collect());
        }
        for (receiver, kind, n) in config.unsupported_notifiers() {
            tracing::warn!(receiver = %receiver, notifier = kind, count = n, "notifier type not supported: its notifications are not sent");
        }
        let original = config.to_status_yaml();
        Ok(Self {
            config,
            route,
            inhibit,
            integrations,
            original,
        })
    }
}

/// One aggregation group: the alerts routed to one route that share its `group_by` labels.
struct Group {
    key: String,
    route: Route,
    labels: LabelSet,
    alerts: BTreeMap<u64, Alert>,
    next_flush: i64,
    flushed: bool,
}

/// A group as the API lists it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub labels: LabelSet,
    pub receiver: String,
    pub alerts: Vec<Alert>,
}

/// An alert with what the API reports about it.
#[derive(Debug, Clone)]
pub struct AlertView {
    pub alert: Alert,
    pub receivers: Vec<String>,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

type DeliveryKey = EntryKey;

pub struct Alertmanager {
    opts: Options,
    pub alerts: Alerts,
    pub silences: Silences,
    nflog: Nflog,
    outbox: Outbox,
    loaded: RwLock<Arc<Loaded>>,
    groups: Mutex<BTreeMap<(String, String), Group>>,
    /// Notifications waiting for delivery, per group and integration, oldest first.
    queues: Mutex<HashMap<DeliveryKey, VecDeque<Pending>>>,
    pub metrics: Arc<NotifyMetrics>,
    wake: tokio::sync::Notify,
    pub started_ms: i64,
}

impl Alertmanager {
    /// Opens the state under `opts.data_dir` and loads `config`. Call [`Alertmanager::run`] to
    /// start flushing and delivering.
    pub fn open(opts: Options, config: Config, metrics: Arc<NotifyMetrics>) -> Result<Arc<Self>> {
        let dir = &opts.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let alerts = Alerts::open(&dir.join("alerts"))?;
        let silences = Silences::open(&dir.join("silences.json"), opts.retention_ms)?;
        let nflog = Nflog::open(&dir.join("nflog.json"), opts.retention_ms)?;
        let outbox = Outbox::open(&dir.join("outbox"))?;
        let loaded = Loaded::new(config, &opts.external_url)?;
        for list in loaded.integrations.values() {
            for i in list {
                metrics.init_integration(i.name());
            }
        }
        let started_ms = (opts.now_ms)();
        let am = Arc::new(Self {
            opts,
            alerts,
            silences,
            nflog,
            outbox,
            loaded: RwLock::new(Arc::new(loaded)),
            groups: Mutex::new(BTreeMap::new()),
            queues: Mutex::new(HashMap::new()),
            metrics,
            wake: tokio::sync::Notify::new(),
            started_ms,
        });
        // Alerts received before a restart go back into their groups; the notification log keeps
        // them from being sent twice.
        let now = am.now();
        let stored = am.alerts.list();
        am.route_alerts(&stored, now);
        // Undelivered notifications resume in their order.
        let mut queues = am.queues.lock();
        for p in am.outbox.list() {
            queues.entry(key_of(&p)).or_default().push_back(p);
        }
        drop(queues);
        Ok(am)
    }

    fn now(&self) -> i64 {
        (self.opts.now_ms)()
    }

    /// The configuration in force.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.read().clone()
    }

    /// Replaces the configuration. Groups are rebuilt from the stored alerts (the notification
    /// log keeps them from notifying again what was already sent).
    pub fn reload(&self, config: Config) -> Result<()> {
        let loaded = Loaded::new(config, &self.opts.external_url)?;
        for list in loaded.integrations.values() {
            for i in list {
                self.metrics.init_integration(i.name());
            }
        }
        *self.loaded.write() = Arc::new(loaded);
        self.groups.lock().clear();
        let now = self.now();
        let stored = self.alerts.list();
        self.route_alerts(&stored, now);
        self.wake.notify_one();
        Ok(())
    }

    /// Takes alerts in (Alertmanager's `PostAlerts` after validation): stored durably, then routed.
    /// Returns once they are on disk.
    pub fn put_alerts(&self, alerts: Vec<Alert>) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let now = self.now();
        self.alerts.put(alerts.clone(), now)?;
        // Route the merged versions, as stored.
        let merged: Vec<Alert> = alerts
            .iter()
            .filter_map(|a| self.alerts.get(a.fingerprint()))
            .collect();
        self.route_alerts(&merged, now);
        self.wake.notify_one();
        Ok(())
    }

    fn route_alerts(&self, alerts: &[Alert], now: i64) {
        let loaded = self.loaded();
        let mut groups = self.groups.lock();
        for a in alerts {
            for route in loaded.route.match_alert(&a.labels) {
                let key = route.group_key(&a.labels);
                let gk = (route.id().to_string(), key.clone());
                let g = groups.entry(gk).or_insert_with(|| Group {
                    key,
                    route: route.clone(),
                    labels: route.group_labels(&a.labels),
                    alerts: BTreeMap::new(),
                    next_flush: now + route.group_wait_ms as i64,
                    flushed: false,
                });
                // An alert that has waited out group_wait already is sent at once.
                if !g.flushed && a.starts_at + (route.group_wait_ms as i64) < now {
                    g.next_flush = g.next_flush.min(now);
                }
                g.alerts.insert(a.fingerprint(), a.clone());
            }
        }
    }

    /// Runs the flush scheduler, the delivery workers and garbage collection until the task is
    /// dropped.
    pub async fn run(self: Arc<Self>) {
        let keys: Vec<DeliveryKey> = self.queues.lock().keys().cloned().collect();
        for k in keys {
            self.clone().spawn_delivery(k);
        }
        let gc = {
            let am = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(15 * 60));
                loop {
                    tick.tick().await;
                    let am2 = am.clone();
                    let _ = tokio::task::spawn_blocking(move || am2.gc()).await;
                }
            })
        };
        struct AbortOnDrop(tokio::task::JoinHandle<()>);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let _gc = AbortOnDrop(gc);
        loop {
            let now = self.now();
            let next = self.flush_due(now);
            let wait = next.map_or(Duration::from_secs(60), |t| {
                Duration::from_millis((t - self.now()).clamp(0, 60_000) as u64)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Flushes every group that is due; returns when the next one is.
    fn flush_due(self: &Arc<Self>, now: i64) -> Option<i64> {
        let due: Vec<(String, String)> = self
            .groups
            .lock()
            .iter()
            .filter(|(_, g)| g.next_flush <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.flush(&k, now);
        }
        self.groups.lock().values().map(|g| g.next_flush).min()
    }

    /// One flush of one group (Alertmanager's notification pipeline up to the send).
    fn flush(self: &Arc<Self>, gk: &(String, String), now: i64) {
        let loaded = self.loaded();
        let (route, key, labels, alerts) = {
            let mut groups = self.groups.lock();
            let Some(g) = groups.get_mut(gk) else { return };
            g.flushed = true;
            g.next_flush = now + g.route.group_interval_ms as i64;
            (
                g.route.clone(),
                g.key.clone(),
                g.labels.clone(),
                g.alerts.values().cloned().collect::<Vec<_>>(),
            )
        };
        let firing_all: Vec<LabelSet> = self
            .alerts
            .list()
            .into_iter()
            .filter(|a| !a.resolved_at(now))
            .map(|a| a.labels)
            .collect();
        let muted_by_time = route.mute_time_intervals.iter().any(|n| {
            loaded
                .config
                .time_interval(n)
                .is_some_and(|iv| crate::timeinterval::any_contains(iv, now))
        });
        let inactive_by_time = !route.active_time_intervals.is_empty()
            && !route.active_time_intervals.iter().any(|n| {
                loaded
                    .config
                    .time_interval(n)
                    .is_some_and(|iv| crate::timeinterval::any_contains(iv, now))
            });
        let mut sendable: Vec<Alert> = alerts
            .iter()
            .filter(|a| !inhibit::is_inhibited(&loaded.inhibit, &a.labels, firing_all.iter()))
            .filter(|a| self.silences.mutes(&a.labels, now).is_empty())
            .cloned()
            .collect();
        if muted_by_time || inactive_by_time {
            sendable.clear();
        }
        sendable.sort_by(alert_order);
        if !sendable.is_empty() {
            let firing: BTreeSet<u64> = sendable
                .iter()
                .filter(|a| !a.resolved_at(now))
                .map(Alert::fingerprint)
                .collect();
            let resolved: BTreeSet<u64> = sendable
                .iter()
                .filter(|a| a.resolved_at(now))
                .map(Alert::fingerprint)
                .collect();
            let integrations = loaded
                .integrations
                .get(&route.receiver)
                .cloned()
                .unwrap_or_default();
            for i in integrations {
                self.decide(&i, &route, &key, &labels, &sendable, &firing, &resolved, now);
            }
        }
        // Resolved alerts have been handed on (or muted); they leave the group. An empty group
        // ends.
        let mut groups = self.groups.lock();
        if let Some(g) = groups.get_mut(gk) {
            g.alerts.retain(|_, a| !a.resolved_at(now));
            if g.alerts.is_empty() {
                groups.remove(gk);
            }
        }
    }

    /// The dedup stage for one integration: queue a notification if the receiver has not been
    /// told about this state of the group.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        self: &Arc<Self>,
        integration: &Integration,
        route: &Route,
        group_key: &str,
        group_labels: &LabelSet,
        alerts: &[Alert],
        firing: &BTreeSet<u64>,
        resolved: &BTreeSet<u64>,
        now: i64,
    ) {
        let key = EntryKey {
            group_key: group_key.to_string(),
            receiver: integration.receiver().to_string(),
            integration: integration.name().to_string(),
            index: integration.index(),
        };
        let send_resolved = integration.send_resolved();
        let mut queues = self.queues.lock();
        let queued_last = queues.get(&key).and_then(|q| q.back()).map(|p| Entry {
            firing: p.firing.clone(),
            resolved: p.resolved.clone(),
            timestamp: p.created_at,
            expires_at: i64::MAX,
        });
        let pending = queued_last.is_some();
        let last = queued_last.or_else(|| self.nflog.query(&key));
        if !needs_update(
            last.as_ref(),
            firing,
            resolved,
            send_resolved,
            route.repeat_interval_ms as i64,
            now,
        ) {
            return;
        }
        // While a notification is still being delivered, repeating the same state adds nothing.
        if pending
            && last
                .as_ref()
                .is_some_and(|l| &l.firing == firing && &l.resolved == resolved)
        {
            return;
        }
        let to_send: Vec<Alert> = alerts
            .iter()
            .filter(|a| send_resolved || !a.resolved_at(now))
            .cloned()
            .collect();
        if to_send.is_empty() {
            // Only resolved alerts and the integration does not send those: logged as notified so
            // the next flush knows, as Alertmanager does.
            if !pending && let Err(e) = self.nflog.log(&key, firing.clone(), resolved.clone(), now) {
                tracing::error!(error = %e, "notification log write failed");
            }
            return;
        }
        let p = Pending {
            id: 0,
            receiver: key.receiver.clone(),
            integration: key.integration.clone(),
            index: key.index,
            group_key: group_key.to_string(),
            group_labels: group_labels.clone(),
            alerts: to_send,
            firing: firing.clone(),
            resolved: resolved.clone(),
            created_at: now,
            attempts: 0,
        };
        let p = match self.outbox.add(p.clone()) {
            Ok(id) => Pending { id, ..p },
            Err(e) => {
                // Not on disk: still delivered, but a crash before delivery would lose it.
                tracing::error!(error = %e, "outbox write failed");
                p
            }
        };
        let q = queues.entry(key.clone()).or_default();
        q.push_back(p);
        if q.len() == 1 {
            drop(queues);
            self.clone().spawn_delivery(key);
        }
    }

    fn spawn_delivery(self: Arc<Self>, key: DeliveryKey) {
        tokio::spawn(async move { self.deliver(key).await });
    }

    /// Delivers the queue of one key in order, retrying each notification until it goes through.
    async fn deliver(self: Arc<Self>, key: DeliveryKey) {
        let mut backoff = integrations::Backoff::new(self.opts.retry_min, self.opts.retry_max);
        loop {
            let Some(p) = self.queues.lock().get(&key).and_then(|q| q.front().cloned()) else {
                self.queues.lock().remove(&key);
                return;
            };
            let integration = self.loaded().integrations.get(&p.receiver).and_then(|l| {
                l.iter()
                    .find(|i| i.name() == p.integration && i.index() == p.index)
                    .cloned()
            });
            let Some(integration) = integration else {
                tracing::warn!(receiver = %p.receiver, integration = %p.integration, index = p.index,
                    "receiver no longer configured: dropping its pending notification");
                self.finish(&key, &p, None);
                continue;
            };
            let n = Notification {
                receiver: p.receiver.clone(),
                group_key: p.group_key.clone(),
                group_labels: p.group_labels.clone(),
                alerts: p.alerts.clone(),
                now: p.created_at,
            };
            let started = std::time::Instant::now();
            let result = integration.notify(&n).await;
            self.metrics.observe_request(integration.name(), &result);
            match result {
                Ok(()) => {
                    self.metrics
                        .observe_notification(integration.name(), &result, started.elapsed());
                    tracing::debug!(receiver = %p.receiver, integration = %p.integration, group = %p.group_key, alerts = p.alerts.len(), "notification sent");
                    self.finish(&key, &p, Some(self.now()));
                    backoff.reset();
                }
                Err(SendError::Permanent(e)) => {
                    self.metrics.observe_notification(
                        integration.name(),
                        &Err(SendError::Permanent(e.clone())),
                        started.elapsed(),
                    );
                    tracing::error!(receiver = %p.receiver, integration = %p.integration, error = %e, "notification refused: not retried");
                    self.finish(&key, &p, None);
                    backoff.reset();
                }
                Err(SendError::Retry(e)) => {
                    let attempts = self.outbox.record_attempt(p.id).unwrap_or(p.attempts + 1);
                    let delay = backoff.next_delay();
                    tracing::warn!(receiver = %p.receiver, integration = %p.integration, error = %e, attempts, retry_in = ?delay, "notification failed: retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Removes a notification from its queue and the outbox; `sent_at` logs it as delivered.
    fn finish(&self, key: &DeliveryKey, p: &Pending, sent_at: Option<i64>) {
        if let Some(t) = sent_at
            && let Err(e) = self.nflog.log(key, p.firing.clone(), p.resolved.clone(), t)
        {
            tracing::error!(error = %e, "notification log write failed");
        }
        if let Err(e) = self.outbox.remove(p.id) {
            tracing::error!(error = %e, "outbox remove failed");
        }
        let mut queues = self.queues.lock();
        if let Some(q) = queues.get_mut(key)
            && q.front().is_some_and(|f| f.id == p.id)
        {
            q.pop_front();
        }
    }

    fn gc(&self) {
        let now = self.now();
        if let Err(e) = self.silences.gc(now) {
            tracing::warn!(error = %e, "silence gc failed");
        }
        if let Err(e) = self.nflog.gc(now) {
            tracing::warn!(error = %e, "notification log gc failed");
        }
        // Resolved alerts that no group holds any more.
        let held: BTreeSet<u64> = self
            .groups
            .lock()
            .values()
            .flat_map(|g| g.alerts.keys().copied())
            .collect();
        match self.alerts.gc(now, 0) {
            Ok(removed) => {
                let back: Vec<Alert> = removed
                    .into_iter()
                    .filter(|a| held.contains(&a.fingerprint()))
                    .collect();
                if !back.is_empty() {
                    let _ = self.alerts.put(back, now);
                }
            }
            Err(e) => tracing::warn!(error = %e, "alert gc failed"),
        }
    }

    /// Notifications not yet delivered.
    pub fn pending(&self) -> usize {
        self.queues.lock().values().map(VecDeque::len).sum()
    }

    /// Current (unresolved) alerts with their receivers and what mutes them.
    pub fn alert_views(&self) -> Vec<AlertView> {
        let now = self.now();
        let loaded = self.loaded();
        let active: Vec<Alert> = self
            .alerts
            .list()
            .into_iter()
            .filter(|a| !a.resolved_at(now))
            .collect();
        let firing: Vec<&LabelSet> = active.iter().map(|a| &a.labels).collect();
        active
            .iter()
            .map(|a| {
                let mut receivers: Vec<String> = loaded
                    .route
                    .match_alert(&a.labels)
                    .into_iter()
                    .map(|r| r.receiver.clone())
                    .collect();
                receivers.dedup();
                let mut inhibited_by: Vec<String> = loaded
                    .inhibit
                    .iter()
                    .flat_map(|r| r.inhibitors(&a.labels, firing.iter().copied()))
                    .map(|l| format!("{:016x}", crate::types::fingerprint(l)))
                    .collect();
                inhibited_by.sort();
                inhibited_by.dedup();
                AlertView {
                    alert: a.clone(),
                    receivers,
                    silenced_by: self.silences.mutes(&a.labels, now),
                    inhibited_by,
                }
            })
            .collect()
    }

    /// The aggregation groups with their current alerts.
    pub fn group_views(&self) -> Vec<GroupView> {
        let now = self.now();
        self.groups
            .lock()
            .values()
            .map(|g| GroupView {
                labels: g.labels.clone(),
                receiver: g.route.receiver.clone(),
                alerts: g
                    .alerts
                    .values()
                    .filter(|a| !a.resolved_at(now))
                    .cloned()
                    .collect(),
            })
            .filter(|g| !g.alerts.is_empty())
            .collect()
    }
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance` (alerts that have
/// the label first), then by the whole label set.
fn alert_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    for k in ["job", "instance"] {
        match (a.labels.get(k), b.labels.get(k)) {
            (None, None) => continue,
            (Some(_), None) => return std::cmp::Ordering::Less,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels.iter().cmp(b.labels.iter())
}

fn key_of(p: &Pending) -> DeliveryKey {
    EntryKey {
        group_key: p.group_key.clone(),
        receiver: p.receiver.clone(),
        integration: p.integration.clone(),
        index: p.index,
    }
}

fn io_err(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        op,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
