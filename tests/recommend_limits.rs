//! Integration tests of `recommend` at the edges: a database on read-only
//! media or one it must leave as it found it, records longer than
//! `max_record_size` and header lines the import fails. Each runs the real
//! binary in a fresh folder and, where it matters, checks the advice
//! against what a real import of the same file does.

mod common;

use common::{Env, ReadOnlyMount, csv, line};
use serde_json::Value;

/// `dropship-import recommend ARGS --json`: exit code, stderr and the JSON.
fn recommend(env: &Env, args: &[&str]) -> (i32, String, Value) {
    let out = env
        .cmd()
        .arg("recommend")
        .args(args)
        .arg("--json")
        .output()
        .expect("run recommend");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), stderr, json)
}

/// `(kind, level)` of every warning, with its message.
fn warnings(json: &Value) -> Vec<(String, String, String)> {
    json["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            let s = |k: &str| w[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("level"), s("message"))
        })
        .collect()
}

/// A file with the export's header and one valid row, then `record`.
fn with_record(record: &str) -> String {
    format!("{}{record}\n", csv(&[line("DS-1")]))
}

#[test]
fn recommend_reads_the_history_of_a_database_on_read_only_media() {
    let env = Env::new();
    env.write("data/a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["--db", "data/t.db", "data/a.csv"]).expect_code(0);
    assert!(!env.path("data/t.db-shm").exists(), "a clean copy");
    let Some(_mount) = ReadOnlyMount::new(&env.path("data"), &env.path("ro")) else {
        return;
    };
    let (code, stderr, json) = recommend(
        &env,
        &[
            "--db",
            "ro/t.db",
            "--file-count",
            "3",
            "--avg-file-size",
            "5MB",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["source"], "history", "the database was read: {json}");
    assert_eq!(json["history_runs"], 1, "{json}");
}

#[test]
fn recommend_leaves_no_log_files_beside_the_database() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["--db", "r.db", "a.csv"]).expect_code(0);
    let beside = |s: &str| env.path(&format!("r.db{s}")).exists();
    assert!(!beside("-wal") && !beside("-shm"), "a clean database");
    let (code, stderr, json) = recommend(
        &env,
        &[
            "--db",
            "r.db",
            "--file-count",
            "2",
            "--avg-file-size",
            "1MB",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["source"], "history", "the database was read: {json}");
    assert!(!beside("-wal"), "r.db-wal left behind");
    assert!(!beside("-shm"), "r.db-shm left behind");
    // And it can still be imported into.
    env.write("b.csv", csv(&[line("DS-3")]));
    env.run(&["--db", "r.db", "b.csv"]).expect_code(0);
}

#[test]
fn one_huge_record_is_held_no_longer_than_max_record_size() {
    let env = Env::new();
    // One row of 3 MB right after the header, so the sample holds no row
    // to measure: the import rejects it without holding it.
    let header = csv(&[]).trim_end().to_string();
    env.write(
        "mid.csv",
        format!("{header}\n1,\"{}\"\n", "x".repeat(3_000_000)),
    );
    let (code, stderr, json) = recommend(&env, &["--db", "none.db", "mid.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let peak = json["expected"]["peak_rss_bytes"].as_u64().unwrap();
    let limit = json["advice"]["max_memory_mb"].as_u64().unwrap();
    assert!(peak < 100_000_000, "peak {peak}: {json}");
    assert!(limit <= 160, "max_memory_mb {limit}: {json}");
    // What the import does with it.
    let run = env.run(&["mid.csv"]);
    run.expect_code(3);
    assert_eq!(run.n("/rows/rejected"), 1);
    assert_eq!(env.rejects()[0].reason, "record_too_long");
}

#[test]
fn records_longer_than_max_record_size_in_the_sample_are_a_warning() {
    let env = Env::new();
    env.write(
        "importer.toml",
        "[streaming_import]\nmax_record_size = \"2 KiB\"\n",
    );
    let long = format!("2,\"{}\"", "y".repeat(5000));
    env.write("long.csv", with_record(&long));
    let (code, stderr, json) = recommend(&env, &["--db", "none.db", "long.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let found = warnings(&json);
    let too_long: Vec<_> = found
        .iter()
        .filter(|(kind, _, _)| kind == "record_too_long")
        .collect();
    assert_eq!(too_long.len(), 1, "{found:?}");
    assert_eq!(too_long[0].1, "warning");
    assert!(too_long[0].2.contains("line 3"), "{}", too_long[0].2);
    assert_eq!(json["estimated_rows"], 2, "the file is still read: {json}");
    // The import rejects that record, and only it.
    let run = env.run(&["long.csv"]);
    run.expect_code(3);
    assert_eq!(run.n("/rows/imported"), 1);
    assert_eq!(env.rejects()[0].reason, "record_too_long");
}

/// Recommend names a header the import fails as an `error`, and the import
/// indeed fails the file.
#[track_caller]
fn header_is_an_error(env: &Env, name: &str) {
    let (code, stderr, json) = recommend(env, &["--db", "none.db", name]);
    assert_eq!(code, 0, "{stderr}");
    let found = warnings(&json);
    assert!(
        found
            .iter()
            .any(|(kind, level, _)| kind == "bad_header" && level == "error"),
        "{found:?}"
    );
    assert_eq!(
        json["estimated_rows"], 0,
        "left out of the estimate: {json}"
    );
    let run = env.run(&["--db", "t.db", name]);
    run.expect_code(3);
    assert_eq!(run.file_status(name), "failed");
    assert!(
        run.stderr.contains("no header row"),
        "the import's reason: {}",
        run.stderr
    );
}

#[test]
fn a_header_of_too_many_fields_is_an_error() {
    let env = Env::new();
    // Millions of empty columns after the real ones: far more than the
    // sample holds, so recommend judges the header from its first part.
    let header = csv(&[]).trim_end().to_string();
    env.write(
        "hugeheader.csv",
        format!("{header}{}\n", ",".repeat(5_000_000)),
    );
    header_is_an_error(&env, "hugeheader.csv");
    // Within the sample too.
    let env = Env::new();
    env.write(
        "wide.csv",
        format!("{header}{}\n{}", ",x".repeat(5000), csv(&[line("DS-1")])),
    );
    header_is_an_error(&env, "wide.csv");
}

#[test]
fn a_header_longer_than_max_record_size_is_an_error() {
    let env = Env::new();
    env.write(
        "importer.toml",
        "[streaming_import]\nmax_record_size = \"1 KiB\"\n",
    );
    let header = csv(&[]).trim_end().to_string();
    let text = format!("{header},{}\n{}", "N".repeat(2000), csv(&[line("DS-1")]));
    env.write("long-header.csv", text);
    header_is_an_error(&env, "long-header.csv");
}
