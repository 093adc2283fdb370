//! nft objects -> nft's text syntax. One renderer for everything: the script we apply, both
//! sides of `diff`, and the rules `portcullis rules` shows, so they can't disagree.
//!
//! It covers the expressions portcullis generates; anything else in a live table (someone
//! edited it by hand) prints as its JSON so that a diff shows it instead of hiding it.

use std::fmt::Write;

use nftables::expr::{Expression, Meta, MetaKey, NamedExpression, Payload, SetItem};
use nftables::schema::{Chain, NfListObject, Rule, Set, SetFlag, SetTypeValue};
use nftables::stmt::{Counter, Operator, Statement};

/// Whether counters print with their values (`counter packets 3 bytes 180`) or bare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    pub counter_values: bool,
}

/// Renders `table inet NAME { ... }` from a table's objects (table, sets, chains, rules).
pub fn table(name: &str, objects: &[NfListObject<'_>], opts: RenderOptions) -> String {
    let mut out = format!("table inet {name} {{\n");
    let mut first = true;
    // By name, as the compiler makes them: the kernel lists sets in the order they were
    // added, which a change in place does not keep.
    let mut sets: Vec<&Set<'_>> = objects
        .iter()
        .filter_map(|o| match o {
            NfListObject::Set(set) => Some(&**set),
            _ => None,
        })
        .collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    for set in sets {
        if !first {
            out.push('\n');
        }
        first = false;
        render_set(&mut out, set);
    }
    for object in objects {
        if let NfListObject::Chain(chain) = object {
            if !first {
                out.push('\n');
            }
            first = false;
            render_chain(&mut out, chain, objects, opts);
        }
    }
    out.push_str("}\n");
    out
}

fn render_set(out: &mut String, set: &Set<'_>) {
    let _ = writeln!(out, "\tset {} {{", set.name);
    for line in set_declaration(set) {
        let _ = writeln!(out, "\t\t{line}");
    }
    if let Some(elem) = set.elem.as_ref().filter(|e| !e.is_empty()) {
        // One element per line, so a diff names exactly the addresses that change.
        out.push_str("\t\telements = {\n");
        let last = elem.len() - 1;
        for (i, e) in elem.iter().enumerate() {
            let sep = if i == last { "" } else { "," };
            let _ = writeln!(out, "\t\t\t{}{sep}", expr(e, false));
        }
        out.push_str("\t\t}\n");
    }
    out.push_str("\t}\n");
}

fn render_chain(
    out: &mut String,
    chain: &Chain<'_>,
    objects: &[NfListObject<'_>],
    opts: RenderOptions,
) {
    let _ = writeln!(out, "\tchain {} {{", chain.name);
    if let Some(header) = base_chain(chain) {
        let _ = writeln!(out, "\t\t{header}");
    }
    for object in objects {
        if let NfListObject::Rule(r) = object
            && r.chain == chain.name
        {
            let _ = writeln!(out, "\t\t{}", rule(r, opts));
        }
    }
    out.push_str("\t}\n");
}

/// A set's declaration without its elements: `type …`, `flags …`, `auto-merge`, one per
/// line (the set block's lines, and `add set`'s clauses).
pub fn set_declaration(set: &Set<'_>) -> Vec<String> {
    let type_name = match &set.set_type {
        SetTypeValue::Single(t) => json_word(t),
        SetTypeValue::Concatenated(ts) => ts.iter().map(json_word).collect::<Vec<_>>().join(" . "),
    };
    let mut lines = vec![format!("type {type_name}")];
    let mut names: Vec<String> = set.flags.iter().flatten().map(json_word).collect();
    names.sort();
    if !names.is_empty() {
        lines.push(format!("flags {}", names.join(",")));
    }
    // nft's JSON listing never reports auto-merge; every interval set of addresses we
    // create has it (nft merges no concatenations).
    if matches!(set.set_type, SetTypeValue::Single(_))
        && set
            .flags
            .as_ref()
            .is_some_and(|f| f.contains(&SetFlag::Interval))
    {
        lines.push("auto-merge".to_string());
    }
    lines
}

/// A base chain's `type … hook … priority …; policy …;`, or None for a regular chain.
pub fn base_chain(chain: &Chain<'_>) -> Option<String> {
    let (t, hook) = (chain._type.as_ref()?, chain.hook.as_ref()?);
    let prio = match chain.prio {
        Some(0) => "filter".to_string(),
        Some(p) => p.to_string(),
        None => "0".to_string(),
    };
    let policy = chain
        .policy
        .as_ref()
        .map_or("accept".to_string(), json_word);
    Some(format!(
        "type {} hook {} priority {prio}; policy {policy};",
        json_word(t),
        json_word(hook)
    ))
}

/// One rule as nft writes it, without its handle.
pub fn rule(rule: &Rule<'_>, opts: RenderOptions) -> String {
    let mut parts: Vec<String> = rule.expr.iter().map(|s| statement(s, opts)).collect();
    if let Some(comment) = &rule.comment {
        // Comments we write are plain ASCII; a hand-made one with quotes must not break
        // the line apart.
        parts.push(format!("comment \"{}\"", comment.replace('"', "'")));
    }
    parts.join(" ")
}

pub fn statement(stmt: &Statement<'_>, opts: RenderOptions) -> String {
    match stmt {
        Statement::Match(m) => {
            let quote = matches!(
                &m.left,
                Expression::Named(NamedExpression::Meta(Meta {
                    key: MetaKey::Iif | MetaKey::Oif | MetaKey::Iifname | MetaKey::Oifname
                }))
            );
            let op = match m.op {
                Operator::EQ | Operator::IN => String::new(),
                ref other => format!("{} ", json_word(other)),
            };
            format!("{} {op}{}", expr(&m.left, false), expr(&m.right, quote))
        }
        Statement::Counter(Counter::Anonymous(c)) => match c {
            Some(c) if opts.counter_values => format!(
                "counter packets {} bytes {}",
                c.packets.unwrap_or(0),
                c.bytes.unwrap_or(0)
            ),
            _ => "counter".to_string(),
        },
        Statement::Counter(Counter::Named(name)) => format!("counter name {name}"),
        Statement::Accept(_) => "accept".to_string(),
        Statement::Drop(_) => "drop".to_string(),
        Statement::Reject(r) => reject(r.as_ref()),
        // A per-key limit (a service's `limit`): nft keeps a set of keys by this name.
        Statement::Meter(m) => format!(
            "meter {} {{ {} {} }}",
            m.name,
            expr(&m.key, false),
            statement(&m.stmt, opts)
        ),
        Statement::Return(_) => "return".to_string(),
        Statement::Continue(_) => "continue".to_string(),
        Statement::Jump(t) => format!("jump {}", t.target),
        Statement::Goto(t) => format!("goto {}", t.target),
        Statement::Limit(l) if l.rate_unit.is_none() && l.burst_unit.is_none() => {
            let over = if l.inv == Some(true) { "over " } else { "" };
            let mut text = format!(
                "limit rate {over}{}/{}",
                l.rate,
                l.per.as_deref().unwrap_or("second")
            );
            if let Some(burst) = l.burst.filter(|b| *b > 0) {
                text.push_str(&format!(" burst {burst} packets"));
            }
            text
        }
        Statement::Log(Some(log)) if log.level.is_none() && log.flags.is_none() => {
            let mut text = "log".to_string();
            if let Some(prefix) = &log.prefix {
                text.push_str(&format!(" prefix \"{}\"", prefix.replace('"', "'")));
            }
            for (word, value) in [
                ("group", log.group),
                ("snaplen", log.snaplen),
                ("queue-threshold", log.queue_threshold),
            ] {
                if let Some(v) = value {
                    text.push_str(&format!(" {word} {v}"));
                }
            }
            text
        }
        other => unknown(other),
    }
}

/// `reject`, `reject with tcp reset`, `reject with icmpx port-unreachable`.
fn reject(r: Option<&nftables::stmt::Reject>) -> String {
    use nftables::stmt::RejectType;
    let Some(r) = r else {
        return "reject".to_string();
    };
    let kind = match r._type {
        None => return "reject".to_string(),
        Some(RejectType::TCPReset) => "tcp reset",
        Some(RejectType::ICMPX) => "icmpx",
        Some(RejectType::ICMP) => "icmp",
        Some(RejectType::ICMPv6) => "icmpv6",
    };
    match &r.expr {
        // The code as nft's JSON names it (serde's rename), e.g. port-unreachable.
        Some(code) => format!(
            "reject with {kind} {}",
            serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        None => format!("reject with {kind}"),
    }
}

/// One expression; `quote` puts interface names in quotes as nft requires.
pub fn expr(e: &Expression<'_>, quote: bool) -> String {
    match e {
        Expression::String(s) if quote && !s.starts_with('@') => format!("\"{s}\""),
        Expression::String(s) => s.to_string(),
        Expression::Number(n) => n.to_string(),
        Expression::Boolean(b) => b.to_string(),
        Expression::List(items) => items
            .iter()
            .map(|i| expr(i, quote))
            .collect::<Vec<_>>()
            .join(","),
        Expression::Range(r) => {
            format!("{}-{}", expr(&r.range[0], quote), expr(&r.range[1], quote))
        }
        Expression::Named(named) => match named {
            NamedExpression::Set(items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|item| match item {
                        SetItem::Element(e) => expr(e, quote),
                        other => unknown(other),
                    })
                    .collect();
                format!("{{ {} }}", inner.join(", "))
            }
            NamedExpression::Concat(items) => items
                .iter()
                .map(|i| expr(i, quote))
                .collect::<Vec<_>>()
                .join(" . "),
            NamedExpression::Prefix(p) => format!("{}/{}", expr(&p.addr, false), p.len),
            // A meter's key, or a timed element (a grant) with the time it has left.
            NamedExpression::Elem(e) => {
                let mut text = expr(&e.val, quote);
                if let Some(t) = e.timeout {
                    text.push_str(&format!(" timeout {t}s"));
                }
                if let Some(t) = e.expires {
                    text.push_str(&format!(" expires {t}s"));
                }
                if let Some(c) = &e.comment {
                    text.push_str(&format!(" comment \"{}\"", c.replace('"', "'")));
                }
                text
            }
            NamedExpression::Payload(Payload::PayloadField(f)) => {
                format!("{} {}", f.protocol, f.field)
            }
            NamedExpression::Meta(m) => match m.key {
                MetaKey::Iif | MetaKey::Oif | MetaKey::Iifname | MetaKey::Oifname => {
                    json_word(&m.key)
                }
                key => format!("meta {}", json_word(&key)),
            },
            NamedExpression::CT(ct) => format!("ct {}", ct.key),
            other => unknown(other),
        },
        other => unknown(other),
    }
}

/// The serde name of a unit enum value (`NfHook::Input` -> `input`).
fn json_word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_string(),
    }
}

/// Something portcullis never generates: shown as its JSON, clearly marked.
fn unknown<T: serde::Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "?".to_string());
    format!("<not understood by portcullis: {json}>")
}
