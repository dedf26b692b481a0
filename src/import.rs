//! The import pipeline: inputs → readers on a pool of `jobs` threads →
//! bounded channel → one writer thread → summary.
//!
//! Files start smallest first (a FIFO pool), so with `-j 1` they are read
//! strictly in that order. The channel holds at most one chunk per reader,
//! so memory stays flat however large the input; when the writer falls
//! behind, readers wait. Dropping the last sender ends the writer's loop.

use crate::columns::Names;
use crate::inputs;
use crate::lock;
use crate::memory::{self, Budget};
use crate::progress::Progress;
use crate::read::{ReadOptions, read_file};
use crate::report::{self, ChunkSizes, Cpu, Memory, PerFile, Summary, Throughput};
use crate::resources;
use crate::schema;
use crate::settings::{Settings, UsageError};
use crate::write::{Msg, OrderCounts, RunRecord, WriteOptions, Writer};
use anyhow::{Context, Result};
use crossbeam_channel::bounded;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Runs an import with validated settings; returns the exit code.
pub fn run(settings: Settings) -> Result<ExitCode> {
    let clock = (Instant::now(), SystemTime::now());
    let files = find_files(&settings)?;
    check_output_path(settings.report.as_deref())?;
    let read_opts = ReadOptions {
        budget: Budget::new(settings.chunk_size, settings.jobs),
        max_file_size: settings.max_file_size,
        max_record_size: settings.max_record_size,
        max_errors: settings.max_errors,
        delimiter: settings.delimiter,
        names: Names::new(&settings.columns).map_err(UsageError)?,
        rules: settings.rules.clone(),
    };
    // A dry run writes nothing, so it needs no claim on the database.
    let _claim = match settings.dry_run {
        true => None,
        false => Some(lock::claim(&settings.db)?),
    };
    let mut writer = open_writer(&settings, &files)?;
    stream(&settings, &files, &read_opts, &mut writer)?;
    let summary = summarize(&settings, &writer, &read_opts.budget, clock);
    writer.finish(&run_record(&summary))?;
    emit(&settings, &summary)?;
    Ok(summary.status.exit_code())
}

fn find_files(settings: &Settings) -> Result<Vec<inputs::Input>> {
    let (files, unmatched) = inputs::find(&settings.inputs);
    if files.is_empty() && !settings.allow_empty {
        return Err(UsageError(format!(
            "no input files: nothing matches {} (use --allow-empty to accept that)",
            unmatched.join(", ")
        ))
        .into());
    }
    Ok(files)
}

fn open_writer(settings: &Settings, files: &[inputs::Input]) -> Result<Writer> {
    let list: Vec<_> = files.iter().map(|f| (f.path.clone(), f.size)).collect();
    Writer::open(
        &settings.db,
        &list,
        WriteOptions {
            on_duplicate: settings.on_duplicate,
            force: settings.force,
            dry_run: settings.dry_run,
            options_json: serde_json::to_string(settings)?,
            rejects_csv: settings.rejects.clone(),
            commit_interval: settings.commit_interval,
        },
    )
}

/// Reads every file on the pool into the writer, with the checkpointer and
/// the memory watcher beside them; returns when all is written.
fn stream(
    settings: &Settings,
    files: &[inputs::Input],
    read_opts: &ReadOptions,
    writer: &mut Writer,
) -> Result<()> {
    let total_bytes = files.iter().filter_map(|f| f.size).sum();
    let progress = Progress::new(settings.progress, settings.quiet, files.len(), total_bytes);
    let stop = &STOP;
    watch_interrupts();
    let (tx, rx) = bounded::<Msg>(settings.jobs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.jobs.min(files.len().max(1)))
        .thread_name(|i| format!("reader-{i}"))
        .build()
        .context("cannot start reader threads")?;

    let written = std::thread::scope(|scope| {
        let writer_thread = scope.spawn(|| {
            let result = writer.run(&rx, &progress);
            if result.is_err() {
                // Stop the readers, and let any of them waiting for an answer
                // see that none will come.
                stop.store(true, Ordering::Relaxed);
                rx.iter().for_each(drop);
            }
            result
        });
        let (done_tx, done_rx) = bounded::<()>(0);
        if !settings.dry_run {
            let (db, done) = (&settings.db, done_rx.clone());
            scope.spawn(move || schema::checkpointer(db, CHECKPOINT_EVERY, &done));
        }
        if settings.memory_optimization {
            let threshold = (settings.max_memory_bytes as f64 * settings.force_gc_threshold) as u64;
            let (budget, interval) = (&read_opts.budget, settings.check_interval);
            scope.spawn(move || memory::watch(budget, interval, threshold, &done_rx));
        }
        pool.scope_fifo(|s| {
            for (i, input) in files.iter().enumerate() {
                let (tx, progress) = (tx.clone(), &progress);
                s.spawn_fifo(move |_| {
                    read_opts.budget.enter();
                    let bar =
                        progress.file_bar(&input.path.to_string_lossy(), input.size.unwrap_or(0));
                    read_file(i, &input.path, read_opts, &tx, stop, &bar);
                    bar.finish();
                    read_opts.budget.leave();
                });
            }
        });
        drop(tx);
        drop(done_tx);
        writer_thread
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the database writer crashed")))
    });
    progress.finish();
    written
}

/// The summary of what the writer recorded, with the process's figures.
fn summarize(
    settings: &Settings,
    writer: &Writer,
    budget: &Budget,
    (started, started_at): (Instant, SystemTime),
) -> Summary {
    let per_file: Vec<PerFile> = writer.outcomes().map(PerFile::from_outcome).collect();
    let (files, rows) = report::totals(&per_file);
    let mut orders = OrderCounts::default();
    let mut bytes = 0;
    for o in writer.outcomes() {
        orders.add(&o.orders);
        bytes += o.bytes_read;
    }
    let elapsed = started.elapsed();
    let secs = elapsed.as_secs_f64().max(0.001);
    let usage = resources::usage();
    let budget = budget.report();
    Summary {
        run_id: writer.run_id(),
        version: env!("CARGO_PKG_VERSION"),
        dry_run: settings.dry_run,
        database: settings.db.to_string_lossy().into_owned(),
        status: report::run_status(&files, &rows, STOP.load(Ordering::Relaxed)),
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        elapsed_ms: elapsed.as_millis() as u64,
        files,
        rows,
        orders,
        throughput: Throughput {
            rows_per_sec: (rows.read as f64 / secs) as u64,
            bytes_per_sec: (bytes as f64 / secs) as u64,
        },
        memory: Memory {
            peak_rss_bytes: usage.peak_rss_bytes,
            limit_bytes: settings.max_memory_bytes,
            chunk_size: ChunkSizes {
                start: budget.start_chunk as u64,
                min: budget.min_chunk as u64,
            },
            adaptations: budget.adaptations,
        },
        cpu: Cpu {
            user_ms: usage.user_ms,
            system_ms: usage.system_ms,
        },
        per_file,
        recommendations: Vec::new(),
    }
}

fn run_record(summary: &Summary) -> RunRecord {
    RunRecord {
        state: summary.status.as_str(),
        files: [
            summary.files.imported,
            summary.files.skipped,
            summary.files.failed,
        ],
        rows: summary.rows,
        orders: summary.orders,
        elapsed_ms: summary.elapsed_ms,
        peak_rss_bytes: summary.memory.peak_rss_bytes,
        rows_per_sec: summary.throughput.rows_per_sec,
        bytes_per_sec: summary.throughput.bytes_per_sec,
        user_cpu_ms: summary.cpu.user_ms,
        system_cpu_ms: summary.cpu.system_ms,
    }
}

/// The summary: JSON to stdout (and `--report`), a few lines for a person
/// on stderr unless `-q` and all is well.
fn emit(settings: &Settings, summary: &Summary) -> Result<()> {
    let json = summary.to_json();
    if let Some(path) = &settings.report {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if !settings.quiet || summary.status != report::RunStatus::Ok {
        let rejects = settings.rejects.as_ref().map(|p| p.to_string_lossy());
        let _ = summary.write_human(&mut std::io::stderr().lock(), rejects.as_deref());
    }
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error of the import.
    let _ = writeln!(out, "{json}").and_then(|_| out.flush());
    Ok(())
}

/// How often the write-ahead log is copied into the database during a run.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Set by the first Ctrl-C (or SIGTERM): readers stop at their next chunk,
/// the writer commits what is in flight, the summary is printed.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first interrupt stops the run gracefully; a second one exits at once,
/// which is still safe: nothing committed is lost and the next run resumes.
fn watch_interrupts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(crate::report::Exit::Interrupted as i32);
            }
            eprintln!(
                "dropship-import: stopping after the chunks in flight (Ctrl-C again to quit now)"
            );
        });
    });
}

/// Fails early when an output file cannot be created, before any work.
fn check_output_path(path: Option<&std::path::Path>) -> Result<()> {
    if let Some(path) = path {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write to {}", path.display()))?;
    }
    Ok(())
}
