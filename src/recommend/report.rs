//! The report: the JSON and the text a person reads.

use super::*;
use crate::escape::escaped;

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
    pub(super) fn new(work: &Workload, reference: &Reference, advice: &Advice) -> Report {
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

pub(super) fn write_text(
    out: &mut dyn Write,
    report: &Report,
    work: &Workload,
    reference: &Reference,
    advice: &Advice,
    settings: &Settings,
) -> io::Result<()> {
    let mut files = format!(
        "{}, {}",
        plural_thousands(work.files, "file"),
        si_size(work.total_bytes)
    );
    if work.gzip_files > 0 {
        files.push_str(&format!(
            " ({} gzip, about {} of CSV to read)",
            work.gzip_files,
            si_size(work.csv_bytes)
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
            plural_thousands(failing, "file"),
            if failing == 1 { "is" } else { "are" }
        )?;
    }
    if work.delimiters.iter().any(|&(d, _)| d != b',') {
        let list: Vec<String> = work
            .delimiters
            .iter()
            .map(|&(d, n)| format!("{} in {}", delimiter_name(d), plural_thousands(n, "file")))
            .collect();
        writeln!(out, "delimiters: {}", list.join(", "))?;
    }
    let source = match reference.source {
        Source::History => {
            let mut s = format!(
                "from {} in {}",
                plural_thousands(reference.runs, "earlier run"),
                escaped(&reference.db)
            );
            if reference.small_runs_only {
                s.push_str(&format!(
                    "; all read under {} rows, so start-up weighs on the rate",
                    thousands(MIN_MEASURED_ROWS as u64)
                ));
            }
            s
        }
        Source::BuiltIn => format!(
            "built-in estimate, no earlier runs in {}",
            escaped(&reference.db)
        ),
    };
    writeln!(
        out,
        "throughput: {}/s, {} rows/s ({source})",
        si_size(reference.bytes_per_sec as u64),
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
        about_duration_ms(advice.duration_ms),
        si_size(advice.peak_rss_bytes)
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

pub(super) fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        other => format!("'{}'", other as char),
    }
}
