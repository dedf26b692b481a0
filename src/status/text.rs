//! Text output: the tables and lines a person reads.

use super::*;

pub(super) fn to_json<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    Ok(if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    })
}

/// The list of runs, within `width` characters when it is given (see
/// [`Table::write_within`]).
pub(super) fn write_list(
    out: &mut dyn Write,
    db: &str,
    runs: &[RunView],
    width: Option<usize>,
) -> Result<()> {
    // Paths and messages come from files and users: none reaches the
    // terminal raw.
    let out = &mut crate::escape::Lines(out);
    if runs.is_empty() {
        writeln!(out, "no runs in {db}")?;
        return Ok(());
    }
    // PostgreSQL runs may be on several machines.
    let hosts = runs.iter().any(|r| r.host.is_some());
    let mut columns = vec![("ID", Align::Right)];
    if hosts {
        columns.push(("HOST", Align::Left));
    }
    columns.extend([
        ("STARTED", Align::Left),
        ("DURATION", Align::Right),
        ("OK", Align::Right),
        ("SKIPPED", Align::Right),
        ("FAILED", Align::Right),
        ("IMPORTED", Align::Right),
        ("REJECTED", Align::Right),
        ("DUPLICATE", Align::Right),
        ("PEAK MEM", Align::Right),
        ("ROWS/S", Align::Right),
        ("STATE", Align::Left),
    ]);
    let mut table = Table::new(&columns);
    for r in runs {
        let mut row = vec![r.id.to_string()];
        if hosts {
            row.push(r.host.clone().unwrap_or_default());
        }
        row.extend([
            local_time(&r.started_at, false),
            duration_text(r),
            r.files.imported.to_string(),
            r.files.skipped.to_string(),
            r.files.failed.to_string(),
            r.rows.imported.to_string(),
            r.rows.rejected.to_string(),
            r.rows.duplicate.to_string(),
            opt(r.peak_rss_bytes.map(binary_size)),
            opt(r.rows_per_sec.map(|n| n.to_string())),
            r.state.as_str().to_string(),
        ]);
        table.row(row);
    }
    use Narrow::*;
    table.write_within(
        out,
        width,
        &[
            Drop("ROWS/S"),
            Drop("PEAK MEM"),
            // The seconds of the start.
            Trim("STARTED", 16),
            Drop("DUPLICATE"),
            Drop("SKIPPED"),
            KeepStart("HOST", 12),
            Drop("DURATION"),
            Drop("REJECTED"),
            Drop("HOST"),
            Drop("OK"),
            Drop("FAILED"),
        ],
    )?;
    Ok(())
}

/// Names the partial files under the list of runs, if there are any.
pub(super) fn write_partial(out: &mut dyn Write, files: &[read::PartialFile]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\npartial files left by killed runs (their rows stay until the same file is imported again):"
    )?;
    for f in files {
        let of_size = match f.size_bytes {
            Some(size) => format!(" of {}", binary_size(size)),
            None => String::new(),
        };
        writeln!(
            out,
            "  {}: run {}, {} rows committed, up to line {} ({}{of_size})",
            crate::escape::escaped(&f.path),
            f.run_id,
            f.rows_committed,
            f.line_committed,
            binary_size(f.bytes_committed)
        )?;
    }
    Ok(())
}

pub(super) fn duration_text(r: &RunView) -> String {
    match (r.elapsed_ms, &r.state) {
        (Some(ms), RunState::Running) => format!("{} so far", short_duration_ms(ms)),
        (Some(ms), _) => short_duration_ms(ms),
        (None, _) => "-".into(),
    }
}

/// One run with its files, its table within `width` characters when it is
/// given (see [`Table::write_within`]).
pub(super) fn write_detail(out: &mut dyn Write, d: &Detail, width: Option<usize>) -> Result<()> {
    let out = &mut crate::escape::Lines(out);
    let r = &d.run.run;
    writeln!(out, "run {}: {}", r.id, r.state.as_str())?;
    let field =
        |out: &mut dyn Write, name: &str, value: &str| writeln!(out, "  {name:<11} {value}");
    field(out, "started", &local_time(&r.started_at, true))?;
    if let Some(f) = &r.finished_at {
        field(out, "finished", &local_time(f, true))?;
    }
    field(out, "elapsed", &duration_text(r))?;
    let done = r.files.imported + r.files.skipped + r.files.failed;
    let mut files = format!(
        "{} in the run: {} imported, {} skipped, {} failed",
        r.files.total, r.files.imported, r.files.skipped, r.files.failed
    );
    let unfinished = r.files.total.saturating_sub(done);
    if r.finished_at.is_none() && unfinished > 0 {
        let begun = (d.files.iter())
            .filter(|f| matches!(f.state.as_ref(), "in_progress" | "interrupted"))
            .count() as u64;
        let what = if r.state == RunState::Running {
            "in progress"
        } else {
            "interrupted"
        };
        files.push_str(&format!(
            ", {begun} {what}, {} not started",
            unfinished.saturating_sub(begun)
        ));
    }
    field(out, "files", &files)?;
    let rows = &r.rows;
    field(
        out,
        "rows",
        &format!(
            "read {}: imported {}, rejected {}, duplicate {}, filtered {}, failed {}",
            rows.read, rows.imported, rows.rejected, rows.duplicate, rows.filtered, rows.failed
        ),
    )?;
    field(out, "peak memory", &opt(r.peak_rss_bytes.map(binary_size)))?;
    let throughput = match (r.rows_per_sec, r.bytes_per_sec) {
        (Some(rows), Some(bytes)) => format!("{rows} rows/s, {}/s", binary_size(bytes)),
        (Some(rows), None) => format!("{rows} rows/s"),
        _ => "-".into(),
    };
    field(out, "throughput", &throughput)?;
    if let Some(p) = &d.progress {
        field(out, "progress", &progress_text(p))?;
        field(out, "eta", &eta_text(p))?;
    }
    field(
        out,
        "process",
        &match &d.run.run.host {
            Some(host) => format!(
                "pid {} on {host}, dropship-import {}",
                d.run.pid, d.run.version
            ),
            None => format!("pid {}, dropship-import {}", d.run.pid, d.run.version),
        },
    )?;
    let (inputs, options) = options_summary(&d.run.options);
    if !inputs.is_empty() {
        field(out, "inputs", &inputs)?;
    }
    field(out, "options", &options)?;
    writeln!(out)?;

    if d.files.is_empty() {
        writeln!(out, "no files recorded yet")?;
        return Ok(());
    }
    let show_progress = d.files.iter().any(|f| f.progress_percent.is_some());
    let show_eta = d.progress.is_some();
    let mut columns = vec![
        ("PATH", Align::Left),
        ("STATE", Align::Left),
        ("SIZE", Align::Right),
    ];
    if show_progress {
        columns.push(("DONE", Align::Right));
    }
    if show_eta {
        columns.push(("ETA", Align::Right));
    }
    columns.extend([
        ("READ", Align::Right),
        ("IMPORTED", Align::Right),
        ("REJECTED", Align::Right),
        ("DUPLICATE", Align::Right),
        ("FILTERED", Align::Right),
        ("FAILED", Align::Right),
        ("NOTE", Align::Left),
    ]);
    let mut table = Table::new(&columns);
    for f in &d.files {
        let mut row = vec![
            f.path.clone(),
            f.state.clone(),
            opt(f.size_bytes.map(binary_size)),
        ];
        if show_progress {
            row.push(match (f.progress_percent, f.state.as_str()) {
                (Some(p), _) => format!("{p:.1}%"),
                (None, "in_progress" | "interrupted") => "?".into(),
                (None, _) => String::new(),
            });
        }
        if show_eta {
            row.push(match (f.eta_secs, f.state.as_str()) {
                (Some(s), _) => eta_secs(s),
                (None, "in_progress") => "?".into(),
                (None, _) => String::new(),
            });
        }
        let c = &f.rows;
        row.extend([
            c.read.to_string(),
            c.imported.to_string(),
            c.rejected.to_string(),
            c.duplicate.to_string(),
            c.filtered.to_string(),
            c.failed.to_string(),
            file_note(f),
        ]);
        table.row(row);
    }
    table.write_within(out, width, FILE_TABLE_NARROWING)?;
    if let Some(p) = &d.progress
        && p.files_not_started > 0
    {
        match p.bytes_not_started {
            Some(bytes) => writeln!(
                out,
                "... and {} not started yet ({})",
                plural(p.files_not_started, "file"),
                binary_size(bytes)
            )?,
            None => writeln!(
                out,
                "... and {} not started yet (not in the database until they begin)",
                plural(p.files_not_started, "file")
            )?,
        }
    }
    Ok(())
}

/// How the file tables narrow to fit a terminal: the least useful
/// columns go first, paths keep their distinct end, and no number is cut.
pub(super) const FILE_TABLE_NARROWING: &[Narrow] = &[
    Narrow::Drop("FILTERED"),
    Narrow::KeepStart("NOTE", 30),
    Narrow::Drop("FAILED"),
    Narrow::KeepEnd("PATH", 32),
    Narrow::Drop("DUPLICATE"),
    Narrow::Drop("SIZE"),
    Narrow::KeepStart("NOTE", 16),
    Narrow::Drop("READ"),
    Narrow::KeepEnd("PATH", 20),
    Narrow::Drop("REJECTED"),
    Narrow::Drop("ETA"),
    Narrow::Drop("NOTE"),
    Narrow::KeepEnd("PATH", 12),
];

/// What to say of a file beside its counts: why it failed, or where this
/// run took it up or left it.
pub(super) fn file_note(f: &FileView) -> String {
    if let Some(error) = &f.error {
        return error.clone();
    }
    let mut notes = Vec::new();
    if let Some(line) = f.resumed_from_line {
        notes.push(format!("resumed at line {line}"));
    }
    if let Some(line) = f.stopped_at_line {
        notes.push(format!("stopped at line {line}"));
    }
    if let Some(run) = f.resumed_by_run {
        notes.push(format!("resumed by run {run}"));
    }
    notes.join(", ")
}

pub(super) fn progress_text(p: &Progress) -> String {
    let share = p.percent_estimate.map(|pct| format!("{pct:.1}%"));
    if !p.is_estimate {
        return format!(
            "{} ({} of {} done)",
            share.as_deref().unwrap_or("?"),
            binary_size(p.bytes_done),
            binary_size(p.bytes_total_estimate)
        );
    }
    format!(
        "{} ({} of ~{} committed)",
        share.map_or_else(|| "?".into(), |s| format!("~{s}")),
        binary_size(p.bytes_done),
        binary_size(p.bytes_total_estimate)
    )
}

/// The ETA, and what it rests on: the rate so far, and for a run of an
/// older version, guessed sizes (it is an estimate and says so).
pub(super) fn eta_text(p: &Progress) -> String {
    let Some(eta) = p.eta_secs else {
        return "unknown yet (no committed checkpoint to measure a rate by)".into();
    };
    if !p.is_estimate {
        let mut text = format!(
            "{} (at {}/s, the rate since the run started",
            eta_secs(eta),
            binary_size(p.bytes_per_sec.unwrap_or(0))
        );
        if p.files_unmeasurable > 0 {
            text.push_str(&format!(
                "; {} counted as not begun",
                plural(p.files_unmeasurable, "compressed file")
            ));
        }
        text.push(')');
        return text;
    }
    let mut basis = vec![format!(
        "{}/s, the rate since the run started",
        binary_size(p.bytes_per_sec.unwrap_or(0))
    )];
    if p.files_not_started > 0 {
        basis.push(format!(
            "{} not started, guessed at {} each",
            plural(p.files_not_started, "file"),
            binary_size(p.assumed_bytes_per_file_not_started)
        ));
    }
    if p.files_unmeasurable > 0 {
        basis.push(format!(
            "{} counted as not begun",
            plural(p.files_unmeasurable, "compressed file")
        ));
    }
    format!("{} (estimate: {})", eta_secs(eta), basis.join("; "))
}

/// The inputs, and the options that shape a run, from the recorded settings.
pub(super) fn options_summary(options: &serde_json::Value) -> (String, String) {
    use serde_json::Value;
    let Value::Object(map) = options else {
        return (String::new(), options.to_string());
    };
    let inputs = match map.get("inputs") {
        Some(Value::Array(items)) => {
            let names: Vec<String> = items.iter().map(plain).collect();
            if names.len() > 4 {
                format!("{} and {} more", names[..4].join(" "), names.len() - 4)
            } else {
                names.join(" ")
            }
        }
        _ => String::new(),
    };
    let sizes = ["max_file_size", "max_memory_bytes"];
    let keys = [
        "jobs",
        "chunk_size",
        "max_file_size",
        "on_duplicate",
        "max_errors",
        "force",
        "memory_optimization",
        "max_memory_bytes",
    ];
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let v = map.get(*k)?;
            let text = match v.as_u64() {
                Some(n) if sizes.contains(k) => binary_size(n),
                _ => plain(v),
            };
            Some(format!("{k} {text}"))
        })
        .collect();
    (inputs, parts.join(", "))
}

/// A JSON value without quotes around strings.
pub(super) fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn opt(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

/// One way to make a table narrower, tried in order while it is too wide
/// (see [`Table::write_within`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Narrow {
    /// Leave the column out.
    Drop(&'static str),
    /// Cut its longer cells to this many characters, keeping their end
    /// behind a `…` (a path keeps the file's name: `…2026-11-part-003.csv`).
    KeepEnd(&'static str, usize),
    /// Cut its longer cells to this many characters, keeping their start
    /// before a `…` (a message).
    KeepStart(&'static str, usize),
    /// Cut its cells to this many characters, without a mark (the seconds
    /// of a time).
    Trim(&'static str, usize),
}

/// Columns padded to their widest cell, two spaces apart.
pub(super) struct Table {
    pub(super) columns: Vec<(&'static str, Align)>,
    pub(super) rows: Vec<Vec<String>>,
}

/// How a column's cells are cut, if they are.
#[derive(Debug, Clone, Copy)]
enum Cut {
    None,
    KeepEnd(usize),
    KeepStart(usize),
    Trim(usize),
}

impl Cut {
    fn apply(self, cell: &str) -> std::borrow::Cow<'_, str> {
        let n = cell.chars().count();
        match self {
            Cut::KeepEnd(max) if n > max => crate::units::fit_left(cell, max).into(),
            Cut::KeepStart(max) if n > max => crate::units::fit_right(cell, max).into(),
            Cut::Trim(max) if n > max => cell.chars().take(max).collect::<String>().into(),
            _ => cell.into(),
        }
    }
}

impl Table {
    pub(super) fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; a cell's control characters (a line break in a file
    /// name included) are escaped, so each row stays one line.
    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| crate::escape::escaped(&c).into_owned())
                .collect(),
        );
    }

    #[cfg(test)]
    pub(super) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.write_within(out, None, &[])
    }

    /// Writes the table within `width` characters, when it is given: the
    /// `steps` are taken in order, each only while the table is still too
    /// wide. Numbers are never cut; a table that no step makes fit is
    /// written wider.
    pub(super) fn write_within(
        &self,
        out: &mut dyn Write,
        width: Option<usize>,
        steps: &[Narrow],
    ) -> std::io::Result<()> {
        let mut shown = vec![true; self.columns.len()];
        let mut cuts = vec![Cut::None; self.columns.len()];
        let widths = |shown: &[bool], cuts: &[Cut]| -> Vec<usize> {
            (0..self.columns.len())
                .map(|i| match shown[i] {
                    false => 0,
                    true => (self.rows.iter())
                        .filter_map(|r| r.get(i))
                        .map(|c| cuts[i].apply(c).chars().count())
                        .chain([self.columns[i].0.len()])
                        .max()
                        .unwrap_or(0),
                })
                .collect()
        };
        let total = |shown: &[bool], cuts: &[Cut]| -> usize {
            let count = shown.iter().filter(|s| **s).count();
            widths(shown, cuts).iter().sum::<usize>() + 2 * count.saturating_sub(1)
        };
        if let Some(width) = width {
            for step in steps {
                if total(&shown, &cuts) <= width {
                    break;
                }
                let (name, cut) = match *step {
                    Narrow::Drop(name) => (name, None),
                    Narrow::KeepEnd(name, n) => (name, Some(Cut::KeepEnd(n))),
                    Narrow::KeepStart(name, n) => (name, Some(Cut::KeepStart(n))),
                    Narrow::Trim(name, n) => (name, Some(Cut::Trim(n))),
                };
                let Some(i) = self.columns.iter().position(|c| c.0 == name) else {
                    continue;
                };
                match cut {
                    None => shown[i] = false,
                    Some(cut) => cuts[i] = cut,
                }
            }
        }
        let widths = widths(&shown, &cuts);
        let header: Vec<String> = self.columns.iter().map(|c| c.0.to_string()).collect();
        for (row, cells) in std::iter::once(&header).chain(&self.rows).enumerate() {
            let mut line = String::new();
            let mut first = true;
            for (i, (_, align)) in self.columns.iter().enumerate() {
                if !shown[i] {
                    continue;
                }
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cell = match row {
                    0 => cell.into(),
                    _ => cuts[i].apply(cell),
                };
                if !first {
                    line.push_str("  ");
                }
                first = false;
                let pad = widths[i].saturating_sub(cell.chars().count());
                match align {
                    Align::Right => {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(&cell);
                    }
                    Align::Left => {
                        line.push_str(&cell);
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
