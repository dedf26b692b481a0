//! Guards around the database and the output files: an output path that
//! would overwrite the database, a file beside it or an input is refused
//! before anything is written; one run at a time holds for the database file
//! under any name, whatever is deleted beside it; a foreign database is
//! refused untouched; read-only databases can be read.
//!
//! A first run is held mid-import by the test itself: once it has committed
//! a chunk, the test takes SQLite's write lock, so the run waits at its next
//! commit (with its claim held) until the test lets go. No sleeps.

mod common;

use common::{Env, ReadOnlyMount, csv, is_root, line};
use rusqlite::Connection;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Output paths that would overwrite something
// ---------------------------------------------------------------------------

/// Runs `args` and checks that it is a usage error that changed nothing:
/// every file of the folder keeps its bytes, and no file appears.
#[track_caller]
fn refused_untouched(env: &Env, args: &[&str], says: &str) {
    let before = snapshot(env.dir.path());
    let run = env.run(args);
    run.expect_code(2);
    assert!(
        run.stderr.contains(says),
        "{args:?}: the message should say {says:?}:\n{}",
        run.stderr
    );
    assert_eq!(
        snapshot(env.dir.path()),
        before,
        "{args:?} changed the folder\n{}",
        run.stderr
    );
}

/// Every entry of `dir` (not following symlinks) with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    out.sort();
    out
}

/// A folder with an imported database `t.db` and an input `a.csv`.
fn imported() -> Env {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2").set("Qty", "x")]));
    env.run(&["--db", "t.db", "a.csv"]).expect_code(3);
    env
}

#[test]
fn report_or_rejects_onto_the_database_is_refused_also_in_a_dry_run() {
    let env = imported();
    for flag in ["--report", "--rejects"] {
        refused_untouched(&env, &["--db", "t.db", flag, "t.db", "a.csv"], "t.db");
        refused_untouched(
            &env,
            &["--dry-run", "--db", "t.db", flag, "t.db", "a.csv"],
            "t.db",
        );
        // Other names of the same file or of the files beside it.
        refused_untouched(
            &env,
            &["--db", "t.db", flag, "./x/../t.db", "a.csv"],
            "t.db",
        );
        refused_untouched(
            &env,
            &["--db", "t.db", flag, "t.db-wal", "a.csv"],
            "t.db-wal",
        );
        refused_untouched(
            &env,
            &["--db", "t.db", flag, "t.db-shm", "a.csv"],
            "t.db-shm",
        );
        refused_untouched(
            &env,
            &["--db", "t.db", flag, "t.db.lock", "a.csv"],
            "t.db.lock",
        );
    }
    std::os::unix::fs::symlink("t.db", env.path("sym.db")).unwrap();
    std::fs::hard_link(env.path("t.db"), env.path("hard.db")).unwrap();
    for name in ["sym.db", "hard.db"] {
        refused_untouched(&env, &["--db", "t.db", "--report", name, "a.csv"], "t.db");
        refused_untouched(&env, &["--db", name, "--rejects", "t.db", "a.csv"], "t.db");
    }
    let conn = env.db_at("t.db");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn outputs_onto_an_input_or_each_other_and_a_database_that_is_an_input_are_refused() {
    let env = Env::new();
    env.write(
        "in/a.csv",
        csv(&[line("DS-1"), line("DS-2").set("Qty", "x")]),
    );
    env.write("in/b.csv", csv(&[line("DS-3")]));
    std::os::unix::fs::symlink("in/b.csv", env.path("link.csv")).unwrap();
    std::fs::hard_link(env.path("in/a.csv"), env.path("hard.csv")).unwrap();
    for flag in ["--report", "--rejects"] {
        refused_untouched(&env, &[flag, "in/a.csv", "in/a.csv"], "in/a.csv");
        // The input comes from a folder or a glob; the output names it
        // another way.
        refused_untouched(&env, &[flag, "in/../in/b.csv", "in"], "b.csv");
        refused_untouched(&env, &[flag, "link.csv", "in/*.csv"], "b.csv");
        refused_untouched(&env, &[flag, "hard.csv", "in"], "a.csv");
    }
    refused_untouched(
        &env,
        &["--report", "out.txt", "--rejects", "./out.txt", "in"],
        "out.txt",
    );
    refused_untouched(&env, &["--db", "in/a.csv", "in"], "in/a.csv");
    refused_untouched(&env, &["--db", "link.csv", "--dry-run", "in"], "b.csv");
    assert!(!env.path("dropship.db").exists());
}

#[test]
fn the_report_replaces_the_old_one_whole_through_a_file_beside_it() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.write("run.json", "old report\n");
    // A second name of the old report keeps the old bytes: the new report
    // is a new file renamed over the name, never the old one rewritten.
    std::fs::hard_link(env.path("run.json"), env.path("old.json")).unwrap();
    let run = env.run(&["--report", "run.json", "a.csv"]);
    run.expect_code(0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("run.json")).unwrap()).unwrap();
    assert_eq!(report, run.json);
    assert_eq!(
        std::fs::read_to_string(env.path("old.json")).unwrap(),
        "old report\n"
    );
    let names: Vec<String> = snapshot(env.dir.path()).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        ["a.csv", "dropship.db", "old.json", "run.json"],
        "no temporary file is left"
    );
}

// ---------------------------------------------------------------------------
// One run at a time, for the database file under any name
// ---------------------------------------------------------------------------

const BIG: usize = 20_000;

/// A first run importing `big.csv` into `t.db`, stopped by the test at a
/// commit: it has committed at least one chunk, holds its claim, and cannot
/// commit again until `release`.
struct Held {
    child: Child,
    lock: Connection,
}

impl Held {
    fn start(env: &Env) -> Held {
        let lines: Vec<_> = (0..BIG).map(|i| line(&format!("DS-{i:06}"))).collect();
        env.write("big.csv", csv(&lines));
        let child = Command::new(assert_cmd::cargo::cargo_bin("dropship-import"))
            .current_dir(env.dir.path())
            .args([
                "--db",
                "t.db",
                "--chunk-size",
                "20",
                "--commit-interval",
                "0s",
                "-q",
                "big.csv",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the first run");
        let mut held = Held {
            child,
            lock: Connection::open_in_memory().unwrap(),
        };
        held.wait_for_a_commit(env);
        held.lock = Connection::open(env.path("t.db")).unwrap();
        held.lock.busy_timeout(Duration::from_secs(30)).unwrap();
        held.lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let committed: i64 = held
            .lock
            .query_row("SELECT count(*) FROM dropship_purchases", [], |r| r.get(0))
            .unwrap();
        assert!(
            committed > 0 && (committed as usize) < BIG,
            "the first run should be mid-import, it committed {committed} of {BIG} orders"
        );
        assert!(
            held.child.try_wait().unwrap().is_none(),
            "the first run ended"
        );
        held
    }

    /// Polls the database (read-only) until a chunk of orders is committed.
    fn wait_for_a_commit(&mut self, env: &Env) {
        let db = env.path("t.db");
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let committed =
                Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .and_then(|c| {
                        c.query_row("SELECT count(*) FROM dropship_purchases", [], |r| {
                            r.get::<_, i64>(0)
                        })
                    })
                    .unwrap_or(0);
            if committed > 0 {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the first run ended before committing: {status}");
            }
            assert!(Instant::now() < until, "no commit from the first run");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the first run go on and waits for it; its exit code.
    fn release(self) -> i32 {
        self.lock.execute_batch("ROLLBACK").unwrap();
        drop(self.lock);
        let out = self.child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "first run: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.code().unwrap_or(-1)
    }
}

/// The second run is refused at once, naming the first one's pid (and its
/// run id when `names_run`: a hard-linked name cannot read the holder's
/// log), and the database ends with exactly the first run's orders, intact.
fn second_run_is_refused(
    env: &Env,
    second_db: &str,
    names_run: bool,
    meanwhile: impl FnOnce(&Env),
) {
    env.write("other.csv", csv(&[line("DS-OTHER")]));
    let held = Held::start(env);
    meanwhile(env);
    let second = env.run(&["--db", second_db, "other.csv"]);
    second.expect_code(1);
    assert!(
        second.stderr.contains("busy") && second.stderr.contains(&format!("pid {}", held.pid())),
        "the refusal names the holder:\n{}",
        second.stderr
    );
    assert!(
        !names_run || second.stderr.contains("run 1 "),
        "the refusal names the run:\n{}",
        second.stderr
    );
    assert_eq!(held.release(), 0);
    let conn = env.db_at("t.db");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (orders, lines, runs, other): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM dropship_purchases),
                    (SELECT count(*) FROM dropship_purchase_details),
                    (SELECT count(*) FROM import_runs),
                    (SELECT count(*) FROM dropship_purchases WHERE kode_pesanan = 'DS-OTHER')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (orders, lines, runs, other),
        (BIG as i64, BIG as i64, 1, 0),
        "only the first run wrote"
    );
}

#[test]
fn deleting_the_lock_file_mid_run_lets_no_second_run_in() {
    let env = Env::new();
    second_run_is_refused(&env, "t.db", true, |env| {
        std::fs::remove_file(env.path("t.db.lock")).expect("the claim file is there");
    });
}

#[test]
fn a_hard_linked_name_of_the_database_is_refused_while_a_run_holds_it() {
    let env = Env::new();
    // The link must exist before the run: a fresh database is created by it,
    // so link an empty file that becomes the database.
    std::fs::write(env.path("t.db"), b"").unwrap();
    std::fs::hard_link(env.path("t.db"), env.path("h.db")).unwrap();
    second_run_is_refused(&env, "h.db", false, |_| {});
    assert!(
        !env.path("h.db-wal").exists(),
        "nothing written beside h.db"
    );
}

#[test]
fn a_symlinked_name_of_the_database_is_refused_while_a_run_holds_it() {
    let env = Env::new();
    std::os::unix::fs::symlink("t.db", env.path("s.db")).unwrap();
    second_run_is_refused(&env, "s.db", true, |_| {});
}

#[test]
fn a_second_run_under_the_same_name_is_refused_with_its_holder() {
    let env = Env::new();
    second_run_is_refused(&env, "t.db", true, |_| {});
}

// ---------------------------------------------------------------------------
// Foreign databases, the rejects file, read-only databases
// ---------------------------------------------------------------------------

/// Every byte of `path`, or nothing when it does not exist.
fn bytes(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

#[test]
fn a_foreign_database_is_refused_unchanged_naming_it_and_the_table() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let conn = Connection::open(env.path("shop.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE dropship_purchases (id INTEGER PRIMARY KEY, note TEXT);
         INSERT INTO dropship_purchases (note) VALUES ('theirs');",
    )
    .unwrap();
    drop(conn);
    let before = bytes(&env.path("shop.db"));
    let run = env.run(&["--db", "shop.db", "a.csv"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("shop.db") && run.stderr.contains("dropship_purchases"),
        "names the database and the table:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("CREATE"),
        "no SQL in the message:\n{}",
        run.stderr
    );
    assert_eq!(
        bytes(&env.path("shop.db")),
        before,
        "journal mode and pages unchanged"
    );
    assert!(!env.path("shop.db-wal").exists());

    // In WAL mode, by a run and by a dry run: no log files are left.
    let conn = Connection::open(env.path("wal.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; CREATE TABLE import_files (x);
         CREATE TABLE notes (y);",
    )
    .unwrap();
    drop(conn);
    let before = bytes(&env.path("wal.db"));
    for args in [
        &["--db", "wal.db", "a.csv"][..],
        &["--dry-run", "--db", "wal.db", "a.csv"][..],
    ] {
        let run = env.run(args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("wal.db") && run.stderr.contains("import_files"),
            "{}",
            run.stderr
        );
        assert_eq!(bytes(&env.path("wal.db")), before);
        assert!(!env.path("wal.db-wal").exists() && !env.path("wal.db-shm").exists());
    }

    // A newer schema version: refused the same way, also by a dry run.
    let conn = Connection::open(env.path("new.db")).unwrap();
    conn.execute_batch("PRAGMA user_version = 999; CREATE TABLE t (x);")
        .unwrap();
    drop(conn);
    let before = bytes(&env.path("new.db"));
    for args in [
        &["--db", "new.db", "a.csv"][..],
        &["--dry-run", "--db", "new.db", "a.csv"][..],
    ] {
        let run = env.run(args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("new.db") && run.stderr.contains("999"),
            "{}",
            run.stderr
        );
        assert_eq!(bytes(&env.path("new.db")), before);
        assert!(!env.path("new.db-wal").exists());
    }
}

#[test]
fn a_full_disk_under_the_rejects_file_is_an_error_of_that_file() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2").set("Qty", "x")]));
    let run = env.run(&["--db", "t.db", "--rejects", "/dev/full", "a.csv"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("rejects file /dev/full")
            && run.stderr.contains("No space left on device"),
        "names the rejects file and the OS error:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("cannot write t.db"), "{}", run.stderr);
}

#[test]
fn a_rejects_file_that_fills_its_disk_mid_run_is_named_not_the_database() {
    let env = Env::new();
    let Some(_small) = SmallDisk::new(&env.path("small")) else {
        return;
    };
    // Far more rejected rows than the small disk takes.
    let lines: Vec<_> = (0..3000)
        .map(|i| line(&format!("DS-{i:05}")).set("Qty", "not a number"))
        .collect();
    env.write("a.csv", csv(&lines));
    let run = env.run(&["--db", "t.db", "--rejects", "small/rejects.csv", "a.csv"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("rejects file small/rejects.csv")
            && run.stderr.contains("No space left on device"),
        "names the rejects file and the OS error:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("cannot write t.db"), "{}", run.stderr);
    let written = std::fs::metadata(env.path("small/rejects.csv"))
        .unwrap()
        .len();
    assert!(written > 100, "the disk filled mid-run, not at the header");
}

/// A 64 KiB tmpfs mounted at `at`, unmounted on drop; `None` (with the
/// reason printed) where the test cannot mount.
struct SmallDisk {
    at: std::path::PathBuf,
}

impl SmallDisk {
    fn new(at: &Path) -> Option<SmallDisk> {
        if !is_root() {
            println!("skipped: not root, cannot mount a small disk");
            return None;
        }
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("skipped: mount -t tmpfs failed here");
            return None;
        }
        Some(SmallDisk {
            at: at.to_path_buf(),
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

#[test]
fn a_dry_run_leaves_no_log_files_beside_the_database() {
    let env = imported();
    assert!(!env.path("t.db-wal").exists() && !env.path("t.db-shm").exists());
    let before = bytes(&env.path("t.db"));
    env.write("b.csv", csv(&[line("DS-1"), line("DS-3")]));
    let run = env.run(&["--dry-run", "--db", "t.db", "b.csv"]);
    run.expect_code(0);
    assert_eq!(run.n("/rows/duplicate"), 1, "the database was read");
    assert!(!env.path("t.db-wal").exists(), "t.db-wal left behind");
    assert!(!env.path("t.db-shm").exists(), "t.db-shm left behind");
    assert_eq!(bytes(&env.path("t.db")), before);
}

#[test]
fn status_and_a_dry_run_read_a_wal_database_on_read_only_media() {
    let env = Env::new();
    env.write("data/a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["--db", "data/t.db", "data/a.csv"]).expect_code(0);
    let conn = env.db_at("data/t.db");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    assert!(!env.path("data/t.db-shm").exists(), "a clean copy");
    let Some(_mount) = ReadOnlyMount::new(&env.path("data"), &env.path("ro")) else {
        return;
    };
    let status = env
        .cmd()
        .args(["status", "--db", "ro/t.db", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr),
    );
    assert!(status.status.success(), "status: {stderr}");
    let runs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(runs[0]["id"], 1, "{stdout}");
    env.write("b.csv", csv(&[line("DS-1"), line("DS-3")]));
    let dry = env.run(&["--dry-run", "--db", "ro/t.db", "b.csv"]);
    dry.expect_code(0);
    assert_eq!(dry.n("/rows/duplicate"), 1, "the database was read");
}

/// A schema version alone proves nothing: another program's database that
/// says it is at one of our versions, but lacks our tables or their
/// columns, is refused before anything in it changes, by a dry run too.
#[test]
fn a_database_claiming_our_schema_version_without_our_tables_is_refused_unchanged() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let cases = [
        (
            "app.db",
            "PRAGMA user_version = 2; CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO customers VALUES (1, 'x');",
            "no table",
        ),
        (
            "clash.db",
            "PRAGMA user_version = 1; CREATE TABLE import_runs (id INTEGER PRIMARY KEY, note TEXT);",
            "no table",
        ),
    ];
    for (name, sql, says) in cases {
        let conn = Connection::open(env.path(name)).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let before = bytes(&env.path(name));
        for dry in [true, false] {
            let mut args = vec!["--db", name, "a.csv"];
            if dry {
                args.push("--dry-run");
            }
            let run = env.run(&args);
            run.expect_code(1);
            assert!(
                run.stderr.contains(name) && run.stderr.contains(says),
                "{name} (dry run: {dry}): names the database and what it lacks\n{}",
                run.stderr
            );
            assert_eq!(bytes(&env.path(name)), before, "{name} unchanged");
            assert!(!env.path(&format!("{name}-wal")).exists());
        }
    }
    // Our own tables with a column missing: named too.
    env.run(&["--db", "ours.db", "a.csv"]).expect_code(0);
    let conn = Connection::open(env.path("ours.db")).unwrap();
    conn.execute_batch("ALTER TABLE import_rejects DROP COLUMN raw")
        .unwrap();
    drop(conn);
    env.write("b.csv", csv(&[line("DS-2")]));
    let run = env.run(&["--db", "ours.db", "b.csv"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("import_rejects") && run.stderr.contains("raw"),
        "{}",
        run.stderr
    );
}

/// What a real run refuses as a database place, a dry run refuses too,
/// with the same exit code.
#[test]
fn a_dry_run_refuses_the_database_places_a_real_run_refuses() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    std::fs::create_dir(env.path("folder.db")).unwrap();
    for db in ["folder.db", "missing/x.db"] {
        for dry in [false, true] {
            let mut args = vec!["--db", db, "a.csv"];
            if dry {
                args.push("--dry-run");
            }
            let run = env.run(&args);
            run.expect_code(1);
            assert!(
                run.stderr.contains(db),
                "{db} (dry run {dry}): {}",
                run.stderr
            );
        }
    }
    assert!(!env.path("missing").exists());
}

/// A summary that cannot be written (stdout redirected to a full disk) is a
/// failure of the run, not a success with nothing to read.
#[test]
fn a_summary_that_cannot_be_written_to_stdout_exits_1() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(env!("CARGO_BIN_EXE_dropship-import"))
        .current_dir(env.path("."))
        .args(["a.csv", "--progress", "none"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("summary"), "{stderr}");
}

/// A file size limit (`ulimit -f`) reached while writing ends the run with
/// a message and exit 1, not a silent death by SIGXFSZ.
#[test]
fn a_file_size_limit_is_reported_not_a_silent_death() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let lines: Vec<_> = (0..3000).map(|i| line(&format!("DS-{i:05}"))).collect();
    env.write("a.csv", csv(&lines));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dropship-import"));
    cmd.current_dir(env.path("."))
        .args(["a.csv", "--progress", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains("dropship.db"),
        "names the database: {stderr}"
    );
}

/// `status` only looks: an idle database keeps no `-wal`/`-shm` beside it
/// after `status`, its JSON, or one run's detail.
#[test]
fn status_leaves_no_files_beside_an_idle_database() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    env.run(&["a.csv"]).expect_code(0);
    let beside = || {
        ["dropship.db-wal", "dropship.db-shm"]
            .into_iter()
            .filter(|n| env.path(n).exists())
            .collect::<Vec<_>>()
    };
    assert_eq!(beside(), Vec::<&str>::new(), "the import tidies up");
    for args in [&["status"][..], &["status", "--json"], &["status", "1"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_dropship-import"))
            .current_dir(env.path("."))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(beside(), Vec::<&str>::new(), "after {args:?}");
    }
}
