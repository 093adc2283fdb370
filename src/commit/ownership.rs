//! Which table is ours. portcullis marks the table it creates with a table comment, which
//! survives listings, reboots (restore loads it with the script) and hand edits of rules;
//! it replaces or deletes a table of its policy's name only if the table carries the mark,
//! or was made by an earlier version (unmarked, but with our catch-all rules), or the
//! operator said `--adopt`. Pure: it reads the terse text listing (`nft -t list ruleset`,
//! the only cheap listing that shows table comments).

/// The mark, as the table comment says it.
pub use crate::nft::script::OWNER_MARK as MARK;

/// Whose a table of our name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// There is no such table.
    Absent,
    /// It carries our mark.
    Ours,
    /// An earlier version of portcullis made it (no mark, our catch-all rules): ours, and
    /// marked at its next commit.
    Earlier,
    /// Someone else's; `hint` names who, where the name or contents tell.
    Foreign { hint: Option<String> },
}

impl Owner {
    /// Whether portcullis may replace or delete the table: it is ours, or there is none.
    pub fn may_replace(&self) -> bool {
        !matches!(self, Owner::Foreign { .. })
    }
}

/// Whose `table inet NAME` is, from the terse text listing of the ruleset.
pub fn owner(listing: &str, table: &str) -> Owner {
    let Some(block) = table_block(listing, table) else {
        return Owner::Absent;
    };
    let comment = block
        .lines()
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("comment \""))
        .and_then(|c| c.strip_suffix('"'));
    if comment == Some(MARK) {
        return Owner::Ours;
    }
    let ours_before = ["input", "output"]
        .iter()
        .all(|chain| block.contains(&format!("comment \"{chain} policy ")));
    if comment.is_none() && ours_before {
        return Owner::Earlier;
    }
    Owner::Foreign {
        hint: hint(table, block),
    }
}

/// The lines of `table inet NAME { … }` in a text listing.
fn table_block<'a>(listing: &'a str, table: &str) -> Option<&'a str> {
    let head = format!("table inet {table} {{\n");
    let start = if listing.starts_with(&head) {
        0
    } else {
        listing.find(&format!("\n{head}"))? + 1
    };
    let rest = &listing[start..];
    let end = rest.find("\n}\n").map_or(rest.len(), |i| i + 3);
    Some(&rest[..end])
}

/// Who may own a table, from what other tools call theirs.
fn hint(table: &str, block: &str) -> Option<String> {
    let by_name = match table {
        "filter" => Some(
            "the nftables service's /etc/nftables.conf (Debian's default ruleset) or a hand-made ruleset",
        ),
        "firewalld" => Some("firewalld"),
        "f2b-table" | "fail2ban" => Some("fail2ban"),
        "crowdsec" | "crowdsec6" => Some("CrowdSec's firewall bouncer"),
        "libvirt" | "libvirt_network" => Some("libvirt"),
        "lxd" => Some("LXD"),
        "incus" => Some("Incus"),
        "docker" | "docker-bridges" => Some("Docker"),
        "nixos-fw" => Some("NixOS's firewall"),
        "ufw" => Some("ufw"),
        _ => None,
    };
    by_name.map(str::to_string).or_else(|| {
        let comment = block.lines().nth(1)?.trim().strip_prefix("comment ")?;
        Some(format!("whatever wrote its comment, {comment}"))
    })
}

/// What refusing to touch a table that is not ours says.
pub fn refusal(table: &str, owner: &Owner, doing: &str) -> String {
    let who = match owner {
        Owner::Foreign { hint: Some(h) } => format!(" (probably {h})"),
        _ => String::new(),
    };
    format!(
        "table inet {table} exists and was not made by portcullis{who}; not {doing} it. \
         Choose another name with `table = \"...\"` in [settings], or take it over with \
         `portcullis apply --adopt` (snapshotted like any commit, so it can be rolled back)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "table ip nat {\n\tchain c {\n\t}\n}\n\
        table inet portcullis {\n\tcomment \"managed by portcullis: edit its policy, not this table\"\n\tchain input {\n\t}\n}\n\
        table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n\
        table inet old {\n\tchain input {\n\t\tcounter packets 0 bytes 0 comment \"input policy drop\"\n\t}\n\tchain output {\n\t\tcounter packets 0 bytes 0 comment \"output policy accept\"\n\t}\n}\n\
        table inet other {\n\tcomment \"made by hand\"\n}\n";

    #[test]
    fn the_mark_makes_a_table_ours() {
        assert_eq!(owner(LISTING, "portcullis"), Owner::Ours);
        assert_eq!(owner(LISTING, "missing"), Owner::Absent);
        assert_eq!(owner(LISTING, "nat"), Owner::Absent, "another family");
    }

    #[test]
    fn an_unmarked_table_with_our_catch_all_rules_is_an_earlier_versions() {
        assert_eq!(owner(LISTING, "old"), Owner::Earlier);
        assert!(owner(LISTING, "old").may_replace());
    }

    #[test]
    fn anything_else_is_foreign_and_the_refusal_says_whose_and_what_to_do() {
        let filter = owner(LISTING, "filter");
        assert!(!filter.may_replace());
        let said = refusal("filter", &filter, "replacing");
        assert!(said.contains("/etc/nftables.conf"), "{said}");
        assert!(
            said.contains("--adopt") && said.contains("table = "),
            "{said}"
        );
        let other = owner(LISTING, "other");
        assert_eq!(
            other,
            Owner::Foreign {
                hint: Some("whatever wrote its comment, \"made by hand\"".into())
            }
        );
    }
}
