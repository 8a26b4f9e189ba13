//! The release workflow (.github/workflows/release.yml), linted by the real
//! actionlint (installer: scripts/tools/actionlint.sh) and read for what a
//! release must do: a multi-platform image with the OCI labels, the chart
//! pushed as an OCI artifact, static binaries with SHA-256 checksums.

use crate::support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::tools::*;
use support::yaml::*;

const ACTIONLINT: &str = "scripts/tools/actionlint.sh";

fn workflow_path() -> PathBuf {
    repo().join(".github/workflows/release.yml")
}

fn workflow() -> Value {
    yaml_doc(&workflow_path())
}

/// actionlint on the given files. shellcheck and pyflakes integrations are
/// off, so that the result does not depend on what else is installed.
fn actionlint(files: &[&Path]) -> std::process::Output {
    let mut cmd = command("actionlint", ACTIONLINT);
    cmd.args(["-shellcheck=", "-pyflakes=", "-no-color"]);
    cmd.args(files);
    run(&mut cmd)
}

fn job<'a>(wf: &'a Value, name: &str) -> &'a Value {
    let j = &wf["jobs"][name];
    assert!(j.is_object(), "the workflow has a job {name}");
    j
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_array().expect("steps").as_slice()
}

/// The step of a job that uses `action` (`owner/name`, any version).
fn step_using<'a>(job: &'a Value, action: &str) -> &'a Value {
    steps(job)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.split('@').next() == Some(action))
        })
        .unwrap_or_else(|| panic!("a step uses {action}"))
}

/// Every `run:` script of a job, joined.
fn scripts(job: &Value) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines of a multi-line action input, trimmed.
fn lines(v: &Value) -> Vec<String> {
    v.as_str()
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
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

#[test]
fn it_runs_on_version_tags_and_by_hand() {
    let wf = workflow();
    // Read as YAML 1.1 (the way the yaml helper reads Kubernetes files), the
    // key `on` is the boolean true; GitHub reads it as the string.
    let on = wf.get("on").unwrap_or(&wf["true"]);
    let tags: Vec<&str> = on["push"]["tags"]
        .as_array()
        .expect("on.push.tags")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v*"]);
    assert!(on.get("workflow_dispatch").is_some(), "{on}");
    assert!(on.get("pull_request").is_none(), "never on untrusted code");
    // Least privilege: nothing at the top, each job asks for what it needs.
    assert_eq!(wf["permissions"], serde_json::json!({}));
    // The tag must be the crate's version.
    assert!(scripts(job(&wf, "version")).contains("Cargo.toml"));
}

#[test]
fn every_action_is_pinned_to_a_full_version() {
    let wf = workflow();
    let mut seen = 0;
    for (name, j) in wf["jobs"].as_object().unwrap() {
        for s in steps(j) {
            let Some(uses) = s["uses"].as_str() else {
                continue;
            };
            seen += 1;
            let (_, version) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("{name}: {uses} has no version"));
            let parts: Vec<&str> = version.trim_start_matches('v').split('.').collect();
            assert!(
                version.starts_with('v')
                    && parts.len() == 3
                    && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "{name}: {uses} is not pinned to vX.Y.Z"
            );
        }
    }
    assert!(seen >= 8, "{seen} actions");
}

#[test]
fn the_image_is_built_for_amd64_and_arm64_with_the_oci_labels() {
    let wf = workflow();
    let image = job(&wf, "image");
    step_using(image, "docker/setup-qemu-action");
    step_using(image, "docker/setup-buildx-action");
    step_using(image, "docker/login-action");
    let build = &step_using(image, "docker/build-push-action")["with"];
    let platforms: Vec<&str> = build["platforms"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(build["push"], true);
    let labels = lines(&build["labels"]);
    for key in ["source", "revision", "created", "version", "licenses"] {
        let prefix = format!("org.opencontainers.image.{key}=");
        let label = labels
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("label {prefix} in {labels:?}"));
        assert!(label.len() > prefix.len(), "{label} has a value");
    }
    assert!(labels.contains(&"org.opencontainers.image.licenses=Apache-2.0".to_owned()));
    // The Dockerfile gets the same facts as build arguments (the binary's
    // revision comes from REVISION).
    let args = lines(&build["build-args"]);
    for arg in ["VERSION=", "REVISION=", "CREATED=", "SOURCE="] {
        assert!(args.iter().any(|a| a.starts_with(arg)), "{arg} in {args:?}");
    }
    let dockerfile = read(repo().join("Dockerfile"));
    for arg in ["VERSION", "REVISION", "CREATED", "SOURCE"] {
        assert!(dockerfile.contains(&format!("ARG {arg}")), "ARG {arg}");
    }
}

#[test]
fn the_chart_is_packaged_at_the_release_version_and_pushed_as_oci() {
    let wf = workflow();
    let chart = job(&wf, "chart");
    let run = scripts(chart);
    assert!(
        run.contains(
            "helm package helm/arize-exporter --version \"$VERSION\" --app-version \"$VERSION\""
        ),
        "{run}"
    );
    assert!(run.contains("helm push "), "{run}");
    assert!(
        chart["env"]["CHARTS"]
            .as_str()
            .unwrap()
            .starts_with("oci://"),
        "{}",
        chart["env"]
    );
    assert!(run.contains("helm registry login"), "{run}");
    // After the image: the chart must not point at an image not yet pushed.
    let needs: Vec<&str> = chart["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(needs.contains(&"image"), "{needs:?}");
}

#[test]
fn static_binaries_are_attached_with_checksums() {
    let wf = workflow();
    let binaries = job(&wf, "binaries");
    let targets: Vec<&str> = binaries["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
    );
    let run = scripts(binaries);
    assert!(
        run.contains("cargo +stable build --release --locked --target \"$TARGET\""),
        "{run}"
    );
    assert!(
        run.contains("statically linked"),
        "the binary is checked: {run}"
    );
    assert!(
        run.contains("sha256sum \"$ASSET\" > \"$ASSET.sha256\""),
        "{run}"
    );
    // The binary learns its revision as build.rs expects.
    assert!(binaries["env"]["ARIZE_EXPORTER_REVISION"].is_string());
    let build_rs = read(repo().join("build.rs"));
    assert!(build_rs.contains("ARIZE_EXPORTER_REVISION"));

    let release = job(&wf, "release");
    step_using(release, "actions/download-artifact");
    let run = scripts(release);
    assert!(run.contains("sha256sum --check"), "{run}");
    assert!(run.contains("> SHA256SUMS"), "{run}");
    assert!(run.contains("gh release upload \"$TAG\" dist/*"), "{run}");
    assert_eq!(release["permissions"]["contents"], "write");
    let needs: Vec<&str> = release["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for j in ["image", "chart", "binaries"] {
        assert!(needs.contains(&j), "the release waits for {j}: {needs:?}");
    }
}
