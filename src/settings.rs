//! Settings: the command line and `importer.toml` merged into one validated
//! value before any thread starts. The command line wins over the file, the
//! file over the defaults. Nothing past this module reads flags or config.

use crate::cli::{EncodingArg, ImportArgs, OnDuplicateArg, ProgressArg};
use crate::fields::{DecimalSeparator, UtcOffset};
use crate::limits::{self, Limit, OutOfRange, Quantity};
use crate::rows::{Encoding, Rules};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The database when no flag, config key or variable names one.
pub const DEFAULT_DB: &str = "dropship.db";

/// A usage or config mistake: the run exits 2.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

impl From<OutOfRange> for UsageError {
    fn from(e: OutOfRange) -> UsageError {
        UsageError(e.0)
    }
}

pub use crate::limits::parse_size;

/// The value of `limit` from the command line, else the config file, else
/// its default; outside its range, a usage error naming it and the range.
fn pick<T: Quantity>(
    limit: &Limit<T>,
    flag: Option<&str>,
    config: Option<&toml::Value>,
) -> anyhow::Result<T> {
    limit
        .pick(flag, config)
        .map_err(|e| UsageError::from(e).into())
}

/// A count that fits `usize` (every count's range does).
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
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
    /// A SQLite path or a PostgreSQL connection string.
    pub path: Option<PathBuf>,
    /// A synonym of `path`, for connection strings.
    pub url: Option<PathBuf>,
    pub schema: Option<String>,
    /// PostgreSQL: how long a claim on a file lasts unrenewed.
    pub lease: Option<toml::Value>,
}

// Numbers, sizes and durations are kept as written (`toml::Value`) and
// checked by their `limits::Limit`, so a wrong one is named with its range.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamingConfig {
    pub chunk_size: Option<toml::Value>,
    pub max_concurrent_files: Option<toml::Value>,
    pub max_file_size: Option<toml::Value>,
    pub max_record_size: Option<toml::Value>,
    pub enable_memory_optimization: Option<bool>,
    pub commit_interval: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    pub max_memory_mb: Option<toml::Value>,
    pub check_interval: Option<toml::Value>,
    pub force_gc_threshold: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    pub on_duplicate: Option<String>,
    pub channel: Option<String>,
    pub max_errors: Option<toml::Value>,
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
    /// The database as shown: a SQLite path, or a PostgreSQL connection
    /// string without its password.
    pub db: PathBuf,
    /// Set when the database is PostgreSQL.
    #[serde(skip)]
    pub postgres: Option<crate::store::postgres::write::Target>,
    pub schema: Option<String>,
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
    /// Where the run's outcome is also written for Prometheus.
    pub metrics_file: Option<PathBuf>,
    /// The JSON summary on stdout even when stdout is a terminal.
    pub json: bool,
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

/// The database named by `--db`, the config's `path` (or `url`), or
/// `DROPSHIP_DB`, in that order; `dropship.db` when none does. A
/// PostgreSQL connection string gives the target to connect to, and the
/// database is shown without its password.
fn database(
    arg: Option<PathBuf>,
    schema_arg: Option<String>,
    config: DatabaseConfig,
) -> anyhow::Result<(
    PathBuf,
    Option<crate::store::postgres::write::Target>,
    Option<String>,
)> {
    if config.path.is_some() && config.url.is_some() {
        return Err(usage(
            "database.path and database.url name the same thing: give one of them",
        ));
    }
    let from_config = config.path.or(config.url);
    if from_config
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        return Err(usage("database.path: the database path is empty"));
    }
    let named = arg
        .or(from_config)
        .or_else(|| {
            std::env::var_os("DROPSHIP_DB")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
    let schema = schema_arg.or(config.schema);
    // Checked for either database, so that a config file shared by both is
    // checked the same way; only PostgreSQL runs hold claims.
    let lease = pick(&limits::LEASE, None, config.lease.as_ref())?;
    let text = named
        .to_str()
        .filter(|t| crate::store::postgres::connect::is_postgres(t));
    let Some(text) = text else {
        if schema.is_some() {
            return Err(usage(
                "--schema applies to PostgreSQL; the database is an SQLite file",
            ));
        }
        return Ok((named, None, None));
    };
    let schema = schema.unwrap_or_else(|| "public".to_string());
    if schema.is_empty() || schema.len() > 63 || schema.contains('\0') {
        return Err(usage(format!(
            "--schema: {:?} is not a schema name (1 to 63 bytes)",
            crate::escape::clipped(&schema)
        )));
    }
    // PostgreSQL's own schemas: `pg_*` it refuses to create tables in
    // itself, `information_schema` it does not.
    if schema.starts_with("pg_") || schema == "information_schema" {
        return Err(usage(format!(
            "--schema: {schema} belongs to PostgreSQL itself; choose a schema of your own"
        )));
    }
    let target = crate::store::postgres::connect::Target::parse(text)
        .map_err(|e| usage(format!("{e:#}")))?;
    let shown = target.display();
    Ok((
        PathBuf::from(&shown),
        Some(crate::store::postgres::write::Target {
            connect: target,
            shown,
            schema: schema.clone(),
            lease,
        }),
        Some(schema),
    ))
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

        let jobs = count(pick(
            &limits::JOBS,
            args.jobs.as_deref(),
            stream.max_concurrent_files.as_ref(),
        )?);
        let chunk_size = count(pick(
            &limits::CHUNK_SIZE,
            args.chunk_size.as_deref(),
            stream.chunk_size.as_ref(),
        )?);
        let max_file_size = pick(
            &limits::MAX_FILE_SIZE,
            args.max_file_size.as_deref(),
            stream.max_file_size.as_ref(),
        )?
        .0;
        let max_record_size = pick(
            &limits::MAX_RECORD_SIZE,
            args.max_record_size.as_deref(),
            stream.max_record_size.as_ref(),
        )?
        .0;
        let commit_interval = pick(
            &limits::COMMIT_INTERVAL,
            args.commit_interval.as_deref(),
            stream.commit_interval.as_ref(),
        )?;
        let max_errors = pick(
            &limits::MAX_ERRORS,
            args.max_errors.as_deref(),
            imp.max_errors.as_ref(),
        )?;
        let max_memory_mb = pick(&limits::MAX_MEMORY_MB, None, mem.max_memory_mb.as_ref())?;
        let check_interval = pick(&limits::CHECK_INTERVAL, None, mem.check_interval.as_ref())?;
        let force_gc_threshold = pick(
            &limits::FORCE_GC_THRESHOLD,
            None,
            mem.force_gc_threshold.as_ref(),
        )?;
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
            Some(tz) => tz.parse().map_err(|e| {
                usage(format!(
                    "import.timezone must be a UTC offset from -14:00 to +14:00 \
                     (like \"+07:00\"); {e}"
                ))
            })?,
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
        crate::columns::Names::new(&config.columns).map_err(usage)?;
        let (db, postgres, schema) = database(args.db, args.schema, config.database)?;

        Ok(Settings {
            inputs: args.inputs,
            db,
            postgres,
            schema,
            config: config_path,
            jobs,
            chunk_size,
            max_file_size,
            max_record_size,
            commit_interval,
            dry_run: args.dry_run,
            on_duplicate,
            max_errors,
            force: args.force,
            rejects: args.rejects,
            report: args.report,
            metrics_file: args.metrics_file,
            json: args.json,
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
    toml::from_str(&text).map_err(|e| {
        // A number too large for TOML itself fails the whole file: still
        // say what the key takes.
        let hint = e
            .span()
            .and_then(|span| key_at(&text, span.start))
            .and_then(limits::key_range)
            .map(|range| format!("({range})\n"))
            .unwrap_or_default();
        usage(format!("config {}: {e}{hint}", path.display()))
    })
}

/// The key of the `key = value` line holding byte `at` of `text`.
fn key_at(text: &str, at: usize) -> Option<&str> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    Some(key.trim().trim_matches('"'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgresqls_own_schemas_are_refused() {
        for schema in ["information_schema", "pg_catalog", "pg_temp_3"] {
            let config: Config = toml::from_str(&format!(
                "[database]\nurl = \"postgres://h/db\"\nschema = \"{schema}\"\n"
            ))
            .unwrap();
            let err = Settings::merge(ImportArgs::default(), config, None).unwrap_err();
            assert!(
                format!("{err:#}").contains("belongs to PostgreSQL itself"),
                "{schema}: {err:#}"
            );
        }
    }

    #[test]
    fn the_database_may_be_named_url_but_only_once() {
        let config = |text: &str| -> Config { toml::from_str(text).unwrap() };
        let s = Settings::merge(
            ImportArgs::default(),
            config("[database]\nurl = \"postgres://h/db\"\nschema = \"shop\"\n"),
            None,
        )
        .unwrap();
        assert_eq!(s.db, PathBuf::from("postgres://h/db"));
        assert_eq!(s.schema.as_deref(), Some("shop"));
        let both = Settings::merge(
            ImportArgs::default(),
            config("[database]\npath = \"a.db\"\nurl = \"b.db\"\n"),
            None,
        );
        assert!(both.is_err());
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
    fn the_shipped_importer_toml_holds_the_defaults() {
        let shipped = merged(include_str!("../importer.toml"), ImportArgs::default()).unwrap();
        let defaults = merged("", ImportArgs::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&shipped).unwrap(),
            serde_json::to_value(&defaults).unwrap()
        );
    }

    #[test]
    fn command_line_wins_over_file() {
        let file = "[streaming_import]\nchunk_size = 50\nmax_concurrent_files = 2\nmax_file_size = \"1 MB\"\n[import]\non_duplicate = \"update\"\n";
        let s = merged(file, ImportArgs::default()).unwrap();
        assert_eq!((s.jobs, s.chunk_size, s.max_file_size), (2, 50, 1_000_000));
        assert_eq!(s.on_duplicate, OnDuplicate::Update);
        let args = ImportArgs {
            jobs: Some("7".into()),
            chunk_size: Some("10".into()),
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
    fn a_number_too_large_for_toml_still_names_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("importer.toml");
        std::fs::write(
            &path,
            "[memory_optimizer]\ncheck_interval = \"1s\"\nmax_memory_mb = 18446744073709551615\n",
        )
        .unwrap();
        let err = load_config(&path).unwrap_err().to_string();
        assert!(
            err.contains("max_memory_mb must be 1 to 1000000 MB"),
            "{err}"
        );
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
