//! One run at a time: an exclusive claim on a database, held for the whole
//! run.
//!
//! The claim is an advisory lock (`flock`) on `<database>.lock`. The kernel
//! drops it when the process ends in any way, kill -9 and power loss
//! included, so a killed holder never blocks the next run: its claim is
//! simply gone, and the next run marks the dead run `interrupted`. A second
//! run while the first is alive fails at once and names the holder.

use anyhow::{Result, bail};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Held while a run writes to a database; released on drop or exit.
#[derive(Debug)]
pub struct Claim {
    _file: File,
}

/// The lock file beside a database, found through symlinks, so two names of
/// one database share one claim.
pub fn lock_path(db: &Path) -> PathBuf {
    let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let mut name = real.into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Claims `db` for this process, or fails naming the run that holds it.
pub fn claim(db: &Path) -> Result<Claim> {
    let path = lock_path(db);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "cannot open {}: the folder {} does not exist",
            db.display(),
            dir.display()
        );
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    // A few quick tries: `status` probes the claim for an instant.
    for _ in 0..5 {
        if try_lock(&file)? {
            return Ok(Claim { _file: file });
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    bail!(
        "{} is busy: {}; wait for it to end, or stop it (it resumes where it stopped)",
        db.display(),
        describe_holder(db)
    )
}

/// True when a live run holds `db` (its claim cannot be taken). Used by
/// readers such as `status` to tell a running import from a killed one.
pub fn is_held(db: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).open(lock_path(db)) else {
        return false;
    };
    // Taking the claim for an instant is harmless: it is dropped at once.
    !matches!(try_lock(&file), Ok(true))
}

#[cfg(unix)]
fn try_lock(file: &File) -> Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    bail!("cannot lock the database: {err}")
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> Result<bool> {
    Ok(true)
}

/// "run 12 (pid 345, started 2025-01-01T10:00:00Z) is importing into it",
/// from the database itself, read-only.
fn describe_holder(db: &Path) -> String {
    let holder = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        conn.query_row(
            "SELECT id, pid, started_at FROM import_runs WHERE state = 'running'
             ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(format!(
                    "run {} (pid {}, started {}) is importing into it",
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?
                ))
            },
        )
    });
    holder.unwrap_or_else(|_| "another run is starting on it".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = claim(&db).unwrap();
        let err = claim(&db).unwrap_err().to_string();
        assert!(err.contains("is busy"), "{err}");
        assert!(is_held(&db));
        drop(first);
        assert!(!is_held(&db));
        claim(&db).unwrap();
    }
}
