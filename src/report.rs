//! Report: the JSON summary on stdout, the short human summary on stderr, and
//! the exit code, all derived from what the writer recorded.
//!
//! The summary's shape is a contract with scripts (see SPEC.md); its fields
//! are a `#[derive(Serialize)]` struct so the shape is visible in one place.

use crate::escape::escaped;
use crate::outcome::{FileOutcome, FileStatus, OrderCounts, Reject, RowCounts};
use crate::units::seconds;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every file imported or already in, no row rejected.
    Ok,
    /// Some rows were rejected or some files failed; the rest is in.
    Partial,
    /// No file could be imported.
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            RunStatus::Ok => Exit::Ok,
            RunStatus::Partial | RunStatus::Failed => Exit::Partial,
            RunStatus::Interrupted => Exit::Interrupted,
        } as u8)
    }
}

/// The process exit codes of SPEC.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// The run could not do its job.
    Error = 1,
    Usage = 2,
    /// Finished, but some rows were rejected or some files failed.
    Partial = 3,
    Interrupted = 130,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub run_id: Option<i64>,
    pub version: &'static str,
    pub dry_run: bool,
    pub database: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: String,
    pub elapsed_ms: u64,
    pub files: FileCounts,
    pub rows: RowCounts,
    pub orders: OrderCounts,
    pub throughput: Throughput,
    pub memory: Memory,
    pub cpu: Cpu,
    pub per_file: Vec<PerFile>,
    pub recommendations: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct FileCounts {
    pub total: u64,
    pub imported: u64,
    pub skipped: u64,
    pub failed: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throughput {
    pub rows_per_sec: u64,
    pub bytes_per_sec: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    pub peak_rss_bytes: u64,
    pub limit_bytes: u64,
    pub chunk_size: ChunkSizes,
    pub adaptations: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct ChunkSizes {
    pub start: u64,
    pub min: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub user_ms: u64,
    pub system_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct PerFile {
    pub path: String,
    pub status: FileStatus,
    pub size_bytes: u64,
    pub rows: RowCounts,
    pub elapsed_ms: u64,
    pub error: Option<String>,
    /// The line a killed run's file was resumed from: `rows` counts only
    /// what this run read after it. Null for a file read from its start.
    pub resumed_from_line: Option<u64>,
    pub rejects: Vec<Reject>,
}

impl PerFile {
    pub fn from_outcome(o: &FileOutcome) -> PerFile {
        PerFile {
            path: o.path.to_string_lossy().into_owned(),
            status: match o.status {
                // Not reached before the run stopped: the next run reads it.
                FileStatus::InProgress => FileStatus::Interrupted,
                s => s,
            },
            size_bytes: o.size.unwrap_or(0),
            rows: o.rows,
            elapsed_ms: o.elapsed.as_millis() as u64,
            error: o.error.clone(),
            resumed_from_line: o.resumed_from_line,
            rejects: o.rejects.clone(),
        }
    }
}

/// Adds up the files of a run.
pub fn totals(files: &[PerFile]) -> (FileCounts, RowCounts) {
    let mut counts = FileCounts {
        total: files.len() as u64,
        ..FileCounts::default()
    };
    let mut rows = RowCounts::default();
    for f in files {
        match f.status {
            FileStatus::Imported => counts.imported += 1,
            FileStatus::Skipped => counts.skipped += 1,
            FileStatus::Failed => counts.failed += 1,
            FileStatus::InProgress | FileStatus::Interrupted => {}
        }
        rows.add(&f.rows);
    }
    (counts, rows)
}

/// The status of a run from its totals.
pub fn run_status(files: &FileCounts, rows: &RowCounts, interrupted: bool) -> RunStatus {
    if interrupted {
        RunStatus::Interrupted
    } else if files.failed > 0 && files.imported + files.skipped == 0 {
        RunStatus::Failed
    } else if files.failed > 0 || rows.rejected > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    }
}

/// How many rejects the human summary lists before it only counts them.
const REJECTS_LISTED: usize = 10;

impl Summary {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A few lines for a person: what went in, what did not and why. Names
    /// and messages are escaped: they come from files and users.
    /// `files_shown`: progress has printed a line for each file that ended
    /// (failed ones included), so their errors are not repeated.
    pub fn write_human(
        &self,
        out: &mut dyn Write,
        rejects_path: Option<&str>,
        files_shown: bool,
    ) -> std::io::Result<()> {
        let mut shown = 0;
        for f in &self.per_file {
            let path = escaped(&f.path);
            if let Some(error) = &f.error
                && !files_shown
            {
                let how = match f.status {
                    FileStatus::Skipped => "skipped,",
                    _ => "failed:",
                };
                writeln!(out, "{path}: {how} {}", escaped(error))?;
            }
            for r in f.rejects.iter().take(REJECTS_LISTED.saturating_sub(shown)) {
                writeln!(
                    out,
                    "{path}:{}: {} ({})",
                    r.line,
                    escaped(&r.message),
                    r.reason.code()
                )?;
                shown += 1;
            }
        }
        if self.rows.rejected > shown as u64 {
            writeln!(
                out,
                "... and {} more rejected rows",
                self.rows.rejected - shown as u64
            )?;
        }
        let r = &self.rows;
        let verb = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        writeln!(
            out,
            "{}: {} of {} files ({} skipped, {} failed); {} rows: {verb} {}, rejected {}, duplicate {}, filtered {}, failed {}; {}",
            self.status.as_str(),
            self.files.imported,
            self.files.total,
            self.files.skipped,
            self.files.failed,
            r.read,
            r.imported,
            r.rejected,
            r.duplicate,
            r.filtered,
            r.failed,
            seconds(self.elapsed_ms as f64 / 1000.0)
        )?;
        if r.rejected > 0 {
            match (rejects_path, self.run_id) {
                (Some(path), _) => writeln!(out, "rejected rows: {}", escaped(path))?,
                (None, Some(id)) => writeln!(
                    out,
                    "rejected rows: table import_rejects, run_id = {id}, in {}",
                    escaped(&self.database)
                )?,
                (None, None) => {}
            }
        }
        for note in &self.recommendations {
            writeln!(out, "note: {}", escaped(note))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(RunStatus::Ok.exit_code(), ExitCode::from(0));
        assert_eq!(RunStatus::Partial.exit_code(), ExitCode::from(3));
        assert_eq!(RunStatus::Failed.exit_code(), ExitCode::from(3));
        assert_eq!(RunStatus::Interrupted.exit_code(), ExitCode::from(130));
        assert_eq!(Exit::Error as u8, 1);
        assert_eq!(Exit::Usage as u8, 2);
    }

    #[test]
    fn status_from_totals() {
        let rows = RowCounts::default();
        let files = |imported, skipped, failed| FileCounts {
            total: imported + skipped + failed,
            imported,
            skipped,
            failed,
        };
        assert_eq!(run_status(&files(2, 1, 0), &rows, false), RunStatus::Ok);
        assert_eq!(
            run_status(&files(2, 0, 1), &rows, false),
            RunStatus::Partial
        );
        assert_eq!(run_status(&files(0, 0, 1), &rows, false), RunStatus::Failed);
        let rejected = RowCounts {
            rejected: 1,
            ..rows
        };
        assert_eq!(
            run_status(&files(1, 0, 0), &rejected, false),
            RunStatus::Partial
        );
        assert_eq!(
            run_status(&files(1, 0, 0), &rows, true),
            RunStatus::Interrupted
        );
    }
}
