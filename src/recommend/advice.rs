//! The advice: jobs, chunk size and memory limit, and what to expect.

use super::*;

/// What the advice depends on of the machine it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    pub cores: u64,
    /// Memory the system could give (Linux `MemAvailable`), when known.
    pub available_memory: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub jobs: u64,
    pub jobs_why: String,
    pub chunk_size: u64,
    pub chunk_why: String,
    pub max_memory_mb: u64,
    pub memory_why: String,
    pub duration_ms: u64,
    pub peak_rss_bytes: u64,
}

/// The rules:
/// - jobs: as many files at once as there are files to read, up to cores + 3
///   (at most [`MAX_JOBS`]): one writer thread does all database work, and on
///   the 2-core CI machine more readers gain little speed (see
///   [`SPEED_BY_JOBS`]) but keep the writer fed when files are compressed
///   or storage is slow.
/// - chunk size: 1000 (at 5 jobs, 5000 gained under 5% for twice the
///   memory); when even the largest file has fewer rows, its row count
///   rounded up to 100, so one chunk holds a file and reserves no more.
///   When the expected peak exceeds half the memory the system has
///   available, chunks halve (down to 100), then jobs drop.
/// - memory limit: the expected peak with 50% headroom, and high enough that
///   the peak stays under `force_gc_threshold` of it, rounded up to 16 MB,
///   at least 64 MB.
/// - duration: CSV bytes at the measured bytes per second, adjusted for
///   fewer files read at once than in the measured runs.
pub fn advise(
    work: &Workload,
    reference: &Reference,
    machine: Machine,
    force_gc_threshold: f64,
) -> Advice {
    let per_row = if work.rows > 0 {
        work.csv_bytes as f64 / work.rows as f64
    } else {
        reference.bytes_per_row()
    };
    // The model, scaled up when earlier runs used more than it predicts for
    // their own settings (a different machine, larger rows).
    let calibration = (reference.peak_rss_bytes
        / model_peak(
            reference.peak_jobs,
            reference.peak_chunk_size,
            reference.bytes_per_row(),
            work.max_record_size,
        ))
    .max(1.0);
    let peak = |jobs, chunk| model_peak(jobs, chunk, per_row, work.max_record_size) * calibration;

    let cores = machine.cores.max(1);
    let cap = (cores + 3).min(MAX_JOBS);
    let files = work.readable_files;
    let mut jobs = files.min(cap).max(1);
    let mut jobs_why = if files == 0 {
        "no file to read".to_string()
    } else if files <= cap {
        format!(
            "one per file: {} to read ({cores} core{} could keep {cap} busy)",
            plural_thousands(files, "file"),
            if cores == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{} to read, {cores} core{}: cores + 3, at most {MAX_JOBS}; \
             past that the one database writer sets the pace",
            plural_thousands(files, "file"),
            if cores == 1 { "" } else { "s" }
        )
    };

    let mut chunk = DEFAULT_CHUNK_SIZE;
    let mut chunk_why = "the default: larger chunks gain little speed for their memory".to_string();
    if files > 0 && work.largest_rows < DEFAULT_CHUNK_SIZE {
        chunk = work.largest_rows.div_ceil(100).max(1) * 100;
        chunk = chunk.max(MIN_CHUNK_SIZE);
        chunk_why = format!(
            "the largest file has about {} rows: one chunk holds a whole file",
            thousands(work.largest_rows)
        );
    }
    if let Some(available) = machine.available_memory {
        let budget = available as f64 / 2.0;
        let (before_jobs, before_chunk) = (jobs, chunk);
        while peak(jobs, chunk) > budget && chunk > MIN_CHUNK_SIZE {
            chunk = (chunk / 2).max(MIN_CHUNK_SIZE);
        }
        while peak(jobs, chunk) > budget && jobs > 1 {
            jobs -= 1;
        }
        if chunk != before_chunk {
            chunk_why = format!(
                "memory is tight ({} available): smaller chunks hold fewer rows in flight",
                si_size(available)
            );
        }
        if jobs != before_jobs {
            jobs_why = format!(
                "memory is tight ({} available): fewer files at once",
                si_size(available)
            );
        }
    }

    let expected_peak = peak(jobs, chunk);
    let threshold = if force_gc_threshold > 0.0 {
        force_gc_threshold
    } else {
        1.0
    };
    let wanted = (expected_peak * MEMORY_HEADROOM).max(expected_peak / threshold);
    let max_memory_mb = ((wanted / 1e6).ceil() as u64)
        .div_ceil(16)
        .saturating_mul(16)
        .max(MIN_MEMORY_MB);
    let mut memory_why = format!(
        "expected peak {} + 50% headroom, in steps of 16, at least {MIN_MEMORY_MB}",
        si_size(expected_peak as u64)
    );
    if expected_peak / threshold > expected_peak * MEMORY_HEADROOM {
        memory_why.push_str(&format!(
            "; the peak stays under force_gc_threshold ({threshold}) of it"
        ));
    }

    let rate = reference.bytes_per_sec * speed_by_jobs(jobs.min(files.max(1)))
        / speed_by_jobs(reference.jobs);
    let duration_ms = if work.csv_bytes == 0 || rate <= 0.0 {
        0
    } else {
        (work.csv_bytes as f64 * 1000.0 / rate).ceil() as u64
    };
    Advice {
        jobs,
        jobs_why,
        chunk_size: chunk,
        chunk_why,
        max_memory_mb,
        memory_why,
        duration_ms,
        peak_rss_bytes: expected_peak.round() as u64,
    }
}

/// Peak RSS of an import with `jobs` readers and chunks of `chunk` rows of
/// `bytes_per_row` bytes, as the fitted model predicts it. It follows what
/// a reader holds (`read.rs`): a record is never held past
/// `max_record_size`, and a chunk is sent once its text passes
/// [`CHUNK_BYTES`], so a chunk holds at most that and one more record.
pub fn model_peak(jobs: u64, chunk: u64, bytes_per_row: f64, max_record_size: u64) -> f64 {
    let row = bytes_per_row.min(max_record_size as f64).max(1.0);
    let held_rows = (CHUNK_BYTES as f64 / HELD_SHARE_OF_ROW + row) / row;
    let scale = (row / MODEL_BYTES_PER_ROW).max(1.0);
    let (jobs, chunk) = (jobs as f64, (chunk as f64).min(held_rows.max(1.0)));
    MODEL_BASE
        + jobs * (MODEL_PER_READER + chunk * MODEL_ROW_READER * scale)
        + chunk * MODEL_ROW_WRITER * scale
}

pub(super) fn speed_by_jobs(jobs: u64) -> f64 {
    let i = (jobs.clamp(1, SPEED_BY_JOBS.len() as u64) - 1) as usize;
    SPEED_BY_JOBS[i]
}

/// Linux's `MemAvailable`, in bytes.
pub(super) fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
