//! Units and times: bytes, durations and stored times as people read them.

use super::*;

/// `512 B`, `24.1 MiB`.
pub(super) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub(super) fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        let s = ms / 1000;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = ms / 60_000;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// `<1s`, `~42s`, `~4m 05s`, `~2h 03m`: an ETA, whole seconds, approximate.
pub(super) fn human_secs(secs: u64) -> String {
    match secs {
        0 => "<1s".into(),
        1..60 => format!("~{secs}s"),
        _ => format!("~{}", human_ms(secs * 1000)),
    }
}

/// A time as stored (RFC 3339, UTC); `None` when it is not one.
pub(super) fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// A stored time in the local time zone: `2025-01-01T17:00:00+07:00`, or
/// without the offset and with a space for a table. Shown as stored when it
/// cannot be read.
pub(super) fn local_time(stored: &str, with_offset: bool) -> String {
    let Some(t) = parse_time(stored) else {
        return stored.to_string();
    };
    let Some((civil, offset_secs)) = local(t) else {
        return stored.to_string();
    };
    if !with_offset {
        return civil.replacen('T', " ", 1);
    }
    if offset_secs == 0 {
        return format!("{civil}Z");
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let off = offset_secs.unsigned_abs() / 60;
    format!("{civil}{sign}{:02}:{:02}", off / 60, off % 60)
}

/// `YYYY-MM-DDTHH:MM:SS` in local time, and the offset from UTC in seconds.
#[cfg(unix)]
pub(super) fn local(t: SystemTime) -> Option<(String, i64)> {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let secs = libc::time_t::try_from(secs).ok()?;
    // SAFETY: localtime_r only writes into the `tm` we own and reads `secs`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return None;
    }
    Some((
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            tm.tm_year as i64 + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        ),
        tm.tm_gmtoff as i64,
    ))
}

#[cfg(not(unix))]
pub(super) fn local(t: SystemTime) -> Option<(String, i64)> {
    let utc = humantime::format_rfc3339_seconds(t).to_string();
    Some((utc.trim_end_matches('Z').to_string(), 0))
}
