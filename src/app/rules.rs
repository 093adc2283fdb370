//! The rules pane's model: our table's counted rules grouped by service (a service has one
//! rule per address family, sometimes more), with packets, bytes, a packets-per-second rate
//! and a 60-sample history, plus the chain-policy counter that must always stay visible.
//! Pure: rates come from the counters and the observation times it is given.

use std::collections::{HashMap, VecDeque};

use crate::commit::counting::Counting;
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
    /// A policy block's rules (from the `block=NAME` comment): what it refused.
    Block(String),
    /// What a service's `limit` dropped (from the `limit=NAME` comment), shown beside it.
    Limit(String),
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
    /// Since when its counters count (wall ms): its newest rule's start, when known.
    pub since_ms: Option<u64>,
    /// Its rules started counting at different times (the sum spans both).
    pub since_mixed: bool,
    /// Packets since the pending commit went live (its id), when the counting record
    /// has that commit's baseline.
    pub since_commit: Option<(String, u64)>,
}

impl RuleRow {
    /// Takes the row's new counters, `elapsed_s` after the last ones.
    fn advance(&mut self, packets: u64, bytes: u64, elapsed_s: Option<f64>) {
        // A counter that went down means the rule was replaced (an apply): no rate.
        self.rate = elapsed_s.map(|s| {
            if packets >= self.packets {
                (packets - self.packets) as f64 / s
            } else {
                0.0
            }
        });
        if let Some(r) = self.rate {
            self.history.push_back(r);
            while self.history.len() > HISTORY {
                self.history.pop_front();
            }
        }
        self.packets = packets;
        self.bytes = bytes;
    }
}

/// The rows, in the order the chain lists them, and the input policy row apart.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    pub rows: Vec<RuleRow>,
    pub input_policy: Option<RuleRow>,
    last_at_ms: Option<u64>,
    /// For the rules' structure last seen: which row each rule adds to. While the rules
    /// stay the same (every tick but an apply's), counters are summed through it without
    /// building a single key.
    layout: Option<(u64, Vec<Option<Slot>>)>,
    /// Since when each rule counts, and the pending commit's baseline (from the state
    /// directory); None when unknown.
    pub counting: Option<Counting>,
    /// The rules pane's `/` filter (`app::filter`): rows whose label holds every word.
    /// The default-drop row is pinned and stays.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Row(usize),
    InputPolicy,
}

impl RuleBook {
    /// Takes the counters of one refresh at `at_ms`. `structure` is equal for two lists
    /// of rules that differ only in their counters.
    pub fn ingest(&mut self, rules: &[LiveRule], structure: u64, at_ms: u64) {
        let elapsed_s = self
            .last_at_ms
            .filter(|last| at_ms > *last)
            .map(|last| (at_ms - last) as f64 / 1000.0);
        self.last_at_ms = Some(at_ms);
        match &self.layout {
            Some((s, slots)) if *s == structure && slots.len() == rules.len() => {
                let mut totals = vec![(0u64, 0u64); self.rows.len() + 1];
                for (rule, slot) in rules.iter().zip(slots) {
                    let (Some(slot), Some(packets), Some(bytes)) = (slot, rule.packets, rule.bytes)
                    else {
                        continue;
                    };
                    let i = match slot {
                        Slot::Row(i) => *i,
                        Slot::InputPolicy => self.rows.len(),
                    };
                    totals[i] = (totals[i].0 + packets, totals[i].1 + bytes);
                }
                let rows = self.rows.iter_mut().chain(self.input_policy.as_mut());
                for (row, (packets, bytes)) in rows.zip(totals) {
                    row.advance(packets, bytes, elapsed_s);
                }
            }
            _ => self.lay_out(rules, structure, elapsed_s),
        }
        self.annotate(rules);
    }

    /// Each row's "since" and its packets since the pending commit, from the counting
    /// record, through the layout's rule-to-row slots.
    fn annotate(&mut self, rules: &[LiveRule]) {
        let n = self.rows.len() + 1;
        let mut starts: Vec<(Option<u64>, Option<u64>)> = vec![(None, None); n];
        let mut since_commit: Vec<u64> = vec![0; n];
        let (Some(counting), Some((_, slots))) = (&self.counting, &self.layout) else {
            for row in self.rows.iter_mut().chain(self.input_policy.as_mut()) {
                (row.since_ms, row.since_mixed, row.since_commit) = (None, false, None);
            }
            return;
        };
        for (rule, slot) in rules.iter().zip(slots) {
            let (Some(slot), Some(handle)) = (slot, rule.handle) else {
                continue;
            };
            let i = match slot {
                Slot::Row(i) => *i,
                Slot::InputPolicy => n - 1,
            };
            if let Some(start) = counting.since_of(handle).as_ref() {
                let (lo, hi) = &mut starts[i];
                *lo = Some(lo.map_or(*start, |l: u64| l.min(*start)));
                *hi = Some(hi.map_or(*start, |h: u64| h.max(*start)));
            }
            if let Some(id) = &counting.baseline_commit {
                since_commit[i] += counting.since_commit(id, handle, rule.packets.unwrap_or(0));
            }
        }
        let id = counting.baseline_commit.clone();
        let rows = self.rows.iter_mut().chain(self.input_policy.as_mut());
        for (row, ((lo, hi), count)) in rows.zip(starts.into_iter().zip(since_commit)) {
            row.since_ms = hi;
            row.since_mixed = lo != hi;
            row.since_commit = id.clone().map(|id| (id, count));
        }
    }

    /// Groups the rules into rows anew, carrying over the history of rows that remain.
    fn lay_out(&mut self, rules: &[LiveRule], structure: u64, elapsed_s: Option<f64>) {
        let mut previous: HashMap<RowKey, RuleRow> = self
            .rows
            .drain(..)
            .chain(self.input_policy.take())
            .map(|r| (r.key.clone(), r))
            .collect();
        let mut order: Vec<RowKey> = Vec::new();
        let mut index: HashMap<RowKey, usize> = HashMap::new();
        let mut sums: Vec<(usize, u64, u64)> = Vec::new();
        let mut slots: Vec<Option<usize>> = Vec::with_capacity(rules.len());
        for rule in rules {
            let (Some(packets), Some(bytes), Some(kind)) =
                (rule.packets, rule.bytes, kind_of(rule))
            else {
                // No counter: nothing to show (loopback, conntrack, ICMPv6 ND).
                slots.push(None);
                continue;
            };
            let key = RowKey {
                chain: rule.chain.clone(),
                kind,
            };
            let i = *index.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                sums.push((0, 0, 0));
                sums.len() - 1
            });
            sums[i] = (sums[i].0 + 1, sums[i].1 + packets, sums[i].2 + bytes);
            slots.push(Some(i));
        }
        // Group index -> slot: the input policy row stands apart from the listed ones.
        let mut slot_of = Vec::with_capacity(order.len());
        for (key, (rules, packets, bytes)) in order.into_iter().zip(sums) {
            let row = match previous.remove(&key) {
                Some(mut row) => {
                    row.rules = rules;
                    row.advance(packets, bytes, elapsed_s);
                    row
                }
                None => RuleRow {
                    label: label_of(&key),
                    key,
                    rules,
                    packets,
                    bytes,
                    rate: None,
                    history: VecDeque::new(),
                    since_ms: None,
                    since_mixed: false,
                    since_commit: None,
                },
            };
            if matches!(row.key.kind, RowKind::InputPolicy(_)) {
                slot_of.push(Slot::InputPolicy);
                self.input_policy = Some(row);
            } else {
                slot_of.push(Slot::Row(self.rows.len()));
                self.rows.push(row);
            }
        }
        let slots = slots.into_iter().map(|g| g.map(|g| slot_of[g])).collect();
        self.layout = Some((structure, slots));
    }

    /// Forgets everything (the table went away).
    pub fn clear(&mut self) {
        let counting = self.counting.take();
        *self = RuleBook {
            counting,
            ..RuleBook::default()
        };
    }

    /// Rows in selection order: the listed ones, then the input policy row.
    /// The rows the pane lists (the filter's), then the pinned default-drop row.
    pub fn all(&self) -> impl Iterator<Item = &RuleRow> {
        self.listed().chain(self.input_policy.as_ref())
    }

    /// The rows above the pinned one that the filter lets through.
    pub fn listed(&self) -> impl Iterator<Item = &RuleRow> {
        self.rows
            .iter()
            .filter(|r| super::filter::matches(&self.filter, &r.label))
    }

    pub fn len(&self) -> usize {
        self.listed().count() + usize::from(self.input_policy.is_some())
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
        Some(c)
            if c.strip_prefix(rule.chain.as_str())
                .is_some_and(|rest| rest.starts_with(" policy ")) =>
        {
            None
        }
        Some(c) if c.starts_with(crate::nft::compile::BLOCK_TAG) => {
            Some(RowKind::Block(tagged(c, crate::nft::compile::BLOCK_TAG)))
        }
        Some(c) if c.starts_with(crate::nft::compile::LIMIT_TAG) => {
            Some(RowKind::Limit(tagged(c, crate::nft::compile::LIMIT_TAG)))
        }
        Some(c) => Some(RowKind::Other(c.to_string())),
        None => Some(RowKind::Other(rule.rule.clone())),
    }
}

/// The name after `tag` in a comment (`block=NAME from=…` → NAME).
fn tagged(comment: &str, tag: &str) -> String {
    comment[tag.len()..]
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn label_of(key: &RowKey) -> String {
    let name = match &key.kind {
        RowKind::Service(s) => s.clone(),
        // What no rule matched meets: the chain's policy.
        RowKind::InputPolicy(verdict) => format!("default {verdict}"),
        RowKind::Block(b) => format!("block {b}"),
        RowKind::Limit(s) => format!("{s}: over limit"),
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
            1,
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
    fn a_limit_s_drops_sit_beside_its_service_and_a_block_has_its_own_row() {
        let mut book = RuleBook::default();
        book.ingest(
            &[
                rule("input", "block=scanners from=scanners", 6),
                rule("input", "block=scanners from=scanners", 1),
                rule("input", "limit=ssh", 5),
                rule("input", "service=ssh allow=any", 30),
                rule("input", "grants", 2),
                rule("input", "input policy drop", 9),
            ],
            1,
            1_000,
        );
        let labels: Vec<_> = book.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            ["block scanners", "ssh: over limit", "ssh", "grants"]
        );
        assert_eq!(book.rows[0].packets, 7);
        assert_eq!(book.rows[1].packets, 5);
    }

    #[test]
    fn counters_summed_through_the_kept_layout_match_a_fresh_grouping() {
        let tick = |i: u64| {
            vec![
                rule("input", "service=ssh allow=admin", 3 * i),
                rule("input", "ping", i),
                rule("input", "service=ssh allow=admin", 4 * i),
                rule("input", "input policy drop", 9 * i),
            ]
        };
        let (mut kept, mut fresh) = (RuleBook::default(), RuleBook::default());
        for i in 0..5u64 {
            kept.ingest(&tick(i), 7, 1_000 * i);
            fresh.ingest(&tick(i), i, 1_000 * i); // a new structure every time
            assert_eq!(kept.rows, fresh.rows);
            assert_eq!(kept.input_policy, fresh.input_policy);
        }
        assert_eq!(kept.rows[0].packets, 28);
        assert_eq!(kept.rows[0].rate, Some(7.0));
    }

    #[test]
    fn rows_say_since_when_they_count_and_what_they_counted_since_the_commit() {
        let with_handle = |h: u32, comment: &str, packets: u64| LiveRule {
            handle: Some(h),
            ..rule("input", comment, packets)
        };
        let mut book = RuleBook {
            counting: Some(Counting {
                table: "portcullis".into(),
                place: String::new(),
                later: Vec::new(),
                // ssh's v4 rule is old, its v6 rule came with commit c2; web is old.
                since: [(4, 100), (5, 900), (6, 100), (7, 100)].into(),
                baseline_commit: Some("c2".into()),
                baseline: [(4, 40), (5, 0), (6, 10), (7, 50)].into(),
            }),
            ..RuleBook::default()
        };
        book.ingest(
            &[
                with_handle(4, "service=ssh allow=admin", 42),
                with_handle(5, "service=ssh allow=admin", 3),
                with_handle(6, "service=web allow=any", 10),
                with_handle(7, "input policy drop", 57),
            ],
            1,
            1_000,
        );
        let ssh = &book.rows[0];
        assert_eq!((ssh.since_ms, ssh.since_mixed), (Some(900), true));
        assert_eq!(ssh.since_commit, Some(("c2".to_string(), 5)));
        assert_eq!(
            (book.rows[1].since_ms, book.rows[1].since_mixed),
            (Some(100), false)
        );
        let policy = book.input_policy.as_ref().expect("policy row");
        assert_eq!(policy.since_commit, Some(("c2".to_string(), 7)));
        // The evidence counts from the baseline, for the watched commit only.
        let watch = crate::app::review::Watch {
            commit: "c2".into(),
            services: None,
        };
        let rows = crate::app::review::evidence(&book, Some(&watch));
        let packets: Vec<u64> = rows.iter().map(|r| r.packets).collect();
        assert_eq!(packets, [5, 0, 7]);
        let other = crate::app::review::Watch {
            commit: "c3".into(),
            services: None,
        };
        let rows = crate::app::review::evidence(&book, Some(&other));
        assert_eq!(rows[0].packets, 45);
    }

    #[test]
    fn rates_come_from_counter_deltas_and_history_keeps_a_minute() {
        let mut book = RuleBook::default();
        for i in 0..=70u64 {
            book.ingest(
                &[rule("input", "service=web allow=any", i * 10)],
                1,
                1_000 + i * 500,
            );
        }
        let row = &book.rows[0];
        assert_eq!(row.rate, Some(20.0)); // 10 packets per half second
        assert_eq!(row.history.len(), HISTORY);
        // A replaced rule (counter reset) gives 0, not a negative rate.
        book.ingest(&[rule("input", "service=web allow=any", 5)], 1, 60_000);
        assert_eq!(book.rows[0].rate, Some(0.0));
    }
}
