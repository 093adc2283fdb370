//! The rules pane's model: our table's counted rules grouped by service (a service has one
//! rule per address family, sometimes more), with packets, bytes, a packets-per-second rate
//! and a 60-sample history, plus the chain-policy counter that must always stay visible.
//! Pure: rates come from the counters and the observation times it is given.

use std::collections::{HashMap, VecDeque};

use crate::nft::counters::LiveRule;

/// How many rate samples the history keeps (a minute at the default 1 s refresh).
pub const HISTORY: usize = 60;

/// What a row stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKind {
    /// A policy service's rules (from the `service=NAME` comment).
    Service(String),
    /// The counter at the end of the input chain: what the chain policy decides, with its
    /// verdict (`drop` or `accept`).
    InputPolicy(String),
    /// Another counted rule, by its comment (e.g. `ping`).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub chain: String,
    pub kind: RowKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub key: RowKey,
    /// What the pane prints in its first column.
    pub label: String,
    /// How many nft rules the row adds up.
    pub rules: usize,
    pub packets: u64,
    pub bytes: u64,
    /// Packets per second since the previous refresh; None on the first one.
    pub rate: Option<f64>,
    /// The last rates, oldest first, at most HISTORY.
    pub history: VecDeque<f64>,
}

/// The rows, in the order the chain lists them, and the input policy row apart.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    pub rows: Vec<RuleRow>,
    pub input_policy: Option<RuleRow>,
    last_at_ms: Option<u64>,
}

impl RuleBook {
    /// Takes the counters of one refresh at `at_ms`.
    pub fn ingest(&mut self, rules: &[LiveRule], at_ms: u64) {
        let mut previous: HashMap<RowKey, RuleRow> = self
            .rows
            .drain(..)
            .chain(self.input_policy.take())
            .map(|r| (r.key.clone(), r))
            .collect();
        let elapsed_s = self
            .last_at_ms
            .filter(|last| at_ms > *last)
            .map(|last| (at_ms - last) as f64 / 1000.0);
        self.last_at_ms = Some(at_ms);

        let mut order: Vec<RowKey> = Vec::new();
        let mut sums: HashMap<RowKey, (usize, u64, u64)> = HashMap::new();
        for rule in rules {
            let (Some(packets), Some(bytes)) = (rule.packets, rule.bytes) else {
                continue; // no counter: nothing to show (loopback, conntrack, ICMPv6 ND)
            };
            let Some(kind) = kind_of(rule) else { continue };
            let key = RowKey {
                chain: rule.chain.clone(),
                kind,
            };
            let sum = sums.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                (0, 0, 0)
            });
            *sum = (sum.0 + 1, sum.1 + packets, sum.2 + bytes);
        }
        for key in order {
            let (rules, packets, bytes) = sums[&key];
            let old = previous.remove(&key);
            // A counter that went down means the rule was replaced (an apply): no rate.
            let rate = match (&old, elapsed_s) {
                (Some(o), Some(s)) if packets >= o.packets => {
                    Some((packets - o.packets) as f64 / s)
                }
                (Some(_), Some(_)) => Some(0.0),
                _ => None,
            };
            let mut history = old.map(|o| o.history).unwrap_or_default();
            if let Some(r) = rate {
                history.push_back(r);
                while history.len() > HISTORY {
                    history.pop_front();
                }
            }
            let row = RuleRow {
                label: label_of(&key),
                key,
                rules,
                packets,
                bytes,
                rate,
                history,
            };
            if matches!(row.key.kind, RowKind::InputPolicy(_)) {
                self.input_policy = Some(row);
            } else {
                self.rows.push(row);
            }
        }
    }

    /// Forgets everything (the table went away).
    pub fn clear(&mut self) {
        *self = RuleBook::default();
    }

    /// Rows in selection order: the listed ones, then the input policy row.
    pub fn all(&self) -> impl Iterator<Item = &RuleRow> {
        self.rows.iter().chain(self.input_policy.as_ref())
    }

    pub fn len(&self) -> usize {
        self.rows.len() + usize::from(self.input_policy.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn kind_of(rule: &LiveRule) -> Option<RowKind> {
    if let Some(service) = &rule.service {
        return Some(RowKind::Service(service.clone()));
    }
    match rule.comment.as_deref() {
        Some(c) if rule.chain == "input" && c.starts_with("input policy ") => Some(
            RowKind::InputPolicy(c.trim_start_matches("input policy ").to_string()),
        ),
        // The other chains' policy counters are not what an operator watches here.
        Some(c) if c.starts_with(&format!("{} policy ", rule.chain)) => None,
        Some(c) => Some(RowKind::Other(c.to_string())),
        None => Some(RowKind::Other(rule.rule.clone())),
    }
}

fn label_of(key: &RowKey) -> String {
    let name = match &key.kind {
        RowKind::Service(s) => s.clone(),
        // What no rule matched meets: the chain's policy.
        RowKind::InputPolicy(verdict) => format!("default {verdict}"),
        RowKind::Other(c) => c.clone(),
    };
    if key.chain == "input" {
        name
    } else {
        format!("{name} ({})", key.chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(chain: &str, comment: &str, packets: u64) -> LiveRule {
        LiveRule {
            chain: chain.into(),
            handle: None,
            service: crate::nft::counters::service_of(comment),
            comment: Some(comment.into()),
            packets: Some(packets),
            bytes: Some(packets * 60),
            rule: String::new(),
        }
    }

    #[test]
    fn services_add_up_their_families_and_the_policy_row_stands_apart() {
        let mut book = RuleBook::default();
        book.ingest(
            &[
                rule("input", "service=ssh allow=admin", 3),
                rule("input", "service=ssh allow=admin", 4),
                rule("input", "ping", 1),
                rule("input", "input policy drop", 9),
                rule("output", "output policy accept", 100),
            ],
            1_000,
        );
        let labels: Vec<_> = book.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["ssh", "ping"]);
        assert_eq!(book.rows[0].packets, 7);
        assert_eq!(book.rows[0].rules, 2);
        assert_eq!(book.rows[0].rate, None);
        assert_eq!(book.input_policy.as_ref().map(|r| r.packets), Some(9));
        assert_eq!(book.len(), 3);
    }

    #[test]
    fn rates_come_from_counter_deltas_and_history_keeps_a_minute() {
        let mut book = RuleBook::default();
        for i in 0..=70u64 {
            book.ingest(
                &[rule("input", "service=web allow=any", i * 10)],
                1_000 + i * 500,
            );
        }
        let row = &book.rows[0];
        assert_eq!(row.rate, Some(20.0)); // 10 packets per half second
        assert_eq!(row.history.len(), HISTORY);
        // A replaced rule (counter reset) gives 0, not a negative rate.
        book.ingest(&[rule("input", "service=web allow=any", 5)], 60_000);
        assert_eq!(book.rows[0].rate, Some(0.0));
    }
}
