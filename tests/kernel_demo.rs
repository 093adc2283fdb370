//! `portcullis demo` for real: it builds its namespaces, starts its listeners and traffic,
//! shows them in the UI with counters moving, and leaves nothing behind: after `q`, after
//! the UI crashes, and (through the next demo) after being killed outright.

mod common;

use std::time::Duration;

use common::pty::Pty;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn namespaces_of(pid: u32) -> Vec<String> {
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("pcdemo-{pid}-")))
        .map(str::to_string)
        .collect()
}

/// The children of `pid`, as (pid, name).
fn children_of(pid: u32) -> Vec<(u32, String)> {
    let child = |p: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let ppid: u32 = stat[close + 2..].split_whitespace().nth(1)?.parse().ok()?;
        (ppid == pid).then(|| (p, stat[open + 1..close].to_string()))
    };
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter_map(child)
        .collect()
}

/// The demo's helpers: its children named `demo-*`.
fn helpers_of(pid: u32) -> Vec<u32> {
    children_of(pid)
        .into_iter()
        .filter(|(_, name)| name.starts_with("demo-"))
        .map(|(p, _)| p)
        .collect()
}

/// A running demo; ended with SIGTERM (which it forwards to its UI before cleaning up) if
/// a test fails while it runs, so a failure leaves no namespaces behind.
struct Running(Pty);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.child.try_wait() {
            let _ = kill(Pid::from_raw(self.0.pid()), Signal::SIGTERM);
            let start = std::time::Instant::now();
            while matches!(self.0.child.try_wait(), Ok(None))
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl std::ops::Deref for Running {
    type Target = Pty;
    fn deref(&self) -> &Pty {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Pty {
        &mut self.0
    }
}

fn start_demo() -> Option<Running> {
    if std::env::var("PORTCULLIS_SKIP_NETNS").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED (PORTCULLIS_SKIP_NETNS=1): the demo needs root and network namespaces");
        return None;
    }
    let pty = Running(Pty::spawn(
        env!("CARGO_BIN_EXE_portcullis"),
        &["demo", "--refresh", "300ms"],
        &[("TERM", "xterm-256color")],
        &["NO_COLOR"],
    ));
    // Its listeners under their own names, the uncovered port, and traffic counted.
    pty.wait_screen(
        "the demo's sockets and moving counters",
        Duration::from_secs(20),
        |s| {
            let text = s.contents();
            let cols = s.size().1.get();
            let left = cols * portcullis::ui::sockets_share(cols) / 100;
            // The syslog rule's packet counter, in the rules pane (the right part).
            let syslog_packets = s.rows(left, cols - left).find_map(|r| {
                r.split("syslog")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            });
            let ok = text.contains("demo-sshd")
                && text.contains("demo-postgres")
                && text.contains("no rule (drop)")
                && text.contains("DEMO in namespace")
                && syslog_packets.is_some_and(|n| n > 0);
            ok.then_some(())
        },
    );
    Some(pty)
}

fn wait_until(what: &str, check: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_demo_runs_and_q_leaves_nothing_behind() {
    let Some(mut pty) = start_demo() else { return };
    let pid = pty.pid() as u32;
    assert_eq!(
        namespaces_of(pid).len(),
        2,
        "a server and a client namespace"
    );
    assert_eq!(helpers_of(pid).len(), 6, "five listeners and the traffic");
    pty.type_text("q");
    assert_eq!(pty.wait(Duration::from_secs(15)), 0);
    assert!(
        namespaces_of(pid).is_empty(),
        "namespaces left: {:?}",
        namespaces_of(pid)
    );
    assert!(helpers_of(pid).is_empty());
    assert!(
        !std::env::temp_dir()
            .join(format!("portcullis-demo-{pid}"))
            .exists()
    );
    assert!(pty.text().contains("the host's firewall was never touched"));
}

#[test]
fn a_crashed_ui_and_a_killed_demo_are_cleaned_up() {
    // The UI crashes (SIGABRT, as an abort or a double panic ends a process; a SIGSEGV sent
    // with kill is ignored by Rust's stack-overflow handler): the demo still removes everything.
    let Some(mut pty) = start_demo() else { return };
    let pid = pty.pid() as u32;
    let ui = ui_of(pid).expect("the UI process");
    kill(Pid::from_raw(ui as i32), Signal::SIGABRT).expect("crash the UI");
    pty.wait(Duration::from_secs(15));
    assert!(
        namespaces_of(pid).is_empty(),
        "namespaces left after a crash: {:?}",
        namespaces_of(pid)
    );

    // The demo itself killed outright: its helpers die with it (PR_SET_PDEATHSIG), and
    // the next demo removes the namespaces it left.
    let Some(mut first) = start_demo() else {
        return;
    };
    let killed = first.pid() as u32;
    let ui = ui_of(killed).expect("the UI process");
    kill(Pid::from_raw(killed as i32), Signal::SIGKILL).expect("kill the demo");
    first.wait(Duration::from_secs(10));
    wait_until("the helpers die with the demo", || {
        helpers_of(killed).is_empty()
    });
    let _ = kill(Pid::from_raw(ui as i32), Signal::SIGTERM);
    assert_eq!(
        namespaces_of(killed).len(),
        2,
        "SIGKILL leaves the namespaces"
    );
    let Some(mut second) = start_demo() else {
        return;
    };
    assert!(
        namespaces_of(killed).is_empty(),
        "the next demo removes a dead demo's namespaces"
    );
    second.type_text("q");
    second.wait(Duration::from_secs(15));
}

/// The UI started by demo `pid`: its child running `tui`.
fn ui_of(pid: u32) -> Option<u32> {
    children_of(pid).into_iter().map(|(p, _)| p).find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/cmdline"))
            .is_ok_and(|cmdline| cmdline.split('\0').any(|a| a == "tui"))
    })
}
