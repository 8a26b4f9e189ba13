//! The repository, the test tools that `scripts/tools/*.sh` install, running
//! them, reading files and temporary directories.
//!
//! A missing tool fails the test with a message saying how to install it:
//! these tests never skip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

/// The installers of the tools the tests drive.
pub const HADOLINT: &str = "scripts/tools/hadolint.sh";
pub const HELM: &str = "scripts/tools/helm.sh";
/// Node.js with the npm `yaml` and kubernetes-models packages, and
/// kubernetes-validate.
pub const KUBE_SCHEMAS: &str = "scripts/tools/kube-schemas.sh";
/// Node.js with Grafana's published schema and the TypeScript compiler.
pub const GRAFANA_SCHEMA: &str = "scripts/tools/grafana-schema.sh";
/// The official Arize SDK's generated models and `arize-sdk-python`, the
/// python that runs `tests/support/sdk_validate.py` with them.
pub const ARIZE_SDK: &str = "scripts/tools/arize-sdk.sh";
/// `openssl` (TLS test material, a real TLS server with `s_server`) and
/// `curl` (a TLS 1.2-only client).
pub const OPENSSL: &str = "scripts/tools/tls-clients.sh";
/// promtool and the Prometheus server.
pub const PROMETHEUS: &str = "scripts/tools/prometheus.sh";
/// Headless Chromium, to look at the landing page.
pub const CHROMIUM: &str = "scripts/tools/chromium.sh";

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

/// A command for a tool, with `ARIZE_TEST_TOOLS` and the tools' `PATH` set,
/// run from the repository root.
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

/// Stdout then stderr.
pub fn output_text(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
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

/// A file's text. A relative path is taken from the repository root.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = repo().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fresh empty directory under the system temporary directory, removed
/// on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| sweep_dead_processes_dirs(&std::env::temp_dir()));
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "arize-exporter-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `content` to `name` atomically (write then rename).
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, content).expect("write temp file");
        std::fs::rename(&tmp, &path).expect("rename temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes from `temp_dir` the folders [`TempDir::new`] made in test
/// processes that have ended: the ones held in statics for a whole test
/// binary (certificates shared by its tests) are never dropped, and a
/// killed run drops nothing. A folder names its process
/// (`…-{pid}-{n}-{nanos}`); a pid still running keeps its folders (on
/// Linux, where `/proc` says so; elsewhere nothing is swept).
pub fn sweep_dead_processes_dirs(temp_dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !name.starts_with("arize-exporter-test-") {
            continue;
        }
        let pid = name
            .rsplit('-')
            .nth(2)
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}
