//! What portcullis reads from the running system: the clocks and which boot this is, the
//! network namespace, which interface holds an address, when the operator's login session
//! began, the host's name. Small reads of /proc and syscalls; everything that decides
//! lives elsewhere.

use std::net::IpAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::time::{ClockId, clock_gettime};

/// Wall clock, milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// CLOCK_BOOTTIME in nanoseconds: the clock /proc's process start times count in.
pub fn boot_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// This boot's random id (/proc/sys/kernel/random/boot_id): a CLOCK_BOOTTIME reading means
/// something only within the boot it was taken in.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_string())
        .unwrap_or_default()
}

/// This machine's name, for the UI's status bar and `init`'s header.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The network namespace of process `pid` ("self" for ours), as `net:[INODE]`.
pub fn netns_of(pid: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

pub fn current_netns() -> String {
    netns_of("self").unwrap_or_else(|| "unknown".to_string())
}

/// Whether systemd manages this machine and we run in its network namespace: only then can
/// a transient timer roll back *this* firewall. (A unit started by systemd runs in the
/// system's namespace; arming one from inside a test namespace would roll back the host.)
pub fn systemd_can_guard() -> bool {
    Path::new("/run/systemd/system").is_dir()
        && nix::unistd::geteuid().is_root()
        && netns_of("1").is_some_and(|init| init == current_netns())
}

/// The interface that holds `address`, if any does.
pub fn interface_of(address: IpAddr) -> Option<String> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    for ifa in addrs {
        let Some(storage) = ifa.address else { continue };
        let ip = if let Some(v4) = storage.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = storage.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        if ip == address {
            return Some(ifa.interface_name);
        }
    }
    None
}

/// The process that stands for the operator's login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOrigin {
    /// `sshd`, `sshd-session`, `cockpit-session`, `session leader` or `oldest ancestor`.
    pub kind: String,
    pub pid: u32,
    /// CLOCK_BOOTTIME at its start, in nanoseconds.
    pub started_boot_ns: u64,
}

/// Process names that stand for one login: the per-connection sshd process (OpenSSH before
/// 9.8 names it `sshd`, later ones `sshd-session`) and Cockpit's per-login process.
const SESSION_PROCESSES: &[&str] = &["sshd", "sshd-session", "cockpit-session"];

/// The nearest ancestor that is a per-connection sshd (or Cockpit session) process, else
/// the leader of our session, else (the leader lives outside our PID namespace, as in a
/// container or a CI runner started without a session) the oldest ancestor we can read.
/// Walking ancestors rather than asking for the session leader matters: `sudo` (with
/// use_pty) starts a new session for its command, whose leader is brand new whatever
/// connection it runs in.
pub fn session_origin() -> Option<SessionOrigin> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)? as u64;
    let origin = |kind: &str, pid: u32, stat: &ProcStat| SessionOrigin {
        kind: kind.to_string(),
        pid,
        started_boot_ns: stat.start_ticks * 1_000_000_000 / ticks,
    };
    let mut pid = std::process::id();
    let mut oldest: Option<(u32, ProcStat)> = None;
    for _ in 0..64 {
        let Some(stat) = ProcStat::read(pid) else {
            break;
        };
        if SESSION_PROCESSES.contains(&stat.comm.as_str()) {
            return Some(origin(&stat.comm, pid, &stat));
        }
        let parent = stat.ppid;
        oldest = Some((pid, stat));
        if parent <= 1 {
            break;
        }
        pid = parent;
    }
    let leader = nix::unistd::getsid(None).ok()?.as_raw();
    if leader > 0
        && let Some(stat) = ProcStat::read(leader as u32)
    {
        return Some(origin("session leader", leader as u32, &stat));
    }
    oldest.map(|(pid, stat)| origin("oldest ancestor", pid, &stat))
}

/// The processes that have the file `(dev, ino)` open, from /proc/*/fd (ours left out).
pub fn processes_with_open(dev: u64, ino: u64) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    procs
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    // metadata follows the fd's link to the open file itself.
                    std::fs::metadata(fd.path()).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
                })
            })
        })
        .collect()
}

/// A process's name (comm) and its parent's pid.
pub fn name_and_parent(pid: u32) -> Option<(String, u32)> {
    ProcStat::read(pid).map(|s| (s.comm, s.ppid))
}

struct ProcStat {
    comm: String,
    ppid: u32,
    start_ticks: u64,
}

impl ProcStat {
    fn read(pid: u32) -> Option<ProcStat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&text)
    }
}

/// Parses /proc/PID/stat. The name is in parentheses and may itself contain spaces and
/// parentheses, so the fields after it are found from the last `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); ppid is field 4, starttime field 22.
    Some(ProcStat {
        comm,
        ppid: rest.get(1)?.parse().ok()?,
        start_ticks: rest.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_with_spaces_and_parentheses_parse() {
        let text = "4242 (sshd: a (b) c) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 \
                    987654 1 2 3";
        let s = parse_stat(text).expect("parses");
        assert_eq!(s.comm, "sshd: a (b) c");
        assert_eq!(s.ppid, 17);
        assert_eq!(s.start_ticks, 987654);
    }

    #[test]
    fn our_own_session_has_an_origin_that_started_before_now() {
        let origin = session_origin().expect("a session origin");
        assert!(origin.started_boot_ns <= boot_ns(), "{origin:?}");
    }

    #[test]
    fn loopback_belongs_to_lo() {
        // Every network namespace has lo, though it may be down without addresses.
        if let Some(name) = interface_of("127.0.0.1".parse().expect("ip")) {
            assert_eq!(name, "lo");
        }
    }
}
