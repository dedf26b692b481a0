//! Field parsers: each function turns one trimmed text field from a marketplace
//! export into an exact typed value — money as integer sen, quantities as whole
//! numbers, datetimes as ISO 8601 text with a UTC offset. The parsers never
//! round and never guess: input that does not match one of the documented forms
//! exactly is rejected with a short `&'static str` explanation, which the caller
//! turns into a reject reason.
//!
//! These functions run for every field of every row, so they must never
//! allocate on the success path (the only allocation allowed is writing into
//! the caller's `out` buffer) and must never panic on any input: all parsing is
//! done by scanning bytes with bounds-checked access and checked arithmetic.

use std::fmt;
use std::str::FromStr;

// ---------------------------------------------------------------------------
// Error phrases (fixed text; a `&'static str` cannot carry the offending value).
// ---------------------------------------------------------------------------

const EMPTY: &str = "empty";
const NOT_A_NUMBER: &str = "not a number";
const NOT_A_WHOLE_NUMBER: &str = "not a whole number";
const OUT_OF_RANGE: &str = "out of range";
const UNEXPECTED_SPACE: &str = "unexpected space";
const MORE_THAN_ONE_SIGN: &str = "more than one sign";
const SIGN_AFTER_NUMBER: &str = "sign must come before the number";
const GROUPS_OF_3: &str = "thousands groups must have 3 digits";
const FIRST_GROUP: &str = "first thousands group must have 1 to 3 digits";
const GROUP_LEADING_ZERO: &str = "grouped number must not start with 0";
const THOUSANDS_FIRST: &str = "thousands separator before the first digit";
const THOUSANDS_IN_DECIMALS: &str = "thousands separator after the decimal separator";
const NO_INT_DIGITS: &str = "no digits before the decimal separator";
const NO_DEC_DIGITS: &str = "no digits after the decimal separator";
const TWO_DECIMAL_SEPARATORS: &str = "more than one decimal separator";
const MORE_THAN_2_DP: &str = "more than 2 decimal places";

const EXPECTED_DATE: &str = "expected a date like 01 January 2025, 10:00:00 or 2025-01-01 10:00:00";
const EXPECTED_TIME: &str = "expected a time like 10:00 or 10:00:00";
const UNKNOWN_MONTH: &str = "unknown month name";
const DOT_AFTER_FULL_MONTH: &str = "only short month names may end with '.'";
const YEAR_RANGE: &str = "year must have 4 digits (1000 to 9999)";
const MONTH_RANGE: &str = "month must be 1 to 12";
const NO_SUCH_DAY: &str = "no such day in that month";
const FEB_29: &str = "February 29 only exists in leap years";
const HOUR_RANGE: &str = "hour must be 0 to 23";
const MINUTE_RANGE: &str = "minute must be 0 to 59";
const SECOND_RANGE: &str = "second must be 0 to 59";
const FRACTIONAL_SECONDS: &str = "fractional seconds are not supported";
const TEXT_AFTER_DATE: &str = "unexpected text after the date";
const TEXT_AFTER_TIME: &str = "unexpected text after the time";
const NOTHING_AFTER_COMMA: &str = "nothing after the comma";
const EXPECTED_TIME_AFTER_DATE: &str = "expected a time after the date";

const BAD_OFFSET: &str = "expected an offset like +07:00, -03:30, +0700, Z or UTC";
const OFFSET_MINUTES: &str = "offset minutes must be 0 to 59";
const OFFSET_RANGE: &str = "UTC offset out of range (at most ±14:00)";

// ---------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------

/// Which character is the decimal separator in money fields; the other one of
/// `.` and `,` is then the thousands separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalSeparator {
    /// `1,234,567.50`: `.` is the decimal point, `,` groups thousands.
    #[default]
    Dot,
    /// `1.234.567,50`: `,` is the decimal point, `.` groups thousands
    /// (the usual Indonesian notation).
    Comma,
}

/// Length in bytes of the space character at the start of `b`, or 0.
///
/// Money fields accept ASCII space, NO-BREAK SPACE (U+00A0) and NARROW
/// NO-BREAK SPACE (U+202F) after `Rp` and after the sign, because locale
/// formatters (`Intl.NumberFormat("id-ID")`, spreadsheets) emit those.
fn money_space_len(b: &[u8]) -> usize {
    match b {
        [b' ', ..] => 1,
        [0xC2, 0xA0, ..] => 2,
        [0xE2, 0x80, 0xAF, ..] => 3,
        _ => 0,
    }
}

/// Returns the index of the first byte at or after `i` that does not start a space.
fn skip_money_spaces(b: &[u8], mut i: usize) -> usize {
    loop {
        let n = money_space_len(b.get(i..).unwrap_or(&[]));
        if n == 0 {
            return i;
        }
        i += n;
    }
}

/// Consumes ASCII digits starting at `*i`, accumulating them into `acc` with
/// checked arithmetic. Returns how many digits were consumed.
fn take_digits(b: &[u8], i: &mut usize, acc: &mut u64) -> Result<usize, &'static str> {
    let start = *i;
    while let Some(&c) = b.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        *acc = acc
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(OUT_OF_RANGE)?;
        *i += 1;
    }
    Ok(*i - start)
}

/// Applies a sign to a magnitude, covering the whole `i64` range (including `i64::MIN`).
fn signed(magnitude: u64, negative: bool) -> Result<i64, &'static str> {
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
    .ok_or(OUT_OF_RANGE)
}

/// Length of the currency prefix (`Rp` or `IDR`, any letter case) at the
/// start of `b`, if there is one.
fn currency_prefix_len(b: &[u8]) -> Option<usize> {
    [&b"rp"[..], &b"idr"[..]].into_iter().find_map(|prefix| {
        b.get(..prefix.len())
            .filter(|head| head.eq_ignore_ascii_case(prefix))
            .map(|_| prefix.len())
    })
}

/// Parses money into integer sen (1/100 rupiah). Input is already trimmed by the
/// caller but may contain inner spaces like "Rp 45.000".
///
/// Accepted shape: `[sign] [Rp|IDR] [sign] digits [decimal-separator digits]`,
/// at most one sign, `Rp` and `IDR` in any letter case, spaces allowed only
/// right after the sign and right after the prefix (ASCII space, U+00A0 or
/// U+202F).
///
/// * The integer part is plain digits (`45000`) or grouped: 1–3 digits, then
///   groups of exactly 3 digits joined by the thousands separator (`45,000`,
///   `1,234,567` with [`DecimalSeparator::Dot`]). A grouped number may not
///   start with `0` (`0,500` is rejected rather than guessed at).
/// * The decimal part needs at least one digit; digits beyond the second must
///   all be `0` (`45000.500` → 4500050 sen, `45000.505` is an error). Nothing is
///   ever rounded.
/// * The separator decides what `.` means. With [`DecimalSeparator::Dot`],
///   `45.000` is the decimal number 45.000, i.e. **4500 sen** (Rp 45), because
///   trailing zero decimals are allowed; with [`DecimalSeparator::Comma`] it is
///   forty-five thousand rupiah (4500000 sen). Choose the separator per file.
/// * A value with an `Rp` or `IDR` prefix is always read as Indonesian
///   notation (`.` groups thousands, `,` marks decimals), whatever `sep`
///   says: `Rp 45.000` is 4500000 sen, `Rp45.000,50` is 4500050 sen.
/// * Overflow of `i64` sen is an error (`"out of range"`), as is empty input.
pub fn parse_money(s: &str, sep: DecimalSeparator) -> Result<i64, &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(EMPTY);
    }
    let mut sep = sep;

    let mut i = 0;
    let mut negative = false;
    let mut has_sign = false;
    if let Some(&c @ (b'+' | b'-')) = b.first() {
        negative = c == b'-';
        has_sign = true;
        i = skip_money_spaces(b, 1);
    }
    if let Some(prefix) = currency_prefix_len(b.get(i..).unwrap_or(&[])) {
        // Rupiah written with its symbol is Indonesian notation, whatever
        // the configured separator says: `Rp 45.000` is forty-five thousand.
        sep = DecimalSeparator::Comma;
        i = skip_money_spaces(b, i + prefix);
        if let Some(&c @ (b'+' | b'-')) = b.get(i) {
            if has_sign {
                return Err(MORE_THAN_ONE_SIGN);
            }
            negative = c == b'-';
            i = skip_money_spaces(b, i + 1);
        }
    }

    let (dec, thou) = match sep {
        DecimalSeparator::Dot => (b'.', b','),
        DecimalSeparator::Comma => (b',', b'.'),
    };

    // Integer part.
    let int_start = i;
    let mut units: u64 = 0;
    let int_digits = take_digits(b, &mut i, &mut units)?;
    if int_digits == 0 {
        return Err(match b.get(i) {
            Some(&c) if c == dec => NO_INT_DIGITS,
            Some(&c) if c == thou => THOUSANDS_FIRST,
            // Every position where a sign is allowed has been consumed already.
            Some(b'+' | b'-') => MORE_THAN_ONE_SIGN,
            _ if money_space_len(b.get(i..).unwrap_or(&[])) > 0 => UNEXPECTED_SPACE,
            _ => NOT_A_NUMBER,
        });
    }
    if b.get(i) == Some(&thou) {
        if int_digits > 3 {
            return Err(FIRST_GROUP);
        }
        if b.get(int_start) == Some(&b'0') {
            return Err(GROUP_LEADING_ZERO);
        }
        while b.get(i) == Some(&thou) {
            i += 1;
            if take_digits(b, &mut i, &mut units)? != 3 {
                return Err(GROUPS_OF_3);
            }
        }
    }

    // Decimal part: first two digits are sen, any further digits must be 0.
    let mut cents: u64 = 0;
    if b.get(i) == Some(&dec) {
        i += 1;
        let mut k = 0usize;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            let d = u64::from(c - b'0');
            match k {
                0 => cents = d * 10,
                1 => cents += d,
                _ if d != 0 => return Err(MORE_THAN_2_DP),
                _ => {}
            }
            k += 1;
            i += 1;
        }
        if k == 0 {
            return Err(NO_DEC_DIGITS);
        }
        match b.get(i) {
            Some(&c) if c == dec => return Err(TWO_DECIMAL_SEPARATORS),
            Some(&c) if c == thou => return Err(THOUSANDS_IN_DECIMALS),
            _ => {}
        }
    }

    if let Some(rest @ [first, ..]) = b.get(i..) {
        return Err(if money_space_len(rest) > 0 {
            UNEXPECTED_SPACE
        } else if matches!(first, b'+' | b'-') {
            SIGN_AFTER_NUMBER
        } else {
            NOT_A_NUMBER
        });
    }

    let sen = units
        .checked_mul(100)
        .and_then(|v| v.checked_add(cents))
        .ok_or(OUT_OF_RANGE)?;
    signed(sen, negative)
}

// ---------------------------------------------------------------------------
// Integer
// ---------------------------------------------------------------------------

/// Parses a whole number (Qty). Accepts optional leading '+' or '-', then ASCII
/// digits only. Returns the signed value; the caller checks > 0.
///
/// No spaces, separators, decimals (`2.0`) or words are accepted; a value that
/// does not fit `i64` is `"out of range"`.
pub fn parse_integer(s: &str) -> Result<i64, &'static str> {
    let b = s.as_bytes();
    let (negative, digits) = match b {
        [] => return Err(EMPTY),
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return Err(NOT_A_WHOLE_NUMBER);
    }
    let mut magnitude: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(if c.is_ascii_whitespace() {
                UNEXPECTED_SPACE
            } else {
                NOT_A_WHOLE_NUMBER
            });
        }
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(OUT_OF_RANGE)?;
    }
    signed(magnitude, negative)
}

// ---------------------------------------------------------------------------
// UTC offset
// ---------------------------------------------------------------------------

/// A UTC offset such as +07:00. FromStr accepts "+07:00", "-03:30", "+0700",
/// "Z"/"UTC"/"+00:00" (→ 0). Range ±14:00. Display always "+HH:MM" / "-HH:MM"
/// ("+00:00" for zero).
///
/// `Z` and `UTC` are case-insensitive, and `from_str` trims surrounding
/// whitespace (it parses configuration values, not CSV fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset {
    minutes: i16,
}

impl UtcOffset {
    /// The offset in minutes east of UTC (`+07:00` → 420, `-03:30` → -210).
    pub fn minutes(self) -> i16 {
        self.minutes
    }
}

impl Default for UtcOffset {
    /// `+07:00` (WIB, Western Indonesia Time).
    fn default() -> Self {
        Self { minutes: 7 * 60 }
    }
}

impl FromStr for UtcOffset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_offset(s.trim().as_bytes())
            .map(|minutes| Self { minutes })
            .map_err(|why| format!("invalid UTC offset {s:?}: {why}"))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in offset_bytes(self.minutes) {
            fmt::Write::write_char(f, char::from(b))?;
        }
        Ok(())
    }
}

/// Parses `Z`, `UTC` (case-insensitive), `±HH:MM` or `±HHMM` into minutes,
/// limited to ±14:00.
fn parse_offset(b: &[u8]) -> Result<i16, &'static str> {
    if b.eq_ignore_ascii_case(b"z") || b.eq_ignore_ascii_case(b"utc") {
        return Ok(0);
    }
    let (sign, h1, h2, m1, m2) = match *b {
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            (sign, h1, h2, m1, m2)
        }
        [] => return Err(EMPTY),
        _ => return Err(BAD_OFFSET),
    };
    if ![h1, h2, m1, m2].iter().all(u8::is_ascii_digit) {
        return Err(BAD_OFFSET);
    }
    let hours = i16::from(h1 - b'0') * 10 + i16::from(h2 - b'0');
    let minutes = i16::from(m1 - b'0') * 10 + i16::from(m2 - b'0');
    if minutes > 59 {
        return Err(OFFSET_MINUTES);
    }
    let total = hours * 60 + minutes;
    if total > 14 * 60 {
        return Err(OFFSET_RANGE);
    }
    Ok(if sign == b'-' { -total } else { total })
}

/// `±HH:MM` for an offset in minutes (zero is `+00:00`).
fn offset_bytes(minutes: i16) -> [u8; 6] {
    let sign = if minutes < 0 { b'-' } else { b'+' };
    let abs = minutes.unsigned_abs();
    let (h, m) = (abs / 60, abs % 60);
    [
        sign,
        digit(h / 10),
        digit(h % 10),
        b':',
        digit(m / 10),
        digit(m % 10),
    ]
}

/// ASCII digit for `v % 10`.
fn digit(v: u16) -> u8 {
    // `v % 10` is always < 10, so the cast cannot truncate.
    b'0' + (v % 10) as u8
}

// ---------------------------------------------------------------------------
// Datetime
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Dot};

    fn dt(s: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        parse_datetime(s, UtcOffset::default(), &mut out).map(|()| out)
    }

    fn off(s: &str) -> UtcOffset {
        s.parse().expect("valid offset in test")
    }

    // ----- money: accepted -----

    #[test]
    fn money_brief_examples() {
        assert_eq!(parse_money("45000", Dot), Ok(4_500_000));
        assert_eq!(parse_money("45000", Comma), Ok(4_500_000));
        assert_eq!(parse_money("45000.5", Dot), Ok(4_500_050));
        assert_eq!(parse_money("45000,5", Comma), Ok(4_500_050));
        assert_eq!(parse_money("-1500", Dot), Ok(-150_000));
        assert_eq!(parse_money("45,000.00", Dot), Ok(4_500_000));
        assert_eq!(parse_money("Rp 45.000", Comma), Ok(4_500_000));
        assert_eq!(parse_money("Rp45.000,50", Comma), Ok(4_500_050));
        assert_eq!(parse_money("45.000,50", Comma), Ok(4_500_050));
        assert_eq!(parse_money("45,000.50", Dot), Ok(4_500_050));
        assert_eq!(parse_money("0", Dot), Ok(0));
        assert_eq!(parse_money("-0", Dot), Ok(0));
        assert_eq!(parse_money("+0", Comma), Ok(0));
        assert_eq!(parse_money("45000.500", Dot), Ok(4_500_050));
        assert_eq!(
            parse_money("45000.50000000000000000000", Dot),
            Ok(4_500_050)
        );
    }

    #[test]
    fn money_dot_reads_45_000_as_decimal() {
        // The literal rule: with Dot, "45.000" is 45 rupiah.
        assert_eq!(parse_money("45.000", Dot), Ok(4500));
    }

    #[test]
    fn money_with_rp_or_idr_is_indonesian_whatever_the_separator() {
        for sep in [Dot, Comma] {
            for (s, sen) in [
                ("Rp 45.000", 4_500_000),
                ("Rp45.000,50", 4_500_050),
                ("rp 45.000,5", 4_500_050),
                ("IDR 1.234.567", 123_456_700),
                ("idr1.234.567,89", 123_456_789),
                ("IDR\u{a0}45.000", 4_500_000),
                ("Rp 500", 50_000),
                ("Rp 0,50", 50),
                ("-Rp 1.500", -150_000),
                ("Rp -1.500", -150_000),
                ("-IDR 1.500", -150_000),
                ("IDR -1.500,25", -150_025),
                ("+IDR 1.500", 150_000),
            ] {
                assert_eq!(parse_money(s, sep), Ok(sen), "{s:?} with {sep:?}");
            }
            // English notation after the prefix is not guessed at.
            for (s, why) in [
                ("Rp 45,000.00", THOUSANDS_IN_DECIMALS),
                ("IDR 45.5", GROUPS_OF_3),
                ("Rp 1,234,567", MORE_THAN_2_DP),
                ("IDR", NOT_A_NUMBER),
                ("IDR 45 000", UNEXPECTED_SPACE),
                ("-IDR -5", MORE_THAN_ONE_SIGN),
            ] {
                assert_eq!(parse_money(s, sep), Err(why), "{s:?} with {sep:?}");
            }
        }
        // Without a prefix the configured separator still decides.
        assert_eq!(parse_money("1.500", Dot), Ok(150));
        assert_eq!(parse_money("1.500", Comma), Ok(150_000));
    }

    #[test]
    fn money_currency_and_sign_positions() {
        for s in [
            "Rp 1.500",
            "RP 1.500",
            "rp 1.500",
            "rP1.500",
            "Rp1.500",
            "Rp    1.500",
        ] {
            assert_eq!(parse_money(s, Comma), Ok(150_000), "{s}");
        }
        for s in [
            "-Rp 1.500",
            "Rp -1.500",
            "Rp-1.500",
            "- Rp 1.500",
            "-Rp1.500",
            "Rp - 1.500",
            "- 1.500",
        ] {
            assert_eq!(parse_money(s, Comma), Ok(-150_000), "{s}");
        }
        assert_eq!(parse_money("+Rp 1.500", Comma), Ok(150_000));
        assert_eq!(parse_money("Rp +1.500", Comma), Ok(150_000));
        // Non-breaking spaces from locale formatters.
        assert_eq!(parse_money("Rp\u{a0}45.000,00", Comma), Ok(4_500_000));
        assert_eq!(parse_money("-Rp\u{202f}45.000", Comma), Ok(-4_500_000));
    }

    #[test]
    fn money_grouping_accepted() {
        assert_eq!(parse_money("1,234,567", Dot), Ok(123_456_700));
        assert_eq!(parse_money("1.234.567", Comma), Ok(123_456_700));
        assert_eq!(parse_money("12,345.6", Dot), Ok(1_234_560));
        assert_eq!(parse_money("123,456", Dot), Ok(12_345_600));
        assert_eq!(parse_money("1,000", Dot), Ok(100_000));
        assert_eq!(parse_money("007", Dot), Ok(700));
        assert_eq!(parse_money("0.05", Dot), Ok(5));
        assert_eq!(parse_money("0,99", Comma), Ok(99));
        assert_eq!(parse_money("-0,01", Comma), Ok(-1));
    }

    #[test]
    fn money_extremes() {
        assert_eq!(parse_money("92233720368547758.07", Dot), Ok(i64::MAX));
        assert_eq!(parse_money("-92233720368547758.08", Dot), Ok(i64::MIN));
        assert_eq!(parse_money("92,233,720,368,547,758.07", Dot), Ok(i64::MAX));
        assert_eq!(parse_money("92233720368547758.08", Dot), Err(OUT_OF_RANGE));
        assert_eq!(parse_money("-92233720368547758.09", Dot), Err(OUT_OF_RANGE));
        assert_eq!(parse_money("92233720368547759", Dot), Err(OUT_OF_RANGE));
        assert_eq!(
            parse_money("99999999999999999999999", Dot),
            Err(OUT_OF_RANGE)
        );
        assert_eq!(parse_money("184467440737095516", Dot), Err(OUT_OF_RANGE));
        // Leading zeros never overflow.
        assert_eq!(parse_money("000000000000000000000000001", Dot), Ok(100));
    }

    // ----- money: rejected -----

    #[test]
    fn money_rejections() {
        let cases: &[(&str, DecimalSeparator, &str)] = &[
            ("", Dot, EMPTY),
            ("45000.505", Dot, MORE_THAN_2_DP),
            ("45000.001", Dot, MORE_THAN_2_DP),
            ("45000,505", Comma, MORE_THAN_2_DP),
            ("12,34,5", Dot, GROUPS_OF_3),
            ("1,2345", Dot, GROUPS_OF_3),
            ("1,23", Dot, GROUPS_OF_3),
            ("100,", Dot, GROUPS_OF_3),
            ("1,000,", Dot, GROUPS_OF_3),
            ("1.5", Comma, GROUPS_OF_3),
            ("1.2.3", Comma, GROUPS_OF_3),
            ("45,00.50", Dot, GROUPS_OF_3),
            (",100", Dot, THOUSANDS_FIRST),
            (".100", Comma, THOUSANDS_FIRST),
            ("1234,567", Dot, FIRST_GROUP),
            ("0,500", Dot, GROUP_LEADING_ZERO),
            ("01,000", Dot, GROUP_LEADING_ZERO),
            ("1.2.3", Dot, TWO_DECIMAL_SEPARATORS),
            ("1,2,3", Comma, TWO_DECIMAL_SEPARATORS),
            ("1.50,0", Dot, THOUSANDS_IN_DECIMALS),
            ("45000.", Dot, NO_DEC_DIGITS),
            ("45000,", Comma, NO_DEC_DIGITS),
            ("1.x", Dot, NO_DEC_DIGITS),
            (".5", Dot, NO_INT_DIGITS),
            (",5", Comma, NO_INT_DIGITS),
            ("Rp .5", Dot, THOUSANDS_FIRST),
            ("-", Dot, NOT_A_NUMBER),
            ("+", Dot, NOT_A_NUMBER),
            ("Rp", Dot, NOT_A_NUMBER),
            ("Rp ", Dot, NOT_A_NUMBER),
            ("abc", Dot, NOT_A_NUMBER),
            ("Rp.45.000", Dot, THOUSANDS_FIRST),
            ("Rp.45.000", Comma, THOUSANDS_FIRST),
            ("45000abc", Dot, NOT_A_NUMBER),
            ("45000 Rp", Dot, UNEXPECTED_SPACE),
            ("45000Rp", Dot, NOT_A_NUMBER),
            ("USD 45000", Dot, NOT_A_NUMBER),
            ("$45", Dot, NOT_A_NUMBER),
            ("45 000", Dot, UNEXPECTED_SPACE),
            ("45.000 ,50", Comma, UNEXPECTED_SPACE),
            (" 45", Dot, UNEXPECTED_SPACE),
            ("45 ", Dot, UNEXPECTED_SPACE),
            ("\u{a0}45", Dot, UNEXPECTED_SPACE),
            ("--5", Dot, MORE_THAN_ONE_SIGN),
            ("+-5", Dot, MORE_THAN_ONE_SIGN),
            ("-Rp -5", Dot, MORE_THAN_ONE_SIGN),
            ("-Rp +5", Dot, MORE_THAN_ONE_SIGN),
            ("Rp --5", Dot, MORE_THAN_ONE_SIGN),
            ("1500-", Dot, SIGN_AFTER_NUMBER),
            ("Rp 1.500-", Comma, SIGN_AFTER_NUMBER),
            ("1e5", Dot, NOT_A_NUMBER),
            ("٤٥", Dot, NOT_A_NUMBER),   // Arabic-Indic digits
            ("４５", Dot, NOT_A_NUMBER), // full-width digits
            ("45\u{0}", Dot, NOT_A_NUMBER),
            ("Rp 45.000\u{a0}", Comma, UNEXPECTED_SPACE),
            ("−5", Dot, NOT_A_NUMBER), // U+2212 MINUS SIGN
        ];
        for &(s, sep, want) in cases {
            assert_eq!(parse_money(s, sep), Err(want), "{s:?} with {sep:?}");
        }
    }

    // ----- integer -----

    #[test]
    fn integer_accepted() {
        assert_eq!(parse_integer("2"), Ok(2));
        assert_eq!(parse_integer("+3"), Ok(3));
        assert_eq!(parse_integer("-1"), Ok(-1));
        assert_eq!(parse_integer("0"), Ok(0));
        assert_eq!(parse_integer("-0"), Ok(0));
        assert_eq!(parse_integer("0007"), Ok(7));
        assert_eq!(parse_integer("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_integer("-9223372036854775808"), Ok(i64::MIN));
    }

    #[test]
    fn integer_rejected() {
        let cases: &[(&str, &str)] = &[
            ("", EMPTY),
            ("2.0", NOT_A_WHOLE_NUMBER),
            ("two", NOT_A_WHOLE_NUMBER),
            ("1,000", NOT_A_WHOLE_NUMBER),
            ("1.000", NOT_A_WHOLE_NUMBER),
            (" 2", UNEXPECTED_SPACE),
            ("2 ", UNEXPECTED_SPACE),
            ("- 2", UNEXPECTED_SPACE),
            ("2\t", UNEXPECTED_SPACE),
            ("+", NOT_A_WHOLE_NUMBER),
            ("-", NOT_A_WHOLE_NUMBER),
            ("--1", NOT_A_WHOLE_NUMBER),
            ("+-1", NOT_A_WHOLE_NUMBER),
            ("1-", NOT_A_WHOLE_NUMBER),
            ("1e3", NOT_A_WHOLE_NUMBER),
            ("0x10", NOT_A_WHOLE_NUMBER),
            ("２", NOT_A_WHOLE_NUMBER),
            ("2pcs", NOT_A_WHOLE_NUMBER),
            ("9223372036854775808", OUT_OF_RANGE),
            ("-9223372036854775809", OUT_OF_RANGE),
            ("18446744073709551616", OUT_OF_RANGE),
            ("99999999999999999999999999", OUT_OF_RANGE),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_integer(s), Err(want), "{s:?}");
        }
    }

    // ----- UTC offset -----

    #[test]
    fn offset_parse_and_display() {
        assert_eq!(UtcOffset::default().minutes(), 420);
        assert_eq!(UtcOffset::default().to_string(), "+07:00");
        for (s, m, shown) in [
            ("+07:00", 420, "+07:00"),
            ("-03:30", -210, "-03:30"),
            ("+0700", 420, "+07:00"),
            ("+0545", 345, "+05:45"),
            ("Z", 0, "+00:00"),
            ("z", 0, "+00:00"),
            ("UTC", 0, "+00:00"),
            ("utc", 0, "+00:00"),
            ("+00:00", 0, "+00:00"),
            ("-00:00", 0, "+00:00"),
            ("+14:00", 840, "+14:00"),
            ("-14:00", -840, "-14:00"),
            (" +08:00 ", 480, "+08:00"),
        ] {
            let o = off(s);
            assert_eq!(o.minutes(), m, "{s}");
            assert_eq!(o.to_string(), shown, "{s}");
        }
    }

    #[test]
    fn offset_rejected() {
        for s in [
            "",
            "+14:01",
            "-14:30",
            "+15:00",
            "+25:00",
            "+07:60",
            "+7:00",
            "+07",
            "7",
            "07:00",
            "+07:0",
            "+07:000",
            "+07-00",
            "GMT",
            "UTC+7",
            "+0a:00",
            "＋07:00",
            "Zulu",
            "+07:00:00",
        ] {
            let r: Result<UtcOffset, _> = s.parse();
            let err = r.expect_err(s);
            assert!(err.contains("invalid UTC offset"), "{s}: {err}");
        }
    }

    #[test]
    fn offset_display_roundtrip_all() {
        for m in -840i16..=840 {
            let shown = offset_bytes(m);
            let back = parse_offset(&shown).expect("roundtrip");
            assert_eq!(back, m);
            let o = UtcOffset { minutes: m };
            assert_eq!(o.to_string().parse::<UtcOffset>(), Ok(o));
        }
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

    // ----- fuzz-ish: no panics, invariants hold -----

    /// Canonical Dot-separated rendering of a sen amount.
    fn render_sen(v: i64) -> String {
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }

    /// Renders a sen amount with grouping for the given separator.
    fn render_grouped(v: i64, sep: DecimalSeparator) -> String {
        let (dec, thou) = match sep {
            Dot => ('.', ','),
            Comma => (',', '.'),
        };
        let a = v.unsigned_abs();
        let digits = (a / 100).to_string();
        let mut s = String::new();
        // The `Rp` prefix means Indonesian notation, so only Comma carries it.
        match (v < 0, sep) {
            (true, Comma) => s.push_str("-Rp "),
            (false, Comma) => s.push_str("Rp"),
            (true, Dot) => s.push('-'),
            (false, Dot) => {}
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                s.push(thou);
            }
            s.push(ch);
        }
        s.push(dec);
        s.push_str(&format!("{:02}0", a % 100));
        s
    }

    #[test]
    fn money_roundtrip_pseudo_random() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mix magnitudes so that short and long numbers both appear.
            let v = (x as i64) >> (i % 63);
            for sep in [Dot, Comma] {
                let s = render_grouped(v, sep);
                assert_eq!(parse_money(&s, sep), Ok(v), "{s}");
            }
            assert_eq!(parse_money(&render_sen(v), Dot), Ok(v));
        }
    }

    #[test]
    fn no_panics_on_token_soup() {
        const TOKENS: [&str; 26] = [
            "0",
            "1",
            "9",
            "12",
            "2025",
            "-",
            "+",
            ".",
            ",",
            ":",
            "/",
            " ",
            "T",
            "Z",
            "Rp",
            "Jan",
            "Mei",
            "\u{a0}",
            "é",
            "\u{202f}",
            "x",
            "99999999999999999999",
            "29",
            "Feb",
            "+07:00",
            "\u{1F600}",
        ];
        let n = TOKENS.len();
        let mut out = String::new();
        let mut input = String::new();
        let mut accepted = 0usize;
        for len in 0..=4u32 {
            for mut code in 0..n.pow(len) {
                input.clear();
                for _ in 0..len {
                    input.push_str(TOKENS[code % n]);
                    code /= n;
                }
                for sep in [Dot, Comma] {
                    if let Ok(v) = parse_money(&input, sep) {
                        accepted += 1;
                        // Whatever was accepted has a canonical form that means the same.
                        assert_eq!(parse_money(&render_sen(v), Dot), Ok(v), "{input:?}");
                    }
                }
                if let Ok(v) = parse_integer(&input) {
                    assert_eq!(parse_integer(&v.to_string()), Ok(v), "{input:?}");
                }
                let _ = input.parse::<UtcOffset>();
                out.clear();
                match parse_datetime(&input, UtcOffset::default(), &mut out) {
                    Ok(()) => {
                        assert_eq!(out.len(), 25, "{input:?} -> {out}");
                        // The output is itself an accepted ISO form and is a fixed point.
                        let mut again = String::new();
                        parse_datetime(&out, off("-05:00"), &mut again).expect("reparse");
                        assert_eq!(again, out);
                    }
                    Err(_) => assert!(out.is_empty()),
                }
            }
        }
        assert!(accepted > 0);
    }

    #[test]
    fn no_panics_on_all_short_byte_strings() {
        // Every valid UTF-8 string of 1 or 2 bytes, plus a few 3-byte prefixes.
        let mut out = String::new();
        for a in 0u8..=255 {
            for b in 0u8..=255 {
                for bytes in [
                    &[a][..],
                    &[a, b][..],
                    &[b'1', a, b][..],
                    &[b'R', b'p', a, b][..],
                ] {
                    if let Ok(s) = std::str::from_utf8(bytes) {
                        let _ = parse_money(s, Dot);
                        let _ = parse_money(s, Comma);
                        let _ = parse_integer(s);
                        let _ = s.parse::<UtcOffset>();
                        out.clear();
                        let _ = parse_datetime(s, UtcOffset::default(), &mut out);
                    }
                }
            }
        }
    }
}
