//! `--follow`: the run shown again until it ends.

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
            write!(out, "\x1b[H\x1b[2J")?;
            write_detail(out, &detail)?;
        } else if !going {
            if last.is_some() {
                writeln!(out)?;
            }
            write_detail(out, &detail)?;
        } else {
            let key = change_key(&detail);
            if last.is_none() {
                write_detail(out, &detail)?;
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
