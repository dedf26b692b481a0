//! Integer: whole numbers (quantities).

use super::money::signed;
use super::*;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
