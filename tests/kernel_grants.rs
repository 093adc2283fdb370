//! Temporary access in the real kernel: `grant` lets an outsider in at once, the kernel
//! takes it back at the deadline with no portcullis process running, a commit (in place or
//! whole) keeps an active grant, `revoke` takes one back early, `restore` brings none
//! back, and each grant is in the audit log.

mod common;

use std::time::{Duration, Instant};

use common::{Proto, lab, policy_file};

const POLICY: &str = "[networks]\nadmin = [\"192.0.2.10\"]\n\n\
    [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n";

/// `--policy PATH grant SERVICE SOURCE --for DURATION`.
fn grant<'a>(path: &'a str, service: &'a str, source: &'a str, time: &'a str) -> [&'a str; 7] {
    ["--policy", path, "grant", service, source, "--for", time]
}

/// Whether any process has this lab's state directory on its command line.
fn portcullis_running(state: &std::path::Path) -> bool {
    let needle = state.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
}

#[test]
fn a_grant_lets_an_outsider_in_until_the_kernel_expires_it_and_commits_keep_it() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(POLICY);
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    for a in ["198.51.100.9", "198.51.100.10", "2001:db8:77::10"] {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[22]);
    let outsider = [("198.51.100.9", Proto::Tcp, 22)];
    assert_eq!(
        lab.reachable(&outsider),
        vec![false],
        "not in admin: dropped"
    );

    // A short grant: in at once.
    let out = lab.portcullis_ok(&grant(path, "ssh", "198.51.100.9", "3s"));
    let granted_at = Instant::now();
    assert!(
        out.contains("granted: 198.51.100.9/32 may reach service ssh"),
        "{out}"
    );
    assert_eq!(lab.reachable(&outsider), vec![true], "granted: in");

    // A long one, and one for IPv6, to outlive commits.
    lab.portcullis_ok(&grant(path, "ssh", "198.51.100.10", "1h"));
    lab.portcullis_ok(&grant(path, "ssh", "2001:db8:77::/64", "1h"));
    let status = lab.portcullis_ok(&["--policy", path, "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    let grants = status["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 3, "{grants:#?}");
    let long = grants
        .iter()
        .find(|g| g["source"] == "198.51.100.10/32")
        .expect("the long grant");
    assert_eq!(long["service"], "ssh");
    assert!(
        long["seconds_left"].as_u64().is_some_and(|s| s > 3500),
        "{long}"
    );

    // Grants are not a difference from the policy.
    let diff = lab.portcullis(&["--policy", path, "diff"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // A commit in place (a new service) keeps them.
    let edited = policy_file(&format!(
        "{POLICY}\n[services.web]\nports = [\"80/tcp\"]\nallow = [\"any\"]\n"
    ));
    let edited_path = edited.path().to_str().expect("path");
    let out = lab.portcullis_ok(&["--policy", edited_path, "apply", "--yes"]);
    assert!(
        out.contains("in place"),
        "expected a change in place: {out}"
    );
    let long_one = [
        ("198.51.100.10", Proto::Tcp, 22),
        ("2001:db8:77::10", Proto::Tcp, 22),
    ];
    assert_eq!(
        lab.reachable(&long_one),
        vec![true, true],
        "kept by the commit in place"
    );

    // A whole-table commit (the table holds a chain portcullis did not make) keeps them too.
    lab.nft(&["add", "chain", "inet", "portcullis", "stray"]);
    let out = lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    assert!(
        out.contains("replaced table"),
        "expected a whole replace: {out}"
    );
    assert_eq!(
        lab.reachable(&long_one),
        vec![true, true],
        "kept by the whole replace"
    );

    // The short one expires in the kernel, with no portcullis process left.
    assert!(
        !portcullis_running(lab.state_dir.path()),
        "a portcullis process is still running"
    );
    let left = Duration::from_millis(3600).saturating_sub(granted_at.elapsed());
    std::thread::sleep(left);
    assert_eq!(
        lab.reachable(&outsider),
        vec![false],
        "expired: dropped again"
    );

    // Revoked early.
    let out = lab.portcullis_ok(&["--policy", path, "revoke", "ssh", "2001:db8:77::/64"]);
    assert!(out.contains("revoked"), "{out}");
    assert_eq!(
        lab.reachable(&[("2001:db8:77::10", Proto::Tcp, 22)]),
        vec![false],
        "revoked"
    );
    let again = lab.portcullis(&["--policy", path, "revoke", "ssh", "2001:db8:77::/64"]);
    assert_eq!(again.status.code(), Some(1), "no such grant any more");

    // A restore (what boot runs) brings none back.
    lab.portcullis_ok(&["restore"]);
    assert_eq!(
        lab.reachable(&[("198.51.100.10", Proto::Tcp, 22)]),
        vec![false],
        "a grant outlived the restore"
    );

    // Each grant and revoke is in the audit log: who, what, until when.
    let audit = std::fs::read_to_string(lab.state_dir.path().join("audit.log")).expect("audit");
    let granted: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("\"granted\""))
        .collect();
    assert_eq!(granted.len(), 3, "{audit}");
    assert!(
        granted[0].contains("ssh from 198.51.100.9/32 until 20"),
        "{}",
        granted[0]
    );
    assert!(audit.lines().any(|l| l.contains("\"revoked\"")), "{audit}");
}

#[test]
fn a_grant_needs_a_service_of_the_policy_and_a_table_of_ours() {
    let Some(lab) = lab() else { return };
    let policy = policy_file(POLICY);
    let path = policy.path().to_str().expect("path");
    let none = lab.portcullis(&grant(path, "ssh", "198.51.100.9", "1m"));
    assert_eq!(none.status.code(), Some(2), "no table yet");
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("apply"),
        "{none:?}"
    );
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    let unknown = lab.portcullis(&grant(path, "shh", "198.51.100.9", "1m"));
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no service \"shh\""));
    let long = lab.portcullis(&grant(path, "ssh", "198.51.100.9", "30d"));
    assert_eq!(
        long.status.code(),
        Some(2),
        "clap's usage error for an out-of-range --for"
    );
    let bad = lab.portcullis(&grant(path, "ssh", "198.51.100.300", "1m"));
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn a_grant_from_the_tui_lets_the_source_in_and_shows_its_time_left() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(POLICY);
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    lab.add_client_addr("198.51.100.9");
    lab.listen(Proto::Tcp, &[22]);
    let outsider = [("198.51.100.9", Proto::Tcp, 22)];
    assert_eq!(lab.reachable(&outsider), vec![false]);

    let argv = lab.ui_argv(path);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut pty = common::pty::Pty::spawn(
        "ip",
        &args,
        &[("TERM", "xterm-256color"), ("PORTCULLIS_SYSLOG_SOCKET", "")],
        &["NO_COLOR", "SSH_CONNECTION"],
    );
    let wait = Duration::from_secs(15);
    let shows = |pty: &common::pty::Pty, what: &str, text: &str| pty.wait_text(what, wait, text);
    shows(&pty, "the overview", "Sockets (");
    for key in ["2", "t"] {
        pty.type_text(key);
        std::thread::sleep(Duration::from_millis(50));
    }
    shows(&pty, "the grant's question", "grant ssh to");
    pty.type_text("198.51.100.9 1h\r");
    shows(
        &pty,
        "the grant made",
        "granted: 198.51.100.9/32 may reach ssh",
    );
    assert_eq!(lab.reachable(&outsider), vec![true], "granted from the UI");
    shows(
        &pty,
        "the grant listed with its time left",
        "granted: 198.51.100.9/32 (",
    );
    pty.type_text("q");
    assert_eq!(pty.wait(wait), 0);
}
