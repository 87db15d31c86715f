//! The outbox: notifications that were decided (the dispatcher chose to send them) but not yet
//! delivered, so that a crash between the decision and the delivery does not lose them. One file
//! per pending notification (`<id, 20 digits>.json`), written through `*.tmp`, fsync and rename
//! before `add` returns and unlinked when delivered; ids are never reused, thanks to a high-water
//! mark (`next_id`) reserved in blocks. Knows nothing of how notifications are sent.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matchers::LabelSet;
use crate::persist::{self, fp_set_hex};
use crate::types::Alert;

const FORMAT_VERSION: u32 = 1;
const NEXT_ID_FILE: &str = "next_id";
/// Ids are reserved this many at a time, so the high-water mark costs one extra fsync per block.
const ID_BLOCK: u64 = 1024;

/// One notification waiting to be delivered through one integration of one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Assigned by [`Outbox::add`]; whatever the caller put here is replaced.
    pub id: u64,
    pub receiver: String,
    /// The integration's name (`webhook`, `email`, …) and its position among the receiver's
    /// configs of that kind.
    pub integration: String,
    pub index: u32,
    pub group_key: String,
    pub group_labels: LabelSet,
    /// The alerts as they are to be sent.
    pub alerts: Vec<Alert>,
    /// Fingerprints to write to the notification log once delivered.
    #[serde(with = "fp_set_hex")]
    pub firing: BTreeSet<u64>,
    #[serde(with = "fp_set_hex")]
    pub resolved: BTreeSet<u64>,
    /// When the notification was decided (Unix ms).
    pub created_at: i64,
    /// Delivery attempts made so far.
    pub attempts: u32,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    pending: Pending,
}

struct Inner {
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    /// Ids below this are recorded in `next_id` as used.
    reserved: u64,
}

/// The outbox. Every method takes `&self`; changes are on disk when they return.
pub struct Outbox {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

fn file_name(id: u64) -> String {
    format!("{id:020}.json")
}

impl Outbox {
    /// Opens the outbox in `dir` (created if missing), loading every pending notification.
    /// Leftover `*.tmp` files from a crash are removed; a file that does not decode is an error
    /// naming it.
    pub fn open(dir: &Path) -> Result<Outbox> {
        persist::ensure_dir(dir)?;
        let mut pending = BTreeMap::new();
        let mut reserved = 0;
        let entries = fs::read_dir(dir).map_err(|e| persist::io_err("list", dir, &e))?;
        for ent in entries {
            let ent = ent.map_err(|e| persist::io_err("list", dir, &e))?;
            let path = ent.path();
            let Some(name) = ent.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.ends_with(".tmp") {
                persist::remove_durable(&path)?;
            } else if name == NEXT_ID_FILE {
                let bytes = fs::read(&path).map_err(|e| persist::io_err("read", &path, &e))?;
                reserved = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or_else(|| persist::corrupt(&path, "not a decimal id"))?;
            } else if let Some(stem) = name.strip_suffix(".json")
                && let Ok(id) = stem.parse::<u64>()
            {
                let bytes = fs::read(&path).map_err(|e| persist::io_err("read", &path, &e))?;
                let file: FileFormat = persist::from_json(&bytes, &path)?;
                persist::check_version(file.version, FORMAT_VERSION, &path)?;
                if file.pending.id != id {
                    return Err(persist::corrupt(
                        &path,
                        format!("holds id {} but is named for {id}", file.pending.id),
                    ));
                }
                pending.insert(id, file.pending);
            }
        }
        let after_last = pending.keys().next_back().map_or(1, |id| id + 1);
        let next_id = after_last.max(reserved).max(1);
        Ok(Outbox {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                pending,
                next_id,
                reserved: next_id,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Memory changes only after the file operation succeeded.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, p: &Pending) -> Result<()> {
        let path = self.dir.join(file_name(p.id));
        let file = FileFormat {
            version: FORMAT_VERSION,
            pending: p.clone(),
        };
        let bytes = persist::to_json(&file, &path)?;
        persist::write_atomic(&path, &bytes)
    }

    /// Stores a notification under a new id and returns the id; durable when it returns.
    pub fn add(&self, mut p: Pending) -> Result<u64> {
        let mut g = self.lock();
        if g.next_id >= g.reserved {
            let reserved = g.next_id + ID_BLOCK;
            let path = self.dir.join(NEXT_ID_FILE);
            persist::write_atomic(&path, format!("{reserved}\n").as_bytes())?;
            g.reserved = reserved;
        }
        let id = g.next_id;
        // Consumed even if the write below fails: an id is never handed out twice.
        g.next_id += 1;
        p.id = id;
        self.write(&p)?;
        g.pending.insert(id, p);
        Ok(id)
    }

    /// Forgets a delivered (or abandoned) notification. Removing an id that is not pending is
    /// not an error, so a retried removal is harmless.
    pub fn remove(&self, id: u64) -> Result<()> {
        let mut g = self.lock();
        persist::remove_durable(&self.dir.join(file_name(id)))?;
        g.pending.remove(&id);
        Ok(())
    }

    /// Counts one more delivery attempt and returns the new count.
    pub fn record_attempt(&self, id: u64) -> Result<u32> {
        let mut g = self.lock();
        let Some(cur) = g.pending.get(&id) else {
            return Err(Error::PendingNotFound(id));
        };
        let mut p = cur.clone();
        p.attempts = p.attempts.saturating_add(1);
        self.write(&p)?;
        let n = p.attempts;
        g.pending.insert(id, p);
        Ok(n)
    }

    /// One pending notification.
    pub fn get(&self, id: u64) -> Option<Pending> {
        self.lock().pending.get(&id).cloned()
    }

    /// Every pending notification, oldest id first.
    pub fn list(&self) -> Vec<Pending> {
        self.lock().pending.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The outbox's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn pending(group: &str) -> Pending {
        Pending {
            id: 0,
            receiver: "team".into(),
            integration: "webhook".into(),
            index: 0,
            group_key: group.into(),
            group_labels: LabelSet::new(),
            alerts: Vec::new(),
            firing: [1u64, u64::MAX].into_iter().collect(),
            resolved: BTreeSet::new(),
            created_at: 1000,
            attempts: 0,
        }
    }

    #[test]
    fn add_list_attempt_remove() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let a = o.add(pending("a")).unwrap();
        let b = o.add(pending("b")).unwrap();
        assert!(b > a);
        assert_eq!(o.record_attempt(a).unwrap(), 1);
        assert_eq!(o.record_attempt(a).unwrap(), 2);
        assert_eq!(o.record_attempt(999).unwrap_err(), Error::PendingNotFound(999));
        let ids: Vec<u64> = o.list().iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![a, b]);
        o.remove(a).unwrap();
        o.remove(a).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o.get(b).unwrap().group_key, "b");
    }

    #[test]
    fn ids_are_not_reused_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let a = o.add(pending("a")).unwrap();
        o.remove(a).unwrap();
        drop(o);
        let o = Outbox::open(dir.path()).unwrap();
        assert!(o.is_empty());
        let b = o.add(pending("b")).unwrap();
        assert!(b > a, "{b} > {a}");
    }

    #[test]
    fn bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let a = o.add(pending("a")).unwrap();
        drop(o);
        // A leftover temporary file is cleaned up.
        fs::write(dir.path().join("00000000000000000009.json.tmp"), b"{").unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(o.len(), 1);
        drop(o);
        assert!(!dir.path().join("00000000000000000009.json.tmp").exists());
        // A file named for another id is refused.
        fs::rename(dir.path().join(file_name(a)), dir.path().join(file_name(a + 5))).unwrap();
        let e = Outbox::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains(&file_name(a + 5)), "{e}");
        fs::write(dir.path().join(file_name(a + 5)), b"{\"version\":1").unwrap();
        let e = Outbox::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("corrupt state file"), "{e}");
    }
}
