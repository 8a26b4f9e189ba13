//! Records the source revision (for `arize_exporter_build_info` and
//! `--version`) and the build date (for `--version`; `SOURCE_DATE_EPOCH`
//! when set, so that reproducible builds stay reproducible).

use std::process::Command;

fn main() {
    let revision = std::env::var("ARIZE_EXPORTER_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ARIZE_EXPORTER_REVISION={revision}");
    let date = {
        let mut date = Command::new("date");
        date.arg("-u");
        if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
            date.arg("-d").arg(format!("@{epoch}"));
        }
        date.arg("+%Y-%m-%d")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    println!("cargo:rustc-env=ARIZE_EXPORTER_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-env-changed=ARIZE_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
