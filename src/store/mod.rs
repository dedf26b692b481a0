//! The stores: each owns its connection, its migrations and its SQL, takes
//! the readers' messages and reports each finished file to the callback it
//! is handed. SQLite writes row by row and decides each row's order as it
//! comes; PostgreSQL stages a file's rows with `COPY` and merges the file
//! whole when it is complete.

pub mod postgres;
pub mod read;

use crate::progress::Progress;
use crate::write::{FileOutcome, Msg, RunRecord};
use anyhow::Result;
use crossbeam_channel::Receiver;

/// The database a run writes.
pub enum Store {
    Sqlite(crate::write::Writer),
    Postgres(postgres::write::Writer),
}

impl Store {
    /// Handles the readers' messages until every sender is gone.
    pub fn run(&mut self, rx: &Receiver<Msg>, progress: &Progress) -> Result<()> {
        match self {
            Store::Sqlite(w) => w.run(rx, progress),
            Store::Postgres(w) => w.run(rx, &mut |o| progress.file_done(o)),
        }
    }

    /// The run's id: `None` for a dry run and a run that recorded nothing.
    pub fn run_id(&self) -> Option<i64> {
        match self {
            Store::Sqlite(w) => w.run_id(),
            Store::Postgres(w) => w.run_id(),
        }
    }

    /// The files of the run as the store saw them, in the run's order.
    pub fn outcomes(&self) -> Box<dyn Iterator<Item = &FileOutcome> + '_> {
        match self {
            Store::Sqlite(w) => Box::new(w.outcomes()),
            Store::Postgres(w) => Box::new(w.outcomes()),
        }
    }

    /// Partial files of killed runs, one line each.
    pub fn partial_files(&self) -> Vec<String> {
        match self {
            Store::Sqlite(w) => w.partial_files(),
            Store::Postgres(w) => w.partial_files(),
        }
    }

    /// Records the end of the run.
    pub fn finish(&mut self, record: &RunRecord) -> Result<()> {
        match self {
            Store::Sqlite(w) => w.finish(record),
            Store::Postgres(w) => w.finish(record),
        }
    }
}
