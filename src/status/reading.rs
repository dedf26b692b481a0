//! Reading: what `status` makes of one look at the database (through
//! [`crate::store::read`]).

use super::*;

/// What the status shows, as of one look at the database.
pub(super) struct Snapshot<'a> {
    pub(super) read: &'a read::Snapshot<'a>,
    pub(super) now: SystemTime,
}

impl FileRecord {
    /// The file's progress can be told from its checkpoint: the checkpoint
    /// counts decoded bytes, which for gzip are not the bytes on disk.
    pub(super) fn measurable(&self) -> bool {
        !self.path.to_ascii_lowercase().ends_with(".gz")
    }

    /// Committed bytes, as a share of the size on disk (0..=1).
    pub(super) fn fraction(&self) -> Option<f64> {
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
    pub(super) fn runs(&self, limit: usize) -> Result<Vec<RunView>> {
        self.read
            .runs(limit)?
            .iter()
            .map(|r| {
                // A finished run has its totals; the others have their files.
                let files = if r.finished_at.is_none() {
                    self.read.files(r.id)?
                } else {
                    Vec::new()
                };
                Ok(self.view(r, &files))
            })
            .collect()
    }

    /// One run with its files; an unknown id is an error naming the database.
    pub(super) fn detail(&self, id: i64) -> Result<Detail> {
        let record = self.read.run(id)?;
        let files = self.read.files(id)?;
        let mut detail = detail_of(&record, &files, self.is_live(&record), self.now);
        if detail.run.run.state == RunState::Running {
            detail.run.run.peak_rss_bytes = peak_rss_of(record.pid, record.host.as_deref());
        }
        Ok(detail)
    }

    /// What a person or script should see of a run (see [`view_of`]).
    pub(super) fn view(&self, r: &RunRecord, files: &[FileRecord]) -> RunView {
        let mut view = view_of(r, files, self.is_live(r), self.now);
        if view.state == RunState::Running {
            view.peak_rss_bytes = peak_rss_of(r.pid, r.host.as_deref());
        }
        view
    }

    /// Whether an import is writing run `r` now.
    fn is_live(&self, r: &RunRecord) -> bool {
        self.read.is_live(r.id) && r.state == "running"
    }
}

/// One run with its files, as of `now`; `live` when its import is going.
pub(super) fn detail_of(
    record: &RunRecord,
    files: &[FileRecord],
    live: bool,
    now: SystemTime,
) -> Detail {
    let run = view_of(record, files, live, now);
    let live = run.state == RunState::Running;
    let progress = live.then(|| {
        estimate(
            parse_time(&record.started_at),
            now,
            (record.files.total, record.files.skipped),
            files,
            Planned::of(record),
        )
    });
    let file_views = files
        .iter()
        .map(|f| file_view(f, live, parse_time(&record.started_at), now))
        .collect();
    let options = serde_json::from_str(&record.options)
        .unwrap_or(serde_json::Value::String(record.options.clone()));
    Detail {
        run: RunDetail {
            run,
            pid: record.pid,
            version: record.version.clone(),
            options,
        },
        files: file_views,
        progress,
    }
}

/// What a person or script should see of a run, as of `now`: a run that
/// is still going (`live`) is measured so far, a killed one is
/// `interrupted`. Each file counts what this run committed of it.
pub(super) fn view_of(r: &RunRecord, files: &[FileRecord], live: bool, now: SystemTime) -> RunView {
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
        host: r.host.clone(),
        state,
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        elapsed_ms: r.elapsed_ms,
        files: r.files,
        rows: r.rows,
        peak_rss_bytes: r.peak_rss_bytes,
        rows_per_sec: r.rows_per_sec,
        bytes_per_sec: r.bytes_per_sec,
        planned_files: r.planned_files,
        planned_bytes: r.planned_bytes,
    };
    if r.finished_at.is_some() {
        return view;
    }
    // Not finished: its totals are those of its last commit. A run
    // recorded by a version that wrote totals only at the end has none:
    // its files tell (what it committed of each).
    let bytes: u64 = files.iter().map(run_bytes).sum();
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
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        let ms = elapsed.as_millis() as u64;
        view.elapsed_ms = Some(ms);
        if ms >= 1000 {
            view.rows_per_sec = Some(rows.read * 1000 / ms);
            view.bytes_per_sec = Some(bytes * 1000 / ms);
        }
    }
    view
}
