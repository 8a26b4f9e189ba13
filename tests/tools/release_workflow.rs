//! The release workflow (.github/workflows/release.yml), linted by the real
//! actionlint (installer: scripts/tools/actionlint.sh) and read for what a
//! release must do: a multi-platform image with the OCI labels, the chart
//! pushed as an OCI artifact, static binaries with SHA-256 checksums.

use crate::support;

use std::path::{Path, PathBuf};

use support::tools::*;

const ACTIONLINT: &str = "scripts/tools/actionlint.sh";

fn workflow_path() -> PathBuf {
    repo().join(".github/workflows/release.yml")
}

/// actionlint on the given files. shellcheck and pyflakes integrations are
/// off, so that the result does not depend on what else is installed.
fn actionlint(files: &[&Path]) -> std::process::Output {
    let mut cmd = command("actionlint", ACTIONLINT);
    cmd.args(["-shellcheck=", "-pyflakes=", "-no-color"]);
    cmd.args(files);
    run(&mut cmd)
}

#[test]
fn actionlint_passes_every_workflow() {
    let dir = repo().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect(".github/workflows exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(files.contains(&workflow_path()), "{files:?}");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = actionlint(&refs);
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn actionlint_refuses_a_broken_workflow() {
    let original = read(workflow_path());
    let dir = TempDir::new("actionlint");
    for (from, to, complaint) in [
        // A job that does not exist.
        (
            "needs: [version, image, chart, binaries]",
            "needs: [version, image, chart, binary]",
            "binary",
        ),
        // An output the job does not declare.
        (
            "VERSION: ${{ needs.version.outputs.version }}\n    steps:",
            "VERSION: ${{ needs.version.outputs.versoin }}\n    steps:",
            "versoin",
        ),
        // A permission level that does not exist.
        ("contents: write", "contents: writ", "writ"),
    ] {
        assert!(original.contains(from), "the workflow holds {from:?}");
        let broken = dir.path("release.yml");
        std::fs::write(&broken, original.replacen(from, to, 1)).unwrap();
        let out = actionlint(&[&broken]);
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!out.status.success(), "actionlint accepted {to:?}");
        assert!(said.contains(complaint), "{to:?}: {said}");
    }
}
