//! A throwaway two-host lab for the kernel tests: a "server" and a "client" network
//! namespace joined by a veth pair, removed again when the lab is dropped.
//!
//! ```text
//!   client ns                                  server ns
//!   [many source addresses] C_IF ====veth==== S_IF [192.0.2.1, 2001:db8:ffff::1]
//!                                                   portcullis + nft run here
//! ```
//! Both sides route everything on-link over the veth, so any source address added to the
//! client can reach the server and be answered. Sockets are opened inside a namespace by a
//! short-lived thread that first `setns`es into it (namespaces are per thread).
//! Traffic never leaves these namespaces.

#![allow(dead_code)]

pub mod faults;
pub mod pty;

use std::fs::File;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, Type};

pub const SERVER4: &str = "192.0.2.1";
pub const SERVER6: &str = "2001:db8:ffff::1";

/// How long a probe waits before calling a destination unreachable (dropped packets are
/// silent, so blocked probes always take this long; they run in parallel).
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

static NEXT: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

pub struct Lab {
    pub server: String,
    pub client: String,
    pub server_if: String,
    pub client_if: String,
    /// portcullis's state directory for this lab (journal, snapshots, audit log), so no
    /// test ever touches /var/lib/portcullis.
    pub state_dir: tempfile::TempDir,
    tcp: Vec<TcpListener>,
    udp: Vec<(u16, UdpSocket)>,
}

/// A lab, or None (with a loud message) when PORTCULLIS_SKIP_NETNS=1.
/// Without that variable a machine that cannot make namespaces fails the test.
pub fn lab() -> Option<Lab> {
    if std::env::var("PORTCULLIS_SKIP_NETNS").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED (PORTCULLIS_SKIP_NETNS=1): this test needs root and network namespaces");
        return None;
    }
    match Lab::new() {
        Ok(lab) => Some(lab),
        Err(e) => panic!(
            "cannot create the test's network namespaces: {e}\n\
             These tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 and nftables.\n\
             Run them as root, or set PORTCULLIS_SKIP_NETNS=1 on a machine that truly cannot."
        ),
    }
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out)
}

fn ip(args: &[&str]) -> Result<(), String> {
    run(Command::new("ip").args(args)).map(|_| ())
}

impl Lab {
    fn new() -> Result<Lab, String> {
        let id = format!(
            "{:x}{}",
            std::process::id() & 0xffff,
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let lab = Lab {
            server: format!("pc-{id}-srv"),
            client: format!("pc-{id}-cli"),
            server_if: format!("pcs{id}"),
            client_if: format!("pcc{id}"),
            state_dir: tempfile::tempdir().map_err(|e| format!("state dir: {e}"))?,
            tcp: Vec::new(),
            udp: Vec::new(),
        };
        ip(&["netns", "add", &lab.server])?;
        // From here on, Drop cleans up whatever was made.
        ip(&["netns", "add", &lab.client])?;
        let (s, c, si, ci) = (&lab.server, &lab.client, &lab.server_if, &lab.client_if);
        ip(&[
            "link", "add", si, "netns", s, "type", "veth", "peer", "name", ci, "netns", c,
        ])?;
        for (ns, dev) in [(s, si), (c, ci)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "route", "add", "default", "dev", dev])?;
            ip(&["-n", ns, "-6", "route", "add", "default", "dev", dev])?;
        }
        ip(&["-n", s, "addr", "add", &format!("{SERVER4}/32"), "dev", si])?;
        ip(&[
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER6}/128"),
            "dev",
            si,
            "nodad",
        ])?;
        Ok(lab)
    }

    /// Gives the server another address (on its veth, beside SERVER4 and SERVER6).
    pub fn add_server_addr(&self, addr: &str) {
        add_addr(&self.server, &self.server_if, addr);
    }

    /// Gives the client another source address.
    pub fn add_client_addr(&self, addr: &str) {
        add_addr(&self.client, &self.client_if, addr);
    }

    /// The real portcullis binary inside the server namespace, with this lab's state
    /// directory and no SSH_CONNECTION (tests that need one set it).
    pub fn portcullis_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.server,
            env!("CARGO_BIN_EXE_portcullis"),
        ])
        .args(args)
        .env("PORTCULLIS_STATE_DIR", self.state_dir.path())
        // The machine's own system log hears nothing of the tests.
        .env("PORTCULLIS_SYSLOG_SOCKET", "")
        .env_remove("SSH_CONNECTION")
        .env_remove("PORTCULLIS_POLICY");
        cmd
    }

    /// Runs portcullis in the server namespace as uid/gid 65534 (no capabilities), with
    /// `state_dir` as its state directory.
    pub fn portcullis_unprivileged(&self, args: &[&str], state_dir: &std::path::Path) -> Output {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.server,
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ])
            .arg(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .env("PORTCULLIS_STATE_DIR", state_dir)
            .env("PORTCULLIS_SYSLOG_SOCKET", "")
            .env_remove("SSH_CONNECTION")
            .output()
            .expect("run portcullis unprivileged")
    }

    /// argv (for `ip`) that runs the terminal UI in the server namespace, with this lab's
    /// state directory, refreshing every 300 ms.
    pub fn ui_argv(&self, policy: &str) -> Vec<String> {
        let exe = env!("CARGO_BIN_EXE_portcullis");
        let state = self.state_dir.path().to_str().expect("utf-8");
        [
            "netns",
            "exec",
            &self.server,
            exe,
            "--policy",
            policy,
            "--state-dir",
            state,
            "tui",
            "--refresh",
            "300ms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Runs the real portcullis binary inside the server namespace.
    pub fn portcullis(&self, args: &[&str]) -> Output {
        self.portcullis_command(args)
            .output()
            .expect("run portcullis")
    }

    /// Runs portcullis in the server namespace and returns its stdout; panics with
    /// everything it printed if it fails.
    pub fn portcullis_ok(&self, args: &[&str]) -> String {
        let out = self.portcullis(args);
        assert!(
            out.status.success(),
            "portcullis {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs nft inside the server namespace and returns its stdout; panics on failure.
    pub fn nft(&self, args: &[&str]) -> String {
        let out = run(Command::new("ip")
            .args(["netns", "exec", &self.server, "nft"])
            .args(args))
        .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Loads an nft script inside the server namespace.
    pub fn nft_script(&self, script: &str) {
        let path = std::env::temp_dir().join(format!("{}.nft", self.server));
        std::fs::write(&path, script).expect("write script");
        self.nft(&["-f", path.to_str().expect("path")]);
        let _ = std::fs::remove_file(path);
    }

    /// Opens a dual-stack listener on the server for each port.
    pub fn listen(&mut self, proto: Proto, ports: &[u16]) {
        for &port in ports {
            match proto {
                Proto::Tcp => {
                    let l = in_ns(&self.server, move || {
                        let s = Socket::new(Domain::IPV6, Type::STREAM, Some(SockProto::TCP))?;
                        s.set_only_v6(false)?;
                        s.set_reuse_address(true)?;
                        s.bind(&SockAddr::from(SocketAddr::new(
                            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                            port,
                        )))?;
                        s.listen(1024)?;
                        Ok::<_, std::io::Error>(TcpListener::from(s))
                    });
                    self.tcp.push(l.expect("tcp listener"));
                }
                Proto::Udp => {
                    let u = in_ns(&self.server, move || {
                        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(SockProto::UDP))?;
                        s.set_only_v6(false)?;
                        s.bind(&SockAddr::from(SocketAddr::new(
                            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                            port,
                        )))?;
                        Ok::<_, std::io::Error>(UdpSocket::from(s))
                    });
                    self.udp.push((port, u.expect("udp socket")));
                }
            }
        }
    }

    /// For each probe (source address on the client, protocol, server port): did it reach
    /// the server? TCP: the handshake completed or was refused by the server's stack.
    /// UDP: the datagram arrived at the listener. Probes run in parallel.
    pub fn reachable(&self, probes: &[(&str, Proto, u16)]) -> Vec<bool> {
        let to: Vec<(&str, Proto, IpAddr, u16)> = probes
            .iter()
            .map(|&(src, proto, port)| {
                let a: IpAddr = src.parse().expect("source address");
                (src, proto, server_addr(a), port)
            })
            .collect();
        self.reachable_at(&to)
    }

    /// The same, each probe to a server address of its own (one the server has).
    pub fn reachable_at(&self, probes: &[(&str, Proto, IpAddr, u16)]) -> Vec<bool> {
        let mut results = vec![false; probes.len()];
        let mut tcp_threads = Vec::new();
        for (i, &(src, proto, dst, port)) in probes.iter().enumerate() {
            if proto != Proto::Tcp {
                continue;
            }
            let client = self.client.clone();
            let src: IpAddr = src.parse().expect("source address");
            tcp_threads.push((
                i,
                std::thread::spawn(move || in_ns(&client, move || tcp_probe(src, dst, port))),
            ));
        }
        // UDP: send one datagram per probe, tagged with its index, then collect arrivals.
        let udp: Vec<(usize, IpAddr, IpAddr, u16)> = probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 == Proto::Udp)
            .map(|(i, p)| (i, p.0.parse().expect("source address"), p.2, p.3))
            .collect();
        if !udp.is_empty() {
            let sends = udp.clone();
            in_ns(&self.client, move || {
                for (i, src, dst, port) in sends {
                    let s = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind udp source");
                    let _ = s.send_to(format!("probe-{i}").as_bytes(), SocketAddr::new(dst, port));
                }
            });
            let deadline = Instant::now() + PROBE_TIMEOUT;
            for (port, sock) in &self.udp {
                let mut buf = [0u8; 64];
                loop {
                    // Wait for stragglers until the deadline; after it, still drain what
                    // is queued, so a slow port doesn't hide the arrivals at the next one.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        sock.set_nonblocking(true).expect("nonblocking");
                    } else {
                        sock.set_read_timeout(Some(left)).expect("timeout");
                    }
                    match sock.recv(&mut buf) {
                        Ok(n) => {
                            if let Some(i) = std::str::from_utf8(&buf[..n])
                                .ok()
                                .and_then(|t| t.strip_prefix("probe-"))
                                .and_then(|i| i.parse::<usize>().ok())
                                && probes.get(i).is_some_and(|p| p.3 == *port)
                            {
                                results[i] = true;
                            }
                            if udp.iter().filter(|u| u.3 == *port).all(|u| results[u.0]) {
                                break;
                            }
                        }
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            break;
                        }
                        Err(e) => panic!("udp receive: {e}"),
                    }
                }
                sock.set_nonblocking(false).expect("blocking");
            }
        }
        for (i, t) in tcp_threads {
            results[i] = t.join().expect("probe thread");
        }
        results
    }
}

/// One more host address on `dev` in `ns` (IPv6 without duplicate detection, so it is
/// usable at once).
fn add_addr(ns: &str, dev: &str, addr: &str) {
    let a: IpAddr = addr.parse().expect("test address");
    let (prefix, extra): (&str, &[&str]) = if a.is_ipv4() {
        ("32", &[])
    } else {
        ("128", &["nodad"])
    };
    let cidr = format!("{addr}/{prefix}");
    let mut args = vec!["-n", ns, "addr", "add", &cidr, "dev", dev];
    args.extend_from_slice(extra);
    ip(&args).unwrap_or_else(|e| panic!("{e}"));
}

fn server_addr(src: IpAddr) -> IpAddr {
    if src.is_ipv4() {
        SERVER4.parse().expect("server address")
    } else {
        SERVER6.parse().expect("server address")
    }
}

fn tcp_probe(src: IpAddr, dst: IpAddr, port: u16) -> bool {
    match tcp_connect(src, dst, port, PROBE_TIMEOUT).0 {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => true,
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => false,
        Err(e) => panic!("tcp probe from {src} to {dst} port {port}: {e}"),
    }
}

/// One TCP connect from `src` to `dst:port` in the calling thread's namespace: how it
/// ended, and how long it took.
pub fn tcp_connect(
    src: IpAddr,
    dst: IpAddr,
    port: u16,
    timeout: Duration,
) -> (std::io::Result<()>, Duration) {
    let domain = if src.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, Some(SockProto::TCP)).expect("socket");
    s.bind(&SockAddr::from(SocketAddr::new(src, 0)))
        .expect("bind source address");
    let start = Instant::now();
    let result = s.connect_timeout(&SockAddr::from(SocketAddr::new(dst, port)), timeout);
    (result, start.elapsed())
}

/// The server's address of `src`'s family.
pub fn server_of(src: IpAddr) -> IpAddr {
    server_addr(src)
}

/// Runs `f` on a thread that has joined the named network namespace.
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let handle = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        setns(&handle, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace removes its end of the veth pair, and so the pair.
        let _ = ip(&["netns", "del", &self.server]);
        let _ = ip(&["netns", "del", &self.client]);
    }
}

/// Writes a policy to a temporary file and returns its path (kept alive by the guard).
pub fn policy_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp policy");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write policy");
    f
}

/// An nft listing as words, with every counter value replaced by `N`: two listings of the
/// same table compare equal whatever traffic passed.
pub fn without_counters(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && matches!(words[i - 1], "packets" | "bytes") {
                "N".to_string()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// The whole ruleset of the lab's server, without counter values (`nft -s`): what must come
/// back after a rollback.
pub fn ruleset(lab: &Lab) -> String {
    lab.nft(&["-s", "list", "ruleset"])
}

/// `portcullis status --json` in the lab.
pub fn status(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(&lab.portcullis_ok(&["status", "--json"])).expect("status json")
}

/// Everything a command printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The wall clock, ms since the epoch.
pub fn wall_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_millis()
}

/// The pending commit's deadline as `status --json` reports it, ms since the epoch.
pub fn reported_deadline(status: &serde_json::Value) -> u128 {
    let text = status["pending"]["deadline"]
        .as_str()
        .unwrap_or_else(|| panic!("a pending commit with a deadline: {status:#}"));
    humantime::parse_rfc3339(text)
        .expect("rfc3339")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_millis()
}
