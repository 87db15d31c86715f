//! Zero-copy decoding of write requests: walks the protobuf bytes and hands out label names and values
//! as `&str` slices of the request, so ingesting a series costs no allocation. Every field's wire type
//! and length is checked; the inside of exemplars, native histograms and metadata, which are counted but
//! not stored, is not decoded. The prost messages in
//! [`crate::v1`] and [`crate::v2`] define the same wire format and are used to encode; tests check that
//! both decoders agree.

use crate::codec::{Counts, Version};
use crate::error::{Error, Result};

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn err(what: &str, pos: usize) -> Error {
    Error::Decode(format!("{what} at byte {pos}"))
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| err("truncated varint", self.pos))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(err("varint overflows 64 bits", self.pos));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(err("varint too long", self.pos))
    }

    /// A field key. As protobuf requires (and prost enforces): it fits in 32 bits and the field number
    /// is not 0.
    fn key(&mut self) -> Result<(u64, u8)> {
        let at = self.pos;
        let k = self.varint()?;
        if k > u64::from(u32::MAX) {
            return Err(err(&format!("invalid field key {k}"), at));
        }
        if k >> 3 == 0 {
            return Err(err("invalid field number 0", at));
        }
        Ok((k >> 3, (k & 7) as u8))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| err("length-delimited field runs past the end", start))?;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    fn str(&mut self) -> Result<&'a str> {
        let at = self.pos;
        std::str::from_utf8(self.bytes()?).map_err(|_| err("string is not valid UTF-8", at))
    }

    fn fixed64(&mut self) -> Result<u64> {
        let b: [u8; 8] = self
            .buf
            .get(self.pos..self.pos + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| err("truncated fixed64", self.pos))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(b))
    }

    fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            VARINT => self.varint().map(|_| ()),
            FIXED64 => self.fixed64().map(|_| ()),
            LEN => self.bytes().map(|_| ()),
            FIXED32 => {
                if self.buf.len() - self.pos.min(self.buf.len()) < 4 {
                    return Err(err("truncated fixed32", self.pos));
                }
                self.pos += 4;
                Ok(())
            }
            w => Err(err(&format!("unsupported wire type {w}"), self.pos)),
        }
    }
}

fn expect(wire: u8, want: u8, field: &str, pos: usize) -> Result<()> {
    if wire == want {
        Ok(())
    } else {
        Err(err(&format!("field {field} has wire type {wire}"), pos))
    }
}

/// A `Sample { double value = 1; int64 timestamp = 2; }`, the same in both versions.
fn sample(buf: &[u8]) -> Result<(i64, f64)> {
    let mut r = Reader::new(buf);
    let (mut t, mut v) = (0i64, 0f64);
    while !r.done() {
        let at = r.pos;
        match r.key()? {
            (1, w) => {
                expect(w, FIXED64, "sample.value", at)?;
                v = f64::from_bits(r.fixed64()?);
            }
            (2, w) => {
                expect(w, VARINT, "sample.timestamp", at)?;
                t = r.varint()? as i64;
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok((t, v))
}

/// Walks every series of a request body (already decompressed): `f(index, labels, samples)`, labels in
/// wire order, borrowed from `raw`. Returns what the request held.
pub fn walk<'a, F>(version: Version, raw: &'a [u8], f: F) -> Result<Counts>
where
    F: FnMut(usize, &[(&'a str, &'a str)], &[(i64, f64)]) -> Result<()>,
{
    match version {
        Version::V1 => walk_v1(raw, f),
        Version::V2 => walk_v2(raw, f),
    }
}

fn walk_v1<'a, F>(raw: &'a [u8], mut f: F) -> Result<Counts>
where
    F: FnMut(usize, &[(&'a str, &'a str)], &[(i64, f64)]) -> Result<()>,
{
    let mut counts = Counts::default();
    let mut labels: Vec<(&'a str, &'a str)> = Vec::new();
    let mut samples: Vec<(i64, f64)> = Vec::new();
    let mut top = Reader::new(raw);
    while !top.done() {
        let at = top.pos;
        let (field, wire) = top.key()?;
        if field != 1 {
            if field == 3 {
                expect(wire, LEN, "metadata", at)?;
            }
            top.skip(wire)?;
            continue;
        }
        expect(wire, LEN, "timeseries", at)?;
        let mut ts = Reader::new(top.bytes()?);
        labels.clear();
        samples.clear();
        while !ts.done() {
            let at = ts.pos;
            match ts.key()? {
                (1, w) => {
                    expect(w, LEN, "labels", at)?;
                    let mut l = Reader::new(ts.bytes()?);
                    let (mut name, mut value) = ("", "");
                    while !l.done() {
                        let at = l.pos;
                        match l.key()? {
                            (1, w) => {
                                expect(w, LEN, "label.name", at)?;
                                name = l.str()?;
                            }
                            (2, w) => {
                                expect(w, LEN, "label.value", at)?;
                                value = l.str()?;
                            }
                            (_, w) => l.skip(w)?,
                        }
                    }
                    labels.push((name, value));
                }
                (2, w) => {
                    expect(w, LEN, "samples", at)?;
                    samples.push(sample(ts.bytes()?)?);
                }
                (3, w) => {
                    expect(w, LEN, "exemplars", at)?;
                    ts.skip(w)?;
                    counts.exemplars += 1;
                }
                (4, w) => {
                    expect(w, LEN, "histograms", at)?;
                    ts.skip(w)?;
                    counts.histograms += 1;
                }
                (_, w) => ts.skip(w)?,
            }
        }
        counts.samples += samples.len();
        f(counts.series, &labels, &samples)?;
        counts.series += 1;
    }
    Ok(counts)
}

fn walk_v2<'a, F>(raw: &'a [u8], mut f: F) -> Result<Counts>
where
    F: FnMut(usize, &[(&'a str, &'a str)], &[(i64, f64)]) -> Result<()>,
{
    // Symbols may come after the series on the wire; collect them first.
    let mut symbols: Vec<&'a str> = Vec::new();
    let mut top = Reader::new(raw);
    while !top.done() {
        let at = top.pos;
        match top.key()? {
            (4, w) => {
                expect(w, LEN, "symbols", at)?;
                symbols.push(top.str()?);
            }
            (_, w) => top.skip(w)?,
        }
    }
    let mut counts = Counts::default();
    let mut refs: Vec<u64> = Vec::new();
    let mut labels: Vec<(&'a str, &'a str)> = Vec::new();
    let mut samples: Vec<(i64, f64)> = Vec::new();
    let mut top = Reader::new(raw);
    while !top.done() {
        let (field, wire) = top.key()?;
        if field != 5 {
            top.skip(wire)?;
            continue;
        }
        let at = top.pos;
        expect(wire, LEN, "timeseries", at)?;
        let mut ts = Reader::new(top.bytes()?);
        refs.clear();
        samples.clear();
        while !ts.done() {
            let at = ts.pos;
            match ts.key()? {
                (1, LEN) => {
                    let mut packed = Reader::new(ts.bytes()?);
                    while !packed.done() {
                        refs.push(packed.varint()?);
                    }
                }
                (1, VARINT) => refs.push(ts.varint()?),
                (1, w) => return Err(err(&format!("field labels_refs has wire type {w}"), at)),
                (2, w) => {
                    expect(w, LEN, "samples", at)?;
                    samples.push(sample(ts.bytes()?)?);
                }
                (3, w) => {
                    expect(w, LEN, "histograms", at)?;
                    ts.skip(w)?;
                    counts.histograms += 1;
                }
                (4, w) => {
                    expect(w, LEN, "exemplars", at)?;
                    ts.skip(w)?;
                    counts.exemplars += 1;
                }
                (5, w) => {
                    expect(w, LEN, "metadata", at)?;
                    ts.skip(w)?;
                }
                (6, w) => {
                    expect(w, VARINT, "created_timestamp", at)?;
                    ts.skip(w)?;
                }
                (_, w) => ts.skip(w)?,
            }
        }
        let series = counts.series;
        if !refs.len().is_multiple_of(2) {
            return Err(Error::OddLabelRefs {
                series,
                len: refs.len(),
            });
        }
        labels.clear();
        for pair in refs.chunks_exact(2) {
            let get = |r: u64| {
                symbols.get(r as usize).copied().ok_or(Error::SymbolOutOfRange {
                    series,
                    reference: u32::try_from(r).unwrap_or(u32::MAX),
                    symbols: symbols.len(),
                })
            };
            labels.push((get(pair[0])?, get(pair[1])?));
        }
        counts.samples += samples.len();
        f(series, &labels, &samples)?;
        counts.series += 1;
    }
    Ok(counts)
}
