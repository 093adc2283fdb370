//! Property tests of the pure core: the validator never panics whatever it is fed, and the
//! compiled table admits exactly the addresses and ports the policy names — checked by a
//! small interpreter of the compiled objects that lives here, apart from the compiler; and
//! a socket's exposure under the policy (`sockets::exposure`) is what the compiled table's
//! rules give when read back as the kernel lists them (`sockets::live_exposure`).

use std::net::IpAddr;

use ipnet::IpNet;
use nftables::expr::{Expression, NamedExpression, Payload, SetItem};
use nftables::schema::NfListObject;
use nftables::stmt::Statement;
use portcullis::nft::{CompiledTable, compile, script};
use portcullis::policy::{self, Policy, parse_port_spec};
use proptest::prelude::*;

// ---------- the validator never panics ----------

fn toml_fragment() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("table".to_string()),
        Just("ports".to_string()),
        Just("allow".to_string()),
        Just("interfaces".to_string()),
        Just("direction".to_string()),
        Just("on".to_string()),
        Just("limit".to_string()),
        Just("burst".to_string()),
        Just("input_policy".to_string()),
        Just("confirm_timeout".to_string()),
        Just("allow_ping".to_string()),
        "[a-z\"é ]{0,6}",
    ];
    let scalar = prop_oneof![
        "\"[0-9a-f:./+\\-tcpudy]{0,20}\"",
        "\"\\PC{0,8}\"",
        "-?[0-9]{1,22}",
        Just("true".to_string()),
        Just("1979-05-27".to_string()),
        Just("{ a = 1 }".to_string()),
    ];
    let value = prop_oneof![
        scalar.clone(),
        prop::collection::vec(scalar.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        // One entry a line, with comments and a trailing comma, as long lists are written.
        (
            prop::collection::vec(scalar, 0..4),
            "[a-z\\x00-\\x1f\\x7f]{0,2}"
        )
            .prop_map(|(v, c)| format!("[\n  {}, # last{c}\n]", v.join(", # note\n  "))),
    ];
    prop_oneof![
        Just("[settings]".to_string()),
        Just("[networks]".to_string()),
        "\\[services\\.[a-z0-9\"_ -]{0,8}\\]",
        Just("[[services]]".to_string()),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validator_never_panics_on_any_text(text in "\\PC{0,200}") {
        if let Err(d) = policy::parse(&text) {
            let _ = d.render("x.toml", &text);
        }
    }

    #[test]
    fn validator_never_panics_on_toml_shaped_text(lines in prop::collection::vec(toml_fragment(), 0..16)) {
        let text = lines.join("\n");
        match policy::parse(&text) {
            Ok(p) => { let _ = script::text(&compile(&p)); }
            Err(d) => {
                prop_assert!(!d.is_empty());
                let rendered = d.render("x.toml", &text);
                prop_assert_eq!(rendered.lines().count(), d.len());
            }
        }
    }

    #[test]
    fn long_lists_read_past_toml_give_the_same_policy_and_messages(lines in prop::collection::vec(toml_fragment(), 0..16)) {
        let text = lines.join("\n");
        // 1: every string list is taken out of toml's hands; MAX: none is.
        prop_assert_eq!(policy::parse_with(&text, 1), policy::parse_with(&text, usize::MAX));
    }

    #[test]
    fn port_specs_round_trip(first in 1u16.., len in 0u16..500, protos in 1usize..4) {
        let last = first.saturating_add(len);
        let proto = ["tcp", "udp", "tcp+udp"][protos - 1];
        let text = if first == last { format!("{first}/{proto}") } else { format!("{first}-{last}/{proto}") };
        let spec = parse_port_spec(&text).expect("valid spec");
        prop_assert_eq!(spec.to_string(), text);
    }
}

// ---------- the compiled table admits exactly what the policy says ----------

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 8u8..=32).prop_map(|(a, l)| IpNet::new(IpAddr::from(a.to_be_bytes()), l)
            .expect("len")
            .trunc()),
        (any::<u128>(), 16u8..=128).prop_map(|(a, l)| IpNet::new(IpAddr::from(a.to_be_bytes()), l)
            .expect("len")
            .trunc()),
    ]
}

#[derive(Debug, Clone)]
struct ServiceSpec {
    ports: Vec<(u16, u16, &'static str)>,
    /// Indexes of networks, or literal nets.
    allow: Vec<Result<usize, IpNet>>,
}

fn service() -> impl Strategy<Value = ServiceSpec> {
    let port = (
        1u16..2000,
        0u16..50,
        prop::sample::select(vec!["tcp", "udp", "tcp+udp"]),
    )
        .prop_map(|(a, n, p)| (a, a + n, p));
    let source = prop_oneof![(0usize..3).prop_map(Ok), net().prop_map(Err)];
    (
        prop::collection::vec(port, 1..5),
        prop::collection::vec(source, 1..4),
    )
        .prop_map(|(ports, allow)| ServiceSpec { ports, allow })
}

fn policy_text(networks: &[Vec<IpNet>], services: &[ServiceSpec]) -> String {
    let mut text = String::from("[networks]\n");
    for (i, nets) in networks.iter().enumerate() {
        let list: Vec<String> = nets.iter().map(|n| format!("\"{n}\"")).collect();
        text.push_str(&format!("n{i} = [{}]\n", list.join(", ")));
    }
    for (i, s) in services.iter().enumerate() {
        let ports: Vec<String> = s
            .ports
            .iter()
            .map(|(a, b, p)| {
                if a == b {
                    format!("\"{a}/{p}\"")
                } else {
                    format!("\"{a}-{b}/{p}\"")
                }
            })
            .collect();
        let allow: Vec<String> = s
            .allow
            .iter()
            .map(|a| match a {
                Ok(n) => format!("\"n{n}\""),
                Err(net) => format!("\"{net}\""),
            })
            .collect();
        text.push_str(&format!(
            "\n[services.s{i}]\nports = [{}]\nallow = [{}]\n",
            ports.join(", "),
            allow.join(", ")
        ));
    }
    text
}

/// Interprets the compiled objects: would a new packet from `src` to `proto`/`port` be
/// accepted by the rule(s) of `service`?
fn admits(table: &CompiledTable, service: &str, src: IpAddr, proto: &str, port: u16) -> bool {
    let tag = format!("service={service} ");
    table.objects.iter().any(|o| match o {
        NfListObject::Rule(r) if r.comment.as_deref().is_some_and(|c| c.starts_with(&tag)) => r
            .expr
            .iter()
            .all(|s| stmt_matches(table, s, src, proto, port)),
        _ => false,
    })
}

fn stmt_matches(
    table: &CompiledTable,
    stmt: &Statement<'_>,
    src: IpAddr,
    proto: &str,
    port: u16,
) -> bool {
    let Statement::Match(m) = stmt else {
        return true;
    };
    match &m.left {
        Expression::Named(NamedExpression::Payload(Payload::PayloadField(f))) => {
            match (&*f.protocol, &*f.field) {
                ("ip", "saddr") => src.is_ipv4() && in_named_set(table, &m.right, src),
                ("ip6", "saddr") => src.is_ipv6() && in_named_set(table, &m.right, src),
                (p, "dport") if p == proto => value_in(&m.right, |e| port_in(e, port)),
                ("th", "dport") => value_in(&m.right, |e| port_in(e, port)),
                (_, "dport") => false,
                other => panic!("unexpected match {other:?}"),
            }
        }
        Expression::Named(NamedExpression::Meta(_)) => value_in(
            &m.right,
            |e| matches!(e, Expression::String(s) if s == proto),
        ),
        Expression::Named(NamedExpression::Concat(_)) => value_in(&m.right, |e| match e {
            Expression::Named(NamedExpression::Concat(parts)) => {
                matches!(&parts[0], Expression::String(s) if s == proto) && port_in(&parts[1], port)
            }
            _ => false,
        }),
        other => panic!("unexpected left side {other:?}"),
    }
}

fn value_in(right: &Expression<'_>, test: impl Fn(&Expression<'_>) -> bool) -> bool {
    match right {
        Expression::Named(NamedExpression::Set(items)) => items
            .iter()
            .any(|i| matches!(i, SetItem::Element(e) if test(e))),
        single => test(single),
    }
}

fn port_in(e: &Expression<'_>, port: u16) -> bool {
    match e {
        Expression::Number(n) => *n == port as u32,
        Expression::Range(r) => {
            matches!((&r.range[0], &r.range[1]), (Expression::Number(a), Expression::Number(b)) if *a <= port as u32 && port as u32 <= *b)
        }
        _ => false,
    }
}

fn in_named_set(table: &CompiledTable, right: &Expression<'_>, addr: IpAddr) -> bool {
    let Expression::String(name) = right else {
        panic!("expected @set, got {right:?}")
    };
    let name = name.strip_prefix('@').expect("set reference");
    let set = table
        .objects
        .iter()
        .find_map(|o| match o {
            NfListObject::Set(s) if s.name == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("rule refers to missing set {name}"));
    set.elem
        .as_ref()
        .expect("elements")
        .iter()
        .any(|e| match e {
            Expression::String(s) => s.parse::<IpAddr>().expect("address") == addr,
            Expression::Named(NamedExpression::Prefix(p)) => {
                let Expression::String(a) = &*p.addr else {
                    panic!("prefix")
                };
                IpNet::new(a.parse().expect("address"), p.len as u8)
                    .expect("prefix")
                    .contains(&addr)
            }
            Expression::Range(r) => {
                let (Expression::String(a), Expression::String(b)) = (&r.range[0], &r.range[1])
                else {
                    panic!("range")
                };
                let (a, b): (IpAddr, IpAddr) = (a.parse().expect("lo"), b.parse().expect("hi"));
                a <= addr && addr <= b && a.is_ipv4() == addr.is_ipv4()
            }
            other => panic!("unexpected set element {other:?}"),
        })
}

/// Addresses worth asking about: the edges of every net, their neighbours, and randoms.
fn probe_addresses(policy: &Policy, extra: &[IpAddr]) -> Vec<IpAddr> {
    let mut out = extra.to_vec();
    let nets = policy
        .networks
        .values()
        .flat_map(|n| n.entries.clone())
        .chain(policy.services.values().flat_map(|s| {
            s.allow
                .iter()
                .filter_map(|a| match a {
                    policy::Source::Literal(n) => Some(*n),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }));
    for n in nets {
        let (lo, hi) = (n.network(), n.broadcast());
        out.extend([lo, hi]);
        match (lo, hi) {
            (IpAddr::V4(l), IpAddr::V4(h)) => {
                out.extend(
                    u32::from(l)
                        .checked_sub(1)
                        .map(|v| IpAddr::from(v.to_be_bytes())),
                );
                out.extend(
                    u32::from(h)
                        .checked_add(1)
                        .map(|v| IpAddr::from(v.to_be_bytes())),
                );
            }
            (IpAddr::V6(l), IpAddr::V6(h)) => {
                out.extend(
                    u128::from(l)
                        .checked_sub(1)
                        .map(|v| IpAddr::from(v.to_be_bytes())),
                );
                out.extend(
                    u128::from(h)
                        .checked_add(1)
                        .map(|v| IpAddr::from(v.to_be_bytes())),
                );
            }
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn compiled_rules_admit_exactly_the_allowed_sources_and_ports(
        networks in prop::collection::vec(prop::collection::vec(net(), 1..12), 3),
        services in prop::collection::vec(service(), 1..4),
        random_addrs in prop::collection::vec(prop_oneof![any::<u32>().prop_map(|a| IpAddr::from(a.to_be_bytes())), any::<u128>().prop_map(|a| IpAddr::from(a.to_be_bytes()))], 20),
        random_ports in prop::collection::vec(1u16..2100, 20),
    ) {
        let text = policy_text(&networks, &services);
        let policy = policy::parse(&text).map_err(|d| TestCaseError::fail(d.render("gen.toml", &text)))?;
        prop_assert_eq!(&policy::parse_with(&text, 1).expect("valid either way"), &policy);
        let table = compile(&policy);
        let addrs = probe_addresses(&policy, &random_addrs);
        for (i, spec) in services.iter().enumerate() {
            let name = format!("s{i}");
            let allowed_from = |a: &IpAddr| spec.allow.iter().any(|s| match s {
                Ok(n) => networks[*n].iter().any(|net| net.contains(a)),
                Err(net) => net.contains(a),
            });
            let allowed_port = |proto: &str, p: u16| spec.ports.iter().any(|(a, b, ps)| *a <= p && p <= *b && ps.contains(proto));
            let mut ports: Vec<u16> = random_ports.clone();
            ports.extend(spec.ports.iter().flat_map(|(a, b, _)| [*a, *b, a - 1, b + 1]));
            // Sources first, with a port the service has, then ports from a source it allows.
            let (p0, _, proto0) = spec.ports[0];
            let proto0 = if proto0 == "udp" { "udp" } else { "tcp" };
            for a in &addrs {
                prop_assert_eq!(admits(&table, &name, *a, proto0, p0), allowed_from(a), "{} from {}", name, a);
            }
            if let Some(src) = addrs.iter().find(|a| allowed_from(a)) {
                for proto in ["tcp", "udp"] {
                    for &p in &ports {
                        prop_assert_eq!(admits(&table, &name, *src, proto, p), allowed_port(proto, p), "{} {}/{}", name, p, proto);
                    }
                }
            }
        }
    }

    #[test]
    fn the_same_policy_in_any_order_compiles_to_the_same_script(
        networks in prop::collection::vec(prop::collection::vec(net(), 1..6), 3),
        services in prop::collection::vec(service(), 1..4),
    ) {
        let text = policy_text(&networks, &services);
        let reversed_services: Vec<ServiceSpec> = services.iter().rev().cloned().collect();
        let mut renamed = policy_text(&networks, &reversed_services);
        // Undo the renumbering the reversal caused, so only the order differs.
        let n = services.len();
        for i in 0..n {
            renamed = renamed.replace(&format!("[services.s{i}]"), &format!("[services.tmp{}]", n - 1 - i));
        }
        renamed = renamed.replace("[services.tmp", "[services.s");
        let a = script::text(&compile(&policy::parse(&text).expect("valid")));
        let b = script::text(&compile(&policy::parse(&renamed).expect("valid")));
        prop_assert_eq!(a, b);
    }
}

// ---------- edits in place read back as written ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn an_edited_list_reads_back_as_the_entries_given(
        layout in 0usize..3,
        keep in prop::collection::vec(any::<bool>(), 4),
        extra in prop::collection::vec("[a-z]{1,4}", 0..3),
        reverse in any::<bool>(),
    ) {
        let old = ["a", "b", "c", "d"];
        let list = match layout {
            0 => "[\"a\", \"b\", \"c\", \"d\"]".to_string(),
            1 => "[ # opener\n  \"a\", # one\n  # above b\n  \"b\",\n  \"c\", # three\n  \"d\" # four\n]".to_string(),
            _ => "[\n  \"a\",\n  \"b\",\n  \"c\",\n  \"d\", # last\n]".to_string(),
        };
        let text = format!("# head\n[networks]\nn = {list} # after\nm = [\"x\"]\n");
        let mut entries: Vec<String> = old.iter().zip(&keep).filter(|(_, k)| **k).map(|(e, _)| e.to_string()).collect();
        entries.extend(extra.iter().filter(|e| !old.contains(&e.as_str())).cloned());
        if reverse { entries.reverse(); }
        let mut doc = policy::document::PolicyDocument::parse(&text).expect("valid");
        doc.set_network(Some("n"), "n", &entries).expect("edited");
        let edited = doc.text();
        let again = policy::document::PolicyDocument::parse(&edited).map_err(|e| TestCaseError::fail(format!("{e}\n{edited}")))?;
        prop_assert_eq!(again.network("n"), Some(entries.clone()), "{}", edited);
        prop_assert_eq!(again.network("m"), Some(vec!["x".to_string()]));
        prop_assert!(edited.starts_with("# head\n[networks]\nn = ["), "{}", edited);
        prop_assert!(edited.contains("] # after\n"), "{}", edited);
        // Kept entries keep their line comments.
        for (entry, comment) in [("a", "# one"), ("c", "# three"), ("d", "# four")] {
            if layout == 1 && entries.iter().any(|e| e == entry) {
                prop_assert!(edited.contains(comment), "{} lost {}:\n{}", entry, comment, edited);
            }
        }
    }
}

// ---------- every finding of the validator lands under a form field ----------

fn port_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            1u32..70000,
            prop_oneof![Just("tcp"), Just("udp"), Just("tcp+udp"), Just("sctp")]
        )
            .prop_map(|(p, proto)| format!("{p}/{proto}")),
        (0u32..70000, 0u32..70000).prop_map(|(a, b)| format!("{a}-{b}/tcp")),
        "[a-z0-9/+-]{1,8}",
    ]
}

fn allow_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("admin".to_string()),
        Just("any".to_string()),
        Just("adm".to_string()),
        (any::<u8>(), 0u8..40).prop_map(|(o, len)| format!("10.{o}.0.1/{len}")),
        "[a-z0-9.:/]{1,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever is typed into a service form, each finding of `check`'s validator is put
    /// under one of the form's fields (none is left without a place), and the form is valid
    /// exactly when `check` would accept the edited file.
    #[test]
    fn every_finding_about_a_form_lands_under_one_of_its_fields(
        name in prop_oneof![Just("web".to_string()), Just("ssh".to_string()), "[a-z0-9_ -]{0,10}"],
        ports in prop::collection::vec(port_entry(), 0..4),
        allow in prop::collection::vec(allow_entry(), 0..4),
        interfaces in prop::collection::vec("[a-z0-9*;]{1,18}", 0..2),
        direction in prop_oneof![Just(String::new()), Just("in".to_string()), Just("out".to_string()), Just("both".to_string()), "[a-z]{1,6}"],
        description in "[ -~]{0,12}",
        on in prop::collection::vec(allow_entry(), 0..3),
        limit in prop_oneof![Just(String::new()), Just("10/minute".to_string()), "[0-9a-z/]{1,8}"],
        burst in prop::option::of(prop_oneof![Just("5".to_string()), "[0-9a-z]{1,4}"]),
    ) {
        use portcullis::app::form::Form;
        use portcullis::policy::document::{PolicyDocument, ServiceDraft};
        let file = "# keep\n[networks]\nadmin = [\"192.0.2.0/24\"]\n\n[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n";
        let doc = PolicyDocument::parse(file).expect("valid");
        let draft = ServiceDraft {
            description: Some(description),
            ports,
            allow,
            interfaces,
            direction: Some(direction),
            on,
            limit: (!limit.is_empty()).then_some(limit),
            burst,
        };
        let mut form = Form::service(None, &name, &draft);
        // As after an attempt to submit: every finding is shown (a form nobody has typed in
        // yet keeps them to its state line).
        form.untouched = false;
        form.validate(&doc);
        prop_assert!(form.general.is_empty(), "placed nowhere: {:?}", form.general);
        let mut copy = doc.clone();
        let accepted = form.apply_to(&mut copy).is_ok()
            && !form.name().is_empty()
            && policy::parse(&copy.text()).is_ok();
        prop_assert_eq!(form.valid, accepted, "{}", copy.text());
        if !form.valid {
            prop_assert!(form.fields.iter().any(|f| f.error.is_some()));
        }
    }
}

// ---------- the exposure of a socket: under the policy, and under its compiled table ----------

use portcullis::sockets::exposure::Exposure;

/// A socket on `port`: bound to every address (IPv4, IPv6-only, or dual-stack) or to one
/// address of one of the policy's networks.
fn listener(proto: &str, port: u16, bound: u8) -> portcullis::sockets::Listener {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let (address, dual_stack): (IpAddr, bool) = match bound {
        0 => (Ipv4Addr::UNSPECIFIED.into(), false),
        1 => (Ipv6Addr::UNSPECIFIED.into(), false),
        _ => (Ipv6Addr::UNSPECIFIED.into(), true),
    };
    portcullis::sockets::Listener {
        protocol: if proto == "tcp" {
            policy::Protocol::Tcp
        } else {
            policy::Protocol::Udp
        },
        address,
        port,
        dual_stack,
        interface: None,
        connections: None,
        process: None,
        service: None,
        inode: 0,
        uid: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `sockets` shows two exposures: what the policy says (`exposure`) and what the live
    /// table's rules do (`live_exposure`, read back from the kernel's objects). Applied
    /// as it compiles, the two must agree for every socket (bound to every address, or to
    /// one; services `on` some of the host's addresses or all).
    #[test]
    fn the_live_table_exposes_a_socket_as_the_policy_says(
        networks in prop::collection::vec(prop::collection::vec(net(), 1..4), 3),
        services in prop::collection::vec(service(), 1..4),
        port in 1u16..2060,
        proto in prop::sample::select(vec!["tcp", "udp"]),
        bound in 0u8..4,
        on in prop::option::of(0usize..3),
    ) {
        let mut text = policy_text(&networks, &services);
        // The first service reachable only on the host's addresses in one network.
        if let Some(n) = on {
            text = text.replacen("\n[services.s0]\n", &format!("\n[services.s0]\non = [\"n{n}\"]\n"), 1);
        }
        let policy = policy::parse(&text).expect("generated policies are valid");
        let live: Vec<portcullis::nft::live::LiveObject> = compile(&policy)
            .objects
            .into_iter()
            .map(portcullis::nft::live::LiveObject::Known)
            .collect();
        let mut socket = listener(proto, port, bound.min(2));
        if bound == 3 {
            // Bound to one address: a host of the first network.
            let net = networks[0][0];
            socket.address = net.hosts().next().unwrap_or(net.addr());
            socket.dual_stack = false;
        }
        let by_policy = portcullis::sockets::exposure::exposure(&policy, &socket);
        let by_table = portcullis::sockets::live_exposure::live_exposure(&live, &socket);
        match by_table {
            // A service that covers the port but compiles to no rule the socket's family
            // meets (its `on` holds only the other family's addresses) is "blocked" to the
            // policy and "no rule" to the table; under the input chain's drop they are the
            // same answer.
            Some(Exposure::Uncovered) if by_policy == Exposure::Blocked => {}
            Some(by_table) => prop_assert_eq!(by_policy, by_table, "{}", text),
            // Which of the host's addresses a network's `on` set holds is not in a terse
            // listing: for a socket bound to one address, the live answer is "unknown".
            None => prop_assert!(bound == 3 && on.is_some(), "unknown for {:?}:\n{}", socket, text),
        }
    }
}

// ---------- the evaluator decides as the compiled table does ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `eval` (the anti-lockout check, the drops' explanations) models the input chain apart
    /// from the compiler; a new packet it accepts must be one a compiled service rule
    /// admits, and the other way round.
    #[test]
    fn the_evaluator_accepts_what_a_compiled_rule_admits(
        networks in prop::collection::vec(prop::collection::vec(net(), 1..6), 3),
        services in prop::collection::vec(service(), 1..4),
        random_addrs in prop::collection::vec(prop_oneof![any::<u32>().prop_map(|a| IpAddr::from(a.to_be_bytes())), any::<u128>().prop_map(|a| IpAddr::from(a.to_be_bytes()))], 10),
        random_ports in prop::collection::vec(1u16..2100, 10),
    ) {
        let text = policy_text(&networks, &services);
        let policy = policy::parse(&text).expect("generated policies are valid");
        let table = compile(&policy);
        let addrs = probe_addresses(&policy, &random_addrs);
        let mut ports = random_ports.clone();
        ports.extend(services.iter().flat_map(|s| s.ports.iter().flat_map(|(a, b, _)| [*a, *b, b + 1])));
        for a in &addrs {
            for proto in ["tcp", "udp"] {
                for &port in &ports {
                    let packet = portcullis::eval::Packet {
                        source: *a,
                        protocol: if proto == "tcp" { policy::Protocol::Tcp } else { policy::Protocol::Udp },
                        port,
                        interface: Some("eth0"),
                        destination: None,
                    };
                    let accepted = portcullis::eval::evaluate(&policy, &packet).verdict == policy::Verdict::Accept;
                    let admitted = (0..services.len()).any(|i| admits(&table, &format!("s{i}"), *a, proto, port));
                    prop_assert_eq!(accepted, admitted, "{} {}/{}:\n{}", a, port, proto, text);
                }
            }
        }
    }
}

// ---------- the exposure names whom the evaluator lets in ----------

/// Whether `address` is in `label`, as an exposure names it: a network of the policy, or
/// a prefix written in an `allow`.
fn in_label(policy: &Policy, label: &str, address: IpAddr) -> bool {
    match policy.networks.get(label) {
        Some(network) => network.entries.iter().any(|n| n.contains(&address)),
        None => label
            .parse::<IpNet>()
            .is_ok_and(|net| net.contains(&address)),
    }
}

fn random_address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::from(a.to_be_bytes())),
        any::<u128>().prop_map(|a| IpAddr::from(a.to_be_bytes())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The evaluator (`eval`) is the reference the other readings of the input chain are
    /// held to: the compiled rules admit what it accepts (above, and against the kernel in
    /// `kernel_model`), the live exposure equals the policy's exposure (above), and here
    /// the policy's exposure of a socket names exactly the sources the evaluator lets in
    /// to it: anyone, the members of the networks named, or nobody.
    #[test]
    fn the_exposure_names_exactly_the_sources_the_evaluator_lets_in(
        networks in prop::collection::vec(prop::collection::vec(net(), 1..4), 3),
        services in prop::collection::vec(service(), 1..4),
        pick in any::<prop::sample::Index>(),
        random_port in 1u16..2100,
        proto in prop::sample::select(vec!["tcp", "udp"]),
        bound in 0u8..3,
        random_addrs in prop::collection::vec(random_address(), 6),
    ) {
        let text = policy_text(&networks, &services);
        let policy = policy::parse(&text).expect("generated policies are valid");
        // Mostly a port some service names (its edges), so that few sockets are uncovered.
        let mut ports: Vec<u16> = services
            .iter()
            .flat_map(|s| s.ports.iter().flat_map(|(a, b, _)| [*a, *b]))
            .collect();
        ports.push(random_port);
        let port = *pick.get(&ports);
        let socket = listener(proto, port, bound);
        let exposure = portcullis::sockets::exposure::exposure(&policy, &socket);
        let (v4, v6) = socket.families();
        let takes = |a: IpAddr| (a.is_ipv4() && v4) || (a.is_ipv6() && v6);
        // Whoever it names can come in: each network named has addresses the socket takes.
        if let Exposure::Networks(labels) = &exposure {
            for label in labels {
                let entries: Vec<IpNet> = match policy.networks.get(label) {
                    Some(network) => network.entries.clone(),
                    None => label.parse().into_iter().collect(),
                };
                prop_assert!(
                    entries.iter().any(|n| takes(n.addr())),
                    "{} names {}, which has no address a {:?} socket takes:\n{}",
                    exposure, label, socket.address, text
                );
            }
        }
        for source in probe_addresses(&policy, &random_addrs) {
            if !takes(source) {
                continue;
            }
            let packet = portcullis::eval::Packet {
                source,
                protocol: socket.protocol,
                port,
                interface: Some("eth0"),
                destination: None,
            };
            let accepted =
                portcullis::eval::evaluate(&policy, &packet).verdict == policy::Verdict::Accept;
            let named = match &exposure {
                Exposure::Anyone => true,
                Exposure::Networks(labels) => labels.iter().any(|l| in_label(&policy, l, source)),
                Exposure::LoopbackOnly | Exposure::Blocked | Exposure::Uncovered => false,
            };
            prop_assert_eq!(
                accepted, named,
                "{} to {}/{} on {:?}: the evaluator says {}, the exposure {}:\n{}",
                source, port, proto, socket.address, accepted, exposure, text
            );
        }
    }
}
