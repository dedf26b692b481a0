//! The history: the throughput of earlier runs, or the built-in figure.

use super::*;

/// One earlier finished run, as `import_runs` recorded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PastRun {
    pub rows_read: i64,
    pub rows_per_sec: f64,
    pub bytes_per_sec: f64,
    pub peak_rss_bytes: f64,
    /// Files read at once: its `jobs`, or fewer when it had fewer files.
    pub jobs: u64,
    pub chunk_size: u64,
}

#[derive(Debug, Clone, Default)]
pub(super) struct History {
    pub(super) db: String,
    pub(super) runs: Vec<PastRun>,
}

impl History {
    /// Recent finished runs of `place`, read through
    /// [`crate::store::read`]; none when nothing was imported into it yet
    /// (nothing is created). Anything else that stops the reading is an
    /// error: the database is unusable.
    pub(super) fn load(place: &Place) -> Result<History> {
        let mut history = History {
            db: place.display(),
            runs: Vec::new(),
        };
        let Some(reader) = read::open_history(place)? else {
            return Ok(history);
        };
        let finished = reader.snapshot(|s| s.finished_runs(HISTORY_RUNS))?;
        history.runs = finished
            .into_iter()
            .map(|r| {
                let (jobs, chunk_size) = run_options(r.options.as_deref());
                let files = r.files_total.unwrap_or(0);
                PastRun {
                    rows_read: r.rows_read,
                    rows_per_sec: r.rows_per_sec as f64,
                    bytes_per_sec: r.bytes_per_sec as f64,
                    peak_rss_bytes: r.peak_rss_bytes.unwrap_or(0) as f64,
                    jobs: jobs.min(files.max(1) as u64).max(1),
                    chunk_size,
                }
            })
            .collect();
        Ok(history)
    }
}

/// `jobs` and `chunk_size` from a run's recorded settings (the defaults
/// when they cannot be read).
pub(super) fn run_options(options: Option<&str>) -> (u64, u64) {
    let value: serde_json::Value = options
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    let get = |key: &str, default: u64| value[key].as_u64().filter(|&n| n > 0).unwrap_or(default);
    (
        get("jobs", BUILT_IN_JOBS),
        get("chunk_size", BUILT_IN_CHUNK_SIZE),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    History,
    BuiltIn,
}

/// The measured point the advice scales from.
#[derive(Debug, Clone)]
pub struct Reference {
    pub source: Source,
    pub db: String,
    /// Runs the figures come from.
    pub runs: u64,
    /// Every run used read fewer than [`MIN_MEASURED_ROWS`] rows.
    pub small_runs_only: bool,
    pub bytes_per_sec: f64,
    pub rows_per_sec: f64,
    pub peak_rss_bytes: f64,
    /// The settings of the run that reached `peak_rss_bytes`.
    pub peak_jobs: u64,
    pub peak_chunk_size: u64,
    /// Files read at once in the measured runs (median).
    pub jobs: u64,
}

impl Reference {
    pub fn built_in(db: &str) -> Reference {
        Reference {
            source: Source::BuiltIn,
            db: db.to_string(),
            runs: 0,
            small_runs_only: false,
            bytes_per_sec: BUILT_IN_BYTES_PER_SEC,
            rows_per_sec: BUILT_IN_ROWS_PER_SEC,
            peak_rss_bytes: BUILT_IN_PEAK_RSS,
            peak_jobs: BUILT_IN_JOBS,
            peak_chunk_size: BUILT_IN_CHUNK_SIZE,
            jobs: BUILT_IN_JOBS,
        }
    }

    /// Median rates and the highest peak memory of the recent runs; runs
    /// that read fewer than [`MIN_MEASURED_ROWS`] count only when no larger
    /// one exists.
    pub(super) fn from_history(history: &History) -> Reference {
        Reference::from_runs(&history.db, &history.runs)
    }

    pub fn from_runs(db: &str, all: &[PastRun]) -> Reference {
        let large: Vec<PastRun> = all
            .iter()
            .copied()
            .filter(|r| r.rows_read >= MIN_MEASURED_ROWS)
            .collect();
        let small_runs_only = large.is_empty();
        let runs = if small_runs_only { all.to_vec() } else { large };
        if runs.is_empty() {
            return Reference::built_in(db);
        }
        let peak = runs
            .iter()
            .copied()
            .max_by(|a, b| a.peak_rss_bytes.total_cmp(&b.peak_rss_bytes))
            .unwrap_or(runs[0]);
        Reference {
            source: Source::History,
            db: db.to_string(),
            runs: runs.len() as u64,
            small_runs_only,
            bytes_per_sec: median(runs.iter().map(|r| r.bytes_per_sec).collect()),
            rows_per_sec: median(runs.iter().map(|r| r.rows_per_sec).collect()),
            peak_rss_bytes: peak.peak_rss_bytes,
            peak_jobs: peak.jobs,
            peak_chunk_size: peak.chunk_size,
            jobs: median(runs.iter().map(|r| r.jobs as f64).collect()).round() as u64,
        }
    }

    /// Bytes of CSV per row in the measured runs.
    pub fn bytes_per_row(&self) -> f64 {
        (self.bytes_per_sec / self.rows_per_sec.max(1.0)).max(1.0)
    }
}

pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
