//! `portcullis init` in a namespace with real listeners and an SSH_CONNECTION: the policy
//! it writes passes `check`, applies without a lockout warning, and keeps the SSH peer able
//! to connect; an existing policy is not overwritten unless asked.

mod common;

use common::{Proto, lab};

const PEER: &str = "198.51.100.20";

#[test]
fn init_writes_a_policy_that_checks_and_keeps_the_ssh_peer_allowed() {
    let Some(mut lab) = lab() else { return };
    lab.add_client_addr(PEER);
    lab.add_client_addr("203.0.113.9");
    lab.listen(Proto::Tcp, &[22, 8443]);
    lab.listen(Proto::Udp, &[514]);
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("etc/portcullis/policy.toml");
    let policy = policy.to_str().expect("utf-8");
    let ssh = format!("{PEER} 50022 {} 22", common::SERVER4);
    let init = |extra: &[&str]| {
        let mut args = vec!["--policy", policy, "init"];
        args.extend_from_slice(extra);
        lab.portcullis_command(&args)
            .env("SSH_CONNECTION", &ssh)
            .output()
            .expect("run init")
    };

    let out = init(&[]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("Nothing was applied"), "{said}");
    assert!(
        lab.nft(&["list", "tables"]).is_empty(),
        "init applies nothing"
    );
    let text = std::fs::read_to_string(policy).expect("written");
    assert!(text.contains("admin = [\"198.51.100.0/24\"]"), "{text}");
    assert!(text.contains("ports = [\"8443/tcp\"]"), "{text}");
    assert!(text.contains("ports = [\"514/udp\"]"), "{text}");
    lab.portcullis_ok(&["--policy", policy, "check"]);

    // Applied without a terminal, a lockout would be refused: this one goes through, and
    // the peer still gets in; others get in only where the proposal left things open.
    let apply = lab
        .portcullis_command(&["--policy", policy, "apply", "--yes"])
        .env("SSH_CONNECTION", &ssh)
        .output()
        .expect("apply");
    assert!(
        apply.status.success(),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert_eq!(
        lab.reachable(&[
            (PEER, Proto::Tcp, 22),
            ("203.0.113.9", Proto::Tcp, 22),
            ("203.0.113.9", Proto::Tcp, 8443),
        ]),
        vec![true, false, true]
    );

    // A second init does not overwrite the policy; --force keeps the old one as .bak.
    std::fs::write(policy, "# mine\n").expect("edit");
    let again = init(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(policy).expect("kept"), "# mine\n");
    let forced = init(&["--force"]);
    assert_eq!(forced.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(format!("{policy}.bak")).expect("backup"),
        "# mine\n"
    );
    let printed = init(&["--print"]);
    assert!(String::from_utf8_lossy(&printed.stdout).contains("[services.ssh]"));
}
