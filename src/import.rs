//! The import pipeline: inputs → readers on a pool of `jobs` threads →
//! bounded channel → one writer thread → summary.
//!
//! Files start smallest first (a FIFO pool), so with `-j 1` they are read
//! strictly in that order. The channel holds at most one chunk per reader,
//! so memory stays flat however large the input; when the writer falls
//! behind, readers wait. Dropping the last sender ends the writer's loop.

use crate::columns::Names;
use crate::escape::shell_word;
use crate::inputs;
use crate::memory::{self, Budget};
use crate::metrics;
use crate::outcome::{OrderCounts, RunRecord};
use crate::paths::{identity, resolve};
use crate::progress::{self, Progress};
use crate::read::{Msg, ReadOptions, read_file};
use crate::report::{self, ChunkSizes, Cpu, Memory, PerFile, Summary, Throughput};
use crate::resources;
use crate::settings::{Settings, UsageError};
use crate::store::{self, Store, WriteOptions};
use anyhow::{Context, Result};
use crossbeam_channel::{RecvTimeoutError, bounded};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

/// Runs an import with validated settings; returns the exit code.
pub fn run(settings: Settings) -> Result<ExitCode> {
    let clock = (Instant::now(), SystemTime::now());
    // From the start: a Ctrl-C while the database opens still ends with
    // the summary and exit 130.
    watch_interrupts();
    ignore_file_size_signal();
    let files = find_files(&settings)?;
    // Before anything is created or opened for writing.
    check_paths(&settings, &files)?;
    check_writable(settings.report.as_deref())?;
    check_writable(settings.rejects.as_deref())?;
    check_writable(settings.metrics_file.as_deref())?;
    let result = import(&settings, &files, clock);
    if let (Err(e), Some(path)) = (&result, &settings.metrics_file) {
        // A run that could not do its job is what monitoring must hear of.
        let usage = resources::usage();
        let ended = metrics::Ended::Error {
            exit: match e.downcast_ref::<UsageError>() {
                Some(_) => report::Exit::Usage,
                None => report::Exit::Error,
            },
            elapsed_ms: clock.0.elapsed().as_millis() as u64,
            peak_rss_bytes: usage.peak_rss_bytes,
        };
        let _ = write_metrics(path, &settings, &ended);
    }
    result
}

/// The import proper, once its paths are checked.
fn import(
    settings: &Settings,
    files: &[inputs::Input],
    clock: (Instant, SystemTime),
) -> Result<ExitCode> {
    let read_opts = ReadOptions {
        budget: Budget::new(settings.chunk_size, settings.jobs),
        max_file_size: settings.max_file_size,
        max_record_size: settings.max_record_size,
        max_errors: settings.max_errors,
        delimiter: settings.delimiter,
        names: Names::new(&settings.columns).map_err(UsageError)?,
        rules: settings.rules.clone(),
    };
    let mut writer = open_writer(settings, files)?;
    let shown = stream(settings, files, &read_opts, &mut writer)?;
    let summary = summarize(settings, &writer, &read_opts.budget, clock);
    writer.finish(&run_record(&summary))?;
    if let Some(path) = &settings.metrics_file {
        write_metrics(path, settings, &metrics::Ended::Summary(&summary))?;
    }
    emit(settings, &summary, shown)?;
    Ok(summary.status.exit_code())
}

fn write_metrics(
    path: &std::path::Path,
    settings: &Settings,
    ended: &metrics::Ended,
) -> Result<()> {
    let text = metrics::text(&settings.db.to_string_lossy(), ended, SystemTime::now());
    write_replacing(path, text.as_bytes())
        .with_context(|| format!("cannot write the metrics to {}", path.display()))
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

fn open_writer(settings: &Settings, files: &[inputs::Input]) -> Result<Store> {
    let list: Vec<_> = files.iter().map(|f| (f.path.clone(), f.size)).collect();
    let opts = WriteOptions {
        on_duplicate: settings.on_duplicate,
        force: settings.force,
        dry_run: settings.dry_run,
        options_json: serde_json::to_string(settings)?,
        rejects_csv: settings.rejects.clone(),
        commit_interval: settings.commit_interval,
        channel: settings.rules.channel.clone(),
    };
    store::open(settings, &list, opts)
}

/// Reads every file on the pool into the writer, with the store's own
/// background work (SQLite's checkpointer), the memory watcher and the
/// progress ticker beside them; returns when all is written, with whether
/// progress showed a line for each file that ended.
fn stream(
    settings: &Settings,
    files: &[inputs::Input],
    read_opts: &ReadOptions,
    writer: &mut Store,
) -> Result<bool> {
    let plan = progress::Plan::of(files.iter().map(|f| (f.path.as_path(), f.size)));
    let progress = Progress::new(settings.progress, settings.quiet, plan).watching(&STOP);
    let stop = &STOP;
    let (tx, rx) = bounded::<Msg>(settings.jobs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.jobs.min(files.len().max(1)))
        .thread_name(|i| format!("reader-{i}"))
        .build()
        .context("cannot start reader threads")?;
    let background = writer.background();

    let written = std::thread::scope(|scope| {
        let (ticking, ticks) = bounded::<()>(0);
        let progress = &progress;
        scope.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = ticks.recv_timeout(progress::TICK) {
                progress.tick();
            }
        });
        let writer_thread = scope.spawn(|| {
            let result = writer.run(&rx, progress);
            if result.is_err() {
                // Stop the readers, and let any of them waiting for an answer
                // see that none will come.
                stop.store(true, Ordering::Relaxed);
                rx.iter().for_each(drop);
            }
            result
        });
        let (done_tx, done_rx) = bounded::<()>(0);
        if let Some(work) = background {
            let done = done_rx.clone();
            scope.spawn(move || work(&done));
        }
        if settings.memory_optimization {
            let threshold = (settings.max_memory_bytes as f64 * settings.force_gc_threshold) as u64;
            let (budget, interval) = (&read_opts.budget, settings.check_interval);
            scope.spawn(move || memory::watch(budget, interval, threshold, &done_rx));
        }
        pool.scope_fifo(|s| {
            for (i, input) in files.iter().enumerate() {
                let tx = tx.clone();
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
        let written = writer_thread
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the database writer crashed")));
        drop(ticking);
        written
    });
    progress.finish();
    written.map(|()| progress.shows_files())
}

/// The summary of what the writer recorded, with the process's figures.
fn summarize(
    settings: &Settings,
    writer: &Store,
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
        // Partial files of killed runs that nothing here took up.
        recommendations: writer.partial_files(),
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

/// The summary: a few lines for a person on stderr unless `-q` and all is
/// well; the JSON to `--report`, and to stdout when stdout is not a
/// terminal (a pipe, a file, cron) or with `--json`. At a terminal without
/// `--json`, one line says how to get it.
fn emit(settings: &Settings, summary: &Summary, files_shown: bool) -> Result<()> {
    let json = summary.to_json();
    if let Some(path) = &settings.report {
        write_replacing(path, format!("{json}\n").as_bytes())
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    let to_stdout = settings.json || !std::io::stdout().is_terminal();
    if !settings.quiet || summary.status != report::RunStatus::Ok {
        let rejects = settings.rejects.as_ref().map(|p| p.to_string_lossy());
        let tell = report::Telling {
            rejects_path: rejects.as_deref(),
            rejects_query: summary.run_id.map(|id| rejects_query(settings, id)),
            fix_command: fix_command(settings, summary),
            files_shown,
            width: terminal_size::terminal_size_of(std::io::stderr())
                .map_or(usize::MAX, |(w, _)| usize::from(w.0)),
        };
        let mut err = std::io::stderr().lock();
        let _ = summary.write_human(&mut err, &tell);
        if !to_stdout && settings.report.is_none() {
            let _ = writeln!(
                err,
                "{}",
                crate::units::wrap(&json_hint(summary.run_id), tell.width, "  ")
            );
        }
    }
    if !to_stdout {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error of the import; a full disk
    // under a redirected summary is.
    match writeln!(out, "{json}").and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write the summary to stdout"))
        }
        _ => Ok(()),
    }
}

/// Where the JSON summary is, for a person at a terminal.
fn json_hint(run_id: Option<i64>) -> String {
    match run_id {
        Some(id) => format!(
            "the JSON summary: add --json (or pipe the output); this run's record: \
             dropship-import status {id} --json"
        ),
        None => "the JSON summary: add --json (or pipe the output)".to_string(),
    }
}

/// The command that imports the files with rejects again once they are
/// corrected: `--on-duplicate update`, so that a corrected file replaces
/// the orders it holds, and only those files (named, up to a few), so
/// that no other file's orders are replaced. README: "Fixing rejected rows
/// and importing again".
fn fix_command(settings: &Settings, summary: &Summary) -> Option<String> {
    const NAMED: usize = 3;
    if summary.dry_run {
        return None;
    }
    let files: Vec<&str> = (summary.per_file.iter())
        .filter(|f| f.rows.rejected > 0)
        .map(|f| f.path.as_str())
        .collect();
    if files.is_empty() {
        return None;
    }
    let mut words = vec!["dropship-import".to_string()];
    if settings.db != std::path::Path::new(crate::settings::DEFAULT_DB) {
        words.push(format!(
            "--db {}",
            shell_word(&settings.db.to_string_lossy())
        ));
    }
    if let Some(schema) = &settings.schema {
        words.push(format!("--schema {}", shell_word(schema)));
    }
    if let Some(config) = &settings.config {
        words.push(format!("-c {}", shell_word(&config.to_string_lossy())));
    }
    words.push("--on-duplicate update".to_string());
    words.extend(files.iter().take(NAMED).map(|f| shell_word(f)));
    if files.len() > NAMED {
        words.push(format!("… ({} files in all)", files.len()));
    }
    Some(words.join(" "))
}

/// A command that lists the run's rejected rows, ready to paste.
fn rejects_query(settings: &Settings, run_id: i64) -> String {
    let db = settings.db.to_string_lossy();
    let table = |name: &str| match &settings.postgres {
        Some(_) => format!(
            "{}.{name}",
            crate::store::postgres::ident(settings.schema.as_deref().unwrap_or("public"))
        ),
        None => name.to_string(),
    };
    let sql = format!(
        "SELECT f.path, r.line, r.column_name, r.value, r.message FROM {} r \
         JOIN {} f ON f.id = r.file_id WHERE r.run_id = {run_id} ORDER BY r.id",
        table("import_rejects"),
        table("import_files")
    );
    match &settings.postgres {
        Some(_) => format!("psql {} -c {}", shell_word(&db), shell_word(&sql)),
        None => format!("sqlite3 -header {} {}", shell_word(&db), shell_word(&sql)),
    }
}

/// The standard stream, 1 (stdout) or 2 (stderr), that `path` is the same
/// file as, if either.
#[cfg(unix)]
fn std_stream_of(path: &std::path::Path) -> Option<i32> {
    use std::os::fd::AsFd;
    let target = std::fs::metadata(path).ok().and_then(|m| identity(&m))?;
    let (out, err) = (std::io::stdout(), std::io::stderr());
    [(1, out.as_fd()), (2, err.as_fd())]
        .into_iter()
        .find(|(_, fd)| {
            let file = fd.try_clone_to_owned().map(std::fs::File::from);
            file.ok()
                .and_then(|f| f.metadata().ok())
                .and_then(|m| identity(&m))
                == Some(target)
        })
        .map(|(n, _)| n)
}

#[cfg(not(unix))]
fn std_stream_of(_path: &std::path::Path) -> Option<i32> {
    None
}

/// A file grown past `ulimit -f` makes the kernel send SIGXFSZ, which ends
/// the process at once, without a word. Ignored, the write fails with
/// EFBIG instead, and the run stops like on a full disk: a message naming
/// the file, exit 1, nothing committed lost.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal to "ignore"; no handler
    // code runs, and nothing else in the process handles SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Set by the first Ctrl-C (or SIGTERM): readers stop at their next chunk,
/// the writer commits what is in flight, the summary is printed.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first interrupt stops the run gracefully; a second one exits at once,
/// which is still safe: nothing committed is lost and the next run resumes.
fn watch_interrupts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // While files are read, the progress display shows the first one.
        let _ = ctrlc::set_handler(|| {
            let first = !STOP.swap(true, Ordering::SeqCst);
            if first && !progress::shows_stopping() {
                eprintln!(
                    "dropship-import: stopping after what is in flight (Ctrl-C again to quit at once)"
                );
            } else if !first {
                progress::clear_screen();
                eprintln!(
                    "dropship-import: stopped at once; what was committed is kept: \
                     run the same command to resume"
                );
                std::process::exit(crate::report::Exit::Interrupted as i32);
            }
        });
    });
}

/// The output files (`--report`, `--rejects`) must not be, under any name
/// (symlinks, `..`, hard links), the database or a file beside it, an input,
/// or each other; nor may `--db` be an input. Such a command is a usage
/// error found before anything is created or opened for writing.
fn check_paths(settings: &Settings, files: &[inputs::Input]) -> Result<()> {
    let inputs: Vec<(String, Place)> = files
        .iter()
        .map(|f| {
            (
                format!("the input {}", f.path.display()),
                Place::of(&f.path),
            )
        })
        .collect();
    let Some(db_files) = store::files(settings) else {
        // The database is a server: only inputs and outputs can collide.
        return check_outputs(settings, inputs, Vec::new());
    };
    let db = db_files.database;
    let db_place = Place::of(db);
    if let Some((what, _)) = inputs.iter().find(|(_, p)| p.is(&db_place)) {
        return Err(UsageError(format!(
            "--db {} is {what}: the database cannot be one of the files to import",
            db.display()
        ))
        .into());
    }
    let mut taken = vec![(format!("the database {}", db.display()), db_place)];
    for name in db_files.beside {
        let what = format!("{}, a file of the database", name.display());
        taken.push((what, Place::of(&name)));
    }
    check_outputs(settings, inputs, taken)
}

/// The outputs must not be an input, a file already taken, or each other.
fn check_outputs(
    settings: &Settings,
    inputs: Vec<(String, Place)>,
    mut taken: Vec<(String, Place)>,
) -> Result<()> {
    taken.extend(inputs);
    let outputs = [
        ("--report", &settings.report),
        ("--rejects", &settings.rejects),
        ("--metrics-file", &settings.metrics_file),
    ];
    for (flag, path) in outputs {
        let Some(path) = path else { continue };
        let place = Place::of(path);
        if let Some((what, _)) = taken.iter().find(|(_, p)| p.is(&place)) {
            return Err(UsageError(format!(
                "{flag} {} is {what}: it would be overwritten; choose another path",
                path.display()
            ))
            .into());
        }
        taken.push((format!("the {flag} file {}", path.display()), place));
    }
    Ok(())
}

/// Where a path leads: its real absolute name, and the file it is (device
/// and inode) when it exists, so hard links are told apart from names.
#[derive(Debug)]
struct Place {
    path: std::path::PathBuf,
    file: Option<(u64, u64)>,
}

impl Place {
    fn of(path: &std::path::Path) -> Place {
        let path = resolve(path);
        Place {
            file: std::fs::metadata(&path).ok().and_then(|m| identity(&m)),
            path,
        }
    }

    fn is(&self, other: &Place) -> bool {
        self.path == other.path || (self.file.is_some() && self.file == other.file)
    }
}

/// Fails early when an output file cannot be written, before any work,
/// without creating or changing it.
fn check_writable(path: Option<&std::path::Path>) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let cannot = || format!("cannot write to {}", path.display());
    if path.is_dir() {
        return Err(anyhow::anyhow!("it is a folder")).with_context(cannot);
    }
    if path.exists() {
        // Opening without truncating changes nothing.
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(cannot)?;
        return Ok(());
    }
    let dir = match resolve(path).parent() {
        Some(dir) => dir.to_path_buf(),
        None => return Ok(()),
    };
    if !dir.is_dir() {
        return Err(anyhow::anyhow!(
            "the folder {} does not exist",
            dir.display()
        ))
        .with_context(cannot);
    }
    // A file created and removed at once shows the folder takes new files.
    tempfile::Builder::new()
        .prefix(".dropship-import-")
        .tempfile_in(&dir)
        .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))
        .with_context(cannot)?;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file beside it that is then
/// renamed over it, so a reader (or a killed run) never sees half a file.
/// A symlink at `path` is followed: its target is replaced.
fn write_replacing(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    // `/dev/stdout` when stdout goes to a log (`>> cron.log`) is that log:
    // replaced, its history would be gone. Written through the stream, it
    // gains the text at its end, as anything else written there.
    match std_stream_of(path) {
        Some(1) => return Ok(std::io::stdout().lock().write_all(bytes)?),
        Some(_) => return Ok(std::io::stderr().lock().write_all(bytes)?),
        None => {}
    }
    let target = resolve(path);
    // A device or a pipe (`/dev/stderr`) is written to, not replaced.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        std::fs::write(path, bytes)?;
        return Ok(());
    }
    let dir = target
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(".dropship-import-")
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A temporary file is private (0600); a report is not.
        let mode = std::fs::metadata(&target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
