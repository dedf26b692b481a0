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
    assert!(stderr.contains("ok: 3 of 3 files"), "{stderr}");
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
