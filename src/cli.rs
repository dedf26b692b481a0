//! The command line, as clap sees it. Nothing here is used past
//! [`crate::settings`], which merges it with the config file.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  dropship-import ./files/*.csv                 import every export in ./files
  dropship-import --dry-run 'exports/**.csv'    check files, write nothing
  dropship-import -j 8 --report run.json files/ import a folder, keep the summary
";

#[derive(Debug, Parser)]
#[command(
    name = "dropship-import",
    version,
    about = "Load marketplace purchase exports (CSV) into SQLite: fast, exact, resumable.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub import: ImportArgs,
}

const STATUS_EXAMPLES: &str = "\
Examples:
  dropship-import status                 recent runs
  dropship-import status 7               run 7 and its files
  dropship-import status --follow        watch the running import until it ends
  dropship-import status --json          the same, for scripts
";

const RECOMMEND_EXAMPLES: &str = "\
Examples:
  dropship-import recommend files/*.csv                      advice for these files
  dropship-import recommend --file-count 100 --avg-file-size 2MB
";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import purchase exports (the default command)
    #[command(after_help = EXAMPLES)]
    Import(ImportArgs),
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
    /// The run to show [default: list recent runs]
    #[arg(value_name = "RUN_ID")]
    pub run_id: Option<i64>,

    /// SQLite database to read [default: dropship.db]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Config file [default: ./importer.toml when present]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Refresh until the run ends
    #[arg(long)]
    pub follow: bool,

    /// How many recent runs to list
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Clone, Default, Args)]
pub struct RecommendArgs {
    /// Files, directories or glob patterns to look at (sampled, not imported)
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Plan for this many files instead of looking at inputs
    #[arg(long, value_name = "N", requires = "avg_file_size")]
    pub file_count: Option<u64>,

    /// Average file size when planning with --file-count (50MB, 2MiB, bytes)
    #[arg(long, value_name = "SIZE", requires = "file_count")]
    pub avg_file_size: Option<String>,

    /// SQLite database whose earlier runs give the throughput [default: dropship.db]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

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

    /// SQLite database to write [default: dropship.db]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Config file [default: ./importer.toml when present]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Files read at once [default: 5]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Rows per chunk sent to the writer [default: 1000]
    #[arg(long, value_name = "ROWS")]
    pub chunk_size: Option<usize>,

    /// Longest a transaction stays open: what a killed run may have to read
    /// again. 0s commits every chunk on its own [default: 250ms]
    #[arg(long, value_name = "DURATION")]
    pub commit_interval: Option<String>,

    /// Larger files fail without being read: 50MB, 2GiB, plain bytes [default: 100 MiB]
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,

    /// Longer records (CSV rows) are rejected as record_too_long without
    /// being held in memory: 64KiB, 2MiB, plain bytes [default: 1 MiB]
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

    /// A file with more rejected rows than N fails (0: no limit) [default: 0]
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,

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
