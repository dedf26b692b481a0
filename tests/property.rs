//! Property-based end-to-end tests: random exports from `examples/generate.rs`
//! are imported by the real binary, and the summary and the database are
//! checked against an expectation computed here, independently of `src/`
//! (SPEC.md "What happens to each row" and "Files, runs, failures").
//!
//! - `jobs_1_matches_independent_expectation` (proptest): with `-j 1` files are
//!   read smallest first (size in bytes, ties by path), so which file owns each
//!   order is defined; every count, order, line, sum and reject is exact.
//! - `jobs_4_keeps_what_is_defined`: with `-j 4` the owner of a repeated order
//!   is not defined; only what holds whichever file wins is checked.
//!
//! Both write the files in random shapes (gzip, BOM, CRLF, names spanning two
//! lines, `;` or tab, plain, decimal or grouped money), compare every stored
//! column of every order, line and reject with the value the generator
//! recorded for its row, run the import a second time and expect every file
//! skipped and the database unchanged.

#[path = "../examples/generate.rs"]
mod generate;
#[macro_use]
#[path = "common/db.rs"]
mod db;

use assert_cmd::Command;
use db::{Backend, Db as Database, FromCell, lit};
use generate::{Format, GenFile, Money, Spec};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::Path;
use std::time::Duration;

const BIN: &str = "dropship-import";
/// The folder, inside the temporary directory, that holds the generated files.
const FILES_DIR: &str = "files";

// ---------------------------------------------------------------------------
// Running the binary and reading its summary

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    read: u64,
    imported: u64,
    rejected: u64,
    duplicate: u64,
    filtered: u64,
    failed: u64,
}

impl Counts {
    fn from_json(v: &Value, what: &str) -> Counts {
        let get = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .unwrap_or_else(|| panic!("{what}: no whole number at key {k:?} in {v}"))
        };
        Counts {
            read: get("read"),
            imported: get("imported"),
            rejected: get("rejected"),
            duplicate: get("duplicate"),
            filtered: get("filtered"),
            failed: get("failed"),
        }
    }

    fn assert_conserved(&self, what: &str) {
        assert_eq!(
            self.read,
            self.imported + self.rejected + self.duplicate + self.filtered + self.failed,
            "{what}: read != imported + rejected + duplicate + filtered + failed: {self:?}"
        );
    }
}

struct Run {
    code: i32,
    summary: Value,
    stderr: String,
}

impl Run {
    fn rows(&self) -> Counts {
        Counts::from_json(&self.summary["rows"], "summary rows")
    }

    fn files(&self, key: &str) -> u64 {
        self.summary["files"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("summary files.{key} missing: {}", self.summary))
    }

    /// `per_file` keyed by file name: (status, counts).
    fn per_file(&self) -> BTreeMap<String, (String, Counts)> {
        let list = self.summary["per_file"]
            .as_array()
            .unwrap_or_else(|| panic!("summary per_file is not a list: {}", self.summary));
        let mut out = BTreeMap::new();
        for f in list {
            let path = f["path"]
                .as_str()
                .unwrap_or_else(|| panic!("per_file entry without path: {f}"));
            let name = file_name(path);
            assert!(path.ends_with(&name), "per_file path {path:?}");
            let status = f["status"].as_str().unwrap_or_default().to_string();
            let counts = Counts::from_json(&f["rows"], path);
            assert!(
                out.insert(name, (status, counts)).is_none(),
                "file {path:?} listed twice in per_file"
            );
        }
        out
    }
}

/// The database of one case: `out.db` in `dir`, or a fresh PostgreSQL schema.
fn database(dir: &Path, backend: Backend) -> Database {
    Database::of(backend, &dir.join("out.db"))
}

/// `dropship-import files -j JOBS --db DB --progress none`, run inside `dir`
/// (never in the repository, which holds an importer.toml).
fn run_import(dir: &Path, jobs: usize, db: &Database) -> Run {
    let out = Command::cargo_bin(BIN)
        .expect("the dropship-import binary")
        .current_dir(dir)
        .env_remove("DROPSHIP_DB")
        .args([FILES_DIR, "-j", &jobs.to_string()])
        .args(db.args())
        .args(["--progress", "none"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run dropship-import");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("dropship-import ended without an exit code; stderr:\n{stderr}"));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not the JSON summary ({e}); exit {code}; stdout:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Run {
        code,
        summary,
        stderr,
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

fn gen_name(f: &GenFile) -> String {
    file_name(&f.path.to_string_lossy())
}

// ---------------------------------------------------------------------------
// Reading the database

type Line = (String, u64, String); // (kode_pesanan, source_line, file name)
type Reject = (String, u64, String); // (file name, line, reason)
/// (source line, qty, total_harga_produk_sen) of an accepted row.
type Accepted = (u64, i64, i64);

struct Db {
    /// kode_pesanan -> file name of `dropship_purchases.import_file_id`.
    orders: BTreeMap<String, String>,
    /// (kode_pesanan, source_line, file name) of every detail row, sorted.
    lines: Vec<Line>,
    /// kode_pesanan -> distinct file names of its detail rows.
    files_per_order: BTreeMap<String, BTreeSet<String>>,
    /// (kode, sku, source_line, file id, count) appearing more than once.
    repeated_line_keys: Vec<(String, String, i64, i64, i64)>,
    /// (file name, line, reason) of every reject, sorted.
    rejects: Vec<Reject>,
    qty_sum: i64,
    total_sum: i64,
    /// Row counts of dropship_purchases, dropship_purchase_details, import_rejects.
    table_counts: [i64; 3],
}

/// A missing `import_files` row shows as this file name.
const NO_FILE: &str = "<no import_files row>";

fn read_db(conn: &Database) -> Db {
    let path_name =
        |p: &Option<String>| p.as_deref().map_or_else(|| NO_FILE.to_string(), file_name);

    let mut orders = BTreeMap::new();
    for r in conn.query(
        "SELECT p.kode_pesanan, f.path FROM dropship_purchases p
         LEFT JOIN import_files f ON f.id = p.import_file_id",
    ) {
        let kode = String::from_cell(&r[0]);
        let prev = orders.insert(kode.clone(), path_name(&r[1]));
        assert!(prev.is_none(), "order {kode} stored twice");
    }

    let mut lines = Vec::new();
    let mut files_per_order: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in conn.query(
        "SELECT d.kode_pesanan, d.source_line, f.path FROM dropship_purchase_details d
         LEFT JOIN import_files f ON f.id = d.import_file_id",
    ) {
        let (kode, line) = (String::from_cell(&r[0]), u64::from_cell(&r[1]));
        let name = path_name(&r[2]);
        files_per_order
            .entry(kode.clone())
            .or_default()
            .insert(name.clone());
        lines.push((kode, line, name));
    }
    lines.sort();

    let repeated_line_keys = conn
        .query(
            "SELECT kode_pesanan, sku, source_line, import_file_id, COUNT(*)
             FROM dropship_purchase_details
             GROUP BY kode_pesanan, sku, source_line, import_file_id
             HAVING COUNT(*) > 1 LIMIT 20",
        )
        .into_iter()
        .map(|r| {
            (
                String::from_cell(&r[0]),
                String::from_cell(&r[1]),
                i64::from_cell(&r[2]),
                i64::from_cell(&r[3]),
                i64::from_cell(&r[4]),
            )
        })
        .collect();

    let mut rejects = conn
        .query(
            "SELECT f.path, r.line, r.reason FROM import_rejects r
             LEFT JOIN import_files f ON f.id = r.file_id",
        )
        .into_iter()
        .map(|r| {
            (
                path_name(&r[0]),
                u64::from_cell(&r[1]),
                String::from_cell(&r[2]),
            )
        })
        .collect::<Vec<_>>();
    rejects.sort();

    let sums = &conn.query(
        "SELECT COALESCE(SUM(qty), 0), COALESCE(SUM(total_harga_produk_sen), 0)
         FROM dropship_purchase_details",
    )[0];
    let (qty_sum, total_sum) = (i64::from_cell(&sums[0]), i64::from_cell(&sums[1]));

    let table_counts = [
        conn.count("dropship_purchases"),
        conn.count("dropship_purchase_details"),
        conn.count("import_rejects"),
    ];

    Db {
        orders,
        lines,
        files_per_order,
        repeated_line_keys,
        rejects,
        qty_sum,
        total_sum,
        table_counts,
    }
}

/// Multiset equality with a short, readable difference.
fn assert_same<T: Ord + Debug + Clone>(what: &str, ctx: &str, expected: &[T], actual: &[T]) {
    let mut e = expected.to_vec();
    let mut a = actual.to_vec();
    e.sort();
    a.sort();
    if e == a {
        return;
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < e.len() || j < a.len() {
        if j == a.len() || (i < e.len() && e[i] < a[j]) {
            missing.push(&e[i]);
            i += 1;
        } else if i == e.len() || a[j] < e[i] {
            extra.push(&a[j]);
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    panic!(
        "{ctx}: {what} differ: expected {} items, found {}; {} missing (first: {:?}), \
         {} unexpected (first: {:?})",
        e.len(),
        a.len(),
        missing.len(),
        &missing[..missing.len().min(8)],
        extra.len(),
        &extra[..extra.len().min(8)],
    );
}

// ---------------------------------------------------------------------------
// What the generated files say, independently of the importer

/// Every row's (file name, GenRow) and the bad-row facts both tests share.
struct Facts {
    names: Vec<String>,
    /// Per file name: (bad rows, accepted rows).
    per_file_bad_ok: BTreeMap<String, (u64, u64)>,
    /// The bad rows as (file name, line, reason).
    rejects: Vec<Reject>,
    /// (kode, file name) -> accepted rows of that order in that file: (line, qty, total sen).
    accepted: BTreeMap<(String, String), Vec<Accepted>>,
    rows: u64,
}

fn facts(files: &[GenFile]) -> Facts {
    let mut f = Facts {
        names: Vec::new(),
        per_file_bad_ok: BTreeMap::new(),
        rejects: Vec::new(),
        accepted: BTreeMap::new(),
        rows: 0,
    };
    for gf in files {
        let name = gen_name(gf);
        f.names.push(name.clone());
        let entry = f.per_file_bad_ok.entry(name.clone()).or_default();
        for r in &gf.rows {
            f.rows += 1;
            match r.bad {
                Some(reason) => {
                    entry.0 += 1;
                    f.rejects.push((name.clone(), r.line, reason.to_string()));
                }
                None => {
                    entry.1 += 1;
                    f.accepted
                        .entry((r.kode_pesanan.clone(), name.clone()))
                        .or_default()
                        .push((r.line, r.qty, r.total_harga_produk_sen));
                }
            }
        }
    }
    f
}

/// The exact outcome of a `-j 1` run.
struct Expect {
    per_file: BTreeMap<String, Counts>,
    total: Counts,
    orders: Vec<(String, String)>,
    lines: Vec<Line>,
    qty_sum: i64,
    total_sum: i64,
}

fn expect_jobs_1(files: &[GenFile]) -> Expect {
    // Smallest first, equal sizes by path.
    let mut order: Vec<&GenFile> = files.iter().collect();
    order.sort_by(|a, b| {
        a.size_bytes
            .cmp(&b.size_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });
    // An order belongs to the first file (in that order) with an accepted row of it.
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for gf in &order {
        for r in gf.rows.iter().filter(|r| r.bad.is_none()) {
            owner
                .entry(r.kode_pesanan.clone())
                .or_insert_with(|| gen_name(gf));
        }
    }
    let mut e = Expect {
        per_file: BTreeMap::new(),
        total: Counts::default(),
        orders: owner.iter().map(|(k, f)| (k.clone(), f.clone())).collect(),
        lines: Vec::new(),
        qty_sum: 0,
        total_sum: 0,
    };
    for gf in files {
        let name = gen_name(gf);
        let mut c = Counts::default();
        for r in &gf.rows {
            c.read += 1;
            if r.bad.is_some() {
                c.rejected += 1;
            } else if owner[&r.kode_pesanan] == name {
                c.imported += 1;
                e.lines.push((r.kode_pesanan.clone(), r.line, name.clone()));
                e.qty_sum += r.qty;
                e.total_sum += r.total_harga_produk_sen;
            } else {
                c.duplicate += 1;
            }
        }
        e.total.read += c.read;
        e.total.imported += c.imported;
        e.total.rejected += c.rejected;
        e.total.duplicate += c.duplicate;
        e.per_file.insert(name, c);
    }
    e
}

// ---------------------------------------------------------------------------
// The checks

fn generate_into(dir: &Path, spec: &Spec, format: &Format) -> Vec<GenFile> {
    let format = Format {
        record_values: true,
        ..format.clone()
    };
    generate::generate_with(&dir.join(FILES_DIR), spec, &format, true).expect("generate the files")
}

/// A stored value as the generator's [`generate::Expected`] writes it.
fn stored_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("{f}r")),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(format!("blob of {} bytes", b.len())),
    }
}

/// Every stored column of every order, line and reject against what the
/// generator recorded for the row it came from: dates as ISO text with the
/// offset, text, every money column in sen, the reject's column and value.
fn check_values(conn: &Database, files: &[GenFile], db: &Db, ctx: &str) {
    // The one row of `sql`, each value as the generator writes it (SQLite:
    // a REAL shows as such, so money stored as a float is caught).
    let row = |sql: &str| -> Result<Vec<Option<String>>, String> {
        let rows = match conn {
            Database::Sqlite(path) => {
                let c = Connection::open(path).map_err(|e| e.to_string())?;
                let n = c.prepare(sql).map_err(|e| e.to_string())?.column_count();
                c.query_row(sql, [], |r| {
                    Ok(vec![
                        (0..n).map(|i| stored_text(r.get_ref(i).unwrap())).collect(),
                    ])
                })
                .map_err(|e| e.to_string())?
            }
            Database::Postgres(_) => conn.try_query(sql)?,
        };
        match rows.len() {
            1 => Ok(rows.into_iter().next().unwrap()),
            n => Err(format!("{n} rows")),
        }
    };
    let rows_of: BTreeMap<String, &GenFile> = files.iter().map(|f| (gen_name(f), f)).collect();
    let row_at = |file: &str, line: u64| -> &generate::GenRow {
        rows_of[file]
            .rows
            .iter()
            .find(|r| r.line == line)
            .unwrap_or_else(|| panic!("{ctx}: {file} has no row on line {line}"))
    };
    let values = |r: &generate::GenRow| -> generate::Expected {
        (**r.values.as_ref().expect("the generator recorded values")).clone()
    };
    let select = |cols: &[(&str, Option<String>)], table: &str, key: &str| -> String {
        let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        format!("SELECT {} FROM {table} WHERE {key}", names.join(", "))
    };
    let mut checked = [0usize; 3];

    // Orders: the owner's first accepted row of the order says what they hold.
    for (kode, owner) in &db.orders {
        let first = rows_of[owner]
            .rows
            .iter()
            .find(|r| r.bad.is_none() && &r.kode_pesanan == kode)
            .unwrap_or_else(|| panic!("{ctx}: {owner} has no accepted row of {kode}"));
        let want = values(first).order;
        let got: Vec<(&str, Option<String>)> = row(&select(
            &want,
            "dropship_purchases",
            &format!("kode_pesanan = {}", lit(kode)),
        ))
        .map(|v| want.iter().map(|(c, _)| *c).zip(v).collect())
        .unwrap_or_else(|e| panic!("{ctx}: order {kode}: {e}"));
        assert_eq!(got, want, "{ctx}: order {kode} (owned by {owner})");
        checked[0] += 1;
    }

    // Lines: each is the row of its file on its source line.
    for (kode, line, file) in &db.lines {
        let want = values(row_at(file, *line)).line;
        let got: Vec<(&str, Option<String>)> = row(&select(
            &want,
            "dropship_purchase_details",
            &format!(
                "kode_pesanan = {} AND source_line = {line} AND import_file_id =
                 (SELECT id FROM import_files WHERE path LIKE '%' || {})",
                lit(kode),
                lit(&format!("/{file}"))
            ),
        ))
        .map(|v| want.iter().map(|(c, _)| *c).zip(v).collect())
        .unwrap_or_else(|e| panic!("{ctx}: line {line} of {file}: {e}"));
        assert_eq!(got, want, "{ctx}: line {line} of {file} (order {kode})");
        checked[1] += 1;
    }

    // Rejects: the column at fault and the value as written.
    let stored = conn.query(
        "SELECT f.path, r.line, r.column_name, r.value FROM import_rejects r
         JOIN import_files f ON f.id = r.file_id",
    );
    for r in stored {
        let (path, line) = (String::from_cell(&r[0]), i64::from_cell(&r[1]));
        let (column, value) = (r[2].clone(), r[3].clone());
        let file = file_name(&path);
        let row = row_at(&file, line as u64);
        let (want_column, want_value) = values(row)
            .reject
            .unwrap_or_else(|| panic!("{ctx}: line {line} of {file} was rejected but is good"));
        assert_eq!(
            (column.as_deref(), value.as_deref()),
            (want_column, want_value.as_deref()),
            "{ctx}: reject on line {line} of {file} ({:?}): column and value",
            row.bad
        );
        checked[2] += 1;
    }
    assert_eq!(
        checked,
        [db.orders.len(), db.lines.len(), db.rejects.len()],
        "{ctx}: orders, lines and rejects compared"
    );
}

/// A random shape for the files: every way the README promises to read.
fn format_strategy() -> impl Strategy<Value = Format> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(b';')), Just(Some(b'\t'))],
        prop_oneof![
            Just(Money::Plain),
            Just(Money::Decimal),
            Just(Money::Grouped)
        ],
    )
        .prop_map(
            |(gzip, bom, crlf, quoted_newlines, delimiter, money)| Format {
                gzip,
                bom,
                crlf,
                quoted_newlines,
                delimiter,
                money,
                record_values: true,
            },
        )
}

fn assert_exit(run: &Run, expected: i32, ctx: &str) {
    assert_eq!(
        run.code, expected,
        "{ctx}: exit code; summary status {}; stderr:\n{}",
        run.summary["status"], run.stderr
    );
}

/// The summary's file list: one entry per generated file, with its status.
fn assert_file_list(run: &Run, names: &[String], status: &str, ctx: &str) {
    let per_file = run.per_file();
    let listed: Vec<&String> = per_file.keys().collect();
    let mut want: Vec<&String> = names.iter().collect();
    want.sort();
    assert_eq!(listed, want, "{ctx}: files in per_file");
    for (name, (st, c)) in &per_file {
        assert_eq!(st, status, "{ctx}: status of {name}");
        c.assert_conserved(&format!("{ctx}: per_file {name}"));
    }
    assert_eq!(run.files("total"), names.len() as u64, "{ctx}: files.total");
    let key = if status == "imported" {
        "imported"
    } else {
        "skipped"
    };
    assert_eq!(run.files(key), names.len() as u64, "{ctx}: files.{key}");
    assert_eq!(run.files("failed"), 0, "{ctx}: files.failed");
}

/// A second identical run: exit 0, every file skipped, the database unchanged.
fn check_second_run(
    dir: &Path,
    conn: &Database,
    jobs: usize,
    names: &[String],
    before: &Db,
    ctx: &str,
) {
    let ctx = format!("{ctx}, second run");
    let run = run_import(dir, jobs, conn);
    assert_exit(&run, 0, &ctx);
    assert_file_list(&run, names, "skipped", &ctx);
    let rows = run.rows();
    rows.assert_conserved(&ctx);
    assert_eq!(rows.imported, 0, "{ctx}: rows.imported");
    assert_eq!(rows.rejected, 0, "{ctx}: rows.rejected");
    let after = read_db(conn);
    assert_eq!(after.table_counts, before.table_counts, "{ctx}: row counts");
    assert!(after.orders == before.orders, "{ctx}: orders changed");
    assert!(after.lines == before.lines, "{ctx}: lines changed");
    assert!(after.rejects == before.rejects, "{ctx}: rejects changed");
}

fn check_no_repeated_line_keys(db: &Db, ctx: &str) {
    assert!(
        db.repeated_line_keys.is_empty(),
        "{ctx}: (kode_pesanan, sku, source_line, import_file_id, count) stored more than once: {:?}",
        db.repeated_line_keys
    );
}

/// `-j 1`: everything is defined, so everything is compared exactly.
fn check_jobs_1(spec: &Spec, format: &Format, backend: Backend) {
    let ctx = format!("-j 1, {backend:?}, {spec:?}, {format:?}");
    let tmp = tempfile::tempdir().unwrap();
    let conn = database(tmp.path(), backend);
    let files = generate_into(tmp.path(), spec, format);
    let facts = facts(&files);
    let exp = expect_jobs_1(&files);

    let run = run_import(tmp.path(), 1, &conn);
    let any_bad = !facts.rejects.is_empty();
    assert_exit(&run, if any_bad { 3 } else { 0 }, &ctx);
    assert_file_list(&run, &facts.names, "imported", &ctx);

    let rows = run.rows();
    rows.assert_conserved(&ctx);
    assert_eq!(rows, exp.total, "{ctx}: summary rows");
    for (name, (_, c)) in run.per_file() {
        assert_eq!(c, exp.per_file[&name], "{ctx}: per_file rows of {name}");
    }

    let db = read_db(&conn);
    let orders: Vec<(String, String)> = db
        .orders
        .iter()
        .map(|(k, f)| (k.clone(), f.clone()))
        .collect();
    assert_same("orders (kode, owner file)", &ctx, &exp.orders, &orders);
    assert_same(
        "detail lines (kode, source_line, file)",
        &ctx,
        &exp.lines,
        &db.lines,
    );
    assert_eq!(db.qty_sum, exp.qty_sum, "{ctx}: SUM(qty)");
    assert_eq!(
        db.total_sum, exp.total_sum,
        "{ctx}: SUM(total_harga_produk_sen)"
    );
    assert_same(
        "rejects (file, line, reason)",
        &ctx,
        &facts.rejects,
        &db.rejects,
    );
    check_no_repeated_line_keys(&db, &ctx);
    check_values(&conn, &files, &db, &ctx);

    check_second_run(tmp.path(), &conn, 1, &facts.names, &db, &ctx);
}

/// `-j 4`: which file owns a repeated order is not defined; check what is.
fn check_jobs_4(spec: &Spec, format: &Format, backend: Backend) {
    let ctx = format!("-j 4, {backend:?}, {spec:?}, {format:?}");
    let tmp = tempfile::tempdir().unwrap();
    let conn = database(tmp.path(), backend);
    let files = generate_into(tmp.path(), spec, format);
    let facts = facts(&files);
    if spec.dup_share > 0.0 {
        // The point of this test: orders held by two files read at once.
        let mut files_of: BTreeMap<&String, usize> = BTreeMap::new();
        for (kode, _) in facts.accepted.keys() {
            *files_of.entry(kode).or_default() += 1;
        }
        assert!(
            files_of.values().any(|&n| n > 1),
            "{ctx}: the spec yields no repeated order; pick another"
        );
    }

    let run = run_import(tmp.path(), 4, &conn);
    let any_bad = !facts.rejects.is_empty();
    assert_exit(&run, if any_bad { 3 } else { 0 }, &ctx);
    assert_file_list(&run, &facts.names, "imported", &ctx);

    let db = read_db(&conn);
    let mut db_lines_per_file: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, _, f) in &db.lines {
        *db_lines_per_file.entry(f.as_str()).or_default() += 1;
    }

    // Counts: conservation, rejects exact, imported + duplicate = accepted rows.
    let rows = run.rows();
    rows.assert_conserved(&ctx);
    let bad_total = facts.rejects.len() as u64;
    assert_eq!(rows.read, facts.rows, "{ctx}: rows.read");
    assert_eq!(rows.rejected, bad_total, "{ctx}: rows.rejected");
    assert_eq!(
        rows.imported + rows.duplicate,
        facts.rows - bad_total,
        "{ctx}: rows.imported + rows.duplicate != non-bad rows"
    );
    assert_eq!(
        (rows.filtered, rows.failed),
        (0, 0),
        "{ctx}: rows filtered, failed"
    );
    assert_eq!(
        rows.imported,
        db.lines.len() as u64,
        "{ctx}: rows.imported vs detail rows"
    );
    for (name, (_, c)) in run.per_file() {
        let (bad, ok) = facts.per_file_bad_ok[&name];
        let fctx = format!("{ctx}: per_file {name}");
        assert_eq!(c.read, bad + ok, "{fctx}: read");
        assert_eq!(c.rejected, bad, "{fctx}: rejected");
        assert_eq!(c.imported + c.duplicate, ok, "{fctx}: imported + duplicate");
        assert_eq!(
            c.imported,
            db_lines_per_file.get(name.as_str()).copied().unwrap_or(0),
            "{fctx}: imported vs its detail rows"
        );
    }

    // Orders: exactly those with an accepted row somewhere.
    let with_accepted: BTreeSet<&String> = facts.accepted.keys().map(|(k, _)| k).collect();
    let stored: BTreeSet<&String> = db.orders.keys().collect();
    let want: Vec<&String> = with_accepted.into_iter().collect();
    let got: Vec<&String> = stored.into_iter().collect();
    assert_same("orders", &ctx, &want, &got);

    // Each order's lines come from one file, the order's own, and are exactly
    // that file's accepted rows of the order.
    let mut expected_lines = Vec::new();
    let (mut qty_sum, mut total_sum) = (0, 0);
    for (kode, owner) in &db.orders {
        let line_files = db.files_per_order.get(kode).cloned().unwrap_or_default();
        assert_eq!(
            line_files,
            BTreeSet::from([owner.clone()]),
            "{ctx}: files of the lines of order {kode} (order owned by {owner})"
        );
        let rows = facts
            .accepted
            .get(&(kode.clone(), owner.clone()))
            .unwrap_or_else(|| {
                panic!("{ctx}: order {kode} owned by {owner}, which has no accepted row of it")
            });
        for &(line, qty, total) in rows {
            expected_lines.push((kode.clone(), line, owner.clone()));
            qty_sum += qty;
            total_sum += total;
        }
    }
    assert_same(
        "detail lines (kode, source_line, file)",
        &ctx,
        &expected_lines,
        &db.lines,
    );
    // A repeated order is identical in both files, so the sums do not depend on the winner.
    assert_eq!(db.qty_sum, qty_sum, "{ctx}: SUM(qty)");
    assert_eq!(
        db.total_sum, total_sum,
        "{ctx}: SUM(total_harga_produk_sen)"
    );
    check_no_repeated_line_keys(&db, &ctx);
    assert_same(
        "rejects (file, line, reason)",
        &ctx,
        &facts.rejects,
        &db.rejects,
    );

    check_values(&conn, &files, &db, &ctx);

    check_second_run(tmp.path(), &conn, 4, &facts.names, &db, &ctx);
}

// ---------------------------------------------------------------------------
// The tests

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (1usize..8)
        .prop_flat_map(|files| {
            (
                Just(files),
                files..600usize,
                any::<u64>().no_shrink(),
                // Zero now and then, so that clean runs (exit 0) are covered too.
                prop_oneof![1 => Just(0.0), 4 => 0.0..0.2f64],
                prop_oneof![1 => Just(0.0), 4 => 0.0..0.3f64],
            )
        })
        .prop_map(|(files, rows, seed, bad_share, dup_share)| Spec {
            files,
            rows,
            seed,
            bad_share,
            dup_share,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        // Each case runs the binary twice: keep shrinking short, and write no
        // regression file next to this one (a failing spec is in the message).
        max_shrink_iters: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn jobs_1_matches_independent_expectation(
        spec in spec_strategy(),
        format in format_strategy(),
    ) {
        check_jobs_1(&spec, &format, Backend::Sqlite);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PostgreSQL: fewer cases, each on a schema of its own.
        cases: 4,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn jobs_1_matches_independent_expectation_postgres(
        spec in spec_strategy(),
        format in format_strategy(),
    ) {
        if let Some(backend) = Backend::postgres() {
            check_jobs_1(&spec, &format, backend);
        }
    }
}

#[test]
fn jobs_4_keeps_what_is_defined() {
    jobs_4_keeps_what_is_defined_on(Backend::Sqlite);
}

#[test]
fn jobs_4_keeps_what_is_defined_postgres() {
    if let Some(backend) = Backend::postgres() {
        jobs_4_keeps_what_is_defined_on(backend);
    }
}

fn jobs_4_keeps_what_is_defined_on(backend: Backend) {
    let specs = [
        Spec {
            files: 7,
            rows: 1500,
            seed: 0x5EED_0004,
            bad_share: 0.03,
            dup_share: 0.3,
        },
        Spec {
            files: 5,
            rows: 400,
            seed: 11,
            bad_share: 0.0,
            dup_share: 0.3,
        },
        Spec {
            files: 8,
            rows: 900,
            seed: 2024,
            bad_share: 0.15,
            dup_share: 0.2,
        },
    ];
    let formats = [
        Format::default(),
        Format {
            money: Money::Grouped,
            quoted_newlines: true,
            crlf: true,
            ..Format::default()
        },
        Format {
            money: Money::Decimal,
            delimiter: Some(b';'),
            gzip: true,
            bom: true,
            ..Format::default()
        },
    ];
    for (spec, format) in specs.iter().zip(&formats) {
        check_jobs_4(spec, format, backend);
    }
}
