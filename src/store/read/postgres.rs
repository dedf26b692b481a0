//! The reads from a PostgreSQL schema: one connection, each look one
//! `REPEATABLE READ READ ONLY` transaction, every statement bounded by
//! [`super::TIMEOUT`]. Times are `timestamptz`; they are read back as the
//! text SQLite keeps (RFC 3339, UTC, whole seconds).
//!
//! The table `import_schema_version` marks a schema the tool created; a
//! missing schema, or one without the tool's tables, holds no history yet.
//! A `running` run is alive while its session is connected and its lease
//! runs (`claim::LIVE_RUN`), looked up in `import_runs` and
//! `pg_stat_activity`: a reader takes no lock an import would wait for.

use super::connect::{Target, runtime};
use super::{FileRecord, FinishedRun, PartialFile, Queries, ReadError, RunRecord, RunShare, count};
use crate::outcome::RowCounts;
use crate::report::FileCounts;
use anyhow::{Context, Result, anyhow};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Executor, Row};
use std::cell::RefCell;
use std::future::Future;
use tokio::runtime::Runtime;

pub(super) struct Reader {
    rt: Runtime,
    conn: PgConnection,
    /// The schema's name, as given.
    schema: String,
    /// The schema's name, quoted as an identifier.
    quoted: String,
    /// Whether the schema keeps what each run committed of each file and
    /// the work each run planned (schema version 6).
    shares: bool,
}

impl Reader {
    /// Connects and checks that `schema` holds the tool's tables.
    pub(super) fn open(target: &Target, schema: &str, shown: &str) -> Result<Reader> {
        let rt = runtime().with_context(|| format!("cannot open {shown}"))?;
        let conn = target
            .connect(&rt)
            .with_context(|| format!("cannot open {shown}"))?;
        let mut reader = Reader {
            rt,
            conn,
            schema: schema.to_string(),
            quoted: format!("\"{}\"", schema.replace('"', "\"\"")),
            shares: false,
        };
        reader.check(shown).map_err(|e| match e.is::<ReadError>() {
            true => e,
            false => e.context(format!("cannot read {shown}")),
        })?;
        Ok(reader)
    }

    fn check(&mut self, shown: &str) -> Result<()> {
        let ms = super::TIMEOUT.as_millis();
        let setup = format!(
            "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
             SET default_transaction_read_only = on"
        );
        wait(&self.rt, self.conn.execute(setup.as_str()))?;
        let row = wait(
            &self.rt,
            sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                        to_regclass(format('%I.import_schema_version', $1)) IS NOT NULL,
                        to_regclass(format('%I.import_runs', $1)) IS NOT NULL,
                        to_regclass(format('%I.import_files', $1)) IS NOT NULL",
            )
            .bind(&self.schema)
            .fetch_one(&mut self.conn),
        )?;
        let (schema, version, runs, files): (bool, bool, bool, bool) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let nothing_yet = |why| Err(ReadError::NoHistory(shown.to_string(), why).into());
        match (schema, version, runs && files) {
            (false, _, _) => nothing_yet("there is no such schema"),
            (true, true, true) => {
                let sql = format!(
                    "SELECT max(version)::bigint FROM {}.import_schema_version",
                    self.quoted
                );
                let version = wait(
                    &self.rt,
                    sqlx::query_scalar::<_, Option<i64>>(&sql).fetch_one(&mut self.conn),
                )?;
                self.shares = version.unwrap_or(0) >= 6;
                Ok(())
            }
            (true, false, false) if !runs => nothing_yet("it has no import_runs table"),
            (true, false, _) => Err(ReadError::NotOurs(
                shown.to_string(),
                "its import_runs table was not made by dropship-import \
                 (no import_schema_version table); name another schema with --schema"
                    .to_string(),
            )
            .into()),
            (true, true, false) => nothing_yet("it has no import_runs table"),
        }
    }

    /// Runs `look` in one read-only transaction.
    pub(super) fn snapshot<T>(
        &mut self,
        look: impl FnOnce(&dyn Queries, &dyn Fn() -> Result<bool>) -> Result<T>,
    ) -> Result<T> {
        wait(
            &self.rt,
            self.conn
                .execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        )?;
        let result = {
            let tx = Transaction {
                rt: &self.rt,
                conn: RefCell::new(&mut self.conn),
                quoted: &self.quoted,
                shares: self.shares,
            };
            // Runs are alive by their leases (see `live_runs`).
            look(&tx, &|| Ok(false))
        };
        // Ending a read-only transaction cannot lose anything; its error is
        // moot (a broken connection fails the next look).
        let _ = wait(&self.rt, self.conn.execute("ROLLBACK"));
        result
    }
}

/// Waits for `work` at most [`super::TIMEOUT`].
fn wait<T>(rt: &Runtime, work: impl Future<Output = sqlx::Result<T>>) -> Result<T> {
    rt.block_on(async { tokio::time::timeout(super::TIMEOUT, work).await })
        .map_err(|_| anyhow!("no answer within {:?}", super::TIMEOUT))?
        .map_err(Into::into)
}

struct Transaction<'a> {
    rt: &'a Runtime,
    conn: RefCell<&'a mut PgConnection>,
    quoted: &'a str,
    shares: bool,
}

/// A `timestamptz` column as the text SQLite keeps.
fn utc(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

fn run_columns(shares: bool) -> String {
    let planned = match shares {
        true => "planned_files, planned_bytes, skipped_bytes",
        false => "NULL::bigint, NULL::bigint, NULL::bigint",
    };
    format!(
        "id, {}, {}, state, pid, host, version, options,
         files_total, files_imported, files_skipped, files_failed,
         rows_read, rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed,
         elapsed_ms, peak_rss_bytes, rows_per_sec, bytes_per_sec, {planned}",
        utc("started_at"),
        utc("finished_at")
    )
}

/// Six counts from consecutive columns, in the order of the tables.
fn row_counts(r: &PgRow, first: usize) -> sqlx::Result<RowCounts> {
    let get = |i: usize| r.try_get::<i64, _>(first + i).map(count);
    Ok(RowCounts {
        read: get(0)?,
        imported: get(1)?,
        rejected: get(2)?,
        duplicate: get(3)?,
        filtered: get(4)?,
        failed: get(5)?,
    })
}

fn maybe_count(r: &PgRow, i: usize) -> sqlx::Result<Option<u64>> {
    Ok(r.try_get::<Option<i64>, _>(i)?.map(count))
}

fn run_record(r: &PgRow) -> sqlx::Result<RunRecord> {
    Ok(RunRecord {
        id: r.try_get(0)?,
        started_at: r.try_get(1)?,
        finished_at: r.try_get(2)?,
        state: r.try_get(3)?,
        pid: i64::from(r.try_get::<i32, _>(4)?),
        host: r.try_get(5)?,
        version: r.try_get(6)?,
        options: r.try_get(7)?,
        files: FileCounts {
            total: count(r.try_get(8)?),
            imported: count(r.try_get(9)?),
            skipped: count(r.try_get(10)?),
            failed: count(r.try_get(11)?),
        },
        rows: row_counts(r, 12)?,
        elapsed_ms: maybe_count(r, 18)?,
        peak_rss_bytes: maybe_count(r, 19)?,
        rows_per_sec: maybe_count(r, 20)?,
        bytes_per_sec: maybe_count(r, 21)?,
        planned_files: maybe_count(r, 22)?,
        planned_bytes: maybe_count(r, 23)?,
        skipped_bytes: maybe_count(r, 24)?,
    })
}

/// A file as run `run` saw it (see [`FileRecord::seen_by`]), from the
/// columns `files` selects.
fn file_of_run(run: i64, r: &PgRow) -> sqlx::Result<FileRecord> {
    let file = FileRecord {
        id: r.try_get(0)?,
        path: r.try_get(1)?,
        size_bytes: maybe_count(r, 2)?,
        state: r.try_get(3)?,
        rows: row_counts(r, 4)?,
        bytes_committed: count(r.try_get(10)?),
        rows_committed: count(r.try_get(11)?),
        line_committed: maybe_count(r, 15)?,
        bytes_from: 0,
        resumed_from_line: None,
        carried_on_by: None,
        error: r.try_get(12)?,
        started_at: r.try_get(13)?,
        finished_at: r.try_get(14)?,
    };
    let owner: i64 = r.try_get(16)?;
    let share = match r.try_get::<Option<i64>, _>(17)? {
        None => None,
        Some(_) => Some(RunShare {
            rows: row_counts(r, 18)?,
            bytes_from: count(r.try_get(24)?),
            line_from: maybe_count(r, 25)?,
            bytes_committed: maybe_count(r, 26)?,
            rows_committed: maybe_count(r, 27)?,
            line_committed: maybe_count(r, 28)?,
        }),
    };
    Ok(file.seen_by(run, owner, share))
}

impl Transaction<'_> {
    fn fetch_all(&self, sql: &str, bind: Option<i64>) -> Result<Vec<PgRow>> {
        let mut conn = self.conn.borrow_mut();
        let mut query = sqlx::query(sql);
        if let Some(value) = bind {
            query = query.bind(value);
        }
        wait(self.rt, query.fetch_all(&mut **conn))
    }

    fn scalar(&self, sql: &str) -> Result<Option<i64>> {
        let mut conn = self.conn.borrow_mut();
        wait(
            self.rt,
            sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(&mut **conn),
        )
    }
}

impl Queries for Transaction<'_> {
    fn runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {} FROM {}.import_runs ORDER BY id DESC LIMIT $1",
            run_columns(self.shares),
            self.quoted
        );
        let rows = self.fetch_all(&sql, Some(limit))?;
        Ok(rows.iter().map(run_record).collect::<sqlx::Result<_>>()?)
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        let sql = format!(
            "SELECT {} FROM {}.import_runs WHERE id = $1",
            run_columns(self.shares),
            self.quoted
        );
        let rows = self.fetch_all(&sql, Some(id))?;
        Ok(rows.first().map(run_record).transpose()?)
    }

    fn files(&self, run_id: i64) -> Result<Vec<FileRecord>> {
        // Its entries, and the files it read part of that a later run
        // carried on (see the SQLite reader).
        let q = self.quoted;
        let entry = format!(
            "f.id, f.path, f.size_bytes, f.state, f.rows_read, f.rows_imported, f.rows_rejected,
             f.rows_duplicate, f.rows_filtered, f.rows_failed, f.bytes_committed,
             f.rows_committed, f.error, {}, {}, f.line_committed, f.run_id",
            utc("f.started_at"),
            utc("f.finished_at"),
        );
        let sql = match self.shares {
            true => format!(
                "SELECT {entry}, r.file_id, coalesce(r.rows_read, r.rows_imported
                        + r.rows_rejected + r.rows_duplicate + r.rows_filtered + r.rows_failed),
                        r.rows_imported, r.rows_rejected, r.rows_duplicate, r.rows_filtered,
                        r.rows_failed, r.bytes_from, r.line_from, r.bytes_committed,
                        r.rows_committed, r.line_committed
                 FROM {q}.import_files f
                 LEFT JOIN {q}.import_file_runs r ON r.file_id = f.id AND r.run_id = $1
                 WHERE f.id IN (SELECT id FROM {q}.import_files WHERE run_id = $1
                                UNION SELECT file_id FROM {q}.import_file_runs WHERE run_id = $1)
                 ORDER BY f.id"
            ),
            false => format!(
                "SELECT {entry}, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::bigint
                 FROM {q}.import_files f WHERE f.run_id = $1 ORDER BY f.id"
            ),
        };
        let rows = self.fetch_all(&sql, Some(run_id))?;
        let file = |r: &PgRow| file_of_run(run_id, r);
        Ok(rows.iter().map(file).collect::<sqlx::Result<_>>()?)
    }

    fn partial_files(&self) -> Result<Vec<PartialFile>> {
        let sql = format!(
            "SELECT run_id, path, size_bytes, bytes_committed, rows_committed, line_committed
             FROM {}.import_files WHERE state = 'in_progress' ORDER BY id",
            self.quoted
        );
        let rows = self.fetch_all(&sql, None)?;
        let partial = |r: &PgRow| -> sqlx::Result<PartialFile> {
            Ok(PartialFile {
                run_id: r.try_get(0)?,
                path: r.try_get(1)?,
                size_bytes: maybe_count(r, 2)?,
                bytes_committed: count(r.try_get(3)?),
                rows_committed: count(r.try_get(4)?),
                line_committed: count(r.try_get(5)?),
            })
        };
        Ok(rows.iter().map(partial).collect::<sqlx::Result<_>>()?)
    }

    fn newest_run(&self) -> Result<Option<i64>> {
        self.scalar(&format!("SELECT max(id) FROM {}.import_runs", self.quoted))
    }

    fn live_runs(&self, _: &dyn Fn() -> Result<bool>) -> Result<Vec<i64>> {
        let mut conn = self.conn.borrow_mut();
        wait(
            self.rt,
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT r.id FROM {}.import_runs r WHERE {} ORDER BY r.id",
                self.quoted,
                crate::store::postgres::claim::LIVE_RUN
            ))
            .fetch_all(&mut **conn),
        )
    }

    fn finished_runs(&self, limit: i64) -> Result<Vec<FinishedRun>> {
        let sql = format!(
            "SELECT rows_read, rows_per_sec, bytes_per_sec, peak_rss_bytes, files_total, options
             FROM {}.import_runs
             WHERE state IN ('ok', 'partial') AND rows_read > 0
               AND rows_per_sec > 0 AND bytes_per_sec > 0
             ORDER BY id DESC LIMIT $1",
            self.quoted
        );
        let rows = self.fetch_all(&sql, Some(limit))?;
        let finished = |r: &PgRow| -> sqlx::Result<FinishedRun> {
            Ok(FinishedRun {
                rows_read: r.try_get(0)?,
                rows_per_sec: r.try_get(1)?,
                bytes_per_sec: r.try_get(2)?,
                peak_rss_bytes: r.try_get(3)?,
                files_total: r.try_get(4)?,
                options: r.try_get(5)?,
            })
        };
        Ok(rows.iter().map(finished).collect::<sqlx::Result<_>>()?)
    }
}
