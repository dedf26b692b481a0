//! `COPY ... FROM STDIN (FORMAT binary)`: rows as the server stores them.
//!
//! The text format makes the server parse every number and datetime again;
//! for order rows (numbers and datetimes in many columns) that parsing was
//! more than half of what a `COPY` cost, so rows travel in binary.
//! Text is sent as its bytes (the server converts from the client encoding
//! as it does for text-format `COPY`), integers big-endian, and a
//! `timestamptz` as microseconds since 2000-01-01 00:00 UTC.

use anyhow::{Result, bail};

/// The stream's fixed start: signature, flags and header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i64 = 10_957;

/// One `COPY` stream being written into a reused buffer.
pub struct BinaryCopy<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> BinaryCopy<'a> {
    /// Starts a stream in `out`, which is cleared first.
    pub fn new(out: &'a mut Vec<u8>) -> BinaryCopy<'a> {
        out.clear();
        BinaryCopy::append(out)
    }

    /// Goes on with the stream in `out`, starting it when `out` is empty.
    pub fn append(out: &'a mut Vec<u8>) -> BinaryCopy<'a> {
        if out.is_empty() {
            out.extend_from_slice(HEADER);
        }
        BinaryCopy { out }
    }

    /// Starts a row of `fields` values.
    pub fn row(&mut self, fields: u16) {
        self.out.extend_from_slice(&(fields as i16).to_be_bytes());
    }

    pub fn null(&mut self) {
        self.out.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// A `text` value.
    pub fn text(&mut self, s: &str) -> Result<()> {
        let Ok(len) = i32::try_from(s.len()) else {
            bail!("a value of {} bytes is too long for PostgreSQL", s.len());
        };
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// A `bigint` value.
    pub fn int8(&mut self, n: i64) {
        self.out.extend_from_slice(&8i32.to_be_bytes());
        self.out.extend_from_slice(&n.to_be_bytes());
    }

    /// An `integer` value.
    pub fn int4(&mut self, n: i64) -> Result<()> {
        let Ok(n) = i32::try_from(n) else {
            bail!("{n} does not fit a PostgreSQL integer");
        };
        self.out.extend_from_slice(&4i32.to_be_bytes());
        self.out.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// A `timestamptz` value from the ISO form the reader writes
    /// (`YYYY-MM-DDTHH:MM:SS±HH:MM`).
    pub fn timestamptz(&mut self, iso: &str) -> Result<()> {
        let Some(micros) = pg_micros(iso) else {
            bail!("{iso:?} is not a datetime in the form YYYY-MM-DDTHH:MM:SS±HH:MM");
        };
        self.int8(micros);
        Ok(())
    }

    /// Ends the stream.
    pub fn finish(self) {
        self.out.extend_from_slice(&(-1i16).to_be_bytes());
    }
}

/// Writes the rows of `stream` (a stream begun by [`BinaryCopy`], not yet
/// finished) to `out` as a new stream, in the byte order of their field
/// `field`; rows with equal values keep their order. `rows` is scratch
/// space. An index takes rows faster in the order of its key: consecutive
/// rows land on the same pages.
pub fn sorted_by(stream: &[u8], field: usize, rows: &mut Vec<Span>, out: &mut Vec<u8>) {
    rows.clear();
    let mut at = HEADER.len().min(stream.len());
    while at + 2 <= stream.len() {
        let start = at;
        let fields = i16::from_be_bytes([stream[at], stream[at + 1]]);
        at += 2;
        let mut key = (at, at);
        for i in 0..fields.max(0) as usize {
            let len = i32::from_be_bytes(stream[at..at + 4].try_into().expect("4 bytes"));
            at += 4;
            let len = len.max(0) as usize;
            if i == field {
                key = (at, at + len);
            }
            at += len;
        }
        rows.push(Span {
            key,
            row: (start, at),
        });
    }
    rows.sort_by(|a, b| stream[a.key.0..a.key.1].cmp(&stream[b.key.0..b.key.1]));
    out.clear();
    out.extend_from_slice(HEADER);
    for span in rows.iter() {
        out.extend_from_slice(&stream[span.row.0..span.row.1]);
    }
}

/// Where a row of a stream, and the value it is sorted by, lie.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    key: (usize, usize),
    row: (usize, usize),
}

/// Microseconds from PostgreSQL's epoch to the instant `iso` names, for
/// exactly the form `YYYY-MM-DDTHH:MM:SS±HH:MM`.
fn pg_micros(iso: &str) -> Option<i64> {
    let b = iso.as_bytes();
    if b.len() != 25
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[22] != b':'
    {
        return None;
    }
    let num = |at: usize, len: usize| -> Option<i64> {
        b[at..at + len].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let sign = match b[19] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * (num(20, 2)? * 3600 + num(23, 2)? * 60);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day) - PG_EPOCH_DAYS;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds * 1_000_000)
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian
/// calendar (years from 0), counting from March so that the leap day ends
/// the year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_count_from_the_millennium_in_utc() {
        assert_eq!(pg_micros("2000-01-01T00:00:00+00:00"), Some(0));
        assert_eq!(pg_micros("2000-01-01T07:00:00+07:00"), Some(0));
        assert_eq!(pg_micros("1999-12-31T23:59:59+00:00"), Some(-1_000_000));
        // 2025-01-01T03:00:00Z is 9132 days and 3 hours after the epoch.
        let expected = (9132 * 86_400 + 3 * 3600) * 1_000_000;
        assert_eq!(pg_micros("2025-01-01T10:00:00+07:00"), Some(expected));
        assert_eq!(pg_micros("2024-12-31T21:30:00-05:30"), Some(expected));
        // A leap day, and the day after it.
        let leap = pg_micros("2024-02-29T00:00:00+00:00").unwrap();
        let march = pg_micros("2024-03-01T00:00:00+00:00").unwrap();
        assert_eq!(march - leap, 86_400 * 1_000_000);
        assert_eq!(
            pg_micros("1000-01-01T00:00:00+00:00"),
            Some(-365_242 * 86_400 * 1_000_000)
        );
    }

    #[test]
    fn anything_but_the_readers_form_is_refused() {
        for bad in [
            "",
            "2025-01-01",
            "2025-01-01 10:00:00+07:00",
            "2025-01-01T10:00:00Z",
            "2025-13-01T10:00:00+07:00",
            "2025-01-01T10:00:00+0700 ",
            "2025-0a-01T10:00:00+07:00",
        ] {
            assert_eq!(pg_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_stream_has_the_signature_rows_and_trailer() {
        let mut out = vec![1, 2, 3];
        let mut copy = BinaryCopy::new(&mut out);
        copy.row(4);
        copy.int8(-2);
        copy.null();
        copy.text("é").unwrap();
        copy.int4(7).unwrap();
        assert!(copy.int4(i64::from(i32::MAX) + 1).is_err());
        copy.finish();
        let mut expected = HEADER.to_vec();
        expected.extend_from_slice(&[0, 4]);
        expected.extend_from_slice(&[0, 0, 0, 8, 255, 255, 255, 255, 255, 255, 255, 254]);
        expected.extend_from_slice(&[255, 255, 255, 255]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        expected.extend_from_slice(&[255, 255]);
        assert_eq!(out, expected);
    }

    #[test]
    fn rows_sort_by_a_field_keeping_the_order_of_equals() {
        let stream = |rows: &[(i64, &str)]| {
            let mut out = Vec::new();
            let mut copy = BinaryCopy::new(&mut out);
            for &(n, key) in rows {
                copy.row(3);
                copy.null();
                copy.text(key).unwrap();
                copy.int8(n);
            }
            out
        };
        let mut sorted = vec![9];
        let read = stream(&[(1, "b"), (2, "a"), (3, "b"), (4, "a")]);
        sorted_by(&read, 1, &mut Vec::new(), &mut sorted);
        assert_eq!(sorted, stream(&[(2, "a"), (4, "a"), (1, "b"), (3, "b")]));
    }
}
