//! UTC offset: the timezone of datetimes without one.

use super::*;
use std::fmt;
use std::str::FromStr;

/// A UTC offset such as +07:00. FromStr accepts "+07:00", "-03:30", "+0700",
/// "Z"/"UTC"/"+00:00" (→ 0). Range ±14:00. Display always "+HH:MM" / "-HH:MM"
/// ("+00:00" for zero).
///
/// `Z` and `UTC` are case-insensitive, and `from_str` trims surrounding
/// whitespace (it parses configuration values, not CSV fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset {
    pub(super) minutes: i16,
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
pub(super) fn parse_offset(b: &[u8]) -> Result<i16, &'static str> {
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
pub(super) fn offset_bytes(minutes: i16) -> [u8; 6] {
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
pub(super) fn digit(v: u16) -> u8 {
    // `v % 10` is always < 10, so the cast cannot truncate.
    b'0' + (v % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(s: &str) -> UtcOffset {
        s.parse().expect("valid offset in test")
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
}
