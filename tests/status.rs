//! Integration tests of `dropship-import status`: runs are listed and shown
//! as the imports recorded them, a killed run is `interrupted`, a missing
//! database is reported and not created, and a database is read while
//! another process imports into it (progress, ETA, `--follow`).
//!
//! Every command runs in its own temporary folder (the repository has an
//! `importer.toml` that must not be read).

use common::generate;

mod common;

use common::{Env, csv, line};
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// What one `status` command printed.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Out {
        assert_eq!(
            self.code, code,
            "exit code of status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `dropship-import ARGS` in the test's folder.
fn cmd(dir: &Path, args: &[&str], timeout: Duration) -> Out {
    let out = assert_cmd::Command::cargo_bin("dropship-import")
        .expect("binary built")
        .current_dir(dir)
        .args(args)
        .timeout(timeout)
        .output()
        .expect("run dropship-import");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn status(env: &Env, args: &[&str]) -> Out {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    cmd(env.dir.path(), &all, Duration::from_secs(30))
}

/// Two imports: run 1 all good, run 2 with a rejected row.
fn two_runs(env: &Env) -> (Value, Value) {
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2").set("No", "2")]));
    env.write(
        "b.csv",
        csv(&[
            line("DS-3"),
            line("DS-4").set("No", "2").set("Qty", "two"),
            line("DS-5").set("No", "3"),
        ]),
    );
    let first = env.run(&["a.csv", "--progress", "none"]);
    first.expect_code(0);
    let second = env.run(&["b.csv", "--progress", "none"]);
    second.expect_code(3);
    (first.json.clone(), second.json.clone())
}

// ---------------------------------------------------------------------------
// Finished runs

#[test]
fn lists_runs_newest_first() {
    let env = Env::new();
    two_runs(&env);
    let out = status(&env, &[]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for column in ["ID", "STARTED", "DURATION", "IMPORTED", "PEAK MEM", "STATE"] {
        assert!(lines[0].contains(column), "{}", out.stdout);
    }
    let fields = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    let newest = fields(lines[1]);
    let oldest = fields(lines[2]);
    assert_eq!(newest.first().map(String::as_str), Some("2"));
    assert_eq!(newest.last().map(String::as_str), Some("partial"));
    assert_eq!(oldest.first().map(String::as_str), Some("1"));
    assert_eq!(oldest.last().map(String::as_str), Some("ok"));
    assert!(
        lines[1].contains("MiB"),
        "peak memory shown: {}",
        out.stdout
    );

    let out = status(&env, &["--limit", "1"]);
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
}

#[test]
fn json_list_says_what_the_import_summaries_said() {
    let env = Env::new();
    let summaries = two_runs(&env);
    let out = status(&env, &["--json"]);
    out.expect_code(0);
    let list = out.json();
    let runs = list.as_array().expect("an array of runs");
    assert_eq!(runs.len(), 2);
    for (run, summary) in runs.iter().zip([&summaries.1, &summaries.0]) {
        assert_eq!(run["id"], summary["run_id"]);
        assert_eq!(run["state"], summary["status"]);
        // The database records the same run: it starts no earlier than
        // the summary's start (to the second the times are written in) and
        // ends no earlier than it started. No bound on how long anything
        // took: a loaded machine may pause the process anywhere.
        let (run_start, run_end) = (time(&run["started_at"]), time(&run["finished_at"]));
        let (sum_start, sum_end) = (time(&summary["started_at"]), time(&summary["finished_at"]));
        let second = Duration::from_secs(1);
        assert!(
            run_start + second >= sum_start,
            "started_at: {run} vs {summary}"
        );
        assert!(
            run_start <= sum_end + second,
            "started_at: {run} vs {summary}"
        );
        assert!(run_end + second >= run_start, "finished_at: {run}");
        assert!(sum_end + second >= sum_start, "finished_at: {summary}");
        assert_eq!(run["elapsed_ms"], summary["elapsed_ms"]);
        assert_eq!(run["files"], summary["files"]);
        assert_eq!(run["rows"], summary["rows"]);
        assert_eq!(run["peak_rss_bytes"], summary["memory"]["peak_rss_bytes"]);
        assert_eq!(run["rows_per_sec"], summary["throughput"]["rows_per_sec"]);
        assert_eq!(run["bytes_per_sec"], summary["throughput"]["bytes_per_sec"]);
        assert!(run["rows"]["imported"].is_u64(), "numbers as numbers");
    }
    assert_eq!(runs[0]["rows"]["rejected"], 1);
}

#[test]
fn one_run_with_its_files() {
    let env = Env::new();
    let (_, summary) = two_runs(&env);
    let out = status(&env, &["2"]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("run 2: partial\n"), "{}", out.stdout);
    assert!(out.stdout.contains("options"), "{}", out.stdout);
    let file_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("b.csv"))
        .unwrap_or_else(|| panic!("no line for b.csv:\n{}", out.stdout));
    let cells: Vec<&str> = file_line.split_whitespace().collect();
    assert_eq!(cells[1], "imported", "{file_line}");
    // READ IMPORTED REJECTED DUPLICATE FILTERED FAILED
    assert_eq!(&cells[cells.len() - 6..], ["3", "2", "1", "0", "0", "0"]);

    let out = status(&env, &["2", "--json"]);
    out.expect_code(0);
    let detail = out.json();
    assert_eq!(detail["run"]["id"], 2);
    assert_eq!(detail["run"]["rows"], summary["rows"]);
    assert_eq!(detail["run"]["options"]["inputs"][0], "b.csv");
    assert!(detail["progress"].is_null(), "a finished run has no ETA");
    let files = detail["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    let per_file = &summary["per_file"][0];
    assert_eq!(files[0]["path"], per_file["path"]);
    assert_eq!(files[0]["state"], "imported");
    assert_eq!(files[0]["size_bytes"], per_file["size_bytes"]);
    assert_eq!(files[0]["rows"], per_file["rows"]);
    assert_eq!(files[0]["bytes_committed"], per_file["size_bytes"]);

    // A finished run: `--follow` prints it once and returns (the 30 s
    // failsafe of `status` would fail a follow that waited for nothing).
    let out = status(&env, &["1", "--follow"]);
    out.expect_code(0);
    assert_eq!(out.stdout.matches("run 1: ok").count(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("run 1: ok\n"), "{}", out.stdout);
    let out = status(&env, &["--follow", "--json"]);
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 1, "one JSON document per line");
    assert_eq!(out.json()["run"]["id"], 2);
}

#[test]
fn unknown_run_is_an_error_naming_the_database() {
    let env = Env::new();
    two_runs(&env);
    let out = status(&env, &["99"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("no run 99 in dropship.db"),
        "{}",
        out.stderr
    );
    status(&env, &["99", "--json"]).expect_code(1);
}

#[test]
fn missing_database_is_reported_and_not_created() {
    let env = Env::new();
    for args in [&[][..], &["--json"], &["3"], &["--follow"]] {
        let out = status(&env, args);
        out.expect_code(1);
        assert!(
            out.stderr
                .contains("no database at dropship.db (nothing imported yet)"),
            "{}",
            out.stderr
        );
    }
    status(&env, &["--db", "other.db"]).expect_code(1);
    let left: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "status created {left:?}");
}

#[test]
fn database_without_the_tables_is_reported() {
    let env = Env::new();
    Connection::open(env.path("other.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let out = status(&env, &["--db", "other.db"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("no import history in other.db"),
        "{}",
        out.stderr
    );

    env.write(
        "junk.db",
        "this is not a database, only text long enough to look like one",
    );
    let out = status(&env, &["--db", "junk.db"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("not a usable SQLite database"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    two_runs(&env);
    status(&env, &["--limit", "0"]).expect_code(2);
    status(&env, &["--bogus"]).expect_code(2);
    env.write("importer.toml", "[nonsense]\nkey = 1\n");
    status(&env, &[]).expect_code(2);
}

#[test]
fn database_path_comes_from_the_config() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.write("importer.toml", "[database]\npath = \"shop.db\"\n");
    env.run(&["a.csv", "--progress", "none"]).expect_code(0);
    let out = status(&env, &["--json"]);
    out.expect_code(0);
    assert_eq!(out.json()[0]["rows"]["imported"], 1);
    assert!(!env.path("dropship.db").exists());
}

#[track_caller]
fn time(v: &Value) -> SystemTime {
    humantime::parse_rfc3339(v.as_str().expect("a time"))
        .unwrap_or_else(|e| panic!("{v} is not an RFC 3339 time: {e}"))
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Records, as a run would, a run that is `running` with one file done, one
/// half-way and two not begun; returns its id.
fn fake_running_run(db: &Path, started: SystemTime) -> i64 {
    let conn = Connection::open(db).unwrap();
    let started = rfc3339(started);
    conn.execute(
        "INSERT INTO import_runs (started_at, state, pid, version, options, files_total)
         VALUES (?1, 'running', ?2, '0.1.0', '{\"jobs\": 1}', 4)",
        rusqlite::params![started, std::process::id()],
    )
    .unwrap();
    let run = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO import_files (run_id, path, size_bytes, state, rows_read, rows_imported,
         bytes_committed, rows_committed, started_at, finished_at)
         VALUES (?1, 'x1.csv', 1000, 'imported', 10, 10, 1000, 10, ?2, ?2),
                (?1, 'x2.csv', 2000, 'in_progress', 5, 5, 1000, 5, ?2, NULL)",
        rusqlite::params![run, started],
    )
    .unwrap();
    run
}

#[test]
fn a_running_run_whose_import_is_gone_is_interrupted() {
    let env = Env::new();
    two_runs(&env);
    let id = fake_running_run(&env.path("dropship.db"), SystemTime::now());
    let out = status(&env, &["--json"]);
    out.expect_code(0);
    let newest = &out.json()[0];
    assert_eq!(newest["id"], id);
    assert_eq!(newest["state"], "interrupted");
    // Counted from its files, since the run never recorded its totals.
    assert_eq!(newest["rows"]["imported"], 15);
    assert_eq!(newest["files"]["imported"], 1);

    let out = status(&env, &[&id.to_string()]);
    out.expect_code(0);
    assert!(out.stdout.starts_with(&format!("run {id}: interrupted")));
    let x2 = out
        .stdout
        .lines()
        .find(|l| l.starts_with("x2.csv"))
        .unwrap();
    assert!(x2.contains("interrupted") && x2.contains("50.0%"), "{x2}");

    // Nothing to wait for: follow prints the run once and returns (a follow
    // that waited would hit the failsafe timeout and fail).
    let out = cmd(
        env.dir.path(),
        &["status", "--follow"],
        Duration::from_secs(60),
    );
    out.expect_code(0);
    assert_eq!(
        out.stdout
            .matches(&format!("run {id}: interrupted"))
            .count(),
        1,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("interrupted"), "{}", out.stdout);
}

#[test]
fn a_running_run_shows_progress_and_an_estimated_eta() {
    let env = Env::new();
    two_runs(&env);
    let db = env.path("dropship.db");
    let id = fake_running_run(&db, SystemTime::now() - Duration::from_secs(10));
    // Hold the database as a live import does.
    let claim = dropship_import::store::sqlite::claim::claim(&db).unwrap();
    let out = status(&env, &[&id.to_string(), "--json"]);
    out.expect_code(0);
    let d = out.json();
    assert_eq!(d["run"]["state"], "running");
    assert!(d["run"]["elapsed_ms"].as_u64().unwrap() >= 10_000);
    let x2 = &d["files"][1];
    assert_eq!(x2["state"], "in_progress");
    assert_eq!(x2["progress_percent"], 50.0);
    let p = &d["progress"];
    assert_eq!(p["is_estimate"], true);
    assert_eq!(p["bytes_done"], 2000);
    assert_eq!(p["files_not_started"], 2);
    // Left: 1000 of x2 and two files guessed at 2000 each. The rate is
    // 2000 bytes over however long the run has been going (at least 10 s,
    // so at most 200 B/s); the ETA is what is left at that rate. The unit
    // test beside `status` checks the figures with a fixed clock; here only
    // their relation, which no clock can change.
    assert_eq!(p["bytes_total_estimate"], 7000);
    let rate = p["bytes_per_sec"].as_u64().expect("a rate");
    assert!((1..=200).contains(&rate), "rate {rate}: {p}");
    let eta = p["eta_secs"].as_u64().expect("an ETA");
    // bytes_per_sec is the rate rounded down: 5000 bytes take at most
    // 5000 / rate and more than 5000 / (rate + 1) seconds.
    assert!(
        eta <= 5000u64.div_ceil(rate) && eta >= 5000 / (rate + 1),
        "eta {eta} for 5000 bytes at {rate} B/s: {p}"
    );

    let out = status(&env, &[&id.to_string()]);
    assert!(out.stdout.contains("(estimate:"), "{}", out.stdout);
    assert!(out.stdout.contains("2 files not started"), "{}", out.stdout);
    let list = status(&env, &["--json"]).json();
    assert_eq!(list[0]["state"], "running");

    drop(claim);
    assert_eq!(status(&env, &["--json"]).json()[0]["state"], "interrupted");
}

// ---------------------------------------------------------------------------
// While an import writes

/// Starts an import of `files/` as a child process, slow enough to watch.
fn start_import(dir: &Path) -> Child {
    StdCommand::new(env!("CARGO_BIN_EXE_dropship-import"))
        .current_dir(dir)
        .args([
            "files",
            "--chunk-size",
            "100",
            "-j",
            "1",
            "--progress",
            "none",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the import")
}

/// Calls `probe` every 50 ms until it returns `Some`, or panics after
/// `limit` (or when the import ended first).
#[track_caller]
fn poll<T>(
    child: &mut Child,
    limit: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if let Ok(Some(code)) = child.try_wait() {
            panic!("the import ended ({code}) before status saw {what}");
        }
        assert!(started.elapsed() < limit, "status never saw {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reads_the_database_while_an_import_writes_to_it() {
    let env = Env::new();
    let spec = generate::Spec {
        files: 6,
        rows: 300_000,
        seed: 11,
        bad_share: 0.0,
        dup_share: 0.0,
    };
    generate::generate(&env.path("files"), &spec, false).expect("generate the files");
    let mut import = Import(Some(start_import(env.dir.path())));

    // The run appears as running, with rows coming in.
    let limit = Duration::from_secs(60);
    let id = poll(import.child(), limit, "the run running with rows", || {
        let out = status(&env, &["--json"]);
        if out.code != 0 {
            // The database may not exist yet.
            return None;
        }
        let run = out.json()[0].clone();
        (run["state"] == "running" && run["rows"]["imported"].as_u64() > Some(0))
            .then(|| run["id"].as_i64().unwrap())
    });

    // One file is in progress, with committed bytes and a share done.
    let id_text = id.to_string();
    let detail = poll(import.child(), limit, "a file in progress", || {
        let d = status(&env, &[&id_text, "--json"]).json();
        let busy = d["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["state"] == "in_progress" && f["bytes_committed"].as_u64() > Some(0));
        (d["run"]["state"] == "running" && busy).then_some(d)
    });
    let file = detail["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["state"] == "in_progress")
        .unwrap();
    let pct = file["progress_percent"].as_f64().unwrap();
    assert!(pct > 0.0 && pct <= 100.0, "{file}");
    assert_eq!(detail["run"]["files"]["total"], 6);
    // The run recorded the work it was given: its progress is exact, over
    // the bytes of the six files.
    let planned: u64 = std::fs::read_dir(env.path("files"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(detail["run"]["planned_files"], 6);
    assert_eq!(detail["run"]["planned_bytes"], planned);
    assert_eq!(detail["progress"]["is_estimate"], false);
    assert_eq!(detail["progress"]["bytes_total_estimate"], planned);
    let text = status(&env, &[&id_text]);
    text.expect_code(0);
    assert!(text.stdout.contains("in_progress"), "{}", text.stdout);

    // `--follow` (the newest run) returns once the run has ended.
    let follow = cmd(
        env.dir.path(),
        &["status", "--follow"],
        Duration::from_secs(180),
    );
    follow.expect_code(0);
    let output = import
        .into_child()
        .wait_with_output()
        .expect("wait for the import");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("the import's summary");
    assert_eq!(output.status.code(), Some(0), "{summary}");
    assert!(
        follow.stdout.contains(&format!("run {id} running:")),
        "follow saw the run going:\n{}",
        follow.stdout
    );
    assert!(
        follow.stdout.contains(&format!("run {id}: ok")),
        "follow ends with the final state:\n{}",
        follow.stdout
    );

    let out = status(&env, &["--json"]);
    out.expect_code(0);
    let run = &out.json()[0];
    assert_eq!(run["id"], id);
    assert_eq!(run["state"], "ok");
    assert_eq!(run["rows"], summary["rows"]);
    assert_eq!(run["files"], summary["files"]);
    assert_eq!(run["rows"]["imported"], 300_000);
}

/// The import's process, killed if the test fails before it ends.
struct Import(Option<Child>);

impl Import {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the import is still held")
    }

    fn into_child(mut self) -> Child {
        self.0.take().expect("the import is still held")
    }
}

impl Drop for Import {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
