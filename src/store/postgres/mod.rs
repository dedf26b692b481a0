//! PostgreSQL: the same tables as SQLite in one schema (`--schema`), with
//! native types, loaded with binary `COPY`.
//!
//! Orders have the same owners as in SQLite: each chunk's rows go straight
//! into the data tables, committed with the file's checkpoint; rows of an
//! order that a file still being read holds wait beside them; a failed
//! file's rows are taken out again, and the orders it held pass to the
//! files that met them. A killed run leaves its committed rows for the next
//! run to continue from.

pub mod binary;
pub mod connect;
pub mod schema;
pub mod write;

use anyhow::{Context, Result};
use sqlx::postgres::{PgArguments, PgConnection, PgRow, Postgres};
use sqlx::query::Query;
use tokio::runtime::Runtime;

/// The first key of the advisory locks the tool takes; the second is
/// `hashtext` of the schema's name.
pub const LOCK_CLASS: i32 = 1_146_381_396;
/// The lock held while the schema is created or migrated.
pub const MIGRATE_CLASS: i32 = LOCK_CLASS + 1;

/// A query with its arguments bound.
pub type Q<'q> = Query<'q, Postgres, PgArguments>;

/// One connection, driven from this thread through a runtime of its own.
pub struct Pg {
    rt: Runtime,
    pub conn: PgConnection,
    /// The database as shown to users: no password.
    pub shown: String,
}

impl Pg {
    pub fn connect(target: &connect::Target) -> Result<Pg> {
        let rt = connect::runtime().context("cannot start the PostgreSQL client")?;
        let conn = target.connect(&rt)?;
        Ok(Pg::from_parts(rt, conn, &target.display()))
    }

    pub fn from_parts(rt: Runtime, conn: PgConnection, shown: &str) -> Pg {
        let mut pg = Pg {
            rt,
            conn,
            shown: shown.to_string(),
        };
        // A killed client's statement is ended by the server within a
        // second (PostgreSQL 14 and later), not when it would have finished,
        // so its claim is free for the next run at once. Older servers do
        // without.
        let _ = pg.batch("SET client_connection_check_interval = 1000");
        pg
    }

    /// Runs `q`; the number of rows it changed.
    pub fn exec(&mut self, q: Q<'_>) -> Result<u64> {
        Ok(self
            .rt
            .block_on(q.execute(&mut self.conn))
            .map_err(said)?
            .rows_affected())
    }

    pub fn one(&mut self, q: Q<'_>) -> Result<PgRow> {
        self.rt.block_on(q.fetch_one(&mut self.conn)).map_err(said)
    }

    pub fn optional(&mut self, q: Q<'_>) -> Result<Option<PgRow>> {
        self.rt
            .block_on(q.fetch_optional(&mut self.conn))
            .map_err(said)
    }

    pub fn all(&mut self, q: Q<'_>) -> Result<Vec<PgRow>> {
        self.rt.block_on(q.fetch_all(&mut self.conn)).map_err(said)
    }

    /// Runs statements without arguments (several, separated by `;`).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.rt
            .block_on(sqlx::raw_sql(sql).execute(&mut self.conn))
            .map_err(said)?;
        Ok(())
    }

    /// `COPY ... FROM STDIN` of `data`, in the format `statement` names.
    pub fn copy_in(&mut self, statement: &str, data: &[u8]) -> Result<u64> {
        self.rt.block_on(async {
            let mut copy = self.conn.copy_in_raw(statement).await.map_err(said)?;
            if let Err(e) = copy.send(data).await {
                let _ = copy.abort(e.to_string()).await;
                return Err(said(e));
            }
            copy.finish().await.map_err(said)
        })
    }
}

/// What the server (or the connection) said, once: sqlx's error repeats
/// the server's message as its source.
fn said(e: sqlx::Error) -> anyhow::Error {
    match e {
        sqlx::Error::Database(db) => anyhow::anyhow!("{}", db.message()),
        other => anyhow::anyhow!("{other}"),
    }
}

/// `name` as an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Appends `s` to a `COPY` text-format row: backslash, tab and line ends
/// escaped. A NUL byte, which no PostgreSQL text holds, is written as the
/// two characters `\0` (rows holding one are rejected before they get
/// here; a reject's value and raw record keep it that way).
pub fn copy_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => b"\\\\0",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a number to a `COPY` text-format row.
pub fn copy_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `NULL` in the `COPY` text format.
pub const COPY_NULL: &[u8] = b"\\N";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_gives_meaning() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\\b\tc\nd\re\0f");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re\\\\0f");
    }

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(ident("sales"), "\"sales\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
