//! The source of a file's CSV text, as both the import ([`crate::read`]) and
//! `recommend` read it: the file opened once, gzip recognised by its magic
//! bytes (peeked through the buffer, never by opening it twice) and
//! decompressed as it streams, the UTF-8 byte order mark, and the CSV dialect
//! both parse with. What is known from the first bytes of text (UTF-16, the
//! delimiter) is here too, so that `recommend` predicts exactly what the
//! import does.
//!
//! A [`Source`] counts two things, for two users: the bytes read from the
//! file on disk (what a progress bar shows, read ahead of the text by up to a
//! buffer), and the bytes of the file that gave the text taken so far (for
//! gzip, the compressed bytes the decoder consumed: `recommend` estimates a
//! whole file's text from that ratio). Neither is the offset in the text,
//! which the import counts itself. A source never holds more than its
//! buffers: never the whole file.

use crate::rows::{Encoding, decode};
use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of each buffer between the disk, the decoder and the parser.
pub const BUFFER: usize = 64 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A file's CSV text, decompressed when the file is gzip.
pub struct Source {
    text: Text,
    on_disk: Arc<AtomicU64>,
}

enum Text {
    Plain(Consumed<BufReader<OnDisk>>),
    Gzip(BufReader<MultiGzDecoder<Consumed<BufReader<OnDisk>>>>),
}

impl Source {
    /// Opens `path` at the start of its text. A failure to read the magic
    /// bytes is not reported here: it comes again on the first read.
    pub fn open(path: &Path) -> io::Result<Source> {
        let on_disk = Arc::new(AtomicU64::new(0));
        let file = OnDisk {
            inner: File::open(path)?,
            count: on_disk.clone(),
        };
        let mut raw = BufReader::with_capacity(BUFFER, file);
        let gzip = raw
            .fill_buf()
            .is_ok_and(|head| head.starts_with(&GZIP_MAGIC));
        let raw = Consumed {
            inner: raw,
            count: 0,
        };
        let text = match gzip {
            true => Text::Gzip(BufReader::with_capacity(BUFFER, MultiGzDecoder::new(raw))),
            false => Text::Plain(raw),
        };
        Ok(Source { text, on_disk })
    }

    pub fn is_gzip(&self) -> bool {
        matches!(self.text, Text::Gzip(_))
    }

    /// The count of bytes read from the file on disk so far, which goes on
    /// as this source is read (also once it is moved into a parser).
    pub fn on_disk(&self) -> Arc<AtomicU64> {
        self.on_disk.clone()
    }

    /// Bytes of the file that gave the text taken so far: for gzip the
    /// compressed bytes the decoder consumed (which includes what it needed
    /// to fill its buffer), else the text itself.
    pub fn consumed(&self) -> u64 {
        match &self.text {
            Text::Plain(raw) => raw.count,
            Text::Gzip(text) => text.get_ref().get_ref().count,
        }
    }

    /// Appends at most `max` bytes of text to `into`; returns how many. No
    /// text is decompressed past them, so [`Source::consumed`] is then what
    /// gave exactly these bytes.
    pub fn sample(&mut self, max: u64, into: &mut Vec<u8>) -> io::Result<u64> {
        match &mut self.text {
            Text::Plain(raw) => raw.take(max).read_to_end(into).map(|n| n as u64),
            Text::Gzip(text) => {
                let buffered = text.buffer().len().min(max as usize);
                into.extend_from_slice(&text.buffer()[..buffered]);
                text.consume(buffered);
                let rest = text
                    .get_mut()
                    .take(max - buffered as u64)
                    .read_to_end(into)?;
                Ok((buffered + rest) as u64)
            }
        }
    }

    /// Drops a UTF-8 byte order mark; returns its length.
    pub fn skip_bom(&mut self) -> io::Result<u64> {
        let bom = bom_len(self.fill_buf()?);
        self.consume(bom);
        Ok(bom as u64)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.text {
            Text::Plain(raw) => raw.read(buf),
            Text::Gzip(text) => text.read(buf),
        }
    }
}

impl BufRead for Source {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match &mut self.text {
            Text::Plain(raw) => raw.fill_buf(),
            Text::Gzip(text) => text.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match &mut self.text {
            Text::Plain(raw) => raw.consume(amount),
            Text::Gzip(text) => text.consume(amount),
        }
    }
}

/// Counts the bytes read from the file on disk.
struct OnDisk {
    inner: File,
    count: Arc<AtomicU64>,
}

impl Read for OnDisk {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Counts the bytes a buffered reader's user has taken.
struct Consumed<R> {
    inner: R,
    count: u64,
}

impl<R: BufRead> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count += amount as u64;
        self.inner.consume(amount);
    }
}

/// Bytes of the UTF-8 byte order mark `text` starts with: 3 or 0.
pub fn bom_len(text: &[u8]) -> usize {
    match text.starts_with(&UTF8_BOM) {
        true => UTF8_BOM.len(),
        false => 0,
    }
}

/// The parser of the import's hot loop, for text whose fields are separated
/// by `delimiter`. Its settings are [`csv_reader`]'s.
pub fn csv_parser(delimiter: u8) -> csv_core::Reader {
    csv_core::ReaderBuilder::new().delimiter(delimiter).build()
}

/// A CSV reader of `text` that parses records as [`csv_parser`] does: the
/// header is a record like any other, and records may have any number of
/// fields.
pub fn csv_reader<R: Read>(delimiter: u8, text: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text)
}

/// The names of a header record: each field as text (Windows-1252 when it
/// is not UTF-8), trimmed.
pub fn header_names(record: &csv::ByteRecord) -> Vec<String> {
    record
        .iter()
        .map(|h| match decode(h, Encoding::Auto) {
            Some(s) => s.trim().to_string(),
            None => String::from_utf8_lossy(h).trim().to_string(),
        })
        .collect()
}

/// The failure of a file that is UTF-16 text.
pub const UTF16: &str = "looks like UTF-16; save it as UTF-8 CSV";

/// Whether text starting with `head` is UTF-16: a UTF-16 byte order mark, or
/// a NUL byte in every other place, as ASCII text in UTF-16 has.
pub fn looks_like_utf16(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let pairs: Vec<&[u8]> = head[..head.len().min(512)].chunks_exact(2).collect();
    if pairs.len() < 2 {
        return false;
    }
    let low = pairs.iter().filter(|p| p[0] != 0 && p[1] == 0).count();
    let high = pairs.iter().filter(|p| p[0] == 0 && p[1] != 0).count();
    // Nine in ten: a few characters outside Latin-1 break the pattern.
    low.max(high) * 10 >= pairs.len() * 9
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
    use std::io::Write;

    fn gzip_of(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn file_of(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn plain_and_gzip_files_give_the_same_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"\xEF\xBB\xBFNo,Kode\n1,DS-1\n".to_vec();
        for (name, bytes) in [("a.csv", text.clone()), ("a.csv.gz", gzip_of(&text))] {
            let path = file_of(&dir, name, &bytes);
            let mut source = Source::open(&path).unwrap();
            assert_eq!(source.is_gzip(), name.ends_with(".gz"));
            assert_eq!(source.skip_bom().unwrap(), 3);
            let mut got = Vec::new();
            source.read_to_end(&mut got).unwrap();
            assert_eq!(got, &text[3..]);
            assert_eq!(source.on_disk().load(Ordering::Relaxed), bytes.len() as u64);
            assert_eq!(source.consumed(), bytes.len() as u64);
        }
    }

    #[test]
    fn a_sample_takes_no_more_than_asked_and_counts_what_gave_it() {
        let dir = tempfile::tempdir().unwrap();
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i},x\n").into_bytes())
            .collect();
        let path = file_of(&dir, "big.csv", &text);
        let mut source = Source::open(&path).unwrap();
        let mut head = Vec::new();
        assert_eq!(source.sample(1000, &mut head).unwrap(), 1000);
        assert_eq!((head.as_slice(), source.consumed()), (&text[..1000], 1000));

        let gz = gzip_of(&text);
        let path = file_of(&dir, "big.csv.gz", &gz);
        let mut source = Source::open(&path).unwrap();
        let mut head = Vec::new();
        assert_eq!(source.sample(100_000, &mut head).unwrap(), 100_000);
        assert_eq!(head, &text[..100_000]);
        assert!(source.consumed() < gz.len() as u64, "{}", source.consumed());
    }

    #[test]
    fn a_tiny_file_is_not_gzip() {
        let dir = tempfile::tempdir().unwrap();
        for bytes in [&b""[..], b"\x1f", b"a"] {
            let path = file_of(&dir, "tiny", bytes);
            let mut source = Source::open(&path).unwrap();
            assert!(!source.is_gzip());
            let mut got = Vec::new();
            source.read_to_end(&mut got).unwrap();
            assert_eq!(got, bytes);
        }
    }

    #[test]
    fn the_two_parsers_agree() {
        let input = "a,\"b,\"\"c\"\"\nd\",e\r\n\r\nx\"y,\"\"\n,,\n \"q\" ,z\n\"open";
        let want: Vec<csv::ByteRecord> = csv_reader(b',', input.as_bytes())
            .byte_records()
            .map(Result::unwrap)
            .collect();
        let mut parser = csv_parser(b',');
        let (mut input, mut got) = (input.as_bytes(), Vec::new());
        let (mut out, mut ends) = ([0u8; 256], [0usize; 16]);
        let (mut nout, mut nends) = (0, 0);
        loop {
            let (result, nin, o, e) =
                parser.read_record(input, &mut out[nout..], &mut ends[nends..]);
            input = &input[nin..];
            (nout, nends) = (nout + o, nends + e);
            match result {
                csv_core::ReadRecordResult::Record => {
                    let mut record = csv::ByteRecord::new();
                    let mut from = 0;
                    for &end in &ends[..nends] {
                        record.push_field(&out[from..end]);
                        from = end;
                    }
                    got.push(record);
                    (nout, nends) = (0, 0);
                }
                csv_core::ReadRecordResult::End => break,
                csv_core::ReadRecordResult::InputEmpty => {}
                full => panic!("{full:?}"),
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn recognises_utf16() {
        let utf16le: Vec<u8> = "No,Kode Pesanan\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let utf16be: Vec<u8> = "No,Kode Pesanan\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert!(looks_like_utf16(&utf16le));
        assert!(looks_like_utf16(&utf16be));
        assert!(looks_like_utf16(b"\xff\xfeN"));
        assert!(looks_like_utf16(b"\xfe\xff"));
        assert!(!looks_like_utf16(b"No,Kode Pesanan\n"));
        assert!(!looks_like_utf16("Caf\u{e9},x\n".as_bytes()));
        assert!(!looks_like_utf16(b"a"));
        assert!(!looks_like_utf16(b""));
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
