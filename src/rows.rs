//! Validate and map: one CSV record becomes a typed order line, a reject with
//! its reason, or a filtered row.
//!
//! Accepted rows are packed into a [`Chunk`]: their text lives in one arena
//! string and each row holds spans into it, so a chunk of a thousand rows is
//! two allocations, not thirty thousand. A rejected or filtered row leaves no
//! trace in the arena. Nothing here touches the database; nothing here may
//! panic on any input.

use crate::columns::{FIELDS, HeaderMap, Kind, NUMBER_SLOTS, TEXT_SLOTS, idx};
use crate::escape;
use crate::fields::{self, DecimalSeparator, UtcOffset};
use crate::outcome::{Checkpoint, Reason, Reject};
use csv::ByteRecord;
use serde::Serialize;
use std::borrow::Cow;

/// How text bytes are turned into UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 where the bytes are valid UTF-8, Windows-1252 elsewhere.
    #[default]
    Auto,
    Utf8,
    Windows1252,
}

/// Decodes one field; `None` when the bytes are not valid in `encoding`.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Option<Cow<'_, str>> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Encoding::Auto => Some(match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
            }
        }),
        Encoding::Windows1252 => Some(
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
        ),
    }
}

/// The rules a row is checked against, fixed for the whole run.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub decimal_separator: DecimalSeparator,
    pub timezone: UtcOffset,
    pub strict: bool,
    /// Only rows of this channel (compared case-insensitively) are kept.
    pub channel: Option<String>,
    pub encoding: Encoding,
}

/// A range of a chunk's text arena.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

/// One accepted order line. Which slot holds which field is in
/// [`crate::columns::FIELDS`]; a set bit in `null` marks an empty field.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub line: u64,
    text: [Span; TEXT_SLOTS],
    num: [i64; NUMBER_SLOTS],
    null: u32,
}

/// A stored value of one field of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Text(&'a str),
    Int(i64),
}

/// Rows read from one file, travelling together to the writer.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The run's index of the file these rows come from.
    pub file: usize,
    text: String,
    pub rows: Vec<Row>,
    pub rejects: Vec<Reject>,
    /// Records read into this chunk: rows + rejects + filtered.
    pub read: u64,
    pub filtered: u64,
    pub checkpoint: Checkpoint,
    /// Bytes the rejects hold (raw records, values, messages).
    reject_bytes: usize,
}

impl Chunk {
    pub fn new(file: usize, capacity: usize) -> Chunk {
        Chunk {
            file,
            text: String::with_capacity(capacity * 256),
            rows: Vec::with_capacity(capacity),
            ..Chunk::default()
        }
    }

    /// Bytes of text the chunk holds: what bounds its memory, besides the
    /// row count, when records are long.
    pub fn held_bytes(&self) -> usize {
        self.text.len() + self.reject_bytes
    }

    /// The value of field `field` (an index into `FIELDS`) of `row`.
    pub fn value(&self, row: &Row, field: usize) -> Value<'_> {
        if row.null & (1 << field) != 0 {
            return Value::Null;
        }
        let def = &FIELDS[field];
        if def.is_text() {
            let span = row.text[def.slot];
            Value::Text(&self.text[span.start as usize..span.end as usize])
        } else {
            Value::Int(row.num[def.slot])
        }
    }

    /// The order key of `row`, never empty.
    pub fn key(&self, row: &Row) -> &str {
        match self.value(row, idx::KODE_PESANAN) {
            Value::Text(s) => s,
            _ => "",
        }
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len() as u32,
        }
    }

    /// Validates one record and adds it to the chunk as a row, a reject or a
    /// filtered row. `line` is the physical line the record starts on.
    pub fn add_record(&mut self, record: &ByteRecord, line: u64, map: &HeaderMap, rules: &Rules) {
        self.read += 1;
        let mark = self.text.len();
        match self.map_record(record, line, map, rules) {
            Ok(Some(row)) => self.rows.push(row),
            Ok(None) => {
                self.text.truncate(mark);
                self.filtered += 1;
            }
            Err(mut reject) => {
                self.text.truncate(mark);
                reject.raw = clip(&raw_csv(record, rules.encoding), RAW_KEPT);
                self.push_reject(reject);
            }
        }
    }

    /// Adds a record that was too large to be read whole (more than
    /// `max_record_size` bytes, or more fields than any export has) as a
    /// reject of the whole row: only `preview`, its first bytes, was kept,
    /// and that is all its value and raw columns show.
    pub fn add_oversized(
        &mut self,
        line: u64,
        preview: &ByteRecord,
        reason: Reason,
        message: String,
        encoding: Encoding,
    ) {
        self.read += 1;
        let mut shown = clip(&raw_csv(preview, encoding), PREVIEW_KEPT);
        if !shown.ends_with('…') {
            shown.push('…');
        }
        self.push_reject(Reject {
            line,
            column: None,
            value: Some(shown.clone()),
            reason,
            message,
            raw: shown,
        });
    }

    fn push_reject(&mut self, reject: Reject) {
        self.reject_bytes +=
            reject.raw.len() + reject.message.len() + reject.value.as_ref().map_or(0, String::len);
        self.rejects.push(reject);
    }

    fn map_record(
        &mut self,
        record: &ByteRecord,
        line: u64,
        map: &HeaderMap,
        rules: &Rules,
    ) -> Result<Option<Row>, Reject> {
        if record.len() != map.headers.len() {
            return Err(Reject {
                line,
                column: None,
                value: None,
                reason: Reason::FieldCount,
                message: format!(
                    "expected {} fields as in the header, found {}",
                    map.headers.len(),
                    record.len()
                ),
                raw: String::new(),
            });
        }
        let mut row = Row {
            line,
            ..Row::default()
        };
        // One UTF-8 check for the whole record: a field is then a slice of
        // it, when it falls on character boundaries; otherwise (or for
        // Windows-1252) it is decoded on its own.
        let whole = match rules.encoding {
            Encoding::Windows1252 => None,
            Encoding::Auto | Encoding::Utf8 => std::str::from_utf8(record.as_slice()).ok(),
        };
        // One look for a NUL byte in the whole record (almost never there),
        // instead of one per field.
        let has_nul = memchr::memchr(0, record.as_slice()).is_some();
        for (field, def) in FIELDS.iter().enumerate() {
            let col = map.position[field];
            // Only a field that is not a slice of `whole` needs its bytes.
            let bytes = || col.and_then(|col| record.get(col)).unwrap_or(b"");
            let reject = |reason, value: &str, message: String| Reject {
                line,
                column: Some(map.header_of(field).to_string()),
                value: Some(clip(value, VALUE_KEPT)),
                reason,
                message: format!("{}: {message}", escape::clipped(map.header_of(field))),
                raw: String::new(),
            };
            let sliced = whole
                .zip(col.and_then(|col| record.range(col)))
                .and_then(|(whole, range)| whole.get(range));
            let Some(text) = sliced
                .map(Cow::Borrowed)
                .or_else(|| decode(bytes(), rules.encoding))
            else {
                let lossy = String::from_utf8_lossy(bytes());
                return Err(reject(
                    Reason::InvalidEncoding,
                    &lossy,
                    format!("{} is not valid UTF-8", escape::quoted(&lossy)),
                ));
            };
            let value = trim(&text);
            if value.is_empty() {
                if def.required {
                    return Err(reject(
                        Reason::MissingValue,
                        value,
                        "a value is required".to_string(),
                    ));
                }
                row.null |= 1 << field;
                continue;
            }
            if has_nul && memchr::memchr(0, value.as_bytes()).is_some() {
                // No database text column holds a NUL byte (PostgreSQL
                // refuses it): the same row is rejected on both.
                return Err(reject(
                    Reason::InvalidEncoding,
                    value,
                    format!(
                        "{} holds a NUL byte, which is not text",
                        escape::quoted(value)
                    ),
                ));
            }
            match def.kind {
                Kind::Text => row.text[def.slot] = self.push_text(value),
                Kind::InvoiceCode => {
                    let code = value.strip_prefix('\'').unwrap_or(value);
                    if code.is_empty() {
                        row.null |= 1 << field;
                    } else {
                        row.text[def.slot] = self.push_text(code);
                    }
                }
                Kind::Datetime => {
                    let start = self.text.len();
                    if let Err(why) = fields::parse_datetime(value, rules.timezone, &mut self.text)
                    {
                        self.text.truncate(start);
                        return Err(reject(
                            Reason::InvalidDatetime,
                            value,
                            format!("{}: {why}", escape::quoted(value)),
                        ));
                    }
                    row.text[def.slot] = Span {
                        start: start as u32,
                        end: self.text.len() as u32,
                    };
                }
                Kind::Money { non_negative } => {
                    let sen =
                        fields::parse_money(value, rules.decimal_separator).map_err(|why| {
                            reject(
                                Reason::InvalidMoney,
                                value,
                                format!("{}: {why}", escape::quoted(value)),
                            )
                        })?;
                    if non_negative && sen < 0 {
                        return Err(reject(
                            Reason::NegativeValue,
                            value,
                            format!(
                                "{} is negative; this amount must be 0 or more",
                                escape::quoted(value)
                            ),
                        ));
                    }
                    row.num[def.slot] = sen;
                }
                Kind::Qty => {
                    let qty = fields::parse_integer(value).map_err(|why| {
                        reject(
                            Reason::InvalidInteger,
                            value,
                            format!("{}: {why}", escape::quoted(value)),
                        )
                    })?;
                    if qty < 0 {
                        return Err(reject(
                            Reason::NegativeValue,
                            value,
                            format!(
                                "{} is negative; a quantity must be at least 1",
                                escape::quoted(value)
                            ),
                        ));
                    }
                    if qty > i64::from(i32::MAX) {
                        return Err(reject(
                            Reason::InvalidInteger,
                            value,
                            format!(
                                "{} is too large; a quantity must be at most {}",
                                escape::quoted(value),
                                i32::MAX
                            ),
                        ));
                    }
                    if qty == 0 {
                        return Err(reject(
                            Reason::InvalidInteger,
                            value,
                            "a quantity must be at least 1".to_string(),
                        ));
                    }
                    row.num[def.slot] = qty;
                }
            }
        }
        if rules.strict {
            self.check_total(&row, line, map)?;
        }
        if let Some(channel) = &rules.channel {
            let keep = match self.value(&row, idx::JENIS_CHANNEL) {
                Value::Text(c) => c.eq_ignore_ascii_case(channel) || c.to_lowercase() == *channel,
                _ => false,
            };
            if !keep {
                return Ok(None);
            }
        }
        Ok(Some(row))
    }

    /// `--strict`: Total Harga Produk must equal Harga Produk × Qty.
    fn check_total(&self, row: &Row, line: u64, map: &HeaderMap) -> Result<(), Reject> {
        let int = |field| match self.value(row, field) {
            Value::Int(v) => v,
            _ => 0,
        };
        let (price, qty, total) = (
            int(idx::HARGA_PRODUK),
            int(idx::QTY),
            int(idx::TOTAL_HARGA_PRODUK),
        );
        if price.checked_mul(qty) == Some(total) {
            return Ok(());
        }
        let header = map.header_of(idx::TOTAL_HARGA_PRODUK);
        let shown = sen_to_string(total);
        let named = escape::clipped(header);
        Err(Reject {
            line,
            column: Some(header.to_string()),
            value: Some(shown.clone()),
            reason: Reason::TotalMismatch,
            message: format!(
                "{named}: {shown} is not {} × {qty} = {}",
                sen_to_string(price),
                price
                    .checked_mul(qty)
                    .map_or_else(|| "(too large)".to_string(), sen_to_string)
            ),
            raw: String::new(),
        })
    }
}

/// Formats sen as rupiah: `4500050` → `45000.50`, `4500000` → `45000`.
pub fn sen_to_string(sen: i64) -> String {
    let sign = if sen < 0 { "-" } else { "" };
    let abs = sen.unsigned_abs();
    if abs.is_multiple_of(100) {
        format!("{sign}{}", abs / 100)
    } else {
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// `text.trim()`, quicker for the usual ASCII ends: `trim_ascii` removes
/// the same characters except vertical tab, so only an end that is
/// non-ASCII or a vertical tab needs the Unicode-aware trim.
fn trim(text: &str) -> &str {
    let t = text.trim_ascii();
    let unusual = |b: &u8| *b >= 0x80 || *b == 0x0B;
    let bytes = t.as_bytes();
    if bytes.first().is_some_and(unusual) || bytes.last().is_some_and(unusual) {
        t.trim()
    } else {
        t
    }
}

/// Bytes of a value that a reject keeps and its message quotes.
pub const VALUE_KEPT: usize = 200;
/// Bytes of a rejected record's raw CSV that are kept.
const RAW_KEPT: usize = 2048;
/// Bytes of a record too long to read that its reject shows.
const PREVIEW_KEPT: usize = 200;

/// `text` cut to at most `max` bytes, on a character boundary, with `…`
/// marking a cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The record as one CSV line (comma-separated, quoted where needed).
fn raw_csv(record: &ByteRecord, encoding: Encoding) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let decoded: Vec<String> = record
        .iter()
        .map(|f| match decode(f, encoding) {
            Some(s) => s.into_owned(),
            None => String::from_utf8_lossy(f).into_owned(),
        })
        .collect();
    let _ = writer.write_record(&decoded);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::Names;
    use std::collections::HashMap;

    const HEADER: &str = "No,Waktu Pesanan Terbuat,Status Pesanan Terakhir,Kode Pesanan,Kode Transaksi,SKU,Nama Produk,Harga Produk,Qty,Total Harga Produk,Biaya Lainnya,Biaya Mitra Jakmall,Total Transaksi,Harga Produk Channel,Total Harga Produk Channel,Potensi Keuntungan,Dibuat Oleh,Jenis Channel,Nama Toko,Kode Invoice Channel,Gudang Pengiriman,Jenis Ekspedisi,Cashless,Nomor Resi,Waktu Pengiriman,Provinsi,Kota";
    const LINE: &str = "1,\"01 January 2025, 10:00:00\",Selesai,DS-2501010001,TRX-1,SKU-ABC-01,Kaos Polos Hitam L,45000,2,90000,1000,500,91500,55000,110000,18500,admin1,Shopee,Toko Maju Jaya,'250101ABCDEF12,Gudang Jakarta,JNE REG,Ya,JNE0012345678,\"02 January 2025, 14:30:00\",DKI Jakarta,Jakarta Selatan";

    fn record(line: &str) -> ByteRecord {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        let mut rec = ByteRecord::new();
        r.read_byte_record(&mut rec).unwrap();
        rec
    }

    fn header_map() -> HeaderMap {
        let rec = record(HEADER);
        let headers: Vec<String> = rec
            .iter()
            .map(|h| String::from_utf8_lossy(h).to_string())
            .collect();
        Names::new(&HashMap::new()).unwrap().map(&headers).unwrap()
    }

    fn with(field: usize, value: &str) -> String {
        let mut rec = record(LINE);
        let mut fields: Vec<Vec<u8>> = rec.iter().map(|f| f.to_vec()).collect();
        fields[field] = value.as_bytes().to_vec();
        rec = ByteRecord::from(fields);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_byte_record(&rec).unwrap();
        String::from_utf8(w.into_inner().unwrap())
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn run(line: &str, rules: &Rules) -> Chunk {
        let mut chunk = Chunk::new(0, 4);
        chunk.add_record(&record(line), 2, &header_map(), rules);
        chunk
    }

    fn reason(line: &str, rules: &Rules) -> Reason {
        let chunk = run(line, rules);
        assert_eq!(chunk.rows.len(), 0, "{line} was accepted");
        chunk.rejects[0].reason
    }

    #[test]
    fn maps_the_example_line() {
        let chunk = run(LINE, &Rules::default());
        assert!(chunk.rejects.is_empty(), "{:?}", chunk.rejects);
        let row = &chunk.rows[0];
        let v = |f| chunk.value(row, f);
        assert_eq!(v(0), Value::Text("2025-01-01T10:00:00+07:00"));
        assert_eq!(chunk.key(row), "DS-2501010001");
        assert_eq!(v(idx::HARGA_PRODUK), Value::Int(4_500_000));
        assert_eq!(v(idx::QTY), Value::Int(2));
        assert_eq!(v(18), Value::Text("250101ABCDEF12"));
        assert_eq!(v(23), Value::Text("2025-01-02T14:30:00+07:00"));
        assert_eq!(v(14), Value::Int(1_850_000));
    }

    #[test]
    fn empty_optional_is_null_and_text_is_trimmed() {
        let chunk = run(&with(24, ""), &Rules::default());
        assert_eq!(chunk.value(&chunk.rows[0], 23), Value::Null);
        let chunk = run(&with(18, "  Toko  "), &Rules::default());
        assert_eq!(chunk.value(&chunk.rows[0], 17), Value::Text("Toko"));
        let chunk = run(&with(19, " 'X1 "), &Rules::default());
        assert_eq!(chunk.value(&chunk.rows[0], 18), Value::Text("X1"));
        let chunk = run(&with(19, " ' "), &Rules::default());
        assert_eq!(chunk.value(&chunk.rows[0], 18), Value::Null);
    }

    #[test]
    fn reject_reasons() {
        let r = Rules::default();
        assert_eq!(reason("1,2,3", &r), Reason::FieldCount);
        assert_eq!(reason(&with(5, " "), &r), Reason::MissingValue);
        assert_eq!(reason(&with(8, "two"), &r), Reason::InvalidInteger);
        assert_eq!(reason(&with(8, "0"), &r), Reason::InvalidInteger);
        assert_eq!(reason(&with(8, "-1"), &r), Reason::NegativeValue);
        assert_eq!(reason(&with(7, "abc"), &r), Reason::InvalidMoney);
        assert_eq!(reason(&with(7, "-5"), &r), Reason::NegativeValue);
        assert_eq!(reason(&with(1, "31/04/2025"), &r), Reason::InvalidDatetime);
        assert_eq!(reason(&with(24, "soon"), &r), Reason::InvalidDatetime);
        let chunk = run(&with(8, "two"), &r);
        let reject = &chunk.rejects[0];
        assert_eq!(reject.line, 2);
        assert_eq!(reject.column.as_deref(), Some("Qty"));
        assert_eq!(reject.value.as_deref(), Some("two"));
        assert!(reject.raw.contains("DS-2501010001"));
        assert!(chunk.text.is_empty());
    }

    #[test]
    fn negative_profit_and_fees_are_allowed() {
        let chunk = run(&with(15, "-1500"), &Rules::default());
        assert_eq!(chunk.value(&chunk.rows[0], 14), Value::Int(-150_000));
    }

    #[test]
    fn strict_checks_the_line_total() {
        let strict = Rules {
            strict: true,
            ..Rules::default()
        };
        assert_eq!(run(LINE, &strict).rows.len(), 1);
        assert_eq!(reason(&with(9, "90001"), &strict), Reason::TotalMismatch);
        assert_eq!(run(&with(9, "90001"), &Rules::default()).rows.len(), 1);
    }

    #[test]
    fn channel_filter() {
        let rules = Rules {
            channel: Some("shopee".into()),
            ..Rules::default()
        };
        assert_eq!(run(LINE, &rules).rows.len(), 1);
        let chunk = run(&with(17, "Tokopedia"), &rules);
        assert_eq!((chunk.rows.len(), chunk.filtered, chunk.read), (0, 1, 1));
    }

    #[test]
    fn encodings() {
        let mut rec = record(LINE);
        let mut fields: Vec<Vec<u8>> = rec.iter().map(|f| f.to_vec()).collect();
        fields[6] = b"Caf\xe9 \x93Latte\x94".to_vec();
        rec = ByteRecord::from(fields);
        let map = header_map();
        let mut chunk = Chunk::new(0, 1);
        chunk.add_record(&rec, 2, &map, &Rules::default());
        assert_eq!(
            chunk.value(&chunk.rows[0], 5),
            Value::Text("Café \u{201c}Latte\u{201d}")
        );
        let utf8 = Rules {
            encoding: Encoding::Utf8,
            ..Rules::default()
        };
        chunk.add_record(&rec, 3, &map, &utf8);
        assert_eq!(chunk.rejects[0].reason, Reason::InvalidEncoding);
        assert_eq!(chunk.rejects[0].column.as_deref(), Some("Nama Produk"));
    }

    #[test]
    fn a_character_split_across_two_fields_is_decoded_per_field() {
        // Together the two fields are the UTF-8 of "é"; each alone is not.
        let mut fields: Vec<Vec<u8>> = record(LINE).iter().map(|f| f.to_vec()).collect();
        fields[5] = b"SKU-\xc3".to_vec();
        fields[6] = b"\xa9 Latte".to_vec();
        let rec = ByteRecord::from(fields);
        assert!(std::str::from_utf8(rec.as_slice()).is_ok());
        let mut chunk = Chunk::new(0, 1);
        chunk.add_record(&rec, 2, &header_map(), &Rules::default());
        let row = &chunk.rows[0];
        assert_eq!(chunk.value(row, 4), Value::Text("SKU-\u{c3}"));
        assert_eq!(chunk.value(row, 5), Value::Text("\u{a9} Latte"));
        let utf8 = Rules {
            encoding: Encoding::Utf8,
            ..Rules::default()
        };
        chunk.add_record(&rec, 3, &header_map(), &utf8);
        assert_eq!(chunk.rejects[0].reason, Reason::InvalidEncoding);
        assert_eq!(chunk.rejects[0].column.as_deref(), Some("SKU"));
    }

    proptest::proptest! {
        #[test]
        fn trim_is_str_trim(
            text in proptest::collection::vec(
                proptest::sample::select(vec![
                    ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{a0}', '\u{3000}', '\u{85}',
                    'a', 'Z', '0', '\'', 'é', '\u{1f600}', '\u{0}',
                ]),
                0..8,
            )
        ) {
            let text: String = text.into_iter().collect();
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }
    }

    #[test]
    fn messages_quote_a_few_hundred_bytes_of_a_value() {
        let long = format!("{}é", "9".repeat(VALUE_KEPT - 1));
        let chunk = run(&with(7, &format!("x{long}{long}")), &Rules::default());
        let reject = &chunk.rejects[0];
        assert_eq!(reject.reason, Reason::InvalidMoney);
        let value = reject.value.as_deref().unwrap();
        assert!(value.len() <= VALUE_KEPT + '…'.len_utf8() && value.ends_with('…'));
        assert!(reject.message.len() < 2 * VALUE_KEPT, "{}", reject.message);
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcé", 4), "abc…");
    }

    #[test]
    fn an_oversized_record_is_a_reject_of_the_whole_row() {
        let mut chunk = Chunk::new(0, 1);
        let preview = ByteRecord::from(vec!["1".to_string(), "x".repeat(500)]);
        chunk.add_oversized(
            7,
            &preview,
            Reason::RecordTooLong,
            "too long".into(),
            Encoding::Auto,
        );
        assert_eq!(
            (chunk.read, chunk.rows.len(), chunk.rejects.len()),
            (1, 0, 1)
        );
        let reject = &chunk.rejects[0];
        assert_eq!((reject.line, reject.column.as_deref()), (7, None));
        assert_eq!(Reason::RecordTooLong.code(), "record_too_long");
        assert!(reject.raw.starts_with("1,xxx") && reject.raw.ends_with('…'));
        assert!(reject.raw.len() <= PREVIEW_KEPT + '…'.len_utf8());
        assert_eq!(reject.value.as_deref(), Some(reject.raw.as_str()));
        assert!(chunk.held_bytes() >= reject.raw.len());
    }

    #[test]
    fn sen_formatting() {
        assert_eq!(sen_to_string(4_500_050), "45000.50");
        assert_eq!(sen_to_string(-150_000), "-1500");
    }
}
