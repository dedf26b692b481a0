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

mod datetime;
mod integer;
mod money;
mod offset;

pub use datetime::parse_datetime;
pub use integer::parse_integer;
pub use money::{DecimalSeparator, parse_money};
pub use offset::UtcOffset;

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Dot};

    fn off(s: &str) -> UtcOffset {
        s.parse().expect("valid offset in test")
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
