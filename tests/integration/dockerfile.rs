//! The container image definition (`Dockerfile`, `.dockerignore`). There is
//! no Docker engine here, so this checks what can be checked without one:
//! the Dockerfile's own content, against Cargo.toml and the cargo
//! invocations that CI runs. hadolint is in the tools suite
//! (`tests/tools/dockerfile.rs`).

use crate::support;

use support::tools::*;

/// One Dockerfile instruction: keyword (upper-case) and its arguments, with
/// line continuations joined and comment lines dropped, as Docker reads them.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

fn parse(dockerfile: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let full = std::mem::take(&mut current);
        let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
        out.push(Instruction {
            keyword: keyword.to_uppercase(),
            args: args.split_whitespace().collect::<Vec<_>>().join(" "),
        });
    }
    assert!(
        current.is_empty(),
        "the Dockerfile ends inside a continuation"
    );
    out
}

/// The stages: (FROM arguments, instructions of the stage).
fn stages() -> Vec<(String, Vec<Instruction>)> {
    let mut stages: Vec<(String, Vec<Instruction>)> = Vec::new();
    for ins in parse(&read(repo().join("Dockerfile"))) {
        if ins.keyword == "FROM" {
            stages.push((ins.args, Vec::new()));
        } else if let Some(stage) = stages.last_mut() {
            stage.1.push(ins);
        } else {
            assert!(ins.keyword == "ARG", "{ins:?} before the first FROM");
        }
    }
    assert!(stages.len() >= 2, "the Dockerfile is multi-stage");
    stages
}

/// The shell commands of a RUN instruction (split on `&&` and `;`), without
/// its `--mount=...` style flags.
fn run_commands(args: &str) -> Vec<String> {
    let words: Vec<&str> = args
        .split_whitespace()
        .skip_while(|w| w.starts_with("--"))
        .collect();
    words
        .join(" ")
        .split("&&")
        .flat_map(|c| c.split(';'))
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn the_build_stage_runs_the_locked_release_build_that_ci_proves() {
    let stages = stages();
    let (from, build) = &stages[0];
    let cargo: Vec<String> = build
        .iter()
        .filter(|i| i.keyword == "RUN")
        .flat_map(|i| run_commands(&i.args))
        .filter(|c| c.starts_with("cargo "))
        .collect();
    assert_eq!(
        cargo,
        ["cargo build --release --locked"],
        "the build stage ({from}) runs exactly one cargo invocation, the locked release build"
    );
    // It builds from the committed lock file: the sources and Cargo.lock are
    // copied in, and .dockerignore keeps them.
    let copies: Vec<&str> = build
        .iter()
        .filter(|i| i.keyword == "COPY")
        .map(|i| i.args.as_str())
        .collect();
    assert!(
        copies
            .iter()
            .any(|c| *c == ". ." || c.contains("Cargo.lock")),
        "the build stage copies Cargo.lock: {copies:?}"
    );
    let ignored = read(repo().join(".dockerignore"));
    for needed in ["Cargo.lock", "Cargo.toml", "src", "crates"] {
        assert!(
            !ignored
                .lines()
                .any(|l| l.trim().trim_end_matches('/') == needed),
            ".dockerignore must not exclude {needed}"
        );
    }
    // CI (scripts/test.sh, run by .ci/run) builds and tests with the same
    // lock file: every cargo build, clippy and test there passes --locked.
    let ci = read(repo().join("scripts/test.sh"));
    let ci_cargo: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("cargo build")
                || l.starts_with("cargo clippy")
                || l.starts_with("cargo test")
        })
        .collect();
    assert!(!ci_cargo.is_empty(), "scripts/test.sh runs cargo");
    for line in ci_cargo {
        assert!(
            line.contains("--locked"),
            "CI runs `{line}` without --locked"
        );
    }
}

#[test]
fn the_build_toolchain_meets_the_crate_rust_version() {
    let stages = stages();
    let from = &stages[0].0;
    let image = from.split_whitespace().next().unwrap();
    let tag = image
        .strip_prefix("rust:")
        .unwrap_or_else(|| panic!("the build stage uses the rust image, not {image}"));
    let version: Vec<u32> = tag
        .split('-')
        .next()
        .unwrap()
        .split('.')
        .map(|p| p.parse().expect("numeric rust version in the tag"))
        .collect();
    assert!(
        version.len() >= 2,
        "pin the toolchain to at least major.minor: rust:{tag}"
    );
    let manifest = read(repo().join("Cargo.toml"));
    let msrv: Vec<u32> = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version"))
        .expect("Cargo.toml has rust-version")
        .trim_start_matches([' ', '='])
        .trim()
        .trim_matches('"')
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        version >= msrv,
        "rust:{tag} is older than rust-version {msrv:?} in Cargo.toml"
    );
}

#[test]
fn the_runtime_stage_is_minimal_non_root_and_runs_the_exporter() {
    let stages = stages();
    let (from, runtime) = stages.last().unwrap();
    assert!(
        from.starts_with("gcr.io/distroless/"),
        "the runtime stage is distroless (no shell, no package manager): {from}"
    );
    let keyword = |k: &str| -> Vec<&str> {
        runtime
            .iter()
            .filter(|i| i.keyword == k)
            .map(|i| i.args.as_str())
            .collect()
    };
    assert!(
        keyword("RUN").is_empty(),
        "nothing runs in the runtime stage"
    );
    // Only the binary is copied in, from the build stage.
    let binary = env!("CARGO_PKG_NAME");
    let copies = keyword("COPY");
    assert_eq!(copies.len(), 1, "one COPY: {copies:?}");
    assert!(copies[0].starts_with("--from=build "), "{copies:?}");
    assert!(
        copies[0].ends_with(&format!("/usr/local/bin/{binary}")),
        "{copies:?}"
    );
    // A numeric, non-root user (Kubernetes' runAsNonRoot can only verify numbers).
    let users = keyword("USER");
    let user = users.last().expect("the runtime stage sets USER");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("USER is numeric");
    assert_ne!(uid, 0, "USER is not root");
    assert_eq!(keyword("EXPOSE"), ["10841"]);
    assert_eq!(
        keyword("ENTRYPOINT"),
        [format!("[\"/usr/local/bin/{binary}\"]")]
    );
    // The key never goes into the image.
    for ins in runtime {
        assert!(
            !ins.args.contains("ARIZE_API_KEY=") && !ins.args.contains("--api-key"),
            "{ins:?}"
        );
    }
}

#[test]
fn dockerignore_keeps_build_output_and_tools_out_of_the_context() {
    let ignored: Vec<String> = read(repo().join(".dockerignore"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    for must in ["target", ".tools", ".git", "**/node_modules"] {
        assert!(
            ignored.iter().any(|l| l == must),
            ".dockerignore must exclude {must}: {ignored:?}"
        );
    }
}

#[test]
fn the_image_carries_the_oci_labels_from_build_arguments() {
    let stages = stages();
    let (_, build) = &stages[0];
    // The build stage hands REVISION to build.rs, which bakes it into the
    // binary (arize_exporter_build_info, --version).
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "ENV" && i.args == "ARIZE_EXPORTER_REVISION=${REVISION}"),
        "the build stage sets ARIZE_EXPORTER_REVISION from REVISION"
    );
    let (_, runtime) = stages.last().unwrap();
    let args: Vec<&str> = runtime
        .iter()
        .filter(|i| i.keyword == "ARG")
        .map(|i| i.args.as_str())
        .collect();
    for name in ["VERSION", "REVISION", "CREATED", "SOURCE"] {
        assert!(
            args.iter().any(|a| a.split('=').next() == Some(name)),
            "the runtime stage declares ARG {name}: {args:?}"
        );
    }
    // The default version is the crate's.
    assert!(
        args.contains(&format!("VERSION={}", env!("CARGO_PKG_VERSION")).as_str()),
        "{args:?}"
    );
    let labels: String = runtime
        .iter()
        .filter(|i| i.keyword == "LABEL")
        .map(|i| i.args.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for (key, value) in [
        ("version", "\"${VERSION}\""),
        ("revision", "\"${REVISION}\""),
        ("created", "\"${CREATED}\""),
        ("source", "\"${SOURCE}\""),
        ("licenses", "\"Apache-2.0\""),
    ] {
        let label = format!("org.opencontainers.image.{key}={value}");
        assert!(labels.contains(&label), "{label} in {labels}");
    }
    // The license the label names is the one the repository carries.
    assert!(read(repo().join("LICENSE")).contains("Apache License"));
    assert!(read(repo().join("LICENSE")).contains("Version 2.0, January 2004"));
}

#[test]
fn the_readme_builds_the_image_with_the_revision_and_states_the_rust_version() {
    let readme = read(repo().join("README.md"));
    assert!(
        readme.contains("--build-arg REVISION=\"$(git rev-parse HEAD)\""),
        "the README's docker build passes the revision"
    );
    assert!(
        readme.contains("cargo install --path ."),
        "installing the binary"
    );
    // The Rust version the README's prerequisites name is Cargo.toml's.
    let cargo = read(repo().join("Cargo.toml"));
    let rust_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml has rust-version");
    let prerequisites = readme
        .split_once("## Prerequisites")
        .expect("a Prerequisites section")
        .1
        .split("\n## ")
        .next()
        .unwrap();
    assert!(
        prerequisites.contains(&format!("Rust {rust_version} or later")),
        "the README's prerequisites name Rust {rust_version}"
    );
}
