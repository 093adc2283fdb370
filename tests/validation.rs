//! The validator, table-driven: each kind of mistake an operator makes is reported at the
//! right line and column with a message that says what would be valid, and all of them at
//! once.

use portcullis::policy::{self, Direction, Source, Verdict};

/// Parses `text` and returns each finding as `LINE:COL: message`.
fn findings(text: &str) -> Vec<String> {
    match policy::parse(text) {
        Ok(_) => Vec::new(),
        Err(d) => d
            .render("p.toml", text)
            .lines()
            .map(|l| l.trim_start_matches("p.toml:").to_string())
            .collect(),
    }
}

#[test]
fn each_mistake_is_found_where_it_is() {
    // (policy, expected line:col, a phrase the message must contain)
    let cases: &[(&str, &str, &str)] = &[
        (
            "[settings]\ndrop_log_group = 70000\n",
            "2:18",
            "settings.drop_log_group is 70000; use a whole number from 0 to 65535",
        ),
        (
            "[settings]\ndrop_log_rate = \"fast\"\n",
            "2:17",
            "from 1 to 10000 (log lines per second), not a string",
        ),
        (
            "[settings]\ndrop_log_burst = 0\n",
            "2:18",
            "from 1 to 100000",
        ),
        ("[settings]\ndrop_log = \"yes\"\n", "2:12", "true or false"),
        ("[settings]\ndrop_logs = true\n", "2:1", "drop_log"),
        (
            "[networks]\na = [\"10.0.0.256\"]\n",
            "2:6",
            "not a valid address",
        ),
        (
            "[networks]\na = [\"10.1.2.3/16\"]\n",
            "2:6",
            "did you mean the network 10.1.0.0/16",
        ),
        ("[networks]\na = [\"10.0.0.0/40\"]\n", "2:6", "from 0 to 32"),
        (
            "[services.s]\nports = [\"0/tcp\"]\nallow = [\"any\"]\n",
            "2:10",
            "port 0",
        ),
        (
            "[services.s]\nports = [\"65536/udp\"]\nallow = [\"any\"]\n",
            "2:10",
            "above 65535",
        ),
        (
            "[services.s]\nports = [\"20-10/tcp\"]\nallow = [\"any\"]\n",
            "2:10",
            "did you mean 10-20",
        ),
        (
            "[services.s]\nports = [\"22/icmp\"]\nallow = [\"any\"]\n",
            "2:10",
            "unknown protocol \"icmp\"",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"nope\"]\n",
            "3:10",
            "unknown network \"nope\"",
        ),
        (
            "[services.s]\nports = []\nallow = [\"any\"]\n",
            "2:9",
            "is empty",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = []\n",
            "3:9",
            "is empty",
        ),
        ("[services.s]\nallow = [\"any\"]\n", "1:1", "has no ports"),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\ninterfaces = [\"sixteen-chars-xx\"]\n",
            "4:15",
            "at most 15",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nport = 1\n",
            "4:1",
            "did you mean \"ports\"",
        ),
        ("[setting]\n", "1:2", "did you mean \"settings\""),
        ("[settings]\ntable = \"ip\"\n", "2:9", "nft keyword"),
        (
            "[settings]\ntable = \"my table\"\n",
            "2:9",
            "not a valid nft identifier",
        ),
        (
            "[settings]\ninput_policy = \"reject\"\n",
            "2:16",
            "\"drop\" and \"accept\"",
        ),
        (
            "[settings]\nallow_ping = \"yes\"\n",
            "2:14",
            "true or false",
        ),
        (
            "[settings]\nconfirm_timeout = \"1s\"\n",
            "2:19",
            "5s to 24h",
        ),
        ("[settings]\nconfirm = \"new\"\n", "2:11", "\"new-session\""),
        ("[networks]\nany = [\"10.0.0.0/8\"]\n", "2:1", "built in"),
        (
            "[networks]\n\"a b\" = [\"10.0.0.0/8\"]\n",
            "2:1",
            "network name \"a b\"",
        ),
        ("[networks]\na = \"10.0.0.0/8\"\n", "2:5", "list of strings"),
        ("[networks]\na = [10]\n", "2:6", "must be a string"),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\ndirection = \"sideways\"\n",
            "4:13",
            "\"in\" (traffic to this host, the default), \"out\" (traffic from it) and \"both\"",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\non = []\n",
            "4:6",
            "services.s.on is empty; list this host's addresses",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\non = [\"any\"]\n",
            "4:7",
            "\"any\" is what leaving `on` out means",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\non = [\"10.0.0.5\", \"mgnt\"]\n",
            "4:19",
            "services.s.on: unknown network \"mgnt\"",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\non = [\"10.0.0.300\"]\n",
            "4:7",
            "services.s.on:",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\non = \"10.0.0.5\"\n",
            "4:6",
            "services.s.on must be a list of strings",
        ),
        (
            "[blocks.b]\naction = \"drop\"\n",
            "1:1",
            "[blocks.b] has no from list",
        ),
        (
            "[blocks.b]\nfrom = [\"any\"]\n",
            "2:9",
            "\"any\" would refuse everyone",
        ),
        ("[blocks.b]\nfrom = []\n", "2:8", "blocks.b.from is empty"),
        (
            "[blocks.b]\nfrom = [\"10.0.0.0/8\"]\naction = \"deny\"\n",
            "3:10",
            "blocks.b.action is \"deny\"; valid values are \"drop\"",
        ),
        (
            "[blocks.b]\nfrom = [\"10.0.0.0/8\"]\nports = [\"22/sctp\"]\n",
            "3:10",
            "blocks.b.ports:",
        ),
        (
            "[blocks.b]\nfrom = [\"scaners\"]\n[networks]\nscanners = [\"10.0.0.0/8\"]\n",
            "2:9",
            "did you mean \"scanners\"",
        ),
        (
            "[blocks.b]\nfrom = [\"10.0.0.0/8\"]\ndirection = \"up\"\n",
            "3:13",
            "blocks.b.direction is \"up\"",
        ),
        (
            "[blocks.b]\nfrom = [\"10.0.0.0/8\"]\nreason = \"x\"\n",
            "3:1",
            "unknown key \"reason\" in [blocks.b]",
        ),
        (
            "[blocks.\"a b\"]\nfrom = [\"10.0.0.0/8\"]\n",
            "1:9",
            "block name",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"10\"\n",
            "4:9",
            "services.s.limit: \"10\" is not a rate",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"10/fortnight\"\n",
            "4:9",
            "unknown unit \"fortnight\"",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"0/minute\"\n",
            "4:9",
            "from 1 to 1000000",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nburst = 5\n",
            "4:9",
            "services.s.burst needs a limit",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"9/minute\"\nburst = 0\n",
            "5:9",
            "services.s.burst is 0; use a whole number from 1 to 10000",
        ),
        (
            "[services.s]\nports = [\"22/tcp\"]\nallow = [\"any\"]\ndirection = \"out\"\nlimit = \"9/minute\"\n",
            "5:9",
            "a limit counts new connections per source, coming in",
        ),
        ("networks = 5\n", "1:12", "must be a table"),
        ("[networks\n", "1:10", "TOML syntax error"),
    ];
    for (text, at, phrase) in cases {
        let found = findings(text);
        assert!(
            found
                .iter()
                .any(|f| f.starts_with(&format!("{at}: ")) && f.contains(phrase)),
            "policy:\n{text}\nexpected {at}: …{phrase}…\ngot: {found:#?}"
        );
    }
}

#[test]
fn every_error_is_reported_in_one_run() {
    let text = "[networks]\nadmin = [\"10.0.0.300\"]\n\n[services.ssh]\nports = [\"70000/tcp\"]\nallow = [\"admin\", \"ghost\"]\n";
    let found = findings(text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("2:10:"), "{found:#?}");
    assert!(found[1].starts_with("5:10:"), "{found:#?}");
    assert!(found[2].starts_with("6:19:"), "{found:#?}");
}

#[test]
fn defaults_and_literal_sources() {
    let text = "[services.dns]\nports = [\"53/tcp+udp\"]\nallow = [\"192.0.2.53\", \"2001:db8::/32\"]\ndirection = \"out\"\n";
    let p = policy::parse(text).expect("valid");
    assert_eq!(p.settings.table, "portcullis");
    assert_eq!(p.settings.input_policy, Verdict::Drop);
    assert_eq!(p.settings.output_policy, Verdict::Accept);
    assert!(p.settings.allow_ping);
    assert_eq!(p.settings.confirm_timeout.as_secs(), 30);
    let dns = &p.services["dns"];
    assert_eq!(dns.direction, Direction::Out);
    assert!(matches!(dns.allow[0], Source::Literal(_)));
}

#[test]
fn the_examples_are_valid() {
    for name in ["siem-server.toml", "web-server.toml"] {
        let path = format!("{}/assets/examples/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("example");
        if let Err(d) = policy::parse(&text) {
            panic!("{}", d.render(&path, &text));
        }
    }
}

#[test]
fn the_drop_log_settings_are_read() {
    let p = policy::parse(
        "[settings]\ndrop_log = false\ndrop_log_group = 5\ndrop_log_rate = 10\ndrop_log_burst = 20\n",
    )
    .unwrap();
    let log = p.settings.drop_log;
    assert_eq!(
        (log.enabled, log.group, log.rate, log.burst),
        (false, 5, 10, 20)
    );
    let d = policy::parse("").unwrap().settings.drop_log;
    assert_eq!((d.enabled, d.group, d.rate, d.burst), (true, 47, 50, 100));
}

#[test]
fn the_readme_documents_every_key_of_the_policy_file() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## The policy")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a section on the policy");
    for key in policy::keys::SETTINGS
        .iter()
        .chain(&policy::keys::keys_of::<policy::keys::ServiceKey>())
        .chain(&policy::keys::keys_of::<policy::keys::BlockKey>())
    {
        assert!(
            section.contains(&format!("\n{} ", key.name))
                || section.contains(&format!("\n{} =", key.name)),
            "README's policy section does not show `{}`",
            key.name
        );
    }
}
