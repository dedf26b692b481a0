//! What killed runs left part-way, and what a new run does with it: the
//! same decisions for both stores, which differ only in how a partial file
//! is taken out.

use crate::outcome::{Checkpoint, RowCounts};

/// What a killed run left of a file.
#[derive(Debug)]
pub(crate) struct LeftOver {
    pub(crate) id: i64,
    pub(crate) run_id: i64,
    pub(crate) path: String,
    /// Its canonical path (for entries recorded before that was stored,
    /// the recorded path made canonical now, when it still exists).
    pub(crate) real_path: Option<String>,
    pub(crate) hash: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) rows: RowCounts,
}

impl LeftOver {
    /// The line the summary gives a partial file nothing took up.
    pub(crate) fn describe(&self) -> String {
        let of_size = match self.size {
            Some(size) => format!(" of {size}"),
            None => String::new(),
        };
        format!(
            "{}: partial import left by killed run {}: {} rows committed, up to line {} \
             ({}{} bytes); they stay until the same file is imported again",
            self.path,
            self.run_id,
            self.checkpoint.rows,
            self.checkpoint.line,
            self.checkpoint.bytes,
            of_size
        )
    }

    /// The line the summary gives a partial file this run rolled back.
    pub(crate) fn rolled_back(&self, error: &str) -> String {
        let why = match error {
            "" => String::new(),
            error => format!(" ({error})"),
        };
        format!(
            "{}: partial import left by killed run {} rolled back{why}: its {} committed rows \
             are taken out before the file is read again",
            self.path, self.run_id, self.checkpoint.rows
        )
    }
}

/// Why a partial file with the bytes being read is taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// `--force`: every file is read again from its start, as in the run
    /// that was killed (resuming one after the others were read again
    /// would let them take its first rows' orders).
    Forced,
    /// An older partial copy of the one resumed.
    ReadAgain,
    /// Read with another `--channel` (one entry holds one filter's rows).
    OtherChannel,
}

impl Gone {
    /// The error recorded with the file; `run` is the run reading it again
    /// (none for a dry run).
    pub(crate) fn error(self, run: Option<i64>) -> String {
        match (self, run) {
            (Gone::Forced, _) => "superseded: read again with --force".into(),
            (Gone::OtherChannel, _) => "superseded: read again with another --channel".into(),
            (Gone::ReadAgain, Some(run)) => format!("interrupted; read again by run {run}"),
            (Gone::ReadAgain, None) => String::new(),
        }
    }
}

/// Takes out of `leftovers` the partial files at path `real` with other
/// bytes than `hash`: nothing will ever resume them, and their orders must
/// not stand against the new file's.
pub(crate) fn superseded(leftovers: &mut Vec<LeftOver>, real: &str, hash: &str) -> Vec<LeftOver> {
    let (gone, kept) = std::mem::take(leftovers)
        .into_iter()
        .partition(|l| l.real_path.as_deref() == Some(real) && l.hash.as_deref() != Some(hash));
    *leftovers = kept;
    gone
}

/// Takes out of `leftovers` the partial files with bytes `hash`: the newest
/// read with this run's `channel`, to resume (none under `--force`), and
/// the others with why they go.
pub(crate) fn same_bytes(
    leftovers: &mut Vec<LeftOver>,
    hash: &str,
    force: bool,
    channel: Option<&str>,
) -> (Option<LeftOver>, Vec<(LeftOver, Gone)>) {
    let (mut same, kept): (Vec<LeftOver>, Vec<LeftOver>) = std::mem::take(leftovers)
        .into_iter()
        .partition(|l| l.hash.as_deref() == Some(hash));
    *leftovers = kept;
    // Newest first.
    same.sort_by_key(|l| std::cmp::Reverse(l.id));
    let mut newest = None;
    let mut gone = Vec::new();
    for left in same {
        let same_filter = left.channel.as_deref().map(normal_channel).as_deref() == channel;
        if force {
            gone.push((left, Gone::Forced));
        } else if same_filter && newest.is_none() {
            newest = Some(left);
        } else if same_filter {
            gone.push((left, Gone::ReadAgain));
        } else {
            gone.push((left, Gone::OtherChannel));
        }
    }
    (newest, gone)
}

/// The partial files of killed runs, one line each: those this run rolled
/// back, then those it neither resumed nor rolled back, oldest first. A dry
/// run made while run `live` imports into the same database says so first:
/// it counts against what that run has committed so far, and leaves the
/// files it is reading out of the partial files.
pub(crate) fn describe_all(
    rolled_back: &[String],
    leftovers: &[LeftOver],
    live: Option<i64>,
) -> Vec<String> {
    let mut left: Vec<&LeftOver> = leftovers.iter().collect();
    left.sort_by_key(|l| l.id);
    let still = left.iter().map(|l| l.describe());
    let live = live.map(|run| {
        format!(
            "run {run} is importing into this database now: this dry run counts against what it \
             has committed so far, and the orders of the files it is reading are theirs"
        )
    });
    live.into_iter()
        .chain(rolled_back.iter().cloned())
        .chain(still)
        .collect()
}

/// A `--channel` as compared: trimmed, lowercased (as settings keep it).
pub(crate) fn normal_channel(channel: &str) -> String {
    channel.trim().to_lowercase()
}

/// Whether an import read with `earlier` (None: no `--channel`) holds every
/// row a run with `now` keeps.
pub(crate) fn covers(earlier: Option<&str>, now: Option<&str>) -> bool {
    match earlier {
        None => true,
        Some(earlier) => now.is_some_and(|now| normal_channel(earlier) == normal_channel(now)),
    }
}
