//! Integration tests of `dropship-import recommend`: the binary runs in a
//! fresh temporary folder per test and samples files without importing
//! them; what a user sees is checked: exit code, the advice and warnings
//! (as JSON and as text), and that no database appears.

mod common;

use common::{Csv, Env, csv, gzip, line, replace_bytes};
use serde_json::Value;

/// One run of `dropship-import recommend ARGS`.
struct Advice {
    code: i32,
    stdout: String,
    stderr: String,
    json: Value,
}

impl Advice {
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Advice {
        assert_eq!(
            self.code, code,
            "exit code\nstderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        self
    }

    #[track_caller]
    fn n(&self, pointer: &str) -> u64 {
        self.json
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("no number at {pointer} in:\n{}", self.stdout))
    }

    fn warnings(&self) -> Vec<&Value> {
        self.json["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    /// `(file name, kind, level)` of every warning.
    fn kinds(&self) -> Vec<(String, String, String)> {
        self.warnings()
            .iter()
            .map(|w| {
                let path = w["path"].as_str().unwrap_or("");
                let name = std::path::Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    name,
                    w["kind"].as_str().unwrap_or("").to_string(),
                    w["level"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[track_caller]
    fn warning(&self, kind: &str) -> &Value {
        self.warnings()
            .into_iter()
            .find(|w| w["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} warning in:\n{}", self.stdout))
    }
}

fn recommend(env: &Env, args: &[&str]) -> Advice {
    let out = env
        .cmd()
        .arg("recommend")
        .args(args)
        .output()
        .expect("run dropship-import");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Advice {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `n` valid lines, one order each.
fn lines(n: usize) -> Vec<common::Line> {
    (0..n)
        .map(|i| line(&format!("DS-{i:07}")).set("No", &(i + 1).to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// Where the throughput comes from
// ---------------------------------------------------------------------------

#[test]
fn without_a_database_it_uses_the_built_in_figure_and_creates_nothing() {
    let env = Env::new();
    let file = env.write("a.csv", csv(&lines(3)));
    let size = std::fs::metadata(&file).unwrap().len();

    let a = recommend(&env, &["a.csv", "--json"]);
    a.expect_code(0);
    assert_eq!(a.json["source"], "built_in");
    assert_eq!(a.n("/history_runs"), 0);
    assert_eq!(a.n("/files"), 1);
    assert_eq!(a.n("/total_bytes"), size);
    assert_eq!(a.n("/estimated_rows"), 3);
    assert_eq!(a.n("/advice/jobs"), 1, "one file is read by one reader");
    assert_eq!(a.n("/throughput/bytes_per_sec"), 132_000_000);
    assert!(a.warnings().is_empty(), "{}", a.stdout);

    let text = recommend(&env, &["a.csv"]);
    text.expect_code(0);
    assert!(
        text.stdout
            .contains("built-in estimate, no earlier runs in dropship.db"),
        "{}",
        text.stdout
    );
    assert!(
        !env.path("dropship.db").exists(),
        "the database was created"
    );
    assert!(!env.path("dropship.db-wal").exists());
}

#[test]
fn the_database_named_in_the_advice_has_its_control_characters_escaped() {
    let env = Env::new();
    env.write("a.csv", csv(&lines(3)));
    let text = recommend(&env, &["a.csv", "--db", "odd\x1b[31m.db"]);
    text.expect_code(0);
    assert!(!text.stdout.contains('\x1b'), "{:?}", text.stdout);
    assert!(
        text.stdout.contains("no earlier runs in odd\\x1b[31m.db"),
        "{}",
        text.stdout
    );
}

#[test]
fn after_an_import_it_uses_the_recorded_runs() {
    let env = Env::new();
    env.write("a.csv", csv(&lines(300)));
    env.run(&["a.csv"]).expect_code(0);
    let (rows_per_sec, bytes_per_sec): (i64, i64) = env
        .db()
        .query_row(
            "SELECT rows_per_sec, bytes_per_sec FROM import_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let before = env.table_counts();

    env.write("b.csv", csv(&lines(50)));
    let a = recommend(&env, &["b.csv", "--json"]);
    a.expect_code(0);
    assert_eq!(a.json["source"], "history");
    assert_eq!(a.n("/history_runs"), 1);
    assert_eq!(a.n("/throughput/rows_per_sec"), rows_per_sec as u64);
    assert_eq!(a.n("/throughput/bytes_per_sec"), bytes_per_sec as u64);
    assert_eq!(a.n("/estimated_rows"), 50);

    let text = recommend(&env, &["b.csv"]);
    text.expect_code(0);
    assert!(
        text.stdout.contains("from 1 earlier run in dropship.db"),
        "{}",
        text.stdout
    );
    assert_eq!(env.table_counts(), before, "recommend changed the database");

    // Another database, named with --db, has no history.
    let a = recommend(&env, &["b.csv", "--db", "other.db", "--json"]);
    assert_eq!(a.json["source"], "built_in");
    assert!(!env.path("other.db").exists());
}

#[test]
fn an_unusable_database_exits_1_and_is_left_alone() {
    let env = Env::new();
    env.write("a.csv", csv(&lines(1)));
    let junk = "this is not sqlite, just some text that is long enough to look like a header";
    env.write("dropship.db", junk);
    let a = recommend(&env, &["a.csv"]);
    a.expect_code(1);
    assert!(a.stderr.contains("dropship.db"), "{}", a.stderr);
    assert_eq!(
        std::fs::read_to_string(env.path("dropship.db")).unwrap(),
        junk
    );
}

// ---------------------------------------------------------------------------
// What to look at
// ---------------------------------------------------------------------------

#[test]
fn file_count_and_average_size_plan_without_files() {
    let env = Env::new();
    let a = recommend(
        &env,
        &["--file-count", "100", "--avg-file-size", "2MB", "--json"],
    );
    a.expect_code(0);
    assert_eq!(a.n("/files"), 100);
    assert_eq!(a.n("/total_bytes"), 200_000_000);
    // 132 MB/s and 448,000 rows/s: 294.6 bytes a row.
    assert_eq!(a.n("/estimated_rows"), 678_788);
    let jobs = a.n("/advice/jobs");
    assert!((4..=8).contains(&jobs), "{jobs}");
    assert_eq!(a.n("/advice/chunk_size"), 1000);
    // 200 MB at 132 MB/s, a little slower with fewer than 5 jobs.
    let ms = a.n("/expected/duration_ms");
    assert!((1500..=1600).contains(&ms), "{ms}");
    assert!(a.warnings().is_empty(), "{}", a.stdout);
    assert!(!env.path("dropship.db").exists());

    let a = recommend(
        &env,
        &["--file-count", "3", "--avg-file-size", "200MB", "--json"],
    );
    a.expect_code(0);
    assert_eq!(a.warning("too_large")["path"], Value::Null);
    assert_eq!(a.n("/expected/duration_ms"), 0);
}

#[test]
fn no_input_is_a_usage_error_naming_both_ways() {
    let env = Env::new();
    let a = recommend(&env, &[]);
    a.expect_code(2);
    assert!(a.stderr.contains("--file-count"), "{}", a.stderr);
    assert!(a.stderr.contains("files"), "{}", a.stderr);

    env.write("a.csv", csv(&lines(1)));
    recommend(
        &env,
        &["a.csv", "--file-count", "3", "--avg-file-size", "1MB"],
    )
    .expect_code(2);
    recommend(&env, &["--file-count", "0", "--avg-file-size", "1MB"]).expect_code(2);
    recommend(&env, &["--file-count", "3", "--avg-file-size", "lots"]).expect_code(2);
    let a = recommend(&env, &["*.nope"]);
    a.expect_code(2);
    assert!(a.stderr.contains("*.nope"), "{}", a.stderr);
    env.write("bad.toml", "[streaming_import]\nchunk_sise = 5\n");
    recommend(&env, &["a.csv", "-c", "bad.toml"]).expect_code(2);
}

// ---------------------------------------------------------------------------
// Warnings, one kind at a time
// ---------------------------------------------------------------------------

#[test]
fn too_large_for_the_configured_max_file_size() {
    let env = Env::new();
    env.write("big.csv", csv(&lines(20)));
    env.write("small.csv", "No\n");
    env.write(
        "cfg.toml",
        "[streaming_import]\nmax_file_size = \"1000 B\"\n",
    );
    let a = recommend(&env, &["big.csv", "small.csv", "-c", "cfg.toml", "--json"]);
    a.expect_code(0);
    let w = a.warning("too_large");
    assert!(w["path"].as_str().unwrap().ends_with("big.csv"));
    assert_eq!(w["level"], "error");
    assert!(
        w["message"].as_str().unwrap().contains("max_file_size"),
        "{w}"
    );
    // The file that would fail is not part of the estimate.
    assert_eq!(a.n("/estimated_rows"), 0);
}

#[test]
fn missing_required_columns() {
    let env = Env::new();
    env.write("a.csv", Csv::new(&lines(2)).drop_column("SKU").render());
    let a = recommend(&env, &["a.csv", "--json"]);
    a.expect_code(0);
    let w = a.warning("missing_columns");
    assert_eq!(w["level"], "error");
    assert!(w["message"].as_str().unwrap().contains("SKU"), "{w}");
    assert_eq!(a.kinds().len(), 1, "{}", a.stdout);
}

#[test]
fn unknown_columns_unless_the_config_names_them() {
    let env = Env::new();
    env.write(
        "a.csv",
        Csv::new(&lines(2))
            .rename("Nama Produk", "Product Name")
            .render(),
    );
    let a = recommend(&env, &["a.csv", "--json"]);
    a.expect_code(0);
    assert_eq!(
        a.kinds(),
        [("a.csv".into(), "unknown_columns".into(), "warning".into())]
    );
    assert!(
        a.warning("unknown_columns")["message"]
            .as_str()
            .unwrap()
            .contains("Product Name")
    );

    env.write("cfg.toml", "[columns]\nnama_produk = [\"Product Name\"]\n");
    let a = recommend(&env, &["a.csv", "-c", "cfg.toml", "--json"]);
    a.expect_code(0);
    assert!(a.warnings().is_empty(), "{}", a.stdout);
}

#[test]
fn windows_1252_text() {
    let env = Env::new();
    let text = csv(&lines(3));
    env.write(
        "a.csv",
        replace_bytes(&text, "Kaos Polos Hitam L", b"Kaos Caf\xe9"),
    );
    let a = recommend(&env, &["a.csv", "--json"]);
    a.expect_code(0);
    let w = a.warning("not_utf8");
    assert_eq!(w["level"], "warning");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("looks like Windows-1252 text; it will be read as such with encoding = auto"),
        "{w}"
    );
    assert_eq!(a.n("/estimated_rows"), 3);

    env.write("utf8.toml", "[import]\nencoding = \"utf-8\"\n");
    let a = recommend(&env, &["a.csv", "-c", "utf8.toml", "--json"]);
    a.expect_code(0);
    assert_eq!(a.warning("not_utf8")["level"], "error");

    env.write("cp.toml", "[import]\nencoding = \"windows-1252\"\n");
    let a = recommend(&env, &["a.csv", "-c", "cp.toml", "--json"]);
    assert!(a.warnings().is_empty(), "{}", a.stdout);
}

#[test]
fn empty_and_missing_files() {
    let env = Env::new();
    env.write("empty.csv", "");
    env.write("blank.csv", "\n\n");
    env.write("ok.csv", csv(&lines(2)));
    let a = recommend(
        &env,
        &["empty.csv", "blank.csv", "missing.csv", "ok.csv", "--json"],
    );
    a.expect_code(0);
    let mut kinds = a.kinds();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("blank.csv".into(), "empty".into(), "error".into()),
            ("empty.csv".into(), "empty".into(), "error".into()),
            ("missing.csv".into(), "not_found".into(), "error".into()),
        ]
    );
    assert_eq!(a.n("/files"), 4);
    assert_eq!(a.n("/estimated_rows"), 2);
    assert_eq!(a.n("/advice/jobs"), 1);

    let text = recommend(&env, &["empty.csv", "missing.csv", "ok.csv"]);
    text.expect_code(0);
    assert!(
        text.stdout.contains("2 files would fail"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("missing.csv: not_found"),
        "{}",
        text.stdout
    );
}

#[test]
fn unreadable_gzip() {
    let env = Env::new();
    env.write("a.csv.gz", b"\x1f\x8b\x08\x00not really gzip");
    let a = recommend(&env, &["a.csv.gz", "--json"]);
    a.expect_code(0);
    assert_eq!(
        a.kinds(),
        [("a.csv.gz".into(), "unreadable".into(), "error".into())]
    );
}

#[test]
fn gzip_files_are_sampled_decompressed() {
    let env = Env::new();
    // Small: the whole file is in the sample, rows are counted.
    env.write(
        "small.csv.gz",
        gzip(
            Csv::new(&[])
                .delimiter(';')
                .lines(&lines(7))
                .render()
                .as_bytes(),
        ),
    );
    let a = recommend(&env, &["small.csv.gz", "--json"]);
    a.expect_code(0);
    assert!(a.warnings().is_empty(), "{}", a.stdout);
    assert_eq!(a.n("/estimated_rows"), 7);

    // Large: more than the sample once decompressed; rows are estimated.
    let rows = 4000;
    let plain = csv(&lines(rows));
    assert!(plain.len() > 256 * 1024);
    let packed = gzip(plain.as_bytes());
    env.write("large.csv.gz", &packed);
    env.write("large.csv", &plain);
    let a = recommend(&env, &["large.csv.gz", "--json"]);
    a.expect_code(0);
    assert!(a.warnings().is_empty(), "{}", a.stdout);
    assert_eq!(a.n("/total_bytes"), packed.len() as u64);
    let estimate = a.n("/estimated_rows");
    assert!(
        estimate.abs_diff(rows as u64) <= rows as u64 / 20,
        "{estimate}"
    );
    // The same text uncompressed gives the same estimate and duration.
    let b = recommend(&env, &["large.csv", "--json"]);
    assert!(b.n("/estimated_rows").abs_diff(estimate) <= rows as u64 / 20);
    assert_eq!(a.n("/expected/duration_ms"), b.n("/expected/duration_ms"));
}

// ---------------------------------------------------------------------------
// The output
// ---------------------------------------------------------------------------

#[test]
fn json_has_the_documented_shape() {
    let env = Env::new();
    env.write("a.csv", csv(&lines(5)));
    env.write("b.csv", Csv::new(&lines(5)).drop_column("Qty").render());
    let a = recommend(&env, &["a.csv", "b.csv", "--json"]);
    a.expect_code(0);
    let mut keys: Vec<&str> = a
        .json
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object:\n{}", a.stdout))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "advice",
            "estimated_rows",
            "expected",
            "files",
            "history_runs",
            "source",
            "throughput",
            "total_bytes",
            "warnings"
        ]
    );
    for pointer in [
        "/files",
        "/total_bytes",
        "/estimated_rows",
        "/history_runs",
        "/advice/jobs",
        "/advice/chunk_size",
        "/advice/max_memory_mb",
        "/expected/duration_ms",
        "/expected/peak_rss_bytes",
        "/throughput/bytes_per_sec",
        "/throughput/rows_per_sec",
    ] {
        a.n(pointer);
    }
    assert!(a.n("/advice/max_memory_mb") >= 64);
    assert!(a.n("/expected/peak_rss_bytes") > 0);
    assert_eq!(a.json["source"], "built_in");
    let w = a.warning("missing_columns");
    for key in ["path", "kind", "level", "message"] {
        assert!(w[key].is_string(), "{key} in {w}");
    }
}

#[test]
fn text_names_the_advice_and_a_config_to_paste() {
    let env = Env::new();
    env.write("a.csv", csv(&lines(5)));
    let a = recommend(&env, &["a.csv"]);
    a.expect_code(0);
    for needle in [
        "1 file,",
        "about 5 rows",
        "jobs",
        "chunk size",
        "max_memory_mb",
        "expected:",
        "[streaming_import]",
    ] {
        assert!(a.stdout.contains(needle), "{needle:?} in:\n{}", a.stdout);
    }
    // Config lines whole: `chunk_size = 100` must not be found inside
    // `chunk_size = 1000`.
    for config_line in ["max_concurrent_files = 1", "chunk_size = 100"] {
        assert!(
            a.stdout.lines().any(|l| l.trim() == config_line),
            "a line {config_line:?} in:\n{}",
            a.stdout
        );
    }
    assert!(a.stderr.is_empty(), "{}", a.stderr);
}
