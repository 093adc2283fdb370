//! `portcullis init`: writes a starting policy from what is listening now, with SSH from
//! the operator's network allowed, for the operator to review. It never applies anything
//! and never overwrites a policy unless told to (then the old one is kept as `.bak`).

use std::path::Path;

use super::eprint;
use crate::commit::journal::format_time;
use crate::policy::file;
use crate::sockets::ssh::SshConnection;
use crate::sockets::starter::{StarterInput, starter_policy};
use crate::sockets::{self, ServiceNames};
use crate::system::now_ms;

pub struct Options {
    /// Print the policy instead of writing it.
    pub print: bool,
    /// Write over an existing policy file.
    pub force: bool,
}

/// Exit statuses.
const WRITTEN: u8 = 0;
const EXISTS: u8 = 1;
const FAILED: u8 = 2;

pub fn run(path: &Path, opts: &Options) -> u8 {
    if !opts.print && !opts.force && path.exists() {
        eprint(&format!(
            "portcullis: {} exists already; not overwriting it. Use --force to replace it \
             (the old one is kept as {}.bak), --print to see the proposal, or --policy to \
             write elsewhere.",
            path.display(),
            path.display()
        ));
        return EXISTS;
    }
    let names = ServiceNames::load();
    let table = match sockets::scan(sockets::Owners::Find, &names) {
        Ok(t) => t,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the socket table: {e}"));
            return FAILED;
        }
    };
    let ssh = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|v| SshConnection::parse(&v));
    let host = crate::system::host_name();
    let text = starter_policy(&StarterInput {
        listeners: &table.listeners,
        names: &names,
        ephemeral: &sockets::ephemeral_range(),
        ssh,
        written: format!("on {host} at {}", format_time(now_ms())),
    });
    if opts.print {
        out!("{text}");
        return WRITTEN;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprint(&format!("portcullis: cannot create {}: {e}", dir.display()));
        return FAILED;
    }
    match file::save(path, &text, None) {
        Ok(backup) => {
            if let Some(b) = backup {
                eprint(&format!(
                    "portcullis: the previous policy is kept as {}",
                    b.display()
                ));
            }
            let services = text.matches("\n[services.").count();
            eprint(&format!(
                "portcullis: wrote {} ({services} services{}). Nothing was applied.\n\
                 Review it, then: portcullis check && portcullis apply",
                path.display(),
                if ssh.is_some() {
                    ", SSH allowed from the network you are connected from"
                } else {
                    "; not run over SSH, so SSH is open to anyone until you narrow it"
                }
            ));
            WRITTEN
        }
        Err(e) => {
            eprint(&format!("portcullis: {e}"));
            FAILED
        }
    }
}
