//! The change that turns the live table into the compiled one, as one nft transaction that
//! names only what differs: rules deleted, replaced (in place, by handle) or added at their
//! place; set elements added and deleted (or a set flushed and refilled, when that is
//! shorter); sets added and deleted; a base chain's policy. Rules and sets it does not name
//! keep their handles and counters. Pure: objects in, commands out.
//!
//! The same function makes a rollback's inverse: the table as the commit left it, to the
//! table as it was before.
//!
//! ```text
//!   live (handles, elements)  ──between──>  Delta { commands }  ──script──>  nft -f
//!   wanted (compiled)         ──┘                   └── summary: what the diff shows
//! ```
//!
//! Whatever it cannot map (an object kind, a statement or a chain it does not know, a set
//! of another type) is a [`Unmappable`] reason, and the caller replaces the whole table.
//! Rule order is kept: the rules of each chain are aligned with a diff of their text, so
//! the result lists exactly the rules of the compiled table, in its order.

use std::collections::BTreeMap;

use nftables::schema::{Chain, NfListObject, Rule, Set};
use similar::{Algorithm, DiffOp, capture_diff_slices};

use super::intervals::{Family, Interval};
use super::live::{normalize, set_family, set_intervals};
use super::render::{self, RenderOptions};

/// One command of the transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    AddSet(Box<Set<'static>>),
    DeleteSet(String),
    FlushSet(String),
    AddElements {
        set: String,
        family: Family,
        elements: Vec<Interval>,
    },
    DeleteElements {
        set: String,
        family: Family,
        elements: Vec<Interval>,
    },
    /// A base chain declared again with a new policy.
    ChainPolicy(Box<Chain<'static>>),
    DeleteRule {
        chain: String,
        handle: u32,
    },
    /// `add rule … position H`: right after the rule of handle H.
    AddAfter {
        chain: String,
        anchor: u32,
        rule: Box<Rule<'static>>,
    },
    /// `insert rule … position H`: right before the rule of handle H.
    InsertBefore {
        chain: String,
        anchor: u32,
        rule: Box<Rule<'static>>,
    },
    /// At the end of the chain.
    Append {
        chain: String,
        rule: Box<Rule<'static>>,
    },
}

/// The commands, in an order nft accepts in one transaction: new sets before the rules
/// that use them, rules deleted before the sets they used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub commands: Vec<Command>,
    pub summary: Summary,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// Why the live table cannot be changed incrementally (the whole table is replaced).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unmappable(pub String);

fn unmappable(why: impl Into<String>) -> Unmappable {
    Unmappable(why.into())
}

/// The delta from `live` (listed objects of one table, with handles and set elements) to
/// `wanted` (objects of the same table; handles and counter values are ignored).
pub fn between(
    live: &[NfListObject<'static>],
    wanted: &[NfListObject<'static>],
) -> Result<Delta, Unmappable> {
    let live = Parts::of(live, Side::Live)?;
    let wanted = Parts::of(wanted, Side::Wanted)?;
    let mut delta = Delta::default();

    // Sets: new ones first, elements of changed ones next; removed ones at the very end.
    for (name, set) in &wanted.sets {
        match live.sets.get(name) {
            None => {
                delta
                    .commands
                    .push(Command::AddSet(Box::new((*set).clone())));
                delta.summary.sets_added += 1;
            }
            Some(old) => sets_delta(name, old, set, &mut delta)?,
        }
    }
    // Chains: the same names with the same hooks; a policy may change.
    if live.chains.keys().ne(wanted.chains.keys()) {
        return Err(unmappable(format!(
            "its chains ({}) are not the policy's ({})",
            join(live.chains.keys()),
            join(wanted.chains.keys())
        )));
    }
    for (name, want) in &wanted.chains {
        let have = live.chains[name];
        let same_hook =
            have._type == want._type && have.hook == want.hook && have.prio == want.prio;
        if !same_hook {
            return Err(unmappable(format!(
                "chain {name} is hooked differently from the policy's"
            )));
        }
        if have.policy != want.policy {
            delta
                .commands
                .push(Command::ChainPolicy(Box::new((*want).clone())));
            delta.summary.chains_changed += 1;
        }
    }
    for name in wanted.chains.keys() {
        let old = live.rules.get(name).map_or(&[][..], Vec::as_slice);
        let new = wanted.rules.get(name).map_or(&[][..], Vec::as_slice);
        chain_delta(name, old, new, &mut delta);
    }
    for name in live.sets.keys() {
        if !wanted.sets.contains_key(name) {
            delta.commands.push(Command::DeleteSet(name.clone()));
            delta.summary.sets_removed += 1;
        }
    }
    Ok(delta)
}

fn join<'a>(names: impl Iterator<Item = &'a &'a str>) -> String {
    names.copied().collect::<Vec<_>>().join(", ")
}

/// One rule as the alignment sees it: its text without handle or counter values.
struct RuleRef<'a> {
    key: String,
    handle: Option<u32>,
    rule: &'a Rule<'static>,
}

/// A table's objects sorted out, each checked to be one portcullis can change in place.
struct Parts<'a> {
    chains: BTreeMap<&'a str, &'a Chain<'static>>,
    sets: BTreeMap<String, &'a Set<'static>>,
    rules: BTreeMap<&'a str, Vec<RuleRef<'a>>>,
}

/// Which table a `Parts` is of: the kernel's (its rules have handles) or the compiled one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Live,
    Wanted,
}

impl<'a> Parts<'a> {
    fn of(objects: &'a [NfListObject<'static>], side: Side) -> Result<Parts<'a>, Unmappable> {
        let live = side == Side::Live;
        let side = match side {
            Side::Live => "the live table",
            Side::Wanted => "the policy",
        };
        let mut parts = Parts {
            chains: BTreeMap::new(),
            sets: BTreeMap::new(),
            rules: BTreeMap::new(),
        };
        for object in objects {
            match object {
                NfListObject::Table(_) => {}
                NfListObject::Chain(c) => {
                    parts.chains.insert(&c.name, c);
                }
                NfListObject::Set(s) => {
                    if set_family(s).is_none() && !super::grants::is_grant_set(&s.name) {
                        return Err(unmappable(format!(
                            "set {} of {side} is not a set of addresses portcullis makes",
                            s.name
                        )));
                    }
                    parts.sets.insert(s.name.to_string(), s);
                }
                NfListObject::Rule(r) => {
                    let NfListObject::Rule(normal) = normalize(object) else {
                        unreachable!("a rule normalises to a rule")
                    };
                    let key = render::rule(&normal, RenderOptions::default());
                    if key.contains("<not understood") {
                        return Err(unmappable(format!(
                            "a rule of chain {} in {side} is not one portcullis understands",
                            r.chain
                        )));
                    }
                    if live && r.handle.is_none() {
                        return Err(unmappable("a live rule has no handle"));
                    }
                    parts.rules.entry(&r.chain).or_default().push(RuleRef {
                        key,
                        handle: r.handle,
                        rule: r,
                    });
                }
                _ => {
                    return Err(unmappable(format!(
                        "{side} holds an object portcullis does not make"
                    )));
                }
            }
        }
        Ok(parts)
    }
}

fn sets_delta(
    name: &str,
    old: &Set<'static>,
    new: &Set<'static>,
    delta: &mut Delta,
) -> Result<(), Unmappable> {
    if old.set_type != new.set_type || old.flags != new.flags {
        return Err(unmappable(format!(
            "set {name} is declared differently from the policy's"
        )));
    }
    // Grants are the kernel's to expire: a commit carries them over and never changes them.
    if super::grants::is_grant_set(name) {
        return Ok(());
    }
    // The same elements written the same way (the usual case: a set the commit does not
    // change) need no parsing of 100,000 addresses.
    if old.elem == new.elem {
        return Ok(());
    }
    let family = set_family(new).unwrap_or(Family::V4);
    let unreadable = |side: &str| {
        unmappable(format!(
            "set {name} of {side} holds an element that is not an address"
        ))
    };
    let have = set_intervals(old).ok_or_else(|| unreadable("the live table"))?;
    let want = set_intervals(new).ok_or_else(|| unreadable("the policy"))?;
    if have == want {
        return Ok(());
    }
    let (added, removed) = difference(&have, &want);
    if added.len() + removed.len() > want.len() && !want.is_empty() {
        // Shorter to send the whole set again; atomic all the same, in one transaction.
        delta.commands.push(Command::FlushSet(name.to_string()));
        delta
            .summary
            .sets_changed
            .push((name.to_string(), want.len(), have.len(), true));
        delta.commands.push(Command::AddElements {
            set: name.to_string(),
            family,
            elements: want,
        });
        return Ok(());
    }
    delta
        .summary
        .sets_changed
        .push((name.to_string(), added.len(), removed.len(), false));
    if !removed.is_empty() {
        delta.commands.push(Command::DeleteElements {
            set: name.to_string(),
            family,
            elements: removed,
        });
    }
    if !added.is_empty() {
        delta.commands.push(Command::AddElements {
            set: name.to_string(),
            family,
            elements: added,
        });
    }
    Ok(())
}

/// (in `want` only, in `have` only), both sorted lists of intervals.
fn difference(have: &[Interval], want: &[Interval]) -> (Vec<Interval>, Vec<Interval>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < have.len() || j < want.len() {
        match (have.get(i), want.get(j)) {
            (Some(h), Some(w)) if h == w => {
                i += 1;
                j += 1;
            }
            (Some(h), Some(w)) if h < w => {
                removed.push(*h);
                i += 1;
            }
            (Some(h), None) => {
                removed.push(*h);
                i += 1;
            }
            (_, Some(w)) => {
                added.push(*w);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (added, removed)
}

/// The rules of one chain: kept where the texts align; otherwise the new rules are added
/// at their place and the old ones deleted. A block of rules that changed into another
/// block counts as replaced, though it too is added and deleted: nft's `replace rule`
/// fetches every set element of the table first (half a second at 100,000), `add rule …
/// position` and `delete rule … handle` do not.
fn chain_delta(chain: &str, old: &[RuleRef<'_>], new: &[RuleRef<'_>], delta: &mut Delta) {
    let old_keys: Vec<&str> = old.iter().map(|r| r.key.as_str()).collect();
    let new_keys: Vec<&str> = new.iter().map(|r| r.key.as_str()).collect();
    let mut deletes: Vec<u32> = Vec::new();
    // Runs of new rules, each placed after the old rule before it (kept or to be deleted:
    // all old rules exist until the deletes at the end), or before the first old rule.
    let mut runs: Vec<(Option<u32>, Vec<&Rule<'static>>)> = Vec::new();
    let mut last_old: Option<u32> = None;
    let mut pairs = 0;
    for op in capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys) {
        let (old_range, new_range) = match op {
            DiffOp::Equal { old_index, len, .. } => (old_index..old_index + len, 0..0),
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                deletes.extend(
                    old[old_index..old_index + old_len]
                        .iter()
                        .filter_map(|r| r.handle),
                );
                (old_index..old_index + old_len, 0..0)
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => (0..0, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                pairs += old_len.min(new_len);
                deletes.extend(
                    old[old_index..old_index + old_len]
                        .iter()
                        .filter_map(|r| r.handle),
                );
                (
                    old_index..old_index + old_len,
                    new_index..new_index + new_len,
                )
            }
        };
        if let Some(r) = old_range.clone().last() {
            last_old = old[r].handle;
        }
        if !new_range.is_empty() {
            runs.push((last_old, new[new_range].iter().map(|r| r.rule).collect()));
        }
    }
    let added: usize = runs.iter().map(|(_, r)| r.len()).sum();
    let first_old = old.iter().find_map(|r| r.handle);
    for (anchor, rules) in runs {
        match (anchor, first_old) {
            // Each right after the anchor, so in reverse to keep their order.
            (Some(a), _) => {
                for rule in rules.into_iter().rev() {
                    delta.commands.push(Command::AddAfter {
                        chain: chain.to_string(),
                        anchor: a,
                        rule: Box::new(fresh(rule)),
                    });
                }
            }
            (None, Some(first)) => {
                for rule in rules {
                    delta.commands.push(Command::InsertBefore {
                        chain: chain.to_string(),
                        anchor: first,
                        rule: Box::new(fresh(rule)),
                    });
                }
            }
            (None, None) => {
                for rule in rules {
                    delta.commands.push(Command::Append {
                        chain: chain.to_string(),
                        rule: Box::new(fresh(rule)),
                    });
                }
            }
        }
    }
    // A replaced rule is one added and one deleted; it is counted as replaced only.
    delta.summary.rules_replaced += pairs;
    delta.summary.rules_added += added - pairs;
    delta.summary.rules_removed += deletes.len() - pairs;
    for handle in deletes {
        delta.commands.push(Command::DeleteRule {
            chain: chain.to_string(),
            handle,
        });
    }
}

/// A rule as it is to be written: no handle, counters from zero.
fn fresh(rule: &Rule<'static>) -> Rule<'static> {
    match normalize(&NfListObject::Rule(rule.clone())) {
        NfListObject::Rule(r) => r,
        _ => unreachable!("a rule normalises to a rule"),
    }
}

mod script;
mod summary;

pub use script::script;
pub use summary::Summary;

#[cfg(test)]
mod tests;
