//! Commit-confirmed against the real kernel, with real packets: a change that is not
//! confirmed in time undoes itself, whatever happens to the process, terminal or guard
//! that made it; a confirmed one stays and is what `restore` loads.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::pty::Pty;
use common::{Lab, Proto, in_ns, lab, policy_file, reported_deadline, wall_ms};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// The admin's address on the client, and the SSH session sshd would describe.
const ADMIN: &str = "198.51.100.10";
const SSH_CONNECTION: &str = "198.51.100.10 50022 192.0.2.1 22";

/// Admin SSH allowed.
const OPEN: &str = r#"
[networks]
admin = ["198.51.100.0/24"]

[services.ssh]
ports = ["22/tcp"]
allow = ["admin"]
"#;

/// SSH only from a network the admin is not in: the admin is locked out.
const LOCKED: &str = r#"
[networks]
elsewhere = ["203.0.113.0/24"]

[services.ssh]
ports = ["22/tcp"]
allow = ["elsewhere"]
"#;

/// A table portcullis must never touch.
const FOREIGN: &str = "table ip foreign {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9999 counter drop\n\t}\n}\n";

fn setup() -> Option<(Lab, tempfile::NamedTempFile, tempfile::NamedTempFile)> {
    let mut lab = lab()?;
    lab.add_client_addr(ADMIN);
    lab.listen(Proto::Tcp, &[22]);
    lab.nft_script(FOREIGN);
    Some((lab, policy_file(OPEN), policy_file(LOCKED)))
}

fn path(f: &tempfile::NamedTempFile) -> &str {
    f.path().to_str().expect("utf-8 path")
}

fn admin_gets_in(lab: &Lab) -> bool {
    lab.reachable(&[(ADMIN, Proto::Tcp, 22)])[0]
}

/// The whole ruleset without counter values: what must come back after a rollback.
fn ruleset(lab: &Lab) -> String {
    lab.nft(&["-s", "list", "ruleset"])
}

fn foreign(lab: &Lab) -> String {
    lab.nft(&["-s", "list", "table", "ip", "foreign"])
}

fn status(lab: &Lab) -> Value {
    serde_json::from_str(&lab.portcullis_ok(&["status", "--json"])).expect("status json")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pending commit's deadline as milliseconds since the epoch.
fn deadline_ms(lab: &Lab) -> u128 {
    reported_deadline(&status(lab))
}

/// Polls until the ruleset equals `want`; returns how long after `deadline` that was
/// (negative if before), or panics after `deadline + limit`. The time is taken after the
/// listing returns, so the delay is never understated (a listing that began just before
/// the rollback and ended after it would make an on-time rollback look early).
fn restored_after(lab: &Lab, want: &str, deadline: u128, limit: Duration) -> i128 {
    loop {
        let listing = ruleset(lab);
        let now = wall_ms();
        if listing == want {
            return now as i128 - deadline as i128;
        }
        assert!(
            now < deadline + limit.as_millis(),
            "not rolled back {limit:?} after the deadline; ruleset:\n{}",
            ruleset(lab)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The status once a rollback seen in the ruleset is also in the journal. The guard loads
/// the snapshot first and records the outcome just after, so the table can be back a
/// moment before the journal says so (seen once on a loaded CI machine); waits up to 2 s.
fn status_after_rollback(lab: &Lab) -> Value {
    let start = Instant::now();
    loop {
        let s = status(lab);
        if s["pending"].is_null() || start.elapsed() > Duration::from_secs(2) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn apply_open(lab: &Lab, open: &tempfile::NamedTempFile) -> String {
    lab.portcullis_ok(&["--policy", path(open), "apply", "--yes"]);
    assert!(
        admin_gets_in(lab),
        "the admin must get in under the open policy"
    );
    ruleset(lab)
}

/// `apply --no-wait ARGS` of `policy`; returns the commit id it prints last.
fn apply_no_wait(lab: &Lab, policy: &tempfile::NamedTempFile, args: &[&str]) -> String {
    let mut argv = vec!["--policy", path(policy), "apply", "--no-wait"];
    argv.extend_from_slice(args);
    lab.portcullis_ok(&argv)
        .lines()
        .last()
        .expect("the commit id")
        .to_string()
}

/// `portcullis --policy POLICY apply ARGS` in the server namespace, in a new pty.
fn apply_in_pty(
    lab: &Lab,
    policy: &tempfile::NamedTempFile,
    args: &[&str],
    env: &[(&str, &str)],
) -> Pty {
    let state = lab.state_dir.path().to_str().expect("utf-8").to_string();
    let mut argv = vec![
        "netns",
        "exec",
        &lab.server,
        env!("CARGO_BIN_EXE_portcullis"),
        "--policy",
        path(policy),
        "apply",
    ];
    argv.extend_from_slice(args);
    let mut vars = vec![("PORTCULLIS_STATE_DIR", state.as_str())];
    vars.extend_from_slice(env);
    let unset: &[&str] = if env.iter().any(|(k, _)| *k == "SSH_CONNECTION") {
        &[]
    } else {
        &["SSH_CONNECTION"]
    };
    Pty::spawn("ip", &argv, &vars, unset)
}

#[test]
fn an_unconfirmed_lockout_rolls_back_within_a_second_of_the_deadline() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    let foreign_before = foreign(&lab);

    let out = lab
        .portcullis_command(&[
            "--policy",
            path(&locked),
            "apply",
            "--no-wait",
            "--confirm-timeout",
            "3s",
            "--allow-lockout",
        ])
        .env("SSH_CONNECTION", SSH_CONNECTION)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("LOCKOUT"), "{}", text(&out));
    let deadline = deadline_ms(&lab);
    assert_ne!(ruleset(&lab), before, "the new policy is live");
    assert!(
        !admin_gets_in(&lab),
        "new admin connections fail while it is live"
    );

    let late = restored_after(&lab, &before, deadline, Duration::from_secs(1));
    assert!(late >= 0, "rolled back {late} ms BEFORE the deadline");
    assert!(admin_gets_in(&lab), "the admin gets in again");
    assert_eq!(
        foreign(&lab),
        foreign_before,
        "the foreign table was touched"
    );

    let s = status_after_rollback(&lab);
    assert!(
        s["pending"].is_null(),
        "still pending 2 s after the rollback: {s}"
    );
    assert_eq!(s["last_commits"][0]["outcome"], "rolled_back");
    let audit = std::fs::read_to_string(lab.state_dir.path().join("audit.log")).expect("audit");
    let last: Value = serde_json::from_str(audit.lines().last().expect("a line")).expect("json");
    assert_eq!(last["event"], "rolled_back");
    assert_eq!(last["by"], "guard");
    assert_eq!(last["ssh_peer"], "198.51.100.10 50022");
}

/// Interactive apply in a pty, then `signal` to the applying process (and its group).
fn killed_mid_countdown(signal: Signal) {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    let mut pty = apply_in_pty(&lab, &locked, &["--confirm-timeout", "3s"], &[]);
    pty.expect("Rolling back in", Duration::from_secs(10));
    let deadline = deadline_ms(&lab);
    assert_ne!(ruleset(&lab), before);
    // The whole foreground process group, as the kernel does on a hangup.
    kill(Pid::from_raw(-pty.pid()), signal).expect("signal");
    pty.wait(Duration::from_secs(5));
    let late = restored_after(&lab, &before, deadline, Duration::from_secs(1));
    assert!(late >= 0, "rolled back {late} ms BEFORE the deadline");
    assert_eq!(
        status_after_rollback(&lab)["last_commits"][0]["outcome"],
        "rolled_back"
    );
}

#[test]
fn sigkill_mid_countdown_still_rolls_back_on_time() {
    killed_mid_countdown(Signal::SIGKILL);
}

#[test]
fn a_terminal_hangup_mid_countdown_still_rolls_back_on_time() {
    killed_mid_countdown(Signal::SIGHUP);
}

#[test]
fn with_the_guard_killed_too_the_next_command_rolls_back() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    let id = apply_no_wait(&lab, &locked, &["--confirm-timeout", "2s"]);
    let lock = lab.state_dir.path().join(format!("guards/{id}.lock"));
    let pid: i32 = std::fs::read_to_string(&lock)
        .expect("guard lock file")
        .trim()
        .parse()
        .expect("guard pid");
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the guard");
    std::thread::sleep(Duration::from_millis(2500));
    assert_ne!(ruleset(&lab), before, "nobody was left to roll back");

    let out = lab.portcullis(&["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("rolled back commit {id} first")) && said.contains("no guard"),
        "{said}"
    );
    assert_eq!(ruleset(&lab), before);
    assert!(admin_gets_in(&lab));
}

#[test]
fn a_confirmed_commit_stays_and_restore_reproduces_it() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    apply_open(&lab, &open);
    let mut relaxed = LOCKED.replace("203.0.113.0/24", "203.0.113.0/24\", \"198.51.100.0/24");
    relaxed.push_str("\n[services.web]\nports = [\"443/tcp\"]\nallow = [\"any\"]\n");
    let new = policy_file(&relaxed);
    lab.portcullis_ok(&[
        "--policy",
        path(&new),
        "apply",
        "--no-wait",
        "--confirm-timeout",
        "2s",
    ]);
    let applied = ruleset(&lab);
    let guards = lab.state_dir.path().join("guards");
    let guard_files = || std::fs::read_dir(&guards).expect("guards dir").count();
    assert_eq!(
        guard_files(),
        1,
        "a guard holds its lock while the commit is pending"
    );
    let out = lab.portcullis_ok(&["confirm"]);
    assert!(out.contains("confirmed commit"), "{out}");
    // The guard stands down (and removes its lock file) once the commit is confirmed.
    let start = Instant::now();
    while guard_files() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the guard did not stand down"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        ruleset(&lab),
        applied,
        "the confirmed change stays past the deadline"
    );

    let again = lab.portcullis(&["confirm"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));

    // A reboot: a fresh namespace (no tables at all), the same state directory.
    let fresh = common::lab().expect("second lab");
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let status = std::process::Command::new("cp")
            .args([
                "-a",
                &format!("{}/.", from.display()),
                &to.display().to_string(),
            ])
            .status()
            .expect("cp");
        assert!(status.success());
    };
    copy(lab.state_dir.path(), fresh.state_dir.path());
    let out = fresh.portcullis_ok(&["restore"]);
    assert!(out.contains("restored"), "{out}");
    let table = |l: &Lab| l.nft(&["-s", "list", "table", "inet", "portcullis"]);
    assert_eq!(table(&fresh), table(&lab));
    let _ = locked;
}

#[test]
fn the_y_key_keeps_the_change() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    apply_open(&lab, &open);
    let mut pty = apply_in_pty(&lab, &locked, &["--confirm-timeout", "5s"], &[]);
    pty.expect("y keeps", Duration::from_secs(10));
    let applied = ruleset(&lab);
    pty.type_text("y");
    assert_eq!(pty.wait(Duration::from_secs(5)), 0, "{}", pty.text());
    assert!(pty.text().contains("confirmed commit"), "{}", pty.text());
    std::thread::sleep(Duration::from_millis(5500));
    assert_eq!(ruleset(&lab), applied);
    assert!(!admin_gets_in(&lab), "the confirmed lockout policy is live");
}

#[test]
fn any_other_key_rolls_back_at_once() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    let mut pty = apply_in_pty(&lab, &locked, &["--confirm-timeout", "30s"], &[]);
    pty.expect("y keeps", Duration::from_secs(10));
    pty.type_text("n");
    assert_eq!(pty.wait(Duration::from_secs(5)), 3, "{}", pty.text());
    assert_eq!(ruleset(&lab), before);
}

#[test]
fn a_second_apply_while_one_is_pending_is_refused() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    apply_open(&lab, &open);
    let id = apply_no_wait(&lab, &locked, &[]);
    let applied = ruleset(&lab);
    for args in [["apply", "--no-wait"], ["apply", "--yes"]] {
        let out = lab.portcullis(&["--policy", path(&open), args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let said = text(&out);
        assert!(
            said.contains(&id) && said.contains("portcullis confirm"),
            "{said}"
        );
    }
    assert_eq!(ruleset(&lab), applied, "nothing changed");
    lab.portcullis_ok(&["rollback"]);
}

#[test]
fn a_lockout_without_a_terminal_is_refused() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    for mode in ["--no-wait", "--yes"] {
        let out = lab
            .portcullis_command(&["--policy", path(&locked), "apply", mode])
            .env("SSH_CONNECTION", SSH_CONNECTION)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("LOCKOUT") && said.contains("--allow-lockout"),
            "{said}"
        );
    }
    // A policy that keeps the admin in is not refused.
    let out = lab
        .portcullis_command(&["--policy", path(&open), "apply", "--no-wait"])
        .env("SSH_CONNECTION", SSH_CONNECTION)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ruleset(&lab), before);
}

#[test]
fn a_table_changed_behind_our_back_is_not_applied_over() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    apply_open(&lab, &open);
    let mut pty = apply_in_pty(&lab, &locked, &[], &[("SSH_CONNECTION", SSH_CONNECTION)]);
    pty.expect("Type yes", Duration::from_secs(10));
    // Someone else edits the table while the operator reads the warning.
    lab.nft_script("add rule inet portcullis input tcp dport 8080 accept\n");
    let edited = ruleset(&lab);
    pty.type_text("yes\r");
    assert_eq!(pty.wait(Duration::from_secs(5)), 2, "{}", pty.text());
    let shown = pty.text();
    assert!(shown.contains("changed since the diff"), "{shown}");
    assert!(shown.contains("-\t\ttcp dport 8080 accept"), "{shown}");
    assert_eq!(ruleset(&lab), edited, "nothing changed");
    assert!(status(&lab)["pending"].is_null());
}

#[test]
fn rolling_back_to_no_table_deletes_it_and_nothing_else() {
    let Some((lab, open, _locked)) = setup() else {
        return;
    };
    let before = ruleset(&lab);
    assert!(!before.contains("inet portcullis"));
    lab.portcullis_ok(&["--policy", path(&open), "apply", "--no-wait"]);
    assert!(ruleset(&lab).contains("table inet portcullis"));
    let out = lab.portcullis_ok(&["rollback"]);
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(ruleset(&lab), before);
    let none = lab.portcullis(&["rollback"]);
    assert_eq!(none.status.code(), Some(1), "{}", text(&none));
}

#[test]
fn a_failing_rollback_is_retried_reported_and_finally_done() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let before = apply_open(&lab, &open);
    // An nft that fails while the flag file exists, as a missing or broken nft would.
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("fail");
    let wrapper = dir.path().join("nft");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ -e {} ]; then echo 'simulated nft failure' >&2; exit 1; fi\nexec nft \"$@\"\n",
            flag.display()
        ),
    )
    .expect("wrapper");
    std::process::Command::new("chmod")
        .args(["+x", &wrapper.display().to_string()])
        .status()
        .expect("chmod");
    let nft = wrapper.display().to_string();
    lab.portcullis_ok(&[
        "--nft",
        &nft,
        "--policy",
        path(&locked),
        "apply",
        "--no-wait",
        "--confirm-timeout",
        "1s",
    ]);
    std::fs::write(&flag, "").expect("flag");
    std::thread::sleep(Duration::from_millis(2000));
    let s = status(&lab);
    assert!(
        s["pending"]["rollback_attempts"].as_u64().unwrap_or(0) >= 1,
        "{s:#}"
    );
    assert!(
        s["pending"]["rollback_error"]
            .as_str()
            .is_some_and(|e| e.contains("simulated nft failure")),
        "{s:#}"
    );
    let text_status = lab.portcullis_ok(&["status"]);
    assert!(text_status.contains("ROLLBACK FAILING"), "{text_status}");
    assert_ne!(
        ruleset(&lab),
        before,
        "never half-applied: still the new table"
    );
    let snapshots = std::fs::read_dir(lab.state_dir.path().join("commits"))
        .expect("commits dir")
        .count();
    assert!(
        snapshots >= 2,
        "the snapshot is kept while the rollback fails"
    );

    std::fs::remove_file(&flag).expect("unflag");
    let start = Instant::now();
    while ruleset(&lab) != before {
        assert!(start.elapsed() < Duration::from_secs(8), "never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status_after_rollback(&lab)["pending"].is_null());
}

#[test]
fn new_session_mode_accepts_a_confirm_only_from_a_newer_session() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    apply_open(&lab, &open);
    // A stand-in for the per-connection sshd process: any process named `sshd` is what
    // portcullis looks for among its ancestors.
    let dir = tempfile::tempdir().expect("tempdir");
    let sshd = dir.path().join("sshd");
    std::fs::copy("/bin/sh", &sshd).expect("copy sh");
    let confirm = format!(
        "PORTCULLIS_STATE_DIR={} {} confirm; echo exit=$?",
        lab.state_dir.path().display(),
        env!("CARGO_BIN_EXE_portcullis")
    );
    // The old session: started before the commit, confirms after it.
    let mut old = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.server])
        .arg(&sshd)
        .args(["-c", &format!("read go; {confirm}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("old session");
    std::thread::sleep(Duration::from_millis(100));
    let out = lab.portcullis_ok(&[
        "--policy",
        path(&locked),
        "apply",
        "--no-wait",
        "--require-new-session",
    ]);
    assert!(!out.trim().is_empty());
    use std::io::Write as _;
    old.stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    let said = old.wait_with_output().expect("old session output");
    let said = text(&said);
    assert!(said.contains("exit=2"), "{said}");
    assert!(said.contains("new SSH connection"), "{said}");
    assert!(!status(&lab)["pending"].is_null(), "still pending");

    let new = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.server])
        .arg(&sshd)
        .args(["-c", &confirm])
        .output()
        .expect("new session");
    let said = text(&new);
    assert!(said.contains("exit=0"), "{said}");
    assert!(status(&lab)["pending"].is_null());
}

#[test]
fn restore_records_a_pending_commit_as_rolled_back_and_loads_the_confirmed_one() {
    let Some((lab, open, locked)) = setup() else {
        return;
    };
    let confirmed = apply_open(&lab, &open);
    let id = apply_no_wait(&lab, &locked, &[]);
    let out = lab.portcullis(&["restore"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&id), "{}", text(&out));
    assert_eq!(ruleset(&lab), confirmed);
    let s = status(&lab);
    assert!(s["pending"].is_null());
    assert_eq!(s["last_commits"][0]["id"], id.as_str());
    assert_eq!(s["last_commits"][0]["outcome"], "rolled_back");
}

#[test]
fn an_established_connection_to_sshd_is_protected_like_ssh_connection() {
    let Some((lab, _open, locked)) = setup() else {
        return;
    };
    let open_2222 = policy_file(&OPEN.replace("\"22/tcp\"", "\"2222/tcp\""));
    lab.portcullis_ok(&["--policy", path(&open_2222), "apply", "--yes"]);
    let before = ruleset(&lab);
    // A real connection from the admin to port 2222, whose server side is held by a process
    // named `sshd` (a copy of /bin/sh that inherits the accepted socket).
    let listener = in_ns(&lab.server, || {
        std::net::TcpListener::bind("0.0.0.0:2222").expect("listen")
    });
    let admin = in_ns(&lab.client, || {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        s.bind(&socket2::SockAddr::from(
            "198.51.100.10:0"
                .parse::<std::net::SocketAddr>()
                .expect("addr"),
        ))
        .expect("bind");
        s.connect_timeout(
            &socket2::SockAddr::from(
                "192.0.2.1:2222"
                    .parse::<std::net::SocketAddr>()
                    .expect("addr"),
            ),
            Duration::from_secs(2),
        )
        .expect("connect");
        s
    });
    let (served, _) = listener.accept().expect("accept");
    drop(listener);
    nix::fcntl::fcntl(
        &served,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .expect("inheritable");
    let dir = tempfile::tempdir().expect("tempdir");
    let sshd = dir.path().join("sshd");
    std::fs::copy("/bin/sh", &sshd).expect("copy sh");
    let mut holder = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.server])
        .arg(&sshd)
        .args(["-c", "sleep 30; true"])
        .spawn()
        .expect("fake sshd");
    drop(served);
    let policy = LOCKED.replace("\"22/tcp\"", "\"2222/tcp\"");
    let locked_2222 = policy_file(&policy);
    let out = lab.portcullis(&["--policy", path(&locked_2222), "apply", "--no-wait"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("LOCKOUT")
            && said.contains("198.51.100.10")
            && said.contains("connection to sshd"),
        "{said}"
    );
    assert_eq!(ruleset(&lab), before, "nothing changed");
    let _ = holder.kill();
    let _ = holder.wait();
    drop((admin, locked));
}
