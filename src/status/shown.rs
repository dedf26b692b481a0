//! What is shown: a run's state, its files, its progress and ETA, as people and scripts see them.

use super::*;

/// A run's state as shown: `running` only while an import holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RunState {
    Running,
    Ok,
    Partial,
    Failed,
    Interrupted,
    /// A state a newer version wrote, shown as stored.
    Other(String),
}

impl RunState {
    pub(super) fn as_str(&self) -> &str {
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
pub(super) struct RunView {
    pub(super) id: i64,
    /// The machine the run is on (PostgreSQL); absent for SQLite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) host: Option<String>,
    pub(super) state: RunState,
    pub(super) started_at: String,
    pub(super) finished_at: Option<String>,
    /// So far, while the run is going; unknown for a killed run.
    pub(super) elapsed_ms: Option<u64>,
    pub(super) files: FileCounts,
    pub(super) rows: RowCounts,
    pub(super) peak_rss_bytes: Option<u64>,
    pub(super) rows_per_sec: Option<u64>,
    pub(super) bytes_per_sec: Option<u64>,
    /// The work the run was given when it started (null for a run recorded
    /// by an older version).
    pub(super) planned_files: Option<u64>,
    pub(super) planned_bytes: Option<u64>,
}

/// `status RUN_ID`.
#[derive(Debug, Serialize)]
pub(super) struct Detail {
    pub(super) run: RunDetail,
    pub(super) files: Vec<FileView>,
    /// Only while the run is going.
    pub(super) progress: Option<Progress>,
}

#[derive(Debug, Serialize)]
pub(super) struct RunDetail {
    #[serde(flatten)]
    pub(super) run: RunView,
    pub(super) pid: i64,
    pub(super) version: String,
    /// The run's settings, as the import recorded them.
    pub(super) options: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub(super) struct FileView {
    pub(super) id: i64,
    pub(super) path: String,
    /// `in_progress` while the run goes; `interrupted` when it stopped
    /// before the file was done (the next run resumes it).
    pub(super) state: String,
    pub(super) size_bytes: Option<u64>,
    /// What this run committed: a file several runs read part of counts,
    /// in each, the rows that run read.
    pub(super) rows: RowCounts,
    pub(super) bytes_committed: u64,
    pub(super) rows_committed: u64,
    /// This run resumed the file at this line, where a killed run stopped.
    pub(super) resumed_from_line: Option<u64>,
    /// An `interrupted` file: the line this run stopped at, and the run
    /// that resumed it from there, if one did.
    pub(super) stopped_at_line: Option<u64>,
    pub(super) resumed_by_run: Option<i64>,
    /// Committed share of the file, 0..=100, for a file not done yet.
    pub(super) progress_percent: Option<f64>,
    /// Estimated seconds until the file is done, while the run is going.
    pub(super) eta_secs: Option<u64>,
    pub(super) started_at: String,
    pub(super) finished_at: Option<String>,
    pub(super) error: Option<String>,
}

pub(super) fn file_view(
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
    let stopped = state == "interrupted";
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
        resumed_from_line: f.resumed_from_line,
        stopped_at_line: f.line_committed.filter(|_| stopped),
        resumed_by_run: f.carried_on_by,
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
pub(super) fn done_bytes(f: &FileRecord) -> u64 {
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

/// Bytes of a file that this run read: [`done_bytes`] but for what an
/// earlier run committed before this one resumed it.
pub(super) fn run_bytes(f: &FileRecord) -> u64 {
    match f.state.as_str() {
        "imported" | "in_progress" => done_bytes(f).saturating_sub(f.bytes_from),
        _ => 0,
    }
}

/// A file's own ETA: the bytes this run committed of it over the time
/// since it (or, when it was resumed from an earlier run, this run) began.
pub(super) fn file_eta(
    f: &FileRecord,
    run_started: Option<SystemTime>,
    now: SystemTime,
) -> Option<Duration> {
    let size = f.size_bytes?;
    let began = parse_time(&f.started_at).max(run_started)?;
    let secs = now.duration_since(began).ok()?.as_secs_f64();
    let (done, mine) = (done_bytes(f), run_bytes(f));
    if secs < 1.0 || mine == 0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        size.saturating_sub(done) as f64 / (mine as f64 / secs),
    ))
}

/// The run's overall progress and ETA, from its committed checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Progress {
    /// Bytes done: finished files whole, files in progress up to their
    /// checkpoint.
    pub(super) bytes_done: u64,
    /// Bytes done plus what is left: the planned total when the run
    /// recorded it, else an estimate.
    pub(super) bytes_total_estimate: u64,
    pub(super) percent_estimate: Option<f64>,
    pub(super) files_total: u64,
    pub(super) files_not_started: u64,
    /// Their bytes, when the run recorded the work it was given.
    pub(super) bytes_not_started: Option<u64>,
    /// The size assumed for each file not begun yet, when the run did not
    /// record its work: files begin smallest first, so each is at least as
    /// large as the largest begun so far. 0 when the sizes are known.
    pub(super) assumed_bytes_per_file_not_started: u64,
    /// Files in progress whose checkpoint says nothing of their progress
    /// (gzip): counted as not begun.
    pub(super) files_unmeasurable: u64,
    /// The bytes this run read, over the time since it started.
    pub(super) bytes_per_sec: Option<u64>,
    /// None until there is a rate to go by.
    pub(super) eta_secs: Option<u64>,
    /// False when the run recorded the work it was given (this version):
    /// the total is then exact, and the ETA assumes only that the rate so
    /// far holds. True for runs of older versions, whose files not begun
    /// are not in the database: their sizes are guessed.
    pub(super) is_estimate: bool,
}

/// The work a run recorded when it started (see [`RunRecord`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Planned {
    pub(super) files: u64,
    pub(super) bytes: u64,
    /// Of the files skipped so far.
    pub(super) skipped_bytes: u64,
}

impl Planned {
    pub(super) fn of(r: &RunRecord) -> Option<Planned> {
        Some(Planned {
            files: r.planned_files?,
            bytes: r.planned_bytes?,
            skipped_bytes: r.skipped_bytes.unwrap_or(0),
        })
    }
}

/// The run's progress: exact over the work it `planned`, when it recorded
/// that; else estimated (see [`Progress::is_estimate`]). `skipped`: the
/// files the run counts as skipped so far, which it records in `files`
/// only when it ends.
pub(super) fn estimate(
    run_started: Option<SystemTime>,
    now: SystemTime,
    (files_total, skipped): (u64, u64),
    files: &[FileRecord],
    planned: Option<Planned>,
) -> Progress {
    let mut done = 0u64;
    let mut left = 0u64;
    let mut mine = 0u64;
    let mut begun_bytes = 0u64;
    let mut largest = 0u64;
    let mut unmeasurable = 0u64;
    for f in files {
        let size = f.size_bytes.unwrap_or(0);
        largest = largest.max(size);
        mine += run_bytes(f);
        match f.state.as_str() {
            "in_progress" if f.measurable() => {
                let d = done_bytes(f);
                done += d;
                left += size.saturating_sub(d);
            }
            "in_progress" => {
                unmeasurable += 1;
                left += size;
            }
            // Counted in the planned work's skipped bytes.
            "skipped" if planned.is_some() => continue,
            // Finished, or left to a later run: no work of this one.
            "imported" | "failed" | "interrupted" | "skipped" if planned.is_some() => done += size,
            _ => done += done_bytes(f),
        }
        begun_bytes += size;
    }
    let files_total = planned.map_or(files_total, |p| p.files);
    let recorded_skips = files.iter().filter(|f| f.state == "skipped").count() as u64;
    let not_started = files_total
        .saturating_sub(files.len() as u64)
        .saturating_sub(skipped.saturating_sub(recorded_skips));
    let bytes_not_started = planned.map(|p| {
        p.bytes
            .saturating_sub(begun_bytes)
            .saturating_sub(p.skipped_bytes)
    });
    match (planned, bytes_not_started) {
        (Some(p), Some(rest)) => {
            done += p.skipped_bytes;
            left += rest;
        }
        _ => left += not_started * largest,
    }
    let secs = run_started
        .and_then(|t| now.duration_since(t).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let rate = (secs >= 1.0 && mine > 0).then(|| mine as f64 / secs);
    let total = done + left;
    Progress {
        bytes_done: done,
        bytes_total_estimate: total,
        percent_estimate: (total > 0).then(|| (done as f64 * 1000.0 / total as f64).round() / 10.0),
        files_total,
        files_not_started: not_started,
        bytes_not_started,
        assumed_bytes_per_file_not_started: if planned.is_some() { 0 } else { largest },
        files_unmeasurable: unmeasurable,
        bytes_per_sec: rate.map(|r| r as u64),
        eta_secs: rate.map(|r| (left as f64 / r).ceil() as u64),
        is_estimate: planned.is_none(),
    }
}

/// The peak resident memory of a live import, from the kernel: only of a
/// run on this machine (`host` is `None` in SQLite, always this one).
#[cfg(target_os = "linux")]
pub(super) fn peak_rss_of(pid: i64, host: Option<&str>) -> Option<u64> {
    if host.is_some_and(|h| Some(h) != this_host().as_deref()) {
        return None;
    }
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
pub(super) fn peak_rss_of(_pid: i64, _host: Option<&str>) -> Option<u64> {
    None
}

/// This machine's name, as the kernel gives it.
#[cfg(target_os = "linux")]
fn this_host() -> Option<String> {
    let mut name = [0u8; 256];
    // SAFETY: gethostname writes at most `name.len()` bytes into `name`.
    if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } != 0 {
        return None;
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}
