//! `portcullis man` and `portcullis completions SHELL`: the manual page (roff, from the
//! same clap definitions as `--help`, so the two cannot disagree) and shell completions,
//! printed for packagers to install (`man 1 portcullis`, bash, zsh, fish).

use crate::policy::keys;
use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Prints the manual page: the command's, with a section per subcommand.
pub fn man() -> u8 {
    let mut command = Cli::command();
    command.build();
    let mut page: Vec<u8> = Vec::new();
    if let Err(e) = render_page(&command, &mut page) {
        eprintln!("portcullis: cannot write the manual page: {e}");
        return 2;
    }
    write_out(&page)
}

fn render_page(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // Each command with its own options and exit statuses, as `portcullis help CMD` says.
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".TP")?;
        writeln!(out, "\\fB{}\\fR", roff_escape(&usage_of(sub)))?;
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        for (i, paragraph) in about.split("\n\n").enumerate() {
            if i > 0 {
                writeln!(out, ".IP")?;
            }
            writeln!(out, "{}", roff_escape(paragraph))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            let Some(long) = arg.get_long().filter(|l| *l != "help") else {
                continue;
            };
            let value = arg
                .get_value_names()
                .and_then(|v| v.first())
                .filter(|_| arg.get_action().takes_values())
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            writeln!(out, ".IP")?;
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            writeln!(
                out,
                "\\fB\\-\\-{long}\\fR{} \\- {}",
                roff_escape(&value),
                roff_escape(&help)
            )?;
        }
    }
    // Every key of the policy file, from the validator's own list.
    writeln!(out, ".SH POLICY FILE")?;
    writeln!(
        out,
        "TOML, by default /etc/portcullis/policy.toml; \\fBportcullis check\\fR validates it. \
         [networks] maps names to lists of addresses and prefixes (\\fBany\\fR is built in)."
    )?;
    for (table, keys) in [
        ("[settings]", keys::SETTINGS.to_vec()),
        ("[services.NAME]", keys::keys_of::<keys::ServiceKey>()),
        ("[blocks.NAME]", keys::keys_of::<keys::BlockKey>()),
    ] {
        writeln!(out, ".SS {}", roff_escape(table))?;
        for k in &keys {
            writeln!(
                out,
                ".TP\n\\fB{}\\fR = {}\n{}",
                roff_escape(k.name),
                roff_escape(k.value),
                roff_escape(k.doc)
            )?;
        }
    }
    // Where administrators look for what portcullis keeps.
    const FILES: &[(&str, &str)] = &[
        (
            "/etc/portcullis/policy.toml",
            "The policy (\\fB\\-\\-policy\\fR, PORTCULLIS_POLICY).",
        ),
        (
            "/var/lib/portcullis/",
            "The state directory (\\fB\\-\\-state\\-dir\\fR, PORTCULLIS_STATE_DIR): 0700, never a symlink; nothing in it is followed through one.",
        ),
        (
            "/var/lib/portcullis/journal.json",
            "The pending commit, the last 20 commits and the confirmed rulesets. A damaged one is kept as journal.json.damaged\\-TIME and made anew.",
        ),
        (
            "/var/lib/portcullis/commits/",
            "ID.applied.nft, the whole table of each commit's policy; ID.change.nft, what a commit in place loaded (only what differs); ID.undo.nft, its inverse; ID.before.nft, the script that puts back the table as it was before it; each behind a self\\-verifying header.",
        ),
        (
            "/var/lib/portcullis/counting.json",
            "Since when each rule of the table counts, and the counters right after the pending commit's load (the confirm window's evidence counts from them). For display only.",
        ),
        (
            "/var/lib/portcullis/confirmed.nft",
            "A copy of the last confirmed commit's script, for \\fBrestore\\fR when the journal or that script is damaged.",
        ),
        (
            "/var/lib/portcullis/audit.log",
            "One JSON line per event (applied, confirmed, rolled back, restored, journal repaired...), also sent to the system log.",
        ),
        (
            "/run/portcullis/lock",
            "Held by whoever changes the firewall (for the default state directory; another one keeps its lock inside).",
        ),
        (
            "/usr/lib/systemd/system/portcullis.service",
            "Runs \\fBportcullis restore\\fR at boot, once enabled.",
        ),
        (
            "~/.config/portcullis/themes/",
            "Your own terminal UI themes (\\fB$XDG_CONFIG_HOME\\fR/portcullis/themes).",
        ),
    ];
    writeln!(out, ".SH FILES")?;
    for (path, what) in FILES {
        writeln!(out, ".TP\n{path}\n{what}")?;
    }
    writeln!(out, ".SH SEE ALSO\n\\fBnft\\fR(8)")?;
    man.render_version_section(out)?;
    Ok(())
}

/// `portcullis CMD [OPTIONS] …`, as clap renders it for the built command.
fn usage_of(sub: &clap::Command) -> String {
    let usage = sub.clone().render_usage().to_string();
    usage.trim_start_matches("Usage: ").trim().to_string()
}

/// Text for roff: backslashes and leading dots or quotes would be read as requests.
fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> u8 {
    let mut command = Cli::command();
    let mut script: Vec<u8> = Vec::new();
    clap_complete::generate(shell, &mut command, "portcullis", &mut script);
    write_out(&script)
}

fn write_out(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        // A closed pipe (`| head`) is the reader's choice, not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("portcullis: {e}");
            2
        }
    }
}
