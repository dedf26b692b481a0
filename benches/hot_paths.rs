//! Micro-benchmarks of the hot paths: money and date parsing, a CSV record
//! into a typed row, and the writer's insert loop for one chunk.
//!
//! ```sh
//! cargo bench --bench hot_paths
//! ```

use crossbeam_channel::bounded;
use divan::{Bencher, black_box};
use dropship_import::columns::Names;
use dropship_import::fields::{self, DecimalSeparator, UtcOffset};
use dropship_import::outcome::Begin;
use dropship_import::read::Msg;
use dropship_import::rows::{Chunk, Rules};
use dropship_import::settings::OnDuplicate;
use dropship_import::store::sqlite::write::{WriteOptions, Writer};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    divan::main();
}

const HEADER: &str = "No,Waktu Pesanan Terbuat,Status Pesanan Terakhir,Kode Pesanan,Kode Transaksi,SKU,Nama Produk,Harga Produk,Qty,Total Harga Produk,Biaya Lainnya,Biaya Mitra Jakmall,Total Transaksi,Harga Produk Channel,Total Harga Produk Channel,Potensi Keuntungan,Dibuat Oleh,Jenis Channel,Nama Toko,Kode Invoice Channel,Gudang Pengiriman,Jenis Ekspedisi,Cashless,Nomor Resi,Waktu Pengiriman,Provinsi,Kota";

fn line(key: u64) -> String {
    format!(
        "1,\"01 January 2025, 10:00:00\",Selesai,DS-{key:010},TRX-1,SKU-ABC-01,Kaos Polos Hitam L,45000,2,90000,1000,500,91500,55000,110000,18500,admin1,Shopee,Toko Maju Jaya,'250101ABCDEF12,Gudang Jakarta,JNE REG,Ya,JNE0012345678,\"02 January 2025, 14:30:00\",DKI Jakarta,Jakarta Selatan"
    )
}

fn record(text: &str) -> csv::ByteRecord {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut record = csv::ByteRecord::new();
    reader.read_byte_record(&mut record).expect("one record");
    record
}

fn header_map() -> dropship_import::columns::HeaderMap {
    let headers: Vec<String> = HEADER.split(',').map(str::to_string).collect();
    Names::new(&HashMap::new())
        .expect("names")
        .map(&headers)
        .expect("header")
}

#[divan::bench(args = ["45000", "45,000.50", "Rp 1.234.567,89"])]
fn parse_money(value: &str) -> Result<i64, &'static str> {
    let sep = if value.starts_with("Rp") {
        DecimalSeparator::Comma
    } else {
        DecimalSeparator::Dot
    };
    fields::parse_money(black_box(value), sep)
}

#[divan::bench(args = ["01 January 2025, 10:00:00", "2025-01-01 10:00:00", "01/01/2025 10:00"])]
fn parse_datetime(bencher: Bencher, value: &str) {
    let mut out = String::with_capacity(32);
    bencher.bench_local(|| {
        out.clear();
        fields::parse_datetime(black_box(value), UtcOffset::default(), &mut out)
    });
}

#[divan::bench]
fn record_to_row(bencher: Bencher) {
    let map = header_map();
    let rules = Rules::default();
    let rec = record(&line(1));
    bencher
        .with_inputs(|| Chunk::new(0, 1000))
        .bench_local_values(|mut chunk| {
            for i in 0..1000 {
                chunk.add_record(&rec, i, &map, &rules);
            }
            chunk
        });
}

/// One chunk of 1000 new orders through the writer, committed.
#[divan::bench(sample_count = 30)]
fn writer_chunk(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut writer = Writer::open(
        &dir.path().join("bench.db"),
        &[(PathBuf::from("bench.csv"), Some(1))],
        WriteOptions {
            on_duplicate: OnDuplicate::Skip,
            force: true,
            dry_run: false,
            options_json: "{}".into(),
            rejects_csv: None,
            commit_interval: std::time::Duration::ZERO,
            channel: None,
        },
    )
    .expect("open writer");
    let (tx, rx) = bounded(2);
    let (reply, answer) = bounded(1);
    tx.send(Msg::Begin {
        file: 0,
        size: 1,
        hash: "bench".into(),
        reply,
    })
    .expect("send");
    drop(tx);
    writer.run(&rx, &()).expect("begin");
    assert!(matches!(answer.recv(), Ok(Begin::Proceed { .. })));

    let map = header_map();
    let rules = Rules::default();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    bencher
        .with_inputs(|| {
            let mut chunk = Chunk::new(0, 1000);
            for _ in 0..1000 {
                let key = NEXT.fetch_add(1, Ordering::Relaxed);
                chunk.add_record(&record(&line(key)), key, &map, &rules);
            }
            chunk
        })
        .bench_local_values(|chunk| {
            let (tx, rx) = bounded(1);
            tx.send(Msg::Chunk(chunk)).expect("send");
            drop(tx);
            writer.run(&rx, &()).expect("write");
        });
}
