//! Calendar arithmetic for the few dates a probe reads or writes: certificate validity, the
//! `Last-Modified` header, log timestamps. Proleptic Gregorian, UTC, no leap seconds.

use std::time::{SystemTime, UNIX_EPOCH};

pub use model::civil::{civil_from_days, days_from_civil};

/// Seconds since the epoch of a UTC date and time, or `None` when a field is out of range.
pub fn unix_seconds(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    Some(
        days_from_civil(year, month, day) * 86_400
            + i64::from(hour) * 3600
            + i64::from(min) * 60
            + i64::from(sec),
    )
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `2006-01-02T15:04:05.000000000Z`, the timestamp format of the probe logs.
pub fn format_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let (y, mo, da) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_number(s: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == s)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn hms(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split(':');
    let h = two_digits(it.next()?)?;
    let m = two_digits(it.next()?)?;
    let sec = two_digits(it.next()?)?;
    it.next().is_none().then_some((h, m, sec))
}

fn two_digits(s: &str) -> Option<u32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// An HTTP date in any of the three formats Go's `http.ParseTime` accepts: RFC 1123
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let fields: Vec<&str> = s.split(' ').collect();
    // RFC 1123: "Mon," "02" "Jan" "2006" "15:04:05" "GMT"
    if let [wd, day, mon, year, time, "GMT"] = fields.as_slice()
        && wd.len() == 4
        && wd.ends_with(',')
        && day.len() == 2
        && year.len() == 4
    {
        let (h, m, sec) = hms(time)?;
        return unix_seconds(
            year.parse().ok()?,
            month_number(mon)?,
            two_digits(day)?,
            h,
            m,
            sec,
        );
    }
    // RFC 850: "Monday," "02-Jan-06" "15:04:05" "GMT"
    if let [wd, date, time, "GMT"] = fields.as_slice()
        && wd.ends_with(',')
    {
        let mut parts = date.split('-');
        let day = two_digits(parts.next()?)?;
        let mon = month_number(parts.next()?)?;
        let yy = two_digits(parts.next()?)?;
        // Go's two-digit years: 69..99 are 19xx, 00..68 are 20xx.
        let year = if yy >= 69 {
            1900 + i64::from(yy)
        } else {
            2000 + i64::from(yy)
        };
        let (h, m, sec) = hms(time)?;
        return unix_seconds(year, mon, day, h, m, sec);
    }
    // asctime: "Mon" "Jan" "_2" "15:04:05" "2006", where "_2" is a space-padded day, which
    // splits into an empty field.
    let fields: Vec<&str> = fields.into_iter().filter(|f| !f.is_empty()).collect();
    if let [wd, mon, day, time, year] = fields.as_slice()
        && wd.len() == 3
        && !wd.ends_with(',')
        && (1..=2).contains(&day.len())
        && year.len() == 4
    {
        let (h, m, sec) = hms(time)?;
        let day: u32 = day.parse().ok()?;
        return unix_seconds(year.parse().ok()?, month_number(mon)?, day, h, m, sec);
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(parse_http_date("Wed, 32 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_http_date(""), None);
    }

    #[test]
    fn rfc3339() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_445_412_480, 5);
        assert_eq!(format_rfc3339(t), "2015-10-21T07:28:00.000000005Z");
    }
}
