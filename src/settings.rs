//! Settings: the command line and `importer.toml` merged into one validated
//! value before any thread starts. The command line wins over the file, the
//! file over the defaults. Nothing past this module reads flags or config.

use crate::cli::{EncodingArg, ImportArgs, OnDuplicateArg, ProgressArg};
use crate::fields::{DecimalSeparator, UtcOffset};
use crate::rows::{Encoding, Rules};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A usage or config mistake: the run exits 2.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// `importer.toml`; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub streaming_import: StreamingConfig,
    #[serde(default)]
    pub memory_optimizer: MemoryConfig,
    #[serde(default)]
    pub import: ImportConfig,
    #[serde(default)]
    pub columns: HashMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamingConfig {
    pub chunk_size: Option<usize>,
    pub max_concurrent_files: Option<usize>,
    pub max_file_size: Option<SizeValue>,
    pub max_record_size: Option<SizeValue>,
    pub enable_memory_optimization: Option<bool>,
    pub commit_interval: Option<String>,
}

/// A size written as a number of bytes or as text (`"100 MiB"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    pub max_memory_mb: Option<u64>,
    pub check_interval: Option<String>,
    pub force_gc_threshold: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    pub on_duplicate: Option<String>,
    pub channel: Option<String>,
    pub max_errors: Option<u64>,
    pub strict: Option<bool>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub timezone: Option<String>,
    pub decimal_separator: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    Skip,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressMode {
    Auto,
    Bars,
    Log,
    None,
}

/// Everything an import run needs to know, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub inputs: Vec<String>,
    pub db: PathBuf,
    pub config: Option<PathBuf>,
    pub jobs: usize,
    pub chunk_size: usize,
    pub max_file_size: u64,
    pub max_record_size: u64,
    #[serde(with = "humantime_serde_secs")]
    pub commit_interval: Duration,
    pub dry_run: bool,
    pub on_duplicate: OnDuplicate,
    pub max_errors: u64,
    pub force: bool,
    pub rejects: Option<PathBuf>,
    pub report: Option<PathBuf>,
    /// `None`: found from the header line.
    pub delimiter: Option<u8>,
    pub progress: ProgressMode,
    pub quiet: bool,
    pub allow_empty: bool,
    pub memory_optimization: bool,
    pub max_memory_bytes: u64,
    #[serde(with = "humantime_serde_secs")]
    pub check_interval: Duration,
    pub force_gc_threshold: f64,
    #[serde(skip)]
    pub rules: Rules,
    #[serde(skip)]
    pub columns: HashMap<String, Vec<String>>,
}

mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

pub const DEFAULT_CONFIG: &str = "importer.toml";

fn parse_duration(text: &str, what: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text).map_err(|e| usage(format!("{what}: {text:?}: {e}")))
}

impl Settings {
    /// Merges the command line with the config file named by `-c`, or
    /// `./importer.toml` when present.
    pub fn from_args(args: ImportArgs) -> anyhow::Result<Settings> {
        let (config, config_path) = match &args.config {
            Some(path) => (load_config(path)?, Some(path.clone())),
            None if Path::new(DEFAULT_CONFIG).is_file() => (
                load_config(Path::new(DEFAULT_CONFIG))?,
                Some(PathBuf::from(DEFAULT_CONFIG)),
            ),
            None => (Config::default(), None),
        };
        Settings::merge(args, config, config_path)
    }

    fn merge(
        args: ImportArgs,
        config: Config,
        config_path: Option<PathBuf>,
    ) -> anyhow::Result<Settings> {
        let stream = config.streaming_import;
        let mem = config.memory_optimizer;
        let imp = config.import;

        let jobs = args.jobs.or(stream.max_concurrent_files).unwrap_or(5);
        if jobs == 0 {
            return Err(usage("jobs must be at least 1"));
        }
        let chunk_size = args.chunk_size.or(stream.chunk_size).unwrap_or(1000);
        if chunk_size == 0 {
            return Err(usage("chunk size must be at least 1"));
        }
        let max_file_size = match (&args.max_file_size, stream.max_file_size) {
            (Some(text), _) => {
                parse_size(text).map_err(|e| usage(format!("--max-file-size: {e}")))?
            }
            (None, Some(SizeValue::Bytes(n))) => n,
            (None, Some(SizeValue::Text(text))) => parse_size(&text)
                .map_err(|e| usage(format!("streaming_import.max_file_size: {e}")))?,
            (None, None) => 100 << 20,
        };
        let max_record_size = match (&args.max_record_size, stream.max_record_size) {
            (Some(text), _) => {
                parse_size(text).map_err(|e| usage(format!("--max-record-size: {e}")))?
            }
            (None, Some(SizeValue::Bytes(n))) => n,
            (None, Some(SizeValue::Text(text))) => parse_size(&text)
                .map_err(|e| usage(format!("streaming_import.max_record_size: {e}")))?,
            (None, None) => 1 << 20,
        };
        if max_record_size == 0 {
            return Err(usage("max_record_size must be at least 1 byte"));
        }
        let commit_interval = match (&args.commit_interval, &stream.commit_interval) {
            (Some(text), _) => parse_duration(text, "--commit-interval")?,
            (None, Some(text)) => parse_duration(text, "streaming_import.commit_interval")?,
            (None, None) => Duration::from_millis(250),
        };
        let on_duplicate = match args.on_duplicate {
            Some(OnDuplicateArg::Skip) => OnDuplicate::Skip,
            Some(OnDuplicateArg::Update) => OnDuplicate::Update,
            None => match imp.on_duplicate.as_deref().unwrap_or("skip") {
                "skip" => OnDuplicate::Skip,
                "update" => OnDuplicate::Update,
                other => {
                    return Err(usage(format!(
                        "import.on_duplicate: {other:?} is not one of \"skip\", \"update\""
                    )));
                }
            },
        };
        let encoding = match args.encoding {
            Some(EncodingArg::Auto) => Encoding::Auto,
            Some(EncodingArg::Utf8) => Encoding::Utf8,
            Some(EncodingArg::Windows1252) => Encoding::Windows1252,
            None => match imp
                .encoding
                .as_deref()
                .unwrap_or("auto")
                .to_ascii_lowercase()
                .as_str()
            {
                "auto" => Encoding::Auto,
                "utf-8" | "utf8" => Encoding::Utf8,
                "windows-1252" | "cp1252" => Encoding::Windows1252,
                other => {
                    return Err(usage(format!(
                        "import.encoding: {other:?} is not one of \"auto\", \"utf-8\", \"windows-1252\""
                    )));
                }
            },
        };
        let delimiter = match (&args.delimiter, &imp.delimiter) {
            (Some(d), _) => parse_delimiter(d).map_err(|e| usage(format!("--delimiter: {e}")))?,
            (None, Some(d)) => {
                parse_delimiter(d).map_err(|e| usage(format!("import.delimiter: {e}")))?
            }
            (None, None) => None,
        };
        let timezone: UtcOffset = match &imp.timezone {
            Some(tz) => tz
                .parse()
                .map_err(|e| usage(format!("import.timezone: {tz:?}: {e}")))?,
            None => UtcOffset::default(),
        };
        let decimal_separator = match imp.decimal_separator.as_deref().unwrap_or(".") {
            "." => DecimalSeparator::Dot,
            "," => DecimalSeparator::Comma,
            other => {
                return Err(usage(format!(
                    "import.decimal_separator: {other:?} is not \".\" or \",\""
                )));
            }
        };
        let channel = args
            .channel
            .or(imp.channel)
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty());
        let progress = match args.progress {
            Some(ProgressArg::Auto) | None => ProgressMode::Auto,
            Some(ProgressArg::Bars) => ProgressMode::Bars,
            Some(ProgressArg::Log) => ProgressMode::Log,
            Some(ProgressArg::None) => ProgressMode::None,
        };
        let check_interval = match &mem.check_interval {
            Some(text) => parse_duration(text, "memory_optimizer.check_interval")?,
            None => Duration::from_secs(10),
        };
        let force_gc_threshold = mem.force_gc_threshold.unwrap_or(0.8);
        if !(force_gc_threshold > 0.0 && force_gc_threshold <= 1.0) {
            return Err(usage(
                "memory_optimizer.force_gc_threshold must be above 0 and at most 1",
            ));
        }
        let max_memory_mb = mem.max_memory_mb.unwrap_or(1024);
        if max_memory_mb == 0 {
            return Err(usage("memory_optimizer.max_memory_mb must be at least 1"));
        }
        crate::columns::Names::new(&config.columns).map_err(usage)?;

        Ok(Settings {
            inputs: args.inputs,
            db: args
                .db
                .or(config.database.path)
                .unwrap_or_else(|| PathBuf::from("dropship.db")),
            config: config_path,
            jobs,
            chunk_size,
            max_file_size,
            max_record_size,
            commit_interval,
            dry_run: args.dry_run,
            on_duplicate,
            max_errors: args.max_errors.or(imp.max_errors).unwrap_or(0),
            force: args.force,
            rejects: args.rejects,
            report: args.report,
            delimiter,
            progress,
            quiet: args.quiet,
            allow_empty: args.allow_empty,
            memory_optimization: stream.enable_memory_optimization.unwrap_or(true),
            max_memory_bytes: max_memory_mb * 1_000_000,
            check_interval,
            force_gc_threshold,
            rules: Rules {
                decimal_separator,
                timezone,
                strict: args.strict || imp.strict.unwrap_or(false),
                channel,
                encoding,
            },
            columns: config.columns,
        })
    }
}

fn load_config(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("config {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| usage(format!("config {}: {e}", path.display())))
}

/// `auto` → `None`; `,`, `;`, `tab` (or a literal tab), `|` → that byte.
pub fn parse_delimiter(text: &str) -> Result<Option<u8>, String> {
    match text {
        "auto" => Ok(None),
        "," | "comma" => Ok(Some(b',')),
        ";" | "semicolon" => Ok(Some(b';')),
        "tab" | "\t" | "\\t" => Ok(Some(b'\t')),
        "|" | "pipe" => Ok(Some(b'|')),
        other => Err(format!(
            "{other:?} is not one of auto, \",\", \";\", tab, \"|\""
        )),
    }
}

/// Sizes: plain bytes, or a number with `B`, `KB`/`MB`/`GB` (10^3 steps) or
/// `KiB`/`MiB`/`GiB` (2^10 steps); spaces and case do not matter.
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
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(format!("{text:?}: unknown unit (use B, MB, MiB, GB, GiB)")),
    };
    let bad = || format!("{text:?} is not a size like 50MB, 100 MiB or 1048576");
    if number.is_empty() {
        return Err(bad());
    }
    let bytes = match number.split_once('.') {
        None => number
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_mul(factor),
        Some((int, frac)) => {
            let whole: u64 = if int.is_empty() {
                0
            } else {
                int.parse().map_err(|_| bad())?
            };
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let scale = 10u64.pow(frac.len() as u32);
            let part: u64 = frac.parse().map_err(|_| bad())?;
            whole
                .checked_mul(factor)
                .and_then(|w| w.checked_add(part.checked_mul(factor)? / scale))
        }
    };
    bytes.ok_or_else(|| format!("{text:?} is too large"))
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
        assert!(parse_size("MB").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999 TiB").is_err());
    }

    fn merged(toml_text: &str, args: ImportArgs) -> anyhow::Result<Settings> {
        let config: Config = toml::from_str(toml_text)?;
        Settings::merge(args, config, None)
    }

    #[test]
    fn defaults() {
        let s = merged("", ImportArgs::default()).unwrap();
        assert_eq!(s.db, PathBuf::from("dropship.db"));
        assert_eq!(
            (s.jobs, s.chunk_size, s.max_file_size),
            (5, 1000, 100 << 20)
        );
        assert_eq!(s.on_duplicate, OnDuplicate::Skip);
        assert_eq!(s.rules.timezone.to_string(), "+07:00");
    }

    #[test]
    fn command_line_wins_over_file() {
        let file = "[streaming_import]\nchunk_size = 50\nmax_concurrent_files = 2\nmax_file_size = \"1 MB\"\n[import]\non_duplicate = \"update\"\n";
        let s = merged(file, ImportArgs::default()).unwrap();
        assert_eq!((s.jobs, s.chunk_size, s.max_file_size), (2, 50, 1_000_000));
        assert_eq!(s.on_duplicate, OnDuplicate::Update);
        let args = ImportArgs {
            jobs: Some(7),
            chunk_size: Some(10),
            on_duplicate: Some(OnDuplicateArg::Skip),
            ..ImportArgs::default()
        };
        let s = merged(file, args).unwrap();
        assert_eq!((s.jobs, s.chunk_size), (7, 10));
        assert_eq!(s.on_duplicate, OnDuplicate::Skip);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<Config>("[import]\nstrictt = true\n").unwrap_err();
        assert!(err.to_string().contains("strictt"), "{err}");
        let err = toml::from_str::<Config>("[imports]\n").unwrap_err();
        assert!(err.to_string().contains("imports"), "{err}");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for file in [
            "[import]\non_duplicate = \"merge\"",
            "[import]\ntimezone = \"Jakarta\"",
            "[import]\ndecimal_separator = \"'\"",
            "[memory_optimizer]\ncheck_interval = \"often\"",
            "[columns]\nnot_a_field = [\"X\"]",
        ] {
            let err = merged(file, ImportArgs::default()).unwrap_err();
            assert!(err.downcast_ref::<UsageError>().is_some(), "{file}: {err}");
        }
    }
}
