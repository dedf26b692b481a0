//! Integration tests of `dropship-import`: the binary is run in a fresh
//! temporary folder per test (it reads `./importer.toml` when present), and
//! what a user sees is checked: exit code, JSON summary, database rows.

#[macro_use]
mod common;

use common::{
    Backend, Csv, Env, FromCell, LINE_INDEX, csv, gzip, line, line_index_exists, replace_bytes,
};
use serde_json::Value;
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------
// The basic import
// ---------------------------------------------------------------------------

both! {
    fn imports_orders_and_lines_of_a_valid_file(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("SKU", "SKU-1"),
                line("DS-1").set("SKU", "SKU-2").set("No", "2"),
                line("DS-2").set("SKU", "SKU-3").set("No", "3"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(run.json["status"], "ok");
        assert_eq!(run.rows(), [3, 3, 0, 0, 0, 0]);
        assert_eq!(run.n("/orders/created"), 2);
        assert_eq!(run.n("/files/imported"), 1);
        assert_eq!(run.file_status("a.csv"), "imported");

        assert_eq!(env.orders(), ["DS-1", "DS-2"]);
        assert_eq!(env.skus("DS-1"), ["SKU-1", "SKU-2"]);
        assert_eq!(env.skus("DS-2"), ["SKU-3"]);
        // The order comes from its first row; lines keep their physical line.
        assert_eq!(env.order_int("DS-1", "source_line"), Some(2));
        assert_eq!(env.order_int("DS-2", "source_line"), Some(4));
        let lines: Vec<i64> =
            env.column("SELECT source_line FROM dropship_purchase_details ORDER BY source_line");
        assert_eq!(lines, [2, 3, 4]);

        let file_id: i64 = env.one("SELECT id FROM import_files");
        assert_eq!(env.order_int("DS-1", "import_file_id"), Some(file_id));
        assert_eq!(
            env.one::<i64>(&format!(
                "SELECT count(*) FROM dropship_purchase_details WHERE import_file_id = {file_id}"
            )),
            3
        );
        let row = &env.query(
            "SELECT state, rows_read, rows_imported, rows_committed, bytes_committed, content_hash
             FROM import_files",
        )[0];
        let (state, read, imported, committed, bytes, hash) = (
            String::from_cell(&row[0]),
            i64::from_cell(&row[1]),
            i64::from_cell(&row[2]),
            i64::from_cell(&row[3]),
            i64::from_cell(&row[4]),
            String::from_cell(&row[5]),
        );
        assert_eq!(
            (state.as_str(), read, imported, committed),
            ("imported", 3, 3, 3)
        );
        assert!(bytes > 0);
        assert!(!hash.is_empty());
        assert_eq!(env.count("import_runs"), 1);
        assert_eq!(
            run.json["run_id"],
            env.one::<i64>("SELECT id FROM import_runs")
        );
    }
}

both! {
    fn stores_every_field_of_the_example_line(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[common::Line::default()]));
        env.run(&["a.csv"]).expect_code(0);
        let k = "DS-2501010001";
        let text = |c| env.order_text(k, c);
        assert_eq!(
            text("waktu_pesanan_terbuat").as_deref(),
            Some("2025-01-01T10:00:00+07:00")
        );
        assert_eq!(text("status_pesanan_terakhir").as_deref(), Some("Selesai"));
        assert_eq!(text("kode_transaksi").as_deref(), Some("TRX-1"));
        assert_eq!(text("dibuat_oleh").as_deref(), Some("admin1"));
        assert_eq!(text("jenis_channel").as_deref(), Some("Shopee"));
        assert_eq!(text("nama_toko").as_deref(), Some("Toko Maju Jaya"));
        assert_eq!(
            text("kode_invoice_channel").as_deref(),
            Some("250101ABCDEF12")
        );
        assert_eq!(text("gudang_pengiriman").as_deref(), Some("Gudang Jakarta"));
        assert_eq!(text("jenis_ekspedisi").as_deref(), Some("JNE REG"));
        assert_eq!(text("cashless").as_deref(), Some("Ya"));
        assert_eq!(text("nomor_resi").as_deref(), Some("JNE0012345678"));
        assert_eq!(
            text("waktu_pengiriman").as_deref(),
            Some("2025-01-02T14:30:00+07:00")
        );
        assert_eq!(text("provinsi").as_deref(), Some("DKI Jakarta"));
        assert_eq!(text("kota").as_deref(), Some("Jakarta Selatan"));
        assert_eq!(env.order_int(k, "biaya_lainnya_sen"), Some(100_000));
        assert_eq!(env.order_int(k, "biaya_mitra_jakmall_sen"), Some(50_000));
        assert_eq!(env.order_int(k, "total_transaksi_sen"), Some(9_150_000));
        assert_eq!(env.line_text(k, "sku").as_deref(), Some("SKU-ABC-01"));
        assert_eq!(
            env.line_text(k, "nama_produk").as_deref(),
            Some("Kaos Polos Hitam L")
        );
        assert_eq!(env.line_int(k, "harga_produk_sen"), Some(4_500_000));
        assert_eq!(env.line_int(k, "qty"), Some(2));
        assert_eq!(env.line_int(k, "total_harga_produk_sen"), Some(9_000_000));
        assert_eq!(env.line_int(k, "harga_produk_channel_sen"), Some(5_500_000));
        assert_eq!(
            env.line_int(k, "total_harga_produk_channel_sen"),
            Some(11_000_000)
        );
        assert_eq!(env.line_int(k, "potensi_keuntungan_sen"), Some(1_850_000));
    }
}

#[test]
fn schema_has_the_tables_and_columns_of_the_spec() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.run(&["a.csv"]).expect_code(0);
    let db = env.db();
    let columns = |table: &str| -> BTreeSet<String> {
        let mut stmt = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let set =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };

    assert_eq!(
        columns("dropship_purchases"),
        set(&[
            "kode_pesanan",
            "waktu_pesanan_terbuat",
            "status_pesanan_terakhir",
            "kode_transaksi",
            "biaya_lainnya_sen",
            "biaya_mitra_jakmall_sen",
            "total_transaksi_sen",
            "dibuat_oleh",
            "jenis_channel",
            "nama_toko",
            "kode_invoice_channel",
            "gudang_pengiriman",
            "jenis_ekspedisi",
            "cashless",
            "nomor_resi",
            "waktu_pengiriman",
            "provinsi",
            "kota",
            "import_file_id",
            "source_line",
        ])
    );
    let pk: String = db
        .query_row(
            "SELECT name FROM pragma_table_info('dropship_purchases') WHERE pk = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pk, "kode_pesanan");
    assert_eq!(
        columns("dropship_purchase_details"),
        set(&[
            "id",
            "kode_pesanan",
            "sku",
            "nama_produk",
            "harga_produk_sen",
            "qty",
            "total_harga_produk_sen",
            "harga_produk_channel_sen",
            "total_harga_produk_channel_sen",
            "potensi_keuntungan_sen",
            "import_file_id",
            "source_line",
        ])
    );
    let runs = columns("import_runs");
    for c in ["id", "started_at", "finished_at", "state", "options"] {
        assert!(runs.contains(c), "import_runs lacks {c}: {runs:?}");
    }
    let files = columns("import_files");
    for c in [
        "id",
        "run_id",
        "path",
        "size_bytes",
        "content_hash",
        "state",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "rows_duplicate",
        "bytes_committed",
        "rows_committed",
        "error",
    ] {
        assert!(files.contains(c), "import_files lacks {c}: {files:?}");
    }
    let rejects = columns("import_rejects");
    for c in [
        "run_id",
        "file_id",
        "line",
        "column_name",
        "value",
        "reason",
        "message",
        "raw",
    ] {
        assert!(rejects.contains(c), "import_rejects lacks {c}: {rejects:?}");
    }
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version > 0, "user_version {version}");
}

// ---------------------------------------------------------------------------
// Line numbers and empty lines
// ---------------------------------------------------------------------------

both! {
    fn reject_lines_count_header_empty_lines_and_quoted_newlines(b) {
        let text = Csv::new(&[line("DS-1")]) // line 2
            .raw("") // line 3
            .lines(&[line("DS-2").set("Qty", "two")]) // line 4
            .lines(&[line("DS-3").set("Nama Produk", "Kaos\nPolos")]) // lines 5-6
            .lines(&[line("DS-4").set("Qty", "two")]) // line 7
            .render();
        // Chunk boundaries (here after every row) do not change the numbers.
        for chunk in ["1000", "1"] {
            let env = Env::on(b);
            env.write("a.csv", &text);
            let run = env.run(&["--chunk-size", chunk, "a.csv"]);
            run.expect_code(3);
            assert_eq!(run.rows(), [4, 2, 2, 0, 0, 0]);
            let lines: Vec<i64> = env.rejects().iter().map(|r| r.line).collect();
            assert_eq!(lines, [4, 7], "chunk size {chunk}");
            let shown: Vec<u64> = run.file("a.csv")["rejects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["line"].as_u64().unwrap())
                .collect();
            assert_eq!(shown, [4, 7], "chunk size {chunk}");
            assert_eq!(env.order_int("DS-3", "source_line"), Some(5));
            assert_eq!(
                env.line_text("DS-3", "nama_produk").as_deref(),
                Some("Kaos\nPolos")
            );
        }
    }
}

both! {
    fn lines_of_only_commas_or_spaces_are_empty_lines_not_rows(b) {
        let env = Env::on(b);
        let text = Csv::new(&[line("DS-1")])
            .raw(",,,,,,,,,,,,,,,,,,,,,,,,,,")
            .raw("  ,  , ,")
            .raw("   ")
            .lines(&[line("DS-2").set("Qty", "two")]) // line 6
            .render();
        env.write("a.csv", text);
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0]);
        assert_eq!(env.rejects()[0].line, 6);
    }
}

// ---------------------------------------------------------------------------
// Reject reasons
// ---------------------------------------------------------------------------

both! {
    fn wrong_number_of_fields_is_field_count_with_no_column(b) {
        let env = Env::on(b);
        let short = line("DS-2").render();
        let short = short.rsplit_once(',').unwrap().0.to_string();
        let long = format!("{},extra", line("DS-3").render());
        env.write(
            "a.csv",
            Csv::new(&[line("DS-1")]).raw(&short).raw(&long).render(),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 1, 2, 0, 0, 0]);
        let rejects = env.rejects();
        assert_eq!(rejects.len(), 2);
        for (r, line_no) in rejects.iter().zip([3, 4]) {
            assert_eq!(r.line, line_no);
            assert_eq!(r.reason, "field_count");
            assert_eq!(r.column, None);
        }
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn empty_required_value_is_missing_value(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("SKU", "  "),
                line("").set("No", "2"),
                line("DS-3").set("Waktu Pesanan Terbuat", ""),
                line("DS-4").set("Total Transaksi", ""),
                line("DS-5").set("Nama Produk", ""),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [5, 1, 4, 0, 0, 0]);
        let got: Vec<(i64, Option<String>, String)> = env
            .rejects()
            .into_iter()
            .map(|r| (r.line, r.column, r.reason))
            .collect();
        let want = |l, c: &str| (l, Some(c.to_string()), "missing_value".to_string());
        assert_eq!(
            got,
            [
                want(2, "SKU"),
                want(3, "Kode Pesanan"),
                want(4, "Waktu Pesanan Terbuat"),
                want(5, "Total Transaksi"),
            ]
        );
        assert_eq!(env.orders(), ["DS-5"]);
    }
}

both! {
    /// What one database could not store is rejected on both, with the
    /// rest of the file imported: a quantity past a 32-bit integer, a NUL
    /// byte in text (also inside a rejected row's value and record).
    fn values_no_database_column_holds_are_rejected_not_fatal(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Qty", "3000000000"),
                line("DS-2").set("Nama Produk", "nul\0byte"),
                line("DS-3").set("Qty", "tw\0o"),
                line("DS-4"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [4, 1, 3, 0, 0, 0]);
        let reasons: Vec<(i64, String)> = env
            .rejects()
            .iter()
            .map(|r| (r.line, r.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                (2, "invalid_integer".to_string()),
                (3, "invalid_encoding".to_string()),
                (4, "invalid_encoding".to_string()),
            ]
        );
        assert_eq!(env.line_int("DS-4", "qty"), Some(2));
    }
}

both! {
    fn qty_that_is_not_a_whole_number_above_zero_is_invalid_integer(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Qty", "two"),
                line("DS-2").set("Qty", "2.5"),
                line("DS-3").set("Qty", "0"),
                line("DS-4")
                    .set("Qty", "3")
                    .set("Total Harga Produk", "135000"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [4, 1, 3, 0, 0, 0]);
        let rejects = env.rejects();
        let got: Vec<(i64, &str, &str, &str)> = rejects
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.column.as_deref().unwrap_or(""),
                    r.value.as_deref().unwrap_or(""),
                    r.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (2, "Qty", "two", "invalid_integer"),
                (3, "Qty", "2.5", "invalid_integer"),
                (4, "Qty", "0", "invalid_integer"),
            ]
        );
        assert_eq!(env.line_int("DS-4", "qty"), Some(3));
    }
}

both! {
    fn negative_qty_price_totals_are_negative_value(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Qty", "-1"),
                line("DS-2").set("Harga Produk", "-45000"),
                line("DS-3").set("Total Harga Produk", "-90000"),
                line("DS-4").set("Total Transaksi", "-1"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [4, 0, 4, 0, 0, 0]);
        let got: Vec<(i64, String, String)> = env
            .rejects()
            .into_iter()
            .map(|r| (r.line, r.column.unwrap_or_default(), r.reason))
            .collect();
        let want = |l, c: &str| (l, c.to_string(), "negative_value".to_string());
        assert_eq!(
            got,
            [
                want(2, "Qty"),
                want(3, "Harga Produk"),
                want(4, "Total Harga Produk"),
                want(5, "Total Transaksi"),
            ]
        );
        assert_eq!(env.count("dropship_purchases"), 0);
    }
}

both! {
    fn other_money_columns_may_be_negative(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[line("DS-1")
                .set("Biaya Lainnya", "-1000")
                .set("Biaya Mitra Jakmall", "-500")
                .set("Harga Produk Channel", "-55000")
                .set("Total Harga Produk Channel", "-110000")
                .set("Potensi Keuntungan", "-1500")]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);
        assert_eq!(env.order_int("DS-1", "biaya_lainnya_sen"), Some(-100_000));
        assert_eq!(
            env.order_int("DS-1", "biaya_mitra_jakmall_sen"),
            Some(-50_000)
        );
        assert_eq!(
            env.line_int("DS-1", "harga_produk_channel_sen"),
            Some(-5_500_000)
        );
        assert_eq!(
            env.line_int("DS-1", "total_harga_produk_channel_sen"),
            Some(-11_000_000)
        );
        assert_eq!(
            env.line_int("DS-1", "potensi_keuntungan_sen"),
            Some(-150_000)
        );
    }
}

both! {
    fn unreadable_money_is_invalid_money(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Harga Produk", "abc"),
                line("DS-2").set("Biaya Lainnya", "1.000.000"),
                line("DS-3").set("Potensi Keuntungan", "12x"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        let got: Vec<(i64, String, String, String)> = env
            .rejects()
            .into_iter()
            .map(|r| {
                (
                    r.line,
                    r.column.unwrap_or_default(),
                    r.value.unwrap_or_default(),
                    r.reason,
                )
            })
            .collect();
        let want = |l, c: &str, v: &str| (l, c.to_string(), v.to_string(), "invalid_money".to_string());
        assert_eq!(
            got,
            [
                want(2, "Harga Produk", "abc"),
                want(3, "Biaya Lainnya", "1.000.000"),
                want(4, "Potensi Keuntungan", "12x"),
            ]
        );
    }
}

both! {
    fn money_with_more_than_two_decimals_is_invalid_not_rounded(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Harga Produk", "45000.505"),
                line("DS-2").set("Harga Produk", "45000.500"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0]);
        let r = &env.rejects()[0];
        assert_eq!((r.line, r.reason.as_str()), (2, "invalid_money"));
        assert_eq!(r.value.as_deref(), Some("45000.505"));
        // Trailing zero decimals are exact, so they are fine.
        assert_eq!(env.line_int("DS-2", "harga_produk_sen"), Some(4_500_050));
    }
}

both! {
    fn unreadable_datetime_is_invalid_datetime(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Waktu Pesanan Terbuat", "yesterday"),
                line("DS-2").set("Waktu Pesanan Terbuat", "32 January 2025, 10:00:00"),
                line("DS-3").set("Waktu Pengiriman", "2025-02-30 10:00:00"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 0, 3, 0, 0, 0]);
        let got: Vec<(i64, String, String)> = env
            .rejects()
            .into_iter()
            .map(|r| (r.line, r.column.unwrap_or_default(), r.reason))
            .collect();
        let want = |l, c: &str| (l, c.to_string(), "invalid_datetime".to_string());
        assert_eq!(
            got,
            [
                want(2, "Waktu Pesanan Terbuat"),
                want(3, "Waktu Pesanan Terbuat"),
                want(4, "Waktu Pengiriman"),
            ]
        );
    }
}

both! {
    fn total_mismatch_is_rejected_only_with_strict(b) {
        let env = Env::on(b);
        let wrong = line("DS-1").set("Total Harga Produk", "80000"); // 45000 × 2 = 90000
        env.write("a.csv", csv(std::slice::from_ref(&wrong)));
        env.write("b.csv", csv(&[wrong.set("Kode Pesanan", "DS-2")]));

        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);

        let run = env.run(&["--strict", "b.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [1, 0, 1, 0, 0, 0]);
        let r = &env.rejects()[0];
        assert_eq!(r.reason, "total_mismatch");
        assert_eq!(r.column.as_deref(), Some("Total Harga Produk"));
        assert_eq!(r.line, 2);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn non_utf8_bytes_are_invalid_encoding_only_with_encoding_utf8(b) {
        let env = Env::on(b);
        let text = csv(&[line("DS-1").set("Nama Produk", "CAFE_MARK")]);
        env.write("a.csv", replace_bytes(&text, "CAFE_MARK", b"Caf\xe9"));
        let run = env.run(&["--encoding", "utf-8", "a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [1, 0, 1, 0, 0, 0]);
        let r = &env.rejects()[0];
        assert_eq!(r.reason, "invalid_encoding");
        assert_eq!(r.column.as_deref(), Some("Nama Produk"));
        assert_eq!(env.count("dropship_purchases"), 0);
    }
}

both! {
    fn one_reject_per_row_for_the_first_failing_column(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1")
                    .set("Waktu Pesanan Terbuat", "nope")
                    .set("Qty", "two")
                    .set("Kota", "x"),
                line("DS-2").set("Harga Produk", "abc").set("Qty", "-1"),
                line("DS-3")
                    .set("Qty", "0")
                    .set("Total Transaksi", "-5")
                    .set("Waktu Pengiriman", "nope"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 0, 3, 0, 0, 0]);
        let got: Vec<(i64, String, String)> = env
            .rejects()
            .into_iter()
            .map(|r| (r.line, r.column.unwrap_or_default(), r.reason))
            .collect();
        assert_eq!(
            got,
            [
                (2, "Waktu Pesanan Terbuat".into(), "invalid_datetime".into()),
                (3, "Harga Produk".into(), "invalid_money".into()),
                (4, "Qty".into(), "invalid_integer".into()),
            ]
        );
    }
}

both! {
    fn reject_column_name_is_the_header_as_written_in_the_file(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            Csv::new(&[])
                .rename("Qty", "QTY")
                .rename("Harga Produk", "harga produk")
                .lines(&[
                    line("DS-1").set("Qty", "two"),
                    line("DS-2").set("Harga Produk", "abc"),
                ])
                .render(),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        let columns: Vec<Option<String>> = env.rejects().into_iter().map(|r| r.column).collect();
        assert_eq!(
            columns,
            [Some("QTY".to_string()), Some("harga produk".to_string())]
        );
        assert_eq!(run.file("a.csv")["rejects"][0]["column"], "QTY");
    }
}

// ---------------------------------------------------------------------------
// Values: money, datetimes, text
// ---------------------------------------------------------------------------

both! {
    fn money_is_stored_as_integer_sen(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Harga Produk", "45000"),
                line("DS-2").set("Harga Produk", "45000.5"),
                line("DS-3").set("Harga Produk", "45,000.00"),
                line("DS-4").set("Potensi Keuntungan", "-1500"),
                line("DS-5").set("Harga Produk", "0"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(env.line_int("DS-1", "harga_produk_sen"), Some(4_500_000));
        assert_eq!(env.line_int("DS-2", "harga_produk_sen"), Some(4_500_050));
        assert_eq!(env.line_int("DS-3", "harga_produk_sen"), Some(4_500_000));
        assert_eq!(
            env.line_int("DS-4", "potensi_keuntungan_sen"),
            Some(-150_000)
        );
        assert_eq!(env.line_int("DS-5", "harga_produk_sen"), Some(0));
        let (sql, want) = match b {
            Backend::Sqlite => (
                "SELECT typeof(harga_produk_sen) FROM dropship_purchase_details LIMIT 1",
                "integer",
            ),
            Backend::Postgres => (
                "SELECT pg_typeof(harga_produk_sen)::text FROM dropship_purchase_details LIMIT 1",
                "bigint",
            ),
        };
        let kind: String = env.one(sql);
        assert_eq!(kind, want);
    }
}

both! {
    fn comma_decimal_separator_reads_rupiah_with_dot_thousands(b) {
        let env = Env::on(b);
        env.write("importer.toml", "[import]\ndecimal_separator = \",\"\n");
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Harga Produk", "Rp 45.000"),
                line("DS-2").set("Harga Produk", "Rp45.000,50"),
            ]),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(env.line_int("DS-1", "harga_produk_sen"), Some(4_500_000));
        assert_eq!(env.line_int("DS-2", "harga_produk_sen"), Some(4_500_050));
    }
}

both! {
    fn datetime_forms_are_stored_as_iso_with_offset(b) {
        let cases = [
            ("01 January 2025, 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("01 Januari 2025 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("15 Mei 2025 08:30:00", "2025-05-15T08:30:00+07:00"),
            ("17 Agustus 2025 09:00:00", "2025-08-17T09:00:00+07:00"),
            ("05 Okt 2025 11:00:00", "2025-10-05T11:00:00+07:00"),
            ("25 Des 2025 23:59:59", "2025-12-25T23:59:59+07:00"),
            ("2025-01-01 10:00:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01T10:00:00", "2025-01-01T10:00:00+07:00"),
            ("2025-01-01", "2025-01-01T00:00:00+07:00"),
            ("03/02/2025 10:00", "2025-02-03T10:00:00+07:00"),
            ("03/02/2025 10:00:30", "2025-02-03T10:00:30+07:00"),
        ];
        let env = Env::on(b);
        let lines: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, (input, _))| line(&format!("DS-{i}")).set("Waktu Pesanan Terbuat", input))
            .collect();
        env.write("a.csv", csv(&lines));
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(
                env.order_text(&format!("DS-{i}"), "waktu_pesanan_terbuat")
                    .as_deref(),
                Some(*want),
                "{input}"
            );
        }
    }
}

both! {
    /// SQLite keeps the text with the configured offset; PostgreSQL keeps
    /// the same instant (`timestamptz`), read back here at +07:00.
    fn timezone_setting_changes_the_stored_offset(b) {
        let env = Env::on(b);
        env.write("importer.toml", "[import]\ntimezone = \"+08:00\"\n");
        env.write("a.csv", csv(&[line("DS-1")]));
        env.run(&["a.csv"]).expect_code(0);
        let (created, shipped) = match b {
            Backend::Sqlite => ("2025-01-01T10:00:00+08:00", "2025-01-02T14:30:00+08:00"),
            Backend::Postgres => ("2025-01-01T09:00:00+07:00", "2025-01-02T13:30:00+07:00"),
        };
        assert_eq!(
            env.order_text("DS-1", "waktu_pesanan_terbuat").as_deref(),
            Some(created)
        );
        assert_eq!(
            env.order_text("DS-1", "waktu_pengiriman").as_deref(),
            Some(shipped)
        );
    }
}

both! {
    fn empty_shipping_time_is_null(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1").set("Waktu Pengiriman", "")]));
        env.run(&["a.csv"]).expect_code(0);
        assert_eq!(env.order_text("DS-1", "waktu_pengiriman"), None);
    }
}

both! {
    fn text_is_trimmed_empty_optional_is_null_and_invoice_quote_dropped(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("  DS-1  ")
                    .set("Status Pesanan Terakhir", "  Selesai  ")
                    .set("Nama Toko", "")
                    .set("Nomor Resi", "   ")
                    .set("Nama Produk", "")
                    .set("Kode Invoice Channel", "'250101ABC"),
                line("DS-2").set("Kode Invoice Channel", "  '250101XYZ  "),
                line("DS-3").set("Kode Invoice Channel", "250101NOQ"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("Selesai")
        );
        assert_eq!(env.order_text("DS-1", "nama_toko"), None);
        assert_eq!(env.order_text("DS-1", "nomor_resi"), None);
        assert_eq!(env.line_text("DS-1", "nama_produk"), None);
        assert_eq!(
            env.order_text("DS-1", "kode_invoice_channel").as_deref(),
            Some("250101ABC")
        );
        assert_eq!(
            env.order_text("DS-2", "kode_invoice_channel").as_deref(),
            Some("250101XYZ")
        );
        assert_eq!(
            env.order_text("DS-3", "kode_invoice_channel").as_deref(),
            Some("250101NOQ")
        );
    }
}

// ---------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------

both! {
    fn with_one_job_the_smaller_file_owns_a_shared_order(b) {
        let env = Env::on(b);
        env.write(
            "big.csv",
            csv(&[
                line("DS-1")
                    .set("Status Pesanan Terakhir", "BIG")
                    .set("SKU", "B-1"),
                line("DS-1")
                    .set("Status Pesanan Terakhir", "BIG")
                    .set("SKU", "B-2"),
                line("DS-2").set("SKU", "B-3"),
            ]),
        );
        env.write(
            "small.csv",
            csv(&[line("DS-1")
                .set("Status Pesanan Terakhir", "SMALL")
                .set("SKU", "S-1")]),
        );
        let run = env.run(&["-j", "1", "big.csv", "small.csv"]);
        run.expect_code(0);
        assert_eq!(run.json["status"], "ok");
        assert_eq!(run.file_rows("small.csv"), [1, 1, 0, 0, 0, 0]);
        assert_eq!(run.file_rows("big.csv"), [3, 1, 0, 2, 0, 0]);
        assert_eq!(run.rows(), [4, 2, 0, 2, 0, 0]);
        assert_eq!(run.n("/orders/created"), 2);
        assert_eq!(run.n("/orders/duplicate"), 1);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("SMALL")
        );
        assert_eq!(env.skus("DS-1"), ["S-1"]);
        assert_eq!(env.skus("DS-2"), ["B-3"]);
        let small_id: i64 = env.one("SELECT id FROM import_files WHERE path LIKE '%small.csv'");
        assert_eq!(env.order_int("DS-1", "import_file_id"), Some(small_id));
    }
}

both! {
    fn files_of_equal_size_are_read_in_path_order(b) {
        let env = Env::on(b);
        env.write(
            "b.csv",
            csv(&[line("DS-1").set("Status Pesanan Terakhir", "BBBB")]),
        );
        env.write(
            "a.csv",
            csv(&[line("DS-1").set("Status Pesanan Terakhir", "AAAA")]),
        );
        let run = env.run(&["-j", "1", "b.csv", "a.csv"]);
        run.expect_code(0);
        assert_eq!(run.file_rows("a.csv"), [1, 1, 0, 0, 0, 0]);
        assert_eq!(run.file_rows("b.csv"), [1, 0, 0, 1, 0, 0]);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("AAAA")
        );
    }
}

both! {
    fn an_order_imported_by_an_earlier_run_is_a_duplicate(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[line("DS-1").set("Status Pesanan Terakhir", "Dikirim")]),
        );
        env.write(
            "b.csv",
            csv(&[
                line("DS-1").set("Status Pesanan Terakhir", "Selesai"),
                line("DS-2"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["b.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [2, 1, 0, 1, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 1);
        assert_eq!(run.n("/orders/created"), 1);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("Dikirim")
        );
        assert_eq!(env.count("dropship_purchase_details"), 2);
    }
}

both! {
    fn a_rejected_row_of_a_known_order_counts_as_rejected_not_duplicate(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.write("b.csv", csv(&[line("DS-1").set("Qty", "two")]));
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["b.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [1, 0, 1, 0, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 0);
    }
}

both! {
    fn each_file_counts_its_own_duplicate_orders(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.write("b.csv", csv(&[line("DS-1").set("SKU", "B")]));
        env.write(
            "c.csv",
            csv(&[
                line("DS-1").set("SKU", "CC"),
                line("DS-1").set("SKU", "CCC"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["b.csv", "c.csv"]);
        run.expect_code(0);
        assert_eq!(run.file_rows("b.csv"), [1, 0, 0, 1, 0, 0]);
        assert_eq!(run.file_rows("c.csv"), [2, 0, 0, 2, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 2);
    }
}

both! {
    fn files_read_at_once_sharing_an_order_give_it_exactly_one_owner(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[line("DS-1").set("SKU", "A-1"), line("DS-2")]),
        );
        env.write(
            "b.csv",
            csv(&[
                line("DS-1").set("SKU", "B-1"),
                line("DS-1").set("SKU", "B-2"),
                line("DS-3"),
            ]),
        );
        let run = env.run(&["-j", "2", "a.csv", "b.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows()[0], 5);
        assert_eq!(run.n("/orders/created"), 3);
        assert_eq!(run.n("/orders/duplicate"), 1);
        assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
        let skus = env.skus("DS-1");
        assert!(
            skus == ["A-1"] || skus == ["B-1", "B-2"],
            "lines of DS-1 mixed from two files: {skus:?}"
        );
        assert_eq!(run.n("/rows/imported"), 2 + skus.len() as u64);
        assert_eq!(run.n("/rows/duplicate"), 3 - skus.len() as u64);
    }
}

both! {
    fn orders_duplicate_counts_distinct_orders_per_file(b) {
        let env = Env::on(b);
        let order_lines = |shop: &str| {
            vec![
                line("DS-1").set("SKU", "X-1").set("Nama Toko", shop),
                line("DS-2").set("SKU", "Y-1").set("Nama Toko", shop),
                line("DS-1").set("SKU", "X-2").set("Nama Toko", shop),
                line("DS-2").set("SKU", "Y-2").set("Nama Toko", shop),
            ]
        };
        env.write("a.csv", csv(&order_lines("Toko A")));
        env.write("b.csv", csv(&order_lines("Toko B")));
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["b.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [4, 0, 0, 4, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 2);
        assert_eq!(run.n("/orders/created"), 0);
        assert_eq!(env.count("dropship_purchase_details"), 4);
    }
}

/// Whether the index of lines by order exists, and whether SQLite uses it
/// to find an order's lines.
/// In PostgreSQL, whether an index of the lines leads with their order (the
/// primary key, `(kode_pesanan, id)`), twice: the planner's choice depends
/// on table statistics.
fn line_index(env: &Env) -> (bool, bool) {
    if env.is_postgres() {
        let n: i64 = env.one(
            "SELECT count(*) FROM pg_index AS i
             JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = 'dropship_purchase_details'::regclass
               AND a.attname = 'kode_pesanan'",
        );
        return (n == 1, n == 1);
    }
    let db = env.db();
    let plan: String = db
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM dropship_purchase_details WHERE kode_pesanan = 'DS-1'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    (line_index_exists(&db), plan.contains(LINE_INDEX))
}

#[test]
fn the_index_of_lines_by_order_is_there_after_every_finished_run() {
    let env = Env::new();
    env.write(
        "a.csv",
        csv(&[line("DS-1"), line("DS-1").set("No", "2"), line("DS-2")]),
    );
    env.run(&["a.csv"]).expect_code(0);
    assert_eq!(line_index(&env), (true, true), "after a first load");

    // A first load killed before its end leaves the index out; the next
    // run puts it back, whatever it reads and however duplicates are met.
    let drop_index = || {
        env.db()
            .execute_batch("DROP INDEX dropship_purchase_details_by_order")
            .unwrap()
    };
    drop_index();
    env.write("b.csv", csv(&[line("DS-3")]));
    env.run(&["b.csv"]).expect_code(0);
    assert_eq!(line_index(&env), (true, true), "after a run in skip mode");
    drop_index();
    env.write("c.csv", csv(&[line("DS-1").set("SKU", "SKU-NEW")]));
    env.run(&["--on-duplicate", "update", "c.csv"])
        .expect_code(0);
    assert_eq!(line_index(&env), (true, true), "after a run in update mode");
    assert_eq!(env.skus("DS-1"), ["SKU-NEW"]);
    assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
}

both! {
    fn on_duplicate_update_replaces_the_order_and_all_its_lines(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1")
                    .set("Status Pesanan Terakhir", "Dikirim")
                    .set("SKU", "OLD-1"),
                line("DS-1")
                    .set("Status Pesanan Terakhir", "Dikirim")
                    .set("SKU", "OLD-2"),
            ]),
        );
        let new = line("DS-1").set("Status Pesanan Terakhir", "Selesai");
        env.write(
            "b.csv",
            csv(&[
                new.clone().set("SKU", "NEW-1"),
                line("DS-2").set("SKU", "OTHER"),
                new.set("SKU", "NEW-2"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["--on-duplicate", "update", "b.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [3, 3, 0, 0, 0, 0]);
        assert_eq!(run.n("/orders/updated"), 1);
        assert_eq!(run.n("/orders/created"), 1);
        assert_eq!(run.n("/orders/duplicate"), 0);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("Selesai")
        );
        assert_eq!(env.skus("DS-1"), ["NEW-1", "NEW-2"]);
        assert_eq!(env.count("dropship_purchase_details"), 3);
        let b_id: i64 = env.one("SELECT id FROM import_files WHERE path LIKE '%b.csv'");
        assert_eq!(env.order_int("DS-1", "import_file_id"), Some(b_id));
    }
}

both! {
    fn on_duplicate_update_within_one_run_the_later_file_wins(b) {
        let env = Env::on(b);
        env.write(
            "small.csv",
            csv(&[line("DS-1")
                .set("Status Pesanan Terakhir", "SMALL")
                .set("SKU", "S-1")]),
        );
        env.write(
            "big.csv",
            csv(&[
                line("DS-1")
                    .set("Status Pesanan Terakhir", "BIG")
                    .set("SKU", "B-1"),
                line("DS-1")
                    .set("Status Pesanan Terakhir", "BIG")
                    .set("SKU", "B-2"),
            ]),
        );
        let run = env.run(&[
            "-j",
            "1",
            "--on-duplicate",
            "update",
            "big.csv",
            "small.csv",
        ]);
        run.expect_code(0);
        assert_eq!(run.file_rows("small.csv"), [1, 1, 0, 0, 0, 0]);
        assert_eq!(run.file_rows("big.csv"), [2, 2, 0, 0, 0, 0]);
        assert_eq!(run.n("/orders/created"), 1);
        assert_eq!(run.n("/orders/updated"), 1);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("BIG")
        );
        assert_eq!(env.skus("DS-1"), ["B-1", "B-2"]);
    }
}

// ---------------------------------------------------------------------------
// Channel filter
// ---------------------------------------------------------------------------

both! {
    fn channel_filter_keeps_matching_rows_case_insensitively(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1").set("Jenis Channel", "Shopee"),
                line("DS-2").set("Jenis Channel", "shopee"),
                line("DS-3").set("Jenis Channel", "SHOPEE"),
                line("DS-4").set("Jenis Channel", "Tokopedia"),
                line("DS-5").set("Jenis Channel", ""),
            ]),
        );
        let run = env.run(&["--channel", "Shopee", "a.csv"]);
        run.expect_code(0);
        assert_eq!(run.json["status"], "ok");
        assert_eq!(run.rows(), [5, 3, 0, 0, 2, 0]);
        assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
    }
}

both! {
    fn rejects_are_decided_before_the_channel_filter(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1"),
                line("DS-2")
                    .set("Jenis Channel", "Tokopedia")
                    .set("Qty", "two"),
                line("DS-3").set("Jenis Channel", "Tokopedia"),
            ]),
        );
        let run = env.run(&["--channel", "Shopee", "a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 1, 1, 0, 1, 0]);
        assert_eq!(env.rejects()[0].line, 3);
    }
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

both! {
    fn a_named_file_that_does_not_exist_is_a_failed_file(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        let run = env.run(&["a.csv", "nope.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_status("nope.csv"), "failed");
        assert_eq!(run.file("nope.csv")["error"], "not found");
        assert_eq!(run.file_status("a.csv"), "imported");
        assert_eq!(run.n("/files/failed"), 1);
        assert_eq!(run.n("/files/imported"), 1);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn a_run_where_every_file_failed_exits_3_with_status_failed(b) {
        let env = Env::on(b);
        env.write("empty.csv", "");
        let run = env.run(&["empty.csv", "nope.csv"]);
        run.expect_code(3);
        assert_eq!(run.json["status"], "failed");
        assert_eq!(run.n("/files/failed"), 2);
        assert_eq!(run.n("/files/imported"), 0);
    }
}

both! {
    fn no_matching_input_is_a_usage_error_unless_allow_empty(b) {
        let env = Env::on(b);
        std::fs::create_dir(env.path("empty")).unwrap();
        env.run(&["in/*.csv"]).expect_code(2);
        env.run(&["empty"]).expect_code(2);
        for input in ["in/*.csv", "empty"] {
            let run = env.run(&["--allow-empty", input]);
            run.expect_code(0);
            assert!(!run.json.is_null(), "a summary is printed:\n{}", run.stdout);
            assert_eq!(run.n("/files/total"), 0);
        }
    }
}

both! {
    fn the_same_file_named_twice_is_read_once(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
        let full = env.path("a.csv").display().to_string();
        let run = env.run(&["a.csv", "./a.csv", &full, "*.csv"]);
        run.expect_code(0);
        assert_eq!(run.n("/files/total"), 1);
        assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0]);
        assert_eq!(env.count("import_files"), 1);
    }
}

both! {
    fn a_directory_contributes_its_csv_and_csv_gz_files_only(b) {
        let env = Env::on(b);
        env.write("in/a.csv", csv(&[line("DS-1")]));
        env.write("in/b.csv.gz", gzip(csv(&[line("DS-2")]).as_bytes()));
        env.write("in/notes.txt", csv(&[line("DS-3")]));
        env.write("in/sub/c.csv", csv(&[line("DS-4")]));
        let run = env.run(&["in"]);
        run.expect_code(0);
        assert_eq!(run.n("/files/total"), 2);
        let mut names: Vec<String> = run.json["per_file"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                std::path::Path::new(f["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.csv.gz"]);
        assert_eq!(env.orders(), ["DS-1", "DS-2"]);
    }
}

both! {
    fn a_file_missing_a_required_column_fails_before_any_row(b) {
        let env = Env::on(b);
        env.write(
            "bad.csv",
            Csv::new(&[])
                .drop_column("Kode Pesanan")
                .lines(&[line("DS-1"), line("DS-2")])
                .render(),
        );
        env.write("good.csv", csv(&[line("DS-3")]));
        let run = env.run(&["bad.csv", "good.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_status("bad.csv"), "failed");
        let error = run.file("bad.csv")["error"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(error.contains("Kode Pesanan"), "{error}");
        assert!(
            error.contains("Nama Produk"),
            "found columns not named: {error}"
        );
        let [read, imported, rejected, duplicate, filtered, failed] = run.file_rows("bad.csv");
        assert_eq!(read, failed);
        assert_eq!((imported, rejected, duplicate, filtered), (0, 0, 0, 0));
        assert_eq!(run.file_status("good.csv"), "imported");
        assert_eq!(env.orders(), ["DS-3"]);
    }
}

both! {
    fn a_file_larger_than_max_file_size_fails(b) {
        let env = Env::on(b);
        // A file of exactly 1010 bytes: over 1 KB (1000), under 1 KiB (1024).
        let base = csv(&[line("DS-1").set("Nama Produk", "")]);
        let pad = "x".repeat(1010 - base.len());
        let text = csv(&[line("DS-1").set("Nama Produk", &pad)]);
        assert_eq!(text.len(), 1010);
        env.write("big.csv", &text);
        for limit in ["1009", "1KB", "1 kb"] {
            let run = env.run(&["--max-file-size", limit, "big.csv"]);
            run.expect_code(3);
            assert_eq!(run.file_status("big.csv"), "failed", "limit {limit}");
            assert!(run.file("big.csv")["error"].is_string());
            let [read, .., failed] = run.file_rows("big.csv");
            assert_eq!(read, failed);
            assert_eq!(env.count("dropship_purchases"), 0, "limit {limit}");
        }
        let run = env.run(&["--max-file-size", "1010", "big.csv"]);
        run.expect_code(0);
        assert_eq!(env.orders(), ["DS-1"]);

        let env = Env::on(b);
        env.write("big.csv", &text);
        env.run(&["--max-file-size", "1KiB", "big.csv"])
            .expect_code(0);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn an_empty_file_fails(b) {
        let env = Env::on(b);
        env.write("empty.csv", "");
        env.write("a.csv", csv(&[line("DS-1")]));
        let run = env.run(&["empty.csv", "a.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_status("empty.csv"), "failed");
        assert!(run.file("empty.csv")["error"].is_string());
        assert_eq!(run.file_rows("empty.csv"), [0, 0, 0, 0, 0, 0]);
        assert_eq!(run.file_status("a.csv"), "imported");
    }
}

both! {
    fn more_rejects_than_max_errors_fails_the_file_and_removes_its_rows(b) {
        // With chunks of one row, the good rows were committed before the file
        // failed; they must go again.
        for chunk in ["1000", "1"] {
            more_rejects_than_max_errors(b, chunk);
        }
    }
}

fn more_rejects_than_max_errors(b: Backend, chunk: &str) {
    let env = Env::on(b);
    env.write(
        "a.csv",
        csv(&[
            line("DS-1"),
            line("DS-2").set("Qty", "two"),
            line("DS-3").set("Qty", "two"),
            line("DS-4"),
            line("DS-5").set("Qty", "two"),
            line("DS-6"),
        ]),
    );
    env.write("b.csv", csv(&[line("DS-9")]));
    let run = env.run(&["--chunk-size", chunk, "--max-errors", "2", "a.csv", "b.csv"]);
    run.expect_code(3);
    assert_eq!(run.file_status("a.csv"), "failed");
    assert_eq!(
        run.file("a.csv")["rows"]["failed"],
        run.file("a.csv")["rows"]["read"]
    );
    let [read, imported, rejected, duplicate, filtered, _] = run.file_rows("a.csv");
    assert!(read >= 5, "read {read}");
    assert_eq!((imported, rejected, duplicate, filtered), (0, 0, 0, 0));
    assert!(run.file("a.csv")["error"].is_string());
    assert_eq!(run.file_status("b.csv"), "imported");
    assert_eq!(env.orders(), ["DS-9"]);
    assert_eq!(env.count("dropship_purchase_details"), 1);
    let lines: Vec<i64> = env.rejects().iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 6]);
    let state: String = env.one("SELECT state FROM import_files WHERE path LIKE '%a.csv'");
    assert_eq!(state, "failed");
    assert_eq!(line_index(&env), (true, true));
}

both! {
    fn rejects_up_to_max_errors_keep_the_file(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1"),
                line("DS-2").set("Qty", "two"),
                line("DS-3").set("Qty", "two"),
            ]),
        );
        let run = env.run(&["--max-errors", "2", "a.csv"]);
        run.expect_code(3);
        assert_eq!(run.json["status"], "partial");
        assert_eq!(run.file_status("a.csv"), "imported");
        assert_eq!(run.file_rows("a.csv"), [3, 1, 2, 0, 0, 0]);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn a_file_failing_on_max_errors_restores_the_orders_it_updated(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1")
                    .set("Status Pesanan Terakhir", "Dikirim")
                    .set("SKU", "OLD-1"),
                line("DS-1")
                    .set("Status Pesanan Terakhir", "Dikirim")
                    .set("SKU", "OLD-2"),
            ]),
        );
        env.write(
            "b.csv",
            csv(&[
                line("DS-1")
                    .set("Status Pesanan Terakhir", "Selesai")
                    .set("SKU", "NEW-1"),
                line("DS-2"),
                line("DS-3").set("Qty", "two"),
                line("DS-4").set("Qty", "two"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&[
            "--chunk-size",
            "1",
            "--on-duplicate",
            "update",
            "--max-errors",
            "1",
            "b.csv",
        ]);
        run.expect_code(3);
        assert_eq!(run.file_status("b.csv"), "failed");
        assert_eq!(run.file_rows("b.csv"), [4, 0, 0, 0, 0, 4]);
        assert_eq!(run.n("/orders/updated"), 0);
        assert_eq!(env.orders(), ["DS-1"]);
        assert_eq!(
            env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
            Some("Dikirim")
        );
        assert_eq!(env.skus("DS-1"), ["OLD-1", "OLD-2"]);
        let a_id: i64 = env.one("SELECT id FROM import_files WHERE path LIKE '%a.csv'");
        assert_eq!(env.order_int("DS-1", "import_file_id"), Some(a_id));
        assert_eq!(env.count("import_rejects"), 2);
    }
}

// ---------------------------------------------------------------------------
// Already imported files
// ---------------------------------------------------------------------------

both! {
    fn the_same_bytes_under_another_name_are_skipped(b) {
        let env = Env::on(b);
        let text = csv(&[line("DS-1"), line("DS-2")]);
        env.write("a.csv", &text);
        env.write("copy.csv", &text);
        env.run(&["a.csv"]).expect_code(0);
        let before = env.table_counts();

        let run = env.run(&["copy.csv"]);
        run.expect_code(0);
        assert_eq!(run.json["status"], "ok");
        assert_eq!(run.file_status("copy.csv"), "skipped");
        assert_eq!(run.n("/files/skipped"), 1);
        assert_eq!(run.rows()[1], 0);
        // Nothing was written: no new run, no data change.
        assert_eq!(env.table_counts(), before);
        assert_eq!(env.count("import_runs"), 1);
    }
}

both! {
    fn a_file_that_failed_before_is_read_again(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1"),
                line("DS-2").set("Qty", "two"),
                line("DS-3").set("Qty", "two"),
            ]),
        );
        let run = env.run(&["--max-errors", "1", "a.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_status("a.csv"), "failed");
        assert_eq!(env.count("dropship_purchases"), 0);

        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_status("a.csv"), "imported");
        assert_eq!(run.rows(), [3, 1, 2, 0, 0, 0]);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn force_reads_an_imported_file_again_as_duplicates(b) {
        let env = Env::on(b);
        let text = csv(&[line("DS-1"), line("DS-1").set("SKU", "X"), line("DS-2")]);
        env.write("a.csv", &text);
        env.write("copy.csv", &text);
        env.run(&["a.csv"]).expect_code(0);

        let run = env.run(&["--force", "copy.csv"]);
        run.expect_code(0);
        assert_eq!(run.file_status("copy.csv"), "imported");
        assert_eq!(run.rows(), [3, 0, 0, 3, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 2);
        assert_eq!(env.count("dropship_purchase_details"), 3);
        assert_eq!(env.count("import_runs"), 2);
    }
}

// ---------------------------------------------------------------------------
// Dry run
// ---------------------------------------------------------------------------

#[test]
fn dry_run_creates_no_database_and_reports_what_a_real_run_would() {
    let env = Env::new();
    env.write(
        "a.csv",
        csv(&[
            line("DS-1"),
            line("DS-1").set("SKU", "X"),
            line("DS-2").set("Qty", "two"),
            line("DS-3").set("Jenis Channel", "Tokopedia"),
        ]),
    );
    env.write(
        "b.csv",
        csv(&[line("DS-1").set("SKU", "B"), line("DS-4").set("SKU", "BB")]),
    );
    let args = ["-j", "1", "--channel", "shopee", "a.csv", "b.csv"];
    let mut dry_args = vec!["--dry-run"];
    dry_args.extend(args);
    let dry = env.run(&dry_args);
    dry.expect_code(3);
    assert!(
        !env.path("dropship.db").exists(),
        "dry run created the database"
    );
    assert_eq!(dry.json["dry_run"], true);
    assert!(
        dry.json["run_id"].is_null(),
        "run_id: {}",
        dry.json["run_id"]
    );

    let real = env.run(&args);
    real.expect_code(3);
    for key in ["files", "rows", "orders"] {
        assert_eq!(dry.json[key], real.json[key], "{key}");
    }
    for name in ["a.csv", "b.csv"] {
        assert_eq!(dry.file(name)["rows"], real.file(name)["rows"], "{name}");
        assert_eq!(
            dry.file(name)["status"],
            real.file(name)["status"],
            "{name}"
        );
    }
}

both! {
    fn dry_run_against_an_existing_database_changes_nothing_but_reports_it(b) {
        let env = Env::on(b);
        let a = csv(&[line("DS-1")]);
        env.write("a.csv", &a);
        env.write("b.csv", csv(&[line("DS-1").set("SKU", "B"), line("DS-2")]));
        env.run(&["a.csv"]).expect_code(0);
        let before = env.table_counts();
        // SQLite: not a byte of the file changes.
        let db_bytes = std::fs::read(env.path("dropship.db")).ok();

        let run = env.run(&["--dry-run", "a.csv", "b.csv"]);
        run.expect_code(0);
        assert!(run.json["run_id"].is_null());
        assert_eq!(run.file_status("a.csv"), "skipped");
        assert_eq!(run.file_rows("b.csv"), [2, 1, 0, 1, 0, 0]);
        assert_eq!(run.n("/orders/duplicate"), 1);
        assert_eq!(env.table_counts(), before);
        assert_eq!(std::fs::read(env.path("dropship.db")).ok(), db_bytes);

        let run = env.run(&["--dry-run", "--on-duplicate", "update", "b.csv"]);
        run.expect_code(0);
        assert_eq!(run.file_rows("b.csv"), [2, 2, 0, 0, 0, 0]);
        assert_eq!(run.n("/orders/updated"), 1);
        assert_eq!(run.n("/orders/created"), 1);
        assert_eq!(env.table_counts(), before);
        assert_eq!(std::fs::read(env.path("dropship.db")).ok(), db_bytes);
        assert_eq!(env.orders(), ["DS-1"]);
        assert_eq!(env.skus("DS-1"), ["SKU-ABC-01"]);
    }
}

// ---------------------------------------------------------------------------
// Exit codes and errors
// ---------------------------------------------------------------------------

both! {
    fn a_bad_flag_is_a_usage_error(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.run(&["--no-such-flag", "a.csv"]).expect_code(2);
        env.run(&["--on-duplicate", "merge", "a.csv"])
            .expect_code(2);
        assert!(!env.database.exists());
    }
}

both! {
    fn no_input_at_all_is_a_usage_error(b) {
        let env = Env::on(b);
        env.run(&[]).expect_code(2);
        env.run(&["import"]).expect_code(2);
    }
}

both! {
    fn an_unknown_config_key_is_a_usage_error_naming_it(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.write("importer.toml", "[import]\nstrictt = true\n");
        let run = env.run(&["a.csv"]);
        run.expect_code(2);
        assert!(run.stderr.contains("strictt"), "{}", run.stderr);
        assert!(!env.database.exists());
    }
}

both! {
    fn a_bad_commit_interval_is_a_usage_error_naming_it(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        let run = env.run(&["--commit-interval", "soon", "a.csv"]);
        run.expect_code(2);
        assert!(run.stderr.contains("--commit-interval"), "{}", run.stderr);
        env.write("importer.toml", "[streaming_import]\ncommit_interval = 5\n");
        env.run(&["a.csv"]).expect_code(2);
        env.write(
            "importer.toml",
            "[streaming_import]\ncommit_interval = \"a while\"\n",
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("streaming_import.commit_interval"),
            "{}",
            run.stderr
        );
        assert!(!env.database.exists());
    }
}

both! {
    fn a_bad_max_file_size_is_a_usage_error(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.run(&["--max-file-size", "12 parsecs", "a.csv"])
            .expect_code(2);
        env.run(&["--max-file-size", "MB", "a.csv"]).expect_code(2);
    }
}

#[test]
fn a_database_in_a_missing_folder_exits_1() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let run = env.run(&["--db", "nowhere/x.db", "a.csv"]);
    run.expect_code(1);
    assert!(!env.path("nowhere").exists());
}

#[test]
fn a_database_file_that_is_not_sqlite_exits_1_and_is_left_unchanged() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let text = "this is not sqlite, just some text that is long enough to look like a file\n";
    env.write("x.db", text);
    let run = env.run(&["--db", "x.db", "a.csv"]);
    run.expect_code(1);
    assert_eq!(std::fs::read_to_string(env.path("x.db")).unwrap(), text);
}

both! {
    fn duplicates_and_filtered_rows_still_exit_0(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.write(
            "b.csv",
            csv(&[
                line("DS-1").set("SKU", "B"),
                line("DS-2").set("Jenis Channel", "Lazada"),
            ]),
        );
        env.run(&["a.csv"]).expect_code(0);
        let run = env.run(&["--channel", "Shopee", "b.csv"]);
        run.expect_code(0);
        assert_eq!(run.json["status"], "ok");
        assert_eq!(run.rows(), [2, 0, 0, 1, 1, 0]);
    }
}

// ---------------------------------------------------------------------------
// The summary and report files
// ---------------------------------------------------------------------------

#[test]
fn summary_has_exactly_the_spec_top_level_keys() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let run = env.run(&["a.csv"]);
    run.expect_code(0);
    let keys: BTreeSet<&str> = run
        .json
        .as_object()
        .expect("summary is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = [
        "run_id",
        "version",
        "dry_run",
        "database",
        "status",
        "started_at",
        "finished_at",
        "elapsed_ms",
        "files",
        "rows",
        "orders",
        "throughput",
        "memory",
        "cpu",
        "per_file",
        "recommendations",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, want);
    let f = run.file("a.csv");
    for key in [
        "path",
        "status",
        "size_bytes",
        "rows",
        "elapsed_ms",
        "error",
        "rejects",
    ] {
        assert!(f.get(key).is_some(), "per_file lacks {key}: {f}");
    }
    assert_eq!(run.json["dry_run"], false);
    assert_eq!(run.json["database"], "dropship.db");
}

both! {
    fn counts_add_up_across_every_bucket(b) {
        let env = Env::on(b);
        env.write("a.csv", csv(&[line("DS-1")]));
        env.write(
            "b.csv",
            csv(&[
                line("DS-1").set("SKU", "B-1"),
                line("DS-2").set("SKU", "B-2"),
                line("DS-3").set("Jenis Channel", "Lazada"),
                line("DS-4").set("Qty", "two"),
            ]),
        );
        env.write(
            "c.csv",
            csv(&[
                line("DS-5").set("SKU", "C-1"),
                line("DS-6").set("Qty", "two"),
                line("DS-7").set("Qty", "two"),
                line("DS-8").set("Qty", "two"),
                line("DS-9").set("SKU", "C-5"),
            ]),
        );
        let run = env.run(&[
            "-j",
            "1",
            "--channel",
            "Shopee",
            "--max-errors",
            "1",
            "a.csv",
            "b.csv",
            "c.csv",
        ]);
        run.expect_code(3);
        assert_eq!(run.json["status"], "partial");
        assert_eq!(run.file_rows("a.csv"), [1, 1, 0, 0, 0, 0]);
        assert_eq!(run.file_rows("b.csv"), [4, 1, 1, 1, 1, 0]);
        assert_eq!(run.file_rows("c.csv"), [5, 0, 0, 0, 0, 5]);
        assert_eq!(run.rows(), [10, 2, 1, 1, 1, 5]);
        assert_eq!(run.n("/files/total"), 3);
        assert_eq!(run.n("/files/imported"), 2);
        assert_eq!(run.n("/files/failed"), 1);
        assert_eq!(env.orders(), ["DS-1", "DS-2"]);
        // The run's totals are kept in import_runs too.
        let totals: Vec<i64> = env.query(
            "SELECT rows_read, rows_imported, rows_failed FROM import_runs",
        )[0]
            .iter()
            .map(i64::from_cell)
            .collect();
        assert_eq!(totals, [10, 2, 5]);
    }
}

both! {
    fn per_file_rejects_show_the_first_five(b) {
        let env = Env::on(b);
        let lines: Vec<_> = (0..7)
            .map(|i| line(&format!("DS-{i}")).set("Qty", "two"))
            .collect();
        env.write("a.csv", csv(&lines));
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.file_rows("a.csv"), [7, 0, 7, 0, 0, 0]);
        let shown = run.file("a.csv")["rejects"].as_array().unwrap();
        assert_eq!(shown.len(), 5);
        let lines: Vec<u64> = shown.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6]);
        let first = &shown[0];
        let keys: BTreeSet<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in ["line", "column", "value", "reason", "message"] {
            assert!(keys.contains(key), "reject lacks {key}: {first}");
        }
        assert_eq!(first["column"], "Qty");
        assert_eq!(first["value"], "two");
        assert_eq!(first["reason"], "invalid_integer");
        assert!(!first["message"].as_str().unwrap_or("").is_empty());
        assert_eq!(env.count("import_rejects"), 7);
    }
}

both! {
    fn rejects_csv_lists_every_rejected_row(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[
                line("DS-1"),
                line("DS-R2").set("Qty", "two"),
                line("DS-R3").set("Harga Produk", "abc"),
            ]),
        );
        let run = env.run(&["--rejects", "rejects.csv", "a.csv"]);
        run.expect_code(3);
        let mut reader = csv::Reader::from_path(env.path("rejects.csv")).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            [
                "file", "line", "column", "value", "reason", "message", "raw"
            ]
        );
        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[0][0].ends_with("a.csv"), "{:?}", &records[0]);
        assert_eq!(&records[0][1], "3");
        assert_eq!(&records[0][2], "Qty");
        assert_eq!(&records[0][3], "two");
        assert_eq!(&records[0][4], "invalid_integer");
        assert!(!records[0][5].is_empty());
        assert!(records[0][6].contains("DS-R2"), "raw: {}", &records[0][6]);
        assert_eq!(&records[1][1], "4");
        assert_eq!(&records[1][4], "invalid_money");
    }
}

both! {
    fn report_file_holds_the_same_json_as_stdout(b) {
        let env = Env::on(b);
        env.write(
            "a.csv",
            csv(&[line("DS-1"), line("DS-2").set("Qty", "two")]),
        );
        let run = env.run(&["--report", "run.json", "a.csv"]);
        run.expect_code(3);
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(env.path("run.json")).unwrap()).unwrap();
        assert_eq!(report, run.json);
    }
}

// ---------------------------------------------------------------------------
// Configuration and headers
// ---------------------------------------------------------------------------

both! {
    fn config_named_with_c_is_used(b) {
        let env = Env::on(b);
        env.write("conf/my.toml", "[import]\nchannel = \"Tokopedia\"\n");
        env.write(
            "a.csv",
            csv(&[line("DS-1"), line("DS-2").set("Jenis Channel", "Tokopedia")]),
        );
        let run = env.run(&["-c", "conf/my.toml", "a.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [2, 1, 0, 0, 1, 0]);
        assert_eq!(env.orders(), ["DS-2"]);
    }
}

#[test]
fn importer_toml_in_the_current_folder_is_read() {
    let env = Env::new();
    env.write(
        "importer.toml",
        "[database]\npath = \"from-config.db\"\n[import]\nchannel = \"Tokopedia\"\n",
    );
    env.write(
        "a.csv",
        csv(&[line("DS-1"), line("DS-2").set("Jenis Channel", "Tokopedia")]),
    );
    let run = env.run(&["a.csv"]);
    run.expect_code(0);
    assert_eq!(run.rows(), [2, 1, 0, 0, 1, 0]);
    assert!(env.path("from-config.db").is_file());
    assert!(!env.path("dropship.db").exists());
}

#[test]
fn the_command_line_wins_over_the_config_file() {
    let env = Env::new();
    env.write(
        "importer.toml",
        "[database]\npath = \"from-config.db\"\n[import]\nchannel = \"Tokopedia\"\n",
    );
    env.write(
        "a.csv",
        csv(&[line("DS-1"), line("DS-2").set("Jenis Channel", "Tokopedia")]),
    );
    let run = env.run(&["--db", "cli.db", "--channel", "Shopee", "a.csv"]);
    run.expect_code(0);
    assert_eq!(run.rows(), [2, 1, 0, 0, 1, 0]);
    assert!(env.path("cli.db").is_file());
    assert!(!env.path("from-config.db").exists());
    let kept: String = env
        .db_at("cli.db")
        .query_row("SELECT kode_pesanan FROM dropship_purchases", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, "DS-1");
}

both! {
    fn a_column_alias_from_the_config_is_accepted(b) {
        let env = Env::on(b);
        env.write(
            "importer.toml",
            "[columns]\nkode_pesanan = [\"Order Code\"]\n",
        );
        env.write(
            "a.csv",
            Csv::new(&[])
                .rename("Kode Pesanan", "Order Code")
                .lines(&[line("DS-1")])
                .render(),
        );
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(env.orders(), ["DS-1"]);
    }
}

both! {
    fn headers_match_regardless_of_case_and_spaces_and_extra_columns(b) {
        let env = Env::on(b);
        let text = Csv::new(&[])
            .rename("Kode Pesanan", "  kode   PESANAN ")
            .rename("Total Harga Produk", "TOTAL HARGA  PRODUK")
            .rename("SKU", "sku")
            .lines(&[line("DS-1")])
            .render();
        // An extra column at the end is ignored.
        let text: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("{l},Catatan\n")
                } else {
                    format!("{l},apa saja\n")
                }
            })
            .collect();
        env.write("a.csv", text);
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(env.orders(), ["DS-1"]);
        assert_eq!(
            env.line_int("DS-1", "total_harga_produk_sen"),
            Some(9_000_000)
        );
    }
}

// ---------------------------------------------------------------------------
// Inputs and command forms
// ---------------------------------------------------------------------------

both! {
    fn a_quoted_glob_is_expanded_by_the_tool(b) {
        let env = Env::on(b);
        env.write("in/a.csv", csv(&[line("DS-1")]));
        env.write("in/b.csv", csv(&[line("DS-2")]));
        env.write("in/c.txt", csv(&[line("DS-3")]));
        let run = env.run(&["in/*.csv"]);
        run.expect_code(0);
        assert_eq!(run.n("/files/total"), 2);
        assert_eq!(env.orders(), ["DS-1", "DS-2"]);
    }
}

both! {
    fn the_import_subcommand_and_the_bare_form_behave_the_same(b) {
        let bare = Env::on(b);
        let sub = Env::on(b);
        let text = csv(&[
            line("DS-1"),
            line("DS-2").set("Qty", "two"),
            line("DS-3").set("Jenis Channel", "Lazada"),
        ]);
        bare.write("a.csv", &text);
        sub.write("a.csv", &text);
        let r1 = bare.run(&["--channel", "Shopee", "a.csv"]);
        let r2 = sub.run(&["import", "--channel", "Shopee", "a.csv"]);
        r1.expect_code(3);
        r2.expect_code(3);
        for key in ["files", "rows", "orders", "status"] {
            assert_eq!(r1.json[key], r2.json[key], "{key}");
        }
        assert_eq!(bare.orders(), sub.orders());
        assert_eq!(bare.table_counts(), sub.table_counts());
    }
}

// ---------------------------------------------------------------------------
// Encodings, delimiters, line ends, compression
// ---------------------------------------------------------------------------

both! {
    fn a_utf8_bom_does_not_break_the_first_header(b) {
        let env = Env::on(b);
        // The first column is a required one, so a BOM glued to it would show.
        let text = Csv::new(&[])
            .drop_column("No")
            .lines(&[line("DS-1").set("Nama Produk", "Kaos Ünïcode")])
            .render();
        env.write("a.csv", format!("\u{feff}{text}"));
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);
        assert_eq!(
            env.order_text("DS-1", "waktu_pesanan_terbuat").as_deref(),
            Some("2025-01-01T10:00:00+07:00")
        );
        assert_eq!(
            env.line_text("DS-1", "nama_produk").as_deref(),
            Some("Kaos Ünïcode")
        );
    }
}

both! {
    fn windows_1252_text_arrives_as_utf8(b) {
        let env = Env::on(b);
        let text = csv(&[line("DS-1").set("Nama Produk", "CAFE_MARK")]);
        env.write("a.csv", replace_bytes(&text, "CAFE_MARK", b"Caf\xe9"));
        let run = env.run(&["a.csv"]);
        run.expect_code(0);
        assert_eq!(
            env.line_text("DS-1", "nama_produk").as_deref(),
            Some("Café")
        );
    }
}

both! {
    fn semicolon_and_tab_delimiters_are_detected_from_the_header(b) {
        for (name, delim) in [("semi.csv", ';'), ("tab.csv", '\t')] {
            let env = Env::on(b);
            let text = Csv::new(&[])
                .delimiter(delim)
                .lines(&[
                    line("DS-1").set("Harga Produk", "45,000.00"),
                    line("DS-2").set("Qty", "two"),
                ])
                .render();
            env.write(name, text);
            let run = env.run(&[name]);
            run.expect_code(3);
            assert_eq!(run.rows(), [2, 1, 1, 0, 0, 0], "{name}");
            assert_eq!(
                env.line_int("DS-1", "harga_produk_sen"),
                Some(4_500_000),
                "{name}"
            );
            assert_eq!(
                env.order_text("DS-1", "waktu_pesanan_terbuat").as_deref(),
                Some("2025-01-01T10:00:00+07:00"),
                "{name}"
            );
            let r = &env.rejects()[0];
            assert_eq!(
                (r.line, r.reason.as_str()),
                (3, "invalid_integer"),
                "{name}"
            );
        }
    }
}

both! {
    fn crlf_line_ends_work_and_keep_line_numbers(b) {
        let env = Env::on(b);
        let text = Csv::new(&[])
            .crlf()
            .lines(&[line("DS-1")]) // line 2
            .raw("") // line 3
            .lines(&[line("DS-2").set("Nama Produk", "dua\r\nbaris")]) // lines 4-5
            .lines(&[line("DS-3").set("Qty", "two")]) // line 6
            .render();
        env.write("a.csv", text);
        let run = env.run(&["a.csv"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
        assert_eq!(env.rejects()[0].line, 6);
        assert_eq!(env.order_int("DS-2", "source_line"), Some(4));
        // No stray carriage return in the last column.
        assert_eq!(
            env.order_text("DS-1", "kota").as_deref(),
            Some("Jakarta Selatan")
        );
    }
}

both! {
    fn a_gzipped_export_is_read(b) {
        let env = Env::on(b);
        let text = csv(&[line("DS-1"), line("DS-2"), line("DS-3").set("Qty", "two")]);
        env.write("a.csv.gz", gzip(text.as_bytes()));
        let run = env.run(&["a.csv.gz"]);
        run.expect_code(3);
        assert_eq!(run.rows(), [3, 2, 1, 0, 0, 0]);
        assert_eq!(env.orders(), ["DS-1", "DS-2"]);
        assert_eq!(env.rejects()[0].line, 4);
    }
}
