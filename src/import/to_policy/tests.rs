//! The converter on scripts and rule files, checked by the validator.

use super::*;
use crate::import::ufw::{AppPorts, parse_rules_file};
use crate::import::ufw_script::parse_script;

struct TestNames;

impl Names for TestNames {
    fn service_name(&self, port: u16, tcp: bool) -> Option<String> {
        match (port, tcp) {
            (22, true) => Some("ssh".into()),
            (443, true) => Some("https".into()),
            (53, _) => Some("domain".into()),
            (514, false) => Some("syslog".into()),
            (25, true) => Some("smtp".into()),
            _ => None,
        }
    }
    fn service_ports(&self, _name: &str) -> Option<(u16, bool, bool)> {
        None
    }
    fn app_ports(&self, _name: &str) -> Option<Vec<AppPorts>> {
        None
    }
}

fn import_script(text: &str) -> Imported {
    let s = parse_script("s", text, &TestNames);
    let imported = to_policy(&s.rules, s.defaults, &s.notes, &["s".into()], &TestNames);
    if let Err(d) = crate::policy::parse(&imported.text) {
        panic!("{}\n{}", d.render("import", &imported.text), imported.text);
    }
    imported
}

#[test]
fn sources_of_one_port_join_and_both_families_of_anywhere_are_any() {
    let p = import_script(
        "ufw allow from 10.0.0.0/8 to any port 9000 proto tcp\n\
         ufw allow from 192.0.2.0/24 to any port 9000 proto tcp\n\
         ufw allow 443/tcp\n",
    );
    assert!(
        p.text
            .contains("[networks]\nport-9000-sources = [\"10.0.0.0/8\", \"192.0.2.0/24\"]"),
        "{}",
        p.text
    );
    assert!(
        p.text
            .contains("[services.https]\nports = [\"443/tcp\"]\nallow = [\"any\"]")
    );
    assert_eq!((p.services, p.blocks, p.not_imported), (2, 0, 0));
}

#[test]
fn the_ports_of_one_comment_and_the_same_sources_join() {
    let p = import_script(
        "ufw allow from 10.30.0.0/16 to any port 1514 proto tcp comment 'Wazuh agents'\n\
         ufw allow from 10.30.0.0/16 to any port 1515 proto tcp comment 'Wazuh agents'\n\
         ufw allow from 10.30.0.0/16 to any port 55000 proto tcp comment 'Wazuh agents'\n\
         ufw allow 53/tcp\nufw allow 53/udp\n",
    );
    assert!(
        p.text.contains(
            "[services.wazuh-agents]\ndescription = \"Wazuh agents\"\n\
             ports = [\"1514-1515/tcp\", \"55000/tcp\"]\nallow = [\"10.30.0.0/16\"]"
        ),
        "{}",
        p.text
    );
    assert!(
        p.text
            .contains("[services.domain]\nports = [\"53/tcp+udp\"]"),
        "{}",
        p.text
    );
}

#[test]
fn a_deny_before_the_allows_is_a_block() {
    let p = import_script(
        "ufw deny from 10.30.0.66\nufw allow from 10.30.0.0/16 to any port 514 proto udp\n\
         ufw reject from 2001:db8:66::/48 to any port 443\n",
    );
    assert!(
        p.text
            .contains("[blocks.deny-10-30-0-66]\nfrom = [\"10.30.0.66\"]\n"),
        "{}",
        p.text
    );
    assert!(
        p.text.contains(
            "[blocks.reject-2001-db8-66-48]\nfrom = [\"2001:db8:66::/48\"]\n\
             ports = [\"443/tcp+udp\"]\naction = \"reject\""
        ),
        "{}",
        p.text
    );
    assert!(
        p.text
            .contains("ufw still answers this rule's sources' pings"),
        "{}",
        p.text
    );
}

#[test]
fn a_deny_after_an_allow_of_all_its_sources_leaves_out_the_allowed_ports() {
    let p = import_script("ufw allow 8080/tcp\nufw deny from 10.50.0.0/24\n");
    assert!(
        p.text.contains(
            "[blocks.deny-10-50-0-0-24]\nfrom = [\"10.50.0.0/24\"]\n\
             ports = [\"1-8079/tcp\", \"1-65535/udp\", \"8081-65535/tcp\"]"
        ),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("the block leaves out the ports they"),
        "{}",
        p.text
    );
}

#[test]
fn a_deny_after_an_allow_of_part_of_its_sources_is_listed_not_imported() {
    let p = import_script(
        "ufw allow from 10.30.0.0/16 to any port 514 proto udp\nufw deny from 10.0.0.0/8\n\
         ufw allow from 10.0.0.0/8 to any port 22 proto tcp\n",
    );
    assert_eq!(p.blocks, 0, "{}", p.text);
    assert_eq!(p.not_imported, 1);
    let top = p.text.split("\n[settings]").next().unwrap_or_default();
    assert!(top.contains("NOT IMPORTED"), "{top}");
    assert!(
        top.contains("s:2: `ufw deny from 10.0.0.0/8`: ufw lets through what s:1"),
        "{top}"
    );
    assert!(top.contains("Without it, s:3 also let through"), "{top}");
}

#[test]
fn what_a_policy_cannot_say_is_listed_at_the_top() {
    let p = import_script(
        "ufw route allow in on eth0 out on eth1\n\
         ufw allow from 10.0.0.0/8 port 5353 to any port 53 proto udp\n\
         ufw allow proto esp from 198.51.100.1\n\
         ufw deny in on eth0 from 198.51.100.0/24\n\
         ufw insert 1 allow 80/tcp\n\
         ufw allow log 22/tcp\n",
    );
    let top = p.text.split("\n[settings]").next().unwrap_or_default();
    for (line, why) in [
        ("s:1", "a routed (forwarding) rule"),
        ("s:2", "a policy cannot match source ports"),
        ("s:3", "protocol esp"),
        ("s:4", "a block cannot be limited to an interface"),
        ("s:5", "edits earlier rules by position"),
        ("s:6", "ufw logs what this rule matches"),
    ] {
        let found = top.split("\n# -").any(|item| {
            item.contains(&format!(" {line}:")) && item.replace("\n#  ", "").contains(why)
        });
        assert!(found, "{line} {why}:\n{top}");
    }
    assert_eq!(p.services, 1, "{}", p.text);
}

#[test]
fn defaults_outbound_rules_limits_and_interfaces() {
    let p = import_script(
        "ufw default reject incoming\nufw default deny outgoing\n\
         ufw allow out 25/tcp\nufw deny out to 203.0.113.0/24\nufw limit 22/tcp\n\
         ufw allow in on eth1 to 10.1.1.1 port 8080 proto tcp\n",
    );
    assert!(
        p.text
            .contains("input_policy = \"drop\"\noutput_policy = \"drop\""),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("ufw's default rejects incoming traffic"),
        "{}",
        p.text
    );
    assert!(
        p.text.contains(
            "[services.smtp-out]\nports = [\"25/tcp\"]\nallow = [\"any\"]\ndirection = \"out\""
        ),
        "{}",
        p.text
    );
    assert!(p.text.contains("[blocks.deny-203-0-113-0-24-out]\nfrom = [\"203.0.113.0/24\"]\nports = [\"1-24/tcp\", \"1-65535/udp\", \"26-65535/tcp\"]\ndirection = \"out\""), "{}", p.text);
    assert!(p.text.contains("[services.ssh-limited]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"10/minute\"\nburst = 5"), "{}", p.text);
    assert!(p.text.contains("ports = [\"8080/tcp\"]\nallow = [\"0.0.0.0/0\"]\ninterfaces = [\"eth1\"]\non = [\"10.1.1.1\"]"), "{}", p.text);
}

#[test]
fn the_rule_files_ufw_wrote_give_the_same_policy_as_its_script() {
    let (mut rules, notes) = parse_rules_file(
        "user.rules",
        "### tuple ### allow tcp 22 0.0.0.0/0 any 192.0.2.10 in comment=61646d696e20737368\n\
         ### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in\n",
    );
    let (mut six, _) = parse_rules_file(
        "user6.rules",
        "### tuple ### allow tcp 443 ::/0 any ::/0 in\n",
    );
    rules.append(&mut six);
    let from_files = to_policy(&rules, None, &notes, &[], &TestNames);
    let from_script = import_script(
        "ufw allow from 192.0.2.10 to any port 22 proto tcp comment 'admin ssh'\nufw allow 443/tcp\n",
    );
    let body = |t: &str| {
        t.split("\n[settings]")
            .nth(1)
            .unwrap_or_default()
            .replace("user.rules:1", "s:1")
            .replace("user.rules:2, user6.rules:1", "s:2")
    };
    assert_eq!(body(&from_files.text), body(&from_script.text));
    assert!(
        from_files
            .text
            .contains("the default policies were not read")
    );
}
