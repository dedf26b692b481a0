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
//! With `--dry-run` the same code writes into a private temporary database
//! and consults the real one, attached read-only, for earlier imports: the
//! real database is never created or changed.

use crate::columns::FIELDS;
use crate::insert::Insert;
use crate::progress::Progress;
use crate::rows::{Checkpoint, Chunk, Reject, Row, Value};
use crate::schema;
use crate::settings::OnDuplicate;
use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What readers tell the writer.
#[derive(Debug)]
pub enum Msg {
    /// A file's header is good; may its rows be read?
    Begin {
        file: usize,
        size: u64,
        hash: String,
        reply: Sender<Begin>,
    },
    Chunk(Chunk),
    /// A file is done (or could not be read at all).
    End {
        file: usize,
        end: FileEnd,
        elapsed: Duration,
    },
}

/// The writer's answer to [`Msg::Begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Read the file, from its start or, when a killed run left it part-way,
    /// from the checkpoint it committed (with the rows it had rejected, which
    /// count against `max_errors`).
    Proceed {
        resume: Option<Checkpoint>,
        rejected: u64,
    },
    /// The same bytes were imported before: do not read.
    Skip,
}

/// How a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEnd {
    Complete,
    Skipped,
    Failed(String),
    /// The run is stopping; what was committed stays for the next run.
    Interrupted,
}

/// The state of a file in the summary and in `import_files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    InProgress,
    Imported,
    Skipped,
    Failed,
    /// The run stopped before this file was done; the next run resumes it.
    /// (In `import_files` such a file stays `in_progress`.)
    Interrupted,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::InProgress => "in_progress",
            FileStatus::Imported => "imported",
            FileStatus::Skipped => "skipped",
            FileStatus::Failed => "failed",
            FileStatus::Interrupted => "interrupted",
        }
    }
}

/// Where every row read went. `read` is always the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub read: u64,
    pub imported: u64,
    pub rejected: u64,
    pub duplicate: u64,
    pub filtered: u64,
    pub failed: u64,
}

impl RowCounts {
    /// Reads the six counts from consecutive columns of a query, starting at
    /// `first`, in the order read, imported, rejected, duplicate, filtered,
    /// failed (the order of `import_runs` and `import_files`).
    pub fn from_columns(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<RowCounts> {
        Ok(RowCounts {
            read: r.get(first)?,
            imported: r.get(first + 1)?,
            rejected: r.get(first + 2)?,
            duplicate: r.get(first + 3)?,
            filtered: r.get(first + 4)?,
            failed: r.get(first + 5)?,
        })
    }

    pub fn add(&mut self, other: &RowCounts) {
        self.read += other.read;
        self.imported += other.imported;
        self.rejected += other.rejected;
        self.duplicate += other.duplicate;
        self.filtered += other.filtered;
        self.failed += other.failed;
    }
}

/// What happened to orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OrderCounts {
    pub created: u64,
    pub updated: u64,
    pub duplicate: u64,
}

impl OrderCounts {
    pub fn add(&mut self, other: &OrderCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.duplicate += other.duplicate;
    }
}

/// How many rejects of a file the summary shows.
pub const REJECTS_SHOWN: usize = 5;

/// The writer's record of one file of the run.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub size: Option<u64>,
    pub status: FileStatus,
    pub rows: RowCounts,
    pub orders: OrderCounts,
    pub error: Option<String>,
    /// The first [`REJECTS_SHOWN`] rejects.
    pub rejects: Vec<Reject>,
    pub elapsed: Duration,
    /// Bytes read from the file, for throughput.
    pub bytes_read: u64,
}

/// Where an order stands for the file being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    ThisFile,
    Other,
}

#[derive(Debug)]
struct FileState {
    outcome: FileOutcome,
    id: Option<i64>,
    /// In a dry run resuming a file, the id the real database knows it by.
    prior_id: Option<i64>,
    hash: Option<String>,
    /// The last order key seen and whether this file owns it: the lines of
    /// an order are usually together, so most rows need no lookup.
    last_key: String,
    last_owner: Owner,
    duplicate_orders: HashSet<String>,
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
    run_id: i64,
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
}

fn sql() -> &'static Sql {
    static SQL: std::sync::OnceLock<Sql> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let mut order: Vec<&str> = order_columns().map(|(_, c)| c).collect();
        order.extend(["import_file_id", "source_line"]);
        let mut line: Vec<&str> = line_columns().map(|(_, c)| c).collect();
        line.extend(["import_file_id", "source_line"]);
        Sql {
            insert_order: insert_sql("dropship_purchases", &order, "INSERT OR IGNORE"),
            insert_line: insert_sql("dropship_purchase_details", &line, "INSERT"),
            order_fields: order_columns().map(|(i, _)| i).collect(),
            line_fields: line_columns().map(|(i, _)| i).collect(),
            order_list: order.join(", "),
            line_list: format!("id, {}", line.join(", ")),
        }
    })
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
            )?;
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
        conn.execute(
            "INSERT INTO import_runs (started_at, state, pid, version, options, files_total)
             VALUES (?1, 'running', ?2, ?3, ?4, ?5)",
            params![
                now(),
                std::process::id(),
                env!("CARGO_PKG_VERSION"),
                opts.options_json,
                inputs.len()
            ],
        )?;
        let run_id = conn.last_insert_rowid();
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
                },
                id: None,
                prior_id: None,
                hash: None,
                last_key: String::new(),
                last_owner: Owner::Other,
                duplicate_orders: HashSet::new(),
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
            run_id,
            opts,
            files,
            hashes_in_run: HashMap::new(),
            rejects_csv,
            in_transaction: false,
            line_index_deferred,
        })
    }

    /// The run's id in the database (`None` for a dry run).
    pub fn run_id(&self) -> Option<i64> {
        (!self.opts.dry_run).then_some(self.run_id)
    }

    /// Handles messages until every sender is gone.
    pub fn run(&mut self, rx: &Receiver<Msg>, progress: &Progress) -> Result<()> {
        self.write_all(rx, progress).map_err(|e| self.explain(e))
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

    /// A chunk that reaches the writer is committed within the commit
    /// interval, whether or not more chunks follow. Each commit costs an
    /// `fsync` and rewrites the pages the next chunks fill further, so fewer,
    /// larger transactions are faster; a killed run reads again at most what
    /// one interval wrote (see the README).
    fn write_all(&mut self, rx: &Receiver<Msg>, progress: &Progress) -> Result<()> {
        let interval = self.opts.commit_interval;
        let mut opened = Instant::now();
        loop {
            // An open transaction waits for more only until it is due.
            let msg = if self.in_transaction {
                match rx.recv_timeout(interval.saturating_sub(opened.elapsed())) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        self.commit()?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                }
            };
            if !self.in_transaction {
                self.conn.execute_batch("BEGIN IMMEDIATE")?;
                self.in_transaction = true;
                opened = Instant::now();
            }
            // A failed file's removal is committed at once; other ends ride
            // with the next commit (a file killed after its last chunk is
            // resumed at its end and completes with nothing to read).
            let (ended, failed) = match &msg {
                Msg::End { file, end, .. } => (Some(*file), matches!(end, FileEnd::Failed(_))),
                _ => (None, false),
            };
            self.handle(msg)?;
            if failed || opened.elapsed() >= interval {
                self.commit()?;
            }
            if let Some(file) = ended {
                progress.file_done(&self.files[file].outcome);
            }
        }
        self.commit()?;
        // Interrupted runs too: only a run that dies leaves the index out.
        if !self.opts.dry_run {
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
            Msg::End { file, end, elapsed } => self.end(file, end, elapsed),
        }
    }

    fn begin(&mut self, file: usize, size: u64, hash: String) -> Result<Begin> {
        let state = &mut self.files[file];
        state.outcome.size = Some(size);
        state.hash = Some(hash.clone());
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

    /// The file with these bytes that a killed run left `in_progress`, with
    /// what it had committed. Older leftovers of the same bytes, if any, are
    /// taken out.
    fn interrupted_file(&mut self, hash: &str) -> Result<Option<LeftOver>> {
        // In a real run, this run's own files are not leftovers; in a dry
        // run, every leftover is in the real database.
        let (schema, run) = if self.prior {
            ("prior", -1)
        } else {
            ("main", self.run_id)
        };
        let sql = format!(
            "SELECT id, bytes_committed, rows_committed, line_committed, rows_read,
                    rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed
             FROM {schema}.import_files
             WHERE content_hash = ?1 AND state = 'in_progress' AND run_id <> ?2
             ORDER BY id DESC"
        );
        let mut found: Vec<LeftOver> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![hash, run], |r| {
                Ok(LeftOver {
                    id: r.get(0)?,
                    checkpoint: Checkpoint {
                        bytes: r.get(1)?,
                        rows: r.get(2)?,
                        line: r.get(3)?,
                    },
                    rows: RowCounts::from_columns(r, 4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        if found.is_empty() {
            return Ok(None);
        }
        let newest = found.remove(0);
        if !self.prior {
            for old in found {
                self.remove_file_rows(old.id)?;
                self.conn.execute(
                    "UPDATE import_files SET state = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
                    params![old.id, format!("interrupted; read again by run {}", self.run_id), now()],
                )?;
            }
        }
        Ok(Some(newest))
    }

    /// Takes over a file a killed run left part-way: its committed rows stay
    /// its own, and reading goes on from its checkpoint.
    fn resume(&mut self, file: usize, left: LeftOver) -> Result<Begin> {
        let id = if self.prior {
            self.files[file].prior_id = Some(left.id);
            self.insert_file(file, FileStatus::InProgress, None)?
        } else {
            self.conn
                .prepare_cached("UPDATE import_files SET run_id = ?2, path = ?3 WHERE id = ?1")?
                .execute(params![
                    left.id,
                    self.run_id,
                    self.files[file].outcome.path.to_string_lossy()
                ])?;
            left.id
        };
        let state = &mut self.files[file];
        state.id = Some(id);
        state.outcome.rows = left.rows;
        state.outcome.bytes_read = left.checkpoint.bytes;
        Ok(Begin::Proceed {
            resume: Some(left.checkpoint),
            rejected: left.rows.rejected,
        })
    }

    /// True when a file with these exact bytes was imported completely.
    fn imported_before(&self, hash: &str) -> Result<bool> {
        let query = |schema: &str| -> Result<bool> {
            let sql = format!(
                "SELECT 1 FROM {schema}.import_files WHERE content_hash = ?1 AND state = 'imported' LIMIT 1"
            );
            Ok(self
                .conn
                .prepare_cached(&sql)?
                .query_row([hash], |_| Ok(()))
                .optional()?
                .is_some())
        };
        Ok(query("main")? || (self.prior && query("prior")?))
    }

    fn insert_file(&mut self, file: usize, status: FileStatus, error: Option<&str>) -> Result<i64> {
        let state = &self.files[file];
        self.conn
            .prepare_cached(
                "INSERT INTO import_files (run_id, path, size_bytes, content_hash, state, error, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                self.run_id,
                state.outcome.path.to_string_lossy(),
                state.outcome.size,
                state.hash,
                status.as_str(),
                error,
                now()
            ])?;
        Ok(self.conn.last_insert_rowid())
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
            prior: self.prior,
            on_duplicate: self.opts.on_duplicate,
            file_id,
        };
        let state = &mut self.files[file];
        for row in &chunk.rows {
            match rows.owner(state, &chunk, row)? {
                Owner::ThisFile => {
                    rows.insert_line(&chunk, row)?;
                    counts.imported += 1;
                }
                Owner::Other => counts.duplicate += 1,
            }
        }
        drop(rows);
        state.outcome.rows.add(&counts);
        let rows = state.outcome.rows;
        let cp = chunk.checkpoint;
        state.outcome.bytes_read = cp.bytes;
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
        Ok(())
    }

    fn write_reject(&mut self, file: usize, file_id: i64, reject: &Reject) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO import_rejects (run_id, file_id, line, column_name, value, reason, message, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                self.run_id,
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
    /// what it replaced.
    fn remove_file_rows(&mut self, file_id: i64) -> Result<()> {
        self.need_line_index()?;
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
        self.forget_replaced(file_id)
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
            }
            FileEnd::Skipped => {
                self.files[file].outcome.status = FileStatus::Skipped;
                let id = self.insert_file(file, FileStatus::Skipped, None)?;
                self.files[file].id = Some(id);
                self.finish_file(file, id)?;
            }
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
                let rows = &mut state.outcome.rows;
                *rows = RowCounts {
                    read: rows.read,
                    failed: rows.read,
                    ..RowCounts::default()
                };
                state.outcome.orders = OrderCounts::default();
                self.finish_file(file, id)?;
            }
            FileEnd::Interrupted => self.files[file].outcome.status = FileStatus::Interrupted,
        }
        Ok(())
    }

    fn finish_file(&mut self, file: usize, id: i64) -> Result<()> {
        let o = &self.files[file].outcome;
        self.conn
            .prepare_cached(
                "UPDATE import_files SET state = ?2, rows_read = ?3, rows_imported = ?4,
                 rows_rejected = ?5, rows_duplicate = ?6, rows_filtered = ?7, rows_failed = ?8,
                 error = ?9, finished_at = ?10 WHERE id = ?1",
            )?
            .execute(params![
                id,
                o.status.as_str(),
                o.rows.read,
                o.rows.imported,
                o.rows.rejected,
                o.rows.duplicate,
                o.rows.filtered,
                o.rows.failed,
                o.error,
                now()
            ])?;
        Ok(())
    }

    /// The files of the run as the writer saw them, in the run's order.
    pub fn outcomes(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().map(|f| &f.outcome)
    }

    /// Records the end of the run. A run in which every file was skipped
    /// wrote nothing, and leaves nothing behind.
    pub fn finish(&mut self, record: &RunRecord) -> Result<()> {
        self.commit()?;
        if let Some(w) = &mut self.rejects_csv {
            w.flush()
                .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
        }
        if self.opts.dry_run {
            return Ok(());
        }
        let wrote = self
            .files
            .iter()
            .any(|f| f.outcome.status != FileStatus::Skipped);
        if !wrote {
            self.conn.execute_batch(&format!(
                "BEGIN; DELETE FROM import_files WHERE run_id = {0};
                 DELETE FROM import_runs WHERE id = {0}; COMMIT;",
                self.run_id
            ))?;
        } else {
            self.conn.execute(
                "UPDATE import_runs SET finished_at = ?2, state = ?3, files_imported = ?4,
                 files_skipped = ?5, files_failed = ?6, rows_read = ?7, rows_imported = ?8,
                 rows_rejected = ?9, rows_duplicate = ?10, rows_filtered = ?11, rows_failed = ?12,
                 orders_created = ?13, orders_updated = ?14, orders_duplicate = ?15,
                 elapsed_ms = ?16, peak_rss_bytes = ?17, rows_per_sec = ?18, bytes_per_sec = ?19,
                 user_cpu_ms = ?20, system_cpu_ms = ?21 WHERE id = ?1",
                params![
                    self.run_id,
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
            Some(id) if id == self.file_id || Some(-id) == state.prior_id => Owner::ThisFile,
            Some(_) => match self.on_duplicate {
                OnDuplicate::Skip => {
                    if state.duplicate_orders.insert(key.to_string()) {
                        state.outcome.orders.duplicate += 1;
                    }
                    Owner::Other
                }
                OnDuplicate::Update => {
                    self.replace_order(key)?;
                    self.insert_order(chunk, row)?;
                    state.outcome.orders.updated += 1;
                    Owner::ThisFile
                }
            },
        };
        state.last_key.clear();
        state.last_key.push_str(key);
        state.last_owner = owner;
        Ok(owner)
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
            let known = self
                .conn
                .prepare_cached(
                    "SELECT import_file_id FROM prior.dropship_purchases WHERE kode_pesanan = ?1",
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

    /// Keeps a copy of an order owned by another file, then removes it and
    /// its lines, for this file to write its own version.
    fn replace_order(&self, key: &str) -> Result<()> {
        for sql in [
            "INSERT INTO import_replaced_orders SELECT ?1, * FROM main.dropship_purchases WHERE kode_pesanan = ?2",
            "INSERT INTO import_replaced_lines SELECT ?1, * FROM main.dropship_purchase_details WHERE kode_pesanan = ?2",
        ] {
            self.conn
                .prepare_cached(sql)?
                .execute(params![self.file_id, key])?;
        }
        for sql in [
            "DELETE FROM main.dropship_purchase_details WHERE kode_pesanan = ?1",
            "DELETE FROM main.dropship_purchases WHERE kode_pesanan = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([key])?;
        }
        Ok(())
    }
}

/// What a killed run left of a file.
#[derive(Debug)]
struct LeftOver {
    id: i64,
    checkpoint: Checkpoint,
    rows: RowCounts,
}

/// The totals of a run, as stored in `import_runs`.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub state: &'static str,
    /// Imported, skipped, failed.
    pub files: [u64; 3],
    pub rows: RowCounts,
    pub orders: OrderCounts,
    pub elapsed_ms: u64,
    pub peak_rss_bytes: u64,
    pub rows_per_sec: u64,
    pub bytes_per_sec: u64,
    pub user_cpu_ms: u64,
    pub system_cpu_ms: u64,
}

/// Writing the `--rejects` file failed (disk full, ...): an error of that
/// file, not of the database.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the rejects file {path}: {cause}")]
pub struct RejectsFileError {
    path: String,
    cause: String,
}

fn rejects_error(path: &Option<PathBuf>, cause: impl std::fmt::Display) -> anyhow::Error {
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
