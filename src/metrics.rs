//! `--metrics-file`: the run's outcome in the Prometheus text exposition
//! format, for node_exporter's textfile collector, so that a cron job that
//! fails, or stops running, can raise an alert.
//!
//! The file is replaced whole (written beside it, then renamed), so the
//! collector never reads half of it. Every series carries the database as
//! a label: several jobs importing into different databases can keep their
//! files side by side in the collector's folder without their series
//! colliding.

use crate::report::{Exit, Summary};
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// How a run ended, as the metrics tell it: a summary, or an error that
/// stopped it (exit 1, or 2 for a mistake found once the run started).
pub enum Ended<'a> {
    Summary(&'a Summary),
    Error {
        exit: Exit,
        elapsed_ms: u64,
        peak_rss_bytes: u64,
    },
}

/// The text of the metrics file for a run that ended at `at`.
pub fn text(database: &str, ended: &Ended, at: SystemTime) -> String {
    let db = format!("database=\"{}\"", label(database));
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, values: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP dropship_import_{name} {help}");
        let _ = writeln!(out, "# TYPE dropship_import_{name} gauge");
        for (labels, value) in values {
            let _ = writeln!(out, "dropship_import_{name}{{{db}{labels}}} {value}");
        }
    };
    let status = match ended {
        Ended::Summary(s) => s.status.as_str(),
        Ended::Error { .. } => "error",
    };
    let (exit, elapsed_ms, peak) = match ended {
        Ended::Summary(s) => (s.status.exit() as u8, s.elapsed_ms, s.memory.peak_rss_bytes),
        Ended::Error {
            exit,
            elapsed_ms,
            peak_rss_bytes,
        } => (*exit as u8, *elapsed_ms, *peak_rss_bytes),
    };
    let seconds = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    metric(
        "last_run_timestamp_seconds",
        "When the last run ended, in seconds since 1970-01-01 UTC.",
        &[(String::new(), seconds as f64)],
    );
    metric(
        "last_run_success",
        "1 when the last run imported every file and rejected no row, else 0.",
        &[(String::new(), f64::from(u8::from(status == "ok")))],
    );
    let statuses = ["ok", "partial", "failed", "interrupted", "error"];
    let one_hot: Vec<_> = statuses
        .iter()
        .map(|s| {
            (
                format!(",status=\"{s}\""),
                f64::from(u8::from(*s == status)),
            )
        })
        .collect();
    metric(
        "last_run_status",
        "How the last run ended: 1 for its status, 0 for the others.",
        &one_hot,
    );
    metric(
        "last_run_exit_code",
        "The exit code of the last run.",
        &[(String::new(), f64::from(exit))],
    );
    metric(
        "last_run_duration_seconds",
        "How long the last run took.",
        &[(String::new(), elapsed_ms as f64 / 1000.0)],
    );
    metric(
        "last_run_peak_memory_bytes",
        "The peak resident memory of the last run.",
        &[(String::new(), peak as f64)],
    );
    if let Ended::Summary(s) = ended {
        let r = &s.rows;
        let rows: Vec<_> = [
            ("read", r.read),
            ("imported", r.imported),
            ("rejected", r.rejected),
            ("duplicate", r.duplicate),
            ("filtered", r.filtered),
            ("failed", r.failed),
        ]
        .iter()
        .map(|(b, n)| (format!(",bucket=\"{b}\""), *n as f64))
        .collect();
        metric(
            "last_run_rows",
            "Rows of the last run, by where they went.",
            &rows,
        );
        let f = &s.files;
        let interrupted = f.total.saturating_sub(f.imported + f.skipped + f.failed);
        let files: Vec<_> = [
            ("imported", f.imported),
            ("skipped", f.skipped),
            ("failed", f.failed),
            ("interrupted", interrupted),
        ]
        .iter()
        .map(|(state, n)| (format!(",state=\"{state}\""), *n as f64))
        .collect();
        metric(
            "last_run_files",
            "Files of the last run, by how they ended.",
            &files,
        );
    }
    out
}

/// A label value as the text format writes it: `\`, `"` and newlines
/// escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_error_is_told_with_its_exit_code_and_no_counts() {
        let at = UNIX_EPOCH + Duration::from_secs(1_764_700_000);
        let ended = Ended::Error {
            exit: Exit::Error,
            elapsed_ms: 1500,
            peak_rss_bytes: 20_000_000,
        };
        let text = text("/var/lib/shop \"a\".db", &ended, at);
        let expected = r#"# HELP dropship_import_last_run_timestamp_seconds When the last run ended, in seconds since 1970-01-01 UTC.
# TYPE dropship_import_last_run_timestamp_seconds gauge
dropship_import_last_run_timestamp_seconds{database="/var/lib/shop \"a\".db"} 1764700000
# HELP dropship_import_last_run_success 1 when the last run imported every file and rejected no row, else 0.
# TYPE dropship_import_last_run_success gauge
dropship_import_last_run_success{database="/var/lib/shop \"a\".db"} 0
# HELP dropship_import_last_run_status How the last run ended: 1 for its status, 0 for the others.
# TYPE dropship_import_last_run_status gauge
dropship_import_last_run_status{database="/var/lib/shop \"a\".db",status="ok"} 0
dropship_import_last_run_status{database="/var/lib/shop \"a\".db",status="partial"} 0
dropship_import_last_run_status{database="/var/lib/shop \"a\".db",status="failed"} 0
dropship_import_last_run_status{database="/var/lib/shop \"a\".db",status="interrupted"} 0
dropship_import_last_run_status{database="/var/lib/shop \"a\".db",status="error"} 1
# HELP dropship_import_last_run_exit_code The exit code of the last run.
# TYPE dropship_import_last_run_exit_code gauge
dropship_import_last_run_exit_code{database="/var/lib/shop \"a\".db"} 1
# HELP dropship_import_last_run_duration_seconds How long the last run took.
# TYPE dropship_import_last_run_duration_seconds gauge
dropship_import_last_run_duration_seconds{database="/var/lib/shop \"a\".db"} 1.5
# HELP dropship_import_last_run_peak_memory_bytes The peak resident memory of the last run.
# TYPE dropship_import_last_run_peak_memory_bytes gauge
dropship_import_last_run_peak_memory_bytes{database="/var/lib/shop \"a\".db"} 20000000
"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
