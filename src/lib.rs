//! dropship-import: loads marketplace purchase exports (CSV) into SQLite.
//!
//! The modules follow the data: [`inputs`] finds the files, [`read`] streams
//! each one into chunks, [`rows`] validates and maps records (with
//! [`columns`] and [`fields`]), [`write`] owns the database (with
//! [`schema`]), and [`report`] turns the outcome into the summary and exit
//! code. [`import`] runs the pipeline; [`settings`] merges [`cli`] and the
//! config file before anything starts.

pub mod cli;
pub mod columns;
pub mod fields;
pub mod import;
pub mod inputs;
pub mod lock;
pub mod progress;
pub mod read;
pub mod report;
pub mod resources;
pub mod rows;
pub mod schema;
pub mod settings;
pub mod write;

use report::Exit;
use std::io::Write;
use std::process::ExitCode;

/// The whole program: run the command, turn errors into exit codes.
pub fn run(cli: cli::Cli) -> ExitCode {
    let args = match cli.command {
        Some(cli::Command::Import(args)) => args,
        None => cli.import,
    };
    match settings::Settings::from_args(args).and_then(import::run) {
        Ok(code) => code,
        Err(e) => {
            let code = if e.downcast_ref::<settings::UsageError>().is_some() {
                Exit::Usage
            } else {
                Exit::Error
            };
            let _ = writeln!(std::io::stderr(), "dropship-import: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}
