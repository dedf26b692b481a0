//! `recommend`: advice on jobs, chunk size and memory limit for a set of
//! files, before they are imported.
//!
//! It samples, it never imports: of each file it reads the header and at most
//! the first [`SAMPLE_BYTES`] of CSV text (gzip is decompressed as it
//! streams), to find the delimiter, the columns, whether the text is UTF-8
//! and how many bytes a row takes; files the import would fail are named.
//! Throughput comes from the earlier runs recorded in the database, opened
//! read-only (a missing database is not created), or from a built-in figure
//! measured on this project's CI machine; the output says which. The rules
//! that turn this into advice are in [`advise`], and each one is explained in
//! the output. This module must never write anything but its report to
//! stdout: not the database, not the files.

use crate::cli::{ImportArgs, RecommendArgs};
use crate::columns::Names;
use crate::inputs;
use crate::limits;
use crate::read::{CHUNK_BYTES, MAX_FIELDS, UTF16, looks_like_utf16, sniff_delimiter};
use crate::rows::{Encoding, decode};
use crate::settings::{Settings, UsageError};
use crate::store::sqlite::schema;
use anyhow::{Context, Result};
use rayon::prelude::*;
use rusqlite::OptionalExtension;
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

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
    let history = History::load(&settings.db)?;
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

// ---------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------

/// What a warning is about; serialized as the JSON `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    TooLarge,
    MissingColumns,
    UnknownColumns,
    NotUtf8,
    Empty,
    Unreadable,
    NotFound,
    /// A record longer than `max_record_size` (or of more than
    /// [`MAX_FIELDS`] fields): the import rejects it.
    RecordTooLong,
    /// A header line the import cannot take: it fails the file.
    BadHeader,
}

/// `error`: the import would fail the file (or reject its rows);
/// `warning`: it would read it, but something deserves a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// The file (or unmatched pattern); `null` with `--file-count`.
    pub path: Option<String>,
    pub kind: Kind,
    pub level: Level,
    pub message: String,
}

/// What sampling found out about one file the import would read.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Bytes of CSV text once decompressed (estimated for a large gzip file).
    pub csv_bytes: u64,
    /// Rows (counted when the whole file was sampled, else estimated).
    pub rows: u64,
    pub delimiter: u8,
    pub gzip: bool,
}

/// One input file: its size on disk, its sample when the import would read
/// it, and the warnings about it.
#[derive(Debug)]
struct Looked {
    size: u64,
    sample: Option<Sample>,
    warnings: Vec<Warning>,
}

enum Planned {
    Files(Vec<Looked>),
    Counted { count: u64, avg_size: u64 },
}

/// What is to be imported, in the units the advice needs.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Files found (or `--file-count`).
    pub files: u64,
    /// Their size on disk.
    pub total_bytes: u64,
    /// Files the import would read (not failed up front).
    pub readable_files: u64,
    /// CSV bytes of the readable files, decompressed.
    pub csv_bytes: u64,
    pub rows: u64,
    /// Rows of the largest readable file.
    pub largest_rows: u64,
    pub gzip_files: u64,
    /// Delimiters seen, with how many files use each.
    pub delimiters: Vec<(u8, u64)>,
    pub warnings: Vec<Warning>,
    /// The longest record the import holds (`max_record_size`).
    pub max_record_size: u64,
}

fn sample_inputs(patterns: &[String], settings: &Settings) -> Result<Vec<Looked>> {
    let (files, unmatched) = inputs::find(patterns);
    if files.is_empty() {
        return Err(usage(format!(
            "no input files: nothing matches {}",
            unmatched.join(", ")
        )));
    }
    let sampler = Sampler::new(settings)?;
    let mut looked: Vec<Looked> = files.par_iter().map(|f| sampler.look_at(&f.path)).collect();
    // A pattern that matched nothing while others did: the import ignores
    // it, but it may be a typo. Listed first.
    if let Some(first) = looked.first_mut() {
        let typos = unmatched.into_iter().map(|pattern| Warning {
            path: Some(pattern),
            kind: Kind::NotFound,
            level: Level::Warning,
            message: "matches no file".into(),
        });
        first.warnings.splice(0..0, typos);
    }
    Ok(looked)
}

/// What looking at a file needs of the settings.
struct Sampler {
    max_file_size: u64,
    max_record_size: u64,
    /// `None`: found from the header line.
    delimiter: Option<u8>,
    encoding: Encoding,
    names: Names,
}

impl Sampler {
    fn new(settings: &Settings) -> Result<Sampler> {
        Ok(Sampler {
            max_file_size: settings.max_file_size,
            max_record_size: settings.max_record_size,
            delimiter: settings.delimiter,
            encoding: settings.rules.encoding,
            names: Names::new(&settings.columns).map_err(UsageError)?,
        })
    }

    fn look_at(&self, path: &Path) -> Looked {
        look_at(path, self)
    }
}

fn look_at(path: &Path, sampler: &Sampler) -> Looked {
    let shown = path.to_string_lossy().into_owned();
    let warn = |kind, level, message: String| Warning {
        path: Some(shown.clone()),
        kind,
        level,
        message,
    };
    let failed = |size, w| Looked {
        size,
        sample: None,
        warnings: vec![w],
    };
    let size = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => {
            return failed(0, warn(Kind::Unreadable, Level::Error, "not a file".into()));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return failed(
                0,
                warn(
                    Kind::NotFound,
                    Level::Error,
                    "not found: the import would fail this file".into(),
                ),
            );
        }
        Err(e) => {
            return failed(
                0,
                warn(Kind::Unreadable, Level::Error, format!("cannot read: {e}")),
            );
        }
    };
    if size > sampler.max_file_size {
        return failed(
            size,
            warn(
                Kind::TooLarge,
                Level::Error,
                format!(
                    "{} is larger than max_file_size ({}): the import would fail this file \
                     (raise --max-file-size or streaming_import.max_file_size)",
                    human_bytes(size),
                    human_limit(sampler.max_file_size)
                ),
            ),
        );
    }
    if size == 0 {
        return failed(
            0,
            warn(
                Kind::Empty,
                Level::Error,
                "empty file: the import would fail it".into(),
            ),
        );
    }
    let head = match read_head(path) {
        Ok(head) => head,
        Err(e) => {
            return failed(
                size,
                warn(
                    Kind::Unreadable,
                    Level::Error,
                    format!("cannot read: {e}: the import would fail this file"),
                ),
            );
        }
    };
    let mut looked = look_at_head(&head, size, sampler);
    // The import counts max_file_size after decompression.
    if let Some(sample) = looked.sample.as_ref().filter(|s| s.gzip)
        && sample.csv_bytes > sampler.max_file_size
    {
        let about = if head.complete { "" } else { "about " };
        looked.warnings.push(warn(
            Kind::TooLarge,
            Level::Error,
            format!(
                "{about}{} once decompressed is larger than max_file_size ({}): the import \
                 would fail this file (raise --max-file-size or streaming_import.max_file_size)",
                human_bytes(sample.csv_bytes),
                human_limit(sampler.max_file_size)
            ),
        ));
        looked.sample = None;
    }
    for w in &mut looked.warnings {
        w.path = Some(shown.clone());
    }
    looked
}

/// The first [`SAMPLE_BYTES`] of a file's CSV text.
#[derive(Debug)]
struct Head {
    text: Vec<u8>,
    /// The whole file's text is in `text`.
    complete: bool,
    gzip: bool,
    /// Bytes of the file on disk that gave `text` (for gzip, the compressed
    /// bytes the decoder consumed).
    consumed: u64,
    /// For gzip, the uncompressed size its trailer records (of the last
    /// member, modulo 4 GiB).
    trailer_size: Option<u64>,
}

fn read_head(path: &Path) -> io::Result<Head> {
    let mut file = File::open(path)?;
    let mut magic = Vec::with_capacity(2);
    (&mut file).take(2).read_to_end(&mut magic)?;
    let file = File::open(path)?;
    let gzip = magic == [0x1f, 0x8b];
    let mut text = Vec::with_capacity(SAMPLE_BYTES + 1);
    let limit = SAMPLE_BYTES as u64 + 1;
    let consumed = if gzip {
        let mut raw = CountingBuf {
            inner: BufReader::with_capacity(64 * 1024, file),
            consumed: 0,
        };
        flate2::bufread::MultiGzDecoder::new(&mut raw)
            .take(limit)
            .read_to_end(&mut text)?;
        raw.consumed
    } else {
        file.take(limit).read_to_end(&mut text)? as u64
    };
    let complete = text.len() <= SAMPLE_BYTES;
    text.truncate(SAMPLE_BYTES);
    let trailer_size = if gzip && !complete {
        gzip_trailer_size(path)?
    } else {
        None
    };
    Ok(Head {
        text,
        complete,
        gzip,
        consumed,
        trailer_size,
    })
}

/// The last four bytes of a gzip file: ISIZE, little-endian.
fn gzip_trailer_size(path: &Path) -> io::Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() < 18 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(-4))?;
    let mut isize = [0u8; 4];
    file.read_exact(&mut isize)?;
    Ok(Some(u64::from(u32::from_le_bytes(isize))))
}

/// Counts the bytes a buffered reader's user has consumed.
struct CountingBuf<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for CountingBuf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingBuf<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

/// Everything about a file that its first bytes tell; warnings have no path.
fn look_at_head(head: &Head, size: u64, sampler: &Sampler) -> Looked {
    let mut warnings = Vec::new();
    let warn = |kind, level, message: String| Warning {
        path: None,
        kind,
        level,
        message,
    };
    if looks_like_utf16(&head.text) {
        return Looked {
            size,
            sample: None,
            warnings: vec![warn(
                Kind::NotUtf8,
                Level::Error,
                format!("{UTF16}: the import would fail this file"),
            )],
        };
    }
    let bom = if head.text.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let text = &head.text[bom..];
    if text.iter().all(u8::is_ascii_whitespace) {
        return Looked {
            size,
            sample: None,
            warnings: vec![warn(
                Kind::Empty,
                Level::Error,
                "empty file: no header row; the import would fail it".into(),
            )],
        };
    }
    let delimiter = sampler.delimiter.unwrap_or_else(|| sniff_delimiter(text));

    // The encoding, over the whole sample. A sample cut in the middle of a
    // character is still UTF-8.
    if let Err(e) = std::str::from_utf8(text)
        && (head.complete || e.error_len().is_some())
    {
        let at = bom + e.valid_up_to();
        match sampler.encoding {
            Encoding::Auto => warnings.push(warn(
                Kind::NotUtf8,
                Level::Warning,
                format!(
                    "not UTF-8 (byte {at}): looks like Windows-1252 text; \
                     it will be read as such with encoding = auto"
                ),
            )),
            Encoding::Utf8 => warnings.push(warn(
                Kind::NotUtf8,
                Level::Error,
                format!(
                    "not UTF-8 (byte {at}), but encoding = \"utf-8\" is configured: \
                     rows with such bytes will be rejected (invalid_encoding); \
                     use encoding = \"auto\" or \"windows-1252\""
                ),
            )),
            Encoding::Windows1252 => {}
        }
    }

    // Records: the header, then rows up to the last complete line of the
    // sample (a row cut by the sample's end would count as a short one).
    let parsed = match memchr::memrchr(b'\n', text) {
        _ if head.complete => text,
        Some(end) => &text[..=end],
        None => {
            // Not even the header line fits in the sample: the import fails
            // it when it is already too long or has too many fields.
            if let Some(why) = header_fault(text, delimiter, sampler.max_record_size) {
                warnings.push(warn(Kind::BadHeader, Level::Error, why));
                return Looked {
                    size,
                    sample: None,
                    warnings,
                };
            }
            return Looked {
                size,
                sample: Some(Sample {
                    csv_bytes: size,
                    rows: 1,
                    delimiter,
                    gzip: head.gzip,
                }),
                warnings,
            };
        }
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(parsed);
    let mut record = csv::ByteRecord::new();
    let headers: Vec<String> = match csv.read_byte_record(&mut record) {
        Ok(true) => record
            .iter()
            .map(|h| match decode(h, Encoding::Auto) {
                Some(s) => s.trim().to_string(),
                None => String::from_utf8_lossy(h).trim().to_string(),
            })
            .collect(),
        // Only whitespace, which was ruled out above.
        _ => Vec::new(),
    };
    let header_end = csv.position().byte();
    // As the import reads it (`read.rs`): a header of more fields or bytes
    // than a record may have fails the file.
    let header_bytes = record_bytes(
        parsed,
        record.position().map_or(0, |p| p.byte()),
        header_end,
    );
    if let Some(why) = header_limits(record.len(), header_bytes, sampler.max_record_size, false) {
        warnings.push(warn(Kind::BadHeader, Level::Error, why));
        return Looked {
            size,
            sample: None,
            warnings,
        };
    }
    let unknown: Vec<&str> = headers
        .iter()
        .filter(|h| !h.is_empty() && !sampler.names.knows(h))
        .map(String::as_str)
        .collect();
    let mut fails = false;
    if let Err(missing) = sampler.names.map(&headers) {
        fails = true;
        let mut message = format!("{missing}: the import would fail this file");
        match unknown.as_slice() {
            [] => {}
            [one] => message.push_str(&format!(
                "; if {one} is one of them under another name, add it to [columns] in the config"
            )),
            many => message.push_str(&format!(
                "; if any of {} is one of them under another name, add it to [columns] in the config",
                many.join(", ")
            )),
        }
        warnings.push(warn(Kind::MissingColumns, Level::Error, message));
    }
    if !unknown.is_empty() {
        warnings.push(warn(
            Kind::UnknownColumns,
            Level::Warning,
            format!(
                "column(s) not in the export format and without a [columns] alias, ignored: {}",
                unknown.join(", ")
            ),
        ));
    }

    let mut rows = 0u64;
    let mut rows_end = header_end;
    // Records the import rejects unread: how many, and the first.
    let mut oversized = 0u64;
    let mut first_oversized: Option<(u64, String)> = None;
    while let Ok(true) = csv.read_byte_record(&mut record) {
        let start = record.position().map_or(rows_end, |p| p.byte());
        let end = csv.position().byte();
        let bytes = record_bytes(parsed, start, end);
        if bytes > sampler.max_record_size || record.len() > MAX_FIELDS {
            oversized += 1;
            if first_oversized.is_none() {
                let line = record.position().map_or(0, |p| p.line());
                let what = match record.len() > MAX_FIELDS {
                    true => format!("more than {MAX_FIELDS} fields"),
                    false => format!("{bytes} bytes"),
                };
                first_oversized = Some((line, what));
            }
        } else if record
            .iter()
            .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
        {
            continue;
        }
        rows += 1;
        rows_end = end;
    }
    // A row that does not end inside the sample is at least as long as
    // what the sample holds of it.
    let unfinished = (text.len() as u64).saturating_sub(rows_end);
    if !head.complete && oversized == 0 && unfinished > sampler.max_record_size {
        oversized = 1;
        first_oversized = Some((0, format!("over {unfinished} bytes")));
    }
    if let Some((line, what)) = first_oversized {
        let at = match line {
            0 => "the last one sampled".to_string(),
            line => format!("the first on line {line}"),
        };
        warnings.push(warn(
            Kind::RecordTooLong,
            Level::Warning,
            format!(
                "{} longer than max_record_size ({}) in the sampled part ({at}, {what}): \
                 the import rejects such records as record_too_long and reads on",
                plural(oversized, "record"),
                human_limit(sampler.max_record_size)
            ),
        ));
    }
    let csv_bytes = if head.complete {
        head.text.len() as u64
    } else if head.gzip {
        // The compression ratio of the sample, applied to the whole file; it
        // runs low, as a stream compresses better once under way. The size
        // the gzip trailer records is exact for one member under 4 GiB, and
        // is taken when it is close enough to be that.
        let ratio = head.text.len() as f64 / head.consumed.max(1) as f64;
        let estimate = (size as f64 * ratio) as u64;
        match head.trailer_size {
            Some(exact) if estimate < 1 << 32 && exact >= estimate / 2 && exact <= estimate * 2 => {
                exact
            }
            _ => estimate,
        }
    } else {
        size
    };
    let rows = if head.complete {
        rows
    } else if rows == 0 {
        // One row longer than the whole sample.
        1
    } else {
        let per_row = (rows_end - header_end) as f64 / rows as f64;
        let body = csv_bytes.saturating_sub(bom as u64 + header_end);
        (body as f64 / per_row).round() as u64
    };
    Looked {
        size,
        sample: (!fails).then_some(Sample {
            csv_bytes,
            rows,
            delimiter,
            gzip: head.gzip,
        }),
        warnings,
    }
}

/// Bytes of the record at `start..end` of `text` as the import counts them:
/// without the line breaks before it and the one ending it.
fn record_bytes(text: &[u8], start: u64, end: u64) -> u64 {
    let end = (end as usize).min(text.len());
    let start = (start as usize).min(end);
    let mut record = &text[start..end];
    while let [b'\r' | b'\n', rest @ ..] = record {
        record = rest;
    }
    if let [rest @ .., b'\n'] = record {
        record = rest;
    }
    record.len() as u64
}

/// Why the import fails a header of `fields` fields and `bytes` bytes
/// (`read.rs`: no record is longer than `max_record_size` or has more
/// than [`MAX_FIELDS`] fields), if it does. `cut`: the line goes on past
/// what was looked at.
fn header_limits(fields: usize, bytes: u64, max_record_size: u64, cut: bool) -> Option<String> {
    let what = if fields > MAX_FIELDS {
        format!("a record of more than {MAX_FIELDS} fields")
    } else if bytes > max_record_size {
        format!(
            "a record of {}{bytes} bytes, longer than max_record_size ({})",
            if cut { "over " } else { "" },
            human_limit(max_record_size)
        )
    } else {
        return None;
    };
    Some(format!(
        "no header row: its line is {what}; the import would fail this file"
    ))
}

/// [`header_limits`] for a header line that the sample `text` does not
/// hold to its end: what the sample holds of it is already a fault, or not.
fn header_fault(text: &[u8], delimiter: u8, max_record_size: u64) -> Option<String> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    let fields = match csv.read_byte_record(&mut record) {
        Ok(true) => record.len(),
        _ => 0,
    };
    header_limits(
        fields,
        record_bytes(text, 0, text.len() as u64),
        max_record_size,
        true,
    )
}

impl Planned {
    fn into_workload(self, settings: &Settings, reference: &Reference) -> Workload {
        match self {
            Planned::Files(looked) => {
                let mut w = Workload {
                    files: looked.len() as u64,
                    total_bytes: looked.iter().map(|l| l.size).sum(),
                    readable_files: 0,
                    csv_bytes: 0,
                    rows: 0,
                    largest_rows: 0,
                    gzip_files: 0,
                    delimiters: Vec::new(),
                    warnings: Vec::new(),
                    max_record_size: settings.max_record_size,
                };
                for l in looked {
                    w.warnings.extend(l.warnings);
                    let Some(s) = l.sample else { continue };
                    w.readable_files += 1;
                    w.csv_bytes += s.csv_bytes;
                    w.rows += s.rows;
                    w.largest_rows = w.largest_rows.max(s.rows);
                    w.gzip_files += u64::from(s.gzip);
                    match w.delimiters.iter_mut().find(|(d, _)| *d == s.delimiter) {
                        Some((_, n)) => *n += 1,
                        None => w.delimiters.push((s.delimiter, 1)),
                    }
                }
                w
            }
            Planned::Counted { count, avg_size } => {
                let total = count.saturating_mul(avg_size);
                let per_row = reference.bytes_per_row();
                let mut w = Workload {
                    files: count,
                    total_bytes: total,
                    readable_files: count,
                    csv_bytes: total,
                    rows: (total as f64 / per_row).round() as u64,
                    largest_rows: (avg_size as f64 / per_row).round() as u64,
                    gzip_files: 0,
                    delimiters: Vec::new(),
                    warnings: Vec::new(),
                    max_record_size: settings.max_record_size,
                };
                if avg_size > settings.max_file_size {
                    w.readable_files = 0;
                    w.csv_bytes = 0;
                    w.rows = 0;
                    w.largest_rows = 0;
                    w.warnings.push(Warning {
                        path: None,
                        kind: Kind::TooLarge,
                        level: Level::Error,
                        message: format!(
                            "files of {} are larger than max_file_size ({}): the import would fail them \
                             (raise --max-file-size or streaming_import.max_file_size)",
                            human_bytes(avg_size),
                            human_limit(settings.max_file_size)
                        ),
                    });
                }
                w
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The history
// ---------------------------------------------------------------------------

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
struct History {
    db: String,
    runs: Vec<PastRun>,
}

impl History {
    /// Recent finished runs of `db`, opened read-only; none when it does not
    /// exist (it is not created). Anything else that stops the reading is an
    /// error: the database is unusable.
    fn load(db: &Path) -> Result<History> {
        let mut history = History {
            db: db.to_string_lossy().into_owned(),
            runs: Vec::new(),
        };
        if !db.exists() {
            return Ok(history);
        }
        let unusable = || format!("{} is not a usable dropship-import database", db.display());
        let conn = schema::open_to_look(db).with_context(unusable)?;
        conn.busy_timeout(Duration::from_secs(5))
            .with_context(unusable)?;
        let has_runs = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'import_runs'",
                [],
                |_| Ok(()),
            )
            .optional()
            .with_context(unusable)?
            .is_some();
        if !has_runs {
            return Ok(history);
        }
        let mut stmt = conn
            .prepare(
                "SELECT rows_read, rows_per_sec, bytes_per_sec, peak_rss_bytes, files_total, options
                 FROM import_runs
                 WHERE state IN ('ok', 'partial') AND rows_read > 0
                   AND rows_per_sec > 0 AND bytes_per_sec > 0
                 ORDER BY id DESC LIMIT ?1",
            )
            .with_context(unusable)?;
        let rows = stmt
            .query_map([HISTORY_RUNS as i64], |r| {
                let options: Option<String> = r.get(5)?;
                let (jobs, chunk_size) = run_options(options.as_deref());
                let files: i64 = r.get::<_, Option<i64>>(4)?.unwrap_or(0);
                Ok(PastRun {
                    rows_read: r.get(0)?,
                    rows_per_sec: r.get::<_, i64>(1)? as f64,
                    bytes_per_sec: r.get::<_, i64>(2)? as f64,
                    peak_rss_bytes: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as f64,
                    jobs: jobs.min(files.max(1) as u64).max(1),
                    chunk_size,
                })
            })
            .with_context(unusable)?;
        for run in rows {
            history.runs.push(run.with_context(unusable)?);
        }
        Ok(history)
    }
}

/// `jobs` and `chunk_size` from a run's recorded settings (the defaults
/// when they cannot be read).
fn run_options(options: Option<&str>) -> (u64, u64) {
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
    fn from_history(history: &History) -> Reference {
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------------------
// The advice
// ---------------------------------------------------------------------------

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
            plural(files, "file"),
            if cores == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{} to read, {cores} core{}: cores + 3, at most {MAX_JOBS}; \
             past that the one database writer sets the pace",
            plural(files, "file"),
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
                human_bytes(available)
            );
        }
        if jobs != before_jobs {
            jobs_why = format!(
                "memory is tight ({} available): fewer files at once",
                human_bytes(available)
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
        human_bytes(expected_peak as u64)
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

fn speed_by_jobs(jobs: u64) -> f64 {
    let i = (jobs.clamp(1, SPEED_BY_JOBS.len() as u64) - 1) as usize;
    SPEED_BY_JOBS[i]
}

/// Linux's `MemAvailable`, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

/// The JSON printed with `--json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub files: u64,
    pub total_bytes: u64,
    pub estimated_rows: u64,
    pub source: Source,
    pub history_runs: u64,
    pub throughput: ReportThroughput,
    pub advice: ReportAdvice,
    pub expected: Expected,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Serialize)]
pub struct ReportThroughput {
    pub bytes_per_sec: u64,
    pub rows_per_sec: u64,
}

#[derive(Debug, Serialize)]
pub struct ReportAdvice {
    pub jobs: u64,
    pub chunk_size: u64,
    pub max_memory_mb: u64,
}

#[derive(Debug, Serialize)]
pub struct Expected {
    pub duration_ms: u64,
    pub peak_rss_bytes: u64,
}

impl Report {
    fn new(work: &Workload, reference: &Reference, advice: &Advice) -> Report {
        Report {
            files: work.files,
            total_bytes: work.total_bytes,
            estimated_rows: work.rows,
            source: reference.source,
            history_runs: reference.runs,
            throughput: ReportThroughput {
                bytes_per_sec: reference.bytes_per_sec.round() as u64,
                rows_per_sec: reference.rows_per_sec.round() as u64,
            },
            advice: ReportAdvice {
                jobs: advice.jobs,
                chunk_size: advice.chunk_size,
                max_memory_mb: advice.max_memory_mb,
            },
            expected: Expected {
                duration_ms: advice.duration_ms,
                peak_rss_bytes: advice.peak_rss_bytes,
            },
            warnings: work.warnings.clone(),
        }
    }
}

fn write_text(
    out: &mut dyn Write,
    report: &Report,
    work: &Workload,
    reference: &Reference,
    advice: &Advice,
    settings: &Settings,
) -> io::Result<()> {
    let mut files = format!(
        "{}, {}",
        plural(work.files, "file"),
        human_bytes(work.total_bytes)
    );
    if work.gzip_files > 0 {
        files.push_str(&format!(
            " ({} gzip, about {} of CSV to read)",
            work.gzip_files,
            human_bytes(work.csv_bytes)
        ));
    }
    writeln!(
        out,
        "{files}: about {} rows",
        thousands(report.estimated_rows)
    )?;
    let failing = work.files.saturating_sub(work.readable_files);
    if failing > 0 {
        writeln!(
            out,
            "{} would fail and {} left out of the estimate (see the warnings)",
            plural(failing, "file"),
            if failing == 1 { "is" } else { "are" }
        )?;
    }
    if work.delimiters.iter().any(|&(d, _)| d != b',') {
        let list: Vec<String> = work
            .delimiters
            .iter()
            .map(|&(d, n)| format!("{} in {}", delimiter_name(d), plural(n, "file")))
            .collect();
        writeln!(out, "delimiters: {}", list.join(", "))?;
    }
    let source = match reference.source {
        Source::History => {
            let mut s = format!(
                "from {} in {}",
                plural(reference.runs, "earlier run"),
                reference.db
            );
            if reference.small_runs_only {
                s.push_str(&format!(
                    "; all read under {} rows, so start-up weighs on the rate",
                    thousands(MIN_MEASURED_ROWS as u64)
                ));
            }
            s
        }
        Source::BuiltIn => format!("built-in estimate, no earlier runs in {}", reference.db),
    };
    writeln!(
        out,
        "throughput: {}/s, {} rows/s ({source})",
        human_bytes(reference.bytes_per_sec as u64),
        thousands(reference.rows_per_sec.round() as u64)
    )?;
    writeln!(out)?;
    writeln!(out, "advice:")?;
    writeln!(
        out,
        "  jobs            {:<6} {}",
        advice.jobs, advice.jobs_why
    )?;
    writeln!(
        out,
        "  chunk size      {:<6} {}",
        advice.chunk_size, advice.chunk_why
    )?;
    writeln!(
        out,
        "  max_memory_mb   {:<6} {}",
        advice.max_memory_mb, advice.memory_why
    )?;
    let configured_mb = settings.max_memory_bytes / 1_000_000;
    if configured_mb < advice.max_memory_mb {
        writeln!(
            out,
            "                         (now {configured_mb}: chunks would shrink under pressure)"
        )?;
    }
    writeln!(
        out,
        "expected: {}, peak memory about {}",
        human_duration(advice.duration_ms),
        human_bytes(advice.peak_rss_bytes)
    )?;
    writeln!(out)?;
    writeln!(out, "in importer.toml:")?;
    writeln!(out, "  [streaming_import]")?;
    writeln!(out, "  max_concurrent_files = {}", advice.jobs)?;
    writeln!(out, "  chunk_size = {}", advice.chunk_size)?;
    writeln!(out, "  [memory_optimizer]")?;
    writeln!(out, "  max_memory_mb = {}", advice.max_memory_mb)?;
    if !report.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "warnings ({}):", report.warnings.len())?;
        for w in &report.warnings {
            let level = match w.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            let kind = serde_json::to_value(w.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let message = crate::escape::escaped(&w.message);
            match &w.path {
                Some(path) => writeln!(
                    out,
                    "  {level}: {}: {kind}: {message}",
                    crate::escape::escaped(path)
                )?,
                None => writeln!(out, "  {level}: {kind}: {message}")?,
            }
        }
    }
    Ok(())
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        other => format!("'{}'", other as char),
    }
}

fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in SI units, as SPEC.md counts them (`MB` = 10^6 bytes).
fn human_bytes(n: u64) -> String {
    let n_f = n as f64;
    if n < 1000 {
        format!("{n} bytes")
    } else if n_f < 1e6 {
        format!("{:.1} kB", n_f / 1e3)
    } else if n_f < 1e9 {
        format!("{:.1} MB", n_f / 1e6)
    } else {
        format!("{:.1} GB", n_f / 1e9)
    }
}

/// A size limit in the unit it was most likely written in.
fn human_limit(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{} MB", n / 1_000_000)
    } else {
        format!("{n} bytes")
    }
}

fn human_duration(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    if ms == 0 {
        "nothing to read".into()
    } else if ms < 1000 {
        "under a second".into()
    } else if secs < 60 {
        format!("about {secs} s")
    } else if secs < 3600 {
        format!("about {} min {} s", secs / 60, secs % 60)
    } else {
        format!("about {} h {} min", secs / 3600, (secs % 3600) / 60)
    }
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

    #[test]
    fn human_units() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(human_bytes(147_204_916), "147.2 MB");
        assert_eq!(human_limit(100 << 20), "100 MiB");
        assert_eq!(human_limit(1_000_000), "1 MB");
        assert_eq!(human_duration(2280), "about 3 s");
        assert_eq!(human_duration(250_000), "about 4 min 10 s");
        assert_eq!(human_duration(3_599_500), "about 1 h 0 min");
    }
}
