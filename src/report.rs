//! Report: the JSON summary on stdout, the short human summary on stderr, and
//! the exit code, all derived from what the writer recorded.
//!
//! The summary's shape is a contract with scripts (see SPEC.md); its fields
//! are a `#[derive(Serialize)]` struct so the shape is visible in one place.

use crate::escape::escaped;
use crate::outcome::{FileOutcome, FileStatus, OrderCounts, Reject, RowCounts};
use crate::units::{binary_size, fit_left, seconds, thousands, wrap};
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

    pub fn exit(self) -> Exit {
        match self {
            RunStatus::Ok => Exit::Ok,
            RunStatus::Partial | RunStatus::Failed => Exit::Partial,
            RunStatus::Interrupted => Exit::Interrupted,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.exit() as u8)
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
    /// For a file the run stopped part-way (`interrupted`): the line the
    /// next run resumes it from. Null for every other file.
    pub interrupted_at_line: Option<u64>,
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
            interrupted_at_line: match o.status {
                FileStatus::InProgress | FileStatus::Interrupted => {
                    o.resume_line.or(o.resumed_from_line)
                }
                _ => None,
            },
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

/// What the human summary says besides the run's figures.
#[derive(Debug, Default)]
pub struct Telling<'a> {
    /// Where `--rejects` wrote the rejected rows.
    pub rejects_path: Option<&'a str>,
    /// A command that lists the run's rejected rows from the database.
    pub rejects_query: Option<String>,
    /// The command that imports the files with rejects again once they
    /// are corrected.
    pub fix_command: Option<String>,
    /// Progress has printed a line for each file that ended (failed ones
    /// included), so their errors are not repeated.
    pub files_shown: bool,
    /// Columns of the terminal the summary is shown on (`usize::MAX`
    /// elsewhere): long paths lose their start, prose wraps.
    pub width: usize,
}

impl Summary {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A few lines for a person: the files that failed and the first
    /// rejects, then a short block of what went where, only the buckets
    /// that hold something, and where to look next. Names and messages are
    /// escaped: they come from files and users.
    pub fn write_human(&self, out: &mut dyn Write, tell: &Telling) -> std::io::Result<()> {
        let mut shown = 0;
        let width = tell.width.max(40);
        for f in &self.per_file {
            let path = escaped(&f.path);
            // A reject's line shows the end of its path (the start is what
            // the files of an export share), and as much of its message as
            // fits after it.
            let path = fit_left(&path, width / 2);
            if let Some(error) = &f.error
                && !tell.files_shown
            {
                let how = match f.status {
                    FileStatus::Skipped => "skipped,",
                    _ => "failed:",
                };
                writeln!(out, "{path}: {how} {}", escaped(error))?;
            }
            if let Some(line) = f.interrupted_at_line
                && !tell.files_shown
            {
                writeln!(out, "{path}: interrupted at line {}", thousands(line))?;
            }
            for r in f.rejects.iter().take(REJECTS_LISTED.saturating_sub(shown)) {
                let line = format!(
                    "{path}:{}: {} ({})",
                    r.line,
                    escaped(&r.message),
                    r.reason.code()
                );
                writeln!(out, "{}", wrap(&line, width, "    "))?;
                shown += 1;
            }
        }
        if self.rows.rejected > shown as u64 {
            writeln!(
                out,
                "... and {} more rejected rows",
                thousands(self.rows.rejected - shown as u64)
            )?;
        }
        let interrupted = self
            .per_file
            .iter()
            .any(|f| f.interrupted_at_line.is_some());
        if shown > 0 || (!tell.files_shown && (self.files.failed > 0 || interrupted)) {
            writeln!(out)?;
        }
        writeln!(out, "{}", wrap(&self.headline(), width, "  "))?;
        self.write_table(out)?;
        if self.rows.rejected > 0 {
            match (tell.rejects_path, &tell.rejects_query) {
                (Some(path), _) => writeln!(out, "rejected rows: {}", escaped(path))?,
                (None, Some(query)) => {
                    writeln!(out, "rejected rows, all of them:")?;
                    writeln!(out, "  {}", escaped(query))?;
                }
                (None, None) => {}
            }
            if let Some(command) = &tell.fix_command {
                let intro = "fixed them in their files? then import only those files again:";
                writeln!(out, "{}", wrap(intro, width, "  "))?;
                writeln!(out, "  {}", escaped(command))?;
            }
        }
        for note in &self.recommendations {
            writeln!(
                out,
                "{}",
                wrap(&format!("note: {}", escaped(note)), width, "  ")
            )?;
        }
        Ok(())
    }

    /// `done, 4 rows rejected (run 7, 8.2s)`: how the run ended, in the
    /// words a person uses.
    pub fn headline(&self) -> String {
        let (f, r) = (&self.files, &self.rows);
        let mut problems = Vec::new();
        if f.failed > 0 {
            problems.push(counted(f.failed, "file", "failed"));
        }
        if r.rejected > 0 {
            problems.push(counted(r.rejected, "row", "rejected"));
        }
        let what = match self.status {
            RunStatus::Interrupted => {
                "interrupted: run the same command to resume where it stopped".to_string()
            }
            RunStatus::Failed => format!("failed: {}", problems.join(", ")),
            RunStatus::Partial => format!("done, {}", problems.join(", ")),
            RunStatus::Ok if f.total == 0 => "done, no input files".to_string(),
            RunStatus::Ok if f.imported == 0 && f.skipped == f.total => format!(
                "done, nothing new: {} already imported",
                match f.total {
                    1 => "the file was".to_string(),
                    n => format!("all {} files were", thousands(n)),
                }
            ),
            RunStatus::Ok => "done".to_string(),
        };
        let run = match (self.dry_run, self.run_id) {
            (true, _) => "dry run, nothing written".to_string(),
            (false, Some(id)) => format!("run {id}"),
            (false, None) => "no run recorded".to_string(),
        };
        let elapsed = seconds(self.elapsed_ms as f64 / 1000.0);
        format!("{what} ({run}, {elapsed})")
    }

    /// The figures as a small table: a line per bucket that holds
    /// something, files and rows side by side, then speed and memory.
    fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let (f, r) = (&self.files, &self.rows);
        let imported = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        let interrupted = (f.total).saturating_sub(f.imported + f.skipped + f.failed);
        let lines: [(&str, u64, u64); 8] = [
            (imported, f.imported, r.imported),
            ("already imported", f.skipped, 0),
            ("interrupted", interrupted, 0),
            ("failed", f.failed, r.failed),
            ("rejected", 0, r.rejected),
            ("duplicate", 0, r.duplicate),
            ("filtered", 0, r.filtered),
            ("total", f.total, r.read),
        ];
        // A zero is left blank, except in the totals: a bucket shows only
        // what it holds.
        let cell = |n: u64, total: bool| match n > 0 || total {
            true => thousands(n),
            false => String::new(),
        };
        let rows: Vec<[String; 3]> = lines
            .iter()
            .filter(|(what, files, rows)| *what == "total" || *files > 0 || *rows > 0)
            .map(|&(what, files, rows)| {
                let total = what == "total";
                [what.to_string(), cell(files, total), cell(rows, total)]
            })
            .collect();
        let header = [String::new(), "files".to_string(), "rows".to_string()];
        let widths: Vec<usize> = (0..3)
            .map(|i| {
                std::iter::once(&header)
                    .chain(&rows)
                    .map(|row| row[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "  {:<w0$}  {:>w1$}  {:>w2$}",
                row[0],
                row[1],
                row[2],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            writeln!(out, "{}", line.trim_end())?;
        }
        let secs = self.elapsed_ms as f64 / 1000.0;
        if r.read > 0 && secs > 0.0 {
            writeln!(
                out,
                "  {} rows/s, {}/s, peak memory {}",
                thousands(self.throughput.rows_per_sec),
                binary_size(self.throughput.bytes_per_sec),
                binary_size(self.memory.peak_rss_bytes)
            )?;
        }
        Ok(())
    }
}

/// `1 file failed`, `4 rows rejected`.
fn counted(n: u64, what: &str, how: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {what}{s} {how}", thousands(n))
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

#[cfg(test)]
mod human {
    use super::*;
    use crate::outcome::Reason;

    fn summary(status: RunStatus, files: FileCounts, rows: RowCounts) -> Summary {
        Summary {
            run_id: Some(7),
            version: "0.1.0",
            dry_run: false,
            database: "dropship.db".into(),
            status,
            started_at: String::new(),
            finished_at: String::new(),
            elapsed_ms: 8_240,
            files,
            rows,
            orders: OrderCounts::default(),
            throughput: Throughput {
                rows_per_sec: 36_407,
                bytes_per_sec: 11_200_000,
            },
            memory: Memory {
                peak_rss_bytes: 24_100_000,
                ..Memory::default()
            },
            cpu: Cpu::default(),
            per_file: Vec::new(),
            recommendations: Vec::new(),
        }
    }

    fn shown(s: &Summary, tell: &Telling) -> String {
        let mut out = Vec::new();
        s.write_human(&mut out, tell).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn tell() -> Telling<'static> {
        Telling {
            rejects_path: None,
            rejects_query: Some("sqlite3 -header dropship.db 'SELECT ...'".into()),
            fix_command: Some("dropship-import --on-duplicate update files/a.csv".into()),
            files_shown: true,
            width: 120,
        }
    }

    #[test]
    fn a_run_with_rejects_reads_as_done_with_a_table_and_where_to_look() {
        let mut s = summary(
            RunStatus::Partial,
            FileCounts {
                total: 100,
                imported: 100,
                skipped: 0,
                failed: 0,
            },
            RowCounts {
                read: 300_000,
                imported: 296_983,
                rejected: 4,
                duplicate: 3_013,
                ..RowCounts::default()
            },
        );
        s.per_file.push(PerFile {
            path: "exports/marketplace-purchase-report-2026-11-part-013.csv".into(),
            status: FileStatus::Imported,
            size_bytes: 1000,
            rows: RowCounts::default(),
            elapsed_ms: 0,
            error: None,
            resumed_from_line: None,
            interrupted_at_line: None,
            rejects: vec![Reject {
                line: 4,
                column: Some("Qty".into()),
                value: Some("two".into()),
                reason: Reason::InvalidInteger,
                message: "Qty: \"two\": not a whole number".into(),
                raw: String::new(),
            }],
        });
        assert_eq!(
            shown(&s, &tell()),
            "\
exports/marketplace-purchase-report-2026-11-part-013.csv:4: Qty: \"two\": not a whole number (invalid_integer)
... and 3 more rejected rows

done, 4 rows rejected (run 7, 8.2s)
             files     rows
  imported     100  296,983
  rejected                4
  duplicate           3,013
  total        100  300,000
  36,407 rows/s, 10.7 MiB/s, peak memory 23.0 MiB
rejected rows, all of them:
  sqlite3 -header dropship.db 'SELECT ...'
fixed them in their files? then import only those files again:
  dropship-import --on-duplicate update files/a.csv
"
        );
        let narrow = Telling {
            width: 60,
            ..tell()
        };
        assert_eq!(
            shown(&s, &narrow).lines().take(3).collect::<Vec<_>>(),
            [
                "…e-report-2026-11-part-013.csv:4: Qty: \"two\": not a whole",
                "    number (invalid_integer)",
                "... and 3 more rejected rows",
            ]
        );
        // The commands are not wrapped: they are pasted whole.
        let command = |l: &str| l.starts_with("  sqlite3") || l.starts_with("  dropship-import");
        for line in shown(&s, &narrow).lines().filter(|l| !command(l)) {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
    }

    #[test]
    fn an_unchanged_folder_is_one_headline_and_a_short_table() {
        let s = summary(
            RunStatus::Ok,
            FileCounts {
                total: 100,
                imported: 0,
                skipped: 100,
                failed: 0,
            },
            RowCounts::default(),
        );
        assert_eq!(
            shown(&s, &tell()),
            "\
done, nothing new: all 100 files were already imported (run 7, 8.2s)
                    files  rows
  already imported    100
  total               100     0
"
        );
    }

    #[test]
    fn an_interrupted_run_says_how_to_resume() {
        let s = summary(
            RunStatus::Interrupted,
            FileCounts {
                total: 10,
                imported: 4,
                skipped: 0,
                failed: 0,
            },
            RowCounts {
                read: 140_000,
                imported: 140_000,
                ..RowCounts::default()
            },
        );
        assert_eq!(
            shown(&s, &tell()),
            "\
interrupted: run the same command to resume where it stopped (run 7, 8.2s)
               files     rows
  imported         4  140,000
  interrupted      6
  total           10  140,000
  36,407 rows/s, 10.7 MiB/s, peak memory 23.0 MiB
"
        );
    }

    #[test]
    fn without_progress_lines_the_summary_says_where_files_stopped() {
        let mut s = summary(
            RunStatus::Interrupted,
            FileCounts {
                total: 1,
                ..FileCounts::default()
            },
            RowCounts::default(),
        );
        s.per_file.push(PerFile {
            path: "files/a.csv".into(),
            status: FileStatus::Interrupted,
            size_bytes: 1000,
            rows: RowCounts::default(),
            elapsed_ms: 0,
            error: None,
            resumed_from_line: None,
            interrupted_at_line: Some(42_002),
            rejects: Vec::new(),
        });
        let quiet = Telling {
            files_shown: false,
            ..tell()
        };
        assert!(
            shown(&s, &quiet)
                .starts_with("files/a.csv: interrupted at line 42,002\n\ninterrupted:"),
            "{}",
            shown(&s, &quiet)
        );
        assert!(!shown(&s, &tell()).contains("at line"));
    }

    #[test]
    fn a_dry_run_says_what_it_would_import() {
        let mut s = summary(
            RunStatus::Ok,
            FileCounts {
                total: 2,
                imported: 2,
                skipped: 0,
                failed: 0,
            },
            RowCounts {
                read: 1_500,
                imported: 1_500,
                ..RowCounts::default()
            },
        );
        s.dry_run = true;
        s.run_id = None;
        let first = shown(&s, &tell());
        assert!(
            first.starts_with("done (dry run, nothing written, 8.2s)\n                files   rows\n  would import      2  1,500\n"),
            "{first}"
        );
    }
}
