//! Durability tests of `dropship-import` (SPEC.md "Files, runs, failures" and
//! "Exit codes"): the real binary is killed, interrupted, run twice at once,
//! read while it writes, starved of disk and pointed at places it cannot
//! use, and the database is checked against an uninterrupted run.
//!
//! - `kill_9_and_resume_*`: kill -9 at chosen and random moments, resume,
//!   and end with exactly what a clean run writes (orders, lines, rejects,
//!   each with the path of the file that owns it, or without owners where
//!   files read at once share orders), each file left part-way resumed
//!   under its own `import_files` row: plain files and gzip / BOM / CRLF /
//!   multi-line records, every chunk committed or the default interval,
//!   `skip` and `update`, one job and three.
//! - `soak_*`: a second run while one writes (also after deleting
//!   `<db>.lock`, and through a hard link), files failing under `-j 4`
//!   while sharing orders with good ones, both duplicate modes.
//!   `DROPSHIP_SOAK_ROWS`, `DROPSHIP_SOAK_TRIALS` and `DROPSHIP_SOAK_SEED`
//!   scale and repeat these two groups; `tests/soak.sh` runs them large in
//!   release.
//! - a commit interval longer than the run: nothing is seen half-way; the
//!   write-ahead log is written over rather than grown.
//! - one run at a time; a dead run's claim; Ctrl-C once and twice, SIGTERM;
//!   a reader holding a transaction, another writer holding the database;
//!   a file changing or vanishing while read; a read-only place; a file
//!   that is not a database; a full disk; reruns, copies under other names
//!   and `--force`.
//!
//! No test asserts on timing: moments are found by polling the database
//! read-only, and a run that must be caught alive is frozen with SIGSTOP
//! while the test looks (a stopped process keeps its locks), or kept from
//! committing by a write lock the test holds.

#[macro_use]
mod common;
use common::generate;

use common::{Db, Env, FromCell, Rng, csv, env_number, line, line_index_exists};
use generate::{Format, GenFile, Money, Spec};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dropship-import");
/// The folder, inside each test's temporary directory, with the exports.
const FILES: &str = "files";
/// Small chunks, each committed on its own: many commits, so there is a lot
/// of "mid-way" to hit.
const CHUNK: &str = "200";
/// Failsafes against a hung binary, never expected to be reached.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
const POLL_TIMEOUT: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_millis(1);

// ---------------------------------------------------------------------------
// Settings from the environment

/// `--commit-interval` of the runs (`DROPSHIP_SOAK_COMMIT_INTERVAL`): by
/// default every chunk is a commit of its own; the soak can also kill runs
/// inside the default's longer transactions.
fn commit_interval() -> String {
    std::env::var("DROPSHIP_SOAK_COMMIT_INTERVAL").unwrap_or_else(|_| "0s".into())
}

/// Rows generated for the kill tests (`DROPSHIP_SOAK_ROWS`).
fn soak_rows() -> usize {
    env_number("DROPSHIP_SOAK_ROWS", 20_000) as usize
}

/// Kill-and-resume trials per kill test (`DROPSHIP_SOAK_TRIALS`).
fn soak_trials() -> usize {
    env_number("DROPSHIP_SOAK_TRIALS", 5) as usize
}

// ---------------------------------------------------------------------------
// A working folder with generated exports, and the binary as a child process

struct Work {
    dir: tempfile::TempDir,
    files: Vec<GenFile>,
    spawned: Cell<usize>,
}

impl Work {
    /// A fresh temporary folder with `spec`'s files in `files/`.
    fn new(spec: &Spec) -> Work {
        Work::new_with(spec, &Format::default())
    }

    /// The same, with the files written in `format`.
    fn new_with(spec: &Spec, format: &Format) -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = generate::generate_with(&dir.path().join(FILES), spec, format, true)
            .expect("generate the files");
        std::fs::create_dir(dir.path().join("logs")).expect("logs folder");
        Work {
            dir,
            files,
            spawned: Cell::new(0),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// File names, smallest file first (the order `-j 1` reads them in).
    fn names_by_size(&self) -> Vec<String> {
        let mut files: Vec<&GenFile> = self.files.iter().collect();
        files.sort_by(|a, b| a.size_bytes.cmp(&b.size_bytes).then(a.path.cmp(&b.path)));
        files.iter().map(|f| file_name(&f.path)).collect()
    }

    fn largest(&self) -> String {
        self.names_by_size().pop().expect("at least one file")
    }

    /// Starts the binary with `args` in this folder.
    fn spawn(&self, args: &[String]) -> Proc {
        self.spawn_program(Command::new(BIN), args)
    }

    /// Starts the binary through `sh -c script BIN args...`.
    fn spawn_through_sh(&self, script: &str, args: &[String]) -> Proc {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).arg(BIN);
        self.spawn_program(cmd, args)
    }

    fn spawn_program(&self, mut cmd: Command, args: &[String]) -> Proc {
        let n = self.spawned.get();
        self.spawned.set(n + 1);
        // Files, not pipes: a child that is never read from can never block.
        let out = self.path(&format!("logs/{n}.out"));
        let err = self.path(&format!("logs/{n}.err"));
        let child = cmd
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(File::create(&out).expect("stdout file"))
            .stderr(File::create(&err).expect("stderr file"))
            .spawn()
            .expect("start dropship-import");
        Proc {
            child,
            args: args.to_vec(),
            out,
            err,
            reaped: None,
        }
    }

    /// Runs the binary to its end.
    fn run(&self, args: &[String]) -> Done {
        self.spawn(args).wait()
    }
}

fn file_name(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `files --db DB -j JOBS --chunk-size 200 --progress none`.
fn import_args(db: &str, jobs: usize) -> Vec<String> {
    strings(&[
        FILES,
        "--db",
        db,
        "-j",
        &jobs.to_string(),
        "--chunk-size",
        CHUNK,
        "--commit-interval",
        &commit_interval(),
        "--progress",
        "none",
        // A soak's files may be larger than the default limit.
        "--max-file-size",
        "1TiB",
    ])
}

/// A running (or ended, not yet reaped) child. Dropping it kills it, so a
/// failing test leaves nothing behind.
struct Proc {
    child: Child,
    args: Vec<String>,
    out: PathBuf,
    err: PathBuf,
    reaped: Option<ExitStatus>,
}

impl Proc {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `sig`; only to a child not yet reaped, whose pid is still its own.
    fn signal(&mut self, sig: libc::c_int) {
        assert!(self.reaped.is_none(), "signal {sig} to a reaped child");
        // SAFETY: kill(2) on the pid of our own unreaped child.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.pid());
    }

    /// Still running (a stopped child is running)?
    fn alive(&mut self) -> bool {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait().expect("try_wait");
        }
        self.reaped.is_none()
    }

    fn stderr_now(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the end (killing the child past [`RUN_TIMEOUT`]).
    fn wait(mut self) -> Done {
        let start = Instant::now();
        while self.alive() {
            if start.elapsed() > RUN_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "dropship-import {:?} still running after {RUN_TIMEOUT:?}; stderr:\n{}",
                    self.args,
                    self.stderr_now()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let status = self.reaped.expect("reaped");
        let stdout = std::fs::read_to_string(&self.out).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.err).unwrap_or_default();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        use std::os::unix::process::ExitStatusExt;
        Done {
            args: std::mem::take(&mut self.args),
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
            json,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One ended run of the binary.
#[derive(Debug)]
struct Done {
    args: Vec<String>,
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    /// The summary; `Null` when stdout is not JSON.
    json: Value,
}

impl Done {
    fn show(&self) -> String {
        format!(
            "dropship-import {:?}: exit code {:?}, signal {:?}\n--- stderr:\n{}\n--- stdout:\n{}",
            self.args, self.code, self.signal, self.stderr, self.stdout
        )
    }

    #[track_caller]
    fn expect_code(&self, codes: &[i32], ctx: &str) -> &Done {
        assert!(
            self.code.is_some_and(|c| codes.contains(&c)),
            "{ctx}: expected exit code in {codes:?}\n{}",
            self.show()
        );
        self
    }

    /// A finished run (0 or 3) whose summary adds up and names no file as
    /// failed or interrupted.
    #[track_caller]
    fn expect_complete(&self, ctx: &str) -> &Done {
        self.expect_code(&[0, 3], ctx);
        self.assert_summary_adds_up(ctx);
        for f in self.per_file() {
            let status = f["status"].as_str().unwrap_or("?");
            assert!(
                status == "imported" || status == "skipped",
                "{ctx}: file {} ended {status}\n{}",
                f["path"],
                self.show()
            );
        }
        self
    }

    fn per_file(&self) -> &[Value] {
        self.json["per_file"].as_array().map_or(&[], Vec::as_slice)
    }

    /// Every file and the run: read = imported + rejected + duplicate +
    /// filtered + failed; the run's rows are the sum of its files'; the file
    /// counts match the files' statuses.
    #[track_caller]
    fn assert_summary_adds_up(&self, ctx: &str) {
        assert!(
            !self.json.is_null(),
            "{ctx}: stdout is not the JSON summary\n{}",
            self.show()
        );
        let total = counts(&self.json["rows"]);
        let mut sum = [0u64; 6];
        let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
        for f in self.per_file() {
            let c = counts(&f["rows"]);
            assert_conserved(&c, &format!("{ctx}: per_file {}", f["path"]), self);
            for (s, v) in sum.iter_mut().zip(c) {
                *s += v;
            }
            *statuses
                .entry(f["status"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        assert_conserved(&total, &format!("{ctx}: run"), self);
        assert_eq!(
            total,
            sum,
            "{ctx}: the run's rows are not the sum of its files'\n{}",
            self.show()
        );
        let files = &self.json["files"];
        let n = |k: &str| files[k].as_u64().unwrap_or(u64::MAX);
        let st = |k: &str| statuses.get(k).copied().unwrap_or(0);
        assert_eq!(
            [n("total"), n("imported"), n("skipped"), n("failed")],
            [
                self.per_file().len() as u64,
                st("imported"),
                st("skipped"),
                st("failed")
            ],
            "{ctx}: files counts vs per_file statuses\n{}",
            self.show()
        );
    }
}

/// [read, imported, rejected, duplicate, filtered, failed].
fn counts(rows: &Value) -> [u64; 6] {
    [
        "read",
        "imported",
        "rejected",
        "duplicate",
        "filtered",
        "failed",
    ]
    .map(|k| rows[k].as_u64().unwrap_or(u64::MAX))
}

#[track_caller]
fn assert_conserved(c: &[u64; 6], what: &str, done: &Done) {
    assert_eq!(
        c[0],
        c[1..].iter().sum::<u64>(),
        "{what}: read != imported + rejected + duplicate + filtered + failed: {c:?}\n{}",
        done.show()
    );
}

// ---------------------------------------------------------------------------
// Looking at the database

/// A read-only connection: looking never changes the file (no checkpoint,
/// no WAL removal).
fn read_only(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

fn open_ro(db: &Path) -> Connection {
    read_only(db).unwrap_or_else(|e| panic!("open {} read-only: {e}", db.display()))
}

/// A value as text that keeps its type: `NULL`, `42`, `'text'`.
fn show_value(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".to_string(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}r"),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

/// Every row of `sql` as one line of text, in the query's order.
fn rows_as_text(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let vals: Vec<String> = (0..n).map(|i| show_value(r.get_ref(i).unwrap())).collect();
        out.push(vals.join(" | "));
    }
    out
}

fn columns_of(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// What a run leaves in the data tables, independent of row ids and file
/// ids: every row with all its columns but those ids, plus the path of the
/// file that owns it; sorted (orders are a set, lines and rejects
/// multisets). Rows are (owner path, values).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Image {
    orders: Vec<(String, String)>,
    lines: Vec<(String, String)>,
    rejects: Vec<(String, String)>,
    /// Where `source_line` is among the values of an order and of a line.
    order_source_line: usize,
    line_source_line: usize,
}

impl Image {
    fn of(db: &Path) -> Image {
        let conn = open_ro(db);
        let kept = |table: &str, skip: &[&str]| -> Vec<String> {
            columns_of(&conn, table)
                .into_iter()
                .filter(|c| !skip.contains(&c.as_str()))
                .collect()
        };
        let select = |table: &str, alias: &str, skip: &[&str]| -> String {
            kept(table, skip)
                .iter()
                .map(|c| format!("{alias}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let source_line = |table: &str, skip: &[&str]| -> usize {
            kept(table, skip)
                .iter()
                .position(|c| c == "source_line")
                .unwrap_or(usize::MAX)
        };
        let with_path = |sql: String| -> Vec<(String, String)> {
            let mut rows: Vec<(String, String)> = rows_as_text(&conn, &sql)
                .into_iter()
                .map(|r| match r.split_once(" | ") {
                    Some((path, rest)) => (path.to_string(), rest.to_string()),
                    None => (r, String::new()),
                })
                .collect();
            rows.sort();
            rows
        };
        let orders = with_path(format!(
            "SELECT f.path, {} FROM dropship_purchases p
             LEFT JOIN import_files f ON f.id = p.import_file_id",
            select("dropship_purchases", "p", &["import_file_id"])
        ));
        let lines = with_path(format!(
            "SELECT f.path, {} FROM dropship_purchase_details d
             LEFT JOIN import_files f ON f.id = d.import_file_id",
            select("dropship_purchase_details", "d", &["id", "import_file_id"])
        ));
        let rejects = with_path(
            "SELECT f.path, r.line, r.column_name, r.value, r.reason, r.message, r.raw
             FROM import_rejects r LEFT JOIN import_files f ON f.id = r.file_id"
                .to_string(),
        );
        Image {
            orders,
            lines,
            rejects,
            order_source_line: source_line("dropship_purchases", &["import_file_id"]),
            line_source_line: source_line("dropship_purchase_details", &["id", "import_file_id"]),
        }
    }

    /// Orders and lines without their owner and source line, which are not
    /// defined when files read at once share orders (the copies of a shared
    /// order are identical otherwise). Rejects keep their file.
    fn ownerless(&self) -> Image {
        let strip = |rows: &[(String, String)], source_line_at: usize| -> Vec<(String, String)> {
            let mut out: Vec<(String, String)> = rows
                .iter()
                .map(|(_, rest)| {
                    let mut vals: Vec<&str> = rest.split(" | ").collect();
                    if source_line_at < vals.len() {
                        vals.remove(source_line_at);
                    }
                    (String::new(), vals.join(" | "))
                })
                .collect();
            out.sort();
            out
        };
        Image {
            orders: strip(&self.orders, self.order_source_line),
            lines: strip(&self.lines, self.line_source_line),
            rejects: self.rejects.clone(),
            order_source_line: usize::MAX,
            line_source_line: usize::MAX,
        }
    }

    /// Only what the file at `path` owns.
    fn owned_by(&self, path: &str) -> Image {
        let keep = |rows: &[(String, String)]| -> Vec<(String, String)> {
            rows.iter()
                .filter(|(p, _)| p == &format!("'{path}'"))
                .cloned()
                .collect()
        };
        Image {
            orders: keep(&self.orders),
            lines: keep(&self.lines),
            rejects: keep(&self.rejects),
            order_source_line: self.order_source_line,
            line_source_line: self.line_source_line,
        }
    }
}

/// Sorted-list equality with a short, readable difference.
#[track_caller]
fn assert_same_rows(
    what: &str,
    ctx: &str,
    expected: &[(String, String)],
    actual: &[(String, String)],
) {
    if expected == actual {
        return;
    }
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < expected.len() || j < actual.len() {
        if j == actual.len() || (i < expected.len() && expected[i] < actual[j]) {
            missing.push(&expected[i]);
            i += 1;
        } else if i == expected.len() || actual[j] < expected[i] {
            extra.push(&actual[j]);
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    panic!(
        "{ctx}: {what} differ from the clean run: expected {} rows, found {}; \
         {} missing, first: {:#?}\n{} unexpected, first: {:#?}",
        expected.len(),
        actual.len(),
        missing.len(),
        &missing[..missing.len().min(5)],
        extra.len(),
        &extra[..extra.len().min(5)],
    );
}

#[track_caller]
fn assert_same_image(ctx: &str, expected: &Image, actual: &Image) {
    assert_same_rows("orders", ctx, &expected.orders, &actual.orders);
    assert_same_rows("lines", ctx, &expected.lines, &actual.lines);
    assert_same_rows("rejects", ctx, &expected.rejects, &actual.rejects);
}

/// Every row of every table (or of `tables`), every column, sorted: a table
/// may be `WITHOUT ROWID`, so there is no insertion order to rely on.
fn full_dump(db: &Path, tables: Option<&[&str]>) -> BTreeMap<String, Vec<String>> {
    let conn = open_ro(db);
    let names: Vec<String> = match tables {
        Some(t) => t.iter().map(|s| s.to_string()).collect(),
        None => {
            let mut stmt = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        }
    };
    names
        .into_iter()
        .map(|t| {
            let mut rows = rows_as_text(&conn, &format!("SELECT * FROM {t}"));
            rows.sort();
            (t, rows)
        })
        .collect()
}

const DATA_TABLES: &[&str] = &["dropship_purchases", "dropship_purchase_details"];

#[track_caller]
fn assert_dumps_equal(
    ctx: &str,
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{ctx}: tables"
    );
    for (table, rows) in before {
        let now = &after[table];
        if rows != now {
            let first = rows
                .iter()
                .zip(now)
                .position(|(a, b)| a != b)
                .unwrap_or(rows.len().min(now.len()));
            panic!(
                "{ctx}: table {table} changed: {} rows before, {} after; first difference at row {first}:\n\
                 before: {:?}\nafter:  {:?}",
                rows.len(),
                now.len(),
                rows.get(first),
                now.get(first)
            );
        }
    }
}

fn one<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// What must hold in the database at any committed moment, killed run or
/// not (with `on_duplicate = skip`): the file is sound; each file's stored
/// lines and rejects are exactly the counts of its checkpoint, which adds
/// up and covers every row read; every line belongs to an order of the same
/// file; nothing points at a file that does not exist.
#[track_caller]
fn check_committed_state(db: &Path, ctx: &str) {
    check_committed_state_in(db, ctx, Duplicates::Skip);
}

/// `on_duplicate` of the runs being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Duplicates {
    Skip,
    /// A later file takes over an order with its lines, so a file may hold
    /// fewer lines than it imported.
    Update,
}

#[track_caller]
fn check_committed_state_in(db: &Path, ctx: &str, mode: Duplicates) {
    let conn = open_ro(db);
    let integrity: String = one(&conn, "PRAGMA integrity_check");
    assert_eq!(integrity, "ok", "{ctx}: PRAGMA integrity_check");
    let has_tables: i64 = one(
        &conn,
        "SELECT count(*) FROM sqlite_master WHERE name = 'import_files'",
    );
    if has_tables == 0 {
        // Killed before the first migration committed: nothing to check.
        return;
    }
    let mut stmt = conn
        .prepare(
            "SELECT f.id, f.path, f.state, f.rows_read, f.rows_imported, f.rows_rejected,
                    f.rows_duplicate, f.rows_filtered, f.rows_committed,
                    (SELECT count(*) FROM dropship_purchase_details d WHERE d.import_file_id = f.id),
                    (SELECT count(*) FROM import_rejects r WHERE r.file_id = f.id)
             FROM import_files f WHERE f.state IN ('in_progress', 'imported')",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let mut n = [0i64; 8];
            for (i, x) in n.iter_mut().enumerate() {
                *x = r.get(i + 3)?;
            }
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, n))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    for (id, path, n) in rows {
        let [
            read,
            imported,
            rejected,
            duplicate,
            filtered,
            committed,
            lines,
            rejects,
        ] = n;
        let what = format!("{ctx}: import_files {id} ({path})");
        assert_eq!(
            read,
            imported + rejected + duplicate + filtered,
            "{what}: rows_read {read} != imported {imported} + rejected {rejected} \
             + duplicate {duplicate} + filtered {filtered}"
        );
        assert_eq!(committed, read, "{what}: rows_committed vs rows_read");
        if mode == Duplicates::Skip {
            assert_eq!(lines, imported, "{what}: stored lines vs rows_imported");
        } else {
            assert!(
                lines <= imported,
                "{what}: {lines} stored lines > rows_imported {imported}"
            );
        }
        assert_eq!(rejects, rejected, "{what}: stored rejects vs rows_rejected");
    }
    for (sql, what) in [
        (
            "SELECT count(*) FROM dropship_purchase_details d
             LEFT JOIN dropship_purchases p ON p.kode_pesanan = d.kode_pesanan
             WHERE p.kode_pesanan IS NULL",
            "lines without their order",
        ),
        (
            "SELECT count(*) FROM dropship_purchase_details d
             JOIN dropship_purchases p ON p.kode_pesanan = d.kode_pesanan
             WHERE p.import_file_id <> d.import_file_id",
            "lines of another file than their order's",
        ),
        (
            // Not a correlated lookup: a killed first load has no index of
            // lines by order yet, and this must not take quadratic time.
            "SELECT count(*) FROM dropship_purchases
             WHERE kode_pesanan NOT IN (SELECT kode_pesanan FROM dropship_purchase_details)",
            "orders without a line",
        ),
        (
            "SELECT count(*) FROM dropship_purchases p WHERE NOT EXISTS
             (SELECT 1 FROM import_files f WHERE f.id = p.import_file_id
              AND f.state IN ('in_progress', 'imported'))",
            "orders of no live file",
        ),
        (
            "SELECT count(*) FROM import_rejects r WHERE NOT EXISTS
             (SELECT 1 FROM import_files f WHERE f.id = r.file_id)",
            "rejects of no file",
        ),
    ] {
        let n: i64 = one(&conn, sql);
        assert_eq!(n, 0, "{ctx}: {what}");
    }
}

/// A clean run's result, to compare others with.
struct Clean {
    /// False when files read at once share orders: which file owns one is
    /// then not defined, and runs are compared without owners.
    owners_defined: bool,
    mode: Duplicates,
    /// Rejects of files whose path starts with this are not compared: files
    /// that fail are read again by every run, and record their rejects
    /// each time.
    failing_prefix: Option<String>,
    image: Image,
    /// file name -> (size, hash, rows read/imported/rejected/duplicate/filtered/failed)
    /// of its `imported` row in `import_files`.
    files: BTreeMap<String, Vec<String>>,
    elapsed: Duration,
}

/// Per file name, its `imported` rows in `import_files` (path, size, hash, counts).
fn imported_files(db: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let conn = open_ro(db);
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in rows_as_text(
        &conn,
        "SELECT path, size_bytes, content_hash, rows_read, rows_imported, rows_rejected,
                rows_duplicate, rows_filtered, rows_failed
         FROM import_files WHERE state = 'imported'",
    ) {
        let vals: Vec<String> = row.split(" | ").map(str::to_string).collect();
        let name = file_name(vals[0].trim_matches('\''));
        out.entry(name).or_default().push(vals);
    }
    out
}

/// Runs `args` (one or more runs, in order) into `db` without interruption.
fn clean_run(work: &Work, db: &str, runs: &[Vec<String>]) -> Clean {
    clean_run_as(work, db, runs, true, Duplicates::Skip)
}

fn clean_run_as(
    work: &Work,
    db: &str,
    runs: &[Vec<String>],
    owners_defined: bool,
    mode: Duplicates,
) -> Clean {
    let start = Instant::now();
    for args in runs {
        work.run(args).expect_complete("clean run");
    }
    let elapsed = start.elapsed();
    let path = work.path(db);
    check_committed_state_in(&path, "clean run", mode);
    let files = imported_files(&path)
        .into_iter()
        .map(|(name, mut rows)| {
            assert_eq!(rows.len(), 1, "clean run: {name} imported more than once");
            (name, rows.remove(0))
        })
        .collect();
    Clean {
        owners_defined,
        mode,
        failing_prefix: None,
        image: Image::of(&path),
        files,
        elapsed,
    }
}

/// After a run that completed: no run is left `running`, no file
/// `in_progress`; every file imported exactly once with the clean run's
/// counts; and the data equal the clean run's.
#[track_caller]
fn check_equals_clean(work: &Work, db: &str, clean: &Clean, ctx: &str) {
    let path = work.path(db);
    check_committed_state_in(&path, ctx, clean.mode);
    let conn = open_ro(&path);
    let running: i64 = one(
        &conn,
        "SELECT count(*) FROM import_runs WHERE state = 'running'",
    );
    assert_eq!(running, 0, "{ctx}: runs left 'running'");
    assert!(
        line_index_exists(&conn),
        "{ctx}: the index of lines by order is missing"
    );
    let odd_runs = rows_as_text(
        &conn,
        "SELECT id, state FROM import_runs
         WHERE state NOT IN ('ok', 'partial', 'interrupted')",
    );
    assert!(
        odd_runs.is_empty(),
        "{ctx}: runs in a state other than ok/partial/interrupted: {odd_runs:?}"
    );
    let in_progress = rows_as_text(
        &conn,
        "SELECT id, path, rows_committed FROM import_files WHERE state = 'in_progress'",
    );
    assert!(
        in_progress.is_empty(),
        "{ctx}: files left in_progress: {in_progress:?}"
    );
    drop(conn);
    let files = imported_files(&path);
    // (imported, duplicate) over all files, when owners are not defined.
    let (mut want_sum, mut got_sum) = ([0i64; 2], [0i64; 2]);
    for (name, want) in &clean.files {
        let got = files.get(name).cloned().unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "{ctx}: {name} should be imported exactly once: {got:?}"
        );
        if clean.owners_defined {
            assert_eq!(
                &got[0], want,
                "{ctx}: import_files row of {name} (path, size, hash, counts)"
            );
        } else {
            // path, size, hash, read | imported, duplicate | rejected, filtered, failed
            let keep = |v: &[String]| [&v[..4], &v[5..6], &v[7..]].concat();
            assert_eq!(
                keep(&got[0]),
                keep(want),
                "{ctx}: import_files row of {name} (path, size, hash, read, rejected, filtered, failed)"
            );
            for (sum, row) in [(&mut want_sum, want), (&mut got_sum, &got[0])] {
                sum[0] += row[4].parse::<i64>().unwrap_or(-1);
                sum[1] += row[6].parse::<i64>().unwrap_or(-1);
            }
        }
    }
    assert_eq!(
        want_sum, got_sum,
        "{ctx}: rows imported and duplicate over all files"
    );
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        clean.files.keys().collect::<Vec<_>>(),
        "{ctx}: imported files"
    );
    let mut image = Image::of(&path);
    if let Some(prefix) = &clean.failing_prefix {
        image
            .rejects
            .retain(|(p, _)| !p.starts_with(&format!("'{prefix}")));
    }
    if clean.owners_defined {
        assert_same_image(ctx, &clean.image, &image);
    } else {
        assert_same_image(ctx, &clean.image.ownerless(), &image.ownerless());
    }
}

// ---------------------------------------------------------------------------
// Catching a run at a moment

/// Sum of `rows_committed` of the files named `name` (all files if `None`);
/// `None` while the database or its tables are not there yet.
fn committed_rows(conn: &Connection, name: Option<&str>) -> Option<i64> {
    let mut stmt = conn
        .prepare_cached("SELECT path, rows_committed FROM import_files")
        .ok()?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .ok()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ok()?;
    Some(
        rows.into_iter()
            .filter(|(p, _)| name.is_none_or(|n| file_name(p) == n))
            .map(|(_, n)| n)
            .sum(),
    )
}

/// Watches a database read-only while a child writes it.
struct Probe {
    db: PathBuf,
    conn: Option<Connection>,
}

impl Probe {
    fn new(db: &Path) -> Probe {
        Probe {
            db: db.to_path_buf(),
            conn: None,
        }
    }

    /// `f` on a read-only connection; `None` (and a fresh connection next
    /// time) while the database is missing, being created or busy.
    fn ask<T>(&mut self, f: impl FnOnce(&Connection) -> Option<T>) -> Option<T> {
        if self.conn.is_none() {
            if !self.db.is_file() {
                return None;
            }
            let conn = Connection::open_with_flags(
                &self.db,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .ok()?;
            conn.busy_timeout(Duration::from_millis(200)).ok()?;
            self.conn = Some(conn);
        }
        let answer = f(self.conn.as_ref()?);
        if answer.is_none() {
            self.conn = None;
        }
        answer
    }
}

/// Polls `cond` while `proc` runs: true once it holds, false when the
/// child ended first.
fn poll_until(proc: &mut Proc, what: &str, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if !proc.alive() {
            return false;
        }
        if start.elapsed() > POLL_TIMEOUT {
            panic!(
                "waited {POLL_TIMEOUT:?} for {what}; dropship-import {:?} stderr:\n{}",
                proc.args,
                proc.stderr_now()
            );
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// One file of 20,000 rows, 1% of them bad, no duplicates.
fn one_file_20k(seed: u64) -> Spec {
    Spec {
        files: 1,
        rows: 20_000,
        seed,
        bad_share: 0.01,
        dup_share: 0.0,
    }
}

/// Runs `args`, sends Ctrl-C as soon as the run has committed a chunk,
/// and returns the run, which exited 130.
fn interrupted_after_first_commit(work: &Work, db: &Path, args: &[String]) -> Done {
    let mut proc = work.spawn(args);
    assert!(
        wait_for(&mut proc, work, db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    proc.signal(libc::SIGINT);
    let done = proc.wait();
    done.expect_code(&[130], "Ctrl-C");
    done
}

/// When to stop a run.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// As soon as it has committed a chunk (more rows committed than before
    /// it started): during the first file of a fresh run, right after the
    /// resumed file's first new chunk otherwise.
    NextCommit,
    /// As soon as the largest file (the last one with `-j 1`) has committed
    /// more rows than before.
    InLargest,
    /// After a delay.
    After(Duration),
}

/// Waits for `moment`; true when the child is still running then, false
/// when it ended first.
fn wait_for(proc: &mut Proc, work: &Work, db: &Path, moment: Moment) -> bool {
    let largest = work.largest();
    let name = match moment {
        Moment::NextCommit => None,
        Moment::InLargest => Some(largest.as_str()),
        Moment::After(delay) => {
            let until = Instant::now() + delay;
            while Instant::now() < until {
                if !proc.alive() {
                    return false;
                }
                std::thread::sleep(POLL_EVERY);
            }
            return proc.alive();
        }
    };
    // The child has not written yet, so reading now sees the starting point.
    let baseline = read_only(db)
        .ok()
        .and_then(|c| committed_rows(&c, name))
        .unwrap_or(0);
    let mut probe = Probe::new(db);
    poll_until(proc, &format!("{moment:?}"), || {
        probe
            .ask(|c| committed_rows(c, name))
            .is_some_and(|n| n > baseline)
    })
}

/// Where the files of a (stopped or dead) run stand, for the log.
fn describe_progress(db: &Path) -> String {
    let Ok(conn) = read_only(db) else {
        return "no database yet".to_string();
    };
    let mut stmt =
        match conn.prepare("SELECT path, state, rows_committed FROM import_files ORDER BY id") {
            Ok(s) => s,
            Err(_) => return "no tables yet".to_string(),
        };
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
    match rows {
        Ok(rows) => {
            let done = rows.iter().filter(|(_, s, _)| s == "imported").count();
            let going: Vec<String> = rows
                .iter()
                .filter(|(_, s, _)| s == "in_progress")
                .map(|(p, _, n)| format!("{} at row {n}", file_name(p)))
                .collect();
            format!("{done} files imported, in progress: [{}]", going.join(", "))
        }
        Err(e) => format!("state unknown ({e})"),
    }
}

/// What one run stopped by [`kill_run`] left behind.
struct Killed {
    /// A line for the log.
    line: String,
    /// The run died by SIGKILL (rather than ending first).
    killed: bool,
    /// The files it left `in_progress`: (import_files id, content hash,
    /// rows committed).
    left: Vec<(i64, String, i64)>,
}

/// The files left `in_progress`: (id, content hash, rows committed).
fn left_in_progress(db: &Path) -> Vec<(i64, String, i64)> {
    let Ok(conn) = read_only(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT id, content_hash, rows_committed FROM import_files WHERE state = 'in_progress'",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .unwrap_or_default()
}

/// Starts a run, kill -9s it at `moment` (frozen first, so that the log
/// says where it was) and checks what it left.
fn kill_run(
    work: &Work,
    db: &str,
    args: &[String],
    moment: Moment,
    mode: Duplicates,
    must_kill: bool,
    ctx: &str,
) -> Killed {
    let path = work.path(db);
    let mut proc = work.spawn(args);
    let caught = wait_for(&mut proc, work, &path, moment);
    let (line, killed) = if caught {
        proc.signal(libc::SIGSTOP);
        let at = describe_progress(&path);
        proc.signal(libc::SIGKILL);
        let done = proc.wait();
        if done.signal == Some(libc::SIGKILL) {
            (format!("killed at {moment:?}: {at}"), true)
        } else {
            // It ended between the last look and the signals.
            done.expect_complete(&format!("{ctx}: run that ended just before the kill"));
            let line = format!(
                "ended just before the kill at {moment:?} (exit {:?})",
                done.code
            );
            (line, false)
        }
    } else {
        let done = proc.wait();
        done.expect_complete(&format!("{ctx}: run that ended before {moment:?}"));
        (
            format!("ended before {moment:?} (exit {:?})", done.code),
            false,
        )
    };
    if must_kill && !matches!(moment, Moment::After(_)) {
        // A moment found by watching commits, on a fresh database, must be
        // caught: a run that ends first means the data are too small to
        // test anything.
        assert!(killed, "{ctx}: nothing was killed: {line}");
    }
    // A run killed at a random moment may not have created the database
    // yet: then it left nothing to check.
    if path.exists() {
        check_committed_state_in(&path, &format!("{ctx}, after: {line}"), mode);
    }
    Killed {
        line,
        killed,
        left: left_in_progress(&path),
    }
}

// ---------------------------------------------------------------------------
// 1. kill -9 and resume

/// Trial `t`'s kill moments: the first three are fixed (first file, last
/// file, both with a kill right after resuming in between), the rest random.
fn kill_plan(t: usize, rng: &mut Rng, clean: Duration) -> Vec<Moment> {
    match t {
        0 => vec![Moment::NextCommit],
        1 => vec![Moment::InLargest],
        2 => vec![Moment::NextCommit, Moment::NextCommit, Moment::InLargest],
        _ => {
            let span = (clean.as_micros() as u64 * 6 / 5).max(1000);
            (0..1 + rng.below(3))
                .map(|_| match rng.below(5) {
                    0 => Moment::NextCommit,
                    1 => Moment::InLargest,
                    _ => Moment::After(Duration::from_micros(rng.below(span))),
                })
                .collect()
        }
    }
}

/// One kind of kill-and-resume trial.
#[derive(Debug, Clone)]
struct KillCase {
    jobs: usize,
    dup_share: f64,
    seed: u64,
    format: Format,
    mode: Duplicates,
    /// `--commit-interval`; `None` leaves the default (250 ms).
    commit_interval: Option<String>,
    /// Times [`soak_rows`]: at the default interval a run must last several
    /// commits for a kill to land inside a file.
    rows_factor: usize,
}

impl KillCase {
    fn new(jobs: usize, dup_share: f64, seed: u64) -> KillCase {
        KillCase {
            jobs,
            dup_share,
            seed,
            format: Format::default(),
            mode: Duplicates::Skip,
            commit_interval: Some(commit_interval()),
            rows_factor: 1,
        }
    }

    fn args(&self, db: &str) -> Vec<String> {
        let mut args = import_args(db, self.jobs);
        let at = args
            .iter()
            .position(|a| a == "--commit-interval")
            .expect("import_args sets --commit-interval");
        match &self.commit_interval {
            Some(interval) => args[at + 1] = interval.clone(),
            None => {
                args.drain(at..at + 2);
            }
        }
        if self.mode == Duplicates::Update {
            args.extend(strings(&["--on-duplicate", "update"]));
        }
        args
    }
}

fn kill_and_resume(jobs: usize, dup_share: f64, seed: u64) {
    kill_and_resume_case(&KillCase::new(jobs, dup_share, seed));
}

fn kill_and_resume_case(case: &KillCase) {
    let rows = soak_rows() * case.rows_factor;
    let trials = soak_trials();
    let jobs = case.jobs;
    let spec = Spec {
        files: 6,
        rows,
        seed: case.seed,
        bad_share: 0.01,
        dup_share: case.dup_share,
    };
    let rng_seed = match std::env::var("DROPSHIP_SOAK_SEED") {
        Ok(_) => env_number("DROPSHIP_SOAK_SEED", 1),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    };
    let ctx = format!("{case:?}, {spec:?}");
    let started = Instant::now();
    let work = Work::new_with(&spec, &case.format);
    // With files read at once, an order two files hold has no defined owner.
    let owners_defined = jobs == 1 || case.dup_share == 0.0;
    let clean = clean_run_as(
        &work,
        "clean.db",
        &[case.args("clean.db")],
        owners_defined,
        case.mode,
    );
    eprintln!(
        "[kill {case:?}] {rows} rows in 6 files, {trials} trials, random moments seed {rng_seed} \
         (DROPSHIP_SOAK_SEED={rng_seed} repeats the plan); clean run {:?}",
        clean.elapsed
    );
    let mut rng = Rng::new(rng_seed);
    let (mut kills, mut mid_file) = (0, 0);
    for t in 0..trials {
        let db = format!("killed-{t}.db");
        let args = case.args(&db);
        let plan = kill_plan(t, &mut rng, clean.elapsed);
        let tctx = format!("{ctx}, trial {t} {plan:?}");
        let mut log = Vec::new();
        // Files left part-way: each must be taken over under its own
        // import_files row, not read again as a new file.
        let mut left: BTreeMap<String, i64> = BTreeMap::new();
        for (i, &moment) in plan.iter().enumerate() {
            let k = kill_run(
                &work,
                &db,
                &args,
                moment,
                case.mode,
                i == 0,
                &format!("{tctx}, run {i}"),
            );
            kills += usize::from(k.killed);
            mid_file += usize::from(k.left.iter().any(|(_, _, rows)| *rows > 0));
            for (id, hash, _) in k.left {
                let first = *left.entry(hash.clone()).or_insert(id);
                assert_eq!(
                    first, id,
                    "{tctx}, run {i}: the file with hash {hash} left part-way twice \
                     got a new import_files row instead of resuming its own"
                );
            }
            log.push(k.line);
        }
        let last = work.run(&args);
        last.expect_complete(&format!("{tctx}, final run"));
        check_equals_clean(&work, &db, &clean, &tctx);
        let conn = open_ro(&work.path(&db));
        for (hash, id) in &left {
            let now: i64 = conn
                .query_row(
                    "SELECT id FROM import_files WHERE content_hash = ?1 AND state = 'imported'",
                    [hash],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{tctx}: the imported row of hash {hash}: {e}"));
            assert_eq!(
                now, *id,
                "{tctx}: a file left part-way (import_files {id}) was imported as a new file \
                 ({now}) instead of being resumed"
            );
        }
        let states = rows_as_text(&conn, "SELECT state FROM import_runs ORDER BY id");
        eprintln!(
            "[kill -j {jobs}] trial {t}: {}; resumed {} files under their own rows; \
             final run exit {:?}; runs {states:?}; equal to the clean run",
            log.join("; "),
            left.len(),
            last.code
        );
    }
    assert!(kills > 0, "{ctx}: {trials} trials killed nothing");
    // Trial 1 kills inside the largest file, so from two trials on some
    // file must have been resumed from a real checkpoint.
    assert!(
        mid_file > 0 || trials < 2,
        "{ctx}: no kill left a file part-way with rows committed: nothing was resumed"
    );
    eprintln!(
        "[kill -j {jobs}] {trials} trials, {kills} kills, {rows} rows: all equal to the clean run in {:?}",
        started.elapsed()
    );
}

#[test]
fn kill_9_and_resume_with_one_job_ends_equal_to_a_clean_run() {
    kill_and_resume(1, 0.05, 0xD0_5EED_0001);
}

#[test]
fn kill_9_and_resume_with_three_jobs_ends_equal_to_a_clean_run() {
    // No order shared between files: every owner is defined.
    kill_and_resume(3, 0.0, 0xD0_5EED_0003);
}

#[test]
fn kill_9_and_resume_with_three_jobs_and_orders_shared_between_files() {
    // Which file owns a shared order is not defined: the runs are compared
    // without owners, each order's lines still from its one file.
    kill_and_resume(3, 0.1, 0xD0_5EED_0033);
}

#[test]
fn kill_9_and_resume_gzip_bom_crlf_and_multi_line_records_at_the_default_commit_interval() {
    kill_and_resume_case(&KillCase {
        format: Format {
            gzip: true,
            bom: true,
            crlf: true,
            quoted_newlines: true,
            ..Format::default()
        },
        commit_interval: None,
        rows_factor: 4,
        ..KillCase::new(1, 0.05, 0xD0_5EED_0C21)
    });
}

#[test]
fn kill_9_and_resume_with_update_semicolons_and_grouped_money() {
    kill_and_resume_case(&KillCase {
        format: Format {
            delimiter: Some(b';'),
            money: Money::Grouped,
            quoted_newlines: true,
            ..Format::default()
        },
        mode: Duplicates::Update,
        ..KillCase::new(1, 0.1, 0xD0_5EED_0D0B)
    });
}

#[test]
fn kill_9_and_resume_with_update_and_three_jobs_sharing_orders() {
    kill_and_resume_case(&KillCase {
        mode: Duplicates::Update,
        commit_interval: None,
        rows_factor: 4,
        ..KillCase::new(3, 0.1, 0xD0_5EED_0D03)
    });
}

// ---------------------------------------------------------------------------
// 2. Commits

#[test]
fn a_commit_interval_longer_than_the_run_shows_readers_nothing_half_way() {
    let work = Work::new(&spec_20k(0x0C0_1417, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("long.db");
    let mut args = import_args("long.db", 1);
    let at = args
        .iter()
        .position(|a| a == "--commit-interval")
        .expect("import_args sets --commit-interval");
    args[at + 1] = "1h".into();

    let mut proc = work.spawn(&args);
    // Caught running, frozen: a reader looks while the transaction is open.
    let run_id = wait_for_running_row(&mut proc, &db);
    proc.signal(libc::SIGSTOP);
    let mid = open_ro(&db);
    let state: String = one(
        &mid,
        &format!("SELECT state FROM import_runs WHERE id = {run_id}"),
    );
    let committed_mid = committed_rows(&mid, None).expect("committed rows while running");
    drop(mid);
    proc.signal(libc::SIGCONT);
    let mut probe = Probe::new(&db);
    let mut seen = BTreeSet::from([committed_mid]);
    while proc.alive() {
        if let Some(n) = probe.ask(|c| committed_rows(c, None)) {
            seen.insert(n);
        }
        std::thread::sleep(POLL_EVERY);
    }
    let done = proc.wait();
    done.expect_complete("one-hour commit interval");
    let total = committed_rows(&open_ro(&db), None).expect("committed rows");
    assert!(total > 0, "the run committed rows in the end");
    assert_eq!(
        state, "running",
        "the reader looked while the run was going"
    );
    assert!(
        committed_mid == 0 || committed_mid == total,
        "a reader saw {committed_mid} of {total} rows while the one-hour transaction was open"
    );
    assert!(
        seen.iter().all(|&n| n == 0 || n == total),
        "with a one-hour interval a reader sees no rows or all {total}, never a part: {seen:?}"
    );
    check_equals_clean(&work, "long.db", &clean, "one-hour commit interval");
}

#[test]
fn the_write_ahead_log_is_written_over_instead_of_growing_with_the_import() {
    let work = Work::new(&spec_20k(0x0A1, 0.0));
    let db = work.path("wal.db");
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);

    // The log's file is never shortened during a run, so its size is its
    // high-water mark; it is removed when the run closes the database.
    let mut proc = work.spawn(&import_args("wal.db", 1));
    let mut largest = 0;
    while proc.alive() {
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::sleep(POLL_EVERY);
    }
    proc.wait().expect_complete("watching the log");
    let size = std::fs::metadata(&db).expect("database").len();
    assert!(
        largest > 0 && largest < size / 2,
        "the log reached {largest} bytes for a database of {size}: it should be written over \
         from the start after each commit, not grow with the import"
    );
}

// ---------------------------------------------------------------------------
// 3, 4. One run at a time

fn spec_20k(seed: u64, dup_share: f64) -> Spec {
    Spec {
        files: 6,
        rows: 20_000,
        seed,
        bad_share: 0.01,
        dup_share,
    }
}

/// Polls until `proc` has its `running` row in import_runs; its run id.
fn wait_for_running_row(proc: &mut Proc, db: &Path) -> i64 {
    let pid = proc.pid();
    let mut probe = Probe::new(db);
    let mut id = None;
    let seen = poll_until(proc, "the run's 'running' row", || {
        id = probe.ask(|c| {
            c.query_row(
                "SELECT id FROM import_runs WHERE state = 'running' AND pid = ?1",
                [pid],
                |r| r.get::<_, i64>(0),
            )
            .ok()
        });
        id.is_some()
    });
    assert!(
        seen,
        "the run ended before its 'running' row was seen (data too small?)"
    );
    id.expect("run id")
}

#[test]
fn a_second_run_on_the_same_database_exits_1_at_once_naming_the_first() {
    let work = Work::new(&spec_20k(0xB0_5E, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("a.db");

    let mut first = work.spawn(&import_args("a.db", 1));
    let run_id = wait_for_running_row(&mut first, &db);
    // Frozen, the first run cannot end before the second one has tried.
    first.signal(libc::SIGSTOP);
    let conn = open_ro(&db);
    let started: String = one(
        &conn,
        &format!("SELECT started_at FROM import_runs WHERE id = {run_id}"),
    );
    drop(conn);

    let absolute = db.to_string_lossy().into_owned();
    for (how, db_arg) in [("same --db", "a.db"), ("absolute --db", absolute.as_str())] {
        let second = work.run(&import_args(db_arg, 1));
        let ctx = format!("second run, {how}");
        second.expect_code(&[1], &ctx);
        for needle in [
            "busy".to_string(),
            format!("run {run_id}"),
            first.pid().to_string(),
            started.clone(),
        ] {
            assert!(
                second.stderr.contains(&needle),
                "{ctx}: stderr should name the holder ({needle:?})\n{}",
                second.show()
            );
        }
        assert!(
            second.json.is_null(),
            "{ctx}: no summary expected\n{}",
            second.show()
        );
    }

    first.signal(libc::SIGCONT);
    let done = first.wait();
    done.expect_complete("first run, after the second was refused");
    let conn = open_ro(&db);
    let runs = rows_as_text(&conn, "SELECT id, state, pid FROM import_runs");
    assert_eq!(runs.len(), 1, "only the first run is recorded: {runs:?}");
    drop(conn);
    check_equals_clean(&work, "a.db", &clean, "first run");
}

#[test]
fn a_second_run_through_a_symlink_to_the_database_is_refused_too() {
    // The same database under another name is still the same database.
    let work = Work::new(&spec_20k(0x51_41, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("a.db");
    std::os::unix::fs::symlink("a.db", work.path("link.db")).expect("symlink");

    let mut first = work.spawn(&import_args("a.db", 1));
    let run_id = wait_for_running_row(&mut first, &db);
    first.signal(libc::SIGSTOP);
    let second = work.run(&import_args("link.db", 1));
    first.signal(libc::SIGCONT);
    let done = first.wait();

    done.expect_complete("first run");
    let conn = open_ro(&db);
    let lines: i64 = one(&conn, "SELECT count(*) FROM dropship_purchase_details");
    drop(conn);
    assert!(
        second.code == Some(1)
            && second.stderr.contains("busy")
            && second.stderr.contains(&format!("run {run_id}")),
        "second run through link.db: should exit 1 saying the database is busy with run {run_id}; \
         afterwards a.db holds {lines} lines, a clean run {}\n{}",
        clean.image.lines.len(),
        second.show()
    );
    check_equals_clean(
        &work,
        "a.db",
        &clean,
        "first run, with a second through a symlink",
    );
}

#[test]
fn a_dead_runs_claim_is_taken_over_and_its_run_marked_interrupted() {
    let work = Work::new(&spec_20k(0xDEAD, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("s.db");
    let args = import_args("s.db", 1);

    let mut first = work.spawn(&args);
    let dead_pid = first.pid();
    assert!(
        wait_for(&mut first, &work, &db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    first.signal(libc::SIGKILL);
    let done = first.wait();
    assert_eq!(done.signal, Some(libc::SIGKILL), "{}", done.show());
    let conn = open_ro(&db);
    let stale = rows_as_text(&conn, "SELECT id, state, pid FROM import_runs");
    assert_eq!(
        stale,
        [format!("1 | 'running' | {dead_pid}")],
        "the killed run is still marked running"
    );
    drop(conn);
    assert!(work.path("s.db.lock").exists(), "the lock file stays");

    let next = work.run(&args);
    next.expect_complete("run after the dead one");
    assert!(
        !next.stderr.contains("busy"),
        "a dead run must not make the database busy\n{}",
        next.show()
    );
    let conn = open_ro(&db);
    let runs = rows_as_text(&conn, "SELECT id, state FROM import_runs ORDER BY id");
    let status = next.json["status"].as_str().unwrap_or("?");
    assert_eq!(
        runs,
        ["1 | 'interrupted'".to_string(), format!("2 | '{status}'")],
        "run states after the takeover"
    );
    drop(conn);
    check_equals_clean(
        &work,
        "s.db",
        &clean,
        "after taking over a dead run's claim",
    );
}

// ---------------------------------------------------------------------------
// 5. Ctrl-C

#[test]
fn ctrl_c_commits_prints_an_interrupted_summary_exits_130_and_the_rerun_completes() {
    let work = Work::new(&spec_20k(0xC7_1C, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("int.db");
    let args = import_args("int.db", 1);

    let mut proc = work.spawn(&args);
    assert!(
        wait_for(&mut proc, &work, &db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    proc.signal(libc::SIGSTOP);
    let at = describe_progress(&db);
    proc.signal(libc::SIGINT);
    proc.signal(libc::SIGCONT);
    let done = proc.wait();
    let ctx = format!("Ctrl-C at {at}");
    done.expect_code(&[130], &ctx);
    done.assert_summary_adds_up(&ctx);
    assert_eq!(done.json["status"], "interrupted", "{ctx}\n{}", done.show());
    let run_id = done.json["run_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{ctx}: run_id\n{}", done.show()));
    let statuses: Vec<&str> = done
        .per_file()
        .iter()
        .map(|f| f["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses.len(),
        work.files.len(),
        "{ctx}: per_file\n{}",
        done.show()
    );
    assert!(
        statuses.contains(&"interrupted"),
        "{ctx}: a file not finished is 'interrupted': {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == "imported" || *s == "interrupted"),
        "{ctx}: statuses {statuses:?}"
    );

    // What the summary says was done is exactly what was committed.
    check_committed_state(&db, &ctx);
    assert!(
        line_index_exists(&open_ro(&db)),
        "{ctx}: an interrupted first load still builds the line index"
    );
    let conn = open_ro(&db);
    let state: String = one(
        &conn,
        &format!("SELECT state FROM import_runs WHERE id = {run_id}"),
    );
    assert_eq!(state, "interrupted", "{ctx}: import_runs.state");
    for f in done.per_file() {
        let path = f["path"].as_str().unwrap_or("?");
        let c = counts(&f["rows"]);
        let stored: Option<(i64, i64, i64, i64)> = conn
            .query_row(
                "SELECT rows_read, rows_imported, rows_rejected, rows_duplicate
                 FROM import_files WHERE path = ?1 AND run_id = ?2",
                rusqlite::params![path, run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .ok();
        if c[0] == 0 && stored.is_none() {
            continue; // not begun
        }
        let stored = stored.unwrap_or_else(|| panic!("{ctx}: no import_files row for {path}"));
        assert_eq!(
            [stored.0, stored.1, stored.2, stored.3].map(|n| n as u64),
            [c[0], c[1], c[2], c[3]],
            "{ctx}: {path}: summary rows (read, imported, rejected, duplicate) vs committed"
        );
    }
    drop(conn);

    let rerun = work.run(&args);
    rerun.expect_complete("rerun after Ctrl-C");
    check_equals_clean(&work, "int.db", &clean, "rerun after Ctrl-C");
    eprintln!(
        "[ctrl-c] {at}; summary {statuses:?}; rerun exit {:?}",
        rerun.code
    );
}

/// Freezes `proc` at a moment it holds no write transaction and takes the
/// database's write lock: the run can then read on but not commit. The
/// child is left stopped.
fn hold_write_lock(proc: &mut Proc, db: &Path) -> Connection {
    let start = Instant::now();
    loop {
        proc.signal(libc::SIGSTOP);
        let conn = Connection::open(db).expect("open the database to lock it");
        // Ask once: a frozen run holding the lock would never let go.
        conn.busy_timeout(Duration::ZERO).expect("busy timeout");
        if conn.execute_batch("BEGIN IMMEDIATE").is_ok() {
            return conn;
        }
        // The run was frozen inside its own write: let it finish that one.
        drop(conn);
        proc.signal(libc::SIGCONT);
        assert!(
            start.elapsed() < POLL_TIMEOUT,
            "never caught the run between two writes"
        );
        assert!(
            proc.alive(),
            "the run ended before its write lock could be taken"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

#[test]
fn a_second_ctrl_c_exits_130_at_once_and_the_rerun_still_completes() {
    let work = Work::new(&spec_20k(0xC7_2C, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("int.db");
    let args = import_args("int.db", 1);

    let mut proc = work.spawn(&args);
    assert!(
        wait_for(&mut proc, &work, &db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    // With the write lock held here, the run cannot commit what is in
    // flight, so after the first Ctrl-C it is still going, for certain,
    // when the second one comes.
    let lock = hold_write_lock(&mut proc, &db);
    let at = describe_progress(&db);
    proc.signal(libc::SIGINT);
    proc.signal(libc::SIGCONT);
    let err = proc.err.clone();
    let first_seen = poll_until(&mut proc, "the first Ctrl-C to be taken", || {
        std::fs::read_to_string(&err).is_ok_and(|e| e.contains("Ctrl-C again to quit at once"))
    });
    assert!(
        first_seen,
        "the run ended before saying it took the first Ctrl-C:\n{}",
        proc.stderr_now()
    );
    assert!(proc.alive(), "the run ended while its commit was blocked");
    proc.signal(libc::SIGINT);
    let done = proc.wait();
    drop(lock);
    let ctx = format!("two Ctrl-C at {at}");
    done.expect_code(&[130], &ctx);
    assert!(
        done.json.is_null(),
        "{ctx}: the second Ctrl-C quits at once, without the summary of a finished stop\n{}",
        done.show()
    );
    // It did not finish: its run is still recorded running and a file is
    // left part-way, as a kill would leave them.
    let conn = open_ro(&db);
    let running: i64 = one(
        &conn,
        "SELECT count(*) FROM import_runs WHERE state = 'running'",
    );
    assert_eq!(running, 1, "{ctx}: the run was not ended in the database");
    let imported: i64 = one(
        &conn,
        "SELECT count(*) FROM import_files WHERE state = 'imported'",
    );
    assert!(
        (imported as usize) < work.files.len(),
        "{ctx}: the run finished every file after the second Ctrl-C"
    );
    drop(conn);
    check_committed_state(&db, &ctx);

    let rerun = work.run(&args);
    rerun.expect_complete("rerun after two Ctrl-C");
    check_equals_clean(&work, "int.db", &clean, "rerun after two Ctrl-C");
}

/// SIGTERM (what `kill`, systemd and container runtimes send) stops a run as
/// Ctrl-C does: exit 130, an `interrupted` summary, committed rows kept.
#[test]
fn sigterm_stops_like_ctrl_c_keeps_what_was_committed_and_the_rerun_completes() {
    let work = Work::new(&spec_20k(0x7E_57, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("term.db");
    let args = import_args("term.db", 1);

    let mut proc = work.spawn(&args);
    assert!(
        wait_for(&mut proc, &work, &db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    proc.signal(libc::SIGSTOP);
    let before = committed_rows(&open_ro(&db), None).expect("committed rows");
    let at = describe_progress(&db);
    proc.signal(libc::SIGTERM);
    proc.signal(libc::SIGCONT);
    let done = proc.wait();
    let ctx = format!("SIGTERM at {at}");
    assert_eq!(
        done.signal,
        None,
        "{ctx}: SIGTERM is handled\n{}",
        done.show()
    );
    done.expect_code(&[130], &ctx);
    done.assert_summary_adds_up(&ctx);
    assert_eq!(done.json["status"], "interrupted", "{ctx}\n{}", done.show());
    let statuses: Vec<&str> = done
        .per_file()
        .iter()
        .map(|f| f["status"].as_str().unwrap_or("?"))
        .collect();
    assert!(
        statuses.contains(&"interrupted"),
        "{ctx}: a file not finished is 'interrupted': {statuses:?}"
    );
    check_committed_state(&db, &ctx);
    let after = committed_rows(&open_ro(&db), None).expect("committed rows");
    assert!(
        after >= before && before > 0,
        "{ctx}: committed rows kept ({before} before the signal, {after} after)"
    );
    let state: String = one(
        &open_ro(&db),
        "SELECT state FROM import_runs ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(state, "interrupted", "{ctx}: import_runs.state");

    let rerun = work.run(&args);
    rerun.expect_complete("rerun after SIGTERM");
    check_equals_clean(&work, "term.db", &clean, "rerun after SIGTERM");
}

/// SPEC: each row is counted in the run that committed it. A file stopped
/// part-way by Ctrl-C and finished by the rerun is counted once over both
/// runs, in the summaries and in `import_runs`, and the rerun says from
/// which line it went on.
#[test]
fn rows_of_a_file_stopped_part_way_are_counted_once_over_both_runs() {
    let work = Work::new(&one_file_20k(0xC0_47));
    let db = work.path("int.db");
    let args = import_args("int.db", 1);
    let total = work.files[0].rows.len() as u64;

    let first = interrupted_after_first_commit(&work, &db, &args);
    first.assert_summary_adds_up("Ctrl-C");
    let first_read = counts(&first.per_file()[0]["rows"])[0];
    assert!(
        first_read > 0 && first_read < total,
        "the file was stopped part-way: {first_read} of {total}\n{}",
        first.show()
    );

    let rerun = work.run(&args);
    rerun.expect_complete("rerun after Ctrl-C");
    let file = &rerun.per_file()[0];
    let read = counts(&file["rows"])[0];
    assert_eq!(read + first_read, total, "{}", rerun.show());
    assert!(
        file["resumed_from_line"].as_u64().is_some_and(|l| l > 1),
        "the rerun says from which line it went on\n{}",
        rerun.show()
    );
    let read_by_runs: i64 = one(&open_ro(&db), "SELECT sum(rows_read) FROM import_runs");
    assert_eq!(
        read_by_runs as u64, total,
        "rows read over both runs in import_runs"
    );
    let imported_by_runs: i64 = one(&open_ro(&db), "SELECT sum(rows_imported) FROM import_runs");
    let lines: i64 = one(
        &open_ro(&db),
        "SELECT count(*) FROM dropship_purchase_details",
    );
    assert_eq!(
        imported_by_runs, lines,
        "rows imported over both runs = lines stored"
    );
}

/// `status` of a file's entry as `run` saw it: `(state, rows read,
/// resumed_from_line, stopped_at_line, resumed_by_run)`.
fn status_of_file(work: &Work, db: &str, run: i64) -> (String, u64, Value, Value, Value) {
    let out = Command::new(BIN)
        .current_dir(work.dir.path())
        .args(["status", "--db", db, &run.to_string(), "--json"])
        .output()
        .expect("run status");
    assert!(out.status.success(), "{out:?}");
    let d: Value = serde_json::from_slice(&out.stdout).expect("status --json");
    let files = d["files"].as_array().expect("files");
    assert_eq!(
        files.len(),
        1,
        "run {run} lists the one file it read part of: {d}"
    );
    let f = &files[0];
    (
        f["state"].as_str().unwrap_or_default().to_string(),
        f["rows"]["read"].as_u64().unwrap_or(0),
        f["resumed_from_line"].clone(),
        f["stopped_at_line"].clone(),
        f["resumed_by_run"].clone(),
    )
}

/// SPEC: each row is counted in the run that committed it, and `status`
/// shows it there: a file stopped part-way by Ctrl-C and finished by the
/// rerun is listed in the first run as interrupted with the rows it
/// committed and the line it stopped at, and in the rerun with only the
/// rows the rerun read and the line it resumed from.
#[test]
fn status_shows_a_resumed_file_in_each_run_with_the_rows_that_run_committed() {
    let work = Work::new(&one_file_20k(0x57_A7));
    let db = work.path("st.db");
    let args = import_args("st.db", 1);
    let total = work.files[0].rows.len() as u64;

    let first = interrupted_after_first_commit(&work, &db, &args);
    let first_read = counts(&first.per_file()[0]["rows"])[0];
    assert!(first_read > 0 && first_read < total, "{}", first.show());
    let rerun = work.run(&args);
    rerun.expect_complete("rerun after Ctrl-C");
    let resumed_at = rerun.per_file()[0]["resumed_from_line"].clone();
    assert!(
        resumed_at.as_u64().is_some_and(|l| l > 1),
        "{}",
        rerun.show()
    );
    let runs: Vec<i64> = {
        let conn = open_ro(&db);
        let mut stmt = conn
            .prepare("SELECT id FROM import_runs ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(runs.len(), 2, "two runs recorded");

    let (state, read, from, stopped, by) = status_of_file(&work, "st.db", runs[0]);
    assert_eq!(state, "interrupted");
    assert_eq!(
        read, first_read,
        "the first run shows the rows it committed"
    );
    assert!(from.is_null());
    assert_eq!(stopped, resumed_at, "it stopped where the rerun resumed");
    assert_eq!(by, runs[1]);

    let (state, read, from, stopped, by) = status_of_file(&work, "st.db", runs[1]);
    assert_eq!(state, "imported");
    assert_eq!(
        read + first_read,
        total,
        "the rerun shows only what it read"
    );
    assert_eq!(from, resumed_at);
    assert!(stopped.is_null() && by.is_null());

    // And in words, in the detail of each run.
    let text = |run: i64| {
        let out = Command::new(BIN)
            .current_dir(work.dir.path())
            .args(["status", "--db", "st.db", &run.to_string()])
            .output()
            .expect("run status");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let line = resumed_at.as_u64().unwrap_or(0);
    let first_text = text(runs[0]);
    assert!(
        first_text.contains(&format!(
            "stopped at line {line}, resumed by run {}",
            runs[1]
        )),
        "{first_text}"
    );
    let rerun_text = text(runs[1]);
    assert!(
        rerun_text.contains(&format!("resumed at line {line}")),
        "{rerun_text}"
    );
}

/// A file taken over after a kill is read on from its checkpoint: it keeps
/// its import_files row, and the rows committed before the kill are not
/// read again (SPEC: each row is counted in the run that committed it).
#[test]
fn a_resumed_file_reads_on_from_its_checkpoint_not_from_the_start() {
    let spec = Spec {
        files: 1,
        rows: 20_000,
        seed: 0x2E_5E,
        bad_share: 0.01,
        dup_share: 0.0,
    };
    let work = Work::new(&spec);
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("r.db");
    let args = import_args("r.db", 1);
    let total = work.files[0].rows.len() as u64;

    let mut proc = work.spawn(&args);
    let mut probe = Probe::new(&db);
    let caught = poll_until(&mut proc, "a few chunks committed", || {
        probe
            .ask(|c| committed_rows(c, None))
            .is_some_and(|n| n >= 1000)
    });
    assert!(caught, "the run ended before 1000 rows were committed");
    proc.signal(libc::SIGKILL);
    let done = proc.wait();
    assert_eq!(done.signal, Some(libc::SIGKILL), "{}", done.show());
    let (id, committed, line): (i64, i64, i64) = open_ro(&db)
        .query_row(
            "SELECT id, rows_committed, line_committed FROM import_files WHERE state = 'in_progress'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the killed file is left in_progress");
    assert!(
        committed > 0 && (committed as u64) < total,
        "{committed} of {total}"
    );
    // The killed run counts what it committed, though it never finished.
    let (killed_read, killed_imported): (i64, i64) = open_ro(&db)
        .query_row(
            "SELECT rows_read, rows_imported FROM import_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the killed run's row");
    let lines: i64 = one(
        &open_ro(&db),
        "SELECT count(*) FROM dropship_purchase_details",
    );
    assert_eq!(killed_read, committed, "rows read by the killed run");
    assert_eq!(killed_imported, lines, "rows imported by the killed run");

    let rerun = work.run(&args);
    rerun.expect_complete("resumed run");
    let read_by_runs: i64 = one(&open_ro(&db), "SELECT sum(rows_read) FROM import_runs");
    assert_eq!(read_by_runs as u64, total, "rows read over both runs");
    // status shows the killed run with what it committed, though its file
    // has moved on to the run that finished it.
    let shown = work.run(&strings(&["status", "--json", "--db", "r.db"]));
    let runs: Vec<Value> = serde_json::from_str(&shown.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}\n{}", shown.show()));
    let first = runs
        .iter()
        .find(|r| r["state"] == "interrupted")
        .unwrap_or_else(|| panic!("the killed run in status\n{}", shown.show()));
    assert_eq!(first["rows"]["read"], committed, "{}", shown.show());
    assert_eq!(
        first["rows"]["imported"],
        killed_imported,
        "{}",
        shown.show()
    );
    check_equals_clean(&work, "r.db", &clean, "resumed run");
    let after: i64 = one(
        &open_ro(&db),
        "SELECT id FROM import_files WHERE state = 'imported'",
    );
    assert_eq!(after, id, "the file kept its import_files row");
    let file = &rerun.per_file()[0];
    let read = counts(&file["rows"])[0];
    assert_eq!(
        read,
        total - committed as u64,
        "the resumed run reads only the rows after the checkpoint ({committed} of {total} \
         committed before the kill, up to line {line})\n{}",
        rerun.show()
    );
    let says_line = file
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.contains("resum"))
        .any(|(_, v)| {
            v.to_string().contains(&line.to_string())
                || v.to_string().contains(&(line + 1).to_string())
        });
    assert!(
        says_line,
        "the summary says from which line the file resumed (line {line})\n{}",
        rerun.show()
    );
}

// ---------------------------------------------------------------------------
// A file that changes or vanishes while it is read

#[derive(Debug, Clone, Copy)]
enum Change {
    /// A line appended (the export is still being written).
    Append,
    /// One byte different, same size (downloaded again over it).
    OneByte,
    /// Deleted.
    Vanish,
}

/// README "Failed files are atomic": a file that changes or vanishes while
/// it is read fails and is taken out of the data tables again; the other
/// files go on.
#[test]
fn a_file_that_changes_or_vanishes_while_read_fails_and_leaves_nothing() {
    for change in [Change::Append, Change::OneByte, Change::Vanish] {
        // The change must come while the file is still being read; on a
        // busy machine the reader may get through first, then try again.
        let caught = (0..5).any(|_| changed_while_read(change));
        assert!(
            caught,
            "{change:?}: the reader always finished before the change"
        );
    }
}

/// One trial of `a_file_that_changes_or_vanishes_while_read_fails_and_leaves_nothing`:
/// false when the reader had read the whole file before it changed.
fn changed_while_read(change: Change) -> bool {
    let spec = Spec {
        files: 2,
        rows: 20_000,
        seed: 0xC4A6,
        bad_share: 0.0,
        dup_share: 0.0,
    };
    let work = Work::new(&spec);
    let [small, large] = work.names_by_size().try_into().expect("two files");
    let clean = clean_run(
        &work,
        "clean.db",
        &[strings(&[
            &format!("{FILES}/{small}"),
            "--db",
            "clean.db",
            "--progress",
            "none",
        ])],
    );
    let db = work.path("c.db");
    let args = import_args("c.db", 1);
    let ctx = format!("{change:?}");

    let mut proc = work.spawn(&args);
    assert!(
        wait_for(&mut proc, &work, &db, Moment::InLargest),
        "{ctx}: the run ended before the largest file committed rows"
    );
    proc.signal(libc::SIGSTOP);
    let target = work.path(&format!("{FILES}/{large}"));
    let bytes = std::fs::read(&target).unwrap();
    match change {
        Change::Append => {
            let last_row = bytes[..bytes.len() - 1]
                .rsplit(|&b| b == b'\n')
                .next()
                .unwrap()
                .to_vec();
            let mut more = bytes.clone();
            more.extend_from_slice(&last_row);
            more.push(b'\n');
            std::fs::write(&target, more).unwrap();
        }
        Change::OneByte => {
            // The last letter of the last city: still a valid row.
            let mut other = bytes.clone();
            let at = other.len() - 2;
            other[at] = if other[at] == b'a' { b'b' } else { b'a' };
            std::fs::write(&target, other).unwrap();
        }
        Change::Vanish => std::fs::remove_file(&target).unwrap(),
    }
    proc.signal(libc::SIGCONT);
    let done = proc.wait();
    if done.code == Some(0) && done.json["files"]["imported"] == 2 {
        return false;
    }
    done.expect_code(&[3], &ctx);
    done.assert_summary_adds_up(&ctx);
    let file = done
        .per_file()
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(&large)))
        .unwrap_or_else(|| panic!("{ctx}: no per_file entry for {large}\n{}", done.show()))
        .clone();
    assert_eq!(file["status"], "failed", "{ctx}\n{}", done.show());
    let error = file["error"].as_str().unwrap_or("");
    let want = match change {
        Change::Vanish => "vanished",
        _ => "changed",
    };
    assert!(
        error.contains(want),
        "{ctx}: error {error:?} should say {want}"
    );
    let c = counts(&file["rows"]);
    assert!(
        c[0] > 0 && c[5] == c[0],
        "{ctx}: all rows read count as failed: {c:?}"
    );
    assert_eq!(done.json["files"]["imported"], 1, "{ctx}\n{}", done.show());

    // Only the other file's data remain, as if the failed one had never
    // been read.
    check_committed_state(&db, &ctx);
    let image = Image::of(&db);
    assert_same_image(&ctx, &clean.image, &image);
    let conn = open_ro(&db);
    let failed_lines: i64 = one(
        &conn,
        "SELECT count(*) FROM dropship_purchase_details d
         JOIN import_files f ON f.id = d.import_file_id WHERE f.state = 'failed'",
    );
    assert_eq!(failed_lines, 0, "{ctx}: lines of the failed file kept");
    true
}

// ---------------------------------------------------------------------------
// 6. A reader holding the database, another writer

/// Another program writing (holding the write lock) makes the import wait,
/// not fail: README "Writes wait (up to a minute) rather than fail".
#[test]
fn an_import_waits_for_another_writer_instead_of_failing() {
    let work = Work::new(&spec_20k(0xB5_59, 0.05));
    let clean = clean_run(&work, "clean.db", &[import_args("clean.db", 1)]);
    let db = work.path("waits.db");
    let args = import_args("waits.db", 1);

    let mut proc = work.spawn(&args);
    assert!(
        wait_for(&mut proc, &work, &db, Moment::NextCommit),
        "the run ended before its first commit was seen"
    );
    let lock = hold_write_lock(&mut proc, &db);
    let held = committed_rows(&lock, None).expect("committed rows");
    proc.signal(libc::SIGCONT);
    // The database stays busy for a while (the length is the scenario, not
    // a wait for an event: any pause, however long the machine makes it,
    // is shorter than the minute the import waits).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        proc.alive(),
        "the import ended while another writer held the database"
    );
    assert_eq!(
        committed_rows(&lock, None),
        Some(held),
        "nothing was committed while the lock was held"
    );
    lock.execute_batch("ROLLBACK")
        .expect("release the write lock");
    drop(lock);
    let done = proc.wait();
    done.expect_complete("import after another writer let go");
    assert!(
        !["locked", "is busy"]
            .iter()
            .any(|w| done.stderr.to_lowercase().contains(w)),
        "waiting is not an error\n{}",
        done.show()
    );
    check_equals_clean(
        &work,
        "waits.db",
        &clean,
        "import after another writer let go",
    );
}

/// (rows, bad rows, distinct orders with an accepted row) of these files.
fn facts_of(files: &[&GenFile]) -> (u64, u64, BTreeSet<String>) {
    let (mut rows, mut bad, mut orders) = (0, 0, BTreeSet::new());
    for f in files {
        for r in &f.rows {
            rows += 1;
            if r.bad.is_some() {
                bad += 1;
            } else {
                orders.insert(r.kode_pesanan.clone());
            }
        }
    }
    (rows, bad, orders)
}

#[test]
fn an_import_succeeds_while_a_reader_holds_a_transaction_open() {
    let spec = Spec {
        files: 6,
        rows: 20_000,
        seed: 0x4EAD,
        bad_share: 0.01,
        dup_share: 0.0,
    };
    let work = Work::new(&spec);
    let mut by_name: Vec<&GenFile> = work.files.iter().collect();
    by_name.sort_by(|a, b| a.path.cmp(&b.path));
    let (first, second) = by_name.split_at(3);
    let args_of = |files: &[&GenFile]| -> Vec<String> {
        let mut args: Vec<String> = files
            .iter()
            .map(|f| format!("{FILES}/{}", file_name(&f.path)))
            .collect();
        args.extend(strings(&[
            "--db",
            "r.db",
            "--chunk-size",
            CHUNK,
            "--commit-interval",
            &commit_interval(),
            "--progress",
            "none",
        ]));
        args
    };
    let expect = |done: &Done, files: &[&GenFile], ctx: &str| {
        let (rows, bad, _) = facts_of(files);
        done.expect_code(&[if bad > 0 { 3 } else { 0 }], ctx);
        done.assert_summary_adds_up(ctx);
        assert_eq!(
            counts(&done.json["rows"]),
            [rows, rows - bad, bad, 0, 0, 0],
            "{ctx}: rows (read, imported, rejected, duplicate, filtered, failed)\n{}",
            done.show()
        );
    };
    let done = work.run(&args_of(first));
    expect(&done, first, "first import");

    let reader = Connection::open(work.path("r.db")).expect("open r.db");
    reader.execute_batch("BEGIN").unwrap();
    let before: i64 = one(&reader, "SELECT count(*) FROM dropship_purchases");
    let (_, _, first_orders) = facts_of(first);
    assert_eq!(
        before as usize,
        first_orders.len(),
        "orders after the first import"
    );

    let done = work.run(&args_of(second));
    expect(
        &done,
        second,
        "second import, with a reader in a transaction",
    );

    let still: i64 = one(&reader, "SELECT count(*) FROM dropship_purchases");
    assert_eq!(still, before, "the reader's transaction keeps its snapshot");
    reader.execute_batch("COMMIT").unwrap();
    let (rows, bad, orders) = facts_of(&by_name);
    let n_orders: i64 = one(&reader, "SELECT count(*) FROM dropship_purchases");
    let n_lines: i64 = one(&reader, "SELECT count(*) FROM dropship_purchase_details");
    let n_rejects: i64 = one(&reader, "SELECT count(*) FROM import_rejects");
    assert_eq!(
        [n_orders as u64, n_lines as u64, n_rejects as u64],
        [orders.len() as u64, rows - bad, bad],
        "orders, lines, rejects after both imports"
    );
    drop(reader);
    check_committed_state(&work.path("r.db"), "after both imports");
}

// ---------------------------------------------------------------------------
// 7, 8. Places and files that cannot hold the database

#[test]
fn a_database_in_a_read_only_place_exits_1_naming_it() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    // Permissions do not stop root (these tests run as root in CI), so the
    // places are ones nobody can write: /proc takes no new files, and a
    // folder that does not exist cannot hold one.
    let proc_db = format!("/proc/dropship-test-{}.db", std::process::id());
    let mut places = vec![
        (proc_db.clone(), PathBuf::from(&proc_db)),
        ("missing/x.db".to_string(), env.path("missing/x.db")),
    ];
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let ro = env.path("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        places.push(("ro/x.db".to_string(), env.path("ro/x.db")));
    }
    for (db, full) in &places {
        let run = env.run(&["--db", db, "--progress", "none", "a.csv"]);
        run.expect_code(1);
        assert!(
            run.stderr.contains(db.as_str()),
            "the message should name {db}:\n{}",
            run.stderr
        );
        assert!(run.json.is_null(), "no summary expected:\n{}", run.stdout);
        // Looked for where the binary would have put it: in the test's
        // folder, not the test process's working directory.
        assert!(!full.exists(), "{} was created", full.display());
    }
    assert!(
        !env.path("missing").exists(),
        "the missing folder was created"
    );
    if env.path("ro").exists() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(env.path("ro"), std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_text_file_as_database_is_refused_as_not_usable_and_left_byte_for_byte() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    let text = "kode,qty\nDS-1,2\nthis is a CSV someone named .db by mistake\n".repeat(40);
    env.write("notes.db", &text);
    let run = env.run(&["--db", "notes.db", "--progress", "none", "a.csv"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("notes.db") && run.stderr.contains("not a usable SQLite database"),
        "the message should say notes.db is not a usable SQLite database:\n{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(env.path("notes.db")).unwrap(), text);
    for leftover in ["notes.db-wal", "notes.db-shm", "notes.db-journal"] {
        assert!(!env.path(leftover).exists(), "{leftover} was created");
    }
}

// ---------------------------------------------------------------------------
// 9. A full disk

#[test]
fn a_full_disk_exits_1_keeps_the_earlier_data_and_a_later_run_completes() {
    let work = Work::new(&spec_20k(0xF0_11, 0.05));
    let smallest = work.names_by_size()[0].clone();
    let first_args = |db: &str| -> Vec<String> {
        let mut a = import_args(db, 1);
        a[0] = format!("{FILES}/{smallest}");
        a
    };
    let clean = clean_run(
        &work,
        "clean.db",
        &[first_args("clean.db"), import_args("clean.db", 1)],
    );

    work.run(&first_args("full.db"))
        .expect_complete("first, small import");
    let db = work.path("full.db");
    let earlier = Image::of(&db);
    let earlier_path = format!("{FILES}/{smallest}");
    assert!(!earlier.lines.is_empty(), "the first import wrote lines");

    // No write may reach past ~100 KB of any file; SIGXFSZ ignored, so
    // such a write fails with EFBIG, as on a full disk.
    let limited = work
        .spawn_through_sh(
            "ulimit -f 200; trap '' XFSZ; exec \"$0\" \"$@\"",
            &import_args("full.db", 1),
        )
        .wait();
    limited.expect_code(&[1], "import with the file size limit");

    check_committed_state(&db, "after the full disk");
    let after = Image::of(&db);
    assert_same_image(
        "after the full disk, the first import's data",
        &earlier,
        &after.owned_by(&earlier_path),
    );

    let later = work.run(&import_args("full.db", 1));
    later.expect_complete("later run without the limit");
    check_equals_clean(&work, "full.db", &clean, "later run after the full disk");

    let msg = limited.stderr.to_lowercase();
    assert!(
        msg.contains("full.db")
            && ["full", "too large", "no space", "quota"]
                .iter()
                .any(|w| msg.contains(w)),
        "a full disk should be reported clearly: which database could not be written, and \
         that space or the file size limit ran out; got:\n{}",
        limited.stderr
    );
}

// ---------------------------------------------------------------------------
// 10. Reruns, the same bytes under other names, --force

#[test]
fn a_rerun_copies_under_other_names_and_force_change_only_what_they_should() {
    let spec = Spec {
        files: 6,
        rows: 12_000,
        seed: 0x4E_4E,
        bad_share: 0.01,
        dup_share: 0.05,
    };
    let work = Work::new(&spec);
    let args = import_args("x.db", 1);
    let db = work.path("x.db");
    let first = work.run(&args);
    first.expect_complete("first run");
    let dump = full_dump(&db, None);
    let image = Image::of(&db);
    let n_files = work.files.len() as u64;

    let all_skipped = |done: &Done, ctx: &str| {
        done.expect_code(&[0], ctx);
        done.assert_summary_adds_up(ctx);
        assert_eq!(done.json["status"], "ok", "{ctx}\n{}", done.show());
        assert_eq!(
            done.json["files"]["skipped"],
            n_files,
            "{ctx}\n{}",
            done.show()
        );
        assert_eq!(counts(&done.json["rows"])[1], 0, "{ctx}: rows imported");
    };

    // The same command again: every file skipped, nothing written at all.
    let rerun = work.run(&args);
    all_skipped(&rerun, "rerun of the same command");
    assert_dumps_equal("rerun of the same command", &dump, &full_dump(&db, None));

    // The same bytes under other names, in a later run.
    std::fs::create_dir(work.path("renamed")).unwrap();
    for (i, f) in work.files.iter().enumerate() {
        std::fs::copy(&f.path, work.path(&format!("renamed/copy-{i}.csv"))).unwrap();
    }
    let mut renamed = args.clone();
    renamed[0] = "renamed".to_string();
    let copies = work.run(&renamed);
    all_skipped(&copies, "copies under other names");
    assert_dumps_equal("copies under other names", &dump, &full_dump(&db, None));

    // Copies together with a new file: the new file alone is written.
    std::fs::write(
        work.path("new.csv"),
        csv(&[line("NEW-1"), line("NEW-2").set("SKU", "SKU-NEW")]),
    )
    .unwrap();
    let mut mixed = renamed.clone();
    mixed.insert(1, "new.csv".to_string());
    let done = work.run(&mixed);
    done.expect_code(&[0], "copies and a new file");
    done.assert_summary_adds_up("copies and a new file");
    assert_eq!(
        [
            done.json["files"]["imported"].as_u64(),
            done.json["files"]["skipped"].as_u64()
        ],
        [Some(1), Some(n_files)],
        "copies and a new file\n{}",
        done.show()
    );
    let after = full_dump(&db, Some(DATA_TABLES));
    for table in DATA_TABLES {
        let (old, new) = (&dump[*table], &after[*table]);
        assert_eq!(new.len(), old.len() + 2, "{table}: two new rows");
        let kept = old.iter().filter(|r| new.binary_search(r).is_ok()).count();
        assert_eq!(kept, old.len(), "{table}: earlier rows unchanged");
    }
    let dump = full_dump(&db, None);

    // --force reads every file again, as another file: all its rows are
    // duplicates of the first import or rejects again; the data stay.
    let mut forced = args.clone();
    forced.push("--force".to_string());
    let done = work.run(&forced);
    let ctx = "--force";
    done.expect_complete(ctx);
    let (rows, bad, _) = facts_of(&work.files.iter().collect::<Vec<_>>());
    assert_eq!(
        counts(&done.json["rows"]),
        [rows, 0, bad, rows - bad, 0, 0],
        "{ctx}: rows (read, imported, rejected, duplicate, filtered, failed)\n{}",
        done.show()
    );
    assert_eq!(
        done.json["files"]["imported"],
        n_files,
        "{ctx}\n{}",
        done.show()
    );
    assert_eq!(
        done.code,
        Some(if bad > 0 { 3 } else { 0 }),
        "{ctx}\n{}",
        done.show()
    );
    let after = full_dump(&db, Some(DATA_TABLES));
    for table in DATA_TABLES {
        assert_eq!(after[*table], dump[*table], "{ctx}: {table} changed");
    }
    let forced_image = Image::of(&db);
    let mut twice = image.rejects.clone();
    twice.extend(image.rejects.iter().cloned());
    twice.sort();
    assert_same_rows(
        "rejects (each file's, twice)",
        ctx,
        &twice,
        &forced_image.rejects,
    );
    check_committed_state(&db, ctx);

    // And after --force, the plain command still skips everything.
    let dump = full_dump(&db, None);
    let rerun = work.run(&args);
    all_skipped(&rerun, "rerun after --force");
    assert_dumps_equal("rerun after --force", &dump, &full_dump(&db, None));
}

/// A file killed part-way keeps counting the rejects it had committed: on
/// resume they still count against `--max-errors`.
#[test]
fn rejects_committed_before_a_kill_still_count_against_max_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for i in 0..20_000 {
        let mut l = line(&format!("DS-{i:06}"));
        // One reject early, five at the end: six in all, one over the limit.
        if i == 0 || i >= 19_995 {
            l = l.set("Qty", "two");
        }
        lines.push(l);
    }
    std::fs::write(dir.path().join("a.csv"), csv(&lines)).unwrap();
    let args = [
        "a.csv",
        "--db",
        "r.db",
        "-j",
        "1",
        "--chunk-size",
        "1",
        "--max-errors",
        "5",
        "--progress",
        "none",
        "-q",
    ];
    let db = dir.path().join("r.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dropship-import"))
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut killed = false;
    while Instant::now() < deadline {
        let committed = read_only(&db).ok().and_then(|conn| {
            conn.query_row(
                "SELECT rows_rejected FROM import_files WHERE state = 'in_progress'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
        });
        if committed.is_some_and(|n| n >= 1) {
            // SAFETY: kill(2) on the pid of our own unreaped child.
            let rc = unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            assert_eq!(rc, 0, "kill -9 of the import failed");
            killed = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().expect("wait for the killed import");
    assert!(killed, "the run ended before a reject was committed");
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "the import died by SIGKILL (not by ending first): {status:?}"
        );
    }
    let left: i64 = one(
        &open_ro(&db),
        "SELECT count(*) FROM import_files WHERE state = 'in_progress' AND rows_rejected >= 1",
    );
    assert_eq!(
        left, 1,
        "the kill left the file part-way with its reject committed"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_dropship-import"))
        .current_dir(dir.path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["per_file"][0]["status"], "failed", "{summary}");
    let error = summary["per_file"][0]["error"].as_str().unwrap_or("");
    assert!(error.contains("max_errors"), "{error}");
    let conn = open_ro(&db);
    let lines: i64 = one(&conn, "SELECT count(*) FROM dropship_purchase_details");
    let orders: i64 = one(&conn, "SELECT count(*) FROM dropship_purchases");
    assert_eq!((lines, orders), (0, 0));
}

// ---------------------------------------------------------------------------
// 11. Soak: a careless operator and an unlucky cron job
//
// Each trial starts a run and, while it writes, does what an operator might:
// starts a second run on the same database, deletes `<db>.lock` first, or
// starts one through a hard-linked name of the database; some trials also
// kill -9 the first run. Then the command is run again until it completes,
// and the database must equal a clean run's. A second run is refused (exit
// 1) every time. `DROPSHIP_SOAK_ROWS` / `DROPSHIP_SOAK_TRIALS` scale them;
// `tests/soak.sh` runs them large.

/// What the operator does while the first run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meddle {
    /// Starts the same command again.
    SecondRun,
    /// Deletes `<db>.lock`, then starts the same command again.
    DeleteLockThenSecondRun,
    /// Starts the command with `--db` a hard-linked name of the database.
    SecondRunThroughHardLink,
    /// Nothing (the failing files are the point).
    Nothing,
}

/// `files [bad] --db DB -j JOBS ... --max-errors 20 [--on-duplicate update]`.
fn soak_args(db: &str, jobs: usize, mode: Duplicates, with_bad: bool) -> Vec<String> {
    let mut args = import_args(db, jobs);
    if with_bad {
        args.insert(1, "bad".to_string());
    }
    args.extend(strings(&["--max-errors", "20"]));
    if mode == Duplicates::Update {
        args.extend(strings(&["--on-duplicate", "update"]));
    }
    args
}

/// Writes `how_many` files `bad/NAME-N-bad.csv`, each 150 rows of one of the
/// two smallest good files (so it holds the same orders, some only in part;
/// being small, they are read at the same time as those files), then 40 rows
/// with a bad Qty, more than `--max-errors 20`: the file writes its rows,
/// then fails. Returns the names written.
fn write_failing_copies(work: &Work, how_many: usize) -> Vec<String> {
    std::fs::create_dir_all(work.path("bad")).expect("bad folder");
    let by_size = work.names_by_size();
    let mut names = Vec::new();
    for n in 0..how_many {
        let good = work.path(&format!("{FILES}/{}", by_size[n % 2]));
        let text = std::fs::read_to_string(&good).expect("read a good file");
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        let good: Vec<&str> = lines.skip(n / 2 * 50).take(150).collect();
        let mut out = String::from(header);
        out.push('\n');
        for l in &good {
            out.push_str(l);
            out.push('\n');
        }
        for i in 0..40 {
            let bad = line(&format!("DS-BAD-{n}-{i:04}")).set("Qty", "two");
            out.push_str(&bad.render());
            out.push('\n');
        }
        let name = format!("{}-{n}-bad.csv", by_size[n % 2].trim_end_matches(".csv"));
        std::fs::write(work.path(&format!("bad/{name}")), out).expect("write a failing file");
        names.push(name);
    }
    names
}

/// A run over good files and failing ones that ran to its end: every good
/// file imported or skipped, every failing file failed, the summary adds up.
#[track_caller]
fn expect_settled(done: &Done, bad: &[String], ctx: &str) {
    done.expect_code(&[0, 3], ctx);
    done.assert_summary_adds_up(ctx);
    for f in done.per_file() {
        let path = f["path"].as_str().unwrap_or("?");
        let status = f["status"].as_str().unwrap_or("?");
        let failing = bad.iter().any(|b| path.ends_with(b.as_str()));
        let ok = if failing {
            status == "failed"
        } else {
            status == "imported" || status == "skipped"
        };
        assert!(ok, "{ctx}: {path} ended {status}\n{}", done.show());
    }
}

fn soak(meddle: Meddle, mode: Duplicates, jobs: usize, failing: usize, seed: u64) {
    let trials = soak_trials();
    // Good files reject nothing, so `--max-errors 20` fails only the bad
    // ones at any size the soak is given.
    let spec = Spec {
        files: 6,
        rows: soak_rows(),
        seed,
        bad_share: 0.0,
        dup_share: 0.1,
    };
    let work = Work::new(&spec);
    let bad = write_failing_copies(&work, failing);
    let owners_defined = jobs == 1;
    // As if the failing files had never been read.
    let mut clean = clean_run_as(
        &work,
        "clean.db",
        &[soak_args("clean.db", jobs, mode, false)],
        owners_defined,
        mode,
    );
    clean.failing_prefix = Some("bad/".to_string());
    let rng_seed = env_number("DROPSHIP_SOAK_SEED", seed);
    let mut rng = Rng::new(rng_seed);
    let ctx = format!("soak {meddle:?}, {mode:?}, -j {jobs}, {failing} failing files, {spec:?}");
    eprintln!(
        "[{ctx}] {trials} trials, seed {rng_seed}; clean run {:?}",
        clean.elapsed
    );
    for t in 0..trials {
        let db = format!("soak-{t}.db");
        let args = soak_args(&db, jobs, mode, failing > 0);
        let tctx = format!("{ctx}, trial {t}");
        let path = work.path(&db);
        let mut first = work.spawn(&args);
        let run_id = wait_for_running_row(&mut first, &path);
        // Frozen, the first run cannot end before the second has tried (a
        // stopped process keeps its claim). Where a fault lets the second
        // in, it may wait on the frozen run's write lock until its busy
        // timeout: slow, never a false pass.
        if meddle != Meddle::Nothing {
            first.signal(libc::SIGSTOP);
        }
        let second_args = match meddle {
            Meddle::Nothing => None,
            Meddle::SecondRun => Some(args.clone()),
            Meddle::DeleteLockThenSecondRun => {
                let lock = work.path(&format!("{db}.lock"));
                std::fs::remove_file(&lock)
                    .unwrap_or_else(|e| panic!("{tctx}: delete {}: {e}", lock.display()));
                Some(args.clone())
            }
            Meddle::SecondRunThroughHardLink => {
                let alias = format!("alias-{t}.db");
                std::fs::hard_link(&path, work.path(&alias)).expect("hard link the database");
                Some(soak_args(&alias, jobs, mode, failing > 0))
            }
        };
        if let Some(second_args) = second_args {
            let second = work.run(&second_args);
            first.signal(libc::SIGCONT);
            assert!(
                second.code == Some(1) && second.json.is_null(),
                "{tctx}: a second run while run {run_id} writes must be refused with exit 1\n{}",
                second.show()
            );
            assert!(
                second.stderr.contains(&format!("run {run_id}")),
                "{tctx}: the refusal names run {run_id}\n{}",
                second.show()
            );
        }
        // Half the trials also kill -9 the first run at a random moment.
        let log = if rng.below(2) == 0 {
            let delay = Duration::from_micros(rng.below(clean.elapsed.as_micros() as u64 + 1));
            if wait_for(&mut first, &work, &path, Moment::After(delay)) {
                first.signal(libc::SIGKILL);
            }
            let done = first.wait();
            if done.signal != Some(libc::SIGKILL) {
                expect_settled(&done, &bad, &format!("{tctx}, first run"));
            }
            format!("first run: {:?} {:?}", done.code, done.signal)
        } else {
            let done = first.wait();
            expect_settled(&done, &bad, &format!("{tctx}, first run"));
            format!("first run: exit {:?}", done.code)
        };
        check_committed_state_in(&path, &format!("{tctx}, after the first run"), mode);
        let last = work.run(&args);
        expect_settled(&last, &bad, &format!("{tctx}, final run"));
        check_equals_clean(&work, &db, &clean, &tctx);
        eprintln!(
            "[{ctx}] trial {t}: {log}; final run exit {:?}; equal to the clean run",
            last.code
        );
    }
}

#[test]
fn soak_a_concurrent_second_run_is_refused_and_nothing_doubles() {
    soak(Meddle::SecondRun, Duplicates::Skip, 3, 0, 0x50A4_0001);
    soak(Meddle::SecondRun, Duplicates::Update, 1, 0, 0x50A4_0002);
}

#[test]
fn soak_a_deleted_lock_file_does_not_let_a_second_run_in() {
    soak(
        Meddle::DeleteLockThenSecondRun,
        Duplicates::Skip,
        3,
        0,
        0x50A4_0003,
    );
    soak(
        Meddle::DeleteLockThenSecondRun,
        Duplicates::Update,
        1,
        0,
        0x50A4_0004,
    );
}

#[test]
fn soak_a_hard_linked_name_of_the_database_does_not_let_a_second_run_in() {
    soak(
        Meddle::SecondRunThroughHardLink,
        Duplicates::Skip,
        3,
        0,
        0x50A4_0005,
    );
    soak(
        Meddle::SecondRunThroughHardLink,
        Duplicates::Update,
        1,
        0,
        0x50A4_0006,
    );
}

#[test]
fn soak_failing_files_sharing_orders_under_four_jobs_take_nothing_from_good_ones() {
    soak(Meddle::Nothing, Duplicates::Skip, 4, 3, 0x50A4_0007);
}

#[test]
fn soak_failing_files_sharing_orders_under_four_jobs_in_update_mode() {
    soak(Meddle::SecondRun, Duplicates::Update, 4, 3, 0x50A4_0008);
}

// ---------------------------------------------------------------------------
// kill -9 and resume, on SQLite and on PostgreSQL alike

/// Orders, lines and rejects, each with the path of the file that owns it:
/// what two databases must agree on after the same files.
fn data_image(db: &Db) -> [common::db::Rows; 3] {
    [
        db.query(
            "SELECT p.kode_pesanan, f.path, p.source_line, p.waktu_pesanan_terbuat,
                    p.total_transaksi_sen, p.biaya_lainnya_sen, p.nama_toko, p.waktu_pengiriman
             FROM dropship_purchases p LEFT JOIN import_files f ON f.id = p.import_file_id
             ORDER BY 1",
        ),
        db.query(
            "SELECT d.kode_pesanan, f.path, d.source_line, d.sku, d.nama_produk, d.qty,
                    d.harga_produk_sen, d.total_harga_produk_sen, d.potensi_keuntungan_sen
             FROM dropship_purchase_details d LEFT JOIN import_files f ON f.id = d.import_file_id
             ORDER BY 1, 2, 3, 4",
        ),
        db.query(
            "SELECT f.path, r.line, r.column_name, r.value, r.reason
             FROM import_rejects r JOIN import_files f ON f.id = r.file_id
             ORDER BY 1, 2",
        ),
    ]
}

/// Rows committed so far in files still in progress (None before any).
fn committed_in_progress(db: &Db) -> Option<i64> {
    db.try_query(
        "SELECT COALESCE(SUM(rows_committed), 0) FROM import_files WHERE state = 'in_progress'",
    )
    .ok()
    .and_then(|rows| rows.first().map(|r| i64::from_cell(&r[0])))
}

both! {
    /// Killed part-way through a file twice (the second time right after
    /// resuming it), then run to the end: the same orders, lines and
    /// rejects as one uninterrupted run, and every file imported.
    fn kill_9_mid_file_twice_then_resume_ends_equal_to_a_clean_run(b) {
        let work = Work::new(&Spec {
            files: 4,
            rows: 12_000,
            seed: 0x00B0_74DB,
            bad_share: 0.02,
            dup_share: 0.05,
        });
        let args = |db: &Db| -> Vec<String> {
            // Every chunk committed at once, so a commit part-way through a
            // file is there to be caught however fast the machine is.
            let mut a = strings(&[
                FILES, "-j", "1", "--chunk-size", "50", "--commit-interval", "0s",
                "--progress", "none",
            ]);
            a.extend(db.args());
            a
        };
        let clean = Db::of(b, &work.path("clean.db"));
        work.run(&args(&clean)).expect_complete("clean run");
        let want = data_image(&clean);
        assert!(!want[1].is_empty(), "the clean run imported nothing");

        let db = Db::of(b, &work.path("killed.db"));
        let mut kills = 0;
        for round in 0..2 {
            let mut proc = work.spawn(&args(&db));
            let before = committed_in_progress(&db).unwrap_or(0);
            let caught = poll_until(&mut proc, "a commit part-way through a file", || {
                committed_in_progress(&db).is_some_and(|n| n > before)
            });
            if caught {
                proc.signal(libc::SIGKILL);
                kills += 1;
            }
            let done = proc.wait();
            if !caught {
                done.expect_complete(&format!("round {round}: run that ended before the kill"));
            }
        }
        assert!(kills > 0, "nothing was killed: the files are too small");
        work.run(&args(&db))
            .expect_complete("the run after the kills");
        let got = data_image(&db);
        for (what, (w, g)) in ["orders", "lines", "rejects"].iter().zip(want.iter().zip(&got)) {
            assert_eq!(w.len(), g.len(), "{what}: clean {} rows, resumed {}", w.len(), g.len());
            assert!(w == g, "{what} differ from the clean run");
        }
        let imported: i64 = db.one(
            "SELECT count(DISTINCT path) FROM import_files WHERE state = 'imported'",
        );
        assert_eq!(imported, 4, "every file ends imported");
    }
}

/// The operator's view of Ctrl-C and the rerun, in log mode (cron, CI):
/// each unfinished file says the line it stopped at, the summary says how
/// to resume, and the rerun names the same line for each file it resumes.
#[test]
fn ctrl_c_names_where_each_file_stopped_and_the_rerun_resumes_there() {
    // One file read by one reader: a Ctrl-C after its first commit stops
    // it part-way, whatever the moment.
    let work = Work::new(&one_file_20k(0xC7_3C));
    let db = work.path("int.db");
    let mut args = import_args("int.db", 1);
    let mode = args
        .iter()
        .position(|a| a == "none")
        .expect("--progress none");
    args[mode] = "log".into();

    let done = interrupted_after_first_commit(&work, &db, &args);
    let stopped: Vec<(String, String)> = done
        .stderr
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.split_once(": interrupted at line ")?;
            let path = path.rsplit(": ").next()?.to_string();
            Some((path, rest.split(',').next()?.to_string()))
        })
        .collect();
    assert!(
        !stopped.is_empty(),
        "no file stopped part-way:\n{}",
        done.stderr
    );
    assert!(
        done.stderr
            .contains("interrupted: run the same command to resume where it stopped"),
        "{}",
        done.stderr
    );
    // The JSON says the same, for scripts.
    for (path, line) in &stopped {
        let entry = done
            .per_file()
            .iter()
            .find(|f| {
                f["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(path.as_str()))
            })
            .unwrap_or_else(|| panic!("{path} not in per_file"));
        assert_eq!(
            entry["interrupted_at_line"].as_u64().map(|n| n.to_string()),
            Some(line.replace(',', "")),
            "{path}: {entry}"
        );
    }
    // Log lines carry the time and the run.
    let stamped = regex_like_stamp(&done.stderr);
    assert!(stamped > 0, "no stamped log line:\n{}", done.stderr);

    let again = work.run(&args);
    again.expect_code(&[0, 3], "rerun");
    for (path, line) in &stopped {
        let resumed = format!("{path}: resumed at line {line}, ");
        assert!(
            again.stderr.contains(&resumed),
            "{resumed:?} not in the rerun's log:\n{}",
            again.stderr
        );
    }
}

/// How many lines start like `2026-12-02T16:18:57Z run 1: `.
fn regex_like_stamp(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 27
                && b[4] == b'-'
                && b[10] == b'T'
                && b[19] == b'Z'
                && l[20..].starts_with(" run 1: ")
        })
        .count()
}
