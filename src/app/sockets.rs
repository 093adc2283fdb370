//! The sockets pane's model: each listener with its exposure under the policy file and
//! under the live table, and the services that cover it (which is how the two panes link).
//! Pure.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::nft::live::LiveObject;
use crate::policy::{Policy, Protocol};
use crate::sockets::Listener;
use crate::sockets::exposure::{Exposure, blocked_by, covering, exposure, reachable_on};
use crate::sockets::live_exposure::live_exposure;

#[derive(Debug, Clone, PartialEq)]
pub struct SocketRow {
    pub listener: Listener,
    /// Under the policy file; None without a valid policy.
    pub policy: Option<Exposure>,
    /// Under the table the kernel runs; None when it is absent, unreadable or not ours to
    /// read.
    pub live: Option<Exposure>,
    /// The policy services whose ports cover the socket.
    pub services: Vec<String>,
    /// The host's addresses (the services' `on`) where a socket bound to all of them is
    /// reached; empty for all of them.
    pub on: Vec<String>,
    /// The blocks that refuse some sources on its port first.
    pub blocked_by: Vec<String>,
}

/// What `/` matches a socket row against: port, protocol, address, process, services.
pub fn haystack(s: &SocketRow) -> String {
    let l = &s.listener;
    let process = l
        .process
        .as_ref()
        .map_or(String::new(), |p| format!("{}/{}", p.name, p.pid));
    format!(
        "{} {} {} {process} {} {}",
        l.port,
        l.protocol,
        l.address,
        l.service.as_deref().unwrap_or(""),
        s.services.join(" ")
    )
}

impl SocketRow {
    /// What the pane shows: the kernel's answer when known, else the policy's.
    pub fn shown(&self) -> Option<&Exposure> {
        self.live.as_ref().or(self.policy.as_ref())
    }

    /// The policy file and the kernel disagree (the policy is not applied yet).
    pub fn differs(&self) -> bool {
        matches!((&self.live, &self.policy), (Some(l), Some(p)) if l != p)
    }

    /// Whether the chain policy decides new connections to it.
    pub fn uncovered(&self) -> bool {
        matches!(self.shown(), Some(Exposure::Uncovered))
    }
}

/// Each socket's exposures, remembered between refreshes. They depend only on what the
/// socket is bound to, on the policy and on the live rules' text, none of which changes on
/// a normal tick (the counters do); recomputing them for 1,000 sockets against 1,000 rules
/// every second cost 5% of a core.
#[derive(Debug, Default)]
pub struct ExposureCache {
    /// The policy generation and live-rules structure the answers hold for.
    basis: Option<(u64, Option<u64>)>,
    answers: HashMap<SocketKey, Answer>,
}

/// What a socket's exposure depends on: protocol, address, port, dual-stack, device.
type SocketKey = (Protocol, IpAddr, u16, bool, Option<String>);

#[derive(Debug, Clone)]
struct Answer {
    policy: Option<Exposure>,
    live: Option<Exposure>,
    services: Vec<String>,
    on: Vec<String>,
    blocked_by: Vec<String>,
}

/// The live table as the sockets pane needs it: its objects, and its structure (which
/// changes with the objects, not with the counters).
pub struct LiveTable<'a> {
    pub objects: &'a [LiveObject],
    pub structure: u64,
}

impl ExposureCache {
    /// The rows, sorted by port, protocol and address. `policy_generation` changes
    /// whenever the policy does.
    pub fn rows(
        &mut self,
        listeners: Vec<Listener>,
        policy: Option<&Policy>,
        policy_generation: u64,
        live: Option<LiveTable<'_>>,
    ) -> Vec<SocketRow> {
        let basis = (policy_generation, live.as_ref().map(|t| t.structure));
        if self.basis != Some(basis) {
            self.basis = Some(basis);
            self.answers.clear();
        }
        let mut rows: Vec<SocketRow> = listeners
            .into_iter()
            .map(|l| {
                let key = (
                    l.protocol,
                    l.address,
                    l.port,
                    l.dual_stack,
                    l.interface.clone(),
                );
                let answer = self
                    .answers
                    .entry(key)
                    .or_insert_with(|| Answer {
                        policy: policy.map(|p| exposure(p, &l)),
                        live: live.as_ref().and_then(|t| live_exposure(t.objects, &l)),
                        services: policy
                            .map(|p| covering(p, &l).iter().map(|s| s.name.clone()).collect())
                            .unwrap_or_default(),
                        on: policy.map(|p| reachable_on(p, &l)).unwrap_or_default(),
                        blocked_by: policy.map(|p| blocked_by(p, &l)).unwrap_or_default(),
                    })
                    .clone();
                SocketRow {
                    listener: l,
                    policy: answer.policy,
                    live: answer.live,
                    services: answer.services,
                    on: answer.on,
                    blocked_by: answer.blocked_by,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &SocketRow| (r.listener.port, r.listener.protocol, r.listener.address);
            key(a).cmp(&key(b))
        });
        // Sockets that closed leave their answers behind; drop them once they outnumber
        // the open ones, so a machine that churns ports doesn't grow the cache for ever.
        if self.answers.len() > 2 * rows.len() + 64 {
            self.answers.clear();
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Protocol, parse};
    use crate::sockets::test_listener;

    #[test]
    fn answers_are_kept_while_nothing_they_depend_on_changes() {
        let open =
            parse("[services.web]\nports = [\"80/tcp\"]\nallow = [\"any\"]\n").expect("valid");
        let closed = parse("").expect("valid");
        let sockets = || vec![test_listener(Protocol::Tcp, "0.0.0.0", 80, false, None)];
        let mut cache = ExposureCache::default();
        let shown = |rows: Vec<SocketRow>| rows[0].policy.clone();

        assert_eq!(
            shown(cache.rows(sockets(), Some(&open), 1, None)),
            Some(Exposure::Anyone)
        );
        // The same generation: the cached answer, even though a different policy is passed
        // (which is how we see the cache is used).
        assert_eq!(
            shown(cache.rows(sockets(), Some(&closed), 1, None)),
            Some(Exposure::Anyone)
        );
        // A new generation recomputes.
        assert_eq!(
            shown(cache.rows(sockets(), Some(&closed), 2, None)),
            Some(Exposure::Uncovered)
        );

        // The same live structure keeps the answers; another one drops them.
        let objects: Vec<LiveObject> = Vec::new();
        let live = |structure| {
            Some(LiveTable {
                objects: &objects,
                structure,
            })
        };
        cache.rows(sockets(), Some(&open), 3, live(7));
        let basis = cache.basis;
        cache.rows(sockets(), Some(&open), 3, live(7));
        assert_eq!(cache.basis, basis, "only counters changed");
        cache.rows(sockets(), Some(&open), 3, live(8));
        assert_ne!(cache.basis, basis, "a rule changed");
    }
}
