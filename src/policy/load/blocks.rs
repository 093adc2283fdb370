//! `[blocks.NAME]`: the sources refused before any service, on some ports or all.

use super::networks::SourceWords;
use super::*;

impl<'b> Validator<'b> {
    pub(super) fn blocks(
        &mut self,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> BTreeMap<String, Block> {
        self.named_tables(value, "blocks", "block", |v, name, value| {
            v.block(name, value, networks)
        })
    }

    pub(super) fn block(
        &mut self,
        name: &str,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> Option<Block> {
        let ctx = format!("[blocks.{name}]");
        let table = self.table(value, &ctx)?;
        self.check_keys(
            table,
            &keys::names(&keys::keys_of::<keys::BlockKey>()),
            &ctx,
        );
        let description = self.description(table, &format!("blocks.{name}.description"));

        let from = match table.get("from") {
            None => {
                self.error(
                    value.span(),
                    format!(
                        "{ctx} has no from list; add e.g. from = [\"scanners\"] (a network \
                         name, an address or a prefix)"
                    ),
                );
                Vec::new()
            }
            Some(v) => self.sources_but_any(
                v,
                &format!("blocks.{name}.from"),
                networks,
                SourceWords {
                    empty: "name a network, an address or a prefix",
                    any: "\"any\" would refuse everyone, this session too; name the networks \
                          to refuse (or set input_policy = \"drop\")",
                },
            ),
        };

        let mut ports = Vec::new();
        if let Some(v) = table.get("ports") {
            let what = format!("blocks.{name}.ports");
            if self.is_empty_list(v) {
                self.error(
                    v.span(),
                    format!("{what} is empty; list ports, or remove it to block every port"),
                );
            }
            for (text, span) in self.strings(v, &what) {
                match parse_port_spec(text) {
                    Ok(p) => ports.push(p),
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
        }

        let mut action = BlockAction::Drop;
        if let Some(v) = table.get("action")
            && let Some(text) = self.string(v, &format!("blocks.{name}.action"))
        {
            match text {
                "drop" => action = BlockAction::Drop,
                "reject" => action = BlockAction::Reject,
                other => self.error(
                    v.span(),
                    format!(
                        "blocks.{name}.action is {other:?}; valid values are \"drop\" (silently, \
                         the default) and \"reject\" (a TCP reset, an ICMP unreachable)"
                    ),
                ),
            }
        }
        let direction = self.direction(table, &format!("blocks.{name}.direction"));
        Some(Block {
            name: name.to_string(),
            description,
            from,
            ports,
            action,
            direction,
        })
    }
}
