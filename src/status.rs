//! `status`: recent runs, or one run with its files, read from the database
//! that imports write; also while an import is writing to it.
//!
//! The database is opened read-only (`SQLITE_OPEN_READ_ONLY`): this module
//! must never write to it, create it, or hold a lock an import waits for.
//! WAL mode lets it read while the writer commits; each refresh reads in one
//! short read transaction, so a run and its files are seen at the same
//! instant. A run recorded as `running` is only believed when its claim on
//! the database ([`claim::is_held`]) is alive; otherwise it was killed and is
//! shown as `interrupted`, as the next import will record it.
//!
//! While a run is going, `import_runs` holds only its start: its counts are
//! the sums of its files so far, and its progress and ETA come from the
//! checkpoints the writer commits with every chunk (`bytes_committed`).
//! Those are estimates, and the output says so: files not begun yet are not
//! in `import_files`, so their sizes are guessed, and checkpoint bytes count
//! the decoded text (a `.gz` file's progress cannot be told from them).

use crate::cli::{ImportArgs, StatusArgs};
use crate::outcome::RowCounts;
use crate::report::{Exit, FileCounts};
use crate::settings::{Settings, UsageError};
use crate::store::sqlite::claim;
use crate::store::sqlite::write::row_counts;
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Serialize, Serializer};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// How long a read waits when the database is briefly locked (WAL recovery,
/// or a database left in rollback-journal mode while the writer commits).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often `--follow` reads the database again.
const REFRESH: Duration = Duration::from_secs(1);

/// Runs `status` and returns the exit code (0; errors are 1 or 2 upstream).
pub fn run(args: StatusArgs) -> Result<ExitCode> {
    let limit = crate::limits::STATUS_LIMIT
        .pick(args.limit.as_deref(), None)
        .map_err(UsageError::from)?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let run_id = match args.run_id.as_deref() {
        Some(text) => Some(
            crate::limits::RUN_ID
                .flag_value(text)
                .map_err(UsageError::from)?,
        ),
        None => None,
    }
    .map(|id| i64::try_from(id).unwrap_or(i64::MAX));
    let db = Settings::from_args(ImportArgs {
        db: args.db.clone(),
        config: args.config.clone(),
        ..ImportArgs::default()
    })?
    .db;
    let conn = open(&db, args.follow)?;
    let mut out = std::io::stdout().lock();
    if args.follow {
        return follow(&conn, &db, run_id, args.json, &mut out);
    }
    match run_id {
        None => {
            let (runs, partial) =
                read_snapshot(&conn, &db, |s| Ok((s.runs(limit)?, s.partial_files()?)))?;
            if args.json {
                writeln!(out, "{}", to_json(&runs, true)?)?;
            } else {
                write_list(&mut out, &db, &runs)?;
                write_partial(&mut out, &partial)?;
            }
        }
        Some(id) => {
            let detail = read_snapshot(&conn, &db, |s| s.detail(id))?;
            if args.json {
                writeln!(out, "{}", to_json(&detail, true)?)?;
            } else {
                write_detail(&mut out, &detail)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(Exit::Ok as u8))
}

// ---------------------------------------------------------------------------
// Opening and reading the database

/// Opens `db` read-only; never creates it.
/// Opens the database to read; `follow`: to read it again and again, so
/// that a run starting meanwhile is seen (never the file alone).
fn open(db: &Path, follow: bool) -> Result<Connection> {
    match std::fs::metadata(db) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("no database at {} (nothing imported yet)", db.display())
        }
        Err(e) => bail!("cannot open {}: {e}", db.display()),
        Ok(meta) if !meta.is_file() => bail!("{} is not a database file", db.display()),
        Ok(_) => {}
    }
    // Read-only media too: see `schema::open_read_only`.
    let conn = match follow {
        true => crate::store::sqlite::schema::open_read_only(db),
        false => crate::store::sqlite::schema::open_to_look(db),
    }
    .with_context(|| format!("cannot open {}", db.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'
             AND name IN ('import_runs', 'import_files')",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("{} is not a usable SQLite database", db.display()))?;
    if tables != 2 {
        bail!(
            "no import history in {} (nothing imported yet: it has no import_runs table)",
            db.display()
        );
    }
    Ok(conn)
}

/// Runs `read` inside one read transaction, so everything it sees is from
/// the same commit of the writer.
fn read_snapshot<T>(
    conn: &Connection,
    db: &Path,
    read: impl FnOnce(&Snapshot) -> Result<T>,
) -> Result<T> {
    let tx = conn
        .unchecked_transaction()
        .with_context(|| format!("cannot read {}", db.display()))?;
    let newest_running: Option<i64> = tx
        .query_row(
            "SELECT max(id) FROM import_runs WHERE state = 'running'",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("cannot read {}", db.display()))?;
    let snapshot = Snapshot {
        conn: &tx,
        db,
        // Only the newest `running` run can be the live one: the others were
        // killed before the next run could mark them.
        live_run: newest_running.filter(|_| claim::is_held(db)),
        now: SystemTime::now(),
    };
    let result = read(&snapshot).map_err(|e| {
        if e.is::<NoSuchRun>() {
            e
        } else {
            e.context(format!("cannot read {}", db.display()))
        }
    });
    // Ending a read transaction cannot lose anything; its error is moot.
    let _ = tx.finish();
    result
}

/// `status RUN_ID` names a run the database does not hold.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NoSuchRun(String);

/// The database as of one read transaction.
struct Snapshot<'a> {
    conn: &'a Connection,
    db: &'a Path,
    /// The run that an import is writing right now, if any.
    live_run: Option<i64>,
    now: SystemTime,
}

const RUN_COLUMNS: &str = "id, started_at, finished_at, state, pid, version, options,
    files_total, files_imported, files_skipped, files_failed,
    rows_read, rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed,
    elapsed_ms, peak_rss_bytes, rows_per_sec, bytes_per_sec";

/// One `import_runs` row as stored.
#[derive(Debug, Clone)]
struct RunRecord {
    id: i64,
    started_at: String,
    finished_at: Option<String>,
    state: String,
    pid: i64,
    version: String,
    options: String,
    files: FileCounts,
    rows: RowCounts,
    elapsed_ms: Option<u64>,
    peak_rss_bytes: Option<u64>,
    rows_per_sec: Option<u64>,
    bytes_per_sec: Option<u64>,
}

impl RunRecord {
    fn from_row(r: &Row) -> rusqlite::Result<RunRecord> {
        Ok(RunRecord {
            id: r.get(0)?,
            started_at: r.get(1)?,
            finished_at: r.get(2)?,
            state: r.get(3)?,
            pid: r.get(4)?,
            version: r.get(5)?,
            options: r.get(6)?,
            files: FileCounts {
                total: r.get(7)?,
                imported: r.get(8)?,
                skipped: r.get(9)?,
                failed: r.get(10)?,
            },
            rows: row_counts(r, 11)?,
            elapsed_ms: r.get(17)?,
            peak_rss_bytes: r.get(18)?,
            rows_per_sec: r.get(19)?,
            bytes_per_sec: r.get(20)?,
        })
    }
}

/// One `import_files` row as stored.
#[derive(Debug, Clone)]
struct FileRecord {
    id: i64,
    path: String,
    size_bytes: Option<u64>,
    state: String,
    rows: RowCounts,
    bytes_committed: u64,
    rows_committed: u64,
    error: Option<String>,
    started_at: String,
    finished_at: Option<String>,
}

impl FileRecord {
    fn from_row(r: &Row) -> rusqlite::Result<FileRecord> {
        Ok(FileRecord {
            id: r.get(0)?,
            path: r.get(1)?,
            size_bytes: r.get(2)?,
            state: r.get(3)?,
            rows: row_counts(r, 4)?,
            bytes_committed: r.get(10)?,
            rows_committed: r.get(11)?,
            error: r.get(12)?,
            started_at: r.get(13)?,
            finished_at: r.get(14)?,
        })
    }

    /// The file's progress can be told from its checkpoint: the checkpoint
    /// counts decoded bytes, which for gzip are not the bytes on disk.
    fn measurable(&self) -> bool {
        !self.path.to_ascii_lowercase().ends_with(".gz")
    }

    /// Committed bytes, as a share of the size on disk (0..=1).
    fn fraction(&self) -> Option<f64> {
        let size = self.size_bytes?;
        if !self.measurable() {
            return None;
        }
        if size == 0 {
            return Some(1.0);
        }
        Some((self.bytes_committed.min(size) as f64 / size as f64).clamp(0.0, 1.0))
    }
}

impl Snapshot<'_> {
    /// The newest `limit` runs, newest first.
    fn runs(&self, limit: usize) -> Result<Vec<RunView>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let records: Vec<RunRecord> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM import_runs ORDER BY id DESC LIMIT ?1"
            ))?
            .query_map([limit], RunRecord::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        records
            .iter()
            .map(|r| {
                // A finished run has its totals; the others have their files.
                let files = if r.finished_at.is_none() {
                    self.files(r.id)?
                } else {
                    Vec::new()
                };
                Ok(self.view(r, &files))
            })
            .collect()
    }

    /// The files that killed runs left part-way, oldest first: their rows
    /// stay in the tables until the same file is imported again.
    fn partial_files(&self) -> Result<Vec<PartialFile>> {
        let found: Vec<PartialFile> = self
            .conn
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
            .collect::<rusqlite::Result<_>>()?;
        Ok(found
            .into_iter()
            .filter(|f| Some(f.run_id) != self.live_run)
            .collect())
    }

    fn newest_run(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM import_runs", [], |r| r.get(0))?)
    }

    fn files(&self, run_id: i64) -> Result<Vec<FileRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, path, size_bytes, state, rows_read, rows_imported, rows_rejected,
                        rows_duplicate, rows_filtered, rows_failed, bytes_committed,
                        rows_committed, error, started_at, finished_at
                 FROM import_files WHERE run_id = ?1 ORDER BY id",
            )?
            .query_map([run_id], FileRecord::from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// One run with its files; an unknown id is an error naming the database.
    fn detail(&self, id: i64) -> Result<Detail> {
        let record = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM import_runs WHERE id = ?1"
            ))?
            .query_row([id], RunRecord::from_row)
            .optional()?
            .ok_or_else(|| NoSuchRun(format!("no run {id} in {}", self.db.display())))?;
        let files = self.files(id)?;
        let run = self.view(&record, &files);
        let live = run.state == RunState::Running;
        let progress = live.then(|| {
            estimate(
                parse_time(&record.started_at),
                self.now,
                record.files.total,
                &files,
            )
        });
        let file_views = files
            .iter()
            .map(|f| file_view(f, live, parse_time(&record.started_at), self.now))
            .collect();
        let options = serde_json::from_str(&record.options)
            .unwrap_or(serde_json::Value::String(record.options.clone()));
        Ok(Detail {
            run: RunDetail {
                run,
                pid: record.pid,
                version: record.version,
                options,
            },
            files: file_views,
            progress,
        })
    }

    /// What a person or script should see of a run: a run that is still
    /// going is counted from its files, a killed one is `interrupted`.
    fn view(&self, r: &RunRecord, files: &[FileRecord]) -> RunView {
        let live = self.live_run == Some(r.id) && r.state == "running";
        let state = match r.state.as_str() {
            "running" if live => RunState::Running,
            "running" | "interrupted" => RunState::Interrupted,
            "ok" => RunState::Ok,
            "partial" => RunState::Partial,
            "failed" => RunState::Failed,
            other => RunState::Other(other.to_string()),
        };
        let mut view = RunView {
            id: r.id,
            state,
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            elapsed_ms: r.elapsed_ms,
            files: r.files,
            rows: r.rows,
            peak_rss_bytes: r.peak_rss_bytes,
            rows_per_sec: r.rows_per_sec,
            bytes_per_sec: r.bytes_per_sec,
        };
        if r.finished_at.is_some() {
            return view;
        }
        // Not finished: its totals are those of its last commit (a file it
        // left part-way and a later run resumed has moved to that run, so
        // its files would not tell). A run recorded by a version that wrote
        // totals only at the end has none: its files tell.
        let bytes: u64 = files.iter().map(done_bytes).sum();
        if r.rows == RowCounts::default() {
            let mut counts = FileCounts {
                total: r.files.total,
                ..FileCounts::default()
            };
            for f in files {
                match f.state.as_str() {
                    "imported" => counts.imported += 1,
                    "skipped" => counts.skipped += 1,
                    "failed" => counts.failed += 1,
                    _ => {}
                }
                view.rows.add(&f.rows);
            }
            view.files = counts;
        }
        let rows = view.rows;
        if live {
            let elapsed = parse_time(&r.started_at)
                .and_then(|t| self.now.duration_since(t).ok())
                .unwrap_or_default();
            let ms = elapsed.as_millis() as u64;
            view.elapsed_ms = Some(ms);
            if ms >= 1000 {
                view.rows_per_sec = Some(rows.read * 1000 / ms);
                view.bytes_per_sec = Some(bytes * 1000 / ms);
            }
            view.peak_rss_bytes = peak_rss_of(r.pid);
        }
        view
    }
}

// ---------------------------------------------------------------------------
// What is shown

/// A run's state as shown: `running` only while an import holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RunState {
    Running,
    Ok,
    Partial,
    Failed,
    Interrupted,
    /// A state a newer version wrote, shown as stored.
    Other(String),
}

impl RunState {
    fn as_str(&self) -> &str {
        match self {
            RunState::Running => "running",
            RunState::Ok => "ok",
            RunState::Partial => "partial",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Other(s) => s,
        }
    }
}

impl Serialize for RunState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One run, as listed (`status`, `status --json`). `files` and `rows` have
/// the shape of the import summary's.
#[derive(Debug, Clone, Serialize)]
struct RunView {
    id: i64,
    state: RunState,
    started_at: String,
    finished_at: Option<String>,
    /// So far, while the run is going; unknown for a killed run.
    elapsed_ms: Option<u64>,
    files: FileCounts,
    rows: RowCounts,
    peak_rss_bytes: Option<u64>,
    rows_per_sec: Option<u64>,
    bytes_per_sec: Option<u64>,
}

/// `status RUN_ID`.
#[derive(Debug, Serialize)]
struct Detail {
    run: RunDetail,
    files: Vec<FileView>,
    /// Only while the run is going.
    progress: Option<Progress>,
}

#[derive(Debug, Serialize)]
struct RunDetail {
    #[serde(flatten)]
    run: RunView,
    pid: i64,
    version: String,
    /// The run's settings, as the import recorded them.
    options: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct FileView {
    id: i64,
    path: String,
    /// `in_progress` while the run goes; `interrupted` when it stopped
    /// before the file was done (the next run resumes it).
    state: String,
    size_bytes: Option<u64>,
    rows: RowCounts,
    bytes_committed: u64,
    rows_committed: u64,
    /// Committed share of the file, 0..=100, for a file not done yet.
    progress_percent: Option<f64>,
    /// Estimated seconds until the file is done, while the run is going.
    eta_secs: Option<u64>,
    started_at: String,
    finished_at: Option<String>,
    error: Option<String>,
}

fn file_view(
    f: &FileRecord,
    live: bool,
    run_started: Option<SystemTime>,
    now: SystemTime,
) -> FileView {
    let in_progress = f.state == "in_progress";
    let state = if in_progress && !live {
        "interrupted".to_string()
    } else {
        f.state.clone()
    };
    let eta_secs = (in_progress && live)
        .then(|| file_eta(f, run_started, now))
        .flatten()
        .map(|d| d.as_secs());
    FileView {
        id: f.id,
        path: f.path.clone(),
        state,
        size_bytes: f.size_bytes,
        rows: f.rows,
        bytes_committed: f.bytes_committed,
        rows_committed: f.rows_committed,
        progress_percent: in_progress
            .then(|| f.fraction())
            .flatten()
            .map(|p| (p * 1000.0).round() / 10.0),
        eta_secs,
        started_at: f.started_at.clone(),
        finished_at: f.finished_at.clone(),
        error: f.error.clone(),
    }
}

/// Bytes of a file that the run has got through: all of an imported file,
/// the committed part of one in progress.
fn done_bytes(f: &FileRecord) -> u64 {
    match f.state.as_str() {
        "imported" => f.size_bytes.unwrap_or(0),
        "in_progress" => f
            .fraction()
            .zip(f.size_bytes)
            .map(|(p, size)| (p * size as f64) as u64)
            .unwrap_or(0),
        _ => 0,
    }
}

/// A file's own ETA: its committed bytes over the time since it (or, when
/// it was resumed from an earlier run, this run) began.
fn file_eta(f: &FileRecord, run_started: Option<SystemTime>, now: SystemTime) -> Option<Duration> {
    let size = f.size_bytes?;
    let began = parse_time(&f.started_at).max(run_started)?;
    let secs = now.duration_since(began).ok()?.as_secs_f64();
    let done = done_bytes(f);
    if secs < 1.0 || done == 0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        size.saturating_sub(done) as f64 / (done as f64 / secs),
    ))
}

/// The run's overall progress and ETA, from its committed checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Progress {
    /// Bytes done: imported files whole, files in progress up to their
    /// checkpoint.
    bytes_done: u64,
    /// Bytes done plus the estimate of what is left.
    bytes_total_estimate: u64,
    percent_estimate: Option<f64>,
    files_total: u64,
    files_not_started: u64,
    /// The size assumed for each file not begun yet: files begin smallest
    /// first, so each is at least as large as the largest begun so far.
    assumed_bytes_per_file_not_started: u64,
    /// Files in progress whose checkpoint says nothing of their progress
    /// (gzip): counted as not begun.
    files_unmeasurable: u64,
    bytes_per_sec: Option<u64>,
    /// None until there is a rate to go by.
    eta_secs: Option<u64>,
    /// Always true: the ETA assumes the rate so far holds and guesses the
    /// sizes of files not begun.
    is_estimate: bool,
}

fn estimate(
    run_started: Option<SystemTime>,
    now: SystemTime,
    files_total: u64,
    files: &[FileRecord],
) -> Progress {
    let mut done = 0u64;
    let mut left = 0u64;
    let mut largest = 0u64;
    let mut unmeasurable = 0u64;
    for f in files {
        let size = f.size_bytes.unwrap_or(0);
        largest = largest.max(size);
        if f.state == "in_progress" {
            if f.measurable() {
                let d = done_bytes(f);
                done += d;
                left += size.saturating_sub(d);
            } else {
                unmeasurable += 1;
                left += size;
            }
        } else {
            done += done_bytes(f);
        }
    }
    let not_started = files_total.saturating_sub(files.len() as u64);
    left += not_started * largest;
    let secs = run_started
        .and_then(|t| now.duration_since(t).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let rate = (secs >= 1.0 && done > 0).then(|| done as f64 / secs);
    let total = done + left;
    Progress {
        bytes_done: done,
        bytes_total_estimate: total,
        percent_estimate: (total > 0).then(|| (done as f64 * 1000.0 / total as f64).round() / 10.0),
        files_total,
        files_not_started: not_started,
        assumed_bytes_per_file_not_started: largest,
        files_unmeasurable: unmeasurable,
        bytes_per_sec: rate.map(|r| r as u64),
        eta_secs: rate.map(|r| (left as f64 / r).ceil() as u64),
        is_estimate: true,
    }
}

/// The peak resident memory of a live import, from the kernel.
#[cfg(target_os = "linux")]
fn peak_rss_of(pid: i64) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(not(target_os = "linux"))]
fn peak_rss_of(_pid: i64) -> Option<u64> {
    None
}

// ---------------------------------------------------------------------------
// --follow

/// Shows the run until it is no longer running: redrawn on a terminal, a
/// line per change elsewhere (one JSON document per line with `--json`).
fn follow(
    conn: &Connection,
    db: &Path,
    run_id: Option<i64>,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let id = match run_id {
        Some(id) => id,
        None => match read_snapshot(conn, db, |s| s.newest_run())? {
            Some(id) => id,
            None => {
                let db = db.to_string_lossy();
                writeln!(out, "no runs in {}", crate::escape::escaped(&db))?;
                return Ok(ExitCode::from(Exit::Ok as u8));
            }
        },
    };
    let redraw = !json && std::io::stdout().is_terminal();
    let mut last: Option<String> = None;
    loop {
        let detail = read_snapshot(conn, db, |s| s.detail(id))?;
        let going = detail.run.run.state == RunState::Running;
        if json {
            let doc = to_json(&detail, false)?;
            // Times move every second; a line is worth printing when the
            // counts or the state moved.
            let key = change_key(&detail);
            if !going || last.as_deref() != Some(key.as_str()) {
                writeln!(out, "{doc}")?;
                last = Some(key);
            }
        } else if redraw {
            write!(out, "\x1b[H\x1b[2J")?;
            write_detail(out, &detail)?;
        } else if !going {
            if last.is_some() {
                writeln!(out)?;
            }
            write_detail(out, &detail)?;
        } else {
            let key = change_key(&detail);
            if last.is_none() {
                write_detail(out, &detail)?;
                writeln!(out)?;
            }
            if last.as_deref() != Some(key.as_str()) {
                writeln!(out, "{}", progress_line(&detail))?;
                last = Some(key);
            }
        }
        out.flush()?;
        if !going {
            return Ok(ExitCode::from(Exit::Ok as u8));
        }
        std::thread::sleep(REFRESH);
    }
}

/// What must differ for `--follow` to print again off a terminal.
fn change_key(d: &Detail) -> String {
    let r = &d.run.run;
    let committed: u64 = d.files.iter().map(|f| f.bytes_committed).sum();
    format!(
        "{} {} {:?} {:?} {committed} {}",
        r.state.as_str(),
        d.files.len(),
        r.files,
        r.rows,
        d.files
            .iter()
            .map(|f| f.state.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// One line of `--follow` off a terminal.
fn progress_line(d: &Detail) -> String {
    let r = &d.run.run;
    let mut line = format!(
        "run {} {}: {} elapsed, files {} done of {}, rows read {} imported {} rejected {} duplicate {}",
        r.id,
        r.state.as_str(),
        r.elapsed_ms.map(human_ms).unwrap_or_else(|| "-".into()),
        r.files.imported + r.files.skipped + r.files.failed,
        r.files.total,
        r.rows.read,
        r.rows.imported,
        r.rows.rejected,
        r.rows.duplicate,
    );
    if let Some(p) = &d.progress {
        line.push_str(&format!(", ETA {}", eta_text(p)));
    }
    line
}

// ---------------------------------------------------------------------------
// Text output

fn to_json<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    Ok(if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    })
}

fn write_list(out: &mut dyn Write, db: &Path, runs: &[RunView]) -> Result<()> {
    // Paths and messages come from files and users: none reaches the
    // terminal raw.
    let out = &mut crate::escape::Lines(out);
    if runs.is_empty() {
        writeln!(out, "no runs in {}", db.display())?;
        return Ok(());
    }
    let mut table = Table::new(&[
        ("ID", Align::Right),
        ("STARTED", Align::Left),
        ("DURATION", Align::Right),
        ("OK", Align::Right),
        ("SKIPPED", Align::Right),
        ("FAILED", Align::Right),
        ("IMPORTED", Align::Right),
        ("REJECTED", Align::Right),
        ("DUPLICATE", Align::Right),
        ("PEAK MEM", Align::Right),
        ("ROWS/S", Align::Right),
        ("STATE", Align::Left),
    ]);
    for r in runs {
        table.row(vec![
            r.id.to_string(),
            local_time(&r.started_at, false),
            duration_text(r),
            r.files.imported.to_string(),
            r.files.skipped.to_string(),
            r.files.failed.to_string(),
            r.rows.imported.to_string(),
            r.rows.rejected.to_string(),
            r.rows.duplicate.to_string(),
            opt(r.peak_rss_bytes.map(human_bytes)),
            opt(r.rows_per_sec.map(|n| n.to_string())),
            r.state.as_str().to_string(),
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// A file a killed run left `in_progress`.
#[derive(Debug)]
struct PartialFile {
    run_id: i64,
    path: String,
    size_bytes: Option<u64>,
    bytes_committed: u64,
    rows_committed: u64,
    line_committed: u64,
}

/// Names the partial files under the list of runs, if there are any.
fn write_partial(out: &mut dyn Write, files: &[PartialFile]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\npartial files left by killed runs (their rows stay until the same file is imported again):"
    )?;
    for f in files {
        let of_size = match f.size_bytes {
            Some(size) => format!(" of {}", human_bytes(size)),
            None => String::new(),
        };
        writeln!(
            out,
            "  {}: run {}, {} rows committed, up to line {} ({}{of_size})",
            crate::escape::escaped(&f.path),
            f.run_id,
            f.rows_committed,
            f.line_committed,
            human_bytes(f.bytes_committed)
        )?;
    }
    Ok(())
}

fn duration_text(r: &RunView) -> String {
    match (r.elapsed_ms, &r.state) {
        (Some(ms), RunState::Running) => format!("{} so far", human_ms(ms)),
        (Some(ms), _) => human_ms(ms),
        (None, _) => "-".into(),
    }
}

fn write_detail(out: &mut dyn Write, d: &Detail) -> Result<()> {
    let out = &mut crate::escape::Lines(out);
    let r = &d.run.run;
    writeln!(out, "run {}: {}", r.id, r.state.as_str())?;
    let field =
        |out: &mut dyn Write, name: &str, value: &str| writeln!(out, "  {name:<11} {value}");
    field(out, "started", &local_time(&r.started_at, true))?;
    if let Some(f) = &r.finished_at {
        field(out, "finished", &local_time(f, true))?;
    }
    field(out, "elapsed", &duration_text(r))?;
    let done = r.files.imported + r.files.skipped + r.files.failed;
    let mut files = format!(
        "{} in the run: {} imported, {} skipped, {} failed",
        r.files.total, r.files.imported, r.files.skipped, r.files.failed
    );
    let unfinished = r.files.total.saturating_sub(done);
    if r.finished_at.is_none() && unfinished > 0 {
        let begun = d.files.len() as u64 - done.min(d.files.len() as u64);
        let what = if r.state == RunState::Running {
            "in progress"
        } else {
            "interrupted"
        };
        files.push_str(&format!(
            ", {begun} {what}, {} not started",
            unfinished.saturating_sub(begun)
        ));
    }
    field(out, "files", &files)?;
    let rows = &r.rows;
    field(
        out,
        "rows",
        &format!(
            "read {}: imported {}, rejected {}, duplicate {}, filtered {}, failed {}",
            rows.read, rows.imported, rows.rejected, rows.duplicate, rows.filtered, rows.failed
        ),
    )?;
    field(out, "peak memory", &opt(r.peak_rss_bytes.map(human_bytes)))?;
    let throughput = match (r.rows_per_sec, r.bytes_per_sec) {
        (Some(rows), Some(bytes)) => format!("{rows} rows/s, {}/s", human_bytes(bytes)),
        (Some(rows), None) => format!("{rows} rows/s"),
        _ => "-".into(),
    };
    field(out, "throughput", &throughput)?;
    if let Some(p) = &d.progress {
        field(out, "progress", &progress_text(p))?;
        field(out, "eta", &eta_text(p))?;
    }
    field(
        out,
        "process",
        &format!("pid {}, dropship-import {}", d.run.pid, d.run.version),
    )?;
    let (inputs, options) = options_summary(&d.run.options);
    if !inputs.is_empty() {
        field(out, "inputs", &inputs)?;
    }
    field(out, "options", &options)?;
    writeln!(out)?;

    if d.files.is_empty() {
        writeln!(out, "no files recorded yet")?;
        return Ok(());
    }
    let show_progress = d.files.iter().any(|f| f.progress_percent.is_some());
    let show_eta = d.progress.is_some();
    let mut columns = vec![
        ("PATH", Align::Left),
        ("STATE", Align::Left),
        ("SIZE", Align::Right),
    ];
    if show_progress {
        columns.push(("DONE", Align::Right));
    }
    if show_eta {
        columns.push(("ETA", Align::Right));
    }
    columns.extend([
        ("READ", Align::Right),
        ("IMPORTED", Align::Right),
        ("REJECTED", Align::Right),
        ("DUPLICATE", Align::Right),
        ("FILTERED", Align::Right),
        ("FAILED", Align::Right),
        ("ERROR", Align::Left),
    ]);
    let mut table = Table::new(&columns);
    for f in &d.files {
        let mut row = vec![
            f.path.clone(),
            f.state.clone(),
            opt(f.size_bytes.map(human_bytes)),
        ];
        if show_progress {
            row.push(match (f.progress_percent, f.state.as_str()) {
                (Some(p), _) => format!("{p:.1}%"),
                (None, "in_progress" | "interrupted") => "?".into(),
                (None, _) => String::new(),
            });
        }
        if show_eta {
            row.push(match (f.eta_secs, f.state.as_str()) {
                (Some(s), _) => human_secs(s),
                (None, "in_progress") => "?".into(),
                (None, _) => String::new(),
            });
        }
        let c = &f.rows;
        row.extend([
            c.read.to_string(),
            c.imported.to_string(),
            c.rejected.to_string(),
            c.duplicate.to_string(),
            c.filtered.to_string(),
            c.failed.to_string(),
            f.error.clone().unwrap_or_default(),
        ]);
        table.row(row);
    }
    table.write(out)?;
    if let Some(p) = &d.progress
        && p.files_not_started > 0
    {
        writeln!(
            out,
            "... and {} not started yet (not in the database until they begin)",
            plural(p.files_not_started, "file")
        )?;
    }
    Ok(())
}

fn progress_text(p: &Progress) -> String {
    let share = p
        .percent_estimate
        .map(|pct| format!("~{pct:.1}%"))
        .unwrap_or_else(|| "?".into());
    format!(
        "{share} ({} of ~{} committed)",
        human_bytes(p.bytes_done),
        human_bytes(p.bytes_total_estimate)
    )
}

/// The ETA, and what it rests on: it is an estimate and says so.
fn eta_text(p: &Progress) -> String {
    let Some(eta) = p.eta_secs else {
        return "unknown yet (no committed checkpoint to measure a rate by)".into();
    };
    let mut basis = vec![format!(
        "{}/s, the rate since the run started",
        human_bytes(p.bytes_per_sec.unwrap_or(0))
    )];
    if p.files_not_started > 0 {
        basis.push(format!(
            "{} not started, guessed at {} each",
            plural(p.files_not_started, "file"),
            human_bytes(p.assumed_bytes_per_file_not_started)
        ));
    }
    if p.files_unmeasurable > 0 {
        basis.push(format!(
            "{} counted as not begun",
            plural(p.files_unmeasurable, "compressed file")
        ));
    }
    format!("{} (estimate: {})", human_secs(eta), basis.join("; "))
}

/// `1 file`, `2 files`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The inputs, and the options that shape a run, from the recorded settings.
fn options_summary(options: &serde_json::Value) -> (String, String) {
    use serde_json::Value;
    let Value::Object(map) = options else {
        return (String::new(), options.to_string());
    };
    let inputs = match map.get("inputs") {
        Some(Value::Array(items)) => {
            let names: Vec<String> = items.iter().map(plain).collect();
            if names.len() > 4 {
                format!("{} and {} more", names[..4].join(" "), names.len() - 4)
            } else {
                names.join(" ")
            }
        }
        _ => String::new(),
    };
    let sizes = ["max_file_size", "max_memory_bytes"];
    let keys = [
        "jobs",
        "chunk_size",
        "max_file_size",
        "on_duplicate",
        "max_errors",
        "force",
        "memory_optimization",
        "max_memory_bytes",
    ];
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let v = map.get(*k)?;
            let text = match v.as_u64() {
                Some(n) if sizes.contains(k) => human_bytes(n),
                _ => plain(v),
            };
            Some(format!("{k} {text}"))
        })
        .collect();
    (inputs, parts.join(", "))
}

/// A JSON value without quotes around strings.
fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opt(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, two spaces apart.
struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; a cell's control characters (a line break in a file
    /// name included) are escaped, so each row stays one line.
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| crate::escape::escaped(&c).into_owned())
                .collect(),
        );
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let width = |i: usize| {
            self.rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([self.columns[i].0.len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.columns.len()).map(width).collect();
        let header: Vec<String> = self.columns.iter().map(|c| c.0.to_string()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (_, align)) in self.columns.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                match align {
                    Align::Right => {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(cell);
                    }
                    Align::Left => {
                        line.push_str(cell);
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Units and times

/// `512 B`, `24.1 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        let s = ms / 1000;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = ms / 60_000;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// `<1s`, `~42s`, `~4m 05s`, `~2h 03m`: an ETA, whole seconds, approximate.
fn human_secs(secs: u64) -> String {
    match secs {
        0 => "<1s".into(),
        1..60 => format!("~{secs}s"),
        _ => format!("~{}", human_ms(secs * 1000)),
    }
}

/// A time as stored (RFC 3339, UTC); `None` when it is not one.
fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// A stored time in the local time zone: `2025-01-01T17:00:00+07:00`, or
/// without the offset and with a space for a table. Shown as stored when it
/// cannot be read.
fn local_time(stored: &str, with_offset: bool) -> String {
    let Some(t) = parse_time(stored) else {
        return stored.to_string();
    };
    let Some((civil, offset_secs)) = local(t) else {
        return stored.to_string();
    };
    if !with_offset {
        return civil.replacen('T', " ", 1);
    }
    if offset_secs == 0 {
        return format!("{civil}Z");
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let off = offset_secs.unsigned_abs() / 60;
    format!("{civil}{sign}{:02}:{:02}", off / 60, off % 60)
}

/// `YYYY-MM-DDTHH:MM:SS` in local time, and the offset from UTC in seconds.
#[cfg(unix)]
fn local(t: SystemTime) -> Option<(String, i64)> {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let secs = libc::time_t::try_from(secs).ok()?;
    // SAFETY: localtime_r only writes into the `tm` we own and reads `secs`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return None;
    }
    Some((
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            tm.tm_year as i64 + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        ),
        tm.tm_gmtoff as i64,
    ))
}

#[cfg(not(unix))]
fn local(t: SystemTime) -> Option<(String, i64)> {
    let utc = humantime::format_rfc3339_seconds(t).to_string();
    Some((utc.trim_end_matches('Z').to_string(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, state: &str, size: u64, committed: u64, started: &str) -> FileRecord {
        FileRecord {
            id: 1,
            path: path.into(),
            size_bytes: Some(size),
            state: state.into(),
            rows: RowCounts::default(),
            bytes_committed: committed,
            rows_committed: 0,
            error: None,
            started_at: started.into(),
            finished_at: None,
        }
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(25_270_000), "24.1 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_ms(850), "850ms");
        assert_eq!(human_ms(12_340), "12.3s");
        assert_eq!(human_ms(245_000), "4m 05s");
        assert_eq!(human_ms(7_380_000), "2h 03m");
        assert_eq!(human_secs(0), "<1s");
        assert_eq!(human_secs(42), "~42s");
        assert_eq!(human_secs(245), "~4m 05s");
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let mut t = Table::new(&[("ID", Align::Right), ("STATE", Align::Left)]);
        t.row(vec!["7".into(), "ok".into()]);
        t.row(vec!["12".into(), "interrupted".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID  STATE\n 7  ok\n12  interrupted\n"
        );
    }

    #[test]
    fn eta_from_committed_bytes_and_guessed_sizes() {
        let start = "2025-01-01T10:00:00Z";
        let files = [
            file("a.csv", "imported", 1000, 1000, start),
            file("b.csv", "in_progress", 2000, 1000, start),
        ];
        // 2000 bytes done in 10 s: 200 B/s. Left: 1000 of b, and two files
        // not begun, guessed at 2000 each: 5000 bytes, 25 s.
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:10Z"), 4, &files);
        assert_eq!(p.bytes_done, 2000);
        assert_eq!(p.bytes_total_estimate, 7000);
        assert_eq!(p.files_not_started, 2);
        assert_eq!(p.bytes_per_sec, Some(200));
        assert_eq!(p.eta_secs, Some(25));
        assert!(p.is_estimate);
        assert_eq!(
            file_eta(&files[1], Some(at(start)), at("2025-01-01T10:00:10Z")),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn no_eta_before_anything_is_committed_or_for_gzip() {
        let start = "2025-01-01T10:00:00Z";
        let files = [file("a.csv", "in_progress", 1000, 0, start)];
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:05Z"), 1, &files);
        assert_eq!(p.eta_secs, None);
        assert!(eta_text(&p).contains("unknown"));

        let gz = file("a.csv.gz", "in_progress", 1000, 5000, start);
        assert_eq!(gz.fraction(), None);
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:05Z"), 1, &[gz]);
        assert_eq!(p.bytes_done, 0);
        assert_eq!(p.files_unmeasurable, 1);

        // Decoded bytes past the size on disk never show more than 100%.
        let grown = file("w.csv", "in_progress", 1000, 1200, start);
        assert_eq!(grown.fraction(), Some(1.0));
    }

    #[test]
    fn options_are_summarised() {
        let v: serde_json::Value = serde_json::json!({
            "inputs": ["a.csv", "b/"], "jobs": 1, "chunk_size": 100,
            "max_file_size": 104857600, "on_duplicate": "skip", "force": false
        });
        let (inputs, options) = options_summary(&v);
        assert_eq!(inputs, "a.csv b/");
        assert_eq!(
            options,
            "jobs 1, chunk_size 100, max_file_size 100.0 MiB, on_duplicate skip, force false"
        );
        let (_, raw) = options_summary(&serde_json::Value::String("x".into()));
        assert_eq!(raw, "\"x\"");
    }

    #[test]
    fn utc_times_read_back() {
        assert!(parse_time("2025-01-01T10:00:00Z").is_some());
        assert_eq!(local_time("not a time", true), "not a time");
    }
}
