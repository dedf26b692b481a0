//! The range of every number the tool takes, from the command line or from
//! `importer.toml`, and the one check that enforces it (SPEC "Limits").
//!
//! Each option or key is a [`Limit`]: where it comes from (flag, config key,
//! or both), its smallest and largest value and its default. A value outside
//! the range, or one that is not a number of the right kind, is a usage error
//! naming the option and the range; nothing a user types reaches an
//! allocation, a thread pool or a timer unchecked. `--help`, the README and
//! `importer.toml` state the same ranges (a test in `cli` holds `--help` to
//! them). Of this crate it uses only [`crate::escape`].

use crate::escape;
use crate::units::exact_size;
use std::fmt;
use std::time::Duration;

/// A kind of number an option takes: how it is written and shown.
pub trait Quantity: Copy + PartialOrd {
    /// What a well-formed value looks like, for messages.
    const LOOKS_LIKE: &'static str;
    /// Parses the text of a flag (or a string in the config file).
    /// `Err(true)` means a well-formed value too large to hold.
    fn from_text(text: &str) -> Result<Self, bool>;
    /// Reads a config value (integers, floats or strings, as fits).
    fn from_toml(value: &toml::Value) -> Result<Self, bool> {
        match value {
            toml::Value::String(text) => Self::from_text(text),
            _ => Err(false),
        }
    }
    /// The value as a user would write it.
    fn show(self) -> String;
}

/// A whole number: a count of files, rows, runs, megabytes.
impl Quantity for u64 {
    const LOOKS_LIKE: &'static str = "a whole number";

    fn from_text(text: &str) -> Result<u64, bool> {
        let t = text.trim();
        let digits = t.strip_prefix('+').unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(false);
        }
        digits.parse().map_err(|_| true)
    }

    fn from_toml(value: &toml::Value) -> Result<u64, bool> {
        match value {
            // Below the range, whatever the minimum: reported as out of it.
            toml::Value::Integer(n) if *n < 0 => Err(true),
            toml::Value::Integer(n) => Ok(*n as u64),
            toml::Value::String(text) => u64::from_text(text),
            _ => Err(false),
        }
    }

    fn show(self) -> String {
        self.to_string()
    }
}

/// A number of bytes, written `50MB`, `2 GiB` or as plain bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl Quantity for Bytes {
    const LOOKS_LIKE: &'static str = "a size like 50MB, 100 MiB or 1048576";

    fn from_text(text: &str) -> Result<Bytes, bool> {
        parse_size(text)
            .map(Bytes)
            .map_err(|e| e.ends_with(TOO_LARGE))
    }

    fn from_toml(value: &toml::Value) -> Result<Bytes, bool> {
        match value {
            toml::Value::Integer(n) if *n < 0 => Err(true),
            toml::Value::Integer(n) => Ok(Bytes(*n as u64)),
            toml::Value::String(text) => Bytes::from_text(text),
            _ => Err(false),
        }
    }

    fn show(self) -> String {
        exact_size(self.0)
    }
}

/// A span of time, written `250ms`, `10s`, `1h 30m`.
impl Quantity for Duration {
    const LOOKS_LIKE: &'static str = "a duration like 250ms, 10s or 1h";

    fn from_text(text: &str) -> Result<Duration, bool> {
        humantime::parse_duration(text.trim())
            .map_err(|e| matches!(e, humantime::DurationError::NumberOverflow))
    }

    fn show(self) -> String {
        humantime::format_duration(self).to_string()
    }
}

/// A fraction or other real number.
impl Quantity for f64 {
    const LOOKS_LIKE: &'static str = "a number like 0.8";

    fn from_text(text: &str) -> Result<f64, bool> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_nan() => Err(false),
            Ok(v) => Ok(v),
            Err(_) => Err(false),
        }
    }

    fn from_toml(value: &toml::Value) -> Result<f64, bool> {
        match value {
            toml::Value::Float(v) if v.is_nan() => Err(false),
            toml::Value::Float(v) => Ok(*v),
            toml::Value::Integer(n) => Ok(*n as f64),
            _ => Err(false),
        }
    }

    fn show(self) -> String {
        self.to_string()
    }
}

/// One option's accepted values. `flag` and `key` name where it may be set
/// (the command line, `importer.toml`); messages name the one used.
#[derive(Debug, Clone, Copy)]
pub struct Limit<T> {
    pub flag: Option<&'static str>,
    pub key: Option<&'static str>,
    pub min: T,
    pub max: T,
    pub default: T,
    /// What is counted (`files`, `rows`), shown after the range.
    pub unit: &'static str,
}

/// A value outside its range, or not a value of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRange(pub String);

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OutOfRange {}

impl<T: Quantity> Limit<T> {
    /// The range as the help and the messages write it: `1 to 64 files`.
    pub fn range(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!("{} to {}{unit}", self.min.show(), self.max.show())
    }

    /// The value from the command line, else from the config file, else the
    /// default; checked against the range.
    pub fn pick(&self, flag: Option<&str>, config: Option<&toml::Value>) -> Result<T, OutOfRange> {
        match (flag, config) {
            (Some(text), _) => self.flag_value(text),
            (None, Some(value)) => self.config_value(value),
            (None, None) => Ok(self.default),
        }
    }

    /// Checks the text given to the flag.
    pub fn flag_value(&self, text: &str) -> Result<T, OutOfRange> {
        let name = self.flag.or(self.key).unwrap_or("value");
        self.checked(name, T::from_text(text), || escape::quoted(text))
    }

    /// Checks a value from the config file.
    pub fn config_value(&self, value: &toml::Value) -> Result<T, OutOfRange> {
        let name = self.key.or(self.flag).unwrap_or("value");
        self.checked(name, T::from_toml(value), || {
            escape::clipped(&value.to_string()).into_owned()
        })
    }

    fn checked(
        &self,
        name: &str,
        parsed: Result<T, bool>,
        shown: impl Fn() -> String,
    ) -> Result<T, OutOfRange> {
        match parsed {
            Ok(v) if v >= self.min && v <= self.max => Ok(v),
            Ok(_) | Err(true) => Err(OutOfRange(format!(
                "{name} must be {}; {} is out of range",
                self.range(),
                shown()
            ))),
            Err(false) => Err(OutOfRange(format!(
                "{name}: expected {} ({}), got {}",
                T::LOOKS_LIKE,
                self.range(),
                shown()
            ))),
        }
    }
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const TIB: u64 = 1 << 40;

// ---------------------------------------------------------------------------
// Every number the tool takes. README "Limits" lists the same.

/// `-j/--jobs`: each reader holds a file open and a chunk or two in memory;
/// one writer sets the pace, so more than 8 is never faster.
pub const JOBS: Limit<u64> = Limit {
    flag: Some("--jobs"),
    key: Some("streaming_import.max_concurrent_files"),
    min: 1,
    max: 64,
    default: 5,
    unit: "files",
};

/// `--chunk-size`: a chunk's rows are held in memory (twice per reader).
pub const CHUNK_SIZE: Limit<u64> = Limit {
    flag: Some("--chunk-size"),
    key: Some("streaming_import.chunk_size"),
    min: 1,
    max: 100_000,
    default: 1000,
    unit: "rows",
};

pub const MAX_FILE_SIZE: Limit<Bytes> = Limit {
    flag: Some("--max-file-size"),
    key: Some("streaming_import.max_file_size"),
    min: Bytes(1),
    max: Bytes(TIB),
    default: Bytes(100 * MIB),
    unit: "",
};

/// A record (CSV row) longer than this is rejected without being held;
/// each reader may hold one record this long.
pub const MAX_RECORD_SIZE: Limit<Bytes> = Limit {
    flag: Some("--max-record-size"),
    key: Some("streaming_import.max_record_size"),
    min: Bytes(KIB),
    max: Bytes(64 * MIB),
    default: Bytes(MIB),
    unit: "",
};

pub const COMMIT_INTERVAL: Limit<Duration> = Limit {
    flag: Some("--commit-interval"),
    key: Some("streaming_import.commit_interval"),
    min: Duration::ZERO,
    max: Duration::from_secs(3600),
    default: Duration::from_millis(250),
    unit: "",
};

/// `[database] lease` (PostgreSQL): how long a run's claim on a file lasts
/// without a commit to renew it.
pub const LEASE: Limit<Duration> = Limit {
    flag: None,
    key: Some("database.lease"),
    min: Duration::from_secs(1),
    max: Duration::from_secs(3600),
    default: Duration::from_secs(30),
    unit: "",
};

/// `--max-errors`: 0 means no limit.
pub const MAX_ERRORS: Limit<u64> = Limit {
    flag: Some("--max-errors"),
    key: Some("import.max_errors"),
    min: 0,
    max: 1_000_000_000,
    default: 0,
    unit: "rows",
};

/// `max_memory_mb`, in MB of 10^6 bytes: up to a terabyte.
pub const MAX_MEMORY_MB: Limit<u64> = Limit {
    flag: None,
    key: Some("memory_optimizer.max_memory_mb"),
    min: 1,
    max: 1_000_000,
    default: 1024,
    unit: "MB",
};

/// `check_interval`: how often resident memory is read; never a busy loop.
pub const CHECK_INTERVAL: Limit<Duration> = Limit {
    flag: None,
    key: Some("memory_optimizer.check_interval"),
    min: Duration::from_millis(1),
    max: Duration::from_secs(3600),
    default: Duration::from_secs(10),
    unit: "",
};

/// `force_gc_threshold`: the share of `max_memory_mb` past which chunks shrink.
pub const FORCE_GC_THRESHOLD: Limit<f64> = Limit {
    flag: None,
    key: Some("memory_optimizer.force_gc_threshold"),
    min: 0.01,
    max: 1.0,
    default: 0.8,
    unit: "",
};

/// `status --limit`: how many recent runs are listed.
pub const STATUS_LIMIT: Limit<u64> = Limit {
    flag: Some("--limit"),
    key: None,
    min: 1,
    max: 10_000,
    default: 20,
    unit: "runs",
};

/// `status RUN_ID`: run ids start at 1 (SQLite rowids).
pub const RUN_ID: Limit<u64> = Limit {
    flag: Some("RUN_ID"),
    key: None,
    min: 1,
    max: i64::MAX as u64,
    default: 1,
    unit: "",
};

/// `recommend --file-count`.
pub const FILE_COUNT: Limit<u64> = Limit {
    flag: Some("--file-count"),
    key: None,
    min: 1,
    max: 1_000_000,
    default: 1,
    unit: "files",
};

/// `recommend --avg-file-size`: as large as `max_file_size` may be.
pub const AVG_FILE_SIZE: Limit<Bytes> = Limit {
    flag: Some("--avg-file-size"),
    key: None,
    min: Bytes(1),
    max: Bytes(TIB),
    default: Bytes(MIB),
    unit: "",
};

/// `"<key> must be <range>"` for the config key `name` (with or without its
/// section), for a config file that does not even parse (a number too large
/// for TOML itself).
pub fn key_range(name: &str) -> Option<String> {
    let keyed = [
        (JOBS.key, JOBS.range()),
        (CHUNK_SIZE.key, CHUNK_SIZE.range()),
        (MAX_FILE_SIZE.key, MAX_FILE_SIZE.range()),
        (MAX_RECORD_SIZE.key, MAX_RECORD_SIZE.range()),
        (COMMIT_INTERVAL.key, COMMIT_INTERVAL.range()),
        (LEASE.key, LEASE.range()),
        (MAX_ERRORS.key, MAX_ERRORS.range()),
        (MAX_MEMORY_MB.key, MAX_MEMORY_MB.range()),
        (CHECK_INTERVAL.key, CHECK_INTERVAL.range()),
        (FORCE_GC_THRESHOLD.key, FORCE_GC_THRESHOLD.range()),
    ];
    keyed.into_iter().find_map(|(key, range)| {
        let key = key?;
        (key == name || key.rsplit('.').next() == Some(name))
            .then(|| format!("{key} must be {range}"))
    })
}

// ---------------------------------------------------------------------------
// Sizes

const TOO_LARGE: &str = "is too large";

/// Sizes: plain bytes, or a number with `B`, `KB`/`MB`/`GB`/`TB` (10^3 steps)
/// or `KiB`/`MiB`/`GiB`/`TiB` (2^10 steps); spaces and case do not matter.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => KIB,
        "mib" => MIB,
        "gib" => 1 << 30,
        "tib" => TIB,
        _ => return Err(format!("{text:?}: unknown unit (use B, MB, MiB, GB, GiB)")),
    };
    let bad = || format!("{text:?} is not a size like 50MB, 100 MiB or 1048576");
    if number.is_empty() {
        return Err(bad());
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let whole = |s: &str| -> Result<Option<u64>, String> {
        if !all_digits(s) {
            return Err(bad());
        }
        // Digits only: a parse failure is an overflow.
        Ok(s.parse::<u64>().ok())
    };
    let bytes = match number.split_once('.') {
        None => whole(number)?.and_then(|n| n.checked_mul(factor)),
        Some((int, frac)) => {
            let int = if int.is_empty() { Some(0) } else { whole(int)? };
            if frac.is_empty() || !all_digits(frac) {
                return Err(bad());
            }
            // Digits past the ninth cannot add a byte to any unit here.
            let frac = &frac[..frac.len().min(9)];
            let scale = 10u64.pow(frac.len() as u32);
            let part: u64 = frac.parse().map_err(|_| bad())?;
            int.and_then(|i| i.checked_mul(factor))
                .and_then(|w| w.checked_add(part.checked_mul(factor)? / scale))
        }
    };
    bytes.ok_or_else(|| format!("{text:?} {TOO_LARGE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100 MiB"), Ok(100 << 20));
        assert_eq!(parse_size("50MB"), Ok(50_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("1.5 kb"), Ok(1500));
        assert_eq!(parse_size("0.0000000001 TB"), Ok(0));
        assert!(parse_size("MB").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-5MB").is_err());
        for huge in [
            "99999999999 TiB",
            "18446744073709551616",
            "99999999999999999999999999 B",
            "99999999999999999999.5 MB",
        ] {
            let err = parse_size(huge).unwrap_err();
            assert!(err.ends_with(TOO_LARGE), "{huge}: {err}");
        }
    }

    fn int(n: i64) -> toml::Value {
        toml::Value::Integer(n)
    }

    fn text(s: &str) -> toml::Value {
        toml::Value::String(s.into())
    }

    #[test]
    fn the_flag_wins_then_the_key_then_the_default() {
        assert_eq!(JOBS.pick(Some("3"), Some(&int(7))), Ok(3));
        assert_eq!(JOBS.pick(None, Some(&int(7))), Ok(7));
        assert_eq!(JOBS.pick(None, None), Ok(5));
        assert_eq!(
            MAX_FILE_SIZE.pick(None, Some(&text("1 MB"))),
            Ok(Bytes(1_000_000))
        );
        assert_eq!(MAX_FILE_SIZE.pick(None, Some(&int(1000))), Ok(Bytes(1000)));
        assert_eq!(COMMIT_INTERVAL.pick(Some("0s"), None), Ok(Duration::ZERO));
        assert_eq!(FORCE_GC_THRESHOLD.pick(None, Some(&int(1))), Ok(1.0));
    }

    #[test]
    fn out_of_range_and_malformed_values_name_the_option_and_the_range() {
        let flags: [(&str, Result<(), OutOfRange>); 6] = [
            ("0", JOBS.flag_value("0").map(drop)),
            ("100000", JOBS.flag_value("100000").map(drop)),
            ("huge", JOBS.flag_value("18446744073709551616").map(drop)),
            ("neg", JOBS.flag_value("-1").map(drop)),
            ("word", JOBS.flag_value("many").map(drop)),
            ("float", JOBS.flag_value("1.5").map(drop)),
        ];
        for (what, r) in flags {
            let e = r.expect_err(what).0;
            assert!(e.contains("--jobs") && e.contains("1 to 64 files"), "{e}");
        }
        for text in ["abc", "1.5", "-1", ""] {
            let e = JOBS.flag_value(text).unwrap_err().0;
            assert!(
                e.starts_with("--jobs: expected a whole number (1 to 64 files), got "),
                "{e}"
            );
        }
        let e = CHUNK_SIZE
            .config_value(&toml::Value::Float(1.5))
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "streaming_import.chunk_size: expected a whole number (1 to 100000 rows), got 1.5"
        );
        for (limit_err, name, range) in [
            (
                CHUNK_SIZE.config_value(&int(-5)).map(drop),
                "streaming_import.chunk_size",
                "1 to 100000 rows",
            ),
            (
                MAX_MEMORY_MB
                    .config_value(&int(18_446_744_073_710))
                    .map(drop),
                "memory_optimizer.max_memory_mb",
                "1 to 1000000 MB",
            ),
            (
                CHECK_INTERVAL.config_value(&text("0s")).map(drop),
                "memory_optimizer.check_interval",
                "1ms to 1h",
            ),
            (
                CHECK_INTERVAL.config_value(&int(5)).map(drop),
                "memory_optimizer.check_interval",
                "1ms to 1h",
            ),
            (
                COMMIT_INTERVAL
                    .config_value(&text("99999999999999999999999s"))
                    .map(drop),
                "streaming_import.commit_interval",
                "0s to 1h",
            ),
            (
                FORCE_GC_THRESHOLD
                    .config_value(&toml::Value::Float(f64::NAN))
                    .map(drop),
                "memory_optimizer.force_gc_threshold",
                "0.01 to 1",
            ),
            (
                FORCE_GC_THRESHOLD
                    .config_value(&toml::Value::Float(f64::INFINITY))
                    .map(drop),
                "memory_optimizer.force_gc_threshold",
                "0.01 to 1",
            ),
            (
                MAX_FILE_SIZE
                    .config_value(&text("99999999999 TiB"))
                    .map(drop),
                "streaming_import.max_file_size",
                "1 B to 1 TiB",
            ),
            (
                MAX_FILE_SIZE.config_value(&int(0)).map(drop),
                "streaming_import.max_file_size",
                "1 B to 1 TiB",
            ),
            (
                MAX_ERRORS
                    .config_value(&toml::Value::Boolean(true))
                    .map(drop),
                "import.max_errors",
                "0 to 1000000000 rows",
            ),
        ] {
            let e = limit_err.expect_err(name).0;
            assert!(e.contains(name) && e.contains(range), "{e}");
        }
    }

    #[test]
    fn config_keys_are_found_with_or_without_their_section() {
        assert_eq!(
            key_range("max_memory_mb").as_deref(),
            Some("memory_optimizer.max_memory_mb must be 1 to 1000000 MB")
        );
        assert!(key_range("streaming_import.chunk_size").is_some());
        assert_eq!(key_range("channel"), None);
    }

    #[test]
    fn a_long_bad_value_is_quoted_short_and_escaped() {
        let long = format!("\u{1b}{}", "9".repeat(10_000));
        let e = JOBS.flag_value(&long).unwrap_err().0;
        assert!(e.len() < escape::QUOTED_BYTES + 100, "{e}");
        assert!(!e.contains('\u{1b}') && e.contains("\\x1b"), "{e}");
    }
}
