//! One target's scrape loop. Scrapes start at `hash mod interval` past each multiple of the interval,
//! so a job's targets spread over the interval and keep their slot across restarts; a sample's
//! timestamp is its slot when the scrape starts within 10 ms of it, which keeps timestamps evenly
//! spaced and cheap to compress. Between scrapes the loop watches an idle connection to the target
//! (see [`crate::watch`]) and scrapes at once when the target's process goes away.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use model::{STALE_NAN_BITS, Sample};
use parking_lot::Mutex;
use scrape::{Cache, Format, Job, Resolve, Settings, Target};
use tokio::sync::oneshot;
use tracing::debug;

use crate::pool::Stop;
use crate::watch::Verdict;
use crate::{Appender, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// What `/api/v1/targets` shows of a target.
#[derive(Debug, Clone)]
pub struct TargetStatus {
    pub job: String,
    pub target: Target,
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    pub last_samples: u64,
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Scheduled slots within this distance of the actual start give the timestamp.
const TIMESTAMP_TOLERANCE_MS: i64 = 10;

struct Resolver<'a, A>(&'a A);

impl<A: Appender> Resolve for Resolver<'_, A> {
    type Ref = A::Ref;
    fn resolve(&mut self, labels: &[(String, String)]) -> Option<A::Ref> {
        self.0.resolve(labels)
    }
}

pub(crate) struct LoopArgs<A: Appender> {
    pub job: Arc<Job>,
    pub target: Target,
    pub client: reqwest::Client,
    /// Read in process instead of fetching over HTTP.
    pub local: Option<crate::LocalSource>,
    pub appender: Arc<A>,
    /// Set when the pool is over its target limit: every scrape fails with it.
    pub forced_error: Arc<Mutex<Option<String>>>,
    pub status: Arc<Mutex<TargetStatus>>,
}

/// The first slot at or after `now` for a target with this hash.
fn first_slot(now: i64, interval: i64, hash: u64) -> i64 {
    let offset = (hash % interval as u64) as i64;
    let mut next = now - now.rem_euclid(interval) + offset;
    if next < now {
        next += interval;
    }
    next
}

pub(crate) async fn run<A: Appender>(args: LoopArgs<A>, mut stop: oneshot::Receiver<Stop>) {
    let LoopArgs {
        job,
        target,
        client,
        local,
        appender,
        forced_error,
        status,
    } = args;
    let interval = target.interval_ms.max(1) as i64;
    let timeout = Duration::from_millis(target.timeout_ms);
    let accept = scrape::accept_header(&job.protocols);
    let mut cache: Cache<A::Ref> = Cache::new();
    let mut report: Option<Vec<A::Ref>> = None;
    let mut last_t = None;
    let mut next = first_slot(now_ms(), interval, target.hash);
    let watched = if job.watch_connection && local.is_none() {
        crate::watch::endpoint(&target.url)
    } else {
        None
    };
    let mut watching: Option<Pin<Box<dyn Future<Output = Verdict> + Send>>> = None;
    loop {
        let wait = u64::try_from(next - now_ms()).unwrap_or(0);
        // An early scrape, because the watched connection says the target is gone, keeps the
        // schedule: its sample is stamped when it runs and the next slot stays the next slot.
        let early = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => false,
            v = next_verdict(&mut watching) => match v {
                Verdict::Gone(why) => {
                    debug!(job = %job.name, url = %target.url, why = %why, "the target closed the watched connection: scraping now");
                    true
                }
                Verdict::Quiet(why) => {
                    debug!(job = %job.name, url = %target.url, why, "stopped watching the target's connection until the next scrape");
                    watching = None;
                    continue;
                }
            },
            why = &mut stop => {
                end_of_run(why.unwrap_or(Stop::Shutdown), &mut cache, &report, last_t, next, interval, &*appender).await;
                return;
            }
        };
        // The watch closes before the scrape: a server serving one connection at a time then
        // serves the scrape.
        watching = None;
        let start = now_ms();
        let t = if !early && (start - next).abs() <= TIMESTAMP_TOLERANCE_MS {
            next
        } else {
            start.max(last_t.map_or(i64::MIN, |l| l + 1))
        };
        let started = Instant::now();
        let forced = forced_error.lock().clone();
        let fetched = match (forced, &local) {
            (Some(e), _) => Err(e),
            (None, Some(src)) => {
                let src = src.clone();
                tokio::task::spawn_blocking(move || src())
                    .await
                    .unwrap_or_else(|e| Err(format!("local collector failed: {e}")))
            }
            (None, None) => {
                tokio::select! {
                    r = crate::http::fetch(&client, &target.url, &accept, timeout, job.enable_compression, job.limits.body_size) => r,
                    why = &mut stop => {
                        end_of_run(why.unwrap_or(Stop::Shutdown), &mut cache, &report, last_t, next, interval, &*appender).await;
                        return;
                    }
                }
            }
        };
        let settings = Settings {
            target_labels: &target.visible,
            honor_labels: job.honor_labels,
            honor_timestamps: job.honor_timestamps,
            track_timestamps_staleness: job.track_timestamps_staleness,
            metric_relabel: &job.metric_relabel,
            limits: job.limits,
        };
        let mut res = Resolver(&*appender);
        let keep_alive = fetched.as_ref().is_ok_and(|f| f.keep_alive);
        let mut outcome = match fetched {
            Ok(f) => {
                let format = Format::from_content_type(f.content_type.as_deref());
                cache.scrape(&f.body, format, t, &settings, &mut res)
            }
            Err(e) => cache.fail(t, e),
        };
        let took = started.elapsed();
        if report.is_none() {
            report = resolve_report(&*appender, &target);
        }
        let up = outcome.error.is_none();
        if let Some(refs) = &report {
            let values = [
                if up { 1.0 } else { 0.0 },
                took.as_secs_f64(),
                outcome.scraped as f64,
                outcome.post_relabel as f64,
                outcome.series_added as f64,
            ];
            for (r, v) in refs.iter().zip(values) {
                outcome.samples.push((r.clone(), Sample::new(t, v)));
            }
        }
        let sample_count = outcome.samples.len();
        if let Err(e) = appender.append(&mut outcome.samples) {
            debug!(url = %target.url, error = %e, "storing scraped samples failed");
        }
        last_t = Some(t);
        let changed = {
            let mut s = status.lock();
            let before = s.health;
            s.health = if up { Health::Up } else { Health::Down };
            let changed = match before {
                Health::Unknown => !up,
                _ => before != s.health,
            };
            s.last_error = outcome.error.clone().unwrap_or_default();
            s.last_scrape = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(t.max(0) as u64));
            s.last_duration = took;
            s.last_samples = sample_count as u64;
            changed
        };
        if changed {
            appender.health_changed(&job.name, up);
        }
        if let Some(e) = &outcome.error {
            debug!(job = %job.name, url = %target.url, error = %e, "scrape failed");
        }
        if early {
            continue;
        }
        if let Some((host, port)) = watched.clone().filter(|_| up && keep_alive) {
            watching = Some(Box::pin(crate::watch::watch(host, port, timeout)));
        }
        next += interval;
        let now = now_ms();
        if next <= now {
            // Fell behind (a suspended process, a slow store): skip the missed slots.
            next = first_slot(now, interval, target.hash);
        }
    }
}

/// The end of the watch in progress; never, when there is none.
async fn next_verdict(watching: &mut Option<Pin<Box<dyn Future<Output = Verdict> + Send>>>) -> Verdict {
    match watching {
        Some(w) => w.await,
        None => std::future::pending().await,
    }
}

fn resolve_report<A: Appender>(appender: &A, target: &Target) -> Option<Vec<A::Ref>> {
    REPORT_NAMES
        .iter()
        .map(|name| {
            let mut l = target.visible.clone();
            l.push(("__name__".to_string(), (*name).to_string()));
            l.sort();
            appender.resolve(&l)
        })
        .collect()
}

/// A target that goes away gets staleness markers for its series, as Prometheus writes them: at the
/// slot after its last scrape, written about two intervals later so that a target that comes back
/// under a new loop in the meantime is not marked stale. A shutdown writes none: the next start
/// resumes the series.
async fn end_of_run<A: Appender>(
    why: Stop,
    cache: &mut Cache<A::Ref>,
    report: &Option<Vec<A::Ref>>,
    last_t: Option<i64>,
    next: i64,
    interval: i64,
    appender: &A,
) {
    if why == Stop::Shutdown || last_t.is_none() {
        return;
    }
    let stale_t = next;
    let wait = (stale_t - now_ms()).max(0) + interval + interval / 10;
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    let mut samples = cache.stale_all(stale_t);
    if let Some(refs) = report {
        for r in refs {
            samples.push((r.clone(), Sample::new(stale_t, f64::from_bits(STALE_NAN_BITS))));
        }
    }
    if let Err(e) = appender.append(&mut samples) {
        debug!(error = %e, "storing end-of-run staleness markers failed");
    }
}

#[cfg(test)]
mod tests {
    use super::first_slot;

    #[test]
    fn slots_are_stable_and_spread() {
        let i = 15_000;
        assert_eq!(first_slot(1_000_000, i, 7), 1_005_007);
        let a = first_slot(1_000_000, i, 3);
        assert!(a >= 1_000_000 && a < 1_000_000 + i);
        assert_eq!(a.rem_euclid(i), 3);
        assert_eq!(first_slot(a + i - 1, i, 3), a + i);
    }
}
