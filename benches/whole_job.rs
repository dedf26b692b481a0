//! The whole job, measured against `sqlite3 .import` and `psql \copy` of the
//! same files.
//!
//! Generates the data once (cached under `target/bench-data/`), then runs
//! `dropship-import` (fresh database, default settings) and a plain loader
//! of the same files alternately, several times, and prints the median wall
//! time and peak resident memory of each, their ratio, and the lowest and
//! highest ratio of a run of ours to the loader's run after it. Ratios, not
//! seconds, are the result: these machines are noisy.
//!
//! ```sh
//! cargo bench --bench whole_job                      # all cases, 5 runs each
//! cargo bench --bench whole_job -- --runs 3 main     # one case
//! cargo bench --bench whole_job -- --case pg         # the same, as an option
//! DROPSHIP_BENCH_PG=postgres://root@127.0.0.1:5432/test \
//!     cargo bench --bench whole_job -- --runs 5 pg pg-big
//! ```
//! SQLite cases, against the `sqlite3` shell's `.import --csv` into one flat
//! table (WAL, synchronous=NORMAL): `main` (100 files / 500,000 lines),
//! `big` (1 file / 2,000,000 lines), `small` (1,000 files / 500 lines each).
//!
//! PostgreSQL cases, against one `psql` that runs a script of `\copy ...
//! (FORMAT csv, HEADER true)`, one per file, into one table of 27 `text`
//! columns without an index, in a schema it creates: `pg` (the `main`
//! files), `pg-one` (1 file / 500,000 lines) and `pg-big` (1 file /
//! 2,000,000 lines; naming it runs `pg-one` too, and prints how many times
//! the 500,000-line file's time the four times larger file takes); `pg-2`
//! and `pg-4` start 2 and 4 runs of ours at once over the `pg` files into
//! one schema, where they share the files (timed until the last ends, the
//! memory of the largest, checked as one run: their summaries add up to
//! every row read and every file imported once). Ours
//! imports with `--db URL --schema pgbench_ours`; both schemas are dropped
//! before every run, outside the timing. The server is
//! `DROPSHIP_BENCH_PG` (default `postgres://root@127.0.0.1:5432/test`);
//! without that variable an unreachable default server skips these cases
//! when none is named. `COPY` refuses a line with a missing field, which
//! `sqlite3 .import` pads with NULL: psql is given a copy of the files in
//! which the few such lines (about 1 in 6,000) have that empty field added.
//!
//! Every timed run is checked before it counts: a run that fails at once
//! would look fast. Ours must exit 0 or 3 with a summary that read every
//! row, failed no file and put as many lines in the database as it says it
//! imported; `sqlite3` and `psql` must exit 0 with every row in their table.
//! When ours fails, the loader is still measured, the reason is printed and
//! the bench exits 1.

#[path = "../examples/generate.rs"]
mod generate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The loader ours is compared with.
#[derive(Clone, Copy, PartialEq)]
enum Peer {
    Sqlite3,
    Psql,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Sqlite3 => "sqlite3",
            Peer::Psql => "psql",
        }
    }
}

struct Case {
    name: &'static str,
    /// The data set, cached as `target/bench-data/{data}-{files}x{rows}`:
    /// cases of both databases share it.
    data: &'static str,
    files: usize,
    rows: usize,
    peer: Peer,
    /// Runs of ours started at once into one schema (sharing its files).
    runs: usize,
}

const CASES: [Case; 8] = [
    Case {
        name: "main",
        data: "main",
        files: 100,
        rows: 500_000,
        peer: Peer::Sqlite3,
        runs: 1,
    },
    Case {
        name: "big",
        data: "big",
        files: 1,
        rows: 2_000_000,
        peer: Peer::Sqlite3,
        runs: 1,
    },
    Case {
        name: "small",
        data: "small",
        files: 1000,
        rows: 500_000,
        peer: Peer::Sqlite3,
        runs: 1,
    },
    Case {
        name: "pg",
        data: "main",
        files: 100,
        rows: 500_000,
        peer: Peer::Psql,
        runs: 1,
    },
    Case {
        name: "pg-one",
        data: "one",
        files: 1,
        rows: 500_000,
        peer: Peer::Psql,
        runs: 1,
    },
    Case {
        name: "pg-big",
        data: "big",
        files: 1,
        rows: 2_000_000,
        peer: Peer::Psql,
        runs: 1,
    },
    Case {
        name: "pg-2",
        data: "main",
        files: 100,
        rows: 500_000,
        peer: Peer::Psql,
        runs: 2,
    },
    Case {
        name: "pg-4",
        data: "main",
        files: 100,
        rows: 500_000,
        peer: Peer::Psql,
        runs: 4,
    },
];

/// The most `pg-big` may take, in times `pg-one`'s time, for 4x the rows.
const PG_BIG_GOAL: f64 = 4.4;

const PG_ENV: &str = "DROPSHIP_BENCH_PG";
const PG_DEFAULT: &str = "postgres://root@127.0.0.1:5432/test";
/// The schemas the PostgreSQL cases load into, dropped before every run.
const OURS_SCHEMA: &str = "pgbench_ours";
const PSQL_SCHEMA: &str = "pgbench_psql";

/// One measured run: wall time and peak resident memory of the child.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    peak_rss: u64,
}

fn main() {
    // The data is generated (and copied for psql) in a child process: a
    // process's peak RSS is inherited by the processes it starts, so the
    // measuring process must stay small.
    if let Ok(spec) = std::env::var(GENERATE_ENV) {
        generate_here(&spec);
        return;
    }
    if let Ok(spec) = std::env::var(PAD_ENV) {
        pad_here(&spec);
        return;
    }
    let mut runs = 5;
    let mut named = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--case" => match args.next() {
                Some(name) => named.push(name),
                None => stop("--case needs a case name"),
            },
            "--bench" => {}
            name if !name.starts_with('-') => named.push(name.to_string()),
            _ => {}
        }
    }
    let runs = runs.max(1);
    let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    if let Some(unknown) = named.iter().find(|n| !names.contains(&n.as_str())) {
        stop(&format!(
            "no case {unknown:?}; the cases are {}",
            names.join(", ")
        ));
    }
    // `pg-big` is measured against `pg-one`.
    if named.iter().any(|n| n == "pg-big") && !named.iter().any(|n| n == "pg-one") {
        named.push("pg-one".to_string());
    }
    let mut selected: Vec<&Case> = CASES
        .iter()
        .filter(|c| named.is_empty() || named.iter().any(|n| n == c.name))
        .collect();
    if selected.iter().any(|c| c.peer == Peer::Sqlite3)
        && Command::new("sqlite3").arg("-version").output().is_err()
    {
        stop("the sqlite3 command is needed for the comparison (apt-get install sqlite3)");
    }
    let pg_url = std::env::var(PG_ENV).ok();
    let pg_set = pg_url.is_some();
    let pg_url = pg_url.unwrap_or_else(|| PG_DEFAULT.to_string());
    if selected.iter().any(|c| c.peer == Peer::Psql) {
        if Command::new("psql").arg("--version").output().is_err() {
            stop(
                "the psql command is needed for the PostgreSQL cases (apt-get install postgresql-client)",
            );
        }
        if let Err(e) = psql(&pg_url, "SELECT 1") {
            let why = format!(
                "PostgreSQL at {} is unreachable ({}); set {PG_ENV} to a server's URL",
                shown(&pg_url),
                e.trim()
            );
            if named.is_empty() && !pg_set {
                eprintln!("skipping the PostgreSQL cases: {why}");
                selected.retain(|c| c.peer != Peer::Psql);
            } else {
                stop(&why);
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!(
        "cores: {}; runs per tool: {runs}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if selected.iter().any(|c| c.peer == Peer::Psql) {
        println!("PostgreSQL: {}", shown(&pg_url));
    }
    let mut failures = Vec::new();
    let mut main_rate = None;
    let mut pg_one: Option<(Option<Sample>, Sample)> = None;
    let mut header_for = None;
    for case in selected {
        if header_for != Some(case.peer) {
            print_header(case.peer);
            header_for = Some(case.peer);
        }
        let dir = root.join(format!("{}-{}x{}", case.data, case.files, case.rows));
        let files = ensure_data(&dir, case);
        let bytes: u64 = files
            .iter()
            .map(|f| f.metadata().map_or(0, |m| m.len()))
            .sum();
        let peer_files = match case.peer {
            Peer::Sqlite3 => files.clone(),
            Peer::Psql => ensure_psql_copy(&dir, &files),
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut failed = None;
        for _ in 0..runs {
            // Once ours has failed, the rest of its runs would fail the same way.
            if failed.is_none() {
                match case.peer {
                    Peer::Sqlite3 => ours.push(run_ours(&dir, case)),
                    Peer::Psql => match run_ours_pg(&dir, case, &pg_url) {
                        Ok(sample) => ours.push(sample),
                        Err(e) => failed = Some(e),
                    },
                }
            }
            theirs.push(match case.peer {
                Peer::Sqlite3 => run_sqlite3(&dir, &peer_files, case),
                Peer::Psql => run_psql(&dir, &peer_files, case, &pg_url),
            });
        }
        let t = median(&theirs);
        let o = (!ours.is_empty() && failed.is_none()).then(|| median(&ours));
        print_row(case, bytes, o, t, &ours, &theirs);
        if let Some(e) = failed {
            println!("{}: dropship-import failed, not measured: {e}", case.name);
            failures.push(case.name);
        }
        match (case.name, o) {
            ("main", Some(o)) => main_rate = Some((case.rows as f64 / secs(o), o)),
            ("big", Some(o)) => {
                if let Some((_, main)) = main_rate {
                    println!(
                        "one big file: {:.2}x the main case's time for 4x the rows; peak memory {:+.0}%",
                        secs(o) / secs(main),
                        100.0 * (o.peak_rss as f64 / main.peak_rss as f64 - 1.0)
                    );
                }
            }
            ("small", Some(o)) => {
                if let Some((main, _)) = main_rate {
                    println!(
                        "small files: {:.0}% of the main case's rows/s",
                        100.0 * (case.rows as f64 / secs(o)) / main
                    );
                }
            }
            ("pg-one", o) => pg_one = Some((o, t)),
            ("pg-big", o) => {
                if let Some((one_ours, one_psql)) = pg_one {
                    match (o, one_ours) {
                        (Some(o), Some(one)) => {
                            let times = secs(o) / secs(one);
                            println!(
                                "one big file (PostgreSQL): ours {times:.2}x the 500,000-line file's time for 4x the rows (goal <= {PG_BIG_GOAL}x: {}); peak memory {:+.0}%",
                                if times <= PG_BIG_GOAL {
                                    "met"
                                } else {
                                    "missed"
                                },
                                100.0 * (o.peak_rss as f64 / one.peak_rss as f64 - 1.0)
                            );
                        }
                        _ => println!(
                            "one big file (PostgreSQL): ours not measured (goal <= {PG_BIG_GOAL}x the 500,000-line file's time)"
                        ),
                    }
                    println!(
                        "one big file (PostgreSQL): psql \\copy {:.2}x the 500,000-line file's time",
                        secs(t) / secs(one_psql)
                    );
                }
            }
            _ => {}
        }
    }
    if !failures.is_empty() {
        eprintln!();
        for name in &failures {
            eprintln!("{name}: dropship-import failed (the reason is above)");
        }
        std::process::exit(1);
    }
}

/// Ends the bench with a message instead of a panic's backtrace.
fn stop(message: &str) -> ! {
    eprintln!("whole_job: {message}");
    std::process::exit(1);
}

fn secs(s: Sample) -> f64 {
    s.wall.as_secs_f64()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn print_header(peer: Peer) {
    let short = match peer {
        Peer::Sqlite3 => "sq",
        Peer::Psql => "psql",
    };
    println!(
        "{:<6} {:>6} {:>9} {:>9} | {:>10} {:>9} | {:>10} {:>9} | {:>6} {:>11}",
        "case",
        "files",
        "rows",
        "MB",
        "ours s",
        "ours MiB",
        format!("{} s", peer.name()),
        format!("{short} MiB"),
        "ratio",
        "pairs"
    );
}

/// A case's medians; ours as `failed` when it did not run through.
fn print_row(
    case: &Case,
    bytes: u64,
    ours: Option<Sample>,
    theirs: Sample,
    ours_runs: &[Sample],
    their_runs: &[Sample],
) {
    let (o_s, o_mib, ratio, pairs) = match ours {
        Some(o) => {
            // Each run of ours against the peer's run right after it.
            let pairs: Vec<f64> = ours_runs
                .iter()
                .zip(their_runs)
                .map(|(o, t)| secs(*o) / secs(*t))
                .collect();
            let lowest = pairs.iter().copied().fold(f64::INFINITY, f64::min);
            let highest = pairs.iter().copied().fold(0.0, f64::max);
            (
                format!("{:.3}", secs(o)),
                format!("{:.1}", mib(o.peak_rss)),
                format!("{:.2}", secs(o) / secs(theirs)),
                format!("{lowest:.2}-{highest:.2}"),
            )
        }
        None => ("failed".into(), "-".into(), "-".into(), "-".into()),
    };
    println!(
        "{:<6} {:>6} {:>9} {:>9.1} | {:>10} {:>9} | {:>10.3} {:>9.1} | {:>6} {:>11}",
        case.name,
        case.files,
        case.rows,
        bytes as f64 / 1e6,
        o_s,
        o_mib,
        secs(theirs),
        mib(theirs.peak_rss),
        ratio,
        pairs
    );
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
    list_files(&data)
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
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

const PAD_ENV: &str = "DROPSHIP_BENCH_PAD";

/// The data set as psql loads it (`psql-files/` beside `files/`, made once):
/// the same bytes, but a line with fewer fields than the header gets the
/// missing ones, empty, which `COPY` needs and `sqlite3 .import` does by
/// itself.
fn ensure_psql_copy(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let copy = dir.join("psql-files");
    let marker = dir.join("psql-complete");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).expect("create psql-files");
        eprintln!("copying {} for psql ...", dir.display());
        let me = std::env::current_exe().expect("own path");
        let status = Command::new(me)
            .env(
                PAD_ENV,
                format!("{}|{}", dir.join("files").display(), copy.display()),
            )
            .status()
            .expect("start copier");
        assert!(status.success(), "copying the data for psql failed");
        std::fs::write(&marker, "").expect("write marker");
    }
    let copies = list_files(&copy);
    assert_eq!(copies.len(), files.len(), "files in {}", copy.display());
    copies
}

/// `from|to`: copies every file of `from` into `to`, completing short
/// records (in the child process).
fn pad_here(spec: &str) {
    let (from, to) = spec.split_once('|').expect("spec");
    let mut padded = 0;
    for src in list_files(Path::new(from)) {
        let bytes = std::fs::read(&src).expect("read data file");
        let out = pad_short_records(&bytes, &mut padded);
        std::fs::write(Path::new(to).join(src.file_name().expect("name")), out)
            .expect("write copy");
    }
    eprintln!("{padded} lines with a missing field completed for psql");
}

/// `bytes` with `,` added to each record that has fewer fields than the
/// first (the header); everything else byte for byte.
fn pad_short_records(bytes: &[u8], padded: &mut usize) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut records = Vec::new(); // (start, fields)
    while reader
        .read_byte_record(&mut record)
        .expect("parse data file")
    {
        let start = record.position().expect("position").byte() as usize;
        records.push((start, record.len()));
    }
    let width = records.first().map_or(0, |r| r.1);
    let mut out = Vec::with_capacity(bytes.len() + 1024);
    // Anything before the first record (nothing, in generated files).
    out.extend_from_slice(&bytes[..records.first().map_or(0, |r| r.0)]);
    for (i, &(start, fields)) in records.iter().enumerate() {
        let end = records.get(i + 1).map_or(bytes.len(), |r| r.0);
        let raw = &bytes[start..end];
        if fields < width {
            let body = raw.len()
                - raw
                    .iter()
                    .rev()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count();
            out.extend_from_slice(&raw[..body]);
            out.extend(std::iter::repeat_n(b',', width - fields));
            out.extend_from_slice(&raw[body..]);
            *padded += 1;
        } else {
            out.extend_from_slice(raw);
        }
    }
    out
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
        .args(size_limit(case))
        .stdout(std::fs::File::create(&summary_path).expect("summary file"))
        .stderr(Stdio::null());
    let (sample, code) = measure(cmd);
    let text = std::fs::read_to_string(&summary_path).unwrap_or_default();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON summary ({e}), exit {code:?}:\n{text}",
            case.name
        )
    });
    if let Err(e) = check_summary(&summary, code, case) {
        panic!("{}: {e}:\n{text}", case.name);
    }
    let lines = count_rows(&db, "dropship_purchase_details");
    assert_eq!(
        Some(lines),
        imported(&summary),
        "{}: lines in the database vs rows imported",
        case.name
    );
    remove_db(&db);
    sample
}

/// The single big file exceeds the default 100 MiB limit.
fn size_limit(case: &Case) -> &'static [&'static str] {
    if case.files == 1 {
        &["--max-file-size", "1GiB"]
    } else {
        &[]
    }
}

fn imported(summary: &serde_json::Value) -> Option<u64> {
    summary.pointer("/rows/imported").and_then(|v| v.as_u64())
}

/// Exit 0 or 3, every row read, no file failed, every file imported.
fn check_summary(
    summary: &serde_json::Value,
    code: Option<i32>,
    case: &Case,
) -> Result<(), String> {
    let n = |pointer: &str| summary.pointer(pointer).and_then(|v| v.as_u64());
    if !matches!(code, Some(0 | 3)) {
        return Err(format!("dropship-import exited {code:?}"));
    }
    let expect = |what: &str, pointer: &str, want: usize| match n(pointer) {
        Some(got) if got == want as u64 => Ok(()),
        got => Err(format!("{what}: {got:?}, expected {want}")),
    };
    expect("rows read", "/rows/read", case.rows)?;
    expect("failed files", "/files/failed", 0)?;
    expect("imported files", "/files/imported", case.files)
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
        .stdout(Stdio::null())
        .stderr(Stdio::null());
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

/// One timed run of ours into a fresh schema of the PostgreSQL server,
/// checked as [`run_ours`] checks; a failure is returned, with what the
/// tool said, for the bench to report.
fn run_ours_pg(dir: &Path, case: &Case, url: &str) -> Result<Sample, String> {
    drop_schema(url, OURS_SCHEMA);
    let paths = |i: usize| {
        (
            dir.join(format!("summary-{i}.json")),
            dir.join(format!("ours-stderr-{i}.txt")),
        )
    };
    let cmds = (0..case.runs).map(|i| {
        let (summary_path, stderr_path) = paths(i);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dropship-import"));
        cmd.current_dir(dir)
            .args(["files", "--db", url, "--schema", OURS_SCHEMA])
            .args(["--progress", "none", "-q"])
            .args(size_limit(case))
            .stdout(std::fs::File::create(&summary_path).expect("summary file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
        cmd
    });
    let (sample, codes) = measure_all(cmds.collect());
    // Runs that share the files: their summaries add up to one run's.
    let mut total = serde_json::json!({"rows": {"read": 0, "imported": 0},
                                       "files": {"failed": 0, "imported": 0}});
    let (mut said, mut code) = (String::new(), Some(0));
    for (i, run_code) in codes.into_iter().enumerate() {
        let (summary_path, stderr_path) = paths(i);
        let text = std::fs::read_to_string(&summary_path).unwrap_or_default();
        said.push_str(&std::fs::read_to_string(&stderr_path).unwrap_or_default());
        code = match (code, run_code) {
            (Some(0 | 3), Some(c @ (0 | 3))) => Some(c.max(code.unwrap_or(0))),
            (_, other) => other,
        };
        let summary: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        for pointer in [
            "/rows/read",
            "/rows/imported",
            "/files/failed",
            "/files/imported",
        ] {
            let n = summary
                .pointer(pointer)
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if let Some(sum) = total.pointer_mut(pointer) {
                *sum = (sum.as_u64().unwrap_or(0) + n).into();
            }
        }
    }
    let text = match case.runs {
        1 => std::fs::read_to_string(paths(0).0).unwrap_or_default(),
        _ => total.to_string(),
    };
    let fail = |why: String| {
        let mut message = format!("{why} (exit {code:?})");
        let said = said.trim();
        if !said.is_empty() {
            let tail: Vec<&str> = said.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            message.push_str(&format!("; it said:\n    {}", tail.join("\n    ")));
        }
        if !text.trim().is_empty() {
            message.push_str(&format!("\n  summary: {}", text.trim()));
        }
        if code == Some(2) || text.trim().is_empty() {
            message.push_str(&format!(
                "\n  (does this build import into PostgreSQL yet? the bench ran: dropship-import files --db {} --schema {OURS_SCHEMA} --progress none -q{})",
                shown(url),
                size_limit(case).iter().map(|a| format!(" {a}")).collect::<String>()
            ));
        }
        message
    };
    let summary: serde_json::Value = match serde_json::from_str(&text) {
        Ok(summary) => summary,
        Err(e) => return Err(fail(format!("no JSON summary ({e})"))),
    };
    check_summary(&summary, code, case).map_err(fail)?;
    let lines = psql(
        url,
        &format!("SELECT count(*) FROM {OURS_SCHEMA}.dropship_purchase_details"),
    )
    .map_err(|e| fail(format!("counting its lines: {}", e.trim())))?;
    if lines.trim().parse::<u64>().ok() != imported(&summary) {
        return Err(fail(format!(
            "{} lines in the database, {:?} rows imported",
            lines.trim(),
            imported(&summary)
        )));
    }
    drop_schema(url, OURS_SCHEMA);
    Ok(sample)
}

/// One timed `psql` that creates a schema and a table of 27 `text` columns
/// and `\copy`s every file into it, checked: exit 0, every row in the table.
fn run_psql(dir: &Path, files: &[PathBuf], case: &Case, url: &str) -> Sample {
    drop_schema(url, PSQL_SCHEMA);
    let columns: Vec<String> = (0..27).map(|i| format!("c{i} text")).collect();
    let mut script = format!(
        "CREATE SCHEMA {PSQL_SCHEMA};\nCREATE TABLE {PSQL_SCHEMA}.orders({});\n",
        columns.join(", ")
    );
    for f in files {
        script.push_str(&format!(
            "\\copy {PSQL_SCHEMA}.orders FROM '{}' WITH (FORMAT csv, HEADER true)\n",
            f.display().to_string().replace('\'', "''")
        ));
    }
    let script_path = dir.join("psql-import.sql");
    std::fs::write(&script_path, script).expect("write script");
    let stderr_path = dir.join("psql-stderr.txt");
    let mut cmd = Command::new("psql");
    cmd.current_dir(dir)
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&script_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
    let (sample, code) = measure(cmd);
    if code != Some(0) {
        let said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        stop(&format!(
            "{}: psql \\copy exited {code:?}: {}",
            case.name,
            said.trim()
        ));
    }
    let rows = psql(url, &format!("SELECT count(*) FROM {PSQL_SCHEMA}.orders"))
        .unwrap_or_else(|e| stop(&format!("{}: counting psql's rows: {e}", case.name)));
    if rows.trim() != case.rows.to_string() {
        stop(&format!(
            "{}: psql \\copy loaded {} rows, expected {}",
            case.name,
            rows.trim(),
            case.rows
        ));
    }
    drop_schema(url, PSQL_SCHEMA);
    sample
}

/// Runs one statement with `psql`; its output, or what it said on failure.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("start psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn drop_schema(url: &str, schema: &str) {
    if let Err(e) = psql(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")) {
        stop(&format!("dropping schema {schema}: {}", e.trim()));
    }
}

/// The URL as printed: without a password.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_string(),
    }
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
fn measure(cmd: Command) -> (Sample, Option<i32>) {
    let (sample, codes) = measure_all(vec![cmd]);
    (sample, codes[0])
}

/// Several commands started at once: the wall time until the last ends,
/// the largest peak RSS of one, and each exit code.
#[allow(clippy::zombie_processes)]
fn measure_all(cmds: Vec<Command>) -> (Sample, Vec<Option<i32>>) {
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    let pids: Vec<libc::pid_t> = cmds
        .into_iter()
        .map(|mut cmd| cmd.spawn().expect("start command").id() as libc::pid_t)
        .collect();
    let (mut wall, mut peak_rss, mut codes) = (Duration::ZERO, 0, Vec::new());
    for pid in pids {
        let mut status = 0;
        // SAFETY: wait4 on our own child, with a zeroed rusage to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        wall = wall.max(start.elapsed());
        assert_eq!(rc, pid, "wait4 failed");
        peak_rss = peak_rss.max(usage.ru_maxrss.max(0) as u64 * 1024);
        codes.push(libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)));
    }
    (Sample { wall, peak_rss }, codes)
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
