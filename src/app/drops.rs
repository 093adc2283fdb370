//! The drops pane's behaviour: the drop log as the last refresh brought it, each line with
//! what the policy and the sockets say about it; the default-drop row leading to it; and
//! the one key that offers the ways in for a drop and opens the prefilled form (the diff
//! and the commit window follow as for any edit). Also which drops came from the
//! operators' own peers, for the countdown.

use std::net::IpAddr;

use ipnet::IpNet;

use super::form::Form;
use super::observation::DropFeed;
use super::rules::RowKind;
use super::{App, Focus, Modal, Notice};
use crate::drops::packet::Proto;
use crate::drops::ways::{WayIn, ways_in};
use crate::drops::{Attribution, Entry, explain};
use crate::nft::droplog::Reason;
use crate::policy::document::ServiceDraft;

/// One line of the pane.
#[derive(Debug, Clone, PartialEq)]
pub struct DropRow {
    pub entry: Entry,
    pub attribution: Attribution,
    /// The attribution in one line.
    pub why: String,
    /// From an address an operator is connected from.
    pub from_operator: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DropsPane {
    pub feed: DropFeed,
    /// The rows shown: all of them, or those the `/` filter lets through.
    pub rows: Vec<DropRow>,
    /// Every row of the last refresh.
    pub all_rows: Vec<DropRow>,
    pub operator_peers: Vec<IpAddr>,
}

/// The ways in offered for one drop.
#[derive(Debug, Clone, PartialEq)]
pub struct LetIn {
    /// `203.0.113.9 → 9001/tcp`.
    pub drop: String,
    /// Said above the choices: nothing listens there, so allowing it would not help.
    pub warning: Option<String>,
    pub ways: Vec<WayIn>,
    pub selected: usize,
}

impl DropsPane {
    pub fn ingest(
        &mut self,
        feed: DropFeed,
        peers: Vec<IpAddr>,
        policy: Option<&crate::policy::Policy>,
        listeners: &[crate::sockets::Listener],
    ) {
        let empty = crate::policy::Policy::default();
        let policy = policy.unwrap_or(&empty);
        self.all_rows = match &feed {
            DropFeed::Reading { entries, .. } => entries
                .iter()
                .map(|entry| {
                    let attribution = explain(policy, Some(listeners), entry);
                    DropRow {
                        why: crate::drops::explain::summary(&attribution, entry.key.port),
                        from_operator: peers.contains(&entry.key.source),
                        attribution,
                        entry: entry.clone(),
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        self.rows = self.all_rows.clone();
        self.feed = feed;
        self.operator_peers = peers;
    }

    /// Narrows the rows to those holding every word of `filter` (source, port, protocol,
    /// interface, why).
    pub fn filter(&mut self, filter: &str) {
        self.rows = self
            .all_rows
            .iter()
            .filter(|r| {
                let e = &r.entry;
                let text = format!(
                    "{} {} {} {} {}",
                    e.describe(),
                    e.key.proto,
                    e.interface.as_deref().unwrap_or(""),
                    r.why,
                    if r.from_operator { "your peer" } else { "" }
                );
                super::filter::matches(filter, &text)
            })
            .cloned()
            .collect();
    }

    /// Drops from the operators' peers seen at or after `since_ms` (wall clock), filter or
    /// not (the countdown must see them all).
    pub fn from_operators_since(&self, since_ms: u64) -> Vec<&DropRow> {
        self.all_rows
            .iter()
            .filter(|r| r.from_operator && r.entry.last_ms >= since_ms)
            .collect()
    }
}

impl App {
    /// Enter on the overview: the default-drop row leads to its drops; on a drop, the ways in.
    pub(super) fn open_selected(&mut self) {
        match self.focus {
            Focus::Rules => {
                let row = self
                    .rule_table
                    .selected()
                    .and_then(|i| self.book.all().nth(i));
                if row.is_some_and(|r| matches!(r.key.kind, RowKind::InputPolicy(_))) {
                    self.focus = Focus::Drops;
                    super::overview::clamp(&mut self.drop_table, self.drops.rows.len());
                } else {
                    self.notice = Notice::info("⏎ on the default-drop row shows what it drops");
                }
            }
            Focus::Drops => self.let_in(),
            Focus::Sockets => self.notice = Notice::info("a makes a service for this socket"),
        }
    }

    /// The ways in for the selected drop, as a chooser.
    pub(super) fn let_in(&mut self) {
        let Some(row) = self
            .drop_table
            .selected()
            .and_then(|i| self.drops.rows.get(i))
            .cloned()
        else {
            self.notice = Notice::error("select a drop first");
            return;
        };
        let entry = &row.entry;
        if entry.by.reason == Reason::Invalid {
            self.notice = Notice::error(format!(
                "{} was dropped as invalid (no connection it belongs to): no rule lets those in",
                entry.describe()
            ));
            return;
        }
        if matches!(entry.key.proto, Proto::Icmp | Proto::Icmpv6) {
            self.notice = Notice::error(
                "ICMP echo is let in by settings.allow_ping; a service cannot name ICMP",
            );
            return;
        }
        self.open_editor();
        let Some(policy) = self
            .editor
            .as_ref()
            .and_then(|e| e.policy())
            .or(self.policy.as_ref())
        else {
            self.notice = Notice::error("the policy file cannot be edited (see the status bar)");
            return;
        };
        let ways = ways_in(policy, entry);
        if ways.is_empty() {
            self.notice = Notice::error(format!("no way in for {}", entry.describe()));
            return;
        }
        let warning = match (row.attribution.listening, entry.key.port) {
            (Some(false), Some(port)) => Some(format!(
                "nothing listens on {port}: allowing it would not help"
            )),
            _ => None,
        };
        self.modal = Modal::LetIn(LetIn {
            drop: entry.describe(),
            warning,
            ways,
            selected: 0,
        });
    }

    pub(super) fn move_let_in(&mut self, down: bool) {
        if let Modal::LetIn(l) = &mut self.modal {
            l.selected = if down {
                (l.selected + 1).min(l.ways.len().saturating_sub(1))
            } else {
                l.selected.saturating_sub(1)
            };
        }
    }

    /// The chosen way in, as the form that makes it (nothing is changed until it is done,
    /// saved and committed).
    pub(super) fn choose_way_in(&mut self) {
        let Modal::LetIn(l) = std::mem::take(&mut self.modal) else {
            return;
        };
        let Some(way) = l.ways.get(l.selected).cloned() else {
            return;
        };
        if let WayIn::Grant { service, source } = &way {
            // No edit: the grant's question, filled in.
            self.grant_from_drop(service, *source);
            return;
        }
        let Some(doc) = self.editor.as_ref().and_then(|e| e.doc()) else {
            self.notice = Notice::error("the policy file cannot be edited (see the status bar)");
            return;
        };
        let mut form = match &way {
            WayIn::Grant { .. } => return,
            WayIn::AddToNetwork {
                network, prefix, ..
            } => {
                let mut entries = doc.network(network).unwrap_or_default();
                entries.push(address_text(prefix));
                let mut form = Form::network(Some(network), network, &entries);
                form.focus = form
                    .fields
                    .iter()
                    .position(|f| f.key == "entries")
                    .unwrap_or(0);
                form
            }
            WayIn::NewService {
                port,
                proto,
                source,
            } => {
                let names = self
                    .editor
                    .as_ref()
                    .map(|e| e.names(super::editor::Section::Services));
                let taken = |n: &str| names.as_ref().is_some_and(|all| all.contains(&n));
                let base = self
                    .all_sockets
                    .iter()
                    .find(|s| {
                        s.listener.port == *port
                            && s.listener.protocol.as_str() == proto.to_string()
                    })
                    .and_then(|s| s.listener.service.clone())
                    .unwrap_or_else(|| format!("port-{port}"));
                let name = (1..)
                    .map(|i| {
                        if i == 1 {
                            base.clone()
                        } else {
                            format!("{base}-{i}")
                        }
                    })
                    .find(|n| !taken(n))
                    .unwrap_or(base);
                let draft = ServiceDraft {
                    ports: vec![format!("{port}/{proto}")],
                    allow: vec![address_text(source)],
                    ..ServiceDraft::default()
                };
                Form::service(None, &name, &draft)
            }
        };
        form.validate(doc);
        self.modal = Modal::Form(Box::new(form));
        self.notice = Notice::info(format!(
            "{}: finish the form, then d shows the diff and C commits",
            way.label()
        ));
    }
}

/// A host as the policy writes it (`203.0.113.9`), a prefix as `203.0.113.0/24`.
fn address_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}
