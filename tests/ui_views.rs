//! Every view of the terminal UI rendered into ratatui's TestBackend at 80×24 and 160×48
//! with fixed data (no clock, no kernel), and snapshotted: the overview side by side and
//! tabbed, the help overlay, the empty, error and read-only states, a pending commit and
//! the other tables expanded.

#[path = "fixtures/ui.rs"]
mod fixtures;

use fixtures::*;
use portcullis::app::observation::{OtherChain, OtherTable, PolicyLoad, RulesState};
use portcullis::app::{App, Msg, update};
use portcullis::nft::counters::structure_of;
use portcullis::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[test]
fn overview() {
    snapshot_both("overview", running_app);
}

#[test]
fn overview_with_the_rules_pane_focused_and_a_rule_selected() {
    snapshot_both("rules_focused", || {
        let mut app = running_app();
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Down); // ssh: its socket is highlighted
        app
    });
}

#[test]
fn the_default_drop_row_selected_highlights_the_uncovered_sockets() {
    let mut app = running_app();
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::End);
    let highlighted = app.highlighted_sockets();
    let ports: Vec<u16> = highlighted
        .iter()
        .map(|&i| app.sockets[i].listener.port)
        .collect();
    // 2055/udp is covered by the flows service; only 8080 falls to the default drop.
    assert_eq!(ports, [8080]);
}

#[test]
fn help_overlay() {
    snapshot_both("help", || {
        let mut app = running_app();
        key(&mut app, KeyCode::Char('?'));
        app
    });
}

#[test]
fn empty_state() {
    snapshot_both("empty", || {
        let mut app = App::new(config(false), now());
        update(
            &mut app,
            Msg::Refreshed(Box::new(observation(
                0,
                RulesState::NoTable,
                Ok(Vec::new()),
            ))),
        );
        app
    });
}

#[test]
fn before_the_first_refresh() {
    snapshot_both("loading", || App::new(config(false), now()));
}

#[test]
fn error_state() {
    snapshot_both("errors", || {
        let mut app = App::new(config(false), now());
        let mut obs = observation(
            0,
            RulesState::Unavailable(
                "cannot run nft: No such file or directory (os error 2) (is the nftables package \
                 installed? see --nft)"
                    .into(),
            ),
            Err("Operation not permitted (os error 1)".into()),
        );
        obs.policy = Some(PolicyLoad::Invalid(
            "/etc/portcullis/policy.toml:7:9: unknown network \"admn\"\n".into(),
        ));
        update(&mut app, Msg::Refreshed(Box::new(obs)));
        app
    });
}

#[test]
fn read_only_state() {
    snapshot_both("read_only", || {
        let mut app = App::new(config(true), now());
        update(
            &mut app,
            Msg::Refreshed(Box::new(observation(
                0,
                RulesState::NeedsPrivilege,
                Ok(sockets(false)),
            ))),
        );
        app
    });
}

#[test]
fn read_only_editing_keys_say_why_they_are_disabled() {
    let mut app = App::new(config(true), now());
    let mut obs = observation(0, RulesState::NeedsPrivilege, Ok(sockets(false)));
    journal(&mut obs).pending = Some(pending());
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    for k in ['c', 'b'] {
        let outcome = update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char(k), KeyModifiers::NONE)),
        );
        assert!(
            outcome.effects.is_empty(),
            "{k} did something in read-only mode"
        );
        let notice = app.notice.clone().expect("a notice");
        assert!(
            notice.error && notice.text.contains("needs root"),
            "{notice:?}"
        );
    }
    snapshot_both("read_only_key", || {
        let mut app = App::new(config(true), now());
        let mut obs = observation(0, RulesState::NeedsPrivilege, Ok(sockets(false)));
        journal(&mut obs).pending = Some(pending());
        update(&mut app, Msg::Refreshed(Box::new(obs)));
        key(&mut app, KeyCode::Char('c'));
        app
    });
}

fn other_tables() -> Vec<OtherTable> {
    vec![
        OtherTable {
            family: "ip".into(),
            name: "filter".into(),
            chains: vec![
                OtherChain {
                    name: "INPUT".into(),
                    hook: Some("input".into()),
                    policy: Some("accept".into()),
                    rules: 4,
                },
                OtherChain {
                    name: "DOCKER-USER".into(),
                    hook: None,
                    policy: None,
                    rules: 1,
                },
            ],
        },
        OtherTable {
            family: "ip".into(),
            name: "nat".into(),
            chains: vec![OtherChain {
                name: "POSTROUTING".into(),
                hook: Some("postrouting".into()),
                policy: Some("accept".into()),
                rules: 2,
            }],
        },
    ]
}

#[test]
fn pending_commit_and_other_tables_collapsed() {
    snapshot_both("pending", || app_with_pending(pending(), other_tables()));
}

#[test]
fn other_tables_expanded() {
    snapshot_both("other_tables", || {
        let mut app = running_app();
        let table = RulesState::Table {
            objects: Vec::new().into(),
            structure: structure_of(&rules_at(61)),
            rules: rules_at(61),
        };
        let mut obs = observation(61, table, Ok(sockets(true)));
        obs.other_tables = other_tables();
        update(&mut app, Msg::Refreshed(Box::new(obs)));
        key(&mut app, KeyCode::Char('o'));
        app
    });
}

#[test]
fn every_theme_renders_and_no_color_leaves_no_colour() {
    use ratatui::style::Color;
    for name in ["default", "light", "high-contrast", "mono"] {
        let theme = Theme::built_in(name).expect("theme").without_colour();
        let mut app = running_app();
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        terminal
            .draw(|f| portcullis::ui::draw(f, &mut app, &theme))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        assert!(
            buffer
                .content()
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "{name} without colour still has colour"
        );
    }
}

/// The app after a refresh that brings `pending` (and `other`, the other tables).
fn app_with_pending(pending: portcullis::app::observation::Pending, other: Vec<OtherTable>) -> App {
    let mut app = running_app();
    let table = RulesState::Table {
        objects: Vec::new().into(),
        structure: structure_of(&rules_at(61)),
        rules: rules_at(61),
    };
    let mut obs = observation(61, table, Ok(sockets(true)));
    journal(&mut obs).pending = Some(pending);
    obs.other_tables = other;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    app
}

#[test]
fn the_countdown_counts_on_the_boot_clock_whatever_the_wall_clock_does() {
    let mut app = app_with_pending(pending(), Vec::new());
    // NOW + 23.4 s is the deadline; one second on, the wall clock is stepped an hour ahead.
    let mut now = at(NOW + 1_000);
    now.wall_ms += 3_600_000;
    update(
        &mut app,
        Msg::Clock {
            now,
            refresh_due: false,
        },
    );
    assert!(
        render(&mut app, 160, 48).contains("rolls back in 23s"),
        "{}",
        render(&mut app, 160, 48)
    );
}

#[test]
fn a_commit_still_applying_says_so_instead_of_a_countdown() {
    let mut p = pending();
    p.stage = portcullis::commit::journal::Stage::Applying;
    let mut app = app_with_pending(p, Vec::new());
    for (w, h) in [(80, 24), (113, 34)] {
        let screen = render(&mut app, w, h);
        assert!(
            screen.contains("still applying (b rolls back now)"),
            "{screen}"
        );
        assert!(
            screen.contains("Still applying (applied by alice)."),
            "{screen}"
        );
        assert!(
            !screen.contains("unless you keep it"),
            "not keepable yet: {screen}"
        );
        assert!(!screen.contains("c keeps it"), "not keepable yet: {screen}");
    }
}

/// Counters survive commits that do not touch their rule: the rules pane's title says
/// since when the selected row counts, and when its rules started at different times.
#[test]
fn the_selected_rule_says_since_when_it_counts() {
    let mut app = running_app();
    let mut rules = rules_at(61);
    for (handle, rule) in (4u32..).zip(rules.iter_mut()) {
        rule.handle = Some(handle);
    }
    let mut obs = observation(
        61,
        RulesState::Table {
            objects: Vec::new().into(),
            structure: structure_of(&rules),
            rules,
        },
        Ok(sockets(true)),
    );
    // 10:15:00Z for every rule, but ssh's second rule came with a commit at 10:42:07Z.
    let at = |h: u32| {
        if h == 8 {
            1_795_948_927_000
        } else {
            1_795_947_300_000
        }
    };
    journal(&mut obs).counting = Some(portcullis::commit::counting::Counting {
        table: "portcullis".into(),
        since: (4u32..12).map(|h| (h, at(h))).collect(),
        ..Default::default()
    });
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down); // ssh
    // Side by side, Cockpit's shell, 80x24 and a small window: whole, never cut.
    for (w, h) in [(160, 48), (113, 34), (80, 24), (61, 16)] {
        let screen = render(&mut app, w, h);
        assert!(
            screen.contains("Rules · ssh: since 10:42:07Z (part earlier) "),
            "{w}x{h}:\n{screen}"
        );
    }
    key(&mut app, KeyCode::Down); // syslog
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("syslog: since 10:15:00Z"), "{screen}");
    // Narrow: the label gives way with an ellipsis, then the whole hint.
    let screen = render(&mut app, 34, 16);
    assert!(
        screen.contains("Rules · sysl…: since 10:15:00Z "),
        "{screen}"
    );
    let screen = render(&mut app, 30, 16);
    assert!(screen.contains("Rules · inet portcullis "), "{screen}");
}

#[test]
fn the_drops_pane_shows_who_is_dropped_newest_first_with_why() {
    snapshot_both("drops", || {
        let mut app = app_with_drops(None);
        // The narrow layout shows one pane: the drops tab.
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        app
    });
    let mut app = app_with_drops(None);
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("Drops (4) · NFLOG 47"), "{screen}");
    assert!(
        screen.contains("nothing listens; agents allows agents"),
        "{screen}"
    );
    assert!(screen.contains("nothing listens; no service"), "{screen}");
    assert!(screen.contains("YOUR PEER"), "{screen}");
}

#[test]
fn the_default_drop_row_leads_to_its_drops_and_a_drop_to_the_ways_in() {
    let mut app = app_with_drops(None);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::End); // the default-drop row
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, portcullis::app::Focus::Drops);
    // The newest drop: the agent at 203.0.113.200, outside the agents network.
    key(&mut app, KeyCode::Char('a'));
    snapshot("let_in_160x48", render(&mut app, 160, 48));
    key(&mut app, KeyCode::Down); // its /24
    key(&mut app, KeyCode::Enter);
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("203.0.113.0/24"), "{screen}");
    assert!(screen.contains("Network"), "{screen}");

    // A port nothing listens on says so above the ways in.
    let mut app = app_with_drops(None);
    for _ in 0..2 {
        key(&mut app, KeyCode::Tab);
    }
    key(&mut app, KeyCode::End); // the oldest: 8443
    key(&mut app, KeyCode::Enter);
    let screen = render(&mut app, 160, 48);
    assert!(
        screen.contains("nothing listens on 8443: allowing it would not help"),
        "{screen}"
    );
    assert!(
        screen.contains("a new service for 8443/tcp from 198.51.100.7/32"),
        "{screen}"
    );
}

#[test]
fn the_countdown_shows_drops_from_the_operators_own_address_loudly() {
    let mut app = app_with_drops(Some(pending()));
    // The UI saw the commit at this refresh; a later drop from the operator's address:
    let table = RulesState::Table {
        objects: Vec::new().into(),
        structure: structure_of(&rules_at(62)),
        rules: rules_at(62),
    };
    let mut obs = observation(62, table, Ok(sockets(true)));
    journal(&mut obs).pending = Some(pending());
    obs.operator_peers = vec!["192.0.2.10".parse().unwrap()];
    let mut feed = drop_feed();
    if let portcullis::app::observation::DropFeed::Reading { entries, .. } = &mut feed {
        let peer = entries
            .iter_mut()
            .find(|e| e.key.source.to_string() == "192.0.2.10")
            .unwrap();
        peer.last_ms = NOW + 5_000;
    }
    obs.drops = feed;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    snapshot("countdown_peer_drops_160x48", render(&mut app, 160, 48));
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("DROPPED FROM YOUR OWN ADDRESS"), "{screen}");
    assert!(
        screen.contains("192.0.2.10 → 2222/tcp ×1 on eth0"),
        "{screen}"
    );
}
