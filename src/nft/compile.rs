//! Policy -> the objects of one `inet` table (sets, chains, rules), as the `nftables`
//! crate's types. Pure and deterministic: the same policy gives the same objects, in the
//! same order.
//!
//! The shape of the table (README's "What the compiled table contains" says the same to
//! operators):
//! ```text
//! table inet portcullis
//!   set net_<network>_v4 / _v6     one interval set per network used alone by a service
//!   set svc_<service>_v4 / _v6     the union, when a service allows several sources
//!   set on_<service>_v4 / _v6      the host addresses of its `on`, when more than one
//!   set blk_<block>_v4 / _v6       a block's sources, when more than one network
//!   chain input  (hook input,  policy from settings)
//!     iif lo accept; ct established,related accept; [ct invalid logged]; ct invalid drop;
//!     ICMPv6 essentials; one counted rule per block and family (drop, or reject: a TCP
//!     reset rule, then ICMP unreachable); [ping]; one counted rule per inbound service and family;
//!     counted catch-all, logged when the policy drops (see `droplog`)
//!   chain output (hook output, policy from settings)
//!     oif lo accept; ct established,related accept; ICMPv6 essentials; outbound blocks;
//!     one counted rule per outbound service and family; counted catch-all (logged too)
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use nftables::expr::{
    CT, Elem, Expression, Meta, MetaKey, NamedExpression, Payload, PayloadField, Prefix, Range,
    SetItem,
};
use nftables::schema::{Chain, NfListObject, Rule, Set, SetFlag, SetType, SetTypeValue, Table};
use nftables::stmt::{
    Accept, AnonymousCounter, Counter, Drop, Limit, Match, Meter, Operator, Reject, RejectType,
    Statement,
};
use nftables::types::RejectCode;
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::droplog::{self, LoggedBy, Reason};
use super::intervals::{self, AddrElement, Family, Interval};
use super::set_names::{SetKind, set_name};
use crate::policy::{
    Block, BlockAction, Direction, DropLog, Policy, PortRange, Protocol, RateLimit, Service,
    Source, Verdict,
};

/// ICMPv6 types IPv6 cannot work without (RFC 4890): errors, neighbour and router
/// discovery, multicast listener discovery. In the numeric order nft lists them.
pub const ICMPV6_ESSENTIAL: &[&str] = &[
    "destination-unreachable",
    "packet-too-big",
    "time-exceeded",
    "parameter-problem",
    "mld-listener-query",
    "mld-listener-report",
    "mld-listener-done",
    "nd-router-solicit",
    "nd-router-advert",
    "nd-neighbor-solicit",
    "nd-neighbor-advert",
    "mld2-listener-report",
];

/// nft stores at most 128 bytes of comment.
pub const MAX_COMMENT: usize = 128;
/// Rule comments of service rules start with this, so live rules map back to the policy.
pub const SERVICE_TAG: &str = "service=";
/// And those of block rules with this.
pub const BLOCK_TAG: &str = "block=";
/// And those of the rules that drop what is over a service's limit with this.
pub const LIMIT_TAG: &str = "limit=";

/// The compiled table: its name and its objects in script order
/// (table, sets, chains, then each chain's rules).
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledTable {
    pub name: String,
    pub objects: Vec<NfListObject<'static>>,
    /// Each named set's `intervals::digest`, from the intervals the compiler merged (so no
    /// element is parsed back to tell whether a live set holds the same).
    pub set_digests: BTreeMap<String, String>,
}

impl CompiledTable {
    pub fn rule_count(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| matches!(o, NfListObject::Rule(_)))
            .count()
    }

    pub fn set_element_count(&self) -> usize {
        self.objects
            .iter()
            .map(|o| match o {
                NfListObject::Set(s) => s.elem.as_ref().map_or(0, |e| e.len()),
                _ => 0,
            })
            .sum()
    }
}

/// Compiles a validated policy.
pub fn compile(policy: &Policy) -> CompiledTable {
    let table = policy.settings.table.clone();
    let mut sets = SetBuilder::default();
    let mut input = base_rules_in(policy);
    let mut output = base_rules_out();
    // Blocks before every service (and before ping): a refused source gets nothing.
    for block in policy.blocks.values() {
        if block.direction.inbound() {
            input.extend(block_rules(policy, block, Direction::In, &mut sets));
        }
        if block.direction.outbound() {
            output.extend(block_rules(policy, block, Direction::Out, &mut sets));
        }
    }
    input.extend(ping_rules(policy));
    for service in policy.services.values() {
        if service.direction.inbound() {
            input.extend(service_rules(policy, service, Direction::In, &mut sets));
        }
        if service.direction.outbound() {
            output.extend(service_rules(policy, service, Direction::Out, &mut sets));
        }
    }
    let log = &policy.settings.drop_log;
    input.push(catch_all("input", policy.settings.input_policy, log));
    output.push(catch_all("output", policy.settings.output_policy, log));

    let mut objects = vec![NfListObject::Table(Table {
        family: NfFamily::INet,
        name: table.clone().into(),
        handle: None,
    })];
    let set_digests = sets.digests();
    objects.extend(sets.into_objects(&table));
    let chains = [
        ("input", NfHook::Input, policy.settings.input_policy, input),
        (
            "output",
            NfHook::Output,
            policy.settings.output_policy,
            output,
        ),
    ];
    for (name, hook, verdict, _) in &chains {
        objects.push(NfListObject::Chain(Chain {
            family: NfFamily::INet,
            table: table.clone().into(),
            name: (*name).into(),
            _type: Some(NfChainType::Filter),
            hook: Some(*hook),
            prio: Some(0),
            policy: Some(match verdict {
                Verdict::Accept => NfChainPolicy::Accept,
                Verdict::Drop => NfChainPolicy::Drop,
            }),
            ..Chain::default()
        }));
    }
    for (name, _, _, rules) in chains {
        for RuleSpec { stmts, comment } in rules {
            objects.push(NfListObject::Rule(Rule {
                family: NfFamily::INet,
                table: table.clone().into(),
                chain: name.into(),
                expr: stmts.into(),
                handle: None,
                index: None,
                comment: comment.map(Cow::Owned),
            }));
        }
    }
    CompiledTable {
        name: table,
        objects,
        set_digests,
    }
}

struct RuleSpec {
    stmts: Vec<Statement<'static>>,
    comment: Option<String>,
}

fn rule(stmts: Vec<Statement<'static>>, comment: Option<&str>) -> RuleSpec {
    RuleSpec {
        stmts,
        comment: comment.map(str::to_string),
    }
}

fn base_rules_in(policy: &Policy) -> Vec<RuleSpec> {
    let mut rules = vec![
        rule(vec![eq(meta(MetaKey::Iif), string("lo")), accept()], None),
        rule(vec![ct_state(&["established", "related"]), accept()], None),
    ];
    // Its own rule: a limit that is over stops the rule, which must not skip the drop.
    let invalid = LoggedBy {
        chain: "input".into(),
        reason: Reason::Invalid,
    };
    let log = droplog::statements(&policy.settings.drop_log, &invalid);
    if !log.is_empty() {
        let mut stmts = vec![ct_state(&["invalid"])];
        stmts.extend(log);
        rules.push(rule(stmts, None));
    }
    rules.extend([
        rule(
            vec![ct_state(&["invalid"]), Statement::Drop(None::<Drop>)],
            None,
        ),
        rule(vec![icmpv6_essentials(), accept()], None),
    ]);
    rules
}

fn ping_rules(policy: &Policy) -> Vec<RuleSpec> {
    if !policy.settings.allow_ping {
        return Vec::new();
    }
    ["icmp", "icmpv6"]
        .into_iter()
        .map(|proto| {
            rule(
                vec![
                    eq(payload(proto, "type"), string("echo-request")),
                    counter(),
                    accept(),
                ],
                Some("ping"),
            )
        })
        .collect()
}

/// A block's rules in the chain of `way`, one per family its sources have: counted, then
/// dropped, or rejected (a TCP reset in a rule of its own, then ICMP port unreachable for
/// the rest, since one rule cannot answer both ways).
fn block_rules(
    policy: &Policy,
    block: &Block,
    way: Direction,
    sets: &mut SetBuilder,
) -> Vec<RuleSpec> {
    let comment = block_comment(block);
    let peer = if way == Direction::Out {
        "daddr"
    } else {
        "saddr"
    };
    let mut rules = Vec::new();
    for (family, proto) in [(Family::V4, "ip"), (Family::V6, "ip6")] {
        let name = match block.from.as_slice() {
            [Source::Network(n)] => set_name(SetKind::Network, n, family),
            _ => set_name(SetKind::Block, &block.name, family),
        };
        let Some((set, _)) = sets.set_of(policy, name, &block.from, family) else {
            continue;
        };
        let from = eq(payload(proto, peer), string(&format!("@{set}")));
        let finish = |mut stmts: Vec<Statement<'static>>, verdict: Statement<'static>| {
            stmts.push(counter());
            stmts.push(verdict);
            rule(stmts, Some(&comment))
        };
        match block.action {
            BlockAction::Drop => {
                let mut stmts = vec![from];
                stmts.extend(port_match(&block.ports));
                rules.push(finish(stmts, Statement::Drop(None::<Drop>)));
            }
            BlockAction::Reject => {
                let tcp_ports: Vec<PortRange> = block
                    .ports
                    .iter()
                    .filter(|p| p.protocols.contains(&Protocol::Tcp))
                    .map(|p| PortRange {
                        protocols: vec![Protocol::Tcp],
                        ..p.clone()
                    })
                    .collect();
                if block.ports.is_empty() || !tcp_ports.is_empty() {
                    let mut stmts = vec![from.clone()];
                    if tcp_ports.is_empty() {
                        stmts.push(eq(meta(MetaKey::L4proto), string("tcp")));
                    } else {
                        stmts.extend(port_match(&tcp_ports));
                    }
                    rules.push(finish(stmts, reject(RejectType::TCPReset, None)));
                }
                let mut stmts = vec![from];
                stmts.extend(port_match(&block.ports));
                rules.push(finish(
                    stmts,
                    reject(RejectType::ICMPX, Some(RejectCode::PortUnreach)),
                ));
            }
        }
    }
    rules
}

/// `block=NAME from=a,b`, cut to what nft stores.
fn block_comment(block: &Block) -> String {
    let from: Vec<String> = block.from.iter().map(Source::label).collect();
    let mut comment = format!("{BLOCK_TAG}{} from={}", block.name, from.join(","));
    if comment.len() > MAX_COMMENT {
        comment.truncate(MAX_COMMENT - 3);
        comment.push_str("...");
    }
    comment
}

fn reject(kind: RejectType, code: Option<RejectCode>) -> Statement<'static> {
    Statement::Reject(Some(Reject::new(Some(kind), code)))
}

fn base_rules_out() -> Vec<RuleSpec> {
    vec![
        rule(vec![eq(meta(MetaKey::Oif), string("lo")), accept()], None),
        rule(vec![ct_state(&["established", "related"]), accept()], None),
        rule(vec![icmpv6_essentials(), accept()], None),
    ]
}

/// The counted last rule; when the chain drops, it logs too (after the counter, so a
/// limit that is over still leaves every dropped packet counted).
fn catch_all(chain: &str, verdict: Verdict, log: &DropLog) -> RuleSpec {
    let comment = format!("{chain} policy {}", verdict.as_str());
    let mut stmts = vec![counter()];
    if verdict == Verdict::Drop {
        let by = LoggedBy {
            chain: chain.to_string(),
            reason: Reason::Policy,
        };
        stmts.extend(droplog::statements(log, &by));
    }
    rule(stmts, Some(&comment))
}

/// One rule per address family the service's sources have (one rule for `any`), for the
/// chain of `way` (in or out; a service of both directions has rules in each).
fn service_rules(
    policy: &Policy,
    service: &Service,
    way: Direction,
    sets: &mut SetBuilder,
) -> Vec<RuleSpec> {
    // Inbound, the peer is the source and the host's own address (`on`) the destination.
    let (iface_key, addr_field, local_field) = if way == Direction::Out {
        (MetaKey::Oifname, "daddr", "saddr")
    } else {
        (MetaKey::Iifname, "saddr", "daddr")
    };
    let mut prefix = Vec::new();
    if !service.interfaces.is_empty() {
        let names = service.interfaces.iter().map(|i| string(i)).collect();
        prefix.push(eq(meta(iface_key), anon_set(names)));
    }
    let ports = port_match(&service.ports);
    let finish = |mut stmts: Vec<Statement<'static>>, family: Option<Family>| {
        stmts.extend(ports.iter().cloned());
        stmts.push(counter());
        stmts.push(accept());
        rule(stmts, Some(&service_comment(policy, service, family)))
    };

    let mut rules = Vec::new();
    if way == Direction::In
        && let Some(limit) = &service.limit
    {
        rules.extend(limit_rules(policy, service, limit, &prefix, sets));
    }
    if service.allows_any() && service.on.is_empty() {
        rules.push(finish(prefix, None));
        return rules;
    }
    for (family, proto) in [(Family::V4, "ip"), (Family::V6, "ip6")] {
        // Reachable on none of the host's addresses of this family: no rule for it.
        let on = match sets.local_match(policy, service, family) {
            LocalMatch::All => None,
            LocalMatch::Nowhere => continue,
            LocalMatch::Only(right) => Some(eq(payload(proto, local_field), right)),
        };
        let mut stmts = prefix.clone();
        if !service.allows_any() {
            let Some(set) = sets.source_set(policy, service, family) else {
                continue;
            };
            stmts.push(eq(payload(proto, addr_field), string(&format!("@{set}"))));
        }
        stmts.extend(on);
        rules.push(finish(stmts, Some(family)));
    }
    rules
}

/// The rules that drop a source's new connections beyond the service's limit, one per
/// family, before its accept rules: the same matches, then a meter keyed by the source
/// address (bounded at nft's 65,535 entries; each forgotten a unit of time after its last
/// connection), counted and dropped. Commented `limit=NAME`, so the rules pane shows them
/// beside the service.
fn limit_rules(
    policy: &Policy,
    service: &Service,
    limit: &RateLimit,
    prefix: &[Statement<'static>],
    sets: &mut SetBuilder,
) -> Vec<RuleSpec> {
    let comment = format!("{LIMIT_TAG}{}", service.name);
    let mut rules = Vec::new();
    for (family, proto) in [(Family::V4, "ip"), (Family::V6, "ip6")] {
        let on = match sets.local_match(policy, service, family) {
            LocalMatch::All => None,
            LocalMatch::Nowhere => continue,
            LocalMatch::Only(right) => Some(eq(payload(proto, "daddr"), right)),
        };
        let mut stmts = prefix.to_vec();
        // With no address match, the meter's key (`ip saddr`, `ip6 saddr`) makes the rule
        // one family's: nft adds the `meta nfproto` check for it (and lists it without).
        if !service.allows_any() {
            let Some(set) = sets.source_set(policy, service, family) else {
                continue;
            };
            stmts.push(eq(payload(proto, "saddr"), string(&format!("@{set}"))));
        }
        stmts.extend(on);
        stmts.extend(port_match(&service.ports));
        stmts.push(Statement::Meter(Meter {
            name: set_name(SetKind::Limit, &service.name, family).into(),
            key: Expression::Named(NamedExpression::Elem(Elem {
                val: Box::new(payload(proto, "saddr")),
                timeout: Some(limit.per.seconds().max(60)),
                expires: None,
                comment: None,
                counter: None,
            })),
            stmt: Box::new(Statement::Limit(Limit {
                rate: limit.rate,
                rate_unit: None,
                per: Some(limit.per.as_str().into()),
                burst: Some(limit.burst),
                burst_unit: None,
                inv: Some(true),
            })),
        }));
        stmts.push(counter());
        stmts.push(Statement::Drop(None::<Drop>));
        rules.push(rule(stmts, Some(&comment)));
    }
    rules
}

/// Which of the host's addresses of one family a service is on.
enum LocalMatch {
    /// All of them (no `on`).
    All,
    /// None: `on` lists only the other family's.
    Nowhere,
    /// These: one address, or a set.
    Only(Expression<'static>),
}

/// `service=NAME allow=a,b` (and ` on=x,y`), cut to what nft stores. A rule of one
/// family (`family`) lists the sources that have addresses of that family: the comment
/// says what the rule admits, and the live exposure reads it back as that.
fn service_comment(policy: &Policy, service: &Service, family: Option<Family>) -> String {
    let of_family = |source: &&Source| match (source, family) {
        (Source::Any, _) | (_, None) => true,
        (source, Some(f)) => policy
            .entries_of(std::slice::from_ref(*source))
            .iter()
            .any(|net| Family::of(net) == f),
    };
    let sources: Vec<String> = service
        .allow
        .iter()
        .filter(of_family)
        .map(Source::label)
        .collect();
    let mut comment = format!("{SERVICE_TAG}{} allow={}", service.name, sources.join(","));
    if !service.on.is_empty() {
        let on: Vec<String> = service.on.iter().map(Source::label).collect();
        comment.push_str(&format!(" on={}", on.join(",")));
    }
    if comment.len() > MAX_COMMENT {
        // Everything is ASCII (names and addresses are validated), so byte cuts are safe.
        comment.truncate(MAX_COMMENT - 3);
        comment.push_str("...");
    }
    comment
}

/// The dport match for a service's ports, as compact as nft can express it.
fn port_match(ports: &[PortRange]) -> Vec<Statement<'static>> {
    let mut by_proto: BTreeMap<Protocol, Vec<Interval>> = BTreeMap::new();
    for p in ports {
        for proto in &p.protocols {
            by_proto
                .entry(*proto)
                .or_default()
                .push((p.first as u128, p.last as u128));
        }
    }
    let by_proto: Vec<(Protocol, Vec<Interval>)> = by_proto
        .into_iter()
        .map(|(p, list)| (p, intervals::merge(list)))
        .collect();
    match by_proto.as_slice() {
        [] => Vec::new(),
        [(proto, list)] => vec![eq(
            payload(proto.as_str(), "dport"),
            anon_set(port_exprs(list)),
        )],
        [(a, la), (b, lb)] if la == lb => vec![
            eq(
                meta(MetaKey::L4proto),
                anon_set(vec![string(a.as_str()), string(b.as_str())]),
            ),
            eq(payload("th", "dport"), anon_set(port_exprs(la))),
        ],
        _ => {
            let key = Expression::Named(NamedExpression::Concat(vec![
                meta(MetaKey::L4proto),
                payload("th", "dport"),
            ]));
            let mut items = Vec::new();
            for (proto, list) in &by_proto {
                for port in port_exprs(list) {
                    items.push(Expression::Named(NamedExpression::Concat(vec![
                        string(proto.as_str()),
                        port,
                    ])));
                }
            }
            vec![eq(
                key,
                Expression::Named(NamedExpression::Set(
                    items.into_iter().map(SetItem::Element).collect(),
                )),
            )]
        }
    }
}

fn port_exprs(list: &[Interval]) -> Vec<Expression<'static>> {
    list.iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                Expression::Number(lo as u32)
            } else {
                range(Expression::Number(lo as u32), Expression::Number(hi as u32))
            }
        })
        .collect()
}

/// Collects the named interval sets the rules refer to.
#[derive(Default)]
struct SetBuilder {
    /// name -> (family, merged intervals); BTreeMap keeps the script order stable.
    sets: BTreeMap<String, (Family, Vec<Interval>)>,
}

impl SetBuilder {
    /// The set holding the service's sources of one family, or None if it has none.
    fn source_set(&mut self, policy: &Policy, service: &Service, family: Family) -> Option<String> {
        // A service allowed from exactly one network shares that network's set.
        let name = match service.allow.as_slice() {
            [Source::Network(n)] => set_name(SetKind::Network, n, family),
            _ => set_name(SetKind::Service, &service.name, family),
        };
        self.set_of(policy, name, &service.allow, family)
            .map(|(name, _)| name)
    }

    /// The match for the host's own addresses of one family the service is on: a single
    /// address as itself, more as a set (a network's own when `on` names just one).
    fn local_match(&mut self, policy: &Policy, service: &Service, family: Family) -> LocalMatch {
        if service.on.is_empty() {
            return LocalMatch::All;
        }
        let name = match service.on.as_slice() {
            [Source::Network(n)] => set_name(SetKind::Network, n, family),
            _ => set_name(SetKind::On, &service.name, family),
        };
        let Some((name, list)) = self.set_of(policy, name.clone(), &service.on, family) else {
            return LocalMatch::Nowhere;
        };
        match list.as_slice() {
            [(lo, hi)] if lo == hi && !name.starts_with("net_") => {
                // One address: written as itself, with no set for it.
                self.sets.remove(&name);
                LocalMatch::Only(addr_expr(intervals::addr_element(family, (*lo, *hi))))
            }
            _ => LocalMatch::Only(string(&format!("@{name}"))),
        }
    }

    /// The named set `name` of `sources`' addresses of one family, made once; None (and
    /// no set) when they have none of that family.
    fn set_of(
        &mut self,
        policy: &Policy,
        name: String,
        sources: &[Source],
        family: Family,
    ) -> Option<(String, Vec<Interval>)> {
        if let Some((_, list)) = self.sets.get(&name) {
            return (!list.is_empty()).then(|| (name, list.clone()));
        }
        let list = intervals::of_sources(policy, sources, family);
        self.sets.insert(name.clone(), (family, list.clone()));
        (!list.is_empty()).then_some((name, list))
    }

    fn digests(&self) -> BTreeMap<String, String> {
        self.sets
            .iter()
            .filter(|(_, (_, list))| !list.is_empty())
            .map(|(name, (_, list))| (name.clone(), intervals::digest(list)))
            .collect()
    }

    fn into_objects(self, table: &str) -> Vec<NfListObject<'static>> {
        self.sets
            .into_iter()
            .filter(|(_, (_, list))| !list.is_empty())
            .map(|(name, (family, list))| {
                NfListObject::Set(Box::new(interval_set(table, name, family, &list)))
            })
            .collect()
    }
}

/// A named interval set of addresses.
pub fn interval_set(table: &str, name: String, family: Family, list: &[Interval]) -> Set<'static> {
    let elem: Vec<Expression<'static>> = list
        .iter()
        .map(|&iv| addr_expr(intervals::addr_element(family, iv)))
        .collect();
    Set {
        family: NfFamily::INet,
        table: table.to_string().into(),
        name: name.into(),
        set_type: SetTypeValue::Single(match family {
            Family::V4 => SetType::Ipv4Addr,
            Family::V6 => SetType::Ipv6Addr,
        }),
        flags: Some(HashSet::from([SetFlag::Interval])),
        elem: (!elem.is_empty()).then(|| elem.into()),
        ..Set::default()
    }
}

pub fn addr_expr(element: AddrElement) -> Expression<'static> {
    match element {
        AddrElement::Host(a) => string(&a.to_string()),
        AddrElement::Prefix(a, len) => Expression::Named(NamedExpression::Prefix(Prefix {
            addr: Box::new(string(&a.to_string())),
            len,
        })),
        AddrElement::Range(lo, hi) => range(string(&lo.to_string()), string(&hi.to_string())),
    }
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn ct_state(states: &[&str]) -> Statement<'static> {
    let right = match states {
        [one] => string(one),
        many => Expression::List(many.iter().map(|s| string(s)).collect()),
    };
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::CT(CT {
            key: "state".into(),
            family: None,
            dir: None,
        })),
        right,
        op: Operator::IN,
    })
}

fn icmpv6_essentials() -> Statement<'static> {
    eq(
        payload("icmpv6", "type"),
        anon_set(ICMPV6_ESSENTIAL.iter().map(|t| string(t)).collect()),
    )
}

fn accept() -> Statement<'static> {
    Statement::Accept(None::<Accept>)
}

fn counter() -> Statement<'static> {
    Statement::Counter(Counter::Anonymous(Some(AnonymousCounter::default())))
}

fn string(s: &str) -> Expression<'static> {
    Expression::String(Cow::Owned(s.to_string()))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn payload(protocol: &str, field: &str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.to_string().into(),
            field: field.to_string().into(),
        },
    )))
}

fn range(lo: Expression<'static>, hi: Expression<'static>) -> Expression<'static> {
    Expression::Range(Box::new(Range { range: [lo, hi] }))
}

/// A single value stays a value: nft lists a one-element anonymous set as a plain value.
fn anon_set(mut items: Vec<Expression<'static>>) -> Expression<'static> {
    if items.len() == 1 {
        return items.remove(0);
    }
    Expression::Named(NamedExpression::Set(
        items.into_iter().map(SetItem::Element).collect(),
    ))
}
