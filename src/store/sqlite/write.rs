//! Write: the one thread that owns the database connection.
//!
//! Readers send it [`Msg`]s through a bounded channel: a file's beginning
//! (answered with "proceed" or "skip, already imported"), its chunks, and its
//! end. The writer decides what readers cannot: whether an order already
//! belongs to another file (duplicate, or replaced under `on_duplicate =
//! update`), and it records rejects, per-file checkpoints and the run.
//!
//! Each chunk is written together with its file's checkpoint in the same
//! transaction; transactions group the chunks that are waiting and commit as
//! soon as the channel is empty, so a committed row is never lost and never
//! half-written. A failed file is removed again (what it replaced is put
//! back), so it leaves the data tables as if it had never been read. The
//! writer must never lose a committed row, and never write a row twice.
//!
//! An order held by a file that is still being read (in this run, or left
//! `in_progress` by a killed one) is never replaced nor taken for good: a
//! file that meets it keeps its rows of it in `import_waiting_rows`. If the
//! owner fails, the first such file takes the order over with them; if it
//! is imported, they stay duplicates (`skip`) or are written over it
//! (`update`). So an order's lines always come from one file, all of them,
//! and no order is lost with a failed file. Only rows of such orders are
//! kept aside: new orders and duplicates of finished files cost nothing more.
//!
//! Across runs a file is known by its bytes (content hash), the `--channel`
//! it was read with (an import covers only the rows it kept) and its
//! canonical path (a killed run's partial file gives way when its path comes
//! back with other bytes). A run's row in `import_runs` is created when the
//! run first records something and never deleted, so an id once printed
//! exists and is never reused.
//!
//! With `--dry-run` the same code writes into a private temporary database
//! and consults the real one, attached read-only, for earlier imports: the
//! real database is never created or changed.

use super::insert::Insert;
use super::schema;
use crate::columns::FIELDS;
use crate::outcome::{
    Begin, Checkpoint, FileEnd, FileOutcome, FileStatus, OrderCounts, REJECTS_SHOWN, Reject,
    RowCounts, RunRecord, Watch,
};
use crate::read::Msg;
use crate::rows::{Chunk, Row, Value};
use crate::settings::OnDuplicate;
use crate::store::drive;
use crate::store::leftover::{self, Gone, LeftOver, covers};
use anyhow::{Context, Result};
use crossbeam_channel::Receiver;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads the six counts from consecutive columns of a query, starting at
/// `first`, in the order read, imported, rejected, duplicate, filtered,
/// failed (the order of `import_runs` and `import_files`).
pub fn row_counts(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<RowCounts> {
    Ok(RowCounts {
        read: r.get(first)?,
        imported: r.get(first + 1)?,
        rejected: r.get(first + 2)?,
        duplicate: r.get(first + 3)?,
        filtered: r.get(first + 4)?,
        failed: r.get(first + 5)?,
    })
}

/// A file's state in `import_files.state`: its snake_case name.
impl ToSql for FileStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(
            self.as_str().as_bytes(),
        )))
    }
}

impl FromSql for FileStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        FileStatus::from_name(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown file state {text:?}").into()))
    }
}

/// Where an order stands for the file being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    ThisFile,
    /// Another file, finished: this file's rows of the order are duplicates.
    Other,
    /// Another file (this id) still being read, which may yet fail: this
    /// file's rows of the order are duplicates for now, kept in
    /// `import_waiting_rows` so that this file can take the order over if
    /// that one fails (see [`Writer::hand_over`]).
    Waiting(i64),
}

/// Who holds an order that already exists, as the file being written sees it.
enum Held {
    Mine,
    /// A file (this id) not finished: `in_progress` in this run or left so
    /// by a killed one.
    Unfinished(i64),
    Finished,
}

#[derive(Debug)]
struct FileState {
    outcome: FileOutcome,
    id: Option<i64>,
    /// In a dry run resuming a file, the id the real database knows it by.
    prior_id: Option<i64>,
    hash: Option<String>,
    /// The last order key seen and whether this file owns it: the lines of
    /// an order are usually together, so most rows need no lookup. Another
    /// file's end can change the owner between two chunks, so the owner is
    /// looked up again at the start of each chunk.
    last_key: String,
    last_owner: Owner,
    duplicate_orders: HashSet<String>,
    /// What runs before this one committed of a resumed file: each row is
    /// counted in the run that committed it, so the summary shows only
    /// `outcome.rows`, and `import_files` the sum of both.
    earlier: RowCounts,
    /// The byte the file was resumed from (0 when read from its start).
    resumed_at: u64,
    /// The file's canonical absolute path, when it exists: what an operator
    /// means by "the same path" (see `supersede`).
    real_path: Option<String>,
}

impl FileState {
    /// The file's counts over every run that read part of it, as
    /// `import_files` keeps them.
    fn all_rows(&self) -> RowCounts {
        let mut rows = self.earlier;
        rows.add(&self.outcome.rows);
        rows
    }
}

/// Options the writer acts on.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub on_duplicate: OnDuplicate,
    pub force: bool,
    pub dry_run: bool,
    /// The settings as JSON, kept with the run.
    pub options_json: String,
    pub rejects_csv: Option<PathBuf>,
    /// The longest a transaction stays open (see `write_all`).
    pub commit_interval: Duration,
    /// `--channel`, trimmed and lowercased: the rows of other channels are
    /// filtered, so an import with it covers only its own channel's rows.
    pub channel: Option<String>,
}

/// The database writer; see the module documentation.
pub struct Writer {
    conn: Connection,
    /// Kept alive for a dry run: the private database lives in it.
    _scratch: Option<tempfile::TempDir>,
    /// The database written (for a dry run, the scratch one).
    db: PathBuf,
    /// A dry run's view of the real database, when there is one.
    prior: bool,
    /// Whether `prior.import_files` has the columns of migration 2 (an older
    /// database does not: its files were all read without `--channel`).
    prior_file_columns: bool,
    /// For a dry run, the run importing into the database meanwhile.
    live_run: Option<i64>,
    /// The run's row in `import_runs`, created when the run first records
    /// something (see `run_row`): a run that only skips leaves none, and an
    /// id that was printed always exists.
    run_id: Option<i64>,
    started_at: String,
    files_total: usize,
    /// The bytes of the files the run was given (those whose size was
    /// known): with `files_total`, the work planned, so that `status` can
    /// tell the run's progress exactly.
    planned_bytes: u64,
    /// Files that ended, to be shown once what they wrote is committed.
    /// The files killed runs left `in_progress` that this run has not
    /// resumed or rolled back (yet).
    leftovers: Vec<LeftOver>,
    /// What this run said of the partial files it rolled back.
    rolled_back: Vec<String>,
    opts: WriteOptions,
    files: Vec<FileState>,
    /// Content hashes of files being read in this run.
    hashes_in_run: HashMap<String, usize>,
    rejects_csv: Option<csv::Writer<std::fs::File>>,
    in_transaction: bool,
    /// The line index is absent while an empty table is loaded (see
    /// `schema::defer_line_index`); it is built when the last chunk is in,
    /// or before a failed file's lines must be found.
    line_index_deferred: bool,
}

fn order_columns() -> impl Iterator<Item = (usize, &'static str)> {
    FIELDS
        .iter()
        .enumerate()
        .filter(|(_, f)| f.order_level)
        .map(|(i, f)| (i, f.column))
}

fn line_columns() -> impl Iterator<Item = (usize, &'static str)> {
    FIELDS
        .iter()
        .enumerate()
        .filter(|(i, f)| !f.order_level || *i == crate::columns::idx::KODE_PESANAN)
        .map(|(i, f)| (i, f.column))
}

fn insert_sql(table: &str, columns: &[&str], verb: &str) -> String {
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    format!(
        "{verb} INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        marks.join(", ")
    )
}

struct Sql {
    insert_order: String,
    insert_line: String,
    /// The fields bound to the inserts, in order (`FIELDS` indices).
    order_fields: Vec<usize>,
    line_fields: Vec<usize>,
    order_list: String,
    line_list: String,
    /// `import_waiting_rows`: the insert, and the columns that give an
    /// order's and its lines' values, in the order of `order_list` and
    /// `line_insert_list`.
    insert_waiting: String,
    waiting_order_values: String,
    waiting_line_values: String,
    line_insert_list: String,
}

fn sql() -> &'static Sql {
    static SQL: std::sync::OnceLock<Sql> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let mut order: Vec<&str> = order_columns().map(|(_, c)| c).collect();
        order.extend(["import_file_id", "source_line"]);
        let mut line: Vec<&str> = line_columns().map(|(_, c)| c).collect();
        line.extend(["import_file_id", "source_line"]);
        let mut waiting: Vec<&str> = vec!["owner_file_id", "file_id"];
        waiting.extend(FIELDS.iter().map(|f| f.column));
        waiting.extend(["source_line", "run_id"]);
        let from_waiting = |columns: &[&str]| -> String {
            let n = columns.len();
            let mut list: Vec<&str> = columns[..n - 2].to_vec();
            list.extend(["file_id", "source_line"]);
            list.join(", ")
        };
        Sql {
            insert_waiting: insert_sql("import_waiting_rows", &waiting, "INSERT"),
            waiting_order_values: from_waiting(&order),
            waiting_line_values: from_waiting(&line),
            line_insert_list: line.join(", "),
            insert_order: insert_sql("dropship_purchases", &order, "INSERT OR IGNORE"),
            insert_line: insert_sql("dropship_purchase_details", &line, "INSERT"),
            order_fields: order_columns().map(|(i, _)| i).collect(),
            line_fields: line_columns().map(|(i, _)| i).collect(),
            order_list: order.join(", "),
            line_list: format!("id, {}", line.join(", ")),
        }
    })
}

impl drive::Handler for Writer {
    fn run_id(&self) -> Option<i64> {
        Writer::run_id(self)
    }

    fn commit_interval(&self) -> Duration {
        self.opts.commit_interval
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    fn begin_transaction(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        Writer::commit(self)
    }

    /// Rows go in one at a time, whatever arrives with them.
    fn batch_rows(&self) -> usize {
        0
    }

    fn write_chunks(&mut self, chunks: Vec<Chunk>) -> Result<()> {
        chunks.into_iter().try_for_each(|c| self.write_chunk(c))
    }

    fn handle(&mut self, msg: Msg) -> Result<()> {
        Writer::handle(self, msg)
    }

    fn outcome(&self, file: usize) -> &FileOutcome {
        &self.files[file].outcome
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Int(i) => ValueRef::Integer(i),
        }))
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Writer {
    /// Opens the database (or, for a dry run, a private scratch database with
    /// the real one attached read-only) and records the start of the run.
    pub fn open(
        db: &Path,
        inputs: &[(PathBuf, Option<u64>)],
        opts: WriteOptions,
    ) -> Result<Writer> {
        let (conn, scratch, prior) = if opts.dry_run {
            let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
            let conn = schema::open(&scratch.path().join("dry-run.db"))?;
            conn.execute_batch("PRAGMA synchronous = OFF")?;
            let prior = db.is_file() && attach_prior(&conn, db)?;
            if prior {
                // Files of the real database that a real run would roll back
                // first: their orders are not there for this run.
                conn.execute_batch("CREATE TEMP TABLE prior_gone (id INTEGER PRIMARY KEY)")?;
            }
            (conn, Some(scratch), prior)
        } else {
            let conn = schema::open(db)?;
            // A checkpointer thread of its own copies the log (see import).
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
            (conn, None, false)
        };
        if !opts.dry_run {
            // The caller holds the database's claim, so a run still marked
            // running was killed: its committed files are resumed as met.
            conn.execute(
                "UPDATE import_runs SET state = 'interrupted' WHERE state = 'running'",
                [],
            )
            .with_context(|| format!("cannot write {}", db.display()))?;
        }
        let rejects_csv = match &opts.rejects_csv {
            Some(path) => {
                let path_err = |e| rejects_error(&opts.rejects_csv, e);
                let mut w = csv::Writer::from_path(path).map_err(path_err)?;
                w.write_record([
                    "file", "line", "column", "value", "reason", "message", "raw",
                ])
                .map_err(path_err)?;
                w.flush().map_err(|e| rejects_error(&opts.rejects_csv, e))?;
                Some(w)
            }
            None => None,
        };
        let line_index_deferred = match opts.on_duplicate {
            OnDuplicate::Skip => schema::defer_line_index(&conn)?,
            // Replacing an order finds its lines by the index.
            OnDuplicate::Update => {
                schema::build_line_index(&conn)?;
                false
            }
        };
        let prior_file_columns = prior && prior_has_file_columns(&conn)?;
        // The claim is held (or, for a dry run, the real database is only
        // read), so the files found here stay as they are but for this run.
        // A dry run made while a run imports leaves that run's files out.
        let live_run = match prior && super::claim::is_held(db) {
            true => conn.query_row(
                "SELECT max(id) FROM prior.import_runs WHERE state = 'running'",
                [],
                |r| r.get(0),
            )?,
            false => None,
        };
        let leftovers = match (opts.dry_run, prior) {
            (true, false) => Vec::new(),
            (true, true) => load_leftovers(&conn, true, prior_file_columns, live_run)?,
            (false, _) => load_leftovers(&conn, false, true, None)?,
        };
        let files = inputs
            .iter()
            .map(|(path, size)| FileState {
                outcome: FileOutcome {
                    path: path.clone(),
                    size: *size,
                    status: FileStatus::InProgress,
                    rows: RowCounts::default(),
                    orders: OrderCounts::default(),
                    error: None,
                    rejects: Vec::new(),
                    elapsed: Duration::ZERO,
                    bytes_read: 0,
                    resumed_from_line: None,
                    resume_line: None,
                },
                id: None,
                prior_id: None,
                hash: None,
                last_key: String::new(),
                last_owner: Owner::Other,
                duplicate_orders: HashSet::new(),
                earlier: RowCounts::default(),
                resumed_at: 0,
                real_path: std::fs::canonicalize(path)
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned()),
            })
            .collect();
        Ok(Writer {
            db: match &scratch {
                Some(dir) => dir.path().join("dry-run.db"),
                None => db.to_path_buf(),
            },
            conn,
            _scratch: scratch,
            prior,
            prior_file_columns,
            live_run,
            run_id: None,
            started_at: now(),
            files_total: inputs.len(),
            planned_bytes: inputs.iter().filter_map(|(_, size)| *size).sum(),
            leftovers,
            rolled_back: Vec::new(),
            opts,
            files,
            hashes_in_run: HashMap::new(),
            rejects_csv,
            in_transaction: false,
            line_index_deferred,
        })
    }

    /// The run's id in the database: `None` for a dry run and for a run
    /// that recorded nothing (it only skipped files).
    pub fn run_id(&self) -> Option<i64> {
        self.run_id.filter(|_| !self.opts.dry_run)
    }

    /// The run's row in `import_runs`, created the first time the run
    /// records something. Ids come from SQLite's rowid (the largest plus
    /// one); rows are never deleted, so an id once shown is never reused.
    fn run_row(&mut self) -> Result<i64> {
        if let Some(id) = self.run_id {
            return Ok(id);
        }
        self.conn.execute(
            "INSERT INTO import_runs (started_at, state, pid, version, options, files_total,
             planned_files, planned_bytes, skipped_bytes)
             VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?5, ?6, 0)",
            params![
                self.started_at,
                std::process::id(),
                env!("CARGO_PKG_VERSION"),
                self.opts.options_json,
                self.files_total,
                self.planned_bytes
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        self.run_id = Some(id);
        Ok(id)
    }

    /// Handles messages until every sender is gone. `watch` hears of each
    /// file once its end is committed.
    pub fn run(&mut self, rx: &Receiver<Msg>, watch: &dyn Watch) -> Result<()> {
        self.write_all(rx, watch).map_err(|e| self.explain(e))
    }

    /// Names the database in a write error and, for an I/O error, what the
    /// operating system said (disk full, file too large, ...), which
    /// SQLite's own message leaves out.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        if e.chain().any(|cause| cause.is::<RejectsFileError>()) {
            return e;
        }
        let io = e.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(f.code, rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::DiskFull)
            )
        });
        // SAFETY: the handle is only used to read the last OS error number of
        // this connection, on the thread that owns it.
        let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(self.conn.handle()) };
        let what = if io && errno != 0 {
            format!(
                "cannot write {}: {}",
                self.db.display(),
                std::io::Error::from_raw_os_error(errno)
            )
        } else {
            format!("cannot write {}", self.db.display())
        };
        e.context(what)
    }

    fn write_all(&mut self, rx: &Receiver<Msg>, watch: &dyn Watch) -> Result<()> {
        drive::run(self, rx, watch)?;
        // Interrupted runs too: only a run that dies leaves the index out.
        if !self.opts.dry_run {
            if self.line_index_deferred {
                watch.finishing("building the index");
            }
            self.need_line_index()?;
        }
        Ok(())
    }

    fn need_line_index(&mut self) -> Result<()> {
        if self.line_index_deferred {
            schema::build_line_index(&self.conn).context("cannot index the order lines")?;
            self.line_index_deferred = false;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_transaction {
            self.record_totals()?;
            self.conn.execute_batch("COMMIT").context("cannot commit")?;
            self.in_transaction = false;
            // Catch up with the checkpointer thread (usually a few frames):
            // a fully copied log lets the next transaction write it over
            // from the start, so the log stays about one commit interval
            // long instead of growing as large as the import. Busy (the
            // thread is copying) is fine: the next commit tries again.
            if !self.opts.dry_run {
                schema::checkpoint(&self.conn);
            }
            if let Some(w) = &mut self.rejects_csv {
                w.flush()
                    .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
            }
        }
        Ok(())
    }

    /// Keeps the run's totals in `import_runs` equal to what this commit
    /// holds, so that a run killed at any moment still counts the rows it
    /// committed (SPEC: each row is counted in the run that committed it).
    fn record_totals(&mut self) -> Result<()> {
        let Some(run) = self.run_id.filter(|_| !self.opts.dry_run) else {
            return Ok(());
        };
        let (mut rows, mut orders, mut files, mut skipped_bytes) = (
            RowCounts::default(),
            OrderCounts::default(),
            [0u64; 3],
            0u64,
        );
        for f in &self.files {
            rows.add(&f.outcome.rows);
            orders.add(&f.outcome.orders);
            match f.outcome.status {
                FileStatus::Imported => files[0] += 1,
                FileStatus::Skipped => {
                    files[1] += 1;
                    skipped_bytes += f.outcome.size.unwrap_or(0);
                }
                FileStatus::Failed => files[2] += 1,
                FileStatus::InProgress | FileStatus::Interrupted => {}
            }
        }
        self.conn
            .prepare_cached(
                "UPDATE import_runs SET files_imported = ?2, files_skipped = ?3, files_failed = ?4,
                 rows_read = ?5, rows_imported = ?6, rows_rejected = ?7, rows_duplicate = ?8,
                 rows_filtered = ?9, rows_failed = ?10, orders_created = ?11,
                 orders_updated = ?12, orders_duplicate = ?13, skipped_bytes = ?14 WHERE id = ?1",
            )?
            .execute(params![
                run,
                files[0],
                files[1],
                files[2],
                rows.read,
                rows.imported,
                rows.rejected,
                rows.duplicate,
                rows.filtered,
                rows.failed,
                orders.created,
                orders.updated,
                orders.duplicate,
                skipped_bytes
            ])?;
        Ok(())
    }

    fn handle(&mut self, msg: Msg) -> Result<()> {
        match msg {
            Msg::Begin {
                file,
                size,
                hash,
                reply,
            } => {
                let answer = self.begin(file, size, hash)?;
                let _ = reply.send(answer);
                Ok(())
            }
            Msg::Chunk(chunk) => self.write_chunk(chunk),
            Msg::End {
                file,
                end,
                elapsed,
                unsent,
            } => {
                self.files[file].outcome.rows.read += unsent;
                self.end(file, end, elapsed)
            }
        }
    }

    fn begin(&mut self, file: usize, size: u64, hash: String) -> Result<Begin> {
        let state = &mut self.files[file];
        state.outcome.size = Some(size);
        state.hash = Some(hash.clone());
        // The export at this path was downloaded again: what a killed run
        // left of the old bytes goes first, whatever happens to the new.
        self.supersede(file, &hash)?;
        let earlier = self.hashes_in_run.contains_key(&hash) || self.imported_before(&hash)?;
        if earlier && !self.opts.force {
            self.files[file].outcome.status = FileStatus::Skipped;
            return Ok(Begin::Skip);
        }
        self.hashes_in_run.insert(hash.clone(), file);
        if let Some(left) = self.interrupted_file(&hash)? {
            return self.resume(file, left);
        }
        let id = self.insert_file(file, FileStatus::InProgress, None)?;
        self.files[file].id = Some(id);
        Ok(Begin::Proceed {
            resume: None,
            rejected: 0,
        })
    }

    /// Rolls back, as failed files (`superseded`), the partial files that
    /// killed runs left at the path of `file` with other bytes than `hash`:
    /// nothing will ever resume them, and their orders, some maybe with only
    /// part of their lines, must not stand against the new file's.
    fn supersede(&mut self, file: usize, hash: &str) -> Result<()> {
        let Some(real) = self.files[file].real_path.clone() else {
            return Ok(());
        };
        let gone = leftover::superseded(&mut self.leftovers, &real, hash);
        for left in gone {
            self.roll_back(&left, "superseded")?;
        }
        Ok(())
    }

    /// The file with these bytes that a killed run left `in_progress` with
    /// this run's `--channel`, with what it had committed. The others with
    /// these bytes are taken out: older leftovers, and those read with
    /// another channel (one `import_files` entry holds one filter's rows);
    /// under `--force`, all of them.
    fn interrupted_file(&mut self, hash: &str) -> Result<Option<LeftOver>> {
        let (newest, gone) = leftover::same_bytes(
            &mut self.leftovers,
            hash,
            self.opts.force,
            self.opts.channel.as_deref(),
        );
        for (left, why) in gone {
            let run = match (why, self.prior) {
                (Gone::ReadAgain, false) => Some(self.run_row()?),
                _ => None,
            };
            self.roll_back(&left, &why.error(run))?;
        }
        Ok(newest)
    }

    /// Takes a killed run's partial file out of the data tables and records
    /// it as failed with `error`. A dry run only forgets its orders, as the
    /// real run would find them gone.
    fn roll_back(&mut self, left: &LeftOver, error: &str) -> Result<()> {
        self.rolled_back.push(left.rolled_back(error));
        if self.prior {
            self.conn
                .prepare_cached("INSERT OR IGNORE INTO temp.prior_gone (id) VALUES (?1)")?
                .execute([left.id])?;
            return Ok(());
        }
        self.run_row()?;
        self.remove_file_rows(left.id)?;
        self.conn
            .prepare_cached(
                "UPDATE import_files SET state = 'failed', error = ?2, finished_at = ?3,
                 rows_imported = 0, rows_rejected = 0, rows_duplicate = 0, rows_filtered = 0,
                 rows_failed = rows_read WHERE id = ?1",
            )?
            .execute(params![left.id, error, now()])?;
        Ok(())
    }

    /// Takes over a file a killed run left part-way: its committed rows stay
    /// its own, and reading goes on from its checkpoint.
    fn resume(&mut self, file: usize, mut left: LeftOver) -> Result<Begin> {
        let id = if self.prior {
            self.files[file].prior_id = Some(left.id);
            self.insert_file(file, FileStatus::InProgress, None)?
        } else {
            // Its counts as they are now: since the run began, a file it
            // waited on may have handed it orders (see `took_over`).
            left.rows = self
                .conn
                .prepare_cached(
                    "SELECT rows_read, rows_imported, rows_rejected, rows_duplicate,
                     rows_filtered, rows_failed FROM import_files WHERE id = ?1",
                )?
                .query_row([left.id], |r| row_counts(r, 0))?;
            let run = self.run_row()?;
            let state = &self.files[file];
            self.conn
                .prepare_cached(
                    "UPDATE import_files SET run_id = ?2, path = ?3, real_path = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    left.id,
                    run,
                    state.outcome.path.to_string_lossy(),
                    state.real_path
                ])?;
            left.id
        };
        let state = &mut self.files[file];
        state.id = Some(id);
        state.earlier = left.rows;
        state.resumed_at = left.checkpoint.bytes;
        state.outcome.resumed_from_line = Some(left.checkpoint.line);
        Ok(Begin::Proceed {
            resume: Some(left.checkpoint),
            rejected: left.rows.rejected,
        })
    }

    /// True when a file with these exact bytes was imported completely for
    /// every row this run keeps: read with no `--channel`, or with this
    /// run's. An import with a channel covers only that channel's rows.
    fn imported_before(&self, hash: &str) -> Result<bool> {
        let query = |schema: &str, channel: &str| -> Result<bool> {
            let sql = format!(
                "SELECT {channel} FROM {schema}.import_files WHERE content_hash = ?1 AND state = 'imported'"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query([hash])?;
            while let Some(row) = rows.next()? {
                let earlier: Option<String> = row.get(0)?;
                if covers(earlier.as_deref(), self.opts.channel.as_deref()) {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let prior_channel = if self.prior_file_columns {
            "channel"
        } else {
            "NULL"
        };
        Ok(query("main", "channel")? || (self.prior && query("prior", prior_channel)?))
    }

    fn insert_file(&mut self, file: usize, status: FileStatus, error: Option<&str>) -> Result<i64> {
        let run = self.run_row()?;
        let state = &self.files[file];
        self.conn
            .prepare_cached(
                "INSERT INTO import_files (run_id, path, size_bytes, content_hash, state, error,
                 started_at, channel, real_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                run,
                state.outcome.path.to_string_lossy(),
                state.outcome.size,
                state.hash,
                status,
                error,
                now(),
                self.opts.channel,
                state.real_path
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The partial files that killed runs left, one line each: those this
    /// run rolled back (superseded by new bytes, another `--channel`,
    /// `--force`), then those it neither resumed nor rolled back, with
    /// where they are, which run left them and how far it got (their rows
    /// stay until the same bytes are imported again).
    pub fn partial_files(&self) -> Vec<String> {
        leftover::describe_all(&self.rolled_back, &self.leftovers, self.live_run)
    }

    fn write_chunk(&mut self, chunk: Chunk) -> Result<()> {
        let file = chunk.file;
        let Some(file_id) = self.files[file].id else {
            return Ok(());
        };
        for reject in &chunk.rejects {
            self.write_reject(file, file_id, reject)?;
        }
        let mut counts = RowCounts {
            read: chunk.read,
            rejected: chunk.rejects.len() as u64,
            filtered: chunk.filtered,
            ..RowCounts::default()
        };
        let mut rows = RowWriter {
            conn: &self.conn,
            insert_order: Insert::prepare(&self.conn, &sql().insert_order)?,
            insert_line: Insert::prepare(&self.conn, &sql().insert_line)?,
            insert_waiting: None,
            prior: self.prior,
            on_duplicate: self.opts.on_duplicate,
            file_id,
            run_id: self.run_id.unwrap_or(0),
        };
        let state = &mut self.files[file];
        rows.recheck(state)?;
        for row in &chunk.rows {
            match rows.owner(state, &chunk, row)? {
                Owner::ThisFile => {
                    rows.insert_line(&chunk, row)?;
                    counts.imported += 1;
                }
                Owner::Other => counts.duplicate += 1,
                Owner::Waiting(owner) => {
                    rows.insert_waiting(owner, &chunk, row)?;
                    counts.duplicate += 1;
                }
            }
        }
        drop(rows);
        state.outcome.rows.add(&counts);
        let rows = state.all_rows();
        let cp = chunk.checkpoint;
        state.outcome.bytes_read = cp.bytes.saturating_sub(state.resumed_at);
        state.outcome.resume_line = Some(cp.line);
        self.conn
            .prepare_cached(
                "UPDATE import_files SET rows_read = ?2, rows_imported = ?3, rows_rejected = ?4,
                 rows_duplicate = ?5, rows_filtered = ?6, bytes_committed = ?7, rows_committed = ?8,
                 line_committed = ?9 WHERE id = ?1",
            )?
            .execute(params![
                file_id,
                rows.read,
                rows.imported,
                rows.rejected,
                rows.duplicate,
                rows.filtered,
                cp.bytes,
                cp.rows,
                cp.line
            ])?;
        self.record_file_run(file, file_id, Some(cp))
    }

    /// Records what this run committed of file `file` so far, with the
    /// checkpoint it reached when there is a new one: each row is counted
    /// in the run that committed it, and `status` shows each run its own
    /// rows of a file several runs read part of (and where each began and
    /// stopped). Kept when the file ends; a rollback moves the counts of
    /// every run to failed (see `uncount_earlier_runs`).
    fn record_file_run(&mut self, file: usize, file_id: i64, cp: Option<Checkpoint>) -> Result<()> {
        let state = &self.files[file];
        let (mine, orders) = (state.outcome.rows, state.outcome.orders);
        self.conn
            .prepare_cached(
                "INSERT INTO import_file_runs (file_id, run_id, rows_read, rows_imported,
                 rows_rejected, rows_duplicate, rows_filtered, rows_failed, orders_created,
                 orders_updated, orders_duplicate, bytes_from, line_from, bytes_committed,
                 rows_committed, line_committed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (file_id, run_id) DO UPDATE SET rows_read = excluded.rows_read,
                 rows_imported = excluded.rows_imported, rows_rejected = excluded.rows_rejected,
                 rows_duplicate = excluded.rows_duplicate, rows_filtered = excluded.rows_filtered,
                 rows_failed = excluded.rows_failed, orders_created = excluded.orders_created,
                 orders_updated = excluded.orders_updated,
                 orders_duplicate = excluded.orders_duplicate,
                 bytes_committed = coalesce(excluded.bytes_committed, bytes_committed),
                 rows_committed = coalesce(excluded.rows_committed, rows_committed),
                 line_committed = coalesce(excluded.line_committed, line_committed)",
            )?
            .execute(params![
                file_id,
                self.run_id.unwrap_or(0),
                mine.read,
                mine.imported,
                mine.rejected,
                mine.duplicate,
                mine.filtered,
                mine.failed,
                orders.created,
                orders.updated,
                orders.duplicate,
                state.resumed_at,
                state.outcome.resumed_from_line,
                cp.map(|cp| cp.bytes),
                cp.map(|cp| cp.rows),
                cp.map(|cp| cp.line)
            ])?;
        Ok(())
    }

    fn write_reject(&mut self, file: usize, file_id: i64, reject: &Reject) -> Result<()> {
        let run = self.run_row()?;
        self.conn
            .prepare_cached(
                "INSERT INTO import_rejects (run_id, file_id, line, column_name, value, reason, message, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                run,
                file_id,
                reject.line,
                reject.column,
                reject.value,
                reject.reason.code(),
                reject.message,
                reject.raw
            ])?;
        let state = &mut self.files[file];
        if let Some(w) = &mut self.rejects_csv {
            w.write_record([
                state.outcome.path.to_string_lossy().as_ref(),
                &reject.line.to_string(),
                reject.column.as_deref().unwrap_or(""),
                reject.value.as_deref().unwrap_or(""),
                reject.reason.code(),
                &reject.message,
                &reject.raw,
            ])
            .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
        }
        if state.outcome.rejects.len() < REJECTS_SHOWN {
            state.outcome.rejects.push(reject.clone());
        }
        Ok(())
    }

    /// Takes a file's orders and lines out of the data tables and puts back
    /// what it replaced, so the tables are as if the file had never been
    /// read: each order it held goes to the first file that met it while it
    /// was being read (see `hand_over`), and for every order the newest
    /// version of a file that did not fail stands, whatever the order in
    /// which files fail.
    fn remove_file_rows(&mut self, file_id: i64) -> Result<()> {
        self.need_line_index()?;
        self.uncount_earlier_runs(file_id)?;
        self.conn
            .prepare_cached("DELETE FROM import_waiting_rows WHERE file_id = ?1")?
            .execute([file_id])?;
        self.unchain_replaced(file_id)?;
        let s = sql();
        let statements = [
            "DELETE FROM main.dropship_purchase_details WHERE kode_pesanan IN
             (SELECT kode_pesanan FROM main.dropship_purchases WHERE import_file_id = ?1)"
                .to_string(),
            "DELETE FROM main.dropship_purchases WHERE import_file_id = ?1".to_string(),
            format!(
                "INSERT OR IGNORE INTO main.dropship_purchases ({0})
                 SELECT {0} FROM import_replaced_orders WHERE by_file_id = ?1",
                s.order_list
            ),
            format!(
                "INSERT OR IGNORE INTO main.dropship_purchase_details ({0})
                 SELECT {0} FROM import_replaced_lines l WHERE by_file_id = ?1 AND EXISTS
                 (SELECT 1 FROM main.dropship_purchases p
                  WHERE p.kode_pesanan = l.kode_pesanan AND p.import_file_id = l.import_file_id)",
                s.line_list
            ),
        ];
        for sql in &statements {
            self.conn.prepare_cached(sql)?.execute([file_id])?;
        }
        self.forget_replaced(file_id)?;
        self.hand_over_all(file_id)
    }

    /// Each row is counted in the run that committed it: rows of a file
    /// rolled back that earlier runs committed (before a kill) move to
    /// failed in those runs' totals and in what each run committed of it,
    /// and the run its entry still belongs to counts it among its failed
    /// files. This run's own are counted when the file ends.
    fn uncount_earlier_runs(&mut self, file_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE import_runs AS r SET
                 rows_imported = max(r.rows_imported - f.rows_imported, 0),
                 rows_rejected = max(r.rows_rejected - f.rows_rejected, 0),
                 rows_duplicate = max(r.rows_duplicate - f.rows_duplicate, 0),
                 rows_filtered = max(r.rows_filtered - f.rows_filtered, 0),
                 rows_failed = r.rows_failed + f.rows_imported + f.rows_rejected
                     + f.rows_duplicate + f.rows_filtered,
                 orders_created = max(r.orders_created - f.orders_created, 0),
                 orders_updated = max(r.orders_updated - f.orders_updated, 0),
                 orders_duplicate = max(r.orders_duplicate - f.orders_duplicate, 0),
                 files_failed = r.files_failed
                     + (r.id = (SELECT run_id FROM import_files WHERE id = ?1))
                 FROM import_file_runs AS f
                 WHERE f.file_id = ?1 AND f.run_id = r.id AND r.id <> ?2",
            )?
            .execute(params![file_id, self.run_id.unwrap_or(0)])?;
        self.conn
            .prepare_cached(
                "UPDATE import_file_runs SET rows_failed = rows_failed + rows_imported
                 + rows_rejected + rows_duplicate + rows_filtered, rows_imported = 0,
                 rows_rejected = 0, rows_duplicate = 0, rows_filtered = 0, orders_created = 0,
                 orders_updated = 0, orders_duplicate = 0 WHERE file_id = ?1",
            )?
            .execute([file_id])?;
        Ok(())
    }

    /// A file G that replaced an order of failing file F keeps F's version
    /// to put back should G fail too; F's version must never come back, so
    /// G keeps instead what F had replaced (or nothing, when F created the
    /// order).
    fn unchain_replaced(&mut self, failed: i64) -> Result<()> {
        let statements = [
            "UPDATE import_replaced_lines SET by_file_id =
             (SELECT g.by_file_id FROM import_replaced_orders g WHERE g.import_file_id = ?1
              AND g.by_file_id <> ?1 AND g.kode_pesanan = import_replaced_lines.kode_pesanan)
             WHERE by_file_id = ?1 AND kode_pesanan IN (SELECT kode_pesanan FROM
              import_replaced_orders WHERE import_file_id = ?1 AND by_file_id <> ?1)",
            "UPDATE import_replaced_orders SET by_file_id =
             (SELECT g.by_file_id FROM import_replaced_orders g WHERE g.import_file_id = ?1
              AND g.by_file_id <> ?1 AND g.kode_pesanan = import_replaced_orders.kode_pesanan)
             WHERE by_file_id = ?1 AND kode_pesanan IN (SELECT kode_pesanan FROM
              import_replaced_orders WHERE import_file_id = ?1 AND by_file_id <> ?1)",
            "DELETE FROM import_replaced_lines WHERE import_file_id = ?1 AND by_file_id <> ?1",
            "DELETE FROM import_replaced_orders WHERE import_file_id = ?1 AND by_file_id <> ?1",
        ];
        for sql in statements {
            self.conn.prepare_cached(sql)?.execute([failed])?;
        }
        Ok(())
    }

    /// File `owner` is imported: files that met its orders while it was
    /// read are duplicates for good under `skip`, and under `update` each
    /// writes its version over it in turn (see `hand_over`).
    fn release_waiters(&mut self, owner: i64) -> Result<()> {
        match self.opts.on_duplicate {
            OnDuplicate::Skip => {
                self.conn
                    .prepare_cached("DELETE FROM import_waiting_rows WHERE owner_file_id = ?1")?
                    .execute([owner])?;
                Ok(())
            }
            OnDuplicate::Update => self.hand_over_all(owner),
        }
    }

    /// Hands every order that files wait on from `owner` (one key at a
    /// time, so memory stays flat whatever their number).
    fn hand_over_all(&mut self, owner: i64) -> Result<()> {
        loop {
            let key: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT kode_pesanan FROM import_waiting_rows WHERE owner_file_id = ?1 LIMIT 1",
                )?
                .query_row([owner], |r| r.get(0))
                .optional()?;
            match key {
                Some(key) => self.hand_over(owner, &key)?,
                None => return Ok(()),
            }
        }
    }

    /// File `owner` has ended (failed and rolled back, or, under `update`,
    /// imported): the first file that met order `key` while `owner` was
    /// read takes it over with its own rows (the order from its first row,
    /// all its lines), which count as imported instead of duplicate. The
    /// other files now wait on the new owner while it is being read; once
    /// it is finished they are its duplicates (`skip`) or replace it in
    /// turn (`update`). Every row waiting on (`owner`, `key`) is gone on
    /// return.
    fn hand_over(&mut self, owner: i64, key: &str) -> Result<()> {
        let s = sql();
        let mut owner = owner;
        loop {
            let first: Option<(i64, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT file_id, id FROM import_waiting_rows
                     WHERE owner_file_id = ?1 AND kode_pesanan = ?2 ORDER BY id LIMIT 1",
                )?
                .query_row(params![owner, key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((taker, first_row)) = first else {
                return Ok(());
            };
            let taker_unfinished = unfinished(&self.conn, taker)?;
            let current: Option<i64> = self
                .conn
                .prepare_cached(
                    "SELECT import_file_id FROM main.dropship_purchases WHERE kode_pesanan = ?1",
                )?
                .query_row([key], |r| r.get(0))
                .optional()?;
            let updated = match (current, self.opts.on_duplicate) {
                (None, _) => false,
                // The rollback put back an order of another file: the
                // waiting rows are that file's duplicates.
                (Some(holder), OnDuplicate::Skip) => {
                    self.retag_waiting(owner, key, holder)?;
                    if !unfinished(&self.conn, holder)? {
                        self.drop_waiting(holder, key)?;
                    }
                    return Ok(());
                }
                (Some(_), OnDuplicate::Update) => {
                    replace_order(&self.conn, taker_unfinished.then_some(taker), key)?;
                    true
                }
            };
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO main.dropship_purchases ({}) SELECT {} FROM import_waiting_rows
                     WHERE id = ?1",
                    s.order_list, s.waiting_order_values
                ))?
                .execute([first_row])?;
            // The rows may have been read (and counted) by several runs,
            // when the taker was resumed after a kill.
            let by_run: Vec<(i64, u64)> = self
                .conn
                .prepare_cached(
                    "SELECT run_id, count(*) FROM import_waiting_rows
                     WHERE owner_file_id = ?1 AND kode_pesanan = ?2 AND file_id = ?3
                     GROUP BY run_id",
                )?
                .query_map(params![owner, key, taker], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO main.dropship_purchase_details ({}) SELECT {} FROM import_waiting_rows
                     WHERE owner_file_id = ?1 AND kode_pesanan = ?2 AND file_id = ?3 ORDER BY id",
                    s.line_insert_list, s.waiting_line_values
                ))?
                .execute(params![owner, key, taker])?;
            self.conn
                .prepare_cached(
                    "DELETE FROM import_waiting_rows
                     WHERE owner_file_id = ?1 AND kode_pesanan = ?2 AND file_id = ?3",
                )?
                .execute(params![owner, key, taker])?;
            self.took_over(taker, key, &by_run, updated)?;
            self.retag_waiting(owner, key, taker)?;
            if taker_unfinished {
                return Ok(());
            }
            match self.opts.on_duplicate {
                OnDuplicate::Skip => return self.drop_waiting(taker, key),
                OnDuplicate::Update => owner = taker,
            }
        }
    }

    /// The rows waiting on order `key` of file `from` now wait on file `to`.
    fn retag_waiting(&mut self, from: i64, key: &str, to: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE import_waiting_rows SET owner_file_id = ?3
                 WHERE owner_file_id = ?1 AND kode_pesanan = ?2",
            )?
            .execute(params![from, key, to])?;
        Ok(())
    }

    /// Forgets the rows waiting on order `key` of a finished file: they stay
    /// its duplicates.
    fn drop_waiting(&mut self, owner: i64, key: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM import_waiting_rows WHERE owner_file_id = ?1 AND kode_pesanan = ?2",
            )?
            .execute(params![owner, key])?;
        Ok(())
    }

    /// File `taker` took order `key` over with rows it had counted as
    /// duplicates, `by_run` (the run that read them, how many): they are
    /// imported now, in `import_files` and in the totals of the run that
    /// counted them (this run's summary, or an earlier run's row), and the
    /// order is created (or updated, when it replaced another file's
    /// version) instead of duplicate in the newest of those runs.
    fn took_over(
        &mut self,
        taker: i64,
        key: &str,
        by_run: &[(i64, u64)],
        updated: bool,
    ) -> Result<()> {
        let rows: u64 = by_run.iter().map(|(_, n)| n).sum();
        self.conn
            .prepare_cached(
                "UPDATE import_files SET rows_imported = rows_imported + ?2,
                 rows_duplicate = max(rows_duplicate - ?2, 0) WHERE id = ?1",
            )?
            .execute(params![taker, rows])?;
        let newest = by_run.iter().map(|&(run, _)| run).max();
        for &(run, n) in by_run {
            self.conn
                .prepare_cached(
                    "UPDATE import_file_runs SET rows_imported = rows_imported + ?3,
                     rows_duplicate = max(rows_duplicate - ?3, 0)
                     WHERE file_id = ?1 AND run_id = ?2",
                )?
                .execute(params![taker, run, n])?;
            let order = (Some(run) == newest).then_some(updated);
            if Some(run) != self.run_id {
                if let Some(state) = self.files.iter_mut().find(|f| f.id == Some(taker)) {
                    state.earlier.imported += n;
                    state.earlier.duplicate = state.earlier.duplicate.saturating_sub(n);
                }
                if order.is_some() {
                    self.conn
                        .prepare_cached(
                            "UPDATE import_file_runs SET orders_created = orders_created + ?3,
                             orders_updated = orders_updated + ?4,
                             orders_duplicate = max(orders_duplicate - 1, 0)
                             WHERE file_id = ?1 AND run_id = ?2",
                        )?
                        .execute(params![
                            taker,
                            run,
                            order == Some(false),
                            order == Some(true)
                        ])?;
                }
                self.recount_run(run, n, order)?;
                continue;
            }
            let Some(state) = self.files.iter_mut().find(|f| f.id == Some(taker)) else {
                continue;
            };
            let counted = state.duplicate_orders.remove(key);
            state.outcome.took_over(n, counted, order);
        }
        Ok(())
    }

    /// Moves `rows` duplicates of an earlier run to imported in its totals,
    /// when that run counted them; with `order` (updated or created), the
    /// order they make moves from duplicate there too.
    fn recount_run(&mut self, run: i64, rows: u64, order: Option<bool>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE import_runs SET rows_imported = rows_imported + ?2,
                 rows_duplicate = rows_duplicate - ?2, orders_created = orders_created + ?3,
                 orders_updated = orders_updated + ?4, orders_duplicate = max(orders_duplicate - ?5, 0)
                 WHERE id = ?1 AND rows_duplicate >= ?2",
            )?
            .execute(params![
                run,
                rows,
                u64::from(order == Some(false)),
                u64::from(order == Some(true)),
                u64::from(order.is_some())
            ])?;
        Ok(())
    }

    fn forget_replaced(&mut self, file_id: i64) -> Result<()> {
        for sql in [
            "DELETE FROM import_replaced_orders WHERE by_file_id = ?1",
            "DELETE FROM import_replaced_lines WHERE by_file_id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([file_id])?;
        }
        Ok(())
    }

    fn end(&mut self, file: usize, end: FileEnd, elapsed: Duration) -> Result<()> {
        self.files[file].outcome.elapsed = elapsed;
        let id = self.files[file].id;
        match end {
            FileEnd::Complete => {
                let id = id.context("a file ended that never began")?;
                self.forget_replaced(id)?;
                self.files[file].outcome.status = FileStatus::Imported;
                self.finish_file(file, id)?;
                self.release_waiters(id)?;
            }
            // Recorded at the end, if the run records anything (`finish`).
            FileEnd::Skipped => self.files[file].outcome.status = FileStatus::Skipped,
            FileEnd::Failed(error) => {
                let id = match id {
                    Some(id) => {
                        self.remove_file_rows(id)?;
                        id
                    }
                    None => self.insert_file(file, FileStatus::Failed, Some(&error))?,
                };
                let state = &mut self.files[file];
                if let Some(hash) = &state.hash {
                    self.hashes_in_run.remove(hash);
                }
                state.id = Some(id);
                state.outcome.status = FileStatus::Failed;
                state.outcome.error = Some(error);
                for rows in [&mut state.outcome.rows, &mut state.earlier] {
                    *rows = RowCounts {
                        read: rows.read,
                        failed: rows.read,
                        ..RowCounts::default()
                    };
                }
                state.outcome.orders = OrderCounts::default();
                self.finish_file(file, id)?;
            }
            FileEnd::Interrupted => self.files[file].outcome.status = FileStatus::Interrupted,
        }
        Ok(())
    }

    fn finish_file(&mut self, file: usize, id: i64) -> Result<()> {
        // What this run read of it, but for a file skipped: it read none.
        if self.files[file].outcome.status != FileStatus::Skipped {
            self.record_file_run(file, id, None)?;
        }
        let state = &self.files[file];
        let (o, rows) = (&state.outcome, state.all_rows());
        self.conn
            .prepare_cached(
                "UPDATE import_files SET state = ?2, rows_read = ?3, rows_imported = ?4,
                 rows_rejected = ?5, rows_duplicate = ?6, rows_filtered = ?7, rows_failed = ?8,
                 error = ?9, finished_at = ?10 WHERE id = ?1",
            )?
            .execute(params![
                id,
                o.status,
                rows.read,
                rows.imported,
                rows.rejected,
                rows.duplicate,
                rows.filtered,
                rows.failed,
                o.error,
                now()
            ])?;
        Ok(())
    }

    /// The files of the run as the writer saw them, in the run's order.
    pub fn outcomes(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().map(|f| &f.outcome)
    }

    /// Records the end of the run, with its skipped files. A run that
    /// recorded nothing else (every file skipped) leaves nothing behind: it
    /// has no run row and no id.
    pub fn finish(&mut self, record: &RunRecord) -> Result<()> {
        self.commit()?;
        if let Some(w) = &mut self.rejects_csv {
            w.flush()
                .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
        }
        if self.opts.dry_run {
            return Ok(());
        }
        if let Some(run_id) = self.run_id {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_transaction = true;
            for file in 0..self.files.len() {
                let f = &self.files[file];
                if f.outcome.status == FileStatus::Skipped && f.id.is_none() {
                    let id = self.insert_file(file, FileStatus::Skipped, None)?;
                    self.files[file].id = Some(id);
                    self.finish_file(file, id)?;
                }
            }
            self.conn.execute(
                "UPDATE import_runs SET finished_at = ?2, state = ?3, files_imported = ?4,
                 files_skipped = ?5, files_failed = ?6, rows_read = ?7, rows_imported = ?8,
                 rows_rejected = ?9, rows_duplicate = ?10, rows_filtered = ?11, rows_failed = ?12,
                 orders_created = ?13, orders_updated = ?14, orders_duplicate = ?15,
                 elapsed_ms = ?16, peak_rss_bytes = ?17, rows_per_sec = ?18, bytes_per_sec = ?19,
                 user_cpu_ms = ?20, system_cpu_ms = ?21 WHERE id = ?1",
                params![
                    run_id,
                    now(),
                    record.state,
                    record.files[0],
                    record.files[1],
                    record.files[2],
                    record.rows.read,
                    record.rows.imported,
                    record.rows.rejected,
                    record.rows.duplicate,
                    record.rows.filtered,
                    record.rows.failed,
                    record.orders.created,
                    record.orders.updated,
                    record.orders.duplicate,
                    record.elapsed_ms,
                    record.peak_rss_bytes,
                    record.rows_per_sec,
                    record.bytes_per_sec,
                    record.user_cpu_ms,
                    record.system_cpu_ms
                ],
            )?;
            self.commit()?;
        }
        // Fold the write-ahead log back into the database file, without
        // waiting for readers (a long query elsewhere only makes it partial).
        schema::checkpoint(&self.conn);
        Ok(())
    }
}

/// Writes the rows of one chunk with statements prepared once per chunk.
struct RowWriter<'c> {
    conn: &'c Connection,
    insert_order: Insert<'c>,
    insert_line: Insert<'c>,
    /// Prepared when the chunk first meets an order of an unfinished file.
    insert_waiting: Option<Insert<'c>>,
    /// This run, which counts the rows it keeps waiting.
    run_id: i64,
    prior: bool,
    on_duplicate: OnDuplicate,
    file_id: i64,
}

impl<'c> RowWriter<'c> {
    /// Decides who owns the order of `row`, creating or (under
    /// `on_duplicate = update`) taking it over for this file as needed.
    fn owner(&mut self, state: &mut FileState, chunk: &'c Chunk, row: &Row) -> Result<Owner> {
        let key = chunk.key(row);
        if state.last_key == key {
            return Ok(state.last_owner);
        }
        // Most orders are new: try to create the order first (one lookup),
        // and only ask who owns it when it already exists. A dry run must
        // also look in the real database first.
        let created = !self.prior && self.insert_order(chunk, row)?;
        let existing = if created {
            None
        } else {
            self.current_owner(key)?
        };
        let owner = match existing {
            None => {
                if !created {
                    self.insert_order(chunk, row)?;
                }
                state.outcome.orders.created += 1;
                Owner::ThisFile
            }
            Some(id) => match self.held(state, id)? {
                Held::Mine => Owner::ThisFile,
                // Never replaced nor counted as final while its file may
                // still fail or go on adding lines to it.
                Held::Unfinished(owner) => {
                    count_duplicate_order(state, key);
                    Owner::Waiting(owner)
                }
                Held::Finished => match self.on_duplicate {
                    OnDuplicate::Skip => {
                        count_duplicate_order(state, key);
                        Owner::Other
                    }
                    OnDuplicate::Update => {
                        replace_order(self.conn, Some(self.file_id), key)?;
                        self.insert_order(chunk, row)?;
                        state.outcome.orders.updated += 1;
                        Owner::ThisFile
                    }
                },
            },
        };
        state.last_key.clear();
        state.last_key.push_str(key);
        state.last_owner = owner;
        Ok(owner)
    }

    /// Looks up again the owner of the order the previous chunk ended on:
    /// since then another file may have failed (and handed the order to
    /// this one or another), or finished.
    fn recheck(&self, state: &mut FileState) -> Result<()> {
        if state.last_key.is_empty() {
            return Ok(());
        }
        let now = match self.current_owner(&state.last_key)? {
            None => None,
            Some(id) => match self.held(state, id)? {
                Held::Mine => Some(Owner::ThisFile),
                Held::Unfinished(owner) => Some(Owner::Waiting(owner)),
                Held::Finished => (self.on_duplicate == OnDuplicate::Skip).then_some(Owner::Other),
            },
        };
        match now {
            Some(owner) => state.last_owner = owner,
            // Decided afresh by the next row of the order.
            None => state.last_key.clear(),
        }
        Ok(())
    }

    /// How the file being written stands to an existing order of file `id`.
    fn held(&self, state: &FileState, id: i64) -> Result<Held> {
        if id == self.file_id || Some(-id) == state.prior_id {
            return Ok(Held::Mine);
        }
        // Orders known only to the real database (a dry run) are finished.
        if id > 0 && unfinished(self.conn, id)? {
            return Ok(Held::Unfinished(id));
        }
        Ok(Held::Finished)
    }

    /// Keeps a row of an order that unfinished file `owner` holds.
    fn insert_waiting(&mut self, owner: i64, chunk: &'c Chunk, row: &Row) -> Result<()> {
        let insert = match &mut self.insert_waiting {
            Some(insert) => insert,
            empty => empty.insert(Insert::prepare(self.conn, &sql().insert_waiting)?),
        };
        let head = [Value::Int(owner), Value::Int(self.file_id)];
        let values = (0..FIELDS.len()).map(|field| chunk.value(row, field));
        let tail = [Value::Int(row.line as i64), Value::Int(self.run_id)];
        insert.execute(head.into_iter().chain(values).chain(tail))?;
        Ok(())
    }

    /// The file that owns an order, if any; during a dry run, an order known
    /// only to the real database gives its file's id there, negated.
    fn current_owner(&self, key: &str) -> Result<Option<i64>> {
        let owner = self
            .conn
            .prepare_cached(
                "SELECT import_file_id FROM main.dropship_purchases WHERE kode_pesanan = ?1",
            )?
            .query_row([key], |r| r.get(0))
            .optional()?;
        if owner.is_none() && self.prior {
            // An order of a file the real run would roll back first is
            // gone, unless that file had replaced it (the rollback puts the
            // version it replaced back) or another file waits on it (the
            // first of them takes it over).
            let known = self
                .conn
                .prepare_cached(
                    "SELECT import_file_id FROM prior.dropship_purchases WHERE kode_pesanan = ?1
                     AND import_file_id NOT IN (SELECT id FROM temp.prior_gone)
                     UNION ALL
                     SELECT r.import_file_id FROM prior.dropship_purchases p
                     JOIN prior.import_replaced_orders r
                       ON r.kode_pesanan = p.kode_pesanan AND r.by_file_id = p.import_file_id
                     WHERE p.kode_pesanan = ?1
                     AND p.import_file_id IN (SELECT id FROM temp.prior_gone)
                     AND r.import_file_id NOT IN (SELECT id FROM temp.prior_gone)
                     UNION ALL
                     SELECT * FROM (SELECT w.file_id FROM prior.dropship_purchases p
                     JOIN prior.import_waiting_rows w
                       ON w.owner_file_id = p.import_file_id AND w.kode_pesanan = p.kode_pesanan
                     WHERE p.kode_pesanan = ?1
                     AND p.import_file_id IN (SELECT id FROM temp.prior_gone)
                     AND w.file_id NOT IN (SELECT id FROM temp.prior_gone)
                     ORDER BY w.id LIMIT 1)
                     LIMIT 1",
                )?
                .query_row([key], |r| r.get::<_, i64>(0))
                .optional()?;
            return Ok(known.map(|id| -id));
        }
        Ok(owner)
    }

    /// Creates the order of `row` unless it exists; true when it was created.
    fn insert_order(&mut self, chunk: &'c Chunk, row: &Row) -> Result<bool> {
        let values = sql()
            .order_fields
            .iter()
            .map(|&field| chunk.value(row, field));
        let tail = [Value::Int(self.file_id), Value::Int(row.line as i64)];
        Ok(self.insert_order.execute(values.chain(tail))? == 1)
    }

    fn insert_line(&mut self, chunk: &'c Chunk, row: &Row) -> Result<()> {
        let values = sql()
            .line_fields
            .iter()
            .map(|&field| chunk.value(row, field));
        let tail = [Value::Int(self.file_id), Value::Int(row.line as i64)];
        self.insert_line.execute(values.chain(tail))?;
        Ok(())
    }
}

/// Counts an order of another file once per file.
fn count_duplicate_order(state: &mut FileState, key: &str) {
    if state.duplicate_orders.insert(key.to_string()) {
        state.outcome.orders.duplicate += 1;
    }
}

/// True when file `id` is still `in_progress`: being read by this run, or
/// left part-way by a killed one. Such a file may yet fail or add lines.
fn unfinished(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT state = 'in_progress' FROM main.import_files WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Removes an order and its lines, for file `by` to write its own version.
/// When `by` may still fail, a copy is kept (tagged with `by`, and holding
/// the `import_file_id` of the version it is) for its rollback to put back.
fn replace_order(conn: &Connection, by: Option<i64>, key: &str) -> Result<()> {
    if let Some(by) = by {
        for sql in [
            "INSERT INTO import_replaced_orders SELECT ?1, * FROM main.dropship_purchases WHERE kode_pesanan = ?2",
            "INSERT INTO import_replaced_lines SELECT ?1, * FROM main.dropship_purchase_details WHERE kode_pesanan = ?2",
        ] {
            conn.prepare_cached(sql)?.execute(params![by, key])?;
        }
    }
    for sql in [
        "DELETE FROM main.dropship_purchase_details WHERE kode_pesanan = ?1",
        "DELETE FROM main.dropship_purchases WHERE kode_pesanan = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([key])?;
    }
    Ok(())
}

/// The files that killed runs left `in_progress`: in the database being
/// written, or for a dry run in the real one (leaving out the files of a run
/// that is still going, which are not left over).
fn load_leftovers(
    conn: &Connection,
    prior: bool,
    file_columns: bool,
    live_run: Option<i64>,
) -> Result<Vec<LeftOver>> {
    let schema = if prior { "prior" } else { "main" };
    let extra = if file_columns {
        "channel, real_path"
    } else {
        "NULL, NULL"
    };
    let live = match live_run {
        Some(run) => format!("AND run_id <> {run}"),
        None => String::new(),
    };
    let sql = format!(
        "SELECT id, run_id, path, content_hash, size_bytes, {extra}, bytes_committed,
                rows_committed, line_committed, rows_read, rows_imported, rows_rejected,
                rows_duplicate, rows_filtered, rows_failed
         FROM {schema}.import_files WHERE state = 'in_progress' {live}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let found = stmt
        .query_map([], |r| {
            let path: String = r.get(2)?;
            let real_path: Option<String> = r.get::<_, Option<String>>(6)?.or_else(|| {
                std::fs::canonicalize(&path)
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            });
            Ok(LeftOver {
                id: r.get(0)?,
                run_id: r.get(1)?,
                path,
                real_path,
                hash: r.get(3)?,
                size: r.get(4)?,
                channel: r.get(5)?,
                checkpoint: Checkpoint {
                    bytes: r.get(7)?,
                    rows: r.get(8)?,
                    line: r.get(9)?,
                },
                rows: row_counts(r, 10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(found)
}

/// Whether the attached real database has the `import_files` columns of
/// migration 2 (an older one is read as if every file had no channel).
fn prior_has_file_columns(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT count(*) = 2 FROM pragma_table_info('import_files', 'prior')
         WHERE name IN ('channel', 'real_path')",
        [],
        |r| r.get(0),
    )?)
}

/// Writing the `--rejects` file failed (disk full, ...): an error of that
/// file, not of the database.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the rejects file {path}: {cause}")]
pub struct RejectsFileError {
    path: String,
    cause: String,
}

pub(crate) fn rejects_error(
    path: &Option<PathBuf>,
    cause: impl std::fmt::Display,
) -> anyhow::Error {
    RejectsFileError {
        path: path
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string()),
        cause: cause.to_string(),
    }
    .into()
}

/// Attaches the real database read-only as `prior`; false when it holds no
/// imports yet.
fn attach_prior(conn: &Connection, db: &Path) -> Result<bool> {
    let path = std::fs::canonicalize(db)?;
    // Read-only media too: see `schema::needs_immutable`.
    let uri = schema::read_only_uri(&path, schema::needs_immutable(&path));
    conn.execute("ATTACH DATABASE ?1 AS prior", [&uri])
        .with_context(|| format!("cannot open {}", db.display()))?;
    let has_tables: bool = conn
        .query_row(
            "SELECT count(*) = 2 FROM prior.sqlite_master WHERE type = 'table'
             AND name IN ('dropship_purchases', 'import_files')",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("{} is not a usable SQLite database", db.display()))?;
    Ok(has_tables)
}

#[cfg(test)]
mod tests {
    //! The writer driven in-process, one message at a time, so that every
    //! interleaving of files is chosen by the test rather than by threads.

    use super::*;
    use crate::columns::Names;
    use crate::rows::Rules;

    const HEADER: [&str; 8] = [
        "Waktu Pesanan Terbuat",
        "Kode Pesanan",
        "SKU",
        "Harga Produk",
        "Qty",
        "Total Harga Produk",
        "Total Transaksi",
        "Nama Toko",
    ];

    struct Run {
        writer: Writer,
        map: crate::columns::HeaderMap,
        line: u64,
    }

    fn open(db: &Path, files: usize, on_duplicate: OnDuplicate) -> Run {
        let inputs: Vec<(PathBuf, Option<u64>)> = (0..files)
            .map(|i| (PathBuf::from(format!("f{i}.csv")), Some(1)))
            .collect();
        let opts = WriteOptions {
            on_duplicate,
            force: false,
            dry_run: false,
            options_json: "{}".into(),
            rejects_csv: None,
            commit_interval: Duration::ZERO,
            channel: None,
        };
        let headers: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
        Run {
            writer: Writer::open(db, &inputs, opts).unwrap(),
            map: Names::new(&HashMap::new()).unwrap().map(&headers).unwrap(),
            line: 1,
        }
    }

    impl Run {
        /// Begins file `file`, whose content hash is `hash`; returns its id.
        fn begin(&mut self, file: usize, hash: &str) -> i64 {
            let (reply, answer) = crossbeam_channel::bounded(1);
            self.writer
                .handle(Msg::Begin {
                    file,
                    size: 1,
                    hash: hash.into(),
                    reply,
                })
                .unwrap();
            assert!(matches!(answer.recv().unwrap(), Begin::Proceed { .. }));
            self.writer.files[file].id.unwrap()
        }

        /// Sends a chunk of file `file`: one row per (order, sku), all of
        /// the shop `shop` (each file writes its own, to tell versions apart).
        fn chunk(&mut self, file: usize, shop: &str, rows: &[(&str, &str)]) {
            let mut chunk = Chunk::new(file, rows.len());
            for (order, sku) in rows {
                self.line += 1;
                let record = csv::ByteRecord::from(vec![
                    "2025-01-01 10:00:00",
                    order,
                    sku,
                    "100",
                    "1",
                    "100",
                    "100",
                    shop,
                ]);
                chunk.add_record(&record, self.line, &self.map, &Rules::default());
            }
            assert_eq!(chunk.rows.len(), rows.len(), "{:?}", chunk.rejects);
            chunk.checkpoint.rows = rows.len() as u64;
            self.writer.handle(Msg::Chunk(chunk)).unwrap();
        }

        fn end(&mut self, file: usize, end: FileEnd) {
            self.writer
                .handle(Msg::End {
                    file,
                    end,
                    elapsed: Duration::ZERO,
                    unsent: 0,
                })
                .unwrap();
        }

        fn fail(&mut self, file: usize) {
            self.end(file, FileEnd::Failed("test".into()));
        }

        fn outcome(&self, file: usize) -> (RowCounts, OrderCounts) {
            let o = &self.writer.files[file].outcome;
            (o.rows, o.orders)
        }

        /// The order's file, shop and SKUs (with the file of each line).
        fn order(&self, key: &str) -> Option<Stored> {
            let conn = &self.writer.conn;
            let head: Option<(i64, String)> = conn
                .query_row(
                    "SELECT import_file_id, nama_toko FROM dropship_purchases WHERE kode_pesanan = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .unwrap();
            let mut stmt = conn
                .prepare(
                    "SELECT sku, import_file_id FROM dropship_purchase_details
                     WHERE kode_pesanan = ?1 ORDER BY sku",
                )
                .unwrap();
            let lines: Vec<(String, i64)> = stmt
                .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            match head {
                Some((id, shop)) => Some((id, shop, lines)),
                None => {
                    assert!(lines.is_empty(), "lines without their order {key}");
                    None
                }
            }
        }

        /// `import_files` rows_imported and rows_duplicate of a file.
        fn stored_counts(&self, id: i64) -> (u64, u64) {
            self.writer
                .conn
                .query_row(
                    "SELECT rows_imported, rows_duplicate FROM import_files WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        }

        fn waiting_rows(&self) -> i64 {
            self.writer
                .conn
                .query_row("SELECT count(*) FROM import_waiting_rows", [], |r| r.get(0))
                .unwrap()
        }
    }

    /// An order as stored: its file, its shop, and its lines' SKUs with
    /// the file of each.
    type Stored = (i64, String, Vec<(String, i64)>);

    fn lines(file: i64, skus: &[&str]) -> Vec<(String, i64)> {
        skus.iter().map(|s| (s.to_string(), file)).collect()
    }

    fn rows(read: u64, imported: u64, duplicate: u64) -> RowCounts {
        RowCounts {
            read,
            imported,
            duplicate,
            ..RowCounts::default()
        }
    }

    fn orders(created: u64, updated: u64, duplicate: u64) -> OrderCounts {
        OrderCounts {
            created,
            updated,
            duplicate,
        }
    }

    #[test]
    fn a_failed_file_hands_its_order_to_the_file_that_met_it_while_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = open(&dir.path().join("t.db"), 2, OnDuplicate::Skip);
        let a = run.begin(0, "a");
        let b = run.begin(1, "b");
        run.chunk(0, "A", &[("DS-X", "A1"), ("DS-A", "A2")]);
        run.chunk(1, "B", &[("DS-B", "B0"), ("DS-X", "B1"), ("DS-X", "B2")]);
        assert_eq!(run.outcome(1), (rows(3, 1, 2), orders(1, 0, 1)));
        run.fail(0);
        assert_eq!(run.order("DS-A"), None);
        assert_eq!(
            run.order("DS-X"),
            Some((b, "B".into(), lines(b, &["B1", "B2"])))
        );
        assert_eq!(run.outcome(1), (rows(3, 3, 0), orders(2, 0, 0)));
        run.end(1, FileEnd::Complete);
        assert_eq!(run.stored_counts(b), (3, 0));
        assert_eq!(run.stored_counts(a).0, 0);
        assert_eq!(run.waiting_rows(), 0);
    }

    #[test]
    fn a_finished_file_takes_the_order_over_in_import_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = open(&dir.path().join("t.db"), 2, OnDuplicate::Skip);
        run.begin(0, "a");
        let b = run.begin(1, "b");
        run.chunk(0, "A", &[("DS-X", "A1")]);
        run.chunk(1, "B", &[("DS-X", "B1"), ("DS-X", "B2")]);
        run.end(1, FileEnd::Complete);
        assert_eq!(run.stored_counts(b), (0, 2));
        run.fail(0);
        assert_eq!(
            run.order("DS-X"),
            Some((b, "B".into(), lines(b, &["B1", "B2"])))
        );
        assert_eq!(run.stored_counts(b), (2, 0));
        assert_eq!(run.outcome(1), (rows(2, 2, 0), orders(1, 0, 0)));
        assert_eq!(run.waiting_rows(), 0);
    }

    #[test]
    fn a_completed_owner_leaves_duplicates_for_good_and_no_waiting_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = open(&dir.path().join("t.db"), 2, OnDuplicate::Skip);
        let a = run.begin(0, "a");
        run.begin(1, "b");
        run.chunk(0, "A", &[("DS-X", "A1")]);
        run.chunk(1, "B", &[("DS-X", "B1")]);
        assert_eq!(run.waiting_rows(), 1);
        run.end(0, FileEnd::Complete);
        assert_eq!(run.waiting_rows(), 0);
        // Meeting the order again, now owned by a finished file, keeps nothing.
        run.chunk(1, "B", &[("DS-X", "B2")]);
        run.end(1, FileEnd::Complete);
        assert_eq!(run.waiting_rows(), 0);
        assert_eq!(run.order("DS-X"), Some((a, "A".into(), lines(a, &["A1"]))));
        assert_eq!(run.outcome(1), (rows(2, 0, 2), orders(0, 0, 1)));
    }

    #[test]
    fn the_order_passes_down_the_waiting_files_and_the_cache_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = open(&dir.path().join("t.db"), 3, OnDuplicate::Skip);
        run.begin(0, "a");
        run.begin(1, "b");
        let c = run.begin(2, "c");
        run.chunk(0, "A", &[("DS-X", "A1")]);
        run.chunk(1, "B", &[("DS-X", "B1")]);
        run.chunk(2, "C", &[("DS-X", "C1")]);
        run.fail(0);
        // b owns the order now; its next chunk goes on with its lines.
        run.chunk(1, "B", &[("DS-X", "B2")]);
        assert_eq!(run.outcome(1), (rows(2, 2, 0), orders(1, 0, 0)));
        // c waits on b now, and gets the order when b fails too.
        run.chunk(2, "C", &[("DS-X", "C2")]);
        assert_eq!(run.outcome(2), (rows(2, 0, 2), orders(0, 0, 1)));
        run.fail(1);
        assert_eq!(
            run.order("DS-X"),
            Some((c, "C".into(), lines(c, &["C1", "C2"])))
        );
        run.chunk(2, "C", &[("DS-X", "C3")]);
        run.end(2, FileEnd::Complete);
        assert_eq!(
            run.order("DS-X"),
            Some((c, "C".into(), lines(c, &["C1", "C2", "C3"])))
        );
        assert_eq!(run.outcome(2), (rows(3, 3, 0), orders(1, 0, 0)));
        assert_eq!(run.stored_counts(c), (3, 0));
        assert_eq!(run.waiting_rows(), 0);
    }

    #[test]
    fn a_file_left_by_a_killed_run_hands_its_order_over_when_taken_out_later() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut first = open(&db, 1, OnDuplicate::Skip);
        let a = first.begin(0, "a");
        first.chunk(0, "A", &[("DS-X", "A1")]);
        drop(first); // killed: a stays in_progress
        let mut run = open(&db, 1, OnDuplicate::Skip);
        let b = run.begin(0, "b");
        run.chunk(0, "B", &[("DS-X", "B1"), ("DS-X", "B2")]);
        run.end(0, FileEnd::Complete);
        assert_eq!(run.stored_counts(b), (0, 2));
        // What a run does with a leftover whose bytes changed.
        run.writer.remove_file_rows(a).unwrap();
        assert_eq!(
            run.order("DS-X"),
            Some((b, "B".into(), lines(b, &["B1", "B2"])))
        );
        assert_eq!(run.stored_counts(b), (2, 0));
        assert_eq!(run.waiting_rows(), 0);
    }

    #[test]
    fn a_file_of_an_earlier_run_takes_the_order_over_in_that_runs_totals() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut first = open(&db, 1, OnDuplicate::Skip);
        let a = first.begin(0, "a");
        first.chunk(0, "A", &[("DS-X", "A1")]);
        drop(first); // killed: a stays in_progress
        let mut second = open(&db, 1, OnDuplicate::Skip);
        let b = second.begin(0, "b");
        second.chunk(0, "B", &[("DS-X", "B1"), ("DS-X", "B2"), ("DS-Y", "B3")]);
        second.end(0, FileEnd::Complete);
        let (rows, orders) = second.outcome(0);
        let record = RunRecord {
            state: "ok",
            files: [1, 0, 0],
            rows,
            orders,
            elapsed_ms: 0,
            peak_rss_bytes: 0,
            rows_per_sec: 0,
            bytes_per_sec: 0,
            user_cpu_ms: 0,
            system_cpu_ms: 0,
        };
        second.writer.finish(&record).unwrap();
        let b_run = second.writer.run_id;
        drop(second);
        let mut run = open(&db, 1, OnDuplicate::Skip);
        run.writer.remove_file_rows(a).unwrap();
        assert_eq!(
            run.order("DS-X"),
            Some((b, "B".into(), lines(b, &["B1", "B2"])))
        );
        assert_eq!(run.stored_counts(b), (3, 0));
        let totals: [u64; 5] = run
            .writer
            .conn
            .query_row(
                "SELECT rows_read, rows_imported, rows_duplicate, orders_created, orders_duplicate
                 FROM import_runs WHERE id = ?1",
                [b_run],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
            )
            .unwrap();
        assert_eq!(totals, [3, 3, 0, 2, 0]);
    }

    #[test]
    fn rows_a_killed_run_kept_waiting_are_counted_in_that_run_when_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        // Run 1 reads p, and q, which meets DS-X while p is read; killed
        // after its last commit.
        let mut first = open(&db, 2, OnDuplicate::Update);
        let p = first.begin(0, "p");
        let q = first.begin(1, "q");
        first.chunk(0, "P", &[("DS-X", "P1")]);
        first.chunk(1, "Q", &[("DS-X", "Q1"), ("DS-Y", "Q2")]);
        first.writer.record_totals().unwrap();
        let first_run = first.writer.run_id.unwrap();
        drop(first);
        // Run 2 resumes both: p is imported, and q's version replaces it.
        let mut second = open(&db, 2, OnDuplicate::Update);
        assert_eq!(second.begin(0, "p"), p);
        assert_eq!(second.begin(1, "q"), q);
        second.end(0, FileEnd::Complete);
        second.end(1, FileEnd::Complete);
        assert_eq!(
            second.order("DS-X"),
            Some((q, "Q".into(), lines(q, &["Q1"])))
        );
        assert_eq!(second.waiting_rows(), 0);
        assert_eq!(second.stored_counts(q), (2, 0));
        // Run 2 read none of q's rows: they stay counted in run 1, now as
        // imported, with the order updated instead of duplicate.
        assert_eq!(second.outcome(1), Default::default());
        let totals: [u64; 6] = second
            .writer
            .conn
            .query_row(
                "SELECT rows_read, rows_imported, rows_duplicate, orders_created,
                 orders_updated, orders_duplicate FROM import_runs WHERE id = ?1",
                [first_run],
                |r| {
                    Ok([
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ])
                },
            )
            .unwrap();
        assert_eq!(totals, [3, 3, 0, 2, 1, 0]);
    }

    #[test]
    fn a_file_handed_an_order_before_it_is_resumed_keeps_the_counts_of_the_hand_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut first = open(&db, 2, OnDuplicate::Update);
        first.begin(0, "p");
        let q = first.begin(1, "q");
        first.chunk(0, "P", &[("DS-X", "P1")]);
        first.chunk(1, "Q", &[("DS-X", "Q1"), ("DS-Y", "Q2")]);
        drop(first); // killed
        // p is resumed and imported before q begins: q is handed DS-X
        // while it is not yet part of the run.
        let mut second = open(&db, 2, OnDuplicate::Update);
        second.begin(0, "p");
        second.end(0, FileEnd::Complete);
        assert_eq!(second.stored_counts(q), (2, 0));
        assert_eq!(second.begin(1, "q"), q);
        second.end(1, FileEnd::Complete);
        assert_eq!(second.stored_counts(q), (2, 0), "not the counts of before");
        assert_eq!(
            second.order("DS-X"),
            Some((q, "Q".into(), lines(q, &["Q1"])))
        );
    }

    #[test]
    fn update_never_mixes_the_lines_of_two_files_in_one_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = open(&dir.path().join("t.db"), 2, OnDuplicate::Update);
        run.begin(0, "p");
        let q = run.begin(1, "q");
        run.chunk(0, "P", &[("DS-X", "P1")]);
        run.chunk(1, "Q", &[("DS-X", "Q1"), ("DS-X", "Q2")]);
        run.chunk(0, "P", &[("DS-X", "P2")]);
        run.end(0, FileEnd::Complete);
        // q met the order while p was read: its version wins, complete.
        assert_eq!(
            run.order("DS-X"),
            Some((q, "Q".into(), lines(q, &["Q1", "Q2"])))
        );
        run.chunk(1, "Q", &[("DS-X", "Q3")]);
        run.end(1, FileEnd::Complete);
        assert_eq!(
            run.order("DS-X"),
            Some((q, "Q".into(), lines(q, &["Q1", "Q2", "Q3"])))
        );
        assert_eq!(run.outcome(1), (rows(3, 3, 0), orders(0, 1, 0)));
        assert_eq!(run.waiting_rows(), 0);
    }

    /// b imported DS-X; a and c replace it and both fail, in either order.
    fn two_replacers_fail(a_first: bool) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut first = open(&db, 1, OnDuplicate::Skip);
        let b = first.begin(0, "b");
        first.chunk(0, "B", &[("DS-X", "B1"), ("DS-X", "B2")]);
        first.end(0, FileEnd::Complete);
        drop(first);
        let mut run = open(&db, 2, OnDuplicate::Update);
        run.begin(0, "a");
        run.begin(1, "c");
        run.chunk(0, "A", &[("DS-X", "A1")]);
        run.chunk(1, "C", &[("DS-X", "C1")]);
        let (x, y) = if a_first { (0, 1) } else { (1, 0) };
        run.fail(x);
        run.fail(y);
        assert_eq!(
            run.order("DS-X"),
            Some((b, "B".into(), lines(b, &["B1", "B2"])))
        );
        assert_eq!(run.waiting_rows(), 0);
    }

    #[test]
    fn two_failed_replacers_leave_the_imported_version() {
        two_replacers_fail(true);
        two_replacers_fail(false);
    }

    /// A replacer G that kept the version of a file F that fails keeps
    /// what F replaced instead: the state a database written while files
    /// could replace unfinished ones may hold.
    fn chained_replacers_fail(a_first: bool) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut first = open(&db, 1, OnDuplicate::Skip);
        let b = first.begin(0, "b");
        first.chunk(0, "B", &[("DS-X", "B1")]);
        first.end(0, FileEnd::Complete);
        drop(first);
        let mut run = open(&db, 2, OnDuplicate::Update);
        let a = run.begin(0, "a");
        run.begin(1, "c");
        run.chunk(0, "A", &[("DS-X", "A1")]);
        let set_state = |run: &Run, state: &str| {
            run.writer
                .conn
                .execute(
                    "UPDATE import_files SET state = ?2 WHERE id = ?1",
                    params![a, state],
                )
                .unwrap();
        };
        set_state(&run, "imported");
        run.chunk(1, "C", &[("DS-X", "C1")]);
        set_state(&run, "in_progress");
        let (x, y) = if a_first { (0, 1) } else { (1, 0) };
        run.fail(x);
        run.fail(y);
        assert_eq!(run.order("DS-X"), Some((b, "B".into(), lines(b, &["B1"]))));
    }

    #[test]
    fn a_chain_of_replaced_versions_never_brings_back_a_failed_file() {
        chained_replacers_fail(true);
        chained_replacers_fail(false);
    }

    #[test]
    fn an_import_covers_the_rows_it_kept() {
        // No channel then: every row is in, whatever this run keeps.
        assert!(covers(None, None));
        assert!(covers(None, Some("shopee")));
        // A channel then: only a run with the same channel is covered.
        assert!(covers(Some("shopee"), Some("shopee")));
        assert!(covers(Some(" Shopee "), Some("shopee")));
        assert!(!covers(Some("shopee"), Some("tokopedia")));
        assert!(!covers(Some("shopee"), None));
    }
}
