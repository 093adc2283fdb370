//! Names that end up in the nft script: the table name, network and service names (which
//! become set names and comments) and interface names. Restricting them here is what makes
//! it impossible for a policy to inject nft syntax.

/// Words nft 1.0.6 refuses as a bare identifier (its scanner turns them into keywords).
/// Measured, not guessed: every word in libnftables' strings was tried as
/// `table inet WORD {}` with `nft -c`; these are the ones it rejected.
const NFT_RESERVED: &[&str] = &[
    "accept",
    "add",
    "ah",
    "all",
    "and",
    "arp",
    "auto-merge",
    "bridge",
    "cgroup",
    "chain",
    "comment",
    "comp",
    "constant",
    "continue",
    "counter",
    "cpu",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "describe",
    "device",
    "devices",
    "dnat",
    "drop",
    "dst",
    "dup",
    "dynamic",
    "ecn",
    "element",
    "elements",
    "esp",
    "ether",
    "exists",
    "expires",
    "export",
    "exthdr",
    "fib",
    "flags",
    "flow",
    "flowtable",
    "flush",
    "frag",
    "fwd",
    "gc-interval",
    "get",
    "goto",
    "handle",
    "hbh",
    "hook",
    "hour",
    "ibriport",
    "ibrname",
    "icmp",
    "icmpv6",
    "igmp",
    "iif",
    "iifgroup",
    "iifname",
    "iiftype",
    "import",
    "include",
    "index",
    "inet",
    "insert",
    "interval",
    "ip",
    "ip6",
    "ipsec",
    "jhash",
    "jump",
    "limit",
    "list",
    "log",
    "lt",
    "map",
    "mark",
    "masquerade",
    "meta",
    "meter",
    "mh",
    "missing",
    "monitor",
    "netdev",
    "nftrace",
    "not",
    "notrack",
    "numgen",
    "obriport",
    "obrname",
    "offload",
    "oif",
    "oifgroup",
    "oifname",
    "oiftype",
    "or",
    "osf",
    "pkttype",
    "policy",
    "position",
    "priority",
    "queue",
    "quota",
    "random",
    "redefine",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "rt",
    "rt0",
    "rt2",
    "rtclassid",
    "rule",
    "ruleset",
    "sctp",
    "secmark",
    "set",
    "size",
    "skgid",
    "skuid",
    "snat",
    "socket",
    "srh",
    "symhash",
    "synproxy",
    "table",
    "tcp",
    "th",
    "time",
    "timeout",
    "tproxy",
    "type",
    "typeof",
    "udp",
    "udplite",
    "undefine",
    "update",
    "vlan",
    "vmap",
    "xt",
];

/// Longest table name we accept (nft's own limit is 255 bytes).
pub const MAX_TABLE_NAME: usize = 64;
/// Longest network or service name: they become part of set names and rule comments,
/// and a comment holds at most 128 bytes.
pub const MAX_OBJECT_NAME: usize = 32;
/// IFNAMSIZ is 16 including the terminating NUL.
pub const MAX_INTERFACE_NAME: usize = 15;

/// Checks the name of the table portcullis owns.
pub fn validate_table_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the table name is empty; the default is \"portcullis\"".into());
    }
    if name.len() > MAX_TABLE_NAME {
        return Err(format!(
            "table name is {} bytes long; at most {MAX_TABLE_NAME} are allowed",
            name.len()
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(format!(
            "table name {name:?} is not a valid nft identifier: start with a letter or '_', \
             then letters, digits, '_', '-' or '.' (for example \"portcullis\")"
        ));
    }
    if is_reserved(name) {
        return Err(format!(
            "table name {name:?} is an nft keyword and nft would reject it; choose another \
             name, such as \"portcullis\" or \"{name}_fw\""
        ));
    }
    Ok(())
}

/// Checks a network or service name (`what` is "network" or "service").
pub fn validate_object_name(what: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) {
        return Err(format!(
            "{what} name {name:?} is not allowed: start with a letter, then letters, digits, \
             '_' or '-' (for example \"admin_hosts\")"
        ));
    }
    if name.len() > MAX_OBJECT_NAME {
        return Err(format!(
            "{what} name {name:?} is {} bytes long; at most {MAX_OBJECT_NAME} are allowed",
            name.len()
        ));
    }
    Ok(())
}

/// Checks an interface name as the kernel and nft's `iifname` accept it. A trailing `*`
/// matches every interface with that prefix (`"veth*"`).
pub fn validate_interface_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".into());
    }
    if name.len() > MAX_INTERFACE_NAME {
        return Err(format!(
            "interface name {name:?} is {} bytes long; Linux allows at most {MAX_INTERFACE_NAME}",
            name.len()
        ));
    }
    let body = name.strip_suffix('*').unwrap_or(name);
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "interface name {name:?} is not allowed: use letters, digits, '_', '-' or '.', \
             optionally ending in '*' to match a prefix (for example \"eth1\" or \"veth*\")"
        ));
    }
    if body == "." || body == ".." {
        return Err(format!(
            "interface name {name:?} is not a valid Linux interface name"
        ));
    }
    Ok(())
}

fn is_reserved(name: &str) -> bool {
    NFT_RESERVED.contains(&name)
}

/// Whether interface `name` matches `pattern` as nft's `iifname` does: exactly, or by
/// prefix when the pattern ends in `*`.
pub fn interface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_nft_rejects_are_refused() {
        for bad in [
            "tcp", "ip", "accept", "counter", "1abc", "a b", "x\"y", "", "a{",
        ] {
            assert!(
                validate_table_name(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        for good in ["portcullis", "filter", "nat", "my-fw", "_x", "fw.1", "Fw2"] {
            assert!(
                validate_table_name(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn interface_names_follow_linux_limits() {
        assert!(validate_interface_name("eth1").is_ok());
        assert!(validate_interface_name("veth*").is_ok());
        assert!(validate_interface_name("abcdefghijklmno").is_ok());
        assert!(validate_interface_name("abcdefghijklmnop").is_err());
        assert!(validate_interface_name("eth\"0").is_err());
        assert!(validate_interface_name("*").is_err());
        assert!(validate_interface_name("..").is_err());
    }
}
