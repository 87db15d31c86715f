//! Chunk codecs (format in docs/format/chunks.md). A chunk holds up to 65,535 samples of one series.
//!
//! - `XOR` (1): Gorilla-style delta-of-delta timestamps and XOR'd float values. Appendable; the head
//!   writes every new sample into one.
//! - `DECIMAL` (2): used when a chunk is sealed and every value is a decimal number with few digits
//!   (counters of bytes, CPU seconds with centisecond resolution, gauges with fixed precision). Values
//!   are scaled by 10^k to integers and stored as delta or delta-of-delta varbits, which is several
//!   times smaller than XOR for such data. Decoding is bit-exact: a chunk is only written this way when
//!   every value round-trips.
//! - `PACKED` (3): also for sealed chunks. Timestamp deltas and decimal-scaled values (as deltas or
//!   delta-of-deltas, whichever is smaller) are stored frame-of-reference: minus the chunk's minimum, in
//!   one bit width chosen per chunk, with the few values that do not fit (counter resets, spikes) escaped
//!   to a list at the end. Random-looking increments then cost their entropy and nothing more; regular
//!   scrape timestamps cost zero bits.

use model::Sample;

use crate::bits::{BitReader, BitWriter, unzigzag, zigzag};
use crate::error::{Error, Result};

pub const XOR: u8 = 1;
pub const DECIMAL: u8 = 2;
pub const PACKED: u8 = 3;
const HEADER: usize = 3;
pub const MAX_SAMPLES: usize = u16::MAX as usize;
/// `PACKED` scale meaning "the integers are IEEE-754 bit patterns", not decimals.
const RAW_BITS: u8 = 15;

fn put_dod(w: &mut BitWriter, dod: i64) {
    // Buckets chosen for regular scrape intervals: 0 costs one bit; jitter of a few ms costs 16.
    if dod == 0 {
        w.bit(false);
    } else if fits(dod, 14) {
        w.bits(0b10, 2);
        w.bits(dod as u64, 14);
    } else if fits(dod, 17) {
        w.bits(0b110, 3);
        w.bits(dod as u64, 17);
    } else if fits(dod, 20) {
        w.bits(0b1110, 4);
        w.bits(dod as u64, 20);
    } else {
        w.bits(0b1111, 4);
        w.bits(dod as u64, 64);
    }
}

fn get_dod(r: &mut BitReader<'_>) -> Result<i64> {
    let mut n = 0;
    while n < 4 && r.bit()? {
        n += 1;
    }
    let width = match n {
        0 => return Ok(0),
        1 => 14,
        2 => 17,
        3 => 20,
        _ => 64,
    };
    Ok(sign_extend(r.bits(width)?, width))
}

fn fits(v: i64, bits: u8) -> bool {
    let lim = 1i64 << (bits - 1);
    v >= -lim && v < lim
}

fn sign_extend(v: u64, bits: u8) -> i64 {
    if bits == 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

const INT_WIDTHS: [u8; 6] = [5, 9, 14, 22, 34, 64];

fn put_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.bit(false);
        return;
    }
    let z = zigzag(v);
    for (i, width) in INT_WIDTHS.iter().enumerate() {
        if *width == 64 || z < (1u64 << width) {
            // Prefix: i+1 ones then a zero, except the last bucket which needs no terminating zero.
            for _ in 0..=i {
                w.bit(true);
            }
            if i + 1 < INT_WIDTHS.len() {
                w.bit(false);
            }
            w.bits(z, *width);
            return;
        }
    }
}

fn get_int(r: &mut BitReader<'_>) -> Result<i64> {
    if !r.bit()? {
        return Ok(0);
    }
    let mut i = 0;
    while i + 1 < INT_WIDTHS.len() && r.bit()? {
        i += 1;
    }
    Ok(unzigzag(r.bits(INT_WIDTHS[i])?))
}

/// An appendable XOR chunk: the head's open chunk for one series.
#[derive(Debug, Clone)]
pub struct XorAppender {
    w: BitWriter,
    count: u16,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    pub min_t: i64,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    pub fn new() -> Self {
        Self {
            w: BitWriter::with_bytes(vec![XOR, 0, 0]),
            count: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: u8::MAX,
            trailing: 0,
            min_t: 0,
        }
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    pub fn max_t(&self) -> i64 {
        self.t
    }

    pub fn last_value_bits(&self) -> u64 {
        self.v
    }

    pub fn bytes(&self) -> &[u8] {
        &self.w.buf
    }

    /// Appends a sample. The caller keeps timestamps strictly increasing and the count under
    /// [`MAX_SAMPLES`].
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        match self.count {
            0 => {
                self.w.bits(t as u64, 64);
                self.w.bits(bits, 64);
                self.min_t = t;
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                put_dod(&mut self.w, delta.wrapping_sub(self.delta));
                self.delta = delta;
                self.put_value(bits);
            }
        }
        self.t = t;
        self.v = bits;
        self.count += 1;
        let c = self.count.to_be_bytes();
        self.w.buf[1] = c[0];
        self.w.buf[2] = c[1];
    }

    fn put_value(&mut self, bits: u64) {
        let x = bits ^ self.v;
        if x == 0 {
            self.w.bit(false);
            return;
        }
        self.w.bit(true);
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != u8::MAX && leading >= self.leading && trailing >= self.trailing {
            self.w.bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.w.bits(x >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.bit(true);
            self.w.bits(leading as u64, 5);
            let sig = 64 - leading - trailing;
            // 64 significant bits are written as 0: a width of 0 cannot occur for a non-zero XOR.
            self.w.bits((sig % 64) as u64, 6);
            self.w.bits(x >> trailing, sig);
        }
    }
}

fn decode_xor(body: &[u8], count: usize, out: &mut Vec<Sample>) -> Result<()> {
    let mut r = BitReader::new(body);
    let mut t = r.bits(64)? as i64;
    let mut v = r.bits(64)?;
    out.push(Sample::new(t, f64::from_bits(v)));
    let (mut delta, mut leading, mut trailing) = (0i64, 0u8, 0u8);
    for _ in 1..count {
        delta = delta.wrapping_add(get_dod(&mut r)?);
        t = t.wrapping_add(delta);
        if r.bit()? {
            if r.bit()? {
                leading = r.bits(5)? as u8;
                let mut sig = r.bits(6)? as u8;
                if sig == 0 {
                    sig = 64;
                }
                if leading as u32 + sig as u32 > 64 {
                    return Err(Error::Corrupt("xor chunk: invalid value width".into()));
                }
                trailing = 64 - leading - sig;
            }
            let sig = 64 - leading - trailing;
            v ^= r.bits(sig)? << trailing;
        }
        out.push(Sample::new(t, f64::from_bits(v)));
    }
    Ok(())
}

/// Finds the smallest k in 0..=12 such that every value equals `m / 10^k` for an integer `m` with
/// |m| < 2^53, bit for bit. Returns the scaled integers.
fn decimal_scale(samples: &[Sample]) -> Option<(u8, Vec<i64>)> {
    let mut ints = Vec::with_capacity(samples.len());
    'k: for k in 0u8..=12 {
        let p = 10f64.powi(k as i32);
        ints.clear();
        for s in samples {
            let m = (s.v * p).round();
            if !m.is_finite()
                || m.abs() >= 9_007_199_254_740_992.0
                || ((m as i64) as f64 / p).to_bits() != s.v.to_bits()
            {
                continue 'k;
            }
            ints.push(m as i64);
        }
        return Some((k, ints));
    }
    None
}

fn encode_decimal(samples: &[Sample]) -> Option<Vec<u8>> {
    if samples.is_empty() {
        return None;
    }
    let (k, ints) = decimal_scale(samples)?;
    // Delta suits random walks and irregular counters; delta-of-delta suits steady rates. Try both.
    let mut best: Option<Vec<u8>> = None;
    for mode in 0u8..2 {
        let mut w = BitWriter::with_bytes(vec![DECIMAL, 0, 0, k, mode]);
        let c = (samples.len() as u16).to_be_bytes();
        w.buf[1] = c[0];
        w.buf[2] = c[1];
        w.bits(samples[0].t as u64, 64);
        w.bits(ints[0] as u64, 64);
        let (mut tdelta, mut vdelta) = (0i64, 0i64);
        for i in 1..samples.len() {
            let d = samples[i].t.wrapping_sub(samples[i - 1].t);
            put_dod(&mut w, d.wrapping_sub(tdelta));
            tdelta = d;
            let vd = ints[i].wrapping_sub(ints[i - 1]);
            put_int(&mut w, if mode == 0 { vd } else { vd.wrapping_sub(vdelta) });
            vdelta = vd;
        }
        if best.as_ref().is_none_or(|b| w.buf.len() < b.len()) {
            best = Some(w.buf);
        }
    }
    best
}

fn decode_decimal(body: &[u8], count: usize, out: &mut Vec<Sample>) -> Result<()> {
    let (&k, rest) = body
        .split_first()
        .ok_or_else(|| Error::Corrupt("decimal chunk: missing scale".into()))?;
    let (&mode, rest) = rest
        .split_first()
        .ok_or_else(|| Error::Corrupt("decimal chunk: missing mode".into()))?;
    if k > 12 || mode > 1 {
        return Err(Error::Corrupt(format!(
            "decimal chunk: bad scale {k} or mode {mode}"
        )));
    }
    let p = 10f64.powi(k as i32);
    let mut r = BitReader::new(rest);
    let mut t = r.bits(64)? as i64;
    let mut m = r.bits(64)? as i64;
    out.push(Sample::new(t, m as f64 / p));
    let (mut tdelta, mut vdelta) = (0i64, 0i64);
    for _ in 1..count {
        tdelta = tdelta.wrapping_add(get_dod(&mut r)?);
        t = t.wrapping_add(tdelta);
        let x = get_int(&mut r)?;
        vdelta = if mode == 0 { x } else { vdelta.wrapping_add(x) };
        m = m.wrapping_add(vdelta);
        out.push(Sample::new(t, m as f64 / p));
    }
    Ok(())
}

/// A 64-bit number in as few bits as it needs: its significant-bit count (7 bits), then the bits.
fn put_compact(w: &mut BitWriter, v: u64) {
    let n = (64 - v.leading_zeros()) as u8;
    w.bits(n as u64, 7);
    w.bits(v, n);
}

fn get_compact(r: &mut BitReader<'_>) -> Result<u64> {
    let n = r.bits(7)? as u8;
    if n > 64 {
        return Err(Error::Corrupt(format!("packed chunk: number of {n} bits")));
    }
    r.bits(n)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How `pack` writes a sequence: the base, the common divisor of the distances above it, the bit
/// width, and the total cost in bits of the packed run and its escapes.
struct Plan {
    base: i64,
    g: u64,
    width: u8,
    bits: usize,
}

fn plan(xs: &[i64], base: i64) -> Plan {
    // Byte counters move in 512- or 4096-byte steps, timestamps in whole seconds: divide that out.
    let g = xs
        .iter()
        .filter(|x| **x >= base)
        .fold(0u64, |g, x| gcd(g, x.wrapping_sub(base) as u64))
        .max(1);
    // counts[b]: values of exactly b significant bits; all_ones[b]: values equal to 2^b − 1, which collide
    // with the escape pattern at width b.
    let mut counts = [0usize; 65];
    let mut all_ones = [0usize; 65];
    let mut below = 0usize;
    for x in xs {
        if *x < base {
            below += 1;
            continue;
        }
        let v = x.wrapping_sub(base) as u64 / g;
        let bits = (64 - v.leading_zeros()) as usize;
        counts[bits] += 1;
        if v.wrapping_add(1).is_power_of_two() || v == u64::MAX {
            all_ones[bits] += 1;
        }
    }
    // cost(width) = n·width + 64 per escaped value, plus the header fields.
    let n = xs.len();
    let header = compact_bits(zigzag(base)) + 1 + if g > 1 { compact_bits(g) } else { 0 } + 7;
    let mut best = (usize::MAX, 64u8);
    let mut wider = n - below;
    for (width, c) in counts.iter().enumerate() {
        wider -= c;
        let escaped = wider
            + below
            + if width > 0 && width < 64 {
                all_ones[width]
            } else {
                0
            };
        if (width == 0 && escaped > 0) || (width == 64 && below > 0) {
            continue;
        }
        let cost = n * width + 64 * escaped;
        if cost < best.0 {
            best = (cost, width as u8);
        }
    }
    Plan {
        base,
        g,
        width: best.1,
        bits: best.0.saturating_add(header),
    }
}

fn compact_bits(v: u64) -> usize {
    7 + (64 - v.leading_zeros()) as usize
}

/// Frame-of-reference packing of `xs` (docs/format/chunks.md): a base (64 bits), a flag bit and, if
/// set, a common divisor (64 bits) of the values' distances above the base; the width (7 bits); then
/// each distance / divisor in `width` bits. Values below the base or too wide are written as all ones
/// and listed after the run as raw 64-bit distances. The base is the smallest value or one a little
/// above it, so that a single outlier such as a counter reset cannot widen everything, whichever
/// costs fewer bits; the width minimises the total.
fn pack(w: &mut BitWriter, xs: &[i64]) {
    let mut sorted = xs.to_vec();
    sorted.sort_unstable();
    let mut candidates: Vec<i64> = [0, 1, 2, sorted.len() / 64]
        .iter()
        .filter_map(|i| sorted.get(*i).copied())
        .collect();
    candidates.dedup();
    let Plan { base, g, width, .. } = candidates
        .into_iter()
        .map(|b| plan(xs, b))
        .min_by_key(|p| p.bits)
        .unwrap_or(Plan {
            base: 0,
            g: 1,
            width: 0,
            bits: 0,
        });
    put_compact(w, zigzag(base));
    if g > 1 {
        w.bit(true);
        put_compact(w, g);
    } else {
        w.bit(false);
    }
    w.bits(width as u64, 7);
    if width == 0 {
        return;
    }
    let escape = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut exceptions = Vec::new();
    for x in xs {
        let v = (*x >= base).then(|| x.wrapping_sub(base) as u64 / g);
        match v {
            Some(v) if width == 64 || v < escape => w.bits(v, width),
            _ => {
                w.bits(escape, width);
                exceptions.push(x.wrapping_sub(base) as u64);
            }
        }
    }
    for e in exceptions {
        w.bits(e, 64);
    }
}

fn unpack(r: &mut BitReader<'_>, n: usize, out: &mut Vec<i64>) -> Result<()> {
    let base = unzigzag(get_compact(r)?);
    let g = if r.bit()? { get_compact(r)? } else { 1 };
    let width = r.bits(7)? as u8;
    if width > 64 {
        return Err(Error::Corrupt(format!("packed chunk: width {width}")));
    }
    let start = out.len();
    if width == 0 {
        out.extend(std::iter::repeat_n(base, n));
        return Ok(());
    }
    let escape = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut escaped = Vec::new();
    for i in 0..n {
        let v = r.bits(width)?;
        if width < 64 && v == escape {
            escaped.push(start + i);
        }
        out.push(base.wrapping_add(v.wrapping_mul(g) as i64));
    }
    for i in escaped {
        out[i] = base.wrapping_add(r.bits(64)? as i64);
    }
    Ok(())
}

fn encode_packed(samples: &[Sample]) -> Option<Vec<u8>> {
    if samples.is_empty() {
        return None;
    }
    // Values that are not short decimals are packed as their IEEE-754 bit patterns (scale `RAW_BITS`):
    // for a float that drifts within one binade, such as a histogram's `_sum`, the pattern grows by
    // roughly the change over one ulp, which packs tighter than XOR's leading/trailing-zero windows.
    let (k, ints) = decimal_scale(samples)
        .unwrap_or_else(|| (RAW_BITS, samples.iter().map(|s| s.v.to_bits() as i64).collect()));
    let mut best: Option<Vec<u8>> = None;
    let tdeltas: Vec<i64> = samples.windows(2).map(|p| p[1].t.wrapping_sub(p[0].t)).collect();
    let vdeltas: Vec<i64> = ints.windows(2).map(|p| p[1].wrapping_sub(p[0])).collect();
    let vdod: Vec<i64> = vdeltas
        .iter()
        .scan(0i64, |prev, d| {
            let x = d.wrapping_sub(*prev);
            *prev = *d;
            Some(x)
        })
        .collect();
    for (mode, seq) in [(0u8, &vdeltas), (1u8, &vdod)] {
        let mut w = BitWriter::with_bytes(vec![PACKED, 0, 0]);
        let c = (samples.len() as u16).to_be_bytes();
        w.buf[1] = c[0];
        w.buf[2] = c[1];
        put_compact(&mut w, zigzag(samples[0].t));
        pack(&mut w, &tdeltas);
        w.bits(k as u64, 4);
        w.bits(mode as u64, 1);
        put_compact(&mut w, zigzag(ints[0]));
        pack(&mut w, seq);
        if best.as_ref().is_none_or(|b| w.buf.len() < b.len()) {
            best = Some(w.buf);
        }
    }
    best
}

fn decode_packed(body: &[u8], count: usize, out: &mut Vec<Sample>) -> Result<()> {
    let mut r = BitReader::new(body);
    let t0 = unzigzag(get_compact(&mut r)?);
    let mut tdeltas = Vec::with_capacity(count);
    unpack(&mut r, count - 1, &mut tdeltas)?;
    let k = r.bits(4)? as i32;
    let mode = r.bits(1)?;
    if k > 12 && k != RAW_BITS as i32 {
        return Err(Error::Corrupt(format!("packed chunk: scale {k}")));
    }
    let p = 10f64.powi(k);
    let value = |m: i64| {
        if k == RAW_BITS as i32 {
            f64::from_bits(m as u64)
        } else {
            m as f64 / p
        }
    };
    let mut m = unzigzag(get_compact(&mut r)?);
    let mut seq = Vec::with_capacity(count);
    unpack(&mut r, count - 1, &mut seq)?;
    let mut t = t0;
    out.push(Sample::new(t, value(m)));
    let mut delta = 0i64;
    for i in 0..count - 1 {
        t = t.wrapping_add(tdeltas[i]);
        delta = if mode == 0 {
            seq[i]
        } else {
            delta.wrapping_add(seq[i])
        };
        m = m.wrapping_add(delta);
        out.push(Sample::new(t, value(m)));
    }
    Ok(())
}

/// Encodes samples (strictly increasing timestamps, 1..=65,535 of them) in the smallest encoding.
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    let mut x = XorAppender::new();
    for s in samples {
        x.append(s.t, s.v);
    }
    let mut best = x.w.buf;
    for candidate in [encode_packed(samples), encode_decimal(samples)]
        .into_iter()
        .flatten()
    {
        if candidate.len() < best.len() {
            best = candidate;
        }
    }
    best
}

/// Number of samples in an encoded chunk.
pub fn sample_count(chunk: &[u8]) -> usize {
    match chunk {
        [_, a, b, ..] => u16::from_be_bytes([*a, *b]) as usize,
        _ => 0,
    }
}

/// Timestamp of the chunk's first sample, read from its header without decoding the rest.
pub fn first_time(chunk: &[u8]) -> Result<i64> {
    if sample_count(chunk) == 0 {
        return Err(Error::Corrupt("empty chunk has no first sample".into()));
    }
    let body = &chunk[HEADER..];
    match chunk[0] {
        XOR => Ok(BitReader::new(body).bits(64)? as i64),
        DECIMAL => Ok(BitReader::new(body.get(2..).unwrap_or_default()).bits(64)? as i64),
        PACKED => Ok(unzigzag(get_compact(&mut BitReader::new(body))?)),
        e => Err(Error::Corrupt(format!("unknown chunk encoding {e}"))),
    }
}

/// Gives back the spare capacity of decoded samples once a time range was cut out of whole chunks,
/// when it is more than an eighth: a query holds the samples it asked for, not the chunks around them.
pub fn trim_spare(samples: &mut Vec<Sample>) {
    if samples.capacity() - samples.len() > samples.len() / 8 {
        samples.shrink_to_fit();
    }
}

/// Appends the chunk's samples to `out`.
pub fn decode(chunk: &[u8], out: &mut Vec<Sample>) -> Result<()> {
    if chunk.len() < HEADER {
        return Err(Error::Corrupt(format!(
            "chunk of {} bytes is shorter than its header",
            chunk.len()
        )));
    }
    let count = sample_count(chunk);
    if count == 0 {
        return Ok(());
    }
    out.reserve(count);
    match chunk[0] {
        XOR => decode_xor(&chunk[HEADER..], count, out),
        DECIMAL => decode_decimal(&chunk[HEADER..], count, out),
        PACKED => decode_packed(&chunk[HEADER..], count, out),
        e => Err(Error::Corrupt(format!("unknown chunk encoding {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series() -> impl Strategy<Value = Vec<Sample>> {
        let value = prop_oneof![
            any::<f64>(),
            (-1_000_000i64..1_000_000).prop_map(|i| i as f64 / 100.0),
            Just(f64::from_bits(model::STALE_NAN_BITS)),
            Just(f64::INFINITY),
            Just(-0.0),
        ];
        (
            any::<i32>(),
            prop::collection::vec((1i64..100_000, value), 1..400),
        )
            .prop_map(|(start, steps)| {
                let mut t = start as i64;
                steps
                    .into_iter()
                    .map(|(d, v)| {
                        t += d;
                        Sample::new(t, v)
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(samples in series()) {
            let chunk = encode(&samples);
            let mut out = Vec::new();
            decode(&chunk, &mut out).unwrap();
            prop_assert_eq!(out, samples);
        }

        #[test]
        fn first_time_reads_every_encoding(samples in series()) {
            for c in [encode_packed(&samples), encode_decimal(&samples), Some(encode(&samples))]
                .into_iter()
                .flatten()
            {
                prop_assert_eq!(first_time(&c).unwrap(), samples[0].t);
            }
        }

        #[test]
        fn appender_round_trip(samples in series()) {
            let mut a = XorAppender::new();
            for s in &samples { a.append(s.t, s.v); }
            let mut out = Vec::new();
            decode(a.bytes(), &mut out).unwrap();
            prop_assert_eq!(out, samples);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            let _ = decode(&bytes, &mut out);
            let _ = first_time(&bytes);
        }
    }

    #[test]
    fn regular_timestamps_and_constant_values_cost_no_bits_per_sample() {
        let samples: Vec<Sample> = (0..1000)
            .map(|i| Sample::new(1_700_000_000_000 + i * 10_000, 42.0))
            .collect();
        let c = encode(&samples);
        assert_eq!(c[0], PACKED);
        assert!(
            c.len() < 40,
            "{} bytes for 1000 regular constant samples",
            c.len()
        );
    }

    #[test]
    fn every_encoding_round_trips_on_its_own() {
        let mut v = 1.5e9f64;
        let samples: Vec<Sample> = (0..500)
            .map(|i| {
                v += ((i * 7919) % 1000) as f64 * 4096.0;
                if i == 250 {
                    v = 12.0; // a counter reset: an escaped value in the packed run
                }
                Sample::new(1_700_000_000_000 + i * 15_000 + (i % 3), v)
            })
            .collect();
        for enc in [encode_packed(&samples), encode_decimal(&samples)] {
            let enc = enc.unwrap();
            let mut out = Vec::new();
            decode(&enc, &mut out).unwrap();
            assert_eq!(out, samples, "encoding {}", enc[0]);
        }
        let mut x = XorAppender::new();
        for s in &samples {
            x.append(s.t, s.v);
        }
        let packed = encode_packed(&samples).unwrap();
        assert!(
            packed.len() * 10 < x.bytes().len() * 7,
            "packed {} vs xor {}",
            packed.len(),
            x.bytes().len()
        );
    }

    #[test]
    fn drifting_floats_pack_as_bit_patterns_smaller_than_xor() {
        // A histogram's `_sum`: full-precision floats growing by a few units per scrape.
        let mut v = 1234.5678f64;
        let samples: Vec<Sample> = (0..360)
            .map(|i| {
                v += 3.0 + ((i * 7919) % 1000) as f64 / 997.0;
                Sample::new(i * 10_000, v)
            })
            .collect();
        assert!(decimal_scale(&samples).is_none());
        let packed = encode_packed(&samples).unwrap();
        let mut out = Vec::new();
        decode(&packed, &mut out).unwrap();
        assert_eq!(out, samples);
        let mut x = XorAppender::new();
        for s in &samples {
            x.append(s.t, s.v);
        }
        assert!(
            packed.len() * 10 < x.bytes().len() * 9,
            "packed {} vs xor {}",
            packed.len(),
            x.bytes().len()
        );
        assert_eq!(encode(&samples)[0], PACKED);
    }

    #[test]
    fn a_few_low_values_do_not_cost_an_escape_each() {
        // Uniform increments: taking the minimum as the base is cheaper than escaping the lowest few.
        let mut v = 0i64;
        let samples: Vec<Sample> = (0..360)
            .map(|i| {
                v += 1000 + (i * 7919) % 1000;
                Sample::new(i * 10_000, v as f64)
            })
            .collect();
        let packed = encode_packed(&samples).unwrap();
        // 359 increments of 10 bits each plus headers; escapes of 64 bits would add 40 bytes or more.
        assert!(packed.len() < 359 * 10 / 8 + 40, "{} bytes", packed.len());
    }

    #[test]
    fn decimal_beats_xor_on_fixed_precision_values() {
        // A CPU-seconds counter with centisecond resolution, as node_exporter reports it.
        let mut v = 81_234.56f64;
        let samples: Vec<Sample> = (0..240)
            .map(|i| {
                v = ((v * 100.0).round() + ((i * i) % 97 + 900) as f64).round() / 100.0;
                Sample::new(i * 10_000, v)
            })
            .collect();
        let mut x = XorAppender::new();
        for s in &samples {
            x.append(s.t, s.v);
        }
        let best = encode(&samples);
        assert_ne!(best[0], XOR);
        assert!(
            best.len() * 2 < x.bytes().len(),
            "decimal {} vs xor {}",
            best.len(),
            x.bytes().len()
        );
    }
}
