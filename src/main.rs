use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{self, Cli};
use portcullis::tui::start::{self, Launch};

/// The binary's edge: error hooks, the command line, and the one choice of front end (the
/// terminal UI for no command or `tui`, the headless commands otherwise), so that neither
/// front end imports the other.
fn main() -> color_eyre::Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let Some(refresh) = cli.ui_refresh() else {
        return Ok(cli::run(cli));
    };
    cli::recover_first(&cli);
    let launch = Launch {
        policy: cli.policy.clone(),
        paths: cli::paths(&cli),
        theme: cli.theme.clone(),
        no_color: cli.no_color,
        refresh,
    };
    Ok(ExitCode::from(start::run(&launch)))
}
