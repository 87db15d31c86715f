//! The alert store: every alert the manager has received, by fingerprint, with Alertmanager's
//! `mem.Alerts.Put` merge rule. A `put` is durable when it returns (an acknowledged `POST` of
//! alerts survives `kill -9`): each call appends its alerts as JSON lines to a journal and
//! `fdatasync`s it; the journal is replayed over a snapshot at open and folded into a new snapshot
//! once it is larger than 4 MiB and than twice the last snapshot. Times are Unix ms, passed in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::Result;
use crate::persist::{self, Journal, fp_hex};
use crate::types::Alert;

const FORMAT_VERSION: u32 = 1;
const SNAPSHOT_FILE: &str = "alerts.json";
const JOURNAL_FILE: &str = "alerts.journal";

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    alerts: Vec<Alert>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    /// The alert as stored after merging; replay sets it as is.
    Put { alert: Alert },
    Del {
        #[serde(with = "fp_hex")]
        fp: u64,
    },
}

struct Inner {
    alerts: BTreeMap<u64, Alert>,
    journal: Journal,
}

/// The alert store. Every method takes `&self`.
pub struct Alerts {
    dir: PathBuf,
    inner: Mutex<Inner>,
    changes: watch::Sender<u64>,
}

impl Alerts {
    /// Opens the store in directory `dir` (created if missing): `alerts.json` (snapshot) and
    /// `alerts.journal`. A torn last journal line is cut off and counted in
    /// [`Alerts::torn_records`]; any other unreadable content is an error naming the file.
    pub fn open(dir: &Path) -> Result<Alerts> {
        persist::ensure_dir(dir)?;
        let snap_path = dir.join(SNAPSHOT_FILE);
        let (journal, loaded) = Journal::open::<Snapshot, Record>(&snap_path, &dir.join(JOURNAL_FILE))?;
        let mut alerts = BTreeMap::new();
        if let Some(s) = loaded.snapshot {
            persist::check_version(s.version, FORMAT_VERSION, &snap_path)?;
            for a in s.alerts {
                alerts.insert(a.fingerprint(), a);
            }
        }
        for r in loaded.records {
            match r {
                Record::Put { alert } => {
                    alerts.insert(alert.fingerprint(), alert);
                }
                Record::Del { fp } => {
                    alerts.remove(&fp);
                }
            }
        }
        let (changes, _) = watch::channel(0);
        Ok(Alerts {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner { alerts, journal }),
            changes,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map changes only after the journal write succeeded, so even a poisoned lock guards
        // a state that matches the disk.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores alerts received at `now`. An alert whose fingerprint is already stored is merged
    /// with the stored copy when their active ranges overlap ([`Alert::overlaps`],
    /// [`Alert::merge`]) and replaces it otherwise. On disk before this returns; on error nothing
    /// of this call is applied in memory.
    pub fn put(&self, alerts: Vec<Alert>, now: i64) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut g = self.lock();
        // Alerts of one call may share a fingerprint; each merges with the result of the last.
        let mut staged: BTreeMap<u64, Alert> = BTreeMap::new();
        for alert in alerts {
            let fp = alert.fingerprint();
            let stored = match staged.get(&fp).or_else(|| g.alerts.get(&fp)) {
                Some(old) if old.overlaps(&alert) => old.merge(&alert, now),
                _ => alert,
            };
            staged.insert(fp, stored);
        }
        let recs: Vec<Record> = staged
            .values()
            .map(|a| Record::Put { alert: a.clone() })
            .collect();
        g.journal.append(&recs)?;
        g.alerts.extend(staged);
        self.maybe_compact(&mut g)?;
        drop(g);
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    /// The stored alert with this fingerprint.
    pub fn get(&self, fp: u64) -> Option<Alert> {
        self.lock().alerts.get(&fp).cloned()
    }

    /// Every stored alert, by fingerprint.
    pub fn list(&self) -> Vec<Alert> {
        self.lock().alerts.values().cloned().collect()
    }

    /// How many alerts are stored.
    pub fn len(&self) -> usize {
        self.lock().alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes alerts resolved at `now` whose end is at least `keep_resolved_ms` ago
    /// (Alertmanager's store GC is `keep_resolved_ms = 0`) and returns them, so the caller can
    /// forget whatever else it tracks for them.
    pub fn gc(&self, now: i64, keep_resolved_ms: i64) -> Result<Vec<Alert>> {
        let mut g = self.lock();
        let cutoff = now.saturating_sub(keep_resolved_ms);
        let dead: Vec<u64> = g
            .alerts
            .iter()
            .filter(|(_, a)| a.resolved_at(now) && a.ends_at <= cutoff)
            .map(|(fp, _)| *fp)
            .collect();
        if dead.is_empty() {
            return Ok(Vec::new());
        }
        let recs: Vec<Record> = dead.iter().map(|&fp| Record::Del { fp }).collect();
        g.journal.append(&recs)?;
        let removed = dead.iter().filter_map(|fp| g.alerts.remove(fp)).collect();
        self.maybe_compact(&mut g)?;
        drop(g);
        self.changes.send_modify(|v| *v += 1);
        Ok(removed)
    }

    /// A receiver whose value goes up after every `put` and every `gc` that removed something,
    /// for a dispatcher that wakes on changes. Cheap: no alert is copied.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Folds the journal into a new snapshot now.
    pub fn compact(&self) -> Result<()> {
        let mut g = self.lock();
        Self::compact_locked(&mut g)
    }

    /// Compact automatically once the journal exceeds `bytes` (and twice the last snapshot)
    /// instead of the default 4 MiB.
    pub fn set_compact_threshold(&self, bytes: u64) {
        self.lock().journal.set_compact_bytes(bytes);
    }

    /// Bytes of records in the journal since the last snapshot.
    pub fn journal_bytes(&self) -> u64 {
        self.lock().journal.len()
    }

    /// How many torn journal lines were cut off when the store was opened (0 or 1).
    pub fn torn_records(&self) -> u64 {
        self.lock().journal.torn()
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn maybe_compact(&self, g: &mut Inner) -> Result<()> {
        if g.journal.wants_compaction() {
            Self::compact_locked(g)?;
        }
        Ok(())
    }

    fn compact_locked(g: &mut Inner) -> Result<()> {
        let snap = Snapshot {
            version: FORMAT_VERSION,
            alerts: g.alerts.values().cloned().collect(),
        };
        g.journal.compact(&snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::LabelSet;

    fn alert(name: &str, starts: i64, ends: i64, updated: i64) -> Alert {
        let mut labels = LabelSet::new();
        labels.insert("alertname".into(), name.into());
        Alert {
            labels,
            annotations: LabelSet::new(),
            starts_at: starts,
            ends_at: ends,
            generator_url: String::new(),
            updated_at: updated,
            timeout: false,
        }
    }

    #[test]
    fn put_merges_overlapping_and_replaces_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let s = Alerts::open(dir.path()).unwrap();
        s.put(vec![alert("A", 100, 1_000, 100)], 100).unwrap();
        // Overlapping: the earliest start survives.
        s.put(vec![alert("A", 200, 1_500, 200)], 200).unwrap();
        let fp = alert("A", 0, 0, 0).fingerprint();
        let got = s.get(fp).unwrap();
        assert_eq!((got.starts_at, got.ends_at), (100, 1_500));
        // Not overlapping (starts after the stored end): replaced.
        s.put(vec![alert("A", 2_000, 3_000, 2_000)], 2_000).unwrap();
        let got = s.get(fp).unwrap();
        assert_eq!((got.starts_at, got.ends_at), (2_000, 3_000));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn duplicates_in_one_put_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Alerts::open(dir.path()).unwrap();
        s.put(vec![alert("A", 100, 1_000, 100), alert("A", 200, 900, 200)], 200)
            .unwrap();
        let got = s.get(alert("A", 0, 0, 0).fingerprint()).unwrap();
        assert_eq!((got.starts_at, got.ends_at), (100, 1_000));
    }

    #[test]
    fn gc_removes_resolved_after_keep() {
        let dir = tempfile::tempdir().unwrap();
        let s = Alerts::open(dir.path()).unwrap();
        let mut rx = s.subscribe();
        s.put(vec![alert("A", 100, 500, 100), alert("B", 100, 5_000, 100)], 100)
            .unwrap();
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert!(s.gc(1_000, 1_000).unwrap().is_empty());
        assert!(!rx.has_changed().unwrap());
        let removed = s.gc(1_500, 1_000).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].labels["alertname"], "A");
        assert!(rx.has_changed().unwrap());
        drop(s);
        let s = Alerts::open(dir.path()).unwrap();
        assert_eq!(s.list().len(), 1);
    }

    #[test]
    fn auto_compaction_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let s = Alerts::open(dir.path()).unwrap();
        s.set_compact_threshold(512);
        for i in 0..20 {
            s.put(vec![alert(&format!("A{i}"), 100, 10_000, 100)], 100)
                .unwrap();
        }
        let snap_len = std::fs::metadata(dir.path().join(SNAPSHOT_FILE)).unwrap().len();
        assert!(s.journal_bytes() <= 512.max(2 * snap_len));
        drop(s);
        let s = Alerts::open(dir.path()).unwrap();
        assert_eq!(s.len(), 20);
    }
}
