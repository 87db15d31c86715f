//! The few certificate fields the TLS metrics need — validity end, subject, issuer, DNS names —
//! read from DER by a small bounds-checked parser. Names are printed the way Go's
//! `pkix.Name.String` prints them, because they become label values that must match
//! blackbox_exporter's. The bytes come from the network: nothing here may panic.

use std::fmt::Write as _;

/// What the metrics use of one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// `notAfter`, in seconds since the epoch.
    pub not_after: i64,
    pub subject: String,
    pub issuer: String,
    /// The DER encodings of the names, for chaining certificates.
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    /// dNSName entries of the subjectAltName extension, in order.
    pub dns_names: Vec<String>,
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError(pub &'static str);

type Res<T> = Result<T, DerError>;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_BOOLEAN: u8 = 0x01;
const TAG_UTF8: u8 = 0x0c;
const TAG_NUMERIC: u8 = 0x12;
const TAG_PRINTABLE: u8 = 0x13;
const TAG_T61: u8 = 0x14;
const TAG_IA5: u8 = 0x16;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_BMP: u8 = 0x1e;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// A cursor over DER bytes.
#[derive(Clone, Copy)]
struct Der<'a> {
    data: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV, returning (tag, content, whole encoding).
    fn read_any(&mut self) -> Res<(u8, &'a [u8], &'a [u8])> {
        let start = self.data;
        let (&tag, rest) = self.data.split_first().ok_or(DerError("truncated tag"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("high tag numbers are not used in certificates"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError("unsupported length encoding"));
            }
            let (bytes, r) = rest.split_at_checked(n).ok_or(DerError("truncated length"))?;
            rest = r;
            bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let (content, rest) = rest
            .split_at_checked(len)
            .ok_or(DerError("content runs past the end"))?;
        let header_len = start.len() - rest.len() - len;
        let whole = start.get(..header_len + len).ok_or(DerError("bad length"))?;
        self.data = rest;
        Ok((tag, content, whole))
    }

    fn read(&mut self, want: u8) -> Res<&'a [u8]> {
        let (tag, content, _) = self.read_any()?;
        if tag != want {
            return Err(DerError("unexpected tag"));
        }
        Ok(content)
    }

    fn read_whole(&mut self, want: u8) -> Res<&'a [u8]> {
        let (tag, _, whole) = self.read_any()?;
        if tag != want {
            return Err(DerError("unexpected tag"));
        }
        Ok(whole)
    }
}

/// Reads the summary of one DER certificate.
pub fn parse_certificate(der: &[u8]) -> Res<CertSummary> {
    let mut outer = Der::new(der);
    let cert = outer.read(TAG_SEQUENCE)?;
    let mut cert = Der::new(cert);
    let tbs = cert.read(TAG_SEQUENCE)?;
    let mut tbs = Der::new(tbs);
    if tbs.peek_tag() == Some(0xa0) {
        tbs.read_any()?; // version
    }
    tbs.read(TAG_INTEGER)?; // serial
    tbs.read(TAG_SEQUENCE)?; // signature algorithm
    let issuer_der = tbs.read_whole(TAG_SEQUENCE)?;
    let validity = tbs.read(TAG_SEQUENCE)?;
    let subject_der = tbs.read_whole(TAG_SEQUENCE)?;
    tbs.read(TAG_SEQUENCE)?; // subjectPublicKeyInfo
    let mut dns_names = Vec::new();
    while !tbs.is_empty() {
        let (tag, content, _) = tbs.read_any()?;
        if tag == 0xa3 {
            dns_names = parse_extensions(content)?;
        }
    }
    let mut validity = Der::new(validity);
    let _not_before = validity.read_any()?;
    let (tag, content, _) = validity.read_any()?;
    let not_after = parse_time(tag, content)?;
    Ok(CertSummary {
        not_after,
        subject: name_to_string(subject_der)?,
        issuer: name_to_string(issuer_der)?,
        subject_der: subject_der.to_vec(),
        issuer_der: issuer_der.to_vec(),
        dns_names,
    })
}

fn parse_extensions(explicit: &[u8]) -> Res<Vec<String>> {
    let mut outer = Der::new(explicit);
    let list = outer.read(TAG_SEQUENCE)?;
    let mut list = Der::new(list);
    while !list.is_empty() {
        let ext = list.read(TAG_SEQUENCE)?;
        let mut ext = Der::new(ext);
        let oid = ext.read(TAG_OID)?;
        if ext.peek_tag() == Some(TAG_BOOLEAN) {
            ext.read_any()?;
        }
        let value = ext.read(TAG_OCTET_STRING)?;
        // 2.5.29.17 subjectAltName
        if oid == [0x55, 0x1d, 0x11] {
            let mut v = Der::new(value);
            let names = v.read(TAG_SEQUENCE)?;
            let mut names = Der::new(names);
            let mut out = Vec::new();
            while !names.is_empty() {
                let (tag, content, _) = names.read_any()?;
                // dNSName [2] IMPLICIT IA5String
                if tag == 0x82 {
                    out.push(String::from_utf8_lossy(content).into_owned());
                }
            }
            return Ok(out);
        }
    }
    Ok(Vec::new())
}

fn digits(s: &[u8]) -> Res<u32> {
    s.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(DerError("bad digit in time"))
        }
    })
}

fn parse_time(tag: u8, s: &[u8]) -> Res<i64> {
    let (year, rest) = match tag {
        TAG_UTC_TIME => {
            let yy = digits(s.get(..2).ok_or(DerError("short time"))?)?;
            let year = if yy >= 50 {
                1900 + i64::from(yy)
            } else {
                2000 + i64::from(yy)
            };
            (year, &s[2..])
        }
        TAG_GENERALIZED_TIME => {
            let y = digits(s.get(..4).ok_or(DerError("short time"))?)?;
            (i64::from(y), &s[4..])
        }
        _ => return Err(DerError("unexpected time type")),
    };
    let field = |i: usize| -> Res<u32> { digits(rest.get(i..i + 2).ok_or(DerError("short time"))?) };
    let (month, day, hour, min, sec) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    crate::date::unix_seconds(year, month, day, hour, min, sec).ok_or(DerError("time out of range"))
}

/// Short names Go prints for attribute types (`attributeTypeNames` in crypto/x509/pkix).
fn short_name(oid: &[u8]) -> Option<&'static str> {
    match oid {
        [0x55, 0x04, 0x03] => Some("CN"),
        [0x55, 0x04, 0x05] => Some("SERIALNUMBER"),
        [0x55, 0x04, 0x06] => Some("C"),
        [0x55, 0x04, 0x07] => Some("L"),
        [0x55, 0x04, 0x08] => Some("ST"),
        [0x55, 0x04, 0x09] => Some("STREET"),
        [0x55, 0x04, 0x0a] => Some("O"),
        [0x55, 0x04, 0x0b] => Some("OU"),
        [0x55, 0x04, 0x11] => Some("POSTALCODE"),
        _ => None,
    }
}

/// Dotted form of an OID.
fn oid_string(oid: &[u8]) -> Res<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        if cur > (u64::MAX >> 7) {
            return Err(DerError("oid arc too large"));
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = if cur < 80 { cur / 40 } else { 2 };
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        } else if i + 1 == oid.len() {
            return Err(DerError("truncated oid"));
        }
    }
    if arcs.is_empty() {
        return Err(DerError("empty oid"));
    }
    let mut s = String::new();
    for (i, a) in arcs.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{a}");
    }
    Ok(s)
}

/// A string attribute value, or `None` for types Go would not accept as a string.
fn decode_string(tag: u8, content: &[u8]) -> Option<String> {
    match tag {
        TAG_UTF8 | TAG_PRINTABLE | TAG_IA5 | TAG_NUMERIC => {
            std::str::from_utf8(content).ok().map(str::to_string)
        }
        TAG_T61 => Some(content.iter().map(|&b| char::from(b)).collect()),
        TAG_BMP => {
            if !content.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Go's `asn1.Marshal` of a string: PrintableString when every byte allows it, UTF8String
/// otherwise.
fn marshal_go_string(s: &str) -> Vec<u8> {
    let printable = s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    });
    let tag = if printable { TAG_PRINTABLE } else { TAG_UTF8 };
    let mut out = vec![tag];
    let len = s.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(s.as_bytes());
    out
}

fn escape_value(v: &str, out: &mut String) {
    let last = v.len().saturating_sub(1);
    for (k, c) in v.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// One printed attribute: (type, value) where value is already a Go-style string.
enum Atv {
    Named(&'static str, String),
    Raw(String, String),
}

/// Prints a DER `Name` like Go's `pkix.Name.String`: non-standard attributes first in the
/// sequence (so last in the string), then C, ST, L, STREET, POSTALCODE, O, OU, CN,
/// SERIALNUMBER each as one (possibly multi-valued) RDN, and the whole sequence reversed.
pub fn name_to_string(name_der: &[u8]) -> Res<String> {
    let mut outer = Der::new(name_der);
    let seq = outer.read(TAG_SEQUENCE)?;
    let mut seq = Der::new(seq);
    let mut extra: Vec<Atv> = Vec::new();
    // Parsed fields in Go's fixed order.
    const ORDER: [&str; 9] = [
        "C",
        "ST",
        "L",
        "STREET",
        "POSTALCODE",
        "O",
        "OU",
        "CN",
        "SERIALNUMBER",
    ];
    let mut fields: Vec<Vec<String>> = vec![Vec::new(); ORDER.len()];
    while !seq.is_empty() {
        let set = seq.read(TAG_SET)?;
        let mut set = Der::new(set);
        while !set.is_empty() {
            let atv = set.read(TAG_SEQUENCE)?;
            let mut atv = Der::new(atv);
            let oid = atv.read(TAG_OID)?;
            let (tag, content, whole) = atv.read_any()?;
            let value = decode_string(tag, content);
            match (short_name(oid), value) {
                (Some(short), Some(v)) => {
                    let idx = ORDER.iter().position(|o| *o == short).unwrap_or(0);
                    if short == "CN" || short == "SERIALNUMBER" {
                        // Go keeps the last one only.
                        fields[idx] = vec![v];
                    } else {
                        fields[idx].push(v);
                    }
                }
                (_, Some(v)) => {
                    let hex = hex(&marshal_go_string(&v));
                    extra.push(Atv::Raw(oid_string(oid)?, hex));
                }
                (_, None) => extra.push(Atv::Raw(oid_string(oid)?, hex(whole))),
            }
        }
    }
    let mut rdns: Vec<Vec<Atv>> = extra.into_iter().map(|a| vec![a]).collect();
    for (short, values) in ORDER.iter().zip(fields) {
        if !values.is_empty() {
            rdns.push(values.into_iter().map(|v| Atv::Named(short, v)).collect());
        }
    }
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match atv {
                Atv::Named(short, v) => {
                    out.push_str(short);
                    out.push('=');
                    escape_value(v, &mut out);
                }
                Atv::Raw(oid, hex) => {
                    out.push_str(oid);
                    out.push_str("=#");
                    out.push_str(hex);
                }
            }
        }
    }
    Ok(out)
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if content.len() < 128 {
            v.push(content.len() as u8);
        } else {
            v.push(0x82);
            v.extend_from_slice(&(content.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(content);
        v
    }

    fn atv(oid: &[u8], tag: u8, value: &str) -> Vec<u8> {
        let mut inner = tlv(TAG_OID, oid);
        inner.extend(tlv(tag, value.as_bytes()));
        tlv(TAG_SET, &tlv(TAG_SEQUENCE, &inner))
    }

    #[test]
    fn names_print_like_go() {
        let mut seq = Vec::new();
        seq.extend(atv(&[0x55, 4, 6], TAG_PRINTABLE, "US"));
        seq.extend(atv(&[0x55, 4, 10], TAG_UTF8, "Acme, Inc."));
        seq.extend(atv(&[0x55, 4, 3], TAG_UTF8, "localhost"));
        seq.extend(atv(
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
            TAG_IA5,
            "a@b.c",
        ));
        let name = tlv(TAG_SEQUENCE, &seq);
        assert_eq!(
            name_to_string(&name).unwrap(),
            "CN=localhost,O=Acme\\, Inc.,C=US,1.2.840.113549.1.9.1=#0c056140622e63"
        );
        // Order in the certificate does not matter: Go reorders.
        let mut seq = Vec::new();
        seq.extend(atv(&[0x55, 4, 3], TAG_UTF8, "localhost"));
        seq.extend(atv(&[0x55, 4, 10], TAG_UTF8, "Test Org"));
        seq.extend(atv(&[0x55, 4, 11], TAG_UTF8, " a"));
        seq.extend(atv(&[0x55, 4, 11], TAG_UTF8, "#b"));
        assert_eq!(
            name_to_string(&tlv(TAG_SEQUENCE, &seq)).unwrap(),
            "CN=localhost,OU=\\ a+OU=\\#b,O=Test Org"
        );
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(TAG_UTC_TIME, b"491231235959Z").unwrap(), 2_524_607_999);
        assert_eq!(parse_time(TAG_UTC_TIME, b"700101000000Z").unwrap(), 0);
        assert_eq!(
            parse_time(TAG_GENERALIZED_TIME, b"20500101000000Z").unwrap(),
            2_524_608_000
        );
        assert!(parse_time(TAG_UTC_TIME, b"70").is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        for data in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01",
            b"\x1f\x00",
        ] {
            assert!(parse_certificate(data).is_err());
        }
    }
}
