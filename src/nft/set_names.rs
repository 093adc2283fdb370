//! The names of the table's sets: what they hold, whose they are, and their family, in one
//! string (`net_admin_v4`, `svc_ssh_v6`). The compiler names sets here and readers of the
//! live table (the live exposure) read the names back here, so the two cannot drift. Pure.

use super::intervals::Family;

/// What a named set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// A network's addresses, when a service or block uses that network alone.
    Network,
    /// The union of a service's sources, when it allows several.
    Service,
    /// The host addresses of a service's `on`, when more than one.
    On,
    /// A block's sources, when more than one network.
    Block,
    /// A service's per-source meter of new connections (`limit`).
    Limit,
}

impl SetKind {
    const ALL: [SetKind; 5] = [
        SetKind::Network,
        SetKind::Service,
        SetKind::On,
        SetKind::Block,
        SetKind::Limit,
    ];

    fn prefix(self) -> &'static str {
        match self {
            SetKind::Network => "net_",
            SetKind::Service => "svc_",
            SetKind::On => "on_",
            SetKind::Block => "blk_",
            SetKind::Limit => "lim_",
        }
    }
}

fn suffix(family: Family) -> &'static str {
    match family {
        Family::V4 => "_v4",
        Family::V6 => "_v6",
    }
}

/// The set of `kind` for `owner` (a network, service or block name) and `family`.
pub fn set_name(kind: SetKind, owner: &str, family: Family) -> String {
    format!("{}{owner}{}", kind.prefix(), suffix(family))
}

/// A set name read back: its kind, owner and family; None for a set portcullis's compiler
/// does not name this way (the grant sets, or another tool's).
pub fn parse_set_name(name: &str) -> Option<(SetKind, &str, Family)> {
    let (rest, family) = if let Some(rest) = name.strip_suffix(suffix(Family::V4)) {
        (rest, Family::V4)
    } else {
        (name.strip_suffix(suffix(Family::V6))?, Family::V6)
    };
    SetKind::ALL
        .into_iter()
        .find_map(|k| {
            rest.strip_prefix(k.prefix())
                .map(|owner| (k, owner, family))
        })
        .filter(|(_, owner, _)| !owner.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_they_were_made() {
        for kind in SetKind::ALL {
            for family in [Family::V4, Family::V6] {
                let name = set_name(kind, "agents_2", family);
                assert_eq!(
                    parse_set_name(&name),
                    Some((kind, "agents_2", family)),
                    "{name}"
                );
            }
        }
        assert_eq!(
            set_name(SetKind::Network, "admin", Family::V4),
            "net_admin_v4"
        );
        assert_eq!(parse_set_name("grants_v4"), None);
        assert_eq!(parse_set_name("net__v4"), None);
    }
}
