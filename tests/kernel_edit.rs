//! The safe-change loop end to end: the real binary in a real pseudo-terminal, inside a
//! network namespace, driven by typing. (a) A service added through the form, the diff,
//! the commit and the confirm: a client of the allowed network connects, another does not,
//! and the policy file keeps its comments. (b) A commit left unconfirmed while the
//! terminal closes: the guard puts the previous table back at the deadline. (c) An edit
//! that cuts off the SSH_CONNECTION peer: the diff warns before the commit, and the commit
//! asks for a typed yes. And a paste of hundreds of addresses arrives as one text.

mod common;

use std::time::{Duration, Instant};

use common::pty::Pty;
use common::{Lab, Proto, lab, policy_file, without_counters};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

const PARTNER: &str = "198.51.100.20";
const STRANGER: &str = "203.0.113.9";
const WAIT: Duration = Duration::from_secs(15);

const POLICY: &str = r#"# Site policy: this comment must survive the edit.
[settings]
input_policy = "drop"
confirm_timeout = "TIMEOUT"

[networks]
# Our partners' range.
partners = ["198.51.100.0/24"]

# SSH for partners only.
[services.ssh]
ports = ["22/tcp"]
allow = ["partners"]
"#;

struct Setup {
    lab: Lab,
    policy: tempfile::NamedTempFile,
}

impl Setup {
    fn new(timeout: &str) -> Option<Setup> {
        let mut lab = lab()?;
        lab.add_client_addr(PARTNER);
        lab.add_client_addr(STRANGER);
        lab.listen(Proto::Tcp, &[22, 8443]);
        let policy = policy_file(&POLICY.replace("TIMEOUT", timeout));
        let setup = Setup { lab, policy };
        setup
            .lab
            .portcullis_ok(&["--policy", setup.path(), "apply", "--yes"]);
        Some(setup)
    }

    fn path(&self) -> &str {
        self.policy.path().to_str().expect("utf-8")
    }

    fn ui(&self, env: &[(&str, &str)]) -> Pty {
        let argv = self.lab.ui_argv(self.path());
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut env = env.to_vec();
        env.push(("TERM", "xterm-256color"));
        env.push(("PORTCULLIS_SYSLOG_SOCKET", ""));
        let unset: &[&str] = if env.iter().any(|(k, _)| *k == "SSH_CONNECTION") {
            &["NO_COLOR"]
        } else {
            &["NO_COLOR", "SSH_CONNECTION"]
        };
        let pty = Pty::spawn("ip", &args, &env, unset);
        shows(&pty, "the first frame", "Sockets");
        // The first reading, with the policy file the keys below edit, has come.
        shows(&pty, "the first reading", "refreshed");
        pty
    }

    fn reaches_8443(&self) -> (bool, bool) {
        let r = self
            .lab
            .reachable(&[(PARTNER, Proto::Tcp, 8443), (STRANGER, Proto::Tcp, 8443)]);
        (r[0], r[1])
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.lab.portcullis_ok(&["status", "--json"])).expect("json")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // A save keeps the previous file beside the policy; the temp file goes, so must it.
        let _ = std::fs::remove_file(format!("{}.bak", self.path()));
    }
}

/// Waits until the screen shows `text`.
fn shows(pty: &Pty, what: &str, text: &str) {
    pty.wait_text(what, WAIT, text);
}

/// Types one key at a time, as a person would (each its own read for the UI).
fn keys(pty: &mut Pty, text: &str) {
    for c in text.chars() {
        pty.type_text(&c.to_string());
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Adds service web (8443/tcp, partners) through the form, typing, and opens the diff.
fn add_web_service_and_show_the_diff(pty: &mut Pty) {
    keys(pty, "2");
    shows(pty, "the services screen", "Services ·");
    keys(pty, "a");
    shows(pty, "the new-service form", "New service");
    keys(pty, "web\t\t8443/tcp\tpart");
    shows(pty, "the completion offer", "Tab completes: partners");
    keys(pty, "\t");
    shows(pty, "the form valid", "✓ valid");
    keys(pty, "\r");
    shows(pty, "the service added", "service web added");
    keys(pty, "d");
    shows(
        pty,
        "the diff in policy terms",
        "+ service web: 8443/tcp from partners",
    );
    shows(pty, "the commit line", "C commits");
}

#[test]
fn a_service_added_in_the_form_is_committed_and_confirmed() {
    let Some(setup) = Setup::new("2m") else {
        return;
    };
    assert_eq!(setup.reaches_8443(), (false, false), "8443 starts closed");
    let mut pty = setup.ui(&[]);
    add_web_service_and_show_the_diff(&mut pty);
    // The nft text diff is there too, with the new rule.
    shows(&pty, "the nft diff", "tcp dport 8443");
    keys(&mut pty, "C");
    shows(&pty, "the countdown", "pending");
    shows(
        &pty,
        "the countdown's evidence",
        "Since the commit (new and changed)",
    );
    let pending = setup.status();
    assert!(pending["pending"]["id"].is_string(), "{pending}");

    // The new rule works for real while the commit waits: partners in, others not.
    assert_eq!(setup.reaches_8443(), (true, false));
    // And the countdown shows the hit on the new rule.
    pty.wait_screen("a hit on web in the countdown", WAIT, |s| {
        s.contents()
            .lines()
            .find(|l| l.contains("│web "))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .filter(|n| n != "0")
    });

    keys(&mut pty, "y");
    shows(&pty, "the confirmation", "confirmed commit");
    let status = setup.status();
    assert!(status["pending"].is_null(), "{status}");
    assert_eq!(
        setup.reaches_8443(),
        (true, false),
        "kept after the confirm"
    );

    let file = std::fs::read_to_string(setup.policy.path()).expect("policy file");
    for kept in [
        "# Site policy: this comment must survive the edit.",
        "# Our partners' range.",
        "# SSH for partners only.",
    ] {
        assert!(file.contains(kept), "lost {kept:?}:\n{file}");
    }
    assert!(
        file.ends_with("[services.web]\nports = [\"8443/tcp\"]\nallow = [\"partners\"]\n"),
        "{file}"
    );
    let backup = format!("{}.bak", setup.path());
    assert!(
        !std::fs::read_to_string(&backup)
            .expect("a backup")
            .contains("web")
    );
    // The live table is the policy on disk.
    let diff = setup.lab.portcullis(&["--policy", setup.path(), "diff"]);
    assert_eq!(diff.status.code(), Some(0), "{diff:?}");
    keys(&mut pty, "q");
    assert_eq!(pty.wait(WAIT), 0);
}

#[test]
fn an_unconfirmed_commit_is_rolled_back_after_the_terminal_closes() {
    let Some(setup) = Setup::new("5s") else {
        return;
    };
    let before = setup.lab.nft(&["list", "table", "inet", "portcullis"]);
    let mut pty = setup.ui(&[]);
    add_web_service_and_show_the_diff(&mut pty);
    keys(&mut pty, "C");
    shows(&pty, "the countdown", "pending");
    assert_eq!(setup.reaches_8443(), (true, false), "the commit is live");

    // The terminal goes away mid-countdown (an SSH session dropping): the UI gets SIGHUP.
    let pid = Pid::from_raw(pty.pid());
    pty.hang_up();
    let start = Instant::now();
    while let Ok(WaitStatus::StillAlive) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        assert!(start.elapsed() < WAIT, "the UI outlived its terminal");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(pty);
    // The guard rolls back at the deadline: 8443 is closed again, the table as before.
    let start = Instant::now();
    loop {
        let status = setup.status();
        if status["pending"].is_null() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still pending: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = setup.status();
    assert_eq!(
        status["last_commits"][0]["outcome"], "rolled_back",
        "{status}"
    );
    assert_eq!(setup.reaches_8443(), (false, false), "closed again");
    assert_eq!(
        without_counters(&setup.lab.nft(&["list", "table", "inet", "portcullis"])),
        without_counters(&before)
    );
}

#[test]
fn an_edit_that_locks_out_the_ssh_peer_is_warned_about_before_the_commit() {
    let Some(setup) = Setup::new("2m") else {
        return;
    };
    let ssh = format!("{PARTNER} 50022 {} 22", common::SERVER4);
    let mut pty = setup.ui(&[("SSH_CONNECTION", &ssh)]);
    keys(&mut pty, "2");
    shows(&pty, "the services screen", "Services ·");
    keys(&mut pty, "e");
    shows(&pty, "the edit form", "Edit service ssh");
    // To the allow field, empty it, and allow another network only.
    keys(&mut pty, "\t\t\t");
    keys(&mut pty, &"\u{7f}".repeat("partners".len()));
    keys(&mut pty, "203.0.113.0/24\r");
    shows(&pty, "the service changed", "service ssh changed");
    keys(&mut pty, "d");
    shows(&pty, "the lockout warning on the diff", "LOCKOUT");
    let screen = pty.screen();
    let text = screen.screen().contents();
    let warning = text.lines().position(|l| l.contains("LOCKOUT"));
    let terms = text.lines().position(|l| l.contains("In policy terms"));
    assert!(warning < terms, "the warning comes first:\n{text}");
    assert!(text.contains(PARTNER), "{text}");

    keys(&mut pty, "C");
    shows(&pty, "the typed-yes prompt", "Type yes and Enter");
    keys(&mut pty, "\r");
    shows(&pty, "the refusal without yes", "type yes, then Enter");
    keys(&mut pty, "\u{1b}");
    std::thread::sleep(Duration::from_millis(300));
    let status = setup.status();
    assert!(status["pending"].is_null(), "nothing was applied: {status}");
    assert!(
        !std::fs::read_to_string(setup.policy.path())
            .expect("policy")
            .contains("203.0.113.0/24"),
        "nothing was saved"
    );
    // Quitting with unsaved edits asks first.
    keys(&mut pty, "q");
    shows(
        &pty,
        "the unsaved-edits question",
        "Quit and lose the edits",
    );
    keys(&mut pty, "y");
    assert_eq!(pty.wait(WAIT), 0);
}

#[test]
fn a_pasted_list_of_hundreds_of_addresses_arrives_whole() {
    let Some(setup) = Setup::new("2m") else {
        return;
    };
    let mut pty = setup.ui(&[]);
    keys(&mut pty, "3");
    shows(&pty, "the networks screen", "Networks ·");
    keys(&mut pty, "a");
    shows(&pty, "the new-network form", "New network");
    keys(&mut pty, "fleet\t");
    // A terminal's bracketed paste: one text, its newlines not Enter keys.
    let list: Vec<String> = (0..400)
        .map(|i| format!("10.20.{}.{}", i / 256, i % 256))
        .collect();
    pty.type_text(&format!("\x1b[200~{}\x1b[201~", list.join("\r\n")));
    shows(&pty, "the count of pasted entries", "400 entries");
    keys(&mut pty, "\x13"); // ^S
    shows(&pty, "the network added", "network fleet added");
    // Whole: the first three shown, and the rest counted.
    shows(
        &pty,
        "the network in the list",
        "10.20.0.0, 10.20.0.1, 10.20.0.2, +397 more",
    );
    keys(&mut pty, "s");
    shows(&pty, "the save", "saved");
    let file = std::fs::read_to_string(setup.policy.path()).expect("policy");
    let saved = portcullis::policy::parse(&file).expect("a valid policy");
    assert_eq!(saved.networks["fleet"].entries.len(), 400);
    keys(&mut pty, "q");
    assert_eq!(pty.wait(WAIT), 0);
}
