//! PostgreSQL: the same tables as SQLite in one schema (`--schema`), with
//! native types, loaded with binary `COPY`.
//!
//! Orders have the same owners as in SQLite: each chunk's rows go straight
//! into the data tables, committed with the file's checkpoint; rows of an
//! order that a file still being read holds wait beside them; a failed
//! file's rows are taken out again, and the orders it held pass to the
//! files that met them. A killed run leaves its committed rows for the next
//! run to continue from. Runs on several machines share a schema, file by
//! file, one transaction at a time (see `claim`).

pub mod binary;
pub mod claim;
pub mod connect;
pub mod schema;
pub mod write;

use anyhow::{Context, Result};
use sqlx::postgres::{PgArguments, PgConnection, PgRow, Postgres};
use sqlx::query::Query;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// The first key of the advisory locks the tool takes; the second is
/// `hashtext` of the schema's name. This one is a run's turn to write (see
/// `claim`).
pub const LOCK_CLASS: i32 = 1_146_381_396;
/// The lock held while the schema is created or migrated.
pub const MIGRATE_CLASS: i32 = LOCK_CLASS + 1;

/// A query with its arguments bound.
pub type Q<'q> = Query<'q, Postgres, PgArguments>;

/// One connection, driven from this thread through a runtime of its own,
/// whose worker carries on a `COPY` sent in the background (see
/// [`Pg::copy_in_background`]) while this thread goes on.
pub struct Pg {
    rt: Runtime,
    /// Away while a background `COPY` holds it.
    conn: Option<PgConnection>,
    background: Option<JoinHandle<Background>>,
    /// The buffers of the last background `COPY`, for the next to reuse.
    returned: Vec<Vec<u8>>,
    /// The database as shown to users: no password.
    pub shown: String,
    /// For a run that holds claims, their lease: no statement runs longer
    /// on the server (see `claim::session`) and, so that a server or
    /// network gone silent is noticed, no answer is awaited much longer
    /// here; but while [`Pg::unbound`].
    lease: Option<Duration>,
    /// How long an answer is awaited now.
    limit: Option<Duration>,
}

/// What a background `COPY` hands back: the connection, its buffers, and
/// how it went.
type Background = (PgConnection, Vec<Vec<u8>>, Result<()>);

impl Pg {
    pub fn connect(target: &connect::Target) -> Result<Pg> {
        let rt = connect::runtime_with_worker().context("cannot start the PostgreSQL client")?;
        let conn = target.connect(&rt)?;
        Ok(Pg::from_parts(rt, conn, &target.display()))
    }

    pub fn from_parts(rt: Runtime, conn: PgConnection, shown: &str) -> Pg {
        let mut pg = Pg {
            rt,
            conn: Some(conn),
            background: None,
            returned: Vec::new(),
            shown: shown.to_string(),
            lease: None,
            limit: None,
        };
        // A killed client's statement is ended by the server within a
        // second (PostgreSQL 14 and later), not when it would have finished,
        // so its claim is free for the next run at once. Older servers do
        // without.
        let _ = pg.batch("SET client_connection_check_interval = 1000");
        pg
    }

    /// Bounds every statement by `lease` from now on (see `claim`).
    pub fn hold_claims(&mut self, lease: Duration) -> Result<()> {
        self.batch(&claim::session(lease))?;
        self.lease = Some(lease);
        self.limit = Some(lease * 2 + Duration::from_secs(10));
        Ok(())
    }

    /// Lifts the bound on statements, in the open transaction, until
    /// [`Pg::rebound`]: for statements that run long on the server alone
    /// (building an index, taking a large file out), which no pause of
    /// this process can hold up. An answer is still awaited at most an
    /// hour.
    pub fn unbound(&mut self) -> Result<()> {
        if self.lease.is_some() {
            self.batch("SET LOCAL statement_timeout = 0")?;
            self.limit = Some(Duration::from_secs(3600));
        }
        Ok(())
    }

    /// Puts back the bounds [`Pg::unbound`] lifted.
    pub fn rebound(&mut self) -> Result<()> {
        if let Some(lease) = self.lease {
            self.batch(&format!(
                "SET LOCAL statement_timeout = {}",
                lease.as_millis().max(1)
            ))?;
            self.limit = Some(lease * 2 + Duration::from_secs(10));
        }
        Ok(())
    }

    /// Waits for `work` on the runtime, at most [`Pg::limit`]: past it the
    /// connection is given up as lost.
    fn wait<T>(
        rt: &Runtime,
        limit: Option<Duration>,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T> {
        match limit {
            None => Ok(rt.block_on(work)),
            Some(limit) => rt
                .block_on(async { tokio::time::timeout(limit, work).await })
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the connection was lost: no answer from the server in {}",
                        humantime::format_duration(limit)
                    )
                }),
        }
    }

    /// The runtime and the connection, once a background `COPY` has
    /// ended; its error, if it failed, is this call's.
    fn conn(&mut self) -> Result<(&Runtime, &mut PgConnection)> {
        if let Some(pending) = self.background.take() {
            let (conn, buffers, result) = Pg::wait(&self.rt, self.limit, pending)?
                .map_err(|e| anyhow::anyhow!("the connection was lost: {e}"))?;
            self.conn = Some(conn);
            self.returned = buffers;
            result?;
        }
        match &mut self.conn {
            Some(conn) => Ok((&self.rt, conn)),
            None => anyhow::bail!("the connection was lost"),
        }
    }

    /// Runs `q`; the number of rows it changed.
    pub fn exec(&mut self, q: Q<'_>) -> Result<u64> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Ok(Pg::wait(rt, limit, q.execute(conn))?
            .map_err(said)?
            .rows_affected())
    }

    pub fn one(&mut self, q: Q<'_>) -> Result<PgRow> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Pg::wait(rt, limit, q.fetch_one(conn))?.map_err(said)
    }

    pub fn optional(&mut self, q: Q<'_>) -> Result<Option<PgRow>> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Pg::wait(rt, limit, q.fetch_optional(conn))?.map_err(said)
    }

    pub fn all(&mut self, q: Q<'_>) -> Result<Vec<PgRow>> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Pg::wait(rt, limit, q.fetch_all(conn))?.map_err(said)
    }

    /// Runs `q`; `None` when the server refused it with SQLSTATE `code`.
    pub fn exec_unless(&mut self, q: Q<'_>, code: &str) -> Result<Option<u64>> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        match Pg::wait(rt, limit, q.execute(conn))? {
            Ok(done) => Ok(Some(done.rows_affected())),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(code) => Ok(None),
            Err(e) => Err(said(e)),
        }
    }

    /// Runs statements without arguments (several, separated by `;`).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Pg::wait(rt, limit, sqlx::raw_sql(sql).execute(conn))?.map_err(said)?;
        Ok(())
    }

    /// `COPY ... FROM STDIN` of `data`, in the format `statement` names.
    pub fn copy_in(&mut self, statement: &str, data: &[u8]) -> Result<u64> {
        let limit = self.limit;
        let (rt, conn) = self.conn()?;
        Pg::wait(rt, limit, copy(conn, statement, data))?
    }

    /// Sends each `COPY ... FROM STDIN` with its data, in order, and returns
    /// at once: the next call waits for them to end (and fails if they
    /// did), so statements still run in the order they were given.
    pub fn copy_in_background(&mut self, copies: Vec<(String, Vec<u8>)>) -> Result<()> {
        self.conn()?;
        let Some(mut conn) = self.conn.take() else {
            anyhow::bail!("the connection was lost");
        };
        self.background = Some(self.rt.spawn(async move {
            let mut result = Ok(());
            let mut buffers = Vec::with_capacity(copies.len());
            for (statement, data) in copies {
                if result.is_ok() {
                    result = copy(&mut conn, &statement, &data).await.map(drop);
                }
                buffers.push(data);
            }
            (conn, buffers, result)
        }));
        Ok(())
    }

    /// Waits for the background `COPY` to end (failing if it did); the
    /// buffers of the last one, emptied, in the order they were given.
    pub fn finished_copies(&mut self) -> Result<Vec<Vec<u8>>> {
        self.conn()?;
        let mut buffers = std::mem::take(&mut self.returned);
        buffers.iter_mut().for_each(Vec::clear);
        Ok(buffers)
    }
}

/// `COPY ... FROM STDIN` of `data` on `conn`; the rows it copied. The data
/// goes in pieces: the connection copies what it sends into a buffer of
/// its own, which keeps the size of the largest piece.
async fn copy(conn: &mut PgConnection, statement: &str, data: &[u8]) -> Result<u64> {
    const PIECE: usize = 128 << 10;
    let mut copy = conn.copy_in_raw(statement).await.map_err(said)?;
    for piece in data.chunks(PIECE) {
        if let Err(e) = copy.send(piece).await {
            let _ = copy.abort(e.to_string()).await;
            return Err(said(e));
        }
    }
    copy.finish().await.map_err(said)
}

/// What the server (or the connection) said, once: sqlx's error repeats
/// the server's message as its source.
fn said(e: sqlx::Error) -> anyhow::Error {
    match e {
        sqlx::Error::Database(db) => anyhow::anyhow!("{}", db.message()),
        sqlx::Error::Io(io) => anyhow::anyhow!("the connection to the server was lost ({io})"),
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
