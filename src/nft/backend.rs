//! The `nft` binary: the only place portcullis talks to the kernel's firewall.
//!
//! Behind the [`Nft`] trait so front ends can be tested with a fake. Every call names our
//! table or only reads; nothing here can change another table.
//!
//! A load is the one call that changes the firewall, and it is made so that dying in the
//! middle of it cannot go wrong: nft reads its script from a file that is whole before nft
//! starts (a pipe from us would end early if we were killed, and nft would load what it got),
//! and nft inherits the caller's lock, so that nobody can act on the firewall until that nft
//! has exited, whether or not we are still there.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nftables::schema::{NfListObject, Set};

use super::intervals::Interval;
use super::live::{self, LiveObject, set_family, set_intervals};
use super::netlink;

/// Failures of the nft process, with nft's own words where it gave any.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run {path}: {source} (is the nftables package installed? see --nft)")]
    Spawn {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// What portcullis needs from nft.
pub trait Nft {
    /// `nft -j list table inet NAME`: one table with its set elements (slow for big sets).
    fn list_table_json(&self, table: &str) -> Result<String, NftError>;
    /// `nft -t -j list ruleset`: every table and rule with counters, sets without their
    /// elements. Milliseconds even with a 100,000-element set, where `list tables` takes
    /// 0.6 s because nft fetches every element for it (measured with nft 1.0.6).
    fn list_ruleset_terse_json(&self) -> Result<String, NftError>;
    /// `nft -t list ruleset`: every table in nft's text syntax without set elements; the
    /// only cheap listing with table comments (JSON leaves them out), where ownership is
    /// marked.
    fn list_ruleset_terse_text(&self) -> Result<String, NftError>;
    /// `nft list table inet NAME`: the table in nft's own text syntax, which nft loads back
    /// as it was (counter values included). Used for rollback snapshots.
    fn list_table_text(&self, table: &str) -> Result<String, NftError>;
    /// `nft -f -` with `script` as its input: loads it as one transaction. `lock` (the
    /// operator lock's file) is inherited, so the lock stays held until nft exits.
    fn load(&self, script: Script<'_>, lock: &File) -> Result<(), NftError>;
    /// `nft -c -f -`: has the kernel check a script as one transaction, changing nothing.
    fn check_script(&self, script: &str) -> Result<(), NftError>;
    /// The ruleset's generation, which the kernel bumps at every committed transaction;
    /// None when it cannot be read.
    fn generation(&self) -> Option<u32> {
        None
    }
    /// `nft -j list set inet TABLE SET`: one set with its elements (the grants', whose
    /// timed elements no terse listing has), without listing the rest of the table.
    fn list_set_json(&self, table: &str, _set: &str) -> Result<String, NftError> {
        self.list_table_json(table)
    }
    /// The elements of address set `set` (as a terse listing declares it) of `table inet
    /// TABLE`, as merged intervals.
    fn set_intervals(&self, table: &str, set: &Set<'_>) -> Result<Vec<Interval>, NftError> {
        let listing = self.list_table_json(table)?;
        set_from_listing(&listing, table, &set.name)
    }
}

/// Set `set`'s intervals out of a JSON listing of its table.
fn set_from_listing(listing: &str, table: &str, set: &str) -> Result<Vec<Interval>, NftError> {
    let unreadable = |why: String| NftError::Failed {
        command: format!("nft -j list set inet {table} {set}"),
        status: "unreadable".into(),
        stderr: why,
    };
    let objects = live::table_objects(listing, table).map_err(|e| unreadable(e.to_string()))?;
    objects
        .iter()
        .find_map(|o| match o {
            LiveObject::Known(NfListObject::Set(s)) if s.name == set => Some(set_intervals(s)),
            _ => None,
        })
        .flatten()
        .ok_or_else(|| unreadable(format!("no address set {set} in the listing")))
}

/// What a load reads.
#[derive(Debug)]
pub enum Script<'a> {
    /// A file, whole on disk (opened at its start).
    File(File),
    /// A few lines made on the spot (a table's deletion): they fit in a pipe's buffer, so
    /// they are all written before nft reads.
    Small(&'a str),
}

/// The most a [`Script::Small`] may hold: what a pipe takes without blocking.
pub const SMALL_SCRIPT: usize = 4096;

/// The real `nft` binary.
#[derive(Debug, Clone)]
pub struct NftProcess {
    path: PathBuf,
}

impl NftProcess {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        NftProcess { path: path.into() }
    }

    fn spawn_error(&self, source: std::io::Error) -> NftError {
        NftError::Spawn {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, NftError> {
        let command = format!("{} {}", self.path.display(), args.join(" "));
        let mut child = Command::new(&self.path)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| NftError::Spawn {
                path: self.path.display().to_string(),
                source,
            })?;
        if let Some(input) = stdin {
            // Written from a thread so a large script can't deadlock against nft's output.
            let mut pipe = child.stdin.take().expect("stdin was piped");
            let input = input.to_owned();
            let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
            let output = child.wait_with_output();
            let _ = writer.join();
            return finish(command, output);
        }
        finish(command, child.wait_with_output())
    }
}

fn finish(
    command: String,
    output: std::io::Result<std::process::Output>,
) -> Result<String, NftError> {
    let output = output.map_err(|source| NftError::Spawn {
        path: command.clone(),
        source,
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(NftError::Failed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_string(),
        })
    }
}

impl Nft for NftProcess {
    fn list_table_json(&self, table: &str) -> Result<String, NftError> {
        self.run(&["-j", "list", "table", "inet", table], None)
    }

    fn list_ruleset_terse_json(&self) -> Result<String, NftError> {
        self.run(&["-t", "-j", "list", "ruleset"], None)
    }

    fn list_ruleset_terse_text(&self) -> Result<String, NftError> {
        self.run(&["-t", "list", "ruleset"], None)
    }

    fn list_table_text(&self, table: &str) -> Result<String, NftError> {
        self.run(&["list", "table", "inet", table], None)
    }

    fn load(&self, script: Script<'_>, lock: &File) -> Result<(), NftError> {
        let command = format!("{} -f -", self.path.display());
        // stdout is a copy of the lock's descriptor: flock locks belong to the open file,
        // so nft holds the lock for as long as it runs. (nft -f writes nothing to stdout.)
        let held = lock.try_clone().map_err(|e| self.spawn_error(e))?;
        let mut cmd = Command::new(&self.path);
        cmd.args(["-f", "-"])
            .stdout(Stdio::from(held))
            .stderr(Stdio::piped());
        let output = match script {
            Script::File(file) => cmd
                .stdin(Stdio::from(file))
                .spawn()
                .and_then(|child| child.wait_with_output()),
            Script::Small(text) => {
                debug_assert!(text.len() <= SMALL_SCRIPT, "a small script is small");
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .spawn()
                    .map_err(|e| self.spawn_error(e))?;
                // One write of less than a pipe's buffer: it is all there or nft failed.
                if let Some(mut pipe) = child.stdin.take() {
                    let _ = pipe.write_all(text.as_bytes());
                }
                child.wait_with_output()
            }
        };
        finish(command, output).map(|_| ())
    }

    fn check_script(&self, script: &str) -> Result<(), NftError> {
        self.run(&["-c", "-f", "-"], Some(script)).map(|_| ())
    }

    fn generation(&self) -> Option<u32> {
        netlink::generation().ok()
    }

    fn list_set_json(&self, table: &str, set: &str) -> Result<String, NftError> {
        self.run(&["-j", "list", "set", "inet", table, set], None)
    }

    /// Over netlink (where nft takes half a second more at 100,000 elements), or nft's
    /// listing of the one set if netlink cannot be used.
    fn set_intervals(&self, table: &str, set: &Set<'_>) -> Result<Vec<Interval>, NftError> {
        let from_nft = || {
            self.run(&["-j", "list", "set", "inet", table, &set.name], None)
                .and_then(|l| set_from_listing(&l, table, &set.name))
        };
        let Some(family) = set_family(set) else {
            return from_nft();
        };
        let interval = set
            .flags
            .as_ref()
            .is_some_and(|f| f.contains(&nftables::schema::SetFlag::Interval));
        match netlink::read(table, &set.name, family.bits(), interval) {
            Ok(list) => Ok(list),
            Err(_) => from_nft(),
        }
    }
}
