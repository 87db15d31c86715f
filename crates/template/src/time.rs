//! Go's `time.Time` and `time.Duration` as templates see them: the calendar arithmetic, the
//! reference-layout formatter (`2006-01-02 15:04:05.999999999 -0700 MST`), `Duration.String` and the
//! methods templates call. Zones are a name and an offset handed in by the caller; no zone database.

pub(crate) use model::civil::{civil_from_days, days_from_civil};
use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::{Object, Value};

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Seconds from 0001-01-01 (Go's zero time) to 1970-01-01.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A fixed zone: its abbreviation (`UTC`, `CEST`; may be empty) and its offset east of UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Zone {
    pub name: String,
    pub offset_secs: i32,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_string(),
            offset_secs: 0,
        }
    }

    pub fn fixed(name: &str, offset_secs: i32) -> Zone {
        Zone {
            name: name.to_string(),
            offset_secs,
        }
    }
}

/// An instant with the zone it is displayed in, like Go's `time.Time` (without the monotonic
/// reading). Two times are equal (`eq`) only with the same instant and zone, as Go's `==` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time {
    secs: i64,
    nanos: u32,
    zone: Zone,
}

/// The calendar fields of a time in its zone.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32,
    yday: u32,
}

impl Time {
    /// `time.Unix(secs, nanos).UTC()`: nanoseconds outside [0, 1e9) carry into the seconds.
    pub fn from_unix(secs: i64, nanos: i64) -> Time {
        let secs = secs.saturating_add(nanos.div_euclid(NANOS_PER_SEC));
        let nanos = nanos.rem_euclid(NANOS_PER_SEC) as u32;
        Time {
            secs,
            nanos,
            zone: Zone::utc(),
        }
    }

    pub fn from_unix_nanos(ns: i64) -> Time {
        Time::from_unix(0, ns)
    }

    /// `time.UnixMilli(ms).UTC()`.
    pub fn from_unix_millis(ms: i64) -> Time {
        Time::from_unix(ms.div_euclid(1000), ms.rem_euclid(1000) * 1_000_000)
    }

    /// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
    pub fn zero() -> Time {
        Time {
            secs: ZERO_TIME_UNIX,
            nanos: 0,
            zone: Zone::utc(),
        }
    }

    /// The same instant shown in `zone` (Go's `t.In`).
    pub fn in_zone(&self, zone: Zone) -> Time {
        Time {
            secs: self.secs,
            nanos: self.nanos,
            zone,
        }
    }

    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    pub fn unix(&self) -> i64 {
        self.secs
    }

    pub fn nanosecond(&self) -> u32 {
        self.nanos
    }

    /// Nanoseconds since the epoch; wraps outside ±292 years as Go's does.
    pub fn unix_nanos(&self) -> i64 {
        self.secs
            .wrapping_mul(NANOS_PER_SEC)
            .wrapping_add(i64::from(self.nanos))
    }

    pub fn is_zero(&self) -> bool {
        self.secs == ZERO_TIME_UNIX && self.nanos == 0
    }

    /// `t.Add(d)` for a duration in nanoseconds.
    pub fn add(&self, d: i64) -> Time {
        let t = Time::from_unix(
            self.secs.saturating_add(d / NANOS_PER_SEC),
            i64::from(self.nanos) + d % NANOS_PER_SEC,
        );
        t.in_zone(self.zone.clone())
    }

    /// `t.Sub(u)` in nanoseconds, saturating like Go's.
    pub fn sub(&self, u: &Time) -> i64 {
        let d = (i128::from(self.secs) - i128::from(u.secs)) * i128::from(NANOS_PER_SEC)
            + (i128::from(self.nanos) - i128::from(u.nanos));
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Orders by instant only, as Go's `Before`/`After`/`Equal` do.
    pub fn cmp_instant(&self, u: &Time) -> Ordering {
        (self.secs, self.nanos).cmp(&(u.secs, u.nanos))
    }

    fn civil(&self) -> Civil {
        let local = self.secs.saturating_add(i64::from(self.zone.offset_secs));
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1) + 1) as u32;
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
        }
    }

    /// Go's `t.Format(layout)` with the reference time `Mon Jan 2 15:04:05 MST 2006`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, after) = next_std_chunk(rest);
            out.push_str(prefix);
            rest = after;
            let Some(std) = std else { break };
            self.format_std(&c, std, &mut out);
        }
        out
    }

    fn format_std(&self, c: &Civil, std: Std, out: &mut String) {
        match std {
            Std::Year => append_int(out, c.year % 100, 2),
            Std::LongYear => append_int(out, c.year, 4),
            Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
            Std::NumMonth => append_int(out, i64::from(c.month), 0),
            Std::ZeroMonth => append_int(out, i64::from(c.month), 2),
            Std::WeekDay => out.push_str(&DAYS[c.weekday as usize][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday as usize]),
            Std::Day => append_int(out, i64::from(c.day), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                append_int(out, i64::from(c.day), 0);
            }
            Std::ZeroDay => append_int(out, i64::from(c.day), 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                append_int(out, i64::from(c.yday), 0);
            }
            Std::ZeroYearDay => append_int(out, i64::from(c.yday), 3),
            Std::Hour => append_int(out, i64::from(c.hour), 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                append_int(out, i64::from(h), if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => append_int(out, i64::from(c.minute), 0),
            Std::ZeroMinute => append_int(out, i64::from(c.minute), 2),
            Std::Second => append_int(out, i64::from(c.second), 0),
            Std::ZeroSecond => append_int(out, i64::from(c.second), 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if self.zone.name.is_empty() {
                    let mut zone = self.zone.offset_secs / 60;
                    if zone < 0 {
                        out.push('-');
                        zone = -zone;
                    } else {
                        out.push('+');
                    }
                    append_int(out, i64::from(zone / 60), 2);
                    append_int(out, i64::from(zone % 60), 2);
                } else {
                    out.push_str(&self.zone.name);
                }
            }
            Std::NumTz {
                iso,
                colon,
                short,
                seconds,
            } => {
                let offset = self.zone.offset_secs;
                if iso && offset == 0 {
                    out.push('Z');
                    return;
                }
                let mut zone = offset / 60;
                let mut abs = offset;
                if zone < 0 {
                    out.push('-');
                    zone = -zone;
                    abs = -abs;
                } else {
                    out.push('+');
                }
                append_int(out, i64::from(zone / 60), 2);
                if !short {
                    if colon {
                        out.push(':');
                    }
                    append_int(out, i64::from(zone % 60), 2);
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    append_int(out, i64::from(abs % 60), 2);
                }
            }
            Std::Frac { sep, digits, trim } => {
                let mut frac = format!("{:09}", self.nanos);
                frac.truncate(digits);
                if trim {
                    while frac.ends_with('0') {
                        frac.pop();
                    }
                    if frac.is_empty() {
                        return;
                    }
                }
                out.push(sep);
                out.push_str(&frac);
            }
        }
    }

    /// `t.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// RFC 3339 with nanoseconds, as `encoding/json` writes a time.
    pub fn rfc3339_nano(&self) -> String {
        self.format("2006-01-02T15:04:05.999999999Z07:00")
    }

    /// The methods of `time.Time` templates can call.
    pub(crate) fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        let want = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(Error::Arg(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                )))
            }
        };
        let c = || self.civil();
        let r = match name {
            "Format" => want(1).and_then(|_| match &args[0] {
                Value::Str(layout) => Ok(Value::Str(self.format(layout))),
                other => Err(Error::arg_type("string", other.type_name())),
            }),
            "String" => want(0).map(|_| Value::Str(self.go_string())),
            "Unix" => want(0).map(|_| Value::Int(self.secs)),
            "UnixNano" => want(0).map(|_| Value::Int(self.unix_nanos())),
            "UnixMilli" => want(0).map(|_| {
                Value::Int(
                    self.secs
                        .wrapping_mul(1000)
                        .wrapping_add(i64::from(self.nanos / 1_000_000)),
                )
            }),
            "UnixMicro" => want(0).map(|_| {
                Value::Int(
                    self.secs
                        .wrapping_mul(1_000_000)
                        .wrapping_add(i64::from(self.nanos / 1000)),
                )
            }),
            "UTC" | "Local" => want(0).map(|_| Value::Time(self.in_zone(Zone::utc()))),
            "IsZero" => want(0).map(|_| Value::Bool(self.is_zero())),
            "Year" => want(0).map(|_| Value::Int(c().year)),
            "Month" => want(0).map(|_| month_value(c().month)),
            "Day" => want(0).map(|_| Value::Int(i64::from(c().day))),
            "Hour" => want(0).map(|_| Value::Int(i64::from(c().hour))),
            "Minute" => want(0).map(|_| Value::Int(i64::from(c().minute))),
            "Second" => want(0).map(|_| Value::Int(i64::from(c().second))),
            "Nanosecond" => want(0).map(|_| Value::Int(i64::from(self.nanos))),
            "YearDay" => want(0).map(|_| Value::Int(i64::from(c().yday))),
            "Weekday" => want(0).map(|_| weekday_value(c().weekday)),
            "Add" => want(1).and_then(|_| match &args[0] {
                Value::Duration(d) => Ok(Value::Time(self.add(*d))),
                other => Err(Error::arg_type("time.Duration", other.type_name())),
            }),
            "Sub" | "Before" | "After" | "Equal" => want(1).and_then(|_| match &args[0] {
                Value::Time(u) => Ok(match name {
                    "Sub" => Value::Duration(self.sub(u)),
                    "Before" => Value::Bool(self.cmp_instant(u) == Ordering::Less),
                    "After" => Value::Bool(self.cmp_instant(u) == Ordering::Greater),
                    _ => Value::Bool(self.cmp_instant(u) == Ordering::Equal),
                }),
                other => Err(Error::arg_type("time.Time", other.type_name())),
            }),
            _ => return None,
        };
        Some(r)
    }
}

/// The methods of `time.Duration` templates can call.
pub(crate) fn duration_method(d: i64, name: &str, args: &[Value]) -> Option<Result<Value>> {
    let want = |n: usize| -> Result<()> {
        if args.len() == n {
            Ok(())
        } else {
            Err(Error::Arg(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            )))
        }
    };
    let split = |unit: i64| (d / unit) as f64 + (d % unit) as f64 / unit as f64;
    let r = match name {
        "String" => want(0).map(|_| Value::Str(duration_string(d))),
        "Hours" => want(0).map(|_| Value::Float(split(3600 * NANOS_PER_SEC))),
        "Minutes" => want(0).map(|_| Value::Float(split(60 * NANOS_PER_SEC))),
        "Seconds" => want(0).map(|_| Value::Float(split(NANOS_PER_SEC))),
        "Milliseconds" => want(0).map(|_| Value::Int(d / 1_000_000)),
        "Microseconds" => want(0).map(|_| Value::Int(d / 1000)),
        "Nanoseconds" => want(0).map(|_| Value::Int(d)),
        "Abs" => want(0).map(|_| Value::Duration(if d == i64::MIN { i64::MAX } else { d.abs() })),
        "Round" | "Truncate" => want(1).and_then(|_| match &args[0] {
            Value::Duration(m) => Ok(Value::Duration(if name == "Round" {
                round_duration(d, *m)
            } else if *m <= 0 {
                d
            } else {
                d - d % m
            })),
            other => Err(Error::arg_type("time.Duration", other.type_name())),
        }),
        _ => return None,
    };
    Some(r)
}

fn round_duration(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

/// Go's `Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < NANOS_PER_SEC as u64 {
        let (unit, prec) = match u {
            0 => return "0s".to_string(),
            1..=999 => ("ns", 0),
            1000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        let frac = frac_digits(&mut u, prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let frac = frac_digits(&mut u, 9);
        let secs = u % 60;
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{mins}m"));
        }
        out.push_str(&format!("{secs}{frac}s"));
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits off the last `prec` decimal digits of `u` as `.ddd` without trailing zeros.
fn frac_digits(u: &mut u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let frac = *u % p;
    *u /= p;
    if frac == 0 {
        return String::new();
    }
    let mut s = format!(".{:0width$}", frac, width = prec as usize);
    while s.ends_with('0') {
        s.pop();
    }
    s
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A Go named integer type with a `String` method (`time.Month`, `time.Weekday`).
#[derive(Debug)]
struct NamedInt {
    value: i64,
    name: &'static str,
    type_name: &'static str,
}

impl Object for NamedInt {
    fn get(&self, name: &str, args: &[Value]) -> Option<Result<Value>> {
        (name == "String" && args.is_empty()).then(|| Ok(Value::Str(self.name.to_string())))
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::Int(self.value))
    }
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn go_string(&self) -> String {
        self.name.to_string()
    }
}

fn month_value(m: u32) -> Value {
    Value::Object(Arc::new(NamedInt {
        value: i64::from(m),
        name: MONTHS[m as usize - 1],
        type_name: "time.Month",
    }))
}

fn weekday_value(d: u32) -> Value {
    Value::Object(Arc::new(NamedInt {
        value: i64::from(d),
        name: DAYS[d as usize],
        type_name: "time.Weekday",
    }))
}

/// Appends `x` in decimal, zero-padded to `width` digits (after a minus sign, as Go does).
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    Tz,
    NumTz {
        iso: bool,
        colon: bool,
        short: bool,
        seconds: bool,
    },
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// Splits `layout` at its first layout element: the literal text before it, the element, and the
/// text after it. Recognises exactly the elements Go's `nextStdChunk` does.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let lower_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let found = |std: Std, len: usize| (&layout[..i], Some(std), &layout[i + len..]);
        match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    return found(Std::LongMonth, 7);
                }
                if !lower_at(i + 3) {
                    return found(Std::Month, 3);
                }
            }
            b'M' => {
                if at(i, "Mon") {
                    if at(i, "Monday") {
                        return found(Std::LongWeekDay, 6);
                    }
                    if !lower_at(i + 3) {
                        return found(Std::WeekDay, 3);
                    }
                }
                if at(i, "MST") {
                    return found(Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&c) = b.get(i + 1)
                    && (b'1'..=b'6').contains(&c)
                {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(c - b'1')];
                    return found(std, 2);
                }
                if at(i, "002") {
                    return found(Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if at(i, "15") {
                    return found(Std::Hour, 2);
                }
                return found(Std::NumMonth, 1);
            }
            b'2' => {
                if at(i, "2006") {
                    return found(Std::LongYear, 4);
                }
                return found(Std::Day, 1);
            }
            b'_' => {
                if at(i, "_2") {
                    if at(i, "_2006") {
                        return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                    }
                    return found(Std::UnderDay, 2);
                }
                if at(i, "__2") {
                    return found(Std::UnderYearDay, 3);
                }
            }
            b'3' => return found(Std::Hour12, 1),
            b'4' => return found(Std::Minute, 1),
            b'5' => return found(Std::Second, 1),
            b'P' if at(i, "PM") => return found(Std::PM, 2),
            b'p' if at(i, "pm") => return found(Std::Pm, 2),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let tz = |colon, short, seconds| Std::NumTz {
                    iso,
                    colon,
                    short,
                    seconds,
                };
                let lead = if iso { "Z" } else { "-" };
                let forms: [(&str, Std); 5] = [
                    ("070000", tz(false, false, true)),
                    ("07:00:00", tz(true, false, true)),
                    ("0700", tz(false, false, false)),
                    ("07:00", tz(true, false, false)),
                    ("07", tz(false, true, false)),
                ];
                for (form, std) in forms {
                    if at(i, lead) && at(i + 1, form) {
                        return found(std, 1 + form.len());
                    }
                }
            }
            b'.' | b',' => {
                if let Some(&c) = b.get(i + 1)
                    && (c == b'0' || c == b'9')
                {
                    let mut j = i + 1;
                    while j < b.len() && b[j] == c {
                        j += 1;
                    }
                    if !b.get(j).is_some_and(u8::is_ascii_digit) {
                        let std = Std::Frac {
                            sep: char::from(b[i]),
                            digits: (j - i - 1).min(9),
                            trim: c == b'9',
                        };
                        return (&layout[..i], Some(std), &layout[j..]);
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None, "")
}
