//! Deterministic generator of realistic purchase exports for `dropship-import`.
//!
//! It writes `part-000.csv`, `part-001.csv`, ... in the real export format (the 27
//! headers of SPEC.md "Input: the purchase export", comma delimiter, LF, UTF-8
//! without BOM, minimal quoting), with skewed file sizes (from a few KB to a few MB),
//! a share of bad rows (each with a known reject reason code) and a share of orders
//! repeated whole in a later file. The same [`Spec`] always gives byte-identical files.
//! A [`Format`] writes the same rows otherwise: gzip, BOM, CRLF, product names
//! spanning two lines, `;` or tab, decimal or grouped money; and can record what
//! the database must hold for every row ([`Expected`]). Standard library and
//! `flate2` only.
//!
//! As a program:
//!
//! ```text
//! cargo run --release --example generate -- --out DIR [--files 100] [--rows 500000] \
//!     [--seed 42] [--bad-share 0.001] [--dup-share 0.01]
//! ```
//!
//! As a module of an integration test:
//!
//! ```ignore
//! #[path = "../examples/generate.rs"]
//! mod generate;
//!
//! let spec = generate::Spec { files: 5, rows: 2000, seed: 7, bad_share: 0.01, dup_share: 0.05 };
//! let files = generate::generate(dir.path(), &spec, true)?;
//! ```
//!
//! What a test can rely on:
//! - `GenFile.rows[i]` is the i-th data row of the file; `line` is its physical line
//!   (the header is line 1, so the first row is line 2; in the default format no
//!   field holds a newline, with `quoted_newlines` a record may span two lines).
//! - `bad` is `Some(reason)` for a row that must be rejected, with the reason code
//!   `invalid_integer`, `invalid_money`, `invalid_datetime`, `missing_value`,
//!   `negative_value` or `field_count`; such a row has exactly one mistake.
//!   `qty` and `total_harga_produk_sen` are the line's values before the mistake was
//!   applied (a bad row is rejected, so they are never imported).
//! - Every order is written with all its lines consecutive in one file. An order is
//!   either new (its `kode_pesanan` never appeared in an earlier file) or a whole
//!   repeat of an order from an earlier file (same lines, same fields, only `No`
//!   differs). An order is repeated at most once, never within its own file, and a
//!   repeated order has no bad line in either copy.
//! - All files have different sizes in bytes, so "smallest first" is a strict order
//!   (a file is re-rolled until its size is new; only when many files hold just a
//!   handful of rows, e.g. 1,000 files for 5,000 rows, can ties remain).
//! - Only the last order of a file may have been cut short to make the row count
//!   exact; it is still a complete order of the file (nothing of it is elsewhere).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The header row of the export, in its order.
pub const HEADERS: [&str; 27] = [
    "No",
    "Waktu Pesanan Terbuat",
    "Status Pesanan Terakhir",
    "Kode Pesanan",
    "Kode Transaksi",
    "SKU",
    "Nama Produk",
    "Harga Produk",
    "Qty",
    "Total Harga Produk",
    "Biaya Lainnya",
    "Biaya Mitra Jakmall",
    "Total Transaksi",
    "Harga Produk Channel",
    "Total Harga Produk Channel",
    "Potensi Keuntungan",
    "Dibuat Oleh",
    "Jenis Channel",
    "Nama Toko",
    "Kode Invoice Channel",
    "Gudang Pengiriman",
    "Jenis Ekspedisi",
    "Cashless",
    "Nomor Resi",
    "Waktu Pengiriman",
    "Provinsi",
    "Kota",
];

/// The reason codes a bad row can carry (`GenRow.bad`).
pub const BAD_REASONS: [&str; 6] = [
    "invalid_integer",
    "invalid_money",
    "invalid_datetime",
    "missing_value",
    "negative_value",
    "field_count",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of files (at least 1).
    pub files: usize,
    /// Total data rows over all files (at least `files`: every file has a row).
    pub rows: usize,
    /// PRNG seed; the same spec gives byte-identical files.
    pub seed: u64,
    /// Share of rows (0..=1) replaced by a bad row.
    pub bad_share: f64,
    /// Share of orders (0..=1, files after the first) that repeat an earlier file's order.
    pub dup_share: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            files: 100,
            rows: 500_000,
            seed: 42,
            bad_share: 0.001,
            dup_share: 0.01,
        }
    }
}

/// One written file.
#[derive(Debug, Clone)]
pub struct GenFile {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// The data rows in file order (empty unless `keep_rows`).
    pub rows: Vec<GenRow>,
}

/// One written data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRow {
    /// Physical line number (header = 1, first row = 2).
    pub line: u64,
    pub kode_pesanan: String,
    /// `Some(reason code)` when the row must be rejected.
    pub bad: Option<&'static str>,
    pub qty: i64,
    /// Harga Produk × Qty in sen (1/100 rupiah).
    pub total_harga_produk_sen: i64,
    /// What the database must hold for this row (with [`Format::record_values`]).
    pub values: Option<Box<Expected>>,
}

/// The stored value of every column a row reaches, as SQLite shows it
/// (`Some(text)` for text and whole numbers, `None` for NULL): dates as ISO
/// text with the `+07:00` offset, money in sen, text trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `dropship_purchases` columns (the order's fields; every row of an
    /// order says the same).
    pub order: Vec<(&'static str, Option<String>)>,
    /// `dropship_purchase_details` columns of this row's line.
    pub line: Vec<(&'static str, Option<String>)>,
    /// For a bad row: the header of the column at fault (`None` when the
    /// whole row is) and the value as written (`None` for no value).
    pub reject: Option<(Option<&'static str>, Option<String>)>,
}

/// How money is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Money {
    /// Whole rupiah: `45000`, `-1500`.
    #[default]
    Plain,
    /// Rupiah with sen where there are some: `45000`, `1000.5`, `55000.25`.
    Decimal,
    /// Grouped thousands and two decimals: `45,000.00`, `1,000.50`.
    Grouped,
}

/// The shape of the files written: the real export's by default (UTF-8
/// without BOM, LF, commas, no field holding a newline, whole rupiah).
#[derive(Debug, Clone, Default)]
pub struct Format {
    /// `part-NNN.csv.gz`, gzip-compressed (`size_bytes` is the compressed size).
    pub gzip: bool,
    /// A UTF-8 byte order mark first.
    pub bom: bool,
    /// CRLF line ends (a newline inside a quoted field stays LF).
    pub crlf: bool,
    /// Now and then a product name holds a newline (the field is quoted and
    /// the record spans two lines; `GenRow.line` is where it starts).
    pub quoted_newlines: bool,
    /// `Some(b';')` or `Some(b'\t')` instead of commas.
    pub delimiter: Option<u8>,
    /// How money is written; not `Plain`, some values carry sen.
    pub money: Money,
    /// Fill `GenRow.values` (with `keep_rows`).
    pub record_values: bool,
}

impl Format {
    fn delim(&self) -> u8 {
        self.delimiter.unwrap_or(b',')
    }

    fn eol(&self) -> &'static [u8] {
        if self.crlf { b"\r\n" } else { b"\n" }
    }
}

/// Writes `spec.files` files into `dir` (created if missing). When `keep_rows` is
/// false the returned `GenFile.rows` are empty.
pub fn generate(dir: &Path, spec: &Spec, keep_rows: bool) -> io::Result<Vec<GenFile>> {
    generate_with(dir, spec, &Format::default(), keep_rows)
}

/// [`generate`] in another [`Format`]. The orders, lines and mistakes are
/// those of the same `spec` in the default format.
pub fn generate_with(
    dir: &Path,
    spec: &Spec,
    format: &Format,
    keep_rows: bool,
) -> io::Result<Vec<GenFile>> {
    if spec.files == 0 {
        return Err(invalid("files must be at least 1"));
    }
    if spec.rows < spec.files {
        return Err(invalid(
            "rows must be at least files (every file has a row)",
        ));
    }
    if !(0.0..=1.0).contains(&spec.bad_share) || !(0.0..=1.0).contains(&spec.dup_share) {
        return Err(invalid("bad_share and dup_share must be between 0 and 1"));
    }
    std::fs::create_dir_all(dir)?;

    let catalog = build_catalog();
    let counts = split_rows(
        spec.rows,
        spec.files,
        &mut Rng::new(mix(spec.seed, 0xF11E5)),
    );
    let width = digits(spec.files as u64 - 1).max(3);

    let mut state = State {
        counter: 1,
        pool: Vec::new(),
    };
    let mut sizes: BTreeSet<u64> = BTreeSet::new();
    let mut out = Vec::with_capacity(spec.files);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);

    for (fi, &nrows) in counts.iter().enumerate() {
        let path = dir.join(format!("part-{fi:0width$}.csv"));
        let gz_path = dir.join(format!("part-{fi:0width$}.csv.gz"));
        // Day range of this file's new orders: the year 2025 cut in `files` slices.
        let day_lo = (fi * 365 / spec.files) as i64;
        let day_hi = (((fi + 1) * 365 / spec.files) as i64).max(day_lo + 1);
        let mut attempt = 0u64;
        loop {
            let start_counter = state.counter;
            let mut rng = Rng::new(mix(mix(spec.seed, fi as u64 + 1), attempt));
            let mut ctx = FileCtx {
                catalog: &catalog,
                rng: &mut rng,
                state: &mut state,
                spec,
                format,
                day_lo,
                day_hi,
                keep_rows,
                rows: Vec::new(),
                pending: Vec::new(),
                flagged: Vec::new(),
            };
            let mut size = ctx.write_file(&path, nrows, &mut buf)?;
            if format.gzip {
                size = gzip_file(&path, &gz_path)?;
            }
            let FileCtx {
                rows,
                pending,
                flagged,
                ..
            } = ctx;
            // Sizes must all differ so that "smallest first" is a strict order.
            // (Many tiny files may make that impossible: then ties are kept after 64 tries.)
            if sizes.contains(&size) && attempt < 64 {
                for i in flagged {
                    state.pool[i].repeated = false;
                }
                state.counter = start_counter;
                attempt += 1;
                continue;
            }
            sizes.insert(size);
            state.pool.extend(pending);
            out.push(GenFile {
                path: if format.gzip { gz_path } else { path },
                size_bytes: size,
                rows,
            });
            break;
        }
    }
    Ok(out)
}

/// Replaces `plain` by its gzip-compressed copy `gz`; the copy's size.
fn gzip_file(plain: &Path, gz: &Path) -> io::Result<u64> {
    let data = std::fs::read(plain)?;
    let mut enc = flate2::write::GzEncoder::new(
        BufWriter::new(File::create(gz)?),
        flate2::Compression::fast(),
    );
    enc.write_all(&data)?;
    enc.finish()?.flush()?;
    std::fs::remove_file(plain)?;
    Ok(std::fs::metadata(gz)?.len())
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

// ---------------------------------------------------------------------------
// PRNG (splitmix64)

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Index by integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.below(total as u64) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

// ---------------------------------------------------------------------------
// Row counts per file: log-uniform weights (max/min = 200), every file >= 1, exact total.

fn split_rows(rows: usize, files: usize, rng: &mut Rng) -> Vec<usize> {
    let ln_ratio = 200f64.ln();
    let weights: Vec<f64> = (0..files).map(|_| (rng.unit() * ln_ratio).exp()).collect();
    let total_w: f64 = weights.iter().sum();
    let extra = (rows - files) as f64;
    let mut counts = Vec::with_capacity(files);
    let mut fracs = Vec::with_capacity(files);
    let mut given = 0usize;
    for (i, w) in weights.iter().enumerate() {
        let share = extra * w / total_w;
        let whole = share.floor() as usize;
        counts.push(1 + whole);
        given += whole;
        fracs.push((share - whole as f64, i));
    }
    // Largest remainders first (ties by index): deterministic and exact.
    fracs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = (rows - files).saturating_sub(given);
    let mut k = 0;
    while left > 0 {
        counts[fracs[k % files].1] += 1;
        left -= 1;
        k += 1;
    }
    debug_assert_eq!(counts.iter().sum::<usize>(), rows);
    counts
}

// ---------------------------------------------------------------------------
// Reference data

struct Product {
    sku: String,
    name: String,
    harga: i64, // rupiah
}

/// (base name, SKU code, base price in rupiah, name style, variants).
/// Style 0: "Base Variant"; style 1: "Base, Variant" (a comma: the field is quoted).
#[rustfmt::skip]
const BASES: &[(&str, &str, i64, u8, &[&str])] = &[
    ("Kaos Polos Hitam", "KPH", 45_000, 0, &["S", "M", "L", "XL", "XXL"]),
    ("Jaket Hoodie Polos", "JHP", 175_000, 0, &["Hitam", "Abu-abu", "Army"]),
    ("Kemeja Flanel Kotak", "KMF", 125_000, 0, &["M", "L", "XL"]),
    ("Celana Chino Pria", "CCP", 149_000, 0, &["28", "30", "32", "34"]),
    ("Jilbab Segi Empat Voal", "JSE", 39_000, 0, &["Mocca", "Dusty Pink", "Hitam", "Putih"]),
    ("Mukena Katun Bali", "MKB", 189_000, 0, &["Putih", "Ungu", "Hijau Mint"]),
    ("Sandal Jepit Karet", "SJK", 15_000, 0, &["39", "40", "41", "42", "43"]),
    ("Tas Ransel Sekolah", "TRS", 135_000, 0, &["Biru", "Hitam", "Pink"]),
    ("Tas Laptop 14\"", "TLP", 159_000, 0, &["Hitam", "Abu-abu"]),
    ("Dompet Kulit Pria", "DKP", 89_000, 0, &["Coklat", "Hitam"]),
    ("Botol Minum 1 Liter", "BTM", 29_000, 0, &["Biru", "Hijau", "Transparan"]),
    ("Kotak Makan Susun 3", "KMS", 59_000, 0, &["Biru", "Pink"]),
    ("Panci Teflon Anti Lengket 20cm", "PTA", 119_000, 0, &["Merah", "Hitam"]),
    ("Wajan Penggorengan 28cm", "WJP", 99_000, 0, &["Hitam"]),
    ("Casing HP Silikon", "CHS", 19_000, 1, &["iPhone 13", "Samsung A54", "Redmi Note 12", "Oppo A78"]),
    ("Kabel Data USB Type C 1m", "KDC", 25_000, 0, &["Putih", "Hitam"]),
    ("Powerbank 10000mAh", "PWB", 189_000, 0, &["Hitam", "Putih"]),
    ("Headset Bluetooth TWS", "HBT", 149_000, 0, &["Hitam", "Putih"]),
    ("Lampu LED Hemat Energi", "LED", 18_000, 0, &["9W", "12W", "18W"]),
    ("Rak Sepatu Susun 5", "RSS", 95_000, 0, &["Hitam", "Putih"]),
    ("Handuk Mandi Katun", "HMK", 55_000, 1, &["Biru", "Krem", "Abu-abu"]),
    ("Sprei Katun Motif", "SKM", 165_000, 0, &["160x200", "180x200"]),
    ("Bantal Silikon Hotel", "BSH", 79_000, 0, &["Putih"]),
    ("Minyak Kayu Putih 60ml", "MKP", 24_000, 0, &["Original"]),
    ("Kopi Bubuk Robusta 250g", "KBR", 42_000, 0, &["Lampung", "Toraja", "Gayo"]),
    ("Keripik Singkong Pedas 200g", "KSP", 18_000, 0, &["Level 3", "Level 5"]),
    ("Sambal Bawang Botol", "SBB", 27_000, 1, &["Original", "Extra Pedas"]),
    ("Masker Wajah Sheet", "MWS", 12_000, 0, &["Aloe Vera", "Green Tea", "Rice"]),
    ("Lipstik Matte Tahan Lama", "LMT", 49_000, 0, &["01 Nude", "05 Red", "08 Brown"]),
    ("Sabun Cuci Muka 100ml", "SCM", 35_000, 0, &["Acne", "Brightening"]),
    ("Blender Portable USB", "BPU", 99_000, 0, &["Pink", "Hijau"]),
    ("Rice Cooker Mini 1L", "RCM", 249_000, 0, &["Putih"]),
    ("Kipas Angin Meja 12 Inch", "KAM", 179_000, 0, &["Biru", "Putih"]),
    ("Setrika Uap Listrik", "SUL", 289_000, 0, &["Standar"]),
    ("Jam Tangan Digital Sport", "JTD", 129_000, 1, &["Hitam", "Army"]),
    ("Helm Bogo Retro", "HBR", 199_000, 0, &["Hitam Doff", "Cream"]),
    ("Karpet Bulu Lembut 150x200", "KBL", 320_000, 0, &["Abu-abu", "Coklat"]),
    ("Sepatu Sneakers Kanvas", "SSK", 229_000, 1, &["Putih 40", "Putih 42", "Hitam 41", "Hitam 43"]),
    ("Kaos Polos", "KPL", 45_000, 1, &["Hitam", "Putih", "Navy", "Abu-abu", "Maroon"]),
    ("Kursi Gaming Ergonomis", "KGE", 480_000, 0, &["Hitam Merah"]),
];

fn build_catalog() -> Vec<Product> {
    let mut rng = Rng::new(0xCA7A_1060);
    let mut out = Vec::new();
    for &(base, code, price, style, variants) in BASES {
        for (vi, v) in variants.iter().enumerate() {
            let name = if style == 1 {
                format!("{base}, {v}")
            } else {
                format!("{base} {v}")
            };
            let p = price * rng.range(92, 112) / 100;
            let harga = ((p + 250) / 500 * 500).clamp(5_000, 500_000);
            out.push(Product {
                sku: format!("SKU-{code}-{:02}", vi + 1),
                name,
                harga,
            });
        }
    }
    out
}

const STATUSES: [&str; 4] = ["Selesai", "Dikirim", "Diproses", "Dibatalkan"];
const STATUS_W: [u32; 4] = [60, 25, 9, 6]; // the last two are not shipped (~15%)
const ADMINS: [&str; 5] = ["admin1", "admin2", "admin3", "admin4", "admin5"];
const CHANNELS: [&str; 4] = ["Shopee", "Tokopedia", "Lazada", "TikTok Shop"];
const CHANNEL_W: [u32; 4] = [45, 25, 12, 18];
const TOKO: [&str; 5] = [
    "Toko Maju Jaya",
    "Berkah Abadi Store",
    "Sumber Rejeki Shop",
    "Grosir Murah Official",
    "Rumah Kaos Nusantara",
];
const GUDANG: [&str; 5] = [
    "Gudang Jakarta",
    "Gudang Surabaya",
    "Gudang Bandung",
    "Gudang Semarang",
    "Gudang Medan",
];
/// (service, resi prefix)
const EKSPEDISI: [(&str, &str); 8] = [
    ("JNE REG", "JNE"),
    ("JNE YES", "JNE"),
    ("J&T EZ", "JP"),
    ("SiCepat REG", "00"),
    ("SiCepat BEST", "00"),
    ("AnterAja Reguler", "AA"),
    ("Ninja Xpress", "NV"),
    ("ID Express", "IDE"),
];
const PROV_KOTA: [(&str, &str); 24] = [
    ("DKI Jakarta", "Jakarta Selatan"),
    ("DKI Jakarta", "Jakarta Barat"),
    ("DKI Jakarta", "Jakarta Timur"),
    ("DKI Jakarta", "Jakarta Utara"),
    ("Jawa Barat", "Bandung"),
    ("Jawa Barat", "Bekasi"),
    ("Jawa Barat", "Bogor"),
    ("Jawa Barat", "Depok"),
    ("Banten", "Tangerang"),
    ("Banten", "Tangerang Selatan"),
    ("Jawa Tengah", "Semarang"),
    ("Jawa Tengah", "Surakarta"),
    ("DI Yogyakarta", "Sleman"),
    ("DI Yogyakarta", "Yogyakarta"),
    ("Jawa Timur", "Surabaya"),
    ("Jawa Timur", "Malang"),
    ("Jawa Timur", "Sidoarjo"),
    ("Bali", "Denpasar"),
    ("Sumatera Utara", "Medan"),
    ("Sumatera Selatan", "Palembang"),
    ("Riau", "Pekanbaru"),
    ("Lampung", "Bandar Lampung"),
    ("Sulawesi Selatan", "Makassar"),
    ("Kalimantan Timur", "Balikpapan"),
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

// ---------------------------------------------------------------------------
// Orders

#[derive(Clone, Copy, Default)]
struct Line {
    product: usize,
    qty: i64,
    harga: i64,
    total: i64,
    ch_harga: i64,
    ch_total: i64,
}

struct Order {
    counter: u64,
    ts: i64, // seconds since 2025-01-01 00:00:00 (local time)
    status: &'static str,
    admin: &'static str,
    channel: &'static str,
    toko: &'static str,
    invoice: [u8; 8],
    gudang: &'static str,
    ekspedisi: usize,
    cashless: &'static str,
    resi: u64,
    ship_ts: Option<i64>,
    prov_kota: usize,
    biaya_lainnya: i64,
    biaya_mitra: i64,
    total_transaksi: i64,
    nlines: usize,
    lines: [Line; 4],
}

/// An order of an earlier file that may be repeated (only orders without bad lines).
#[derive(Clone, Copy)]
struct PoolEntry {
    seed: u64,
    counter: u64,
    ts: i64,
    nlines: u8,
    repeated: bool,
}

/// Everything an order is made of comes from its own seed, so a repeat is identical.
fn gen_order(catalog: &[Product], seed: u64, counter: u64, ts: i64, nlines: usize) -> Order {
    let mut r = Rng::new(seed);
    let status = STATUSES[r.weighted(&STATUS_W)];
    let shipped = matches!(status, "Selesai" | "Dikirim");
    let mut lines = [Line::default(); 4];
    let mut sum = 0;
    for i in 0..nlines {
        // Mildly skewed popularity, distinct products within an order.
        let product = loop {
            let k = r.below(catalog.len() as u64);
            let p = r.below(k + 1) as usize;
            if !lines[..i].iter().any(|l| l.product == p) {
                break p;
            }
        };
        let harga = catalog[product].harga;
        let qty = r.weighted(&[55, 25, 10, 6, 4]) as i64 + 1;
        // Channel price 1.1-1.3x; now and then a promo below cost (negative profit).
        let pct = if r.chance(0.06) {
            r.range(85, 99)
        } else {
            r.range(110, 130)
        };
        let ch_harga = (harga * pct / 100 + 50) / 100 * 100;
        let line = Line {
            product,
            qty,
            harga,
            total: harga * qty,
            ch_harga,
            ch_total: ch_harga * qty,
        };
        sum += line.total;
        lines[i] = line;
    }
    let biaya_lainnya = r.pick(&[0, 0, 500, 1000, 1000, 1500, 2000, 2500]);
    let biaya_mitra = r.pick(&[0, 500, 500, 1000]);
    let mut invoice = [0u8; 8];
    for c in invoice.iter_mut() {
        *c = ALNUM[r.below(36) as usize];
    }
    let ship_ts = if shipped {
        Some(ts + r.range(2 * 3600, 72 * 3600))
    } else {
        None
    };
    Order {
        counter,
        ts,
        status,
        admin: r.pick(&ADMINS),
        channel: CHANNELS[r.weighted(&CHANNEL_W)],
        toko: r.pick(&TOKO),
        invoice,
        gudang: r.pick(&GUDANG),
        ekspedisi: r.below(EKSPEDISI.len() as u64) as usize,
        cashless: if r.chance(0.8) { "Ya" } else { "Tidak" },
        resi: r.below(10_000_000_000),
        ship_ts,
        prov_kota: r.below(PROV_KOTA.len() as u64) as usize,
        biaya_lainnya,
        biaya_mitra,
        total_transaksi: sum + biaya_lainnya + biaya_mitra,
        nlines,
        lines,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bad {
    InvalidInteger,
    InvalidMoney(bool),
    InvalidDatetime,
    MissingValue,
    NegativeValue,
    FieldCount,
}

impl Bad {
    fn code(self) -> &'static str {
        match self {
            Bad::InvalidInteger => "invalid_integer",
            Bad::InvalidMoney(_) => "invalid_money",
            Bad::InvalidDatetime => "invalid_datetime",
            Bad::MissingValue => "missing_value",
            Bad::NegativeValue => "negative_value",
            Bad::FieldCount => "field_count",
        }
    }
    fn random(r: &mut Rng) -> Bad {
        match r.below(6) {
            0 => Bad::InvalidInteger,
            1 => Bad::InvalidMoney(r.chance(0.5)),
            2 => Bad::InvalidDatetime,
            3 => Bad::MissingValue,
            4 => Bad::NegativeValue,
            _ => Bad::FieldCount,
        }
    }
}

struct State {
    counter: u64,
    pool: Vec<PoolEntry>,
}

struct FileCtx<'a> {
    catalog: &'a [Product],
    rng: &'a mut Rng,
    state: &'a mut State,
    spec: &'a Spec,
    format: &'a Format,
    day_lo: i64,
    day_hi: i64,
    keep_rows: bool,
    rows: Vec<GenRow>,
    /// This file's clean orders, offered for repeats once the file is done.
    pending: Vec<PoolEntry>,
    /// Pool entries repeated in this file (to undo on a retry).
    flagged: Vec<usize>,
}

impl FileCtx<'_> {
    fn write_file(&mut self, path: &Path, nrows: usize, buf: &mut Vec<u8>) -> io::Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let format = self.format;
        buf.clear();
        if format.bom {
            buf.extend_from_slice("\u{feff}".as_bytes());
        }
        for (i, h) in HEADERS.iter().enumerate() {
            if i > 0 {
                buf.push(format.delim());
            }
            buf.extend_from_slice(h.as_bytes());
        }
        buf.extend_from_slice(format.eol());
        w.write_all(buf)?;
        let mut bytes = buf.len() as u64;
        let mut no = 0u64;
        // The physical line the next record starts on (the header is line 1).
        let mut phys = 2u64;
        let mut fields: Vec<String> = Vec::with_capacity(HEADERS.len());
        let mut bads = [None; 4];
        while (no as usize) < nrows {
            let remaining = nrows - no as usize;
            let avail = self.state.pool.len();
            let mut repeat = None;
            if avail > 0 && self.rng.chance(self.spec.dup_share) {
                let idx = self.rng.below(avail as u64) as usize;
                let e = self.state.pool[idx];
                if !e.repeated && (e.nlines as usize) <= remaining {
                    self.state.pool[idx].repeated = true;
                    self.flagged.push(idx);
                    repeat = Some(e);
                }
            }
            let order = match repeat {
                Some(e) => {
                    bads = [None; 4];
                    gen_order(self.catalog, e.seed, e.counter, e.ts, e.nlines as usize)
                }
                None => {
                    let nlines = (self.rng.weighted(&[55, 30, 10, 5]) + 1).min(remaining);
                    let seed = self.rng.next_u64();
                    // Orders follow each other in time over the file's days, like an export.
                    let span = (self.day_hi - self.day_lo) * 86_400;
                    let step = (span / nrows as i64).max(1);
                    let ts = self.day_lo * 86_400
                        + span * no as i64 / nrows as i64
                        + self.rng.range(0, step - 1);
                    let counter = self.state.counter;
                    self.state.counter += 1;
                    let mut any_bad = false;
                    for b in bads.iter_mut().take(nlines) {
                        *b = if self.rng.chance(self.spec.bad_share) {
                            any_bad = true;
                            Some(Bad::random(self.rng))
                        } else {
                            None
                        };
                    }
                    if !any_bad {
                        self.pending.push(PoolEntry {
                            seed,
                            counter,
                            ts,
                            nlines: nlines as u8,
                            repeated: false,
                        });
                    }
                    gen_order(self.catalog, seed, counter, ts, nlines)
                }
            };
            let kode = if self.keep_rows {
                let mut kb = Vec::with_capacity(16);
                push_kode(&mut kb, b"DS-", &order);
                String::from_utf8(kb).unwrap_or_default()
            } else {
                String::new()
            };
            for (li, bad) in bads.iter().enumerate().take(order.nlines) {
                no += 1;
                buf.clear();
                row_fields(&mut fields, self.catalog, format, no, &order, li, *bad);
                let newlines = write_fields(buf, &fields, format);
                w.write_all(buf)?;
                bytes += buf.len() as u64;
                if self.keep_rows {
                    let l = &order.lines[li];
                    self.rows.push(GenRow {
                        line: phys,
                        kode_pesanan: kode.clone(),
                        bad: bad.map(Bad::code),
                        qty: l.qty,
                        total_harga_produk_sen: l.total * 100,
                        values: format
                            .record_values
                            .then(|| Box::new(expected(&fields, *bad))),
                    });
                }
                phys += 1 + newlines;
            }
        }
        w.flush()?;
        Ok(bytes)
    }
}

// ---------------------------------------------------------------------------
// Writing

/// The 27 fields of one row, unquoted, as the export writes them.
fn row_fields(
    f: &mut Vec<String>,
    catalog: &[Product],
    format: &Format,
    no: u64,
    o: &Order,
    li: usize,
    bad: Option<Bad>,
) {
    let l = &o.lines[li];
    let p = &catalog[l.product];
    let (prov, kota) = PROV_KOTA[o.prov_kota];
    let (eksp, resi_prefix) = EKSPEDISI[o.ekspedisi];
    let text = |b: &dyn Fn(&mut Vec<u8>)| {
        let mut v = Vec::new();
        b(&mut v);
        String::from_utf8(v).unwrap_or_default()
    };
    // Sen beside whole rupiah, when the format writes them.
    let (fee_sen, ch_sen) = if format.money == Money::Plain {
        (0, 0)
    } else {
        (50, 25)
    };
    let money = |sen: i64| fmt_money(sen, format.money);
    let ch_harga = l.ch_harga * 100 + ch_sen;
    let ch_total = ch_harga * l.qty;
    f.clear();
    f.push(no.to_string());
    f.push(if bad == Some(Bad::InvalidDatetime) {
        "31 February 2025, 10:00:00".to_string()
    } else {
        datetime_text(o.ts)
    });
    f.push(o.status.to_string());
    f.push(text(&|b| push_kode(b, b"DS-", o)));
    f.push(text(&|b| push_kode(b, b"TRX-", o)));
    f.push(if bad == Some(Bad::MissingValue) {
        String::new()
    } else {
        p.sku.clone()
    });
    // A name spanning two lines now and then, the same in every copy of
    // the order.
    if format.quoted_newlines && (o.counter + li as u64).is_multiple_of(7) {
        f.push(format!("{}\nvarian {}", p.name, li + 1));
    } else {
        f.push(p.name.clone());
    }
    let (harga, total) = if bad == Some(Bad::NegativeValue) {
        (-5000, -5000 * l.qty)
    } else {
        (l.harga, l.total)
    };
    f.push(match bad {
        Some(Bad::InvalidMoney(true)) => "45.000.00".to_string(),
        Some(Bad::InvalidMoney(false)) => "abc".to_string(),
        _ => money(harga * 100),
    });
    f.push(if bad == Some(Bad::InvalidInteger) {
        "two".to_string()
    } else {
        l.qty.to_string()
    });
    f.push(money(total * 100));
    f.push(money(o.biaya_lainnya * 100 + fee_sen));
    f.push(money(o.biaya_mitra * 100));
    f.push(money(o.total_transaksi * 100 + fee_sen));
    f.push(money(ch_harga));
    f.push(money(ch_total));
    f.push(money(ch_total - l.total * 100));
    f.push(o.admin.to_string());
    f.push(o.channel.to_string());
    f.push(o.toko.to_string());
    f.push(text(&|b| {
        b.push(b'\'');
        push_yymmdd(b, o.ts);
        b.extend_from_slice(&o.invoice);
    }));
    f.push(o.gudang.to_string());
    f.push(eksp.to_string());
    f.push(o.cashless.to_string());
    f.push(if o.ship_ts.is_some() {
        text(&|b| {
            b.extend_from_slice(resi_prefix.as_bytes());
            push_padded(b, o.resi, 10);
        })
    } else {
        String::new()
    });
    f.push(o.ship_ts.map(datetime_text).unwrap_or_default());
    f.push(prov.to_string());
    if bad != Some(Bad::FieldCount) {
        f.push(kota.to_string());
    }
}

/// Writes one record, quoting what needs it, with the format's line end;
/// the number of newlines inside its fields.
fn write_fields(b: &mut Vec<u8>, fields: &[String], format: &Format) -> u64 {
    let d = format.delim();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            b.push(d);
        }
        push_field(b, field, d);
    }
    b.extend_from_slice(format.eol());
    fields
        .iter()
        .map(|f| f.bytes().filter(|&c| c == b'\n').count() as u64)
        .sum()
}

/// Money in sen as the format writes it.
fn fmt_money(sen: i64, style: Money) -> String {
    let sign = if sen < 0 { "-" } else { "" };
    let (rupiah, cents) = (sen.unsigned_abs() / 100, sen.unsigned_abs() % 100);
    match style {
        Money::Plain => format!("{sign}{rupiah}"),
        Money::Decimal if cents == 0 => format!("{sign}{rupiah}"),
        Money::Decimal if cents % 10 == 0 => format!("{sign}{rupiah}.{}", cents / 10),
        Money::Decimal => format!("{sign}{rupiah}.{cents:02}"),
        Money::Grouped => {
            let digits = rupiah.to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            format!("{sign}{grouped}.{cents:02}")
        }
    }
}

/// What the importer stores for the row `fields` (as [`row_fields`] wrote
/// them), computed from the text alone.
fn expected(fields: &[String], bad: Option<Bad>) -> Expected {
    let get = |header: &str| -> &str {
        HEADERS
            .iter()
            .position(|h| *h == header)
            .and_then(|i| fields.get(i))
            .map_or("", String::as_str)
    };
    let text = |header: &str| -> Option<String> {
        let v = get(header).trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    let sen = |header: &str| -> Option<String> { parse_money(get(header)).map(|v| v.to_string()) };
    let when = |header: &str| -> Option<String> { iso_datetime(get(header)) };
    let order = vec![
        ("kode_pesanan", text("Kode Pesanan")),
        ("waktu_pesanan_terbuat", when("Waktu Pesanan Terbuat")),
        ("status_pesanan_terakhir", text("Status Pesanan Terakhir")),
        ("kode_transaksi", text("Kode Transaksi")),
        ("biaya_lainnya_sen", sen("Biaya Lainnya")),
        ("biaya_mitra_jakmall_sen", sen("Biaya Mitra Jakmall")),
        ("total_transaksi_sen", sen("Total Transaksi")),
        ("dibuat_oleh", text("Dibuat Oleh")),
        ("jenis_channel", text("Jenis Channel")),
        ("nama_toko", text("Nama Toko")),
        (
            "kode_invoice_channel",
            text("Kode Invoice Channel").map(|v| v.strip_prefix('\'').unwrap_or(&v).to_string()),
        ),
        ("gudang_pengiriman", text("Gudang Pengiriman")),
        ("jenis_ekspedisi", text("Jenis Ekspedisi")),
        ("cashless", text("Cashless")),
        ("nomor_resi", text("Nomor Resi")),
        ("waktu_pengiriman", when("Waktu Pengiriman")),
        ("provinsi", text("Provinsi")),
        ("kota", text("Kota")),
    ];
    let line = vec![
        ("kode_pesanan", text("Kode Pesanan")),
        ("sku", text("SKU")),
        ("nama_produk", text("Nama Produk")),
        ("harga_produk_sen", sen("Harga Produk")),
        ("qty", text("Qty")),
        ("total_harga_produk_sen", sen("Total Harga Produk")),
        ("harga_produk_channel_sen", sen("Harga Produk Channel")),
        (
            "total_harga_produk_channel_sen",
            sen("Total Harga Produk Channel"),
        ),
        ("potensi_keuntungan_sen", sen("Potensi Keuntungan")),
    ];
    let at = |header: &'static str| (Some(header), Some(get(header).to_string()));
    let reject = bad.map(|b| match b {
        Bad::InvalidInteger => at("Qty"),
        Bad::InvalidMoney(_) | Bad::NegativeValue => at("Harga Produk"),
        Bad::InvalidDatetime => at("Waktu Pesanan Terbuat"),
        Bad::MissingValue => at("SKU"),
        Bad::FieldCount => (None, None),
    });
    Expected {
        order,
        line,
        reject,
    }
}

/// Sen of money as this generator writes it (`45000`, `1000.5`, `-1,500.00`).
fn parse_money(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let t = t.replace(',', "");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let mut cents = frac.to_string();
    while cents.len() < 2 {
        cents.push('0');
    }
    let v = whole.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

/// `01 January 2025, 10:00:00` as stored: `2025-01-01T10:00:00+07:00`.
fn iso_datetime(text: &str) -> Option<String> {
    let t = text.trim();
    let (date, time) = t.split_once(", ")?;
    let mut parts = date.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? + 1;
    let year: u32 = parts.next()?.parse().ok()?;
    Some(format!("{year:04}-{month:02}-{day:02}T{time}+07:00"))
}

/// `DS-250101000123`: prefix, order date as yymmdd, global counter (6+ digits).
fn push_kode(b: &mut Vec<u8>, prefix: &[u8], o: &Order) {
    b.extend_from_slice(prefix);
    push_yymmdd(b, o.ts);
    push_padded(b, o.counter, 6);
}

/// Minimal CSV quoting.
fn push_field(b: &mut Vec<u8>, s: &str, delim: u8) {
    if s.bytes()
        .any(|c| c == delim || matches!(c, b'"' | b'\n' | b'\r'))
    {
        b.push(b'"');
        for c in s.bytes() {
            if c == b'"' {
                b.push(b'"');
            }
            b.push(c);
        }
        b.push(b'"');
    } else {
        b.extend_from_slice(s.as_bytes());
    }
}

fn push_u64(b: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

fn push_i64(b: &mut Vec<u8>, v: i64) {
    if v < 0 {
        b.push(b'-');
    }
    push_u64(b, v.unsigned_abs());
}

fn push_padded(b: &mut Vec<u8>, v: u64, width: usize) {
    for _ in digits(v)..width {
        b.push(b'0');
    }
    push_u64(b, v);
}

fn push2(b: &mut Vec<u8>, v: u32) {
    b.push(b'0' + (v / 10 % 10) as u8);
    b.push(b'0' + (v % 10) as u8);
}

fn digits(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Days since 1970-01-01 of 2025-01-01.
const EPOCH_2025: i64 = 20_089;

/// (year, month 1-12, day) from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `01 January 2025, 10:00:00` (quoted when written with commas).
fn datetime_text(ts: i64) -> String {
    let mut b = Vec::with_capacity(32);
    push_datetime(&mut b, ts);
    String::from_utf8(b).unwrap_or_default()
}

fn push_datetime(b: &mut Vec<u8>, ts: i64) {
    let (y, m, d) = civil(EPOCH_2025 + ts.div_euclid(86_400));
    let s = ts.rem_euclid(86_400) as u32;
    push2(b, d);
    b.push(b' ');
    b.extend_from_slice(MONTHS[m as usize - 1].as_bytes());
    b.push(b' ');
    push_u64(b, y as u64);
    b.extend_from_slice(b", ");
    push2(b, s / 3600);
    b.push(b':');
    push2(b, s / 60 % 60);
    b.push(b':');
    push2(b, s % 60);
}

fn push_yymmdd(b: &mut Vec<u8>, ts: i64) {
    let (y, m, d) = civil(EPOCH_2025 + ts.div_euclid(86_400));
    push2(b, (y % 100) as u32);
    push2(b, m);
    push2(b, d);
}

// ---------------------------------------------------------------------------
// Command line

const USAGE: &str = "\
Generate realistic dropship purchase exports (part-000.csv, ...) for dropship-import.

usage: cargo run --release --example generate -- --out DIR [OPTIONS]

options:
  --out DIR        directory to write into (created if missing; required);
                   existing part-NNN.csv files there are overwritten
  --files N        number of files [default: 100]
  --rows N         data rows over all files, at least --files [default: 500000]
  --seed N         PRNG seed; the same options give the same bytes [default: 42]
  --bad-share F    share of rows replaced by a bad row, 0..1 [default: 0.001]
  --dup-share F    share of orders repeating an earlier file's order, 0..1
                   (orders shared between files) [default: 0.01]
  --gzip           write part-NNN.csv.gz
  --bom            start each file with a UTF-8 byte order mark
  --crlf           end lines with CRLF
  --quoted-newlines  now and then a product name spanning two lines
  --delimiter D    ';' or 'tab' instead of ','
  --money STYLE    plain (45000), decimal (1000.5) or grouped (1,000.50)
  -h, --help       print this help
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(None) => print!("{USAGE}"),
        Ok(Some((dir, spec, format))) => {
            let started = std::time::Instant::now();
            match generate_with(&dir, &spec, &format, false) {
                Ok(files) => {
                    let bytes: u64 = files.iter().map(|f| f.size_bytes).sum();
                    eprintln!(
                        "generate: {} files, {} rows, {} bytes written to {} in {:.2}s",
                        files.len(),
                        spec.rows,
                        bytes,
                        dir.display(),
                        started.elapsed().as_secs_f64()
                    );
                }
                Err(e) => {
                    eprintln!("generate: {}: {e}", dir.display());
                    std::process::exit(1);
                }
            }
        }
        Err(msg) => {
            eprintln!("generate: {msg}\n(try --help)");
            std::process::exit(2);
        }
    }
}

/// `Ok(None)` means help was asked for.
fn parse_args(args: &[String]) -> Result<Option<(PathBuf, Spec, Format)>, String> {
    let mut spec = Spec::default();
    let mut format = Format::default();
    let mut out: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let flag = match arg {
            "--gzip" => Some(&mut format.gzip),
            "--bom" => Some(&mut format.bom),
            "--crlf" => Some(&mut format.crlf),
            "--quoted-newlines" => Some(&mut format.quoted_newlines),
            _ => None,
        };
        if let Some(flag) = flag {
            *flag = true;
            i += 1;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg, None),
        };
        if !matches!(
            name,
            "--out"
                | "--files"
                | "--rows"
                | "--seed"
                | "--bad-share"
                | "--dup-share"
                | "--delimiter"
                | "--money"
        ) {
            return Err(format!("unknown argument '{arg}'"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?
            }
        };
        let bad = |what: &str| format!("{name}: '{value}' is not {what}");
        match name {
            "--out" => out = Some(PathBuf::from(&value)),
            "--files" => spec.files = value.parse().map_err(|_| bad("a whole number"))?,
            "--rows" => spec.rows = value.parse().map_err(|_| bad("a whole number"))?,
            "--seed" => spec.seed = value.parse().map_err(|_| bad("a whole number"))?,
            "--delimiter" => {
                format.delimiter = match value.as_str() {
                    "," => None,
                    ";" => Some(b';'),
                    "tab" | "\t" => Some(b'\t'),
                    _ => return Err(bad("',', ';' or 'tab'")),
                }
            }
            "--money" => {
                format.money = match value.as_str() {
                    "plain" => Money::Plain,
                    "decimal" => Money::Decimal,
                    "grouped" => Money::Grouped,
                    _ => return Err(bad("plain, decimal or grouped")),
                }
            }
            "--bad-share" => {
                spec.bad_share =
                    parse_share(&value).ok_or_else(|| bad("a share between 0 and 1"))?
            }
            _ => {
                spec.dup_share =
                    parse_share(&value).ok_or_else(|| bad("a share between 0 and 1"))?
            }
        }
        i += 1;
    }
    let out = out.ok_or("--out DIR is required")?;
    if spec.files == 0 {
        return Err("--files must be at least 1".into());
    }
    if spec.rows < spec.files {
        return Err(format!(
            "--rows ({}) must be at least --files ({}): every file has a row",
            spec.rows, spec.files
        ));
    }
    Ok(Some((out, spec, format)))
}

fn parse_share(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| (0.0..=1.0).contains(v))
}
