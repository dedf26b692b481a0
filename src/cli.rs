//! The command line, as clap sees it. Nothing here is used past
//! [`crate::settings`], which merges it with the config file. Numbers,
//! sizes and durations arrive as text: [`crate::limits`] checks each against
//! its range, the same way for a flag and a config key.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Shown after the options of `--help` (and of `import --help`); the man
/// page renders its blocks as EXAMPLES and EXIT STATUS. Each entry is one
/// line: what to type, two spaces or more, what it does.
pub const AFTER_HELP: &str = "\
Examples:
  dropship-import ./files/*.csv                  import every export in ./files
  dropship-import --dry-run 'exports/*.csv'      check files, write nothing
  dropship-import -j 8 --report run.json files/  import a folder (not deeper)
  dropship-import --on-duplicate update a.csv    import a corrected file again

Exit codes:
  0    every file imported or already imported, no row rejected
  3    finished, but some rows were rejected or some files failed
  1    the run could not do its job (database unusable or busy, disk full)
  2    usage or config error (bad flag, unknown config key, no input)
  130  interrupted (Ctrl-C); committed rows stay, the next run resumes
";

#[derive(Debug, Parser)]
#[command(
    name = "dropship-import",
    version,
    about = "Load marketplace purchase exports (CSV) into SQLite or PostgreSQL: fast, exact, resumable.",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub import: ImportArgs,
}

pub const STATUS_EXAMPLES: &str = "\
Examples:
  dropship-import status                 recent runs
  dropship-import status 7               run 7 and its files
  dropship-import status --follow        watch the running import until it ends
  dropship-import status --json          the same, for scripts
";

pub const RECOMMEND_EXAMPLES: &str = "\
Examples:
  dropship-import recommend files/*.csv                      advice for these files
  dropship-import recommend --file-count 100 --avg-file-size 2MB
";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import purchase exports (the default command)
    #[command(after_help = AFTER_HELP)]
    Import(Box<ImportArgs>),
    /// Show recent runs, or one run with its files (also while it runs)
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// Advise jobs, chunk size and memory limit for a set of files
    #[command(after_help = RECOMMEND_EXAMPLES)]
    Recommend(RecommendArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout
    Man,
}

#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    /// The run to show, 1 or more [default: list recent runs]
    #[arg(value_name = "RUN_ID")]
    pub run_id: Option<String>,

    /// Database to read: a SQLite path, or a PostgreSQL URL
    /// (postgres://user@host/db) or key=value string [default: dropship.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// PostgreSQL: the schema the tables live in [default: public, or
    /// [database] schema in the config]
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,

    /// Config file [default: ./importer.toml when present]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Refresh until the run ends
    #[arg(long)]
    pub follow: bool,

    /// How many recent runs to list, 1 to 10000 runs [default: 20]
    #[arg(long, value_name = "N")]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct RecommendArgs {
    /// Files, directories or glob patterns to look at (sampled, not imported)
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Plan for this many files instead of looking at inputs, 1 to 1000000 files
    #[arg(long, value_name = "N", requires = "avg_file_size")]
    pub file_count: Option<String>,

    /// Average file size when planning with --file-count (50MB, 2MiB,
    /// bytes), 1 B to 1 TiB
    #[arg(long, value_name = "SIZE", requires = "file_count")]
    pub avg_file_size: Option<String>,

    /// Database whose earlier runs give the throughput: a SQLite path, or a
    /// PostgreSQL URL or key=value string [default: dropship.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// PostgreSQL: the schema the tables live in [default: public, or
    /// [database] schema in the config]
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,

    /// Config file [default: ./importer.toml when present]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDuplicateArg {
    Skip,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    Auto,
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    #[value(name = "windows-1252", alias = "cp1252")]
    Windows1252,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    Auto,
    Bars,
    Log,
    None,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ImportArgs {
    /// Files, directories (their *.csv and *.csv.gz) or glob patterns
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// SQLite file, or PostgreSQL URL / key=value string, to write
    /// [default: $DROPSHIP_DB, or dropship.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// PostgreSQL: the schema the tables live in [default: public]
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,

    /// Config file [default: ./importer.toml when present]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Files read at once, 1 to 64 files [default: 5]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<String>,

    /// Rows per chunk sent to the writer, 1 to 100000 rows [default: 1000]
    #[arg(long, value_name = "ROWS")]
    pub chunk_size: Option<String>,

    /// Longest a transaction stays open: what a killed run may have to read
    /// again; 0s to 1h. 0s commits every chunk on its own [default: 250ms]
    #[arg(long, value_name = "DURATION")]
    pub commit_interval: Option<String>,

    /// Larger files fail without being read: 50MB, 2GiB, plain bytes; 1 B to
    /// 1 TiB [default: 100 MiB]
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,

    /// Longer records (CSV rows) are rejected as record_too_long without
    /// being held in memory: 64KiB, 2MiB, plain bytes; 1 KiB to 64 MiB
    /// [default: 1 MiB]
    #[arg(long, value_name = "SIZE")]
    pub max_record_size: Option<String>,

    /// Read and validate everything, write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Keep only rows whose Jenis Channel is NAME (case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,

    /// What to do with an order that another file already imported [default: skip]
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_duplicate: Option<OnDuplicateArg>,

    /// A file with more rejected rows than N fails (0: no limit), 0 to
    /// 1000000000 rows [default: 0]
    #[arg(long, value_name = "N")]
    pub max_errors: Option<String>,

    /// Also reject rows whose Total Harga Produk is not Harga Produk × Qty
    #[arg(long)]
    pub strict: bool,

    /// Read files again even when their exact bytes were imported before
    #[arg(long)]
    pub force: bool,

    /// Also write rejected rows to this CSV file
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,

    /// Also write the JSON summary to this file
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Text encoding of the files [default: auto]
    #[arg(long, value_enum, value_name = "ENC")]
    pub encoding: Option<EncodingArg>,

    /// Field delimiter: auto, ',', ';' or tab [default: auto]
    #[arg(long, value_name = "DELIM")]
    pub delimiter: Option<String>,

    /// Also write the run's outcome in the Prometheus text format to this
    /// file (replaced atomically), for node_exporter's textfile collector
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// Print the JSON summary on stdout even when stdout is a terminal
    /// (it always is when stdout is a pipe or a file)
    #[arg(long)]
    pub json: bool,

    /// Progress display on stderr [default: auto]
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressArg>,

    /// Print nothing on stderr but errors
    #[arg(short, long)]
    pub quiet: bool,

    /// No matching input is not an error
    #[arg(long)]
    pub allow_empty: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits;
    use clap::CommandFactory;

    /// The help of `flag` in `command` (a subcommand name, or "" for import).
    fn help(command: &str, flag: &str) -> String {
        let root = Cli::command();
        let cmd = if command.is_empty() {
            &root
        } else {
            root.find_subcommand(command).expect("subcommand")
        };
        let arg = cmd
            .get_arguments()
            .find(|a| {
                a.get_long() == flag.strip_prefix("--")
                    || a.get_value_names()
                        .is_some_and(|v| v.iter().any(|n| n.as_str() == flag))
            })
            .unwrap_or_else(|| panic!("no {flag} in {command}"));
        let text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn help_states_every_flags_range() {
        let checks = [
            ("", limits::JOBS.flag, limits::JOBS.range()),
            ("", limits::CHUNK_SIZE.flag, limits::CHUNK_SIZE.range()),
            (
                "",
                limits::MAX_FILE_SIZE.flag,
                limits::MAX_FILE_SIZE.range(),
            ),
            (
                "",
                limits::MAX_RECORD_SIZE.flag,
                limits::MAX_RECORD_SIZE.range(),
            ),
            (
                "",
                limits::COMMIT_INTERVAL.flag,
                limits::COMMIT_INTERVAL.range(),
            ),
            ("", limits::MAX_ERRORS.flag, limits::MAX_ERRORS.range()),
            (
                "status",
                limits::STATUS_LIMIT.flag,
                limits::STATUS_LIMIT.range(),
            ),
            (
                "recommend",
                limits::FILE_COUNT.flag,
                limits::FILE_COUNT.range(),
            ),
            (
                "recommend",
                limits::AVG_FILE_SIZE.flag,
                limits::AVG_FILE_SIZE.range(),
            ),
        ];
        for (command, flag, range) in checks {
            let flag = flag.expect("a flag");
            let text = help(command, flag);
            assert!(text.contains(&range), "{flag}: {text:?} lacks {range:?}");
        }
        assert!(help("status", "RUN_ID").contains("1 or more"));
    }
}
