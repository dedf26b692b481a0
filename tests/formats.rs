//! Input formats of the purchase export (SPEC.md "Input: the purchase
//! export"): encodings, BOMs, gzip, delimiters, line ends, quoting, empty
//! lines, money and date notations and header aliases, each read by the real
//! binary from the bytes as they arrive (`tests/fixtures/formats/`, described
//! in its README), with the exact rows that land in the database and the
//! rejects with their line numbers.
//!
//! The last part is a robustness property test: arbitrary bytes after a valid
//! header, and valid files with random mutations. The binary must never panic
//! or hang, its counts must add up and the database must hold what the
//! summary says. `PROPTEST_CASES` sets the number of cases of each property
//! (default [`FUZZ_CASES`]).

mod common;

use common::{Csv, Env, HEADERS, Line, gzip, line, render_fields, replace_bytes};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config as ProptestConfig;
use rusqlite::types::ValueRef;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The bytes of `tests/fixtures/formats/<name>`.
fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Copies fixture `name` into the test folder under the same name.
fn put(env: &Env, name: &str) -> PathBuf {
    env.write(name, fixture(name))
}

/// Every row of `sql` on `dropship.db`, its columns joined by ` | `
/// (NULL shown as `NULL`).
#[track_caller]
fn query(env: &Env, sql: &str) -> Vec<String> {
    let db = env.db();
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| r.get_ref(i).map(show))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(|cols| cols.join(" | "))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn show(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("<blob of {} bytes>", b.len()),
    }
}

/// Every stored line: order, SKU, product name, price, qty, line total and
/// physical line, in line order.
fn details(env: &Env) -> Vec<String> {
    query(
        env,
        "SELECT kode_pesanan, sku, nama_produk, harga_produk_sen, qty, total_harga_produk_sen,
                source_line
         FROM dropship_purchase_details ORDER BY source_line, id",
    )
}

/// Every stored reject as `line | column | reason | value`.
fn rejects(env: &Env) -> Vec<String> {
    env.rejects()
        .into_iter()
        .map(|r| {
            format!(
                "{} | {} | {} | {}",
                r.line,
                r.column.as_deref().map_or("NULL", str::trim),
                r.reason,
                r.value.as_deref().unwrap_or("NULL")
            )
        })
        .collect()
}

/// Long lists: the first difference instead of both lists.
#[track_caller]
fn same_list(got: &[String], want: &[String], what: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{what}: first difference at {i} of {} got / {} wanted: got {:?}, want {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

/// Runs the binary on `args`, checks the exit code and that a summary came.
#[track_caller]
fn run_code(env: &Env, args: &[&str], code: i32) -> common::Run {
    let run = env.run(args);
    run.expect_code(code);
    assert!(
        !run.json.is_null(),
        "no JSON summary on stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn comma_decimals(env: &Env) {
    env.write("importer.toml", "[import]\ndecimal_separator = \",\"\n");
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

#[test]
fn utf8_with_and_without_bom_store_the_same_text() {
    for name in ["utf8-bom.csv", "utf8-no-bom.csv"] {
        let env = Env::new();
        put(&env, name);
        let run = run_code(&env, &[name], 0);
        assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0], "{name}");
        assert_eq!(
            query(
                &env,
                "SELECT kode_pesanan, waktu_pesanan_terbuat, nama_toko, kota, source_line
                 FROM dropship_purchases ORDER BY kode_pesanan"
            ),
            [
                "DS-U1 | 2025-01-01T10:00:00+07:00 | Toko “Jaya” – Cabang € | Bandung | 2",
                "DS-U2 | 2025-01-01T10:00:00+07:00 | Toko Maju Jaya | Jakarta Selatan | 3",
            ],
            "{name}"
        );
        assert_eq!(
            details(&env),
            [
                "DS-U1 | SKU-ABC-01 | Kaos Café Niño Über | 4500000 | 2 | 9000000 | 2",
                "DS-U2 | SKU-ÄÖÜ | Sepatu ñandú | 4500000 | 2 | 9000000 | 3",
            ],
            "{name}"
        );
    }
}

#[test]
fn windows_1252_fixture_arrives_intact_as_utf8() {
    let env = Env::new();
    put(&env, "windows-1252.csv");
    let run = run_code(&env, &["windows-1252.csv"], 0);
    assert_eq!(run.rows(), [4, 4, 0, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-W1 | SKU-ABC-01 | Kaos Café Niño | 4500000 | 2 | 9000000 | 2",
            "DS-W2 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 3",
            "DS-W3 | SKU-€-01 | Jaket – “Über” | 4500000 | 2 | 9000000 | 4",
            "DS-Ñ4 | SKU-ABC-01 | Topi señor | 4500000 | 2 | 9000000 | 5",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, nama_toko, kota, waktu_pengiriman FROM dropship_purchases
             ORDER BY source_line"
        ),
        [
            "DS-W1 | Toko Müller – “Jaya” | Jakarta Selatan | 2025-01-02T14:30:00+07:00",
            "DS-W2 | Toko Maju Jaya | Jakarta Selatan | 2025-01-02T14:30:00+07:00",
            "DS-W3 | Toko Maju Jaya | Medan | 2025-01-02T14:30:00+07:00",
            "DS-Ñ4 | Toko Maju Jaya | Jakarta Selatan | 2025-01-02T14:30:00+07:00",
        ]
    );
}

/// `filler` ASCII lines, then `DS-DEEP` whose product name is `name` (raw
/// bytes), then `DS-LAST`. Returns the file and the offset of `name`.
fn deep_file(filler: usize, name: &[u8]) -> (Vec<u8>, usize) {
    let mut lines: Vec<Line> = (0..filler)
        .map(|i| line(&format!("DS-F{i:05}")).set("No", &(i + 1).to_string()))
        .collect();
    lines.push(line("DS-DEEP").set("Nama Produk", "MARK_DEEP"));
    lines.push(line("DS-LAST"));
    let text = Csv::new(&lines).render();
    assert!(text.is_ascii());
    let at = text.find("MARK_DEEP").unwrap();
    (replace_bytes(&text, "MARK_DEEP", name), at)
}

#[test]
fn first_non_ascii_byte_past_300_kb_still_arrives_intact() {
    let cases: [(&str, &[u8]); 2] = [
        (
            "windows-1252",
            b"Caf\xe9 \x93Latte\x94 \x96 \x80 5 Ni\xf1o \xfcber",
        ),
        ("utf-8", "Café “Latte” – € 5 Niño über".as_bytes()),
    ];
    for (what, name) in cases {
        let env = Env::new();
        let (bytes, at) = deep_file(1200, name);
        assert!(at > 300 * 1024, "marker at {at}");
        assert!(bytes[..at].is_ascii());
        env.write("deep.csv", &bytes);
        let run = run_code(&env, &["deep.csv"], 0);
        assert_eq!(run.rows(), [1202, 1202, 0, 0, 0, 0], "{what}");
        assert_eq!(
            query(
                &env,
                "SELECT kode_pesanan, nama_produk, source_line FROM dropship_purchase_details
                 WHERE kode_pesanan IN ('DS-F00000', 'DS-DEEP', 'DS-LAST') ORDER BY source_line"
            ),
            [
                "DS-F00000 | Kaos Polos Hitam L | 2",
                "DS-DEEP | Café “Latte” – € 5 Niño über | 1202",
                "DS-LAST | Kaos Polos Hitam L | 1203",
            ],
            "{what}"
        );
    }
}

#[test]
fn a_utf8_character_across_a_256_kib_read_boundary_stays_whole() {
    // Put the two bytes of `é` at offsets 262143 and 262144.
    let boundary = 256 * 1024;
    let lines: Vec<Line> = (0..940)
        .map(|i| line(&format!("DS-F{i:05}")).set("No", &(i + 1).to_string()))
        .collect();
    let head = Csv::new(&lines).render();
    let probe = line("DS-SPLIT").set("Nama Produk", "@@").render();
    let pad = boundary - 1 - head.len() - probe.find("@@").unwrap();
    let name = format!("{}éY", "X".repeat(pad));
    let text = Csv::new(&lines)
        .lines(&[line("DS-SPLIT").set("Nama Produk", &name), line("DS-LAST")])
        .render();
    assert_eq!(text.find('é'), Some(boundary - 1));

    for encoding in ["auto", "utf-8"] {
        let env = Env::new();
        env.write("split.csv", &text);
        let run = run_code(&env, &["--encoding", encoding, "split.csv"], 0);
        assert_eq!(run.rows(), [942, 942, 0, 0, 0, 0], "{encoding}");
        assert_eq!(
            env.line_text("DS-SPLIT", "nama_produk").as_deref(),
            Some(name.as_str()),
            "{encoding}"
        );
    }
}

#[test]
fn encoding_utf8_turns_invalid_bytes_into_rejects_naming_line_and_column() {
    // The same from the flag and from the config file.
    for (config, args) in [
        (None, &["--encoding", "utf-8", "windows-1252.csv"][..]),
        (
            Some("[import]\nencoding = \"utf-8\"\n"),
            &["windows-1252.csv"][..],
        ),
    ] {
        let env = Env::new();
        put(&env, "windows-1252.csv");
        if let Some(config) = config {
            env.write("importer.toml", config);
        }
        let run = run_code(&env, args, 3);
        assert_eq!(run.rows(), [4, 1, 3, 0, 0, 0]);
        let got: Vec<(i64, Option<String>, String)> = env
            .rejects()
            .into_iter()
            .map(|r| (r.line, r.column, r.reason))
            .collect();
        let want =
            |line: i64, column: &str| (line, Some(column.to_string()), "invalid_encoding".into());
        assert_eq!(
            got,
            [
                want(2, "Nama Produk"),
                want(4, "SKU"),
                want(5, "Kode Pesanan")
            ]
        );
        let shown: Vec<(u64, &str, &str)> = run.file("windows-1252.csv")["rejects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["column"].as_str().unwrap(),
                    r["reason"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (2, "Nama Produk", "invalid_encoding"),
                (4, "SKU", "invalid_encoding"),
                (5, "Kode Pesanan", "invalid_encoding"),
            ]
        );
        assert_eq!(
            details(&env),
            ["DS-W2 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 3"]
        );
    }
}

#[test]
fn encoding_windows_1252_forces_decoding_even_of_valid_utf8() {
    let env = Env::new();
    put(&env, "utf8-bom.csv");
    let run = run_code(&env, &["--encoding", "windows-1252", "utf8-bom.csv"], 0);
    assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0]);
    // The BOM is still dropped (the first header is the required Kode Pesanan).
    assert_eq!(
        details(&env),
        [
            "DS-U1 | SKU-ABC-01 | Kaos CafÃ© NiÃ±o Ãœber | 4500000 | 2 | 9000000 | 2",
            "DS-U2 | SKU-Ã„Ã–Ãœ | Sepatu Ã±andÃº | 4500000 | 2 | 9000000 | 3",
        ]
    );

    // Real Windows-1252 bytes decode as they do under `auto`.
    let env = Env::new();
    put(&env, "windows-1252.csv");
    run_code(&env, &["--encoding", "windows-1252", "windows-1252.csv"], 0);
    assert_eq!(
        env.line_text("DS-W3", "nama_produk").as_deref(),
        Some("Jaket – “Über”")
    );
    assert_eq!(env.orders(), ["DS-W1", "DS-W2", "DS-W3", "DS-Ñ4"]);
}

// ---------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------

#[test]
fn a_csv_gz_gives_the_same_rows_as_the_plain_file() {
    for name in [
        "utf8-bom.csv",
        "windows-1252.csv",
        "quoted-fields.csv",
        "blank-lines-crlf.csv",
    ] {
        let plain = Env::new();
        put(&plain, name);
        let want = plain.run(&[name]);

        let env = Env::new();
        let gz = format!("{name}.gz");
        env.write(&gz, gzip(&fixture(name)));
        let run = run_code(&env, &[&gz], want.code);
        assert_eq!(run.rows(), want.rows(), "{gz}");
        assert_eq!(run.file_status(&gz), "imported", "{gz}");
        assert_eq!(details(&env), details(&plain), "{gz}");
        assert_eq!(rejects(&env), rejects(&plain), "{gz}");
        assert!(!details(&env).is_empty());
    }
}

#[test]
fn a_csv_gz_of_several_members_is_one_stream() {
    // `cat a.gz b.gz` is a valid gzip file: the second member starts in the
    // middle of a record.
    let text = fixture("utf8-no-bom.csv");
    let cut = text.len() - 40;
    let mut bytes = gzip(&text[..cut]);
    bytes.extend(gzip(&text[cut..]));
    let env = Env::new();
    env.write("multi.csv.gz", &bytes);
    let run = run_code(&env, &["multi.csv.gz"], 0);
    assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-U1 | SKU-ABC-01 | Kaos Café Niño Über | 4500000 | 2 | 9000000 | 2",
            "DS-U2 | SKU-ÄÖÜ | Sepatu ñandú | 4500000 | 2 | 9000000 | 3",
        ]
    );
    assert_eq!(
        env.order_text("DS-U2", "kota").as_deref(),
        Some("Jakarta Selatan")
    );
}

/// A folder `in/` with a `.csv.gz`, a `.csv` and a file that is neither.
fn gz_folder(env: &Env) {
    env.write("in/orders.csv.gz", gzip(&fixture("utf8-no-bom.csv")));
    env.write("in/semi.csv", fixture("semicolon.csv"));
    env.write("in/notes.txt", "not an export\n");
}

#[test]
fn a_csv_gz_inside_a_directory_input_is_read() {
    let env = Env::new();
    gz_folder(&env);
    let run = run_code(&env, &["in"], 3);
    assert_eq!(run.n("/files/total"), 2);
    assert_eq!(run.file_rows("orders.csv.gz"), [2, 2, 0, 0, 0, 0]);
    assert_eq!(run.file_status("orders.csv.gz"), "imported");
    assert_eq!(run.file_rows("semi.csv"), [3, 2, 1, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-S1", "DS-S2", "DS-U1", "DS-U2"]);
    assert_eq!(
        env.line_text("DS-U1", "nama_produk").as_deref(),
        Some("Kaos Café Niño Über")
    );
}

#[test]
fn a_csv_gz_matched_by_a_glob_is_read() {
    let env = Env::new();
    gz_folder(&env);
    let run = run_code(&env, &["in/*.csv.gz"], 0);
    assert_eq!(run.n("/files/total"), 1);
    assert_eq!(run.file_rows("orders.csv.gz"), [2, 2, 0, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-U1", "DS-U2"]);
    assert_eq!(env.line_text("DS-U2", "sku").as_deref(), Some("SKU-ÄÖÜ"));
}

#[test]
fn a_csv_gz_of_an_empty_file_fails_like_an_empty_file() {
    let env = Env::new();
    env.write("empty.csv.gz", gzip(b""));
    env.write("good.csv", Csv::new(&[line("G-1")]).render());
    let run = run_code(&env, &["empty.csv.gz", "good.csv"], 3);
    assert_eq!(run.file_status("empty.csv.gz"), "failed");
    assert_eq!(run.file_rows("empty.csv.gz"), [0, 0, 0, 0, 0, 0]);
    assert_eq!(run.file_status("good.csv"), "imported");
    assert_eq!(env.orders(), ["G-1"]);
}

#[test]
fn a_corrupt_gzip_fails_its_file_cleanly_and_the_others_go_on() {
    // Large enough that many chunks (of 100 rows) are read before the damage.
    let bad: Vec<Line> = (0..2000)
        .map(|i| line(&format!("B-{i:05}")).set("No", &(i + 1).to_string()))
        .collect();
    let good_text = Csv::new(&[line("G-1"), line("G-2").set("SKU", "SKU-2")]).render();
    let gz = gzip(Csv::new(&bad).render().as_bytes());
    assert!(gz.len() > 1000);
    let mut truncated = gz.clone();
    truncated.truncate(gz.len() / 2);
    let mut crc = gz.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xff;
    let mut middle = gz.clone();
    let at = middle.len() / 2;
    middle[at] ^= 0x55;
    let mut header = vec![0x1f, 0x8b];
    header.extend_from_slice(b"this is not a gzip stream at all\n");
    let empty_member = gz[..10].to_vec(); // a header, then nothing

    for (what, bytes) in [
        ("truncated", truncated),
        ("bad crc", crc),
        ("flipped byte", middle),
        ("bad header", header),
        ("header only", empty_member),
    ] {
        let env = Env::new();
        env.write("good.csv", &good_text);
        env.write("bad.csv.gz", &bytes);
        let run = run_code(&env, &["--chunk-size", "100", "good.csv", "bad.csv.gz"], 3);
        assert_eq!(run.file_status("bad.csv.gz"), "failed", "{what}");
        assert!(
            run.file("bad.csv.gz")["error"].is_string(),
            "{what}: no error in {}",
            run.file("bad.csv.gz")
        );
        let [read, imported, rejected, duplicate, filtered, failed] = run.file_rows("bad.csv.gz");
        assert_eq!(
            (imported, rejected, duplicate, filtered, failed),
            (0, 0, 0, 0, read),
            "{what}"
        );
        assert_eq!(run.file_status("good.csv"), "imported", "{what}");
        assert_eq!(run.file_rows("good.csv"), [2, 2, 0, 0, 0, 0], "{what}");
        assert_eq!(run.n("/files/failed"), 1, "{what}");
        assert_eq!(run.json["status"], "partial", "{what}");
        // Nothing of the bad file in the data tables.
        assert_eq!(env.orders(), ["G-1", "G-2"], "{what}");
        assert_eq!(env.count("dropship_purchase_details"), 2, "{what}");
        assert_eq!(
            query(
                &env,
                "SELECT state FROM import_files WHERE path LIKE '%bad.csv.gz'"
            ),
            ["failed"],
            "{what}"
        );
    }
}

// ---------------------------------------------------------------------------
// Delimiters
// ---------------------------------------------------------------------------

#[test]
fn semicolon_and_tab_are_found_from_the_header_line() {
    let env = Env::new();
    put(&env, "semicolon.csv");
    let run = run_code(&env, &["semicolon.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-S1 | SKU-ABC-01 | Kaos Polos, Putih | 4500000 | 2 | 9000000 | 2",
            "DS-S2 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 3",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, waktu_pesanan_terbuat, nama_toko, waktu_pengiriman
             FROM dropship_purchases ORDER BY kode_pesanan"
        ),
        [
            "DS-S1 | 2025-01-01T10:00:00+07:00 | Toko Maju Jaya | 2025-01-02T14:30:00+07:00",
            "DS-S2 | 2025-01-01T10:00:00+07:00 | Toko Semi;Colon | 2025-01-02T14:30:00+07:00",
        ]
    );
    assert_eq!(rejects(&env), ["4 | Qty | invalid_integer | two"]);

    let env = Env::new();
    put(&env, "tab.csv");
    let run = run_code(&env, &["tab.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-T1 | SKU-ABC-01 | Kaos; Polos, Putih | 4500050 | 2 | 9000000 | 2",
            "DS-T2 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 3",
        ]
    );
    assert_eq!(
        env.order_text("DS-T2", "nama_toko").as_deref(),
        Some("Toko\tTab")
    );
    assert_eq!(rejects(&env), ["4 | Qty | invalid_integer | two"]);
}

#[test]
fn semicolon_with_every_field_quoted_ignores_commas_inside_quotes() {
    // An extra column's quoted name holds more commas than the header has
    // semicolons.
    let env = Env::new();
    put(&env, "semicolon-all-quoted.csv");
    let run = run_code(&env, &["semicolon-all-quoted.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-A1 | SKU-ABC-01 | Kaos; \"Polos\", Putih | 4500000 | 2 | 9000000 | 2",
            "DS-A3 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 4",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, waktu_pesanan_terbuat, nama_toko, kota FROM dropship_purchases
             ORDER BY source_line"
        ),
        [
            "DS-A1 | 2025-01-01T10:00:00+07:00 | Toko Maju Jaya | Jakarta Selatan",
            "DS-A3 | 2025-01-01T10:00:00+07:00 | NULL | Jakarta Selatan",
        ]
    );
    assert_eq!(rejects(&env), ["3 | Qty | invalid_integer | two"]);
}

#[test]
fn semicolon_is_found_from_the_header_after_empty_lines() {
    let env = Env::new();
    put(&env, "semicolon-blank-lines-first.csv");
    let run = run_code(&env, &["semicolon-blank-lines-first.csv"], 3);
    assert_eq!(
        run.file_status("semicolon-blank-lines-first.csv"),
        "imported",
        "{}",
        run.stdout
    );
    assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        ["DS-L1 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 4"]
    );
    assert_eq!(rejects(&env), ["5 | Qty | invalid_integer | two"]);
}

#[test]
fn delimiter_flag_forces_the_delimiter() {
    // A comma file read with `;` has one column: the required ones are missing.
    let env = Env::new();
    put(&env, "utf8-no-bom.csv");
    let run = run_code(&env, &["--delimiter", ";", "utf8-no-bom.csv"], 3);
    assert_eq!(run.file_status("utf8-no-bom.csv"), "failed");
    let error = run.file("utf8-no-bom.csv")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Waktu Pesanan Terbuat"), "{error}");
    assert_eq!(env.count("dropship_purchases"), 0);
    assert_eq!(env.count("dropship_purchase_details"), 0);

    // The header of this `;` file holds more commas than semicolons.
    let env = Env::new();
    put(&env, "semicolon-header-with-commas.csv");
    let run = run_code(
        &env,
        &["--delimiter", ";", "semicolon-header-with-commas.csv"],
        0,
    );
    assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);
    assert_eq!(
        details(&env),
        ["DS-H1 | SKU-1 | NULL | 4500000 | 2 | 9000000 | 2"]
    );
    assert_eq!(
        env.order_int("DS-H1", "total_transaksi_sen"),
        Some(9_150_000)
    );

    let env = Env::new();
    put(&env, "tab.csv");
    let run = run_code(&env, &["--delimiter", "tab", "tab.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-T1", "DS-T2"]);
}

#[test]
fn delimiter_in_the_config_forces_it_and_the_flag_wins() {
    let env = Env::new();
    put(&env, "utf8-no-bom.csv");
    env.write("importer.toml", "[import]\ndelimiter = \";\"\n");
    let run = run_code(&env, &["utf8-no-bom.csv"], 3);
    assert_eq!(run.file_status("utf8-no-bom.csv"), "failed");
    assert_eq!(env.count("dropship_purchase_details"), 0);
    let run = run_code(&env, &["--delimiter", ",", "utf8-no-bom.csv"], 0);
    assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-U1", "DS-U2"]);

    let env = Env::new();
    put(&env, "semicolon-header-with-commas.csv");
    env.write("importer.toml", "[import]\ndelimiter = \";\"\n");
    let run = run_code(&env, &["semicolon-header-with-commas.csv"], 0);
    assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-H1"]);

    let env = Env::new();
    put(&env, "tab.csv");
    env.write("importer.toml", "[import]\ndelimiter = \"tab\"\n");
    let run = run_code(&env, &["tab.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(
        env.line_text("DS-T1", "nama_produk").as_deref(),
        Some("Kaos; Polos, Putih")
    );
}

// ---------------------------------------------------------------------------
// Line ends, quoting, empty lines, headers
// ---------------------------------------------------------------------------

#[test]
fn quoted_delimiters_doubled_quotes_and_newlines() {
    for chunk in ["1000", "1"] {
        let env = Env::new();
        put(&env, "quoted-fields.csv");
        let run = run_code(&env, &["--chunk-size", chunk, "quoted-fields.csv"], 3);
        assert_eq!(run.rows(), [5, 3, 2, 0, 0, 0], "chunk {chunk}");
        assert_eq!(
            details(&env),
            [
                "DS-Q1 | SKU-ABC-01 | Kaos \"Premium\", 24s | 4500000 | 2 | 9000000 | 2",
                "DS-Q2 | SKU-ABC-01 | Paket\nIsi 3\nWarna Campur | 4500000 | 2 | 9000000 | 3",
                "DS-Q4 | SKU-ABC-01 | Dua\n\nBaris | 4500000 | 2 | 9000000 | 7",
            ],
            "chunk {chunk}"
        );
        assert_eq!(
            query(
                &env,
                "SELECT kode_pesanan, nama_toko, nomor_resi, kota FROM dropship_purchases
                 ORDER BY source_line"
            ),
            [
                "DS-Q1 | Toko, Jaya | \"RESI-1\" | Jakarta Selatan",
                "DS-Q2 | Toko Maju Jaya | JNE0012345678 | Jakarta Selatan",
                "DS-Q4 | NULL | JNE0012345678 | Jakarta Selatan",
            ],
            "chunk {chunk}"
        );
        assert_eq!(
            rejects(&env),
            [
                "6 | Qty | invalid_integer | two",
                "10 | Harga Produk | invalid_money | abc",
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn line_numbers_stay_exact_across_read_buffers_and_chunks() {
    // About 1.2 MB of CRLF: every 7th record spans three lines (CRLF and a
    // bare LF inside quotes), every 11th is followed by an empty line, every
    // 13th is rejected. The line breaks fall on every offset modulo the
    // buffer sizes somewhere in the file.
    let mut file = Csv::new(&[]).crlf();
    let mut at = 2;
    let mut want_lines = Vec::new();
    let mut want_rejects = Vec::new();
    for i in 0..4000 {
        let kode = format!("DS-{i:05}");
        let mut l = line(&kode).set("No", &(i + 1).to_string());
        let mut span = 1;
        if i % 7 == 0 {
            l = l.set("Nama Produk", "satu\r\ndua\ntiga");
            span = 3;
        }
        if i % 13 == 0 {
            l = l.set("Qty", "two");
            want_rejects.push(format!("{at} | Qty | invalid_integer | two"));
        } else {
            want_lines.push(format!("{kode} | {at}"));
        }
        file = file.lines(&[l]);
        at += span;
        if i % 11 == 0 {
            file = file.raw("");
            at += 1;
        }
    }
    let text = file.render();
    assert!(text.len() > 1_000_000);
    for (name, bytes) in [
        ("big.csv", text.as_bytes().to_vec()),
        ("big.csv.gz", gzip(text.as_bytes())),
    ] {
        for chunk in ["1000", "7"] {
            let env = Env::new();
            env.write(name, &bytes);
            let run = run_code(&env, &["--chunk-size", chunk, name], 3);
            let rejected = want_rejects.len() as u64;
            assert_eq!(
                run.rows(),
                [4000, 4000 - rejected, rejected, 0, 0, 0],
                "{name} chunk {chunk}"
            );
            let got = query(
                &env,
                "SELECT kode_pesanan, source_line FROM dropship_purchase_details
                 ORDER BY source_line",
            );
            same_list(&got, &want_lines, &format!("{name} chunk {chunk}: lines"));
            same_list(
                &rejects(&env),
                &want_rejects,
                &format!("{name} chunk {chunk}: rejects"),
            );
        }
    }
}

#[test]
fn crlf_with_a_quoted_crlf_and_a_bare_lf_in_a_cell() {
    let env = Env::new();
    put(&env, "crlf-quoted-newlines.csv");
    let run = run_code(&env, &["crlf-quoted-newlines.csv"], 3);
    assert_eq!(run.rows(), [4, 3, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-C1 | SKU-ABC-01 | dua\r\nbaris | 4500000 | 2 | 9000000 | 2",
            "DS-C2 | SKU-ABC-01 | sel Excel\nbaris baru | 4500000 | 2 | 9000000 | 4",
            "DS-C4 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 7",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kota FROM dropship_purchases ORDER BY source_line"
        ),
        ["Jakarta Selatan", "Bogor, Jawa Barat", "Jakarta Selatan"]
    );
    assert_eq!(rejects(&env), ["6 | Qty | invalid_integer | two"]);
}

#[test]
fn empty_lines_at_the_start_middle_and_end_are_not_rows() {
    for name in ["blank-lines.csv", "blank-lines-crlf.csv"] {
        let env = Env::new();
        put(&env, name);
        let run = run_code(&env, &[name], 3);
        assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0], "{name}");
        assert_eq!(
            details(&env),
            [
                "DS-B1 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 4",
                "DS-B2 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 7",
            ],
            "{name}"
        );
        assert_eq!(
            query(
                &env,
                "SELECT kota FROM dropship_purchases ORDER BY source_line"
            ),
            ["Jakarta Selatan", "Jakarta Selatan"],
            "{name}"
        );
        assert_eq!(rejects(&env), ["8 | Qty | invalid_integer | two"], "{name}");
    }
}

#[test]
fn lines_of_only_spaces_or_delimiters_before_the_header_are_empty_lines() {
    // README: "A line with nothing but delimiters and spaces (`,,,,`) is an
    // empty line, like a blank one"; SPEC: empty lines are not rows. Such a
    // line in the middle of a file is skipped (see above); before the header
    // it must not be taken for the header.
    let env = Env::new();
    put(&env, "whitespace-lines-before-header.csv");
    let run = run_code(&env, &["whitespace-lines-before-header.csv"], 3);
    assert_eq!(
        run.file_status("whitespace-lines-before-header.csv"),
        "imported",
        "{}",
        run.stdout
    );
    assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        ["DS-E1 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 5"]
    );
    assert_eq!(rejects(&env), ["6 | Qty | invalid_integer | two"]);
}

#[test]
fn a_missing_final_newline_loses_nothing() {
    let env = Env::new();
    put(&env, "no-final-newline.csv");
    let run = run_code(&env, &["no-final-newline.csv"], 3);
    assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, kota, source_line FROM dropship_purchases ORDER BY source_line"
        ),
        [
            "DS-N1 | Jakarta Selatan | 2",
            "DS-N3 | Jakarta\nSelatan | 4"
        ]
    );
    assert_eq!(rejects(&env), ["3 | Qty | invalid_integer | two"]);

    // A last record that is rejected, without the line break, in LF and CRLF.
    for crlf in [false, true] {
        let mut file = Csv::new(&[line("DS-1"), line("DS-2").set("Qty", "two")]);
        if crlf {
            file = file.crlf();
        }
        let text = file.render();
        let text = text.trim_end_matches(['\r', '\n']);
        let env = Env::new();
        env.write("a.csv", text);
        let run = run_code(&env, &["a.csv"], 3);
        assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0], "crlf {crlf}");
        assert_eq!(
            rejects(&env),
            ["3 | Qty | invalid_integer | two"],
            "crlf {crlf}"
        );
        assert_eq!(
            env.order_text("DS-1", "kota").as_deref(),
            Some("Jakarta Selatan")
        );
    }
}

#[test]
fn header_names_with_trailing_and_repeated_spaces_match() {
    let env = Env::new();
    put(&env, "header-trailing-spaces.csv");
    let run = run_code(&env, &["header-trailing-spaces.csv"], 3);
    assert_eq!(run.rows(), [3, 1, 2, 0, 0, 0]);
    assert_eq!(
        details(&env),
        ["DS-H1 | SKU-ABC-01 | Kaos Polos Hitam L | 4500000 | 2 | 9000000 | 2"]
    );
    assert_eq!(
        query(
            &env,
            "SELECT waktu_pesanan_terbuat, total_transaksi_sen, kode_invoice_channel, kota
             FROM dropship_purchases"
        ),
        ["2025-01-01T10:00:00+07:00 | 9150000 | 250101ABCDEF12 | Jakarta Selatan"]
    );
    // The column is named as in the file (compared without its outer spaces).
    assert_eq!(
        rejects(&env),
        [
            "3 | Qty | invalid_integer | two",
            "4 | Harga  Produk | invalid_money | abc",
        ]
    );
}

// ---------------------------------------------------------------------------
// Money and dates
// ---------------------------------------------------------------------------

const MONEY: &str = "SELECT d.kode_pesanan, d.harga_produk_sen, d.total_harga_produk_sen,
        p.total_transaksi_sen, p.biaya_lainnya_sen, d.potensi_keuntungan_sen
    FROM dropship_purchase_details d JOIN dropship_purchases p USING (kode_pesanan)
    ORDER BY d.source_line";

#[test]
fn money_with_decimal_comma() {
    let env = Env::new();
    put(&env, "money-decimal-comma.csv");
    comma_decimals(&env);
    let run = run_code(&env, &["money-decimal-comma.csv"], 3);
    assert_eq!(run.rows(), [6, 3, 3, 0, 0, 0]);
    assert_eq!(
        query(&env, MONEY),
        [
            "DS-M1 | 4500000 | 9000000 | 9150000 | 100000 | 1850000",
            "DS-M2 | 4500050 | 9000100 | 9150100 | 100000 | 1850000",
            "DS-M3 | 4500050 | 9000000 | 123456789 | 100000 | -150025",
        ]
    );
    assert_eq!(
        rejects(&env),
        [
            "5 | Harga Produk | invalid_money | 12,34,5",
            "6 | Harga Produk | invalid_money | 1.2.3",
            "7 | Total Transaksi | invalid_money | 45,000.50",
        ]
    );
}

#[test]
fn money_with_decimal_dot() {
    let env = Env::new();
    put(&env, "money-decimal-dot.csv");
    env.write("importer.toml", "[import]\ndecimal_separator = \".\"\n");
    let run = run_code(&env, &["money-decimal-dot.csv"], 3);
    assert_eq!(run.rows(), [4, 2, 2, 0, 0, 0]);
    assert_eq!(
        query(&env, MONEY),
        [
            "DS-D1 | 4500050 | 9000100 | 123456789 | 100000 | 1850000",
            "DS-D4 | 4500050 | 9000000 | 9150000 | 100000 | -150025",
        ]
    );
    assert_eq!(
        rejects(&env),
        [
            "3 | Harga Produk | invalid_money | 12,34,5",
            "4 | Harga Produk | invalid_money | 1.2.3",
        ]
    );
}

#[test]
fn indonesian_and_english_month_names_with_and_without_the_comma() {
    let env = Env::new();
    put(&env, "dates.csv");
    let run = run_code(&env, &["dates.csv"], 3);
    assert_eq!(run.rows(), [18, 15, 3, 0, 0, 0]);
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, waktu_pesanan_terbuat, waktu_pengiriman, source_line
             FROM dropship_purchases ORDER BY source_line"
        ),
        [
            "DS-T01 | 2025-01-01T10:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 2",
            "DS-T02 | 2025-01-01T10:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 3",
            "DS-T03 | 2025-05-15T08:30:00+07:00 | 2025-01-02T14:30:00+07:00 | 4",
            "DS-T04 | 2025-05-15T08:30:00+07:00 | 2025-01-02T14:30:00+07:00 | 5",
            "DS-T05 | 2025-08-17T09:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 6",
            "DS-T06 | 2025-08-17T09:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 7",
            "DS-T07 | 2025-08-17T09:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 8",
            "DS-T08 | 2025-08-18T09:15:00+07:00 | 2025-01-02T14:30:00+07:00 | 9",
            "DS-T09 | 2025-10-05T11:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 10",
            "DS-T10 | 2025-12-25T23:59:59+07:00 | 2025-12-02T14:30:00+07:00 | 11",
            "DS-T11 | 2024-02-29T12:00:00+07:00 | 2024-03-01T08:00:00+07:00 | 12",
            "DS-T12 | 2025-01-01T10:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 13",
            "DS-T13 | 2025-05-15T08:30:00+07:00 | 2025-01-02T14:30:00+07:00 | 14",
            "DS-T14 | 2025-08-17T09:00:00+07:00 | 2025-01-02T14:30:00+07:00 | 15",
            "DS-T15 | 2025-10-05T11:00:00+07:00 | 2025-12-25T23:59:59+07:00 | 16",
        ]
    );
    assert_eq!(
        rejects(&env),
        [
            "17 | Waktu Pesanan Terbuat | invalid_datetime | 29 Februari 2025 10:00:00",
            "18 | Waktu Pesanan Terbuat | invalid_datetime | 31/04/2025 10:00:00",
            "19 | Waktu Pengiriman | invalid_datetime | 29 Februari 2025",
        ]
    );
}

// ---------------------------------------------------------------------------
// Header aliases
// ---------------------------------------------------------------------------

#[test]
fn a_supplier_export_with_english_headers_loads_through_column_aliases() {
    let env = Env::new();
    let path = put(&env, "supplier-english.csv");
    env.write("importer.toml", fixture("supplier-english.toml"));
    let run = run_code(&env, &["supplier-english.csv"], 3);
    assert_eq!(run.rows(), [4, 3, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "SUP-1 | SKU-A | Mug, 350ml | 2500000 | 2 | 5000000 | 2",
            "SUP-1 | SKU-B | Tatakan \"Kayu\" | 1200000 | 1 | 1200000 | 3",
            "SUP-3 | SKU-D | Gelas | 1500050 | 4 | 6000200 | 5",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, waktu_pesanan_terbuat, status_pesanan_terakhir,
                    total_transaksi_sen, jenis_channel, waktu_pengiriman, kode_transaksi
             FROM dropship_purchases ORDER BY kode_pesanan"
        ),
        [
            "SUP-1 | 2025-03-01T09:15:00+07:00 | Completed | 6200000 | Tokopedia | 2025-03-02T10:00:00+07:00 | NULL",
            "SUP-3 | 2025-03-05T08:00:00+07:00 | Packed | 6000200 | Shopee | NULL | NULL",
        ]
    );
    assert_eq!(rejects(&env), ["4 | Quantity | invalid_integer | three"]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        fixture("supplier-english.csv")
    );

    // Without the aliases the same file lacks the required columns.
    let env = Env::new();
    put(&env, "supplier-english.csv");
    let run = run_code(&env, &["supplier-english.csv"], 3);
    assert_eq!(run.file_status("supplier-english.csv"), "failed");
    let error = run.file("supplier-english.csv")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Kode Pesanan"), "{error}");
    assert!(error.contains("Order Code"), "the found columns: {error}");
}

#[test]
fn windows_1252_headers_match_aliases_in_any_case() {
    let env = Env::new();
    put(&env, "cp1252-aliased-headers.csv");
    env.write(
        "importer.toml",
        "[columns]\n\
         waktu_pesanan_terbuat = [\"tanggal\"]\n\
         kode_pesanan = [\"Kódigo pésanan\"]\n\
         nama_produk = [\"DÉSIGNATION\"]\n",
    );
    let run = run_code(&env, &["cp1252-aliased-headers.csv"], 3);
    assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        ["DS-1 | S1 | Café crème | 4500000 | 2 | 9000000 | 2"]
    );
    assert_eq!(
        env.order_text("DS-1", "waktu_pesanan_terbuat").as_deref(),
        Some("2025-01-01T10:00:00+07:00")
    );
    assert_eq!(rejects(&env), ["3 | Qty | invalid_integer | dua"]);
}

// ---------------------------------------------------------------------------
// Combinations
// ---------------------------------------------------------------------------

#[test]
fn windows_1252_crlf_semicolon_gzip_with_decimal_comma() {
    let env = Env::new();
    let bytes = fixture("cp1252-crlf-semicolon.csv");
    assert!(!bytes.starts_with(b"\xef\xbb\xbf"));
    env.write("k.csv.gz", gzip(&bytes));
    comma_decimals(&env);
    let run = run_code(&env, &["k.csv.gz"], 3);
    assert_eq!(run.rows(), [4, 3, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-K1 | SKU-ABC-01 | Kaos Café “Spesial” | 4500000 | 2 | 9000000 | 2",
            "DS-K2 | SKU-ABC-01 | Paket; Isi 2\r\nBonus € | 4500050 | 2 | 9000100 | 3",
            "DS-K4 | SKU-ABC-01 | Kaos Polos Hitam L | 4500050 | 2 | 9000100 | 6",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT d.kode_pesanan, d.harga_produk_channel_sen, d.total_harga_produk_channel_sen,
                    d.potensi_keuntungan_sen
             FROM dropship_purchase_details d ORDER BY d.source_line"
        ),
        [
            "DS-K1 | 5500000 | 11000000 | 1850025",
            "DS-K2 | 5500000 | 11000000 | 1850000",
            "DS-K4 | 5500000 | 11000000 | -150000",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, waktu_pesanan_terbuat, biaya_lainnya_sen, total_transaksi_sen,
                    nama_toko, waktu_pengiriman, kota
             FROM dropship_purchases ORDER BY source_line"
        ),
        [
            "DS-K1 | 2025-01-01T10:00:00+07:00 | 100000 | 9150050 | Toko Müller – Jaya | 2025-01-02T14:30:00+07:00 | Bekasi",
            "DS-K2 | 2025-08-15T09:00:00+07:00 | 100000 | 9150100 | Toko Maju Jaya | NULL | Jakarta Selatan",
            "DS-K4 | 2025-12-31T23:59:59+07:00 | 100000 | 9150100 | Toko Maju Jaya | 2025-01-02T14:30:00+07:00 | Bogor",
        ]
    );
    assert_eq!(
        rejects(&env),
        ["5 | Harga Produk | invalid_money | 12,34,5"]
    );
}

#[test]
fn utf8_bom_tab_with_quoted_newlines() {
    let env = Env::new();
    put(&env, "utf8-bom-tab-quoted-newlines.csv");
    let run = run_code(&env, &["utf8-bom-tab-quoted-newlines.csv"], 3);
    assert_eq!(run.rows(), [4, 3, 1, 0, 0, 0]);
    assert_eq!(
        details(&env),
        [
            "DS-Z1 | SKU-ABC-01 | Baris satu\nBaris dua | 4500000 | 2 | 9000000 | 2",
            "DS-Z2 | SKU-ABC-01 | Tab\tdi dalam | 4500000 | 2 | 9000000 | 4",
            "DS-Z4 | SKU-ABC-01 | Kaos, \"Polos\"; Putih | 4500000 | 2 | 9000000 | 8",
        ]
    );
    assert_eq!(
        query(
            &env,
            "SELECT kode_pesanan, nama_toko, kota FROM dropship_purchases ORDER BY source_line"
        ),
        [
            "DS-Z1 | Toko “Ünïcode” | Jakarta Selatan",
            "DS-Z2 | Toko Maju Jaya | Jakarta\n\nSelatan",
            "DS-Z4 | Toko Maju Jaya | Jakarta Selatan",
        ]
    );
    assert_eq!(rejects(&env), ["7 | Qty | invalid_integer | 0"]);
}

// ---------------------------------------------------------------------------
// Robustness: arbitrary and mutated input
// ---------------------------------------------------------------------------

/// Cases of each property when `PROPTEST_CASES` is not set.
const FUZZ_CASES: u32 = 128;

/// `ProptestConfig::default()` already reads `PROPTEST_CASES` (and the other
/// `PROPTEST_*` variables); only when it is absent is the count set here.
fn fuzz_config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = FUZZ_CASES;
    }
    // A failing input is printed in full; write no regression file.
    config.failure_persistence = None;
    config.max_shrink_iters = 512;
    config
}

/// Bytes shown as a byte string literal, so a failure can be replayed.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let escaped: String = self
            .0
            .iter()
            .flat_map(|&b| std::ascii::escape_default(b))
            .map(char::from)
            .collect();
        write!(f, "b\"{escaped}\"")
    }
}

/// How the binary is run on a fuzzed file.
#[derive(Debug, Clone)]
struct Opts {
    encoding: &'static str,
    comma_decimal: bool,
    chunk_size: &'static str,
    strict: bool,
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        select(vec!["auto", "utf-8", "windows-1252"]),
        any::<bool>(),
        select(vec!["1", "3", "1000"]),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(encoding, comma_decimal, chunk_size, strict)| Opts {
            encoding,
            comma_decimal,
            chunk_size,
            strict,
        })
}

/// A byte that is often CSV syntax, often not ASCII, often plain text.
fn noisy_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => select(b",;\t\r\n\"".to_vec()),
        2 => 0x80u8..=0xff,
        3 => select(b"0123456789 .,-:/'RpDSaJnuiMeOkt".to_vec()),
        1 => any::<u8>(),
    ]
}

fn delimiter() -> impl Strategy<Value = char> {
    select(vec![',', ';', '\t'])
}

/// A fuzzed file: its name, its bytes, and what it holds once decompressed
/// when that is known.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    content: Option<Vec<u8>>,
}

/// (a) A valid header line, then arbitrary bytes.
#[derive(Debug, Clone)]
struct RawCase {
    delim: char,
    crlf: bool,
    bom: bool,
    gz: bool,
    body: Bytes,
    opts: Opts,
}

fn raw_case() -> impl Strategy<Value = RawCase> {
    (
        delimiter(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(noisy_byte(), 0..2000),
        opts(),
    )
        .prop_map(|(delim, crlf, bom, gz, body, opts)| RawCase {
            delim,
            crlf,
            bom,
            gz,
            body: Bytes(body),
            opts,
        })
}

impl RawCase {
    fn case(&self) -> Case {
        let mut content = Vec::new();
        if self.bom {
            content.extend_from_slice(b"\xef\xbb\xbf");
        }
        content.extend(render_fields(HEADERS, self.delim).into_bytes());
        content.extend_from_slice(if self.crlf { b"\r\n" } else { b"\n" });
        content.extend_from_slice(&self.body.0);
        if self.gz {
            Case {
                name: "fuzz.csv.gz",
                bytes: gzip(&content),
                content: Some(content),
            }
        } else {
            Case {
                name: "fuzz.csv",
                bytes: content.clone(),
                content: Some(content),
            }
        }
    }
}

/// One change to a file's bytes; positions are taken modulo the length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Delete(Index, usize),
    Insert(Index, Bytes),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(at, x)| Mutation::Flip(at, x)),
        (any::<Index>(), 1usize..8).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<Index>(), prop::collection::vec(noisy_byte(), 1..4))
            .prop_map(|(at, b)| Mutation::Insert(at, Bytes(b))),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        match m {
            Mutation::Flip(at, x) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                bytes[at] ^= x;
            }
            Mutation::Delete(at, n) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Insert(at, b) => {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, b.0.iter().copied());
            }
            _ => {}
        }
    }
}

/// Where gzip comes in for a mutated file.
#[derive(Debug, Clone, Copy)]
enum Gz {
    No,
    /// The mutated text, compressed.
    AfterMutation,
    /// The valid text compressed, then the compressed bytes mutated.
    MutateCompressed,
}

/// (b) A valid file with random mutations.
#[derive(Debug, Clone)]
struct MutatedCase {
    delim: char,
    crlf: bool,
    bom: bool,
    lines: Vec<Line>,
    mutations: Vec<Mutation>,
    gz: Gz,
    opts: Opts,
}

/// Mostly one of `valid`, sometimes one of `invalid`.
fn pick(
    valid: &[&'static str],
    invalid: &[&'static str],
) -> impl Strategy<Value = &'static str> + use<> {
    prop_oneof![4 => select(valid.to_vec()), 1 => select(invalid.to_vec())]
}

fn export_line() -> impl Strategy<Value = Line> {
    (
        0..4usize,
        select(vec![
            "Kaos Polos Hitam L",
            "Kaos \"Premium\", 24s",
            "Paket\nIsi 3",
            "Café “Latte” – €",
            "Semi;colon\tTab",
            "",
        ]),
        pick(
            &["45000", "45000.5", "Rp 45.000", "0"],
            &["45.000,50", "-5", "x"],
        ),
        pick(&["2", "1", "12"], &["0", "two"]),
        pick(
            &[
                "01 January 2025, 10:00:00",
                "15 Mei 2025 08:30:00",
                "2025-01-01",
            ],
            &["31/04/2025 10:00", "29 Februari 2025"],
        ),
    )
        .prop_map(|(order, name, price, qty, date)| {
            line(&format!("DS-{order}"))
                .set("Nama Produk", name)
                .set("Harga Produk", price)
                .set("Qty", qty)
                .set("Waktu Pesanan Terbuat", date)
        })
}

fn mutated_case() -> impl Strategy<Value = MutatedCase> {
    (
        delimiter(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(export_line(), 1..12),
        prop::collection::vec(mutation(), 1..6),
        prop_oneof![
            6 => Just(Gz::No),
            2 => Just(Gz::AfterMutation),
            2 => Just(Gz::MutateCompressed),
        ],
        opts(),
    )
        .prop_map(
            |(delim, crlf, bom, lines, mutations, gz, opts)| MutatedCase {
                delim,
                crlf,
                bom,
                lines,
                mutations,
                gz,
                opts,
            },
        )
}

impl MutatedCase {
    fn case(&self) -> Case {
        let mut file = Csv::new(&[]).delimiter(self.delim).lines(&self.lines);
        if self.crlf {
            file = file.crlf();
        }
        let mut content = Vec::new();
        if self.bom {
            content.extend_from_slice(b"\xef\xbb\xbf");
        }
        content.extend(file.render().into_bytes());
        match self.gz {
            Gz::No => {
                mutate(&mut content, &self.mutations);
                Case {
                    name: "fuzz.csv",
                    bytes: content.clone(),
                    content: Some(content),
                }
            }
            Gz::AfterMutation => {
                mutate(&mut content, &self.mutations);
                Case {
                    name: "fuzz.csv.gz",
                    bytes: gzip(&content),
                    content: Some(content),
                }
            }
            Gz::MutateCompressed => {
                let mut bytes = gzip(&content);
                mutate(&mut bytes, &self.mutations);
                Case {
                    name: "fuzz.csv.gz",
                    bytes,
                    content: None,
                }
            }
        }
    }
}

fn count_where(db: &rusqlite::Connection, sql: &str) -> u64 {
    db.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
}

/// Runs the binary on one fuzzed file and checks what must hold for any input.
fn check_robust(case: &Case, opts: &Opts) -> Result<(), TestCaseError> {
    let env = Env::new();
    env.write(case.name, &case.bytes);
    if opts.comma_decimal {
        env.write("importer.toml", "[import]\ndecimal_separator = \",\"\n");
    }
    let mut args = vec![
        "--progress",
        "none",
        "--encoding",
        opts.encoding,
        "--chunk-size",
        opts.chunk_size,
    ];
    if opts.strict {
        args.push("--strict");
    }
    args.push(case.name);

    let started = Instant::now();
    let out = env
        .cmd()
        .timeout(Duration::from_secs(20))
        .args(&args)
        .output()
        .expect("run dropship-import");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = format!("args {args:?}, {elapsed:?}\nstderr:\n{stderr}\nstdout:\n{stdout}");
    prop_assert!(!stderr.contains("panicked"), "panic: {}", shown);
    let code = out.status.code();
    prop_assert!(
        matches!(code, Some(0 | 3)),
        "exit {:?} (None: killed, e.g. by the 20 s timeout): {}",
        code,
        shown
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| TestCaseError::fail(format!("summary is not JSON ({e}): {shown}")))?;

    let rows = |v: &Value| -> [u64; 6] {
        [
            "read",
            "imported",
            "rejected",
            "duplicate",
            "filtered",
            "failed",
        ]
        .map(|k| v[k].as_u64().unwrap_or(u64::MAX))
    };
    let total = rows(&json["rows"]);
    let files = json["per_file"].as_array().cloned().unwrap_or_default();
    prop_assert_eq!(files.len(), 1, "per_file: {}", shown);
    let file = &files[0];
    let per_file = rows(&file["rows"]);
    for (what, [read, imported, rejected, duplicate, filtered, failed]) in
        [("run", total), ("file", per_file)]
    {
        prop_assert_eq!(
            read,
            imported + rejected + duplicate + filtered + failed,
            "{} rows do not add up: {}",
            what,
            shown
        );
    }
    prop_assert_eq!(total, per_file, "{}", shown);
    // One file: no order can belong to another file; no channel filter.
    prop_assert_eq!((total[3], total[4]), (0, 0), "{}", shown);
    let status = file["status"].as_str().unwrap_or("");
    prop_assert!(
        matches!(status, "imported" | "failed"),
        "file status {:?}: {}",
        status,
        shown
    );
    let failed_files = json["files"]["failed"].as_u64().unwrap_or(u64::MAX);
    prop_assert_eq!(failed_files, u64::from(status == "failed"), "{}", shown);
    prop_assert_eq!(
        code == Some(0),
        total[2] == 0 && status != "failed",
        "exit code against rejects and failures: {}",
        shown
    );

    let db_path = env.path("dropship.db");
    let (details, orders, keys, stored_rejects, lines) = if db_path.is_file() {
        let db = env.db();
        let mut stmt = db
            .prepare(
                "SELECT source_line FROM dropship_purchase_details
                 UNION ALL SELECT line FROM import_rejects",
            )
            .unwrap();
        let lines: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        (
            count_where(&db, "SELECT count(*) FROM dropship_purchase_details"),
            count_where(&db, "SELECT count(*) FROM dropship_purchases"),
            count_where(
                &db,
                "SELECT count(DISTINCT kode_pesanan) FROM dropship_purchase_details",
            ),
            count_where(&db, "SELECT count(*) FROM import_rejects"),
            lines,
        )
    } else {
        (0, 0, 0, 0, Vec::new())
    };
    if status == "failed" {
        prop_assert_eq!(per_file[1], 0, "imported rows of a failed file: {}", shown);
        prop_assert_eq!(
            (details, orders),
            (0, 0),
            "a failed file left rows in the data tables: {}",
            shown
        );
    } else {
        prop_assert_eq!(
            details,
            per_file[1],
            "detail rows != rows.imported: {}",
            shown
        );
        prop_assert_eq!(
            stored_rejects,
            per_file[2],
            "import_rejects rows != rows.rejected: {}",
            shown
        );
        prop_assert_eq!(
            orders,
            keys,
            "orders != distinct order keys of lines: {}",
            shown
        );
    }

    // Line numbers are physical lines of the decompressed text, and records
    // on separate lines have different numbers. A lone CR (neither LF nor
    // CRLF, which SPEC does not cover) ends a record but is no line break, so
    // such files are left out of this check.
    if let Some(content) = &case.content {
        let lone_cr = content
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && content.get(i + 1) != Some(&b'\n'));
        if !lone_cr {
            let physical = content.iter().filter(|&&b| b == b'\n').count() as i64 + 1;
            for &l in &lines {
                prop_assert!(
                    (2..=physical).contains(&l),
                    "line {} outside 2..={}: {}",
                    l,
                    physical,
                    shown
                );
            }
            let distinct: BTreeSet<i64> = lines.iter().copied().collect();
            prop_assert_eq!(
                distinct.len(),
                lines.len(),
                "two records on one line {:?}: {}",
                lines,
                shown
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_break_the_import(c in raw_case()) {
        check_robust(&c.case(), &c.opts)?;
    }

    #[test]
    fn mutated_valid_files_never_break_the_import(c in mutated_case()) {
        check_robust(&c.case(), &c.opts)?;
    }
}
