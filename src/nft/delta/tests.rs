//! The delta against a model of what nft does with each command: applying a delta to a
//! live table gives the compiled table, in order; unchanged rules keep their handles.

use proptest::prelude::*;

use super::*;
use crate::nft::compile;
use crate::nft::compile::addr_expr;
use crate::nft::intervals;
use crate::policy;

fn compiled(text: &str) -> Vec<NfListObject<'static>> {
    compile(&policy::parse(text).expect("valid policy")).objects
}

/// The objects as the kernel would list them: rules numbered from `first` on.
fn listed(objects: Vec<NfListObject<'static>>, first: u32) -> Vec<NfListObject<'static>> {
    let mut next = first;
    objects
        .into_iter()
        .map(|mut o| {
            if let NfListObject::Rule(r) = &mut o {
                r.handle = Some(next);
                next += 1;
            }
            o
        })
        .collect()
}

/// What nft and the kernel do with the commands, on a list of objects.
fn run(live: &[NfListObject<'static>], delta: &Delta) -> Vec<NfListObject<'static>> {
    let mut objects = live.to_vec();
    // The kernel never hands out a handle twice in a table's life.
    let mut next = live
        .iter()
        .filter_map(|o| match o {
            NfListObject::Rule(r) => r.handle,
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max(10_000);
    let mut with_handle = |mut rule: Rule<'static>| {
        next += 1;
        rule.handle = Some(next);
        NfListObject::Rule(rule)
    };
    let position = |objects: &[NfListObject<'static>], handle: u32| {
        objects
            .iter()
            .position(|o| matches!(o, NfListObject::Rule(r) if r.handle == Some(handle)))
            .expect("anchor exists")
    };
    for c in &delta.commands {
        match c {
            Command::AddSet(s) => {
                let at = objects
                    .iter()
                    .position(|o| matches!(o, NfListObject::Chain(_)))
                    .unwrap_or(objects.len());
                objects.insert(at, NfListObject::Set(s.clone()));
            }
            Command::DeleteSet(name) => {
                objects.retain(|o| !matches!(o, NfListObject::Set(s) if s.name == *name))
            }
            Command::FlushSet(name)
            | Command::AddElements { set: name, .. }
            | Command::DeleteElements { set: name, .. } => {
                for o in objects.iter_mut() {
                    let NfListObject::Set(s) = o else { continue };
                    if s.name != *name {
                        continue;
                    }
                    let family = set_family(s).unwrap();
                    let mut have = set_intervals(s).unwrap();
                    match c {
                        Command::FlushSet(_) => have.clear(),
                        Command::AddElements { elements, .. } => have.extend(elements),
                        Command::DeleteElements { elements, .. } => {
                            for e in elements {
                                let at = have
                                    .iter()
                                    .position(|h| h == e)
                                    .expect("deleted element exists");
                                have.remove(at);
                            }
                        }
                        _ => unreachable!(),
                    }
                    let have = intervals::merge(have);
                    s.elem = (!have.is_empty()).then(|| {
                        have.iter()
                            .map(|&iv| addr_expr(intervals::addr_element(family, iv)))
                            .collect::<Vec<_>>()
                            .into()
                    });
                }
            }
            Command::ChainPolicy(chain) => {
                for o in objects.iter_mut() {
                    if let NfListObject::Chain(c) = o
                        && c.name == chain.name
                    {
                        c.policy = chain.policy;
                    }
                }
            }
            Command::DeleteRule { handle, .. } => {
                let at = position(&objects, *handle);
                objects.remove(at);
            }
            Command::AddAfter { anchor, rule, .. } => {
                let at = position(&objects, *anchor);
                objects.insert(at + 1, with_handle((**rule).clone()));
            }
            Command::InsertBefore { anchor, rule, .. } => {
                let at = position(&objects, *anchor);
                objects.insert(at, with_handle((**rule).clone()));
            }
            Command::Append { chain, rule } => {
                let at = objects
                    .iter()
                    .rposition(|o| match o {
                        NfListObject::Rule(r) => r.chain == *chain,
                        NfListObject::Chain(c) => c.name == *chain,
                        _ => false,
                    })
                    .expect("chain exists");
                objects.insert(at + 1, with_handle((**rule).clone()));
            }
        }
    }
    objects
}

/// Sets sorted by name, then each chain's rules in order: what must equal a fresh load.
fn meaning(objects: &[NfListObject<'static>]) -> (Vec<String>, Vec<String>) {
    let mut sets: Vec<String> = objects
        .iter()
        .filter_map(|o| match o {
            NfListObject::Set(s) => Some(format!("{} {:?}", s.name, set_intervals(s))),
            _ => None,
        })
        .collect();
    sets.sort();
    let mut rules = Vec::new();
    for chain in ["input", "output"] {
        for o in objects {
            if let NfListObject::Rule(r) = normalize(o)
                && r.chain == chain
            {
                rules.push(format!(
                    "{chain} {}",
                    render::rule(&r, RenderOptions::default())
                ));
            }
        }
    }
    (sets, rules)
}

const BASE: &str = "[networks]\nadmin = [\"192.0.2.10\"]\nsoc = [\"198.51.100.0/24\", \"2001:db8::/48\"]\n\n\
    [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n\n\
    [services.web]\nports = [\"443/tcp\"]\nallow = [\"any\"]\n";

#[test]
fn the_same_table_needs_nothing() {
    let live = listed(compiled(BASE), 1);
    let d = between(&live, &compiled(BASE)).unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(d.summary.line(), "nothing to change");
}

#[test]
fn a_port_change_replaces_one_rule_in_place() {
    let live = listed(compiled(BASE), 1);
    let want = compiled(&BASE.replace("443/tcp", "8443/tcp"));
    let d = between(&live, &want).unwrap();
    assert_eq!(d.summary.rules_replaced, 1, "{d:?}");
    assert_eq!(d.summary.line(), "rule 1 replaced");
    assert_eq!(d.commands.len(), 2);
    assert_eq!(meaning(&run(&live, &d)), meaning(&want));
    let text = script("portcullis", &d);
    let add = text
        .find("add rule inet portcullis input position ")
        .expect("adds");
    let delete = text
        .find("delete rule inet portcullis input handle ")
        .expect("deletes");
    assert!(add < delete, "{text}");
    assert!(text.contains("tcp dport 8443 counter accept"), "{text}");
}

#[test]
fn a_new_service_goes_before_the_catch_all_and_keeps_every_other_handle() {
    let live = listed(compiled(BASE), 1);
    let want = compiled(&format!(
        "{BASE}\n[services.dns]\nports = [\"53/udp\"]\nallow = [\"soc\"]\n"
    ));
    let d = between(&live, &want).unwrap();
    let after = run(&live, &d);
    assert_eq!(meaning(&after), meaning(&want));
    // Every rule that was there is still there with its handle.
    for o in &live {
        if let NfListObject::Rule(r) = o {
            assert!(
                after
                    .iter()
                    .any(|a| matches!(a, NfListObject::Rule(x) if x.handle == r.handle))
            );
        }
    }
    assert_eq!(d.summary.rules_added, 2);
    assert_eq!(d.summary.sets_added, 2);
}

#[test]
fn elements_are_added_and_deleted_and_a_set_nobody_uses_goes() {
    let live = listed(compiled(BASE), 1);
    let want = compiled(&BASE.replace(
        "\"198.51.100.0/24\", ",
        "\"198.51.100.0/25\", \"203.0.113.7\", ",
    ));
    let d = between(&live, &want).unwrap();
    // soc is not used by any service: no sets for it at all.
    assert!(d.is_empty(), "{d:?}");
    let using = BASE.replace("allow = [\"admin\"]", "allow = [\"soc\"]");
    let live = listed(compiled(&using), 1);
    let want = compiled(&using.replace(
        "\"198.51.100.0/24\", ",
        "\"198.51.100.0/25\", \"203.0.113.7\", ",
    ));
    let d = between(&live, &want).unwrap();
    assert_eq!(meaning(&run(&live, &d)), meaning(&want));
    assert!(
        d.summary
            .sets_changed
            .iter()
            .any(|(n, ..)| n == "net_soc_v4"),
        "{d:?}"
    );
    assert!(
        d.summary.sets_removed == 0 && d.summary.rules_replaced == 0,
        "{d:?}"
    );
}

#[test]
fn a_policy_change_redeclares_the_chain_only() {
    let live = listed(compiled(BASE), 1);
    let want = compiled(&format!("[settings]\noutput_policy = \"drop\"\n{BASE}"));
    let d = between(&live, &want).unwrap();
    assert_eq!(d.summary.chains_changed, 1);
    // The catch-all's comment says the policy, so it is replaced too.
    assert_eq!(d.summary.rules_replaced, 1, "{d:?}");
    let text = script("portcullis", &d);
    assert!(
        text.contains(
            "chain inet portcullis output { type filter hook output priority filter; policy drop; }"
        ),
        "{text}"
    );
}

#[test]
fn a_rule_it_does_not_understand_is_unmappable() {
    let mut live = listed(compiled(BASE), 1);
    if let Some(NfListObject::Rule(r)) =
        live.iter_mut().find(|o| matches!(o, NfListObject::Rule(_)))
    {
        let mut stmts = r.expr.to_vec();
        stmts.push(nftables::stmt::Statement::Notrack);
        r.expr = stmts.into();
    }
    assert!(between(&live, &compiled(BASE)).is_err());
}

#[test]
fn new_sets_come_before_the_rules_and_old_sets_go_after_them() {
    let live = listed(compiled(BASE), 1);
    let want = compiled(&BASE.replace("allow = [\"admin\"]", "allow = [\"soc\"]"));
    let d = between(&live, &want).unwrap();
    let text = script("portcullis", &d);
    let add_set = text.find("add set").expect("adds a set");
    let rule = text.find("delete rule").expect("replaces the rule");
    let delete_set = text.find("delete set").expect("deletes the old set");
    assert!(add_set < rule && rule < delete_set, "{text}");
    assert!(text.contains("add set inet portcullis net_soc_v4 { type ipv4_addr; flags interval; auto-merge; elements = { 198.51.100.0/24 } }"), "{text}");
}

#[test]
fn the_inverse_puts_the_table_back() {
    let before = listed(compiled(BASE), 1);
    let want = compiled(
        &format!("{BASE}\n[services.dns]\nports = [\"53/udp\"]\nallow = [\"soc\"]\n")
            .replace("443", "8443"),
    );
    let forward = between(&before, &want).unwrap();
    let after = run(&before, &forward);
    let back = between(&after, &before).unwrap();
    assert_eq!(meaning(&run(&after, &back)), meaning(&before));
}

/// A random policy over a few networks, services, ports and sources.
fn policy_text() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        (0u8..4, 0u8..8).prop_map(|(a, b)| format!("10.{a}.{b}.0/24")),
        (0u8..16).prop_map(|h| format!("192.0.2.{h}")),
        (0u16..4).prop_map(|h| format!("2001:db8:{h}::/48")),
    ];
    let networks = proptest::collection::vec(proptest::collection::vec(addr, 0..5), 3);
    let port = prop_oneof![
        Just("22/tcp"),
        Just("53/tcp+udp"),
        Just("443/tcp"),
        Just("9000-9001/tcp"),
        Just("123/udp")
    ];
    let source = prop_oneof![
        Just("any"),
        Just("n0"),
        Just("n1"),
        Just("n2"),
        Just("10.9.0.0/16")
    ];
    let service = (
        proptest::collection::vec(port, 1..3),
        proptest::collection::vec(source, 1..3),
        any::<bool>(),
    );
    let services = proptest::collection::btree_map(0u8..8, service, 0..6);
    (networks, services, any::<bool>()).prop_map(|(networks, services, drop_out)| {
        let mut text = format!(
            "[settings]\noutput_policy = \"{}\"\n\n[networks]\n",
            if drop_out { "drop" } else { "accept" }
        );
        for (i, list) in networks.iter().enumerate() {
            let mut list = list.clone();
            if list.is_empty() {
                list.push("192.0.2.200".into());
            }
            let quoted: Vec<String> = list.iter().map(|a| format!("\"{a}\"")).collect();
            text.push_str(&format!("n{i} = [{}]\n", quoted.join(", ")));
        }
        for (n, (ports, sources, out)) in services {
            let mut ports: Vec<&str> = ports;
            ports.dedup();
            let mut sources: Vec<&str> = sources;
            sources.sort();
            sources.dedup();
            let q = |v: &[&str]| {
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            text.push_str(&format!(
                "\n[services.s{n}]\nports = [{}]\nallow = [{}]\n{}",
                q(&ports),
                q(&sources),
                if out { "direction = \"out\"\n" } else { "" }
            ));
        }
        text
    })
}

proptest! {
    #[test]
    fn a_delta_applied_to_the_live_table_gives_the_compiled_one(
        a in policy_text(),
        b in policy_text(),
    ) {
        let (Ok(pa), Ok(pb)) = (policy::parse(&a), policy::parse(&b)) else {
            return Ok(());
        };
        let live = listed(compile(&pa).objects, 1);
        let want = compile(&pb).objects;
        let d = between(&live, &want).unwrap();
        let after = run(&live, &d);
        prop_assert_eq!(meaning(&after), meaning(&want));
        // Rules whose text is in both keep their handles.
        let kept = |objects: &[NfListObject<'static>]| -> Vec<String> {
            objects.iter().filter_map(|o| match o {
                NfListObject::Rule(r) if r.handle.is_some_and(|h| h < 10_000) => {
                    Some(format!("{:?}", r.handle))
                }
                _ => None,
            }).collect()
        };
        let untouched = d.commands.iter().all(|c| !matches!(c, Command::DeleteRule { .. }));
        if untouched {
            prop_assert_eq!(kept(&after), kept(&live));
        }
        // And back again.
        let back = between(&after, &live).unwrap();
        prop_assert_eq!(meaning(&run(&after, &back)), meaning(&live));
    }
}
