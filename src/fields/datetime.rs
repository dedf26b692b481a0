//! Datetime: the forms exports write dates in, to ISO 8601.

use super::offset::{digit, offset_bytes, parse_offset};
use super::*;

/// A bounds-checked byte cursor.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.i..).unwrap_or(&[])
    }

    /// Consumes ASCII spaces, returning how many.
    fn spaces(&mut self) -> usize {
        let start = self.i;
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        self.i - start
    }

    /// Consumes a run of ASCII digits, returning `(value, count)`. The value
    /// saturates, so it is only meaningful when `count` is small (callers
    /// check the count first).
    fn digits(&mut self) -> (u32, usize) {
        let start = self.i;
        let mut value: u32 = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            value = value.saturating_mul(10).saturating_add(u32::from(c - b'0'));
            self.i += 1;
        }
        (value, self.i - start)
    }
}

/// A validated calendar date.
#[derive(Clone, Copy)]
struct Date {
    year: u32,
    month: u32,
    day: u32,
}

/// A validated time of day.
#[derive(Clone, Copy)]
struct Time {
    hour: u32,
    minute: u32,
    second: u32,
}

const MIDNIGHT: Time = Time {
    hour: 0,
    minute: 0,
    second: 0,
};

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn check_date(year: u32, month: u32, day: u32) -> Result<Date, &'static str> {
    if !(1000..=9999).contains(&year) {
        return Err(YEAR_RANGE);
    }
    if !(1..=12).contains(&month) {
        return Err(MONTH_RANGE);
    }
    let dim = days_in_month(year, month);
    if month == 2 && day == 29 && dim == 28 {
        return Err(FEB_29);
    }
    if day == 0 || day > dim {
        return Err(NO_SUCH_DAY);
    }
    Ok(Date { year, month, day })
}

/// Reads a 4-digit year.
fn year(c: &mut Cursor<'_>) -> Result<u32, &'static str> {
    match c.digits() {
        (y, 4) => Ok(y),
        _ => Err(YEAR_RANGE),
    }
}

/// Maps a lower-case month name to `(month, is_short_form)`.
fn month_from_name(name: &[u8]) -> Option<(u32, bool)> {
    Some(match name {
        b"january" | b"januari" => (1, false),
        b"jan" => (1, true),
        b"february" | b"februari" | b"pebruari" => (2, false),
        b"feb" => (2, true),
        b"march" | b"maret" => (3, false),
        b"mar" => (3, true),
        b"april" => (4, false),
        b"apr" => (4, true),
        b"may" | b"mei" => (5, false),
        b"june" | b"juni" => (6, false),
        b"jun" => (6, true),
        b"july" | b"juli" => (7, false),
        b"jul" => (7, true),
        b"august" | b"agustus" => (8, false),
        b"aug" | b"agu" | b"agt" | b"ags" => (8, true),
        b"september" => (9, false),
        b"sep" | b"sept" => (9, true),
        b"october" | b"oktober" => (10, false),
        b"oct" | b"okt" => (10, true),
        b"november" | b"nopember" => (11, false),
        b"nov" => (11, true),
        b"december" | b"desember" => (12, false),
        b"dec" | b"des" => (12, true),
        _ => return None,
    })
}

/// Reads `H:MM` / `HH:MM` with optional `:SS` and validates the ranges.
fn time(c: &mut Cursor<'_>) -> Result<Time, &'static str> {
    let (hour, hour_digits) = c.digits();
    if !(1..=2).contains(&hour_digits) || !c.eat(b':') {
        return Err(EXPECTED_TIME);
    }
    let (minute, minute_digits) = c.digits();
    if minute_digits != 2 {
        return Err(EXPECTED_TIME);
    }
    let mut second = 0;
    if c.eat(b':') {
        let (s, second_digits) = c.digits();
        if second_digits != 2 {
            return Err(EXPECTED_TIME);
        }
        second = s;
        if let [b'.' | b',', d, ..] = c.rest()
            && d.is_ascii_digit()
        {
            return Err(FRACTIONAL_SECONDS);
        }
    }
    if hour > 23 {
        return Err(HOUR_RANGE);
    }
    if minute > 59 {
        return Err(MINUTE_RANGE);
    }
    if second > 59 {
        return Err(SECOND_RANGE);
    }
    Ok(Time {
        hour,
        minute,
        second,
    })
}

/// After a day-first date: nothing, or `[spaces] [,] [spaces] time` with at
/// least one space or the comma, and nothing after the time (no offset).
fn local_time_tail(c: &mut Cursor<'_>) -> Result<Time, &'static str> {
    if c.at_end() {
        return Ok(MIDNIGHT);
    }
    let before = c.spaces();
    let comma = c.eat(b',');
    let after = c.spaces();
    if !comma && before + after == 0 {
        return Err(TEXT_AFTER_DATE);
    }
    if c.at_end() {
        return Err(if comma {
            NOTHING_AFTER_COMMA
        } else {
            EXPECTED_TIME_AFTER_DATE
        });
    }
    let t = time(c)?;
    if !c.at_end() {
        return Err(TEXT_AFTER_TIME);
    }
    Ok(t)
}

/// `YYYY-MM-DD[(T| +)time[Z|±HH:MM|±HHMM]]`; the cursor is on the first `-`.
fn iso_form(c: &mut Cursor<'_>, year: u32, offset: i16) -> Result<(Date, Time, i16), &'static str> {
    c.eat(b'-');
    let (month, month_digits) = c.digits();
    if month_digits != 2 || !c.eat(b'-') {
        return Err(EXPECTED_DATE);
    }
    let (day, day_digits) = c.digits();
    if day_digits != 2 {
        return Err(EXPECTED_DATE);
    }
    let date = check_date(year, month, day)?;
    if c.at_end() {
        return Ok((date, MIDNIGHT, offset));
    }
    if !(c.eat(b'T') || c.eat(b't') || c.spaces() > 0) {
        return Err(TEXT_AFTER_DATE);
    }
    let t = time(c)?;
    let offset = match c.rest() {
        [] => offset,
        r @ ([b'Z' | b'z'] | [b'+' | b'-', ..]) => parse_offset(r)?,
        _ => return Err(TEXT_AFTER_TIME),
    };
    Ok((date, t, offset))
}

/// `D/M/YYYY[ time]`; the cursor is on the first `/`.
fn slash_form(c: &mut Cursor<'_>, day: u32) -> Result<(Date, Time), &'static str> {
    c.eat(b'/');
    let (month, month_digits) = c.digits();
    if !(1..=2).contains(&month_digits) || !c.eat(b'/') {
        return Err(EXPECTED_DATE);
    }
    let y = year(c)?;
    let date = check_date(y, month, day)?;
    Ok((date, local_time_tail(c)?))
}

/// `D MonthName YYYY[[,] time]`; the cursor is on the space after the day.
fn named_form(c: &mut Cursor<'_>, day: u32) -> Result<(Date, Time), &'static str> {
    c.spaces();
    let mut name = [0u8; 9];
    let mut len = 0;
    while let Some(ch) = c.peek() {
        if !ch.is_ascii_alphabetic() {
            break;
        }
        match name.get_mut(len) {
            Some(slot) => *slot = ch.to_ascii_lowercase(),
            None => return Err(UNKNOWN_MONTH),
        }
        len += 1;
        c.i += 1;
    }
    if len == 0 {
        return Err(EXPECTED_DATE);
    }
    if c.peek().is_some_and(|ch| !ch.is_ascii()) {
        return Err(UNKNOWN_MONTH);
    }
    let (month, short) = name
        .get(..len)
        .and_then(month_from_name)
        .ok_or(UNKNOWN_MONTH)?;
    if c.eat(b'.') && !short {
        return Err(DOT_AFTER_FULL_MONTH);
    }
    if c.spaces() == 0 {
        return Err(EXPECTED_DATE);
    }
    let y = year(c)?;
    let date = check_date(y, month, day)?;
    Ok((date, local_time_tail(c)?))
}

/// Parses a datetime and appends its ISO 8601 form with offset to `out`, e.g.
/// "2025-01-01T10:00:00+07:00". `offset` is used unless the value carries its
/// own offset (ISO forms only).
///
/// Accepted forms (month names case-insensitive, inner spaces may repeat):
///
/// 1. `D[D] MonthName YYYY[[,] H[H]:MM[:SS]]` — `01 January 2025, 10:00:00`,
///    `01 Januari 2025 10:00`, `1 Okt. 2025`. English and Indonesian names, full
///    and short (a short name may end with `.`).
/// 2. `YYYY-MM-DD`, optionally followed by `T` or spaces and `HH:MM[:SS]`, which
///    may carry its own offset `Z`, `±HH:MM` or `±HHMM` (then written instead of
///    `offset`).
/// 3. `D[D]/M[M]/YYYY[ H[H]:MM[:SS]]` — always day first.
///
/// A missing time is midnight; missing seconds are `:00`. The calendar is
/// validated (leap years, days per month, 0–23 / 0–59 / 0–59), years must be
/// 1000–9999 and fractional seconds are rejected. On error `out` is untouched.
pub fn parse_datetime(s: &str, offset: UtcOffset, out: &mut String) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(EMPTY);
    }
    let mut c = Cursor { b, i: 0 };
    let (lead, lead_digits) = c.digits();
    let (date, time, minutes) = match (lead_digits, c.peek()) {
        (4, Some(b'-')) => iso_form(&mut c, lead, offset.minutes)?,
        (1 | 2, Some(b'/')) => {
            let (d, t) = slash_form(&mut c, lead)?;
            (d, t, offset.minutes)
        }
        (1 | 2, Some(b' ')) => {
            let (d, t) = named_form(&mut c, lead)?;
            (d, t, offset.minutes)
        }
        _ => return Err(EXPECTED_DATE),
    };
    push_iso(out, date, time, minutes);
    Ok(())
}

/// Appends `YYYY-MM-DDTHH:MM:SS±HH:MM` (25 ASCII bytes) to `out`.
fn push_iso(out: &mut String, d: Date, t: Time, offset_minutes: i16) {
    // All fields were range-checked, so each fits the u16 used by `digit`.
    let two = |v: u32| {
        let v = v as u16;
        [digit(v / 10), digit(v)]
    };
    let y = d.year as u16;
    let [mo1, mo2] = two(d.month);
    let [d1, d2] = two(d.day);
    let [h1, h2] = two(t.hour);
    let [mi1, mi2] = two(t.minute);
    let [s1, s2] = two(t.second);
    let [o0, o1, o2, o3, o4, o5] = offset_bytes(offset_minutes);
    let bytes = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        mo1,
        mo2,
        b'-',
        d1,
        d2,
        b'T',
        h1,
        h2,
        b':',
        mi1,
        mi2,
        b':',
        s1,
        s2,
        o0,
        o1,
        o2,
        o3,
        o4,
        o5,
    ];
    // Every byte above is ASCII, so the conversion cannot fail; the fallback
    // only exists to keep this function free of `unwrap`.
    match std::str::from_utf8(&bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        parse_datetime(s, UtcOffset::default(), &mut out).map(|()| out)
    }

    fn off(s: &str) -> UtcOffset {
        s.parse().expect("valid offset in test")
    }

    // ----- datetime: accepted -----

    #[test]
    fn datetime_named_forms() {
        let cases = [
            ("01 January 2025, 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("01 Januari 2025 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("01 Mei 2025 10:00", "2025-05-01T10:00:00+07:00"),
            ("01 Januari 2025", "2025-01-01T00:00:00+07:00"),
            ("1 January 2025", "2025-01-01T00:00:00+07:00"),
            (
                "1   January   2025 ,  23:59:59",
                "2025-01-01T23:59:59+07:00",
            ),
            ("01 January 2025,10:00", "2025-01-01T10:00:00+07:00"),
            ("01 JANUARY 2025, 9:05", "2025-01-01T09:05:00+07:00"),
            ("15 Okt. 2025", "2025-10-15T00:00:00+07:00"),
            ("29 February 2024", "2024-02-29T00:00:00+07:00"),
            ("29 Feb 2000", "2000-02-29T00:00:00+07:00"),
            ("31 Des 9999, 23:59:59", "9999-12-31T23:59:59+07:00"),
            ("01 Jan 1000", "1000-01-01T00:00:00+07:00"),
            ("1 Jan 2025, 00:00:00", "2025-01-01T00:00:00+07:00"),
        ];
        for (s, want) in cases {
            assert_eq!(dt(s).as_deref(), Ok(want), "{s}");
        }
    }

    #[test]
    fn datetime_all_month_names() {
        let names: [(&str, u32); 40] = [
            ("January", 1),
            ("Januari", 1),
            ("Jan", 1),
            ("February", 2),
            ("Februari", 2),
            ("Feb", 2),
            ("Pebruari", 2),
            ("March", 3),
            ("Maret", 3),
            ("Mar", 3),
            ("April", 4),
            ("Apr", 4),
            ("May", 5),
            ("Mei", 5),
            ("June", 6),
            ("Juni", 6),
            ("Jun", 6),
            ("July", 7),
            ("Juli", 7),
            ("Jul", 7),
            ("August", 8),
            ("Agustus", 8),
            ("Aug", 8),
            ("Agu", 8),
            ("Agt", 8),
            ("Ags", 8),
            ("September", 9),
            ("Sep", 9),
            ("Sept", 9),
            ("October", 10),
            ("Oktober", 10),
            ("Oct", 10),
            ("Okt", 10),
            ("November", 11),
            ("Nopember", 11),
            ("Nov", 11),
            ("December", 12),
            ("Desember", 12),
            ("Dec", 12),
            ("Des", 12),
        ];
        for (name, m) in names {
            let want = format!("2025-{m:02}-09T08:07:06+07:00");
            for variant in [name.to_string(), name.to_uppercase(), name.to_lowercase()] {
                let s = format!("9 {variant} 2025, 08:07:06");
                assert_eq!(dt(&s), Ok(want.clone()), "{s}");
            }
            let (_, short) = month_from_name(name.to_lowercase().as_bytes()).expect("known");
            let dotted = format!("9 {name}. 2025 8:07:06");
            if short {
                assert_eq!(dt(&dotted), Ok(want.clone()), "{dotted}");
            } else {
                assert_eq!(dt(&dotted), Err(DOT_AFTER_FULL_MONTH), "{dotted}");
            }
        }
    }

    #[test]
    fn datetime_iso_forms() {
        let cases = [
            ("2025-01-01 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01T10:00:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01t10:00:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01", "2025-01-01T00:00:00+07:00"),
            ("2025-01-01 10:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01   10:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01T10:00:00Z", "2025-01-01T10:00:00+00:00"),
            ("2025-01-01T10:00:00z", "2025-01-01T10:00:00+00:00"),
            ("2025-01-01 10:00:00+08:00", "2025-01-01T10:00:00+08:00"),
            ("2025-01-01T10:00:00-03:30", "2025-01-01T10:00:00-03:30"),
            ("2025-01-01T10:00+0900", "2025-01-01T10:00:00+09:00"),
            ("2025-01-01T10:00:00+00:00", "2025-01-01T10:00:00+00:00"),
            ("2025-01-01T10:00:00-00:00", "2025-01-01T10:00:00+00:00"),
            ("2024-02-29T23:59:59", "2024-02-29T23:59:59+07:00"),
        ];
        for (s, want) in cases {
            assert_eq!(dt(s).as_deref(), Ok(want), "{s}");
        }
    }

    #[test]
    fn datetime_slash_forms() {
        let cases = [
            ("01/02/2025 10:00:00", "2025-02-01T10:00:00+07:00"),
            ("1/2/2025", "2025-02-01T00:00:00+07:00"),
            ("31/12/2025 23:59", "2025-12-31T23:59:00+07:00"),
            ("29/02/2024", "2024-02-29T00:00:00+07:00"),
            ("1/2/2025  7:30", "2025-02-01T07:30:00+07:00"),
        ];
        for (s, want) in cases {
            assert_eq!(dt(s).as_deref(), Ok(want), "{s}");
        }
    }

    #[test]
    fn datetime_uses_configured_offset() {
        let mut out = String::from("prefix|");
        parse_datetime("01 January 2025, 10:00:00", off("-03:30"), &mut out).expect("ok");
        assert_eq!(out, "prefix|2025-01-01T10:00:00-03:30");
        out.clear();
        parse_datetime("2025-01-01", off("Z"), &mut out).expect("ok");
        assert_eq!(out, "2025-01-01T00:00:00+00:00");
        out.clear();
        // Own offset wins over the configured one.
        parse_datetime("2025-01-01T10:00:00+09:00", off("Z"), &mut out).expect("ok");
        assert_eq!(out, "2025-01-01T10:00:00+09:00");
    }

    // ----- datetime: rejected -----

    #[test]
    fn datetime_rejections() {
        let cases: &[(&str, &str)] = &[
            ("", EMPTY),
            ("29 Februari 2025", FEB_29),
            ("29/02/2025", FEB_29),
            ("2025-02-29", FEB_29),
            ("29 Feb 1900", FEB_29),
            ("31/04/2025", NO_SUCH_DAY),
            ("2025-13-01", MONTH_RANGE),
            ("2025-00-01", MONTH_RANGE),
            ("1/13/2025", MONTH_RANGE),
            ("2025-02-30", NO_SUCH_DAY),
            ("2025-01-00", NO_SUCH_DAY),
            ("32 January 2025", NO_SUCH_DAY),
            ("0 January 2025", NO_SUCH_DAY),
            ("31 June 2025", NO_SUCH_DAY),
            ("01 Foo 2025", UNKNOWN_MONTH),
            ("01 Janu 2025", UNKNOWN_MONTH),
            ("01 Septembers 2025", UNKNOWN_MONTH),
            ("01 Januaryyyyyyyy 2025", UNKNOWN_MONTH),
            ("01 Mär 2025", UNKNOWN_MONTH),
            ("01 Méi 2025", UNKNOWN_MONTH),
            ("01 January. 2025", DOT_AFTER_FULL_MONTH),
            ("01 January 2025, 25:00:00", HOUR_RANGE),
            ("01 January 2025, 24:00:00", HOUR_RANGE),
            ("01 January 2025, 10:60:00", MINUTE_RANGE),
            ("01 January 2025, 10:00:60", SECOND_RANGE),
            ("2025/01/01", EXPECTED_DATE),
            ("01-01-2025", EXPECTED_DATE),
            ("tomorrow", EXPECTED_DATE),
            ("January 01, 2025", EXPECTED_DATE),
            ("2025-1-01", EXPECTED_DATE),
            ("2025-01-1", EXPECTED_DATE),
            ("20250101", EXPECTED_DATE),
            ("001/02/2025", EXPECTED_DATE),
            ("1/002/2025", EXPECTED_DATE),
            ("1/2-2025", EXPECTED_DATE),
            ("01 2025", EXPECTED_DATE),
            ("01 Jan2025", EXPECTED_DATE),
            (" 01 Jan 2025", EXPECTED_DATE),
            ("01 January 2025,", NOTHING_AFTER_COMMA),
            ("01 January 2025 ,  ", NOTHING_AFTER_COMMA),
            ("01/01/2025,", NOTHING_AFTER_COMMA),
            ("01 January 2025 ", EXPECTED_TIME_AFTER_DATE),
            ("01 January 2025x", TEXT_AFTER_DATE),
            ("2025-01-01x", TEXT_AFTER_DATE),
            ("2025-01-01,10:00", TEXT_AFTER_DATE),
            ("2025-01-01T10:00:00+25:00", OFFSET_RANGE),
            ("2025-01-01T10:00:00+14:01", OFFSET_RANGE),
            ("2025-01-01T10:00:00+07:99", OFFSET_MINUTES),
            ("2025-01-01T10:00:00+7", BAD_OFFSET),
            ("2025-01-01T10:00:00ZZ", TEXT_AFTER_TIME),
            ("2025-01-01T10:00:00UTC", TEXT_AFTER_TIME),
            ("2025-01-01T10:00:00 +07:00", TEXT_AFTER_TIME),
            ("2025-01-01T10:00:00.123", FRACTIONAL_SECONDS),
            ("2025-01-01T10:00:00,5", FRACTIONAL_SECONDS),
            ("01 January 2025, 10:00:00.5", FRACTIONAL_SECONDS),
            ("01 January 2025, 10:00:00 +07:00", TEXT_AFTER_TIME),
            ("01 January 2025, 10:00:00Z", TEXT_AFTER_TIME),
            ("01/01/2025 10:00 PM", TEXT_AFTER_TIME),
            ("01 January 2025, 10", EXPECTED_TIME),
            ("01 January 2025, 10:0", EXPECTED_TIME),
            ("01 January 2025, 10:00:", EXPECTED_TIME),
            ("01 January 2025, 100:00", EXPECTED_TIME),
            ("01 January 2025, :00", EXPECTED_TIME),
            ("2025-01-01T", EXPECTED_TIME),
            ("2025-01-01 ", EXPECTED_TIME),
            ("01 January 25", YEAR_RANGE),
            ("01 January 02025", YEAR_RANGE),
            ("01/02/25", YEAR_RANGE),
            ("0999-01-01", YEAR_RANGE),
            ("01 January 0999", YEAR_RANGE),
            ("10000-01-01", EXPECTED_DATE),
            ("01 January 99999999999999999999", YEAR_RANGE),
            ("2025-01-01T10:00:00\u{a0}", TEXT_AFTER_TIME),
        ];
        for &(s, want) in cases {
            let mut out = String::from("keep");
            assert_eq!(
                parse_datetime(s, UtcOffset::default(), &mut out),
                Err(want),
                "{s:?}"
            );
            assert_eq!(out, "keep", "out must be untouched on error for {s:?}");
        }
    }

    #[test]
    fn datetime_calendar_exhaustive() {
        // Every day of 1899..=2101 is accepted; day dim+1 is rejected.
        let mut out = String::new();
        let mut days = 0u32;
        for y in 1899u32..=2101 {
            for m in 1u32..=12 {
                let dim = days_in_month(y, m);
                for d in 1..=dim + 1 {
                    let iso = format!("{y:04}-{m:02}-{d:02}");
                    let slash = format!("{d}/{m}/{y}");
                    out.clear();
                    let r1 = parse_datetime(&iso, UtcOffset::default(), &mut out);
                    let r2 = parse_datetime(&slash, UtcOffset::default(), &mut out);
                    if d <= dim {
                        assert_eq!((r1, r2), (Ok(()), Ok(())), "{iso}");
                        let want = format!("{iso}T00:00:00+07:00");
                        assert_eq!(out, format!("{want}{want}"));
                        days += 1;
                    } else {
                        assert!(r1.is_err() && r2.is_err(), "{iso}");
                    }
                }
            }
        }
        // 203 years, 49 of them leap (1900 and 2100 are not).
        assert_eq!(days, 203 * 365 + 49);
    }

    #[test]
    fn datetime_time_exhaustive() {
        let mut out = String::new();
        for h in 0..=24u32 {
            for m in [0u32, 1, 30, 59, 60] {
                for s in [0u32, 59, 60] {
                    let input = format!("2025-06-15 {h:02}:{m:02}:{s:02}");
                    out.clear();
                    let r = parse_datetime(&input, UtcOffset::default(), &mut out);
                    if h < 24 && m < 60 && s < 60 {
                        assert_eq!(r, Ok(()), "{input}");
                        assert_eq!(out, format!("2025-06-15T{h:02}:{m:02}:{s:02}+07:00"));
                    } else {
                        assert!(r.is_err(), "{input}");
                    }
                }
            }
        }
    }
}
