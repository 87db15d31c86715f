//! Runs the groups of the loaded rule files, each on its own fixed schedule: one task per group
//! sleeps until the group's next slot, evaluates on a blocking thread, and counts the slots it missed
//! when an evaluation overran (never silently skipping them). Reloads keep unchanged groups running and
//! carry alert state into changed ones; removed groups get staleness markers. At the first load, the
//! `for` state of pending alerts is restored from `ALERTS_FOR_STATE` as Prometheus does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use model::Labels;
use parking_lot::Mutex;
use storage::{MatchOp, Matcher};

use crate::file::RuleFile;
use crate::group::{Env, Group};

/// Prometheus's rule manager flags, with their defaults.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// `global.evaluation_interval` (1m).
    pub default_interval_ms: i64,
    /// `global.rule_query_offset` (0).
    pub default_query_offset_ms: i64,
    /// `--rules.alert.for-outage-tolerance` (1h): how far back `for` state is looked for at start.
    pub outage_tolerance_ms: i64,
    /// `--rules.alert.for-grace-period` (10m): minimum time an alert waits after a restore.
    pub for_grace_period_ms: i64,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            default_interval_ms: 60_000,
            default_query_offset_ms: 0,
            outage_tolerance_ms: 3_600_000,
            for_grace_period_ms: 600_000,
        }
    }
}

struct Running {
    group: Arc<Group>,
    stop: tokio::sync::watch::Sender<Stop>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    /// Stopped by a reload that removed or replaced the group.
    Replaced,
    /// Removed by a reload: write staleness markers for its output.
    Removed,
    Shutdown,
}

/// Evaluations triggered by scrape health come at most once per this long, however often targets
/// change health (a flapping fleet cannot make the rules run continuously).
const MIN_TRIGGER_GAP_MS: i64 = 1000;

pub struct Manager {
    env: Arc<Env>,
    opts: Mutex<ManagerOptions>,
    groups: Mutex<BTreeMap<(String, String), Running>>,
    /// Set after the first load: groups loaded later start restored (nothing to restore).
    loaded_once: AtomicBool,
    /// Bumped by [`Manager::trigger`]: every group evaluates at once, off its schedule.
    trigger: tokio::sync::watch::Sender<u64>,
}

impl Manager {
    pub fn new(env: Env, opts: ManagerOptions) -> Arc<Self> {
        Arc::new(Self {
            env: Arc::new(env),
            opts: Mutex::new(opts),
            groups: Mutex::new(BTreeMap::new()),
            loaded_once: AtomicBool::new(false),
            trigger: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Replaces the running groups with those of `files` (in file order). Must run inside a tokio
    /// runtime. Fails without changing anything if a group cannot be built.
    pub fn update(&self, files: &[RuleFile], opts: ManagerOptions) -> Result<(), String> {
        let first = !self.loaded_once.swap(true, Ordering::AcqRel);
        let mut new_groups = Vec::new();
        for f in files {
            for g in &f.groups {
                let group = Group::new(
                    &f.path,
                    g,
                    opts.default_interval_ms,
                    opts.default_query_offset_ms,
                    !first,
                )
                .map_err(|e| format!("{}: group {:?}: {e}", f.path, g.name))?;
                new_groups.push(group);
            }
        }
        *self.opts.lock() = opts.clone();
        let mut running = self.groups.lock();
        let mut old = std::mem::take(&mut *running);
        for g in new_groups {
            let key = g.key();
            if let Some(prev) = old.remove(&key) {
                if prev.group.same_as(&g) {
                    running.insert(key, prev);
                    continue;
                }
                g.copy_state(&prev.group);
                let _ = prev.stop.send(Stop::Replaced);
            }
            let group = Arc::new(g);
            running.insert(key, self.start(group, first, &opts));
        }
        for (_, prev) in old {
            let _ = prev.stop.send(Stop::Removed);
        }
        for r in running.values() {
            let labels = vec![(
                "rule_group".to_string(),
                format!("{};{}", r.group.file, r.group.name),
            )];
            self.env
                .metrics
                .interval
                .get_or_create(&labels)
                .set(r.group.interval_ms as f64 / 1000.0);
            self.env
                .metrics
                .rules
                .get_or_create(&labels)
                .set(r.group.rules.len() as i64);
        }
        Ok(())
    }

    fn start(&self, group: Arc<Group>, restore: bool, opts: &ManagerOptions) -> Running {
        let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
        let env = self.env.clone();
        let opts = opts.clone();
        let g = group.clone();
        let mut trigger = self.trigger.subscribe();
        trigger.mark_unchanged();
        let task = tokio::spawn(async move { run_group(env, g, rx, trigger, restore, opts).await });
        Running {
            group,
            stop: tx,
            task,
        }
    }

    /// Makes every group evaluate now, without waiting for its next slot (a scraped target went
    /// down or came back). The groups keep their schedule; triggered evaluations come at least a
    /// second apart (later triggers wait, and share one evaluation), and not at all when the next
    /// scheduled one is due first.
    pub fn trigger(&self) {
        self.trigger.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The running groups, by file and name.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.lock().values().map(|r| r.group.clone()).collect()
    }

    /// Stops every group (no staleness markers: the data stays as it was at shutdown) and waits.
    pub async fn stop(&self) {
        let running = std::mem::take(&mut *self.groups.lock());
        let mut tasks = Vec::new();
        for (_, r) in running {
            let _ = r.stop.send(Stop::Shutdown);
            tasks.push(r.task);
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

async fn run_group(
    env: Arc<Env>,
    group: Arc<Group>,
    mut stop: tokio::sync::watch::Receiver<Stop>,
    mut trigger: tokio::sync::watch::Receiver<u64>,
    restore: bool,
    opts: ManagerOptions,
) {
    let interval = group.interval_ms;
    let labels = vec![("rule_group".to_string(), format!("{};{}", group.file, group.name))];
    // A group taking over from an older version continues its schedule; a new one waits for its
    // first slot, as Prometheus does.
    let mut eval_ts = match group.status.lock().last_eval_ts {
        Some(t) => t + interval,
        None => group.eval_timestamp((env.now_ms)()) + interval,
    };
    let mut restore = restore;
    let mut last_triggered: Option<i64> = None;
    loop {
        let wait = eval_ts - (env.now_ms)();
        if wait > 0 {
            let mut triggered = false;
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
                _ = stop.changed() => {}
                r = trigger.changed() => triggered = r.is_ok(),
            }
            if triggered && *stop.borrow() == Stop::Run {
                let prev = group.status.lock().last_eval_ts;
                // Too soon after the last triggered evaluation: wait out the gap rather than drop
                // the trigger (the target found down would otherwise wait for the next slot). A
                // scheduled evaluation just before does not delay it: it ran without the news.
                let gap = MIN_TRIGGER_GAP_MS.min(interval / 2);
                if let Some(last) = last_triggered {
                    let wait = last + gap - (env.now_ms)();
                    if wait > 0 {
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
                            _ = stop.changed() => {}
                        }
                    }
                }
                // Strictly after the scheduled evaluation, whose samples hold its timestamp.
                let now = (env.now_ms)().max(prev.map_or(i64::MIN, |p| p + 1));
                if *stop.borrow() == Stop::Run && now < eval_ts {
                    last_triggered = Some(now);
                    let (g, env2, opts2, do_restore) = (group.clone(), env.clone(), opts.clone(), restore);
                    let _ = tokio::task::spawn_blocking(move || {
                        g.eval(&env2, now);
                        if do_restore {
                            restore_for_state(&env2, &g, (env2.now_ms)(), &opts2);
                        }
                        // The schedule continues from its own slots.
                        g.status.lock().last_eval_ts = prev;
                    })
                    .await;
                    restore = false;
                }
                continue;
            }
        }
        let state = *stop.borrow();
        match state {
            Stop::Run => {}
            Stop::Removed => {
                let g = group.clone();
                let env2 = env.clone();
                let now = (env.now_ms)();
                let _ = tokio::task::spawn_blocking(move || g.mark_stale(&env2, now)).await;
                return;
            }
            Stop::Replaced | Stop::Shutdown => return,
        }
        let (g, env2, ts) = (group.clone(), env.clone(), eval_ts);
        let do_restore = restore;
        let opts2 = opts.clone();
        let _ = tokio::task::spawn_blocking(move || {
            g.eval(&env2, ts);
            if do_restore {
                restore_for_state(&env2, &g, (env2.now_ms)(), &opts2);
            }
        })
        .await;
        restore = false;
        let now = (env.now_ms)();
        let behind = (now - eval_ts) / interval;
        let missed = behind - 1;
        if missed > 0 {
            env.metrics.missed.get_or_create(&labels).inc_by(missed as u64);
            tracing::warn!(group = %group.name, file = %group.file, missed, "rule group evaluation ran past its next slots");
        }
        eval_ts += interval * behind.max(0).max(1);
        if behind < 1 {
            eval_ts = eval_ts.max(group.eval_timestamp(now) + interval);
        }
    }
}

/// Prometheus's `RestoreForState`: for each pending or firing alert of the group's alerting rules with
/// a `for` of at least the grace period, looks up its last `ALERTS_FOR_STATE` sample within the
/// outage tolerance and moves its active-since time so that the time already spent pending counts,
/// but it still waits at least the grace period. Afterwards the rules write `ALERTS` series.
pub fn restore_for_state(env: &Env, group: &Group, now: i64, opts: &ManagerOptions) {
    let mint = now - opts.outage_tolerance_ms;
    for rule in &group.rules {
        if !rule.is_alerting() {
            continue;
        }
        let hold = rule.spec.for_ms;
        if hold < opts.for_grace_period_ms {
            rule.restored.store(true, Ordering::Release);
            continue;
        }
        let mut alerts = rule.alerts.lock();
        for a in alerts.values_mut() {
            let Some((t, v)) = last_for_state(env, &a.labels, mint, now) else {
                continue;
            };
            if model::is_stale_nan(v) {
                continue;
            }
            let down_at = t.div_euclid(1000) * 1000;
            let restored_active_at = (v as i64) * 1000;
            let spent = down_at - restored_active_at;
            let remaining = hold - spent;
            let active_at = if remaining <= 0 {
                restored_active_at
            } else if remaining < opts.for_grace_period_ms {
                now + opts.for_grace_period_ms - hold
            } else {
                restored_active_at + (now - down_at)
            };
            tracing::info!(group = %group.name, rule = %rule.name(), alert = %a.labels,
                was_active_at = restored_active_at, down_at, active_at, "restored for state");
            a.active_at = active_at;
        }
        drop(alerts);
        rule.restored.store(true, Ordering::Release);
    }
}

fn last_for_state(env: &Env, labels: &Labels, mint: i64, maxt: i64) -> Option<(i64, f64)> {
    let mut matchers = vec![Matcher::new(MatchOp::Equal, model::METRIC_NAME, "ALERTS_FOR_STATE").ok()?];
    for (k, v) in labels.iter() {
        if k == model::METRIC_NAME {
            continue;
        }
        matchers.push(Matcher::new(MatchOp::Equal, k, v).ok()?);
    }
    let series = env.store.select(mint, maxt, &matchers).ok()?;
    // Exactly the alert's labels: a series with more labels is another alert's.
    let want = crate::rule::for_state_series(labels);
    series
        .into_iter()
        .find(|s| s.labels == want)
        .and_then(|s| s.samples.last().map(|x| (x.t, x.v)))
}
