//! Stores: where the imported rows are kept. Each database the importer
//! writes to is one store, in a folder of its own (`sqlite/`, and beside it
//! the others), and every store has the same shape.
//!
//! A store owns its connection, its migrations and every line of its SQL;
//! nothing outside it speaks to the database. It runs on the one writer
//! thread and consumes the readers' messages ([`crate::read::Msg`]): it
//! answers a file's beginning, writes each chunk together with the file's
//! checkpoint, and records rejects, files and the run. It reports each
//! finished file upward through the callback it is handed (a
//! `FnMut(&`[`crate::outcome::FileOutcome`]`)`), never by importing the
//! layers above it, and it speaks only the words of [`crate::outcome`].

pub mod sqlite;
