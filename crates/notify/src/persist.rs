//! Durable files for the alert manager's state: whole-file replacement through `*.tmp`, fsync and
//! rename, and an append-only journal of JSON lines next to a snapshot. Knows nothing of what the
//! records mean; the formats are in `docs/format/alertmanager-state.md`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A journal is folded into its snapshot once it is larger than this and than twice the last
/// snapshot, so replay stays short and compaction costs amortise to a constant per record.
pub(crate) const DEFAULT_COMPACT_BYTES: u64 = 4 << 20;

pub(crate) fn io_err(op: &'static str, path: &Path, e: &io::Error) -> Error {
    Error::Io {
        op,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// `path` with `suffix` appended to its file name (`a/b.json` + `.tmp` = `a/b.json.tmp`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsyncs a directory so that a rename, creation or removal in it survives a power failure.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| io_err("open directory", dir, &e))?;
    d.sync_all().map_err(|e| io_err("fsync directory", dir, &e))
}

/// Creates `dir` (and its parents) if missing, making the new entry durable.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, &e))?;
    sync_dir(parent_dir(dir))
}

/// The whole file, or `None` when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path, &e)),
    }
}

/// Replaces `path` with `bytes` so that after a crash the file holds either the old or the new
/// content in full: write `path.tmp`, fsync it, rename it over `path`, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let mut f = File::create(&tmp).map_err(|e| io_err("create", &tmp, &e))?;
    f.write_all(bytes).map_err(|e| io_err("write", &tmp, &e))?;
    f.sync_all().map_err(|e| io_err("fsync", &tmp, &e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io_err("rename", &tmp, &e))?;
    sync_dir(parent_dir(path))
}

/// Removes `path` durably; a file already gone is not an error.
pub(crate) fn remove_durable(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_dir(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", path, &e)),
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| corrupt(path, format!("encode: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(path, e.to_string()))
}

/// Refuses a snapshot or file written in a format version this build does not know.
pub(crate) fn check_version(version: u32, known: u32, path: &Path) -> Result<()> {
    if version == 0 || version > known {
        return Err(corrupt(
            path,
            format!("unsupported format version {version} (this build reads 1 to {known})"),
        ));
    }
    Ok(())
}

/// What `Journal::open` found on disk.
pub(crate) struct Loaded<S, R> {
    pub snapshot: Option<S>,
    pub records: Vec<R>,
}

/// An append-only file of JSON lines, one record per line, that sits next to a snapshot of the
/// state it modifies. Every record sets or deletes one key outright, so replaying the whole
/// journal over a snapshot that already contains its effect gives the same state: compaction can
/// replace the snapshot first and empty the journal second without a window that loses data.
pub(crate) struct Journal {
    snapshot_path: PathBuf,
    journal_path: PathBuf,
    file: File,
    len: u64,
    snapshot_len: u64,
    compact_bytes: u64,
    torn: u64,
}

impl Journal {
    /// Loads the snapshot (if any) and every whole record of the journal. A last line that is
    /// incomplete or does not decode is a torn append from a crash: it is cut off and counted.
    /// A bad line followed by good ones is corruption and fails the open.
    pub(crate) fn open<S: DeserializeOwned, R: DeserializeOwned>(
        snapshot_path: &Path,
        journal_path: &Path,
    ) -> Result<(Journal, Loaded<S, R>)> {
        let (snapshot, snapshot_len) = match read_if_exists(snapshot_path)? {
            Some(b) => (Some(from_json::<S>(&b, snapshot_path)?), b.len() as u64),
            None => (None, 0),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(journal_path)
            .map_err(|e| io_err("open", journal_path, &e))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| io_err("read", journal_path, &e))?;

        let mut records = Vec::new();
        let mut good_end = 0usize;
        let mut torn = 0;
        let mut pos = 0usize;
        let mut line_no = 0usize;
        while pos < data.len() {
            line_no += 1;
            let (line, next, complete) = match data[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => (&data[pos..pos + i], pos + i + 1, true),
                None => (&data[pos..], data.len(), false),
            };
            let is_last = next >= data.len();
            let parsed = if complete {
                serde_json::from_slice::<R>(line).ok()
            } else {
                None
            };
            match parsed {
                Some(r) => {
                    records.push(r);
                    good_end = next;
                }
                None if is_last => {
                    torn = 1;
                    break;
                }
                None => {
                    let why = match serde_json::from_slice::<R>(line) {
                        Err(e) => e.to_string(),
                        Ok(_) => "unreadable record".to_string(),
                    };
                    return Err(corrupt(journal_path, format!("line {line_no}: {why}")));
                }
            }
            pos = next;
        }
        if torn > 0 {
            file.set_len(good_end as u64)
                .map_err(|e| io_err("truncate", journal_path, &e))?;
            file.sync_all().map_err(|e| io_err("fsync", journal_path, &e))?;
        }
        let journal = Journal {
            snapshot_path: snapshot_path.to_path_buf(),
            journal_path: journal_path.to_path_buf(),
            file,
            len: good_end as u64,
            snapshot_len,
            compact_bytes: DEFAULT_COMPACT_BYTES,
            torn,
        };
        if snapshot.is_none() && records.is_empty() && good_end == 0 && torn == 0 {
            // A new journal: make its directory entry durable before anything is acknowledged.
            sync_dir(parent_dir(journal_path))?;
        }
        Ok((journal, Loaded { snapshot, records }))
    }

    /// Appends records as one write and `fdatasync`s: they are durable when this returns.
    pub(crate) fn append<R: Serialize>(&mut self, records: &[R]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)
                .map_err(|e| corrupt(&self.journal_path, format!("encode: {e}")))?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .map_err(|e| io_err("append", &self.journal_path, &e))?;
        self.file
            .sync_data()
            .map_err(|e| io_err("fsync", &self.journal_path, &e))?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Whether the journal has grown enough to be folded into the snapshot.
    pub(crate) fn wants_compaction(&self) -> bool {
        self.len > self.compact_bytes.max(2 * self.snapshot_len)
    }

    /// Writes `snapshot` in place of the old one, then empties the journal.
    pub(crate) fn compact<S: Serialize>(&mut self, snapshot: &S) -> Result<()> {
        let bytes = to_json(snapshot, &self.snapshot_path)?;
        write_atomic(&self.snapshot_path, &bytes)?;
        self.snapshot_len = bytes.len() as u64;
        self.file
            .set_len(0)
            .map_err(|e| io_err("truncate", &self.journal_path, &e))?;
        self.file
            .sync_all()
            .map_err(|e| io_err("fsync", &self.journal_path, &e))?;
        self.len = 0;
        Ok(())
    }

    pub(crate) fn set_compact_bytes(&mut self, bytes: u64) {
        self.compact_bytes = bytes;
    }

    /// Bytes of records in the journal.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// How many torn lines were cut off at open (0 or 1).
    pub(crate) fn torn(&self) -> u64 {
        self.torn
    }
}

/// Fingerprints as 16 hex digits in JSON, as Alertmanager shows them, so tools that read numbers
/// as doubles (jq, JavaScript) do not round them.
pub(crate) mod fp_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(fp: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{fp:016x}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub(crate) fn parse(s: &str) -> Result<u64, String> {
        if s.is_empty() || s.len() > 16 {
            return Err(format!("bad fingerprint {s:?}"));
        }
        u64::from_str_radix(s, 16).map_err(|_| format!("bad fingerprint {s:?}"))
    }
}

/// A set of fingerprints as a JSON array of 16-hex-digit strings.
pub(crate) mod fp_set_hex {
    use std::collections::BTreeSet;

    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(set: &BTreeSet<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(set.len()))?;
        for fp in set {
            seq.serialize_element(&format!("{fp:016x}"))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<u64>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| super::fp_hex::parse(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        k: u32,
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!with_suffix(&p, ".tmp").exists());
    }

    #[test]
    fn journal_replays_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("s.json");
        let jp = dir.path().join("s.journal");
        {
            let (mut j, l) = Journal::open::<Vec<Rec>, Rec>(&snap, &jp).unwrap();
            assert!(l.snapshot.is_none() && l.records.is_empty());
            j.append(&[Rec { k: 1 }, Rec { k: 2 }]).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&jp).unwrap();
        f.write_all(b"{\"k\":3").unwrap();
        drop(f);
        let (mut j, l) = Journal::open::<Vec<Rec>, Rec>(&snap, &jp).unwrap();
        assert_eq!(l.records, vec![Rec { k: 1 }, Rec { k: 2 }]);
        assert_eq!(j.torn(), 1);
        j.append(&[Rec { k: 4 }]).unwrap();
        let (_, l) = Journal::open::<Vec<Rec>, Rec>(&snap, &jp).unwrap();
        assert_eq!(l.records.len(), 3);
        assert_eq!(l.records[2], Rec { k: 4 });
    }

    #[test]
    fn journal_refuses_a_bad_line_in_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("s.json");
        let jp = dir.path().join("s.journal");
        fs::write(&jp, b"{\"k\":1}\ngarbage\n{\"k\":2}\n").unwrap();
        let err = Journal::open::<Vec<Rec>, Rec>(&snap, &jp)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("s.journal") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn compaction_empties_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("s.json");
        let jp = dir.path().join("s.journal");
        let (mut j, _) = Journal::open::<Vec<Rec>, Rec>(&snap, &jp).unwrap();
        j.set_compact_bytes(10);
        j.append(&[Rec { k: 1 }, Rec { k: 2 }]).unwrap();
        assert!(j.wants_compaction());
        j.compact(&vec![Rec { k: 1 }, Rec { k: 2 }]).unwrap();
        assert_eq!(j.len(), 0);
        let (_, l) = Journal::open::<Vec<Rec>, Rec>(&snap, &jp).unwrap();
        assert_eq!(l.snapshot.unwrap().len(), 2);
        assert!(l.records.is_empty());
    }

    #[test]
    fn fingerprints_round_trip_as_hex() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct W {
            #[serde(with = "fp_hex")]
            fp: u64,
        }
        let w = W { fp: u64::MAX };
        let s = serde_json::to_string(&w).unwrap();
        assert_eq!(s, r#"{"fp":"ffffffffffffffff"}"#);
        assert_eq!(serde_json::from_str::<W>(&s).unwrap(), w);
        assert!(serde_json::from_str::<W>(r#"{"fp":"xyz"}"#).is_err());
    }
}
