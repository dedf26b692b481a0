//! `recommend`: advice on jobs, chunk size and memory limit for a set of
//! files, before they are imported.
//!
//! It samples, it never imports: of each file it reads the header and at most
//! the first [`SAMPLE_BYTES`] of CSV text (gzip is decompressed as it
//! streams), to find the delimiter, the columns, whether the text is UTF-8
//! and how many bytes a row takes; files the import would fail are named.
//! Throughput comes from the earlier runs recorded in the database (SQLite
//! or PostgreSQL, read through [`crate::store::read`]: a missing database
//! is not created), or from a built-in figure
//! measured on this project's CI machine; the output says which. The rules
//! that turn this into advice are in [`advise`], and each one is explained in
//! the output. This module must never write anything but its report to
//! stdout: not the database, not the files.

mod advice;
mod files;
mod history;
mod report;

use advice::*;
use files::*;
use history::*;
use report::*;

use crate::cli::{ImportArgs, RecommendArgs};
use crate::columns::Names;
use crate::inputs;
use crate::limits;
use crate::read::{CHUNK_BYTES, MAX_FIELDS};
use crate::rows::Encoding;
use crate::settings::{Settings, UsageError};
use crate::source::{UTF16, bom_len, csv_reader, header_names, looks_like_utf16, sniff_delimiter};
use crate::store::read::{self, Place};
use crate::units::{about_duration_ms, limit_size, plural_thousands, si_size, thousands};
use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// How much CSV text (after decompression) of each file is looked at.
pub const SAMPLE_BYTES: usize = 256 * 1024;

// The built-in throughput, used when the database holds no earlier run.
// Measured with the release build on this project's 2-core CI machine:
// `cargo run --release --example generate -- --files 100 --rows 500000`
// (147 MB, 294 bytes a row) imported with `-j 5 --chunk-size 1000` into a
// new database: medians of three runs, 132 MB/s, 448,000 rows/s, peak RSS
// 23.6 MB (a quiet machine; busy ones have given 105-120 MB/s).
const BUILT_IN_BYTES_PER_SEC: f64 = 132e6;
const BUILT_IN_ROWS_PER_SEC: f64 = 448e3;
const BUILT_IN_PEAK_RSS: f64 = 23.6e6;
const BUILT_IN_JOBS: u64 = 5;
const BUILT_IN_CHUNK_SIZE: u64 = 1000;

// The memory model: peak RSS = BASE + jobs × (PER_READER + chunk × ROW_READER)
// + chunk × ROW_WRITER, for rows of MODEL_BYTES_PER_ROW bytes of CSV (larger
// rows scale the per-row terms). A reader holds its buffers and up to two
// chunks (one being filled, one in the channel); the writer about one.
// Least-squares fit to the peak RSS of the import above at 1, 2, 5 and 8 jobs
// with chunk sizes 1000 and 5000 (14 to 71 MB; every point within 1.2 MB);
// the chunk-5000 points predate the cap on a chunk's text (see
// HELD_SHARE_OF_ROW), which now bounds them.
// Measured again after the writer came to build the line index at the end
// of a first load: 16.9, 17.2, 23.6 and 31.6 MB at 1, 2, 5 and 8 jobs, up to
// 2.6 MB above the model; the sort's memory sets the peak of small runs.
const MODEL_BASE: f64 = 11.6e6;
const MODEL_PER_READER: f64 = 0.88e6;
const MODEL_ROW_READER: f64 = 1240.0;
const MODEL_ROW_WRITER: f64 = 550.0;
const MODEL_BYTES_PER_ROW: f64 = 294.0;
/// A chunk is sent once its text passes [`CHUNK_BYTES`]; the text it holds
/// is about this share of the CSV bytes of its rows (no quotes or
/// delimiters). Chosen so the model matches an import of 40 files of 5,000
/// rows with `-j 8 --chunk-size 5000` (47.0 MB peak; 29.4 MB at 1000), run
/// after chunks came to be capped by their text.
const HELD_SHARE_OF_ROW: f64 = 0.66;

/// Bytes per second relative to 5 jobs, for 1..=5 jobs, measured with the
/// same import on the same machine (1, 2, 5, 8 jobs, medians of three:
/// 127, 131, 132, 135 MB/s; 3 and 4 interpolated). Even one reader nearly
/// keeps up with the single writer thread, which sets the pace.
const SPEED_BY_JOBS: [f64; 5] = [0.96, 0.99, 0.99, 1.0, 1.0];

/// More readers than this only add memory: one writer does all database work.
const MAX_JOBS: u64 = 8;
const DEFAULT_CHUNK_SIZE: u64 = 1000;
const MIN_CHUNK_SIZE: u64 = 100;
/// The advised memory limit is at least this (MB).
const MIN_MEMORY_MB: u64 = 64;
/// Expected peak × this = the advised memory limit, before rounding.
const MEMORY_HEADROOM: f64 = 1.5;
/// Earlier runs looked at, most recent first.
const HISTORY_RUNS: usize = 20;
/// Runs that read fewer rows mostly measure start-up; they are used only
/// when no larger run exists.
const MIN_MEASURED_ROWS: i64 = 10_000;

/// Runs `recommend`: sample the inputs, read the history, print the advice.
pub fn run(args: RecommendArgs) -> Result<ExitCode> {
    let counted = match (
        &args.file_count,
        &args.avg_file_size,
        args.inputs.is_empty(),
    ) {
        (Some(_), _, false) | (_, Some(_), false) => {
            return Err(usage(
                "give either INPUT files or --file-count with --avg-file-size, not both",
            ));
        }
        (Some(count), Some(avg), true) => Some((
            limits::FILE_COUNT
                .flag_value(count)
                .map_err(UsageError::from)?,
            limits::AVG_FILE_SIZE
                .flag_value(avg)
                .map_err(UsageError::from)?
                .0,
        )),
        (_, _, true) => {
            return Err(usage(
                "nothing to advise on: name the files (recommend files/*.csv) \
                 or describe them (recommend --file-count 100 --avg-file-size 2MB)",
            ));
        }
        (None, None, false) => None,
    };
    let settings = Settings::from_args(ImportArgs {
        inputs: args.inputs.clone(),
        db: args.db.clone(),
        config: args.config.clone(),
        ..Default::default()
    })?;
    let workload = match counted {
        Some((count, avg_size)) => Planned::Counted { count, avg_size },
        None => Planned::Files(sample_inputs(&settings.inputs, &settings)?),
    };
    let place = Place::from_settings(&settings, args.schema.as_deref())?;
    let history = History::load(&place)?;
    let reference = Reference::from_history(&history);
    let workload = workload.into_workload(&settings, &reference);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let advice = advise(
        &workload,
        &reference,
        Machine {
            cores: cores as u64,
            available_memory: available_memory(),
        },
        settings.force_gc_threshold,
    );
    let report = Report::new(&workload, &reference, &advice);
    let mut out = io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        write_text(&mut out, &report, &workload, &reference, &advice, &settings)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "No,Waktu Pesanan Terbuat,Kode Pesanan,SKU,Harga Produk,Qty,Total Harga Produk,Total Transaksi\n";
    const ROW: &str = "1,\"01 January 2025, 10:00:00\",DS-1,SKU-1,45000,2,90000,91500\n";

    fn sampler() -> Sampler {
        let aliases = std::collections::HashMap::new();
        Sampler {
            max_file_size: 100 << 20,
            max_record_size: 1 << 20,
            delimiter: None,
            encoding: Encoding::Auto,
            names: Names::new(&aliases).unwrap(),
        }
    }

    fn head(text: &[u8], size: u64) -> Head {
        let complete = text.len() as u64 == size;
        Head {
            text: text.to_vec(),
            complete,
            gzip: false,
            consumed: text.len() as u64,
            trailer_size: None,
        }
    }

    fn work(files: u64, rows: u64, largest_rows: u64) -> Workload {
        Workload {
            files,
            total_bytes: rows * 294,
            readable_files: files,
            csv_bytes: rows * 294,
            rows,
            largest_rows,
            gzip_files: 0,
            delimiters: vec![(b',', files)],
            warnings: Vec::new(),
            max_record_size: 1 << 20,
        }
    }

    fn machine(cores: u64) -> Machine {
        Machine {
            cores,
            available_memory: None,
        }
    }

    #[test]
    fn counts_rows_of_a_whole_file() {
        let text = format!("\u{feff}{HEADER}{ROW}\n{ROW}{ROW}");
        let looked = look_at_head(&head(text.as_bytes(), text.len() as u64), 0, &sampler());
        assert!(looked.warnings.is_empty(), "{:?}", looked.warnings);
        let s = looked.sample.unwrap();
        assert_eq!(
            (s.rows, s.csv_bytes, s.delimiter),
            (3, text.len() as u64, b',')
        );
    }

    #[test]
    fn estimates_rows_of_a_large_file_from_its_first_lines() {
        let mut text = HEADER.to_string();
        while text.len() < SAMPLE_BYTES {
            text.push_str(ROW);
        }
        let total_rows = 100_000u64;
        let size = (HEADER.len() + ROW.len() * total_rows as usize) as u64;
        let cut = &text.as_bytes()[..SAMPLE_BYTES];
        let s = look_at_head(&head(cut, size), size, &sampler())
            .sample
            .unwrap();
        assert_eq!(s.csv_bytes, size);
        assert!(s.rows.abs_diff(total_rows) <= 1, "{}", s.rows);
    }

    #[test]
    fn a_sample_cut_inside_a_character_is_still_utf8() {
        let mut text = HEADER.as_bytes().to_vec();
        let row = ROW.replace("SKU-1", "Kaos é");
        while text.len() < SAMPLE_BYTES + 10 {
            text.extend_from_slice(row.as_bytes());
        }
        let at = (0..text.len())
            .rev()
            .find(|&i| text[i] == 0xC3 && i < SAMPLE_BYTES)
            .unwrap();
        let cut = &text[..=at];
        let looked = look_at_head(&head(cut, 10 << 20), 10 << 20, &sampler());
        assert!(looked.warnings.is_empty(), "{:?}", looked.warnings);
    }

    #[test]
    fn a_header_longer_than_the_sample_is_not_judged() {
        let text = vec![b'x'; SAMPLE_BYTES];
        let looked = look_at_head(&head(&text, 1 << 20), 1 << 20, &sampler());
        assert!(looked.warnings.is_empty(), "{:?}", looked.warnings);
        assert_eq!(looked.sample.map(|s| s.rows), Some(1));
    }

    #[test]
    fn names_windows_1252_missing_and_unknown_columns() {
        let text = b"No,Kode Pesanan,SKU,Caf\xe9\n1,DS-1,S,x\n";
        let looked = look_at_head(&head(text, text.len() as u64), 0, &sampler());
        let kinds: Vec<_> = looked.warnings.iter().map(|w| (w.kind, w.level)).collect();
        assert_eq!(
            kinds,
            [
                (Kind::NotUtf8, Level::Warning),
                (Kind::MissingColumns, Level::Error),
                (Kind::UnknownColumns, Level::Warning),
            ]
        );
        assert!(looked.warnings[2].message.contains("Café"));
        assert!(looked.sample.is_none());

        let strict = Sampler {
            encoding: Encoding::Utf8,
            ..sampler()
        };
        let looked = look_at_head(&head(text, text.len() as u64), 0, &strict);
        assert_eq!(looked.warnings[0].level, Level::Error);
        assert!(looked.warnings[0].message.contains("encoding = \"utf-8\""));
    }

    #[test]
    fn the_model_matches_its_measurements() {
        // Measured peak RSS (MB) of the built-in figure's import.
        for (jobs, chunk, measured) in [(1, 1000, 14.0), (5, 1000, 23.9), (8, 5000, 47.0)] {
            let model = model_peak(jobs, chunk, MODEL_BYTES_PER_ROW, 1 << 20) / 1e6;
            assert!((model - measured).abs() < 3.0, "{jobs} {chunk}: {model}");
        }
        let at_default = model_peak(
            BUILT_IN_JOBS,
            BUILT_IN_CHUNK_SIZE,
            MODEL_BYTES_PER_ROW,
            1 << 20,
        );
        assert!((at_default - BUILT_IN_PEAK_RSS).abs() < 2e6);
    }

    #[test]
    fn the_model_holds_no_record_past_max_record_size() {
        // A 3 MB row is held as at most max_record_size, in a chunk sent
        // once its text passes CHUNK_BYTES.
        let huge = model_peak(5, 1000, 3e6, 1 << 20);
        let at_limit = model_peak(5, 1000, (1 << 20) as f64, 1 << 20);
        assert_eq!(huge, at_limit);
        assert!(huge < 80e6, "{huge}");
        // Ordinary rows are not capped.
        assert!(model_peak(5, 1000, 294.0, 1 << 20) < huge);
        let small_limit = model_peak(5, 1000, 3e6, 1024);
        assert!(small_limit < huge, "{small_limit}");
    }

    #[test]
    fn a_header_the_import_fails_is_an_error() {
        let wide = format!("No,Kode Pesanan{}\n1,DS-1\n", ",x".repeat(MAX_FIELDS));
        let looked = look_at_head(&head(wide.as_bytes(), wide.len() as u64), 0, &sampler());
        let kinds: Vec<_> = looked.warnings.iter().map(|w| (w.kind, w.level)).collect();
        assert_eq!(kinds, [(Kind::BadHeader, Level::Error)]);
        assert!(looked.sample.is_none());

        let long = Sampler {
            max_record_size: 50,
            ..sampler()
        };
        let text = format!("{HEADER}{ROW}");
        let looked = look_at_head(&head(text.as_bytes(), text.len() as u64), 0, &long);
        assert_eq!(looked.warnings[0].kind, Kind::BadHeader);
        assert!(looked.warnings[0].message.contains("max_record_size"));

        // Cut by the sample's end, yet already too wide.
        let cut = format!("No{}", ",x".repeat(SAMPLE_BYTES));
        let cut = &cut.as_bytes()[..SAMPLE_BYTES];
        let looked = look_at_head(&head(cut, 1 << 30), 1 << 30, &sampler());
        assert_eq!(looked.warnings[0].kind, Kind::BadHeader);
    }

    #[test]
    fn records_past_max_record_size_are_named() {
        let limit = Sampler {
            max_record_size: 200,
            ..sampler()
        };
        let long = ROW.replace("SKU-1", &"s".repeat(300));
        let text = format!("{HEADER}{ROW}{long}{ROW}");
        let looked = look_at_head(&head(text.as_bytes(), text.len() as u64), 0, &limit);
        assert_eq!(looked.warnings.len(), 1, "{:?}", looked.warnings);
        let w = &looked.warnings[0];
        assert_eq!((w.kind, w.level), (Kind::RecordTooLong, Level::Warning));
        assert!(w.message.contains("line 3"), "{}", w.message);
        assert_eq!(looked.sample.map(|s| s.rows), Some(3));
        // A row that does not end inside the sample but is already longer.
        let mut text = format!("{HEADER}{ROW}1,\"");
        text.push_str(&"x".repeat(SAMPLE_BYTES));
        let cut = &text.as_bytes()[..SAMPLE_BYTES];
        let looked = look_at_head(&head(cut, 3 << 20), 3 << 20, &limit);
        assert_eq!(looked.warnings[0].kind, Kind::RecordTooLong);
    }

    #[test]
    fn jobs_follow_files_and_cores() {
        let r = Reference::built_in("x.db");
        assert_eq!(
            advise(&work(100, 500_000, 9_000), &r, machine(2), 0.8).jobs,
            5
        );
        assert_eq!(
            advise(&work(100, 500_000, 9_000), &r, machine(32), 0.8).jobs,
            MAX_JOBS
        );
        assert_eq!(advise(&work(3, 30_000, 9_000), &r, machine(8), 0.8).jobs, 3);
        assert_eq!(advise(&work(0, 0, 0), &r, machine(2), 0.8).jobs, 1);
    }

    #[test]
    fn chunks_fit_tiny_files_and_tight_memory() {
        let r = Reference::built_in("x.db");
        let a = advise(&work(100, 500_000, 9_000), &r, machine(2), 0.8);
        assert_eq!((a.chunk_size, a.max_memory_mb), (1000, 64));
        let a = advise(&work(10, 2_000, 230), &r, machine(2), 0.8);
        assert_eq!(a.chunk_size, 300);
        let tight = Machine {
            cores: 2,
            available_memory: Some(40_000_000),
        };
        let a = advise(&work(100, 500_000, 9_000), &r, tight, 0.8);
        assert!(a.chunk_size < 1000 || a.jobs < 5, "{a:?}");
        assert!(a.peak_rss_bytes as f64 <= 20e6 || a.jobs == 1, "{a:?}");
    }

    #[test]
    fn memory_limit_has_headroom_and_a_floor() {
        let mut r = Reference::built_in("x.db");
        r.peak_rss_bytes = 200e6; // earlier runs used more than the model says
        let a = advise(&work(100, 500_000, 9_000), &r, machine(2), 0.8);
        assert!(a.peak_rss_bytes >= 190_000_000, "{a:?}");
        assert!(a.max_memory_mb * 1_000_000 >= a.peak_rss_bytes * 3 / 2);
        assert_eq!(a.max_memory_mb % 16, 0);
    }

    #[test]
    fn duration_is_bytes_over_the_rate() {
        let r = Reference::built_in("x.db");
        let w = work(100, 1_000_000, 9_000); // 294 MB
        let a = advise(&w, &r, machine(2), 0.8);
        assert_eq!(a.duration_ms, 2228);
        // One file is read by one reader: a little slower than the 5 measured.
        let one = advise(&work(1, 1_000_000, 1_000_000), &r, machine(2), 0.8);
        assert!(one.duration_ms > a.duration_ms, "{one:?}");
    }

    fn past(rows_read: i64, bytes_per_sec: f64, peak: f64) -> PastRun {
        PastRun {
            rows_read,
            rows_per_sec: bytes_per_sec / 300.0,
            bytes_per_sec,
            peak_rss_bytes: peak,
            jobs: 5,
            chunk_size: 1000,
        }
    }

    #[test]
    fn history_gives_medians_and_prefers_large_runs() {
        let runs = [
            past(50_000, 60e6, 40e6),
            past(50_000, 80e6, 30e6),
            past(50_000, 70e6, 35e6),
            past(10, 1e3, 90e6),
        ];
        let r = Reference::from_runs("d.db", &runs);
        assert_eq!(r.source, Source::History);
        assert_eq!((r.runs, r.bytes_per_sec, r.peak_rss_bytes), (3, 70e6, 40e6));
        assert!(!r.small_runs_only);
        let r = Reference::from_runs("d.db", &runs[3..]);
        assert_eq!((r.runs, r.bytes_per_sec), (1, 1e3));
        assert!(r.small_runs_only);
        assert_eq!(Reference::from_runs("d.db", &[]).source, Source::BuiltIn);
    }

    #[test]
    fn run_options_are_read_from_the_recorded_settings() {
        assert_eq!(
            run_options(Some(r#"{"jobs":2,"chunk_size":500}"#)),
            (2, 500)
        );
        assert_eq!(run_options(Some("not json")), (5, 1000));
        assert_eq!(run_options(None), (5, 1000));
    }
}
