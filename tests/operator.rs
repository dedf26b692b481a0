//! The operator's view of an import: log-mode progress without a terminal,
//! quiet mode, and memory control under a tiny budget.

use assert_cmd::Command;
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

#[path = "../examples/generate.rs"]
mod generate;

fn generated(dir: &Path, files: usize, rows: usize) {
    let spec = generate::Spec {
        files,
        rows,
        seed: 7,
        bad_share: 0.0,
        dup_share: 0.0,
    };
    generate::generate(&dir.join("files"), &spec, false).unwrap();
}

fn import(dir: &Path, args: &[&str]) -> (Value, String) {
    let out = Command::cargo_bin("dropship-import")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_slice(&out.stdout).unwrap();
    (summary, String::from_utf8(out.stderr).unwrap())
}

fn lines(db: &Path) -> Vec<(String, String, i64, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT kode_pesanan, sku, qty, source_line FROM dropship_purchase_details ORDER BY 1, 4")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn log_mode_prints_a_line_per_file_and_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 3, 300);
    let (_, stderr) = import(dir.path(), &["files", "--progress", "log"]);
    for i in 0..3 {
        let name = format!("part-00{i}.csv");
        let line = stderr
            .lines()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("no line for {name}: {stderr}"));
        assert!(line.contains("imported"), "{line}");
    }
    assert!(stderr.contains("\ndone (run 1, "), "{stderr}");
    let imported = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("imported"));
    assert_eq!(
        imported.map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["imported", "3", "300"]),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in log mode: {stderr:?}"
    );
}

#[test]
fn without_a_terminal_auto_means_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 2, 100);
    let (_, stderr) = import(dir.path(), &["files"]);
    assert!(stderr.contains("part-000.csv: "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn quiet_prints_nothing_when_all_is_well() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 2, 100);
    let (summary, stderr) = import(dir.path(), &["files", "-q"]);
    assert_eq!(stderr, "");
    assert_eq!(summary["status"], "ok");
}

#[test]
fn a_tiny_memory_budget_shrinks_chunks_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 4, 20_000);
    let (roomy, _) = import(dir.path(), &["files", "--db", "roomy.db", "-q"]);
    assert_eq!(roomy["memory"]["adaptations"], 0);
    std::fs::write(
        dir.path().join("tight.toml"),
        "[memory_optimizer]\nmax_memory_mb = 1\ncheck_interval = \"2ms\"\n",
    )
    .unwrap();
    let (tight, _) = import(
        dir.path(),
        &[
            "files",
            "--db",
            "tight.db",
            "-c",
            "tight.toml",
            "-q",
            "--chunk-size",
            "400",
        ],
    );
    let memory = &tight["memory"];
    assert!(memory["adaptations"].as_u64().unwrap() > 0, "{memory}");
    assert_eq!(memory["chunk_size"]["start"], 400);
    assert!(
        memory["chunk_size"]["min"].as_u64().unwrap() < 400,
        "{memory}"
    );
    assert_eq!(memory["limit_bytes"], 1_000_000);
    assert_eq!(tight["rows"], roomy["rows"]);
    assert_eq!(
        lines(&dir.path().join("tight.db")),
        lines(&dir.path().join("roomy.db"))
    );
}

#[test]
fn memory_control_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 2, 5_000);
    std::fs::write(
        dir.path().join("off.toml"),
        "[streaming_import]\nenable_memory_optimization = false\n[memory_optimizer]\nmax_memory_mb = 1\ncheck_interval = \"2ms\"\n",
    )
    .unwrap();
    let (summary, _) = import(dir.path(), &["files", "-c", "off.toml", "-q"]);
    assert_eq!(summary["memory"]["adaptations"], 0);
    assert!(summary["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(summary["cpu"]["user_ms"].as_u64().is_some());
}

// ---------------------------------------------------------------------------
// What the README promises an operator

/// Runs the binary in `dir` with `args`: (exit code, stdout, stderr).
fn output(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("dropship-import")
        .unwrap()
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// README "The two commands": the first run over `sample-data/` imports 76
/// of 82 rows, rejects 4 (each named on stderr with file, line, column and
/// value), counts 2 as duplicates and exits 3; a second run skips every
/// file and exits 0. Run as the README says: from a folder holding the
/// repository's `importer.toml`, into the default `dropship.db`.
#[test]
fn the_sample_data_first_run_and_second_run_do_what_the_readme_says() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir(dir.path().join("sample-data")).unwrap();
    for entry in std::fs::read_dir(root.join("sample-data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("sample-data").join(entry.file_name()),
        )
        .unwrap();
    }
    std::fs::copy(root.join("importer.toml"), dir.path().join("importer.toml")).unwrap();

    let (code, stdout, stderr) = output(dir.path(), &["sample-data/"]);
    assert_eq!(code, Some(3), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        summary["rows"],
        serde_json::json!({"read": 82, "imported": 76, "rejected": 4, "duplicate": 2,
                           "filtered": 0, "failed": 0}),
        "{summary}"
    );
    assert_eq!(summary["files"]["imported"], 5, "{summary}");
    assert_eq!(summary["orders"]["duplicate"], 1, "{summary}");
    for (file, line, needle) in [
        ("orders-2025-01-02.csv", 4, "Qty: \"two\""),
        (
            "orders-2025-01-03.csv",
            6,
            "Waktu Pesanan Terbuat: \"31 February 2025, 10:00:00\"",
        ),
        ("orders-2025-01-03.csv", 10, "SKU:"),
        ("orders-2025-01-04.csv", 16, "field"),
    ] {
        let at = format!("{file}:{line}: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&at) && l.contains(needle)),
            "stderr names {at}{needle}:\n{stderr}"
        );
    }
    let conn = Connection::open(dir.path().join("dropship.db")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM dropship_purchase_details"), 76);
    assert_eq!(count("SELECT count(*) FROM import_rejects"), 4);
    drop(conn);

    let (code, stdout, stderr) = output(dir.path(), &["sample-data/"]);
    assert_eq!(code, Some(0), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["files"]["skipped"], 5, "{summary}");
    assert_eq!(summary["rows"]["imported"], 0, "{summary}");
}

/// README "Using it": `completions SHELL` and `man` print what their names
/// say, from the same definitions as `--help`.
#[test]
fn completions_and_man_print_a_script_and_a_man_page() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, stderr) = output(dir.path(), &["completions", shell]);
        assert_eq!(code, Some(0), "completions {shell}: {stderr}");
        assert!(
            stdout.contains("dropship-import") && stdout.contains("on-duplicate"),
            "completions {shell} name the program and its options:\n{stdout}"
        );
    }
    let (code, _, _) = output(dir.path(), &["completions", "no-such-shell"]);
    assert_eq!(code, Some(2), "an unknown shell is a usage error");

    let (code, stdout, stderr) = output(dir.path(), &["man"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(".TH dropship-import 1"), "{stdout}");
    for needle in [".SH NAME", ".SH SYNOPSIS", "on\\-duplicate"] {
        assert!(
            stdout.contains(needle),
            "man page has {needle:?}:\n{stdout}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "completions and man wrote files: {left:?}");
}

/// STYLE "A broken pipe is not an error": `completions bash | head -1`
/// must not panic when the reader has gone.
#[test]
fn completions_into_a_closed_pipe_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["completions", "bash"][..], &["man"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before the child starts: every write it makes fails.
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dropship-import"))
            .current_dir(dir.path())
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{args:?} into a closed pipe panicked:\n{stderr}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?}\n{stderr}",
            out.status
        );
    }
}

/// README "Identical files in one run": the same bytes under two new names
/// in one run: one imported, the other skipped as already imported.
#[test]
fn two_identical_new_files_in_one_run_one_imported_the_other_skipped() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 1, 300);
    let original = dir.path().join("files/part-000.csv");
    std::fs::copy(&original, dir.path().join("files/copy-of-part-000.csv")).unwrap();
    for jobs in ["1", "2"] {
        let db = format!("j{jobs}.db");
        let (summary, _) = import(dir.path(), &["files", "-j", jobs, "--db", &db]);
        let statuses: Vec<&str> = summary["per_file"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["status"].as_str().unwrap())
            .collect();
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, ["imported", "skipped"], "-j {jobs}: {summary}");
        assert_eq!(summary["rows"]["imported"], 300, "-j {jobs}: {summary}");
        assert_eq!(summary["rows"]["duplicate"], 0, "-j {jobs}: {summary}");
        assert_eq!(lines(&dir.path().join(&db)).len(), 300, "-j {jobs}");
    }
}

/// README "-q": silent when the run is ok; when something is wrong the
/// summary and the rejects are still printed on stderr.
#[test]
fn quiet_still_prints_the_summary_and_rejects_when_something_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 1, 50);
    let good = std::fs::read_to_string(dir.path().join("files/part-000.csv")).unwrap();
    let mut rows = good.lines();
    let header = rows.next().unwrap();
    let first = rows.next().unwrap();
    // One row with a bad Qty (field 8) in a file of its own.
    let mut fields: Vec<String> = Vec::new();
    let mut rdr = csv_fields(first);
    fields.append(&mut rdr);
    fields[8] = "two".into();
    let bad_row = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    std::fs::write(
        dir.path().join("files/bad.csv"),
        format!("{header}\n{bad_row}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("files/empty.csv"), "").unwrap();
    let (code, stdout, stderr) = output(dir.path(), &["files", "-q"]);
    assert_eq!(code, Some(3), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["rows"]["rejected"], 1, "{summary}");
    assert_eq!(summary["files"]["failed"], 1, "{summary}");
    assert!(
        stderr.contains("bad.csv:2: Qty: \"two\""),
        "-q still names the reject:\n{stderr}"
    );
    assert!(
        stderr.contains("empty.csv"),
        "-q still names the failed file:\n{stderr}"
    );
    assert!(
        stderr.contains("done, 1 file failed, 1 row rejected (run 1, "),
        "-q still prints the summary:\n{stderr}"
    );
    assert!(
        !stderr.contains("part-000.csv: 50 rows"),
        "-q prints no progress lines:\n{stderr}"
    );
}

/// The fields of one CSV line as the generator writes it (quoted fields
/// hold commas but no newlines).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Cron: an hourly run over a folder that has not changed says so in one
/// headline, not a line per file, and every log line carries the time and
/// the run.
#[test]
fn a_rerun_over_an_unchanged_folder_folds_its_files_into_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 20, 400);
    let (first, stderr) = import(dir.path(), &["files", "--progress", "log"]);
    assert_eq!(first["files"]["imported"], 20);
    let file_lines: Vec<&str> = stderr.lines().filter(|l| l.contains(".csv: ")).collect();
    assert_eq!(file_lines.len(), 20, "{stderr}");
    for line in file_lines {
        let stamp = &line[..20];
        assert!(
            humantime::parse_rfc3339(stamp).is_ok() && line[20..].starts_with(" run 1: files/"),
            "not stamped with the time and run: {line:?}"
        );
    }
    let (second, stderr) = import(dir.path(), &["files", "--progress", "log"]);
    assert_eq!(second["files"]["skipped"], 20);
    assert!(
        !stderr.contains(".csv"),
        "a line per skipped file:\n{stderr}"
    );
    assert!(
        stderr.starts_with("done, nothing new: all 20 files were already imported ("),
        "{stderr}"
    );
    assert!(stderr.lines().count() <= 4, "{stderr}");
}

/// `--metrics-file`: the outcome for Prometheus, matching the summary, and
/// written for a run that could not do its job too.
#[test]
fn the_metrics_file_tells_how_the_run_ended() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 3, 300);
    let (summary, _) = import(dir.path(), &["files", "--metrics-file", "m.prom"]);
    let text = std::fs::read_to_string(dir.path().join("m.prom")).unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    let db = "{database=\"dropship.db\"";
    assert_eq!(
        value(&format!("dropship_import_last_run_success{db}}}")),
        1.0
    );
    assert_eq!(
        value(&format!(
            "dropship_import_last_run_status{db},status=\"ok\"}}"
        )),
        1.0
    );
    assert_eq!(
        value(&format!(
            "dropship_import_last_run_rows{db},bucket=\"imported\"}}"
        )),
        summary["rows"]["imported"].as_f64().unwrap()
    );
    assert_eq!(
        value(&format!(
            "dropship_import_last_run_files{db},state=\"imported\"}}"
        )),
        3.0
    );
    assert!(value(&format!("dropship_import_last_run_peak_memory_bytes{db}}}")) > 0.0);
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dropship-import"))
        .collect();
    assert!(names.is_empty(), "{names:?}");

    // A database that cannot be opened: exit 1, and the metrics say so.
    let (code, _, stderr) = output(
        dir.path(),
        &["files", "--db", "missing/x.db", "--metrics-file", "m.prom"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("m.prom")).unwrap();
    assert!(
        text.contains(
            "dropship_import_last_run_status{database=\"missing/x.db\",status=\"error\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("dropship_import_last_run_exit_code{database=\"missing/x.db\"} 1"),
        "{text}"
    );
}

/// At a terminal the JSON summary is not printed unless asked for; one
/// line says how to get it. Run under `script`, which gives the command a
/// terminal, where it is installed.
#[test]
fn at_a_terminal_the_json_is_printed_only_with_json() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to give the run a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 2, 100);
    let bin = assert_cmd::cargo::cargo_bin("dropship-import");
    let at_terminal = |extra: &str| {
        let out = std::process::Command::new("script")
            .current_dir(dir.path())
            .env("COLUMNS", "100")
            .args([
                "-qec",
                &format!("{} files --force {extra}", bin.display()),
                "/dev/null",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let screen = at_terminal("");
    assert!(screen.contains("done (run 1, "), "{screen}");
    assert!(screen.contains("the JSON summary: add --json"), "{screen}");
    assert!(
        !screen.contains("\"run_id\""),
        "JSON at a terminal:\n{screen}"
    );
    let screen = at_terminal("--json");
    assert!(screen.contains("\"run_id\": 2"), "{screen}");
    assert!(!screen.contains("the JSON summary: add --json"), "{screen}");
}

/// `--metrics-file /dev/stderr` with stderr appended to a log (cron's
/// `2>>cron.log`): the metrics join the log; the log is not replaced.
#[test]
fn metrics_to_a_redirected_stream_add_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), 1, 50);
    let log = dir.path().join("cron.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let err = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("dropship-import"))
        .current_dir(dir.path())
        .args(["files", "--metrics-file", "/dev/stderr"])
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("earlier run\n"), "{text}");
    assert!(text.contains("dropship_import_last_run_success{"), "{text}");
}
