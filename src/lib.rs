//! dropship-import: loads marketplace purchase exports (CSV) into a database.
//!
//! The modules follow the data: [`inputs`] finds the files, [`read`] streams
//! each one into chunks (and sends them to the store as [`read::Msg`]s),
//! [`rows`] validates and maps records (with [`columns`] and [`fields`]),
//! a store writes them, and [`report`] turns the outcome into the summary
//! and exit code (and [`metrics`] into a Prometheus file), with
//! [`progress`] showing files as they go. The words
//! these stages share (file outcomes, row counts, rejects, checkpoints) are
//! in [`outcome`], a leaf that imports nothing of ours. [`import`] runs the
//! pipeline; [`settings`] merges [`cli`] and the config file, each number
//! checked against its range in [`limits`], before anything starts;
//! [`status`] and [`recommend`] look at a database and at files without
//! importing. Text from files and users reaches a terminal through
//! [`escape`]; where a path really leads is [`paths`]; [`man`] renders the
//! manual page.
//!
//! The [`store`] folder holds one module per database. Each owns its
//! connection, migrations and SQL, consumes the readers' messages and reports
//! finished files through a callback: [`store::sqlite`] (with its schema,
//! writer, row inserts, and the claim that keeps one run per database file).

pub mod cli;
pub mod columns;
pub mod escape;
pub mod fields;
pub mod import;
pub mod inputs;
pub mod limits;
pub mod man;
pub mod memory;
pub mod metrics;
pub mod outcome;
pub mod paths;
pub mod progress;
pub mod read;
pub mod recommend;
pub mod report;
pub mod resources;
pub mod rows;
pub mod settings;
pub mod source;
pub mod status;
pub mod store;
pub mod units;

use report::Exit;
use std::io::Write;
use std::process::ExitCode;

/// The whole program: run the command, turn errors into exit codes.
pub fn run(cli: cli::Cli) -> ExitCode {
    let result = match cli.command {
        Some(cli::Command::Import(args)) => {
            settings::Settings::from_args(*args).and_then(import::run)
        }
        None => not_a_command(&cli.import.inputs)
            .and_then(|()| settings::Settings::from_args(cli.import))
            .and_then(import::run),
        Some(cli::Command::Status(args)) => status::run(args),
        Some(cli::Command::Recommend(args)) => recommend::run(args),
        Some(cli::Command::Completions { shell }) => {
            // Generated into memory first: clap_complete panics on a write
            // error, and a reader that goes away (`| head`) is no failure.
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "dropship-import", &mut script);
            std::io::stdout()
                .write_all(&script)
                .map(|_| ExitCode::SUCCESS)
                .map_err(Into::into)
        }
        Some(cli::Command::Man) => man::render(&mut std::io::stdout())
            .map(|_| ExitCode::SUCCESS)
            .map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = if e.downcast_ref::<settings::UsageError>().is_some() {
                Exit::Usage
            } else {
                Exit::Error
            };
            let message = format!("{e:#}");
            let _ = writeln!(
                std::io::stderr(),
                "dropship-import: {}",
                escape::escaped_keep_lines(&message)
            );
            ExitCode::from(code as u8)
        }
    }
}

/// `dropship-import statsu`: a first input that names nothing on disk and
/// reads like a mistyped command is a usage error saying so, not a missing
/// file to import (exit 3).
fn not_a_command(inputs: &[String]) -> anyhow::Result<()> {
    let Some(first) = inputs.first() else {
        return Ok(());
    };
    let cmd = <cli::Cli as clap::CommandFactory>::command();
    let names: Vec<&str> = cmd
        .get_subcommands()
        .map(clap::Command::get_name)
        .chain(["help"])
        .collect();
    // Only plain words are taken for commands: `first` has no character
    // that needs escaping.
    let message = match inputs::mistyped_command(first, &names) {
        None => return Ok(()),
        Some(name) if name == first.to_ascii_lowercase() => format!(
            "'{first}' is a command: put it first (dropship-import {name} ...); \
             to import a file named {first}, write ./{first}"
        ),
        Some(name) => format!(
            "unknown command '{first}'; did you mean '{name}'? \
             (to import a file named {first}, write ./{first})"
        ),
    };
    Err(settings::UsageError(message).into())
}

/// A command line the parser did not take: help and version as they are;
/// an error with what the user typed escaped (an option's value may hold
/// control characters), exit 2.
pub fn bad_command_line(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(e.exit_code() as u8);
    }
    let text = e.render().to_string();
    let _ = write!(std::io::stderr(), "{}", escape::escaped_keep_lines(&text));
    ExitCode::from(Exit::Usage as u8)
}

/// Output cut short by the reader (`| head`) is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
