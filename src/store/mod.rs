//! The stores: each owns its connection, its migrations and its SQL, takes
//! the readers' messages and reports each finished file to the callback it
//! is handed. Both give orders the same owners: [`sqlite`] writes row by
//! row and decides each row's order as it comes; [`postgres`] asks once per
//! chunk who holds its orders and sends the chunk's rows with binary
//! `COPY`. [`open`] opens the one the settings name, with what that
//! database needs held for the run (SQLite's claim); [`files`] names the
//! files a database is kept in, so that the run's outputs can be kept off
//! them. [`read`] is where `status`, `recommend` and a refused claim read
//! either of them.

mod drive;
pub(crate) mod leftover;
pub mod postgres;
pub mod read;
pub mod sqlite;

use crate::outcome::{FileOutcome, RunRecord, Watch};
use crate::read::Msg;
use crate::settings::Settings;
use anyhow::Result;
use crossbeam_channel::Receiver;
use std::path::{Path, PathBuf};

/// What both writers act on.
pub use sqlite::write::WriteOptions;

/// The database a run writes.
pub enum Store {
    Sqlite(sqlite::Store),
    Postgres(postgres::write::Writer),
}

/// Opens the database the settings name for a run of `inputs` (path and
/// size) and records the start of the run.
pub fn open(
    settings: &Settings,
    inputs: &[(PathBuf, Option<u64>)],
    opts: WriteOptions,
) -> Result<Store> {
    Ok(match &settings.postgres {
        // A PostgreSQL store claims its schema itself, on its connection.
        Some(target) => Store::Postgres(postgres::write::Writer::open(target, inputs, opts)?),
        None => Store::Sqlite(sqlite::open(&settings.db, inputs, opts)?),
    })
}

/// The files a database is kept in: the database file, and the files its
/// store keeps beside it.
pub struct Files<'a> {
    pub database: &'a Path,
    pub beside: Vec<PathBuf>,
}

/// The files of the database the settings name; `None` for a server, whose
/// database shares no name with the files of a run.
pub fn files(settings: &Settings) -> Option<Files<'_>> {
    match settings.postgres {
        Some(_) => None,
        None => Some(Files {
            database: &settings.db,
            beside: sqlite::files_beside(&settings.db),
        }),
    }
}

/// Work a store wants done on a thread of its own beside its writer, until
/// the channel it is handed closes.
pub type Background = Box<dyn FnOnce(&Receiver<()>) + Send>;

impl Store {
    /// Handles the readers' messages until every sender is gone, telling
    /// `watch` of each file whose end is committed.
    pub fn run(&mut self, rx: &Receiver<Msg>, watch: &dyn Watch) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.writer.run(rx, watch),
            Store::Postgres(w) => w.run(rx, watch),
        }
    }

    /// The run's id: `None` for a dry run and a run that recorded nothing.
    pub fn run_id(&self) -> Option<i64> {
        match self {
            Store::Sqlite(s) => s.writer.run_id(),
            Store::Postgres(w) => w.run_id(),
        }
    }

    /// The files of the run as the store saw them, in the run's order.
    pub fn outcomes(&self) -> Box<dyn Iterator<Item = &FileOutcome> + '_> {
        match self {
            Store::Sqlite(s) => Box::new(s.writer.outcomes()),
            Store::Postgres(w) => Box::new(w.outcomes()),
        }
    }

    /// Partial files of killed runs, one line each.
    pub fn partial_files(&self) -> Vec<String> {
        match self {
            Store::Sqlite(s) => s.writer.partial_files(),
            Store::Postgres(w) => w.partial_files(),
        }
    }

    /// What the store runs beside its writer, if anything: SQLite's
    /// checkpointer on a real run.
    pub fn background(&self) -> Option<Background> {
        match self {
            Store::Sqlite(s) => s.background(),
            Store::Postgres(_) => None,
        }
    }

    /// Records the end of the run.
    pub fn finish(&mut self, record: &RunRecord) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.writer.finish(record),
            Store::Postgres(w) => w.finish(record),
        }
    }
}
