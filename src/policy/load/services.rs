//! `[services.NAME]`: ports, sources, interfaces, direction, `on`, and the rate limit.

use super::networks::SourceWords;
use super::*;

impl<'b> Validator<'b> {
    pub(super) fn services(
        &mut self,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> BTreeMap<String, Service> {
        self.named_tables(value, "services", "service", |v, name, value| {
            v.service(name, value, networks)
        })
    }

    /// `[SECTION.NAME]` tables: each name validated, each table read by `read`.
    pub(super) fn named_tables<T>(
        &mut self,
        value: &Value<'_>,
        section: &str,
        kind: &str,
        mut read: impl FnMut(&mut Self, &str, &Value<'_>) -> Option<T>,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let Some(table) = self.table(value, &format!("[{section}]")) else {
            return out;
        };
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if let Err(e) = validate_object_name(kind, name) {
                self.error(key.span(), e);
                continue;
            }
            if let Some(item) = read(self, name, value) {
                out.insert(name.to_string(), item);
            }
        }
        out
    }

    pub(super) fn service(
        &mut self,
        name: &str,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> Option<Service> {
        let ctx = format!("[services.{name}]");
        let table = self.table(value, &ctx)?;
        self.check_keys(
            table,
            &keys::names(&keys::keys_of::<keys::ServiceKey>()),
            &ctx,
        );

        let description = self.description(table, &format!("services.{name}.description"));

        let mut ports = Vec::new();
        match table.get("ports") {
            None => self.error(
                value.span(),
                format!("{ctx} has no ports; add e.g. ports = [\"22/tcp\"]"),
            ),
            Some(v) => {
                let what = format!("services.{name}.ports");
                let entries = self.strings(v, &what);
                if self.is_empty_list(v) {
                    self.error(
                        v.span(),
                        format!("{what} is empty; list at least one port, e.g. \"22/tcp\""),
                    );
                }
                for (text, span) in entries {
                    match parse_port_spec(text) {
                        Ok(p) => ports.push(p),
                        Err(e) => self.error(span, format!("{what}: {e}")),
                    }
                }
            }
        }

        let mut allow = Vec::new();
        match table.get("allow") {
            None => self.error(
                value.span(),
                format!(
                    "{ctx} has no allow list; add e.g. allow = [\"admin\"] (a network name, \
                     a prefix, or \"any\")"
                ),
            ),
            Some(v) => {
                let what = format!("services.{name}.allow");
                let entries = self.strings(v, &what);
                if self.is_empty_list(v) {
                    self.error(
                        v.span(),
                        format!("{what} is empty; name a network, a prefix, or \"any\""),
                    );
                }
                for (text, span) in entries {
                    match self.source(text, networks) {
                        Ok(s) => allow.push(s),
                        Err(e) => self.error(span, format!("{what}: {e}")),
                    }
                }
            }
        }

        let mut interfaces = BTreeSet::new();
        if let Some(v) = table.get("interfaces") {
            let what = format!("services.{name}.interfaces");
            for (text, span) in self.strings(v, &what) {
                match validate_interface_name(text) {
                    Ok(()) => {
                        interfaces.insert(text.to_string());
                    }
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
        }

        let direction = self.direction(table, &format!("services.{name}.direction"));

        let on = match table.get("on") {
            None => Vec::new(),
            Some(v) => self.sources_but_any(
                v,
                &format!("services.{name}.on"),
                networks,
                SourceWords {
                    empty: "list this host's addresses (or networks of them) the service is \
                            reachable on, or remove it for all of them",
                    any: "\"any\" is what leaving `on` out means; list this host's \
                          addresses, or remove `on`",
                },
            ),
        };

        let limit = self.rate_limit(table, name, direction);

        Some(Service {
            name: name.to_string(),
            description,
            ports,
            allow,
            interfaces: interfaces.into_iter().collect(),
            direction,
            on,
            limit,
        })
    }

    /// `limit` and `burst` of a service.
    pub(super) fn rate_limit(
        &mut self,
        table: &DeTable<'_>,
        name: &str,
        direction: Direction,
    ) -> Option<RateLimit> {
        let what = format!("services.{name}.limit");
        let burst = table.get("burst");
        let Some(v) = table.get("limit") else {
            if let Some(b) = burst {
                self.error(
                    b.span(),
                    format!("services.{name}.burst needs a limit; add e.g. limit = \"10/minute\""),
                );
            }
            return None;
        };
        let text = self.string(v, &what)?;
        let (rate, per) = match RateLimit::parse(text) {
            Ok(r) => r,
            Err(e) => {
                self.error(v.span(), format!("{what}: {e}"));
                return None;
            }
        };
        if direction == Direction::Out {
            self.error(
                v.span(),
                format!(
                    "{what}: a limit counts new connections per source, coming in; this \
                     service is direction = \"out\""
                ),
            );
        }
        let mut limit = RateLimit {
            rate,
            per,
            burst: RateLimit::DEFAULT_BURST,
        };
        if let Some(b) = burst {
            match b.get_ref() {
                DeValue::Integer(i) => match i.as_str().parse::<u32>() {
                    Ok(n) if (1..=10_000).contains(&n) => limit.burst = n,
                    _ => self.error(
                        b.span(),
                        format!(
                            "services.{name}.burst is {}; use a whole number from 1 to 10000",
                            i.as_str()
                        ),
                    ),
                },
                other => self.error(
                    b.span(),
                    format!(
                        "services.{name}.burst must be a whole number from 1 to 10000, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        Some(limit)
    }
}
