//! The sockets pane's model: each listener with its exposure under the policy file and
//! under the live table, and the services that cover it (which is how the two panes link).
//! Pure.

use crate::nft::live::LiveObject;
use crate::policy::Policy;
use crate::sockets::Listener;
use crate::sockets::exposure::{Exposure, covering, exposure};
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

/// The rows, sorted by port, protocol and address.
pub fn rows(
    listeners: Vec<Listener>,
    policy: Option<&Policy>,
    live: Option<&[LiveObject]>,
) -> Vec<SocketRow> {
    let mut rows: Vec<SocketRow> = listeners
        .into_iter()
        .map(|l| SocketRow {
            policy: policy.map(|p| exposure(p, &l)),
            live: live.and_then(|objects| live_exposure(objects, &l)),
            services: policy
                .map(|p| covering(p, &l).iter().map(|s| s.name.clone()).collect())
                .unwrap_or_default(),
            listener: l,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &SocketRow| (r.listener.port, r.listener.protocol, r.listener.address);
        key(a).cmp(&key(b))
    });
    rows
}
