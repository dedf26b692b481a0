//! `--follow`: the run shown again until it ends.
//!
//! On a terminal, one screen redrawn in place each second: the cursor goes
//! home, the screen ([`screen`], a pure function of what was read, the
//! terminal's size and the clock) is written over the last one, and the
//! rest of the old one is cleared; nothing goes into the scrollback until
//! the run ends, when its whole detail is printed once. Elsewhere (a pipe,
//! a log), a line per change; with `--json`, a JSON document per change.

use super::*;

/// Shows the run until it is no longer running: redrawn on a terminal, a
/// line per change elsewhere (one JSON document per line with `--json`).
pub(super) fn follow(
    reader: &read::Reader,
    run_id: Option<i64>,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let id = match run_id {
        Some(id) => id,
        None => match look(reader, |s| s.read.newest_run())? {
            Some(id) => id,
            None => {
                writeln!(out, "no runs in {}", crate::escape::escaped(reader.shown()))?;
                return Ok(ExitCode::from(Exit::Ok as u8));
            }
        },
    };
    let redraw = !json && std::io::stdout().is_terminal();
    let mut last: Option<String> = None;
    loop {
        let detail = look(reader, |s| s.detail(id))?;
        let going = detail.run.run.state == RunState::Running;
        if json {
            let doc = to_json(&detail, false)?;
            // Times move every second; a line is worth printing when the
            // counts or the state moved.
            let key = change_key(&detail);
            if !going || last.as_deref() != Some(key.as_str()) {
                writeln!(out, "{doc}")?;
                last = Some(key);
            }
        } else if redraw {
            let (width, height) = terminal_size();
            // Home, the screen over the last one, and the rest cleared.
            write!(out, "\x1b[H")?;
            if going {
                for line in screen(&detail, width, height, SystemTime::now()).lines() {
                    writeln!(out, "{line}\x1b[K")?;
                }
                write!(out, "\x1b[J")?;
            } else {
                write!(out, "\x1b[J")?;
                write_detail(out, &detail, Some(width))?;
            }
        } else if !going {
            if last.is_some() {
                writeln!(out)?;
            }
            write_detail(out, &detail, off_terminal_width())?;
        } else {
            let key = change_key(&detail);
            if last.is_none() {
                write_detail(out, &detail, off_terminal_width())?;
                writeln!(out)?;
            }
            if last.as_deref() != Some(key.as_str()) {
                writeln!(out, "{}", progress_line(&detail))?;
                last = Some(key);
            }
        }
        out.flush()?;
        if !going {
            return Ok(ExitCode::from(Exit::Ok as u8));
        }
        std::thread::sleep(REFRESH);
    }
}

/// What must differ for `--follow` to print again off a terminal.
pub(super) fn change_key(d: &Detail) -> String {
    let r = &d.run.run;
    let committed: u64 = d.files.iter().map(|f| f.bytes_committed).sum();
    format!(
        "{} {} {:?} {:?} {committed} {}",
        r.state.as_str(),
        d.files.len(),
        r.files,
        r.rows,
        d.files
            .iter()
            .map(|f| f.state.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// One line of `--follow` off a terminal.
pub(super) fn progress_line(d: &Detail) -> String {
    let r = &d.run.run;
    let mut line = format!(
        "run {} {}: {} elapsed, files {} done of {}, rows read {} imported {} rejected {} duplicate {}",
        r.id,
        r.state.as_str(),
        r.elapsed_ms
            .map(short_duration_ms)
            .unwrap_or_else(|| "-".into()),
        r.files.imported + r.files.skipped + r.files.failed,
        r.files.total,
        r.rows.read,
        r.rows.imported,
        r.rows.rejected,
        r.rows.duplicate,
    );
    if let Some(p) = &d.progress {
        line.push_str(&format!(", ETA {}", eta_text(p)));
    }
    line
}

/// The terminal's width and height: as it says, else `COLUMNS` and
/// `LINES`, else 80 by 24.
pub(super) fn terminal_size() -> (usize, usize) {
    if let Some((rows, columns)) = console::Term::stdout().size_checked() {
        return (usize::from(columns), usize::from(rows));
    }
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    (env("COLUMNS", 80), env("LINES", 24))
}

/// The width tables keep to off a terminal: `COLUMNS` when it is set (a
/// script that sets it wants its width), else none.
pub(super) fn off_terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
}

/// The smallest screen drawn as such; a smaller one is drawn as if it were
/// this large (the terminal cuts or wraps it).
const SMALLEST: (usize, usize) = (20, 6);

/// The screen `--follow` shows of a running run on a terminal `width`
/// columns wide and `height` lines high, as of `now`: a header (the run,
/// its state, time elapsed, progress, bytes done of the total, rate and
/// ETA), its rows, the files in progress and those that failed, and the
/// rest of its files folded into one line. It never has more lines than
/// `height - 1` (the cursor stays on the screen), nor a line longer than
/// `width`.
pub(super) fn screen(d: &Detail, width: usize, height: usize, now: SystemTime) -> String {
    let (width, height) = (width.max(SMALLEST.0), height.max(SMALLEST.1));
    let r = &d.run.run;
    let elapsed_ms = match r.state {
        RunState::Running => parse_time(&r.started_at)
            .and_then(|t| now.duration_since(t).ok())
            .map(|e| e.as_millis() as u64)
            .or(r.elapsed_ms),
        _ => r.elapsed_ms,
    };
    let mut head = vec![
        format!("run {} {}", r.id, r.state.as_str()),
        format!(
            "{} elapsed",
            elapsed_ms.map_or_else(|| "-".into(), short_duration_ms)
        ),
    ];
    if let Some(p) = &d.progress {
        let about = if p.is_estimate { "~" } else { "" };
        head.push(match p.percent_estimate {
            Some(pct) => format!("{about}{pct:.1}% done"),
            None => "? done".into(),
        });
        head.push(format!(
            "{} of {about}{}",
            binary_size(p.bytes_done),
            binary_size(p.bytes_total_estimate)
        ));
        if let Some(rate) = p.bytes_per_sec {
            head.push(format!("{}/s", binary_size(rate)));
        }
        head.push(match p.eta_secs {
            Some(eta) => format!("ETA {}", eta_secs(eta)),
            None => "ETA unknown yet".into(),
        });
    }
    let rows = &r.rows;
    let counts = [
        format!("rows read {}", rows.read),
        format!("imported {}", rows.imported),
        format!("rejected {}", rows.rejected),
        format!("duplicate {}", rows.duplicate),
    ];
    let mut lines = wrap(&head, width);
    lines.extend(wrap(&counts, width));
    lines.push(String::new());

    // The files worth a line: those being read, then those that failed.
    let busy: Vec<&FileView> = (d.files.iter())
        .filter(|f| f.state == "in_progress")
        .chain(d.files.iter().filter(|f| f.state == "failed"))
        .collect();
    let mut folded = Vec::new();
    let count = |state: &str| d.files.iter().filter(|f| f.state == state).count() as u64;
    let imported = count("imported");
    if imported > 0 {
        folded.push(format!("{imported} imported"));
    }
    let skipped = r.files.skipped.max(count("skipped"));
    if skipped > 0 {
        folded.push(format!("{skipped} skipped"));
    }
    let interrupted = count("interrupted");
    if interrupted > 0 {
        folded.push(format!("{interrupted} interrupted"));
    }
    if let Some(p) = &d.progress
        && p.files_not_started > 0
    {
        folded.push(match p.bytes_not_started {
            Some(bytes) => format!(
                "{} not started ({})",
                p.files_not_started,
                binary_size(bytes)
            ),
            None => format!("{} not started", p.files_not_started),
        });
    }
    let folded = wrap(&folded, width);
    // Lines left for the table: its header and a row per file, one of
    // them given to "and N more" when they do not all fit.
    let room = (height - 1).saturating_sub(lines.len() + folded.len() + 1);
    let (shown, more) = match busy.len() {
        n if n <= room => (n, 0),
        n => (room.saturating_sub(1), n - room.saturating_sub(1)),
    };
    if shown > 0 {
        let mut table = Table::new(&[
            ("PATH", Align::Left),
            ("DONE", Align::Right),
            ("ETA", Align::Right),
            ("READ", Align::Right),
            ("IMPORTED", Align::Right),
            ("REJECTED", Align::Right),
            ("NOTE", Align::Left),
        ]);
        for f in &busy[..shown] {
            table.row(vec![
                f.path.clone(),
                match (f.state.as_str(), f.progress_percent) {
                    ("failed", _) => "failed".into(),
                    (_, Some(p)) => format!("{p:.1}%"),
                    (_, None) => "?".into(),
                },
                f.eta_secs.map_or_else(String::new, eta_secs),
                f.rows.read.to_string(),
                f.rows.imported.to_string(),
                f.rows.rejected.to_string(),
                file_note(f),
            ]);
        }
        let mut text = Vec::new();
        let narrowing = [
            Narrow::KeepStart("NOTE", 24),
            Narrow::KeepEnd("PATH", 32),
            Narrow::Drop("REJECTED"),
            Narrow::KeepStart("NOTE", 12),
            Narrow::Drop("READ"),
            Narrow::KeepEnd("PATH", 22),
            Narrow::Drop("NOTE"),
            Narrow::Drop("ETA"),
            Narrow::KeepEnd("PATH", 12),
        ];
        // Writing to a Vec cannot fail.
        let _ = table.write_within(&mut text, Some(width), &narrowing);
        lines.extend(String::from_utf8_lossy(&text).lines().map(str::to_string));
    }
    if more > 0 {
        let more_busy = busy[shown..]
            .iter()
            .filter(|f| f.state == "in_progress")
            .count();
        let and = if shown > 0 { "... and " } else { "" };
        let more = if shown > 0 { "more " } else { "" };
        let mut parts = Vec::new();
        if more_busy > 0 {
            parts.push(format!("{more_busy} {more}in progress"));
        }
        if busy.len() - shown > more_busy {
            parts.push(format!("{} {more}failed", busy.len() - shown - more_busy));
        }
        lines.push(format!("{and}{}", parts.join(", ")));
    }
    lines.extend(folded);
    lines.truncate(height - 1);
    let mut text = String::new();
    for line in lines {
        // No line may wrap: a wrapped line would push the screen up.
        let line: String = line.chars().take(width).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// `parts` joined with `, ` into as few lines as fit in `width`.
fn wrap(parts: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + part.chars().count() <= width => {
                line.push_str(", ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}
