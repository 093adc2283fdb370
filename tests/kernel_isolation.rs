//! portcullis owns one table and nothing else: other tables are byte-identical after apply,
//! a replace is whole, a refused apply leaves the old table in place, and the JSON form
//! loads to the same table as the text form.

mod common;

use common::{Lab, lab};

const SIEM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/siem-server.toml"
);
const WEB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/web-server.toml"
);

/// `portcullis diff`: its exit status and what it printed.
fn diff(lab: &Lab, policy: &str) -> (Option<i32>, String) {
    let out = lab.portcullis(&["--policy", policy, "diff"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn diff_code(lab: &Lab, policy: &str) -> Option<i32> {
    diff(lab, policy).0
}

/// What Docker or libvirt might have: NAT with masquerade, and a filter table of their own.
fn foreign_tables(lab: &Lab) -> String {
    format!(
        "table ip nat {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\toifname \"{}\" ip saddr 198.18.0.0/15 counter masquerade\n\
         \t}}\n\
         }}\n\
         table inet docker_like {{\n\
         \tset blocked {{ type ipv4_addr; flags interval; elements = {{ 198.51.100.200/29 }} }}\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority 10; policy accept;\n\
         \t\tip saddr @blocked counter drop comment \"not ours\"\n\
         \t}}\n\
         }}\n",
        lab.server_if
    )
}

#[test]
fn other_tables_are_byte_identical_after_apply() {
    let Some(lab) = lab() else { return };
    lab.nft_script(&foreign_tables(&lab));
    let snapshot = |lab: &Lab| {
        (
            lab.nft(&["-a", "list", "table", "ip", "nat"]),
            lab.nft(&["-a", "list", "table", "inet", "docker_like"]),
            lab.nft(&["-j", "-a", "list", "table", "ip", "nat"]),
            lab.nft(&["-j", "-a", "list", "table", "inet", "docker_like"]),
        )
    };
    let before = snapshot(&lab);
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    lab.portcullis_ok(&["--policy", WEB, "apply", "--yes"]);
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    let after = snapshot(&lab);
    assert_eq!(before, after, "a foreign table changed");
    let tables = lab.nft(&["list", "tables"]);
    assert_eq!(
        tables, "table ip nat\ntable inet docker_like\ntable inet portcullis\n",
        "unexpected tables"
    );
}

#[test]
fn replace_is_whole_and_a_refused_apply_changes_nothing() {
    let Some(lab) = lab() else { return };
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    assert_eq!(diff_code(&lab, SIEM), Some(0));

    let out = lab.portcullis_ok(&["--policy", WEB, "apply", "--yes"]);
    // In place: only what differs, in one transaction.
    assert!(
        out.contains("changed table inet portcullis, in place"),
        "{out}"
    );
    assert_eq!(
        diff_code(&lab, WEB),
        Some(0),
        "the new table is exactly the web policy"
    );
    assert_eq!(diff_code(&lab, SIEM), Some(1));
    let listing = lab.nft(&["list", "table", "inet", "portcullis"]);
    assert!(
        !listing.contains("net_agents_v4"),
        "a set of the old policy survived:\n{listing}"
    );

    // nft refuses (here: no CAP_NET_ADMIN). The user sees nft's own words, and the
    // table is still the web policy, untouched.
    let before = lab.nft(&["-j", "-a", "list", "table", "inet", "portcullis"]);
    let state = tempfile::tempdir().expect("state dir");
    std::os::unix::fs::chown(state.path(), Some(65534), Some(65534)).expect("chown");
    let refused = lab.portcullis_unprivileged(&["--policy", SIEM, "apply", "--yes"], state.path());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("nothing was changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Operation not permitted"),
        "nft's own message is shown: {stderr}"
    );
    assert_eq!(
        before,
        lab.nft(&["-j", "-a", "list", "table", "inet", "portcullis"])
    );
}

#[test]
fn json_export_loads_to_the_same_table_as_the_text_form() {
    let Some(lab) = lab() else { return };
    for policy in [SIEM, WEB] {
        let json = lab.portcullis_ok(&["--policy", policy, "export", "--json"]);
        let path = std::env::temp_dir().join(format!("{}-export.json", lab.server));
        std::fs::write(&path, json).expect("write export");
        lab.nft(&["-j", "-f", path.to_str().expect("path")]);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            diff_code(&lab, policy),
            Some(0),
            "JSON form of {policy} differs from the policy"
        );

        let text = lab.portcullis_ok(&["--policy", policy, "export"]);
        lab.nft_script(&text);
        assert_eq!(
            diff_code(&lab, policy),
            Some(0),
            "text form of {policy} differs from the policy"
        );
    }
}

#[test]
fn hand_edits_to_the_live_table_show_in_diff() {
    let Some(lab) = lab() else { return };
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    assert_eq!(diff_code(&lab, SIEM), Some(0));

    // Someone adds an address by hand: the diff names exactly that address.
    lab.nft_script(
        "add element inet portcullis net_admin_v4 { 192.0.2.99 }
",
    );
    let (code, text) = diff(&lab, SIEM);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("-\t\t\t192.0.2.99"), "{text}");

    // ... and a rule by hand: it shows as a removal the policy would make.
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    lab.nft_script(
        "add rule inet portcullis input tcp dport 3306 accept
",
    );
    let (code, text) = diff(&lab, SIEM);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("-\t\ttcp dport 3306 accept"), "{text}");

    // Applying again puts the table back to the policy.
    lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    assert_eq!(diff_code(&lab, SIEM), Some(0));
}
