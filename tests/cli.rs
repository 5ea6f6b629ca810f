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
