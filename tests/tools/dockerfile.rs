//! The container image definition (`Dockerfile`, `.dockerignore`). There is
//! no Docker engine here, so this checks what can be checked without one:
//! hadolint (scripts/tools/hadolint.sh) and the Dockerfile's own content,
//! against Cargo.toml and the cargo invocations that CI runs.

use crate::support;

use support::tools::*;

#[test]
fn hadolint_passes_the_dockerfile() {
    let out = run(command("hadolint", HADOLINT)
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(repo().join("Dockerfile")));
    assert!(
        out.status.success() && stdout(&out).trim().is_empty(),
        "hadolint found problems in the Dockerfile:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn hadolint_rejects_a_bad_dockerfile() {
    let bad = repo().join("tests/fixtures/Dockerfile.bad");
    let out = run(command("hadolint", HADOLINT)
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(&bad));
    let report = stdout(&out);
    assert!(!out.status.success(), "hadolint accepted {}", bad.display());
    for rule in ["DL3007", "DL3008", "DL3002"] {
        assert!(
            report.contains(rule),
            "hadolint did not report {rule}:\n{report}"
        );
    }
}
