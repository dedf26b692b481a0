//! The whole job, measured against `sqlite3 .import` of the same files.
//!
//! Generates the data once (cached under `target/bench-data/`), then runs
//! `dropship-import` (fresh database, default settings) and the `sqlite3`
//! shell's `.import --csv` into one flat table (WAL, synchronous=NORMAL)
//! alternately, several times, and prints the median wall time and peak
//! resident memory of each, their ratio, and the lowest and highest ratio of
//! a run of ours to the sqlite3 run after it. Ratios, not seconds, are the
//! result: these machines are noisy.
//!
//! ```sh
//! cargo bench --bench whole_job                  # all cases, 5 runs each
//! cargo bench --bench whole_job -- --runs 3 main # one case
//! ```
//! Cases: `main` (100 files / 500,000 lines), `big` (1 file / 2,000,000
//! lines), `small` (1,000 files / 500 lines each).
//!
//! Every timed run is checked before it counts: a run that fails at once
//! would look fast. Ours must exit 0 or 3 with a summary that read every
//! row, failed no file and put as many lines in the database as it says it
//! imported; `sqlite3` must exit 0 with every row in its table.

#[path = "../examples/generate.rs"]
mod generate;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    files: usize,
    rows: usize,
}

const CASES: [Case; 3] = [
    Case {
        name: "main",
        files: 100,
        rows: 500_000,
    },
    Case {
        name: "big",
        files: 1,
        rows: 2_000_000,
    },
    Case {
        name: "small",
        files: 1000,
        rows: 500_000,
    },
];

/// One measured run: wall time and peak resident memory of the child.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    peak_rss: u64,
}

fn main() {
    // The data is generated in a child process: a process's peak RSS is
    // inherited by the processes it starts, so the measuring process must
    // stay small.
    if let Ok(spec) = std::env::var(GENERATE_ENV) {
        generate_here(&spec);
        return;
    }
    let mut runs = 5;
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--bench" => {}
            name if !name.starts_with('-') => only.push(name.to_string()),
            _ => {}
        }
    }
    if Command::new("sqlite3").arg("-version").output().is_err() {
        eprintln!("the sqlite3 command is needed for the comparison (apt-get install sqlite3)");
        std::process::exit(1);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!(
        "cores: {}; runs per tool: {runs}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<6} {:>6} {:>9} {:>9} | {:>10} {:>9} | {:>10} {:>9} | {:>6} {:>11}",
        "case",
        "files",
        "rows",
        "MB",
        "ours s",
        "ours MiB",
        "sqlite3 s",
        "sq MiB",
        "ratio",
        "pairs"
    );
    let mut main_rate = None;
    for case in CASES
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c.name))
    {
        let dir = root.join(format!("{}-{}x{}", case.name, case.files, case.rows));
        let files = ensure_data(&dir, case);
        let bytes: u64 = files
            .iter()
            .map(|f| f.metadata().map_or(0, |m| m.len()))
            .sum();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(run_ours(&dir, case));
            theirs.push(run_sqlite3(&dir, &files, case));
        }
        let (o, t) = (median(&ours), median(&theirs));
        // Each run of ours against the sqlite3 run right after it.
        let pairs: Vec<f64> = ours
            .iter()
            .zip(&theirs)
            .map(|(o, t)| o.wall.as_secs_f64() / t.wall.as_secs_f64())
            .collect();
        let lowest = pairs.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = pairs.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<6} {:>6} {:>9} {:>9.1} | {:>10.3} {:>9.1} | {:>10.3} {:>9.1} | {:>6.2} {:>11}",
            case.name,
            case.files,
            case.rows,
            bytes as f64 / 1e6,
            o.wall.as_secs_f64(),
            o.peak_rss as f64 / (1 << 20) as f64,
            t.wall.as_secs_f64(),
            t.peak_rss as f64 / (1 << 20) as f64,
            o.wall.as_secs_f64() / t.wall.as_secs_f64(),
            format!("{lowest:.2}-{highest:.2}")
        );
        let rate = case.rows as f64 / o.wall.as_secs_f64();
        match case.name {
            "main" => main_rate = Some((rate, o)),
            "big" => {
                if let Some((_, main)) = main_rate {
                    println!(
                        "one big file: {:.2}x the main case's time for 4x the rows; peak memory {:+.0}%",
                        o.wall.as_secs_f64() / main.wall.as_secs_f64(),
                        100.0 * (o.peak_rss as f64 / main.peak_rss as f64 - 1.0)
                    );
                }
            }
            "small" => {
                if let Some((main, _)) = main_rate {
                    println!(
                        "small files: {:.0}% of the main case's rows/s",
                        100.0 * rate / main
                    );
                }
            }
            _ => {}
        }
    }
}

fn ensure_data(dir: &Path, case: &Case) -> Vec<PathBuf> {
    let data = dir.join("files");
    let marker = dir.join("complete");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(dir);
        eprintln!("generating {} ...", dir.display());
        let me = std::env::current_exe().expect("own path");
        let status = Command::new(me)
            .env(
                GENERATE_ENV,
                format!("{}|{}|{}", case.files, case.rows, data.display()),
            )
            .status()
            .expect("start generator");
        assert!(status.success(), "generating data failed");
        std::fs::write(&marker, "").expect("write marker");
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("read data folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

const GENERATE_ENV: &str = "DROPSHIP_BENCH_GENERATE";

/// `files|rows|dir`: writes the case's data (in the child process).
fn generate_here(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let mut number = || parts.next().and_then(|n| n.parse().ok()).expect("spec");
    let (files, rows) = (number(), number());
    let dir = PathBuf::from(spec.splitn(3, '|').nth(2).expect("dir"));
    let spec = generate::Spec {
        files,
        rows,
        seed: 42,
        bad_share: 0.001,
        dup_share: 0.01,
    };
    generate::generate(&dir, &spec, false).expect("generate data");
}

/// One timed run of ours (the single big file exceeds the default 100 MiB
/// limit), checked: exit 0 or 3, every row read, no file failed, the lines
/// it says it imported in the database.
fn run_ours(dir: &Path, case: &Case) -> Sample {
    let db = dir.join("ours.db");
    remove_db(&db);
    let summary_path = dir.join("summary.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dropship-import"));
    cmd.current_dir(dir)
        .args(["files", "--db", "ours.db", "--progress", "none", "-q"])
        .args(if case.files == 1 {
            &["--max-file-size", "1GiB"][..]
        } else {
            &[]
        })
        .stdout(std::fs::File::create(&summary_path).expect("summary file"))
        .stderr(std::process::Stdio::null());
    let (sample, code) = measure(cmd);
    let text = std::fs::read_to_string(&summary_path).unwrap_or_default();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON summary ({e}), exit {code:?}:\n{text}",
            case.name
        )
    });
    let n = |pointer: &str| summary.pointer(pointer).and_then(|v| v.as_u64());
    assert!(
        matches!(code, Some(0 | 3)),
        "{}: dropship-import exited {code:?}:\n{text}",
        case.name
    );
    assert_eq!(
        n("/rows/read"),
        Some(case.rows as u64),
        "{}: rows read:\n{text}",
        case.name
    );
    assert_eq!(
        n("/files/failed"),
        Some(0),
        "{}: failed files:\n{text}",
        case.name
    );
    assert_eq!(
        n("/files/imported"),
        Some(case.files as u64),
        "{}: imported files:\n{text}",
        case.name
    );
    let lines = count_rows(&db, "dropship_purchase_details");
    assert_eq!(
        Some(lines),
        n("/rows/imported"),
        "{}: lines in the database vs rows imported",
        case.name
    );
    remove_db(&db);
    sample
}

fn count_rows(db: &Path, table: &str) -> u64 {
    let conn =
        rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap_or_else(|e| panic!("count {table} in {}: {e}", db.display())) as u64
}

fn run_sqlite3(dir: &Path, files: &[PathBuf], case: &Case) -> Sample {
    let db = dir.join("sqlite3.db");
    remove_db(&db);
    let columns: Vec<String> = (0..27).map(|i| format!("c{i}")).collect();
    let mut script = format!(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nCREATE TABLE orders({});\n",
        columns.join(", ")
    );
    for f in files {
        script.push_str(&format!(
            ".import --csv --skip 1 '{}' orders\n",
            f.display()
        ));
    }
    let script_path = dir.join("import.sql");
    std::fs::write(&script_path, script).expect("write script");
    let mut cmd = Command::new("sqlite3");
    cmd.current_dir(dir)
        .arg("sqlite3.db")
        .stdin(std::fs::File::open(&script_path).expect("open script"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let (sample, code) = measure(cmd);
    assert_eq!(code, Some(0), "{}: sqlite3 .import failed", case.name);
    // Bad rows with a missing field (field_count) are still imported by
    // `.import`, padded with NULL: every data row is a table row.
    assert_eq!(
        count_rows(&db, "orders"),
        case.rows as u64,
        "{}: rows sqlite3 imported",
        case.name
    );
    remove_db(&db);
    sample
}

fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Runs a command; its wall time and peak RSS, and its exit code (`None`
/// when a signal ended it). The child is reaped by `wait4`, which also
/// reports its own peak RSS.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command) -> (Sample, Option<i32>) {
    let start = Instant::now();
    let child = cmd.spawn().expect("start command");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child, with a zeroed rusage to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(rc, pid, "wait4 failed");
    let kib = usage.ru_maxrss.max(0) as u64;
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (
        Sample {
            wall,
            peak_rss: kib * 1024,
        },
        code,
    )
}

fn median(samples: &[Sample]) -> Sample {
    let mut walls: Vec<_> = samples.iter().map(|s| s.wall).collect();
    let mut rss: Vec<_> = samples.iter().map(|s| s.peak_rss).collect();
    walls.sort();
    rss.sort();
    Sample {
        wall: walls[walls.len() / 2],
        peak_rss: rss[rss.len() / 2],
    }
}
