//! The files: what sampling finds out about each input, and the workload it adds up to.

use super::*;

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
pub(super) struct Looked {
    pub(super) size: u64,
    pub(super) sample: Option<Sample>,
    pub(super) warnings: Vec<Warning>,
}

pub(super) enum Planned {
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

pub(super) fn sample_inputs(patterns: &[String], settings: &Settings) -> Result<Vec<Looked>> {
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
pub(super) struct Sampler {
    pub(super) max_file_size: u64,
    pub(super) max_record_size: u64,
    /// `None`: found from the header line.
    pub(super) delimiter: Option<u8>,
    pub(super) encoding: Encoding,
    pub(super) names: Names,
}

impl Sampler {
    pub(super) fn new(settings: &Settings) -> Result<Sampler> {
        Ok(Sampler {
            max_file_size: settings.max_file_size,
            max_record_size: settings.max_record_size,
            delimiter: settings.delimiter,
            encoding: settings.rules.encoding,
            names: Names::new(&settings.columns).map_err(UsageError)?,
        })
    }

    pub(super) fn look_at(&self, path: &Path) -> Looked {
        look_at(path, self)
    }
}

pub(super) fn look_at(path: &Path, sampler: &Sampler) -> Looked {
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
                    si_size(size),
                    limit_size(sampler.max_file_size)
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
                si_size(sample.csv_bytes),
                limit_size(sampler.max_file_size)
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
pub(super) struct Head {
    pub(super) text: Vec<u8>,
    /// The whole file's text is in `text`.
    pub(super) complete: bool,
    pub(super) gzip: bool,
    /// Bytes of the file on disk that gave `text` (for gzip, the compressed
    /// bytes the decoder consumed).
    pub(super) consumed: u64,
    /// For gzip, the uncompressed size its trailer records (of the last
    /// member, modulo 4 GiB).
    pub(super) trailer_size: Option<u64>,
}

pub(super) fn read_head(path: &Path) -> io::Result<Head> {
    let mut source = crate::source::Source::open(path)?;
    let gzip = source.is_gzip();
    let mut text = Vec::with_capacity(SAMPLE_BYTES + 1);
    source.sample(SAMPLE_BYTES as u64 + 1, &mut text)?;
    let consumed = source.consumed();
    drop(source);
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
pub(super) fn gzip_trailer_size(path: &Path) -> io::Result<Option<u64>> {
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

/// Everything about a file that its first bytes tell; warnings have no path.
pub(super) fn look_at_head(head: &Head, size: u64, sampler: &Sampler) -> Looked {
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
    let bom = bom_len(&head.text);
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
    let mut csv = csv_reader(delimiter, parsed);
    let mut record = csv::ByteRecord::new();
    let headers: Vec<String> = match csv.read_byte_record(&mut record) {
        Ok(true) => header_names(&record),
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
        // The message names what looks like each missing column, and the
        // `[columns]` alias that would map it.
        let message = format!("the import would fail this file: {missing}");
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
                plural_thousands(oversized, "record"),
                limit_size(sampler.max_record_size)
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
pub(super) fn record_bytes(text: &[u8], start: u64, end: u64) -> u64 {
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
pub(super) fn header_limits(
    fields: usize,
    bytes: u64,
    max_record_size: u64,
    cut: bool,
) -> Option<String> {
    let what = if fields > MAX_FIELDS {
        format!("a record of more than {MAX_FIELDS} fields")
    } else if bytes > max_record_size {
        format!(
            "a record of {}{bytes} bytes, longer than max_record_size ({})",
            if cut { "over " } else { "" },
            limit_size(max_record_size)
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
pub(super) fn header_fault(text: &[u8], delimiter: u8, max_record_size: u64) -> Option<String> {
    let mut csv = csv_reader(delimiter, text);
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
    pub(super) fn into_workload(self, settings: &Settings, reference: &Reference) -> Workload {
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
                            si_size(avg_size),
                            limit_size(settings.max_file_size)
                        ),
                    });
                }
                w
            }
        }
    }
}
