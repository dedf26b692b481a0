//! Read and parse: one worker streams one file into chunks for the writer.
//!
//! A file is hashed, opened as a [`Source`] (gzip is recognised by its magic
//! bytes and decompressed as it streams), its BOM dropped, its delimiter found from the
//! header line, its header mapped; then its records are validated into
//! [`Chunk`]s of `chunk_size` records (fewer under memory pressure, see
//! [`crate::memory`]) that cross the bounded channel to the
//! writer. One `ByteRecord` is reused for the whole file and the file is never
//! held in memory: nor is any one record past `max_record_size` (such a
//! record is parsed to its end, kept only as its first bytes, and rejected),
//! and a chunk is sent early once its text passes [`CHUNK_BYTES`]. Readers
//! never touch the database: what they need from it (is this content already
//! in? where to resume?) they ask the writer.

use crate::columns::{HeaderMap, MissingColumns, Names};
use crate::memory::Budget;
use crate::outcome::{Begin, Checkpoint, FileEnd, Reason};
use crate::progress::FileBar;
use crate::rows::{Chunk, Rules};
use crate::source::{self, BUFFER, Source};
use crossbeam_channel::{Sender, bounded};
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use xxhash_rust::xxh3::Xxh3;

/// What readers tell the writer.
#[derive(Debug)]
pub enum Msg {
    /// A file's header is good; may its rows be read?
    Begin {
        file: usize,
        size: u64,
        hash: String,
        reply: Sender<Begin>,
    },
    Chunk(Chunk),
    /// A file is done (or could not be read at all).
    End {
        file: usize,
        end: FileEnd,
        elapsed: Duration,
        /// Rows read but never sent: those of the chunk a failure cut
        /// short. They count as read (and failed) like every other row.
        unsent: u64,
    },
}

/// What every reader needs, shared by all of them.
#[derive(Debug)]
pub struct ReadOptions {
    pub budget: Budget,
    /// Bytes of decoded text a file may have.
    pub max_file_size: u64,
    /// Bytes one record may take; a longer one is rejected unread.
    pub max_record_size: u64,
    pub max_errors: u64,
    pub delimiter: Option<u8>,
    pub names: Names,
    pub rules: Rules,
}

/// Reads file number `file` of the run and sends everything about it to the
/// writer. Returns when the file is done, failed, skipped or the run stops.
pub fn read_file(
    file: usize,
    path: &Path,
    opts: &ReadOptions,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
    progress: &FileBar,
) {
    if stop.load(Ordering::Relaxed) {
        return;
    }
    let started = Instant::now();
    let mut unsent = 0;
    let end = match read_inner(file, path, opts, tx, stop, progress, &mut unsent) {
        Ok(end) => end,
        Err(Stop::Failed(failure)) => FileEnd::Failed(failure.to_string()),
        Err(Stop::WriterGone) => return,
    };
    let _ = tx.send(Msg::End {
        file,
        end,
        elapsed: started.elapsed(),
        unsent,
    });
}

enum Stop {
    Failed(FileFailure),
    /// The writer has stopped (it reports why); nothing more to send.
    WriterGone,
}

impl From<FileFailure> for Stop {
    fn from(failure: FileFailure) -> Stop {
        Stop::Failed(failure)
    }
}

/// Why a file failed. Its text is what the summary shows after
/// `path: failed:` and what the database records as the file's error.
#[derive(Debug, thiserror::Error)]
pub enum FileFailure {
    #[error("not a file")]
    NotAFile,
    #[error("not found")]
    NotFound,
    #[error("cannot read: {0}")]
    Unreadable(io::Error),
    #[error("cannot open: {0}")]
    CannotOpen(io::Error),
    #[error("{size} bytes is larger than max_file_size ({max} bytes)")]
    TooLarge { size: u64, max: u64 },
    /// Its text, once decompressed, passed `max_file_size`.
    #[error("larger than max_file_size ({max} bytes) once decompressed: stopped near line {line}")]
    TooLargeDecompressed { max: u64, line: u64 },
    #[error("empty file")]
    Empty,
    #[error("{}", source::UTF16)]
    Utf16,
    /// Nothing but blank lines.
    #[error("empty file: no header row")]
    NoHeader,
    /// The first line that is not blank is a record too large to read.
    #[error("no header row: line {line} is {what}")]
    HeaderTooLarge { line: u64, what: String },
    #[error("{0}")]
    MissingColumns(MissingColumns),
    #[error("read error near line {line}: {error}")]
    ReadError { line: u64, error: io::Error },
    /// Resuming: the file ends before the checkpoint an earlier run made.
    #[error("shorter than the {bytes} bytes an earlier run committed")]
    ShorterThanCheckpoint { bytes: u64 },
    #[error("more than {max} rejected rows (max_errors)")]
    TooManyRejects { max: u64 },
    /// Its size or modification time is not what it was when it was opened.
    #[error("changed while being read")]
    Changed,
    #[error("vanished while being read")]
    Vanished,
}

fn read_inner(
    file: usize,
    path: &Path,
    opts: &ReadOptions,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
    progress: &FileBar,
    unsent: &mut u64,
) -> Result<FileEnd, Stop> {
    let meta = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(FileFailure::NotAFile.into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FileFailure::NotFound.into());
        }
        Err(e) => return Err(FileFailure::Unreadable(e).into()),
    };
    let size = meta.len();
    if size > opts.max_file_size {
        return Err(FileFailure::TooLarge {
            size,
            max: opts.max_file_size,
        }
        .into());
    }
    if size == 0 {
        return Err(FileFailure::Empty.into());
    }
    let hash = hash_file(path).map_err(FileFailure::Unreadable)?;
    let mut source = open_source(path)?;
    let mut on_disk = source.on_disk();
    if source::looks_like_utf16(source.fill_buf().map_err(|e| read_error(1, e))?) {
        return Err(FileFailure::Utf16.into());
    }
    let bom = source.skip_bom().map_err(|e| read_error(1, e))?;
    let delimiter = match opts.delimiter {
        Some(d) => d,
        None => source::sniff_delimiter(source.fill_buf().map_err(|e| read_error(1, e))?),
    };
    let mut records = Records::new(source, delimiter, bom, 0, opts);
    let mut record = csv::ByteRecord::new();
    // Empty lines (also of only spaces or delimiters) before the header
    // are not the header.
    loop {
        match records.next(&mut record)? {
            Next::End => return Err(FileFailure::NoHeader.into()),
            Next::Oversized(o) => {
                return Err(FileFailure::HeaderTooLarge {
                    line: o.line,
                    what: o.what(opts.max_record_size),
                }
                .into());
            }
            Next::Record(_) if is_blank(&record) => {}
            Next::Record(_) => break,
        }
    }
    let headers = source::header_names(&record);
    let map: HeaderMap = opts
        .names
        .map(&headers)
        .map_err(FileFailure::MissingColumns)?;

    let (reply_tx, reply_rx) = bounded(1);
    tx.send(Msg::Begin {
        file,
        size,
        hash,
        reply: reply_tx,
    })
    .map_err(|_| Stop::WriterGone)?;
    let (resume, mut rejected) = match reply_rx.recv().map_err(|_| Stop::WriterGone)? {
        Begin::Proceed { resume, rejected } => (resume, rejected),
        Begin::Skip => return Ok(FileEnd::Skipped),
    };
    let (mut records, mut rows) = match resume {
        // A file taken over before any of its rows was committed starts over.
        None | Some(Checkpoint { rows: 0, .. }) => (records, 0),
        Some(cp) => {
            drop(records);
            let mut source = open_source(path)?;
            on_disk = source.on_disk();
            let skipped = io::copy(&mut (&mut source).take(cp.bytes), &mut io::sink())
                .map_err(|e| read_error(cp.line, e))?;
            if skipped != cp.bytes {
                return Err(FileFailure::ShorterThanCheckpoint { bytes: cp.bytes }.into());
            }
            let passed = cp.line.saturating_sub(1);
            (
                Records::new(source, delimiter, cp.bytes, passed, opts),
                cp.rows,
            )
        }
    };

    let mut target = opts.budget.chunk_size();
    let mut chunk = Chunk::new(file, target);
    loop {
        match records.next(&mut record)? {
            Next::End => break,
            Next::Record(_) if is_blank(&record) => continue,
            Next::Record(line) => chunk.add_record(&record, line, &map, &opts.rules),
            Next::Oversized(o) => {
                let reason = match o.too_many_fields {
                    true => Reason::FieldCount,
                    false => Reason::RecordTooLong,
                };
                let message = o.what(opts.max_record_size);
                chunk.add_oversized(o.line, &o.preview, reason, message, opts.rules.encoding);
            }
        }
        rows += 1;
        *unsent = chunk.read;
        if chunk.read as usize >= target || chunk.held_bytes() >= CHUNK_BYTES {
            rejected += chunk.rejects.len() as u64;
            target = opts.budget.chunk_size();
            let full = std::mem::replace(&mut chunk, Chunk::new(file, target));
            send_chunk(full, &mut records, rows, tx, progress, &on_disk)?;
            *unsent = 0;
            if opts.max_errors > 0 && rejected > opts.max_errors {
                return Ok(too_many_rejects(opts.max_errors));
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(FileEnd::Interrupted);
            }
        }
    }
    rejected += chunk.rejects.len() as u64;
    send_chunk(chunk, &mut records, rows, tx, progress, &on_disk)?;
    *unsent = 0;
    if opts.max_errors > 0 && rejected > opts.max_errors {
        return Ok(too_many_rejects(opts.max_errors));
    }
    match std::fs::metadata(path) {
        Ok(now) if now.len() == size && now.modified().ok() == meta.modified().ok() => {
            Ok(FileEnd::Complete)
        }
        Ok(_) => Err(FileFailure::Changed.into()),
        Err(_) => Err(FileFailure::Vanished.into()),
    }
}

fn too_many_rejects(max: u64) -> FileEnd {
    FileEnd::Failed(FileFailure::TooManyRejects { max }.to_string())
}

fn read_error(line: u64, error: io::Error) -> Stop {
    FileFailure::ReadError { line, error }.into()
}

fn send_chunk<R: BufRead>(
    mut chunk: Chunk,
    records: &mut Records<'_, R>,
    rows: u64,
    tx: &Sender<Msg>,
    progress: &FileBar,
    on_disk: &AtomicU64,
) -> Result<(), Stop> {
    let (line, bytes) = records.position()?;
    chunk.checkpoint = Checkpoint { bytes, rows, line };
    progress.set_position(on_disk.load(Ordering::Relaxed), rows);
    tx.send(Msg::Chunk(chunk)).map_err(|_| Stop::WriterGone)
}

/// A record is never longer than this many fields; the export has 27.
pub const MAX_FIELDS: usize = 4096;
/// Bytes of rows and rejects past which a chunk is sent whatever its row
/// count, so that long records do not make chunks large. A chunk of 1000
/// ordinary rows holds about 230 KB; five readers of 1 MiB records peaked
/// at 61 MiB with 2 MiB here and 53 MiB with this.
pub const CHUNK_BYTES: usize = 512 << 10;
/// Bytes of a skipped record kept to show it.
const PREVIEW: usize = 256;

/// What [`Records::next`] found.
enum Next {
    /// A record, starting on this line.
    Record(u64),
    /// A record too large to read, skipped.
    Oversized(Oversized),
    End,
}

/// A record that was parsed to its end but not kept.
struct Oversized {
    line: u64,
    bytes: u64,
    /// It has more than [`MAX_FIELDS`] fields (else more bytes than
    /// `max_record_size`).
    too_many_fields: bool,
    /// Its first fields, [`PREVIEW`] bytes at most.
    preview: csv::ByteRecord,
}

impl Oversized {
    fn what(&self, max: u64) -> String {
        match self.too_many_fields {
            true => format!("a record of more than {MAX_FIELDS} fields"),
            false => format!(
                "a record of {} bytes, longer than max_record_size ({max} bytes)",
                self.bytes
            ),
        }
    }
}

/// Splits the decoded CSV text into records with `csv_core` (the parser
/// inside the `csv` crate, so records are exactly what it reads) and gives
/// each the physical line it starts on. A record's bytes are held only up
/// to `max_record_size`: a longer one is parsed on to its end without being
/// kept, so no input makes a reader hold more. The decoded text is counted
/// against `max_file_size`, which a small `.csv.gz` can pass only once
/// inflated.
struct Records<'a, R> {
    source: R,
    parser: csv_core::Reader,
    /// Offset in the decoded text (BOM included) of the next byte to parse.
    offset: u64,
    /// `\n` bytes before `offset`.
    newlines: u64,
    opts: &'a ReadOptions,
    output: Vec<u8>,
    ends: Vec<usize>,
    done: bool,
}

impl<'a, R: BufRead> Records<'a, R> {
    /// Reads `source`, which starts at `offset` of the decoded text, after
    /// `newlines` line breaks.
    fn new(
        source: R,
        delimiter: u8,
        offset: u64,
        newlines: u64,
        opts: &'a ReadOptions,
    ) -> Records<'a, R> {
        Records {
            source,
            parser: source::csv_parser(delimiter),
            offset,
            newlines,
            opts,
            output: vec![0; 4096.min((opts.max_record_size as usize).saturating_add(1))],
            ends: vec![0; 64],
            done: false,
        }
    }

    fn check_size(&self) -> Result<(), Stop> {
        if self.offset > self.opts.max_file_size {
            return Err(FileFailure::TooLargeDecompressed {
                max: self.opts.max_file_size,
                line: self.newlines + 1,
            }
            .into());
        }
        Ok(())
    }

    /// Passes the line breaks before the next record: returns the line it
    /// starts on and its offset, what a checkpoint records.
    fn position(&mut self) -> Result<(u64, u64), Stop> {
        loop {
            let line = self.newlines + 1;
            let buf = self.source.fill_buf().map_err(|e| read_error(line, e))?;
            let n = buf
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(buf.len());
            let all = n == buf.len();
            self.newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            self.source.consume(n);
            self.offset += n as u64;
            self.check_size()?;
            if n == 0 || !all {
                return Ok((self.newlines + 1, self.offset));
            }
        }
    }

    /// Reads the next record into `record`.
    fn next(&mut self, record: &mut csv::ByteRecord) -> Result<Next, Stop> {
        if self.done {
            return Ok(Next::End);
        }
        let (line, start) = self.position()?;
        let max_record = self.opts.max_record_size;
        let (mut nout, mut nends) = (0usize, 0usize);
        let mut oversized: Option<Oversized> = None;
        // Whether the record ended with a line break (else at the end of the
        // text): the break is not part of its size.
        let terminated;
        loop {
            let at = self.newlines + 1;
            let buf = self.source.fill_buf().map_err(|e| read_error(at, e))?;
            let (result, nin, o, e) =
                self.parser
                    .read_record(buf, &mut self.output[nout..], &mut self.ends[nends..]);
            self.newlines += memchr::memchr_iter(b'\n', &buf[..nin]).count() as u64;
            self.source.consume(nin);
            self.offset += nin as u64;
            self.check_size()?;
            nout += o;
            nends += e;
            let bytes = self.offset - start;
            let too_many_fields =
                result == csv_core::ReadRecordResult::OutputEndsFull && nends >= MAX_FIELDS;
            // One byte more than the limit may be the line break.
            if oversized.is_none() && (bytes > max_record.saturating_add(1) || too_many_fields) {
                oversized = Some(Oversized {
                    line,
                    bytes,
                    too_many_fields,
                    preview: preview(&self.output[..nout], &self.ends[..nends]),
                });
            }
            if oversized.is_some() {
                // Parsed, not kept.
                nout = 0;
                nends = 0;
            }
            match result {
                csv_core::ReadRecordResult::Record => {
                    terminated = nin > 0;
                    break;
                }
                csv_core::ReadRecordResult::End => {
                    self.done = true;
                    return Ok(Next::End);
                }
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    if oversized.is_none() {
                        // nout <= bytes <= max_record + 1: the buffer stays
                        // within max_record + 2.
                        let len =
                            (self.output.len() * 2).min((max_record as usize).saturating_add(1));
                        self.output.resize(len.max(nout + 1), 0);
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if oversized.is_none() {
                        let len = (self.ends.len() * 2).min(MAX_FIELDS);
                        self.ends.resize(len.max(nends + 1), 0);
                    }
                }
            }
        }
        let bytes = self.offset - start - u64::from(terminated);
        if oversized.is_none() && bytes > max_record {
            oversized = Some(Oversized {
                line,
                bytes,
                too_many_fields: false,
                preview: preview(&self.output[..nout], &self.ends[..nends]),
            });
        }
        if let Some(mut o) = oversized {
            o.bytes = bytes;
            return Ok(Next::Oversized(o));
        }
        record.clear();
        let mut from = 0;
        for &end in &self.ends[..nends] {
            record.push_field(&self.output[from..end]);
            from = end;
        }
        Ok(Next::Record(line))
    }
}

/// The first fields of a record parsed into `output` (fields ending at
/// `ends`, the last one maybe unfinished), [`PREVIEW`] bytes at most.
fn preview(output: &[u8], ends: &[usize]) -> csv::ByteRecord {
    let mut record = csv::ByteRecord::new();
    let mut from = 0;
    for &end in ends.iter().chain(std::iter::once(&output.len())) {
        let end = end.min(output.len()).min(PREVIEW).max(from);
        record.push_field(&output[from..end]);
        from = end;
        if from >= PREVIEW.min(output.len()) {
            break;
        }
    }
    record
}

/// A record of nothing but empty fields (`,,,,` or spaces) is an empty
/// line, not a row.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
}

/// A fast content hash (XXH3-128, hex) identifying the file's exact bytes.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// Opens the file as a stream of CSV text, decompressing gzip.
fn open_source(path: &Path) -> Result<Source, Stop> {
    Source::open(path).map_err(|e| FileFailure::CannotOpen(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn options(max_record_size: u64, max_file_size: u64) -> ReadOptions {
        ReadOptions {
            budget: Budget::new(10, 1),
            max_file_size,
            max_record_size,
            max_errors: 0,
            delimiter: None,
            names: Names::new(&Default::default()).unwrap(),
            rules: Rules::default(),
        }
    }

    /// Each record's first field (or `TOO LONG`) and line, from `offset`.
    fn read_all(input: &[u8], opts: &ReadOptions) -> Result<Vec<(String, u64)>, String> {
        let mut records = Records::new(input, b',', 0, 0, opts);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        loop {
            match records.next(&mut record) {
                Ok(Next::End) => return Ok(out),
                Ok(Next::Record(line)) => {
                    out.push((String::from_utf8_lossy(&record[0]).into_owned(), line))
                }
                Ok(Next::Oversized(o)) => out.push(("TOO LONG".into(), o.line)),
                Err(Stop::Failed(e)) => return Err(e.to_string()),
                Err(Stop::WriterGone) => return Err("gone".into()),
            }
        }
    }

    fn lines_of(input: &str) -> Vec<(String, u64)> {
        read_all(input.as_bytes(), &options(1 << 20, u64::MAX)).unwrap()
    }

    #[test]
    fn records_get_their_physical_line() {
        let want = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(s, l)| (s.to_string(), *l)).collect()
        };
        assert_eq!(
            lines_of("h\na\n\nb\n"),
            want(&[("h", 1), ("a", 2), ("b", 4)])
        );
        assert_eq!(
            lines_of("h\r\na\r\n\r\n\"x\r\ny\"\r\n\r\n\nb"),
            want(&[("h", 1), ("a", 2), ("x\r\ny", 4), ("b", 8)])
        );
        assert_eq!(lines_of("\n\nh\na"), want(&[("h", 3), ("a", 4)]));
        assert_eq!(lines_of("h\ra\r\rb"), want(&[("h", 1), ("a", 1), ("b", 1)]));
    }

    #[test]
    fn records_are_what_the_csv_crate_reads() {
        let input = "a,\"b,\"\"c\"\"\nd\",e\r\n\r\nx\"y,\"\"\n,,\n \"q\" ,z\n\"open";
        let mut csv = source::csv_reader(b',', input.as_bytes());
        let want: Vec<csv::ByteRecord> = csv.byte_records().map(Result::unwrap).collect();
        let opts = options(1 << 20, u64::MAX);
        let mut records = Records::new(input.as_bytes(), b',', 0, 0, &opts);
        let mut record = csv::ByteRecord::new();
        let mut got = Vec::new();
        while let Ok(Next::Record(_)) = records.next(&mut record) {
            got.push(record.clone());
        }
        assert_eq!(got, want);
    }

    #[test]
    fn a_record_longer_than_the_limit_is_skipped_and_the_next_keeps_its_line() {
        let long = format!(
            "h\n{}\n\"q\n{}\"\nb\n{}",
            "x".repeat(5000),
            "y".repeat(300),
            "z".repeat(200)
        );
        let opts = options(256, u64::MAX);
        assert_eq!(
            read_all(long.as_bytes(), &opts).unwrap(),
            vec![
                ("h".to_string(), 1),
                ("TOO LONG".to_string(), 2),
                ("TOO LONG".to_string(), 3),
                ("b".to_string(), 5),
                ("z".repeat(200), 6),
            ]
        );
        // The buffer never grew past the limit.
        let mut records = Records::new(long.as_bytes(), b',', 0, 0, &opts);
        let mut record = csv::ByteRecord::new();
        while !matches!(records.next(&mut record), Ok(Next::End)) {}
        assert!(records.output.len() <= 258, "{}", records.output.len());
    }

    #[test]
    fn a_record_of_exactly_max_record_size_is_read() {
        let opts = options(10, u64::MAX);
        let got = |text: &str| read_all(text.as_bytes(), &opts).unwrap();
        let kept = |s: &str| (s.to_string(), 2);
        let cut = ("TOO LONG".to_string(), 2);
        assert_eq!(got("h\nabcdefghij\n")[1], kept("abcdefghij"));
        assert_eq!(got("h\nabcdefghij\r\n")[1], kept("abcdefghij"));
        assert_eq!(got("h\nabcdefghij")[1], kept("abcdefghij"));
        assert_eq!(got("h\n\"abcdefgh\"\n")[1], kept("abcdefgh"));
        assert_eq!(got("h\nabcdefghijk\n")[1], cut);
        assert_eq!(got("h\nabcdefghijk")[1], cut);
        assert_eq!(got("h\n\"abcdefghi\"\n")[1], cut);
        let mut records = Records::new("h\nabcdefghijklm\r\nx".as_bytes(), b',', 0, 0, &opts);
        let mut record = csv::ByteRecord::new();
        assert!(matches!(records.next(&mut record), Ok(Next::Record(1))));
        let Ok(Next::Oversized(o)) = records.next(&mut record) else {
            panic!("not skipped");
        };
        assert_eq!(o.bytes, 13);
    }

    #[test]
    fn a_skipped_record_shows_its_start_and_size() {
        let long = format!("h\n{},{}\n", "a".repeat(100), "b".repeat(5000));
        let opts = options(1000, u64::MAX);
        let mut records = Records::new(long.as_bytes(), b',', 0, 0, &opts);
        let mut record = csv::ByteRecord::new();
        assert!(matches!(records.next(&mut record), Ok(Next::Record(1))));
        let Ok(Next::Oversized(o)) = records.next(&mut record) else {
            panic!("not skipped");
        };
        assert_eq!((o.line, o.bytes, o.too_many_fields), (2, 5101, false));
        assert_eq!(o.preview.len(), 2);
        assert_eq!(&o.preview[0], "a".repeat(100).as_bytes());
        assert!(o.preview.as_slice().len() <= PREVIEW);
        let commas = format!("h\n{}\nnext", ",".repeat(MAX_FIELDS + 5));
        let got = read_all(commas.as_bytes(), &options(1 << 20, u64::MAX)).unwrap();
        assert_eq!(got[1], ("TOO LONG".to_string(), 2));
        assert_eq!(got[2], ("next".to_string(), 3));
    }

    #[test]
    fn decoded_text_counts_against_max_file_size() {
        let text = "h\na\nb\nc\n";
        assert!(read_all(text.as_bytes(), &options(1 << 20, 8)).is_ok());
        let err = read_all(text.as_bytes(), &options(1 << 20, 7)).unwrap_err();
        assert!(err.contains("max_file_size (7 bytes)"), "{err}");
    }

    #[test]
    fn io_errors_name_the_line() {
        let data = gzip_of(b"h\na\nb\nc\nd\n");
        let cut = &data[..data.len() - 6];
        let source = BufReader::new(flate2::read::MultiGzDecoder::new(cut));
        let opts = options(1 << 20, u64::MAX);
        let mut records = Records::new(source, b',', 0, 0, &opts);
        let mut record = csv::ByteRecord::new();
        let err = loop {
            match records.next(&mut record) {
                Ok(Next::End) => panic!("no error"),
                Ok(_) => {}
                Err(Stop::Failed(e)) => break e.to_string(),
                Err(Stop::WriterGone) => panic!(),
            }
        };
        assert!(err.starts_with("read error near line "), "{err}");
        assert!(!err.contains("line 0"), "{err}");
    }

    fn gzip_of(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn failures_read_as_they_always_have() {
        let e = || io::Error::other("disk on fire");
        let cases: Vec<(FileFailure, &str)> = vec![
            (FileFailure::NotAFile, "not a file"),
            (FileFailure::NotFound, "not found"),
            (FileFailure::Unreadable(e()), "cannot read: disk on fire"),
            (FileFailure::CannotOpen(e()), "cannot open: disk on fire"),
            (
                FileFailure::TooLarge { size: 20, max: 10 },
                "20 bytes is larger than max_file_size (10 bytes)",
            ),
            (
                FileFailure::TooLargeDecompressed { max: 10, line: 3 },
                "larger than max_file_size (10 bytes) once decompressed: stopped near line 3",
            ),
            (FileFailure::Empty, "empty file"),
            (
                FileFailure::Utf16,
                "looks like UTF-16; save it as UTF-8 CSV",
            ),
            (FileFailure::NoHeader, "empty file: no header row"),
            (
                FileFailure::HeaderTooLarge {
                    line: 2,
                    what: "a record of more than 4096 fields".into(),
                },
                "no header row: line 2 is a record of more than 4096 fields",
            ),
            (
                FileFailure::ReadError {
                    line: 7,
                    error: e(),
                },
                "read error near line 7: disk on fire",
            ),
            (
                FileFailure::ShorterThanCheckpoint { bytes: 99 },
                "shorter than the 99 bytes an earlier run committed",
            ),
            (
                FileFailure::TooManyRejects { max: 5 },
                "more than 5 rejected rows (max_errors)",
            ),
            (FileFailure::Changed, "changed while being read"),
            (FileFailure::Vanished, "vanished while being read"),
        ];
        for (failure, text) in cases {
            assert_eq!(failure.to_string(), text);
        }
        let missing = Names::new(&Default::default())
            .unwrap()
            .map(&["No".to_string()])
            .unwrap_err();
        assert_eq!(
            FileFailure::MissingColumns(missing.clone()).to_string(),
            missing.to_string()
        );
    }
}
