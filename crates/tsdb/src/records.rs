//! Encoding of WAL record payloads and checkpoint entries (docs/format/wal.md, checkpoint.md).

use model::{Labels, Sample};

use crate::bits::{get_uvarint, get_varint, put_uvarint, put_varint};
use crate::error::{Error, Result};

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A `uvarint` length and that many bytes; `what` names them in the error.
pub fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize, what: &str) -> Result<&'a [u8]> {
    let len = get_uvarint(buf, pos)? as usize;
    let bytes = pos
        .checked_add(len)
        .and_then(|end| buf.get(*pos..end))
        .ok_or_else(|| Error::Corrupt(format!("{what} runs past the end")))?;
    *pos += len;
    Ok(bytes)
}

pub fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a str> {
    std::str::from_utf8(get_bytes(buf, pos, "string")?)
        .map_err(|_| Error::Corrupt("string is not utf-8".into()))
}

pub fn get_f64(buf: &[u8], pos: &mut usize) -> Result<f64> {
    let b: [u8; 8] = buf
        .get(*pos..*pos + 8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::Corrupt("value runs past the end".into()))?;
    *pos += 8;
    Ok(f64::from_bits(u64::from_le_bytes(b)))
}

#[cfg(test)]
pub fn put_labels(out: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(out, labels.len() as u64);
    for (n, v) in labels.iter() {
        put_str(out, n);
        put_str(out, v);
    }
}

pub fn get_labels(buf: &[u8], pos: &mut usize) -> Result<Labels> {
    let n = get_uvarint(buf, pos)? as usize;
    if n > buf.len() {
        return Err(Error::Corrupt("label count larger than the record".into()));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let name = get_str(buf, pos)?.to_owned();
        let value = get_str(buf, pos)?.to_owned();
        v.push((name, value));
    }
    Labels::from_vec(v).map_err(|e| Error::Corrupt(format!("invalid labels: {e}")))
}

/// Series record payload: one entry per series, `id` then labels.
pub fn encode_series<'a>(
    out: &mut Vec<u8>,
    id: u32,
    labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) {
    put_uvarint(out, id as u64);
    put_uvarint(out, labels.len() as u64);
    for (n, v) in labels {
        put_str(out, n);
        put_str(out, v);
    }
}

pub fn decode_series(buf: &[u8], mut f: impl FnMut(u32, Labels)) -> Result<()> {
    let mut pos = 0;
    while pos < buf.len() {
        let id = get_uvarint(buf, &mut pos)?;
        let id = u32::try_from(id).map_err(|_| Error::Corrupt(format!("series id {id} out of range")))?;
        f(id, get_labels(buf, &mut pos)?);
    }
    Ok(())
}

/// Samples record payload: base timestamp, then per sample: series id, timestamp minus base, value bits.
pub struct SamplesEncoder {
    pub buf: Vec<u8>,
    base: Option<i64>,
    pub count: u64,
}

impl SamplesEncoder {
    /// The buffer starts with room for a WAL record header, filled in by [`SamplesEncoder::finish`].
    pub fn new() -> Self {
        Self {
            buf: vec![0; crate::wal::RECORD_HEADER],
            base: None,
            count: 0,
        }
    }

    /// The framed WAL record, without copying the payload.
    pub fn finish(mut self, kind: u8) -> Vec<u8> {
        crate::wal::frame_in_place(&mut self.buf, kind);
        self.buf
    }

    /// The payload alone.
    #[cfg(test)]
    pub fn payload(&self) -> &[u8] {
        &self.buf[crate::wal::RECORD_HEADER..]
    }

    pub fn push(&mut self, id: u32, t: i64) -> &mut Vec<u8> {
        let base = *self.base.get_or_insert_with(|| {
            put_varint(&mut self.buf, t);
            t
        });
        put_uvarint(&mut self.buf, id as u64);
        put_varint(&mut self.buf, t.wrapping_sub(base));
        self.count += 1;
        &mut self.buf
    }

    pub fn add(&mut self, id: u32, s: Sample) {
        self.push(id, s.t).extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

impl Default for SamplesEncoder {
    fn default() -> Self {
        Self::new()
    }
}

pub fn decode_samples(buf: &[u8], mut f: impl FnMut(u32, Sample)) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut pos = 0;
    let base = get_varint(buf, &mut pos)?;
    while pos < buf.len() {
        let id = get_uvarint(buf, &mut pos)?;
        let id = u32::try_from(id).map_err(|_| Error::Corrupt(format!("series id {id} out of range")))?;
        let t = base.wrapping_add(get_varint(buf, &mut pos)?);
        let v = get_f64(buf, &mut pos)?;
        f(id, Sample::new(t, v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map("[a-z_]{1,8}|\\PC{1,4}", "\\PC{1,12}", 1..6)
            .prop_map(|m| Labels::from_vec(m.into_iter().collect()).unwrap())
    }

    proptest! {
        #[test]
        fn series_records_round_trip(series in prop::collection::vec((any::<u32>(), labels()), 0..20)) {
            let mut buf = Vec::new();
            for (id, l) in &series { encode_series(&mut buf, *id, l.iter()); }
            let mut got = Vec::new();
            decode_series(&buf, |id, l| got.push((id, l))).unwrap();
            prop_assert_eq!(got, series);
        }

        #[test]
        fn sample_records_round_trip(samples in prop::collection::vec((any::<u32>(), any::<i64>(), any::<u64>()), 0..200)) {
            let mut e = SamplesEncoder::new();
            for (id, t, v) in &samples { e.add(*id, Sample::new(*t, f64::from_bits(*v))); }
            let mut got = Vec::new();
            decode_samples(e.payload(), |id, s| got.push((id, s.t, s.v.to_bits()))).unwrap();
            prop_assert_eq!(got, samples);
        }

        #[test]
        fn garbage_records_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_samples(&bytes, |_, _| {});
            let _ = decode_series(&bytes, |_, _| {});
        }
    }
}
