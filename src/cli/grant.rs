//! `portcullis grant SERVICE SOURCE --for DURATION` and `portcullis revoke SERVICE SOURCE`:
//! temporary access, at once and without a confirm window (it only adds access), expiring
//! in the kernel with no process left running, each one written to the audit log.

use std::time::Duration;

use ipnet::IpNet;

use super::{Cli, RealBackends, eprint, open_backends, print_warnings};
use crate::commit::{Actor, Create};
use crate::policy::Policy;
use crate::policy::file::load as load_policy;

const INVALID: u8 = 1;
const FAILED: u8 = 2;

/// The policy (with the service checked), the source and the state directory, or the
/// exit status after saying why not.
fn prepare(cli: &Cli, service: &str, source: &str) -> Result<(Policy, IpNet, RealBackends), u8> {
    let policy = load_policy(&cli.policy).map_err(|e| {
        eprint(&e);
        INVALID
    })?;
    let Some(s) = policy.services.get(service) else {
        let names: Vec<&str> = policy.services.keys().map(String::as_str).collect();
        eprint(&format!(
            "portcullis: there is no service {service:?} in {}; services: {}",
            cli.policy.display(),
            names.join(", ")
        ));
        return Err(INVALID);
    };
    if !s.direction.inbound() {
        eprint(&format!(
            "portcullis: service {service} is direction = \"out\"; a grant lets a source in"
        ));
        return Err(INVALID);
    }
    let source = crate::policy::parse_net(source).map_err(|e| {
        eprint(&format!("portcullis: {source:?}: {e}"));
        INVALID
    })?;
    let m = open_backends(cli, Create::IfMissing).map_err(|e| {
        eprint(&format!("portcullis: cannot use the state directory: {e}"));
        FAILED
    })?;
    Ok((policy, source, m))
}

pub fn grant(cli: &Cli, service: &str, source: &str, duration: Duration) -> u8 {
    let (policy, source, m) = match prepare(cli, service, source) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let engine = m.engine(Actor::Operator);
    let result = engine.grant(&policy, &policy.services[service], source, duration);
    print_warnings(&engine);
    match result {
        Ok(g) => {
            outln!(
                "granted: {} may reach service {service} ({}) until {} ({}); the kernel \
                 removes it then, or `portcullis revoke {service} {}` sooner",
                g.source,
                policy.services[service]
                    .ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                g.until,
                humantime::format_duration(duration),
                g.source
            );
            0
        }
        Err(e) => {
            eprint(&format!("portcullis: not granted: {e}"));
            FAILED
        }
    }
}

pub fn revoke(cli: &Cli, service: &str, source: &str) -> u8 {
    let (policy, source, m) = match prepare(cli, service, source) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let engine = m.engine(Actor::Operator);
    let result = engine.revoke(&policy, &policy.services[service], source);
    print_warnings(&engine);
    match result {
        Ok(true) => {
            outln!(
                "revoked: {} may no longer reach service {service}",
                source.trunc()
            );
            0
        }
        Ok(false) => {
            eprint(&format!(
                "portcullis: {} has no grant to service {service} (it may have expired)",
                source.trunc()
            ));
            INVALID
        }
        Err(e) => {
            eprint(&format!("portcullis: not revoked: {e}"));
            FAILED
        }
    }
}
