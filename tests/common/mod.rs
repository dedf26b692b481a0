//! Helpers for the integration tests: a builder for export rows and files, a
//! temporary working folder per test, a runner for the binary that parses its
//! JSON summary, and small database queries.

#![allow(dead_code)]

#[macro_use]
pub mod db;

use assert_cmd::Command;
pub use db::{Backend, Db, FromCell, lit};
use rusqlite::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

#[path = "../../examples/generate.rs"]
pub mod generate;

/// The 27 headers of the real export, in its order (the generator writes
/// the same list).
pub use generate::HEADERS;

/// The example line of SPEC.md: every field valid.
pub const DEFAULTS: [&str; 27] = [
    "1",
    "01 January 2025, 10:00:00",
    "Selesai",
    "DS-2501010001",
    "TRX-1",
    "SKU-ABC-01",
    "Kaos Polos Hitam L",
    "45000",
    "2",
    "90000",
    "1000",
    "500",
    "91500",
    "55000",
    "110000",
    "18500",
    "admin1",
    "Shopee",
    "Toko Maju Jaya",
    "'250101ABCDEF12",
    "Gudang Jakarta",
    "JNE REG",
    "Ya",
    "JNE0012345678",
    "02 January 2025, 14:30:00",
    "DKI Jakarta",
    "Jakarta Selatan",
];

fn column(header: &str) -> usize {
    HEADERS
        .iter()
        .position(|h| *h == header)
        .unwrap_or_else(|| panic!("no such export header: {header:?}"))
}

/// One export line: the default valid line with some fields changed.
#[derive(Debug, Clone)]
pub struct Line {
    fields: Vec<String>,
}

/// A valid line of order `kode`.
pub fn line(kode: &str) -> Line {
    Line::default().set("Kode Pesanan", kode)
}

impl Default for Line {
    fn default() -> Line {
        Line {
            fields: DEFAULTS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Line {
    /// Sets the field under `header` (a SPEC header) to `value`, as written.
    pub fn set(mut self, header: &str, value: &str) -> Line {
        self.fields[column(header)] = value.to_string();
        self
    }

    pub fn get(&self, header: &str) -> &str {
        &self.fields[column(header)]
    }

    /// The line as CSV with `,`.
    pub fn render(&self) -> String {
        render_fields(self.fields.iter().map(String::as_str), ',')
    }
}

/// Joins fields with `delim`, quoting those that need it.
pub fn render_fields<'a>(fields: impl IntoIterator<Item = &'a str>, delim: char) -> String {
    fields
        .into_iter()
        .map(|f| quote(f, delim))
        .collect::<Vec<_>>()
        .join(&delim.to_string())
}

pub fn quote(field: &str, delim: char) -> String {
    if field.contains([delim, '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// A whole export file: the header row and lines.
#[derive(Debug, Clone)]
pub struct Csv {
    headers: Vec<String>,
    dropped: Vec<usize>,
    lines: Vec<String>,
    delim: char,
    eol: &'static str,
}

impl Csv {
    pub fn new(lines: &[Line]) -> Csv {
        Csv {
            headers: HEADERS.iter().map(|s| s.to_string()).collect(),
            dropped: Vec::new(),
            lines: Vec::new(),
            delim: ',',
            eol: "\n",
        }
        .lines(lines)
    }

    /// Appends lines rendered with this file's delimiter and columns.
    pub fn lines(mut self, lines: &[Line]) -> Csv {
        for l in lines {
            let fields = l
                .fields
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.dropped.contains(i))
                .map(|(_, f)| f.as_str());
            self.lines.push(render_fields(fields, self.delim));
        }
        self
    }

    /// Appends a physical line as written (empty lines, broken records).
    pub fn raw(mut self, text: &str) -> Csv {
        self.lines.push(text.to_string());
        self
    }

    /// Writes `name` instead of the SPEC header `header`.
    pub fn rename(mut self, header: &str, name: &str) -> Csv {
        self.headers[column(header)] = name.to_string();
        self
    }

    /// Leaves a column out of the header and of the lines added after this.
    pub fn drop_column(mut self, header: &str) -> Csv {
        self.dropped.push(column(header));
        self
    }

    /// Uses `delim` for the header and the lines added after this.
    pub fn delimiter(mut self, delim: char) -> Csv {
        self.delim = delim;
        self
    }

    pub fn crlf(mut self) -> Csv {
        self.eol = "\r\n";
        self
    }

    pub fn render(&self) -> String {
        let headers = self
            .headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.dropped.contains(i))
            .map(|(_, h)| h.as_str());
        let mut out = render_fields(headers, self.delim);
        out.push_str(self.eol);
        for l in &self.lines {
            out.push_str(l);
            out.push_str(self.eol);
        }
        out
    }
}

/// Header and lines with defaults: the most common file.
pub fn csv(lines: &[Line]) -> String {
    Csv::new(lines).render()
}

/// A fresh temporary working folder; every command runs inside it. Its
/// database is `dropship.db` in the folder, or for [`Env::on`] with
/// PostgreSQL a schema of its own, which [`Env::run`] points the binary at.
pub struct Env {
    pub dir: TempDir,
    pub database: Db,
}

impl Env {
    pub fn new() -> Env {
        Env::on(Backend::Sqlite)
    }

    /// A folder whose runs write to `backend`: `dropship.db` (SQLite, the
    /// default, named by no option) or a fresh PostgreSQL schema.
    pub fn on(backend: Backend) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Db::of(backend, &dir.path().join("dropship.db"));
        Env { dir, database }
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_postgres()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders) and returns its full path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("dropship-import").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env_remove("DROPSHIP_DB")
            .timeout(Duration::from_secs(30));
        cmd
    }

    /// `args` with this folder's database named: unchanged for SQLite
    /// (`dropship.db` is the default), `--db URL --schema S` added for
    /// PostgreSQL (before a `--`, if any).
    pub fn full_args(&self, args: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if self.is_postgres() {
            let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
            let tail = out.split_off(at);
            out.extend(self.database.args());
            out.extend(tail);
        }
        out
    }

    /// Runs the binary with `args` in this folder, on its database.
    pub fn run(&self, args: &[&str]) -> Run {
        let args = self.full_args(args);
        let out = self
            .cmd()
            .args(&args)
            .output()
            .expect("run dropship-import");
        Run::of(args, out)
    }

    /// The SQLite database the binary wrote (default `dropship.db`).
    pub fn db(&self) -> Connection {
        assert!(
            !self.is_postgres(),
            "env.db() is SQLite only: use env.query() to read PostgreSQL"
        );
        self.db_at("dropship.db")
    }

    pub fn db_at(&self, rel: &str) -> Connection {
        let path = self.path(rel);
        assert!(path.is_file(), "no database at {}", path.display());
        Connection::open(path).expect("open database")
    }

    /// Every row of `sql` on this folder's database, as text.
    #[track_caller]
    pub fn query(&self, sql: &str) -> db::Rows {
        self.database.query(sql)
    }

    /// The single value of a query on this folder's database.
    #[track_caller]
    pub fn one<T: FromCell>(&self, sql: &str) -> T {
        self.database.one(sql)
    }

    /// The first column of every row of `sql`.
    #[track_caller]
    pub fn column<T: FromCell>(&self, sql: &str) -> Vec<T> {
        self.database.column(sql)
    }

    #[track_caller]
    pub fn count(&self, table: &str) -> i64 {
        self.database.count(table)
    }

    /// The counts of every table a run may change.
    pub fn table_counts(&self) -> Vec<i64> {
        [
            "dropship_purchases",
            "dropship_purchase_details",
            "import_runs",
            "import_files",
            "import_rejects",
        ]
        .iter()
        .map(|t| self.count(t))
        .collect()
    }

    /// Every stored reject, in line order.
    pub fn rejects(&self) -> Vec<StoredReject> {
        self.query(
            "SELECT line, column_name, value, reason, message, raw FROM import_rejects
             ORDER BY file_id, line",
        )
        .into_iter()
        .map(|r| StoredReject {
            line: i64::from_cell(&r[0]),
            column: r[1].clone(),
            value: r[2].clone(),
            reason: String::from_cell(&r[3]),
            message: String::from_cell(&r[4]),
            raw: r[5].clone(),
        })
        .collect()
    }

    fn order_value<T: FromCell>(&self, kode: &str, column: &str) -> Option<T> {
        let rows = self.query(&format!(
            "SELECT {column} FROM dropship_purchases WHERE kode_pesanan = {}",
            lit(kode)
        ));
        assert_eq!(rows.len(), 1, "order {kode}: {} rows", rows.len());
        Option::<T>::from_cell(&rows[0][0])
    }

    /// A column of the first line of an order.
    fn line_value<T: FromCell>(&self, kode: &str, column: &str) -> Option<T> {
        let rows = self.query(&format!(
            "SELECT {column} FROM dropship_purchase_details WHERE kode_pesanan = {}
             ORDER BY id",
            lit(kode)
        ));
        assert!(!rows.is_empty(), "order {kode} has no line");
        Option::<T>::from_cell(&rows[0][0])
    }

    /// One text column of an order (NULL as `None`).
    pub fn order_text(&self, kode: &str, column: &str) -> Option<String> {
        self.order_value(kode, column)
    }

    /// One integer column of an order (NULL as `None`).
    pub fn order_int(&self, kode: &str, column: &str) -> Option<i64> {
        self.order_value(kode, column)
    }

    /// One integer column of the only line of an order.
    pub fn line_int(&self, kode: &str, column: &str) -> Option<i64> {
        self.line_value(kode, column)
    }

    pub fn line_text(&self, kode: &str, column: &str) -> Option<String> {
        self.line_value(kode, column)
    }

    /// The SKUs of an order's lines, in line order.
    pub fn skus(&self, kode: &str) -> Vec<String> {
        self.column(&format!(
            "SELECT sku FROM dropship_purchase_details WHERE kode_pesanan = {}
             ORDER BY source_line",
            lit(kode)
        ))
    }

    /// Every stored order has all its lines from the file that owns it, that
    /// file is imported, and (when no file replaced another's orders) each
    /// imported file's `rows_imported` is the number of lines it holds.
    pub fn assert_orders_belong_to_one_imported_file(&self, replaced: bool) {
        let mixed: i64 = self.one(
            "SELECT count(*) FROM dropship_purchase_details l JOIN dropship_purchases p
             USING (kode_pesanan) WHERE l.import_file_id <> p.import_file_id",
        );
        assert_eq!(mixed, 0, "lines of another file than their order's");
        let orphans: i64 = self.one(
            "SELECT count(*) FROM dropship_purchase_details l WHERE NOT EXISTS
             (SELECT 1 FROM dropship_purchases p WHERE p.kode_pesanan = l.kode_pesanan)",
        );
        assert_eq!(orphans, 0, "lines without their order");
        let not_imported: i64 = self.one(
            "SELECT count(*) FROM dropship_purchases p JOIN import_files f
             ON f.id = p.import_file_id WHERE f.state <> 'imported'",
        );
        assert_eq!(not_imported, 0, "orders of files that are not imported");
        if !replaced {
            let wrong: i64 = self.one(
                "SELECT count(*) FROM import_files f WHERE f.rows_imported <>
                 (SELECT count(*) FROM dropship_purchase_details l WHERE l.import_file_id = f.id)",
            );
            assert_eq!(
                wrong, 0,
                "rows_imported differs from the lines a file holds"
            );
        }
        let unbalanced: i64 = self.one(
            "SELECT count(*) FROM import_files WHERE rows_read <>
             rows_imported + rows_rejected + rows_duplicate + rows_filtered + rows_failed",
        );
        assert_eq!(unbalanced, 0, "import_files counts do not add up");
    }

    /// All order keys, sorted.
    pub fn orders(&self) -> Vec<String> {
        self.column("SELECT kode_pesanan FROM dropship_purchases ORDER BY kode_pesanan")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReject {
    pub line: i64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    pub message: String,
    pub raw: Option<String>,
}

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The summary; `Null` when stdout is not JSON.
    pub json: Value,
}

impl Run {
    /// The run of `args` that gave `out`; checks that its counts add up.
    pub fn of(args: Vec<String>, out: std::process::Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        let run = Run {
            args,
            code: out.status.code().unwrap_or(-1),
            stdout,
            stderr,
            json,
        };
        // An import summary (not `status` or `recommend` output).
        if run.json.get("per_file").is_some() {
            run.assert_counts_add_up();
        }
        run
    }

    /// Panics, showing the run, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code of dropship-import {:?}\nstderr:\n{}\nstdout:\n{}",
            self.args, self.stderr, self.stdout
        );
        self
    }

    /// A number of the summary by JSON pointer, e.g. `/rows/imported`.
    #[track_caller]
    pub fn n(&self, pointer: &str) -> u64 {
        self.json
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("no number at {pointer} in summary:\n{}", self.stdout))
    }

    /// The summary's `rows` as [read, imported, rejected, duplicate, filtered, failed].
    pub fn rows(&self) -> [u64; 6] {
        counts(&self.json["rows"])
    }

    /// The `per_file` entry whose file name is `name`.
    #[track_caller]
    pub fn file(&self, name: &str) -> &Value {
        self.json["per_file"]
            .as_array()
            .unwrap_or_else(|| panic!("no per_file in summary:\n{}", self.stdout))
            .iter()
            .find(|f| {
                f["path"]
                    .as_str()
                    .and_then(|p| Path::new(p).file_name())
                    .is_some_and(|n| n == name)
            })
            .unwrap_or_else(|| panic!("no per_file entry for {name}:\n{}", self.stdout))
    }

    /// `rows` of one file as [read, imported, rejected, duplicate, filtered, failed].
    pub fn file_rows(&self, name: &str) -> [u64; 6] {
        counts(&self.file(name)["rows"])
    }

    pub fn file_status(&self, name: &str) -> &str {
        self.file(name)["status"].as_str().unwrap_or("")
    }

    /// `read == imported + rejected + duplicate + filtered + failed`, for the
    /// run and for every file.
    #[track_caller]
    pub fn assert_counts_add_up(&self) {
        let check = |what: &str, rows: &Value| {
            let [read, imported, rejected, duplicate, filtered, failed] = counts(rows);
            assert_eq!(
                read,
                imported + rejected + duplicate + filtered + failed,
                "{what}: rows do not add up: {rows}\nsummary:\n{}",
                self.stdout
            );
        };
        check("run", &self.json["rows"]);
        for f in self.json["per_file"].as_array().into_iter().flatten() {
            check(f["path"].as_str().unwrap_or("?"), &f["rows"]);
        }
    }
}

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

/// gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Replaces every `from` in `text` with the bytes `to`.
pub fn replace_bytes(text: &str, from: &str, to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// The index that finds an order's lines. A run that dies during a first
/// load leaves it to the next run.
pub const LINE_INDEX: &str = "dropship_purchase_details_by_order";

/// Whether the index of lines by order is in the database.
pub fn line_index_exists(conn: &Connection) -> bool {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
        [LINE_INDEX],
        |r| r.get(0),
    )
    .expect("query sqlite_schema")
}

/// True when the tests run as root (CI does): only then can a test mount
/// a read-only folder.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A read-only bind mount of `dir`, unmounted on drop; `None` (with the
/// reason printed) where the test cannot mount.
pub struct ReadOnlyMount {
    at: std::path::PathBuf,
}

impl ReadOnlyMount {
    pub fn new(dir: &Path, at: &Path) -> Option<ReadOnlyMount> {
        // As root, chmod does not stop writes: only a read-only mount does.
        if !is_root() {
            println!("skipped: not root, cannot mount a read-only folder");
            return None;
        }
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(dir)
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("skipped: mount --bind -o ro failed here");
            return None;
        }
        let mount = ReadOnlyMount {
            at: at.to_path_buf(),
        };
        if std::fs::write(at.join("probe"), b"x").is_ok() {
            println!("skipped: the bind mount is not read-only");
            return None;
        }
        Some(mount)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.at).status();
    }
}

/// A whole number from the environment (`_` allowed as a separator), or
/// `default` when unset.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?} is not a whole number: {e}")),
        Err(_) => default,
    }
}

/// A small deterministic PRNG (xorshift64*), for random kill moments.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
