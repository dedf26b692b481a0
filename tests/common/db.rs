//! The database a test points the binary at: a SQLite file, or a schema of
//! its own in PostgreSQL, read back with the same SQL on both.
//!
//! PostgreSQL is reached through `DROPSHIP_TEST_PG` (an admin URL; default
//! `postgres://root@127.0.0.1:5432/test`). When that variable is unset and
//! the default server does not answer, PostgreSQL tests are skipped with a
//! line on stderr saying how to run them; when it is set and the server does
//! not answer, they fail. Each test gets a fresh schema, dropped with it.
//!
//! Self-contained (no other test helper), so that a test file can include
//! it alone with `#[path = "common/db.rs"]`.

#![allow(dead_code)]

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sqlx::postgres::PgConnection;
use sqlx::{Column, Connection as _, Row, TypeInfo, ValueRef as _};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server tried when `DROPSHIP_TEST_PG` is unset.
pub const DEFAULT_PG: &str = "postgres://root@127.0.0.1:5432/test";

/// The session time zone of every read: the tests' stored offset.
const SESSION_TZ: &str = "SET TIME ZONE INTERVAL '+07:00' HOUR TO MINUTE";

/// Which kind of database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `Some(Postgres)` when the test server answers; `None` (the skip
    /// printed) when it does not and `DROPSHIP_TEST_PG` is unset. Panics
    /// when `DROPSHIP_TEST_PG` is set and the server does not answer.
    pub fn postgres() -> Option<Backend> {
        pg_admin_url().map(|_| Backend::Postgres)
    }

    pub fn is_postgres(self) -> bool {
        self == Backend::Postgres
    }
}

/// Generates `mod NAME { fn sqlite(); fn postgres(); }` tests from one
/// body taking a [`Backend`]; the PostgreSQL one skips (printing why) when
/// no server answers and `DROPSHIP_TEST_PG` is unset.
#[allow(unused_macros)]
macro_rules! both {
    ($(#[$attr:meta])* fn $name:ident($b:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($b: $crate::common::db::Backend) $body

            $(#[$attr])*
            #[test]
            fn sqlite() {
                body($crate::common::db::Backend::Sqlite)
            }

            $(#[$attr])*
            #[test]
            fn postgres() {
                if let Some(b) = $crate::common::db::Backend::postgres() {
                    body(b)
                }
            }
        }
    };
}

/// The name of the running test (the harness names its thread after it).
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string()
}

/// The admin URL of the test server, or `None` when the test is skipped.
pub fn pg_admin_url() -> Option<String> {
    let set = std::env::var("DROPSHIP_TEST_PG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let url = set.clone().unwrap_or_else(|| DEFAULT_PG.to_string());
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let reachable = REACHABLE.get_or_init(|| {
        let rt = runtime();
        rt.block_on(async {
            let mut conn = PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    });
    match reachable {
        Ok(()) => Some(url),
        Err(e) if set.is_some() => {
            panic!("DROPSHIP_TEST_PG={url} is set but PostgreSQL does not answer there: {e}")
        }
        Err(e) => {
            let msg = format!(
                "skipped {}: no PostgreSQL at {url} ({e}); \
                 set DROPSHIP_TEST_PG=postgres://USER@HOST:PORT/DB to run it\n",
                test_name()
            );
            let _ = std::io::stderr().write_all(msg.as_bytes());
            None
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `sql` (one or more statements) on the admin database, outside any
/// test schema; panics on error.
pub fn pg_admin_exec(sql: &str) {
    let url = pg_admin_url().expect("PostgreSQL reachable");
    runtime().block_on(async {
        let mut conn = PgConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    });
}

/// A name no other test, process or earlier call uses: the test's name,
/// the pid and a counter, lowercase, at most 63 bytes.
pub fn unique_name(hint: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let mut base: String = hint
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    base = base.trim_matches('_').replace("__", "_");
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base.insert_str(0, "t_");
    }
    base.truncate(63 - suffix.len());
    format!("{base}{suffix}")
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A PostgreSQL timestamptz as PostgreSQL's ISO style prints it
/// (`2025-01-01 10:00:00+07`) in SPEC's form (`2025-01-01T10:00:00+07:00`).
pub fn spec_datetime(pg: &str) -> String {
    let Some((date, rest)) = pg.split_once(' ') else {
        return pg.to_string();
    };
    let Some(at) = rest.rfind(['+', '-']) else {
        return pg.to_string();
    };
    let (time, offset) = rest.split_at(at);
    let offset = match offset.len() {
        3 => format!("{offset}:00"),
        _ => offset.to_string(),
    };
    format!("{date}T{time}{offset}")
}

/// One result row: every value as text, NULL as `None`.
pub type Rows = Vec<Vec<Option<String>>>;

/// The database of one test.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(Pg),
}

/// A schema of one test in the test server; dropped with it.
pub struct Pg {
    pub url: String,
    pub schema: String,
    // The connection first: it goes before its runtime.
    conn: RefCell<Option<(PgConnection, tokio::runtime::Runtime)>>,
}

impl Pg {
    /// A fresh schema name in the admin database; the schema itself is not
    /// created (the tool creates it when missing).
    pub fn new(url: &str) -> Pg {
        Pg {
            url: url.to_string(),
            schema: unique_name(&test_name()),
            conn: RefCell::new(None),
        }
    }

    /// Every row of `sql` as text, on this test's connection (opened on
    /// first use with the schema as search path and the session at +07:00).
    pub fn try_query(&self, sql: &str) -> Result<Rows, String> {
        let mut slot = self.conn.borrow_mut();
        if slot.is_none() {
            let rt = runtime();
            let conn = rt.block_on(async {
                let mut conn = PgConnection::connect(&self.url)
                    .await
                    .map_err(|e| format!("connect {}: {e}", self.url))?;
                let setup = format!("SET search_path TO {}; {SESSION_TZ}", ident(&self.schema));
                sqlx::raw_sql(&setup)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(conn)
            })?;
            *slot = Some((conn, rt));
        }
        let (conn, rt) = slot.as_mut().expect("connected");
        let out = rt.block_on(async {
            let rows = sqlx::raw_sql(sql)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut cells = Vec::with_capacity(row.len());
                for (i, col) in row.columns().iter().enumerate() {
                    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
                    if raw.is_null() {
                        cells.push(None);
                        continue;
                    }
                    let text = raw.as_str().map_err(|e| e.to_string())?;
                    cells.push(Some(match col.type_info().name() {
                        "TIMESTAMPTZ" => spec_datetime(text),
                        _ => text.to_string(),
                    }));
                }
                out.push(cells);
            }
            Ok(out)
        });
        if out.is_err() {
            // A broken session is not reused.
            *slot = None;
        }
        out
    }

    /// Whether the schema exists.
    pub fn schema_exists(&self) -> bool {
        let rows = self
            .try_query(&format!(
                "SELECT count(*) FROM pg_namespace WHERE nspname = {}",
                lit(&self.schema)
            ))
            .expect("read pg_namespace");
        rows[0][0].as_deref() == Some("1")
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        *self.conn.borrow_mut() = None;
        let sql = format!(
            "SET lock_timeout = '20s'; DROP SCHEMA IF EXISTS {} CASCADE",
            ident(&self.schema)
        );
        let url = self.url.clone();
        let _ = runtime().block_on(async move {
            let mut conn = PgConnection::connect(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut conn).await?;
            conn.close().await
        });
    }
}

impl Db {
    pub fn sqlite(path: impl Into<PathBuf>) -> Db {
        Db::Sqlite(path.into())
    }

    /// A fresh schema on the test server (panics when it is unreachable:
    /// call [`Backend::postgres`] first to skip).
    pub fn postgres() -> Db {
        let url = pg_admin_url().expect("PostgreSQL reachable");
        Db::Postgres(Pg::new(&url))
    }

    /// SQLite at `sqlite_path`, or a fresh PostgreSQL schema.
    pub fn of(backend: Backend, sqlite_path: &Path) -> Db {
        match backend {
            Backend::Sqlite => Db::sqlite(sqlite_path),
            Backend::Postgres => Db::postgres(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// What `--db` names: the file path or the connection URL.
    pub fn target(&self) -> String {
        match self {
            Db::Sqlite(p) => p.to_string_lossy().into_owned(),
            Db::Postgres(pg) => pg.url.clone(),
        }
    }

    /// The command-line arguments that point the binary at this database.
    pub fn args(&self) -> Vec<String> {
        match self {
            Db::Sqlite(p) => vec!["--db".into(), p.to_string_lossy().into_owned()],
            Db::Postgres(pg) => vec![
                "--db".into(),
                pg.url.clone(),
                "--schema".into(),
                pg.schema.clone(),
            ],
        }
    }

    pub fn pg(&self) -> &Pg {
        match self {
            Db::Postgres(pg) => pg,
            Db::Sqlite(p) => panic!("{} is SQLite, not PostgreSQL", p.display()),
        }
    }

    /// Whether the tool has created its database: the SQLite file, or the
    /// schema's `import_runs` table.
    pub fn exists(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.is_file(),
            Db::Postgres(pg) => {
                let rows = pg
                    .try_query(&format!(
                        "SELECT count(*) FROM information_schema.tables
                         WHERE table_schema = {} AND table_name = 'import_runs'",
                        lit(&pg.schema)
                    ))
                    .expect("read information_schema");
                rows[0][0].as_deref() == Some("1")
            }
        }
    }

    /// Every row of `sql` as text; the error as text.
    pub fn try_query(&self, sql: &str) -> Result<Rows, String> {
        match self {
            Db::Sqlite(path) => sqlite_query(path, sql),
            Db::Postgres(pg) => pg.try_query(sql),
        }
    }

    /// Every row of `sql` as text (integers in decimal, NULL as `None`,
    /// PostgreSQL datetimes in SPEC's ISO form at +07:00).
    #[track_caller]
    pub fn query(&self, sql: &str) -> Rows {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs statements, ignoring any rows.
    #[track_caller]
    pub fn execute(&self, sql: &str) {
        self.query(sql);
    }

    /// The single value of `sql`.
    #[track_caller]
    pub fn one<T: FromCell>(&self, sql: &str) -> T {
        let rows = self.query(sql);
        assert_eq!(rows.len(), 1, "{sql}: {} rows, not one", rows.len());
        T::from_cell(&rows[0][0])
    }

    /// The first column of every row.
    #[track_caller]
    pub fn column<T: FromCell>(&self, sql: &str) -> Vec<T> {
        self.query(sql)
            .iter()
            .map(|r| T::from_cell(&r[0]))
            .collect()
    }

    #[track_caller]
    pub fn count(&self, table: &str) -> i64 {
        self.one(&format!("SELECT count(*) FROM {table}"))
    }
}

fn sqlite_query(path: &Path, sql: &str) -> Result<Rows, String> {
    if !path.is_file() {
        return Err(format!("no database at {}", path.display()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| e.to_string())?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let n = stmt.column_count();
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            let v = row.get_ref(i).map_err(|e| e.to_string())?;
            cells.push(match v {
                ValueRef::Null => None,
                ValueRef::Integer(i) => Some(i.to_string()),
                ValueRef::Real(f) => Some(f.to_string()),
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            });
        }
        out.push(cells);
    }
    Ok(out)
}

/// A value read back as text, turned into what a test compares.
pub trait FromCell: Sized {
    fn from_cell(cell: &Option<String>) -> Self;
}

impl FromCell for String {
    fn from_cell(cell: &Option<String>) -> String {
        cell.clone().expect("a value, not NULL")
    }
}

impl FromCell for i64 {
    fn from_cell(cell: &Option<String>) -> i64 {
        let s = cell.as_deref().expect("a number, not NULL");
        s.parse()
            .unwrap_or_else(|_| panic!("not a whole number: {s:?}"))
    }
}

impl FromCell for u64 {
    fn from_cell(cell: &Option<String>) -> u64 {
        let s = cell.as_deref().expect("a number, not NULL");
        s.parse()
            .unwrap_or_else(|_| panic!("not a whole number >= 0: {s:?}"))
    }
}

impl FromCell for f64 {
    fn from_cell(cell: &Option<String>) -> f64 {
        let s = cell.as_deref().expect("a number, not NULL");
        s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
    }
}

impl FromCell for bool {
    fn from_cell(cell: &Option<String>) -> bool {
        match cell.as_deref() {
            Some("1" | "t" | "true") => true,
            Some("0" | "f" | "false") => false,
            other => panic!("not a truth value: {other:?}"),
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Option<String>) -> Option<T> {
        cell.as_ref().map(|_| T::from_cell(cell))
    }
}
