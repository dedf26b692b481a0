//! Runs that share a schema: whose turn it is to write, which run is
//! alive, and which run holds which file.
//!
//! - **Turns.** Every transaction of a run that writes takes the schema's
//!   transaction-level advisory lock first ([`take_turn`]), so the
//!   transactions of all runs on a schema follow one another: each sees
//!   every order the others committed, two runs never write the same order
//!   at once, and no two transactions wait for each other in a cycle (a run
//!   waits only for the turn, holding nothing). A turn lasts at most the
//!   commit interval; the readers of every run keep reading meanwhile.
//! - **Leases.** A run's row in `import_runs` carries `lease_until`,
//!   renewed by every commit and, when nothing arrives to write, by a
//!   heartbeat. A run is alive while its session is connected and its
//!   lease runs, or while its session waits for its turn ([`LIVE_RUN`]).
//!   A killed run's session is gone at once; a paused one, or one whose
//!   host or network went away, lapses with its lease.
//! - **Claims.** A file being read is claimed by the run its
//!   `import_files` entry names; another run leaves it while that run is
//!   alive, and takes it over from its checkpoint once not, raising the
//!   entry's `claim` generation. Each transaction first checks that the run
//!   still holds its files at the generation it took ([`fence`]): a file
//!   taken over meanwhile is dropped, and no row of it is written again.
//! - **Sessions.** The server ends a session idle in a transaction, or a
//!   statement that waits on its client (a `COPY` whose sender is paused),
//!   after the lease, so that a paused run does not hold the turn; TCP
//!   keepalives and `tcp_user_timeout` let it notice a peer that vanished.

use super::{LOCK_CLASS, Pg};
use anyhow::Result;
use sqlx::Row;
use std::time::Duration;

/// Whether the run `r` (an `import_runs` row) is alive; see the module
/// documentation.
pub const LIVE_RUN: &str = "(r.state = 'running' AND EXISTS (
    SELECT 1 FROM pg_stat_activity a
    WHERE a.pid = r.backend_pid AND a.backend_start = r.backend_start
      AND (r.lease_until > clock_timestamp() OR a.wait_event_type = 'Lock')))";

/// Milliseconds, for settings that take them.
fn ms(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// The session settings of a run whose claims last `lease` (see
/// [`Pg::hold_claims`]).
pub fn session(lease: Duration) -> String {
    let secs = lease.as_secs().max(1);
    format!(
        "SET idle_in_transaction_session_timeout = {lease_ms};
         SET statement_timeout = {lease_ms};
         SET tcp_keepalives_idle = {idle};
         SET tcp_keepalives_interval = {interval};
         SET tcp_keepalives_count = 3;
         SET tcp_user_timeout = {lease_ms}",
        lease_ms = ms(lease),
        idle = (secs / 3).max(1),
        interval = (secs / 6).max(1),
    )
}

/// Begins a transaction in the run's turn: waits, however long, for the
/// transactions of other runs on `schema` to end. The wait is asked for
/// again every few seconds, so that a server or network gone silent is
/// noticed meanwhile (see [`Pg::hold_claims`]).
pub fn take_turn(pg: &mut Pg, schema: &str, lease: Duration) -> Result<()> {
    const LOCK_NOT_AVAILABLE: &str = "55P03";
    let ask = (lease / 3).clamp(Duration::from_secs(1), Duration::from_secs(10));
    loop {
        pg.batch(&format!(
            "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = {}",
            ms(ask)
        ))?;
        let lock = sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(schema);
        if pg.exec_unless(lock, LOCK_NOT_AVAILABLE)?.is_some() {
            pg.batch("SET LOCAL lock_timeout = 0")?;
            return pg.rebound();
        }
        pg.batch("ROLLBACK")?;
    }
}

/// Runs `work` unbounded (see [`Pg::unbound`]).
pub fn unbounded<T>(pg: &mut Pg, work: impl FnOnce(&mut Pg) -> Result<T>) -> Result<T> {
    pg.unbound()?;
    let done = work(pg);
    let reset = pg.rebound();
    let done = done?;
    reset?;
    Ok(done)
}

/// Renews run `run`'s lease, in the transaction that commits its work. A
/// run another one marked interrupted while it was paused is running again.
pub fn renew(pg: &mut Pg, run: i64, lease: Duration) -> Result<()> {
    pg.exec(
        sqlx::query(
            "UPDATE import_runs SET lease_until = clock_timestamp() + $2::float8 * interval '1 ms',
             state = CASE state WHEN 'interrupted' THEN 'running' ELSE state END
             WHERE id = $1",
        )
        .bind(run)
        .bind(ms(lease) as i64),
    )?;
    Ok(())
}

/// Whether a run other than `me` is alive.
pub fn others_alive(pg: &mut Pg, me: Option<i64>) -> Result<bool> {
    Ok(pg
        .one(
            sqlx::query(&format!(
                "SELECT EXISTS (SELECT 1 FROM import_runs r
                                WHERE r.id IS DISTINCT FROM $1 AND {LIVE_RUN})"
            ))
            .bind(me),
        )?
        .try_get(0)?)
}

/// Marks the runs left `running` that are not alive as interrupted.
pub fn bury_dead_runs(pg: &mut Pg) -> Result<()> {
    pg.exec(sqlx::query(&format!(
        "UPDATE import_runs r SET state = 'interrupted'
         WHERE r.state = 'running' AND NOT {LIVE_RUN}"
    )))?;
    Ok(())
}

/// The live run other than `me` that holds a file with bytes `hash`:
/// `run N on HOST`.
pub fn holder(pg: &mut Pg, hash: &str, me: i64) -> Result<Option<String>> {
    let row = pg.optional(
        sqlx::query(&format!(
            "SELECT r.id, r.host FROM import_files f JOIN import_runs r ON r.id = f.run_id
             WHERE f.content_hash = $1 AND f.state = 'in_progress' AND r.id <> $2
               AND {LIVE_RUN}
             ORDER BY f.id LIMIT 1"
        ))
        .bind(hash)
        .bind(me),
    )?;
    row.map(|r| -> Result<String> {
        let (id, host): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        Ok(format!("run {id} on {host}"))
    })
    .transpose()
}

/// Of the files run `me` holds (entry id and claim generation), those it
/// no longer holds: with the run that took each over (`run N on HOST`),
/// and that run's state of it when it is no longer reading it.
pub fn fence(pg: &mut Pg, me: i64, held: &[(i64, i32)]) -> Result<Vec<Lost>> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, claims): (Vec<i64>, Vec<i32>) = held.iter().copied().unzip();
    let rows = pg.all(
        sqlx::query(
            "SELECT h.id, f.state, r.id, r.host FROM unnest($1::bigint[], $2::int[]) AS h (id, claim)
             LEFT JOIN import_files f ON f.id = h.id
             LEFT JOIN import_runs r ON r.id = f.run_id
             WHERE f.id IS NULL OR f.run_id <> $3 OR f.claim <> h.claim",
        )
        .bind(&ids)
        .bind(&claims)
        .bind(me),
    )?;
    rows.iter()
        .map(|r| {
            let state: Option<String> = r.try_get(1)?;
            let (run, host): (Option<i64>, Option<String>) = (r.try_get(2)?, r.try_get(3)?);
            Ok(Lost {
                id: r.try_get(0)?,
                by: match (run, host) {
                    (Some(run), Some(host)) => Some(format!("run {run} on {host}")),
                    _ => None,
                },
                state: state.filter(|s| s != "in_progress"),
            })
        })
        .collect()
}

/// A file a run lost to another (see [`fence`]).
pub struct Lost {
    pub id: i64,
    /// `run N on HOST`; none when the file has no entry (one that the
    /// run's last transaction made and the server rolled back: nothing
    /// was lost).
    pub by: Option<String>,
    /// Its state in the entry, once that run is done with it.
    pub state: Option<String>,
}

impl Lost {
    /// `run N on HOST took it over` (and where it stands now).
    pub fn took_over(&self) -> String {
        let by = self.by.as_deref().unwrap_or("another run");
        match &self.state {
            Some(state) => format!("{by} took it over (it is {state} now)"),
            None => format!("{by} took it over"),
        }
    }
}
