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

/// Runs `args` (with `importer.toml` holding `toml`, when given) and checks
/// the run was refused as a usage error naming `name` and `range`, before
/// anything was written.
#[track_caller]
fn refused(args: &[&str], toml: Option<&str>, name: &str, range: &str) {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    if let Some(toml) = toml {
        env.write("importer.toml", toml);
    }
    let run = env.run(args);
    let what = format!("{args:?} {toml:?}: {}", run.stderr);
    assert_eq!(run.code, 2, "{what}");
    assert!(!run.stderr.contains("panicked"), "{what}");
    assert!(run.stderr.contains(name), "no {name:?} in {what}");
    assert!(run.stderr.contains(range), "no {range:?} in {what}");
    assert!(!env.path("dropship.db").exists(), "{what}");
}

#[test]
fn every_number_on_the_command_line_has_a_range_and_outside_it_exits_2() {
    let jobs = "1 to 64 files";
    let chunk = "1 to 100000 rows";
    let size = "1 B to 1 TiB";
    let commit = "0s to 1h";
    let errors = "0 to 1000000000 rows";
    let table: &[(&[&str], &str, &str)] = &[
        (&["-j", "0"], "--jobs", jobs),
        (&["-j", "100000"], "--jobs", jobs),
        (&["--jobs", "18446744073709551616"], "--jobs", jobs),
        (&["--jobs=-3"], "--jobs", jobs),
        (&["-j", "four"], "--jobs", jobs),
        (&["--chunk-size", "0"], "--chunk-size", chunk),
        (&["--chunk-size", "1000000000"], "--chunk-size", chunk),
        (
            &["--chunk-size", "18446744073709551615"],
            "--chunk-size",
            chunk,
        ),
        (
            &["--chunk-size", "99999999999999999999999"],
            "--chunk-size",
            chunk,
        ),
        (&["--chunk-size", "1e3"], "--chunk-size", chunk),
        (&["--max-file-size", "0"], "--max-file-size", size),
        (
            &["--max-file-size", "99999999999 TiB"],
            "--max-file-size",
            size,
        ),
        (&["--max-file-size", "2 TiB"], "--max-file-size", size),
        (
            &["--max-file-size", "18446744073709551616"],
            "--max-file-size",
            size,
        ),
        (&["--max-file-size", "12 parsecs"], "--max-file-size", size),
        (&["--commit-interval", "2h"], "--commit-interval", commit),
        (
            &["--commit-interval", "99999999999999999999s"],
            "--commit-interval",
            commit,
        ),
        (&["--commit-interval", "soon"], "--commit-interval", commit),
        (
            &["--max-errors", "18446744073709551615"],
            "--max-errors",
            errors,
        ),
        (&["--max-errors=-1"], "--max-errors", errors),
    ];
    for (flags, name, range) in table {
        let mut args = flags.to_vec();
        args.push("a.csv");
        refused(&args, None, name, range);
    }
}

#[test]
fn every_number_in_the_config_file_has_a_range_and_outside_it_exits_2() {
    let table: &[(&str, &str, &str)] = &[
        (
            "[streaming_import]\nmax_concurrent_files = 100000",
            "streaming_import.max_concurrent_files",
            "1 to 64 files",
        ),
        (
            "[streaming_import]\nmax_concurrent_files = -1",
            "streaming_import.max_concurrent_files",
            "1 to 64 files",
        ),
        (
            "[streaming_import]\nchunk_size = 1000000000",
            "streaming_import.chunk_size",
            "1 to 100000 rows",
        ),
        (
            "[streaming_import]\nchunk_size = 0",
            "streaming_import.chunk_size",
            "1 to 100000 rows",
        ),
        (
            "[streaming_import]\nchunk_size = \"lots\"",
            "streaming_import.chunk_size",
            "1 to 100000 rows",
        ),
        (
            "[streaming_import]\nmax_file_size = \"99999999999 TiB\"",
            "streaming_import.max_file_size",
            "1 B to 1 TiB",
        ),
        (
            "[streaming_import]\nmax_file_size = -5",
            "streaming_import.max_file_size",
            "1 B to 1 TiB",
        ),
        (
            "[streaming_import]\nmax_file_size = 0",
            "streaming_import.max_file_size",
            "1 B to 1 TiB",
        ),
        (
            "[streaming_import]\ncommit_interval = \"3h\"",
            "streaming_import.commit_interval",
            "0s to 1h",
        ),
        (
            "[streaming_import]\ncommit_interval = 5",
            "streaming_import.commit_interval",
            "0s to 1h",
        ),
        (
            "[memory_optimizer]\nmax_memory_mb = 18446744073710",
            "memory_optimizer.max_memory_mb",
            "1 to 1000000 MB",
        ),
        (
            "[memory_optimizer]\nmax_memory_mb = 0",
            "memory_optimizer.max_memory_mb",
            "1 to 1000000 MB",
        ),
        (
            "[memory_optimizer]\ncheck_interval = \"0s\"",
            "memory_optimizer.check_interval",
            "1ms to 1h",
        ),
        (
            "[memory_optimizer]\ncheck_interval = \"100000000000000000000s\"",
            "memory_optimizer.check_interval",
            "1ms to 1h",
        ),
        (
            "[memory_optimizer]\nforce_gc_threshold = nan",
            "memory_optimizer.force_gc_threshold",
            "0.01 to 1",
        ),
        (
            "[memory_optimizer]\nforce_gc_threshold = 0",
            "memory_optimizer.force_gc_threshold",
            "0.01 to 1",
        ),
        (
            "[memory_optimizer]\nforce_gc_threshold = 1.5",
            "memory_optimizer.force_gc_threshold",
            "0.01 to 1",
        ),
        (
            "[memory_optimizer]\nforce_gc_threshold = -inf",
            "memory_optimizer.force_gc_threshold",
            "0.01 to 1",
        ),
        (
            "[import]\nmax_errors = -1",
            "import.max_errors",
            "0 to 1000000000 rows",
        ),
        (
            "[import]\ntimezone = \"+99:00\"",
            "import.timezone",
            "-14:00 to +14:00",
        ),
        (
            "[import]\ntimezone = \"Asia/Jakarta\"",
            "import.timezone",
            "-14:00 to +14:00",
        ),
        (
            "[memory_optimizer]\nmax_memory_mb = 18446744073709551615",
            "memory_optimizer.max_memory_mb",
            "1 to 1000000 MB",
        ),
        (
            "[streaming_import]\nchunk_size = 1e400",
            "streaming_import.chunk_size",
            "1 to 100000 rows",
        ),
    ];
    for (toml, name, range) in table {
        refused(&["a.csv"], Some(toml), name, range);
    }
    // The edges of every range are inside it.
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.write(
        "edge.toml",
        "[streaming_import]\nmax_concurrent_files = 64\nchunk_size = 100000\n\
         max_file_size = \"1 TiB\"\ncommit_interval = \"1h\"\n\
         [memory_optimizer]\nmax_memory_mb = 1000000\ncheck_interval = \"1ms\"\nforce_gc_threshold = 1\n\
         [import]\nmax_errors = 1000000000\ntimezone = \"-14:00\"\n",
    );
    env.run(&["-c", "edge.toml", "a.csv"]).expect_code(0);
    assert_eq!(env.count("dropship_purchase_details"), 2);
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let run = env.run(&[
        "-j",
        "1",
        "--chunk-size",
        "1",
        "--max-file-size",
        "1 MB",
        "--commit-interval",
        "0s",
        "--max-errors",
        "0",
        "a.csv",
    ]);
    run.expect_code(0);
    assert_eq!(run.n("/memory/limit_bytes"), 1_024_000_000);
}

#[test]
fn status_and_recommend_numbers_have_ranges_too() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.run(&["a.csv"]).expect_code(0);
    let table: &[(&[&str], &str, &str)] = &[
        (&["status", "--limit", "0"], "--limit", "1 to 10000 runs"),
        (
            &["status", "--limit", "18446744073709551616"],
            "--limit",
            "1 to 10000 runs",
        ),
        (&["status", "0"], "RUN_ID", "1 to 9223372036854775807"),
        (
            &["status", "99999999999999999999"],
            "RUN_ID",
            "1 to 9223372036854775807",
        ),
        (
            &["recommend", "--file-count", "0", "--avg-file-size", "1MB"],
            "--file-count",
            "1 to 1000000 files",
        ),
        (
            &[
                "recommend",
                "--file-count",
                "18446744073709551615",
                "--avg-file-size",
                "1MB",
            ],
            "--file-count",
            "1 to 1000000 files",
        ),
        (
            &[
                "recommend",
                "--file-count",
                "10",
                "--avg-file-size",
                "99999999999 TiB",
            ],
            "--avg-file-size",
            "1 B to 1 TiB",
        ),
        (
            &["recommend", "--file-count", "10", "--avg-file-size", "0"],
            "--avg-file-size",
            "1 B to 1 TiB",
        ),
    ];
    for (args, name, range) in table {
        let run = env.run(args);
        let what = format!("{args:?}: {}", run.stderr);
        assert_eq!(run.code, 2, "{what}");
        assert!(!run.stderr.contains("panicked"), "{what}");
        assert!(
            run.stderr.contains(name) && run.stderr.contains(range),
            "{what}"
        );
    }
    // The largest plan it accepts is advised on, not crashed on.
    let out = env
        .cmd()
        .args([
            "recommend",
            "--file-count",
            "1000000",
            "--avg-file-size",
            "1 TiB",
        ])
        .output()
        .expect("run recommend");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !out.stdout.is_empty() && !stderr.contains("panicked"),
        "{stderr}"
    );
    env.run(&["status", "--limit", "10000"]).expect_code(0);
}

/// ESC, OSC (set the window title), BEL, CR and a C1 CSI: what a hostile or
/// broken export could carry to an operator's terminal.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{9b}31m";

/// No control character but the line break, raw, in `text`.
#[track_caller]
fn no_raw_controls(text: &str, what: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in {what}:\n{text}");
}

#[test]
fn control_characters_in_names_headers_and_values_reach_the_terminal_escaped() {
    let env = Env::new();
    // An alias lets a header with control characters name the Qty field.
    env.write("importer.toml", "[columns]\nqty = [\"Jumlah\\u001b[1m\"]\n");
    let hostile_name = format!("exp{HOSTILE}ort.csv");
    env.write(
        &hostile_name,
        Csv::new(&[
            line("DS-1"),
            line("DS-2").set("Qty", &format!("two{HOSTILE}")),
            line("DS-3").set("Harga Produk", &format!("{}{HOSTILE}", "9".repeat(5000))),
        ])
        .rename("Qty", "Jumlah\u{1b}[1m")
        .render(),
    );
    // A file that fails for a missing column lists the headers it found.
    env.write(
        "missing.csv",
        Csv::new(&[line("DS-9")])
            .drop_column("SKU")
            .rename("Nama Toko", &format!("Toko{HOSTILE}"))
            .render(),
    );
    let run = env.run(&["--progress", "log", "."]);
    run.expect_code(3);
    no_raw_controls(&run.stderr, "stderr");
    let err = &run.stderr;
    // The file name, in the progress log and the summary.
    let shown_name = "exp\\x1b]0;pwned\\x07\\x1b[2J\\r\\u{9b}31mort.csv";
    assert!(err.contains(shown_name), "{err}");
    // The header and the value, in the reject messages.
    assert!(err.contains("Jumlah\\x1b[1m: \"two\\x1b]0;pwned"), "{err}");
    // The found headers of the failed file.
    assert!(err.contains("Toko\\x1b]0;pwned\\x07"), "{err}");
    // A long value is quoted short.
    assert!(err.contains("…(5020 bytes)"), "{err}");
    assert!(!err.contains(&"9".repeat(1000)), "{err}");
    // The data itself is kept as it was.
    let stored: String = env.one("SELECT value FROM import_rejects WHERE line = 3");
    assert_eq!(stored, format!("two{HOSTILE}"));

    // status shows the same names escaped.
    for args in [&["status"][..], &["status", "1"][..]] {
        let out = env.cmd().args(args).output().expect("run status");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        no_raw_controls(&stdout, "status");
        if args.len() == 2 {
            assert!(stdout.contains(shown_name), "{stdout}");
        }
    }

    // And so do error messages that name a path.
    let run = env.run(&["--db", &format!("no{HOSTILE}dir/x.db"), "missing.csv"]);
    assert_ne!(run.code, 0);
    no_raw_controls(&run.stderr, "an error naming a path");
}

/// What the user typed reaches the terminal escaped even when the command
/// line itself is refused: the parser's own messages quote the value.
#[test]
fn a_refused_option_value_with_control_characters_is_quoted_escaped() {
    let env = Env::new();
    for args in [
        &["--encoding", "\u{1b}]0;PWNED\u{7}\r\u{9b}2J", "a.csv"][..],
        &["--on-duplicate", "x\u{1b}[2J\r", "a.csv"][..],
        &["--progress", "\u{9b}31m", "a.csv"][..],
        &["--bogus\u{1b}[2J\r", "a.csv"][..],
    ] {
        let run = env.run(args);
        run.expect_code(2);
        no_raw_controls(&run.stderr, &format!("{args:?}"));
        assert!(run.stderr.contains("error:"), "{}", run.stderr);
    }
}

/// An empty database path is a value the user typed wrong: exit 2 naming
/// it, not a failure to open a file with no name.
#[test]
fn an_empty_database_path_is_a_usage_error() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.write("empty.toml", "[database]\npath = \"\"\n");
    let run = env.run(&["-c", "empty.toml", "a.csv"]);
    run.expect_code(2);
    assert!(run.stderr.contains("database.path"), "{}", run.stderr);
    let run = env.run(&["--db", "", "a.csv"]);
    run.expect_code(2);
}
