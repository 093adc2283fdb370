//! `portcullis` / `portcullis tui`: starts the terminal UI. Builds what it needs (theme,
//! sources, the commit operations) from what the command line says and hands over to
//! `tui::run`.

use std::path::PathBuf;
use std::time::Duration;

use super::operations::TuiOperations;
use super::refresh::KernelSockets;
use super::refresh::modified;
use super::{RulesetReader, Sources};
use crate::app::observation::PolicyLoad;
use crate::app::{Config, keymap, keys_file};
use crate::commit::backends::Paths;
use crate::demo::DEMO_ENV;
use crate::nft::backend::NftProcess;
use crate::policy::Settings;
use crate::sockets::ServiceNames;
use crate::system::host_name;
use crate::ui::theme::{Theme, colour_disabled, config_dir};

/// What the command line asks of the UI.
#[derive(Debug, Clone)]
pub struct Launch {
    pub policy: PathBuf,
    pub paths: Paths,
    pub theme: Option<String>,
    pub no_color: bool,
    pub refresh: Duration,
}

/// Runs the UI; the exit status (2 if it cannot start, with the reason on stderr).
pub fn run(launch: &Launch) -> u8 {
    let refresh = launch.refresh;
    // The policy is read first and once: with a large network, the TOML parser's
    // transient memory is most of the program's peak, and here little else is allocated.
    let policy_mtime = modified(&launch.policy);
    // The text too, for the editor (a file that does not exist yet reads as empty), from
    // the same read.
    let (policy, policy_text) = crate::policy::file::load_with_text(&launch.policy);
    let env = |k: &str| std::env::var(k).ok();
    let theme = match Theme::load(
        launch.theme.as_deref().unwrap_or("default"),
        config_dir(env).as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("portcullis: {e}");
            return 2;
        }
    };
    // The operator's keys: $PORTCULLIS_KEYS, else keys.toml in the config directory
    // (none there is fine; a wrong one stops the start, saying what is wrong).
    let keys = env("PORTCULLIS_KEYS")
        .filter(|v| !v.is_empty())
        .map(|p| (PathBuf::from(p), true))
        .or_else(|| config_dir(env).map(|d| (d.join("keys.toml"), false)));
    if let Some((path, named)) = keys {
        match std::fs::read_to_string(&path) {
            Ok(text) => match keys_file::layer(&path.display().to_string(), &text) {
                Ok(bindings) => keymap::install(bindings),
                Err(e) => {
                    eprintln!("portcullis: {e}");
                    return 2;
                }
            },
            Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                eprintln!(
                    "portcullis: cannot read the keys file {}: {e}",
                    path.display()
                );
                return 2;
            }
        }
    }
    let theme = if colour_disabled(launch.no_color, env) {
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
        policy_path: launch.policy.display().to_string(),
        read_only,
        refresh,
        demo: env(DEMO_ENV),
    };
    let sources = Sources {
        clock: crate::commit::clock::SystemClock::new(),
        nft: Box::new(NftProcess::new(&launch.paths.nft)),
        rules: RulesetReader::new(table),
        policy_path: launch.policy.clone(),
        state_dir: launch.paths.state_dir.clone(),
        read_only,
        names: ServiceNames::load(),
        sockets: Box::new(KernelSockets::default()),
        policy_seen: Some(policy_mtime),
        first_policy: Some(PolicyLoad::of(policy)),
        first_text: policy_text,
        place: crate::commit::plan::place(),
        drops: Default::default(),
        ssh_peer: std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|v| crate::sockets::ssh::SshConnection::parse(&v))
            .map(|c| c.client.to_canonical()),
        grants_seen: None,
    };
    let options = super::Options {
        config,
        theme,
        sources,
        operations: Box::new(TuiOperations::new(&launch.policy, &launch.paths)),
    };
    match super::run(options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("portcullis: {e}");
            2
        }
    }
}
