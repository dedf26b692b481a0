//! The loop both writers run: take the readers' messages in order, in
//! transactions that each stay open at most the commit interval, and show
//! each file whose end is committed.
//!
//! A chunk that reaches the writer is committed within the commit interval,
//! whether or not more chunks follow. Each commit costs a flush of the
//! database's log, so fewer, larger transactions are faster; a killed run
//! reads again at most what one interval wrote (see the README).

use crate::outcome::{FileEnd, FileOutcome, Watch};
use crate::read::Msg;
use crate::rows::Chunk;
use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

/// What a writer does for the loop.
pub(crate) trait Handler {
    fn commit_interval(&self) -> Duration;
    fn in_transaction(&self) -> bool;
    fn begin_transaction(&mut self) -> Result<()>;
    /// How long the loop waits, outside a transaction, before it calls
    /// [`Handler::idle`]; `None`: it waits for the next message.
    fn idle_after(&self) -> Option<Duration> {
        None
    }
    /// Nothing arrived for [`Handler::idle_after`].
    fn idle(&mut self) -> Result<()> {
        Ok(())
    }
    /// Commits the open transaction, if any.
    fn commit(&mut self) -> Result<()>;
    /// Rows of consecutive chunks already waiting in the channel that are
    /// worth handing over together (at most one chunk when this is 0).
    fn batch_rows(&self) -> usize;
    /// Writes consecutive chunks, in order.
    fn write_chunks(&mut self, chunks: Vec<Chunk>) -> Result<()>;
    /// Handles a message other than a chunk.
    fn handle(&mut self, msg: Msg) -> Result<()>;
    fn outcome(&self, file: usize) -> &FileOutcome;
    /// The run's id, once it has recorded itself.
    fn run_id(&self) -> Option<i64>;
}

/// Handles the readers' messages until every sender is gone, telling `watch`
/// of each file once its end is committed: a commit that fails (a full
/// disk) takes the end back, and then so is the line.
pub(crate) fn run(w: &mut impl Handler, rx: &Receiver<Msg>, watch: &dyn Watch) -> Result<()> {
    let interval = w.commit_interval();
    let mut opened = Instant::now();
    let mut ended = Vec::new();
    let mut next = None;
    let show = |w: &mut dyn Handler, ended: &mut Vec<usize>| {
        if !w.in_transaction() {
            for file in ended.drain(..) {
                watch.file_done(w.outcome(file), w.run_id());
            }
        }
    };
    loop {
        let msg = match next.take() {
            Some(msg) => msg,
            // An open transaction waits for more only until it is due.
            None if w.in_transaction() => {
                match rx.recv_timeout(interval.saturating_sub(opened.elapsed())) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        w.commit()?;
                        show(w, &mut ended);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match w.idle_after() {
                Some(after) => match rx.recv_timeout(after) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        w.idle()?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
            },
        };
        if !w.in_transaction() {
            w.begin_transaction()?;
            opened = Instant::now();
        }
        // A failed file's removal is committed at once; other ends ride
        // with the next commit (a file killed after its last chunk is
        // resumed at its end and completes with nothing to read).
        let mut failed = false;
        match msg {
            Msg::Chunk(chunk) => {
                let (chunks, after) = batch(chunk, rx, w.batch_rows());
                next = after;
                w.write_chunks(chunks)?;
            }
            msg => {
                if let Msg::End { file, end, .. } = &msg {
                    ended.push(*file);
                    failed = matches!(end, FileEnd::Failed(_));
                }
                w.handle(msg)?;
            }
        }
        if failed || opened.elapsed() >= interval {
            w.commit()?;
        }
        show(w, &mut ended);
    }
    w.commit()?;
    show(w, &mut ended);
    Ok(())
}

/// `first` and the chunks that follow it in the channel now, up to `rows`
/// rows; and the message after them, if one was taken.
fn batch(first: Chunk, rx: &Receiver<Msg>, rows: usize) -> (Vec<Chunk>, Option<Msg>) {
    let mut taken = first.rows.len();
    let mut chunks = vec![first];
    while taken < rows {
        match rx.try_recv() {
            Ok(Msg::Chunk(chunk)) => {
                taken += chunk.rows.len();
                chunks.push(chunk);
            }
            Ok(other) => return (chunks, Some(other)),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    (chunks, None)
}
