//! The imported policy as TOML text, with what was not imported and what differs from ufw
//! as comments at the top. Pure.

use super::networks::{address, peer_words};
use super::*;

/// What the policy text is made of.
pub(super) struct Parts<'a> {
    pub(super) read_from: &'a [String],
    pub(super) not_imported: &'a [String],
    pub(super) differs: &'a [String],
    pub(super) defaults: &'a Defaults,
    pub(super) services: &'a [Item],
    pub(super) blocks: &'a [Item],
    pub(super) networks: &'a Networks,
}

/// The policy TOML: what was read, what was not imported and what differs (as comments),
/// then the settings, networks, services and blocks.
pub(super) fn policy_text(p: &Parts<'_>) -> String {
    let mut text = String::new();
    let from = if p.read_from.is_empty() {
        "ufw".to_string()
    } else {
        p.read_from.join(", ")
    };
    text.push_str(&format!(
        "# Imported from ufw by `portcullis import ufw` ({}).\n\
         # Review it, then: portcullis --policy FILE check, diff, apply.\n",
        comment_safe(&from)
    ));
    if !p.not_imported.is_empty() {
        text.push_str("#\n# NOT IMPORTED (a policy cannot say these; decide by hand):\n");
        for n in p.not_imported {
            push_comment_item(&mut text, n);
        }
    }
    text.push_str("#\n# DIFFERS FROM UFW:\n");
    for n in p.differs {
        push_comment_item(&mut text, n);
    }

    let policy_word = |p: DefaultPolicy| match p {
        DefaultPolicy::Allow => "accept",
        _ => "drop",
    };
    text.push_str(&format!(
        "\n[settings]\ninput_policy = \"{}\"\noutput_policy = \"{}\"\n\
         allow_ping = true                # ufw's before.rules accept ping too\n",
        policy_word(p.defaults.incoming),
        policy_word(p.defaults.outgoing)
    ));
    if !p.networks.named.is_empty() {
        text.push_str("\n[networks]\n");
        for (name, peers) in &p.networks.named {
            text.push_str(&format!("{name} = {}\n", list(&peer_words(peers))));
        }
    }
    for s in p.services {
        text.push_str(&format!("\n# ufw: {}\n", s.origins.join(", ")));
        text.push_str(&format!("[services.{}]\n", s.name));
        if let Some(d) = &s.description {
            text.push_str(&format!("description = {}\n", quote(&truncate(d, 200))));
        }
        text.push_str(&format!("ports = {}\n", list(&port_words(&s.ports))));
        text.push_str(&format!("allow = {}\n", list(&p.networks.refer(&s.peers))));
        if let Some(i) = &s.interface {
            text.push_str(&format!("interfaces = {}\n", list(std::slice::from_ref(i))));
        }
        if s.direction == Direction::Out {
            text.push_str("direction = \"out\"\n");
        }
        if let Some(l) = s.local {
            text.push_str(&format!("on = {}\n", list(&[address(l)])));
        }
        if s.limit {
            text.push_str("limit = \"10/minute\"\nburst = 5\n");
        }
    }
    for b in p.blocks {
        text.push_str(&format!("\n# ufw: {}\n", b.origins.join(", ")));
        text.push_str(&format!("[blocks.{}]\n", b.name));
        if let Some(d) = &b.description {
            text.push_str(&format!("description = {}\n", quote(&truncate(d, 200))));
        }
        text.push_str(&format!(
            "from = {}\n",
            list(&p.networks.refer_block(&b.peers))
        ));
        if !b.ports.is_empty() {
            text.push_str(&format!("ports = {}\n", list(&port_words(&b.ports))));
        }
        if b.action == Action::Reject {
            text.push_str("action = \"reject\"\n");
        }
        if b.direction == Direction::Out {
            text.push_str("direction = \"out\"\n");
        }
    }
    text
}

pub(super) fn port_words(ports: &Ports) -> Vec<String> {
    ports
        .iter()
        .map(|(&(a, b), &(tcp, udp))| {
            let range = if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            };
            let proto = match (tcp, udp) {
                (true, true) => "tcp+udp",
                (true, false) => "tcp",
                _ => "udp",
            };
            format!("{range}/{proto}")
        })
        .collect()
}

pub(super) fn list(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!("[{}]", quoted.join(", "))
}

pub(super) fn quote(text: &str) -> String {
    toml_edit::Value::from(text).to_string()
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].chars().filter(|c| !c.is_control()).collect()
}

/// Text from the files, made safe to sit in a `#` comment (no line breaks).
pub(super) fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One item of a comment list, wrapped at about 90 columns.
pub(super) fn push_comment_item(out: &mut String, item: &str) {
    let mut line = String::from("# -");
    for word in comment_safe(item).split(' ').filter(|w| !w.is_empty()) {
        if line.len() + 1 + word.len() > 92 && line.len() > 4 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}
