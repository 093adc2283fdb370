//! The second guard, for real: where systemd is PID 1, `apply` also arms a transient timer
//! that rolls back when the guard process is gone. These tests boot systemd as PID 1 in a
//! throwaway container (`systemd-nspawn --volatile=yes -D /`: this machine's own /usr over
//! an empty root, with its own network namespace), run portcullis there, and watch the
//! timer roll back on time after the guard is SIGKILLed, and stand down after a confirm.
//! Nothing outside the container's network namespace is touched.

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{reported_deadline, wall_ms};
use serde_json::Value;

mod common;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Where the container sees the portcullis binary under test.
const BIN: &str = "/opt/portcullis/portcullis";
const STATE: &str = "/var/lib/portcullis-test";

const BEFORE: &str = "[services.web]\nports = [\"8443/tcp\"]\nallow = [\"any\"]\n";
const CHANGE: &str = "[services.web]\nports = [\"8443/tcp\", \"2222/tcp\"]\nallow = [\"any\"]\n";

/// A booted container, shut down (and killed, if need be) on drop.
struct Container {
    nspawn: Child,
    init: u32,
}

impl Container {
    /// Boots one, or None with a loud message when PORTCULLIS_SKIP_NETNS=1.
    fn boot() -> Option<Container> {
        if std::env::var("PORTCULLIS_SKIP_NETNS").is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED (PORTCULLIS_SKIP_NETNS=1): this test boots systemd in a container");
            return None;
        }
        let name = format!(
            "pc-sd-{:x}{}",
            std::process::id() & 0xffff,
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let nspawn = Command::new("systemd-nspawn")
            .args([
                "--quiet",
                "--register=no",
                "--keep-unit",
                "--volatile=yes",
                "--directory=/",
                "--boot",
                "--private-network",
                "--console=passive",
                &format!("--machine={name}"),
                &format!("--bind-ro={}:{BIN}", env!("CARGO_BIN_EXE_portcullis")),
                "systemd.firstboot=off",
                // The container has no network: nothing may wait for it to be online (with
                // cockpit installed, cockpit-motd pulls network-online.target, and the boot
                // would wait two minutes for systemd-networkd-wait-online).
                "systemd.mask=systemd-networkd-wait-online.service",
                "systemd.mask=network-online.target",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run systemd-nspawn ({e}); these tests need root and Debian's \
                     systemd-container package. Set PORTCULLIS_SKIP_NETNS=1 only on a machine \
                     that truly cannot."
                )
            });
        let mut container = Container { nspawn, init: 0 };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = container.nspawn.try_wait() {
                panic!("systemd-nspawn exited at once ({status}): systemd cannot boot here");
            }
            if container.init == 0 {
                container.init = init_of(container.nspawn.id()).unwrap_or(0);
            }
            if container.init != 0 {
                let state = container.sh("systemctl is-system-running 2>/dev/null");
                let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
                if state == "running" || state == "degraded" {
                    return Some(container);
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "systemd did not finish booting in the container within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a shell script inside the container (all its namespaces).
    fn sh(&self, script: &str) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.init.to_string(), "-a", "--", "sh", "-c", script])
            .env("PORTCULLIS_SYSLOG_SOCKET", "")
            .output()
            .expect("nsenter")
    }

    fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "{script}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn portcullis(&self, args: &str) -> String {
        self.sh_ok(&format!("{BIN} --state-dir {STATE} {args}"))
    }

    fn ruleset(&self) -> String {
        self.sh_ok("nft -s list ruleset")
    }

    fn write(&self, path: &str, text: &str) {
        self.sh_ok(&format!("cat > {path} <<'EOF'\n{text}EOF"));
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.portcullis("status --json")).expect("status json")
    }
}

/// The container's PID 1: the systemd process among systemd-nspawn's descendants.
fn init_of(nspawn: u32) -> Option<u32> {
    let mut queue = vec![nspawn];
    while let Some(pid) = queue.pop() {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        for child in children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim() == "systemd" {
                return Some(child);
            }
            queue.push(child);
        }
    }
    None
}

impl Drop for Container {
    fn drop(&mut self) {
        // SIGTERM asks nspawn for an orderly shutdown of the container.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.nspawn.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

/// BEFORE confirmed, then CHANGE applied with a 3 s window; returns the ruleset before,
/// the commit id and its timer unit.
fn pending_commit(c: &Container) -> (String, String, String) {
    c.write("/run/before.toml", BEFORE);
    c.write("/run/change.toml", CHANGE);
    c.portcullis("--policy /run/before.toml apply --yes");
    let before = c.ruleset();
    let out = c.portcullis("--policy /run/change.toml apply --no-wait --confirm-timeout 3s");
    let id = out.lines().last().expect("the commit id").to_string();
    let s = c.status();
    let unit = s["pending"]["timer_unit"]
        .as_str()
        .unwrap_or_else(|| panic!("no systemd timer was armed with systemd as PID 1: {s:#}"))
        .to_string();
    let active = c.sh(&format!("systemctl is-active {unit}.timer"));
    assert_eq!(
        String::from_utf8_lossy(&active.stdout).trim(),
        "active",
        "{unit}.timer"
    );
    (before, id, unit)
}

#[test]
fn the_systemd_timer_rolls_back_on_time_when_the_guard_is_killed() {
    let Some(c) = Container::boot() else { return };
    let (before, id, _unit) = pending_commit(&c);
    let deadline = reported_deadline(&c.status());
    let pid = c.sh_ok(&format!("cat {STATE}/guards/{id}.lock"));
    c.sh_ok(&format!("kill -KILL {}", pid.trim()));
    assert_ne!(
        c.ruleset(),
        before,
        "still the new table once the guard is gone"
    );

    // Only the timer is left; it fires two seconds after the deadline.
    let limit = deadline + 5000;
    while c.ruleset() != before {
        assert!(
            wall_ms() < limit,
            "the timer did not roll back within 5 s of the deadline"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let late = wall_ms() as i128 - deadline as i128;
    assert!(late >= 0, "rolled back {late} ms before the deadline");
    let audit = c.sh_ok(&format!("cat {STATE}/audit.log"));
    let last: Value =
        serde_json::from_str(audit.lines().last().expect("an audit line")).expect("json");
    assert_eq!(last["event"], "rolled_back", "{last}");
    assert_eq!(last["by"], "timer", "{last}");
    let s = c.status();
    assert!(s["pending"].is_null(), "{s:#}");
    eprintln!("the timer rolled back {late} ms after the deadline");
}

#[test]
fn a_confirm_stands_the_systemd_timer_down() {
    let Some(c) = Container::boot() else { return };
    let (_before, _id, unit) = pending_commit(&c);
    let applied = c.ruleset();
    c.portcullis("confirm");
    let state = c.sh(&format!("systemctl is-active {unit}.timer"));
    assert_ne!(
        String::from_utf8_lossy(&state.stdout).trim(),
        "active",
        "the timer is still armed after the confirm"
    );
    // Past the deadline and the timer's grace, the confirmed table stays.
    std::thread::sleep(Duration::from_millis(6000));
    assert_eq!(c.ruleset(), applied);
}
