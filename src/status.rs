//! `status`: recent runs, or one run with its files, read from the database.

use crate::cli::StatusArgs;
use std::process::ExitCode;

pub fn run(_args: StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("status: being written")
}
