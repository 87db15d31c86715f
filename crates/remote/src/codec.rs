//! From header values and body bytes to a decoded request and back: content negotiation, snappy
//! block framing, protobuf, symbol interning for 2.0, and the flat per-series view the store uses.

use std::collections::HashMap;

use prost::Message;

use crate::{
    CONTENT_ENCODING, CONTENT_TYPE_V1, CONTENT_TYPE_V2, Error, MEDIA_TYPE, PROTO_V1, PROTO_V2, Result,
    VERSION_V1, VERSION_V2, v1, v2,
};

/// Which protocol a body is in, as negotiated from its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// The Content-Type a sender of this version uses.
    pub fn content_type(self) -> &'static str {
        match self {
            Version::V1 => CONTENT_TYPE_V1,
            Version::V2 => CONTENT_TYPE_V2,
        }
    }

    /// The value of [`crate::VERSION_HEADER`] a sender of this version uses.
    pub fn version_header_value(self) -> &'static str {
        match self {
            Version::V1 => VERSION_V1,
            Version::V2 => VERSION_V2,
        }
    }

    /// The fully qualified protobuf message name.
    pub fn proto(self) -> &'static str {
        match self {
            Version::V1 => PROTO_V1,
            Version::V2 => PROTO_V2,
        }
    }
}

/// The protocol version from a Content-Type header value.
///
/// A missing or blank header means 1.0, as does `application/x-protobuf` without a `proto`
/// parameter (that is what 1.0 senders send). Accepts everything Prometheus accepts and, per
/// RFC 9110, also whitespace around parameters, any case in the media type and parameter names,
/// and a quoted parameter value. The `proto` value itself is compared exactly.
pub fn version_from_content_type(ct: Option<&str>) -> Result<Version> {
    let Some(header) = ct else {
        return Ok(Version::V1);
    };
    let unsupported = || Error::UnsupportedContentType(header.to_owned());
    let trimmed = header.trim();
    if trimmed.is_empty() {
        return Ok(Version::V1);
    }
    let mut parts = trimmed.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(MEDIA_TYPE) {
        return Err(unsupported());
    }
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let Some((name, value)) = param.split_once('=') else {
            return Err(unsupported());
        };
        if !name.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        return match value {
            PROTO_V1 => Ok(Version::V1),
            PROTO_V2 => Ok(Version::V2),
            _ => Err(unsupported()),
        };
    }
    Ok(Version::V1)
}

/// Checks a Content-Encoding header value. Missing or blank is accepted as snappy, as Prometheus
/// does for 1.0 senders that leave it out; content codings are case-insensitive.
pub fn check_content_encoding(ce: Option<&str>) -> Result<()> {
    let Some(header) = ce else {
        return Ok(());
    };
    let coding = header.trim();
    if coding.is_empty() || coding.eq_ignore_ascii_case(CONTENT_ENCODING) {
        Ok(())
    } else {
        Err(Error::UnsupportedEncoding(header.to_owned()))
    }
}

/// No snappy element writes more than 64 bytes from fewer than 3 bytes of input (a copy with a
/// 2-byte offset), so a body that claims more than this many bytes per input byte is lying.
const MAX_EXPANSION: u64 = 22;

/// Decodes a snappy block-format body.
///
/// The declared length in the header is checked against `max_decoded`, and against what the
/// body could possibly expand to, before anything is allocated, so a few bytes claiming a
/// gigabyte cost nothing.
pub fn decompress(body: &[u8], max_decoded: usize) -> Result<Vec<u8>> {
    let (declared, header_len) =
        read_uvarint(body).ok_or_else(|| Error::Snappy("missing or malformed length header".to_owned()))?;
    let limit = max_decoded as u64;
    if declared > limit {
        return Err(Error::TooLarge {
            decoded: declared,
            limit,
        });
    }
    let payload = body.len().saturating_sub(header_len) as u64;
    if declared > payload.saturating_mul(MAX_EXPANSION) {
        return Err(Error::Snappy(format!(
            "header declares {declared} bytes, more than {payload} compressed bytes can hold"
        )));
    }
    let len = usize::try_from(declared).map_err(|_| Error::TooLarge {
        decoded: declared,
        limit,
    })?;
    let mut out = vec![0u8; len];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|e| Error::Snappy(e.to_string()))?;
    out.truncate(written);
    Ok(out)
}

/// The little-endian base-128 length that starts a snappy block: value and bytes used, or None
/// if the input ends inside it or it runs past 10 bytes.
fn read_uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Encodes `raw` in the snappy block format.
///
/// # Panics
///
/// If `raw` is 4 GiB or longer, which the block format's length header cannot describe. Callers
/// build request bodies themselves and keep them far smaller (Prometheus sends a few MiB at most).
pub fn compress(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .expect("snappy block input must be under 4 GiB")
}

/// A 1.0 request as a body ready to POST: protobuf, then snappy.
pub fn encode_v1(req: &v1::WriteRequest) -> Vec<u8> {
    compress(&req.encode_to_vec())
}

/// A 2.0 request as a body ready to POST: protobuf, then snappy.
pub fn encode_v2(req: &v2::Request) -> Vec<u8> {
    compress(&req.encode_to_vec())
}

/// One series as owned data: labels as `(name, value)`, samples as `(timestamp_ms, value)`.
pub type OwnedSeries = (Vec<(String, String)>, Vec<(i64, f64)>);

/// Builds a 2.0 request from flat series (labels, then `(timestamp_ms, value)` samples), storing
/// each distinct string once. `symbols[0]` is `""`, as the spec requires.
pub fn build_v2(series: &[OwnedSeries]) -> v2::Request {
    build_v2_from(series.iter().map(|(l, s)| (l.as_slice(), s.as_slice())))
}

/// [`build_v2`] over borrowed series: label pairs and `(timestamp_ms, value)` samples.
pub fn build_v2_from<'a>(
    series: impl IntoIterator<Item = (&'a [(String, String)], &'a [(i64, f64)])>,
) -> v2::Request {
    let mut symbols = vec![String::new()];
    let mut index: HashMap<&str, u32> = HashMap::from([("", 0)]);
    let mut timeseries = Vec::new();
    for (labels, samples) in series {
        let mut labels_refs = Vec::with_capacity(labels.len() * 2);
        for (name, value) in labels {
            for s in [name.as_str(), value.as_str()] {
                let r = *index.entry(s).or_insert_with(|| {
                    // Four billion distinct strings would not fit in memory long before this
                    // could truncate.
                    let r = symbols.len() as u32;
                    symbols.push(s.to_owned());
                    r
                });
                labels_refs.push(r);
            }
        }
        timeseries.push(v2::TimeSeries {
            labels_refs,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| v2::Sample { value, timestamp })
                .collect(),
            ..Default::default()
        });
    }
    v2::Request { symbols, timeseries }
}

/// How much a request carries, for the 2.0 "written" response headers and for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub series: usize,
    pub samples: usize,
    pub histograms: usize,
    pub exemplars: usize,
}

/// A decoded request of either version.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    V1(v1::WriteRequest),
    V2(v2::Request),
}

impl Request {
    /// Decodes an uncompressed protobuf body.
    pub fn decode(version: Version, raw: &[u8]) -> Result<Request> {
        let bad = |e: prost::DecodeError| Error::Decode(format!("{}: {e}", version.proto()));
        match version {
            Version::V1 => v1::WriteRequest::decode(raw).map(Request::V1).map_err(bad),
            Version::V2 => v2::Request::decode(raw).map(Request::V2).map_err(bad),
        }
    }

    pub fn version(&self) -> Version {
        match self {
            Request::V1(_) => Version::V1,
            Request::V2(_) => Version::V2,
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        match self {
            Request::V1(req) => {
                c.series = req.timeseries.len();
                for ts in &req.timeseries {
                    c.samples += ts.samples.len();
                    c.histograms += ts.histograms.len();
                    c.exemplars += ts.exemplars.len();
                }
            }
            Request::V2(req) => {
                c.series = req.timeseries.len();
                for ts in &req.timeseries {
                    c.samples += ts.samples.len();
                    c.histograms += ts.histograms.len();
                    c.exemplars += ts.exemplars.len();
                }
            }
        }
        c
    }

    /// Calls `f(series_index, labels, samples)` for every series in wire order: labels as
    /// `(name, value)` pairs in wire order, samples as `(timestamp_ms, value)`. Series without
    /// float samples (histogram-only ones) are passed too, with no samples.
    ///
    /// For 2.0, label refs are resolved through the symbol table; an odd number of refs or a ref
    /// past the end of the table stops the walk with an error naming the series and the ref.
    /// Series before the bad one have already been passed to `f`. An error from `f` stops the
    /// walk and is returned as is.
    pub fn for_each_series<F>(&self, mut f: F) -> Result<()>
    where
        F: FnMut(usize, &[(&str, &str)], &[(i64, f64)]) -> Result<()>,
    {
        // Reused across series so that a request costs two allocations, not two per series.
        let mut labels: Vec<(&str, &str)> = Vec::new();
        let mut samples: Vec<(i64, f64)> = Vec::new();
        match self {
            Request::V1(req) => {
                for (i, ts) in req.timeseries.iter().enumerate() {
                    labels.clear();
                    labels.extend(ts.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())));
                    samples.clear();
                    samples.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
                    f(i, &labels, &samples)?;
                }
            }
            Request::V2(req) => {
                for (i, ts) in req.timeseries.iter().enumerate() {
                    let refs = &ts.labels_refs;
                    if refs.len() % 2 != 0 {
                        return Err(Error::OddLabelRefs {
                            series: i,
                            len: refs.len(),
                        });
                    }
                    labels.clear();
                    for pair in refs.chunks_exact(2) {
                        labels.push((
                            symbol(&req.symbols, i, pair[0])?,
                            symbol(&req.symbols, i, pair[1])?,
                        ));
                    }
                    samples.clear();
                    samples.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
                    f(i, &labels, &samples)?;
                }
            }
        }
        Ok(())
    }
}

fn symbol(symbols: &[String], series: usize, reference: u32) -> Result<&str> {
    symbols
        .get(reference as usize)
        .map(String::as_str)
        .ok_or(Error::SymbolOutOfRange {
            series,
            reference,
            symbols: symbols.len(),
        })
}

/// The whole receive path short of storing: checks both headers, decompresses with the given
/// limit and decodes. The HTTP layer can call the pieces instead when it needs to tell the
/// failures apart before reading the body.
pub fn decode_body(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    max_decoded: usize,
) -> Result<Request> {
    let version = version_from_content_type(content_type)?;
    check_content_encoding(content_encoding)?;
    let raw = decompress(body, max_decoded)?;
    Request::decode(version, &raw)
}
