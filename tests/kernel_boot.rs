//! Boot: `portcullis restore` (what the systemd unit runs) after a simulated reboot, a
//! fresh network namespace with nothing in its firewall and the same state directory,
//! loads the last confirmed ruleset and never the commit that was pending; packets show
//! it. And the unit file itself passes `systemd-analyze verify`.

mod common;

use common::{Proto, lab, policy_file, without_counters};

const CLIENT: &str = "198.51.100.20";

const CONFIRMED: &str = r#"
[settings]
input_policy = "drop"

[services.web]
ports = ["8443/tcp"]
allow = ["any"]
"#;

/// The pending one opens 2222 as well.
const PENDING: &str = r#"
[settings]
input_policy = "drop"

[services.web]
ports = ["8443/tcp", "2222/tcp"]
allow = ["any"]
"#;

#[test]
fn restore_after_a_reboot_loads_the_confirmed_ruleset_not_the_pending_one() {
    let Some(before) = lab() else { return };
    let confirmed = policy_file(CONFIRMED);
    let pending = policy_file(PENDING);
    let path = |f: &tempfile::NamedTempFile| f.path().to_str().expect("utf-8").to_string();
    before.portcullis_ok(&["--policy", &path(&confirmed), "apply", "--yes"]);
    let confirmed_table = before.nft(&["list", "table", "inet", "portcullis"]);
    before.portcullis_ok(&[
        "--policy",
        &path(&pending),
        "apply",
        "--no-wait",
        "--confirm-timeout",
        "10m",
    ]);
    assert!(
        before
            .nft(&["list", "table", "inet", "portcullis"])
            .contains("2222")
    );

    // The reboot: a new machine (namespace) whose firewall is empty, the same disk.
    let mut after = lab().expect("a second lab");
    after.add_client_addr(CLIENT);
    after.listen(Proto::Tcp, &[8443, 2222]);
    let state = before.state_dir.path();
    let restore = after
        .portcullis_command(&["restore"])
        .env("PORTCULLIS_STATE_DIR", state)
        .output()
        .expect("run restore");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&restore.stdout),
        String::from_utf8_lossy(&restore.stderr)
    );
    assert!(restore.status.success(), "{said}");
    assert_eq!(
        without_counters(&after.nft(&["list", "table", "inet", "portcullis"])),
        without_counters(&confirmed_table),
        "the confirmed ruleset, not the pending one"
    );
    assert_eq!(
        after.reachable(&[(CLIENT, Proto::Tcp, 8443), (CLIENT, Proto::Tcp, 2222)]),
        vec![true, false]
    );
    let status = after
        .portcullis_command(&["status", "--json"])
        .env("PORTCULLIS_STATE_DIR", state)
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert!(status["pending"].is_null(), "{status}");
    assert_eq!(
        status["last_commits"][0]["outcome"], "rolled_back",
        "{status}"
    );
    // Another restore (a second boot) loads the same again.
    let again = after
        .portcullis_command(&["restore"])
        .env("PORTCULLIS_STATE_DIR", state)
        .output()
        .expect("restore");
    assert!(again.status.success());
    assert_eq!(
        without_counters(&after.nft(&["list", "table", "inet", "portcullis"])),
        without_counters(&confirmed_table)
    );
}

#[test]
fn the_systemd_unit_runs_restore_before_the_network_and_verifies() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/systemd/portcullis.service"
    ))
    .expect("the unit file");
    for line in [
        "ExecStart=/usr/bin/portcullis restore",
        "Type=oneshot",
        "Before=network-pre.target shutdown.target",
        "Wants=network-pre.target",
        "After=nftables.service",
        "DefaultDependencies=no",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line:?} in the unit");
    }
    // systemd's own check, on a copy that runs this build's binary.
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("portcullis.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/portcullis", env!("CARGO_BIN_EXE_portcullis")),
    )
    .expect("write");
    let verified = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run systemd-analyze ({e}); install the systemd package")
        });
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );
}
