//! What the benchmark-style programs (`scale_bench`, `soak`) share: where
//! the exporter binary is, and the kernel's figures of a process.

use std::path::{Path, PathBuf};

/// `target/release/arize-exporter`, next to `target/release/examples/`
/// where the running program is.
pub fn default_exporter() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    Ok(dir.join("arize-exporter"))
}

/// A size field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), in bytes; 0 when
/// the process is gone or the field is missing.
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
