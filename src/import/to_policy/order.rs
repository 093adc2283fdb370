//! ufw's first-match order against a policy's blocks-first order: which rules overlap,
//! and the ports a deny leaves to the allows ufw matches before it. Pure.

use super::*;

/// Whether `outer` holds every address of `inner` (of the same family).
pub(super) fn contains(outer: Addr, inner: Addr) -> bool {
    match (outer, inner) {
        (Addr::Any, _) => true,
        (Addr::Net(_), Addr::Any) => false,
        (Addr::Net(o), Addr::Net(i)) => o.contains(&i),
    }
}

/// The ports of refusing `rule` that none of the allows `earlier` (which ufw matches
/// first) lets through, per protocol; TCP and UDP only.
pub(super) fn ports_left(rule: &Rule, earlier: &[&Rule]) -> Ports {
    let all = vec![(1u16, 65535u16)];
    let mut per_proto: [Vec<(u16, u16)>; 2] = [Vec::new(), Vec::new()];
    for (k, proto) in [Proto::Tcp, Proto::Udp].into_iter().enumerate() {
        if rule.proto != Proto::Any && rule.proto != proto {
            continue;
        }
        let mut left = rule.dport.clone().unwrap_or_else(|| all.clone());
        for allow in earlier {
            if allow.proto != Proto::Any && allow.proto != proto {
                continue;
            }
            let taken = allow.dport.clone().unwrap_or_else(|| all.clone());
            left = subtract(&left, &taken);
        }
        per_proto[k] = left;
    }
    let mut ports = Ports::new();
    for &r in &per_proto[0] {
        ports.entry(r).or_insert((false, false)).0 = true;
    }
    for &r in &per_proto[1] {
        ports.entry(r).or_insert((false, false)).1 = true;
    }
    ports
}

/// The ranges of `from` outside every range of `minus`.
pub(super) fn subtract(from: &[(u16, u16)], minus: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = from.to_vec();
    for &(m1, m2) in minus {
        let mut next = Vec::new();
        for (a, b) in out {
            if m2 < a || b < m1 {
                next.push((a, b));
                continue;
            }
            if a < m1 {
                next.push((a, m1 - 1));
            }
            if m2 < b {
                next.push((m2 + 1, b));
            }
        }
        out = next;
    }
    out
}

/// After a refusing rule `i` that could not be imported: the later allows that ufw would
/// have refused in part because of it, which the policy now lets through.
pub(super) fn note_later_allows(rules: &[Rule], i: usize, notes: &mut Vec<String>) {
    let later: Vec<&str> = rules[i + 1..]
        .iter()
        .filter(|r| !r.action.refuses() && overlaps(r, &rules[i]))
        .map(|r| r.origin.as_str())
        .collect();
    if !later.is_empty() {
        let last = notes.pop().unwrap_or_default();
        notes.push(format!(
            "{last}. Without it, {} also let through what this rule refused in ufw",
            later.join(", ")
        ));
    }
}

/// Whether some packet matches both rules (erring towards yes where unsure).
pub(super) fn overlaps(a: &Rule, b: &Rule) -> bool {
    if a.route || b.route || a.direction != b.direction {
        return false;
    }
    let families =
        (a.family.has_v4() && b.family.has_v4()) || (a.family.has_v6() && b.family.has_v6());
    let addrs = |x: Addr, y: Addr| match (x, y) {
        (Addr::Net(p), Addr::Net(q)) => p.contains(&q.network()) || q.contains(&p.network()),
        _ => true,
    };
    let protos = match (&a.proto, &b.proto) {
        (Proto::Any, _) | (_, Proto::Any) => true,
        (x, y) => x == y,
    };
    let ports = match (&a.dport, &b.dport) {
        (Some(p), Some(q)) => p
            .iter()
            .any(|&(a1, a2)| q.iter().any(|&(b1, b2)| a1 <= b2 && b1 <= a2)),
        _ => true,
    };
    let interfaces = match (&a.interface, &b.interface) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    families && addrs(a.src, b.src) && addrs(a.dst, b.dst) && protos && ports && interfaces
}
