use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = dropship_import::cli::Cli::parse();
    dropship_import::run(cli)
}
