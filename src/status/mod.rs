//! `status`: recent runs, or one run with its files, read from the database
//! that imports write; also while an import is writing to it.
//!
//! The database, SQLite or PostgreSQL, is read through
//! [`crate::store::read`], which never writes to it, creates it, or holds a
//! lock an import waits for; each refresh is one short read transaction,
//! so a run and its files are seen at the same instant. A run recorded as
//! `running` is only believed while its import is alive (the read module
//! tells); otherwise it was killed and is shown as `interrupted`, as the
//! next import will record it.
//!
//! While a run is going, `import_runs` holds only its start: its counts are
//! the sums of its files so far, and its progress and ETA come from the
//! checkpoints the writer commits with every chunk (`bytes_committed`).
//! Those are estimates, and the output says so: files not begun yet are not
//! in `import_files`, so their sizes are guessed, and checkpoint bytes count
//! the decoded text (a `.gz` file's progress cannot be told from them).

mod follow;
mod reading;
mod shown;
mod text;
mod units;

use follow::*;
use reading::*;
use shown::*;
use text::*;
use units::*;

use crate::cli::{ImportArgs, StatusArgs};
use crate::outcome::RowCounts;
use crate::report::{Exit, FileCounts};
use crate::settings::{Settings, UsageError};
use crate::store::read::{self, FileRecord, Looks, Place, RunRecord};
use crate::units::{binary_size, eta_secs, plural, short_duration_ms};
use anyhow::Result;
use serde::{Serialize, Serializer};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// How often `--follow` reads the database again.
const REFRESH: Duration = Duration::from_secs(1);

/// Runs `status` and returns the exit code (0; errors are 1 or 2 upstream).
pub fn run(args: StatusArgs) -> Result<ExitCode> {
    let limit = crate::limits::STATUS_LIMIT
        .pick(args.limit.as_deref(), None)
        .map_err(UsageError::from)?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let run_id = match args.run_id.as_deref() {
        Some(text) => Some(
            crate::limits::RUN_ID
                .flag_value(text)
                .map_err(UsageError::from)?,
        ),
        None => None,
    }
    .map(|id| i64::try_from(id).unwrap_or(i64::MAX));
    let settings = Settings::from_args(ImportArgs {
        db: args.db.clone(),
        config: args.config.clone(),
        ..ImportArgs::default()
    })?;
    let place = Place::from_settings(&settings, args.schema.as_deref())?;
    let looks = match args.follow {
        true => Looks::Repeatedly,
        false => Looks::Once,
    };
    let reader = read::open(&place, looks)?;
    let mut out = std::io::stdout().lock();
    if args.follow {
        return follow(&reader, run_id, args.json, &mut out);
    }
    match run_id {
        None => {
            let (runs, partial) = look(&reader, |s| Ok((s.runs(limit)?, s.read.partial_files()?)))?;
            if args.json {
                writeln!(out, "{}", to_json(&runs, true)?)?;
            } else {
                write_list(&mut out, reader.shown(), &runs)?;
                write_partial(&mut out, &partial)?;
            }
        }
        Some(id) => {
            let detail = look(&reader, |s| s.detail(id))?;
            if args.json {
                writeln!(out, "{}", to_json(&detail, true)?)?;
            } else {
                write_detail(&mut out, &detail)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(Exit::Ok as u8))
}

/// One look at the database, as of one read transaction.
fn look<T>(reader: &read::Reader, see: impl FnOnce(&Snapshot) -> Result<T>) -> Result<T> {
    reader.snapshot(|read| {
        see(&Snapshot {
            read,
            now: SystemTime::now(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, state: &str, size: u64, committed: u64, started: &str) -> FileRecord {
        FileRecord {
            id: 1,
            path: path.into(),
            size_bytes: Some(size),
            state: state.into(),
            rows: RowCounts::default(),
            bytes_committed: committed,
            rows_committed: 0,
            error: None,
            started_at: started.into(),
            finished_at: None,
        }
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        let mut t = Table::new(&[("ID", Align::Right), ("STATE", Align::Left)]);
        t.row(vec!["7".into(), "ok".into()]);
        t.row(vec!["12".into(), "interrupted".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID  STATE\n 7  ok\n12  interrupted\n"
        );
    }

    #[test]
    fn eta_from_committed_bytes_and_guessed_sizes() {
        let start = "2025-01-01T10:00:00Z";
        let files = [
            file("a.csv", "imported", 1000, 1000, start),
            file("b.csv", "in_progress", 2000, 1000, start),
        ];
        // 2000 bytes done in 10 s: 200 B/s. Left: 1000 of b, and two files
        // not begun, guessed at 2000 each: 5000 bytes, 25 s.
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:10Z"), (4, 0), &files);
        assert_eq!(p.bytes_done, 2000);
        assert_eq!(p.bytes_total_estimate, 7000);
        assert_eq!(p.files_not_started, 2);
        assert_eq!(p.bytes_per_sec, Some(200));
        assert_eq!(p.eta_secs, Some(25));
        assert!(p.is_estimate);
        assert_eq!(
            file_eta(&files[1], Some(at(start)), at("2025-01-01T10:00:10Z")),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn no_eta_before_anything_is_committed_or_for_gzip() {
        let start = "2025-01-01T10:00:00Z";
        let files = [file("a.csv", "in_progress", 1000, 0, start)];
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:05Z"), (1, 0), &files);
        assert_eq!(p.eta_secs, None);
        assert!(eta_text(&p).contains("unknown"));

        let gz = file("a.csv.gz", "in_progress", 1000, 5000, start);
        assert_eq!(gz.fraction(), None);
        let p = estimate(Some(at(start)), at("2025-01-01T10:00:05Z"), (1, 0), &[gz]);
        assert_eq!(p.bytes_done, 0);
        assert_eq!(p.files_unmeasurable, 1);

        // Decoded bytes past the size on disk never show more than 100%.
        let grown = file("w.csv", "in_progress", 1000, 1200, start);
        assert_eq!(grown.fraction(), Some(1.0));
    }

    #[test]
    fn options_are_summarised() {
        let v: serde_json::Value = serde_json::json!({
            "inputs": ["a.csv", "b/"], "jobs": 1, "chunk_size": 100,
            "max_file_size": 104857600, "on_duplicate": "skip", "force": false
        });
        let (inputs, options) = options_summary(&v);
        assert_eq!(inputs, "a.csv b/");
        assert_eq!(
            options,
            "jobs 1, chunk_size 100, max_file_size 100.0 MiB, on_duplicate skip, force false"
        );
        let (_, raw) = options_summary(&serde_json::Value::String("x".into()));
        assert_eq!(raw, "\"x\"");
    }

    #[test]
    fn utc_times_read_back() {
        assert!(parse_time("2025-01-01T10:00:00Z").is_some());
        assert_eq!(local_time("not a time", true), "not a time");
    }
}
