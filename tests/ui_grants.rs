//! Temporary access in the UI: `t` on a service asks on the footer line for a source and
//! how long and sends it as `portcullis grant` would; `T` takes one back; a drop offers a
//! grant among its ways in; the services screen shows each grant with its time left.

#[path = "fixtures/ui.rs"]
mod fixtures;

use std::time::Duration;

use fixtures::*;
use portcullis::app::{Effect, LiveRequest, Modal, Msg, update};
use portcullis::nft::grants::Grant;
use ratatui::crossterm::event::KeyCode;

fn grant_effect(effects: &[Effect]) -> Option<&LiveRequest> {
    effects.iter().find_map(|e| match e {
        Effect::Live(r) => Some(r),
        _ => None,
    })
}

#[test]
fn t_on_a_service_asks_for_a_source_and_a_time_and_sends_the_grant() {
    let mut app = running_app();
    press(&mut app, "2t");
    let screen = render(&mut app, 160, 48);
    let footer = screen.lines().last().unwrap_or_default().to_string();
    assert!(footer.contains("grant ssh to (SOURCE FOR"), "{footer}");
    // Half an answer: said what is missing, and kept to be finished.
    press(&mut app, "192.0.2.7\r");
    assert!(app.prompt.is_some(), "the question stays open");
    assert!(
        format!("{:?}", app.notice).contains("how long"),
        "{:?}",
        app.notice
    );
    let effects = press(&mut app, " 2h\r");
    assert_eq!(
        grant_effect(&effects),
        Some(&LiveRequest::Grant {
            service: "ssh".into(),
            source: portcullis::policy::parse_net("192.0.2.7").unwrap(),
            duration: Duration::from_secs(7200),
        })
    );
    assert!(app.prompt.is_none());
    // Esc drops a question.
    press(&mut app, "t");
    key(&mut app, KeyCode::Esc);
    assert!(app.prompt.is_none());
}

#[test]
fn the_services_screen_shows_each_grant_with_its_time_left_and_t_revokes_it() {
    let mut app = running_app();
    let mut obs = observation(
        61,
        portcullis::app::observation::RulesState::NoTable,
        Ok(sockets(true)),
    );
    obs.grants = vec![Grant {
        service: "ssh".into(),
        source: portcullis::policy::parse_net("198.51.100.9").unwrap(),
        protocol: "tcp".into(),
        ports: (22, 22),
        until: Some("2026-12-01T17:00:00Z".into()),
        expires_s: Some(3540),
    }];
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    press(&mut app, "2");
    let screen = render(&mut app, 160, 48);
    assert!(
        screen.contains("granted: 198.51.100.9/32 (59m left)"),
        "{screen}"
    );
    // T asks which source to take back, the one there is already filled in.
    press(&mut app, "T");
    assert_eq!(
        app.prompt.as_ref().map(|p| p.text.as_str()),
        Some("198.51.100.9/32")
    );
    let effects = press(&mut app, "\r");
    assert_eq!(
        grant_effect(&effects),
        Some(&LiveRequest::Revoke {
            service: "ssh".into(),
            source: portcullis::policy::parse_net("198.51.100.9").unwrap(),
        })
    );
}

#[test]
fn a_drop_offers_a_grant_to_the_service_on_its_port() {
    let mut app = app_with_drops(None);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    press(&mut app, "a");
    let Modal::LetIn(l) = &app.modal else {
        panic!("no ways in: {:?}", app.modal)
    };
    let at = l
        .ways
        .iter()
        .position(|w| w.label().starts_with("let 203.0.113.200/32 reach agents"))
        .expect("a grant among the ways in");
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    let prompt = app.prompt.as_ref().expect("the grant's question");
    assert_eq!(prompt.service, "agents");
    assert_eq!(prompt.text, "203.0.113.200/32 1h");
}

#[test]
fn a_read_only_ui_grants_nothing() {
    let mut app = portcullis::app::App::new(config(true), now());
    update(
        &mut app,
        Msg::Refreshed(Box::new(observation(
            0,
            portcullis::app::observation::RulesState::NoTable,
            Ok(sockets(true)),
        ))),
    );
    press(&mut app, "2t");
    assert!(app.prompt.is_none());
    assert!(
        format!("{:?}", app.notice).contains("needs root"),
        "{:?}",
        app.notice
    );
}

#[test]
fn the_question_keeps_its_words_and_what_is_typed_at_narrow_widths() {
    for (w, h) in [(80, 24), (61, 16)] {
        let mut app = running_app();
        press(&mut app, "2t198.51.100.200/32 2h");
        let screen = render(&mut app, w, h);
        let footer = screen.lines().last().unwrap_or_default().to_string();
        assert!(footer.contains("grant ssh"), "{w}x{h}: {footer}");
        assert!(
            footer.contains("198.51.100.200/32 2h▏"),
            "{w}x{h}: {footer}"
        );
    }
}
