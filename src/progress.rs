//! Progress on stderr: bars on a terminal, plain log lines elsewhere
//! (cron, CI), nothing with `--progress none` or `-q`.
//!
//! Readers advance their file's bar; the writer, which knows how each file
//! ended, reports finished files. Progress never writes to stdout, which
//! belongs to the JSON summary.

use crate::settings::ProgressMode;
use crate::write::{FileOutcome, FileStatus};
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
    pub fn new(mode: ProgressMode, quiet: bool, total_bytes: u64) -> Progress {
        let mode = match mode {
            _ if quiet => ProgressMode::None,
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bars,
            ProgressMode::Auto => ProgressMode::Log,
            other => other,
        };
        let display = match mode {
            ProgressMode::None => Display::None,
            ProgressMode::Log | ProgressMode::Auto => Display::Log {
                last: Mutex::new(Instant::now()),
            },
            ProgressMode::Bars => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
                let overall = multi.add(ProgressBar::new(total_bytes));
                overall.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                overall.set_prefix("total");
                Display::Bars { multi, overall }
            }
        };
        Progress {
            display,
            started: Instant::now(),
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
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:30!} [{bar:20}] {percent:>3}% {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        FileBar(Some(bar))
    }

    /// A file has ended: one line for it, and the overall state.
    pub fn file_done(&self, outcome: &FileOutcome) {
        let size = outcome.size.unwrap_or(0);
        let done = self
            .done_bytes
            .fetch_add(size, std::sync::atomic::Ordering::Relaxed)
            + size;
        let r = &outcome.rows;
        let line = match outcome.status {
            FileStatus::Failed => format!(
                "{}: failed: {}",
                outcome.path.display(),
                outcome.error.as_deref().unwrap_or("")
            ),
            FileStatus::Skipped => format!("{}: skipped, already imported", outcome.path.display()),
            _ => format!(
                "{}: {} rows: {} imported, {} rejected, {} duplicate, {} filtered ({:.1}s)",
                outcome.path.display(),
                r.read,
                r.imported,
                r.rejected,
                r.duplicate,
                r.filtered,
                outcome.elapsed.as_secs_f64()
            ),
        };
        match &self.display {
            Display::None => {}
            Display::Bars { multi, overall } => {
                overall.set_position(done);
                let _ = multi.println(line);
            }
            Display::Log { last } => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
                if let Ok(mut last) = last.lock()
                    && last.elapsed() >= LOG_EVERY
                {
                    *last = Instant::now();
                    let _ = writeln!(err, "{}", self.overall_line(done));
                }
            }
        }
    }

    fn overall_line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total_bytes.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        format!(
            "progress: {done} of {} bytes, {:.1} MB/s, ETA {:.0}s",
            self.total_bytes,
            rate / 1e6,
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
