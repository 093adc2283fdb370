//! A script of ufw command lines, as vendor guides give them, read as the rules ufw would
//! store for it (ufw's own grammar, `ufw help`):
//!
//! ```text
//! sudo ufw default deny incoming
//! sudo ufw allow from 10.0.0.0/8 to any port 9000 proto tcp comment 'agents'
//! sudo ufw allow 443/tcp
//! sudo ufw allow in on eth1 to 10.0.0.5 port 8080 proto tcp
//! sudo ufw deny from 198.51.100.7
//! sudo ufw limit OpenSSH
//! ```
//!
//! Lines that are not ufw commands (blank, `#` comments, `set -e`) are skipped; commands
//! that set nothing a policy holds (`enable`, `status`, `logging`) too. Anything else that
//! cannot be read becomes a note, never a silent drop. Pure.

use super::ufw::{
    Action, Addr, AppPorts, DefaultPolicy, Defaults, Direction, Family, Names, Note, Proto, Rule,
    parse_addr, parse_ports,
};

/// What a script says: its rules in order, the defaults it sets, and what it could not read.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub rules: Vec<Rule>,
    /// Each `ufw default POLICY DIRECTION`, applied in order over ufw's own defaults.
    pub defaults: Option<Defaults>,
    pub notes: Vec<Note>,
}

/// Reads the script `text` of file `file`.
pub fn parse_script(file: &str, text: &str, names: &dyn Names) -> Script {
    let mut script = Script::default();
    for (i, line) in text.lines().enumerate() {
        let origin = format!("{file}:{}", i + 1);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let note = |why: String| Note {
            origin: origin.clone(),
            text: trimmed.to_string(),
            why,
        };
        let Some(words) = shlex::split(trimmed) else {
            script.notes.push(note("its quotes do not close".into()));
            continue;
        };
        let mut words: &[String] = &words;
        while let Some(first) = words.first() {
            if first == "sudo" || first.starts_with('-') && words.len() > 1 && first != "--" {
                words = &words[1..];
            } else {
                break;
            }
        }
        let is_ufw = words
            .first()
            .is_some_and(|w| w == "ufw" || w.ends_with("/ufw"));
        if !is_ufw {
            // Not a ufw command (a guide's other steps): nothing of the firewall.
            continue;
        }
        match read_command(&words[1..], &origin, trimmed, names) {
            Ok(Command::Rules(mut rules)) => script.rules.append(&mut rules),
            Ok(Command::Default(policy, which)) => {
                let d = script.defaults.get_or_insert_with(Defaults::default);
                match which {
                    Which::Incoming => d.incoming = policy,
                    Which::Outgoing => d.outgoing = policy,
                    Which::Routed => d.routed = policy,
                }
            }
            Ok(Command::Nothing) => {}
            Err(why) => script.notes.push(note(why)),
        }
    }
    script
}

enum Command {
    Rules(Vec<Rule>),
    Default(DefaultPolicy, Which),
    /// `enable`, `status`, `reload`…: nothing a policy holds.
    Nothing,
}

enum Which {
    Incoming,
    Outgoing,
    Routed,
}

fn read_command(
    words: &[String],
    origin: &str,
    text: &str,
    names: &dyn Names,
) -> Result<Command, String> {
    let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
    // Options ufw takes before the command.
    while matches!(w.first(), Some(&("--dry-run" | "--force"))) {
        w.remove(0);
    }
    let Some(&first) = w.first() else {
        return Ok(Command::Nothing);
    };
    match first {
        "enable" | "reload" | "status" | "logging" | "show" | "version" | "app" | "help" => {
            return Ok(Command::Nothing);
        }
        "disable" | "reset" => {
            return Err(format!(
                "`ufw {first}` changes ufw itself; the policy is made from the rules alone"
            ));
        }
        "delete" | "insert" | "prepend" => {
            return Err(format!(
                "`ufw {first}` edits earlier rules by position; import the rules ufw stores \
                 (/etc/ufw/user.rules) instead of the script"
            ));
        }
        "default" => return read_default(&w[1..]),
        _ => {}
    }
    let mut rest: &[&str] = &w;
    if rest.first() == Some(&"rule") {
        rest = &rest[1..];
    }
    let route = rest.first() == Some(&"route");
    if route {
        rest = &rest[1..];
    }
    if matches!(rest.first(), Some(&("delete" | "insert" | "prepend"))) {
        return Err(format!(
            "`ufw {}` edits earlier rules by position; import the rules ufw stores \
             (/etc/ufw/user.rules) instead of the script",
            rest[0]
        ));
    }
    let action = rest
        .first()
        .and_then(|a| Action::parse(a))
        .ok_or_else(|| format!("unknown ufw command {:?}", rest.first().unwrap_or(&"")))?;
    let mut r = Draft {
        action,
        route,
        ..Draft::default()
    };
    r.read(&rest[1..])?;
    r.into_rules(origin, text, names)
}

fn read_default(w: &[&str]) -> Result<Command, String> {
    let policy = w
        .first()
        .and_then(|p| DefaultPolicy::parse(p))
        .ok_or("`ufw default` takes allow, deny or reject")?;
    let which = match w.get(1).copied().unwrap_or("incoming") {
        "incoming" | "input" => Which::Incoming,
        "outgoing" | "output" => Which::Outgoing,
        "routed" | "forward" => Which::Routed,
        other => return Err(format!("`ufw default` does not know {other:?}")),
    };
    Ok(Command::Default(policy, which))
}

/// The destination ports of one rule a line stands for (None: every port), their
/// protocol, and the application profile they came from.
type PortList = (Option<Vec<(u16, u16)>>, Proto, Option<String>);

/// A rule being read, before its ports and apps are resolved.
#[derive(Default)]
struct Draft<'a> {
    action: Action,
    route: bool,
    out: bool,
    log: bool,
    interface: Option<String>,
    other_interface: Option<String>,
    proto: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    sport: Option<&'a str>,
    dport: Option<&'a str>,
    sapp: Option<&'a str>,
    dapp: Option<&'a str>,
    /// The simple syntax's `PORT[/PROTO]` or `APPNAME`.
    simple: Option<&'a str>,
    comment: Option<&'a str>,
}

impl<'a> Draft<'a> {
    fn read(&mut self, w: &[&'a str]) -> Result<(), String> {
        let mut i = 0;
        let take = |i: &mut usize, what: &str| -> Result<&'a str, String> {
            *i += 1;
            w.get(*i)
                .copied()
                .ok_or_else(|| format!("{what} needs a value"))
        };
        // Which of from/to a following `port` or `app` belongs to.
        let mut side: Option<bool> = None; // Some(true): from
        while i < w.len() {
            match w[i] {
                "in" | "out" => {
                    let out = w[i] == "out";
                    if w.get(i + 1) == Some(&"on") {
                        i += 1;
                        let iface = take(&mut i, "on")?.to_string();
                        if self.route && self.interface.is_some() {
                            self.other_interface = Some(iface);
                        } else {
                            self.interface = Some(iface);
                            self.out = out;
                        }
                    } else {
                        self.out = out;
                    }
                }
                "log" | "log-all" => self.log = true,
                "proto" => self.proto = Some(take(&mut i, "proto")?),
                "from" => {
                    self.from = Some(take(&mut i, "from")?);
                    side = Some(true);
                }
                "to" => {
                    self.to = Some(take(&mut i, "to")?);
                    side = Some(false);
                }
                "port" => {
                    let p = take(&mut i, "port")?;
                    match side {
                        Some(true) => self.sport = Some(p),
                        Some(false) => self.dport = Some(p),
                        None => return Err("`port` comes after `from` or `to`".into()),
                    }
                }
                "app" => {
                    let a = take(&mut i, "app")?;
                    match side {
                        Some(true) => self.sapp = Some(a),
                        Some(false) => self.dapp = Some(a),
                        None => return Err("`app` comes after `from` or `to`".into()),
                    }
                }
                "comment" => self.comment = Some(take(&mut i, "comment")?),
                word if self.simple.is_none() && self.from.is_none() && self.to.is_none() => {
                    self.simple = Some(word)
                }
                word => return Err(format!("unexpected {word:?}")),
            }
            i += 1;
        }
        if self.simple.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.proto.is_none()
            && self.interface.is_none()
        {
            return Err("the rule names no port, application or address".into());
        }
        Ok(())
    }

    fn into_rules(self, origin: &str, text: &str, names: &dyn Names) -> Result<Command, String> {
        let src = parse_addr(self.from.unwrap_or("any"))?;
        let dst = parse_addr(self.to.unwrap_or("any"))?;
        let v6 = |a: &Addr| match a {
            Addr::Net(n) => Some(matches!(n, ipnet::IpNet::V6(_))),
            Addr::Any => None,
        };
        let family = match (v6(&src), v6(&dst)) {
            (None, None) => Family::Both,
            (Some(a), Some(b)) if a != b => {
                return Err("its from and to are of different address families".into());
            }
            (Some(true), _) | (_, Some(true)) => Family::V6,
            _ => Family::V4,
        };
        // (ports, proto, app) for each rule this line stands for.
        let mut lists: Vec<PortList> = Vec::new();
        let proto = self.proto.map(Proto::parse);
        if let Some(simple) = self.simple {
            if let Some(apps) = names.app_ports(simple) {
                for a in apps {
                    lists.push((Some(a.ports), a.proto, Some(simple.to_string())));
                }
            } else {
                let (ports, proto) = port_word(simple, names)?;
                lists.push((Some(ports), proto, None));
            }
        } else if let Some(app) = self.dapp {
            let apps = names
                .app_ports(app)
                .ok_or_else(|| format!("no application profile {app:?} (ufw app list)"))?;
            for AppPorts { ports, proto } in apps {
                lists.push((Some(ports), proto, Some(app.to_string())));
            }
        } else if let Some(dport) = self.dport {
            let (ports, named) = port_word(dport, names)?;
            lists.push((Some(ports), proto.clone().unwrap_or(named), None));
        } else {
            lists.push((None, proto.clone().unwrap_or(Proto::Any), None));
        }
        let sport = match self.sport {
            Some(p) => Some(port_word(p, names)?.0),
            None => None,
        };
        let sapp = self.sapp.map(str::to_string);
        if sapp.is_some() && sport.is_none() && self.sapp.and_then(|a| names.app_ports(a)).is_none()
        {
            return Err(format!(
                "no application profile {:?}",
                self.sapp.unwrap_or("")
            ));
        }
        let rules = lists
            .into_iter()
            .map(|(dport, proto, dapp)| Rule {
                action: self.action,
                log: self.log,
                route: self.route,
                direction: if self.out {
                    Direction::Out
                } else {
                    Direction::In
                },
                interface: self.interface.clone(),
                other_interface: self.other_interface.clone(),
                proto,
                dport,
                sport: sport.clone(),
                dst,
                src,
                family,
                dapp,
                sapp: sapp.clone(),
                comment: self.comment.map(str::to_string),
                origin: origin.to_string(),
                text: text.to_string(),
            })
            .collect();
        Ok(Command::Rules(rules))
    }
}

/// `22`, `22/tcp`, `80,443/tcp`, `6000:6007/udp`, or a service name (`ssh`, `http/tcp`).
fn port_word(word: &str, names: &dyn Names) -> Result<(Vec<(u16, u16)>, Proto), String> {
    let (ports, proto) = match word.split_once('/') {
        Some((p, proto)) => (p, Some(Proto::parse(proto))),
        None => (word, None),
    };
    if ports.starts_with(|c: char| c.is_ascii_digit()) {
        let list = parse_ports(ports)?.unwrap_or_default();
        return Ok((list, proto.unwrap_or(Proto::Any)));
    }
    let (port, tcp, udp) = names
        .service_ports(ports)
        .ok_or_else(|| format!("{ports:?} is neither a port nor a service of /etc/services"))?;
    let named = match (tcp, udp) {
        (true, false) => Proto::Tcp,
        (false, true) => Proto::Udp,
        _ => Proto::Any,
    };
    Ok((vec![(port, port)], proto.unwrap_or(named)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub struct TestNames;

    impl Names for TestNames {
        fn service_name(&self, port: u16, _tcp: bool) -> Option<String> {
            match port {
                22 => Some("ssh".into()),
                _ => None,
            }
        }
        fn service_ports(&self, name: &str) -> Option<(u16, bool, bool)> {
            match name {
                "ssh" => Some((22, true, false)),
                "domain" => Some((53, true, true)),
                _ => None,
            }
        }
        fn app_ports(&self, name: &str) -> Option<Vec<AppPorts>> {
            (name == "OpenSSH").then(|| {
                vec![AppPorts {
                    ports: vec![(22, 22)],
                    proto: Proto::Tcp,
                }]
            })
        }
    }

    fn one(line: &str) -> Rule {
        let s = parse_script("s", line, &TestNames);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        assert_eq!(s.rules.len(), 1, "{:?}", s.rules);
        s.rules[0].clone()
    }

    #[test]
    fn reads_a_vendor_guide_s_extended_syntax() {
        let r =
            one("sudo ufw allow from 10.0.0.0/8 to any port 9000 proto tcp comment 'agent link'");
        assert_eq!(r.action, Action::Allow);
        assert_eq!(r.src, Addr::Net("10.0.0.0/8".parse().unwrap()));
        assert_eq!(r.dst, Addr::Any);
        assert_eq!(r.dport, Some(vec![(9000, 9000)]));
        assert_eq!(r.proto, Proto::Tcp);
        assert_eq!(r.family, Family::V4);
        assert_eq!(r.comment.as_deref(), Some("agent link"));
    }

    #[test]
    fn reads_the_simple_syntax() {
        let r = one("ufw allow 53");
        assert_eq!(
            (r.proto.clone(), r.dport.clone()),
            (Proto::Any, Some(vec![(53, 53)]))
        );
        assert_eq!(r.family, Family::Both);
        let r = one("ufw deny 6000:6007/tcp");
        assert_eq!(r.dport, Some(vec![(6000, 6007)]));
        assert_eq!(r.proto, Proto::Tcp);
        let r = one("ufw allow ssh");
        assert_eq!(
            (r.proto.clone(), r.dport.clone()),
            (Proto::Tcp, Some(vec![(22, 22)]))
        );
        let r = one("ufw limit OpenSSH");
        assert_eq!(r.action, Action::Limit);
        assert_eq!(r.dapp.as_deref(), Some("OpenSSH"));
        let r = one("ufw allow out 25/tcp");
        assert_eq!(r.direction, Direction::Out);
    }

    #[test]
    fn reads_interfaces_and_destinations() {
        let r = one("ufw allow in on eth1 to 10.1.1.1 port 8080 proto tcp");
        assert_eq!(r.interface.as_deref(), Some("eth1"));
        assert_eq!(r.dst, Addr::Net("10.1.1.1/32".parse().unwrap()));
        let r = one("ufw reject from 2001:db8:66::/48 to any port 443");
        assert_eq!(r.family, Family::V6);
        assert_eq!(r.action, Action::Reject);
        let r = one("ufw route allow in on eth0 out on eth1");
        assert!(r.route);
        assert_eq!(r.other_interface.as_deref(), Some("eth1"));
    }

    #[test]
    fn defaults_and_commands_without_rules() {
        let s = parse_script(
            "s",
            "#!/bin/sh\nset -e\nufw --force reset\nufw default reject incoming\n\
             ufw default deny outgoing\nufw --force enable\nufw status verbose\n\
             ufw delete 3\nufw allow\nufw allow nosuchservice\necho done\n",
            &TestNames,
        );
        let d = s.defaults.unwrap();
        assert_eq!(d.incoming, DefaultPolicy::Reject);
        assert_eq!(d.outgoing, DefaultPolicy::Deny);
        assert!(s.rules.is_empty());
        let lines: Vec<&str> = s.notes.iter().map(|n| n.origin.as_str()).collect();
        assert_eq!(lines, ["s:3", "s:8", "s:9", "s:10"], "{:?}", s.notes);
    }
}
