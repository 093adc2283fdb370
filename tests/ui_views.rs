//! Every view of the terminal UI rendered into ratatui's TestBackend at 80×24 and 160×48
//! with fixed data (no clock, no kernel), and snapshotted: the overview side by side and
//! tabbed, the help overlay, the empty, error and read-only states, a pending commit and
//! the other tables expanded.

use std::time::Duration;

use insta::assert_snapshot;
use portcullis::app::observation::{
    Observation, OtherChain, OtherTable, PendingCommit, PolicyLoad, RulesState,
};
use portcullis::app::{App, Config, Msg, update};
use portcullis::nft::counters::{LiveRule, service_of, structure_of};
use portcullis::policy::Protocol;
use portcullis::policy::file::Loaded;
use portcullis::sockets::{Listener, Process};
use portcullis::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const NOW: u64 = 1_790_000_000_000;
const POLICY: &str = include_str!("../assets/examples/siem-server.toml");

fn config(read_only: bool) -> Config {
    Config {
        host: "web01".into(),
        table: "portcullis".into(),
        policy_path: "/etc/portcullis/policy.toml".into(),
        read_only,
        refresh: Duration::from_secs(1),
        demo: None,
    }
}

fn listener(
    protocol: Protocol,
    address: &str,
    port: u16,
    dual: bool,
    process: Option<(&str, u32)>,
    service: &str,
    conns: Option<usize>,
) -> Listener {
    Listener {
        protocol,
        address: address.parse().expect("address"),
        port,
        dual_stack: dual,
        interface: None,
        connections: conns,
        process: process.map(|(name, pid)| Process {
            pid,
            name: name.into(),
            user: "root".into(),
        }),
        service: (!service.is_empty()).then(|| service.to_string()),
        inode: u32::from(port),
        uid: 0,
    }
}

fn sockets(known_owners: bool) -> Vec<Listener> {
    let own = |name, pid| known_owners.then_some((name, pid));
    vec![
        listener(
            Protocol::Tcp,
            "::",
            22,
            true,
            Some(("sshd", 812)),
            "ssh",
            Some(2),
        ),
        listener(
            Protocol::Tcp,
            "::",
            443,
            true,
            own("nginx", 1201),
            "https",
            Some(14),
        ),
        listener(
            Protocol::Udp,
            "0.0.0.0",
            514,
            false,
            own("rsyslogd", 640),
            "syslog",
            None,
        ),
        listener(
            Protocol::Tcp,
            "127.0.0.1",
            5432,
            false,
            own("postgres", 990),
            "postgresql",
            Some(3),
        ),
        listener(
            Protocol::Tcp,
            "0.0.0.0",
            8080,
            false,
            own("java", 2210),
            "http-alt",
            Some(0),
        ),
        listener(
            Protocol::Udp,
            "::",
            2055,
            true,
            own("nfcapd", 1500),
            "",
            None,
        ),
    ]
}

fn rule(comment: &str, packets: u64) -> LiveRule {
    LiveRule {
        chain: "input".into(),
        handle: None,
        service: service_of(comment),
        comment: Some(comment.into()),
        packets: Some(packets),
        bytes: Some(packets * 84),
        rule: String::new(),
    }
}

/// The counters at refresh `i`: each service grows at its own pace.
fn rules_at(i: u64) -> Vec<LiveRule> {
    vec![
        rule("ping", 3 * i),
        rule("service=agents allow=agents", 40 * i + (i % 7) * 9),
        rule("service=console allow=admin", i / 4),
        rule("service=ssh allow=admin", 2 * i + i % 3),
        rule("service=ssh allow=admin", i % 2),
        rule("service=syslog allow=agents", 250 * i + (i % 5) * 60),
        rule("service=web allow=soc", 90 * i + (i % 4) * 30),
        rule("input policy drop", 12 * i + (i % 6) * 4),
    ]
}

fn observation(i: u64, rules: RulesState, sockets: Result<Vec<Listener>, String>) -> Observation {
    Observation {
        at_ms: NOW - 60_000 + i * 1000,
        sockets,
        rules,
        other_tables: Vec::new(),
        pending: None,
        policy: (i == 0).then(|| {
            PolicyLoad::Loaded(Box::new(
                portcullis::policy::parse(POLICY).expect("example is valid"),
            ))
        }),
        policy_text: (i == 0).then(|| Loaded::of_text(POLICY)),
        last_commit: None,
    }
}

/// An app after a minute of refreshes with the usual data.
fn running_app() -> App {
    let mut app = App::new(config(false), NOW);
    for i in 0..=60 {
        let table = RulesState::Table {
            objects: Vec::new().into(),
            structure: structure_of(&rules_at(i)),
            rules: rules_at(i),
        };
        update(
            &mut app,
            Msg::Refreshed(Box::new(observation(i, table, Ok(sockets(true))))),
        );
    }
    app
}

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn render(app: &mut App, width: u16, height: u16) -> String {
    let theme = Theme::built_in("default").expect("default theme");
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|f| portcullis::ui::draw(f, app, &theme))
        .expect("draw");
    terminal.backend().to_string()
}

/// Both sizes, one snapshot each.
fn snapshot_both(name: &str, make: impl Fn() -> App) {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = make();
        assert_snapshot!(format!("{name}_{w}x{h}"), render(&mut app, w, h));
    }
}

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
        let mut app = App::new(config(false), NOW);
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
    snapshot_both("loading", || App::new(config(false), NOW));
}

#[test]
fn error_state() {
    snapshot_both("errors", || {
        let mut app = App::new(config(false), NOW);
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
        let mut app = App::new(config(true), NOW);
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
    let mut app = App::new(config(true), NOW);
    let mut obs = observation(0, RulesState::NeedsPrivilege, Ok(sockets(false)));
    obs.pending = Some(pending());
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
        let mut app = App::new(config(true), NOW);
        let mut obs = observation(0, RulesState::NeedsPrivilege, Ok(sockets(false)));
        obs.pending = Some(pending());
        update(&mut app, Msg::Refreshed(Box::new(obs)));
        key(&mut app, KeyCode::Char('c'));
        app
    });
}

fn pending() -> PendingCommit {
    PendingCommit {
        id: "20261121-101500-1a2b".into(),
        deadline_ms: NOW + 23_400,
        user: "alice".into(),
        rollback_error: None,
    }
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
    snapshot_both("pending", || {
        let mut app = running_app();
        let table = RulesState::Table {
            objects: Vec::new().into(),
            structure: structure_of(&rules_at(61)),
            rules: rules_at(61),
        };
        let mut obs = observation(61, table, Ok(sockets(true)));
        obs.pending = Some(pending());
        obs.other_tables = other_tables();
        update(&mut app, Msg::Refreshed(Box::new(obs)));
        app
    });
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
