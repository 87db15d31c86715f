//! DNS messages on the wire (RFC 1035): a query encoder and a response parser, plus the text
//! form of records that blackbox_exporter's regular expressions are written against (miekg/dns's
//! `RR.String()`: `name.\tttl\tclass\ttype\trdata`). The parser reads bytes from the network:
//! every read is bounds-checked, compression pointers are followed at most
//! [`MAX_POINTER_JUMPS`] times and names are limited to 255 bytes, so any input ends in a
//! message or an error, never a panic or a loop.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_HINFO: u16 = 13;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_DNAME: u16 = 39;
pub const TYPE_SPF: u16 = 99;
pub const TYPE_ANY: u16 = 255;
pub const TYPE_CAA: u16 = 257;
pub const CLASS_IN: u16 = 1;

/// How many compression pointers one name may follow.
pub const MAX_POINTER_JUMPS: usize = 64;
/// Longest name on the wire, in bytes (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;

const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("MD", 3),
    ("MF", 4),
    ("CNAME", 5),
    ("SOA", 6),
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("NULL", 10),
    ("PTR", 12),
    ("HINFO", 13),
    ("MINFO", 14),
    ("MX", 15),
    ("TXT", 16),
    ("RP", 17),
    ("AFSDB", 18),
    ("X25", 19),
    ("ISDN", 20),
    ("RT", 21),
    ("NSAPPTR", 23),
    ("SIG", 24),
    ("KEY", 25),
    ("PX", 26),
    ("GPOS", 27),
    ("AAAA", 28),
    ("LOC", 29),
    ("NXT", 30),
    ("EID", 31),
    ("NIMLOC", 32),
    ("SRV", 33),
    ("ATMA", 34),
    ("NAPTR", 35),
    ("KX", 36),
    ("CERT", 37),
    ("DNAME", 39),
    ("OPT", 41),
    ("APL", 42),
    ("DS", 43),
    ("SSHFP", 44),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("DHCID", 49),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("NINFO", 56),
    ("RKEY", 57),
    ("TALINK", 58),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("OPENPGPKEY", 61),
    ("CSYNC", 62),
    ("ZONEMD", 63),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("SPF", 99),
    ("UINFO", 100),
    ("UID", 101),
    ("GID", 102),
    ("UNSPEC", 103),
    ("NID", 104),
    ("L32", 105),
    ("L64", 106),
    ("LP", 107),
    ("EUI48", 108),
    ("EUI64", 109),
    ("TKEY", 249),
    ("TSIG", 250),
    ("IXFR", 251),
    ("AXFR", 252),
    ("MAILB", 253),
    ("MAILA", 254),
    ("ANY", 255),
    ("URI", 256),
    ("CAA", 257),
    ("AVC", 258),
    ("AMTRELAY", 260),
    ("TA", 32768),
    ("DLV", 32769),
];

const CLASSES: &[(&str, u16)] = &[
    ("IN", 1),
    ("CS", 2),
    ("CH", 3),
    ("HS", 4),
    ("NONE", 254),
    ("ANY", 255),
];

const RCODES: &[(&str, u16)] = &[
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
    ("BADSIG", 16),
    ("BADVERS", 16),
    ("BADKEY", 17),
    ("BADTIME", 18),
    ("BADMODE", 19),
    ("BADNAME", 20),
    ("BADALG", 21),
    ("BADTRUNC", 22),
    ("BADCOOKIE", 23),
];

/// `A`, `AAAA`, … or `TYPE123`.
pub fn type_from_name(s: &str) -> Option<u16> {
    let upper = s.to_ascii_uppercase();
    TYPES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, v)| *v)
        .or_else(|| upper.strip_prefix("TYPE")?.parse().ok())
}

pub fn type_name(t: u16) -> String {
    TYPES
        .iter()
        .find(|(_, v)| *v == t)
        .map_or_else(|| format!("TYPE{t}"), |(n, _)| (*n).to_string())
}

pub fn class_from_name(s: &str) -> Option<u16> {
    let upper = s.to_ascii_uppercase();
    CLASSES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, v)| *v)
        .or_else(|| upper.strip_prefix("CLASS")?.parse().ok())
}

pub fn class_name(c: u16) -> String {
    CLASSES
        .iter()
        .find(|(_, v)| *v == c)
        .map_or_else(|| format!("CLASS{c}"), |(n, _)| (*n).to_string())
}

pub fn rcode_from_name(s: &str) -> Option<u16> {
    RCODES.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
}

pub fn rcode_name(r: u16) -> String {
    RCODES
        .iter()
        .find(|(_, v)| *v == r)
        .map_or_else(|| r.to_string(), |(n, _)| (*n).to_string())
}

/// Why bytes are not a DNS message, or a name cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    Truncated(&'static str),
    BadLabel(&'static str),
    NameTooLong,
    TooManyPointers,
    BadRdata(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(what) => write!(f, "dns message truncated in {what}"),
            Self::BadLabel(why) => write!(f, "bad label: {why}"),
            Self::NameTooLong => write!(f, "name longer than {MAX_NAME_LEN} bytes"),
            Self::TooManyPointers => {
                write!(f, "more than {MAX_POINTER_JUMPS} compression pointers in a name")
            }
            Self::BadRdata(t) => write!(f, "bad rdata for {t}"),
        }
    }
}

impl std::error::Error for WireError {}

/// The fixed 12-byte header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub rcode: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// Record data of the types whose text form is known; everything else stays raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// NS, CNAME, PTR, DNAME.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    /// TXT, SPF, HINFO.
    Strings(Vec<Vec<u8>>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Caa {
        flags: u8,
        tag: Vec<u8>,
        value: Vec<u8>,
    },
    Unknown(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

/// Appends the wire form of a dotted name (a trailing dot is optional; `.` is the root).
pub fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(WireError::BadLabel("empty label"));
            }
            let len = u8::try_from(label.len())
                .ok()
                .filter(|&l| l <= 63)
                .ok_or(WireError::BadLabel("label longer than 63 bytes"))?;
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - start > MAX_NAME_LEN {
        out.truncate(start);
        return Err(WireError::NameTooLong);
    }
    Ok(())
}

/// A query with one question, no EDNS (like blackbox_exporter's).
pub fn encode_query(
    id: u16,
    name: &str,
    qtype: u16,
    qclass: u16,
    recursion_desired: bool,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.push(if recursion_desired { 0x01 } else { 0x00 });
    out.push(0);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    encode_name(name, &mut out)?;
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&qclass.to_be_bytes());
    Ok(out)
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated(what))?;
        let s = self.msg.get(self.pos..end).ok_or(WireError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, WireError> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Reads the (possibly compressed) name at `pos`; returns it in text form with a trailing dot
/// and the position right after it in the original byte stream.
pub fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), WireError> {
    let mut text = String::new();
    let mut wire_len = 0usize;
    let mut jumps = 0usize;
    let mut after: Option<usize> = None;
    loop {
        let &len = msg.get(pos).ok_or(WireError::Truncated("name"))?;
        match len & 0xc0 {
            0x00 => {
                let len = usize::from(len);
                wire_len += len + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(WireError::NameTooLong);
                }
                if len == 0 {
                    if text.is_empty() {
                        text.push('.');
                    }
                    return Ok((text, after.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(WireError::Truncated("label"))?;
                escape_label(label, &mut text);
                text.push('.');
                pos += 1 + len;
            }
            0xc0 => {
                let &low = msg
                    .get(pos + 1)
                    .ok_or(WireError::Truncated("compression pointer"))?;
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(WireError::TooManyPointers);
                }
                if after.is_none() {
                    after = Some(pos + 2);
                }
                pos = (usize::from(len & 0x3f) << 8) | usize::from(low);
            }
            _ => return Err(WireError::BadLabel("extended label types are not supported")),
        }
    }
}

/// miekg/dns's escaping of a label in presentation form.
fn escape_label(label: &[u8], out: &mut String) {
    for &b in label {
        match b {
            b'.' | b' ' | b'\'' | b'@' | b';' | b'(' | b')' | b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            b if !(b' '..=b'~').contains(&b) => {
                let _ = write!(out, "\\{b:03}");
            }
            b => out.push(char::from(b)),
        }
    }
}

fn parse_record(r: &mut Reader<'_>) -> Result<Record, WireError> {
    let name = r.name()?;
    let rtype = r.u16("record type")?;
    let class = r.u16("record class")?;
    let ttl = r.u32("record ttl")?;
    let rdlen = usize::from(r.u16("rdlength")?);
    let start = r.pos;
    let end = start.checked_add(rdlen).ok_or(WireError::Truncated("rdata"))?;
    if end > r.msg.len() {
        return Err(WireError::Truncated("rdata"));
    }
    let rdata = &r.msg[start..end];
    // Names inside rdata may point anywhere in the message, so they are read from the whole
    // message, then checked to end inside the rdata.
    let mut sub = Reader {
        msg: r.msg,
        pos: start,
    };
    let within = |sub: &Reader<'_>, t: &'static str| {
        if sub.pos == end {
            Ok(())
        } else {
            Err(WireError::BadRdata(t))
        }
    };
    let data = match rtype {
        TYPE_A => RData::A(Ipv4Addr::from(
            <[u8; 4]>::try_from(rdata).map_err(|_| WireError::BadRdata("A"))?,
        )),
        TYPE_AAAA => RData::Aaaa(Ipv6Addr::from(
            <[u8; 16]>::try_from(rdata).map_err(|_| WireError::BadRdata("AAAA"))?,
        )),
        TYPE_NS | TYPE_CNAME | TYPE_PTR | TYPE_DNAME => {
            let n = sub.name()?;
            within(&sub, "name")?;
            RData::Name(n)
        }
        TYPE_MX => {
            let preference = sub.u16("MX")?;
            let exchange = sub.name()?;
            within(&sub, "MX")?;
            RData::Mx { preference, exchange }
        }
        TYPE_SOA => {
            let mname = sub.name()?;
            let rname = sub.name()?;
            let soa = RData::Soa {
                mname,
                rname,
                serial: sub.u32("SOA")?,
                refresh: sub.u32("SOA")?,
                retry: sub.u32("SOA")?,
                expire: sub.u32("SOA")?,
                minimum: sub.u32("SOA")?,
            };
            within(&sub, "SOA")?;
            soa
        }
        TYPE_SRV => {
            let priority = sub.u16("SRV")?;
            let weight = sub.u16("SRV")?;
            let port = sub.u16("SRV")?;
            let target = sub.name()?;
            within(&sub, "SRV")?;
            RData::Srv {
                priority,
                weight,
                port,
                target,
            }
        }
        TYPE_TXT | TYPE_SPF | TYPE_HINFO => {
            let mut strings = Vec::new();
            let mut rest = rdata;
            while let Some((&len, tail)) = rest.split_first() {
                let (s, tail) = tail
                    .split_at_checked(usize::from(len))
                    .ok_or(WireError::BadRdata("TXT"))?;
                strings.push(s.to_vec());
                rest = tail;
            }
            RData::Strings(strings)
        }
        TYPE_CAA => {
            let (&flags, rest) = rdata.split_first().ok_or(WireError::BadRdata("CAA"))?;
            let (&tag_len, rest) = rest.split_first().ok_or(WireError::BadRdata("CAA"))?;
            let (tag, value) = rest
                .split_at_checked(usize::from(tag_len))
                .ok_or(WireError::BadRdata("CAA"))?;
            RData::Caa {
                flags,
                tag: tag.to_vec(),
                value: value.to_vec(),
            }
        }
        _ => RData::Unknown(rdata.to_vec()),
    };
    r.pos = end;
    Ok(Record {
        name,
        rtype,
        class,
        ttl,
        data,
    })
}

/// Parses a whole message. Trailing bytes after the last record are ignored, as most resolvers
/// do.
pub fn parse_message(msg: &[u8]) -> Result<Message, WireError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16("header")?;
    let flags = r.u16("header")?;
    let header = Header {
        id,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0x0f) as u8,
        authoritative: flags & 0x0400 != 0,
        truncated: flags & 0x0200 != 0,
        recursion_desired: flags & 0x0100 != 0,
        recursion_available: flags & 0x0080 != 0,
        rcode: flags & 0x000f,
        qdcount: r.u16("header")?,
        ancount: r.u16("header")?,
        nscount: r.u16("header")?,
        arcount: r.u16("header")?,
    };
    // Counts come from outside: never pre-allocate from them.
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        let name = r.name()?;
        let qtype = r.u16("question")?;
        let qclass = r.u16("question")?;
        questions.push(Question { name, qtype, qclass });
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    for (count, section) in [header.ancount, header.nscount, header.arcount]
        .into_iter()
        .zip(sections.iter_mut())
    {
        for _ in 0..count {
            section.push(parse_record(&mut r)?);
        }
    }
    let [answers, authority, additional] = sections;
    Ok(Message {
        header,
        questions,
        answers,
        authority,
        additional,
    })
}

fn quote_string(s: &[u8], out: &mut String) {
    out.push('"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            b if !(b' '..=b'~').contains(&b) => {
                let _ = write!(out, "\\{b:03}");
            }
            b => out.push(char::from(b)),
        }
    }
    out.push('"');
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::A(ip) => write!(f, "{ip}"),
            Self::Aaaa(ip) => write!(f, "{ip}"),
            Self::Name(n) => f.write_str(n),
            Self::Mx { preference, exchange } => write!(f, "{preference} {exchange}"),
            Self::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => {
                write!(f, "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
            Self::Strings(strings) => {
                let mut s = String::new();
                for (i, part) in strings.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    quote_string(part, &mut s);
                }
                f.write_str(&s)
            }
            Self::Srv {
                priority,
                weight,
                port,
                target,
            } => write!(f, "{priority} {weight} {port} {target}"),
            Self::Caa { flags, tag, value } => {
                let mut s = String::new();
                quote_string(value, &mut s);
                write!(f, "{flags} {} {s}", String::from_utf8_lossy(tag))
            }
            Self::Unknown(data) => {
                write!(f, "\\# {} ", data.len())?;
                for b in data {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Record {
    /// miekg/dns's presentation form, which blackbox_exporter's RR regular expressions match.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}\t{}",
            self.name,
            self.ttl,
            class_name(self.class),
            type_name(self.rtype),
            self.data
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn response_with(answer_rdata: &[u8], rtype: u16) -> Vec<u8> {
        let mut m = encode_query(7, "example.com", rtype, CLASS_IN, true).unwrap();
        m[2] |= 0x80;
        m[7] = 1; // ancount
        m.extend_from_slice(&[0xc0, 12]); // pointer to the question name
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&300u32.to_be_bytes());
        m.extend_from_slice(&(answer_rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(answer_rdata);
        m
    }

    #[test]
    fn query_encoding() {
        let q = encode_query(0x1234, "www.example.com.", TYPE_A, CLASS_IN, true).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        assert!(encode_query(1, "a..b", TYPE_A, CLASS_IN, true).is_err());
        assert!(encode_query(1, &"a".repeat(64), TYPE_A, CLASS_IN, true).is_err());
        assert!(encode_query(1, &["abc"; 70].join("."), TYPE_A, CLASS_IN, true).is_err());
        assert_eq!(
            &encode_query(1, ".", TYPE_NS, CLASS_IN, false).unwrap()[12..],
            b"\x00\x00\x02\x00\x01"
        );
    }

    #[test]
    fn record_text_like_miekg() {
        let m = parse_message(&response_with(&[192, 0, 2, 1], TYPE_A)).unwrap();
        assert_eq!(m.answers[0].to_string(), "example.com.\t300\tIN\tA\t192.0.2.1");
        let mut mx = vec![0, 10];
        mx.extend_from_slice(b"\x02mx\xc0\x0c");
        let m = parse_message(&response_with(&mx, TYPE_MX)).unwrap();
        assert_eq!(
            m.answers[0].to_string(),
            "example.com.\t300\tIN\tMX\t10 mx.example.com."
        );
        let m = parse_message(&response_with(b"\x05a\"b c\x01\x07", TYPE_TXT)).unwrap();
        assert_eq!(
            m.answers[0].to_string(),
            "example.com.\t300\tIN\tTXT\t\"a\\\"b c\" \"\\007\""
        );
        let m = parse_message(&response_with(&[1, 2], 4000)).unwrap();
        assert_eq!(
            m.answers[0].to_string(),
            "example.com.\t300\tIN\tTYPE4000\t\\# 2 0102"
        );
    }

    #[test]
    fn soa_and_counts() {
        let mut soa = b"\x02ns\xc0\x0c\x05admin\xc0\x0c".to_vec();
        for v in [2024010101u32, 7200, 3600, 1209600, 300] {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        let m = parse_message(&response_with(&soa, TYPE_SOA)).unwrap();
        assert_eq!(
            m.answers[0].to_string(),
            "example.com.\t300\tIN\tSOA\tns.example.com. admin.example.com. 2024010101 7200 3600 1209600 300"
        );
        assert_eq!(m.header.ancount, 1);
        assert!(m.header.response);
    }

    #[test]
    fn pointer_loops_and_truncation_are_errors() {
        let mut m = encode_query(1, "a", TYPE_A, CLASS_IN, true).unwrap();
        // Replace the question name with a pointer to itself.
        m.truncate(12);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_message(&m), Err(WireError::TooManyPointers));
        let full = response_with(&[1, 2, 3, 4], TYPE_A);
        for cut in 0..full.len() {
            assert!(parse_message(&full[..cut]).is_err(), "cut at {cut}");
        }
        // Wrong rdata length for A.
        assert!(parse_message(&response_with(&[1, 2, 3], TYPE_A)).is_err());
        // A name in rdata that runs past its rdlength.
        let bad = response_with(b"\x02ns", TYPE_NS);
        assert!(parse_message(&bad).is_err());
    }

    #[test]
    fn names_are_escaped() {
        let mut m = vec![0u8; 12];
        m[5] = 1;
        m.extend_from_slice(b"\x03a.b\x02\x01 \x00\x00\x01\x00\x01");
        let msg = parse_message(&m).unwrap();
        assert_eq!(msg.questions[0].name, "a\\.b.\\001\\ .");
    }

    #[test]
    fn name_tables() {
        assert_eq!(type_from_name("aaaa"), Some(TYPE_AAAA));
        assert_eq!(type_from_name("TYPE65280"), Some(65280));
        assert_eq!(type_from_name("nope"), None);
        assert_eq!(type_name(TYPE_SOA), "SOA");
        assert_eq!(rcode_from_name("NXDOMAIN"), Some(3));
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(class_from_name("CH"), Some(3));
        assert_eq!(class_name(999), "CLASS999");
    }
}
