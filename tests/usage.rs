//! What a user reads when the command line or a file is not what the tool
//! expects, and where to read more: a mistyped command, a missing column,
//! a number that is not one, the man page and `--help`. Each message is
//! said once, in the user's words, with the way out.

mod common;

use common::{Csv, Env, line};

/// How many times `needle` appears in `haystack`.
fn times(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_mistyped_command_is_a_usage_error_said_once() {
    let env = Env::new();
    let r = env.run(&["statsu"]);
    r.expect_code(2);
    let said = "unknown command 'statsu'; did you mean 'status'?";
    assert_eq!(times(&r.stderr, said), 1, "{}", r.stderr);
    assert!(r.stderr.contains("./statsu"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(!env.path("dropship.db").exists(), "nothing is created");

    // With options before it, the same.
    env.run(&["--dry-run", "improt"]).expect_code(2);

    // A file of that name is imported, with or without `./`.
    env.write("statsu", common::csv(&[line("DS-1")]));
    for name in ["statsu", "./statsu"] {
        let r = env.run(&[name, "--force"]);
        r.expect_code(0);
        assert_eq!(r.n("/rows/read"), 1, "{name}");
    }
    // `./` says it is a file even when there is none: then it is not found.
    let r = env.run(&["./status"]);
    r.expect_code(3);
    assert_eq!(r.file("status")["error"], "not found");
}

#[test]
fn a_missing_column_names_the_closest_header_and_the_alias_once() {
    let env = Env::new();
    env.write(
        "a.csv",
        Csv::new(&[line("DS-1")])
            .rename("Kode Pesanan", "Kode-Pesanan")
            .render(),
    );
    let said = "missing required column \"Kode Pesanan\"; \
                closest header: \"Kode-Pesanan\" (column 4); \
                if that is it, add to importer.toml under [columns]: \
                kode_pesanan = [\"Kode-Pesanan\"]";
    for args in [
        &["a.csv"][..],
        &["a.csv", "--progress", "none"],
        &["a.csv", "-q"],
    ] {
        let r = env.run(args);
        r.expect_code(3);
        assert_eq!(r.file("a.csv")["error"], said, "{args:?}");
        assert_eq!(times(&r.stderr, said), 1, "{args:?}: {}", r.stderr);
        // The other headers are not listed: they all name their field.
        assert!(!r.stderr.contains("Nama Toko"), "{}", r.stderr);
    }
    assert_eq!(env.count("dropship_purchases"), 0);

    // What the message says to add is what makes the file import.
    env.write(
        "importer.toml",
        "[columns]\nkode_pesanan = [\"Kode-Pesanan\"]\n",
    );
    let r = env.run(&["a.csv"]);
    r.expect_code(0);
    assert_eq!(r.n("/rows/imported"), 1);
}

#[test]
fn a_missing_column_like_no_header_lists_the_headers_that_name_nothing() {
    let env = Env::new();
    env.write(
        "a.csv",
        Csv::new(&[line("DS-1")]).rename("SKU", "Barang").render(),
    );
    let r = env.run(&["a.csv"]);
    r.expect_code(3);
    let error = r.file("a.csv")["error"].as_str().unwrap().to_string();
    assert!(
        error.starts_with("missing required column \"SKU\"; no header of the file looks like it"),
        "{error}"
    );
    assert!(error.contains("\"Barang\" (column 6)"), "{error}");
    assert!(error.contains("sku = [\"<that header>\"]"), "{error}");
    assert!(!error.contains("Kode Pesanan"), "{error}");
}

#[test]
fn a_number_that_is_not_one_says_a_whole_number_is_expected() {
    let env = Env::new();
    env.write("a.csv", common::csv(&[line("DS-1")]));
    for (args, said) in [
        (
            &["-j", "abc", "a.csv"][..],
            "--jobs: expected a whole number",
        ),
        (
            &["--chunk-size", "1.5", "a.csv"],
            "--chunk-size: expected a whole number",
        ),
        (
            &["--max-errors", "many", "a.csv"],
            "--max-errors: expected a whole number",
        ),
        (
            &["status", "--limit", "ten"],
            "--limit: expected a whole number",
        ),
    ] {
        let r = env.run(args);
        r.expect_code(2);
        assert!(r.stderr.contains(said), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        for rust in ["usize", "u64", "ParseIntError", "invalid digit"] {
            assert!(!r.stderr.contains(rust), "{args:?}: {}", r.stderr);
        }
    }
    env.write("importer.toml", "[streaming_import]\nchunk_size = 1.5\n");
    let r = env.run(&["a.csv"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains(
            "streaming_import.chunk_size: expected a whole number (1 to 100000 rows), got 1.5"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn the_man_page_has_exit_status_files_and_examples_and_no_missing_pages() {
    let env = Env::new();
    let r = env.run(&["man"]);
    r.expect_code(0);
    let page = &r.stdout;
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH EXAMPLES",
        ".SS status",
    ] {
        assert_eq!(times(page, section), 1, "{section}");
    }
    for code in ["0", "1", "2", "3", "130"] {
        assert!(page.contains(&format!(".TP\n\\fB{code}\\fR\n")), "{code}");
    }
    for file in ["importer.toml", "dropship.db\\-wal", "dropship.db.lock"] {
        assert!(page.contains(file), "{file}");
    }
    assert!(!page.contains("dropship-import-status"), "{page}");
    assert!(!page.contains("dropship\\-import\\-status"), "{page}");
}

#[test]
fn help_names_the_exit_codes_and_no_recursive_glob() {
    let env = Env::new();
    for args in [&["--help"][..], &["import", "--help"]] {
        let r = env.run(args);
        r.expect_code(0);
        assert!(r.stdout.contains("Exit codes:"), "{args:?}");
        for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
            assert!(
                r.stdout.lines().any(|l| l.trim_start().starts_with(code)),
                "{args:?}: no exit code {code}"
            );
        }
        assert!(!r.stdout.contains("**"), "{}", r.stdout);
    }
}
