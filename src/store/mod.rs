//! The stores: each owns its connection, its migrations and its SQL, takes
//! the readers' messages and reports each finished file to the callback it
//! is handed. Both give orders the same owners: [`sqlite`] writes row by
//! row and decides each row's order as it comes; [`postgres`] asks once per
//! chunk who holds its orders and sends the chunk's rows with binary
//! `COPY`. [`read`] is where `status`, `recommend` and a refused claim read
//! either of them.

pub(crate) mod leftover;
pub mod postgres;
pub mod read;
pub mod sqlite;

use crate::outcome::{FileOutcome, RunRecord};
use crate::read::Msg;
use anyhow::Result;
use crossbeam_channel::Receiver;

/// The database a run writes.
pub enum Store {
    Sqlite(sqlite::write::Writer),
    Postgres(postgres::write::Writer),
}

impl Store {
    /// Handles the readers' messages until every sender is gone, calling
    /// `done` for each file whose end is committed.
    pub fn run(&mut self, rx: &Receiver<Msg>, done: &mut dyn FnMut(&FileOutcome)) -> Result<()> {
        match self {
            Store::Sqlite(w) => w.run(rx, done),
            Store::Postgres(w) => w.run(rx, done),
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
