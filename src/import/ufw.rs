//! ufw's rules as ufw itself stores them: the `### tuple ###` lines of user.rules and
//! user6.rules (ufw's `backend_iptables.py` reads the same lines back), the default
//! policies of /etc/default/ufw, and the application profiles of applications.d. Pure.
//!
//! A tuple is `ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] DIRECTION [comment=HEX]`:
//!
//! ```text
//! ### tuple ### allow tcp 22 0.0.0.0/0 any 192.0.2.10 in comment=61646d696e
//! ### tuple ### allow tcp 22 ::/0 any ::/0 OpenSSH - in
//! ### tuple ### deny any any 203.0.113.0/24 any 0.0.0.0/0 out
//! ### tuple ### allow tcp 8080 10.1.1.1 any 0.0.0.0/0 in_eth1
//! ### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_eth0!out_eth1
//! ```
//!
//! ACTION may end in `_log` or `_log-all`; DPORT and SPORT are `any`, a port, `a:b` ranges
//! and commas; `0.0.0.0/0` and `::/0` mean anywhere, and say which family the rule is for.

use ipnet::IpNet;

/// What a ufw rule does with what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    #[default]
    Allow,
    Deny,
    Reject,
    /// Allow, but reject a source's seventh new connection within 30 seconds.
    Limit,
}

impl Action {
    pub fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "allow" => Action::Allow,
            "deny" => Action::Deny,
            "reject" => Action::Reject,
            "limit" => Action::Limit,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::Reject => "reject",
            Action::Limit => "limit",
        }
    }

    pub fn refuses(self) -> bool {
        matches!(self, Action::Deny | Action::Reject)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// The protocol a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proto {
    /// Every protocol; with ports, TCP and UDP (as ufw writes one iptables rule for each).
    Any,
    Tcp,
    Udp,
    /// ah, esp, gre, igmp, ipv6…: nothing a policy service can say.
    Other(String),
}

impl Proto {
    pub fn parse(word: &str) -> Proto {
        match word {
            "any" => Proto::Any,
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            other => Proto::Other(other.to_string()),
        }
    }
}

/// Which address families a rule is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
    /// A command line with no address: ufw adds it to both files.
    Both,
}

impl Family {
    pub fn has_v4(self) -> bool {
        matches!(self, Family::V4 | Family::Both)
    }
    pub fn has_v6(self) -> bool {
        matches!(self, Family::V6 | Family::Both)
    }
}

/// An address of a rule: anywhere (of the rule's family), or one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addr {
    Any,
    Net(IpNet),
}

/// One ufw rule, in the order ufw evaluates them (the first match decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    /// `log` or `log-all`: ufw logs what the rule matches.
    pub log: bool,
    /// A `route` rule: forwarded traffic, which portcullis does not manage.
    pub route: bool,
    pub direction: Direction,
    /// `in on eth1` (for direction in) or `out on eth1` (for out).
    pub interface: Option<String>,
    /// The other interface of a route rule, or an interface of the other direction.
    pub other_interface: Option<String>,
    pub proto: Proto,
    /// None: every port.
    pub dport: Option<Vec<(u16, u16)>>,
    pub sport: Option<Vec<(u16, u16)>>,
    pub dst: Addr,
    pub src: Addr,
    pub family: Family,
    /// The application profile the destination ports came from (`ufw allow OpenSSH`).
    pub dapp: Option<String>,
    pub sapp: Option<String>,
    pub comment: Option<String>,
    /// Where it was read: `user.rules:19`, `setup.sh:4`.
    pub origin: String,
    /// The line as written, for the notes.
    pub text: String,
}

/// A line the readers could not turn into a rule, or a rule part the policy cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub origin: String,
    pub text: String,
    pub why: String,
}

/// What ufw does with what no rule decides, per direction (/etc/default/ufw, or
/// `ufw default ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub incoming: DefaultPolicy,
    pub outgoing: DefaultPolicy,
    pub routed: DefaultPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    Allow,
    Deny,
    Reject,
}

impl DefaultPolicy {
    pub fn parse(word: &str) -> Option<DefaultPolicy> {
        Some(match word.to_ascii_lowercase().as_str() {
            "accept" | "allow" => DefaultPolicy::Allow,
            "drop" | "deny" => DefaultPolicy::Deny,
            "reject" => DefaultPolicy::Reject,
            _ => return None,
        })
    }
}

impl Default for Defaults {
    /// ufw's own: deny incoming, allow outgoing, deny routed.
    fn default() -> Defaults {
        Defaults {
            incoming: DefaultPolicy::Deny,
            outgoing: DefaultPolicy::Allow,
            routed: DefaultPolicy::Deny,
        }
    }
}

/// What the readers and the converter look up on this machine: /etc/services and ufw's
/// application profiles (the command line reads them; tests give their own).
pub trait Names {
    /// The service name of a port (/etc/services), for naming a service.
    fn service_name(&self, port: u16, tcp: bool) -> Option<String>;
    /// The ports of a service name (`ufw allow ssh`): (port, tcp, udp).
    fn service_ports(&self, name: &str) -> Option<(u16, bool, bool)>;
    /// The port lists of an application profile (`ufw allow OpenSSH`).
    fn app_ports(&self, name: &str) -> Option<Vec<AppPorts>>;
}

/// Whether `text` looks like a ufw rules file (rather than a script of ufw commands).
pub fn is_rules_file(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("### tuple ###") || l.trim() == "*filter")
}

/// Reads the tuples of a user.rules or user6.rules file named `file`.
pub fn parse_rules_file(file: &str, text: &str) -> (Vec<Rule>, Vec<Note>) {
    let mut rules = Vec::new();
    let mut notes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(tuple) = line.strip_prefix("### tuple ###") else {
            continue;
        };
        let origin = format!("{file}:{}", i + 1);
        match parse_tuple(tuple, &origin) {
            Ok(rule) => rules.push(rule),
            Err(why) => notes.push(Note {
                origin,
                text: line.trim().to_string(),
                why,
            }),
        }
    }
    (rules, notes)
}

fn parse_tuple(tuple: &str, origin: &str) -> Result<Rule, String> {
    // `comment=` is always last (ufw splits it off the same way).
    let (fields, comment) = match tuple.split_once(" comment=") {
        Some((fields, hex)) => (fields, Some(decode_hex(hex.trim())?)),
        None => (tuple, None),
    };
    let f: Vec<&str> = fields.split_whitespace().collect();
    if !(6..=9).contains(&f.len()) {
        return Err(format!(
            "a tuple has 6 to 9 fields; this one has {}",
            f.len()
        ));
    }
    let (mut action_word, mut route) = (f[0], false);
    if let Some((prefix, rest)) = action_word.split_once(':') {
        if prefix != "route" {
            return Err(format!("unknown action {action_word:?}"));
        }
        action_word = rest;
        route = true;
    }
    let (action_word, log) = match action_word.split_once('_') {
        Some((a, "log" | "log-all")) => (a, true),
        Some(_) => return Err(format!("unknown action {:?}", f[0])),
        None => (action_word, false),
    };
    let action = Action::parse(action_word).ok_or_else(|| format!("unknown action {:?}", f[0]))?;
    let dst = parse_addr(f[3])?;
    let src = parse_addr(f[5])?;
    let family = if f[3].contains(':') || f[5].contains(':') {
        Family::V6
    } else {
        Family::V4
    };
    // 7 or 9 fields: the last says the direction and the interfaces (in_eth0!out_eth1).
    let (mut direction, mut interface_in, mut interface_out) = (Direction::In, None, None);
    if f.len() == 7 || f.len() == 9 {
        let last = f[f.len() - 1];
        for part in last.split('!') {
            let (dir, iface) = match part.split_once('_') {
                Some((d, i)) => (d, Some(i.to_string())),
                None => (part, None),
            };
            match dir {
                "in" => interface_in = iface.or(interface_in),
                "out" => interface_out = iface.or(interface_out),
                _ => return Err(format!("unknown direction {last:?}")),
            }
        }
        direction = if last.starts_with("out") {
            Direction::Out
        } else {
            Direction::In
        };
    }
    let (interface, other_interface) = match direction {
        Direction::In => (interface_in, interface_out),
        Direction::Out => (interface_out, interface_in),
    };
    let app = |word: &str| (word != "-").then(|| word.replace("%20", " "));
    let (dapp, sapp) = if f.len() >= 8 {
        (app(f[6]), app(f[7]))
    } else {
        (None, None)
    };
    Ok(Rule {
        action,
        log,
        route,
        direction,
        interface,
        other_interface,
        proto: Proto::parse(f[1]),
        dport: parse_ports(f[2])?,
        sport: parse_ports(f[4])?,
        dst,
        src,
        family,
        dapp,
        sapp,
        comment,
        origin: origin.to_string(),
        text: format!("### tuple ### {}", tuple.trim()),
    })
}

/// `any`, `0.0.0.0/0` and `::/0` are anywhere; anything else one address or network.
pub fn parse_addr(word: &str) -> Result<Addr, String> {
    match word {
        "any" | "0.0.0.0/0" | "::/0" => Ok(Addr::Any),
        _ => crate::policy::parse_net(word)
            .map(Addr::Net)
            .map_err(|e| format!("{word:?}: {e}")),
    }
}

/// `any`, or ports and `a:b` ranges separated by commas.
pub fn parse_ports(word: &str) -> Result<Option<Vec<(u16, u16)>>, String> {
    if word == "any" {
        return Ok(None);
    }
    let mut out = Vec::new();
    for part in word.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{part:?} is not a port or a range of ports"))
        };
        let (a, b) = (port(a)?, port(b)?);
        out.push((a.min(b), a.max(b)));
    }
    Ok(Some(out))
}

fn decode_hex(hex: &str) -> Result<String, String> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("the comment {hex:?} is not hexadecimal"));
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(b'?'))
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// /etc/default/ufw's DEFAULT_INPUT_POLICY, DEFAULT_OUTPUT_POLICY and
/// DEFAULT_FORWARD_POLICY (ufw's own defaults for any that is missing).
pub fn parse_defaults(text: &str) -> Defaults {
    let mut d = Defaults::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let Some(policy) = DefaultPolicy::parse(value.trim().trim_matches('"')) else {
            continue;
        };
        match key.trim() {
            "DEFAULT_INPUT_POLICY" => d.incoming = policy,
            "DEFAULT_OUTPUT_POLICY" => d.outgoing = policy,
            "DEFAULT_FORWARD_POLICY" => d.routed = policy,
            _ => {}
        }
    }
    d
}

/// One port list of an application profile: ports and ranges, and their protocol (None:
/// TCP and UDP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPorts {
    pub ports: Vec<(u16, u16)>,
    pub proto: Proto,
}

/// Reads the profiles of one applications.d file: `[Name]` sections with a
/// `ports=80,443/tcp|53/udp` line. Returns (name, port lists) in file order.
pub fn parse_app_profiles(text: &str) -> Vec<(String, Vec<AppPorts>)> {
    let mut out: Vec<(String, Vec<AppPorts>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_string(), Vec::new()));
        } else if let Some(value) = line.strip_prefix("ports=") {
            let Some((_, lists)) = out.last_mut() else {
                continue;
            };
            for spec in value.split('|') {
                let (ports, proto) = match spec.split_once('/') {
                    Some((p, proto)) => (p, Proto::parse(proto)),
                    None => (spec, Proto::Any),
                };
                if let Ok(Some(ports)) = parse_ports(ports) {
                    lists.push(AppPorts { ports, proto });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as ufw 0.36.2 (Debian 12) wrote them for the commands beside them.
    const USER_RULES: &str = "\
*filter
:ufw-user-input - [0:0]
### RULES ###
### tuple ### allow tcp 22 0.0.0.0/0 any 192.0.2.10 in comment=61646d696e20737368
-A ufw-user-input -p tcp --dport 22 -s 192.0.2.10 -j ACCEPT
### tuple ### allow tcp 1514:1515 0.0.0.0/0 any 10.30.0.0/16 in
### tuple ### deny any any 0.0.0.0/0 any 10.30.0.66 in
### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in
### tuple ### allow tcp 8080 10.1.1.1 any 0.0.0.0/0 in_eth1
### tuple ### deny any any 203.0.113.0/24 any 0.0.0.0/0 out
### tuple ### allow tcp 80,8443 0.0.0.0/0 any 10.0.0.0/8 in
### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_eth0!out_eth1
### tuple ### allow_log udp 53 0.0.0.0/0 any 0.0.0.0/0 in
### tuple ### bogus tcp 1 0.0.0.0/0 any 0.0.0.0/0 in
### END RULES ###
COMMIT
";

    #[test]
    fn reads_the_tuples_ufw_writes() {
        let (rules, notes) = parse_rules_file("user.rules", USER_RULES);
        assert_eq!(rules.len(), 9, "{rules:#?}");
        let ssh = &rules[0];
        assert_eq!(ssh.action, Action::Allow);
        assert_eq!(ssh.proto, Proto::Tcp);
        assert_eq!(ssh.dport, Some(vec![(22, 22)]));
        assert_eq!(ssh.src, Addr::Net("192.0.2.10/32".parse().unwrap()));
        assert_eq!(ssh.dst, Addr::Any);
        assert_eq!(ssh.family, Family::V4);
        assert_eq!(ssh.comment.as_deref(), Some("admin ssh"));
        assert_eq!(ssh.origin, "user.rules:4");
        assert_eq!(rules[1].dport, Some(vec![(1514, 1515)]));
        assert_eq!(rules[2].action, Action::Deny);
        assert_eq!(rules[2].dport, None);
        assert_eq!(rules[3].dapp.as_deref(), Some("OpenSSH"));
        assert_eq!(rules[4].interface.as_deref(), Some("eth1"));
        assert_eq!(rules[4].dst, Addr::Net("10.1.1.1/32".parse().unwrap()));
        assert_eq!(rules[5].direction, Direction::Out);
        assert_eq!(rules[6].dport, Some(vec![(80, 80), (8443, 8443)]));
        assert!(rules[7].route);
        assert_eq!(rules[7].interface.as_deref(), Some("eth0"));
        assert_eq!(rules[7].other_interface.as_deref(), Some("eth1"));
        assert!(rules[8].log);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].why.contains("unknown action"), "{notes:?}");
        assert_eq!(notes[0].origin, "user.rules:14");
    }

    #[test]
    fn an_ipv6_tuple_is_for_ipv6() {
        let (rules, _) = parse_rules_file(
            "user6.rules",
            "### tuple ### reject any 443 ::/0 any 2001:db8:66::/48 in\n",
        );
        assert_eq!(rules[0].family, Family::V6);
        assert_eq!(rules[0].action, Action::Reject);
        assert_eq!(rules[0].proto, Proto::Any);
    }

    #[test]
    fn reads_the_default_policies() {
        let d = parse_defaults(
            "IPV6=yes\nDEFAULT_INPUT_POLICY=\"REJECT\"\nDEFAULT_OUTPUT_POLICY=\"DROP\"\n",
        );
        assert_eq!(d.incoming, DefaultPolicy::Reject);
        assert_eq!(d.outgoing, DefaultPolicy::Deny);
        assert_eq!(d.routed, DefaultPolicy::Deny);
    }

    #[test]
    fn reads_application_profiles() {
        let apps = parse_app_profiles(
            "[WWW Full]\ntitle=Web Server (HTTP,HTTPS)\nports=80,443/tcp\n\n\
             [Bind9]\nports=53\n[Mixed]\nports=5060:5061/tcp|5060/udp\n",
        );
        assert_eq!(apps[0].0, "WWW Full");
        assert_eq!(apps[0].1[0].ports, vec![(80, 80), (443, 443)]);
        assert_eq!(apps[1].1[0].proto, Proto::Any);
        assert_eq!(apps[2].1.len(), 2);
    }
}
