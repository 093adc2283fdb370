//! Live rules with their packet and byte counters, mapped back to the policy's services
//! through the `service=NAME` comment the compiler puts on every service rule.

use nftables::schema::NfListObject;
use nftables::stmt::{Counter, Statement};
use serde::Serialize;

use super::compile::SERVICE_TAG;
use super::live::LiveObject;
use super::render::{self, RenderOptions};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveRule {
    pub chain: String,
    pub handle: Option<u32>,
    /// The policy service this rule implements, if it is a service rule.
    pub service: Option<String>,
    pub comment: Option<String>,
    /// None when the rule has no counter.
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// The rule in nft syntax, counter values left out.
    pub rule: String,
}

/// The rules of a table, in chain order, as listed.
pub fn live_rules(objects: &[LiveObject]) -> Vec<LiveRule> {
    objects
        .iter()
        .filter_map(|o| match o {
            LiveObject::Known(NfListObject::Rule(r)) => {
                let counter = r.expr.iter().find_map(|s| match s {
                    Statement::Counter(Counter::Anonymous(c)) => {
                        Some(c.clone().unwrap_or_default())
                    }
                    _ => None,
                });
                let comment = r.comment.as_ref().map(|c| c.to_string());
                Some(LiveRule {
                    chain: r.chain.to_string(),
                    handle: r.handle,
                    service: comment.as_deref().and_then(service_of),
                    comment,
                    packets: counter.as_ref().map(|c| c.packets.unwrap_or(0) as u64),
                    bytes: counter.as_ref().map(|c| c.bytes.unwrap_or(0) as u64),
                    rule: render::rule(r, RenderOptions::default()),
                })
            }
            LiveObject::Unknown { kind, json } if kind == "rule" => Some(LiveRule {
                chain: json
                    .get("chain")
                    .and_then(|c| c.as_str())
                    .unwrap_or("?")
                    .to_string(),
                handle: json
                    .get("handle")
                    .and_then(|h| h.as_u64())
                    .and_then(|h| u32::try_from(h).ok()),
                service: None,
                comment: None,
                packets: None,
                bytes: None,
                rule: format!("<not understood by portcullis: {json}>"),
            }),
            _ => None,
        })
        .collect()
}

/// The rules' chains, text and comments, hashed: equal for the same rules, whatever their
/// counters say. (The refresh tick gets the same from a skim of the listing.)
pub fn structure_of(rules: &[LiveRule]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for r in rules {
        (&r.chain, &r.rule, &r.comment).hash(&mut h);
    }
    h.finish()
}

/// `service=ssh allow=admin` -> `ssh`.
pub fn service_of(comment: &str) -> Option<String> {
    let rest = comment.strip_prefix(SERVICE_TAG)?;
    let name = rest.split(' ').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_name_comes_from_the_comment() {
        assert_eq!(
            service_of("service=ssh allow=admin").as_deref(),
            Some("ssh")
        );
        assert_eq!(service_of("ping"), None);
        assert_eq!(service_of("service="), None);
    }
}
