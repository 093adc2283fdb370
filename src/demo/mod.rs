//! `portcullis demo`: the whole program in a throwaway network namespace. It makes a
//! "server" and a "client" namespace joined by a veth pair, starts a few real listeners in
//! the server (SSH-like, HTTPS, syslog over UDP, a database on loopback, and one port no
//! service covers), loads the SIEM example policy there, sends a little traffic from the
//! client so the counters move, and runs the terminal UI inside the server namespace.
//! Everything goes away when the UI exits, also when it crashes or a signal ends the demo;
//! a demo killed outright (SIGKILL) is cleaned up by the next one. The host's firewall is
//! never touched: every nft and every socket of the demo lives in its namespaces.

pub mod helpers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Set by the demo for the UI it starts: the namespace's name, for the status bar.
pub const DEMO_ENV: &str = "PORTCULLIS_DEMO_NAMESPACE";

/// The policy the demo loads, built into the binary so an installed portcullis has it.
pub const POLICY: &str = include_str!("../../assets/examples/siem-server.toml");

/// The server's address on the veth pair; the client's is .2.
pub const SERVER: &str = "10.211.0.1";
const CLIENT: &str = "10.211.0.2";
/// The client's source addresses: in the example's admin, soc, agents and netdevices
/// networks, and one in none of them.
pub const ADDRESSES: [&str; 5] = [
    "192.0.2.10",
    "198.51.100.7",
    "203.0.113.5",
    "203.0.113.140",
    "192.0.2.66",
];

const PREFIX: &str = "pcdemo-";

/// The listeners: (process name, protocol, address).
const LISTENERS: &[(&str, &str, &str)] = &[
    ("demo-sshd", "--tcp", "0.0.0.0:22"),
    ("demo-https", "--tcp", "[::]:443"),
    ("demo-syslog", "--udp", "0.0.0.0:514"),
    ("demo-postgres", "--tcp", "127.0.0.1:5432"),
    ("demo-app", "--tcp", "0.0.0.0:8080"),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the demo needs root to create network namespaces (try: sudo portcullis demo); it never \
         touches this machine's firewall"
    )]
    NotRoot,
    #[error("{what} failed: {detail}")]
    Step { what: String, detail: String },
}

/// What the demo made, removed on drop (normal exit, error, or panic unwinding).
struct Demo {
    id: u32,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Demo {
    fn server(&self) -> String {
        format!("{PREFIX}{}-srv", self.id)
    }
    fn client(&self) -> String {
        format!("{PREFIX}{}-cli", self.id)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        remove(self.id, &self.dir);
    }
}

/// Removes demo `id`'s namespaces (their veth pair goes with them) and its directory.
fn remove(id: u32, dir: &Path) {
    for side in ["srv", "cli"] {
        let _ = Command::new("ip")
            .args(["netns", "del", &format!("{PREFIX}{id}-{side}")])
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Leftovers of demos whose process is gone (killed with SIGKILL, or the machine
/// crashed): namespaces named pcdemo-PID-* and their directories.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{id}")).exists() {
            remove(id, &demo_dir(id));
        }
    }
}

fn demo_dir(id: u32) -> PathBuf {
    std::env::temp_dir().join(format!("portcullis-demo-{id}"))
}

fn run_step(what: &str, program: &str, args: &[&str]) -> Result<(), DemoError> {
    let out = Command::new(program)
        .args(args)
        // Demo commits are make-believe: the machine's system log must not record them.
        .env(crate::commit::syslog::OFF_ENV, "")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DemoError::Step {
            what: what.into(),
            detail: format!("cannot run {program}: {e}"),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DemoError::Step {
            what: what.into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The options the UI is started with, passed through.
pub struct Options {
    pub exe: PathBuf,
    pub nft: PathBuf,
    pub theme: Option<String>,
    pub no_color: bool,
    pub refresh: String,
}

/// Runs the demo; returns the UI's exit status.
pub fn run(opts: &Options) -> Result<u8, DemoError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(DemoError::NotRoot);
    }
    remove_stale();
    let id = std::process::id();
    let dir = demo_dir(id);
    let mut demo = Demo {
        id,
        dir: dir.clone(),
        children: Vec::new(),
    };
    make_dir(&dir)?;
    let policy = dir.join("siem-server.toml");
    std::fs::write(&policy, POLICY).map_err(|e| DemoError::Step {
        what: "writing the demo policy".into(),
        detail: e.to_string(),
    })?;
    build_network(&demo)?;
    let (srv, cli) = (demo.server(), demo.client());
    let exe = opts.exe.to_string_lossy().into_owned();
    let nft = opts.nft.to_string_lossy().into_owned();
    let policy_arg = policy.to_string_lossy().into_owned();
    let state = dir.join("state").to_string_lossy().into_owned();
    let common = [
        "--policy",
        policy_arg.as_str(),
        "--state-dir",
        state.as_str(),
        "--nft",
        nft.as_str(),
    ];

    run_step(
        "loading the demo policy in its namespace",
        "ip",
        &[
            &["netns", "exec", &srv, &exe][..],
            &common[..],
            &["apply", "--yes"],
        ]
        .concat(),
    )?;
    for (name, proto, addr) in LISTENERS {
        let child = spawn(&[
            "netns",
            "exec",
            &srv,
            &exe,
            "demo-serve",
            "--name",
            name,
            proto,
            addr,
        ])?;
        demo.children.push(child);
    }
    demo.children
        .push(spawn(&["netns", "exec", &cli, &exe, "demo-traffic"])?);

    // The UI owns the terminal. Signals to the demo go on to it, so it restores the
    // terminal and exits, and then this process cleans up.
    let mut ui_args: Vec<String> = ["netns", "exec", &srv, &exe]
        .iter()
        .map(|s| s.to_string())
        .collect();
    ui_args.extend(common.iter().map(|s| s.to_string()));
    if let Some(t) = &opts.theme {
        ui_args.extend(["--theme".into(), t.clone()]);
    }
    if opts.no_color {
        ui_args.push("--no-color".into());
    }
    ui_args.extend(["tui".into(), "--refresh".into(), opts.refresh.clone()]);
    let ui_pid = Arc::new(AtomicI32::new(0));
    forward_signals(Arc::clone(&ui_pid));
    let mut ui = Command::new("ip")
        .args(&ui_args)
        .env(DEMO_ENV, &srv)
        .env(crate::commit::syslog::OFF_ENV, "")
        .spawn()
        .map_err(|e| DemoError::Step {
            what: "starting the terminal UI".into(),
            detail: e.to_string(),
        })?;
    ui_pid.store(ui.id() as i32, Ordering::SeqCst);
    let status = ui.wait().map_err(|e| DemoError::Step {
        what: "waiting for the terminal UI".into(),
        detail: e.to_string(),
    })?;
    drop(demo);
    // Ignoring errors: after a hangup there is no terminal to print to, and a failed
    // eprintln would panic.
    let _ = writeln!(
        std::io::stderr(),
        "portcullis demo: removed namespaces {srv} and {cli}; the host's firewall was never touched"
    );
    Ok(status.code().map_or(2, |c| c as u8))
}

fn make_dir(dir: &Path) -> Result<(), DemoError> {
    use std::os::unix::fs::DirBuilderExt;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| DemoError::Step {
            what: format!("creating {}", dir.display()),
            detail: e.to_string(),
        })
}

fn build_network(demo: &Demo) -> Result<(), DemoError> {
    let (srv, cli) = (demo.server(), demo.client());
    let (veth_s, veth_c) = (format!("pcd{}s", demo.id), format!("pcd{}c", demo.id));
    let step = |args: &[&str]| run_step(&format!("ip {}", args.join(" ")), "ip", args);
    step(&["netns", "add", &srv])?;
    step(&["netns", "add", &cli])?;
    step(&[
        "link", "add", &veth_s, "netns", &srv, "type", "veth", "peer", "name", &veth_c, "netns",
        &cli,
    ])?;
    let in_ns = |ns: &str, args: &[&str]| step(&[&["-n", ns][..], args].concat());
    in_ns(&srv, &["link", "set", "lo", "up"])?;
    in_ns(&cli, &["link", "set", "lo", "up"])?;
    in_ns(
        &srv,
        &["addr", "add", &format!("{SERVER}/24"), "dev", &veth_s],
    )?;
    in_ns(
        &cli,
        &["addr", "add", &format!("{CLIENT}/24"), "dev", &veth_c],
    )?;
    for a in ADDRESSES {
        in_ns(&cli, &["addr", "add", &format!("{a}/32"), "dev", &veth_c])?;
    }
    in_ns(&srv, &["link", "set", &veth_s, "up"])?;
    in_ns(&cli, &["link", "set", &veth_c, "up"])?;
    // Replies to the client's other addresses go back over the pair.
    in_ns(&srv, &["route", "add", "default", "via", CLIENT])?;
    Ok(())
}

fn spawn(args: &[&str]) -> Result<Child, DemoError> {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| DemoError::Step {
            what: format!("starting ip {}", args.join(" ")),
            detail: e.to_string(),
        })
}

/// SIGTERM, SIGHUP and SIGINT no longer end this process at once: they go on to the UI,
/// whose exit lets the cleanup run.
fn forward_signals(ui_pid: Arc<AtomicI32>) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT]) else {
        return;
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let pid = ui_pid.load(Ordering::SeqCst);
            if pid > 0 {
                let sig = Signal::try_from(signal).unwrap_or(Signal::SIGTERM);
                let _ = kill(Pid::from_raw(pid), sig);
            }
        }
    });
}
