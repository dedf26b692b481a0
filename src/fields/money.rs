//! Money: amounts as integer sen.

use super::*;

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
pub(super) fn signed(magnitude: u64, negative: bool) -> Result<i64, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Dot};

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
}
