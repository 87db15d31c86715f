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
use crate::records::{get_f64, get_labels, get_str, put_str};
use crate::wal::{self, ReadStats};

/// Version 1: series records carry their labels as strings.
const MAGIC_V1: &[u8; 8] = b"PHXCKPT1";
/// Version 2: a symbol table first; series records refer to it. Written since; both load.
const MAGIC_V2: &[u8; 8] = b"PHXCKPT2";
const REC_SERIES: u8 = 1;
const REC_END: u8 = 2;
const REC_SYMBOLS: u8 = 3;

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

/// Writes the head to `checkpoint.<segment>` atomically (temp file, fsync, rename, fsync dir).
pub fn write(head: &Head, dir: &Path, segment: u64) -> Result<u64> {
    let final_path = path(dir, segment);
    let tmp = dir.join(format!("checkpoint.{segment:08}.tmp"));
    let f = File::create(&tmp).map_err(Error::io("create checkpoint", &tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, f);
    out.write_all(MAGIC_V2)
        .map_err(Error::io("write checkpoint", &tmp))?;
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
    out.write_all(&framed)
        .map_err(Error::io("write checkpoint", &tmp))?;
    let mut n = 0u64;
    for s in head.all_series() {
        rec.clear();
        let g = s.data.lock();
        put_uvarint(&mut rec, s.id as u64);
        put_uvarint(&mut rec, s.labels.len() as u64 / 2);
        for id in s.labels.iter() {
            put_uvarint(&mut rec, *id as u64);
        }
        put_varint(&mut rec, g.max_t);
        // The in-order data (sealed chunks and the open chunk) is stored re-encoded as few, large chunks:
        // one per 65,535 samples, in the smallest encoding. Loading seals all but the newest samples
        // again and appends the rest to a fresh open chunk.
        let mut samples = Vec::new();
        for c in &g.sealed {
            c.data.decode(&mut samples)?;
        }
        let open_from = samples.len();
        if let Some(o) = g.open.as_ref() {
            chunk::decode(o.bytes(), &mut samples)?;
        }
        let (sealed, open) = if open_from == samples.len() {
            (&samples[..], &samples[samples.len()..])
        } else {
            samples.split_at(open_from)
        };
        // Never across a block-range boundary: blocks take whole head chunks.
        let range = head.opts.chunk_range_ms.max(1);
        let parts: Vec<&[Sample]> = sealed
            .chunk_by(|a, b| a.t.div_euclid(range) == b.t.div_euclid(range))
            .flat_map(|w| w.chunks(chunk::MAX_SAMPLES))
            .collect();
        put_uvarint(&mut rec, parts.len() as u64);
        for part in parts {
            let data = chunk::encode(part);
            put_varint(&mut rec, part[0].t);
            put_varint(&mut rec, part[part.len() - 1].t);
            put_uvarint(&mut rec, data.len() as u64);
            rec.extend_from_slice(&data);
        }
        let open = if open.is_empty() {
            Vec::new()
        } else {
            chunk::encode(open)
        };
        put_uvarint(&mut rec, open.len() as u64);
        rec.extend_from_slice(&open);
        put_uvarint(&mut rec, g.ooo.len() as u64);
        for x in &g.ooo {
            put_varint(&mut rec, x.t);
            rec.extend_from_slice(&x.v.to_bits().to_le_bytes());
        }
        drop(g);
        framed.clear();
        wal::frame(&mut framed, REC_SERIES, &rec);
        out.write_all(&framed)
            .map_err(Error::io("write checkpoint", &tmp))?;
        n += 1;
    }
    rec.clear();
    put_uvarint(&mut rec, n);
    framed.clear();
    wal::frame(&mut framed, REC_END, &rec);
    out.write_all(&framed)
        .map_err(Error::io("write checkpoint", &tmp))?;
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

/// Loads a checkpoint into an empty head. Returns the number of series. A checkpoint without its end
/// record is refused (it can only come from a copy or a disk fault: checkpoints are renamed into place
/// complete).
pub fn load(head: &Head, path: &Path, mut progress: impl FnMut(u64)) -> Result<u64> {
    let data = fs::read(path).map_err(Error::io("read checkpoint", path))?;
    let version = match data.get(..8) {
        Some(m) if m == MAGIC_V1.as_slice() => 1,
        Some(m) if m == MAGIC_V2.as_slice() => 2,
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
            REC_SYMBOLS if version == 2 => {
                let mut pos = 0;
                let n = get_uvarint(p, &mut pos)? as usize;
                let mut list = Vec::with_capacity(n.min(p.len()));
                for _ in 0..n {
                    list.push(get_str(p, &mut pos)?.to_owned());
                }
                symbols = Some(list);
            }
            REC_SERIES => {
                let table = if version == 2 {
                    Some(
                        symbols
                            .as_deref()
                            .ok_or(Error::Corrupt("series before the symbol table".into()))?,
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
                        .ok_or(Error::Corrupt(format!("symbol {i} out of range")))
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
        let len = get_uvarint(p, &mut pos)? as usize;
        let data = pos
            .checked_add(len)
            .and_then(|end| p.get(pos..end))
            .ok_or(Error::Corrupt("chunk runs past the end".into()))?;
        pos += len;
        g.sealed.push(SealedChunk {
            min_t,
            max_t,
            data: head.chunks.put(data.to_vec()),
        });
    }
    let len = get_uvarint(p, &mut pos)? as usize;
    let open = pos
        .checked_add(len)
        .and_then(|end| p.get(pos..end))
        .ok_or(Error::Corrupt("open chunk runs past the end".into()))?;
    pos += len;
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
    use crate::head::HeadOptions;
    use crate::records::put_labels;
    use model::Labels;

    fn head_with_data() -> Head {
        let head = Head::new(HeadOptions::default());
        for i in 0..5 {
            let l = Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]).unwrap();
            let pairs: Vec<(&str, &str)> = l.iter().collect();
            let s = head.get_or_create(&pairs, |_| {}).unwrap();
            let mut g = s.data.lock();
            for t in 0..300 {
                head.append(&mut g, t * 1000, (t * i) as f64, false);
            }
        }
        head
    }

    fn dump(head: &Head) -> Vec<(Labels, Vec<Sample>)> {
        head.all_series()
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                s.data.lock().samples(i64::MIN, i64::MAX, &mut out);
                (head.labels_of(s), out)
            })
            .collect()
    }

    /// Version 1 as it was written: labels as strings in each series record, no symbol table.
    fn write_v1(head: &Head, path: &Path) {
        let mut out = MAGIC_V1.to_vec();
        let (mut rec, mut n) = (Vec::new(), 0u64);
        for s in head.all_series() {
            rec.clear();
            let g = s.data.lock();
            put_uvarint(&mut rec, s.id as u64);
            put_labels(&mut rec, &head.labels_of(&s));
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
            put_uvarint(&mut rec, 0);
            wal::frame(&mut out, REC_SERIES, &rec);
            n += 1;
        }
        rec.clear();
        put_uvarint(&mut rec, n);
        wal::frame(&mut out, REC_END, &rec);
        fs::write(path, out).unwrap();
    }

    #[test]
    fn version_1_and_2_both_load() {
        let dir = tempfile::tempdir().unwrap();
        let head = head_with_data();
        write_v1(&head, &dir.path().join("checkpoint.00000001"));
        let n = write(&head, dir.path(), 2).unwrap();
        assert_eq!(n, 5);
        for seg in [1, 2] {
            let fresh = Head::new(HeadOptions::default());
            assert_eq!(load(&fresh, &path(dir.path(), seg), |_| {}).unwrap(), 5);
            assert_eq!(dump(&fresh), dump(&head), "checkpoint version {seg}");
        }
        let v1 = fs::metadata(path(dir.path(), 1)).unwrap().len();
        let v2 = fs::metadata(path(dir.path(), 2)).unwrap().len();
        assert!(v2 < v1, "v2 {v2} bytes should be smaller than v1 {v1}");
    }
}
