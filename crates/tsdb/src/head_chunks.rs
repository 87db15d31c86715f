//! Sealed head chunks out of RAM: appended to files under `chunks_head/` and read back through a map of
//! each file taken when it is created, so the head's memory follows the number of active series, not the
//! length of their history.
//!
//! These files are a cache of memory, not a source of truth: checkpoints and the WAL hold the data, so
//! the files are never fsynced, are wiped when the database opens, and a file is deleted as soon as no
//! chunk refers to it any more (its last chunk was persisted into a block and dropped from the head).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use memmap2::{Mmap, MmapOptions};
use model::Sample;
use parking_lot::Mutex;
use tracing::warn;

use crate::chunk;
use crate::error::{Error, Result};

/// Bytes per file before the next one starts.
const FILE_SIZE: u64 = 64 << 20;

pub struct ChunkFile {
    path: PathBuf,
    file: File,
    /// The whole file as it will be when full; empty only if mapping failed (reads then use pread).
    map: OnceLock<Mmap>,
}

impl Drop for ChunkFile {
    fn drop(&mut self) {
        // The last chunk stored here is gone.
        if let Err(e) = fs::remove_file(&self.path) {
            warn!(file = %self.path.display(), error = %e, "cannot remove head chunk file");
        }
    }
}

/// Where a sealed chunk's bytes are.
#[derive(Clone)]
pub enum ChunkBytes {
    Mem(Box<[u8]>),
    Disk {
        file: Arc<ChunkFile>,
        offset: u64,
        len: u32,
    },
}

impl std::fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkBytes::Mem(b) => write!(f, "Mem({} bytes)", b.len()),
            ChunkBytes::Disk { file, offset, len } => {
                write!(f, "Disk({}@{offset}+{len})", file.path.display())
            }
        }
    }
}

impl ChunkBytes {
    /// Calls `f` with the chunk's bytes.
    pub fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        match self {
            ChunkBytes::Mem(b) => Ok(f(b)),
            ChunkBytes::Disk { file, offset, len } => {
                let (start, end) = (*offset as usize, *offset as usize + *len as usize);
                // A chunk larger than the map (only possible with tiny test files) is read with pread.
                if let Some(bytes) = file.map.get().and_then(|m| m.get(start..end)) {
                    return Ok(f(bytes));
                }
                let mut buf = vec![0u8; *len as usize];
                file.file
                    .read_exact_at(&mut buf, *offset)
                    .map_err(Error::io("read head chunk", &file.path))?;
                Ok(f(&buf))
            }
        }
    }

    /// Appends the chunk's samples to `out`.
    pub fn decode(&self, out: &mut Vec<Sample>) -> Result<()> {
        self.with(|b| chunk::decode(b, out))?
    }

    /// Bytes held in memory by this reference (for the chunk data itself).
    pub fn in_memory(&self) -> usize {
        match self {
            ChunkBytes::Mem(b) => b.len(),
            ChunkBytes::Disk { .. } => 0,
        }
    }
}

struct Active {
    file: Arc<ChunkFile>,
    size: u64,
}

/// Writes sealed chunks to files (or keeps them in memory when it has no directory).
pub struct ChunkStore {
    dir: Option<PathBuf>,
    file_size: u64,
    active: Mutex<Option<Active>>,
    next: AtomicU32,
    failed: AtomicBool,
}

impl ChunkStore {
    /// Keeps every chunk in memory.
    pub fn memory() -> Self {
        Self {
            dir: None,
            file_size: FILE_SIZE,
            active: Mutex::new(None),
            next: AtomicU32::new(1),
            failed: AtomicBool::new(false),
        }
    }

    /// Stores chunks in `dir`, removing whatever an earlier run left there.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with_file_size(dir, FILE_SIZE)
    }

    fn open_with_file_size(dir: &Path, file_size: u64) -> Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(Error::io("clear head chunk directory", dir))?;
        }
        fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        Ok(Self {
            dir: Some(dir.to_owned()),
            file_size,
            active: Mutex::new(None),
            next: AtomicU32::new(1),
            failed: AtomicBool::new(false),
        })
    }

    /// Stores a sealed chunk. Falls back to memory (with one warning) if the disk refuses.
    pub fn put(&self, data: Vec<u8>) -> ChunkBytes {
        let Some(dir) = &self.dir else {
            return ChunkBytes::Mem(data.into());
        };
        if self.failed.load(Ordering::Relaxed) {
            return ChunkBytes::Mem(data.into());
        }
        match self.write(dir, &data) {
            Ok(b) => b,
            Err(e) => {
                if !self.failed.swap(true, Ordering::Relaxed) {
                    warn!(error = %e, "cannot write head chunks to disk; keeping them in memory");
                }
                ChunkBytes::Mem(data.into())
            }
        }
    }

    fn write(&self, dir: &Path, data: &[u8]) -> Result<ChunkBytes> {
        let mut active = self.active.lock();
        if active
            .as_ref()
            .is_none_or(|a| a.size + data.len() as u64 > self.file_size)
        {
            active.take();
            let path = dir.join(format!("{:06}", self.next.fetch_add(1, Ordering::Relaxed)));
            let file = OpenOptions::new()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(Error::io("create head chunk file", &path))?;
            // The file is mapped at once for its whole future size, so reads never need a syscall,
            // even while it is still being written (writes and the map share the page cache).
            // SAFETY: only bytes already written (below `size`) are ever read through the map, so no
            // page past the end of the file is touched; the file only grows while mapped, and it is
            // deleted only when the last chunk referring to it (and with it this map) is dropped.
            let map = OnceLock::new();
            match unsafe { MmapOptions::new().len(self.file_size as usize).map(&file) } {
                Ok(m) => {
                    let _ = map.set(m);
                }
                Err(e) => {
                    warn!(file = %path.display(), error = %e, "cannot mmap head chunk file; reading it with pread")
                }
            }
            *active = Some(Active {
                file: Arc::new(ChunkFile { path, file, map }),
                size: 0,
            });
        }
        let a = active
            .as_mut()
            .ok_or_else(|| Error::Invalid("no active head chunk file".into()))?;
        a.file
            .file
            .write_all_at(data, a.size)
            .map_err(Error::io("write head chunk", &a.file.path))?;
        let r = ChunkBytes::Disk {
            file: a.file.clone(),
            offset: a.size,
            len: data.len() as u32,
        };
        a.size += data.len() as u64;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_through_files_and_files_go_with_their_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open_with_file_size(&dir.path().join("chunks_head"), 4096).unwrap();
        let samples: Vec<Sample> = (0..200).map(|i| Sample::new(i * 1000, i as f64 * 0.5)).collect();
        let mut refs = Vec::new();
        // Enough to fill more than one file.
        let data = chunk::encode(&samples);
        let n = (4096 / data.len()) + 10;
        for _ in 0..n {
            refs.push(store.put(data.clone()));
        }
        let files = || fs::read_dir(dir.path().join("chunks_head")).unwrap().count();
        assert_eq!(files(), 2);
        for r in [&refs[0], &refs[n - 1]] {
            assert_eq!(r.in_memory(), 0);
            let mut out = Vec::new();
            r.decode(&mut out).unwrap();
            assert_eq!(out, samples);
        }
        // Dropping every chunk of the full (mmapped) file deletes it.
        refs.drain(..n - 10);
        assert_eq!(files(), 1);
    }
}
