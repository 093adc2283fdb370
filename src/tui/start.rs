//! `portcullis` / `portcullis tui`: starts the terminal UI. Builds what it needs (theme,
//! sources, the commit actions) from the command line and hands over to `tui::run`.

use std::time::Duration;

use super::{Cli, eprint, host_name, load_policy};
use crate::app::Config;
use crate::app::observation::PolicyLoad;
use crate::nft::backend::NftProcess;
use crate::policy::Settings;
use crate::sockets::ServiceNames;
use crate::tui::refresh::modified;
use crate::tui::{self, OwnerCache, RulesetReader, Sources};
use crate::ui::theme::{Theme, colour_disabled, config_dir};

/// Set by `portcullis demo` for the UI it starts: the namespace's name, for the status bar.
pub const DEMO_ENV: &str = "PORTCULLIS_DEMO_NAMESPACE";

pub fn run(cli: &Cli, refresh: Duration) -> u8 {
    // The policy is read first and once: with a large network, the TOML parser's
    // transient memory is most of the program's peak, and here little else is allocated.
    let policy_mtime = modified(&cli.policy);
    let policy = load_policy(&cli.policy);
    // The text too, for the editor (a file that does not exist yet reads as empty).
    let policy_text = crate::policy::file::read(&cli.policy).ok();
    let env = |k: &str| std::env::var(k).ok();
    let theme = match Theme::load(
        cli.theme.as_deref().unwrap_or("default"),
        config_dir(env).as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprint(&format!("portcullis: {e}"));
            return 2;
        }
    };
    let theme = if colour_disabled(cli.no_color, env) {
        theme.without_colour()
    } else {
        theme
    };
    // A broken policy file must not keep the operator from seeing the machine: the UI
    // starts with the default table and shows the error in its status bar.
    let table = policy
        .as_ref()
        .map_or_else(|_| Settings::default().table, |p| p.settings.table.clone());
    let read_only = !nix::unistd::geteuid().is_root();
    let config = Config {
        host: host_name(),
        table: table.clone(),
        policy_path: cli.policy.display().to_string(),
        read_only,
        refresh,
        demo: env(DEMO_ENV),
    };
    let sources = Sources {
        nft: Box::new(NftProcess::new(&cli.nft)),
        rules: RulesetReader::new(table),
        policy_path: cli.policy.clone(),
        state_dir: cli.state_dir.clone(),
        read_only,
        names: ServiceNames::load(),
        owners: OwnerCache::default(),
        policy_seen: Some(policy_mtime),
        first_policy: Some(match policy {
            Ok(p) => PolicyLoad::Loaded(Box::new(p)),
            Err(e) => PolicyLoad::Invalid(e),
        }),
        first_text: policy_text,
    };
    let options = tui::Options {
        config,
        theme,
        sources,
        operations: Box::new(super::tui_ops::CliOperations::new(cli)),
    };
    match tui::run(options) {
        Ok(()) => 0,
        Err(e) => {
            eprint(&format!("portcullis: {e}"));
            2
        }
    }
}
