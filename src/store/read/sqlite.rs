//! The reads from a SQLite database: opened read-only (never created), one
//! read transaction per look; a run is live while its claim on the file is
//! held ([`lock::is_held`]).

use super::{FileRecord, FinishedRun, Looks, PartialFile, Queries, ReadError, RunRecord};
use crate::report::FileCounts;
use crate::store::sqlite::claim as lock;
use anyhow::{Result, bail};
use rusqlite::{Connection, OptionalExtension, Row};
use std::path::{Path, PathBuf};

pub(super) struct Reader {
    path: PathBuf,
    conn: Connection,
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
        Ok(Reader {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Runs `look` in one read transaction.
    pub(super) fn snapshot<T>(
        &self,
        look: impl FnOnce(&dyn Queries, &dyn Fn() -> Result<bool>) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.unchecked_transaction()?;
        let live = || Ok(lock::is_held(&self.path));
        let result = look(&Transaction(&tx), &live);
        // Ending a read transaction cannot lose anything; its error is moot.
        let _ = tx.finish();
        result
    }
}

struct Transaction<'a>(&'a Connection);

const RUN_COLUMNS: &str = "id, started_at, finished_at, state, pid, version, options,
    files_total, files_imported, files_skipped, files_failed,
    rows_read, rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed,
    elapsed_ms, peak_rss_bytes, rows_per_sec, bytes_per_sec";

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
    })
}

fn file_record(r: &Row) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        id: r.get(0)?,
        path: r.get(1)?,
        size_bytes: r.get(2)?,
        state: r.get(3)?,
        rows: crate::store::sqlite::write::row_counts(r, 4)?,
        bytes_committed: r.get(10)?,
        rows_committed: r.get(11)?,
        error: r.get(12)?,
        started_at: r.get(13)?,
        finished_at: r.get(14)?,
    })
}

impl Queries for Transaction<'_> {
    fn runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM import_runs ORDER BY id DESC LIMIT ?1"
            ))?
            .query_map([limit], run_record)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM import_runs WHERE id = ?1"
            ))?
            .query_row([id], run_record)
            .optional()?)
    }

    fn files(&self, run_id: i64) -> Result<Vec<FileRecord>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, path, size_bytes, state, rows_read, rows_imported, rows_rejected,
                        rows_duplicate, rows_filtered, rows_failed, bytes_committed,
                        rows_committed, error, started_at, finished_at
                 FROM import_files WHERE run_id = ?1 ORDER BY id",
            )?
            .query_map([run_id], file_record)?
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
