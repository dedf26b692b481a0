//! Stored times: read, and shown in the local time zone.

use super::*;

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
