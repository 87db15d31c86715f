//! The notification log: which alerts (by fingerprint) each integration of each receiver last
//! notified about for each group, and Alertmanager's rule (`DedupStage.needsUpdate`) for whether a
//! group needs notifying again. Kept as a snapshot plus a journal of JSON lines, fsynced before
//! `log` returns, so a restart neither repeats nor forgets notifications. Times are Unix ms,
//! passed in by the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::persist::{self, Journal, fp_set_hex};

/// Alertmanager's `--data.retention` default (120h): how long an entry outlives its last write.
pub const DEFAULT_RETENTION_MS: i64 = 120 * 3600 * 1000;

const FORMAT_VERSION: u32 = 1;

/// What a log entry is about: one group, as sent through one integration of one receiver
/// (Alertmanager's `groupKey:receiverName/integration/index` state key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryKey {
    pub group_key: String,
    pub receiver: String,
    /// The integration's name: `webhook`, `email`, `slack`, …
    pub integration: String,
    /// The position of the integration among the receiver's configs of that kind.
    pub index: u32,
}

/// The last notification sent for one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Fingerprints of the alerts that were firing in it.
    #[serde(with = "fp_set_hex")]
    pub firing: BTreeSet<u64>,
    /// Fingerprints of the alerts that were resolved in it.
    #[serde(with = "fp_set_hex")]
    pub resolved: BTreeSet<u64>,
    /// When it was sent.
    pub timestamp: i64,
    /// When garbage collection may drop it.
    pub expires_at: i64,
}

impl Entry {
    /// Whether every alert in `firing` was already firing in this notification.
    pub fn is_firing_subset(&self, firing: &BTreeSet<u64>) -> bool {
        firing.is_subset(&self.firing)
    }

    /// Whether every alert in `resolved` was already resolved in this notification.
    pub fn is_resolved_subset(&self, resolved: &BTreeSet<u64>) -> bool {
        resolved.is_subset(&self.resolved)
    }
}

/// Alertmanager's `DedupStage.needsUpdate`: whether a group whose alerts are now `firing` and
/// `resolved` must be sent again, given the last notification `entry`.
///
/// - Never notified: only if something is firing.
/// - A firing alert that was not in the last notification: yes.
/// - Nothing firing: yes if the last notification had firing alerts (so the receiver hears they
///   all resolved, whatever `send_resolved` says), otherwise no.
/// - `send_resolved` and a newly resolved alert: yes.
/// - Otherwise only once the last notification is strictly older than `repeat_interval_ms`.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat_interval_ms: i64,
    now: i64,
) -> bool {
    let Some(entry) = entry else {
        return !firing.is_empty();
    };
    if !entry.is_firing_subset(firing) {
        return true;
    }
    if firing.is_empty() {
        return !entry.firing.is_empty();
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return true;
    }
    entry.timestamp < now.saturating_sub(repeat_interval_ms)
}

/// One entry as stored in the snapshot and in `set` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    key: EntryKey,
    #[serde(flatten)]
    entry: Entry,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    entries: Vec<Stored>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    Set(Stored),
    Del(EntryKey),
}

struct Inner {
    st: BTreeMap<EntryKey, Entry>,
    journal: Journal,
}

/// The notification log. Every method takes `&self`; `log` and `gc` are durable on return.
pub struct Nflog {
    path: PathBuf,
    retention_ms: i64,
    inner: Mutex<Inner>,
}

impl Nflog {
    /// Opens the log whose snapshot is `path` (its journal is `path` + `.journal`), replaying
    /// both. `retention_ms` is how long an entry is kept after it was written.
    pub fn open(path: &Path, retention_ms: i64) -> Result<Nflog> {
        let journal_path = persist::with_suffix(path, ".journal");
        let (journal, loaded) = Journal::open::<Snapshot, Record>(path, &journal_path)?;
        let mut st = BTreeMap::new();
        if let Some(snap) = loaded.snapshot {
            persist::check_version(snap.version, FORMAT_VERSION, path)?;
            for s in snap.entries {
                st.insert(s.key, s.entry);
            }
        }
        for r in loaded.records {
            match r {
                Record::Set(s) => {
                    st.insert(s.key, s.entry);
                }
                Record::Del(k) => {
                    st.remove(&k);
                }
            }
        }
        Ok(Nflog {
            path: path.to_path_buf(),
            retention_ms,
            inner: Mutex::new(Inner { st, journal }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map changes only after its journal record is written, so a poisoned lock still
        // guards a consistent state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that a notification for `key` was sent at `now` with these alerts. Like
    /// Alertmanager, an entry already stamped later than `now` is left alone.
    pub fn log(
        &self,
        key: &EntryKey,
        firing: BTreeSet<u64>,
        resolved: BTreeSet<u64>,
        now: i64,
    ) -> Result<()> {
        let mut g = self.lock();
        if g.st.get(key).is_some_and(|e| e.timestamp > now) {
            return Ok(());
        }
        let entry = Entry {
            firing,
            resolved,
            timestamp: now,
            expires_at: now.saturating_add(self.retention_ms),
        };
        let rec = Record::Set(Stored {
            key: key.clone(),
            entry: entry.clone(),
        });
        g.journal.append(&[rec])?;
        g.st.insert(key.clone(), entry);
        self.maybe_compact(&mut g)
    }

    /// The last notification for `key`, if one is logged.
    pub fn query(&self, key: &EntryKey) -> Option<Entry> {
        self.lock().st.get(key).cloned()
    }

    /// Drops entries whose expiry is not after `now`; returns how many.
    pub fn gc(&self, now: i64) -> Result<usize> {
        let mut g = self.lock();
        let dead: Vec<EntryKey> =
            g.st.iter()
                .filter(|(_, e)| e.expires_at <= now)
                .map(|(k, _)| k.clone())
                .collect();
        if dead.is_empty() {
            return Ok(0);
        }
        let recs: Vec<Record> = dead.iter().cloned().map(Record::Del).collect();
        g.journal.append(&recs)?;
        for k in &dead {
            g.st.remove(k);
        }
        self.maybe_compact(&mut g)?;
        Ok(dead.len())
    }

    /// How many entries are logged.
    pub fn len(&self) -> usize {
        self.lock().st.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Folds the journal into the snapshot now.
    pub fn compact(&self) -> Result<()> {
        let mut g = self.lock();
        Self::compact_locked(&mut g)
    }

    /// How many torn journal lines were cut off when the log was opened.
    pub fn torn_records(&self) -> u64 {
        self.lock().journal.torn()
    }

    /// The snapshot's path (the journal is next to it).
    pub fn path(&self) -> &Path {
        &self.path
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
            entries: g
                .st
                .iter()
                .map(|(k, e)| Stored {
                    key: k.clone(),
                    entry: e.clone(),
                })
                .collect(),
        };
        g.journal.compact(&snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> BTreeSet<u64> {
        v.iter().copied().collect()
    }

    fn entry(firing: &[u64], resolved: &[u64], ts: i64) -> Entry {
        Entry {
            firing: set(firing),
            resolved: set(resolved),
            timestamp: ts,
            expires_at: ts + DEFAULT_RETENTION_MS,
        }
    }

    fn key(g: &str) -> EntryKey {
        EntryKey {
            group_key: g.into(),
            receiver: "team".into(),
            integration: "webhook".into(),
            index: 0,
        }
    }

    const REPEAT: i64 = 4 * 3_600_000;

    #[test]
    fn no_entry_notifies_only_when_firing() {
        assert!(needs_update(None, &set(&[1]), &set(&[]), true, REPEAT, 0));
        assert!(!needs_update(None, &set(&[]), &set(&[1]), true, REPEAT, 0));
        assert!(!needs_update(None, &set(&[]), &set(&[]), false, REPEAT, 0));
    }

    #[test]
    fn new_firing_alert_notifies() {
        let e = entry(&[1], &[], 1000);
        assert!(needs_update(
            Some(&e),
            &set(&[1, 2]),
            &set(&[]),
            false,
            REPEAT,
            1001
        ));
        // Even after an all-resolved notification.
        let e = entry(&[], &[1], 1000);
        assert!(needs_update(Some(&e), &set(&[1]), &set(&[]), false, REPEAT, 1001));
    }

    #[test]
    fn all_resolved_notifies_iff_something_was_firing() {
        let e = entry(&[1, 2], &[], 1000);
        assert!(needs_update(
            Some(&e),
            &set(&[]),
            &set(&[1, 2]),
            false,
            REPEAT,
            1001
        ));
        let e = entry(&[], &[1, 2], 1000);
        assert!(!needs_update(
            Some(&e),
            &set(&[]),
            &set(&[1, 2, 3]),
            true,
            REPEAT,
            1001
        ));
        // Even past the repeat interval.
        assert!(!needs_update(
            Some(&e),
            &set(&[]),
            &set(&[1]),
            true,
            REPEAT,
            1000 + 2 * REPEAT
        ));
    }

    #[test]
    fn newly_resolved_notifies_only_with_send_resolved() {
        let e = entry(&[1, 2], &[], 1000);
        assert!(needs_update(Some(&e), &set(&[1]), &set(&[2]), true, REPEAT, 1001));
        assert!(!needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[2]),
            false,
            REPEAT,
            1001
        ));
        // Already reported as resolved: nothing new.
        let e = entry(&[1], &[2], 1000);
        assert!(!needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[2]),
            true,
            REPEAT,
            1001
        ));
    }

    #[test]
    fn a_firing_subset_waits_for_the_repeat_interval() {
        let e = entry(&[1, 2], &[], 1000);
        assert!(!needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[]),
            false,
            REPEAT,
            1000 + REPEAT
        ));
        assert!(needs_update(
            Some(&e),
            &set(&[1]),
            &set(&[]),
            false,
            REPEAT,
            1001 + REPEAT
        ));
        assert!(!needs_update(
            Some(&e),
            &set(&[1, 2]),
            &set(&[]),
            true,
            REPEAT,
            1000 + REPEAT
        ));
        assert!(needs_update(
            Some(&e),
            &set(&[1, 2]),
            &set(&[]),
            true,
            REPEAT,
            1001 + REPEAT
        ));
    }

    #[test]
    fn log_query_and_keep_newer_entries() {
        let dir = tempfile::tempdir().unwrap();
        let l = Nflog::open(&dir.path().join("nflog.json"), DEFAULT_RETENTION_MS).unwrap();
        assert!(l.query(&key("g")).is_none());
        l.log(&key("g"), set(&[1]), set(&[]), 2000).unwrap();
        // An older write does not replace a newer entry.
        l.log(&key("g"), set(&[9]), set(&[]), 1000).unwrap();
        let e = l.query(&key("g")).unwrap();
        assert_eq!(e.firing, set(&[1]));
        assert_eq!(e.expires_at, 2000 + DEFAULT_RETENTION_MS);
        let mut other = key("g");
        other.index = 1;
        assert!(l.query(&other).is_none());
    }

    #[test]
    fn gc_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nflog.json");
        let l = Nflog::open(&p, 100).unwrap();
        l.log(&key("a"), set(&[1]), set(&[]), 1000).unwrap();
        l.log(&key("b"), set(&[2]), set(&[3]), 1050).unwrap();
        assert_eq!(l.gc(1099).unwrap(), 0);
        assert_eq!(l.gc(1100).unwrap(), 1);
        drop(l);
        let l = Nflog::open(&p, 100).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l.query(&key("b")).unwrap().resolved, set(&[3]));
        l.compact().unwrap();
        drop(l);
        let l = Nflog::open(&p, 100).unwrap();
        assert_eq!(l.query(&key("b")).unwrap().timestamp, 1050);
    }
}
