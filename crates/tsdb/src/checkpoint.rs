//! Head checkpoints (docs/format/checkpoint.md): a snapshot of every series in the head — labels, sealed
//! chunks as stored, the open chunk's samples and out-of-order samples — written next to the WAL segment
//! number it covers. Restart loads the newest checkpoint and replays only the WAL segments from that
//! number on, so restart time follows the number of series, not the length of the WAL.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use model::Sample;

use crate::bits::{get_uvarint, get_varint, put_uvarint, put_varint};
use crate::chunk;
use crate::error::{Error, Result};
use crate::head::{Head, SealedChunk};
use crate::records::{get_bytes, get_f64, get_labels, get_str, put_str};
use crate::wal::{self, ReadStats};

/// Version 1: series records carry their labels as strings.
const MAGIC_V1: &[u8; 8] = b"PHXCKPT1";
/// Version 2: a symbol table first; series records refer to it.
const MAGIC_V2: &[u8; 8] = b"PHXCKPT2";
/// Version 3: series entries in batches, coded against their predecessor. Written since; all load.
const MAGIC_V3: &[u8; 8] = b"PHXCKPT3";
const REC_SERIES: u8 = 1;
const REC_END: u8 = 2;
const REC_SYMBOLS: u8 = 3;
const REC_BATCH: u8 = 4;

pub fn path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("checkpoint.{segment:08}"))
}

/// Checkpoint segment numbers present in `dir`, ascending.
pub fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let e = e.map_err(Error::io("read directory", dir))?;
        let name = e.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix("checkpoint."))
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Removes `checkpoint.N.tmp` files left by a checkpoint interrupted by a crash.
pub fn remove_temporary(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).map_err(Error::io("read directory", dir))? {
        let path = e.map_err(Error::io("read directory", dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("checkpoint.") && name.ends_with(".tmp") {
            fs::remove_file(&path).map_err(Error::io("remove", &path))?;
        }
    }
    Ok(())
}

/// Series entries are gathered into batch records of about this many bytes: one frame (and checksum)
/// per batch instead of per series, and label sets coded against the previous series of the batch.
const BATCH_BYTES: usize = 64 << 10;

/// Writes the head to `checkpoint.<segment>` atomically (temp file, fsync, rename, fsync dir), in
/// version 3.
pub fn write(head: &Head, dir: &Path, segment: u64) -> Result<u64> {
    let final_path = path(dir, segment);
    let tmp = dir.join(format!("checkpoint.{segment:08}.tmp"));
    let f = File::create(&tmp).map_err(Error::io("create checkpoint", &tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, f);
    let mut put = |framed: &[u8]| out.write_all(framed).map_err(Error::io("write checkpoint", &tmp));
    put(MAGIC_V3)?;
    let mut rec = Vec::new();
    let mut framed = Vec::new();
    // The head's symbol table as it is now; every series label refers to it by index. Symbols are only
    // ever appended, so every series read below finds its symbols here.
    let symbols = head.symbols.snapshot();
    put_uvarint(&mut rec, symbols.len() as u64);
    for sym in &symbols {
        put_str(&mut rec, sym);
    }
    wal::frame(&mut framed, REC_SYMBOLS, &rec);
    put(&framed)?;
    let mut batch = BatchWriter::default();
    let mut n = 0u64;
    let mut samples = Vec::new();
    for s in head.all_series() {
        let g = s.data.lock();
        // All in-order data (sealed chunks and the open chunk) is stored re-encoded as few, large sealed
        // chunks: one per 65,535 samples, in the smallest encoding. Such a chunk may straddle a
        // block-range boundary; cutting a block splits it (`MemSeries::truncate_before`). Loading starts
        // each series with an empty open chunk.
        samples.clear();
        for c in &g.sealed {
            c.data.decode(&mut samples)?;
        }
        if let Some(o) = g.open.as_ref() {
            chunk::decode(o.bytes(), &mut samples)?;
        }
        let max_t = g.max_t;
        let ooo = g.ooo.clone();
        drop(g);
        let chunks: Vec<(i64, Vec<u8>)> = samples
            .chunks(chunk::MAX_SAMPLES)
            .map(|part| (part[part.len() - 1].t, chunk::encode(part)))
            .collect();
        batch.series(s.id, &s.labels, max_t, &chunks, &ooo);
        n += 1;
        if batch.buf.len() >= BATCH_BYTES {
            framed.clear();
            batch.finish(&mut framed);
            put(&framed)?;
        }
    }
    if batch.count > 0 {
        framed.clear();
        batch.finish(&mut framed);
        put(&framed)?;
    }
    rec.clear();
    put_uvarint(&mut rec, n);
    framed.clear();
    wal::frame(&mut framed, REC_END, &rec);
    put(&framed)?;
    let f = out.into_inner().map_err(|e| Error::Io {
        op: "flush checkpoint",
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    f.sync_all().map_err(Error::io("fsync checkpoint", &tmp))?;
    drop(f);
    fs::rename(&tmp, &final_path).map_err(Error::io("rename checkpoint", &final_path))?;
    wal::sync_dir(dir)?;
    Ok(n)
}

/// Builds one version-3 batch record: series entries coded against the previous entry of the batch.
#[derive(Default)]
struct BatchWriter {
    buf: Vec<u8>,
    count: u64,
    prev_id: u32,
    prev_max_t: i64,
    prev_labels: Vec<u32>,
}

impl BatchWriter {
    /// `chunks`: (last timestamp, encoded chunk), in time order.
    fn series(&mut self, id: u32, labels: &[u32], max_t: i64, chunks: &[(i64, Vec<u8>)], ooo: &[Sample]) {
        let b = &mut self.buf;
        put_uvarint(b, u64::from(id.wrapping_sub(self.prev_id)));
        // Labels: a bitmap over the previous entry's pairs saying which are kept, then the others.
        let prev = self.prev_labels.chunks_exact(2);
        let mut mask = vec![0u8; prev.len().div_ceil(8)];
        for (i, pair) in prev.enumerate() {
            if labels.chunks_exact(2).any(|p| p == pair) {
                mask[i / 8] |= 1 << (i % 8);
            }
        }
        b.extend_from_slice(&mask);
        let added: Vec<&[u32]> = labels
            .chunks_exact(2)
            .filter(|p| !self.prev_labels.chunks_exact(2).any(|q| q == *p))
            .collect();
        put_uvarint(b, added.len() as u64);
        for p in added {
            put_uvarint(b, u64::from(p[0]));
            put_uvarint(b, u64::from(p[1]));
        }
        // The newest timestamp, against the previous entry's (a host's series share it). Each chunk's first
        // timestamp is in the chunk itself; its last is stored as the span after the first, except for
        // the last chunk when its last timestamp is the series' newest, which is the usual case (flag 0).
        put_varint(b, max_t.wrapping_sub(self.prev_max_t));
        let implied = chunks.last().is_some_and(|(t, _)| *t == max_t);
        put_uvarint(b, chunks.len() as u64 * 2 + u64::from(!implied));
        for (i, (chunk_max_t, data)) in chunks.iter().enumerate() {
            if i + 1 < chunks.len() || !implied {
                let min_t = chunk::first_time(data).unwrap_or(*chunk_max_t);
                put_uvarint(b, chunk_max_t.wrapping_sub(min_t) as u64);
            }
            put_uvarint(b, data.len() as u64);
            b.extend_from_slice(data);
        }
        put_uvarint(b, ooo.len() as u64);
        for x in ooo {
            put_varint(b, x.t);
            b.extend_from_slice(&x.v.to_bits().to_le_bytes());
        }
        self.count += 1;
        self.prev_id = id;
        self.prev_max_t = max_t;
        self.prev_labels.clear();
        self.prev_labels.extend_from_slice(labels);
    }

    /// Frames the batch (count first) into `out` and starts a new one.
    fn finish(&mut self, out: &mut Vec<u8>) {
        let mut payload = Vec::with_capacity(self.buf.len() + 10);
        put_uvarint(&mut payload, self.count);
        payload.extend_from_slice(&self.buf);
        wal::frame(out, REC_BATCH, &payload);
        *self = Self {
            buf: std::mem::take(&mut self.buf),
            ..Self::default()
        };
        self.buf.clear();
    }
}

/// Loads a checkpoint into an empty head. Returns the number of series. A checkpoint without its end
/// record is refused (it can only come from a copy or a disk fault: checkpoints are renamed into place
/// complete).
pub fn load(head: &Head, path: &Path, mut progress: impl FnMut(u64)) -> Result<u64> {
    let data = fs::read(path).map_err(Error::io("read checkpoint", path))?;
    let version = match data.get(..8) {
        Some(m) if m == MAGIC_V1.as_slice() => 1,
        Some(m) if m == MAGIC_V2.as_slice() => 2,
        Some(m) if m == MAGIC_V3.as_slice() => 3,
        _ => 0,
    };
    if version == 0 {
        return Err(Error::Corrupt(format!(
            "{}: not a checkpoint (bad magic)",
            path.display()
        )));
    }
    // Records share the WAL framing.
    let mut stats = ReadStats::default();
    let mut series = 0u64;
    let mut ended = None;
    let mut symbols: Option<Vec<String>> = None;
    let bad = wal::scan(&data[8..], &mut stats, |kind, p| {
        match kind {
            REC_SYMBOLS if version >= 2 => {
                let mut pos = 0;
                let n = get_uvarint(p, &mut pos)? as usize;
                let mut list = Vec::with_capacity(n.min(p.len()));
                for _ in 0..n {
                    list.push(get_str(p, &mut pos)?.to_owned());
                }
                symbols = Some(list);
            }
            REC_BATCH if version == 3 => {
                let table = symbols
                    .as_deref()
                    .ok_or_else(|| Error::Corrupt("series before the symbol table".into()))?;
                let before = series;
                series += load_batch(head, p, table)?;
                if before / 100_000 != series / 100_000 {
                    progress(series);
                }
            }
            REC_SERIES if version < 3 => {
                let table = if version == 2 {
                    Some(
                        symbols
                            .as_deref()
                            .ok_or_else(|| Error::Corrupt("series before the symbol table".into()))?,
                    )
                } else {
                    None
                };
                load_series(head, p, table)?;
                series += 1;
                if series.is_multiple_of(100_000) {
                    progress(series);
                }
            }
            REC_END => {
                let mut pos = 0;
                ended = Some(get_uvarint(p, &mut pos)?);
            }
            k => return Err(Error::Corrupt(format!("unknown checkpoint record type {k}"))),
        }
        Ok(())
    })?;
    match ended {
        Some(n) if n == series && bad.is_none() => Ok(series),
        _ => Err(Error::Corrupt(format!(
            "{}: incomplete checkpoint ({series} series read, problem: {:?})",
            path.display(),
            bad
        ))),
    }
}

/// Loads one version-3 batch record; returns the number of series in it.
fn load_batch(head: &Head, p: &[u8], table: &[String]) -> Result<u64> {
    let mut pos = 0;
    let count = get_uvarint(p, &mut pos)?;
    let sym = |i: u64| -> Result<&str> {
        table
            .get(i as usize)
            .map(String::as_str)
            .ok_or_else(|| Error::Corrupt(format!("symbol {i} out of range")))
    };
    let (mut id, mut max_t, mut prev) = (0u32, 0i64, Vec::<(u64, u64)>::new());
    for _ in 0..count {
        let delta = get_uvarint(p, &mut pos)?;
        id = u32::try_from(delta)
            .ok()
            .and_then(|d| id.checked_add(d))
            .ok_or_else(|| Error::Corrupt(format!("series id {id} + {delta} out of range")))?;
        let mask = p
            .get(pos..pos + prev.len().div_ceil(8))
            .ok_or_else(|| Error::Corrupt("label bitmap runs past the end".into()))?;
        pos += mask.len();
        let mut pairs: Vec<(u64, u64)> = prev
            .iter()
            .enumerate()
            .filter(|(i, _)| mask[i / 8] & (1 << (i % 8)) != 0)
            .map(|(_, p)| *p)
            .collect();
        let added = get_uvarint(p, &mut pos)?;
        for _ in 0..added.min(p.len() as u64) {
            let name = get_uvarint(p, &mut pos)?;
            let value = get_uvarint(p, &mut pos)?;
            pairs.push((name, value));
        }
        // In the order of the writer's labels (sorted by name), which the next entry's bitmap refers to.
        pairs.sort_by(|a, b| sym(a.0).ok().cmp(&sym(b.0).ok()));
        let strings = pairs
            .iter()
            .map(|(n, v)| Ok((sym(*n)?.to_owned(), sym(*v)?.to_owned())))
            .collect::<Result<Vec<_>>>()?;
        let labels =
            model::Labels::from_vec(strings).map_err(|e| Error::Corrupt(format!("invalid labels: {e}")))?;
        prev = pairs;
        let s = head.create_with_id(id, &labels);
        let mut g = s.data.lock();
        max_t = max_t.wrapping_add(get_varint(p, &mut pos)?);
        let n = get_uvarint(p, &mut pos)?;
        let (nchunks, explicit_last) = (n / 2, n % 2 == 1);
        for i in 0..nchunks.min(p.len() as u64) {
            let last = i + 1 == nchunks;
            let span = if last && !explicit_last {
                None
            } else {
                Some(get_uvarint(p, &mut pos)?)
            };
            let data = get_bytes(p, &mut pos, "chunk")?;
            let min_t = chunk::first_time(data)?;
            let chunk_max_t = span.map_or(max_t, |d| min_t.wrapping_add(d as i64));
            if chunk_max_t < min_t {
                return Err(Error::Corrupt(format!(
                    "chunk from {min_t} ends before it starts ({chunk_max_t})"
                )));
            }
            g.sealed.push(SealedChunk {
                min_t,
                max_t: chunk_max_t,
                data: head.chunks.put(data.to_vec()),
            });
        }
        g.max_t = max_t;
        let nooo = get_uvarint(p, &mut pos)?;
        for _ in 0..nooo.min(p.len() as u64) {
            let t = get_varint(p, &mut pos)?;
            let v = get_f64(p, &mut pos)?;
            g.ooo.push(Sample::new(t, v));
        }
        drop(g);
        head.note_time(max_t);
    }
    Ok(count)
}

fn load_series(head: &Head, p: &[u8], symbols: Option<&[String]>) -> Result<()> {
    let mut pos = 0;
    let id = get_uvarint(p, &mut pos)?;
    let id = u32::try_from(id).map_err(|_| Error::Corrupt(format!("series id {id} out of range")))?;
    let labels = match symbols {
        None => get_labels(p, &mut pos)?,
        Some(table) => {
            let n = get_uvarint(p, &mut pos)? as usize;
            let mut pairs = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                let mut sym = || -> Result<String> {
                    let i = get_uvarint(p, &mut pos)? as usize;
                    table
                        .get(i)
                        .cloned()
                        .ok_or_else(|| Error::Corrupt(format!("symbol {i} out of range")))
                };
                let name = sym()?;
                let value = sym()?;
                pairs.push((name, value));
            }
            model::Labels::from_vec(pairs).map_err(|e| Error::Corrupt(format!("invalid labels: {e}")))?
        }
    };
    let max_t = get_varint(p, &mut pos)?;
    let s = head.create_with_id(id, &labels);
    let mut g = s.data.lock();
    let nsealed = get_uvarint(p, &mut pos)? as usize;
    for _ in 0..nsealed.min(p.len()) {
        let min_t = get_varint(p, &mut pos)?;
        let max_t = get_varint(p, &mut pos)?;
        let data = get_bytes(p, &mut pos, "chunk")?;
        g.sealed.push(SealedChunk {
            min_t,
            max_t,
            data: head.chunks.put(data.to_vec()),
        });
    }
    let open = get_bytes(p, &mut pos, "open chunk")?;
    let mut samples = Vec::new();
    if !open.is_empty() {
        chunk::decode(open, &mut samples)?;
    }
    if !samples.is_empty() {
        let mut a = chunk::XorAppender::new();
        for s in &samples {
            a.append(s.t, s.v);
        }
        g.open = Some(a);
    }
    g.max_t = max_t;
    let nooo = get_uvarint(p, &mut pos)? as usize;
    for _ in 0..nooo.min(p.len()) {
        let t = get_varint(p, &mut pos)?;
        let v = get_f64(p, &mut pos)?;
        g.ooo.push(Sample::new(t, v));
    }
    drop(g);
    head.note_time(max_t);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::{Appended, HeadOptions};
    use crate::records::put_labels;
    use model::Labels;

    fn head_with_data() -> Head {
        let head = Head::new(HeadOptions::default());
        for i in 0..5 {
            // Neighbours differ in a label in the middle, and sometimes in one after it too.
            let l = Labels::from_pairs(&[
                ("__name__", "m"),
                ("i", &i.to_string()),
                ("job", if i < 3 { "a" } else { "b" }),
            ])
            .unwrap();
            let pairs: Vec<(&str, &str)> = l.iter().collect();
            let s = head.get_or_create(&pairs, |_| {}).unwrap();
            let mut g = s.data.lock();
            for t in 0..300 {
                head.append(&mut g, t * 1000, (t * i) as f64, false);
            }
        }
        head
    }

    fn dump(head: &Head) -> Vec<(Labels, i64, Vec<Sample>)> {
        head.all_series()
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                let g = s.data.lock();
                g.samples(i64::MIN, i64::MAX, &mut out);
                (head.labels_of(s), g.max_t, out)
            })
            .collect()
    }

    /// Versions 1 and 2 as they were written: one framed record per series; version 1 with its labels
    /// as strings, version 2 with a symbol table first and labels as symbol ids.
    fn write_old(head: &Head, path: &Path, version: u8) {
        let mut out = if version == 1 { MAGIC_V1 } else { MAGIC_V2 }.to_vec();
        let mut rec = Vec::new();
        if version == 2 {
            let symbols = head.symbols.snapshot();
            put_uvarint(&mut rec, symbols.len() as u64);
            for sym in &symbols {
                put_str(&mut rec, sym);
            }
            wal::frame(&mut out, REC_SYMBOLS, &rec);
        }
        let mut n = 0u64;
        for s in head.all_series() {
            rec.clear();
            let g = s.data.lock();
            put_uvarint(&mut rec, s.id as u64);
            if version == 1 {
                put_labels(&mut rec, &head.labels_of(&s));
            } else {
                put_uvarint(&mut rec, s.labels.len() as u64 / 2);
                for id in s.labels.iter() {
                    put_uvarint(&mut rec, *id as u64);
                }
            }
            put_varint(&mut rec, g.max_t);
            put_uvarint(&mut rec, g.sealed.len() as u64);
            for c in &g.sealed {
                put_varint(&mut rec, c.min_t);
                put_varint(&mut rec, c.max_t);
                c.data
                    .with(|b| {
                        put_uvarint(&mut rec, b.len() as u64);
                        rec.extend_from_slice(b);
                    })
                    .unwrap();
            }
            let open = g.open.as_ref().map(|o| o.bytes().to_vec()).unwrap_or_default();
            put_uvarint(&mut rec, open.len() as u64);
            rec.extend_from_slice(&open);
            put_uvarint(&mut rec, g.ooo.len() as u64);
            for x in &g.ooo {
                put_varint(&mut rec, x.t);
                rec.extend_from_slice(&x.v.to_bits().to_le_bytes());
            }
            wal::frame(&mut out, REC_SERIES, &rec);
            n += 1;
        }
        rec.clear();
        put_uvarint(&mut rec, n);
        wal::frame(&mut out, REC_END, &rec);
        fs::write(path, out).unwrap();
    }

    #[test]
    fn versions_1_2_and_3_all_load() {
        let dir = tempfile::tempdir().unwrap();
        let head = head_with_data();
        // An out-of-order sample and a series with labels unlike its neighbours.
        {
            let s = head.all_series()[2].clone();
            let mut g = s.data.lock();
            assert!(matches!(
                head.append(&mut g, 150_500, 7.0, false),
                Appended::Stored
            ));
        }
        let l = Labels::from_pairs(&[("__name__", "other"), ("zone", "b")]).unwrap();
        let pairs: Vec<(&str, &str)> = l.iter().collect();
        let s = head.get_or_create(&pairs, |_| {}).unwrap();
        head.append(&mut s.data.lock(), 5_000, 1.5, false);
        // A series whose samples all went to a block: no chunks, but its newest timestamp stays.
        {
            let series = head.all_series();
            let mut g = series[4].data.lock();
            let read = g.persisted_snapshot(i64::MAX);
            g.truncate_before(&head.chunks, i64::MAX, &read);
        }
        assert_eq!(head.all_series()[2].data.lock().ooo.len(), 1);
        write_old(&head, &path(dir.path(), 1), 1);
        write_old(&head, &path(dir.path(), 2), 2);
        assert_eq!(write(&head, dir.path(), 3).unwrap(), 6);
        let mut sizes = Vec::new();
        for seg in [1, 2, 3] {
            let fresh = Head::new(HeadOptions::default());
            assert_eq!(load(&fresh, &path(dir.path(), seg), |_| {}).unwrap(), 6);
            assert_eq!(dump(&fresh), dump(&head), "checkpoint version {seg}");
            // The newest timestamp survives: older samples are refused, newer ones taken.
            let s = fresh.all_series()[4].clone();
            let mut g = s.data.lock();
            assert_eq!(g.max_t, 299_000, "version {seg}");
            assert!(!matches!(
                fresh.append(&mut g, -4_000_000, 0.0, false),
                Appended::Stored
            ));
            assert!(matches!(
                fresh.append(&mut g, 300_000, 0.0, false),
                Appended::Stored
            ));
            sizes.push(fs::metadata(path(dir.path(), seg)).unwrap().len());
        }
        assert!(
            sizes[2] < sizes[1] && sizes[1] < sizes[0],
            "each version smaller than the one before: {sizes:?}"
        );
    }

    #[test]
    fn version_3_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let head = head_with_data();
        write(&head, dir.path(), 1).unwrap();
        let p = path(dir.path(), 1);
        let good = fs::read(&p).unwrap();
        for cut in [good.len() - 1, good.len() / 2, 9] {
            fs::write(&p, &good[..cut]).unwrap();
            let fresh = Head::new(HeadOptions::default());
            assert!(load(&fresh, &p, |_| {}).is_err(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        fs::write(&p, &flipped).unwrap();
        assert!(load(&Head::new(HeadOptions::default()), &p, |_| {}).is_err());
    }
}
