//! `recommend`: advice on jobs, chunk size and memory for a set of files.

use crate::cli::RecommendArgs;
use std::process::ExitCode;

pub fn run(_args: RecommendArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("recommend: being written")
}
