//! The export's columns: which fields exist, how their headers are spelled,
//! and how a file's header row maps onto them.
//!
//! Columns are found by name, never by position: case, surrounding spaces and
//! repeated inner spaces do not matter, and `[columns]` in the config adds
//! aliases. This module only describes and maps columns; it never reads rows.

use std::collections::HashMap;

/// How a field's text becomes a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text from which one leading `'` is dropped (Excel's "keep as text" mark).
    InvoiceCode,
    Datetime,
    Money {
        non_negative: bool,
    },
    Qty,
}

/// One stored field of the export.
#[derive(Debug)]
pub struct FieldDef {
    /// The header as the real export writes it.
    pub header: &'static str,
    /// The database column.
    pub column: &'static str,
    pub kind: Kind,
    /// Order-level fields go to `dropship_purchases`, the others to
    /// `dropship_purchase_details`.
    pub order_level: bool,
    pub required: bool,
    /// Index into the row's text or number slots (see `rows::Row`).
    pub slot: usize,
}

impl FieldDef {
    pub fn is_text(&self) -> bool {
        matches!(self.kind, Kind::Text | Kind::InvoiceCode | Kind::Datetime)
    }
}

const fn field(
    header: &'static str,
    column: &'static str,
    kind: Kind,
    order_level: bool,
    required: bool,
    slot: usize,
) -> FieldDef {
    FieldDef {
        header,
        column,
        kind,
        order_level,
        required,
        slot,
    }
}

const MONEY: Kind = Kind::Money {
    non_negative: false,
};
const MONEY_MIN_0: Kind = Kind::Money { non_negative: true };

/// Number of text slots in a row (text, invoice code and datetime fields).
pub const TEXT_SLOTS: usize = 17;
/// Number of number slots in a row (money and qty fields).
pub const NUMBER_SLOTS: usize = 9;

/// Every stored field, in the export's order (the `No` counter is not stored).
pub static FIELDS: [FieldDef; 26] = [
    field(
        "Waktu Pesanan Terbuat",
        "waktu_pesanan_terbuat",
        Kind::Datetime,
        true,
        true,
        0,
    ),
    field(
        "Status Pesanan Terakhir",
        "status_pesanan_terakhir",
        Kind::Text,
        true,
        false,
        1,
    ),
    field("Kode Pesanan", "kode_pesanan", Kind::Text, true, true, 2),
    field(
        "Kode Transaksi",
        "kode_transaksi",
        Kind::Text,
        true,
        false,
        3,
    ),
    field("SKU", "sku", Kind::Text, false, true, 4),
    field("Nama Produk", "nama_produk", Kind::Text, false, false, 5),
    field(
        "Harga Produk",
        "harga_produk_sen",
        MONEY_MIN_0,
        false,
        true,
        0,
    ),
    field("Qty", "qty", Kind::Qty, false, true, 1),
    field(
        "Total Harga Produk",
        "total_harga_produk_sen",
        MONEY_MIN_0,
        false,
        true,
        2,
    ),
    field("Biaya Lainnya", "biaya_lainnya_sen", MONEY, true, false, 3),
    field(
        "Biaya Mitra Jakmall",
        "biaya_mitra_jakmall_sen",
        MONEY,
        true,
        false,
        4,
    ),
    field(
        "Total Transaksi",
        "total_transaksi_sen",
        MONEY_MIN_0,
        true,
        true,
        5,
    ),
    field(
        "Harga Produk Channel",
        "harga_produk_channel_sen",
        MONEY,
        false,
        false,
        6,
    ),
    field(
        "Total Harga Produk Channel",
        "total_harga_produk_channel_sen",
        MONEY,
        false,
        false,
        7,
    ),
    field(
        "Potensi Keuntungan",
        "potensi_keuntungan_sen",
        MONEY,
        false,
        false,
        8,
    ),
    field("Dibuat Oleh", "dibuat_oleh", Kind::Text, true, false, 6),
    field("Jenis Channel", "jenis_channel", Kind::Text, true, false, 7),
    field("Nama Toko", "nama_toko", Kind::Text, true, false, 8),
    field(
        "Kode Invoice Channel",
        "kode_invoice_channel",
        Kind::InvoiceCode,
        true,
        false,
        9,
    ),
    field(
        "Gudang Pengiriman",
        "gudang_pengiriman",
        Kind::Text,
        true,
        false,
        10,
    ),
    field(
        "Jenis Ekspedisi",
        "jenis_ekspedisi",
        Kind::Text,
        true,
        false,
        11,
    ),
    field("Cashless", "cashless", Kind::Text, true, false, 12),
    field("Nomor Resi", "nomor_resi", Kind::Text, true, false, 13),
    field(
        "Waktu Pengiriman",
        "waktu_pengiriman",
        Kind::Datetime,
        true,
        false,
        14,
    ),
    field("Provinsi", "provinsi", Kind::Text, true, false, 15),
    field("Kota", "kota", Kind::Text, true, false, 16),
];

/// Indexes into [`FIELDS`] of the fields the pipeline looks at by name.
pub mod idx {
    pub const KODE_PESANAN: usize = 2;
    pub const HARGA_PRODUK: usize = 6;
    pub const QTY: usize = 7;
    pub const TOTAL_HARGA_PRODUK: usize = 8;
    pub const JENIS_CHANNEL: usize = 16;
}

/// Lower-cases and collapses whitespace, so `  Kode   pesanan ` matches
/// `Kode Pesanan`.
pub fn normalize(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for word in header.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Header names (normalized) for each field, including configured aliases.
#[derive(Debug, Clone)]
pub struct Names {
    by_name: HashMap<String, usize>,
}

impl Names {
    /// `aliases` maps a field name (`kode_pesanan`) to more header names.
    /// An alias for an unknown field is an error naming it, and so is an
    /// alias that would make a header ambiguous: one that is already another
    /// field's header (or the `No` counter), or one given to two fields.
    pub fn new(aliases: &HashMap<String, Vec<String>>) -> Result<Names, String> {
        let mut by_name = HashMap::new();
        for (i, f) in FIELDS.iter().enumerate() {
            by_name.insert(normalize(f.header), i);
            by_name.insert(normalize(f.column), i);
        }
        by_name.insert("no".to_string(), usize::MAX);
        // Who gave each alias, to name both fields when two want one name.
        let mut given_by: HashMap<String, usize> = HashMap::new();
        let name_of = |field: usize| match FIELDS.get(field) {
            Some(f) => f.column,
            None => "the No counter",
        };
        let mut keys: Vec<_> = aliases.keys().collect();
        keys.sort();
        for key in keys {
            let field = FIELDS
                .iter()
                .position(|f| f.column == key.as_str() || normalize(f.header) == normalize(key))
                .ok_or_else(|| {
                    format!(
                        "[columns]: unknown field `{key}` (fields are: {})",
                        FIELDS
                            .iter()
                            .map(|f| f.column)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            for alias in &aliases[key] {
                let name = normalize(alias);
                let shown = crate::escape::quoted(alias);
                if name.is_empty() {
                    return Err(format!(
                        "[columns]: {key} has an empty alias {shown}, which would match an unnamed column"
                    ));
                }
                match (by_name.get(&name), given_by.get(&name)) {
                    (Some(&other), Some(_)) if other != field => {
                        return Err(format!(
                            "[columns]: the alias {shown} is given to both {} and {}; \
                             a header can name only one field",
                            name_of(other),
                            name_of(field)
                        ));
                    }
                    (Some(&other), None) if other != field => {
                        return Err(format!(
                            "[columns]: the alias {shown} of {} is already a header of {}; \
                             a header can name only one field",
                            name_of(field),
                            name_of(other)
                        ));
                    }
                    _ => {}
                }
                by_name.insert(name.clone(), field);
                given_by.insert(name, field);
            }
        }
        Ok(Names { by_name })
    }

    /// True for a header that names a field (or the `No` counter).
    pub fn knows(&self, header: &str) -> bool {
        self.by_name.contains_key(&normalize(header))
    }

    /// Maps a header row onto the fields. Extra columns are ignored; the
    /// first column of a field wins when a header repeats.
    pub fn map(&self, headers: &[String]) -> Result<HeaderMap, MissingColumns> {
        let mut position = [None; 26];
        for (col, h) in headers.iter().enumerate() {
            if let Some(&field) = self.by_name.get(&normalize(h))
                && field != usize::MAX
                && position[field].is_none()
            {
                position[field] = Some(col);
            }
        }
        if FIELDS
            .iter()
            .zip(position.iter())
            .any(|(f, p)| f.required && p.is_none())
        {
            return Err(self.missing(headers, &position));
        }
        Ok(HeaderMap {
            position,
            headers: headers.to_vec(),
        })
    }

    /// What a header row lacks, each missing column with the header of the
    /// file that looks most like it: only headers that name no field are
    /// candidates, and each is offered for one field at most.
    fn missing(&self, headers: &[String], position: &[Option<usize>; 26]) -> MissingColumns {
        let unknown: Vec<usize> = (0..headers.len())
            .filter(|&col| {
                let name = normalize(&headers[col]);
                !name.is_empty() && !self.by_name.contains_key(&name)
            })
            .collect();
        let mut offered = Vec::new();
        let mut missing = Vec::new();
        for (field, f) in FIELDS.iter().enumerate() {
            if !f.required || position[field].is_some() {
                continue;
            }
            let closest = unknown
                .iter()
                .filter(|col| !offered.contains(*col))
                .filter_map(|&col| resemblance(f.header, &headers[col]).map(|score| (col, score)))
                // The best score; the first column of equals.
                .fold(
                    None,
                    |best: Option<(usize, f64)>, (col, score)| match best {
                        Some((_, top)) if top >= score => best,
                        _ => Some((col, score)),
                    },
                )
                .map(|(col, _)| col);
            offered.extend(closest);
            missing.push(Missing {
                field,
                closest: closest.map(|col| (col, headers[col].clone())),
            });
        }
        // The headers left over, for the columns that nothing looks like.
        let unknown: Vec<usize> = unknown
            .into_iter()
            .filter(|col| !offered.contains(col))
            .collect();
        MissingColumns {
            missing,
            unknown: unknown
                .iter()
                .take(UNKNOWN_LISTED)
                .map(|&col| (col, clip(&headers[col], UNKNOWN_BYTES)))
                .collect(),
            unknown_count: unknown.len(),
            found: headers
                .iter()
                .take(FOUND_LISTED)
                .map(|h| clip(h, UNKNOWN_BYTES))
                .collect(),
            columns: headers.len(),
        }
    }
}

/// Headers longer than this are never offered as a spelling of a field.
const COMPARED_BYTES: usize = 100;

/// How much `header` looks like the field header `name`, from 0 to 1,
/// ignoring case, spaces and punctuation (`Kode-Pesanan`, `KodePesanan`
/// and `Kode Pesanan.` are all `Kode Pesanan`); `None` when it does not
/// look like it enough to be offered.
pub fn resemblance(name: &str, header: &str) -> Option<f64> {
    if header.len() > COMPARED_BYTES {
        return None;
    }
    let squash = |text: &str| -> String {
        text.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let (a, b) = (squash(name), squash(header));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let score = strsim::normalized_damerau_levenshtein(&a, &b);
    // One holding the other (`SKU` in `SKU Produk`), unless the longer is
    // mostly something else.
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let held = short.len() >= 3 && long.len() <= 3 * short.len() && long.contains(short.as_str());
    let score = if held { score.max(0.75) } else { score };
    (score >= 0.6).then_some(score)
}

/// `text` cut to at most `max` bytes on a character boundary, `…` marking
/// a cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…({} bytes)", &text[..end], text.len())
}

/// Where each field sits in one file's records.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    pub position: [Option<usize>; 26],
    /// The header row as written in the file (trimmed).
    pub headers: Vec<String>,
}

impl HeaderMap {
    /// The header as written in the file for a field that is present.
    pub fn header_of(&self, field: usize) -> &str {
        match self.position[field] {
            Some(col) => &self.headers[col],
            None => FIELDS[field].header,
        }
    }
}

/// A header row without some required column: what is missing, what in
/// the file might be it, and how to say so in the config.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingColumns {
    pub missing: Vec<Missing>,
    /// The first headers that name no field and are not offered as the
    /// closest to a missing one, with their column (0-based), each cut
    /// short.
    pub unknown: Vec<(usize, String)>,
    /// How many such headers there are in all.
    pub unknown_count: usize,
    /// The first headers of the file, each cut short: listed when no
    /// header is left that could be a missing column.
    pub found: Vec<String>,
    /// How many columns the header row has.
    pub columns: usize,
}

/// One required field the header row lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Index into [`FIELDS`].
    pub field: usize,
    /// The header of the file that looks most like it (and its 0-based
    /// column), when one looks enough like it.
    pub closest: Option<(usize, String)>,
}

impl MissingColumns {
    /// The headers of the missing fields, as the export writes them.
    pub fn headers(&self) -> Vec<&'static str> {
        self.missing
            .iter()
            .map(|m| FIELDS[m.field].header)
            .collect()
    }
}

/// How many of the file's headers a message lists at most.
const FOUND_LISTED: usize = 40;
/// How many of the headers that name no field a message lists.
const UNKNOWN_LISTED: usize = 10;
/// How much of each of those headers it shows.
const UNKNOWN_BYTES: usize = 60;

impl std::fmt::Display for MissingColumns {
    /// One line (it is also a log line and a database value) that names
    /// each missing column, the header that looks like it with the
    /// `[columns]` alias that would map it, or else the headers that map to
    /// nothing. Headers come from the file: each is escaped and cut short.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape::quoted;
        for (i, m) in self.missing.iter().enumerate() {
            let field = &FIELDS[m.field];
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "missing required column \"{}\"", field.header)?;
            match &m.closest {
                Some((col, header)) => write!(
                    f,
                    "; closest header: {} (column {}); if that is it, add to importer.toml \
                     under [columns]: {} = [{}]",
                    quoted(header),
                    col + 1,
                    field.column,
                    toml::Value::String(header.clone())
                )?,
                None => f.write_str("; no header of the file looks like it")?,
            }
        }
        if self.missing.iter().all(|m| m.closest.is_some()) {
            return Ok(());
        }
        if self.unknown.is_empty() {
            // The column is not there: what is there, to compare.
            f.write_str("; found headers: ")?;
            for (i, header) in self.found.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(&crate::escape::clipped(header))?;
            }
            if let more @ 1.. = self.columns - self.found.len() {
                write!(f, " and {more} more")?;
            }
            return Ok(());
        }
        f.write_str("; headers that name no field: ")?;
        for (i, (col, header)) in self.unknown.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} (column {})", quoted(header), col + 1)?;
        }
        if let more @ 1.. = self.unknown_count - self.unknown.len() {
            write!(f, " and {more} more")?;
        }
        let unmatched: Vec<&str> = self
            .missing
            .iter()
            .filter(|m| m.closest.is_none())
            .map(|m| FIELDS[m.field].column)
            .collect();
        match unmatched.as_slice() {
            [one] => write!(
                f,
                "; if one of them is it, add to importer.toml under [columns]: {one} = [\"<that header>\"]"
            ),
            many => write!(
                f,
                "; if one of them is one of these, add to importer.toml under [columns]: \
                 <field> = [\"<that header>\"], the field being one of {}",
                many.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn all_headers() -> Vec<String> {
        let mut h = vec!["No".to_string()];
        h.extend(FIELDS.iter().map(|f| f.header.to_string()));
        h
    }

    #[test]
    fn slots_are_dense_and_unique() {
        let mut text = [false; TEXT_SLOTS];
        let mut num = [false; NUMBER_SLOTS];
        for f in &FIELDS {
            let seen = if f.is_text() {
                &mut text[f.slot]
            } else {
                &mut num[f.slot]
            };
            assert!(!*seen, "slot reused by {}", f.column);
            *seen = true;
        }
        assert!(text.iter().all(|&s| s) && num.iter().all(|&s| s));
        assert_eq!(FIELDS[idx::KODE_PESANAN].column, "kode_pesanan");
        assert_eq!(FIELDS[idx::HARGA_PRODUK].column, "harga_produk_sen");
        assert_eq!(FIELDS[idx::QTY].column, "qty");
        assert_eq!(
            FIELDS[idx::TOTAL_HARGA_PRODUK].column,
            "total_harga_produk_sen"
        );
        assert_eq!(FIELDS[idx::JENIS_CHANNEL].column, "jenis_channel");
    }

    #[test]
    fn normalize_ignores_case_and_spaces() {
        assert_eq!(normalize("  Kode   PESANAN \t"), "kode pesanan");
    }

    #[test]
    fn maps_by_name_in_any_order() {
        let names = Names::new(&HashMap::new()).unwrap();
        let mut h = all_headers();
        h.reverse();
        h.push("Extra".into());
        let map = names.map(&h).unwrap();
        assert_eq!(map.position[idx::KODE_PESANAN], Some(h.len() - 5));
    }

    #[test]
    fn aliases_and_missing_columns() {
        let mut aliases = HashMap::new();
        aliases.insert("kode_pesanan".to_string(), vec!["Order Code".to_string()]);
        let names = Names::new(&aliases).unwrap();
        let h: Vec<String> = all_headers()
            .into_iter()
            .map(|h| {
                if h == "Kode Pesanan" {
                    "order  code".into()
                } else {
                    h
                }
            })
            .collect();
        assert!(names.map(&h).is_ok());
        let err = names.map(&headers(&["No", "SKU"])).unwrap_err();
        assert!(err.headers().contains(&"Kode Pesanan"));
        assert!(
            err.to_string()
                .contains("no header of the file looks like it; found headers: No, SKU"),
            "{err}"
        );
        let hostile = vec!["\u{1b}]0;pwned\u{7}".to_string(), "x".repeat(100_000)];
        let shown = names.map(&hostile).unwrap_err().to_string();
        assert!(
            !shown.contains('\u{1b}') && shown.contains("\\x1b]0;pwned\\x07"),
            "{shown}"
        );
        assert!(
            shown.len() < 2000 && shown.contains("…(100000 bytes)"),
            "{shown}"
        );
        let wide: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
        let shown = names.map(&wide).unwrap_err().to_string();
        assert!(shown.contains("(column 10) and 490 more"), "{shown}");
        aliases.insert("nope".into(), vec![]);
        assert!(Names::new(&aliases).unwrap_err().contains("nope"));
    }

    /// The headers of the export with `header` written as `written`.
    fn with(header: &str, written: &str) -> Vec<String> {
        all_headers()
            .into_iter()
            .map(|h| if h == header { written.to_string() } else { h })
            .collect()
    }

    #[test]
    fn headers_that_differ_in_case_spaces_or_punctuation_resemble_the_field() {
        for header in [
            "Kode-Pesanan",
            "KodePesanan",
            "kode pesanan.",
            "Kode Pesnan",
        ] {
            assert!(
                resemblance("Kode Pesanan", header).is_some(),
                "{header} should resemble Kode Pesanan"
            );
        }
        assert_eq!(resemblance("Kode Pesanan", "Kode-Pesanan"), Some(1.0));
        assert!(resemblance("SKU", "SKU Produk").is_some());
        for header in [
            "Nama Toko",
            "Order Code",
            "",
            "---",
            "SKU Produk Channel Lama",
        ] {
            assert_eq!(resemblance("SKU", header), None, "{header}");
        }
        // A whole comma header read as one column is not a spelling of one.
        let line = all_headers().join(",");
        assert_eq!(resemblance("Waktu Pesanan Terbuat", &line), None);
        let near = resemblance("Kode Pesanan", "Kode Pesanan Lama").unwrap();
        assert!(near < resemblance("Kode Pesanan", "Kode_Pesanan.").unwrap());
    }

    #[test]
    fn a_missing_column_names_the_closest_header_and_the_alias_that_maps_it() {
        let names = Names::new(&HashMap::new()).unwrap();
        let err = names
            .map(&with("Kode Pesanan", "Kode-Pesanan "))
            .unwrap_err();
        assert_eq!(err.headers(), ["Kode Pesanan"]);
        assert_eq!(
            err.to_string(),
            "missing required column \"Kode Pesanan\"; closest header: \"Kode-Pesanan \" \
             (column 4); if that is it, add to importer.toml under [columns]: \
             kode_pesanan = [\"Kode-Pesanan \"]"
        );
        // The alias it offers is one the config takes, and then the file maps.
        let mut aliases = HashMap::new();
        aliases.insert(
            "kode_pesanan".to_string(),
            vec!["Kode-Pesanan ".to_string()],
        );
        let config: HashMap<String, Vec<String>> = toml::from_str::<toml::Table>(&format!(
            "kode_pesanan = [{}]",
            toml::Value::String("Kode-Pesanan ".into())
        ))
        .unwrap()
        .try_into()
        .unwrap();
        assert_eq!(config, aliases);
        assert!(
            Names::new(&config)
                .unwrap()
                .map(&with("Kode Pesanan", "Kode-Pesanan "))
                .is_ok()
        );
    }

    #[test]
    fn a_header_is_offered_for_one_field_and_the_others_are_listed() {
        let names = Names::new(&HashMap::new()).unwrap();
        let mut h = with("Qty", "Jumlah");
        h = h
            .into_iter()
            .map(|x| if x == "SKU" { "S.K.U".to_string() } else { x })
            .collect();
        h.push("Catatan".into());
        let err = names.map(&h).unwrap_err();
        assert_eq!(err.headers(), ["SKU", "Qty"]);
        let shown = err.to_string();
        assert!(
            shown.starts_with(
                "missing required column \"SKU\"; closest header: \"S.K.U\" (column 6)"
            ),
            "{shown}"
        );
        assert!(
            shown.contains(
                "missing required column \"Qty\"; no header of the file looks like it; \
                 headers that name no field: \"Jumlah\" (column 9), \"Catatan\" (column 28); \
                 if one of them is it, add to importer.toml under [columns]: qty = [\"<that header>\"]"
            ),
            "{shown}"
        );
        assert!(!shown.contains('\n'), "one line: {shown}");
    }

    #[test]
    fn an_alias_that_makes_a_header_ambiguous_names_both_fields() {
        let names = |pairs: &[(&str, &[&str])]| {
            let aliases: HashMap<String, Vec<String>> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|a| a.to_string()).collect()))
                .collect();
            Names::new(&aliases)
        };
        for (pairs, both) in [
            (
                &[("sku", &["Kode Pesanan"][..])][..],
                ["sku", "kode_pesanan"],
            ),
            (
                &[("sku", &["  kode   PESANAN "][..])][..],
                ["sku", "kode_pesanan"],
            ),
            (
                &[("sku", &["kode_pesanan"][..])][..],
                ["sku", "kode_pesanan"],
            ),
            (&[("Nama Produk", &["SKU"][..])][..], ["nama_produk", "sku"]),
            (&[("sku", &["No"][..])][..], ["sku", "No counter"]),
            (
                &[("sku", &["Code"][..]), ("kode_pesanan", &["code"][..])][..],
                ["kode_pesanan", "sku"],
            ),
        ] {
            let err = names(pairs).expect_err(&format!("{pairs:?}"));
            assert!(err.contains(both[0]) && err.contains(both[1]), "{err}");
        }
        let err = names(&[("sku", &[" "][..])]).unwrap_err();
        assert!(err.contains("empty alias"), "{err}");
        // A field's own header, or one alias given twice to one field, is fine.
        assert!(names(&[("sku", &["SKU", "Kode Barang", "kode  barang"][..])]).is_ok());
    }
}
