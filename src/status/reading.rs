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
        let run = self.view(&record, &files);
        let live = run.state == RunState::Running;
        let progress = live.then(|| {
            estimate(
                parse_time(&record.started_at),
                self.now,
                (record.files.total, record.files.skipped),
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
    pub(super) fn view(&self, r: &RunRecord, files: &[FileRecord]) -> RunView {
        let live = self.read.is_live(r.id) && r.state == "running";
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
            view.peak_rss_bytes = peak_rss_of(r.pid, r.host.as_deref());
        }
        view
    }
}
