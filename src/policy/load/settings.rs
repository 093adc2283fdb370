//! `[settings]`: the table, the chains' policies, ping, the confirm window and the drop log.

use super::*;

const MIN_CONFIRM: Duration = Duration::from_secs(5);
const MAX_CONFIRM: Duration = Duration::from_secs(24 * 3600);

impl<'b> Validator<'b> {
    pub(super) fn settings(&mut self, value: &Value<'_>) -> Settings {
        let mut settings = Settings::default();
        let Some(table) = self.table(value, "[settings]") else {
            return settings;
        };
        self.check_keys(table, &keys::names(keys::SETTINGS), "[settings]");
        if let Some(v) = table.get("table")
            && let Some(name) = self.string(v, "settings.table")
        {
            match validate_table_name(name) {
                Ok(()) => settings.table = name.to_string(),
                Err(e) => self.error(v.span(), e),
            }
        }
        for (key, slot) in [
            ("input_policy", &mut settings.input_policy),
            ("output_policy", &mut settings.output_policy),
        ] {
            if let Some(v) = table.get(key)
                && let Some(text) = self.string(v, &format!("settings.{key}"))
            {
                match text {
                    "drop" => *slot = Verdict::Drop,
                    "accept" => *slot = Verdict::Accept,
                    other => self.error(
                        v.span(),
                        format!(
                            "settings.{key} is {other:?}; valid values are \"drop\" and \"accept\""
                        ),
                    ),
                }
            }
        }
        if let Some(v) = table.get("allow_ping") {
            match v.get_ref() {
                DeValue::Boolean(b) => settings.allow_ping = *b,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.allow_ping must be true or false, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        if let Some(v) = table.get("confirm_timeout")
            && let Some(text) = self.string(v, "settings.confirm_timeout")
        {
            match crate::duration::parse(text) {
                Ok(d) if (MIN_CONFIRM..=MAX_CONFIRM).contains(&d) => settings.confirm_timeout = d,
                Ok(_) => self.error(
                    v.span(),
                    format!("settings.confirm_timeout {text:?} is out of range; use 5s to 24h"),
                ),
                Err(e) => self.error(v.span(), format!("settings.confirm_timeout: {e}")),
            }
        }
        if let Some(v) = table.get("confirm")
            && let Some(text) = self.string(v, "settings.confirm")
        {
            match text {
                "any-session" => settings.confirm = ConfirmMode::AnySession,
                "new-session" => settings.confirm = ConfirmMode::NewSession,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.confirm is {other:?}; valid values are \"any-session\" \
                         (the default) and \"new-session\""
                    ),
                ),
            }
        }
        self.drop_log(table, &mut settings.drop_log);
        settings
    }

    /// `drop_log`, `drop_log_group`, `drop_log_rate`, `drop_log_burst`.
    pub(super) fn drop_log(&mut self, table: &DeTable<'_>, log: &mut crate::policy::DropLog) {
        if let Some(v) = table.get("drop_log") {
            match v.get_ref() {
                DeValue::Boolean(b) => log.enabled = *b,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.drop_log must be true or false, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        if let Some(n) = self.integer(table, "drop_log_group", 0, u16::MAX.into(), "") {
            log.group = n as u16;
        }
        let per_second = " (log lines per second)";
        if let Some(n) = self.integer(table, "drop_log_rate", 1, 10_000, per_second) {
            log.rate = n as u32;
        }
        if let Some(n) = self.integer(table, "drop_log_burst", 1, 100_000, "") {
            log.burst = n as u32;
        }
    }
}
