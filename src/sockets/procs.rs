//! Which process owns a socket: the inode of every `socket:[N]` link in /proc/PID/fd.
//! Processes that end mid-scan are skipped; without root, other users' fds are unreadable
//! and their sockets stay without an owner.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

/// A process that holds a socket open.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub user: String,
}

/// socket inode -> owning process (the lowest pid when several share it, as after fork).
pub fn socket_owners() -> HashMap<u32, Process> {
    let mut owners: HashMap<u32, Process> = HashMap::new();
    let mut users: HashMap<u32, String> = HashMap::new();
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return owners;
    };
    let mut pids: Vec<u32> = proc_dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue; // gone, or not ours to read
        };
        let mut process: Option<Process> = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = socket_inode(&target.to_string_lossy()) else {
                continue;
            };
            if owners.contains_key(&inode) {
                continue;
            }
            if process.is_none() {
                process = describe(pid, &mut users);
            }
            if let Some(p) = &process {
                owners.insert(inode, p.clone());
            }
        }
    }
    owners
}

/// `socket:[12345]` -> 12345.
fn socket_inode(link: &str) -> Option<u32> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn describe(pid: u32, users: &mut HashMap<u32, String>) -> Option<Process> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    let user = users.entry(uid).or_insert_with(|| user_name(uid)).clone();
    Some(Process {
        pid,
        name: name.trim_end().to_string(),
        user,
    })
}

pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_give_their_inode() {
        assert_eq!(socket_inode("socket:[4026]"), Some(4026));
        assert_eq!(socket_inode("pipe:[4026]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn our_own_listener_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let owners = socket_owners();
        let me = std::process::id();
        assert!(owners.values().any(|p| p.pid == me), "{owners:?}");
        drop(listener);
    }
}
