//! The reads of `status` and `recommend`, from SQLite or PostgreSQL: recent
//! runs, one run with its files, the files killed runs left part-way, the
//! throughput of finished runs, and whether a run is live.
//!
//! A reader never writes: it never creates the database, a schema or a
//! table, and never holds a lock an import waits for. SQLite is opened
//! read-only; PostgreSQL in read-only transactions. Each look at the
//! database ([`Reader::snapshot`]) is one transaction, so a run and its
//! files are seen as of the same commit. Every wait (a busy SQLite file, a
//! PostgreSQL server that does not answer) ends after [`TIMEOUT`], and each
//! way reading can fail is worded here, once, naming the database as
//! [`Place::display`] shows it: never with a password.

mod postgres;
mod sqlite;

// The PostgreSQL connection (parse, show without password, connect): to
// become `use crate::store::postgres::connect;` when that module lands.
use crate::store::postgres::connect;

use crate::outcome::RowCounts;
use crate::report::FileCounts;
use anyhow::{Context, Result};
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

/// How long a read waits for the database: a SQLite file briefly locked
/// (WAL recovery, a writer in rollback-journal mode), a PostgreSQL server
/// slow to connect or to answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the runs are recorded: a SQLite file, or a schema of a PostgreSQL
/// database.
#[derive(Debug)]
pub enum Place {
    Sqlite(PathBuf),
    Postgres {
        target: Box<connect::Target>,
        schema: String,
    },
}

impl Place {
    /// The database the settings name (`--db`, the config,
    /// `DROPSHIP_DB`, the default), in the schema `--schema` names, else
    /// the config's, else `public`.
    pub fn from_settings(
        settings: &crate::settings::Settings,
        schema: Option<&str>,
    ) -> Result<Place> {
        let Some(target) = &settings.postgres else {
            if schema.is_some() {
                return Err(crate::settings::UsageError(
                    "--schema applies to PostgreSQL; the database is an SQLite file".into(),
                )
                .into());
            }
            return Ok(Place::Sqlite(settings.db.clone()));
        };
        let schema = schema.unwrap_or(&target.schema);
        if schema.is_empty() {
            return Err(
                crate::settings::UsageError("--schema: the schema name is empty".into()).into(),
            );
        }
        Ok(Place::Postgres {
            target: Box::new(target.connect.clone()),
            schema: schema.to_string(),
        })
    }

    /// The database as shown in output and errors: the path, or the
    /// connection string without its password and the schema.
    pub fn display(&self) -> String {
        match self {
            Place::Sqlite(path) => path.display().to_string(),
            Place::Postgres { target, schema } => format!("{}, schema {schema}", target.display()),
        }
    }
}

/// Reading stopped for a reason a person acts on; worded once, here.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A SQLite file that is not there.
    #[error("no database at {0} (nothing imported yet)")]
    NoDatabase(String),
    /// A database (or PostgreSQL schema) without the tool's tables.
    #[error("no import history in {0} (nothing imported yet: {1})")]
    NoHistory(String, &'static str),
    /// Tables of the tool's names that the tool did not create.
    #[error("{0} is not a dropship-import database: {1}")]
    NotOurs(String, String),
    /// `status RUN_ID` names a run the database does not hold.
    #[error("no run {1} in {0}")]
    NoSuchRun(String, i64),
}

impl ReadError {
    /// Nothing was imported into this database yet (nothing is wrong).
    pub fn is_nothing_yet(&self) -> bool {
        matches!(self, ReadError::NoDatabase(_) | ReadError::NoHistory(..))
    }
}

/// How often the database will be looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    /// Once (`status`, `recommend`).
    Once,
    /// Again and again (`status --follow`): a run starting meanwhile must
    /// be seen.
    Repeatedly,
}

/// One `import_runs` row as stored; times as SQLite keeps them (RFC 3339,
/// UTC, whole seconds).
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state: String,
    pub pid: i64,
    /// The machine of the run (PostgreSQL); `None` in SQLite: this one.
    pub host: Option<String>,
    pub version: String,
    pub options: String,
    pub files: FileCounts,
    pub rows: RowCounts,
    pub elapsed_ms: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    pub rows_per_sec: Option<u64>,
    pub bytes_per_sec: Option<u64>,
    /// The work the run was given when it started: its files, and their
    /// bytes. `None` for a run recorded by an older version.
    pub planned_files: Option<u64>,
    pub planned_bytes: Option<u64>,
    /// The bytes of the files it skipped so far (files it skips are in
    /// `import_files` only once it ends).
    pub skipped_bytes: Option<u64>,
}

/// A file of a run, as that run saw it: what it committed of it, not what
/// the file's entry in `import_files` sums over every run that read part
/// of it (each row is counted in the run that committed it).
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub id: i64,
    pub path: String,
    pub size_bytes: Option<u64>,
    /// As stored (`in_progress`, `imported`, ...), or `interrupted` when
    /// the run stopped part-way and a later run carries the file on.
    pub state: String,
    /// What this run committed.
    pub rows: RowCounts,
    /// The checkpoint this run reached: bytes, records and line from the
    /// file's start.
    pub bytes_committed: u64,
    pub rows_committed: u64,
    pub line_committed: Option<u64>,
    /// Where this run began: 0 and `None` when it read from the start; the
    /// checkpoint of an earlier run it resumed from, else.
    pub bytes_from: u64,
    pub resumed_from_line: Option<u64>,
    /// The run the file's entry went on to (it resumed the file), when not
    /// this one.
    pub carried_on_by: Option<i64>,
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// What one run committed of a file (`import_file_runs`), as stored.
#[derive(Debug, Clone, Default)]
pub(super) struct RunShare {
    pub(super) rows: RowCounts,
    pub(super) bytes_from: u64,
    pub(super) line_from: Option<u64>,
    pub(super) bytes_committed: Option<u64>,
    pub(super) rows_committed: Option<u64>,
    pub(super) line_committed: Option<u64>,
}

impl FileRecord {
    /// The file's entry as run `run` saw it, given the run the entry
    /// belongs to now (`owner`) and what `run` committed of it, when that
    /// was recorded (by this version: older ones kept the sums only).
    pub(super) fn seen_by(mut self, run: i64, owner: i64, share: Option<RunShare>) -> FileRecord {
        let Some(share) = share else {
            return self;
        };
        let own = owner == run;
        self.rows = share.rows;
        self.bytes_from = share.bytes_from;
        self.resumed_from_line = share.line_from;
        match (share.bytes_committed, own) {
            (Some(bytes), _) => {
                self.bytes_committed = bytes;
                self.rows_committed = share.rows_committed.unwrap_or(0);
                self.line_committed = share.line_committed;
            }
            // No checkpoint of its own (a file that ended before its first
            // chunk): the entry's, when it is this run's.
            (None, true) => {}
            (None, false) => {
                self.bytes_committed = share.bytes_from;
                self.rows_committed = 0;
                self.line_committed = share.line_from;
            }
        }
        if !own {
            self.state = "interrupted".into();
            self.carried_on_by = Some(owner);
            self.error = None;
            self.finished_at = None;
        }
        self
    }
}

/// A file some run left `in_progress`, with its checkpoint.
#[derive(Debug, Clone)]
pub struct PartialFile {
    pub run_id: i64,
    pub path: String,
    pub size_bytes: Option<u64>,
    pub bytes_committed: u64,
    pub rows_committed: u64,
    pub line_committed: u64,
}

/// A finished run (`ok` or `partial`) that measured its throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedRun {
    pub rows_read: i64,
    pub rows_per_sec: i64,
    pub bytes_per_sec: i64,
    pub peak_rss_bytes: Option<i64>,
    pub files_total: Option<i64>,
    /// The run's settings as JSON.
    pub options: Option<String>,
}

/// The queries, as each database answers them inside one transaction.
trait Queries {
    /// The newest `limit` runs, newest first.
    fn runs(&self, limit: i64) -> Result<Vec<RunRecord>>;
    fn run(&self, id: i64) -> Result<Option<RunRecord>>;
    /// A run's files, in the order they began.
    fn files(&self, run_id: i64) -> Result<Vec<FileRecord>>;
    /// Files left `in_progress`, oldest first.
    fn partial_files(&self) -> Result<Vec<PartialFile>>;
    fn newest_run(&self) -> Result<Option<i64>>;
    /// The runs alive now, given whether the database's claim is held (for
    /// SQLite, where only the newest `running` run can be alive: the others
    /// were killed before the next run could mark them).
    fn live_runs(&self, claim_held: &dyn Fn() -> Result<bool>) -> Result<Vec<i64>>;
    /// Finished runs that measured their throughput, newest first.
    fn finished_runs(&self, limit: i64) -> Result<Vec<FinishedRun>>;
}

/// An open database, to be looked at.
pub struct Reader {
    shown: String,
    db: Db,
}

enum Db {
    Sqlite(sqlite::Reader),
    Postgres(RefCell<postgres::Reader>),
}

/// Opens `place` to read. A database with no history is a [`ReadError`]
/// that [`ReadError::is_nothing_yet`] tells apart.
pub fn open(place: &Place, looks: Looks) -> Result<Reader> {
    let shown = place.display();
    let db = match place {
        Place::Sqlite(path) => Db::Sqlite(sqlite::Reader::open(path, &shown, looks)?),
        Place::Postgres { target, schema } => Db::Postgres(RefCell::new(postgres::Reader::open(
            target, schema, &shown,
        )?)),
    };
    Ok(Reader { shown, db })
}

impl Reader {
    /// The database as shown to people.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `read` inside one read transaction, so everything it sees is
    /// from the same commit of the writer.
    pub fn snapshot<T>(&self, read: impl FnOnce(&Snapshot) -> Result<T>) -> Result<T> {
        let result = match &self.db {
            Db::Sqlite(db) => {
                db.snapshot(|queries, live_check| self.look(queries, live_check, read))
            }
            Db::Postgres(db) => {
                let mut db = db.borrow_mut();
                db.snapshot(|queries, live_check| self.look(queries, live_check, read))
            }
        };
        result.map_err(|e| {
            if e.is::<ReadError>() {
                e
            } else {
                e.context(format!("cannot read {}", self.shown))
            }
        })
    }

    fn look<T>(
        &self,
        queries: &dyn Queries,
        live_check: &dyn Fn() -> Result<bool>,
        read: impl FnOnce(&Snapshot) -> Result<T>,
    ) -> Result<T> {
        let live_runs = queries.live_runs(live_check)?;
        read(&Snapshot {
            queries,
            shown: &self.shown,
            live_runs,
        })
    }
}

/// The database as of one read transaction.
pub struct Snapshot<'a> {
    queries: &'a dyn Queries,
    shown: &'a str,
    live_runs: Vec<i64>,
}

impl Snapshot<'_> {
    /// Whether run `id` is importing right now.
    pub fn is_live(&self, id: i64) -> bool {
        self.live_runs.contains(&id)
    }

    /// The database as shown to people.
    pub fn shown(&self) -> &str {
        self.shown
    }

    /// The newest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        self.queries.runs(i64::try_from(limit).unwrap_or(i64::MAX))
    }

    /// Run `id`; an unknown id is [`ReadError::NoSuchRun`].
    pub fn run(&self, id: i64) -> Result<RunRecord> {
        self.queries
            .run(id)?
            .ok_or_else(|| ReadError::NoSuchRun(self.shown.to_string(), id).into())
    }

    /// The files of run `run_id`, in the order they began.
    pub fn files(&self, run_id: i64) -> Result<Vec<FileRecord>> {
        self.queries.files(run_id)
    }

    /// The files that killed runs left part-way, oldest first (the live
    /// run's are not among them).
    pub fn partial_files(&self) -> Result<Vec<PartialFile>> {
        let mut files = self.queries.partial_files()?;
        files.retain(|f| !self.is_live(f.run_id));
        Ok(files)
    }

    pub fn newest_run(&self) -> Result<Option<i64>> {
        self.queries.newest_run()
    }

    /// The newest `limit` finished runs that measured their throughput.
    pub fn finished_runs(&self, limit: usize) -> Result<Vec<FinishedRun>> {
        self.queries
            .finished_runs(i64::try_from(limit).unwrap_or(i64::MAX))
    }
}

/// Opens `place` to read once, for `recommend`: `None` when nothing was
/// imported into it yet.
pub fn open_history(place: &Place) -> Result<Option<Reader>> {
    match open(place, Looks::Once) {
        Ok(reader) => Ok(Some(reader)),
        Err(e)
            if e.downcast_ref::<ReadError>()
                .is_some_and(ReadError::is_nothing_yet) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A stored count: never negative.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Wraps an error of opening `shown` the one way it is worded.
fn cannot_open<T, E>(result: std::result::Result<T, E>, shown: &str) -> Result<T>
where
    std::result::Result<T, E>: Context<T, E>,
{
    result.with_context(|| format!("cannot open {shown}"))
}
