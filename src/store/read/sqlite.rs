//! The reads from a SQLite database: opened read-only (never created), one
//! read transaction per look; a run is live while its claim on the file is
//! held ([`lock::is_held`]).

use super::{FileRecord, FinishedRun, Looks, PartialFile, Queries, ReadError, RunRecord, RunShare};
use crate::report::FileCounts;
use crate::store::sqlite::claim as lock;
use anyhow::{Result, bail};
use rusqlite::{Connection, OptionalExtension, Row};
use std::path::{Path, PathBuf};

pub(super) struct Reader {
    path: PathBuf,
    conn: Connection,
    /// Whether the database keeps what each run committed of each file and
    /// the work each run planned (schema version 5): older ones were
    /// written by an older version, and are read as it left them.
    shares: bool,
}

impl Reader {
    /// Opens `path` to read; never creates it.
    pub(super) fn open(path: &Path, shown: &str, looks: Looks) -> Result<Reader> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReadError::NoDatabase(shown.to_string()).into());
            }
            Err(e) => bail!("cannot open {shown}: {e}"),
            Ok(meta) if !meta.is_file() => bail!("{shown} is not a database file"),
            Ok(_) => {}
        }
        // Read-only media too: see `schema::open_read_only`.
        let conn = super::cannot_open(
            match looks {
                Looks::Repeatedly => crate::store::sqlite::schema::open_read_only(path),
                Looks::Once => crate::store::sqlite::schema::open_to_look(path),
            },
            shown,
        )?;
        super::cannot_open(conn.busy_timeout(super::TIMEOUT), shown)?;
        let tables: i64 = anyhow::Context::with_context(
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'
                 AND name IN ('import_runs', 'import_files')",
                [],
                |r| r.get(0),
            ),
            || format!("{shown} is not a usable SQLite database"),
        )?;
        if tables != 2 {
            return Err(
                ReadError::NoHistory(shown.to_string(), "it has no import_runs table").into(),
            );
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(Reader {
            path: path.to_path_buf(),
            conn,
            shares: version >= 5,
        })
    }

    /// Runs `look` in one read transaction.
    pub(super) fn snapshot<T>(
        &self,
        look: impl FnOnce(&dyn Queries, &dyn Fn() -> Result<bool>) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.unchecked_transaction()?;
        let live = || Ok(lock::is_held(&self.path));
        let result = look(&Transaction(&tx, self.shares), &live);
        // Ending a read transaction cannot lose anything; its error is moot.
        let _ = tx.finish();
        result
    }
}

/// A read transaction, and whether the database is at schema version 5.
struct Transaction<'a>(&'a Connection, bool);

impl Transaction<'_> {
    fn run_columns(&self) -> String {
        let planned = match self.1 {
            true => "planned_files, planned_bytes, skipped_bytes",
            false => "NULL, NULL, NULL",
        };
        format!(
            "id, started_at, finished_at, state, pid, version, options,
             files_total, files_imported, files_skipped, files_failed,
             rows_read, rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed,
             elapsed_ms, peak_rss_bytes, rows_per_sec, bytes_per_sec, {planned}"
        )
    }
}

fn run_record(r: &Row) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        state: r.get(3)?,
        pid: r.get(4)?,
        host: None,
        version: r.get(5)?,
        options: r.get(6)?,
        files: FileCounts {
            total: r.get(7)?,
            imported: r.get(8)?,
            skipped: r.get(9)?,
            failed: r.get(10)?,
        },
        rows: crate::store::sqlite::write::row_counts(r, 11)?,
        elapsed_ms: r.get(17)?,
        peak_rss_bytes: r.get(18)?,
        rows_per_sec: r.get(19)?,
        bytes_per_sec: r.get(20)?,
        planned_files: r.get(21)?,
        planned_bytes: r.get(22)?,
        skipped_bytes: r.get(23)?,
    })
}

/// The columns of [`file_of_run`]: the file's entry, then what run `?1`
/// committed of it (NULL when not recorded, and before schema version 5).
fn file_columns(shares: bool) -> String {
    let share = match shares {
        true => {
            "r.file_id, coalesce(r.rows_read, r.rows_imported + r.rows_rejected
             + r.rows_duplicate + r.rows_filtered + r.rows_failed), r.rows_imported,
             r.rows_rejected, r.rows_duplicate, r.rows_filtered, r.rows_failed, r.bytes_from,
             r.line_from, r.bytes_committed, r.rows_committed, r.line_committed"
        }
        false => "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
    };
    format!(
        "f.id, f.path, f.size_bytes, f.state, f.rows_read, f.rows_imported, f.rows_rejected,
         f.rows_duplicate, f.rows_filtered, f.rows_failed, f.bytes_committed,
         f.rows_committed, f.error, f.started_at, f.finished_at, f.line_committed, f.run_id,
         {share}"
    )
}

/// A file as run `run` saw it (see [`FileRecord::seen_by`]).
fn file_of_run(run: i64, r: &Row) -> rusqlite::Result<FileRecord> {
    let file = FileRecord {
        id: r.get(0)?,
        path: r.get(1)?,
        size_bytes: r.get(2)?,
        state: r.get(3)?,
        rows: crate::store::sqlite::write::row_counts(r, 4)?,
        bytes_committed: r.get(10)?,
        rows_committed: r.get(11)?,
        line_committed: r.get(15)?,
        bytes_from: 0,
        resumed_from_line: None,
        carried_on_by: None,
        error: r.get(12)?,
        started_at: r.get(13)?,
        finished_at: r.get(14)?,
    };
    let owner: i64 = r.get(16)?;
    let share = match r.get::<_, Option<i64>>(17)? {
        None => None,
        Some(_) => Some(RunShare {
            rows: crate::store::sqlite::write::row_counts(r, 18)?,
            bytes_from: r.get(24)?,
            line_from: r.get(25)?,
            bytes_committed: r.get(26)?,
            rows_committed: r.get(27)?,
            line_committed: r.get(28)?,
        }),
    };
    Ok(file.seen_by(run, owner, share))
}

impl Queries for Transaction<'_> {
    fn runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {} FROM import_runs ORDER BY id DESC LIMIT ?1",
                self.run_columns()
            ))?
            .query_map([limit], run_record)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {} FROM import_runs WHERE id = ?1",
                self.run_columns()
            ))?
            .query_row([id], run_record)
            .optional()?)
    }

    fn files(&self, run_id: i64) -> Result<Vec<FileRecord>> {
        // Its entries, and the files it read part of that a later run
        // carried on.
        let sql = match self.1 {
            true => format!(
                "SELECT {} FROM import_files f
                 LEFT JOIN import_file_runs r ON r.file_id = f.id AND r.run_id = ?1
                 WHERE f.id IN (SELECT id FROM import_files WHERE run_id = ?1
                                UNION SELECT file_id FROM import_file_runs WHERE run_id = ?1)
                 ORDER BY f.id",
                file_columns(true)
            ),
            false => format!(
                "SELECT {} FROM import_files f WHERE f.run_id = ?1 ORDER BY f.id",
                file_columns(false)
            ),
        };
        Ok(self
            .0
            .prepare_cached(&sql)?
            .query_map([run_id], |r| file_of_run(run_id, r))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn partial_files(&self) -> Result<Vec<PartialFile>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT run_id, path, size_bytes, bytes_committed, rows_committed, line_committed
                 FROM import_files WHERE state = 'in_progress' ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(PartialFile {
                    run_id: r.get(0)?,
                    path: r.get(1)?,
                    size_bytes: r.get(2)?,
                    bytes_committed: r.get(3)?,
                    rows_committed: r.get(4)?,
                    line_committed: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn newest_run(&self) -> Result<Option<i64>> {
        Ok(self
            .0
            .query_row("SELECT max(id) FROM import_runs", [], |r| r.get(0))?)
    }

    fn live_runs(&self, claim_held: &dyn Fn() -> Result<bool>) -> Result<Vec<i64>> {
        let newest: Option<i64> = self.0.query_row(
            "SELECT max(id) FROM import_runs WHERE state = 'running'",
            [],
            |r| r.get(0),
        )?;
        Ok(match newest {
            Some(id) if claim_held()? => vec![id],
            _ => Vec::new(),
        })
    }

    fn finished_runs(&self, limit: i64) -> Result<Vec<FinishedRun>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT rows_read, rows_per_sec, bytes_per_sec, peak_rss_bytes, files_total, options
                 FROM import_runs
                 WHERE state IN ('ok', 'partial') AND rows_read > 0
                   AND rows_per_sec > 0 AND bytes_per_sec > 0
                 ORDER BY id DESC LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok(FinishedRun {
                    rows_read: r.get(0)?,
                    rows_per_sec: r.get(1)?,
                    bytes_per_sec: r.get(2)?,
                    peak_rss_bytes: r.get(3)?,
                    files_total: r.get(4)?,
                    options: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}
