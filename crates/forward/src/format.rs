//! The bytes of the buffer (see docs/format/agent-buffer.md): segment header, record framing, the
//! series and samples records, and the cursor file. Pure encoding and decoding; no IO.
//!
//! Invariant: every length and count read back is checked against the bytes that hold it before it
//! sizes anything, so a corrupt file is an error value, never a panic or a huge allocation.

/// First bytes of every segment: magic and format version.
pub const SEGMENT_MAGIC: [u8; 4] = *b"PFWB";
pub const SEGMENT_VERSION: u8 = 1;
/// Magic, version, three zero bytes.
pub const SEGMENT_HEADER: usize = 8;

/// Bytes before a record's payload: length (u32 LE), CRC-32 of type and payload (u32 LE), type.
pub const RECORD_HEADER: usize = 9;
/// A record longer than this is corrupt: a torn length field must not size an allocation.
pub const MAX_RECORD: usize = 64 << 20;

/// Labels of series that the following samples records of the segment refer to by id.
pub const REC_SERIES: u8 = 1;
/// One append call's samples.
pub const REC_SAMPLES: u8 = 2;

pub fn segment_header() -> [u8; SEGMENT_HEADER] {
    let mut h = [0u8; SEGMENT_HEADER];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4] = SEGMENT_VERSION;
    h
}

/// Why a segment header is unusable.
pub fn check_segment_header(h: &[u8]) -> Result<(), String> {
    if h.len() < SEGMENT_HEADER {
        return Err(format!("short segment header ({} bytes)", h.len()));
    }
    if h[..4] != SEGMENT_MAGIC {
        return Err("not a buffer segment (bad magic)".into());
    }
    if h[4] != SEGMENT_VERSION {
        return Err(format!("unsupported segment version {}", h[4]));
    }
    Ok(())
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reserves a record header at the end of `out`; returns where the record starts.
pub fn begin_record(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER]);
    start
}

/// Fills in the header of the record that starts at `start` and runs to the end of `out`.
pub fn finish_record(out: &mut [u8], start: usize, kind: u8) {
    let payload_len = out.len() - start - RECORD_HEADER;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(&out[start + RECORD_HEADER..]);
    let crc = h.finalize();
    out[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    out[start + 8] = kind;
}

/// A label set as it follows a series id in a series record: the pair count, then each name and
/// value with its length. Built once per series and copied into every segment that needs it.
pub fn encode_labels(labels: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() + 1);
    put_uvarint(&mut out, labels.len() as u64);
    for (n, v) in labels {
        put_str(&mut out, n);
        put_str(&mut out, v);
    }
    out
}

/// Appends one entry of a series record: the id, then the labels from [`encode_labels`].
pub fn put_series(out: &mut Vec<u8>, id: u64, encoded_labels: &[u8]) {
    put_uvarint(out, id);
    out.extend_from_slice(encoded_labels);
}

/// Writes a samples record's payload: the count, the first timestamp, then per sample the id as a
/// signed delta to the previous id, the timestamp as a signed delta to the first, and the value's
/// eight bytes (bit-exact, so staleness markers survive).
pub fn put_samples(out: &mut Vec<u8>, samples: impl ExactSizeIterator<Item = (u64, i64, f64)> + Clone) {
    put_uvarint(out, samples.len() as u64);
    let base = samples.clone().next().map_or(0, |(_, t, _)| t);
    put_varint(out, base);
    let mut prev = 0u64;
    for (id, t, v) in samples {
        put_varint(out, id.wrapping_sub(prev) as i64);
        prev = id;
        put_varint(out, t.wrapping_sub(base));
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// What a byte range starting at a record boundary holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole record: its type, where its payload is (relative to the input), and its total length.
    Record {
        kind: u8,
        payload: std::ops::Range<usize>,
        len: usize,
    },
    /// The input ends inside the record; `need` bytes from its start would hold it (when known).
    Short { need: usize },
    /// Not a record: a length past [`MAX_RECORD`] or a checksum mismatch.
    Corrupt(&'static str),
}

/// Parses the record at the start of `data`.
pub fn parse_record(data: &[u8]) -> Parsed {
    if data.len() < RECORD_HEADER {
        return Parsed::Short { need: RECORD_HEADER };
    }
    let len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let crc = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
    if len > MAX_RECORD {
        return Parsed::Corrupt("record length out of range");
    }
    let total = RECORD_HEADER + len;
    if data.len() < total {
        return Parsed::Short { need: total };
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&data[8..total]);
    if h.finalize() != crc {
        return Parsed::Corrupt("checksum mismatch");
    }
    Parsed::Record {
        kind: data[8],
        payload: RECORD_HEADER..total,
        len: total,
    }
}

/// Where the valid records of a segment's bytes end (a record boundary), and what stopped the scan
/// before the end if anything did. `f` sees every valid record's type and payload.
pub fn scan(data: &[u8], mut f: impl FnMut(usize, u8, &[u8])) -> (usize, Option<&'static str>) {
    let mut pos = 0;
    while pos < data.len() {
        match parse_record(&data[pos..]) {
            Parsed::Record { kind, payload, len } => {
                f(pos, kind, &data[pos + payload.start..pos + payload.end]);
                pos += len;
            }
            Parsed::Short { .. } => return (pos, Some("torn record")),
            Parsed::Corrupt(why) => return (pos, Some(why)),
        }
    }
    (pos, None)
}

/// A reader over a payload; every method fails instead of reading past the end.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn uvarint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err("varint overflows 64 bits");
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes")
    }

    pub fn varint(&mut self) -> Result<i64, &'static str> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.remaining() {
            return Err("length past the end of the record");
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn str(&mut self) -> Result<&'a str, &'static str> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| "length past the end of the record")?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| "label is not UTF-8")
    }

    pub fn f64(&mut self) -> Result<f64, &'static str> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }
}

/// Calls `f(id, labels)` for every entry of a series record.
pub fn decode_series(
    payload: &[u8],
    mut f: impl FnMut(u64, Vec<(String, String)>),
) -> Result<(), &'static str> {
    let mut d = Decoder::new(payload);
    while !d.is_empty() {
        let id = d.uvarint()?;
        let n = d.uvarint()?;
        // Each pair takes at least two bytes, which bounds the allocation by the record's size.
        if n > (d.remaining() / 2) as u64 {
            return Err("label count past the end of the record");
        }
        let mut labels = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let name = d.str()?;
            let value = d.str()?;
            labels.push((name.to_owned(), value.to_owned()));
        }
        f(id, labels);
    }
    Ok(())
}

/// Decodes a samples record's payload into `out` (cleared first) as `(id, t, v)`.
pub fn decode_samples(payload: &[u8], out: &mut Vec<(u64, i64, f64)>) -> Result<(), &'static str> {
    out.clear();
    let mut d = Decoder::new(payload);
    let n = d.uvarint()?;
    // Each sample takes at least ten bytes.
    if n > (payload.len() / 10) as u64 {
        return Err("sample count past the end of the record");
    }
    let base = d.varint()?;
    out.reserve(n as usize);
    let mut id = 0u64;
    for _ in 0..n {
        id = id.wrapping_add(d.varint()? as u64);
        let t = base.wrapping_add(d.varint()?);
        let v = d.f64()?;
        out.push((id, t, v));
    }
    if !d.is_empty() {
        return Err("trailing bytes after the samples");
    }
    Ok(())
}

/// How many samples a samples record holds, without decoding them.
pub fn sample_count(payload: &[u8]) -> Result<u64, &'static str> {
    Decoder::new(payload).uvarint()
}

/// First bytes of a cursor file.
pub const CURSOR_MAGIC: [u8; 4] = *b"PFWC";
pub const CURSOR_VERSION: u8 = 1;

/// A receiver's place in the buffer: the segment, the offset of the record holding the next sample
/// to send, and how many samples of that record were already sent. Ordered by log position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub seg: u64,
    pub off: u64,
    pub skip: u32,
}

impl Pos {
    pub fn start_of(seg: u64) -> Pos {
        Pos { seg, off: 0, skip: 0 }
    }
}

/// A cursor file: magic, version, three zero bytes, segment (u64 LE), offset (u64 LE), skip
/// (u32 LE), the receiver's key (u32 LE length and bytes), then the CRC-32 of all that.
pub fn encode_cursor(key: &str, pos: Pos) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + key.len());
    out.extend_from_slice(&CURSOR_MAGIC);
    out.extend_from_slice(&[CURSOR_VERSION, 0, 0, 0]);
    out.extend_from_slice(&pos.seg.to_le_bytes());
    out.extend_from_slice(&pos.off.to_le_bytes());
    out.extend_from_slice(&pos.skip.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The key and position of a cursor file.
pub fn decode_cursor(data: &[u8]) -> Result<(String, Pos), &'static str> {
    if data.len() < 36 {
        return Err("cursor file too short");
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != crc {
        return Err("cursor checksum mismatch");
    }
    if body[..4] != CURSOR_MAGIC {
        return Err("not a cursor file (bad magic)");
    }
    if body[4] != CURSOR_VERSION {
        return Err("unsupported cursor version");
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&body[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let u32_at = |i: usize| u32::from_le_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
    let pos = Pos {
        seg: u64_at(8),
        off: u64_at(16),
        skip: u32_at(24),
    };
    let key_len = u32_at(28) as usize;
    if body.len() != 32 + key_len {
        return Err("cursor key length does not match the file");
    }
    let key = std::str::from_utf8(&body[32..]).map_err(|_| "cursor key is not UTF-8")?;
    Ok((key.to_owned(), pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let start = begin_record(&mut out);
        out.extend_from_slice(payload);
        finish_record(&mut out, start, kind);
        out
    }

    #[test]
    fn torn_and_corrupt_records_are_found() {
        let mut data = record(REC_SERIES, b"abc");
        let second = data.len();
        data.extend(record(REC_SAMPLES, &[1, 2, 3, 4]));
        let full = data.len();
        let mut seen = Vec::new();
        assert_eq!(scan(&data, |at, k, _| seen.push((at, k))), (full, None));
        assert_eq!(seen, vec![(0, REC_SERIES), (second, REC_SAMPLES)]);
        for cut in second + 1..full {
            assert_eq!(scan(&data[..cut], |_, _, _| {}), (second, Some("torn record")));
        }
        let mut bad = data.clone();
        bad[full - 1] ^= 0x40;
        assert_eq!(scan(&bad, |_, _, _| {}), (second, Some("checksum mismatch")));
        let mut huge = data.clone();
        huge[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            scan(&huge, |_, _, _| {}),
            (second, Some("record length out of range"))
        );
    }

    #[test]
    fn staleness_markers_keep_their_bits() {
        let stale = f64::from_bits(model::STALE_NAN_BITS);
        let mut out = Vec::new();
        put_samples(&mut out, [(7u64, 1000i64, stale), (3, 1000, -0.0)].into_iter());
        let mut back = Vec::new();
        decode_samples(&out, &mut back).unwrap();
        assert_eq!(back[0].2.to_bits(), model::STALE_NAN_BITS);
        assert_eq!(back[1].2.to_bits(), (-0.0f64).to_bits());
        assert_eq!((back[1].0, back[1].1), (3, 1000));
    }

    #[test]
    fn lying_counts_are_errors() {
        let mut out = Vec::new();
        put_uvarint(&mut out, u64::MAX);
        assert!(decode_samples(&out, &mut Vec::new()).is_err());
        let mut s = Vec::new();
        put_uvarint(&mut s, 1);
        put_uvarint(&mut s, 1 << 40);
        assert!(decode_series(&s, |_, _| {}).is_err());
        let mut s = Vec::new();
        put_uvarint(&mut s, 1);
        put_uvarint(&mut s, 1);
        put_uvarint(&mut s, 1 << 40);
        s.extend_from_slice(b"xx");
        assert!(decode_series(&s, |_, _| {}).is_err());
        assert!(Decoder::new(&[0xff; 11]).uvarint().is_err());
    }

    #[test]
    fn cursor_round_trip_and_damage() {
        let pos = Pos {
            seg: 12,
            off: 4096,
            skip: 3,
        };
        let data = encode_cursor("primary", pos);
        assert_eq!(decode_cursor(&data).unwrap(), ("primary".to_owned(), pos));
        for i in 0..data.len() {
            let mut bad = data.clone();
            bad[i] ^= 1;
            assert!(decode_cursor(&bad).is_err(), "flipped byte {i}");
        }
        assert!(decode_cursor(&data[..data.len() - 1]).is_err());
    }

    proptest! {
        #[test]
        fn series_round_trip(entries in proptest::collection::vec(
            (any::<u64>(), proptest::collection::vec((".{0,12}", ".{0,12}"), 0..6)), 0..8)) {
            let mut payload = Vec::new();
            for (id, labels) in &entries {
                put_series(&mut payload, *id, &encode_labels(labels));
            }
            let mut back = Vec::new();
            decode_series(&payload, |id, l| back.push((id, l))).unwrap();
            prop_assert_eq!(back, entries);
        }

        #[test]
        fn samples_round_trip(samples in proptest::collection::vec(
            (any::<u64>(), any::<i64>(), any::<u64>()), 0..50)) {
            let input: Vec<(u64, i64, f64)> =
                samples.iter().map(|&(id, t, bits)| (id, t, f64::from_bits(bits))).collect();
            let mut payload = Vec::new();
            put_samples(&mut payload, input.iter().copied());
            let framed = record(REC_SAMPLES, &payload);
            let Parsed::Record { kind, payload: range, len } = parse_record(&framed) else {
                panic!("not a record");
            };
            prop_assert_eq!((kind, len), (REC_SAMPLES, framed.len()));
            prop_assert_eq!(sample_count(&framed[range.clone()]).unwrap(), input.len() as u64);
            let mut back = Vec::new();
            decode_samples(&framed[range], &mut back).unwrap();
            prop_assert_eq!(back.len(), input.len());
            for (a, b) in back.iter().zip(&input) {
                prop_assert_eq!((a.0, a.1, a.2.to_bits()), (b.0, b.1, b.2.to_bits()));
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = scan(&data, |_, _, _| {});
            let _ = decode_series(&data, |_, _| {});
            let _ = decode_samples(&data, &mut Vec::new());
            let _ = decode_cursor(&data);
        }
    }
}
