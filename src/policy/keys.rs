//! Every key the policy file knows, with what it means: the validator's list of valid keys
//! (so a misspelt key is named with its neighbours) and the manual page's POLICY FILE
//! section come from here, so the two cannot disagree. Pure data.

/// One key of a table of the policy file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    /// What it takes, in a few words (for the manual).
    pub value: &'static str,
    /// What it means, one sentence or two.
    pub doc: &'static str,
}

const fn key(name: &'static str, value: &'static str, doc: &'static str) -> Key {
    Key { name, value, doc }
}

/// `[settings]`.
pub const SETTINGS: &[Key] = &[
    key(
        "table",
        "name",
        "The inet table portcullis owns (default portcullis).",
    ),
    key(
        "input_policy",
        "\"drop\" | \"accept\"",
        "What the input chain does with what no rule accepts (default drop).",
    ),
    key(
        "output_policy",
        "\"drop\" | \"accept\"",
        "The same for the output chain (default accept).",
    ),
    key(
        "allow_ping",
        "bool",
        "ICMP and ICMPv6 echo requests in (default true); IPv6 neighbour discovery is always allowed.",
    ),
    key(
        "confirm_timeout",
        "duration",
        "How long a commit waits to be confirmed before it rolls back, 5s to 24h (default 30s).",
    ),
    key(
        "confirm",
        "\"any-session\" | \"new-session\"",
        "Who may confirm: any session, or only one that started after the commit (default any-session).",
    ),
    key(
        "drop_log",
        "bool",
        "The default drops log over NFLOG, rate-limited in the kernel (default true).",
    ),
    key("drop_log_group", "0-65535", "The NFLOG group (default 47)."),
    key(
        "drop_log_rate",
        "1-10000",
        "Log lines per second, at most, per dropping rule (default 50).",
    ),
    key(
        "drop_log_burst",
        "1-100000",
        "Lines allowed at once above the rate (default 100).",
    ),
];

/// The keys of `[services.NAME]`, one variant each. The validator's key list, the manual,
/// the form's fields and the policy document's reading and writing of a service are all
/// made from [`ServiceKey::ALL`], so a new key is added here and the compiler points at
/// every `match` that must learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Description,
    Ports,
    Allow,
    Interfaces,
    Direction,
    On,
    Limit,
    Burst,
}

/// What a key holds, as the form edits it and the document writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A list of strings.
    List,
    /// One string.
    Text,
    /// A number, written as a TOML integer when it is one.
    Number,
}

impl ServiceKey {
    /// In the order the file, the manual and the form list them.
    pub const ALL: [ServiceKey; 8] = [
        ServiceKey::Description,
        ServiceKey::Ports,
        ServiceKey::Allow,
        ServiceKey::Interfaces,
        ServiceKey::Direction,
        ServiceKey::On,
        ServiceKey::Limit,
        ServiceKey::Burst,
    ];

    pub const fn key(self) -> Key {
        match self {
            ServiceKey::Description => key("description", "text", "One line, at most 200 bytes."),
            ServiceKey::Ports => key(
                "ports",
                "[\"22/tcp\", \"9000-9001/tcp\", \"53/tcp+udp\"]",
                "The ports, with their protocols (required).",
            ),
            ServiceKey::Allow => key(
                "allow",
                "[network names, addresses, prefixes or \"any\"]",
                "Who may reach it; for direction \"out\", where it may go (required).",
            ),
            ServiceKey::Interfaces => key(
                "interfaces",
                "[\"eth1\", \"veth*\"]",
                "Only on these interfaces (in: input, out: output); all when absent.",
            ),
            ServiceKey::Direction => key(
                "direction",
                "\"in\" | \"out\" | \"both\"",
                "New connections to this host (default), from it, or both ways on the same ports.",
            ),
            ServiceKey::On => key(
                "on",
                "[network names, addresses or prefixes]",
                "The host's own addresses it is reachable on (its entry points); all when absent.",
            ),
            ServiceKey::Limit => key(
                "limit",
                "\"10/minute\" (per second, minute, hour or day)",
                "New connections per source address; beyond it they are dropped and counted. Inbound only.",
            ),
            ServiceKey::Burst => key(
                "burst",
                "1-10000",
                "Connections allowed at once above the limit (default 5); needs limit.",
            ),
        }
    }
}

/// The keys of `[blocks.NAME]`, one variant each, as [`ServiceKey`] is for services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockKey {
    Description,
    From,
    Ports,
    Action,
    Direction,
}

impl BlockKey {
    pub const ALL: [BlockKey; 5] = [
        BlockKey::Description,
        BlockKey::From,
        BlockKey::Ports,
        BlockKey::Action,
        BlockKey::Direction,
    ];

    pub const fn key(self) -> Key {
        match self {
            BlockKey::Description => key("description", "text", "One line, at most 200 bytes."),
            BlockKey::From => key(
                "from",
                "[network names, addresses or prefixes]",
                "Who is refused; for direction \"out\", where nothing may go (required).",
            ),
            BlockKey::Ports => key(
                "ports",
                "[\"22/tcp\", ...]",
                "Only these ports; every port and protocol when absent.",
            ),
            BlockKey::Action => key(
                "action",
                "\"drop\" | \"reject\"",
                "Drop silently (default), or reject: a TCP reset, an ICMP port unreachable for the rest.",
            ),
            BlockKey::Direction => key(
                "direction",
                "\"in\" | \"out\" | \"both\"",
                "Traffic to this host (default), from it, or both. Blocks come before every service.",
            ),
        }
    }
}

/// What the policy document and the forms need of a key of a service or a block.
pub trait FieldKey: Copy + 'static {
    /// Every key, in the order the file, the manual and the form list them.
    const ALL: &'static [Self];
    /// Its name, what it takes and what it means.
    fn key(self) -> Key;
    fn name(self) -> &'static str {
        self.key().name
    }
    fn kind(self) -> ValueKind;
    /// Every table has it (kept even when empty, for `check` to name).
    fn required(self) -> bool;
    /// The value that is the default, left out of the file when chosen.
    fn default_word(self) -> Option<&'static str>;
}

impl FieldKey for ServiceKey {
    const ALL: &'static [ServiceKey] = &ServiceKey::ALL;
    fn key(self) -> Key {
        ServiceKey::key(self)
    }
    fn kind(self) -> ValueKind {
        match self {
            ServiceKey::Ports | ServiceKey::Allow | ServiceKey::Interfaces | ServiceKey::On => {
                ValueKind::List
            }
            ServiceKey::Description | ServiceKey::Direction | ServiceKey::Limit => ValueKind::Text,
            ServiceKey::Burst => ValueKind::Number,
        }
    }
    fn required(self) -> bool {
        matches!(self, ServiceKey::Ports | ServiceKey::Allow)
    }
    fn default_word(self) -> Option<&'static str> {
        match self {
            ServiceKey::Direction => Some("in"),
            _ => None,
        }
    }
}

impl FieldKey for BlockKey {
    const ALL: &'static [BlockKey] = &BlockKey::ALL;
    fn key(self) -> Key {
        BlockKey::key(self)
    }
    fn kind(self) -> ValueKind {
        match self {
            BlockKey::From | BlockKey::Ports => ValueKind::List,
            BlockKey::Description | BlockKey::Action | BlockKey::Direction => ValueKind::Text,
        }
    }
    fn required(self) -> bool {
        self == BlockKey::From
    }
    fn default_word(self) -> Option<&'static str> {
        match self {
            BlockKey::Action => Some("drop"),
            BlockKey::Direction => Some("in"),
            _ => None,
        }
    }
}

/// The keys of `[services.NAME]` (`ServiceKey`) or `[blocks.NAME]` (`BlockKey`), in order.
pub fn keys_of<K: FieldKey>() -> Vec<Key> {
    K::ALL.iter().map(|k| k.key()).collect()
}

/// The names of `keys`, for the validator's messages.
pub fn names(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}
