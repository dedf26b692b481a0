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
//! Each row is counted in the run that committed it: a run shows, for each
//! file, what that run committed of it (`import_file_runs`), so a file a
//! killed run left part-way is listed in that run as interrupted, where it
//! stopped, and in the run that resumed it with that run's rows only.
//!
//! While a run is going, its counts are those of its last commit, and its
//! progress and ETA come from the checkpoints the writer commits with every
//! chunk (`bytes_committed`) over the work the run recorded when it started
//! (`planned_files`, `planned_bytes`): exact but for a `.gz` file in
//! progress, whose checkpoint counts decoded text. A run of an older
//! version recorded no plan: files not begun are not in `import_files`, so
//! their sizes are guessed, and the output says it is an estimate.

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
                write_list(&mut out, reader.shown(), &runs, table_width())?;
                write_partial(&mut out, &partial)?;
            }
        }
        Some(id) => {
            let detail = look(&reader, |s| s.detail(id))?;
            if args.json {
                writeln!(out, "{}", to_json(&detail, true)?)?;
            } else {
                write_detail(&mut out, &detail, table_width())?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(Exit::Ok as u8))
}

/// The width tables keep to: the terminal's, or off a terminal `COLUMNS`
/// when it is set (else none: a script reads whole lines).
fn table_width() -> Option<usize> {
    match std::io::stdout().is_terminal() {
        true => Some(terminal_size().0),
        false => off_terminal_width(),
    }
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
            line_committed: None,
            bytes_from: 0,
            resumed_from_line: None,
            carried_on_by: None,
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
        let p = estimate(
            Some(at(start)),
            at("2025-01-01T10:00:10Z"),
            (4, 0),
            &files,
            None,
        );
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
        let p = estimate(
            Some(at(start)),
            at("2025-01-01T10:00:05Z"),
            (1, 0),
            &files,
            None,
        );
        assert_eq!(p.eta_secs, None);
        assert!(eta_text(&p).contains("unknown"));

        let gz = file("a.csv.gz", "in_progress", 1000, 5000, start);
        assert_eq!(gz.fraction(), None);
        let p = estimate(
            Some(at(start)),
            at("2025-01-01T10:00:05Z"),
            (1, 0),
            &[gz],
            None,
        );
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

    /// A run of 100 files of 1 MiB (the 100th 3 MiB), started at 10:00:
    /// 60 imported, 3 in progress (the first resumed from a killed run),
    /// 1 failed, 36 not begun; as seen at 10:10.
    fn busy_run() -> (Detail, SystemTime) {
        let start = "2025-01-01T10:00:00Z";
        let mib = 1 << 20;
        let mut files = Vec::new();
        for i in 1..=64u64 {
            let path = format!("exports/2026-11/marketplace-2026-11-part-{i:03}.csv");
            let mut f = file(&path, "imported", mib, mib, start);
            f.id = i as i64;
            f.rows.read = 1000;
            f.rows.imported = 1000;
            match i {
                61 => {
                    f.state = "in_progress".into();
                    f.bytes_committed = mib / 2;
                    f.bytes_from = mib / 4;
                    f.resumed_from_line = Some(251);
                    f.rows.read = 250;
                    f.rows.imported = 250;
                }
                62 | 63 => {
                    f.state = "in_progress".into();
                    f.bytes_committed = mib / 10;
                    f.started_at = "2025-01-01T10:09:00Z".into();
                    f.rows.read = 100;
                    f.rows.imported = 100;
                }
                64 => {
                    f.state = "failed".into();
                    f.error = Some("more than 10 rejected rows (--max-errors 10)".into());
                    f.rows.read = 11;
                    f.rows.imported = 0;
                    f.rows.failed = 11;
                }
                _ => {}
            }
            files.push(f);
        }
        let mut rows = RowCounts::default();
        for f in &files {
            rows.add(&f.rows);
        }
        let run = RunRecord {
            id: 7,
            started_at: start.into(),
            finished_at: None,
            state: "running".into(),
            pid: 4242,
            host: None,
            version: "0.1.0".into(),
            options: "{}".into(),
            files: FileCounts {
                total: 100,
                imported: 60,
                skipped: 0,
                failed: 1,
            },
            rows,
            elapsed_ms: None,
            peak_rss_bytes: None,
            rows_per_sec: None,
            bytes_per_sec: None,
            planned_files: Some(100),
            planned_bytes: Some(102 * mib),
            skipped_bytes: Some(0),
        };
        let now = at("2025-01-01T10:10:00Z");
        (detail_of(&run, &files, true, now), now)
    }

    #[test]
    fn progress_is_exact_over_the_planned_work() {
        let (d, _) = busy_run();
        let p = d.progress.unwrap();
        assert!(!p.is_estimate);
        let mib = 1 << 20;
        // 61 files whole (60 imported, 1 failed), half of one, a tenth of two.
        assert_eq!(p.bytes_done, 61 * mib + mib / 2 + 2 * (mib / 10));
        assert_eq!(p.bytes_total_estimate, 102 * mib);
        assert_eq!(p.files_not_started, 36);
        assert_eq!(p.bytes_not_started, Some(38 * mib));
        // This run read 60 MiB, a quarter of one and a tenth of two: not
        // the quarter the killed run had committed.
        let mine = 60 * mib + mib / 4 + 2 * (mib / 10);
        assert_eq!(p.bytes_per_sec, Some(mine / 600));
    }

    #[test]
    fn follow_screen_at_120_columns() {
        let (d, now) = busy_run();
        let expected = [
            "run 7 running, 10m 00s elapsed, 60.5% done, 61.7 MiB of 102.0 MiB, 103.2 KiB/s, ETA ~6m 41s",
            "rows read 60461, imported 60450, rejected 0, duplicate 0",
            "",
            "PATH                                                DONE       ETA  READ  IMPORTED  REJECTED  NOTE",
            "exports/2026-11/marketplace-2026-11-part-061.csv   50.0%  ~20m 00s   250       250         0  resumed at line 251",
            "exports/2026-11/marketplace-2026-11-part-062.csv   10.0%   ~9m 00s   100       100         0",
            "exports/2026-11/marketplace-2026-11-part-063.csv   10.0%   ~9m 00s   100       100         0",
            "exports/2026-11/marketplace-2026-11-part-064.csv  failed              11         0         0  more than 10 rejected r…",
            "60 imported, 36 not started (38.0 MiB)",
        ];
        let screen = screen(&d, 120, 24, now);
        assert_eq!(screen, expected.join("\n") + "\n");
        assert!(screen.lines().all(|l| l.chars().count() <= 120), "{screen}");
        assert!(screen.lines().count() < 24);
    }

    #[test]
    fn follow_screen_at_60_columns() {
        let (d, now) = busy_run();
        let expected = [
            "run 7 running, 10m 00s elapsed, 60.5% done",
            "61.7 MiB of 102.0 MiB, 103.2 KiB/s, ETA ~6m 41s",
            "rows read 60461, imported 60450, rejected 0, duplicate 0",
            "",
            "PATH                      DONE       ETA  IMPORTED",
            "…-2026-11-part-061.csv   50.0%  ~20m 00s       250",
            "…-2026-11-part-062.csv   10.0%   ~9m 00s       100",
            "…-2026-11-part-063.csv   10.0%   ~9m 00s       100",
            "…-2026-11-part-064.csv  failed                   0",
            "60 imported, 36 not started (38.0 MiB)",
        ];
        let screen = screen(&d, 60, 24, now);
        assert_eq!(screen, expected.join("\n") + "\n");
        assert!(screen.lines().all(|l| l.chars().count() <= 60), "{screen}");
        assert!(screen.lines().count() < 24);
    }

    /// Too short for the files: they are counted.
    #[test]
    fn follow_screen_keeps_to_a_short_terminal() {
        let (d, now) = busy_run();
        let expected = [
            "run 7 running, 10m 00s elapsed, 60.5% done, 61.7 MiB of 102.0 MiB, 103.2 KiB/s",
            "ETA ~6m 41s",
            "rows read 60461, imported 60450, rejected 0, duplicate 0",
            "",
            "3 in progress, 1 failed",
            "60 imported, 36 not started (38.0 MiB)",
        ];
        let screen = screen(&d, 80, 8, now);
        assert_eq!(screen, expected.join("\n") + "\n");
        assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
        assert!(screen.lines().count() < 8);
    }

    #[test]
    fn detail_table_fits_60_columns_without_cutting_a_number() {
        let (d, _) = busy_run();
        let mut out = Vec::new();
        write_detail(&mut out, &d, Some(60)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("PATH"))
            .collect();
        assert!(table.iter().all(|l| l.chars().count() <= 60), "{text}");
        let ends = [
            "PATH                  STATE         DONE  IMPORTED",
            "…026-11-part-001.csv  imported                1000",
            "…026-11-part-061.csv  in_progress  50.0%       250",
            "…026-11-part-062.csv  in_progress  10.0%       100",
            "…026-11-part-063.csv  in_progress  10.0%       100",
            "…026-11-part-064.csv  failed                     0",
            "... and 36 files not started yet (38.0 MiB)",
        ];
        assert_eq!([&table[..2], &table[table.len() - 5..]].concat(), ends);
        // At its natural width nothing is left out.
        let mut out = Vec::new();
        write_detail(&mut out, &d, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("exports/2026-11/marketplace-2026-11-part-064.csv  failed")
                && text.contains("more than 10 rejected rows (--max-errors 10)"),
            "{text}"
        );
    }

    #[test]
    fn utc_times_read_back() {
        assert!(parse_time("2025-01-01T10:00:00Z").is_some());
        assert_eq!(local_time("not a time", true), "not a time");
    }
}
