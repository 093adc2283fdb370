//! The terminal UI end to end: the real binary in a real pseudo-terminal, inside a network
//! namespace with a real listener and our table loaded; real packets from the client
//! namespace make the rule's counter rise on screen. Then `q` (or SIGTERM, or SIGHUP)
//! ends it and the terminal is as it was: main screen, cursor shown, mouse off, cooked
//! mode.

mod common;

use std::time::Duration;

use common::pty::Pty;
use common::{Lab, Proto, lab, policy_file};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const CLIENT: &str = "198.51.100.20";
const POLICY: &str = r#"
[settings]
input_policy = "drop"

[services.e2esvc]
ports = ["2222/tcp"]
allow = ["any"]
"#;

fn setup() -> Option<(Lab, tempfile::NamedTempFile)> {
    let mut lab = lab()?;
    lab.add_client_addr(CLIENT);
    lab.listen(Proto::Tcp, &[2222]);
    let policy = policy_file(POLICY);
    let path = policy.path().to_str().expect("utf-8").to_string();
    lab.portcullis_ok(&["--policy", &path, "apply", "--yes"]);
    Some((lab, policy))
}

/// argv for the UI in the lab's server namespace; `shell` wraps it in sh so that `stty`
/// can report the terminal's modes after it exits.
fn ui_argv(lab: &Lab, policy: &str, shell: bool) -> Vec<String> {
    let mut argv = lab.ui_argv(policy);
    if shell {
        let ui = argv.split_off(3);
        argv.extend(["sh", "-c", "\"$0\" \"$@\"; echo EXIT=$?; stty -a"].map(String::from));
        argv.extend(ui);
    }
    argv
}

fn spawn(argv: &[String]) -> Pty {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    Pty::spawn(
        "ip",
        &args,
        &[("TERM", "xterm-256color"), ("PORTCULLIS_SYSLOG_SOCKET", "")],
        &["NO_COLOR", "SSH_CONNECTION"],
    )
}

/// The packet counter of the `e2esvc` row in the rules pane (the right half), once shown.
fn counter(screen: &vt100::Screen) -> Option<u64> {
    let cols = screen.size().1.get();
    let left = cols * portcullis::ui::sockets_share(cols) / 100;
    screen.rows(left, cols - left).find_map(|rules_pane| {
        let rest = rules_pane.split("e2esvc").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn send_syns(lab: &Lab, n: usize) {
    let probes = vec![(CLIENT, Proto::Tcp, 2222); n];
    assert!(
        lab.reachable(&probes).iter().all(|r| *r),
        "the policy allows 2222 from anyone"
    );
}

fn assert_restored(pty: &Pty) {
    let parser = pty.screen();
    let screen = parser.screen();
    assert!(!screen.alternate_screen(), "still on the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is still hidden");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse reporting is still on"
    );
}

#[test]
fn counters_rise_on_screen_and_q_restores_the_terminal() {
    let Some((lab, policy)) = setup() else { return };
    let path = policy.path().to_str().expect("utf-8");
    let mut pty = spawn(&ui_argv(&lab, path, true));

    // The listener and the rule appear, with the socket's exposure in words.
    pty.wait_screen(
        "the socket and its exposure",
        Duration::from_secs(10),
        |s| {
            let text = s.contents();
            (text.contains("2222") && text.contains("anyone")).then_some(())
        },
    );
    let first = pty.wait_screen("the e2esvc rule", Duration::from_secs(10), counter);
    assert_eq!(first, 0, "nothing has been sent yet");

    send_syns(&lab, 5);
    let after_five = pty.wait_screen("the counter at 5", Duration::from_secs(10), |s| {
        counter(s).filter(|&n| n >= 5)
    });
    assert_eq!(after_five, 5, "one counted SYN per connection");
    send_syns(&lab, 7);
    pty.wait_screen("the counter rising to 12", Duration::from_secs(10), |s| {
        counter(s).filter(|&n| n == 12)
    });

    pty.type_text("q");
    pty.expect("EXIT=0", Duration::from_secs(10));
    pty.wait(Duration::from_secs(10));
    assert_restored(&pty);
    // stty ran in the same terminal after the UI: canonical mode and echo are back.
    let text = pty.text();
    let modes = text.rsplit("EXIT=0").next().unwrap_or("");
    for flag in ["icanon", "echo", "isig"] {
        assert!(
            modes.split_whitespace().any(|w| w == flag),
            "{flag} is not back on after the UI exited:\n{modes}"
        );
    }
}

#[test]
fn sigterm_and_sighup_restore_the_terminal_too() {
    let Some((lab, policy)) = setup() else { return };
    let path = policy.path().to_str().expect("utf-8");
    for signal in [Signal::SIGTERM, Signal::SIGHUP] {
        let mut pty = spawn(&ui_argv(&lab, path, false));
        pty.wait_screen("the first frame", Duration::from_secs(10), counter);
        assert!(
            pty.screen().screen().alternate_screen(),
            "the UI runs on the alternate screen"
        );
        // `ip netns exec` execs the program, so the pty's child is portcullis itself.
        kill(Pid::from_raw(pty.pid()), signal).expect("signal the UI");
        let code = pty.wait(Duration::from_secs(10));
        assert_eq!(code, 0, "{signal}: the UI quits cleanly");
        assert_restored(&pty);
    }
}

const WIDER: &str = r#"
[settings]
input_policy = "drop"

[services.e2esvc]
ports = ["2222/tcp", "2223/tcp"]
allow = ["any"]
"#;

/// Applies `policy` with a 5-minute window, not waiting; the pending commit's id.
fn apply_pending(lab: &Lab, policy: &tempfile::NamedTempFile) -> String {
    let path = policy.path().to_str().expect("utf-8");
    lab.portcullis_ok(&[
        "--policy",
        path,
        "apply",
        "--no-wait",
        "--confirm-timeout",
        "5m",
    ]);
    pending_id(lab).expect("a pending commit")
}

fn pending_id(lab: &Lab) -> Option<String> {
    let status: serde_json::Value =
        serde_json::from_str(&lab.portcullis_ok(&["status", "--json"])).expect("status json");
    status["pending"]["id"].as_str().map(str::to_string)
}

#[test]
fn c_keeps_and_b_rolls_back_the_pending_commit_from_the_ui() {
    let Some((lab, policy)) = setup() else { return };
    let path = policy.path().to_str().expect("utf-8");
    let wider = policy_file(WIDER);
    let apply_pending = || apply_pending(&lab, &wider);
    let mut pty = spawn(&ui_argv(&lab, path, false));
    pty.wait_screen("the first frame", Duration::from_secs(10), counter);

    // c: the commit shown as pending is kept, as `portcullis confirm` would.
    let id = apply_pending();
    pty.wait_text(
        "the pending commit",
        Duration::from_secs(10),
        &format!("PENDING commit {id}"),
    );
    pty.type_text("c");
    pty.wait_text(
        "the confirmation",
        Duration::from_secs(10),
        &format!("confirmed commit {id}"),
    );
    assert_eq!(pending_id(&lab), None);
    assert!(
        lab.nft(&["list", "table", "inet", "portcullis"])
            .contains("2223")
    );

    // b: the next one is rolled back now, and 2223 is closed again.
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    let id = apply_pending();
    pty.wait_text(
        "the second pending commit",
        Duration::from_secs(10),
        &format!("PENDING commit {id}"),
    );
    pty.type_text("b");
    pty.wait_text(
        "the rollback",
        Duration::from_secs(10),
        &format!("rolled back commit {id}"),
    );
    assert_eq!(pending_id(&lab), None);
    assert!(
        !lab.nft(&["list", "table", "inet", "portcullis"])
            .contains("2223")
    );

    pty.type_text("q");
    assert_eq!(pty.wait(Duration::from_secs(10)), 0);
}

/// The refresh runs beside the operator's effects: while `c` waits for the operator lock
/// (held here by the test, as a slow `apply` in another shell would hold it, for up to
/// 10 s), the counters on screen still move, and the confirm goes through once the lock
/// is free.
#[test]
fn the_counters_keep_moving_while_a_confirm_waits_for_the_lock() {
    let Some((lab, policy)) = setup() else { return };
    let path = policy.path().to_str().expect("utf-8");
    let mut pty = spawn(&ui_argv(&lab, path, false));
    pty.wait_screen("the first frame", Duration::from_secs(10), counter);
    let id = apply_pending(&lab, &policy_file(WIDER));
    pty.wait_text(
        "the pending commit",
        Duration::from_secs(10),
        &format!("PENDING commit {id}"),
    );
    let before = pty.wait_screen("the counter", Duration::from_secs(10), counter);

    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(lab.state_dir.path().join("lock"))
        .expect("the operator lock's file");
    lock.lock().expect("take the operator lock");
    pty.type_text("c");
    std::thread::sleep(Duration::from_millis(500));
    send_syns(&lab, 5);
    // Well inside the confirm's 10 s lock wait.
    pty.wait_screen(
        "the counter rising while the confirm waits",
        Duration::from_secs(5),
        |s| counter(s).filter(|&n| n >= before + 5),
    );
    assert_eq!(
        pending_id(&lab).as_deref(),
        Some(id.as_str()),
        "still waiting"
    );

    drop(lock);
    pty.wait_text(
        "the confirmation",
        Duration::from_secs(15),
        &format!("confirmed commit {id}"),
    );
    assert_eq!(pending_id(&lab), None);
    pty.type_text("q");
    assert_eq!(pty.wait(Duration::from_secs(10)), 0);
}

#[test]
fn the_operator_s_keys_file_is_layered_over_the_keymap() {
    let Some((lab, policy)) = setup() else { return };
    let path = policy.path().to_str().expect("utf-8");
    let keys = tempfile::NamedTempFile::new().expect("keys file");
    std::fs::write(keys.path(), "help = [\"?\", \"h\"]\nquit = [\"Q\"]\n").expect("write");
    let argv = ui_argv(&lab, path, true);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let keys_path = keys.path().to_str().expect("utf-8");
    let mut pty = Pty::spawn(
        "ip",
        &args,
        &[
            ("TERM", "xterm-256color"),
            ("PORTCULLIS_SYSLOG_SOCKET", ""),
            ("PORTCULLIS_KEYS", keys_path),
        ],
        &["NO_COLOR", "SSH_CONNECTION"],
    );
    pty.wait_text("the overview", Duration::from_secs(10), "2222");
    // h opens the help, which lists the help's keys as the file gave them.
    pty.type_text("h");
    pty.wait_screen("the help, opened by h", Duration::from_secs(5), |s| {
        let text = s.contents();
        (text.contains("? h") && text.contains("Show this help")).then_some(())
    });
    pty.type_text("\x1b");
    // q no longer quits (the file gave quit Q alone); Q does.
    pty.type_text("q");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!pty.text().contains("EXIT="), "q still quit");
    pty.type_text("Q");
    pty.expect("EXIT=0", Duration::from_secs(10));
    pty.wait(Duration::from_secs(10));
}
