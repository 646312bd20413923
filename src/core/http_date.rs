//! What a server's answer says about time: its `Date` (IMF-fixdate, `Tue, 01 Dec 2026 13:44:08 GMT`,
//! the one form HTTP servers send) and how long it asks clients to wait (`Retry-After` in seconds or
//! as a date, `x-amz-retry-after` in milliseconds). Anything else reads as nothing.

use std::time::Duration;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// An IMF-fixdate, as Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    // "Tue, 01 Dec 2026 13:44:08 GMT": 29 bytes, fields at fixed places.
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = std::str::from_utf8(b.get(r)?).ok()?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let month = match b.get(8..11)? {
        b"Jan" => Month::January,
        b"Feb" => Month::February,
        b"Mar" => Month::March,
        b"Apr" => Month::April,
        b"May" => Month::May,
        b"Jun" => Month::June,
        b"Jul" => Month::July,
        b"Aug" => Month::August,
        b"Sep" => Month::September,
        b"Oct" => Month::October,
        b"Nov" => Month::November,
        b"Dec" => Month::December,
        _ => return None,
    };
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let date = Date::from_calendar_date(num(12..16)? as i32, month, num(5..7)? as u8).ok()?;
    let time = Time::from_hms(num(17..19)? as u8, num(20..22)? as u8, num(23..25)? as u8).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// How long an answer asks to wait before the next request, from its `x-amz-retry-after`
/// (milliseconds) or `Retry-After` (seconds, or a date read against `now`).
pub fn retry_after(
    amz_retry_after: Option<&str>,
    retry_after: Option<&str>,
    now: OffsetDateTime,
) -> Option<Duration> {
    if let Some(ms) = amz_retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    let v = retry_after?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    let wait = at.saturating_sub(now.unix_timestamp());
    Some(Duration::from_secs(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdates_and_nothing_else() {
        assert_eq!(
            parse_http_date("Tue, 01 Dec 2026 13:44:08 GMT"),
            Some(1_796_132_648)
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "",
            "Sun, 06 Növ 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn waits_asked_for() {
        let now = OffsetDateTime::from_unix_timestamp(784_111_777).unwrap();
        assert_eq!(
            retry_after(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(None, Some(" 3 "), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(None, Some("Sun, 06 Nov 1994 08:49:47 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(None, Some("Sun, 06 Nov 1994 08:49:27 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(Some("soon"), Some("-1"), now), None);
        assert_eq!(retry_after(None, None, now), None);
    }
}
