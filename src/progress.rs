//! Progress on stderr: bars on a terminal, plain log lines elsewhere
//! (cron, CI), nothing with `--progress none` or `-q`.
//!
//! Readers advance their file's bar; the writer, which knows how each file
//! ended, reports finished files. Progress never writes to stdout, which
//! belongs to the JSON summary, and never a file name or message unescaped.

use crate::escape::escaped;
use crate::outcome::{FileOutcome, FileStatus};
use crate::settings::ProgressMode;
use crate::units::{seconds, si_rate};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often log mode prints an overall line.
const LOG_EVERY: Duration = Duration::from_secs(5);

enum Display {
    None,
    Log {
        last: Mutex<Instant>,
    },
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
    },
}

/// The run's progress display, shared by readers and the writer.
pub struct Progress {
    display: Display,
    started: Instant,
    files: usize,
    files_done: std::sync::atomic::AtomicUsize,
    total_bytes: u64,
    done_bytes: std::sync::atomic::AtomicU64,
}

/// One file's bar (or nothing, outside bars mode).
pub struct FileBar(Option<ProgressBar>);

impl FileBar {
    pub fn set_position(&self, bytes: u64, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes);
            bar.set_message(format!("{rows} rows"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress {
    /// Bars when stderr is a terminal (`auto`), log lines otherwise.
    pub fn new(mode: ProgressMode, quiet: bool, files: usize, total_bytes: u64) -> Progress {
        let mode = match mode {
            _ if quiet => ProgressMode::None,
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bars,
            ProgressMode::Auto => ProgressMode::Log,
            other => other,
        };
        let target = || ProgressDrawTarget::stderr_with_hz(10);
        Progress::with_target(mode, files, total_bytes, target)
    }

    /// Like [`Progress::new`] with bars drawn to `target` (a test terminal).
    pub fn with_target(
        mode: ProgressMode,
        files: usize,
        total_bytes: u64,
        target: impl FnOnce() -> ProgressDrawTarget,
    ) -> Progress {
        let display = match mode {
            ProgressMode::None => Display::None,
            ProgressMode::Log | ProgressMode::Auto => Display::Log {
                last: Mutex::new(Instant::now()),
            },
            ProgressMode::Bars => {
                let multi = MultiProgress::with_draw_target(target());
                let overall = multi.add(ProgressBar::new(total_bytes));
                overall.set_style(style(
                    "total {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                ));
                overall.set_message(format!("0/{files} files"));
                Display::Bars { multi, overall }
            }
        };
        Progress {
            display,
            started: Instant::now(),
            files,
            files_done: Default::default(),
            total_bytes,
            done_bytes: Default::default(),
        }
    }

    /// A bar for a file that starts being read.
    pub fn file_bar(&self, name: &str, size: u64) -> FileBar {
        let Display::Bars { multi, overall } = &self.display else {
            return FileBar(None);
        };
        let bar = multi.insert_before(overall, ProgressBar::new(size));
        bar.set_style(style(
            "{prefix:30!} [{bar:20}] {percent:>3}% {msg} {binary_bytes_per_sec} ETA {eta}",
        ));
        bar.set_prefix(escaped(name).into_owned());
        FileBar(Some(bar))
    }

    /// A file has ended: one line for it, and the overall state.
    pub fn file_done(&self, outcome: &FileOutcome) {
        let size = outcome.size.unwrap_or(0);
        let done = self
            .done_bytes
            .fetch_add(size, std::sync::atomic::Ordering::Relaxed)
            + size;
        let files_done = self
            .files_done
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let r = &outcome.rows;
        let path = outcome.path.to_string_lossy();
        let path = escaped(&path);
        let line = match outcome.status {
            FileStatus::Failed => format!(
                "{path}: failed: {}",
                escaped(outcome.error.as_deref().unwrap_or(""))
            ),
            // Left to another run, or taken over by one (PostgreSQL).
            FileStatus::Skipped => format!(
                "{path}: skipped, {}",
                escaped(outcome.error.as_deref().unwrap_or("already imported"))
            ),
            _ => format!(
                "{path}: {}{} rows: {} imported, {} rejected, {} duplicate, {} filtered ({})",
                match outcome.resumed_from_line {
                    Some(line) => format!("resumed at line {line}: "),
                    None => String::new(),
                },
                r.read,
                r.imported,
                r.rejected,
                r.duplicate,
                r.filtered,
                seconds(outcome.elapsed.as_secs_f64())
            ),
        };
        match &self.display {
            Display::None => {}
            Display::Bars { multi, overall } => {
                overall.set_position(done);
                overall.set_message(format!("{files_done}/{} files", self.files));
                let _ = multi.println(line);
            }
            Display::Log { last } => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
                if let Ok(mut last) = last.lock()
                    && last.elapsed() >= LOG_EVERY
                {
                    *last = Instant::now();
                    let _ = writeln!(err, "{}", self.overall_line(files_done, done));
                }
            }
        }
    }

    fn overall_line(&self, files_done: usize, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total_bytes.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        format!(
            "progress: {files_done}/{} files, {done} of {} bytes, {}, ETA {:.0}s",
            self.files,
            self.total_bytes,
            si_rate(rate),
            eta
        )
    }

    /// Clears the bars before the final summary.
    pub fn finish(&self) {
        if let Display::Bars { multi, overall } = &self.display {
            overall.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{InMemoryTerm, TermLike};
    use std::path::PathBuf;
    use std::time::Duration;

    fn outcome(path: &str, status: FileStatus) -> FileOutcome {
        FileOutcome {
            path: PathBuf::from(path),
            size: Some(1000),
            status,
            rows: crate::outcome::RowCounts {
                read: 10,
                imported: 9,
                rejected: 1,
                ..Default::default()
            },
            orders: Default::default(),
            error: None,
            rejects: Vec::new(),
            elapsed: Duration::from_millis(1500),
            bytes_read: 1000,
            resumed_from_line: None,
        }
    }

    #[test]
    fn bars_show_each_file_with_eta_and_leave_a_result_line() {
        let term = InMemoryTerm::new(10, 120);
        let t = term.clone();
        let progress = Progress::with_target(ProgressMode::Bars, 2, 2000, move || {
            ProgressDrawTarget::term_like(Box::new(t))
        });
        // The test terminal has no refresh-rate limit: every change is drawn
        // at once, so nothing here waits for a clock.
        let bar = progress.file_bar("files/part-001.csv", 1000);
        bar.set_position(400, 1234);
        assert!(term.contents().contains("1234 rows"), "{}", term.contents());
        bar.set_position(500, 1500);
        let screen = term.contents();
        assert!(screen.contains("files/part-001.csv"), "{screen}");
        assert!(screen.contains("1500 rows"), "{screen}");
        assert!(screen.contains("ETA"), "{screen}");
        assert!(screen.contains("0/2 files"), "{screen}");
        bar.finish();
        progress.file_done(&outcome("files/part-001.csv", FileStatus::Imported));
        let screen = term.contents();
        assert!(
            screen.contains("files/part-001.csv: 10 rows: 9 imported, 1 rejected"),
            "{screen}"
        );
        assert!(screen.contains("1/2 files"), "{screen}");
        progress.finish();
        assert!(
            !term.contents().contains("ETA"),
            "bars cleared: {}",
            term.contents()
        );
        assert_eq!(term.width(), 120);
    }

    #[test]
    fn no_bars_outside_bars_mode() {
        let progress = Progress::with_target(ProgressMode::Log, 1, 10, ProgressDrawTarget::hidden);
        assert!(progress.file_bar("a.csv", 10).0.is_none());
        let progress = Progress::with_target(ProgressMode::None, 1, 10, ProgressDrawTarget::hidden);
        assert!(progress.file_bar("a.csv", 10).0.is_none());
    }
}
