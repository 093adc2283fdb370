//! Defects found by running the UI in Cockpit's web terminal (xterm.js in a browser), each
//! as a test: the keys a browser keeps or that move its focus (Shift-Tab, F-keys), the
//! mouse on every screen, and the smaller ones the issue lists.

#[path = "fixtures/ui.rs"]
mod fixtures;

use fixtures::*;
use portcullis::app::{App, Effect, Modal, Msg, Screen, update};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) {
    update(
        app,
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

#[test]
fn f1_opens_the_help() {
    let mut app = running_app();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
    );
    assert!(matches!(app.modal, Modal::Help(_)), "{:?}", app.modal);
}

#[test]
fn the_help_says_shift_tab_is_never_needed() {
    let mut app = running_app();
    press(&mut app, "?");
    let screen = render(&mut app, 160, 48);
    assert!(
        screen.contains("Never needed: Shift-Tab, F-keys, ^W ^T ^N ^Q"),
        "{screen}"
    );
}

#[test]
fn the_screen_tabs_on_top_are_clickable() {
    let mut app = running_app();
    render(&mut app, 160, 48);
    // " 1 Overview  2 Services  3 Networks  4 Diff ": "2 Services" starts at column 12.
    mouse(
        &mut app,
        MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
        14,
        0,
    );
    assert_eq!(app.screen, Screen::Services);
    render(&mut app, 160, 48);
    mouse(
        &mut app,
        MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
        27,
        0,
    );
    assert_eq!(app.screen, Screen::Networks);
}

#[test]
fn the_wheel_scrolls_the_lists() {
    let mut app = running_app();
    press(&mut app, "2");
    render(&mut app, 160, 48);
    let before = app.service_table.selected();
    mouse(&mut app, MouseEventKind::ScrollDown, 10, 5);
    assert_ne!(
        app.service_table.selected(),
        before,
        "the wheel did nothing on the list"
    );
}

#[test]
fn sparklines_of_neighbouring_rows_do_not_touch() {
    let mut app = running_app();
    let screen = render(&mut app, 160, 48);
    // A full block fills its cell to the top: two rows of them read as one shape.
    assert!(!screen.contains('█'), "{screen}");
}

#[test]
fn a_new_service_form_shows_no_error_before_anything_is_typed() {
    let mut app = running_app();
    press(&mut app, "2a");
    let screen = render(&mut app, 160, 48);
    assert!(!screen.contains("is empty"), "{screen}");
    assert!(!screen.contains("needs a name"), "{screen}");
}

#[test]
fn the_overview_is_side_by_side_at_the_113_columns_of_cockpit_s_shell() {
    let mut app = running_app();
    let screen = render(&mut app, 113, 34);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("Sockets (") && l.contains("Rules")),
        "{screen}"
    );
}

#[test]
fn the_help_fits_at_86x22_and_scrolls_at_61x16() {
    let mut app = running_app();
    press(&mut app, "?");
    let screen = render(&mut app, 86, 22);
    assert!(screen.contains("closes this help"), "{screen}");
    let screen = render(&mut app, 61, 16);
    assert!(screen.contains("↓"), "no sign of more below: {screen}");
    for _ in 0..40 {
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
    }
    let screen = render(&mut app, 61, 16);
    assert!(
        screen.contains("closes this help"),
        "cannot scroll to the end: {screen}"
    );
}

#[test]
fn nothing_is_cut_without_an_ellipsis_at_cockpit_s_sizes() {
    for (w, h) in [(113, 34), (86, 22), (61, 16)] {
        let mut app = running_app();
        let screen = render(&mut app, w, h);
        snapshot(&format!("cockpit_overview_{w}x{h}"), screen.clone());
        // Every process and address of the fixture, whole or with its ellipsis.
        for whole in [
            "sshd/812",
            "nginx/1201",
            "rsyslogd/640",
            "postgres/990",
            "127.0.0.1",
        ] {
            let cut = whole.chars().take(5).collect::<String>();
            let cut_silently = screen
                .lines()
                .any(|l| l.contains(&cut) && !l.contains(whole) && !l.contains('…'));
            assert!(!cut_silently, "{whole} cut without … at {w}x{h}:\n{screen}");
        }
    }
}

#[test]
fn discarding_the_edits_on_the_diff_screen_makes_the_diff_again() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\r");
    let effects = press(&mut app, "d");
    assert!(
        matches!(effects.as_slice(), [Effect::Review(_)]),
        "{effects:?}"
    );
    // (The review is still being made: U now, then yes.)
    update(&mut app, Msg::Reviewed(Err("stale".into())));
    press(&mut app, "U");
    let effects = press(&mut app, "y");
    assert!(
        matches!(effects.as_slice(), [Effect::Review(_)]),
        "no new diff after the discard: {effects:?}"
    );
    assert_eq!(app.screen, Screen::Diff);
}

#[test]
fn a_finding_under_its_field_names_the_field_not_the_file_path() {
    let mut app = running_app();
    app.notice = None;
    // An uncovered socket's form: name and port filled in, allow empty; then ⏎.
    press(&mut app, "G"); // 8080, the uncovered one (last)
    press(&mut app, "a");
    press(&mut app, "\r");
    let screen = render(&mut app, 160, 48);
    assert!(!screen.contains("services.http-alt.allow"), "{screen}");
    assert!(screen.contains("Allow is empty"), "{screen}");
}

#[test]
fn the_status_bar_keeps_the_age_and_cuts_the_path_with_an_ellipsis() {
    let mut app = running_app();
    let screen = render(&mut app, 61, 16);
    let bar = screen
        .lines()
        .find(|l| l.contains("web01"))
        .expect("the status bar");
    assert!(bar.contains("refreshed"), "{bar}");
    assert!(bar.contains("…/policy.toml"), "{bar}");
}

#[test]
fn a_wrapped_diff_line_keeps_its_sign_and_indent() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\r");
    press(&mut app, "d");
    let review = review_of(&app, Vec::new());
    update(&mut app, Msg::Reviewed(Ok(Box::new(review))));
    let screen = render(&mut app, 61, 200);
    // The ICMPv6 rule is longer than the screen: its continuation rows are still "+",
    // indented under the rule.
    let rows: Vec<&str> = screen.lines().collect();
    let start = rows
        .iter()
        .position(|l| l.contains("icmpv6 type {"))
        .expect("the icmpv6 rule");
    let next = rows[start + 1].trim_start_matches(['"', '┃', '│', ' ']);
    assert!(
        next.starts_with('+'),
        "continuation lost its sign: {:?}\n{screen}",
        rows[start + 1]
    );
    assert!(
        next.starts_with("+        "),
        "continuation lost its indent: {:?}",
        rows[start + 1]
    );
}

fn key_code(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn slash_filters_the_focused_list_and_esc_clears_it() {
    // Sockets: by port, process or service.
    let mut app = running_app();
    press(&mut app, "/ssh");
    assert_eq!(app.sockets.len(), 1, "only sshd's socket");
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("Sockets (1 of 6) /ssh▏"), "{screen}");
    press(&mut app, "\r");
    snapshot("filter_sockets_160x48", render(&mut app, 160, 48));
    assert!(render(&mut app, 160, 48).contains("Sockets (1 of 6) /ssh "));
    // Keys act again once the filter is kept: Tab moves on.
    press(&mut app, "\t");
    assert_eq!(app.focus, portcullis::app::Focus::Rules);
    press(&mut app, "\t\t");
    key_code(&mut app, KeyCode::Esc);
    assert_eq!(app.sockets.len(), 6, "Esc cleared the filter");

    // Rules: by service; the default-drop row stays pinned.
    press(&mut app, "\t/web\r");
    assert_eq!(app.book.len(), 2, "web and the default drop");

    // A kept filter survives the next refresh.
    let mut app = running_app();
    press(&mut app, "/postgres\r");
    let table = portcullis::app::observation::RulesState::Table {
        objects: Vec::new().into(),
        structure: portcullis::nft::counters::structure_of(&rules_at(61)),
        rules: rules_at(61),
    };
    update(
        &mut app,
        Msg::Refreshed(Box::new(observation(61, table, Ok(sockets(true))))),
    );
    assert_eq!(app.sockets.len(), 1);
    assert_eq!(app.sockets[0].listener.port, 5432);
}

#[test]
fn slash_filters_the_services_and_networks_and_the_selection_follows() {
    let mut app = running_app();
    press(&mut app, "2/sys\r");
    assert_eq!(app.list_names(Screen::Services), ["syslog"]);
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("/sys (Esc clears)"), "{screen}");
    // e edits the row shown, not the row at that index of the whole list.
    press(&mut app, "e");
    let Modal::Form(form) = &app.modal else {
        panic!("no form: {:?}", app.modal)
    };
    assert_eq!(form.name(), "syslog");
    key_code(&mut app, KeyCode::Esc);
    press(&mut app, "3/203.0.113\r");
    assert_eq!(app.list_names(Screen::Networks), ["agents", "netdevices"]);
}

#[test]
fn slash_filters_the_drops() {
    let mut app = app_with_drops(None);
    press(&mut app, "\t\t/8443\r");
    assert_eq!(app.drops.rows.len(), 1);
    assert_eq!(app.drops.rows[0].entry.key.port, Some(8443));
    assert!(render(&mut app, 160, 48).contains("Drops (1 of 4) /8443"));
}

#[test]
fn help_a_form_and_the_diff_at_the_sizes_cockpit_gives() {
    for (w, h) in [(113, 34), (86, 22), (61, 16)] {
        let mut app = running_app();
        press(&mut app, "?");
        let screen = render(&mut app, w, h);
        snapshot(&format!("cockpit_help_{w}x{h}"), screen.clone());
        assert!(screen.contains("closes this help"), "{w}x{h}:\n{screen}");

        let mut app = running_app();
        press(&mut app, "2a");
        let screen = render(&mut app, w, h);
        snapshot(&format!("cockpit_form_{w}x{h}"), screen.clone());
        assert!(screen.contains("New service"), "{w}x{h}:\n{screen}");
        assert!(
            screen.contains("when it is valid") || screen.contains("…"),
            "{w}x{h}: the form's state line is cut without …:\n{screen}"
        );

        let mut app = running_app();
        press(&mut app, "2a");
        press(&mut app, "web2\t\t8443/tcp\tsoc\r");
        press(&mut app, "d");
        let review = review_of(&app, Vec::new());
        update(&mut app, Msg::Reviewed(Ok(Box::new(review))));
        let screen = render(&mut app, w, h);
        snapshot(&format!("cockpit_diff_{w}x{h}"), screen.clone());
        assert!(
            screen.contains("C commits"),
            "{w}x{h}: the commit line is lost:\n{screen}"
        );
        assert!(
            screen.contains("unless kept") || screen.contains("…"),
            "{w}x{h}: the commit line is cut without …:\n{screen}"
        );
    }
}

#[test]
fn a_sockets_filter_does_not_change_what_the_drops_say_listens() {
    // 2222 has no listener; 443 has one (nginx). Filter the sockets to ssh only, refresh:
    // a drop to 443 must not turn into "nothing listens".
    let mut app = app_with_drops(None);
    press(&mut app, "/ssh\r");
    let mut obs = observation(
        62,
        portcullis::app::observation::RulesState::NoTable,
        Ok(sockets(true)),
    );
    let mut feed = drop_feed();
    if let portcullis::app::observation::DropFeed::Reading { entries, .. } = &mut feed {
        entries[0].key.port = Some(443);
    }
    obs.drops = feed;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    let row = app
        .drops
        .all_rows
        .iter()
        .find(|r| r.entry.key.port == Some(443))
        .unwrap();
    assert_eq!(
        row.attribution.listening,
        Some(true),
        "{:?}",
        row.attribution
    );
}

/// Every value a list, pane, form or footer shows, at Cockpit's sizes: whole, or cut with `…`.
fn assert_nothing_cut(screen: &str, values: &[String], what: &str) {
    for value in values {
        let cuts = cut_silently(screen, value);
        assert!(
            cuts.is_empty(),
            "{what}: {value:?} cut without …:\n{}\n\n{screen}",
            cuts.join("\n")
        );
    }
}

#[test]
fn the_services_and_networks_lists_cut_nothing_without_an_ellipsis() {
    for (w, h) in [(113, 34), (86, 22), (61, 16)] {
        let mut app = running_app();
        press(&mut app, "2");
        let screen = render(&mut app, w, h);
        let mut values = Vec::new();
        for row in app.visible_services() {
            values.push(row.name.clone());
            values.push(row.draft.ports.join(", "));
            values.push(row.draft.allow.join(", "));
        }
        assert_nothing_cut(&screen, &values, &format!("services at {w}x{h}"));
        assert_nothing_cut(
            &screen,
            &["ALLOW (→ out: TO)".to_string()],
            &format!("services' header at {w}x{h}"),
        );

        press(&mut app, "3");
        let screen = render(&mut app, w, h);
        let mut values = Vec::new();
        for row in app.visible_networks() {
            values.push(row.name.clone());
            values.push(row.head.join(", "));
            values.push(row.users.join(", "));
        }
        assert_nothing_cut(&screen, &values, &format!("networks at {w}x{h}"));
    }
}

#[test]
fn a_long_rule_label_ends_in_an_ellipsis() {
    let mut app = running_app();
    let mut rules = rules_at(61);
    rules.push(rule("service=a-rather-long-service-name allow=admin", 5));
    let table = portcullis::app::observation::RulesState::Table {
        objects: Vec::new().into(),
        structure: portcullis::nft::counters::structure_of(&rules),
        rules,
    };
    update(
        &mut app,
        Msg::Refreshed(Box::new(observation(61, table, Ok(sockets(true))))),
    );
    for (w, h) in [(113, 34), (86, 22), (61, 16)] {
        press(&mut app, "1");
        app.focus = portcullis::app::Focus::Rules;
        let screen = render(&mut app, w, h);
        assert_nothing_cut(
            &screen,
            &["a-rather-long-service-name".to_string()],
            &format!("rules at {w}x{h}"),
        );
    }
}

fn form_hints(app: &App) -> Vec<String> {
    let Modal::Form(form) = &app.modal else {
        panic!("no form: {:?}", app.modal)
    };
    form.fields
        .iter()
        .map(|f| {
            if f.multi_line {
                let n = f.entries().len();
                format!(
                    "{n} {}; {}",
                    if n == 1 { "entry" } else { "entries" },
                    f.hint
                )
            } else {
                f.hint.to_string()
            }
        })
        .collect()
}

#[test]
fn a_form_s_values_and_hints_are_whole_or_end_in_an_ellipsis() {
    let allow = "admin, soc, agents, netdevices, 192.0.2.0/24, 198.51.100.0/24";
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, &format!("wide\t\t8443/tcp\t{allow}\t"));
    let screen = render(&mut app, 61, 16);
    let mut values = form_hints(&app);
    values.push(allow.to_string());
    assert_nothing_cut(&screen, &values, "the service form at 61x16");

    let mut app = running_app();
    press(&mut app, "3e");
    let screen = render(&mut app, 61, 16);
    assert_nothing_cut(&screen, &form_hints(&app), "the network form at 61x16");

    // A finding too long for its lines, or squeezed where the form does not fit the
    // terminal, ends in … too.
    for (w, h) in [(86, 22), (61, 16)] {
        let mut app = running_app();
        press(&mut app, "2a");
        press(&mut app, &format!("x\t\t{}\t", "99999/tcp, ".repeat(12)));
        let screen = render(&mut app, w, h);
        // The form's message column, its lines joined as one text.
        let text: String = screen
            .lines()
            .filter_map(|l| {
                let inner = l.split('│').nth(1)?;
                Some(
                    inner
                        .chars()
                        .skip(13)
                        .collect::<String>()
                        .trim()
                        .to_string(),
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let Modal::Form(form) = &app.modal else {
            panic!("no form")
        };
        for finding in form.fields.iter().filter_map(|f| f.error.as_ref()) {
            let whole = format!("✗ {finding}");
            let shown = (1..=whole.len())
                .rev()
                .filter(|&n| whole.is_char_boundary(n))
                .find(|&n| text.contains(&whole[..n]))
                .unwrap_or(0);
            let rest = &text[text.find(&whole[..shown]).unwrap_or(0) + shown..];
            assert!(
                shown == whole.len() || rest.trim_start().starts_with('…'),
                "{w}x{h}: the finding {whole:?} is cut without … after {:?}:\n{screen}",
                &whole[..shown]
            );
        }
    }
}

#[test]
fn the_key_hints_drop_whole_keys_and_say_so() {
    for (w, h) in [(86, 22), (61, 16)] {
        let mut app = running_app();
        let screen = render(&mut app, w, h);
        let footer = screen.lines().last().unwrap_or_default().to_string();
        assert_nothing_cut(
            &footer,
            &["a add service / let in".to_string()],
            &format!("footer at {w}x{h}"),
        );
    }
}

#[test]
fn a_list_s_title_with_a_filter_is_whole_or_ends_in_an_ellipsis() {
    let mut app = running_app();
    press(&mut app, "2/ssh admin\r");
    let screen = render(&mut app, 61, 16);
    assert!(
        screen.contains("/ssh admin (Esc clears)"),
        "the filter is lost from the title:\n{screen}"
    );
}

#[test]
fn the_networks_filter_matches_every_entry_not_the_first_three() {
    let policy = r#"
[networks]
many = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.77"]
few = ["203.0.113.5"]

[services.ssh]
ports = ["22/tcp"]
allow = ["many"]
"#;
    let mut app = portcullis::app::App::new(config(false), now());
    let mut obs = observation(
        0,
        portcullis::app::observation::RulesState::NoTable,
        Ok(sockets(true)),
    );
    obs.policy = Some(portcullis::app::observation::PolicyLoad::Loaded(Box::new(
        portcullis::policy::parse(policy).expect("valid"),
    )));
    obs.policy_text = Some(portcullis::policy::file::Loaded::of_text(policy));
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    press(&mut app, "3/198.51.100.77\r");
    assert_eq!(app.list_names(Screen::Networks), ["many"]);
}

#[test]
fn a_sockets_filter_does_not_change_the_name_a_new_service_gets() {
    // A drop to 8080, where java listens (http-alt in /etc/services) and no service allows:
    // the new service is named after the socket even when the sockets are filtered to ssh.
    let mut app = app_with_drops(None);
    let mut obs = observation(
        62,
        portcullis::app::observation::RulesState::NoTable,
        Ok(sockets(true)),
    );
    let mut feed = drop_feed();
    if let portcullis::app::observation::DropFeed::Reading { entries, .. } = &mut feed {
        entries[0].key.port = Some(8080);
    }
    obs.drops = feed;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    press(&mut app, "/ssh\r\t\t/8080\r");
    key(&mut app, KeyCode::Down);
    press(&mut app, "a");
    assert!(matches!(app.modal, Modal::LetIn(_)), "{:?}", app.modal);
    key(&mut app, KeyCode::Enter);
    let Modal::Form(form) = &app.modal else {
        panic!("no form: {:?}", app.modal)
    };
    assert_eq!(form.name(), "http-alt");
}
