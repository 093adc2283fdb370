//! The edit loop's screens and forms rendered into ratatui's TestBackend and snapshotted,
//! driven by the same messages the terminal sends (keys, pastes) and the worker answers
//! (reviews, saves, commits): the services and networks screens, the forms in every state
//! including each validation message, the diff with a lockout warning, the questions, the
//! countdown with its evidence; and the flow's rules (what needs a diff, a typed yes, a
//! reload-or-overwrite) checked on the effects update returns.

#[path = "fixtures/ui.rs"]
mod fixtures;

use fixtures::*;
use portcullis::app::observation::{Record, RulesState};
use portcullis::app::review::{ApplyDone, ApplyFailed};
use portcullis::app::{App, Effect, Modal, Msg, SaveFailed, Screen, update};
use portcullis::commit::Outcome;
use portcullis::nft::counters::structure_of;
use portcullis::policy::file::Loaded;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
    .effects
}

fn small(name: &str, app: &mut App) {
    snapshot(name, render(app, 80, 24));
}

#[test]
fn the_services_and_networks_screens() {
    let mut app = running_app();
    press(&mut app, "2");
    assert_eq!(app.screen, Screen::Services);
    small("services", &mut app);
    snapshot("services_160x48", render(&mut app, 160, 48));
    press(&mut app, "3");
    small("networks", &mut app);
}

#[test]
fn adding_a_service_by_typing_with_completion() {
    let mut app = running_app();
    press(&mut app, "2a");
    small("service_form_new", &mut app);
    press(&mut app, "web2\tAnalysts' second console\t8443/tcp\tso");
    small("service_form_completion", &mut app);
    press(&mut app, "\t");
    small("service_form_valid", &mut app);
    press(&mut app, "\r");
    assert!(matches!(app.modal, Modal::None));
    assert!(app.dirty());
    small("services_edited", &mut app);
    let text = app.editor.as_ref().expect("editor").text();
    assert!(
        text.starts_with(POLICY),
        "the file is kept as written:\n{text}"
    );
    assert!(
        text.ends_with(
            "[services.web2]\ndescription = \"Analysts' second console\"\n\
             ports = [\"8443/tcp\"]\nallow = [\"soc\"]\n"
        ),
        "{text}"
    );
}

/// Every message a form can show, one snapshot each: (name, screen keys, keys in the form).
#[test]
fn every_validation_message_shows_under_its_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("name_missing", "2a", "\t\t22/tcp\tany"),
        ("name_taken", "2a", "ssh\t\t22/tcp\tany"),
        ("name_invalid", "2a", "9 lives\t\t22/tcp\tany"),
        ("ports_empty", "2a", "x\t\t\tany"),
        ("port_zero", "2a", "x\t\t0/tcp\tany"),
        ("port_too_big", "2a", "x\t\t70000/tcp\tany"),
        ("port_range_reversed", "2a", "x\t\t9001-9000/tcp\tany"),
        ("port_protocol_unknown", "2a", "x\t\t22/sctp\tany"),
        ("port_garbage", "2a", "x\t\tssh\tany"),
        ("allow_empty", "2a", "x\t\t22/tcp\t"),
        ("allow_unknown_network", "2a", "x\t\t22/tcp\tsocc"),
        ("allow_host_bits", "2a", "x\t\t22/tcp\t10.0.0.1/8"),
        (
            "interface_too_long",
            "2a",
            "x\t\t22/tcp\tany\teth0123456789abcdef",
        ),
        (
            "interface_bad_characters",
            "2a",
            "x\t\t22/tcp\tany\teth0;drop",
        ),
        ("direction_unknown", "2a", "x\t\t22/tcp\tany\t\tsideways"),
        ("network_name_missing", "3a", "\t10.0.0.0/8"),
        ("network_name_any", "3a", "any\t10.0.0.0/8"),
        ("network_name_taken", "3a", "soc\t10.0.0.0/8"),
        ("network_empty", "3a", "lab\t"),
        ("network_bad_address", "3a", "lab\t10.0.0.300"),
        ("network_host_bits", "3a", "lab\t10.0.0.1/8"),
    ];
    for (name, screen, typed) in cases {
        let mut app = running_app();
        press(&mut app, screen);
        press(&mut app, typed);
        let Modal::Form(form) = &app.modal else {
            panic!("{name}: no form open");
        };
        assert!(!form.valid, "{name}: accepted");
        assert!(
            form.fields.iter().any(|f| f.error.is_some()),
            "{name}: no message"
        );
        small(&format!("form_{name}"), &mut app);
        // Done (^S, which works in every field) refuses an invalid form; nothing is edited.
        ctrl(&mut app, 's');
        assert!(matches!(app.modal, Modal::Form(_)), "{name}: closed");
        assert!(!app.dirty(), "{name}: edited");
    }
}

#[test]
fn a_description_with_a_control_character_is_refused() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "x\t");
    update(&mut app, Msg::Paste("line one\u{7}".into()));
    press(&mut app, "\t22/tcp\tany");
    let Modal::Form(form) = &app.modal else {
        panic!("no form")
    };
    assert!(form.fields[1].error.is_some(), "{:?}", form.fields[1]);
}

#[test]
fn editing_undo_and_cancel_write_nothing() {
    let mut app = running_app();
    press(&mut app, "2e");
    small("service_form_edit", &mut app);
    press(&mut app, "\t\t, 2222/tcp");
    ctrl(&mut app, 'z');
    press(&mut app, "\u{1b}");
    assert!(matches!(app.modal, Modal::None));
    assert!(!app.dirty());
}

#[test]
fn a_pasted_list_of_hundreds_of_addresses() {
    let mut app = running_app();
    press(&mut app, "3a");
    press(&mut app, "lab\t");
    let list: Vec<String> = (0..300)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    update(&mut app, Msg::Paste(list.join("\r\n")));
    small("network_form_pasted", &mut app);
    ctrl(&mut app, 's');
    assert!(matches!(app.modal, Modal::None), "{:?}", app.notice);
    let editor = app.editor.as_ref().expect("editor");
    assert_eq!(
        editor.policy().expect("valid").networks["lab"]
            .entries
            .len(),
        300
    );
}

#[test]
fn a_network_in_use_cannot_be_deleted_and_the_reason_is_given() {
    let mut app = running_app();
    press(&mut app, "3");
    let effects = press(&mut app, "x");
    assert!(effects.is_empty());
    let notice = app.notice.clone().expect("a notice");
    assert!(notice.error, "{notice:?}");
    assert!(notice.text.contains("used by ssh, console"), "{notice:?}");
    small("network_in_use", &mut app);
    // A service can be deleted, after a question.
    press(&mut app, "2x");
    small("delete_question", &mut app);
    press(&mut app, "y");
    assert!(app.dirty());
    assert!(!app.list_names(Screen::Services).contains(&"ssh"));
    press(&mut app, "U");
    press(&mut app, "y");
    assert!(!app.dirty(), "discarded");
}

#[test]
fn an_uncovered_socket_becomes_a_filled_in_service_form() {
    let mut app = running_app();
    // 8080 is the last socket, and no service covers it.
    press(&mut app, "G");
    press(&mut app, "a");
    let Modal::Form(form) = &app.modal else {
        panic!("no form: {:?}", app.notice)
    };
    assert_eq!(form.name(), "http-alt");
    assert_eq!(form.fields[2].text(), "8080/tcp");
    assert_eq!(
        form.fields[3].text(),
        "",
        "who may connect is the operator's call"
    );
    assert_eq!(form.fields[form.focus].key, "allow");
    small("service_from_socket", &mut app);
    // A covered socket says which service covers it.
    press(&mut app, "\u{1b}g");
    press(&mut app, "a");
    assert!(matches!(app.modal, Modal::None));
    assert!(
        app.notice
            .as_ref()
            .expect("notice")
            .text
            .contains("covered by service ssh"),
        "{:?}",
        app.notice
    );
}

#[test]
fn saving_sends_the_text_and_the_stamp_and_a_changed_file_asks_first() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\r");
    let effects = press(&mut app, "s");
    let [Effect::Save { text, stamp }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("[services.web2]"));
    assert_eq!(*stamp, Some(Loaded::of_text(POLICY).stamp));
    assert!(press(&mut app, "s").is_empty(), "one save at a time");
    // Someone else saved the file meanwhile.
    update(&mut app, Msg::Saved(Err(SaveFailed::ChangedOnDisk)));
    assert!(matches!(app.modal, Modal::Conflict));
    small("conflict", &mut app);
    let effects = press(&mut app, "o");
    assert!(matches!(
        effects.as_slice(),
        [Effect::Save { stamp: None, .. }]
    ));
    let saved = Loaded::of_text(text);
    update(
        &mut app,
        Msg::Saved(Ok((saved, Some("policy.toml.bak".into())))),
    );
    assert!(!app.dirty());
    assert!(
        app.notice
            .as_ref()
            .expect("notice")
            .text
            .contains("policy.toml.bak")
    );
}

#[test]
fn the_diff_then_a_commit_that_needs_a_typed_yes() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\r");
    let effects = press(&mut app, "d");
    assert!(
        matches!(effects.as_slice(), [Effect::Review(_)]),
        "{effects:?}"
    );
    small("diff_preparing", &mut app);
    let lockout = "LOCKOUT: the new policy drops new connections from 192.0.2.7 to port 22/tcp \
                   (your SSH session: 192.0.2.7 port 50022 -> 192.0.2.1 port 22). The session \
                   you have now survives (established connections stay allowed), but you could \
                   not log in again."
        .to_string();
    let review = review_of(&app, vec![lockout]);
    update(&mut app, Msg::Reviewed(Ok(Box::new(review))));
    small("diff", &mut app);
    snapshot("diff_160x48", render(&mut app, 160, 48));

    let effects = press(&mut app, "C");
    assert!(effects.is_empty());
    assert!(matches!(app.modal, Modal::Lockout(_)));
    small("lockout_prompt", &mut app);
    assert!(press(&mut app, "\r").is_empty(), "not without yes");
    assert!(matches!(app.modal, Modal::Lockout(_)), "still asking");
    press(&mut app, "yes");
    let effects = press(&mut app, "\r");
    let [Effect::Apply(job)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(job.lockout_consent);
    assert_eq!(job.disk, Loaded::of_text(POLICY));
    assert!(job.review.text.contains("[services.web2]"));
}

#[test]
fn a_commit_refused_because_the_table_changed_makes_the_diff_again() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\rd");
    let review = review_of(&app, Vec::new());
    update(&mut app, Msg::Reviewed(Ok(Box::new(review))));
    assert!(matches!(
        press(&mut app, "C").as_slice(),
        [Effect::Apply(_)]
    ));
    let outcome = update(
        &mut app,
        Msg::Applied(Err(Box::new(ApplyFailed {
            message: "not committed: table inet portcullis changed since the diff was shown".into(),
            saved: None,
            stale: true,
        }))),
    );
    assert!(matches!(outcome.effects.as_slice(), [Effect::Review(_)]));
    assert!(app.notice.as_ref().expect("notice").error);
}

fn observe_pending(app: &mut App, i: u64, last: Option<Record>) {
    let table = RulesState::Table {
        objects: Vec::new().into(),
        structure: structure_of(&rules_at(i)),
        rules: rules_at(i),
    };
    let mut obs = observation(i, table, Ok(sockets(true)));
    journal(&mut obs).pending = Some(pending());
    journal(&mut obs).last = last;
    update(app, Msg::Refreshed(Box::new(obs)));
}

#[test]
fn after_a_commit_the_countdown_shows_the_new_rules_hits_and_the_drops() {
    let mut app = running_app();
    press(&mut app, "2a");
    press(&mut app, "web2\t\t8443/tcp\tsoc\rd");
    let mut review = review_of(&app, Vec::new());
    review.changed_services = vec!["web".into(), "ssh".into()];
    update(&mut app, Msg::Reviewed(Ok(Box::new(review))));
    press(&mut app, "C");
    let saved = Loaded::of_text(app.editor.as_ref().expect("editor").text());
    update(
        &mut app,
        Msg::Applied(Ok(Box::new(ApplyDone {
            id: pending().id,
            deadline_ms: NOW + 23_400,
            saved,
        }))),
    );
    assert!(!app.dirty(), "the commit saved the file");
    observe_pending(&mut app, 61, None);
    assert!(matches!(app.modal, Modal::Countdown));
    small("countdown", &mut app);
    // The countdown stays in the status bar on every screen once hidden.
    press(&mut app, "\u{1b}2");
    small("countdown_hidden_services", &mut app);
    let effects = press(&mut app, "p");
    assert!(effects.is_empty() && matches!(app.modal, Modal::Countdown));
    let effects = press(&mut app, "y");
    assert!(matches!(
        effects.as_slice(),
        [Effect::Live(portcullis::app::LiveRequest::Confirm)]
    ));
}

#[test]
fn started_while_a_commit_is_pending_it_offers_keep_or_revert() {
    let mut app = App::new(config(false), now());
    observe_pending(&mut app, 0, None);
    assert!(matches!(app.modal, Modal::Countdown));
    let effects = press(&mut app, "n");
    assert!(matches!(
        effects.as_slice(),
        [Effect::Live(portcullis::app::LiveRequest::Rollback(id))] if *id == pending().id
    ));
}

/// The journal's last record: a commit of alice's rolled back an hour ago.
fn rolled_back_an_hour_ago() -> Record {
    Record {
        id: "20261122-230000-77".into(),
        table: "portcullis".into(),
        applied_at_ms: NOW - 3_700_000,
        resolved_at_ms: NOW - 3_600_000,
        outcome: Outcome::RolledBack,
        reason: Some("deadline passed without a confirm".into()),
        user: "alice".into(),
        rules_added: 1,
        rules_removed: 0,
    }
}

#[test]
fn a_rollback_while_away_is_shown_at_start() {
    let mut app = App::new(config(false), now());
    let table = RulesState::NoTable;
    let mut obs = observation(0, table, Ok(sockets(true)));
    journal(&mut obs).last = Some(rolled_back_an_hour_ago());
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    let notice = app.notice.clone().expect("news");
    assert!(notice.error);
    assert!(notice.text.contains("while you were away"), "{notice:?}");
    assert!(notice.text.contains("deadline passed"), "{notice:?}");
    small("rolled_back_while_away", &mut app);
}

/// An operator quick enough to go to the services screen before the first reading came
/// (seen under load in `kernel_edit`) gets the editor as soon as the file is read, not
/// only on coming back to the screen.
#[test]
fn a_screen_entered_before_the_first_reading_edits_once_the_file_is_read() {
    let mut app = App::new(config(false), now());
    press(&mut app, "2");
    press(&mut app, "a");
    assert!(app.editor.is_none(), "nothing read yet");
    let obs = observation(0, RulesState::NoTable, Ok(sockets(true)));
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    assert!(
        app.editor.is_some(),
        "the editor opened on the services screen"
    );
    press(&mut app, "a");
    assert!(matches!(app.modal, Modal::Form(_)), "the new-service form");
}

/// A refresh that could not read the journal (an effect of the UI's was running) changes
/// nothing it says: the countdown stays open, and the news at start waits for a reading.
#[test]
fn a_refresh_that_did_not_read_the_journal_keeps_what_it_said() {
    let mut app = running_app();
    observe_pending(&mut app, 61, None);
    assert!(matches!(app.modal, Modal::Countdown));
    let mut obs = observation(62, RulesState::NoTable, Ok(sockets(true)));
    obs.journal = None;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    assert!(
        matches!(app.modal, Modal::Countdown),
        "not closed by a skipped read"
    );
    assert_eq!(
        app.pending.as_ref().map(|p| p.id.clone()),
        Some(pending().id)
    );

    let mut app = App::new(config(false), now());
    let mut obs = observation(0, RulesState::NoTable, Ok(sockets(true)));
    obs.journal = None;
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    assert!(app.notice.is_none());
    let mut obs = observation(1, RulesState::NoTable, Ok(sockets(true)));
    journal(&mut obs).last = Some(rolled_back_an_hour_ago());
    update(&mut app, Msg::Refreshed(Box::new(obs)));
    let notice = app
        .notice
        .clone()
        .expect("the news, from the first reading of the journal");
    assert!(notice.text.contains("while you were away"), "{notice:?}");
}

#[test]
fn quitting_with_unsaved_edits_asks() {
    let mut app = running_app();
    press(&mut app, "3a");
    press(&mut app, "lab\t10.0.0.0/8");
    ctrl(&mut app, 's');
    let effects = press(&mut app, "q");
    assert!(effects.is_empty());
    assert!(matches!(app.modal, Modal::Ask(_)));
    small("quit_question", &mut app);
    assert_eq!(press(&mut app, "y"), vec![Effect::Quit]);
}
