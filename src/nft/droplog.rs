//! The drop log's part of the compiled table: the NFLOG statements on the dropping rules
//! and the prefix that names which rule logged a packet, so a reader maps a log line back
//! to its rule without guessing. Pure.
//!
//! ```text
//! ct state invalid limit rate 50/second burst 100 packets log prefix "portcullis input invalid" group 47 snaplen 128
//! ct state invalid drop
//! …
//! counter limit rate 50/second burst 100 packets log prefix "portcullis input drop" group 47 snaplen 128 comment "input policy drop"
//! ```
//! The limit sits before the log so the kernel refuses a flood's lines before making them;
//! on the catch-all it comes after the counter, so every dropped packet is still counted.

use std::borrow::Cow;

use nftables::schema::NfListObject;
use nftables::stmt::{Counter, Limit, Log, Statement};

use super::live::LiveObject;

use crate::policy::DropLog;

/// Every prefix portcullis writes starts with this.
pub const PREFIX_TAG: &str = "portcullis ";
/// Bytes of each packet copied to the reader: an IPv6 header with a few extension headers
/// and the transport header fit; payloads are never needed.
pub const SNAPLEN: u32 = 128;

/// Why the logging rule drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The chain's default drop: nothing allowed the packet.
    Policy,
    /// `ct state invalid`: not part of any connection conntrack can follow.
    Invalid,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Policy => "drop",
            Reason::Invalid => "invalid",
        }
    }
}

/// Which rule logged a packet: its chain and why it drops.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoggedBy {
    pub chain: String,
    pub reason: Reason,
}

impl LoggedBy {
    pub fn prefix(&self) -> String {
        format!("{PREFIX_TAG}{} {}", self.chain, self.reason.as_str())
    }

    /// The rule behind a prefix portcullis wrote; None for anyone else's.
    pub fn parse(prefix: &str) -> Option<LoggedBy> {
        let rest = prefix.trim_end().strip_prefix(PREFIX_TAG)?;
        let (chain, reason) = rest.split_once(' ')?;
        let reason = match reason {
            "drop" => Reason::Policy,
            "invalid" => Reason::Invalid,
            _ => return None,
        };
        (!chain.is_empty()).then(|| LoggedBy {
            chain: chain.to_string(),
            reason,
        })
    }
}

/// `limit … log …`: the statements that log a dropped packet, or nothing when logging is off.
pub fn statements(settings: &DropLog, by: &LoggedBy) -> Vec<Statement<'static>> {
    if !settings.enabled {
        return Vec::new();
    }
    vec![
        Statement::Limit(Limit {
            rate: settings.rate,
            rate_unit: None,
            per: Some(Cow::Borrowed("second")),
            burst: Some(settings.burst),
            burst_unit: None,
            inv: None,
        }),
        Statement::Log(Some(Log {
            prefix: Some(Cow::Owned(by.prefix())),
            group: Some(u32::from(settings.group)),
            snaplen: Some(SNAPLEN),
            queue_threshold: None,
            level: None,
            flags: None,
        })),
    ]
}

/// The NFLOG group a live rule logs to under one of our prefixes.
pub fn group_of(stmt: &Statement<'_>) -> Option<(u16, LoggedBy)> {
    let Statement::Log(Some(log)) = stmt else {
        return None;
    };
    let by = LoggedBy::parse(log.prefix.as_deref()?)?;
    Some((u16::try_from(log.group?).ok()?, by))
}

/// What the live table logs: its NFLOG group (None when no rule of ours logs), and the
/// packets counted so far by the counted rules that log (the catch-alls), to tell how many
/// drops the rate limit left unlogged.
pub fn live_logging(objects: &[LiveObject]) -> (Option<u16>, u64) {
    let mut group = None;
    let mut counted = 0;
    for object in objects {
        let LiveObject::Known(NfListObject::Rule(rule)) = object else {
            continue;
        };
        let Some((g, _)) = rule.expr.iter().find_map(group_of) else {
            continue;
        };
        group.get_or_insert(g);
        counted += rule
            .expr
            .iter()
            .find_map(|s| match s {
                Statement::Counter(Counter::Anonymous(Some(c))) => c.packets,
                _ => None,
            })
            .unwrap_or(0) as u64;
    }
    (group, counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_its_rule_and_parses_back() {
        for reason in [Reason::Policy, Reason::Invalid] {
            let by = LoggedBy {
                chain: "input".into(),
                reason,
            };
            assert_eq!(LoggedBy::parse(&by.prefix()), Some(by.clone()));
        }
        assert_eq!(LoggedBy::parse("ufw block "), None);
        assert_eq!(LoggedBy::parse("portcullis input accept"), None);
        assert_eq!(LoggedBy::parse("portcullis  drop"), None);
    }

    #[test]
    fn logging_off_compiles_no_statement() {
        let off = DropLog {
            enabled: false,
            ..DropLog::default()
        };
        let by = LoggedBy {
            chain: "input".into(),
            reason: Reason::Policy,
        };
        assert!(statements(&off, &by).is_empty());
        assert_eq!(statements(&DropLog::default(), &by).len(), 2);
    }
}
