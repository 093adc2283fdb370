//! The blocks screen (5): the policy's blocks listed, added, changed and deleted through a
//! form that `check`'s validator checks as it is typed, as the services and networks are.

#[path = "fixtures/ui.rs"]
mod fixtures;

use fixtures::*;
use portcullis::app::Modal;
use portcullis::app::Screen;

#[test]
fn a_block_is_added_through_its_form_and_listed() {
    let mut app = running_app();
    press(&mut app, "5");
    assert_eq!(app.screen, Screen::Blocks);
    let screen = render(&mut app, 113, 34);
    assert!(screen.contains("Blocks ·"), "{screen}");
    assert!(screen.contains("No blocks yet: a adds one."), "{screen}");
    assert!(
        screen.contains("5 Blocks"),
        "the screen tabs name it: {screen}"
    );

    press(&mut app, "a");
    let screen = render(&mut app, 113, 34);
    assert!(screen.contains("New block"), "{screen}");
    // Name, description, then from: a network of the policy, completed by Tab.
    press(&mut app, "scanners\t\tsoc\t22/tcp\treject");
    let Modal::Form(form) = &app.modal else {
        panic!("no form: {:?}", app.modal)
    };
    assert!(
        form.valid,
        "{:?}",
        form.fields.iter().map(|f| &f.error).collect::<Vec<_>>()
    );
    press(&mut app, "\r");
    assert!(matches!(app.modal, Modal::None), "{:?}", app.modal);
    let text = app.editor.as_ref().expect("editor").text().to_string();
    assert!(
        text.contains(
            "[blocks.scanners]\nfrom = [\"soc\"]\nports = [\"22/tcp\"]\naction = \"reject\""
        ),
        "{text}"
    );
    let screen = render(&mut app, 113, 34);
    snapshot("blocks_113x34", screen.clone());
    assert!(screen.contains("+ scanners"), "{screen}");
    assert!(screen.contains("reject"), "{screen}");
    // The network a block names is in use: it cannot be deleted from under it.
    press(&mut app, "3");
    let at = app
        .list_names(Screen::Networks)
        .iter()
        .position(|n| *n == "soc")
        .expect("soc");
    app.network_table.select(Some(at));
    press(&mut app, "x");
    assert!(
        format!("{:?}", app.notice).contains("block scanners"),
        "{:?}",
        app.notice
    );
}

#[test]
fn a_block_s_mistakes_are_shown_under_their_fields_as_they_are_typed() {
    let mut app = running_app();
    press(&mut app, "5a");
    press(&mut app, "x\t\tany\t\tdeny\t");
    let Modal::Form(form) = &app.modal else {
        panic!("no form")
    };
    let error_of = |key: &str| {
        form.fields
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| f.error.clone())
            .unwrap_or_default()
    };
    assert!(
        error_of("from").contains("would refuse everyone"),
        "{}",
        error_of("from")
    );
    assert!(
        error_of("action").contains("valid values are \"drop\""),
        "{}",
        error_of("action")
    );
    assert!(!form.valid);
}

#[test]
fn a_block_is_changed_and_deleted() {
    let mut app = running_app();
    press(&mut app, "5a");
    press(&mut app, "rogue\t\t192.0.2.66\r");
    app.block_table.select(Some(0));
    press(&mut app, "e");
    press(&mut app, "\t\t\t\treject\r");
    let text = app.editor.as_ref().expect("editor").text().to_string();
    assert!(text.contains("action = \"reject\""), "{text}");
    press(&mut app, "x");
    press(&mut app, "y");
    let text = app.editor.as_ref().expect("editor").text().to_string();
    assert!(!text.contains("[blocks.rogue]"), "{text}");
}

#[test]
fn a_long_note_under_a_list_goes_on_to_a_second_line_rather_than_being_cut() {
    let mut app = running_app();
    press(&mut app, "5a");
    press(&mut app, "scanners\t\tsoc\r");
    let screen = render(&mut app, 61, 16);
    assert!(
        screen.contains("scanners: (no description)") && screen.contains("service)"),
        "the note's end is lost:\n{screen}"
    );
}
