//! What a user may type and what a file may hold, at the edges: every number
//! an option or config key takes has a range (outside it: exit 2 naming the
//! option and the range, never a crash), `[columns]` aliases that would make
//! a header ambiguous, rupiah written with its `Rp`/`IDR` prefix, and names
//! and values with control characters, which reach the terminal escaped.

mod common;

use common::*;

#[test]
fn rp_and_idr_prefixes_read_indonesian_notation_with_the_default_separator() {
    let env = Env::new();
    env.write(
        "a.csv",
        csv(&[
            line("DS-1").set("Harga Produk", "Rp 45.000"),
            line("DS-2").set("Harga Produk", "Rp45.000,50"),
            line("DS-3").set("Harga Produk", "IDR 1.234.567"),
            line("DS-4").set("Biaya Lainnya", "-Rp 1.500"),
            line("DS-5").set("Biaya Lainnya", "Rp -1.500,25"),
            line("DS-6").set("Harga Produk", "45.000"),
            line("DS-7").set("Harga Produk", "-Rp 1.500"),
        ]),
    );
    let run = env.run(&["a.csv"]);
    run.expect_code(3);
    assert_eq!(env.line_int("DS-1", "harga_produk_sen"), Some(4_500_000));
    assert_eq!(env.line_int("DS-2", "harga_produk_sen"), Some(4_500_050));
    assert_eq!(env.line_int("DS-3", "harga_produk_sen"), Some(123_456_700));
    assert_eq!(env.order_int("DS-4", "biaya_lainnya_sen"), Some(-150_000));
    assert_eq!(env.order_int("DS-5", "biaya_lainnya_sen"), Some(-150_025));
    // Without a prefix the default separator still reads `.` as decimals.
    assert_eq!(env.line_int("DS-6", "harga_produk_sen"), Some(4_500));
    // Harga Produk may not be negative, prefix or not.
    let rejects = env.rejects();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].reason, "negative_value");
}

#[test]
fn an_alias_that_is_another_fields_header_is_a_config_error_naming_both() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    for (toml, fields) in [
        (
            "[columns]\nsku = [\"Kode Pesanan\"]\n",
            ["sku", "kode_pesanan"],
        ),
        (
            "[columns]\nnama_produk = [\"Product\"]\nsku = [\"product\"]\n",
            ["nama_produk", "sku"],
        ),
        (
            "[columns]\n\"Nama Toko\" = [\"Kota\"]\n",
            ["nama_toko", "kota"],
        ),
    ] {
        env.write("importer.toml", toml);
        let run = env.run(&["a.csv"]);
        run.expect_code(2);
        for field in fields {
            assert!(run.stderr.contains(field), "{toml}: {}", run.stderr);
        }
        assert!(!run.stderr.contains("missing"), "{}", run.stderr);
        assert!(!env.path("dropship.db").exists(), "{toml}");
    }
}
