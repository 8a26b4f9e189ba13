//! The container image definition linted by the real hadolint
//! (scripts/tools/hadolint.sh), and hadolint refusing a bad one. The
//! Dockerfile's content is checked in the hermetic suite
//! (`tests/integration/dockerfile.rs`).

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
