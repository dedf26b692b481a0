//! One run at a time: an exclusive claim on a database, held for the whole
//! run.
//!
//! The claim is an advisory lock (`flock`) on the database file itself, so
//! it belongs to the file, not to a name: every symlink and hard link of a
//! database shares it, and deleting or replacing files beside the database
//! changes nothing. The kernel drops it when the process ends in any way,
//! kill -9 and power loss included, so a killed holder never blocks the next
//! run: its claim is simply gone, and the next run marks the dead run
//! `interrupted`. A second run while the first is alive fails at once and
//! names the holder.
//!
//! Who holds a claim is written to `<database>.lock` (pid, host, start) for
//! the runs it turns away; that file only describes, it guards nothing.
//!
//! SQLite locks with `fcntl`, which on Linux is independent of `flock`, but
//! POSIX drops all of a process's `fcntl` locks on a file when it closes any
//! descriptor of that file. So the claim's descriptor is closed only after
//! the run's SQLite connections (the caller drops it last), and a probe
//! ([`is_held`]) keeps its descriptor open until the process ends instead
//! of closing it under a connection of the same process.

use crate::paths::identity;
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Held while a run writes to a database; released on drop or exit. Drop
/// it after every SQLite connection to the database this process holds.
#[derive(Debug)]
pub struct Claim {
    info: PathBuf,
    /// The database file, locked; closing it releases the claim.
    _file: File,
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Removed while the claim is still held, so the next holder's own
        // description is never removed by this one.
        let _ = std::fs::remove_file(&self.info);
    }
}

/// The file beside a database that describes its holder, found through
/// symlinks, so two names of one database usually share it.
pub fn lock_path(db: &Path) -> PathBuf {
    super::schema::beside(db, ".lock")
}

/// Claims `db` for this process, or fails naming the run that holds it. A
/// missing database file is created empty (SQLite takes an empty file as a
/// new database).
pub fn claim(db: &Path) -> Result<Claim> {
    super::schema::check_place(db)?;
    let file = open_for_claim(db)?;
    // A few quick tries: `status` probes the claim for an instant. A holder
    // that cannot be named has just ended (or not yet described itself):
    // a few more tries tell which.
    let mut attempt = 0;
    loop {
        match file.try_lock() {
            Ok(()) => {
                let info = lock_path(db);
                // Only a description: a run that cannot write it still holds
                // the database.
                let _ = std::fs::write(&info, Holder::me(&file).to_text());
                return Ok(Claim { info, _file: file });
            }
            Err(TryLockError::WouldBlock) if attempt >= 5 => {
                let holder = describe_holder(db, &file);
                if holder.is_some() || attempt >= 10 {
                    let holder =
                        holder.unwrap_or_else(|| "another run is importing into it".into());
                    bail!(
                        "{} is busy: {holder}; wait for it to end, or stop it (it resumes where it stopped)",
                        db.display()
                    );
                }
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => bail!("cannot lock {}: {e}", db.display()),
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
        attempt += 1;
    }
}

/// Opens the database file to lock it, creating it when missing. A file
/// that cannot be opened for writing is opened to read: the lock works all
/// the same, and SQLite then says why it cannot write.
fn open_for_claim(db: &Path) -> Result<File> {
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(db);
    let file = match created {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && db.is_file() => {
            File::open(db).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?
        }
        Err(e) => bail!("cannot open {}: {e}", db.display()),
    };
    if !file.metadata()?.is_file() {
        bail!("cannot open {}: it is not a file", db.display());
    }
    Ok(file)
}

/// True when a live run holds `db` (its claim cannot be taken). Used by
/// readers such as `status` to tell a running import from a killed one.
///
/// The descriptor it opens stays open until the process ends: closing it
/// would drop the `fcntl` locks of this process's own SQLite connections to
/// the same file.
pub fn is_held(db: &Path) -> bool {
    static PROBES: Mutex<Option<HashMap<PathBuf, File>>> = Mutex::new(None);
    let Ok(mut probes) = PROBES.lock() else {
        return false;
    };
    let probes = probes.get_or_insert_with(HashMap::new);
    if !probes.contains_key(db) {
        let Ok(file) = File::open(db) else {
            return false;
        };
        probes.insert(db.to_path_buf(), file);
    }
    let Some(file) = probes.get(db) else {
        return false;
    };
    // A shared lock for an instant: it only conflicts with a run's claim.
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// What a claim's holder writes about itself beside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    host: String,
    started: String,
    /// The database file (device, inode) it holds: a description left by a
    /// run on another file of the same name is not believed.
    file: (u64, u64),
}

impl Holder {
    fn me(file: &File) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            file: file_id(file),
        }
    }

    fn to_text(&self) -> String {
        format!(
            "pid {}\nhost {}\nstarted {}\nfile {}:{}\n",
            self.pid, self.host, self.started, self.file.0, self.file.1
        )
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut fields = HashMap::new();
        for line in text.lines() {
            let (key, value) = line.split_once(' ')?;
            fields.insert(key, value);
        }
        let (dev, ino) = fields.get("file")?.split_once(':')?;
        Some(Holder {
            pid: fields.get("pid")?.parse().ok()?,
            host: fields.get("host")?.to_string(),
            started: fields.get("started")?.to_string(),
            file: (dev.parse().ok()?, ino.parse().ok()?),
        })
    }
}

fn file_id(file: &File) -> (u64, u64) {
    file.metadata().map(|m| meta_id(&m)).unwrap_or((0, 0))
}

fn meta_id(meta: &std::fs::Metadata) -> (u64, u64) {
    identity(meta).unwrap_or((0, 0))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".to_string())
}

/// "run 12 (pid 345 on host db1, started 2025-01-01T10:00:00Z) is importing
/// into it": the holder's own description, with its run from the database
/// (read-only) once it has recorded one.
fn describe_holder(db: &Path, file: &File) -> Option<String> {
    let holder = std::fs::read_to_string(lock_path(db))
        .ok()
        .and_then(|text| Holder::parse(&text))
        .filter(|h| h.file == file_id(file));
    let pid = holder
        .as_ref()
        .map(|h| h.pid)
        .or_else(|| flock_holder(file));
    // The holder may know the file by another name (a hard link): its
    // description and its write-ahead log are beside that name.
    let name = match (&holder, pid) {
        (None, Some(pid)) => holders_name(pid, file).unwrap_or_else(|| db.to_path_buf()),
        _ => db.to_path_buf(),
    };
    let holder = holder.or_else(|| {
        std::fs::read_to_string(lock_path(&name))
            .ok()
            .and_then(|text| Holder::parse(&text))
            .filter(|h| h.file == file_id(file))
    });
    let run = newest_running_run(&name, pid);
    Some(match (holder, run) {
        (Some(h), Some((id, _, _))) => format!(
            "run {id} (pid {} on host {}, started {}) is importing into it",
            h.pid, h.host, h.started
        ),
        (Some(h), None) => format!(
            "a run (pid {} on host {}, started {}) is importing into it",
            h.pid, h.host, h.started
        ),
        (None, Some((id, pid, started))) => {
            format!("run {id} (pid {pid}, started {started}) is importing into it")
        }
        (None, None) => format!("a run (pid {}) is importing into it", pid?),
    })
}

/// The newest run marked running (of `pid` when known): id, pid, start.
///
/// Read through this name's write-ahead log when it has one (the holder
/// uses this name or a symlink to it), otherwise from the database file alone: opening the log
/// of a name the holder does not use would create files beside it.
fn newest_running_run(db: &Path, pid: Option<u32>) -> Option<(i64, i64, String)> {
    // SQLite names the log after the real file, through symlinks.
    let db = &std::fs::canonicalize(db).ok()?;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let immutable = !Path::new(&wal).exists();
    let conn = rusqlite::Connection::open_with_flags(
        super::schema::read_only_uri(db, immutable),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(std::time::Duration::from_secs(2)).ok()?;
    conn.query_row(
        "SELECT id, pid, started_at FROM import_runs
         WHERE state = 'running' AND (?1 IS NULL OR pid = ?1)
         ORDER BY id DESC LIMIT 1",
        [pid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

/// The name under which process `pid` has `file` open, from its open
/// descriptors (Linux); `None` when they cannot be read.
fn holders_name(pid: u32, file: &File) -> Option<PathBuf> {
    let wanted = file_id(file);
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .find(|target| {
            // Only `stat`: opening and closing the file here would drop
            // this process's own `fcntl` locks on it (see the module doc).
            target.is_absolute() && std::fs::metadata(target).is_ok_and(|m| meta_id(&m) == wanted)
        })
}

/// The process holding the exclusive `flock` on `file`, from the kernel's
/// list of locks (Linux): the holder when its description is missing.
fn flock_holder(file: &File) -> Option<u32> {
    let inode = file_id(file).1.to_string();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 345 08:01:1234 0 EOF"
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kind, mode, pid, at) = (f.get(1)?, f.get(3)?, f.get(4)?, f.get(5)?);
        let matches = *kind == "FLOCK" && *mode == "WRITE" && at.rsplit(':').next() == Some(&inode);
        matches.then(|| pid.parse().ok()).flatten()
    })
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
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(is_held(&db));
        drop(first);
        assert!(!is_held(&db));
        claim(&db).unwrap();
    }

    #[test]
    fn the_claim_belongs_to_the_file_not_to_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let _first = claim(&db).unwrap();
        std::fs::remove_file(lock_path(&db)).unwrap();
        assert!(
            claim(&db).is_err(),
            "deleting the description frees nothing"
        );
        let link = dir.path().join("y.db");
        std::fs::hard_link(&db, &link).unwrap();
        let err = claim(&link).unwrap_err().to_string();
        assert!(err.contains("is busy"), "{err}");
        // No description beside this name: the kernel still knows the pid.
        let me = format!("pid {}", std::process::id());
        assert!(err.contains(&me), "{err}");
        assert!(!dir.path().join("y.db-wal").exists());
        assert!(is_held(&link));
    }

    #[test]
    fn a_holder_description_reads_back() {
        let h = Holder {
            pid: 7,
            host: "db-1".into(),
            started: "2025-01-01T10:00:00Z".into(),
            file: (3, 99),
        };
        assert_eq!(Holder::parse(&h.to_text()), Some(h));
        assert_eq!(Holder::parse("pid x\n"), None);
    }
}
