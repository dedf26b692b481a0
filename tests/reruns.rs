//! Integration tests of what a file "is" across runs: a file read with
//! `--channel` is imported only for that channel's rows; a killed run's
//! partial file gives way when its path comes back with other bytes, and is
//! named while it is left; a run that only skips has no id and ids are never
//! reused; the progress log says each file's end once, and only once it is
//! committed.
//!
//! Kills are deterministic: the run is frozen (SIGSTOP) as soon as the
//! database shows a committed part of the file, checked to be part-way, then
//! killed with SIGKILL. The tests of `--channel` and of partial files run
//! against SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::{Csv, Env, Line, Run, line};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dropship-import");

/// `orders` orders of `lines_each` lines; order `i` is in channel
/// `channels[i % channels.len()]`.
fn export(prefix: &str, orders: usize, lines_each: usize, channels: &[&str]) -> Vec<Line> {
    let mut lines = Vec::new();
    for i in 0..orders {
        let kode = format!("{prefix}-{i:05}");
        for j in 0..lines_each {
            lines.push(
                line(&kode)
                    .set("SKU", &format!("SKU-{i}-{j}"))
                    .set("Jenis Channel", channels[i % channels.len()]),
            );
        }
    }
    lines
}

fn ro(db: &Path) -> Option<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(conn)
}

/// Rows committed so far for the `in_progress` entry of a file named `name`:
/// through `conn` (opened read-only once the file exists) for SQLite, through
/// the test's own session for PostgreSQL.
fn committed(env: &Env, conn: &mut Option<Connection>, name: &str) -> Option<i64> {
    let sql = format!(
        "SELECT rows_committed FROM import_files WHERE state = 'in_progress' AND path LIKE '%{name}'"
    );
    if env.is_postgres() {
        let rows = env.database.try_query(&sql).ok()?;
        return rows.first()?.first()?.as_deref()?.parse().ok();
    }
    if conn.is_none() {
        *conn = ro(&env.path("dropship.db"));
    }
    conn.as_ref()?
        .query_row(&sql, [], |r| r.get(0))
        .optional()
        .ok()
        .flatten()
}

/// Starts an import with `args` in `env`, waits until it has committed part
/// of the file named `name`, freezes it, and kills it with SIGKILL; checks
/// that it was killed part-way through the file and returns the rows
/// committed for it. A run that got through the file before it could be
/// frozen (a busy machine) is tried again on a fresh database.
fn kill_mid_file(env: &Env, args: &[&str], name: &str, total_rows: i64) -> i64 {
    for _ in 0..10 {
        if let Some(rows) = try_kill_mid_file(env, args, name, total_rows) {
            return rows;
        }
        if env.is_postgres() {
            env.database.execute(&format!(
                "DROP SCHEMA {} CASCADE",
                common::db::ident(&env.database.pg().schema)
            ));
            continue;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(env.path(&format!("dropship.db{suffix}")));
        }
    }
    panic!("ten runs over {name} all ended before they could be killed part-way");
}

fn try_kill_mid_file(env: &Env, args: &[&str], name: &str, total_rows: i64) -> Option<i64> {
    let mut child = Command::new(BIN)
        .args(env.full_args(args))
        .current_dir(env.dir.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dropship-import");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conn = None;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        assert!(Instant::now() < deadline, "no commit of {name} seen");
        if committed(env, &mut conn, name).is_some_and(|n| n > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: signals to our own child, which has not been reaped.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = child.wait().expect("wait for the killed run");
    use std::os::unix::process::ExitStatusExt;
    if status.signal() != Some(libc::SIGKILL) {
        return None;
    }
    let rows = committed(env, &mut None, name).filter(|&rows| rows > 0 && rows < total_rows)?;
    Some(rows)
}

/// (state, error) of the `import_files` entry with this id.
fn file_entry(env: &Env, id: i64) -> (String, Option<String>) {
    let rows = env.query(&format!(
        "SELECT state, error FROM import_files WHERE id = {id}"
    ));
    let row = &rows[0];
    (row[0].clone().expect("a state"), row[1].clone())
}

/// Every line of the database as (order, sku), sorted.
fn all_lines(env: &Env) -> Vec<(String, String)> {
    env.query("SELECT kode_pesanan, sku FROM dropship_purchase_details ORDER BY 1, 2")
        .into_iter()
        .map(|r| (r[0].clone().expect("kode"), r[1].clone().expect("sku")))
        .collect()
}

fn expected_lines(lines: &[Line]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = lines
        .iter()
        .map(|l| (l.get("Kode Pesanan").to_string(), l.get("SKU").to_string()))
        .collect();
    all.sort();
    all
}

// ---------------------------------------------------------------------------
// --channel

both! {
    fn a_file_read_with_a_channel_is_imported_only_for_that_channels_rows(b) {
        let env = Env::on(b);
        // 6 orders of 2 lines: Shopee, Tokopedia, Lazada, Shopee, ...
        let lines = export("DS", 6, 2, &["Shopee", "Tokopedia", "Lazada"]);
        env.write("a.csv", Csv::new(&lines).render());

        let shopee = env.run(&["a.csv", "--channel", "Shopee"]);
        shopee.expect_code(0);
        assert_eq!(shopee.file_rows("a.csv"), [12, 4, 0, 0, 8, 0]);

        let again = env.run(&["a.csv", "--channel", " shopee "]);
        again.expect_code(0);
        assert_eq!(again.file_status("a.csv"), "skipped", "{}", again.stdout);

        let tokopedia = env.run(&["a.csv", "--channel", "Tokopedia"]);
        tokopedia.expect_code(0);
        assert_eq!(tokopedia.file_status("a.csv"), "imported");
        assert_eq!(tokopedia.file_rows("a.csv"), [12, 4, 0, 0, 8, 0]);

        // The dry run predicts what the run without a channel reports.
        let dry = env.run(&["a.csv", "--dry-run"]);
        dry.expect_code(0);
        let all = env.run(&["a.csv"]);
        all.expect_code(0);
        assert_eq!(all.file_status("a.csv"), "imported");
        // Lazada's rows come in; the others belong to the earlier entries.
        assert_eq!(all.file_rows("a.csv"), [12, 4, 0, 8, 0, 0]);
        assert_eq!(dry.file_status("a.csv"), "imported");
        assert_eq!(dry.rows(), all.rows(), "dry run:\n{}", dry.stdout);
        assert_eq!(all_lines(&env), expected_lines(&lines));

        for args in [&["a.csv"][..], &["a.csv", "--channel", "Lazada"]] {
            let skip = env.run(args);
            skip.expect_code(0);
            assert_eq!(skip.file_status("a.csv"), "skipped", "{args:?}");
        }
        let channels: Vec<Option<String>> = env
            .query("SELECT channel FROM import_files WHERE state = 'imported' ORDER BY id")
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(
            channels,
            [Some("shopee".to_string()), Some("tokopedia".into()), None]
        );
    }
}

both! {
    fn a_partial_file_read_with_another_channel_is_rolled_back_not_resumed(b) {
        let env = Env::on(b);
        let lines = export("DS", 1200, 3, &["Shopee", "Tokopedia"]);
        let total = lines.len() as i64;
        env.write("a.csv", Csv::new(&lines).render());
        let args = [
            "a.csv",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        let mut shopee = args.to_vec();
        shopee.extend(["--channel", "Shopee"]);
        kill_mid_file(&env, &shopee, "a.csv", total);
        let partial: i64 = env.one("SELECT id FROM import_files WHERE state = 'in_progress'");

        // Without a channel every row is wanted: the Shopee part is not resumed
        // (its filtered rows would never come in), it is taken out first.
        let dry = env.run(&["a.csv", "--dry-run"]);
        let all = env.run(&args);
        all.expect_code(0);
        assert_eq!(
            all.file_rows("a.csv"),
            [total as u64, total as u64, 0, 0, 0, 0]
        );
        assert_eq!(dry.rows(), all.rows(), "dry run:\n{}", dry.stdout);
        let (state, error) = file_entry(&env, partial);
        assert_eq!(state, "failed");
        assert!(
            error.as_deref().is_some_and(|e| e.contains("superseded")),
            "{error:?}"
        );
        assert_eq!(all_lines(&env), expected_lines(&lines));
        let owners: i64 = env.one("SELECT count(DISTINCT import_file_id) FROM dropship_purchases");
        assert_eq!(owners, 1, "one file owns every order");
    }
}

both! {
    fn a_partial_file_is_resumed_by_a_run_with_the_same_channel_and_completed_by_one_without(b) {
        let env = Env::on(b);
        let lines = export("DS", 1200, 3, &["Shopee", "Tokopedia"]);
        let total = lines.len() as u64;
        env.write("a.csv", Csv::new(&lines).render());
        let args = [
            "a.csv",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
            "--channel",
            "Shopee",
        ];
        kill_mid_file(&env, &args, "a.csv", total as i64);
        let partial: i64 = env.one("SELECT id FROM import_files WHERE state = 'in_progress'");

        let resumed = env.run(&args);
        resumed.expect_code(0);
        assert_eq!(file_entry(&env, partial), ("imported".to_string(), None));
        let shopee: i64 = env.one("SELECT count(*) FROM dropship_purchase_details");
        assert_eq!(shopee as u64, total / 2);

        let rest = env.run(&args[..7]);
        rest.expect_code(0);
        assert_eq!(rest.file_status("a.csv"), "imported");
        assert_eq!(
            rest.file_rows("a.csv"),
            [total, total / 2, 0, total / 2, 0, 0]
        );
        assert_eq!(all_lines(&env), expected_lines(&lines));
    }
}

// ---------------------------------------------------------------------------
// A killed file whose export changes

both! {
    fn a_partial_file_whose_path_comes_back_with_other_bytes_is_superseded(b) {
        let env = Env::on(b);
        // Orders of 7 lines and chunks of 50 rows: chunk ends split orders.
        let mut lines = export("DS", 500, 7, &["Shopee"]);
        let total = lines.len() as i64;
        env.write("a.csv", Csv::new(&lines).render());
        let args = [
            "a.csv",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        kill_mid_file(&env, &args, "a.csv", total);
        let partial: i64 = env.one("SELECT id FROM import_files WHERE state = 'in_progress'");

        // Downloaded again: one byte differs, near the end.
        let last = lines.len() - 1;
        lines[last] = lines[last].clone().set("Nama Produk", "Kaos Polos Hitam M");
        env.write("a.csv", Csv::new(&lines).render());

        let dry = env.run(&["--dry-run", "a.csv"]);
        dry.expect_code(0);
        let rerun = env.run(&args);
        rerun.expect_code(0);
        // The killed run's totals: the file failed, its rows with it.
        let killed = env.query(
            "SELECT files_failed, rows_imported, rows_failed, orders_created FROM import_runs
             WHERE id = (SELECT run_id FROM import_files WHERE error LIKE 'superseded%')",
        );
        let n = |i: usize| -> i64 { killed[0][i].as_deref().expect("a count").parse().unwrap() };
        let (files_failed, imported, failed) = (n(0), n(1), n(2));
        assert_eq!((files_failed, imported), (1, 0));
        assert_eq!(n(3), 0, "the killed run still counts orders created");
        assert!(failed > 0);
        // The run that rolls the partial file back says so.
        for (what, text) in [
            ("dry run", &dry.stdout),
            ("summary", &rerun.stdout),
            ("stderr", &rerun.stderr),
        ] {
            assert!(
                text.contains("rolled back") && text.contains("superseded"),
                "{what} names the rolled-back partial file:\n{text}"
            );
        }
        assert_eq!(
            rerun.file_rows("a.csv"),
            [total as u64, total as u64, 0, 0, 0, 0],
            "{}",
            rerun.stdout
        );
        assert_eq!(dry.rows(), rerun.rows(), "dry run:\n{}", dry.stdout);
        assert_eq!(
            file_entry(&env, partial),
            ("failed".to_string(), Some("superseded".to_string()))
        );
        let left: i64 = env.one("SELECT count(*) FROM import_files WHERE state = 'in_progress'");
        assert_eq!(left, 0);
        assert_eq!(all_lines(&env), expected_lines(&lines));
        let new_id: i64 = env.one("SELECT id FROM import_files WHERE state = 'imported'");
        let others: i64 = env.one(&format!(
            "SELECT count(*) FROM dropship_purchase_details WHERE import_file_id <> {new_id}"
        ));
        assert_eq!(others, 0, "every line comes from the new file");
    }
}

both! {
    fn partial_files_left_by_killed_runs_are_named_in_the_summary_and_status(b) {
        let env = Env::on(b);
        let lines = export("DS", 1000, 3, &["Shopee"]);
        let total = lines.len() as i64;
        env.write("a.csv", Csv::new(&lines).render());
        env.write("b.csv", Csv::new(&[line("DB-1")]).render());
        let args = [
            "a.csv",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        kill_mid_file(&env, &args, "a.csv", total);
        let killed_run: i64 = env.one("SELECT run_id FROM import_files WHERE state = 'in_progress'");

        // A run over other files leaves the partial file alone, and says so.
        let other = env.run(&["b.csv", "--progress", "log"]);
        other.expect_code(0);
        // Read once a writer has opened the database: a read-only look right
        // after a kill may not see the killed run's last commits in the log.
        let rows: i64 = env.one("SELECT rows_committed FROM import_files WHERE state = 'in_progress'");
        let notes = other.json["recommendations"]
            .as_array()
            .expect("recommendations")
            .clone();
        assert_eq!(notes.len(), 1, "{}", other.stdout);
        let note = notes[0].as_str().unwrap_or_default();
        for needle in [
            "a.csv".to_string(),
            format!("run {killed_run}"),
            format!("{rows} rows"),
        ] {
            assert!(note.contains(&needle), "{needle:?} in {note:?}");
        }
        assert!(other.stderr.contains(note), "{}", other.stderr);
        let status = env
            .cmd()
            .args(env.full_args(&["status"]))
            .output()
            .expect("status");
        let status_text = String::from_utf8_lossy(&status.stdout);
        assert!(status.status.success());
        assert!(
            status_text.contains("a.csv") && status_text.contains(&format!("run {killed_run}")),
            "{status_text}"
        );

        // Resumed, it is no longer left over.
        let resumed = env.run(&args);
        resumed.expect_code(0);
        assert_eq!(resumed.json["recommendations"], serde_json::json!([]));
        let status = env
            .cmd()
            .args(env.full_args(&["status"]))
            .output()
            .expect("status");
        assert!(!String::from_utf8_lossy(&status.stdout).contains("a.csv"));
        assert_eq!(all_lines(&env).len() as i64, total + 1);
    }
}

// ---------------------------------------------------------------------------
// Run ids

fn run_id(run: &Run) -> Option<i64> {
    run.json["run_id"].as_i64()
}

#[test]
fn a_run_that_only_skips_has_no_id_and_ids_are_never_reused() {
    let env = Env::new();
    env.write("a.csv", Csv::new(&[line("DS-1")]).render());
    env.write("b.csv", Csv::new(&[line("DS-2"), line("DS-3")]).render());

    let first = env.run(&["a.csv"]);
    first.expect_code(0);
    let skipped = env.run(&["a.csv"]);
    skipped.expect_code(0);
    assert_eq!(skipped.file_status("a.csv"), "skipped");
    assert!(
        skipped.json["run_id"].is_null(),
        "nothing recorded, no id: {}",
        skipped.stdout
    );
    let second = env.run(&["a.csv", "b.csv"]);
    second.expect_code(0);

    let printed: Vec<i64> = [&first, &second]
        .iter()
        .map(|r| run_id(r).expect("a run that imported has an id"))
        .collect();
    assert!(printed[0] < printed[1], "ids {printed:?}");
    for id in &printed {
        let out = env
            .cmd()
            .args(["status", &id.to_string()])
            .output()
            .expect("status");
        assert!(out.status.success(), "status {id}: {out:?}");
    }
    assert_eq!(env.count("import_runs"), 2);
    // The second run records its skipped file too.
    let skipped_rows: i64 = env.one("SELECT count(*) FROM import_files WHERE state = 'skipped'");
    assert_eq!(skipped_rows, 1);
}

// ---------------------------------------------------------------------------
// The progress log

#[test]
fn a_failed_file_is_reported_once_in_the_log() {
    let env = Env::new();
    env.write("good.csv", Csv::new(&[line("DS-1")]).render());
    env.write(
        "bad.csv",
        Csv::new(&[line("DS-2")]).drop_column("SKU").render(),
    );
    let run = env.run(&["good.csv", "bad.csv", "--progress", "log"]);
    run.expect_code(3);
    assert_eq!(run.file_status("bad.csv"), "failed");
    let said = run.stderr.matches("bad.csv: failed").count();
    assert_eq!(said, 1, "stderr:\n{}", run.stderr);

    // With progress off, the summary still names it.
    let quiet = env.run(&["bad.csv", "--progress", "none"]);
    assert_eq!(quiet.stderr.matches("bad.csv: failed").count(), 1);
}

#[test]
fn after_a_full_disk_the_log_never_says_imported_for_what_was_taken_back() {
    let env = Env::new();
    env.write("seed.csv", Csv::new(&[line("DS-0")]).render());
    env.run(&["seed.csv"]).expect_code(0);
    env.write(
        "small.csv",
        Csv::new(&[line("DS-1"), line("DS-2")]).render(),
    );
    env.write(
        "big.csv",
        Csv::new(&export("DB", 1500, 2, &["Shopee"])).render(),
    );
    // No write may reach past ~100 KB of any file (SIGXFSZ ignored, so the
    // write fails as on a full disk); one transaction holds the whole run.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 200; trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args([
            "small.csv",
            "big.csv",
            "-j",
            "1",
            "--progress",
            "log",
            "--commit-interval",
            "10s",
        ])
        .current_dir(env.dir.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("run under a file size limit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let small_in: i64 = env.one("SELECT count(*) FROM import_files WHERE path LIKE '%small.csv'");
    assert_eq!(small_in, 0, "small.csv was taken back with the transaction");
    assert!(
        !stderr.contains("small.csv: 2 rows"),
        "the log says small.csv went in:\n{stderr}"
    );
}

both! {
    /// A killed `--force` run, run again with `--force`, ends as one forced
    /// run would: every file is read again from its start, so a partial file
    /// is not resumed after the files before it were read again and took its
    /// first rows' orders.
    fn a_killed_forced_run_run_again_ends_as_one_forced_run(b) {
        // b.csv is smaller (read first with -j 1) and holds the first 40
        // orders of a.csv in another version; under update a.csv's stands.
        let small: Vec<Line> = (0..40)
            .map(|i| line(&format!("DS-{i:05}")).set("Nama Toko", "Small"))
            .collect();
        let large: Vec<Line> = export("DS", 1500, 2, &["Shopee"])
            .into_iter()
            .map(|l| l.set("Nama Toko", "Large"))
            .collect();
        let plain = [
            "b.csv",
            "a.csv",
            "-j",
            "1",
            "--on-duplicate",
            "update",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        let mut forced = plain.to_vec();
        forced.push("--force");
        for _ in 0..10 {
            let env = Env::on(b);
            env.write("b.csv", Csv::new(&small).render());
            env.write("a.csv", Csv::new(&large).render());
            env.run(&plain).expect_code(0);
            if try_kill_mid_file(&env, &forced, "a.csv", large.len() as i64).is_none() {
                continue;
            }
            let rerun = env.run(&forced);
            rerun.expect_code(0);
            let small_orders: i64 =
                env.one("SELECT count(*) FROM dropship_purchases WHERE nama_toko = 'Small'");
            assert_eq!(small_orders, 0, "a.csv's version of every order stands");
            let lines: i64 = env.one("SELECT count(*) FROM dropship_purchase_details");
            assert_eq!(lines, large.len() as i64, "a.csv's lines, each once");
            let partial: i64 = env.one("SELECT count(*) FROM import_files WHERE state = 'in_progress'");
            assert_eq!(partial, 0);
            return;
        }
        panic!("ten forced runs all ended before they could be killed part-way");
    }
}

both! {
    /// Each row is counted in the run that committed it, and a failed file's
    /// rows count as failed: a file a killed run left part-way, resumed and
    /// then failed by the next run, moves the killed run's rows to failed too,
    /// so the runs' totals match the empty tables.
    fn a_resumed_file_that_fails_counts_as_failed_in_every_run_that_read_it(b) {
        let mut lines = export("DS", 600, 2, &["Shopee"]);
        for i in 0..5 {
            lines.push(line(&format!("BAD-{i}")).set("Qty", "two"));
        }
        let total = lines.len() as i64;
        let env = Env::on(b);
        env.write("a.csv", Csv::new(&lines).render());
        let args = [
            "a.csv",
            "--max-errors",
            "3",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        kill_mid_file(&env, &args, "a.csv", total);
        let committed: i64 = env.one("SELECT rows_committed FROM import_files");
        let killed_imported: i64 = env.one("SELECT rows_imported FROM import_runs WHERE id = 1");
        assert_eq!(killed_imported, committed, "the killed run counts its rows");
        let rerun = env.run(&args);
        rerun.expect_code(3);
        assert_eq!(rerun.file_status("a.csv"), "failed");
        let lines_left: i64 = env.one("SELECT count(*) FROM dropship_purchase_details");
        assert_eq!(lines_left, 0);
        let sums: Vec<i64> = env
            .query(
                "SELECT sum(rows_read), sum(rows_imported), sum(rows_failed),
                 sum(orders_created) FROM import_runs",
            )[0]
            .iter()
            .map(|c| c.as_deref().expect("a sum").parse().unwrap())
            .collect();
        assert_eq!(sums, [total, 0, total, 0]);
    }
}

both! {
    /// A dry run predicts the orders of a run that first rolls back a partial
    /// file: orders that file had replaced come back (so the new read updates
    /// them), the others are gone (so it creates them).
    fn a_dry_run_predicts_the_orders_of_a_run_that_rolls_a_partial_file_back(b) {
        let small: Vec<Line> = (0..40)
            .map(|i| line(&format!("DS-{i:05}")).set("Nama Toko", "Small"))
            .collect();
        let mut large: Vec<Line> = export("DS", 1500, 2, &["Shopee"]);
        let env = Env::on(b);
        env.write("b.csv", Csv::new(&small).render());
        env.write("a.csv", Csv::new(&large).render());
        let args = [
            "b.csv",
            "a.csv",
            "-j",
            "1",
            "--on-duplicate",
            "update",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        kill_mid_file(&env, &args, "a.csv", large.len() as i64);
        // The export is downloaded again, one value different.
        let last = large.len() - 1;
        large[last] = large[last].clone().set("Nama Toko", "Changed");
        env.write("a.csv", Csv::new(&large).render());
        let dry = env.run(&[&args[..], &["--dry-run"]].concat());
        let real = env.run(&args);
        real.expect_code(0);
        assert_eq!(
            dry.json["orders"], real.json["orders"],
            "dry run:\n{}\nreal run:\n{}",
            dry.stdout, real.stdout
        );
        assert_eq!(dry.rows(), real.rows());
        assert!(real.json["orders"]["updated"].as_u64().unwrap_or(0) > 0);
    }
}

both! {
    /// A dry run predicts a run that rolls back a partial file whose orders
    /// another file waits on: that file takes them over, so the new read of
    /// the partial file meets them as duplicates.
    fn a_dry_run_predicts_the_hand_over_of_a_rolled_back_partial_files_orders(b) {
        let env = Env::on(b);
        let mut p = export("DS", 1500, 2, &["Shopee"]);
        env.write("p.csv", Csv::new(&p).render());
        let args = [
            "p.csv",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--commit-interval",
            "0s",
        ];
        kill_mid_file(&env, &args, "p.csv", p.len() as i64);
        // q.csv holds the first orders of p.csv, which the killed run
        // wrote: its rows wait on the partial file.
        let q: Vec<Line> = (0..10)
            .map(|i| line(&format!("DS-{i:05}")).set("SKU", &format!("Q-{i}")))
            .collect();
        env.write("q.csv", Csv::new(&q).render());
        env.run(&["q.csv"]).expect_code(0);
        let waiting: i64 = env.one("SELECT count(*) FROM import_waiting_rows");
        assert_eq!(waiting, 10);
        // p.csv is downloaded again, one value different.
        let last = p.len() - 1;
        p[last] = p[last].clone().set("Nama Toko", "Changed");
        env.write("p.csv", Csv::new(&p).render());
        let dry = env.run(&[&args[..], &["--dry-run"]].concat());
        let real = env.run(&args);
        real.expect_code(0);
        assert_eq!(real.n("/orders/duplicate"), 10, "{}", real.stdout);
        assert_eq!(
            dry.json["orders"], real.json["orders"],
            "dry run:\n{}\nreal run:\n{}",
            dry.stdout, real.stdout
        );
        assert_eq!(dry.rows(), real.rows());
        let skus = env.skus("DS-00003");
        assert_eq!(skus, ["Q-3"], "q.csv took the order over");
    }
}
