//! The command line as scripts use it: exit statuses, messages, and that nothing reaches
//! nft unless the policy is valid. These run without root; the kernel tests are separate.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/examples")
        .join(name)
}

fn portcullis() -> Command {
    let mut cmd = Command::cargo_bin("portcullis").expect("binary");
    // Never the real /var/lib/portcullis: a state directory of the test build's own.
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-state");
    cmd.env_remove("PORTCULLIS_POLICY")
        .env_remove("SSH_CONNECTION")
        .env("PORTCULLIS_STATE_DIR", state)
        .env("PORTCULLIS_SYSLOG_SOCKET", "");
    cmd
}

/// A stand-in for nft that records that it was run, and fails.
fn tattletale_nft(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("nft-was-run");
    let script = dir.join("nft");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .expect("write");
    let mut perms = std::fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    (script, marker)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn examples_pass_check() {
    for name in ["siem-server.toml", "web-server.toml"] {
        portcullis()
            .arg("--policy")
            .arg(example(name))
            .arg("check")
            .assert()
            .success();
    }
}

#[test]
fn check_names_every_bad_line_and_exits_1() {
    let original = std::fs::read_to_string(example("siem-server.toml")).expect("example");
    let broken = original
        .replace("admin = [\"192.0.2.10\"", "admin = [\"192.0.2.300\"")
        .replace("\"9090/tcp\"", "\"70000/tcp\"");
    assert_ne!(broken, original);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, &broken).expect("write");
    let line_of = |needle: &str| {
        broken
            .lines()
            .position(|l| l.contains(needle))
            .expect("line")
            + 1
    };

    let out = portcullis()
        .arg("--policy")
        .arg(&path)
        .arg("check")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let file = path.display().to_string();
    assert!(
        err.contains(&format!("{file}:{}:", line_of("192.0.2.300"))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:{}:", line_of("70000/tcp"))),
        "{err}"
    );
    assert!(err.contains("2 errors"), "{err}");
}

#[test]
fn an_invalid_policy_never_reaches_nft() {
    let dir = tempfile::tempdir().expect("tmp");
    let (nft, marker) = tattletale_nft(dir.path());
    let policy = dir.path().join("bad.toml");
    std::fs::write(
        &policy,
        "[services.x]\nports = [\"0/tcp\"]\nallow = [\"any\"]\n",
    )
    .expect("write");
    for (cmd, code) in [("apply", 1), ("diff", 2), ("export", 1)] {
        let mut c = portcullis();
        c.arg("--nft")
            .arg(&nft)
            .arg("--policy")
            .arg(&policy)
            .arg(cmd);
        if cmd == "apply" {
            c.arg("--yes");
        }
        let out = c.output().expect("run");
        assert_eq!(out.status.code(), Some(code), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).contains("port 0"), "{cmd}: {}", stderr(&out));
    }
    assert!(!marker.exists(), "nft was run for an invalid policy");
}

#[test]
fn apply_that_cannot_read_the_table_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (nft, _marker) = tattletale_nft(dir.path());
    let out = portcullis()
        .arg("--nft")
        .arg(&nft)
        .arg("--policy")
        .arg(example("web-server.toml"))
        .env("PORTCULLIS_STATE_DIR", dir.path().join("state"))
        .arg("apply")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the live table")
            && stderr(&out).contains("Nothing was changed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn confirm_and_rollback_with_nothing_pending_exit_1() {
    let dir = tempfile::tempdir().expect("tmp");
    for state in [dir.path().join("never-made"), dir.path().to_path_buf()] {
        for cmd in ["confirm", "rollback"] {
            let out = portcullis()
                .env("PORTCULLIS_STATE_DIR", &state)
                .arg(cmd)
                .output()
                .expect("run");
            assert_eq!(out.status.code(), Some(1), "{cmd}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("no commit is pending"),
                "{}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn status_without_history_says_so_in_text_and_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = portcullis()
        .env("PORTCULLIS_STATE_DIR", dir.path())
        .arg("status")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "no commit pending\n");
    let out = portcullis()
        .env("PORTCULLIS_STATE_DIR", dir.path())
        .args(["status", "--json"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["pending"].is_null() && v["confirmed"].is_null());
    assert_eq!(v["last_commits"], serde_json::json!([]));
}

#[test]
fn a_state_directory_others_can_write_is_refused() {
    // Group-writable and world-writable alike: whoever can write there chooses what a
    // rollback loads.
    for mode in [0o770, 0o777] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut perms = std::fs::metadata(dir.path()).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, mode);
        std::fs::set_permissions(dir.path(), perms).expect("chmod");
        let out = portcullis()
            .env("PORTCULLIS_STATE_DIR", dir.path())
            .arg("--policy")
            .arg(example("web-server.toml"))
            .arg("apply")
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "mode {mode:o}");
        let said = stderr(&out);
        assert!(
            said.contains("writable by its group or by everyone") && said.contains("chmod 700"),
            "mode {mode:o}: {said}"
        );
        assert!(said.contains("Nothing was changed"), "{said}");
    }
}

#[test]
fn confirm_timeouts_out_of_range_are_rejected() {
    for bad in ["0s", "25h", "soon"] {
        let out = portcullis()
            .arg("--policy")
            .arg(example("web-server.toml"))
            .args(["apply", "--confirm-timeout", bad])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&out).contains("--confirm-timeout"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn nft_failures_are_reported_with_exit_2() {
    let missing = "/nonexistent/nft";
    for args in [vec!["diff"], vec!["apply", "--yes"], vec!["rules"]] {
        let out = portcullis()
            .args(["--nft", missing, "--policy"])
            .arg(example("web-server.toml"))
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(missing), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn export_is_deterministic_and_matches_the_snapshot() {
    for name in ["siem-server.toml", "web-server.toml"] {
        let run = || {
            portcullis()
                .arg("--policy")
                .arg(example(name))
                .arg("export")
                .output()
                .expect("run")
        };
        let (a, b) = (run(), run());
        assert!(a.status.success());
        assert_eq!(a.stdout, b.stdout, "two exports of {name} differ");
        insta::assert_snapshot!(format!("export-{name}"), stdout(&a));
    }
    let json = portcullis()
        .arg("--policy")
        .arg(example("web-server.toml"))
        .args(["export", "--json"])
        .output()
        .expect("run");
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    insta::assert_json_snapshot!("export-json-web-server", value);
}

#[test]
fn the_policy_path_comes_from_the_environment() {
    portcullis()
        .env("PORTCULLIS_POLICY", example("web-server.toml"))
        .arg("check")
        .assert()
        .success();
    let out = portcullis()
        .env("PORTCULLIS_POLICY", "/nonexistent/policy.toml")
        .arg("check")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/policy.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_describes_every_command() {
    let out = portcullis().arg("--help").output().expect("run");
    let text = stdout(&out);
    for word in [
        "check",
        "export",
        "diff",
        "apply",
        "rules",
        "--policy",
        "--nft",
        "--state-dir",
    ] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let bare = portcullis().output().expect("run");
    assert_eq!(
        bare.status.code(),
        Some(2),
        "no command prints help and exits 2"
    );
}

#[test]
fn the_manual_page_has_every_command_and_the_files() {
    let out = portcullis().arg("man").output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH portcullis 1"), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH COMMANDS",
        ".SH FILES",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    for command in [
        "portcullis tui",
        "portcullis check",
        "portcullis apply",
        "portcullis confirm",
        "portcullis rollback",
        "portcullis restore",
        "portcullis completions",
    ] {
        assert!(page.contains(&command.replace('-', "\\-")), "no {command}");
    }
    assert!(page.contains("/etc/portcullis/policy.toml"));
    assert!(!page.contains("demo\\-serve"), "hidden commands stay out");
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_portcullis()"),
        ("zsh", "#compdef portcullis"),
        ("fish", "complete -c portcullis"),
    ] {
        let out = portcullis()
            .args(["completions", shell])
            .output()
            .expect("run");
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("confirm"), "{shell} lacks the commands");
    }
    // The bash script is valid bash.
    let bash = portcullis()
        .args(["completions", "bash"])
        .output()
        .expect("run");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("portcullis.bash");
    std::fs::write(&file, &bash.stdout).expect("write");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash");
    assert!(checked.status.success(), "{}", stderr(&checked));
    let unknown = portcullis()
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("possible values"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn import_ufw_prints_a_policy_check_accepts_and_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let guide = dir.path().join("guide.sh");
    std::fs::write(
        &guide,
        "sudo ufw default deny incoming\n\
         sudo ufw allow from 10.0.0.0/8 to any port 9000 proto tcp comment 'agents'\n\
         sudo ufw route allow in on eth0 out on eth1\n",
    )
    .expect("write");
    let out = portcullis()
        .args(["import", "ufw"])
        .arg(&guide)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let policy = stdout(&out);
    assert!(policy.contains("[services.agents]"), "{policy}");
    assert!(policy.contains("# NOT IMPORTED"), "{policy}");
    assert!(
        stderr(&out).contains("1 services, 0 blocks"),
        "{}",
        stderr(&out)
    );
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, &policy).expect("write");
    portcullis()
        .arg("--policy")
        .arg(&file)
        .arg("check")
        .assert()
        .success();

    // Missing, and not ufw's: exit 1 with the file named.
    let missing = dir.path().join("nope");
    let out = portcullis()
        .args(["import", "ufw"])
        .arg(&missing)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read") && stderr(&out).contains("nope"),
        "{}",
        stderr(&out)
    );
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "echo hello\n").expect("write");
    let out = portcullis()
        .args(["import", "ufw"])
        .arg(&other)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("neither ufw's rules file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_wrong_keys_file_stops_the_ui_before_it_starts_and_says_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, "quit = [\"q\"]\nhelp = [\"a\"]\n").expect("write");
    let out = portcullis()
        .env("PORTCULLIS_KEYS", &keys)
        .args(["--policy", "/nonexistent/policy.toml", "tui"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("keys.toml: a would mean both"), "{err}");
    let missing = dir.path().join("nope.toml");
    let out = portcullis()
        .env("PORTCULLIS_KEYS", &missing)
        .args(["--policy", "/nonexistent/policy.toml", "tui"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the keys file"),
        "{}",
        stderr(&out)
    );
}
