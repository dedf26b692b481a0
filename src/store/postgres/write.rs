//! The PostgreSQL writer: the one thread that owns the connection.
//!
//! It answers the readers' messages as the SQLite writer does (proceed,
//! resume from a checkpoint, or skip already imported bytes), keeps the
//! same bookkeeping and gives orders the same owners (see `own`): each
//! chunk's rows go straight into the data tables with binary `COPY`, in
//! the transaction that records the file's checkpoint, and each row is
//! counted in the run that committed it.
//!
//! Other runs may write the same schema meanwhile (see `claim`): each
//! transaction is a turn, which begins by dropping the files other runs
//! took over; a file another live run holds is skipped; counts are added
//! as increments, since other runs add to this run's too.
//!
//! A dry run writes nothing to the database: it stages the order keys of
//! its files in temporary tables of its own session and counts, when a
//! file is complete, which of its orders are new and which another file
//! holds, reading the real tables only in single statements, so it holds
//! no lock a real run waits for.

mod own;

use super::binary::BinaryCopy;
use super::{Pg, claim, ident, schema};
use crate::outcome::{
    Begin, Checkpoint, FileEnd, FileOutcome, FileStatus, OrderCounts, REJECTS_SHOWN, Reject,
    RowCounts, RunRecord, Watch,
};
use crate::read::Msg;
use crate::rows::Chunk;
use crate::settings::OnDuplicate;
use crate::store::drive;
use crate::store::leftover::{self, Gone, LeftOver, covers};
use crate::store::sqlite::write::{WriteOptions, rejects_error};
use anyhow::{Context, Result};
use crossbeam_channel::Receiver;
use sqlx::Row as _;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

/// Where the writer's database lives.
#[derive(Debug, Clone)]
pub struct Target {
    pub connect: super::connect::Target,
    /// The database as shown to users (no password).
    pub shown: String,
    pub schema: String,
    /// How long a claim on a file lasts unrenewed (`[database] lease`).
    pub lease: Duration,
}

struct FileState {
    outcome: FileOutcome,
    id: Option<i64>,
    /// In a dry run resuming a file, the id the database knows it by.
    prior_id: Option<i64>,
    hash: Option<String>,
    /// The orders of other files this file met, each counted once.
    duplicate_orders: HashSet<String>,
    /// The checkpoint of its last chunk, while its counts and checkpoint are
    /// not in `import_files` yet (see `send`).
    unsaved: Option<Checkpoint>,
    /// What runs before this one committed of a resumed file.
    earlier: RowCounts,
    resumed_at: u64,
    real_path: Option<String>,
    /// The generation of this run's claim on the file (see `claim`).
    claim: i32,
    /// Another run took the file over: nothing more of it is written.
    lost: bool,
    /// This run's counts of the file as last written to the database:
    /// each commit adds what changed since, so that what other runs add
    /// to them meanwhile (orders they hand this file) stays.
    written: Counted,
}

/// A file's (or a run's) row and order counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counted {
    rows: RowCounts,
    orders: OrderCounts,
}

impl Counted {
    fn of(outcome: &FileOutcome) -> Counted {
        Counted {
            rows: outcome.rows,
            orders: outcome.orders,
        }
    }

    /// The counts as signed numbers, in the order read, imported, rejected,
    /// duplicate, filtered, failed, created, updated, duplicate orders.
    fn numbers(&self) -> [i64; 9] {
        let (r, o) = (&self.rows, &self.orders);
        [
            r.read,
            r.imported,
            r.rejected,
            r.duplicate,
            r.filtered,
            r.failed,
            o.created,
            o.updated,
            o.duplicate,
        ]
        .map(int)
    }

    /// `self - before`, count by count.
    fn since(&self, before: &Counted) -> [i64; 9] {
        let (now, then) = (self.numbers(), before.numbers());
        std::array::from_fn(|i| now[i] - then[i])
    }
}

impl FileState {
    fn all_rows(&self) -> RowCounts {
        let mut rows = self.earlier;
        rows.add(&self.outcome.rows);
        rows
    }
}

/// The PostgreSQL writer; see the module documentation.
pub struct Writer {
    pg: Pg,
    schema: String,
    dry_run: bool,
    /// Whether the schema holds the tool's tables (always, but for a dry
    /// run against a database no run wrote yet).
    tables: bool,
    /// Whether those tables are at this build's version (a dry run does
    /// not migrate; a real run's migration rolls back older partial files).
    current: bool,
    run_id: Option<i64>,
    files_total: usize,
    /// See the SQLite writer's `planned_bytes`.
    planned_bytes: u64,
    leftovers: Vec<LeftOver>,
    rolled_back: Vec<String>,
    opts: WriteOptions,
    files: Vec<FileState>,
    hashes_in_run: HashMap<String, usize>,
    rejects_csv: Option<csv::Writer<std::fs::File>>,
    in_transaction: bool,
    /// For a dry run, the run importing into the schema meanwhile.
    live_run: Option<i64>,
    /// A dry run's ids for its files (negative: never the real ones).
    next_dry_id: i64,
    copy: Vec<u8>,
    /// Boxed, the largest part of the writer, so that a `Store` of either
    /// kind is about the same size.
    streams: Box<own::Streams>,
    /// The line key is left out while this run loads an empty table (see
    /// `schema::defer_line_key`); it is built when the last chunk is in,
    /// or before an order's lines are looked for.
    line_key_deferred: bool,
    /// How long this run's claims last unrenewed.
    lease: Duration,
    /// Where the database is, to look again after the connection failed
    /// (boxed, as `streams` is).
    target: Box<super::connect::Target>,
    /// The run's totals as last written to `import_runs` (see
    /// `FileState::written`), and its files imported, skipped and failed.
    run_written: (Counted, [i64; 3]),
}

/// A dry run's staging table of its file `id` (negative).
fn staging(id: i64) -> String {
    format!("pg_temp.dry_staged_{}", -id)
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "unknown host".into())
}

impl Writer {
    /// Connects, claims and migrates the schema (a dry run only looks), and
    /// takes over what killed runs left.
    pub fn open(
        target: &Target,
        inputs: &[(PathBuf, Option<u64>)],
        opts: WriteOptions,
    ) -> Result<Writer> {
        // A run refused while this one holds the schema names it by its
        // session, before this run has a row of its own (see `claim`).
        let session = format!(
            "dropship-import pid {} on {}",
            std::process::id(),
            host_name()
        );
        let mut pg = Pg::connect(&target.connect.named(&session))?;
        let schema = target.schema.clone();
        let (tables, current) = if opts.dry_run {
            // What a real run would refuse, a dry run refuses too.
            match schema::inspect(&mut pg, &schema)? {
                schema::Found::Version(v) => (true, v == schema::VERSION),
                schema::Found::Nothing => (false, false),
            }
        } else {
            schema::migrate(&mut pg, &schema)?;
            pg.hold_claims(target.lease)?;
            (true, true)
        };
        // Every statement is planned for its arguments and the tables as
        // they are now: a plan cached while the tables were empty would
        // scan them whole once they are not.
        pg.batch(&format!(
            "SET search_path TO {}; SET plan_cache_mode = force_custom_plan",
            ident(&schema)
        ))?;
        let mut line_key_deferred = false;
        if opts.dry_run {
            // The orders its own files created, and the partial files of
            // killed runs that a real run would roll back.
            pg.batch(
                "CREATE TEMP TABLE dry_orders (kode_pesanan text PRIMARY KEY);
                 CREATE TEMP TABLE dry_gone (id bigint PRIMARY KEY)",
            )?;
        } else {
            claim::take_turn(&mut pg, &schema, target.lease)?;
            claim::bury_dead_runs(&mut pg)?;
            line_key_deferred = match opts.on_duplicate {
                OnDuplicate::Skip => {
                    let alone = !claim::others_alive(&mut pg, None)?;
                    schema::defer_line_key(&mut pg, alone)?
                }
                // Replacing an order finds its lines by the key.
                OnDuplicate::Update => {
                    claim::unbounded(&mut pg, schema::build_line_key)?;
                    false
                }
            };
            pg.batch("COMMIT")?;
        }
        let rejects_csv = match &opts.rejects_csv {
            Some(path) => {
                let path_err = |e| rejects_error(&opts.rejects_csv, e);
                let mut w = csv::Writer::from_path(path).map_err(path_err)?;
                w.write_record([
                    "file", "line", "column", "value", "reason", "message", "raw",
                ])
                .map_err(path_err)?;
                w.flush().map_err(|e| rejects_error(&opts.rejects_csv, e))?;
                Some(w)
            }
            None => None,
        };
        let mut writer = Writer {
            pg,
            schema,
            dry_run: opts.dry_run,
            tables,
            current,
            run_id: None,
            files_total: inputs.len(),
            planned_bytes: inputs.iter().filter_map(|(_, size)| *size).sum(),
            leftovers: Vec::new(),
            rolled_back: Vec::new(),
            opts,
            files: inputs
                .iter()
                .map(|(path, size)| FileState {
                    outcome: FileOutcome {
                        path: path.clone(),
                        size: *size,
                        status: FileStatus::InProgress,
                        rows: RowCounts::default(),
                        orders: OrderCounts::default(),
                        error: None,
                        rejects: Vec::new(),
                        elapsed: Duration::ZERO,
                        bytes_read: 0,
                        resumed_from_line: None,
                        resume_line: None,
                    },
                    id: None,
                    prior_id: None,
                    hash: None,
                    duplicate_orders: HashSet::new(),
                    unsaved: None,
                    earlier: RowCounts::default(),
                    resumed_at: 0,
                    real_path: std::fs::canonicalize(path)
                        .ok()
                        .map(|p| p.to_string_lossy().into_owned()),
                    claim: 1,
                    lost: false,
                    written: Counted::default(),
                })
                .collect(),
            hashes_in_run: HashMap::new(),
            rejects_csv,
            in_transaction: false,
            live_run: None,
            next_dry_id: -1,
            copy: Vec::new(),
            streams: Box::default(),
            line_key_deferred,
            lease: target.lease,
            target: Box::new(target.connect.named(&session)),
            run_written: Default::default(),
        };
        // (A real run's migration has rolled back what killed runs of an
        // older version left; a dry run against such tables leaves those
        // files out, as that migration would.)
        if writer.tables && writer.current {
            writer.leftovers = writer.load_leftovers()?;
        }
        Ok(writer)
    }

    pub fn run_id(&self) -> Option<i64> {
        self.run_id.filter(|_| !self.dry_run)
    }

    pub fn outcomes(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().map(|f| &f.outcome)
    }

    /// See the SQLite writer's `partial_files`.
    pub fn partial_files(&self) -> Vec<String> {
        leftover::describe_all(&self.rolled_back, &self.leftovers, self.live_run)
    }

    fn run_row(&mut self) -> Result<i64> {
        if let Some(id) = self.run_id {
            return Ok(id);
        }
        let id = if self.dry_run {
            0
        } else {
            self.pg
                .one(
                    sqlx::query(
                        "INSERT INTO import_runs (started_at, state, pid, host, version, options,
                         files_total, lease_until, backend_pid, backend_start, planned_files,
                         planned_bytes, skipped_bytes)
                         SELECT clock_timestamp(), 'running', $1, $2, $3, $4, $5,
                                clock_timestamp() + $6::float8 * interval '1 ms', pid,
                                backend_start, $5, $7, 0
                         FROM pg_stat_activity WHERE pid = pg_backend_pid()
                         RETURNING id",
                    )
                    .bind(std::process::id() as i32)
                    .bind(host_name())
                    .bind(env!("CARGO_PKG_VERSION"))
                    .bind(&self.opts.options_json)
                    .bind(self.files_total as i64)
                    .bind(self.lease.as_millis() as f64)
                    .bind(int(self.planned_bytes)),
                )?
                .try_get(0)?
        };
        self.run_id = Some(id);
        Ok(id)
    }

    /// Handles messages until every sender is gone, telling `watch` of each
    /// file whose end is committed.
    pub fn run(&mut self, rx: &Receiver<Msg>, watch: &dyn Watch) -> Result<()> {
        if let Err(e) = drive::run(self, rx, watch) {
            let e = e.context(format!("cannot write {}", self.pg.shown));
            return Err(match self.lost_claims() {
                Some(lost) => anyhow::anyhow!("{e:#}; {lost}"),
                None => e,
            });
        }
        // Interrupted runs too: only a run that dies leaves the key out.
        if self.line_key_deferred && !self.dry_run {
            watch.finishing("building the index");
            self.take_turn()?;
            self.need_line_key()?;
            self.commit()?;
        }
        Ok(())
    }

    /// Builds the line key if this run left it out (in a turn).
    fn need_line_key(&mut self) -> Result<()> {
        if self.line_key_deferred {
            claim::unbounded(&mut self.pg, schema::build_line_key)
                .context("cannot index the order lines")?;
            self.line_key_deferred = false;
        }
        Ok(())
    }

    /// After the writer failed (its connection lost, say): the files other
    /// runs took over from this one, as seen through a new connection if
    /// one can be had within a few seconds, which also records the run as
    /// failed, so that its files are free for other runs at once.
    fn lost_claims(&mut self) -> Option<String> {
        let run = self.run_id.filter(|_| !self.dry_run)?;
        let held: Vec<(i64, i32)> = (self.files.iter())
            .filter(|f| f.outcome.status == FileStatus::InProgress && !f.lost)
            .filter_map(|f| f.id.map(|id| (id, f.claim)))
            .collect();
        let target = self.target.within(Duration::from_secs(5));
        let lost = (|| -> Result<Vec<claim::Lost>> {
            let mut pg = Pg::connect(&target)?;
            pg.batch(&format!("SET search_path TO {}", ident(&self.schema)))?;
            let lost = claim::fence(&mut pg, run, &held)?;
            pg.exec(
                sqlx::query(
                    "UPDATE import_runs SET state = 'failed', finished_at = clock_timestamp()
                     WHERE id = $1 AND state IN ('running', 'interrupted')",
                )
                .bind(run),
            )?;
            Ok(lost)
        })()
        .ok()?;
        let named: Vec<String> = lost
            .iter()
            .filter(|lost| lost.by.is_some())
            .filter_map(|lost| {
                let f = self.files.iter().find(|f| f.id == Some(lost.id))?;
                let path = f.outcome.path.to_string_lossy();
                Some(format!(
                    "{}: {}",
                    crate::escape::escaped(&path),
                    lost.took_over()
                ))
            })
            .collect();
        (!named.is_empty()).then(|| {
            format!(
                "this run lost its claims meanwhile (paused or cut off past its lease of {}): {}",
                humantime::format_duration(self.lease),
                named.join("; ")
            )
        })
    }

    /// Begins a transaction in this run's turn to write (see `claim`), and
    /// drops the files other runs took over since the last one.
    fn take_turn(&mut self) -> Result<()> {
        claim::take_turn(&mut self.pg, &self.schema, self.lease)?;
        self.in_transaction = true;
        let Some(run) = self.run_id else {
            return Ok(());
        };
        let held: Vec<(i64, i32)> = (self.files.iter())
            .filter(|f| f.outcome.status == FileStatus::InProgress && !f.lost)
            .filter_map(|f| f.id.map(|id| (id, f.claim)))
            .collect();
        for lost in claim::fence(&mut self.pg, run, &held)? {
            let Some(state) = self.files.iter_mut().find(|f| f.id == Some(lost.id)) else {
                continue;
            };
            // What this run committed of it stays counted in this run.
            state.lost = true;
            state.unsaved = None;
            state.outcome.status = FileStatus::Skipped;
            state.outcome.error = Some(format!(
                "lost its claim: {} after this run's lease of {} lapsed (it was paused or cut \
                 off); this run wrote nothing of it since",
                lost.took_over(),
                humantime::format_duration(self.lease)
            ));
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_transaction {
            self.send()?;
            self.record_totals()?;
            if let (Some(run), false) = (self.run_id, self.dry_run) {
                claim::renew(&mut self.pg, run, self.lease)?;
            }
            self.pg.batch("COMMIT").context("cannot commit")?;
            self.in_transaction = false;
            if let Some(w) = &mut self.rejects_csv {
                w.flush()
                    .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
            }
        }
        Ok(())
    }

    /// Adds to the run's totals in `import_runs` what this commit holds
    /// since the last (each row is counted in the run that committed it).
    /// Other runs add to them too, when they hand this run's files orders.
    fn record_totals(&mut self) -> Result<()> {
        let Some(run) = self.run_id.filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let (mut now, mut files, mut skipped_bytes) = (Counted::default(), [0i64; 3], 0u64);
        for f in &self.files {
            now.rows.add(&f.outcome.rows);
            now.orders.add(&f.outcome.orders);
            match f.outcome.status {
                FileStatus::Imported => files[0] += 1,
                FileStatus::Skipped => {
                    files[1] += 1;
                    skipped_bytes += f.outcome.size.unwrap_or(0);
                }
                FileStatus::Failed => files[2] += 1,
                FileStatus::InProgress | FileStatus::Interrupted => {}
            }
        }
        if (now, files) == self.run_written {
            return Ok(());
        }
        let d = now.since(&self.run_written.0);
        let f: [i64; 3] = std::array::from_fn(|i| files[i] - self.run_written.1[i]);
        let mut add = sqlx::query(
            "UPDATE import_runs SET files_imported = files_imported + $2,
                 files_skipped = files_skipped + $3, files_failed = files_failed + $4,
                 rows_read = rows_read + $5, rows_imported = rows_imported + $6,
                 rows_rejected = rows_rejected + $7, rows_duplicate = rows_duplicate + $8,
                 rows_filtered = rows_filtered + $9, rows_failed = rows_failed + $10,
                 orders_created = orders_created + $11, orders_updated = orders_updated + $12,
                 orders_duplicate = orders_duplicate + $13, skipped_bytes = $14
                 WHERE id = $1",
        )
        .bind(run);
        for n in f.into_iter().chain(d) {
            add = add.bind(n);
        }
        // Only this run skips its files: the sum is set, not added.
        self.pg.exec(add.bind(int(skipped_bytes)))?;
        self.run_written = (now, files);
        Ok(())
    }

    fn handle(&mut self, msg: Msg) -> Result<()> {
        // A file another run took over ends as it stands (see `take_turn`).
        if let Msg::End { file, elapsed, .. } = &msg
            && self.files[*file].lost
        {
            self.files[*file].outcome.elapsed = *elapsed;
            return Ok(());
        }
        // A file's end reads and changes what its chunks wrote, but for a
        // file imported under `skip`: its rows, and those that wait on it,
        // may go with later ones (see `write_rows` and `send_rows`).
        if let Msg::End { file, end, .. } = &msg {
            let held = match (end, self.files[*file].id) {
                (FileEnd::Complete, Some(_)) => self.opts.on_duplicate == OnDuplicate::Update,
                _ => true,
            };
            if held {
                self.send()?;
            }
        }
        match msg {
            Msg::Begin {
                file,
                size,
                hash,
                reply,
            } => {
                let answer = self.begin(file, size, hash)?;
                let _ = reply.send(answer);
                Ok(())
            }
            Msg::Chunk(chunk) => self.write_chunks(vec![chunk]),
            Msg::End {
                file,
                end,
                elapsed,
                unsent,
            } => {
                self.files[file].outcome.rows.read += unsent;
                self.end(file, end, elapsed)
            }
        }
    }

    fn begin(&mut self, file: usize, size: u64, hash: String) -> Result<Begin> {
        let state = &mut self.files[file];
        state.outcome.size = Some(size);
        state.hash = Some(hash.clone());
        if !self.dry_run {
            // What other runs left since this one began, or hold now.
            self.leftovers = self.load_leftovers()?;
        }
        self.supersede(file, &hash)?;
        let earlier = self.hashes_in_run.contains_key(&hash) || self.imported_before(&hash)?;
        if earlier && !self.opts.force {
            self.files[file].outcome.status = FileStatus::Skipped;
            return Ok(Begin::Skip);
        }
        if !self.dry_run {
            let me = self.run_id.unwrap_or(0);
            if let Some(holder) = claim::holder(&mut self.pg, &hash, me)? {
                let state = &mut self.files[file];
                state.outcome.status = FileStatus::Skipped;
                state.outcome.error = Some(format!("claimed by {holder}"));
                return Ok(Begin::Skip);
            }
        }
        self.hashes_in_run.insert(hash.clone(), file);
        if let Some(left) = self.interrupted_file(&hash)? {
            return self.resume(file, &left);
        }
        let id = self.insert_file(file, FileStatus::InProgress, None)?;
        if self.dry_run {
            self.create_staging(id)?;
        }
        let state = &mut self.files[file];
        state.id = Some(id);
        Ok(Begin::Proceed {
            resume: None,
            rejected: 0,
        })
    }

    /// A dry run's table for the order keys of its file `id`.
    fn create_staging(&mut self, id: i64) -> Result<()> {
        self.pg.batch(&format!(
            "CREATE TEMP TABLE {} (run_id bigint NOT NULL, source_line bigint NOT NULL,
             kode_pesanan text NOT NULL)",
            staging(id)
        ))
    }

    /// See the SQLite writer's `supersede`.
    fn supersede(&mut self, file: usize, hash: &str) -> Result<()> {
        let Some(real) = self.files[file].real_path.clone() else {
            return Ok(());
        };
        let gone = leftover::superseded(&mut self.leftovers, &real, hash);
        for left in gone {
            self.roll_back(&left, "superseded")?;
        }
        Ok(())
    }

    /// See the SQLite writer's `interrupted_file`.
    fn interrupted_file(&mut self, hash: &str) -> Result<Option<LeftOver>> {
        let (newest, gone) = leftover::same_bytes(
            &mut self.leftovers,
            hash,
            self.opts.force,
            self.opts.channel.as_deref(),
        );
        for (left, why) in gone {
            let run = match (why, self.dry_run) {
                (Gone::ReadAgain, false) => Some(self.run_row()?),
                _ => None,
            };
            self.roll_back(&left, &why.error(run))?;
        }
        Ok(newest)
    }

    /// Takes a killed run's partial file out of the data tables and records
    /// it as failed with `error`. A dry run only forgets its orders, as the
    /// real run would find them gone.
    fn roll_back(&mut self, left: &LeftOver, error: &str) -> Result<()> {
        self.rolled_back.push(left.rolled_back(error));
        if self.dry_run {
            self.pg.exec(
                sqlx::query("INSERT INTO dry_gone VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(left.id),
            )?;
            return Ok(());
        }
        self.run_row()?;
        self.send()?;
        self.remove_file_rows(left.id)?;
        self.pg.exec(
            sqlx::query(
                "UPDATE import_files SET state = 'failed', error = $2,
                 finished_at = clock_timestamp(), rows_imported = 0, rows_rejected = 0,
                 rows_duplicate = 0, rows_filtered = 0, rows_failed = rows_read WHERE id = $1",
            )
            .bind(left.id)
            .bind(error),
        )?;
        Ok(())
    }

    /// Takes over a file a killed run left part-way: its committed rows stay
    /// its own, and reading goes on from its checkpoint.
    fn resume(&mut self, file: usize, left: &LeftOver) -> Result<Begin> {
        let (id, earlier) = if self.dry_run {
            let id = self.next_dry_id;
            self.next_dry_id -= 1;
            self.create_staging(id)?;
            self.files[file].prior_id = Some(left.id);
            (id, left.rows)
        } else {
            // Its counts as they are now: since the run began, a file it
            // waited on may have handed it orders (see `took_over`).
            let row = self.pg.one(
                sqlx::query(
                    "SELECT rows_read, rows_imported, rows_rejected, rows_duplicate,
                     rows_filtered, rows_failed FROM import_files WHERE id = $1",
                )
                .bind(left.id),
            )?;
            let earlier = counts(&row, 0)?;
            let run = self.run_row()?;
            let state = &self.files[file];
            // Taken over: a new generation of the claim, which the run that
            // held it, should it come back, finds changed (see `claim`).
            let generation: i32 = self
                .pg
                .one(
                    sqlx::query(
                        "UPDATE import_files SET run_id = $2, path = $3, real_path = $4,
                         claim = claim + 1 WHERE id = $1 RETURNING claim",
                    )
                    .bind(left.id)
                    .bind(run)
                    .bind(state.outcome.path.to_string_lossy().into_owned())
                    .bind(state.real_path.clone()),
                )?
                .try_get(0)?;
            self.files[file].claim = generation;
            (left.id, earlier)
        };
        let state = &mut self.files[file];
        state.id = Some(id);
        state.earlier = earlier;
        state.resumed_at = left.checkpoint.bytes;
        state.outcome.resumed_from_line = Some(left.checkpoint.line);
        Ok(Begin::Proceed {
            resume: Some(left.checkpoint),
            rejected: earlier.rejected,
        })
    }

    /// True when these bytes were imported completely for every row this
    /// run keeps (see `covers`).
    fn imported_before(&mut self, hash: &str) -> Result<bool> {
        if !self.tables {
            return Ok(false);
        }
        let rows = self.pg.all(
            sqlx::query(
                "SELECT channel FROM import_files WHERE content_hash = $1 AND state = 'imported'",
            )
            .bind(hash),
        )?;
        for row in rows {
            let earlier: Option<String> = row.try_get(0)?;
            if covers(earlier.as_deref(), self.opts.channel.as_deref()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn insert_file(&mut self, file: usize, status: FileStatus, error: Option<&str>) -> Result<i64> {
        if self.dry_run {
            let id = self.next_dry_id;
            self.next_dry_id -= 1;
            return Ok(id);
        }
        let run = self.run_row()?;
        let state = &self.files[file];
        let id = self
            .pg
            .one(
                sqlx::query(
                    "INSERT INTO import_files (run_id, path, size_bytes, content_hash, state,
                     error, started_at, channel, real_path)
                     VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7, $8) RETURNING id",
                )
                .bind(run)
                .bind(state.outcome.path.to_string_lossy().into_owned())
                .bind(state.outcome.size.map(int))
                .bind(state.hash.clone())
                .bind(status.as_str())
                .bind(error)
                .bind(self.opts.channel.clone())
                .bind(state.real_path.clone()),
            )?
            .try_get(0)?;
        Ok(id)
    }

    /// Writes chunks that arrived together, asking once who holds their
    /// orders. The rows held from earlier chunks are sent once that is
    /// asked, so that the server copies them while these are encoded
    /// (a question waits for the copy before it); and whenever the next
    /// chunk would overflow them.
    fn write_chunks(&mut self, chunks: Vec<Chunk>) -> Result<()> {
        let holders = match self.dry_run {
            true => own::Holders::default(),
            false => self.holders(&chunks)?,
        };
        if !self.dry_run && self.streams.worth_sending() {
            self.send_rows(false)?;
        }
        for chunk in &chunks {
            if self.streams.would_overflow(chunk.rows.len()) {
                self.send_rows(false)?;
            }
            self.write_chunk(chunk, &holders)?;
        }
        Ok(())
    }

    fn write_chunk(&mut self, chunk: &Chunk, holders: &own::Holders) -> Result<()> {
        let file = chunk.file;
        let (Some(file_id), false) = (self.files[file].id, self.files[file].lost) else {
            return Ok(());
        };
        let run = match self.dry_run {
            true => 0,
            false => self.run_row()?,
        };
        if !chunk.rejects.is_empty() {
            self.write_rejects(file, file_id, run, &chunk.rejects)?;
        }
        let kept = match (chunk.rows.is_empty(), self.dry_run) {
            (true, _) => RowCounts::default(),
            // For now: the count when the file is complete moves the rows
            // of orders that another file holds to `duplicate`.
            (false, true) => {
                self.stage(chunk, file_id)?;
                RowCounts {
                    imported: chunk.rows.len() as u64,
                    ..RowCounts::default()
                }
            }
            (false, false) => self.write_rows(file, file_id, run, chunk, holders)?,
        };
        let state = &mut self.files[file];
        state.outcome.rows.add(&RowCounts {
            read: chunk.read,
            rejected: chunk.rejects.len() as u64,
            filtered: chunk.filtered,
            ..kept
        });
        let cp = chunk.checkpoint;
        state.outcome.bytes_read = cp.bytes.saturating_sub(state.resumed_at);
        state.outcome.resume_line = Some(cp.line);
        if self.dry_run {
            return Ok(());
        }
        state.unsaved = Some(cp);
        Ok(())
    }

    /// Sends what chunks left unsent: their rows, and their files' counts
    /// and checkpoints, in the transaction that commits them. A commit, a
    /// file's end and a rollback of a killed run's file go after it, so
    /// that they see the tables as the chunks left them; a file's begin
    /// reads nothing the chunks change but for that rollback.
    fn send(&mut self) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.send_rows(true)?;
        // Every file's counts and checkpoint in two statements, one row of
        // each array per file: what its counts gained since they were last
        // written, added to the entry's (all runs') and to this run's.
        let mut files: [Vec<i64>; 14] = Default::default();
        for state in &mut self.files {
            let Some(id) = state.id else { continue };
            let now = Counted::of(&state.outcome);
            let cp = state.unsaved.take();
            // A failed file's counts are set when it ends (see `end`).
            let failed = state.outcome.status == FileStatus::Failed;
            if state.lost || failed || (cp.is_none() && now == state.written) {
                continue;
            }
            let d = now.since(&state.written);
            state.written = now;
            let cp = cp.map(|cp| [int(cp.bytes), int(cp.rows), int(cp.line)]);
            let from = [
                int(state.resumed_at),
                state.outcome.resumed_from_line.map_or(-1, int),
            ];
            let row = [id, d[0], d[1], d[2], d[3], d[4], d[6], d[7], d[8]]
                .into_iter()
                .chain(cp.unwrap_or([-1; 3]))
                .chain(from);
            for (column, n) in files.iter_mut().zip(row) {
                column.push(n);
            }
        }
        if files[0].is_empty() {
            return Ok(());
        }
        let mut update = sqlx::query(
            "UPDATE import_files AS f SET rows_read = f.rows_read + u.read,
             rows_imported = f.rows_imported + u.imported,
             rows_rejected = f.rows_rejected + u.rejected,
             rows_duplicate = f.rows_duplicate + u.duplicate,
             rows_filtered = f.rows_filtered + u.filtered,
             bytes_committed = CASE WHEN u.bytes < 0 THEN f.bytes_committed ELSE u.bytes END,
             rows_committed = CASE WHEN u.bytes < 0 THEN f.rows_committed ELSE u.rows END,
             line_committed = CASE WHEN u.bytes < 0 THEN f.line_committed ELSE u.line END
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                         $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                         $9::bigint[])
                  AS u (id, read, imported, rejected, duplicate, filtered, bytes, rows, line)
             WHERE f.id = u.id",
        );
        for column in [0, 1, 2, 3, 4, 5, 9, 10, 11] {
            update = update.bind(&files[column]);
        }
        self.pg.exec(update)?;
        // What this run committed of each file, where it began and the
        // checkpoint it reached (see the SQLite writer's `record_file_run`).
        let mut insert = sqlx::query(
            "INSERT INTO import_file_runs AS r (file_id, run_id, rows_read, rows_imported,
             rows_rejected, rows_duplicate, rows_filtered, orders_created, orders_updated,
             orders_duplicate, bytes_committed, rows_committed, line_committed, bytes_from,
             line_from)
             SELECT u.id, $15, u.read, u.imported, u.rejected, u.duplicate, u.filtered, u.created,
                    u.updated, u.dup_orders, nullif(u.bytes, -1), nullif(u.rows, -1),
                    nullif(u.line, -1), u.bytes_from, nullif(u.line_from, -1)
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                         $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                         $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
                         $13::bigint[], $14::bigint[])
                  AS u (id, read, imported, rejected, duplicate, filtered, created, updated,
                        dup_orders, bytes, rows, line, bytes_from, line_from)
             ON CONFLICT (file_id, run_id) DO UPDATE SET
             rows_read = coalesce(r.rows_read, 0) + excluded.rows_read,
             bytes_committed = coalesce(excluded.bytes_committed, r.bytes_committed),
             rows_committed = coalesce(excluded.rows_committed, r.rows_committed),
             line_committed = coalesce(excluded.line_committed, r.line_committed),
             rows_imported = r.rows_imported + excluded.rows_imported,
             rows_rejected = r.rows_rejected + excluded.rows_rejected,
             rows_duplicate = r.rows_duplicate + excluded.rows_duplicate,
             rows_filtered = r.rows_filtered + excluded.rows_filtered,
             orders_created = r.orders_created + excluded.orders_created,
             orders_updated = r.orders_updated + excluded.orders_updated,
             orders_duplicate = r.orders_duplicate + excluded.orders_duplicate",
        );
        for column in &files {
            insert = insert.bind(column);
        }
        self.pg.exec(insert.bind(self.run_id.unwrap_or(0)))?;
        Ok(())
    }

    /// Copies the order keys of a dry run's chunk into its staging table.
    fn stage(&mut self, chunk: &Chunk, file_id: i64) -> Result<()> {
        let mut out = std::mem::take(&mut self.copy);
        let mut copy = BinaryCopy::new(&mut out);
        let encoded = chunk.rows.iter().try_for_each(|row| {
            copy.row(3);
            copy.int8(0);
            copy.int8(int(row.line));
            copy.text(chunk.key(row))
        });
        copy.finish();
        let sent = encoded.and_then(|()| {
            self.pg.copy_in(
                &format!(
                    "COPY {} (run_id, source_line, kode_pesanan) FROM STDIN (FORMAT binary)",
                    staging(file_id)
                ),
                &out,
            )
        });
        self.copy = out;
        sent?;
        Ok(())
    }

    fn write_rejects(
        &mut self,
        file: usize,
        file_id: i64,
        run: i64,
        rejects: &[Reject],
    ) -> Result<()> {
        if !self.dry_run {
            self.hold_rejects(file_id, run, rejects);
        }
        let state = &mut self.files[file];
        for r in rejects {
            if let Some(w) = &mut self.rejects_csv {
                w.write_record([
                    state.outcome.path.to_string_lossy().as_ref(),
                    &r.line.to_string(),
                    r.column.as_deref().unwrap_or(""),
                    r.value.as_deref().unwrap_or(""),
                    r.reason.code(),
                    &r.message,
                    &r.raw,
                ])
                .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
            }
            if state.outcome.rejects.len() < REJECTS_SHOWN {
                state.outcome.rejects.push(r.clone());
            }
        }
        Ok(())
    }

    fn end(&mut self, file: usize, end: FileEnd, elapsed: Duration) -> Result<()> {
        self.files[file].outcome.elapsed = elapsed;
        let id = self.files[file].id;
        match end {
            FileEnd::Complete => {
                let id = id.context("a file ended that never began")?;
                self.files[file].outcome.status = FileStatus::Imported;
                if self.dry_run {
                    return self.count_staged(file, id);
                }
                let last = self.files[file].unsaved.take();
                self.finish_file(file, id, last, true)?;
                // Files that met its orders while it was read write their
                // versions over it in turn (see `hand_over`).
                if self.opts.on_duplicate == OnDuplicate::Update {
                    self.hand_over_all(id)?;
                }
            }
            FileEnd::Skipped => self.files[file].outcome.status = FileStatus::Skipped,
            FileEnd::Failed(error) => {
                let id = match id {
                    Some(id) if self.dry_run => {
                        self.pg.batch(&format!("DROP TABLE {}", staging(id)))?;
                        id
                    }
                    Some(id) => {
                        self.take_back_handed(file, id)?;
                        self.remove_file_rows(id)?;
                        id
                    }
                    None => self.insert_file(file, FileStatus::Failed, Some(&error))?,
                };
                let state = &mut self.files[file];
                if let Some(hash) = &state.hash {
                    self.hashes_in_run.remove(hash);
                }
                state.id = Some(id);
                state.outcome.status = FileStatus::Failed;
                state.outcome.error = Some(error);
                for rows in [&mut state.outcome.rows, &mut state.earlier] {
                    *rows = RowCounts {
                        read: rows.read,
                        failed: rows.read,
                        ..RowCounts::default()
                    };
                }
                state.outcome.orders = OrderCounts::default();
                self.finish_file(file, id, None, false)?;
            }
            FileEnd::Interrupted => self.files[file].outcome.status = FileStatus::Interrupted,
        }
        Ok(())
    }

    /// Before file `id` of this run fails: what other runs added to this
    /// run's counts of it (orders their failed files handed it, rows that
    /// moved from duplicate to imported) is in this run's totals but not in
    /// its own tally, so it leaves them with the file too. Its counts were
    /// just written (see `handle`): any difference is theirs.
    fn take_back_handed(&mut self, file: usize, id: i64) -> Result<()> {
        let Some(run) = self.run_id else {
            return Ok(());
        };
        let row = self.pg.optional(
            sqlx::query(
                "SELECT rows_imported, rows_rejected, rows_duplicate, rows_filtered,
                        orders_created, orders_updated, orders_duplicate
                 FROM import_file_runs WHERE file_id = $1 AND run_id = $2",
            )
            .bind(id)
            .bind(run),
        )?;
        let Some(row) = row else {
            return Ok(());
        };
        let stored: Vec<i64> = (0..7).map(|i| row.try_get(i)).collect::<Result<_, _>>()?;
        let mine = self.files[file].written.numbers();
        // import_file_runs has no read or failed count.
        let mut handed = [0i64; 9];
        for (k, n) in [1, 2, 3, 4, 6, 7, 8].into_iter().zip(&stored) {
            handed[k] = n - mine[k];
        }
        if handed == [0; 9] {
            return Ok(());
        }
        // Counted as if this run had written it, its removal leaves with the
        // rest of the file's counts in the next `record_totals`.
        let base = self.run_written.0.numbers();
        let sum: [i64; 9] = std::array::from_fn(|k| (base[k] + handed[k]).max(0));
        let n = |k: usize| sum[k] as u64;
        self.run_written.0 = Counted {
            rows: RowCounts {
                read: n(0),
                imported: n(1),
                rejected: n(2),
                duplicate: n(3),
                filtered: n(4),
                failed: n(5),
            },
            orders: OrderCounts {
                created: n(6),
                updated: n(7),
                duplicate: n(8),
            },
        };
        Ok(())
    }

    /// Counts what a real run would do with the orders of a dry run's
    /// complete file: new (created from their first row) or held, by
    /// another file in the real tables or by one of its own complete files
    /// (duplicates under `skip`, updated under `update`).
    fn count_staged(&mut self, file: usize, id: i64) -> Result<()> {
        let table = staging(id);
        let prior = self.files[file].prior_id.unwrap_or(0);
        // An order is held in the real tables unless the real run would
        // roll its file back first; then the version that file replaced,
        // if any, is back, or else the first other file waiting on it takes
        // it over.
        let real = match (self.tables, self.current) {
            (false, _) => "false",
            (true, false) => {
                "EXISTS (SELECT 1 FROM dropship_purchases p WHERE p.kode_pesanan = f.kode_pesanan)"
            }
            (true, true) => {
                "EXISTS (SELECT 1 FROM dropship_purchases p WHERE p.kode_pesanan = f.kode_pesanan
                         AND p.import_file_id <> $1
                         AND (p.import_file_id NOT IN (SELECT id FROM dry_gone)
                              OR EXISTS (SELECT 1 FROM import_replaced_orders r
                                         WHERE r.kode_pesanan = p.kode_pesanan
                                         AND r.by_file_id = p.import_file_id
                                         AND r.import_file_id NOT IN (SELECT id FROM dry_gone))
                              OR EXISTS (SELECT 1 FROM import_waiting_rows w
                                         WHERE w.kode_pesanan = p.kode_pesanan
                                         AND w.owner_file_id = p.import_file_id
                                         AND w.file_id <> $1
                                         AND w.file_id NOT IN (SELECT id FROM dry_gone))))"
            }
        };
        // The orders a resumed file created before the kill are its own.
        let own = match (self.tables, self.current) {
            (true, true) => {
                "EXISTS (SELECT 1 FROM dropship_purchases p WHERE p.kode_pesanan = f.kode_pesanan
                         AND p.import_file_id = $1)"
            }
            _ => "false",
        };
        let row = self.pg.one(
            sqlx::query(&format!(
                "WITH keyed AS MATERIALIZED (
                     SELECT f.kode_pesanan, {own} AS own,
                            {real} OR EXISTS (SELECT 1 FROM dry_orders d
                                              WHERE d.kode_pesanan = f.kode_pesanan) AS held
                     FROM (SELECT DISTINCT kode_pesanan FROM {table}) f)
                 SELECT (SELECT count(*) FROM keyed WHERE NOT held AND NOT own),
                        (SELECT count(*) FROM keyed WHERE held AND NOT own),
                        (SELECT count(*) FROM {table} t JOIN keyed k
                         ON k.kode_pesanan = t.kode_pesanan WHERE k.held AND NOT k.own)"
            ))
            .bind(prior),
        )?;
        let (created, held, held_rows): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (created, held, held_rows) = (created as u64, held as u64, held_rows as u64);
        let o = &mut self.files[file].outcome;
        o.orders.created += created;
        match self.opts.on_duplicate {
            OnDuplicate::Update => o.orders.updated += held,
            OnDuplicate::Skip => {
                o.orders.duplicate += held;
                o.rows.imported -= held_rows.min(o.rows.imported);
                o.rows.duplicate += held_rows;
            }
        }
        self.pg.batch(&format!(
            "INSERT INTO dry_orders SELECT DISTINCT kode_pesanan FROM {table}
             ON CONFLICT DO NOTHING; DROP TABLE {table}"
        ))
    }

    /// Records a file's end, with the checkpoint of its last chunk when it
    /// is not in `import_files` yet. A file `imported` for good is never
    /// rolled back: the same statement forgets the versions of orders it
    /// replaced and, under `skip`, the rows that waited on it, which stay
    /// duplicates. Its counts per run stay, for `status`.
    fn finish_file(
        &mut self,
        file: usize,
        id: i64,
        last: Option<Checkpoint>,
        imported: bool,
    ) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let state = &mut self.files[file];
        // An imported file's counts gain what changed since they were last
        // written (other runs may have added to them meanwhile); a failed
        // or skipped file's are set.
        let now = Counted::of(&state.outcome);
        let n = match imported {
            true => now.since(&state.written),
            false => Counted {
                rows: state.all_rows(),
                orders: OrderCounts::default(),
            }
            .numbers(),
        };
        state.written = now;
        let o = &state.outcome;
        let forget = match imported {
            true => {
                "WITH replaced_orders AS (DELETE FROM import_replaced_orders WHERE by_file_id = $1),
                      replaced_lines AS (DELETE FROM import_replaced_lines WHERE by_file_id = $1),
                      waiting AS (DELETE FROM import_waiting_rows
                                  WHERE owner_file_id = $1 AND $13)"
            }
            false => "",
        };
        let counts = match imported {
            true => {
                "rows_read = rows_read + $3, rows_imported = rows_imported + $4,
                 rows_rejected = rows_rejected + $5, rows_duplicate = rows_duplicate + $6,
                 rows_filtered = rows_filtered + $7, rows_failed = rows_failed + $8"
            }
            false => {
                "rows_read = $3, rows_imported = $4, rows_rejected = $5, rows_duplicate = $6,
                 rows_filtered = $7, rows_failed = $8"
            }
        };
        let update = format!(
            "{forget}
             UPDATE import_files SET state = $2, {counts},
             error = $9, finished_at = clock_timestamp(),
             bytes_committed = coalesce($10, bytes_committed),
             rows_committed = coalesce($11, rows_committed),
             line_committed = coalesce($12, line_committed) WHERE id = $1"
        );
        let mut update = sqlx::query(&update).bind(id).bind(o.status.as_str());
        for n in &n[..6] {
            update = update.bind(*n);
        }
        let mut update = update
            .bind(o.error.clone())
            .bind(last.map(|cp| int(cp.bytes)))
            .bind(last.map(|cp| int(cp.rows)))
            .bind(last.map(|cp| int(cp.line)));
        if imported {
            update = update.bind(self.opts.on_duplicate == OnDuplicate::Skip);
        }
        let mine = match (o.status, imported) {
            // It read none of it.
            (FileStatus::Skipped, _) => None,
            (_, true) => Some(n),
            (_, false) => Some(Counted::of(o).numbers()),
        };
        self.pg.exec(update)?;
        if let Some(mine) = mine {
            self.record_file_run(file, id, mine, !imported, last)?;
        }
        Ok(())
    }

    /// What this run committed of file `file` when it ends: `n` (as
    /// `Counted::numbers` orders them) added to this run's counts of it,
    /// or, with `set`, its counts (a failed file's), and the checkpoint of
    /// its last chunk when `send` did not write it.
    fn record_file_run(
        &mut self,
        file: usize,
        id: i64,
        n: [i64; 9],
        set: bool,
        last: Option<Checkpoint>,
    ) -> Result<()> {
        let counts = [
            "rows_read",
            "rows_imported",
            "rows_rejected",
            "rows_duplicate",
            "rows_filtered",
            "rows_failed",
            "orders_created",
            "orders_updated",
            "orders_duplicate",
        ]
        .map(|c| match set {
            true => format!("{c} = excluded.{c}"),
            false => format!("{c} = coalesce(r.{c}, 0) + excluded.{c}"),
        })
        .join(", ");
        let sql = format!(
            "INSERT INTO import_file_runs AS r (file_id, run_id, rows_read, rows_imported,
             rows_rejected, rows_duplicate, rows_filtered, rows_failed, orders_created,
             orders_updated, orders_duplicate, bytes_from, line_from, bytes_committed,
             rows_committed, line_committed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (file_id, run_id) DO UPDATE SET {counts},
             bytes_committed = coalesce(excluded.bytes_committed, r.bytes_committed),
             rows_committed = coalesce(excluded.rows_committed, r.rows_committed),
             line_committed = coalesce(excluded.line_committed, r.line_committed)"
        );
        let state = &self.files[file];
        let mut query = sqlx::query(&sql).bind(id).bind(self.run_id.unwrap_or(0));
        for n in n {
            query = query.bind(n);
        }
        let query = query
            .bind(int(state.resumed_at))
            .bind(state.outcome.resumed_from_line.map(int))
            .bind(last.map(|cp| int(cp.bytes)))
            .bind(last.map(|cp| int(cp.rows)))
            .bind(last.map(|cp| int(cp.line)));
        self.pg.exec(query)?;
        Ok(())
    }

    /// Records the end of the run, with its skipped files.
    pub fn finish(&mut self, record: &RunRecord) -> Result<()> {
        self.commit()?;
        if let Some(w) = &mut self.rejects_csv {
            w.flush()
                .map_err(|e| rejects_error(&self.opts.rejects_csv, e))?;
        }
        if self.dry_run {
            return Ok(());
        }
        let Some(run_id) = self.run_id else {
            return Ok(());
        };
        self.take_turn()?;
        for file in 0..self.files.len() {
            let f = &self.files[file];
            if f.outcome.status == FileStatus::Skipped && f.id.is_none() {
                let id = self.insert_file(file, FileStatus::Skipped, None)?;
                self.files[file].id = Some(id);
                self.finish_file(file, id, None, false)?;
            }
        }
        self.record_totals()?;
        self.pg.exec(
            sqlx::query(
                "UPDATE import_runs SET finished_at = clock_timestamp(), state = $2,
                 elapsed_ms = $3, peak_rss_bytes = $4, rows_per_sec = $5, bytes_per_sec = $6,
                 user_cpu_ms = $7, system_cpu_ms = $8 WHERE id = $1",
            )
            .bind(run_id)
            .bind(record.state)
            .bind(int(record.elapsed_ms))
            .bind(int(record.peak_rss_bytes))
            .bind(int(record.rows_per_sec))
            .bind(int(record.bytes_per_sec))
            .bind(int(record.user_cpu_ms))
            .bind(int(record.system_cpu_ms)),
        )?;
        self.commit()
    }

    /// The files that killed runs left `in_progress` (for a dry run, leaving
    /// out those of a run that is still going).
    fn load_leftovers(&mut self) -> Result<Vec<LeftOver>> {
        if self.dry_run {
            self.live_run = self
                .pg
                .one(sqlx::query(&format!(
                    "SELECT max(r.id) FROM import_runs r WHERE {}",
                    claim::LIVE_RUN
                )))?
                .try_get(0)?;
        }
        // A live run's files are its own, this run's too.
        let rows = self.pg.all(
            sqlx::query(&format!(
                "SELECT id, run_id, path, content_hash, size_bytes, channel, real_path,
                        bytes_committed, rows_committed, line_committed, rows_read,
                        rows_imported, rows_rejected, rows_duplicate, rows_filtered, rows_failed,
                        (SELECT host FROM import_runs r WHERE r.id = f.run_id)
                 FROM import_files f WHERE state = 'in_progress'
                   AND run_id IS DISTINCT FROM $1
                   AND NOT EXISTS (SELECT 1 FROM import_runs r
                                   WHERE r.id = f.run_id AND {})",
                claim::LIVE_RUN
            ))
            .bind(self.run_id),
        )?;
        rows.iter()
            .map(|r| {
                let path: String = r.try_get(2)?;
                // A path names a file on the machine that read it: a
                // partial file of another host is never superseded by a
                // file here that has its path (see `supersede`).
                let here = r.try_get::<Option<String>, _>(16)? == Some(host_name());
                let real_path = match here {
                    true => r.try_get::<Option<String>, _>(6)?.or_else(|| {
                        std::fs::canonicalize(&path)
                            .ok()
                            .map(|p| p.to_string_lossy().into_owned())
                    }),
                    false => None,
                };
                Ok(LeftOver {
                    id: r.try_get(0)?,
                    run_id: r.try_get(1)?,
                    path,
                    real_path,
                    hash: r.try_get(3)?,
                    size: r.try_get::<Option<i64>, _>(4)?.map(|n| n as u64),
                    channel: r.try_get(5)?,
                    checkpoint: Checkpoint {
                        bytes: r.try_get::<i64, _>(7)? as u64,
                        rows: r.try_get::<i64, _>(8)? as u64,
                        line: r.try_get::<i64, _>(9)? as u64,
                    },
                    rows: counts(r, 10)?,
                })
            })
            .collect()
    }
}

impl drive::Handler for Writer {
    fn run_id(&self) -> Option<i64> {
        Writer::run_id(self)
    }

    /// A turn holds up the other runs on the schema, and the server ends
    /// a session idle in a transaction for a lease: at most a third of it.
    fn commit_interval(&self) -> Duration {
        match self.dry_run {
            true => self.opts.commit_interval,
            false => self.opts.commit_interval.min(self.lease / 3),
        }
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    fn begin_transaction(&mut self) -> Result<()> {
        if self.dry_run {
            self.pg.batch("BEGIN")?;
            self.in_transaction = true;
            return Ok(());
        }
        self.take_turn()
    }

    /// While nothing arrives to write, the run's lease is renewed a few
    /// times per lease (and its lost claims found).
    fn idle_after(&self) -> Option<Duration> {
        (!self.dry_run && self.run_id.is_some()).then(|| self.lease / 3)
    }

    fn idle(&mut self) -> Result<()> {
        self.take_turn()?;
        self.commit()
    }

    fn commit(&mut self) -> Result<()> {
        Writer::commit(self)
    }

    /// Chunks that arrived together share one question of who holds
    /// their orders, up to half of what is sent at once.
    fn batch_rows(&self) -> usize {
        own::Streams::FULL_ROWS / 2
    }

    fn write_chunks(&mut self, chunks: Vec<Chunk>) -> Result<()> {
        Writer::write_chunks(self, chunks)
    }

    fn handle(&mut self, msg: Msg) -> Result<()> {
        Writer::handle(self, msg)
    }

    fn outcome(&self, file: usize) -> &FileOutcome {
        &self.files[file].outcome
    }
}

/// Six counts from consecutive columns, in the order read, imported,
/// rejected, duplicate, filtered, failed.
fn counts(r: &sqlx::postgres::PgRow, first: usize) -> Result<RowCounts> {
    let n = |i: usize| -> Result<u64> { Ok(r.try_get::<i64, _>(first + i)? as u64) };
    Ok(RowCounts {
        read: n(0)?,
        imported: n(1)?,
        rejected: n(2)?,
        duplicate: n(3)?,
        filtered: n(4)?,
        failed: n(5)?,
    })
}
