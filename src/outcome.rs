//! Outcome: the words the pipeline speaks, shared by readers, stores,
//! progress and the summary.
//!
//! What a file's reader is told when it begins ([`Begin`]), how a file ended
//! ([`FileEnd`], [`FileStatus`]), where its rows and orders went
//! ([`RowCounts`], [`OrderCounts`], [`FileOutcome`]), why a row was rejected
//! ([`Reason`], [`Reject`]), where a file's reading stands ([`Checkpoint`]),
//! what a writer tells the display ([`Watch`]) and a run's totals
//! ([`RunRecord`]). This module is a leaf: it imports
//! nothing of this crate, so every stage and every store can use it without
//! a circle; how a store keeps these words in its tables is the store's
//! business, never this module's.

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Why a row was rejected; stored as snake_case in `import_rejects.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    FieldCount,
    MissingValue,
    InvalidInteger,
    InvalidMoney,
    InvalidDatetime,
    NegativeValue,
    TotalMismatch,
    InvalidEncoding,
    RecordTooLong,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::FieldCount => "field_count",
            Reason::MissingValue => "missing_value",
            Reason::InvalidInteger => "invalid_integer",
            Reason::InvalidMoney => "invalid_money",
            Reason::InvalidDatetime => "invalid_datetime",
            Reason::NegativeValue => "negative_value",
            Reason::TotalMismatch => "total_mismatch",
            Reason::InvalidEncoding => "invalid_encoding",
            Reason::RecordTooLong => "record_too_long",
        }
    }
}

/// A rejected row, with what is needed to find and fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub line: u64,
    /// The header as written in the file; `None` when the whole row is at fault.
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: Reason,
    pub message: String,
    /// The record as CSV.
    #[serde(skip)]
    pub raw: String,
}

/// Where a file's reading stands after the rows of a chunk: enough to resume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Bytes of the (decoded) stream consumed, BOM included.
    pub bytes: u64,
    /// Records read so far.
    pub rows: u64,
    /// The physical line the reader stands on.
    pub line: u64,
}

/// The writer's answer to a reader's `Begin` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Read the file, from its start or, when a killed run left it part-way,
    /// from the checkpoint it committed (with the rows it had rejected, which
    /// count against `max_errors`).
    Proceed {
        resume: Option<Checkpoint>,
        rejected: u64,
    },
    /// The same bytes were imported before: do not read.
    Skip,
}

/// How a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEnd {
    Complete,
    Skipped,
    Failed(String),
    /// The run is stopping; what was committed stays for the next run.
    Interrupted,
}

/// The state of a file in the summary and in `import_files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    InProgress,
    Imported,
    Skipped,
    Failed,
    /// The run stopped before this file was done; the next run resumes it.
    /// (In `import_files` such a file stays `in_progress`.)
    Interrupted,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::InProgress => "in_progress",
            FileStatus::Imported => "imported",
            FileStatus::Skipped => "skipped",
            FileStatus::Failed => "failed",
            FileStatus::Interrupted => "interrupted",
        }
    }

    /// The status [`FileStatus::as_str`] names; `None` for any other text.
    pub fn from_name(name: &str) -> Option<FileStatus> {
        [
            FileStatus::InProgress,
            FileStatus::Imported,
            FileStatus::Skipped,
            FileStatus::Failed,
            FileStatus::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Where every row read went. `read` is always the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub read: u64,
    pub imported: u64,
    pub rejected: u64,
    pub duplicate: u64,
    pub filtered: u64,
    pub failed: u64,
}

impl RowCounts {
    pub fn add(&mut self, other: &RowCounts) {
        self.read += other.read;
        self.imported += other.imported;
        self.rejected += other.rejected;
        self.duplicate += other.duplicate;
        self.filtered += other.filtered;
        self.failed += other.failed;
    }
}

/// What happened to orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OrderCounts {
    pub created: u64,
    pub updated: u64,
    pub duplicate: u64,
}

impl OrderCounts {
    pub fn add(&mut self, other: &OrderCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.duplicate += other.duplicate;
    }
}

/// How many rejects of a file the summary shows.
pub const REJECTS_SHOWN: usize = 5;

/// The writer's record of one file of the run.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub size: Option<u64>,
    pub status: FileStatus,
    pub rows: RowCounts,
    pub orders: OrderCounts,
    pub error: Option<String>,
    /// The first [`REJECTS_SHOWN`] rejects.
    pub rejects: Vec<Reject>,
    pub elapsed: Duration,
    /// Bytes read from the file in this run, for throughput.
    pub bytes_read: u64,
    /// The line this run resumed the file from, when a killed run had
    /// committed part of it; `rows` then counts only what this run read.
    pub resumed_from_line: Option<u64>,
    /// The line the reading of the file stands on after the last chunk this
    /// run handled: where the next run resumes it if this one stops here.
    pub resume_line: Option<u64>,
}

impl FileOutcome {
    /// The file took an order over with `rows` it had counted as
    /// duplicates: they are imported now, and the order is no longer one
    /// of its duplicate orders (when `counted_duplicate` was it) but
    /// `updated` (Some(true)) or created (Some(false)), if it is counted
    /// here at all.
    pub fn took_over(&mut self, rows: u64, counted_duplicate: bool, updated: Option<bool>) {
        self.rows.imported += rows;
        self.rows.duplicate = self.rows.duplicate.saturating_sub(rows);
        let orders = &mut self.orders;
        if counted_duplicate {
            orders.duplicate = orders.duplicate.saturating_sub(1);
        }
        match updated {
            Some(true) => orders.updated += 1,
            Some(false) => orders.created += 1,
            None => {}
        }
    }
}

/// What a writer tells whoever shows the run, as it happens.
pub trait Watch: Sync {
    /// A file's end is committed, by the run `run` when it has recorded
    /// itself (a run that only skipped files never does).
    fn file_done(&self, outcome: &FileOutcome, run: Option<i64>);
    /// Every file is written; the writer finishes with a step that may take
    /// a while (`building the index`).
    fn finishing(&self, _step: &str) {}
}

/// Nobody watching (benchmarks, tests of a writer alone).
impl Watch for () {
    fn file_done(&self, _outcome: &FileOutcome, _run: Option<i64>) {}
}

/// The totals of a run, as stored in `import_runs`.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub state: &'static str,
    /// Imported, skipped, failed.
    pub files: [u64; 3],
    pub rows: RowCounts,
    pub orders: OrderCounts,
    pub elapsed_ms: u64,
    pub peak_rss_bytes: u64,
    pub rows_per_sec: u64,
    pub bytes_per_sec: u64,
    pub user_cpu_ms: u64,
    pub system_cpu_ms: u64,
}
