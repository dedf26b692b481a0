//! The SQLite store: one database file, written through one connection
//! with WAL journaling.
//!
//! [`schema`] opens the file and migrates it; [`write`](mod@write) is the writer that
//! consumes the readers' messages, with [`insert`] for its prepared row
//! inserts; [`claim`] keeps one importing run per database file.

pub mod claim;
pub mod insert;
pub mod schema;
pub mod write;
