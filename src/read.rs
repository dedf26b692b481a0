//! Read and parse: one worker streams one file into chunks for the writer.
//!
//! A file is hashed, opened (gzip is recognised by its magic bytes and
//! decompressed as it streams), its BOM dropped, its delimiter found from the
//! header line, its header mapped; then its records are validated into
//! [`Chunk`]s of `chunk_size` records (fewer under memory pressure, see
//! [`crate::memory`]) that cross the bounded channel to the
//! writer. One `ByteRecord` is reused for the whole file and the file is never
//! held in memory. Readers never touch the database: what they need from it
//! (is this content already in? where to resume?) they ask the writer.

use crate::columns::{HeaderMap, Names};
use crate::memory::Budget;
use crate::progress::FileBar;
use crate::rows::{Checkpoint, Chunk, Encoding, Rules, decode};
use crate::write::{Begin, FileEnd, Msg};
use crossbeam_channel::{Sender, bounded};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use xxhash_rust::xxh3::Xxh3;

const BUFFER: usize = 64 * 1024;

/// What every reader needs, shared by all of them.
#[derive(Debug)]
pub struct ReadOptions {
    pub budget: Budget,
    pub max_file_size: u64,
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
    let end = match read_inner(file, path, opts, tx, stop, progress) {
        Ok(end) => end,
        Err(Stop::Failed(error)) => FileEnd::Failed(error),
        Err(Stop::WriterGone) => return,
    };
    let _ = tx.send(Msg::End {
        file,
        end,
        elapsed: started.elapsed(),
    });
}

enum Stop {
    Failed(String),
    /// The writer has stopped (it reports why); nothing more to send.
    WriterGone,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Failed(e.to_string())
    }
}

fn read_inner(
    file: usize,
    path: &Path,
    opts: &ReadOptions,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
    progress: &FileBar,
) -> Result<FileEnd, Stop> {
    let meta = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(Stop::Failed("not a file".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Stop::Failed("not found".into()));
        }
        Err(e) => return Err(Stop::Failed(format!("cannot read: {e}"))),
    };
    let size = meta.len();
    if size > opts.max_file_size {
        return Err(Stop::Failed(format!(
            "{size} bytes is larger than max_file_size ({} bytes)",
            opts.max_file_size
        )));
    }
    if size == 0 {
        return Err(Stop::Failed("empty file".into()));
    }
    let hash = hash_file(path).map_err(|e| Stop::Failed(format!("cannot read: {e}")))?;

    let consumed = Arc::new(AtomicU64::new(0));
    let mut source = open_source(path, consumed.clone())?;
    let bom = skip_bom(&mut source)?;
    let delimiter = match opts.delimiter {
        Some(d) => d,
        None => sniff_delimiter(source.fill_buf()?),
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(BUFFER)
        .from_reader(Lines::new(source));
    let mut record = csv::ByteRecord::new();
    // Empty lines (also of only spaces or delimiters) before the header
    // are not the header.
    loop {
        if !read_record(&mut csv, &mut record)? {
            return Err(Stop::Failed("empty file: no header row".into()));
        }
        if !is_blank(&record) {
            break;
        }
    }
    let headers: Vec<String> = record
        .iter()
        .map(|h| match decode(h, Encoding::Auto) {
            Some(s) => s.trim().to_string(),
            None => String::from_utf8_lossy(h).trim().to_string(),
        })
        .collect();
    let map: HeaderMap = opts
        .names
        .map(&headers)
        .map_err(|missing| Stop::Failed(missing.to_string()))?;

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
    // `base`: where in the decoded stream the CSV reader starts.
    let (mut csv, base, mut rows) = match resume {
        // A file taken over before any of its rows was committed starts over.
        None | Some(Checkpoint { rows: 0, .. }) => (csv, bom, 0),
        Some(cp) => {
            drop(csv);
            consumed.store(0, Ordering::Relaxed);
            let mut source = open_source(path, consumed.clone())?;
            let skipped = io::copy(&mut (&mut source).take(cp.bytes), &mut io::sink())?;
            if skipped != cp.bytes {
                return Err(Stop::Failed(format!(
                    "shorter than the {} bytes an earlier run committed",
                    cp.bytes
                )));
            }
            let csv = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .buffer_capacity(BUFFER)
                .from_reader(Lines::resumed(source, cp.line.saturating_sub(1)));
            (csv, cp.bytes, cp.rows)
        }
    };

    let mut target = opts.budget.chunk_size();
    let mut chunk = Chunk::new(file, target);
    loop {
        let start = csv.position().byte();
        if !read_record(&mut csv, &mut record)? {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        rows += 1;
        let (line, _) = csv.get_mut().line_at(start);
        chunk.add_record(&record, line, &map, &opts.rules);
        if chunk.read as usize >= target {
            rejected += chunk.rejects.len() as u64;
            target = opts.budget.chunk_size();
            let full = std::mem::replace(&mut chunk, Chunk::new(file, target));
            send_chunk(full, &mut csv, base, rows, tx, progress, &consumed)?;
            if opts.max_errors > 0 && rejected > opts.max_errors {
                return Ok(too_many_rejects(opts.max_errors));
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(FileEnd::Interrupted);
            }
        }
    }
    rejected += chunk.rejects.len() as u64;
    send_chunk(chunk, &mut csv, base, rows, tx, progress, &consumed)?;
    if opts.max_errors > 0 && rejected > opts.max_errors {
        return Ok(too_many_rejects(opts.max_errors));
    }
    match std::fs::metadata(path) {
        Ok(now) if now.len() == size && now.modified().ok() == meta.modified().ok() => {
            Ok(FileEnd::Complete)
        }
        Ok(_) => Err(Stop::Failed("changed while being read".into())),
        Err(_) => Err(Stop::Failed("vanished while being read".into())),
    }
}

fn too_many_rejects(max: u64) -> FileEnd {
    FileEnd::Failed(format!("more than {max} rejected rows (max_errors)"))
}

fn send_chunk<R: Read>(
    mut chunk: Chunk,
    csv: &mut csv::Reader<Lines<R>>,
    base: u64,
    rows: u64,
    tx: &Sender<Msg>,
    progress: &FileBar,
    consumed: &AtomicU64,
) -> Result<(), Stop> {
    let next = csv.position().byte();
    let (line, start) = csv.get_mut().line_at(next);
    chunk.checkpoint = Checkpoint {
        bytes: base + start,
        rows,
        line,
    };
    progress.set_position(consumed.load(Ordering::Relaxed), rows);
    tx.send(Msg::Chunk(chunk)).map_err(|_| Stop::WriterGone)
}

fn read_record<R: Read>(
    csv: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Result<bool, Stop> {
    csv.read_byte_record(record).map_err(|e| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Stop::Failed(format!("read error near line {line}: {io}")),
            other => Stop::Failed(format!("CSV error near line {line}: {other:?}")),
        }
    })
}

/// A record of nothing but empty fields (`,,,,` or spaces) is an empty
/// line, not a row.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
}

/// Tracks line breaks in the bytes the CSV parser reads, to give each record
/// the physical line it starts on: the parser's own count starts before any
/// empty lines it skips and splits CRLF across records. Only the breaks in
/// the bytes read ahead are kept, so memory stays bounded.
struct Lines<R> {
    inner: R,
    /// Offset of the next byte to be read.
    offset: u64,
    /// Offsets of `\n` bytes not yet passed.
    newlines: std::collections::VecDeque<u64>,
    /// `[start, end)` of runs of `\r`/`\n` bytes not yet passed.
    breaks: std::collections::VecDeque<(u64, u64)>,
    /// Line breaks already passed.
    passed: u64,
}

impl<R: Read> Lines<R> {
    fn new(inner: R) -> Lines<R> {
        Lines::resumed(inner, 0)
    }

    /// Starts counting after `passed` line breaks already read.
    fn resumed(inner: R, passed: u64) -> Lines<R> {
        Lines {
            inner,
            offset: 0,
            newlines: Default::default(),
            breaks: Default::default(),
            passed,
        }
    }

    /// The line (1-based) of the first byte at or after `offset` that is not
    /// a line break, and that byte's offset; everything before it is
    /// forgotten.
    fn line_at(&mut self, offset: u64) -> (u64, u64) {
        while self.breaks.front().is_some_and(|&(_, end)| end <= offset) {
            self.breaks.pop_front();
        }
        let start = match self.breaks.front() {
            Some(&(from, end)) if from <= offset => end,
            _ => offset,
        };
        while self.newlines.front().is_some_and(|&o| o < start) {
            self.newlines.pop_front();
            self.passed += 1;
        }
        (self.passed + 1, start)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for i in memchr::memchr2_iter(b'\n', b'\r', &buf[..n]) {
            let at = self.offset + i as u64;
            if buf[i] == b'\n' {
                self.newlines.push_back(at);
            }
            match self.breaks.back_mut() {
                Some((_, end)) if *end == at => *end = at + 1,
                _ => self.breaks.push_back((at, at + 1)),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
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

/// Counts the bytes read from the file on disk (before decompression).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens the file as a stream of CSV bytes, decompressing gzip.
fn open_source(path: &Path, count: Arc<AtomicU64>) -> Result<Box<dyn BufRead + Send>, Stop> {
    let mut file = File::open(path).map_err(|e| Stop::Failed(format!("cannot open: {e}")))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let raw = Counting {
        inner: File::open(path).map_err(|e| Stop::Failed(format!("cannot open: {e}")))?,
        count,
    };
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUFFER, raw)),
        ))
    } else {
        Box::new(BufReader::with_capacity(BUFFER, raw))
    })
}

/// Drops a UTF-8 byte order mark; returns its length.
fn skip_bom(source: &mut dyn BufRead) -> io::Result<u64> {
    let head = source.fill_buf()?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        source.consume(3);
        return Ok(3);
    }
    Ok(0)
}

/// The delimiter of the header line: whichever of `,` `;` tab appears most
/// outside quotes (`,` on a tie or when none does).
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    // Empty lines before the header (also of only spaces or delimiters) are
    // not the header.
    let blank = |line: &&[u8]| {
        line.iter()
            .all(|b| matches!(b, b' ' | b'\t' | b',' | b';' | b'\r'))
    };
    let start = head
        .split(|&b| b == b'\n')
        .take_while(|line| blank(line) && line.len() < head.len())
        .map(|line| line.len() + 1)
        .sum::<usize>()
        .min(head.len());
    for &b in &head[start..] {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &str) -> Vec<(String, u64)> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Lines::new(input.as_bytes()));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        loop {
            let start = csv.position().byte();
            if !csv.read_byte_record(&mut record).unwrap() {
                return out;
            }
            let (line, _) = csv.get_mut().line_at(start);
            out.push((String::from_utf8_lossy(&record[0]).into_owned(), line));
        }
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
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter(b"No,Kode;x\n"), b',');
        assert_eq!(sniff_delimiter(b"No;Kode;\"a,b,c\"\n1,2,3,4"), b';');
        assert_eq!(sniff_delimiter(b"No\tKode\tSKU"), b'\t');
        assert_eq!(sniff_delimiter(b"Kode"), b',');
        assert_eq!(sniff_delimiter(b"\r\n\nNo;Kode;SKU\n"), b';');
        assert_eq!(sniff_delimiter(b"  \n,,,,\r\nNo;Kode;SKU\n"), b';');
        assert_eq!(sniff_delimiter(b",,,,"), b',');
    }
}
