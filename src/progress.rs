//! Progress on stderr: bars on a terminal, timestamped log lines elsewhere
//! (cron, CI), nothing with `--progress none` or `-q`.
//!
//! Readers advance their file's bar; the writer, which knows how each file
//! ended, reports finished files ([`Watch`]); a ticker thread redraws the
//! overall line a few times a second ([`Progress::tick`]). The overall
//! count is of bytes read, files being read included, as `rsync
//! --info=progress2` counts, and its rate and ETA come from the last few
//! seconds only, so they follow a run that speeds up or slows down; no ETA
//! is shown before there is a rate to base it on.
//!
//! Progress never writes to stdout, which belongs to the JSON summary, and
//! never a file name or message unescaped. Everything it draws fits the
//! terminal's width: long paths lose their start, which is the part files
//! of one export share, and keep their distinct end.

use crate::escape::escaped;
use crate::outcome::{FileOutcome, FileStatus, Watch};
use crate::settings::ProgressMode;
use crate::units::{binary_size, eta_secs, fit_left, fit_right, seconds, thousands, wrap};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How often log mode prints an overall line.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often the ticker redraws the overall line.
pub const TICK: Duration = Duration::from_millis(200);
/// The span of recent progress the rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// The least span of progress a rate (and an ETA) is believed from.
const RATE_AT_LEAST: Duration = Duration::from_secs(1);
/// The width assumed when the terminal does not say.
const DEFAULT_WIDTH: usize = 80;
/// Columns of a file's line besides its name and bar: ` [`, `] `, percent
/// and rows.
const FILE_LINE_REST: usize = 2 + 2 + 4 + 1 + 15;
/// Columns of the overall figures (`3/10 files · 42.0 MiB/93.5 MiB · ETA
/// ~9s`) and the ` [` `] ` around its bar.
const OVERALL_ROOM: usize = 4 + 46;

/// Columns of a bar: narrower on a narrow terminal, to leave room for names.
fn bar_width(width: usize) -> usize {
    if width >= 80 { 20 } else { 10 }
}

/// A file's own rate and ETA (SPEC: each bar shows them), where the
/// terminal is wide enough for them beside the name: ` 12.3 MiB/s ETA 4s`.
fn file_rate_width(width: usize) -> usize {
    if width >= 100 { 1 + 12 + 8 } else { 0 }
}

/// The template of a file's bar on a terminal `width` columns wide.
fn file_template(width: usize) -> String {
    let bar = bar_width(width);
    let rate = match file_rate_width(width) {
        0 => "",
        _ => " {file_rate}",
    };
    format!("{{prefix}} [{{bar:{bar}}}] {{percent:>3}}% {{msg:<15}}{rate}")
}

/// What the run is to read: the overall line's totals, and the longest
/// file name (escaped), which bars give the room it needs when they can.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    pub files: usize,
    pub bytes: u64,
    pub longest_name: usize,
}

impl Plan {
    pub fn of<'a>(files: impl Iterator<Item = (&'a std::path::Path, Option<u64>)>) -> Plan {
        files.fold(Plan::default(), |plan, (path, size)| Plan {
            files: plan.files + 1,
            bytes: plan.bytes + size.unwrap_or(0),
            longest_name: plan
                .longest_name
                .max(escaped(&path.to_string_lossy()).chars().count()),
        })
    }

    /// Columns given to file names: what the longest needs, within what
    /// leaves a file's bar and the overall figures room on the line.
    fn name_width(&self, width: usize) -> usize {
        let bar = bar_width(width);
        let most = width
            .saturating_sub(FILE_LINE_REST + bar + file_rate_width(width) + 1)
            .min(width.saturating_sub(OVERALL_ROOM + bar).max(24));
        self.longest_name.clamp(10, most.max(10))
    }
}

/// The time as progress sees it: since the run started, and on the wall
/// for log lines. Tests fix it.
pub trait Clock: Send + Sync {
    fn elapsed(&self) -> Duration;
    fn now(&self) -> SystemTime;
}

/// The real clock.
pub struct SystemClock(Instant);

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Set while a display shows that the run is stopping (see
/// [`Progress::watching`]); before and after it, whoever takes the Ctrl-C
/// says so.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Whether a display will show that the run is stopping.
pub fn shows_stopping() -> bool {
    WATCHING.load(Ordering::SeqCst)
}

/// Bars on the screen, for an interrupt that ends the process at once.
static ON_SCREEN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Clears the bars, if any are drawn; for a second Ctrl-C, which exits
/// without waiting for the run to end.
pub fn clear_screen() {
    if let Ok(mut screen) = ON_SCREEN.lock()
        && let Some(multi) = screen.take()
    {
        let _ = multi.clear();
    }
    echo_control(true);
}

/// The terminal's echo of a Ctrl-C (`^C`) lands where the bars are drawn
/// without their knowing, and the bars then clear the wrong lines: while
/// bars are shown it is turned off, and back on when they go. Off a
/// terminal this does nothing.
#[cfg(unix)]
fn echo_control(on: bool) {
    use std::sync::atomic::AtomicBool;
    /// Set while this process holds the echo off, so that only it turns
    /// the echo back on.
    static OFF: AtomicBool = AtomicBool::new(false);
    if on && !OFF.swap(false, Ordering::SeqCst) {
        return;
    }
    // SAFETY: termios is a plain C struct that tcgetattr fills in; both
    // calls only read or set the terminal attributes of stderr.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDERR_FILENO, &mut t) != 0 {
            return;
        }
        let was_on = t.c_lflag & libc::ECHOCTL != 0;
        if on {
            t.c_lflag |= libc::ECHOCTL;
        } else if was_on {
            t.c_lflag &= !libc::ECHOCTL;
        } else {
            return;
        }
        if libc::tcsetattr(libc::STDERR_FILENO, libc::TCSANOW, &t) == 0 && !on {
            OFF.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(not(unix))]
fn echo_control(_on: bool) {}

enum Display {
    None,
    Log(Mutex<Box<dyn Write + Send>>),
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        /// Columns given to file names (and to `total`).
        name_width: usize,
        /// Columns of the terminal.
        width: usize,
    },
}

/// The run's progress display, shared by readers, the writer and the
/// ticker.
pub struct Progress {
    display: Display,
    clock: Box<dyn Clock>,
    files: usize,
    total_bytes: u64,
    /// Bytes read of the files begun so far, in their bars' units (on disk).
    read: AtomicU64,
    files_done: AtomicUsize,
    /// Files skipped as already imported: folded into the summary.
    already_imported: AtomicUsize,
    /// The run's id once it recorded itself (0: not yet).
    run: AtomicI64,
    stopping: AtomicBool,
    /// Set by Ctrl-C: the run is stopping.
    stop: Option<&'static AtomicBool>,
    /// `-q`: not even the stopping line without a display.
    quiet: bool,
    ticks: Mutex<Ticks>,
}

#[derive(Default)]
struct Ticks {
    rate: Rate,
    last_log: Duration,
    step: Option<String>,
}

/// One file's bar (drawn only in bars mode), and its share of the bytes
/// read.
pub struct FileBar<'a> {
    bar: Option<ProgressBar>,
    read: &'a AtomicU64,
    last: AtomicU64,
    size: u64,
}

impl FileBar<'_> {
    /// The file has been read up to `bytes` (on disk) and `rows` records.
    pub fn set_position(&self, bytes: u64, rows: u64) {
        let last = self.last.swap(bytes, Ordering::Relaxed);
        if bytes > last {
            self.read.fetch_add(bytes - last, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!("{} rows", thousands(rows)));
        }
    }

    /// The file is no longer read: it counts as read whole, however it
    /// ended (skipped, failed, done).
    pub fn finish(&self) {
        let last = self.last.swap(self.size, Ordering::Relaxed);
        if self.size > last {
            self.read.fetch_add(self.size - last, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress {
    /// Bars when stderr is a terminal (`auto`), log lines otherwise.
    pub fn new(mode: ProgressMode, quiet: bool, plan: Plan) -> Progress {
        let mode = match mode {
            _ if quiet => ProgressMode::None,
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bars,
            ProgressMode::Auto => ProgressMode::Log,
            other => other,
        };
        let clock = Box::new(SystemClock(Instant::now()));
        let log = || Box::new(std::io::stderr()) as Box<dyn Write + Send>;
        let screen = || {
            let width = terminal_size::terminal_size_of(std::io::stderr())
                .map(|(w, _)| usize::from(w.0))
                .filter(|w| *w > 0)
                .unwrap_or(DEFAULT_WIDTH);
            (ProgressDrawTarget::stderr_with_hz(10), width)
        };
        let mut progress = Progress::with_target(mode, plan, screen, log, clock);
        progress.quiet = quiet;
        if let Display::Bars { multi, .. } = &progress.display
            && !multi.is_hidden()
            && let Ok(mut screen) = ON_SCREEN.lock()
        {
            *screen = Some(multi.clone());
            echo_control(false);
        }
        progress
    }

    /// Like [`Progress::new`] with bars drawn to `screen` (a test terminal
    /// and its width), log lines written to `log`, and time told by `clock`.
    pub fn with_target(
        mode: ProgressMode,
        plan: Plan,
        screen: impl FnOnce() -> (ProgressDrawTarget, usize),
        log: impl FnOnce() -> Box<dyn Write + Send>,
        clock: Box<dyn Clock>,
    ) -> Progress {
        let display = match mode {
            ProgressMode::None => Display::None,
            ProgressMode::Log | ProgressMode::Auto => Display::Log(Mutex::new(log())),
            ProgressMode::Bars => {
                let (target, width) = screen();
                let multi = MultiProgress::with_draw_target(target);
                let name_width = plan.name_width(width);
                let overall = multi.add(ProgressBar::new(plan.bytes));
                let bar = bar_width(width);
                overall.set_style(style(&format!("{{prefix}} [{{bar:{bar}}}] {{msg}}")));
                overall.set_prefix(pad("total", name_width));
                overall.set_message(format!("0/{} files", plan.files));
                Display::Bars {
                    multi,
                    overall,
                    name_width,
                    width,
                }
            }
        };
        Progress {
            display,
            clock,
            files: plan.files,
            total_bytes: plan.bytes,
            read: AtomicU64::new(0),
            files_done: AtomicUsize::new(0),
            already_imported: AtomicUsize::new(0),
            run: AtomicI64::new(0),
            stopping: AtomicBool::new(false),
            stop: None,
            quiet: true,
            ticks: Mutex::new(Ticks::default()),
        }
    }

    /// A bar for a file that starts being read.
    pub fn file_bar(&self, name: &str, size: u64) -> FileBar<'_> {
        let bar = match &self.display {
            Display::Bars {
                multi,
                overall,
                name_width,
                width,
            } => {
                let bar = multi.insert_before(overall, ProgressBar::new(size));
                bar.set_style(style(&file_template(*width)).with_key("file_rate", file_rate));
                bar.set_prefix(pad(&fit_left(&escaped(name), *name_width), *name_width));
                Some(bar)
            }
            _ => None,
        };
        FileBar {
            bar,
            read: &self.read,
            last: AtomicU64::new(0),
            size,
        }
    }

    /// Shows that the run is stopping once `stop` is set (by Ctrl-C).
    pub fn watching(mut self, stop: &'static AtomicBool) -> Progress {
        self.stop = Some(stop);
        WATCHING.store(true, Ordering::SeqCst);
        self
    }

    /// Ctrl-C was pressed: the overall line says the run is stopping.
    fn stopping(&self) {
        const STOPPING: &str = "stopping after the chunks in flight (Ctrl-C again to quit at once)";
        if !self.stopping.swap(true, Ordering::Relaxed) {
            match self.display {
                // `--progress none` still hears that its Ctrl-C was taken.
                Display::None if !self.quiet => eprintln!("dropship-import: {STOPPING}"),
                _ => self.log_line(STOPPING),
            }
        }
    }

    /// Redraws the overall line, and in log mode prints it every few
    /// seconds.
    pub fn tick(&self) {
        if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            self.stopping();
        }
        let now = self.clock.elapsed();
        let bytes = self.read.load(Ordering::Relaxed).min(self.total_bytes);
        let files_done = self.files_done.load(Ordering::Relaxed);
        let Ok(mut ticks) = self.ticks.lock() else {
            return;
        };
        ticks.rate.add(now, bytes);
        let overall = Overall {
            files_done,
            files: self.files,
            bytes,
            total_bytes: self.total_bytes,
            rate: ticks.rate.per_sec(),
        };
        match &self.display {
            Display::None => {}
            Display::Bars {
                overall: bar,
                name_width,
                width,
                ..
            } => {
                // The prefix and ` [` bar `] ` take the rest of the line.
                let room = width.saturating_sub(name_width + bar_width(*width) + 4 + 1);
                let text = if self.stopping.load(Ordering::Relaxed) {
                    "stopping… (Ctrl-C again: quit at once)".to_string()
                } else if let Some(step) = &ticks.step {
                    format!("{step}…")
                } else {
                    overall.text(room)
                };
                bar.set_position(bytes);
                bar.set_message(fit_right(&text, room));
            }
            Display::Log(_) => {
                if now.saturating_sub(ticks.last_log) >= LOG_EVERY {
                    ticks.last_log = now;
                    drop(ticks);
                    self.log_line(&format!("progress: {}", overall.text(usize::MAX)));
                }
            }
        }
    }

    /// A line above the bars, or in the log with its time and run.
    fn log_line(&self, line: &str) {
        match &self.display {
            Display::None => {}
            Display::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            Display::Log(out) => {
                let stamp = humantime::format_rfc3339_seconds(self.clock.now());
                let run = match self.run.load(Ordering::Relaxed) {
                    0 => String::new(),
                    id => format!(" run {id}"),
                };
                if let Ok(mut out) = out.lock() {
                    let _ = writeln!(out, "{stamp}{run}: {line}");
                    let _ = out.flush();
                }
            }
        }
    }

    /// Clears the bars before the final summary.
    pub fn finish(&self) {
        if self.stop.is_some() {
            WATCHING.store(false, Ordering::SeqCst);
        }
        if let Display::Bars { multi, overall, .. } = &self.display {
            overall.finish_and_clear();
            let _ = multi.clear();
            if let Ok(mut screen) = ON_SCREEN.lock() {
                *screen = None;
            }
        }
        echo_control(true);
    }

    /// Whether a line was shown for each file that ended with an error
    /// (bars away from a terminal are not drawn, nor their lines).
    pub fn shows_files(&self) -> bool {
        match &self.display {
            Display::None => false,
            Display::Log(_) => true,
            Display::Bars { multi, .. } => !multi.is_hidden(),
        }
    }

    /// Files skipped because their bytes were imported before: the summary
    /// counts them rather than a line each.
    pub fn already_imported(&self) -> usize {
        self.already_imported.load(Ordering::Relaxed)
    }
}

impl Drop for Progress {
    /// However the run ends (a panic included), the terminal gets its
    /// `^C` echo back.
    fn drop(&mut self) {
        echo_control(true);
    }
}

impl Watch for Progress {
    fn file_done(&self, outcome: &FileOutcome, run: Option<i64>) {
        if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            self.stopping();
        }
        if let Some(id) = run {
            self.run.store(id, Ordering::Relaxed);
        }
        self.files_done.fetch_add(1, Ordering::Relaxed);
        if outcome.status == FileStatus::Skipped && outcome.error.is_none() {
            self.already_imported.fetch_add(1, Ordering::Relaxed);
        } else {
            let width = match &self.display {
                Display::Bars { width, .. } => *width,
                _ => usize::MAX,
            };
            self.log_line(&file_line(outcome, width));
        }
        self.tick();
    }

    fn finishing(&self, step: &str) {
        if let Ok(mut ticks) = self.ticks.lock() {
            ticks.step = Some(step.to_string());
        }
        if let Display::Log(_) = self.display {
            self.log_line(step);
        }
        self.tick();
    }
}

/// The line shown for a file that ended (or stopped), its path cut from
/// the left if the line would be wider than `width`.
pub fn file_line(outcome: &FileOutcome, width: usize) -> String {
    let path = outcome.path.to_string_lossy();
    let path = escaped(&path);
    let line = file_line_with(outcome, &path);
    let over = line.chars().count().saturating_sub(width);
    if over == 0 {
        return line;
    }
    // The path keeps enough of its end to be told apart; what still does
    // not fit goes on the next line.
    let room = path.chars().count().saturating_sub(over).max(20);
    let line = file_line_with(outcome, &fit_left(&path, room));
    wrap(&line, width, "    ")
}

fn file_line_with(outcome: &FileOutcome, path: &str) -> String {
    let r = &outcome.rows;
    let error = || escaped(outcome.error.as_deref().unwrap_or("")).into_owned();
    let mut counts = vec![format!("{} imported", thousands(r.imported))];
    for (n, what) in [
        (r.rejected, "rejected"),
        (r.duplicate, "duplicate"),
        (r.filtered, "filtered"),
        (r.failed, "failed"),
    ] {
        if n > 0 {
            counts.push(format!("{} {what}", thousands(n)));
        }
    }
    let counts = counts.join(", ");
    let resumed = match outcome.resumed_from_line {
        Some(line) => format!("resumed at line {}, ", thousands(line)),
        None => String::new(),
    };
    let rows = thousands(r.read);
    match outcome.status {
        FileStatus::Failed => format!("{path}: failed: {}", error()),
        // Left to another run, or taken over by one (PostgreSQL).
        FileStatus::Skipped => match &outcome.error {
            Some(_) => format!("{path}: skipped, {}", error()),
            None => format!("{path}: skipped, already imported"),
        },
        FileStatus::InProgress | FileStatus::Interrupted => {
            let line = outcome.resume_line.or(outcome.resumed_from_line);
            let at = line.map_or(String::new(), |l| format!(" at line {}", thousands(l)));
            format!("{path}: interrupted{at}, {resumed}{rows} rows read: {counts}")
        }
        FileStatus::Imported => format!(
            "{path}: {resumed}{rows} rows: {counts} ({})",
            seconds(outcome.elapsed.as_secs_f64())
        ),
    }
}

/// The overall figures at one moment.
struct Overall {
    files_done: usize,
    files: usize,
    bytes: u64,
    total_bytes: u64,
    rate: Option<f64>,
}

impl Overall {
    /// `3/10 files · 42.1 MiB/94.0 MiB · 56.3 MiB/s · ETA 8s`, with the
    /// parts that do not fit in `room` columns left out, the least useful
    /// first (the rate, then the bytes).
    fn text(&self, room: usize) -> String {
        let files = format!("{}/{} files", self.files_done, self.files);
        let bytes = format!(
            "{}/{}",
            binary_size(self.bytes),
            binary_size(self.total_bytes)
        );
        let rate = self.rate.map(|r| format!("{}/s", binary_size(r as u64)));
        let eta = (self.rate)
            .filter(|r| *r > 0.0 && self.bytes < self.total_bytes)
            .map(|r| {
                let left = self.total_bytes.saturating_sub(self.bytes) as f64 / r;
                format!("ETA {}", eta_secs(left.ceil() as u64))
            });
        let choices = [
            vec![Some(files.clone()), Some(bytes.clone()), rate, eta.clone()],
            vec![Some(files.clone()), Some(bytes), eta.clone()],
            vec![Some(files.clone()), eta],
            vec![Some(files)],
        ];
        let mut text = String::new();
        for parts in choices {
            text = parts.into_iter().flatten().collect::<Vec<_>>().join(" · ");
            if text.chars().count() <= room {
                break;
            }
        }
        text
    }
}

/// Bytes read over the last [`RATE_WINDOW`], as (time, bytes) samples.
#[derive(Default)]
struct Rate {
    samples: VecDeque<(Duration, u64)>,
}

impl Rate {
    fn add(&mut self, at: Duration, bytes: u64) {
        self.samples.push_back((at, bytes));
        while let Some(&(first, _)) = self.samples.front()
            && at.saturating_sub(first) > RATE_WINDOW
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window, once it spans [`RATE_AT_LEAST`]
    /// and something was read in it.
    fn per_sec(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1.saturating_sub(t0);
        if span < RATE_AT_LEAST || b1 <= b0 {
            return None;
        }
        Some((b1 - b0) as f64 / span.as_secs_f64())
    }
}

fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// A file's own rate and ETA, once it has been read for a second (before
/// that a rate says nothing, and an ETA of 0s is a lie).
fn file_rate(state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    if state.elapsed() < RATE_AT_LEAST || state.pos() == 0 {
        return;
    }
    let rate = format!("{}/s", binary_size(state.per_sec() as u64));
    let left = state.len().unwrap_or(0).saturating_sub(state.pos());
    let eta = eta_secs(left.div_ceil(state.per_sec().max(1.0) as u64));
    let _ = write!(out, "{rate:>12} ETA {eta}");
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
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    /// A clock that moves only when told.
    #[derive(Clone, Default)]
    struct TestClock(Arc<AtomicU64>);

    impl TestClock {
        fn advance(&self, ms: u64) {
            self.0.fetch_add(ms, Ordering::Relaxed);
        }
    }

    impl Clock for TestClock {
        fn elapsed(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::Relaxed))
        }

        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(1_764_700_000) + self.elapsed()
        }
    }

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn outcome(path: &str, status: FileStatus) -> FileOutcome {
        FileOutcome {
            path: PathBuf::from(path),
            size: Some(1000),
            status,
            rows: crate::outcome::RowCounts {
                read: 43_126,
                imported: 43_000,
                rejected: 4,
                duplicate: 122,
                ..Default::default()
            },
            orders: Default::default(),
            error: None,
            rejects: Vec::new(),
            elapsed: Duration::from_millis(1500),
            bytes_read: 1000,
            resumed_from_line: None,
            resume_line: None,
        }
    }

    fn bars(width: u16, clock: &TestClock) -> (InMemoryTerm, Progress) {
        let term = InMemoryTerm::new(12, width);
        let t = term.clone();
        let screen = move || {
            let width = usize::from(t.width());
            (ProgressDrawTarget::term_like(Box::new(t)), width)
        };
        let plan = Plan {
            files: 2,
            bytes: 2_000_000,
            longest_name: LONG.len(),
        };
        let progress = Progress::with_target(
            ProgressMode::Bars,
            plan,
            screen,
            || Box::new(std::io::sink()),
            Box::new(clock.clone()),
        );
        (term, progress)
    }

    const LONG: &str = "exports/marketplace-purchase-report-2026-11/marketplace-purchase-report-2026-11-part-003.csv";

    #[test]
    fn bars_count_the_files_being_read_and_show_an_eta_only_from_a_rate() {
        let clock = TestClock::default();
        let (term, progress) = bars(120, &clock);
        // The test terminal has no refresh-rate limit: every change is drawn
        // at once, so nothing here waits for a clock.
        let bar = progress.file_bar(LONG, 1_000_000);
        progress.tick();
        let screen = term.contents();
        assert!(!screen.contains("ETA"), "no ETA before a rate: {screen}");
        assert!(screen.contains("0/2 files"), "{screen}");
        bar.set_position(250_000, 12_345);
        clock.advance(2000);
        progress.tick();
        bar.set_position(500_000, 24_690);
        clock.advance(2000);
        progress.tick();
        let screen = term.contents();
        assert!(screen.contains("24,690 rows"), "{screen}");
        // The distinct end of the path shows, its shared start does not.
        assert!(screen.contains("…"), "{screen}");
        assert!(screen.contains("2026-11-part-003.csv"), "{screen}");
        // A file part-read counts in the total: 500,000 of 2,000,000 bytes
        // after 4 s, at 125,000 bytes/s: 12 s left.
        assert!(
            screen.contains("0/2 files · 488.3 KiB/1.9 MiB · ETA ~12s"),
            "{screen}"
        );
        for line in screen.lines() {
            assert!(line.chars().count() <= 120, "{line:?} wider than 120");
        }
        bar.finish();
        progress.file_done(&outcome(LONG, FileStatus::Imported), Some(7));
        let screen = term.contents();
        assert!(
            screen.contains(
                "-part-003.csv: 43,126 rows: 43,000 imported, 4 rejected, 122 duplicate (1.5s)"
            ),
            "{screen}"
        );
        assert!(screen.contains("1/2 files"), "{screen}");
        progress.finishing("building the index");
        assert!(term.contents().contains("building the index…"));
        progress.finish();
        assert!(
            !term.contents().contains("total"),
            "bars cleared: {}",
            term.contents()
        );
    }

    #[test]
    fn bars_fit_a_narrow_terminal() {
        let clock = TestClock::default();
        let (term, progress) = bars(60, &clock);
        let bar = progress.file_bar(LONG, 1_000_000);
        bar.set_position(250_000, 1_234_567);
        clock.advance(2000);
        progress.tick();
        bar.set_position(500_000, 2_469_134);
        clock.advance(2000);
        progress.tick();
        let screen = term.contents();
        let lines: Vec<&str> = screen.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2, "{screen}");
        for line in &lines {
            assert!(line.chars().count() <= 60, "{line:?} wider than 60");
        }
        assert!(
            lines[0].starts_with("…rt-2026-11-part-003.csv [="),
            "{screen}"
        );
        assert!(lines[0].contains("2,469,134 rows"), "{screen}");
        assert!(lines[1].contains("0/2 files"), "{screen}");
        assert!(lines[1].contains("ETA"), "{screen}");
    }

    #[test]
    fn an_interrupted_file_says_where_the_next_run_resumes() {
        let mut o = outcome("files/a.csv", FileStatus::InProgress);
        o.resume_line = Some(42_002);
        assert_eq!(
            file_line(&o, usize::MAX),
            "files/a.csv: interrupted at line 42,002, 43,126 rows read: 43,000 imported, 4 rejected, 122 duplicate"
        );
        o.resumed_from_line = Some(1_002);
        o.status = FileStatus::Imported;
        assert_eq!(
            file_line(&o, usize::MAX),
            "files/a.csv: resumed at line 1,002, 43,126 rows: 43,000 imported, 4 rejected, 122 duplicate (1.5s)"
        );
    }

    #[test]
    fn the_log_stamps_each_line_and_folds_files_already_imported() {
        let clock = TestClock::default();
        let sink = Sink::default();
        let log = sink.clone();
        let progress = Progress::with_target(
            ProgressMode::Log,
            Plan {
                files: 3,
                bytes: 3000,
                longest_name: 11,
            },
            || (ProgressDrawTarget::hidden(), 80),
            move || Box::new(log),
            Box::new(clock.clone()),
        );
        let a = progress.file_bar("files/a.csv", 1000);
        a.set_position(1000, 10);
        a.finish();
        progress.file_done(&outcome("files/a.csv", FileStatus::Skipped), None);
        progress.tick();
        clock.advance(5000);
        let b = progress.file_bar("files/b.csv", 1000);
        b.set_position(1000, 10);
        b.finish();
        progress.file_done(&outcome("files/b.csv", FileStatus::Imported), Some(7));
        let c = progress.file_bar("files/c.csv", 1000);
        c.finish();
        let mut failed = outcome("files/c.csv", FileStatus::Failed);
        failed.error = Some("no header line".into());
        progress.file_done(&failed, Some(7));
        clock.advance(1000);
        progress.tick();
        clock.advance(4000);
        progress.tick();
        progress.finishing("building the index");
        assert_eq!(
            sink.text(),
            "\
2025-12-02T18:26:45Z run 7: files/b.csv: 43,126 rows: 43,000 imported, 4 rejected, 122 duplicate (1.5s)
2025-12-02T18:26:45Z run 7: progress: 2/3 files · 2.0 KiB/2.9 KiB · 200 B/s · ETA ~5s
2025-12-02T18:26:45Z run 7: files/c.csv: failed: no header line
2025-12-02T18:26:50Z run 7: progress: 3/3 files · 2.9 KiB/2.9 KiB · 200 B/s
2025-12-02T18:26:50Z run 7: building the index
"
        );
        assert_eq!(progress.already_imported(), 1);
    }

    #[test]
    fn the_overall_text_drops_the_least_useful_parts_to_fit() {
        let o = Overall {
            files_done: 3,
            files: 10,
            bytes: 44_000_000,
            total_bytes: 98_000_000,
            rate: Some(6_000_000.0),
        };
        assert_eq!(
            o.text(100),
            "3/10 files · 42.0 MiB/93.5 MiB · 5.7 MiB/s · ETA ~9s"
        );
        assert_eq!(o.text(40), "3/10 files · 42.0 MiB/93.5 MiB · ETA ~9s");
        assert_eq!(o.text(25), "3/10 files · ETA ~9s");
        assert_eq!(o.text(5), "3/10 files");
    }

    #[test]
    fn the_rate_is_of_the_last_seconds_only() {
        let mut rate = Rate::default();
        rate.add(Duration::ZERO, 0);
        assert_eq!(rate.per_sec(), None, "no rate from one moment");
        rate.add(Duration::from_millis(500), 1000);
        assert_eq!(rate.per_sec(), None, "nor from half a second");
        rate.add(Duration::from_secs(2), 100_000);
        assert_eq!(rate.per_sec(), Some(50_000.0));
        // A slow start drops out of the window.
        for s in 3..=20 {
            rate.add(Duration::from_secs(s), 100_000 + (s - 2) * 1_000_000);
        }
        assert_eq!(rate.per_sec(), Some(1_000_000.0));
    }

    #[test]
    fn no_bars_outside_bars_mode() {
        for mode in [ProgressMode::Log, ProgressMode::None] {
            let progress = Progress::with_target(
                mode,
                Plan::default(),
                || (ProgressDrawTarget::hidden(), 80),
                || Box::new(std::io::sink()),
                Box::new(TestClock::default()),
            );
            assert!(progress.file_bar("a.csv", 10).bar.is_none());
        }
    }
}
