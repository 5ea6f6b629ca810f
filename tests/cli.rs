//! The command line, through the real binary: what fails before the operator starts.

use std::process::Command;

/// `vpc-lattice-operator run` with `args` and `RUST_LOG` set to `rust_log` (unset when `None`):
/// its exit code and standard error.
fn run(args: &[&str], rust_log: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"));
    cmd.arg("run")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("VPC_LATTICE_OPERATOR_CLUSTER_NAME");
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    // Nothing may be reached: the command line is refused before any client exists.
    cmd.env("KUBECONFIG", "/nonexistent")
        .env("VPC_LATTICE_OPERATOR_ADMIN_ADDR", "127.0.0.1:1");
    let out = cmd.output().expect("run the operator binary");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_invalid_log_filter_fails_at_start_naming_the_flag() {
    for (args, rust_log) in [
        (&["--log-filter", "info,vpc_lattice_operator=loud"][..], None),
        (&[][..], Some("[{")),
    ] {
        let args: Vec<&str> = args.iter().copied().chain(["--cluster-name", "test"]).collect();
        let (code, stderr) = run(&args, rust_log);
        assert_eq!(code, Some(2), "{args:?} RUST_LOG={rust_log:?}: {stderr}");
        assert!(
            stderr.contains("invalid value") && stderr.contains("--log-filter"),
            "{args:?} RUST_LOG={rust_log:?}: the message names the flag: {stderr}"
        );
    }
}

#[test]
fn no_cluster_name_fails_at_start_naming_the_flag() {
    let (code, stderr) = run(&[], None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--cluster-name"),
        "the message names the flag: {stderr}"
    );
}

#[test]
fn a_cluster_name_that_is_no_tag_value_or_a_malformed_adoption_label_fails_at_start() {
    for (args, flag) in [
        (&["--cluster-name", ""][..], "--cluster-name"),
        (&["--cluster-name", "prod#1"][..], "--cluster-name"),
        (
            &["--cluster-name", "prod", "--allow-adoption-label", "no-value"][..],
            "--allow-adoption-label",
        ),
    ] {
        let (code, stderr) = run(args, None);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("invalid value") && stderr.contains(flag),
            "{args:?}: {stderr}"
        );
    }
}

/// The flags of `import --help`, each with its default when it has one.
fn import_help_flags() -> std::collections::BTreeMap<String, Option<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args(["import", "--help"])
        .output()
        .expect("run the operator binary");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    let mut flags = std::collections::BTreeMap::new();
    let mut last = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        // An option's line (its possible values, listed under it, are indented further).
        if trimmed.starts_with('-') && line.len() - trimmed.len() <= 6 {
            let flag = trimmed
                .split([' ', ','])
                .find(|t| t.starts_with("--"))
                .unwrap()
                .to_string();
            flags.insert(flag.clone(), None);
            last = Some(flag);
        }
        if let (Some(flag), Some(default)) = (&last, line.split("[default: ").nth(1)) {
            flags.insert(flag.clone(), Some(default.trim_end_matches(']').to_string()));
        }
    }
    flags.remove("--help");
    flags
}

#[test]
fn import_help_and_the_migration_guide_name_the_same_flags_and_defaults() {
    let help = import_help_flags();
    assert!(help.len() >= 15, "{help:?}");
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/migrating.md")).unwrap();
    let table = guide.split("## Flags").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut documented = std::collections::BTreeMap::new();
    for row in table.lines().filter(|l| l.starts_with("| `-")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let flag = cells[0].split(['`', ' ', ',']).find(|t| t.starts_with("--")).unwrap();
        documented.insert(flag.to_string(), cells[1].to_string());
    }
    assert_eq!(
        help.keys().collect::<Vec<_>>(),
        documented.keys().collect::<Vec<_>>(),
        "the guide's flag table and --help"
    );
    for (flag, default) in &help {
        if let Some(default) = default {
            assert!(
                documented[flag].contains(&format!("`{default}`")),
                "{flag}: the guide gives the default {default}: {}",
                documented[flag]
            );
        }
    }
}

#[test]
fn import_without_a_scope_or_with_a_bad_choice_fails_naming_the_flag() {
    for (args, flag) in [
        (&["--cluster-name", "prod"][..], "--service-network"),
        (
            &["--cluster-name", "prod", "--service", "a", "--deletion-policy", "Keep"][..],
            "--deletion-policy",
        ),
        (
            &["--cluster-name", "prod", "--service", "a", "--identifiers", "name"][..],
            "--identifiers",
        ),
        (
            &["--cluster-name", "prod", "--service", "a", "--external-id", "x"][..],
            "--role-arn",
        ),
        (
            &["--cluster-name", "prod", "--service", "a", "--out", "d", "-o", "json"][..],
            "--out",
        ),
        (
            &["--cluster-name", "prod", "--service", "a", "--region", "east"][..],
            "--region",
        ),
        (
            &["--cluster-name", "prod", "--service", "a", "--namespace", "Team_A"][..],
            "--namespace",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
            .arg("import")
            .args(args)
            .env_remove("VPC_LATTICE_OPERATOR_CLUSTER_NAME")
            .output()
            .expect("run the operator binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: names {flag}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn import_without_a_region_says_how_to_give_one_and_calls_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args(["import", "--cluster-name", "prod", "--service-network", "shared"])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run the operator binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AWS region: pass --region"), "{stderr}");
    assert!(out.stdout.is_empty());
}
