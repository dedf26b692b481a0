//! Memory control: watch the process's resident memory and, under pressure,
//! make new chunks smaller and then read fewer files at once; grow back when
//! the pressure passes.
//!
//! Readers ask the [`Budget`] for the size of each new chunk and pass its
//! gate before starting a file; a watcher thread measures resident memory
//! (sysinfo) every `check_interval` and adjusts both. Every change is counted
//! for the summary. Control only ever slows reading down: it never drops,
//! splits or reorders rows.

use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Chunks never shrink below this many rows.
pub const MIN_CHUNK: usize = 50;

/// Below this share of the threshold, the pressure has passed.
const RELIEF: f64 = 0.7;

/// What readers may use, adjusted under memory pressure.
#[derive(Debug)]
pub struct Budget {
    start_chunk: usize,
    chunk: AtomicUsize,
    min_chunk_seen: AtomicUsize,
    max_jobs: usize,
    /// (files being read, files allowed at once)
    gate: Mutex<(usize, usize)>,
    opened: Condvar,
    adaptations: AtomicU64,
}

/// The budget's story, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetReport {
    pub start_chunk: usize,
    pub min_chunk: usize,
    pub adaptations: u64,
}

impl Budget {
    pub fn new(chunk_size: usize, jobs: usize) -> Budget {
        Budget {
            start_chunk: chunk_size,
            chunk: AtomicUsize::new(chunk_size),
            min_chunk_seen: AtomicUsize::new(chunk_size),
            max_jobs: jobs.max(1),
            gate: Mutex::new((0, jobs.max(1))),
            opened: Condvar::new(),
            adaptations: AtomicU64::new(0),
        }
    }

    /// Rows in the next chunk a reader starts.
    pub fn chunk_size(&self) -> usize {
        self.chunk.load(Ordering::Relaxed)
    }

    /// Waits until one more file may be read, then counts it in.
    pub fn enter(&self) {
        let Ok(mut gate) = self.gate.lock() else {
            return;
        };
        while gate.0 >= gate.1 {
            gate = match self.opened.wait(gate) {
                Ok(g) => g,
                Err(_) => return,
            };
        }
        gate.0 += 1;
    }

    /// A file is done being read.
    pub fn leave(&self) {
        if let Ok(mut gate) = self.gate.lock() {
            gate.0 = gate.0.saturating_sub(1);
        }
        self.opened.notify_all();
    }

    /// Reacts to one measurement of resident memory against `threshold`.
    pub fn adapt(&self, rss: u64, threshold: u64) {
        let chunk = self.chunk.load(Ordering::Relaxed);
        let Ok(mut gate) = self.gate.lock() else {
            return;
        };
        if rss > threshold {
            if chunk > MIN_CHUNK {
                let smaller = (chunk / 2).max(MIN_CHUNK);
                self.chunk.store(smaller, Ordering::Relaxed);
                self.min_chunk_seen.fetch_min(smaller, Ordering::Relaxed);
            } else if gate.1 > 1 {
                gate.1 -= 1;
            } else {
                return;
            }
        } else if (rss as f64) < threshold as f64 * RELIEF {
            if gate.1 < self.max_jobs {
                gate.1 += 1;
                self.opened.notify_all();
            } else if chunk < self.start_chunk {
                self.chunk
                    .store((chunk * 2).min(self.start_chunk), Ordering::Relaxed);
            } else {
                return;
            }
        } else {
            return;
        }
        self.adaptations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn report(&self) -> BudgetReport {
        BudgetReport {
            start_chunk: self.start_chunk,
            min_chunk: self.min_chunk_seen.load(Ordering::Relaxed),
            adaptations: self.adaptations.load(Ordering::Relaxed),
        }
    }
}

/// Measures resident memory every `interval` and adapts `budget` until
/// `done` is closed or receives.
pub fn watch(budget: &Budget, interval: Duration, threshold: u64, done: &Receiver<()>) {
    let pid = Pid::from_u32(std::process::id());
    let mut system = System::new();
    let refresh = ProcessRefreshKind::nothing().with_memory();
    loop {
        match done.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, refresh);
        if let Some(process) = system.process(pid) {
            budget.adapt(process.memory(), threshold);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_chunks_then_jobs_and_grows_back() {
        let b = Budget::new(1000, 3);
        b.adapt(200, 100);
        assert_eq!(b.chunk_size(), 500);
        for _ in 0..10 {
            b.adapt(200, 100);
        }
        assert_eq!(b.chunk_size(), MIN_CHUNK);
        assert_eq!(b.gate.lock().unwrap().1, 1);
        let under_pressure = b.report().adaptations;
        b.adapt(80, 100);
        assert_eq!(
            b.report().adaptations,
            under_pressure,
            "between the marks nothing changes"
        );
        for _ in 0..20 {
            b.adapt(10, 100);
        }
        assert_eq!(b.chunk_size(), 1000);
        assert_eq!(b.gate.lock().unwrap().1, 3);
        let r = b.report();
        assert_eq!((r.start_chunk, r.min_chunk), (1000, MIN_CHUNK));
    }

    #[test]
    fn gate_lets_in_as_many_as_allowed() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let b = Arc::new(Budget::new(10, 1));
        let released = Arc::new(AtomicBool::new(false));
        let started = Arc::new(std::sync::Barrier::new(2));
        b.enter();
        let (b2, released2, started2) = (b.clone(), released.clone(), started.clone());
        let waiter = std::thread::spawn(move || {
            started2.wait();
            b2.enter();
            // Only the first file's `leave` may have let this one in.
            let got_in_after_release = released2.load(Ordering::SeqCst);
            b2.leave();
            got_in_after_release
        });
        started.wait();
        // The waiter is on its way into a full gate; however long it takes
        // to get there, it must not pass before the slot is given back.
        for _ in 0..1000 {
            std::thread::yield_now();
        }
        assert_eq!(b.gate.lock().unwrap().0, 1, "one file in, one allowed");
        released.store(true, Ordering::SeqCst);
        b.leave();
        assert!(
            waiter.join().unwrap(),
            "the second file entered while the only slot was taken"
        );
        assert_eq!(b.gate.lock().unwrap().0, 0, "both files left");
    }
}
