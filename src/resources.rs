//! What the process used: peak resident memory and CPU time, read from the
//! operating system at the end of a run.

/// Peak resident set size in bytes and user/system CPU time in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub peak_rss_bytes: u64,
    pub user_ms: u64,
    pub system_ms: u64,
}

#[cfg(unix)]
pub fn usage() -> Usage {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Usage::default();
    }
    let ms = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
    // Linux reports ru_maxrss in KiB, macOS in bytes.
    let scale = if cfg!(target_os = "macos") { 1 } else { 1024 };
    Usage {
        // Linux carries ru_maxrss over from the process that started this
        // one (its peak before exec): a large parent would show as ours.
        peak_rss_bytes: own_peak_rss().unwrap_or(ru.ru_maxrss as u64 * scale),
        user_ms: ms(ru.ru_utime),
        system_ms: ms(ru.ru_stime),
    }
}

/// This process's own peak resident set (`VmHWM`), which starts afresh at
/// exec.
#[cfg(target_os = "linux")]
fn own_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn own_peak_rss() -> Option<u64> {
    None
}

#[cfg(not(unix))]
pub fn usage() -> Usage {
    Usage::default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_some_memory() {
        assert!(super::usage().peak_rss_bytes > 0);
    }
}
