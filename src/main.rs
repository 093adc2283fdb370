use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{Cli, run};

fn main() -> color_eyre::Result<ExitCode> {
    color_eyre::install()?;
    Ok(run(Cli::parse()))
}
