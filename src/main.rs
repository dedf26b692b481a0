use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match dropship_import::cli::Cli::try_parse() {
        Ok(cli) => dropship_import::run(cli),
        Err(e) => dropship_import::bad_command_line(e),
    }
}
