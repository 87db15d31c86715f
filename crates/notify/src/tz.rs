//! Time zones for `time_intervals`' `location`: a reader of TZif files (RFC 8536, versions 1–3,
//! including the POSIX TZ footer that covers times past the table) and a loader that finds them
//! where Go's `time.LoadLocation` does. Reading zoneinfo files is the only IO in this crate.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// A named time zone: UTC, a fixed offset, or transitions read from a TZif file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    name: String,
    zone: Zone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Zone {
    Utc,
    Table(Table),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalType {
    offset: i32,
    is_dst: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    /// Transition instants (Unix seconds), ascending, each with the index of the type in force
    /// from then on.
    transitions: Vec<(i64, usize)>,
    types: Vec<LocalType>,
    /// The POSIX TZ rule for instants after the last transition.
    footer: Option<PosixTz>,
}

impl Location {
    /// Coordinated Universal Time.
    pub fn utc() -> Location {
        Location {
            name: "UTC".to_string(),
            zone: Zone::Utc,
        }
    }

    /// Reads a TZif file's bytes, naming the zone `name`.
    pub fn from_tzif(name: &str, data: &[u8]) -> Result<Location> {
        let table = parse_tzif(data).map_err(|reason| Error::BadZoneinfo {
            name: name.to_string(),
            reason,
        })?;
        Ok(Location {
            name: name.to_string(),
            zone: Zone::Table(table),
        })
    }

    /// Finds `name` as Go's `time.LoadLocation` does: "" and "UTC" are UTC, "Local" is the
    /// machine's `/etc/localtime` (UTC when there is none), anything else is looked up under
    /// `$ZONEINFO` (a directory) and then the system zoneinfo directories.
    pub fn load(name: &str) -> Result<Location> {
        match name {
            "" | "UTC" => return Ok(Location::utc()),
            "Local" => {
                return match std::fs::read("/etc/localtime") {
                    Ok(data) => Location::from_tzif("Local", &data),
                    Err(_) => Ok(Location {
                        name: "Local".to_string(),
                        zone: Zone::Utc,
                    }),
                };
            }
            _ => {}
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(Error::UnknownTimeZone(name.to_string()));
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("ZONEINFO").filter(|d| !d.is_empty()) {
            dirs.push(PathBuf::from(dir));
        }
        for d in [
            "/usr/share/zoneinfo/",
            "/usr/share/lib/zoneinfo/",
            "/usr/lib/locale/TZ/",
            "/etc/zoneinfo/",
        ] {
            dirs.push(PathBuf::from(d));
        }
        for dir in dirs {
            let path = dir.join(name);
            if let Ok(data) = std::fs::read(&path) {
                return Location::from_tzif(name, &data);
            }
        }
        Err(Error::UnknownTimeZone(name.to_string()))
    }

    /// The name the location was loaded by, as Alertmanager prints it back.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seconds east of UTC in force at `unix_secs`.
    pub fn offset_at(&self, unix_secs: i64) -> i32 {
        match &self.zone {
            Zone::Utc => 0,
            Zone::Table(t) => t.offset_at(unix_secs),
        }
    }
}

impl Table {
    fn offset_at(&self, sec: i64) -> i32 {
        let first = |t: &Table| t.types.get(t.first_type()).map_or(0, |z| z.offset);
        if self.transitions.is_empty() || sec < self.transitions[0].0 {
            if self.transitions.is_empty()
                && let Some(f) = &self.footer
            {
                return f.offset_at(sec);
            }
            return first(self);
        }
        // The last transition at or before `sec`.
        let i = self.transitions.partition_point(|&(t, _)| t <= sec) - 1;
        if i == self.transitions.len() - 1
            && let Some(f) = &self.footer
        {
            return f.offset_at(sec);
        }
        self.types.get(self.transitions[i].1).map_or(0, |z| z.offset)
    }

    /// The type in force before the first transition, chosen as Go's `lookupFirstZone` does.
    fn first_type(&self) -> usize {
        let used = self.transitions.iter().any(|&(_, i)| i == 0);
        if !used {
            return 0;
        }
        if let Some(&(_, i)) = self.transitions.first()
            && self.types.get(i).is_some_and(|z| z.is_dst)
        {
            for zi in (0..i).rev() {
                if !self.types[zi].is_dst {
                    return zi;
                }
            }
        }
        self.types.iter().position(|z| !z.is_dst).unwrap_or(0)
    }
}

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.data.len() < n {
            return Err("truncated file".to_string());
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn header(r: &mut Reader<'_>) -> Result<Header, String> {
    if r.take(4)? != b"TZif" {
        return Err("missing TZif magic".to_string());
    }
    let version = r.take(1)?[0];
    r.take(15)?;
    let mut counts = [0usize; 6];
    for c in &mut counts {
        *c = usize::try_from(r.u32()?).map_err(|_| "count out of range".to_string())?;
    }
    Ok(Header {
        version,
        isutcnt: counts[0],
        isstdcnt: counts[1],
        leapcnt: counts[2],
        timecnt: counts[3],
        typecnt: counts[4],
        charcnt: counts[5],
    })
}

fn parse_tzif(data: &[u8]) -> Result<Table, String> {
    let mut r = Reader { data };
    let mut h = header(&mut r)?;
    let mut time_size = 4;
    if h.version >= b'2' {
        // Skip the 32-bit block; the 64-bit one after it says the same and more.
        let skip = h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
        r.take(skip)?;
        h = header(&mut r)?;
        time_size = 8;
    }
    if h.typecnt == 0 {
        return Err("no local time types".to_string());
    }
    let mut times = Vec::with_capacity(h.timecnt);
    for _ in 0..h.timecnt {
        times.push(if time_size == 8 {
            r.i64()?
        } else {
            i64::from(r.i32()?)
        });
    }
    let idx = r.take(h.timecnt)?.to_vec();
    let mut types = Vec::with_capacity(h.typecnt);
    for _ in 0..h.typecnt {
        let offset = r.i32()?;
        let b = r.take(2)?;
        types.push(LocalType {
            offset,
            is_dst: b[0] != 0,
        });
    }
    r.take(h.charcnt)?;
    r.take(h.leapcnt * (time_size + 4))?;
    r.take(h.isstdcnt)?;
    r.take(h.isutcnt)?;
    let mut transitions = Vec::with_capacity(h.timecnt);
    for (t, i) in times.into_iter().zip(idx) {
        let i = usize::from(i);
        if i >= types.len() {
            return Err(format!("transition to local time type {i} which does not exist"));
        }
        transitions.push((t, i));
    }
    let footer = if h.version >= b'2' {
        let rest = r.data;
        let text = rest
            .strip_prefix(b"\n")
            .and_then(|t| t.iter().position(|&b| b == b'\n').map(|end| &t[..end]));
        match text {
            Some(t) if !t.is_empty() => {
                let s = std::str::from_utf8(t).map_err(|_| "footer is not UTF-8".to_string())?;
                Some(PosixTz::parse(s).ok_or_else(|| format!("bad POSIX TZ footer {s:?}"))?)
            }
            _ => None,
        }
    } else {
        None
    };
    Ok(Table {
        transitions,
        types,
        footer,
    })
}

/// A POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixTz {
    /// Seconds east of UTC (POSIX writes west, so the sign is flipped on reading).
    std_offset: i32,
    dst: Option<(i32, Rule, Rule)>,
}

/// When daylight time starts or ends: a day rule plus seconds after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    day: DayRule,
    secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: day 0..=365, February 29 counted.
    Zero(i64),
    /// `Mm.w.d`: weekday d of week w (5 = last) of month m.
    Month(i64, i64, i64),
}

impl PosixTz {
    fn parse(s: &str) -> Option<PosixTz> {
        let mut p = Cursor { s, i: 0 };
        p.name()?;
        let std_offset = -p.offset()?;
        if p.done() {
            return Some(PosixTz {
                std_offset,
                dst: None,
            });
        }
        p.name()?;
        let dst_offset = if p.done() || p.peek() == Some(b',') {
            std_offset + 3600
        } else {
            -p.offset()?
        };
        let (start, end) = if p.done() {
            // US rules by default, as Go and glibc assume.
            (
                Rule {
                    day: DayRule::Month(3, 2, 0),
                    secs: 7200,
                },
                Rule {
                    day: DayRule::Month(11, 1, 0),
                    secs: 7200,
                },
            )
        } else {
            p.eat(b',')?;
            let start = p.rule()?;
            p.eat(b',')?;
            let end = p.rule()?;
            (start, end)
        };
        if !p.done() {
            return None;
        }
        Some(PosixTz {
            std_offset,
            dst: Some((dst_offset, start, end)),
        })
    }

    /// The offset at `sec`, computed as Go's `tzset` does for the UTC year containing `sec`.
    fn offset_at(&self, sec: i64) -> i32 {
        let Some((dst_offset, start_rule, end_rule)) = self.dst else {
            return self.std_offset;
        };
        let days = sec.div_euclid(86400);
        let (year, _, _) = civil_from_days(days);
        let year_start = days_from_civil(year, 1, 1) * 86400;
        let ysec = sec - year_start;
        let start = rule_time(year, start_rule) - i64::from(self.std_offset);
        let end = rule_time(year, end_rule) - i64::from(dst_offset);
        let in_dst = if start <= end {
            ysec >= start && ysec < end
        } else {
            // Southern hemisphere: daylight time spans the new year.
            !(ysec >= end && ysec < start)
        };
        if in_dst { dst_offset } else { self.std_offset }
    }
}

/// Seconds from the start of `year` (local wall clock) to the moment `r` names.
fn rule_time(year: i64, r: Rule) -> i64 {
    let leap = is_leap(year);
    let day = match r.day {
        DayRule::Julian(n) => {
            let mut d = n - 1;
            if leap && n >= 60 {
                d += 1;
            }
            d
        }
        DayRule::Zero(n) => n,
        DayRule::Month(m, w, wd) => {
            let first = days_from_civil(year, m, 1);
            let first_wd = weekday(first);
            let mut d = (wd - first_wd).rem_euclid(7) + (w - 1) * 7;
            let len = days_in_month(year, m);
            while d >= len {
                d -= 7;
            }
            first + d - days_from_civil(year, 1, 1)
        }
    };
    day * 86400 + r.secs
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn name(&mut self) -> Option<()> {
        if self.peek()? == b'<' {
            let end = self.s[self.i..].find('>')?;
            self.i += end + 1;
            return Some(());
        }
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }

    fn number(&mut self) -> Option<i64> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.s[start..self.i].parse().ok()
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, sign as written.
    fn offset(&mut self) -> Option<i32> {
        let neg = match self.peek()? {
            b'-' => {
                self.i += 1;
                true
            }
            b'+' => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let mut secs = self.number()? * 3600;
        if self.eat(b':').is_some() {
            secs += self.number()? * 60;
            if self.eat(b':').is_some() {
                secs += self.number()?;
            }
        }
        let secs = i32::try_from(secs).ok()?;
        Some(if neg { -secs } else { secs })
    }

    fn rule(&mut self) -> Option<Rule> {
        let day = match self.peek()? {
            b'J' => {
                self.i += 1;
                let n = self.number()?;
                (1..=365).contains(&n).then_some(DayRule::Julian(n))?
            }
            b'M' => {
                self.i += 1;
                let m = self.number()?;
                self.eat(b'.')?;
                let w = self.number()?;
                self.eat(b'.')?;
                let d = self.number()?;
                let ok = (1..=12).contains(&m) && (1..=5).contains(&w) && (0..=6).contains(&d);
                ok.then_some(DayRule::Month(m, w, d))?
            }
            _ => {
                let n = self.number()?;
                (0..=365).contains(&n).then_some(DayRule::Zero(n))?
            }
        };
        let secs = if self.eat(b'/').is_some() {
            // Version 3 allows negative hours and hours up to 167.
            i64::from(self.offset()?)
        } else {
            7200
        };
        Some(Rule { day, secs })
    }
}

// Civil calendar arithmetic (proleptic Gregorian), after Howard Hinnant's algorithms.

/// 0 = Sunday.
pub(crate) fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// [`model::civil::days_from_civil`] with the signed fields the zone and interval code computes in.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    model::civil::days_from_civil(y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

/// [`model::civil::civil_from_days`] with signed fields.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let (y, m, d) = model::civil::civil_from_days(days);
    (y, i64::from(m), i64::from(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(weekday(0), 4); // Thursday
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn posix_rules() {
        let tz = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(tz.std_offset, 3600);
        // 2024-03-31 01:00 UTC is the spring-forward instant in the EU.
        assert_eq!(tz.offset_at(utc(2024, 3, 31, 0, 59)), 3600);
        assert_eq!(tz.offset_at(utc(2024, 3, 31, 1, 0)), 7200);
        assert_eq!(tz.offset_at(utc(2024, 10, 27, 0, 59)), 7200);
        assert_eq!(tz.offset_at(utc(2024, 10, 27, 1, 0)), 3600);
        let ny = PosixTz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(ny.offset_at(utc(2024, 3, 10, 6, 59)), -5 * 3600);
        assert_eq!(ny.offset_at(utc(2024, 3, 10, 7, 0)), -4 * 3600);
        assert_eq!(ny.offset_at(utc(2024, 11, 3, 5, 59)), -4 * 3600);
        assert_eq!(ny.offset_at(utc(2024, 11, 3, 6, 0)), -5 * 3600);
        // Southern hemisphere and angle-bracket names.
        let syd = PosixTz::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(syd.offset_at(utc(2024, 1, 15, 0, 0)), 11 * 3600);
        assert_eq!(syd.offset_at(utc(2024, 7, 15, 0, 0)), 10 * 3600);
        let fixed = PosixTz::parse("<+0530>-5:30").unwrap();
        assert_eq!(fixed.offset_at(0), 5 * 3600 + 1800);
        assert!(PosixTz::parse("X").is_none());
        assert!(PosixTz::parse("CET-1CEST,M13.5.0,M10.5.0").is_none());
    }

    /// A hand-made version 2 file: one transition to DST in 1970 and a footer.
    fn synthetic_v2() -> Vec<u8> {
        fn hdr(out: &mut Vec<u8>, timecnt: u32, typecnt: u32, charcnt: u32) {
            out.extend_from_slice(b"TZif2");
            out.extend_from_slice(&[0; 15]);
            for c in [0, 0, 0, timecnt, typecnt, charcnt] {
                out.extend_from_slice(&u32::to_be_bytes(c));
            }
        }
        let mut out = Vec::new();
        hdr(&mut out, 1, 2, 8);
        out.extend_from_slice(&i32::to_be_bytes(1000));
        out.push(1);
        out.extend_from_slice(&i32::to_be_bytes(3600));
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&i32::to_be_bytes(7200));
        out.extend_from_slice(&[1, 4]);
        out.extend_from_slice(b"CET\0CEST");
        hdr(&mut out, 1, 2, 8);
        out.extend_from_slice(&i64::to_be_bytes(1000));
        out.push(1);
        out.extend_from_slice(&i32::to_be_bytes(3600));
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&i32::to_be_bytes(7200));
        out.extend_from_slice(&[1, 4]);
        out.extend_from_slice(b"CET\0CEST");
        out.extend_from_slice(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
        out
    }

    #[test]
    fn synthetic_tzif() {
        let loc = Location::from_tzif("Test/Zone", &synthetic_v2()).unwrap();
        assert_eq!(loc.name(), "Test/Zone");
        assert_eq!(
            loc.offset_at(0),
            3600,
            "before the first transition: first standard type"
        );
        // After the last transition the footer rules.
        assert_eq!(loc.offset_at(utc(2024, 1, 1, 0, 0)), 3600);
        assert_eq!(loc.offset_at(utc(2024, 7, 1, 0, 0)), 7200);
        let mut bad = synthetic_v2();
        bad.truncate(30);
        assert!(matches!(
            Location::from_tzif("x", &bad),
            Err(Error::BadZoneinfo { .. })
        ));
        assert!(Location::from_tzif("x", b"nope").is_err());
    }

    #[test]
    fn version_1_file_without_footer() {
        let mut out = Vec::new();
        out.extend_from_slice(b"TZif\0");
        out.extend_from_slice(&[0; 15]);
        for c in [0u32, 0, 0, 2, 2, 8] {
            out.extend_from_slice(&c.to_be_bytes());
        }
        for t in [1000i32, 2000] {
            out.extend_from_slice(&t.to_be_bytes());
        }
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(-18000i32).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(-14400i32).to_be_bytes());
        out.extend_from_slice(&[1, 4]);
        out.extend_from_slice(b"EST\0EDT\0");
        let loc = Location::from_tzif("V1", &out).unwrap();
        assert_eq!(loc.offset_at(999), -18000);
        assert_eq!(loc.offset_at(1000), -14400);
        assert_eq!(loc.offset_at(2000), -18000);
        assert_eq!(loc.offset_at(1 << 40), -18000, "no footer: the last type stays");
    }

    #[test]
    fn load_builtin_and_unknown() {
        assert_eq!(Location::load("UTC").unwrap(), Location::utc());
        assert_eq!(Location::load("").unwrap().offset_at(12345), 0);
        assert_eq!(Location::load("Local").unwrap().name(), "Local");
        assert_eq!(
            Location::load("Mars/Olympus").unwrap_err().to_string(),
            "unknown time zone Mars/Olympus"
        );
        assert!(Location::load("../etc/passwd").is_err());
        assert!(Location::load("/etc/localtime").is_err());
    }

    #[test]
    fn real_zones_if_installed() {
        if !std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
            eprintln!("no /usr/share/zoneinfo: skipping real-zone checks");
            return;
        }
        let berlin = Location::load("Europe/Berlin").unwrap();
        assert_eq!(berlin.offset_at(utc(2024, 3, 31, 0, 59)), 3600);
        assert_eq!(berlin.offset_at(utc(2024, 3, 31, 1, 0)), 7200);
        assert_eq!(berlin.offset_at(utc(1980, 7, 1, 0, 0)), 7200);
        assert_eq!(berlin.offset_at(utc(1975, 7, 1, 0, 0)), 3600, "no DST in 1975");
        // Far past any table: the footer.
        assert_eq!(berlin.offset_at(utc(2100, 7, 1, 0, 0)), 7200);
        assert_eq!(berlin.offset_at(utc(2100, 12, 1, 0, 0)), 3600);
        let ny = Location::load("America/New_York").unwrap();
        assert_eq!(ny.offset_at(utc(2024, 3, 10, 6, 59)), -5 * 3600);
        assert_eq!(ny.offset_at(utc(2024, 3, 10, 7, 0)), -4 * 3600);
        assert_eq!(ny.offset_at(utc(2007, 3, 12, 12, 0)), -4 * 3600, "2007 rules");
        assert_eq!(ny.offset_at(utc(2006, 3, 13, 12, 0)), -5 * 3600, "pre-2007 rules");
        let kolkata = Location::load("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.offset_at(utc(2024, 1, 1, 0, 0)), 19800);
    }
}
