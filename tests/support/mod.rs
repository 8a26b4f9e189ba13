//! Helpers shared by the packaging tests (`tests/helm_chart.rs`,
//! `tests/dockerfile.rs`, `tests/compose_example.rs`): finding the real tools
//! that `scripts/tools/*.sh` install, running them, and reading YAML through
//! the `yaml` npm package (std and serde_json only on the Rust side).
//!
//! A missing tool fails the test with a message saying how to install it:
//! these tests never skip.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$ARIZE_TEST_TOOLS`, or the repository's `.tools/` as `scripts/test.sh` sets it.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("ARIZE_TEST_TOOLS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo().join(".tools"),
    }
}

/// `PATH` with `$ARIZE_TEST_TOOLS/bin` first.
fn search_path() -> OsString {
    let mut dirs = vec![tools_dir().join("bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries are joinable")
}

/// The absolute path of a tool, or a test failure naming its installer.
pub fn tool(name: &str, installer: &str) -> PathBuf {
    for dir in std::env::split_paths(&search_path()) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` not found in {}/bin or on PATH. The test suite installs it: run \
         `bash scripts/test.sh`, or `ARIZE_TEST_TOOLS=$PWD/.tools bash {installer}` and \
         put .tools/bin on PATH",
        tools_dir().display()
    );
}

/// A command for a tool, with `ARIZE_TEST_TOOLS` and the tools' `PATH` set.
pub fn command(name: &str, installer: &str) -> Command {
    let mut cmd = Command::new(tool(name, installer));
    cmd.env("ARIZE_TEST_TOOLS", tools_dir())
        .env("PATH", search_path())
        .current_dir(repo());
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the command and returns its stdout; fails the test if it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "arize-exporter-test-{label}-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub const KUBE_SCHEMAS: &str = "scripts/tools/kube-schemas.sh";

/// The documents of a YAML file, parsed by the `yaml` npm package, as JSON.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let script = repo().join("tests/support/yaml-to-json.mjs");
    let json = run_ok(command("node", KUBE_SCHEMAS).arg(script).arg(path));
    match serde_json::from_str(&json).expect("yaml-to-json prints JSON") {
        Value::Array(docs) => docs,
        other => panic!("yaml-to-json printed {other}"),
    }
}

/// The single document of a YAML file.
pub fn yaml_doc(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{} holds one YAML document", path.display());
    docs.remove(0)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
