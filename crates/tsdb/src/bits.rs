//! Bit-level writer and reader used by the chunk codecs. Bits are packed most-significant first.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    pub buf: Vec<u8>,
    /// Bits still free in the last byte of `buf` (0..=7; 0 means the next bit starts a new byte).
    free: u8,
}

impl BitWriter {
    pub fn with_bytes(buf: Vec<u8>) -> Self {
        Self { buf, free: 0 }
    }

    pub fn bit(&mut self, b: bool) {
        if self.free == 0 {
            self.buf.push(0);
            self.free = 8;
        }
        if b && let Some(last) = self.buf.last_mut() {
            *last |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `v`, most significant first. `n <= 64`.
    pub fn bits(&mut self, v: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.buf.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.buf.last_mut() {
                *last |= chunk << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
    }
}

#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn bit(&mut self) -> Result<bool> {
        let byte = *self.buf.get(self.pos / 8).ok_or_else(ends_early)?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(b)
    }

    pub fn bits(&mut self, n: u8) -> Result<u64> {
        if n == 0 {
            return Ok(0);
        }
        // Fast path: the bits lie within the next eight bytes, read as one big-endian word.
        let (byte, off) = (self.pos / 8, (self.pos % 8) as u32);
        if u32::from(n) + off <= 64
            && let Some(word) = self.buf.get(byte..byte + 8)
        {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let v = (u64::from_be_bytes(w) << off) >> (64 - u32::from(n));
            self.pos += usize::from(n);
            return Ok(v);
        }
        self.bits_slow(n)
    }

    /// Byte by byte, near the end of the buffer or for reads spanning nine bytes.
    fn bits_slow(&mut self, mut n: u8) -> Result<u64> {
        let mut v = 0u64;
        while n > 0 {
            let byte = *self.buf.get(self.pos / 8).ok_or_else(ends_early)?;
            let off = (self.pos % 8) as u8;
            let avail = 8 - off;
            let take = avail.min(n);
            let chunk = (byte >> (avail - take)) & ((1u16 << take) - 1) as u8;
            v = if take == 64 {
                chunk as u64
            } else {
                (v << take) | chunk as u64
            };
            self.pos += take as usize;
            n -= take;
        }
        Ok(v)
    }
}

fn ends_early() -> Error {
    Error::Corrupt("chunk ends early".into())
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Reads a uvarint from `buf` at `*pos`, advancing it.
pub fn get_uvarint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| Error::Corrupt("varint runs past the end".into()))?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(Error::Corrupt("varint overflows 64 bits".into()));
        }
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(Error::Corrupt("varint overflows 64 bits".into()));
        }
    }
}

pub fn get_varint(buf: &[u8], pos: &mut usize) -> Result<i64> {
    get_uvarint(buf, pos).map(unzigzag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(items in prop::collection::vec((any::<u64>(), 1u8..=64), 0..200)) {
            let mut w = BitWriter::default();
            for (v, n) in &items {
                w.bits(*v, *n);
            }
            let mut r = BitReader::new(&w.buf);
            for (v, n) in &items {
                let mask = if *n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.bits(*n).unwrap(), v & mask);
            }
        }

        #[test]
        fn varint_round_trip(vals in prop::collection::vec(any::<i64>(), 0..100)) {
            let mut buf = Vec::new();
            for v in &vals { put_varint(&mut buf, *v); }
            let mut pos = 0;
            for v in &vals { prop_assert_eq!(get_varint(&buf, &mut pos).unwrap(), *v); }
            prop_assert_eq!(pos, buf.len());
        }
    }
}
