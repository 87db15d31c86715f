//! Alertmanager's `time_intervals`: times of day, weekdays, days of the month, months and years,
//! evaluated in a time zone. Validation and messages follow `timeinterval.go`; knows nothing of
//! routes.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tz::{self, Location};

/// One `time_intervals` entry. A field left out places no restriction; a field given as an empty
/// list matches nothing (as in Alertmanager, where the list is then non-nil).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<TimeRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<Vec<WeekdayRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_month: Option<Vec<DayOfMonthRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<Vec<MonthRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<Vec<YearRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `[start_minute, end_minute)` within a day of 1440 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// An inclusive range of integers; what each one means depends on the wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    pub begin: i64,
    pub end: i64,
}

/// Days of the week, 0 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekdayRange(pub InclusiveRange);

/// Days of the month; negative values count back from the month's end (-1 = last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayOfMonthRange(pub InclusiveRange);

/// Months, 1 = January.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRange(pub InclusiveRange);

/// Years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearRange(pub InclusiveRange);

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn bad(msg: impl Into<String>) -> Error {
    Error::TimeInterval(msg.into())
}

/// Go's `strconv.Atoi`, with its error text.
fn atoi(s: &str) -> Result<i64> {
    s.parse::<i64>()
        .map_err(|_| bad(format!("strconv.Atoi: parsing {s:?}: invalid syntax")))
}

/// Splits `a:b` (or `a`) after lowercasing, as `stringableRangeFromString` does.
fn split_range(input: &str, member: impl Fn(&str) -> Result<i64>) -> Result<InclusiveRange> {
    let s = input.to_lowercase();
    if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 2 {
            return Err(bad(format!("couldn't parse range {s}, invalid format")));
        }
        return Ok(InclusiveRange {
            begin: member(parts[0])?,
            end: member(parts[1])?,
        });
    }
    let v = member(&s)?;
    Ok(InclusiveRange { begin: v, end: v })
}

impl WeekdayRange {
    pub fn parse(s: &str) -> Result<WeekdayRange> {
        let r = split_range(s, |m| {
            WEEKDAYS
                .iter()
                .position(|d| *d == m)
                .map(|i| i as i64)
                .ok_or_else(|| bad(format!("{m} is not a valid weekday")))
        })?;
        if r.begin > r.end {
            return Err(bad("start day cannot be before end day"));
        }
        Ok(WeekdayRange(r))
    }
}

impl DayOfMonthRange {
    pub fn parse(s: &str) -> Result<DayOfMonthRange> {
        let r = split_range(s, atoi)?;
        for v in [r.begin, r.end] {
            if v == 0 || !(-31..=31).contains(&v) {
                return Err(bad(format!("{v} is not a valid day of the month: out of range")));
            }
        }
        if r.begin < 0 && r.end > 0 {
            return Err(bad("end day must be negative if start day is negative"));
        }
        // Negative days can only be checked against the shortest month.
        let check = |v: i64| if v < 0 { 28 + v } else { v };
        if check(r.begin) > check(r.end) {
            return Err(bad(format!(
                "end day {} is always before start day {}",
                r.end, r.begin
            )));
        }
        Ok(DayOfMonthRange(r))
    }
}

impl MonthRange {
    pub fn parse(s: &str) -> Result<MonthRange> {
        let r = split_range(s, |m| match MONTHS.iter().position(|n| *n == m) {
            Some(i) => Ok(i as i64 + 1),
            None => m
                .parse::<i64>()
                .map_err(|_| bad(format!("{m} is not a valid month"))),
        })?;
        if r.begin > r.end {
            let name = |v: i64| {
                usize::try_from(v - 1)
                    .ok()
                    .and_then(|i| MONTHS.get(i))
                    .copied()
                    .unwrap_or("")
            };
            return Err(bad(format!(
                "end month {} is before start month {}",
                name(r.end),
                name(r.begin)
            )));
        }
        Ok(MonthRange(r))
    }
}

impl YearRange {
    pub fn parse(s: &str) -> Result<YearRange> {
        let r = split_range(s, atoi)?;
        if r.begin > r.end {
            return Err(bad(format!(
                "end year {} is before start year {}",
                r.end, r.begin
            )));
        }
        Ok(YearRange(r))
    }
}

/// `HH:MM` (00:00–23:59, or 24:00) into minutes of the day.
fn parse_clock(s: &str) -> Result<u32> {
    let invalid = || bad(format!("couldn't parse timestamp {s}, invalid format"));
    if s == "24:00" {
        return Ok(1440);
    }
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
        return Err(invalid());
    }
    let h = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let m = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    if h > 23 || m > 59 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

impl TimeRange {
    pub fn parse(start: &str, end: &str) -> Result<TimeRange> {
        if start.is_empty() || end.is_empty() {
            return Err(bad("both start and end times must be provided"));
        }
        let start_minute = parse_clock(start)?;
        let end_minute = parse_clock(end)?;
        if start_minute >= end_minute {
            return Err(bad("start time cannot be equal or greater than end time"));
        }
        Ok(TimeRange {
            start_minute,
            end_minute,
        })
    }
}

impl InclusiveRange {
    fn text(&self, name: impl Fn(i64) -> String) -> String {
        if self.begin == self.end {
            name(self.begin)
        } else {
            format!("{}:{}", name(self.begin), name(self.end))
        }
    }
}

/// The civil fields of an instant in some zone.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    weekday: i64,
    minute_of_day: i64,
    /// Days in this month as Alertmanager computes them (see [`go_days_in_month`]).
    days_in_month: i64,
}

fn civil(unix_ms: i64, loc: Option<&Location>) -> Civil {
    let secs = unix_ms.div_euclid(1000);
    let offset = loc.map_or(0, |l| i64::from(l.offset_at(secs)));
    let local = secs + offset;
    let days = local.div_euclid(86400);
    let (year, month, day) = tz::civil_from_days(days);
    Civil {
        year,
        month,
        day,
        weekday: tz::weekday(days),
        minute_of_day: local.rem_euclid(86400) / 60,
        days_in_month: go_days_in_month(year, month, loc),
    }
}

/// Alertmanager measures a month as the hours from local midnight on the 1st to local midnight on
/// the 1st of the next month, divided by 24 and truncated. In a month where clocks spring forward
/// that is one day short (March in Berlin "has" 30 days), which shifts negative `days_of_month`.
/// Reproduced on purpose so Pharos mutes exactly when Alertmanager would.
fn go_days_in_month(year: i64, month: i64, loc: Option<&Location>) -> i64 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let start = local_midnight_utc(year, month, loc);
    let end = local_midnight_utc(ny, nm, loc);
    (end - start) / 3600 / 24
}

/// The Unix second of local midnight on the 1st of a month, resolved as Go's `time.Date` does:
/// with the offset in force just before, then corrected if that offset no longer holds.
fn local_midnight_utc(year: i64, month: i64, loc: Option<&Location>) -> i64 {
    let wall = tz::days_from_civil(year, month, 1) * 86400;
    let Some(loc) = loc else {
        return wall;
    };
    let guess = wall - i64::from(loc.offset_at(wall - 86400));
    let off = i64::from(loc.offset_at(guess));
    let t = wall - off;
    if i64::from(loc.offset_at(t)) == off {
        t
    } else {
        wall - i64::from(loc.offset_at(t))
    }
}

fn clamp(n: i64, min: i64, max: i64) -> i64 {
    if n <= min {
        min
    } else if n >= max {
        max
    } else {
        n
    }
}

impl TimeInterval {
    /// Whether the instant `unix_ms` falls in this interval, evaluated in `location` (UTC if
    /// none), as Alertmanager's `ContainsTime`.
    pub fn contains(&self, unix_ms: i64) -> bool {
        let t = civil(unix_ms, self.location.as_ref());
        if let Some(times) = &self.times
            && !times.iter().any(|r| {
                t.minute_of_day >= i64::from(r.start_minute) && t.minute_of_day < i64::from(r.end_minute)
            })
        {
            return false;
        }
        if let Some(days) = &self.days_of_month {
            let dim = t.days_in_month;
            let hit = days.iter().any(|DayOfMonthRange(r)| {
                let begin = if r.begin < 0 { dim + r.begin + 1 } else { r.begin };
                let end = if r.end < 0 { dim + r.end + 1 } else { r.end };
                if begin > dim {
                    return false;
                }
                let begin = clamp(begin, -dim, dim);
                let end = clamp(end, -dim, dim);
                t.day >= begin && t.day <= end
            });
            if !hit {
                return false;
            }
        }
        if let Some(months) = &self.months
            && !months
                .iter()
                .any(|MonthRange(r)| t.month >= r.begin && t.month <= r.end)
        {
            return false;
        }
        if let Some(weekdays) = &self.weekdays
            && !weekdays
                .iter()
                .any(|WeekdayRange(r)| t.weekday >= r.begin && t.weekday <= r.end)
        {
            return false;
        }
        if let Some(years) = &self.years
            && !years
                .iter()
                .any(|YearRange(r)| t.year >= r.begin && t.year <= r.end)
        {
            return false;
        }
        true
    }
}

/// Whether any of `intervals` contains `unix_ms` (how a named interval is evaluated).
pub fn any_contains(intervals: &[TimeInterval], unix_ms: i64) -> bool {
    intervals.iter().any(|i| i.contains(unix_ms))
}

// ---------------------------------------------------------------------------------------------
// YAML. Range members are strings in Alertmanager, but a bare `5` is accepted as "5".

struct ScalarText;

impl Visitor<'_> for ScalarText {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

pub(crate) fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(ScalarText)
}

macro_rules! range_serde {
    ($ty:ident, $name:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = scalar_text(d)?;
                $ty::parse(&s).map_err(de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.text($name))
            }
        }
    };
}

range_serde!(WeekdayRange, |v: i64| {
    usize::try_from(v)
        .ok()
        .and_then(|i| WEEKDAYS.get(i))
        .map_or_else(|| v.to_string(), |d| d.to_string())
});
range_serde!(DayOfMonthRange, |v: i64| v.to_string());
range_serde!(MonthRange, |v: i64| v.to_string());
range_serde!(YearRange, |v: i64| v.to_string());

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeRangeYaml {
    #[serde(default, deserialize_with = "opt_scalar_text")]
    start_time: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar_text")]
    end_time: Option<String>,
}

fn opt_scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar_text(d).map(Some)
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let y = TimeRangeYaml::deserialize(d)?;
        TimeRange::parse(
            y.start_time.as_deref().unwrap_or(""),
            y.end_time.as_deref().unwrap_or(""),
        )
        .map_err(de::Error::custom)
    }
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let clock = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        let mut st = s.serialize_struct("TimeRange", 2)?;
        st.serialize_field("start_time", &clock(self.start_minute))?;
        st.serialize_field("end_time", &clock(self.end_minute))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Location::load(&name).map_err(de::Error::custom)
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> i64 {
        (tz::days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000
    }

    fn ti(yaml: &str) -> TimeInterval {
        serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn err(yaml: &str) -> String {
        match serde_yaml::from_str::<TimeInterval>(yaml) {
            Ok(t) => panic!("{yaml} parsed: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parse_and_validate_like_alertmanager() {
        let t = ti(
            "{times: [{start_time: '09:00', end_time: '24:00'}], weekdays: ['Monday:FRIDAY', saturday], days_of_month: ['1:5', '-3:-1', 7], months: ['january:march', '12', may], years: ['2020:2030', 2040]}",
        );
        assert_eq!(
            t.times.as_ref().unwrap()[0],
            TimeRange {
                start_minute: 540,
                end_minute: 1440
            }
        );
        assert_eq!(
            t.weekdays.as_ref().unwrap()[0].0,
            InclusiveRange { begin: 1, end: 5 }
        );
        assert_eq!(
            t.months.as_ref().unwrap()[2].0,
            InclusiveRange { begin: 5, end: 5 }
        );
        for (yaml, msg) in [
            (
                "{weekdays: ['friday:monday']}",
                "start day cannot be before end day",
            ),
            ("{weekdays: ['1']}", "1 is not a valid weekday"),
            (
                "{weekdays: ['monday:tuesday:friday']}",
                "couldn't parse range monday:tuesday:friday, invalid format",
            ),
            (
                "{days_of_month: ['0']}",
                "0 is not a valid day of the month: out of range",
            ),
            (
                "{days_of_month: ['32']}",
                "32 is not a valid day of the month: out of range",
            ),
            (
                "{days_of_month: ['-1:5']}",
                "end day must be negative if start day is negative",
            ),
            (
                "{days_of_month: ['5:3']}",
                "end day 3 is always before start day 5",
            ),
            (
                "{days_of_month: ['27:-3']}",
                "end day -3 is always before start day 27",
            ),
            ("{months: ['jan']}", "jan is not a valid month"),
            (
                "{months: ['may:march']}",
                "end month march is before start month may",
            ),
            (
                "{years: ['2030:2020']}",
                "end year 2020 is before start year 2030",
            ),
            (
                "{times: [{start_time: '8:00', end_time: '09:00'}]}",
                "couldn't parse timestamp 8:00, invalid format",
            ),
            (
                "{times: [{start_time: '10:00', end_time: '10:00'}]}",
                "start time cannot be equal or greater than end time",
            ),
            (
                "{times: [{start_time: '10:00'}]}",
                "both start and end times must be provided",
            ),
            (
                "{times: [{start_time: '10:00', end_time: '24:01'}]}",
                "couldn't parse timestamp 24:01, invalid format",
            ),
            ("{location: Mars/Olympus}", "unknown time zone Mars/Olympus"),
            ("{foo: 1}", "unknown field `foo`"),
        ] {
            let e = err(yaml);
            assert!(e.contains(msg), "{yaml}: {e}");
        }
        // Alertmanager does not range-check months or years beyond ordering.
        ti("{months: ['13'], years: ['-5']}");
        ti("{days_of_month: ['5:-1']}");
    }

    #[test]
    fn serialises_as_alertmanager() {
        let t = ti(
            "{times: [{start_time: '09:00', end_time: '24:00'}], weekdays: ['monday:friday', 'sunday'], months: ['january:march'], location: UTC}",
        );
        let y = serde_yaml::to_string(&t).unwrap();
        assert!(y.contains("start_time: 09:00"), "{y}");
        assert!(y.contains("end_time: 24:00"), "{y}");
        assert!(y.contains("monday:friday"), "{y}");
        assert!(y.contains("- sunday"), "{y}");
        assert!(y.contains("1:3"), "{y}");
        assert!(y.contains("location: UTC"), "{y}");
        let back: TimeInterval = serde_yaml::from_str(&y).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn contains_in_utc() {
        // 2024-01-01 was a Monday.
        let t = ti("{times: [{start_time: '09:00', end_time: '17:00'}], weekdays: ['monday:friday']}");
        assert!(t.contains(at(2024, 1, 1, 9, 0)));
        assert!(t.contains(at(2024, 1, 1, 16, 59)));
        assert!(!t.contains(at(2024, 1, 1, 17, 0)), "end is exclusive");
        assert!(!t.contains(at(2024, 1, 1, 8, 59)));
        assert!(!t.contains(at(2024, 1, 6, 12, 0)), "saturday");
        let all = TimeInterval::default();
        assert!(all.contains(at(1999, 12, 31, 23, 59)));
        let never = ti("{weekdays: []}");
        assert!(!never.contains(at(2024, 1, 1, 0, 0)));
        let late = ti("{times: [{start_time: '23:00', end_time: '24:00'}]}");
        assert!(late.contains(at(2024, 1, 1, 23, 59)));
        assert!(!late.contains(at(2024, 1, 2, 0, 0)));
    }

    #[test]
    fn days_of_month_negative_and_clamped() {
        let last = ti("{days_of_month: ['-1']}");
        assert!(last.contains(at(2024, 2, 29, 12, 0)));
        assert!(!last.contains(at(2024, 2, 28, 12, 0)));
        assert!(last.contains(at(2023, 4, 30, 12, 0)));
        let late = ti("{days_of_month: ['30:31']}");
        assert!(
            !late.contains(at(2023, 2, 28, 12, 0)),
            "begin past month end is skipped"
        );
        assert!(late.contains(at(2023, 4, 30, 0, 0)));
        let clamp = ti("{days_of_month: ['25:31']}");
        assert!(clamp.contains(at(2023, 2, 28, 0, 0)));
        let range = ti("{days_of_month: ['1:5', '-3:-1'], months: ['december'], years: ['2024']}");
        assert!(range.contains(at(2024, 12, 30, 0, 0)));
        assert!(range.contains(at(2024, 12, 3, 0, 0)));
        assert!(!range.contains(at(2024, 12, 10, 0, 0)));
        assert!(!range.contains(at(2025, 12, 3, 0, 0)));
        assert!(!range.contains(at(2024, 11, 3, 0, 0)));
    }

    #[test]
    fn across_dst_in_real_zones() {
        if !std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
            eprintln!("no /usr/share/zoneinfo: skipping DST checks");
            return;
        }
        let office = ti("{times: [{start_time: '09:00', end_time: '17:00'}], location: Europe/Berlin}");
        // Winter: 09:00 CET = 08:00 UTC.
        assert!(office.contains(at(2024, 1, 15, 8, 0)));
        assert!(!office.contains(at(2024, 1, 15, 7, 59)));
        assert!(!office.contains(at(2024, 1, 15, 16, 0)));
        // Summer: 09:00 CEST = 07:00 UTC.
        assert!(office.contains(at(2024, 7, 15, 7, 0)));
        assert!(!office.contains(at(2024, 7, 15, 6, 59)));
        assert!(!office.contains(at(2024, 7, 15, 15, 0)));
        // The night clocks spring forward (2024-03-31, 02:00 → 03:00 local = 01:00 UTC).
        let early = ti("{times: [{start_time: '02:00', end_time: '03:00'}], location: Europe/Berlin}");
        assert!(!early.contains(at(2024, 3, 31, 0, 59)), "01:59 CET");
        assert!(
            !early.contains(at(2024, 3, 31, 1, 0)),
            "03:00 CEST: 02:xx never happens"
        );
        // The night they fall back (2024-10-27, 03:00 CEST → 02:00 CET): 02:xx happens twice.
        assert!(early.contains(at(2024, 10, 27, 0, 30)), "02:30 CEST");
        assert!(early.contains(at(2024, 10, 27, 1, 30)), "02:30 CET");
        assert!(!early.contains(at(2024, 10, 27, 2, 0)), "03:00 CET");
        // Weekday boundaries move with the zone: Saturday 00:30 in New York is Saturday 05:30 UTC
        // in winter, but Friday 23:30 in New York is already Saturday in UTC.
        let weekend = ti("{weekdays: [saturday, sunday], location: America/New_York}");
        assert!(weekend.contains(at(2024, 1, 6, 5, 30)));
        assert!(!weekend.contains(at(2024, 1, 6, 4, 30)), "friday 23:30 EST");
        assert!(!weekend.contains(at(2024, 7, 6, 3, 30)), "friday 23:30 EDT");
        assert!(weekend.contains(at(2024, 7, 6, 4, 0)), "saturday 00:00 EDT");
        // New York's spring-forward: 2024-03-10 07:00 UTC.
        let ny_night = ti("{times: [{start_time: '01:00', end_time: '03:00'}], location: America/New_York}");
        assert!(ny_night.contains(at(2024, 3, 10, 6, 59)), "01:59 EST");
        assert!(!ny_night.contains(at(2024, 3, 10, 7, 0)), "03:00 EDT");
    }

    #[test]
    fn month_length_quirk_in_spring_forward_months() {
        if !std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
            return;
        }
        // Alertmanager computes March in Berlin as 743 hours = 30 "days", so -1 is March 30th.
        let last = ti("{days_of_month: ['-1'], location: Europe/Berlin}");
        assert!(last.contains(at(2024, 3, 30, 12, 0)));
        assert!(!last.contains(at(2024, 3, 31, 12, 0)));
        // October has 745 hours, still 31 days.
        assert!(last.contains(at(2024, 10, 31, 12, 0)));
        let utc = ti("{days_of_month: ['-1']}");
        assert!(utc.contains(at(2024, 3, 31, 12, 0)));
    }
}
