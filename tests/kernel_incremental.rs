//! Commits in place, against the real kernel: random sequences of policy edits applied
//! one after another equal a fresh load of the same policy in another namespace; rules a
//! step did not touch keep their handles and counters (real packets between steps); a
//! rollback is the inverse change, or the whole "before" when someone else changed the
//! table; a commit that changes nothing sends nothing.

mod common;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};

use common::{Lab, in_ns, lab, policy_file, text};
use serde_json::Value;

const CLIENT4: [&str; 3] = ["198.51.100.10", "198.51.100.20", "203.0.113.5"];

/// A foreign table that must come through every step unchanged.
const FOREIGN: &str = "table ip foreign {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9999 counter drop\n\t}\n}\n";

/// A small deterministic generator (xorshift), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The policy the edits work on: networks and services that the steps add to, remove
/// from, rename and change.
#[derive(Clone)]
struct Model {
    output_drop: bool,
    networks: BTreeMap<String, Vec<String>>,
    /// name -> (ports, allow, out)
    services: BTreeMap<String, (Vec<String>, Vec<String>, bool)>,
}

const ADDRS: &[&str] = &[
    "198.51.100.10",
    "198.51.100.20",
    "198.51.100.0/28",
    "203.0.113.0/24",
    "203.0.113.5",
    "10.1.0.0/16",
    "10.2.3.4",
    "2001:db8:1::/48",
    "2001:db8:2::7",
];
const PORTS: &[&str] = &[
    "22/tcp",
    "53/tcp+udp",
    "123/udp",
    "443/tcp",
    "9000-9001/tcp",
    "514/udp",
];

impl Model {
    fn text(&self) -> String {
        let q = |v: &[String]| {
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut t = format!(
            "[settings]\noutput_policy = \"{}\"\nconfirm_timeout = \"60s\"\n\n[networks]\n",
            if self.output_drop { "drop" } else { "accept" }
        );
        for (name, list) in &self.networks {
            t.push_str(&format!("{name} = [{}]\n", q(list)));
        }
        for (name, (ports, allow, out)) in &self.services {
            t.push_str(&format!(
                "\n[services.{name}]\nports = [{}]\nallow = [{}]\n{}",
                q(ports),
                q(allow),
                if *out { "direction = \"out\"\n" } else { "" }
            ));
        }
        t
    }

    /// One random edit, of the kinds an operator makes.
    fn edit(&mut self, rng: &mut Rng, step: usize) {
        let net_names: Vec<String> = self.networks.keys().cloned().collect();
        let svc_names: Vec<String> = self.services.keys().cloned().collect();
        match rng.below(10) {
            0 => {
                let name = format!("net{step}");
                self.networks
                    .insert(name, vec![rng.pick(ADDRS).to_string()]);
            }
            1 if !net_names.is_empty() => {
                // Remove a network nobody uses, or add an address to one.
                let n = &net_names[rng.below(net_names.len() as u64) as usize];
                let used = self.services.values().any(|(_, a, _)| a.contains(n));
                if used {
                    self.networks
                        .get_mut(n)
                        .expect("network")
                        .push(rng.pick(ADDRS).into());
                } else {
                    self.networks.remove(n);
                }
            }
            2 if !net_names.is_empty() => {
                let n = &net_names[rng.below(net_names.len() as u64) as usize];
                let list = self.networks.get_mut(n).expect("network");
                if list.len() > 1 {
                    list.remove(rng.below(list.len() as u64) as usize);
                } else {
                    list[0] = rng.pick(ADDRS).into();
                }
            }
            3 | 4 => {
                let name = format!("svc{step}");
                let mut allow = vec![];
                if !net_names.is_empty() && rng.below(3) > 0 {
                    allow.push(net_names[rng.below(net_names.len() as u64) as usize].clone());
                } else if rng.below(2) == 0 {
                    allow.push("any".into());
                } else {
                    allow.push(rng.pick(ADDRS).into());
                }
                self.services.insert(
                    name,
                    (vec![rng.pick(PORTS).into()], allow, rng.below(5) == 0),
                );
            }
            5 if !svc_names.is_empty() => {
                let s = &svc_names[rng.below(svc_names.len() as u64) as usize];
                self.services.remove(s);
            }
            6 if !svc_names.is_empty() => {
                // Rename: the same rules under another name (comments change).
                let s = &svc_names[rng.below(svc_names.len() as u64) as usize];
                let v = self.services.remove(s).expect("service");
                self.services.insert(format!("{s}r"), v);
            }
            7 if !svc_names.is_empty() => {
                let s = &svc_names[rng.below(svc_names.len() as u64) as usize];
                let ports = &mut self.services.get_mut(s).expect("service").0;
                let p = rng.pick(PORTS).to_string();
                if !ports.contains(&p) {
                    ports.push(p);
                } else if ports.len() > 1 {
                    ports.retain(|x| *x != p);
                }
            }
            8 if !svc_names.is_empty() => {
                let s = &svc_names[rng.below(svc_names.len() as u64) as usize];
                let allow = &mut self.services.get_mut(s).expect("service").1;
                let source = if !net_names.is_empty() && rng.below(2) == 0 {
                    net_names[rng.below(net_names.len() as u64) as usize].clone()
                } else {
                    rng.pick(ADDRS).to_string()
                };
                if !allow.contains(&source) && !allow.contains(&"any".to_string()) {
                    allow.push(source);
                } else if allow.len() > 1 {
                    allow.retain(|x| *x != source);
                }
            }
            9 if step.is_multiple_of(7) => self.output_drop = !self.output_drop,
            _ => {
                let name = format!("net{step}");
                self.networks
                    .insert(name, vec![rng.pick(ADDRS).to_string()]);
            }
        }
    }
}

/// `n` UDP datagrams from `src` on the client to each of the server's `ports`: they hit
/// service rules and the catch-all. Sent without waiting; the kernel counts them on
/// arrival.
fn send(lab: &Lab, src: &'static str, ports: &[u16], n: usize) {
    let ports = ports.to_vec();
    in_ns(&lab.client, move || {
        let s = UdpSocket::bind(SocketAddr::new(src.parse().expect("addr"), 0)).expect("bind");
        for port in ports {
            for _ in 0..n {
                let to = SocketAddr::new(common::SERVER4.parse().expect("addr"), port);
                let _ = s.send_to(b"x", to);
            }
        }
    });
    // Let the softirq deliver them before the counters are read.
    std::thread::sleep(std::time::Duration::from_millis(20));
}

/// Some traffic from one of the client's addresses, at random.
fn traffic(lab: &Lab, rng: &mut Rng) {
    let src = CLIENT4[rng.below(CLIENT4.len() as u64) as usize];
    send(lab, src, &[53, 123, 514, 7777], 1);
}

/// The rules `portcullis rules --json` lists.
fn listed_rules(lab: &Lab) -> Vec<Value> {
    let rules: Value =
        serde_json::from_str(&lab.portcullis_ok(&["rules", "--json"])).expect("rules json");
    rules
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// handle -> packets of every counted rule of our table.
fn counters(lab: &Lab) -> BTreeMap<u64, u64> {
    listed_rules(lab)
        .iter()
        .filter_map(|r| Some((r.get("handle")?.as_u64()?, r.get("packets")?.as_u64()?)))
        .collect()
}

/// Our table without counters or handles, its sets sorted by name (the kernel lists them
/// in the order they were made; rules keep their order): what a fresh load must equal.
fn table(lab: &Lab) -> String {
    let listing = lab.nft(&["-s", "list", "table", "inet", "portcullis"]);
    let mut head = Vec::new();
    let mut sets: Vec<String> = Vec::new();
    let mut chains: Vec<String> = Vec::new();
    let mut block: Option<String> = None;
    for line in listing.lines() {
        if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
            if line == "\t}" {
                let b = block.take().expect("block");
                if b.starts_with("\tset ") {
                    sets.push(b);
                } else {
                    chains.push(b);
                }
            }
        } else if line.starts_with("\tset ") || line.starts_with("\tchain ") {
            block = Some(format!("{line}\n"));
        } else if !line.is_empty() {
            head.push(line.to_string());
        }
    }
    sets.sort();
    format!("{}\n{}{}", head.join("\n"), sets.concat(), chains.concat())
}

fn setup_pair() -> Option<(Lab, Lab)> {
    let a = lab()?;
    let b = lab()?;
    for addr in CLIENT4 {
        a.add_client_addr(addr);
    }
    a.nft_script(FOREIGN);
    Some((a, b))
}

#[test]
fn random_edits_applied_in_place_equal_a_fresh_load_and_keep_untouched_counters() {
    let Some((lab, fresh)) = setup_pair() else {
        return;
    };
    let foreign_before = lab.nft(&["-s", "list", "table", "ip", "foreign"]);
    let file = policy_file("");
    let path = file.path().to_str().expect("path").to_string();
    let mut steps = 0;
    let mut in_place = 0;
    let mut unchanged = 0;
    for seed in [
        0x9e37_79b9_7f4a_7c15u64,
        0x2545_f491_4f6c_dd1d,
        0xdead_beef_1234_5678,
    ] {
        let mut rng = Rng(seed);
        let mut model = Model {
            output_drop: false,
            networks: BTreeMap::from([("admin".to_string(), vec![CLIENT4[0].to_string()])]),
            services: BTreeMap::from([(
                "dns".to_string(),
                (
                    vec!["53/tcp+udp".to_string()],
                    vec!["admin".to_string()],
                    false,
                ),
            )]),
        };
        // Each seed starts from a whole table of its own.
        let _ = lab.portcullis(&["restore"]);
        std::fs::write(&path, model.text()).expect("write policy");
        lab.portcullis_ok(&["--policy", &path, "apply", "--yes"]);
        for step in 0..40 {
            model.edit(&mut rng, step);
            let text_now = model.text();
            std::fs::write(&path, &text_now).expect("write policy");
            if !lab
                .portcullis(&["--policy", &path, "check"])
                .status
                .success()
            {
                continue;
            }
            traffic(&lab, &mut rng);
            let before = counters(&lab);
            let out = lab.portcullis(&["--policy", &path, "apply", "--yes"]);
            assert!(
                out.status.success(),
                "seed {seed:x} step {step}:\n{text_now}\n{}",
                text(&out)
            );
            let said = text(&out);
            if said.contains("in place") {
                in_place += 1;
            } else if said.contains("nothing was sent to the kernel") {
                unchanged += 1;
            } else {
                panic!("seed {seed:x} step {step} replaced the whole table:\n{text_now}\n{said}");
            }
            steps += 1;
            traffic(&lab, &mut rng);
            let after = counters(&lab);
            // Rules the step kept keep their handle, and their counters never go down.
            for (handle, packets) in &before {
                if let Some(now) = after.get(handle) {
                    assert!(
                        now >= packets,
                        "seed {seed:x} step {step}: rule {handle} went from {packets} to {now}\n{said}"
                    );
                }
            }
            // The live table equals a fresh load of the same policy.
            let fresh_file = policy_file(&text_now);
            let fresh_path = fresh_file.path().to_str().expect("path");
            let _ = fresh.nft(&["list", "tables"]);
            let _ = std::process::Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &fresh.server,
                    "nft",
                    "delete",
                    "table",
                    "inet",
                    "portcullis",
                ])
                .output();
            let script = fresh.portcullis_ok(&["--policy", fresh_path, "export"]);
            fresh.nft_script(&script);
            assert_eq!(
                table(&lab),
                table(&fresh),
                "seed {seed:x} step {step}:\n{text_now}\n{said}"
            );
            let diff = lab.portcullis(&["--policy", &path, "diff"]);
            assert_eq!(
                diff.status.code(),
                Some(0),
                "seed {seed:x} step {step}: {}",
                text(&diff)
            );
        }
    }
    assert_eq!(
        lab.nft(&["-s", "list", "table", "ip", "foreign"]),
        foreign_before
    );
    assert!(steps >= 100, "only {steps} steps ran");
    // Every step is in place, or changes nothing (an edit of a network no service uses).
    assert_eq!(in_place + unchanged, steps);
    assert!(
        in_place * 10 >= steps * 6,
        "only {in_place} of {steps} steps were in place"
    );
}

const BASE: &str = r#"
[networks]
admin = ["198.51.100.10"]

[services.dns]
ports = ["53/udp"]
allow = ["admin"]

[services.syslog]
ports = ["514/udp"]
allow = ["any"]
"#;

/// Field `key` of service `service`'s rule, as `rules --json` gives it.
fn rule_field(lab: &Lab, service: &str, key: &str) -> Value {
    listed_rules(lab)
        .iter()
        .find(|r| r.get("service").and_then(Value::as_str) == Some(service))
        .and_then(|r| r.get(key).cloned())
        .unwrap_or(Value::Null)
}

fn dns_packets(lab: &Lab) -> u64 {
    rule_field(lab, "dns", "packets").as_u64().unwrap_or(0)
}

/// `portcullis --policy FILE ARGS…`.
fn with_policy(lab: &Lab, file: &tempfile::NamedTempFile, args: &[&str]) -> std::process::Output {
    let mut argv = vec!["--policy", file.path().to_str().expect("utf-8 path")];
    argv.extend_from_slice(args);
    lab.portcullis(&argv)
}

/// `with_policy`, which must succeed: what it printed.
fn with_policy_ok(lab: &Lab, file: &tempfile::NamedTempFile, args: &[&str]) -> String {
    let out = with_policy(lab, file, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    text(&out)
}

/// One nft command, as it is typed on nft's command line.
fn nft_line(lab: &Lab, line: &str) {
    lab.nft(&line.split(' ').collect::<Vec<_>>());
}

/// BASE, and BASE with syslog on another port.
fn base_and_changed() -> (tempfile::NamedTempFile, tempfile::NamedTempFile) {
    (
        policy_file(BASE),
        policy_file(&BASE.replace("514/udp", "6514/udp")),
    )
}

#[test]
fn a_rollback_of_a_change_in_place_is_its_inverse_and_untouched_counters_keep_counting() {
    let Some(lab) = lab() else { return };
    lab.add_client_addr(CLIENT4[0]);
    let (base, changed) = base_and_changed();
    with_policy_ok(&lab, &base, &["apply", "--yes"]);
    // The commit below starts counting a few milliseconds later.
    std::thread::sleep(std::time::Duration::from_millis(20));
    send(&lab, CLIENT4[0], &[53], 5);
    let table_before = table(&lab);
    assert_eq!(dns_packets(&lab), 5);
    let said = with_policy_ok(&lab, &changed, &["apply", "--no-wait"]);
    assert!(said.contains("in place: rule 1 replaced"), "{said}");
    assert_eq!(
        dns_packets(&lab),
        5,
        "the dns rule was not touched and kept its counter"
    );
    // `rules` says since when each counts: dns from the first apply, syslog from this one.
    let (dns, syslog) = (
        rule_field(&lab, "dns", "counting_since"),
        rule_field(&lab, "syslog", "counting_since"),
    );
    assert!(
        dns.is_string() && dns.as_str() < syslog.as_str(),
        "{dns} {syslog}"
    );
    // status says what the pending commit changed, in these terms.
    let status = lab.portcullis_ok(&["status"]);
    assert!(
        status.contains("change: in place: rule 1 replaced"),
        "{status}"
    );
    send(&lab, CLIENT4[0], &[53], 2);
    let out = lab.portcullis(&["rollback"]);
    assert!(text(&out).contains("the inverse change"), "{}", text(&out));
    assert_eq!(
        table(&lab),
        table_before,
        "the previous table is back exactly"
    );
    send(&lab, CLIENT4[0], &[53], 1);
    assert_eq!(
        dns_packets(&lab),
        8,
        "the dns rule counted through the commit and its rollback"
    );
}

#[test]
fn a_rollback_after_someone_changed_the_table_puts_the_whole_table_back() {
    let Some(lab) = lab() else { return };
    let (base, changed) = base_and_changed();
    with_policy_ok(&lab, &base, &["apply", "--yes"]);
    let table_before = table(&lab);
    with_policy_ok(&lab, &changed, &["apply", "--no-wait"]);
    // Someone adds a rule and an element by hand meanwhile.
    nft_line(&lab, "add rule inet portcullis input tcp dport 4444 accept");
    nft_line(
        &lab,
        "add element inet portcullis net_admin_v4 { 192.0.2.99 }",
    );
    let out = lab.portcullis(&["rollback"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("putting back the whole table"),
        "{}",
        text(&out)
    );
    assert_eq!(
        table(&lab),
        table_before,
        "the whole table as it was before"
    );
}

#[test]
fn a_commit_that_changes_nothing_sends_nothing_to_the_kernel() {
    let Some(lab) = lab() else { return };
    let (base, _) = base_and_changed();
    with_policy_ok(&lab, &base, &["apply", "--yes"]);
    let handles = lab.nft(&["-a", "list", "table", "inet", "portcullis"]);
    for args in [["apply", "--yes"], ["apply", "--no-wait"]] {
        let said = with_policy_ok(&lab, &base, &args);
        assert!(said.contains("nothing was sent to the kernel"), "{said}");
    }
    assert_eq!(
        lab.nft(&["-a", "list", "table", "inet", "portcullis"]),
        handles
    );
    let status: Value = serde_json::from_str(&lab.portcullis_ok(&["status", "--json"])).unwrap();
    assert!(status.get("pending").is_none_or(Value::is_null), "{status}");
}

#[test]
fn a_table_holding_what_portcullis_did_not_make_is_replaced_whole_and_the_diff_says_so() {
    let Some(lab) = lab() else { return };
    let (base, changed) = base_and_changed();
    with_policy_ok(&lab, &base, &["apply", "--yes"]);
    // A rule of a kind portcullis never writes (a log statement), added by hand.
    nft_line(
        &lab,
        "add rule inet portcullis input tcp dport 4444 log accept",
    );
    let diff = with_policy(&lab, &base, &["diff"]);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    assert!(
        text(&diff).starts_with("# whole table replaced: "),
        "{}",
        text(&diff)
    );
    let said = with_policy_ok(&lab, &base, &["apply", "--yes"]);
    assert!(said.contains("replaced table inet portcullis"), "{said}");
    assert_eq!(with_policy(&lab, &base, &["diff"]).status.code(), Some(0));
    // And the next change is in place again.
    let said = with_policy_ok(&lab, &changed, &["apply", "--yes"]);
    assert!(said.contains("in place"), "{said}");
}
