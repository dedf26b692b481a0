//! The SQLite store: one database file, written through one connection
//! with WAL journaling.
//!
//! [`open`] makes a run's [`Store`]: a real run first takes the [`claim`]
//! that keeps one importing run per database file; a dry run refuses what a
//! real run would and tidies up the files that reading the database leaves.
//! [`schema`] opens the file and migrates it; [`write`](mod@write) is the
//! writer that consumes the readers' messages, with [`insert`] for its
//! prepared row inserts. A real run's write-ahead log is copied into the
//! database by a checkpointer beside the writer ([`Store::background`]).

pub mod claim;
pub mod insert;
pub mod schema;
pub mod write;

use anyhow::Result;
use crossbeam_channel::Receiver;
use std::path::{Path, PathBuf};
use std::time::Duration;
use write::{WriteOptions, Writer};

/// A run's SQLite database: the writer, and what must outlive its
/// connections. Fields drop in the order they are declared: the writer's
/// connections close first, then a dry run tidies up after them, then the
/// claim is released (see [`claim`]).
pub struct Store {
    pub writer: Writer,
    /// The database the run names (not a dry run's scratch one).
    db: PathBuf,
    dry_run: bool,
    /// Declared after the writer: it tidies up after the writer is gone.
    _tidy: TidyAfterDryRun,
    /// Declared after the writer so that it is released after the writer's
    /// connections are closed.
    _claim: Option<claim::Claim>,
}

/// Opens `db` for a run and records its start; see [`Store`].
pub fn open(db: &Path, inputs: &[(PathBuf, Option<u64>)], opts: WriteOptions) -> Result<Store> {
    let dry_run = opts.dry_run;
    // A dry run writes nothing, so it needs no claim on the database.
    let claim = match dry_run {
        true => None,
        false => Some(claim::claim(db)?),
    };
    let tidy = TidyAfterDryRun::new(db, dry_run);
    if dry_run {
        // What a real run would refuse to open, a dry run refuses too.
        schema::check_place(db)?;
        if db.is_file() {
            schema::inspect(db, false)?;
        }
    }
    let writer = Writer::open(db, inputs, opts)?;
    Ok(Store {
        writer,
        db: db.to_path_buf(),
        dry_run,
        _tidy: tidy,
        _claim: claim,
    })
}

/// How often the write-ahead log is copied into the database during a run.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl Store {
    /// What runs beside the writer until its `done` channel closes: the
    /// checkpointer of a real run (a dry run's scratch database needs none).
    pub fn background(&self) -> Option<super::Background> {
        if self.dry_run {
            return None;
        }
        let db = self.db.clone();
        Some(Box::new(move |done: &Receiver<()>| {
            schema::checkpointer(&db, CHECKPOINT_EVERY, done)
        }))
    }
}

/// A dry run reads the real database read-only, and SQLite leaves the
/// `-wal` and `-shm` files that reading a WAL database makes. When they were
/// not there before the run, they are removed when it ends by closing one
/// ordinary connection: SQLite removes them when its last connection to the
/// database closes (its log is empty: nothing in the database changes), and
/// leaves them when another program has the database open.
struct TidyAfterDryRun(Option<PathBuf>);

impl TidyAfterDryRun {
    fn new(db: &Path, dry_run: bool) -> TidyAfterDryRun {
        let db = std::fs::canonicalize(db).ok();
        let fresh = |db: &PathBuf| {
            dry_run
                && db.is_file()
                && !schema::beside(db, "-wal").exists()
                && !schema::beside(db, "-shm").exists()
        };
        TidyAfterDryRun(db.filter(fresh))
    }
}

impl Drop for TidyAfterDryRun {
    fn drop(&mut self) {
        let Some(db) = &self.0 else { return };
        if !schema::beside(db, "-wal").exists() && !schema::beside(db, "-shm").exists() {
            return;
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) {
            // Reading makes the connection open the log, so that closing it
            // as the last one removes the files.
            let _ = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            });
            let _ = conn.close();
        }
    }
}

/// The files SQLite and the claim keep beside a database, under the name
/// given and under its real name (SQLite follows symlinks).
pub fn files_beside(db: &Path) -> Vec<PathBuf> {
    let mut names = Vec::new();
    for base in [db.to_path_buf(), crate::paths::resolve(db)] {
        for suffix in ["-wal", "-shm", "-journal", ".lock"] {
            names.push(with_suffix(&base, suffix));
        }
    }
    names.push(claim::lock_path(db));
    names
}

/// `path` with `suffix` added to its name (`t.db` → `t.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}
