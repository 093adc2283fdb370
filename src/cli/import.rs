//! `portcullis import ufw [PATH...]`: prints a policy made from ufw's rules. Reads the
//! files (ufw's user.rules and user6.rules, or scripts of ufw commands), the default
//! policies, /etc/services and ufw's application profiles; the conversion itself is
//! `import::to_policy`. Never writes anything.

use std::path::{Path, PathBuf};

use super::eprint;
use crate::import::ufw::{self, AppPorts, Defaults, Names, Note, Rule};
use crate::import::{to_policy, ufw_script};
use crate::policy::Protocol;
use crate::sockets::ServiceNames;

/// Exit statuses.
const PRINTED: u8 = 0;
const UNREADABLE: u8 = 1;
const FAILED: u8 = 2;

/// Where ufw keeps its rules and settings.
const UFW_DIR: &str = "/etc/ufw";
const UFW_DEFAULTS: &str = "/etc/default/ufw";

pub struct Options {
    pub paths: Vec<PathBuf>,
    /// ufw's /etc/default/ufw, for the default policies.
    pub defaults: Option<PathBuf>,
    /// ufw's applications.d, for application profiles.
    pub apps: Option<PathBuf>,
}

pub fn ufw(opts: &Options) -> u8 {
    // With no path, the host's own ufw: its rule files, defaults and profiles.
    let system = opts.paths.is_empty();
    let mut files: Vec<(PathBuf, bool)> = Vec::new(); // (path, required)
    let mut apps_dir = opts.apps.clone();
    let mut ufw_dirs: Vec<PathBuf> = Vec::new();
    if system {
        ufw_dirs.push(PathBuf::from(UFW_DIR));
    }
    for path in &opts.paths {
        if path.is_dir() {
            // A copy of /etc/ufw.
            ufw_dirs.push(path.clone());
        }
    }
    for dir in &ufw_dirs {
        files.push((dir.join("user.rules"), true));
        files.push((dir.join("user6.rules"), false));
        apps_dir.get_or_insert_with(|| dir.join("applications.d"));
        // ufw.conf's ENABLED=no: the rules are ufw's, but not in force.
        let conf = dir.join("ufw.conf");
        if let Ok(text) = std::fs::read_to_string(&conf)
            && text.lines().any(|l| l.trim() == "ENABLED=no")
        {
            eprint(&format!(
                "portcullis import ufw: note: {} says ENABLED=no: ufw is not enabled, so \
                 these rules are not the ones in force now",
                conf.display()
            ));
        }
    }
    for path in opts.paths.iter().filter(|p| !p.is_dir()) {
        files.push((path.clone(), true));
    }
    let apps_dir = apps_dir.unwrap_or_else(|| Path::new(UFW_DIR).join("applications.d"));
    let names = MachineNames {
        services: ServiceNames::load(),
        apps: read_apps(&apps_dir),
    };

    let mut rules: Vec<Rule> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let mut defaults: Option<Defaults> = None;
    let mut read_from: Vec<String> = Vec::new();
    for (path, required) in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprint(&format!(
                    "portcullis import ufw: cannot read {}: {e}",
                    path.display()
                ));
                return UNREADABLE;
            }
        };
        let shown = path.display().to_string();
        let label = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone());
        if ufw::is_rules_file(&text) {
            let (mut r, mut n) = ufw::parse_rules_file(&label, &text);
            rules.append(&mut r);
            notes.append(&mut n);
        } else {
            let script = ufw_script::parse_script(&label, &text, &names);
            if script.rules.is_empty() && script.defaults.is_none() && script.notes.is_empty() {
                eprint(&format!(
                    "portcullis import ufw: {shown} is neither ufw's rules file (no \
                     `### tuple ###` lines) nor a script of ufw commands"
                ));
                return UNREADABLE;
            }
            rules.extend(script.rules);
            notes.extend(script.notes);
            if let Some(d) = script.defaults {
                defaults = Some(d);
            }
        }
        read_from.push(shown);
    }
    let defaults_file = opts
        .defaults
        .clone()
        .or_else(|| system.then(|| PathBuf::from(UFW_DEFAULTS)));
    if let Some(path) = defaults_file {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                defaults = Some(ufw::parse_defaults(&text));
                read_from.push(path.display().to_string());
            }
            Err(e) => {
                eprint(&format!(
                    "portcullis import ufw: cannot read {}: {e}",
                    path.display()
                ));
                return UNREADABLE;
            }
        }
    }

    let imported = to_policy(&rules, defaults, &notes, &read_from, &names);
    // What is printed must be a policy `check` accepts; anything else is a bug here.
    if let Err(d) = crate::policy::parse(&imported.text) {
        eprint(&format!(
            "portcullis import ufw: the imported policy does not validate (a bug; please \
             report it with the input):\n{}\n{}",
            d.render("import", &imported.text),
            imported.text
        ));
        return FAILED;
    }
    out!("{}", imported.text);
    if imported.services == 0 && !imported.text.contains("input_policy = \"accept\"") {
        eprint(
            "portcullis import ufw: warning: no service lets anything in, so this policy \
             refuses every new connection, SSH included; add one before applying it",
        );
    }
    eprint(&format!(
        "portcullis import ufw: {} services, {} blocks, {} networks from {} rules; {} \
         not imported (listed at the top)",
        imported.services,
        imported.blocks,
        imported.networks,
        rules.len(),
        imported.not_imported
    ));
    PRINTED
}

/// Every profile of every file in `dir` (none if it cannot be read: names are then made
/// from ports).
fn read_apps(dir: &Path) -> Vec<(String, Vec<AppPorts>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| ufw::parse_app_profiles(&t))
        .collect()
}

/// /etc/services and the application profiles, as the importer asks for them.
struct MachineNames {
    services: ServiceNames,
    apps: Vec<(String, Vec<AppPorts>)>,
}

impl Names for MachineNames {
    fn service_name(&self, port: u16, tcp: bool) -> Option<String> {
        let proto = if tcp { Protocol::Tcp } else { Protocol::Udp };
        self.services.name(port, proto).map(str::to_string)
    }

    fn service_ports(&self, name: &str) -> Option<(u16, bool, bool)> {
        self.services.port_of(name)
    }

    fn app_ports(&self, name: &str) -> Option<Vec<AppPorts>> {
        self.apps
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, ports)| ports.clone())
    }
}
