//! Temporary access (`portcullis grant`): one source let in to one service's ports until a
//! deadline, as timed elements of two sets the kernel empties by itself, so no process has
//! to stay behind to take the access back. Pure: scripts and readings, no IO.
//!
//! ```text
//! set grants_v4 { type ipv4_addr . inet_proto . inet_service; flags interval,timeout; }
//! ip saddr . meta l4proto . th dport @grants_v4 counter accept comment "grants"
//! ```
//! One element per protocol and port range of the service, commented with the service and
//! the deadline (`ssh until 2026-12-01T17:00:00Z`), which is how `status` names them.
//!
//! The sets and rules are made by the first grant (a policy's table is the same as before
//! without them), just before the input chain's last rule, so the blocks still come first.
//! A commit carries them over as the kernel has them (`carry`); a change in place never
//! touches their elements; `restore` at boot empties them, so no grant outlives a reboot.

use std::borrow::Cow;
use std::collections::HashSet;

use ipnet::IpNet;
use nftables::expr::{Expression, Meta, MetaKey, NamedExpression, Payload, PayloadField};
use nftables::schema::{NfListObject, Rule, Set, SetFlag, SetType, SetTypeValue};
use nftables::stmt::{Accept, AnonymousCounter, Counter, Match, Operator, Statement};
use nftables::types::NfFamily;

use super::CompiledTable;
use super::intervals::Family;
use super::live::LiveObject;
use super::render;
use crate::policy::Service;

/// The longest grant: a longer access belongs in the policy.
pub const MAX_GRANT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// A grant's length as typed (`30m`, `2h`, `90s`): whole seconds, 1s to 168h.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let d =
        humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}; e.g. 30m, 2h, 90s"))?;
    if d < std::time::Duration::from_secs(1) || d > MAX_GRANT {
        return Err(format!(
            "{text:?}: a grant lasts from 1s to 168h (a longer access belongs in the policy)"
        ));
    }
    Ok(std::time::Duration::from_secs(d.as_secs()))
}

/// The comment of the grant rules.
pub const RULE_COMMENT: &str = "grants";

/// The set of one family's grants.
pub fn set_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "grants_v4",
        Family::V6 => "grants_v6",
    }
}

pub fn is_grant_set(name: &str) -> bool {
    name == "grants_v4" || name == "grants_v6"
}

/// One grant element as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub service: String,
    pub source: IpNet,
    pub protocol: String,
    pub ports: (u16, u16),
    /// The deadline written when it was granted (RFC 3339), if the comment has it.
    pub until: Option<String>,
    /// Seconds left, as the kernel counts them.
    pub expires_s: Option<u32>,
}

/// The grants in our live table (empty if it has none).
pub fn active(live: &[LiveObject]) -> Vec<Grant> {
    let mut out = Vec::new();
    for object in live {
        let LiveObject::Known(NfListObject::Set(set)) = object else {
            continue;
        };
        if !is_grant_set(&set.name) {
            continue;
        }
        for e in set.elem.iter().flat_map(|e| e.iter()) {
            if let Some(g) = grant_of(e) {
                out.push(g);
            }
        }
    }
    out
}

fn grant_of(e: &Expression<'_>) -> Option<Grant> {
    let Expression::Named(NamedExpression::Elem(elem)) = e else {
        return None;
    };
    let Expression::Named(NamedExpression::Concat(parts)) = &*elem.val else {
        return None;
    };
    let [addr, proto, port] = parts.as_slice() else {
        return None;
    };
    let source = match addr {
        Expression::String(s) => crate::policy::parse_net(s).ok()?,
        Expression::Named(NamedExpression::Prefix(p)) => match &*p.addr {
            Expression::String(a) => crate::policy::parse_net(&format!("{a}/{}", p.len)).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    let protocol = match proto {
        Expression::String(p) => p.to_string(),
        _ => return None,
    };
    let ports = match port {
        Expression::Number(n) => (u16::try_from(*n).ok()?, u16::try_from(*n).ok()?),
        Expression::Range(r) => match (&r.range[0], &r.range[1]) {
            (Expression::Number(a), Expression::Number(b)) => {
                (u16::try_from(*a).ok()?, u16::try_from(*b).ok()?)
            }
            _ => return None,
        },
        _ => return None,
    };
    let comment = elem.comment.as_deref().unwrap_or("");
    let (service, until) = match comment.split_once(" until ") {
        Some((s, u)) => (s.to_string(), Some(u.to_string())),
        None => (comment.to_string(), None),
    };
    Some(Grant {
        service,
        source,
        protocol,
        ports,
        until,
        expires_s: elem.expires,
    })
}

/// Whether the live table has the grant sets (and so their rules).
pub fn present(live: &[LiveObject]) -> bool {
    live.iter()
        .any(|o| matches!(o, LiveObject::Known(NfListObject::Set(s)) if is_grant_set(&s.name)))
}

/// The elements that let `source` reach `service`'s ports, each for `timeout_s` seconds
/// and commented with the service and the deadline.
fn elements(service: &Service, source: IpNet, timeout_s: u32, until: &str) -> Vec<String> {
    keys(service, source)
        .into_iter()
        .map(|key| {
            format!(
                "{key} timeout {timeout_s}s comment \"{} until {until}\"",
                service.name
            )
        })
        .collect()
}

/// A host as its address, a prefix as `addr/len` (as nft lists them).
fn net_text(net: IpNet) -> String {
    let net = net.trunc();
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// The keys of a grant's elements: one per protocol and port range of the service.
fn keys(service: &Service, source: IpNet) -> Vec<String> {
    let mut out = Vec::new();
    for range in &service.ports {
        for proto in &range.protocols {
            let ports = if range.first == range.last {
                range.first.to_string()
            } else {
                format!("{}-{}", range.first, range.last)
            };
            out.push(format!(
                "{} . {} . {ports}",
                net_text(source),
                proto.as_str()
            ));
        }
    }
    out
}

/// The transaction that grants `source` access to `service` for `timeout_s` seconds (until
/// `until`), making the grant sets and rules first if the table has none: the rules go
/// just before the input chain's last rule (its counted catch-all), after every block.
pub fn grant_script(
    table: &str,
    live: &[LiveObject],
    service: &Service,
    source: IpNet,
    timeout_s: u32,
    until: &str,
) -> Result<String, String> {
    let mut out = String::new();
    if !present(live) {
        let last = last_input_rule(live).ok_or_else(|| {
            format!("table inet {table} has no input chain of ours; apply the policy first")
        })?;
        for family in [Family::V4, Family::V6] {
            let set = grant_set(table, family);
            out.push_str(&format!(
                "add set inet {table} {} {{ {}; }}\n",
                set.name,
                render::set_declaration(&set).join("; ")
            ));
        }
        for family in [Family::V4, Family::V6] {
            let rule = grant_rule(table, family);
            out.push_str(&format!(
                "insert rule inet {table} input handle {last} {}\n",
                render::rule(&rule, Default::default())
            ));
        }
    }
    let family = Family::of(&source);
    out.push_str(&format!(
        "add element inet {table} {} {{ {} }}\n",
        set_name(family),
        elements(service, source, timeout_s, until).join(", ")
    ));
    Ok(out)
}

/// The transaction that takes `source`'s grant to `service` back (None: it has none).
pub fn revoke_script(
    table: &str,
    live: &[LiveObject],
    service: &Service,
    source: IpNet,
) -> Option<String> {
    let source = source.trunc();
    let held = active(live)
        .into_iter()
        .any(|g| g.service == service.name && g.source == source);
    held.then(|| {
        format!(
            "delete element inet {table} {} {{ {} }}\n",
            set_name(Family::of(&source)),
            keys(service, source).join(", ")
        )
    })
}

/// The handle of the input chain's last rule (the counted catch-all).
fn last_input_rule(live: &[LiveObject]) -> Option<u32> {
    live.iter()
        .filter_map(|o| match o {
            LiveObject::Known(NfListObject::Rule(r)) if r.chain == "input" => r.handle,
            _ => None,
        })
        .next_back()
}

/// `compiled` with the live table's grant sets (elements, timeouts and time left as the
/// kernel has them) and rules (just before the input chain's last rule), so a commit, in
/// place or whole, keeps the grants.
pub fn carry(compiled: &mut CompiledTable, live: &[LiveObject]) {
    if !present(live) {
        return;
    }
    let mut sets = Vec::new();
    let mut rules = Vec::new();
    for object in live {
        match object {
            LiveObject::Known(NfListObject::Set(s)) if is_grant_set(&s.name) => {
                let mut s = (**s).clone();
                s.handle = None;
                s.table = compiled.name.clone().into();
                sets.push(NfListObject::Set(Box::new(s)));
            }
            LiveObject::Known(NfListObject::Rule(r))
                if r.comment.as_deref() == Some(RULE_COMMENT) =>
            {
                let mut r = r.clone();
                r.handle = None;
                r.table = compiled.name.clone().into();
                rules.push(NfListObject::Rule(r));
            }
            _ => {}
        }
    }
    // Sets after the table object, rules before the input chain's last rule.
    let at = compiled
        .objects
        .iter()
        .position(|o| !matches!(o, NfListObject::Table(_)))
        .unwrap_or(compiled.objects.len());
    for (i, s) in sets.into_iter().enumerate() {
        compiled.objects.insert(at + i, s);
    }
    let last_input = compiled
        .objects
        .iter()
        .rposition(|o| matches!(o, NfListObject::Rule(r) if r.chain == "input"));
    let at = last_input.unwrap_or(compiled.objects.len());
    for (i, r) in rules.into_iter().enumerate() {
        compiled.objects.insert(at + i, r);
    }
}

/// What `restore` adds to its transaction so that no grant outlives a reboot: the grant
/// sets emptied, if the restored script has them.
pub fn flush_on_restore(table: &str, script: &str) -> String {
    [Family::V4, Family::V6]
        .into_iter()
        .filter(|f| script.contains(&format!("set {} {{", set_name(*f))))
        .map(|f| format!("flush set inet {table} {}\n", set_name(f)))
        .collect()
}

/// An empty grant set.
fn grant_set(table: &str, family: Family) -> Set<'static> {
    let addr = match family {
        Family::V4 => SetType::Ipv4Addr,
        Family::V6 => SetType::Ipv6Addr,
    };
    Set {
        family: NfFamily::INet,
        table: table.to_string().into(),
        name: set_name(family).into(),
        set_type: SetTypeValue::Concatenated(
            vec![addr, SetType::InetProto, SetType::InetService].into(),
        ),
        flags: Some(HashSet::from([SetFlag::Interval, SetFlag::Timeout])),
        ..Set::default()
    }
}

/// `ip saddr . meta l4proto . th dport @grants_v4 counter accept comment "grants"`.
fn grant_rule(table: &str, family: Family) -> Rule<'static> {
    let proto = match family {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    };
    let payload = |protocol: &str, field: &str| {
        Expression::Named(NamedExpression::Payload(Payload::PayloadField(
            PayloadField {
                protocol: protocol.to_string().into(),
                field: field.to_string().into(),
            },
        )))
    };
    let key = Expression::Named(NamedExpression::Concat(vec![
        payload(proto, "saddr"),
        Expression::Named(NamedExpression::Meta(Meta {
            key: MetaKey::L4proto,
        })),
        payload("th", "dport"),
    ]));
    Rule {
        family: NfFamily::INet,
        table: table.to_string().into(),
        chain: "input".into(),
        expr: vec![
            Statement::Match(Match {
                left: key,
                right: Expression::String(Cow::Owned(format!("@{}", set_name(family)))),
                op: Operator::EQ,
            }),
            Statement::Counter(Counter::Anonymous(Some(AnonymousCounter::default()))),
            Statement::Accept(None::<Accept>),
        ]
        .into(),
        handle: None,
        index: None,
        comment: Some(RULE_COMMENT.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;

    fn ssh() -> Service {
        policy::parse(
            "[services.ssh]\nports = [\"22/tcp\", \"9000-9001/tcp+udp\"]\nallow = [\"any\"]\n",
        )
        .expect("valid")
        .services["ssh"]
            .clone()
    }

    #[test]
    fn a_grant_is_one_element_per_protocol_and_range_with_its_deadline() {
        let e = elements(
            &ssh(),
            policy::parse_net("192.0.2.7").unwrap(),
            7200,
            "2026-12-01T17:00:00Z",
        );
        assert_eq!(
            e,
            [
                "192.0.2.7 . tcp . 22 timeout 7200s comment \"ssh until 2026-12-01T17:00:00Z\"",
                "192.0.2.7 . tcp . 9000-9001 timeout 7200s comment \"ssh until 2026-12-01T17:00:00Z\"",
                "192.0.2.7 . udp . 9000-9001 timeout 7200s comment \"ssh until 2026-12-01T17:00:00Z\"",
            ]
        );
    }

    #[test]
    fn the_restore_empties_the_grant_sets_it_loads() {
        assert_eq!(
            flush_on_restore("portcullis", "table inet portcullis {\n\tset grants_v4 {\n"),
            "flush set inet portcullis grants_v4\n"
        );
        assert_eq!(
            flush_on_restore("portcullis", "table inet portcullis {\n"),
            ""
        );
    }
}
