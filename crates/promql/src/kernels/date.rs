//! Calendar functions of a Unix time in UTC (`year`, `month`, `day_of_month`, `day_of_week`,
//! `day_of_year`, `days_in_month`, `hour`, `minute`), computed the way Go's `time` package does (Go ≥ 1.23)
//! so that results agree with Prometheus for every input, including the out-of-range ones.
//!
//! Go converts the Unix second count to an unsigned count of seconds since an "absolute" epoch, March 1
//! of year -292277022399, with wrapping 64-bit arithmetic, then splits it into calendar fields with the
//! Neri–Schneider algorithm on March-based years. Seconds below about -9.2e18 (including every NaN and
//! infinite input, see [`unix_seconds`]) wrap around to dates near year 292277026596; this module
//! reproduces that rather than "fixing" it.

/// Seconds per day.
const DAY: u64 = 86_400;
/// Years from the absolute epoch to internal year 1; a multiple of 400 so the calendar cycle lines up.
const ABSOLUTE_YEARS: i64 = 292_277_022_400;
/// Days from March 1 to the end of the year.
const MARCH_THRU_DECEMBER: i64 = 306;
/// Seconds from January 1 of year 1 to the Unix epoch.
const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * DAY as i64;
/// Seconds from the absolute epoch to January 1 of year 1.
const INTERNAL_TO_ABSOLUTE: i64 =
    (ABSOLUTE_YEARS * 365 + ABSOLUTE_YEARS / 400 * 97 + MARCH_THRU_DECEMBER) * DAY as i64;
/// Seconds from the absolute epoch to the Unix epoch.
const UNIX_TO_ABSOLUTE: i64 = UNIX_TO_INTERNAL + INTERNAL_TO_ABSOLUTE;

/// Converts a sample value to whole Unix seconds as Go's `int64(f)` does on amd64: truncation towards
/// zero, and `i64::MIN` (the CPU's "integer indefinite") for NaN, ±Inf and anything out of range. On
/// arm64 Go would saturate instead (NaN to 0); amd64 is the reference here.
pub fn unix_seconds(v: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        return i64::MIN;
    }
    v as i64
}

/// A UTC calendar reading of a Unix time, with Go's field conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    /// The proleptic Gregorian year (year 0 exists, as in Go).
    pub year: i64,
    /// 1 (January) to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 1 to 366.
    pub yday: u32,
    /// 0 (Sunday) to 6.
    pub weekday: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
}

impl CivilTime {
    /// The calendar reading of `secs` seconds since the Unix epoch, in UTC.
    pub fn from_unix(secs: i64) -> Self {
        let abs = (secs as u64).wrapping_add(UNIX_TO_ABSOLUTE as u64);
        let days = abs / DAY;
        let seconds_of_day = abs % DAY;

        // Neri–Schneider: split days into 400-year "centuries" and the year within one, with years
        // starting on March 1 so that the leap day is the last day of a year.
        let d = 4 * days + 3;
        let century = d / 146_097;
        let cd = (d % 146_097) | 3;
        let cyear = cd / 1461;
        let ayday = (cd % 1461) / 4;
        let m = 5 * ayday + 461;
        let amonth = m / 153;
        let mday = (m % 153) / 5;

        let jan_feb = ayday >= MARCH_THRU_DECEMBER as u64;
        let month = if jan_feb { amonth - 12 } else { amonth };
        let year = (century * 100 + cyear + u64::from(jan_feb)) as i64;
        let leap = cyear.is_multiple_of(4) && (cyear != 0 || century.is_multiple_of(4));
        let yday = if jan_feb {
            ayday - 305
        } else {
            ayday + 60 + u64::from(leap)
        };
        Self {
            year: year.wrapping_sub(ABSOLUTE_YEARS),
            month: month as u32,
            day: mday as u32 + 1,
            yday: yday as u32,
            // March 1 of the absolute year 0 was a Wednesday (3), like March 1, 2000.
            weekday: ((days + 3) % 7) as u32,
            hour: (seconds_of_day / 3600) as u32,
            minute: (seconds_of_day % 3600 / 60) as u32,
        }
    }
}

/// Days from the absolute epoch to `year-month-day`, where `day` may exceed the month (Go's
/// `dateToAbsDays`, wrapping like it for far-out years).
fn date_to_abs_days(year: i64, month: u32, day: i64) -> u64 {
    let jan_feb = u32::from(month < 3);
    let amonth = month + 12 * jan_feb;
    let y = (year as u64)
        .wrapping_sub(u64::from(jan_feb))
        .wrapping_add(ABSOLUTE_YEARS as u64);
    // (153 * amonth - 457) / 5 for amonth in 3..=14, in Go's strength-reduced form.
    let ayday = (979 * amonth - 2919) >> 5;
    let century = y / 100;
    let cyear = (y % 100) as u32;
    let cday = 1461 * cyear / 4;
    let century_days = century.wrapping_mul(146_097) / 4;
    century_days.wrapping_add((i64::from(cday + ayday) + day - 1) as u64)
}

/// `year(v)`.
pub fn year(v: f64) -> f64 {
    CivilTime::from_unix(unix_seconds(v)).year as f64
}

/// `month(v)`: 1 to 12.
pub fn month(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).month)
}

/// `day_of_month(v)`: 1 to 31.
pub fn day_of_month(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).day)
}

/// `day_of_week(v)`: 0 (Sunday) to 6.
pub fn day_of_week(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).weekday)
}

/// `day_of_year(v)`: 1 to 366.
pub fn day_of_year(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).yday)
}

/// `hour(v)`: 0 to 23.
pub fn hour(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).hour)
}

/// `minute(v)`: 0 to 59.
pub fn minute(v: f64) -> f64 {
    f64::from(CivilTime::from_unix(unix_seconds(v)).minute)
}

/// `days_in_month(v)`: 28 to 31. Computed like Prometheus as 32 minus the day-of-month of "day 32" of
/// the month, which Go normalises into the next month; this round trip (not a table) is what Go
/// returns for the wrapped far-future years as well.
pub fn days_in_month(v: f64) -> f64 {
    let t = CivilTime::from_unix(unix_seconds(v));
    let days = date_to_abs_days(t.year, t.month, 32);
    let unix = (days as i64)
        .wrapping_mul(DAY as i64)
        .wrapping_sub(UNIX_TO_ABSOLUTE);
    32.0 - f64::from(CivilTime::from_unix(unix).day)
}

/// The calendar function called `name` (`year`, `month`, `day_of_month`, `day_of_week`, `day_of_year`,
/// `days_in_month`, `hour` or `minute`) applied to `v`; `None` for any other name.
pub fn time_part(name: &str, v: f64) -> Option<f64> {
    let f: fn(f64) -> f64 = match name {
        "year" => year,
        "month" => month,
        "day_of_month" => day_of_month,
        "day_of_week" => day_of_week,
        "day_of_year" => day_of_year,
        "days_in_month" => days_in_month,
        "hour" => hour,
        "minute" => minute,
        _ => return None,
    };
    Some(f(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2006-01-02 22:04:05 UTC, a Monday.
    const GO_REFERENCE: f64 = 1136239445.0;

    #[test]
    fn absolute_offset_matches_go() {
        // Go's unixToAbsolute; Unix seconds below its negation wrap.
        assert_eq!(UNIX_TO_ABSOLUTE, 9_223_372_028_741_760_000);
    }

    #[test]
    fn epoch() {
        assert_eq!(year(0.0), 1970.0);
        assert_eq!(month(0.0), 1.0);
        assert_eq!(day_of_month(0.0), 1.0);
        assert_eq!(day_of_year(0.0), 1.0);
        assert_eq!(day_of_week(0.0), 4.0, "Thursday");
        assert_eq!(hour(0.0), 0.0);
        assert_eq!(minute(0.0), 0.0);
        assert_eq!(days_in_month(0.0), 31.0);
    }

    #[test]
    fn functions_test_examples() {
        assert_eq!(year(GO_REFERENCE), 2006.0);
        assert_eq!(month(GO_REFERENCE), 1.0);
        assert_eq!(day_of_month(GO_REFERENCE), 2.0);
        assert_eq!(day_of_year(GO_REFERENCE), 2.0);
        assert_eq!(day_of_week(GO_REFERENCE), 1.0);
        assert_eq!(hour(GO_REFERENCE), 22.0);
        assert_eq!(minute(GO_REFERENCE), 4.0);
        assert_eq!(year(1230767999.0), 2008.0);
        assert_eq!(year(1230768000.0), 2009.0);
        assert_eq!(month(1456790399.0) + day_of_month(1456790399.0) / 100.0, 2.29);
        assert_eq!(month(1456790400.0) + day_of_month(1456790400.0) / 100.0, 3.01);
        assert_eq!(day_of_year(1483191420.0), 366.0);
        assert_eq!(day_of_year(1672493820.0), 365.0);
        assert_eq!(days_in_month(1454284800.0), 29.0);
        assert_eq!(days_in_month(1485907200.0), 28.0);
    }

    #[test]
    fn time_part_by_name() {
        assert_eq!(time_part("hour", GO_REFERENCE), Some(22.0));
        assert_eq!(time_part("days_in_month", GO_REFERENCE), Some(31.0));
        assert_eq!(time_part("weekday", GO_REFERENCE), None);
    }

    #[test]
    fn leap_rules() {
        // 2000-02-29 (divisible by 400) exists; 1900-03-01 follows 1900-02-28.
        let feb29_2000 = 951782400.0;
        assert_eq!((month(feb29_2000), day_of_month(feb29_2000)), (2.0, 29.0));
        assert_eq!(days_in_month(feb29_2000), 29.0);
        assert_eq!(day_of_year(feb29_2000 + 86400.0), 61.0);
        let mar1_1900 = -2203891200.0;
        assert_eq!(
            (year(mar1_1900), month(mar1_1900), day_of_month(mar1_1900)),
            (1900.0, 3.0, 1.0)
        );
        assert_eq!(day_of_year(mar1_1900), 60.0);
        assert_eq!(days_in_month(mar1_1900 - 86400.0), 28.0);
        assert_eq!(day_of_year(mar1_1900 + 305.0 * 86400.0), 365.0);
    }

    #[test]
    fn negative_times_truncate_towards_zero() {
        // -0.5 s truncates to 0: still 1970-01-01 00:00.
        assert_eq!(year(-0.5), 1970.0);
        assert_eq!(hour(-0.5), 0.0);
        // -1 s is 1969-12-31 23:59:59, a Wednesday.
        assert_eq!(year(-1.0), 1969.0);
        assert_eq!(month(-1.0), 12.0);
        assert_eq!(day_of_month(-1.0), 31.0);
        assert_eq!(day_of_year(-1.0), 365.0);
        assert_eq!(day_of_week(-1.0), 3.0);
        assert_eq!(hour(-1.0), 23.0);
        assert_eq!(minute(-1.0), 59.0);
    }

    #[test]
    fn month_lengths() {
        let firsts = [
            (1704067200.0, 31.0), // 2024-01-01
            (1706745600.0, 29.0), // 2024-02-01
            (1711929600.0, 30.0), // 2024-04-01
            (1733011200.0, 31.0), // 2024-12-01
            (1738368000.0, 28.0), // 2025-02-01
        ];
        for (t, want) in firsts {
            assert_eq!(days_in_month(t), want, "{t}");
        }
    }

    #[test]
    fn every_day_of_a_leap_cycle_is_consistent() {
        // Walk 1999-12-31 .. 2004-01-02 day by day and check the fields against a simple calendar.
        let mut t = 946598400.0; // 1999-12-31
        let (mut y, mut m, mut d, mut yd, mut wd) = (1999, 12, 31, 365, 5);
        let len = |y: i64, m: u32| match m {
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        for _ in 0..1465 {
            let c = CivilTime::from_unix(t as i64 + 3600 * 13 + 60 * 7);
            assert_eq!(
                (c.year, c.month, c.day, c.yday, c.weekday),
                (y, m, d, yd, wd),
                "t={t}"
            );
            assert_eq!((c.hour, c.minute), (13, 7));
            assert_eq!(days_in_month(t), f64::from(len(y, m)));
            t += 86400.0;
            wd = (wd + 1) % 7;
            d += 1;
            yd += 1;
            if d > len(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                    yd = 1;
                }
            }
        }
    }

    #[test]
    fn non_finite_inputs_wrap_like_go_on_amd64() {
        assert_eq!(unix_seconds(f64::NAN), i64::MIN);
        assert_eq!(unix_seconds(f64::INFINITY), i64::MIN);
        assert_eq!(unix_seconds(f64::NEG_INFINITY), i64::MIN);
        assert_eq!(unix_seconds(1e19), i64::MIN);
        assert_eq!(unix_seconds(-9.2e18), -9_200_000_000_000_000_000);
        assert_eq!(unix_seconds(-1.9), -1);
        // Go: year(vector(±Inf)) = 292277026596.
        assert_eq!(year(f64::INFINITY), 292277026596.0);
        assert_eq!(year(f64::NAN), 292277026596.0);
        assert_eq!(CivilTime::from_unix(i64::MAX).year, 292277026596);
    }

    #[test]
    fn far_but_valid_times() {
        // 1e15 s after the epoch is still an ordinary date, year 31690708.
        assert_eq!(year(1e15), 31690708.0);
        // Year 1 and year 0 (proleptic, as in Go).
        let jan1_year1 = -62135596800.0;
        assert_eq!(
            (year(jan1_year1), month(jan1_year1), day_of_month(jan1_year1)),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(day_of_week(jan1_year1), 1.0, "Monday");
        assert_eq!(year(jan1_year1 - 1.0), 0.0);
        assert_eq!(day_of_year(jan1_year1 - 1.0), 366.0, "year 0 is a leap year");
    }
}
