//! The quick start in `examples/` (compose.yaml with Prometheus and Grafana).
//! There is no Docker engine here (and no compose plugin), so this checks the
//! compose file's structure through the `yaml` npm package: the exporter is
//! built from the repository's Dockerfile and runs in demo mode, every bind
//! mount exists, Prometheus loads the canonical rule file and Grafana the
//! canonical dashboard (mounted, not copied), and promtool accepts the
//! Prometheus configuration together with those rules. The secured variant
//! (compose.secure.yaml, layered on compose.yaml) is checked the same way,
//! and its password is checked against the bcrypt hash of the exporter's web
//! configuration with Python's bcrypt (installer: scripts/tools/bcrypt.sh).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::tools::*;
use support::yaml::*;

fn examples() -> PathBuf {
    repo().join("examples")
}

fn compose() -> Value {
    yaml_doc(&examples().join("compose.yaml"))
}

fn secure_overlay() -> Value {
    yaml_doc(&examples().join("compose.secure.yaml"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let s = &compose["services"][name];
    assert!(s.is_object(), "compose.yaml has a service {name}");
    s
}

/// A service's bind mounts as (host path resolved from examples/, container
/// path), from the short `src:dst[:mode]` syntax.
fn mounts(service: &Value) -> Vec<(PathBuf, String)> {
    service["volumes"]
        .as_array()
        .map(|v| v.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|v| {
            let spec = v.as_str().expect("short volume syntax");
            let mut parts = spec.split(':');
            let (src, dst) = (parts.next().unwrap(), parts.next().expect("src:dst"));
            assert!(
                src.starts_with('.'),
                "{spec}: the quick start only bind-mounts files of the repository"
            );
            (examples().join(src), dst.to_owned())
        })
        .collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The host file mounted at `target` in a service.
fn mounted_at(service: &Value, target: &str) -> PathBuf {
    mounts(service)
        .into_iter()
        .find(|(_, dst)| dst == target)
        .unwrap_or_else(|| panic!("nothing mounted at {target}"))
        .0
}

/// Matches a path against a pattern with at most one `*` in its file name.
fn glob_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((prefix, suffix)) => {
            path.starts_with(prefix)
                && path.ends_with(suffix)
                && !path[prefix.len()..path.len() - suffix.len()].contains('/')
        }
    }
}

fn flag(args: &Value, name: &str) -> Option<String> {
    args.as_array()?.iter().find_map(|a| {
        a.as_str()?
            .strip_prefix(&format!("{name}="))
            .map(str::to_owned)
    })
}

#[test]
fn every_bind_mount_of_the_quick_start_exists() {
    let compose = compose();
    let services = compose["services"].as_object().unwrap();
    assert!(services.len() >= 3, "exporter, Prometheus and Grafana");
    let overlay = secure_overlay();
    let overlaid = overlay["services"].as_object().unwrap();
    for (name, s) in services.iter().chain(overlaid) {
        for (src, dst) in mounts(s) {
            assert!(
                src.is_file(),
                "{name}: {} (mounted at {dst}) exists",
                src.display()
            );
        }
    }
}

#[test]
fn the_exporter_is_built_from_the_repository_dockerfile_in_demo_mode() {
    let compose = compose();
    let exporter = service(&compose, "arize-exporter");
    let context = examples().join(exporter["build"]["context"].as_str().unwrap());
    assert!(
        same_file(&context, &repo()),
        "build context is the repository root"
    );
    let dockerfile = exporter["build"]["dockerfile"]
        .as_str()
        .unwrap_or("Dockerfile");
    assert!(same_file(
        &context.join(dockerfile),
        &repo().join("Dockerfile")
    ));
    let command: Vec<&str> = exporter["command"]
        .as_array()
        .expect("command is a list")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        command.contains(&"--demo"),
        "the exporter runs --demo: {command:?}"
    );
    let ports: Vec<&str> = exporter["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        ports.iter().any(|p| p.ends_with(":10841")),
        "port 10841 published: {ports:?}"
    );
    // No key anywhere in the quick start.
    let env = exporter["environment"].to_string();
    assert!(!env.contains("ARIZE_API_KEY"), "{env}");
}

#[test]
fn prometheus_scrapes_the_exporter_and_loads_the_canonical_rules() {
    let compose = compose();
    let prometheus = service(&compose, "prometheus");
    let config_path =
        flag(&prometheus["command"], "--config.file").expect("prometheus --config.file");
    let config_file = mounted_at(prometheus, &config_path);
    let config = yaml_doc(&config_file);

    let targets: Vec<String> = config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|job| {
            job["static_configs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|sc| sc["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert!(
        targets.iter().any(|t| t == "arize-exporter:10841"),
        "Prometheus scrapes the arize-exporter service on 10841: {targets:?}"
    );

    let rules = repo().join("rules/arize-exporter.rules.yml");
    let (_, rules_target) = mounts(prometheus)
        .into_iter()
        .find(|(src, _)| same_file(src, &rules))
        .expect("the canonical rules file is mounted into Prometheus");
    let patterns: Vec<&str> = config["rule_files"]
        .as_array()
        .expect("rule_files")
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        patterns.iter().any(|p| glob_matches(p, &rules_target)),
        "rule_files {patterns:?} load {rules_target}"
    );
}

#[test]
fn promtool_accepts_the_prometheus_config_with_the_canonical_rules() {
    // The same configuration, with rule_files pointing at the canonical file
    // on this machine instead of its path inside the container.
    let original = read(examples().join("prometheus/prometheus.yml"));
    let rules = repo().join("rules/arize-exporter.rules.yml");
    let rewritten: String = original
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("- /etc/prometheus/rules/") {
                format!("  - {}", rules.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        rewritten, original,
        "prometheus.yml lists the mounted rules"
    );
    let dir = TempDir::new("promtool");
    let config = dir.path("prometheus.yml");
    std::fs::write(&config, rewritten + "\n").unwrap();
    let out = run_ok(
        command("promtool", PROMETHEUS)
            .args(["check", "config"])
            .arg(&config),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    assert!(
        out.contains("arize-exporter.rules.yml"),
        "the rules were checked: {out}"
    );
}

#[test]
fn grafana_provisions_the_prometheus_datasource_and_the_canonical_dashboard() {
    let compose = compose();
    let grafana = service(&compose, "grafana");
    let all = mounts(grafana);

    let dashboard = repo().join("dashboards/arize-exporter.json");
    let (_, dashboard_target) = all
        .iter()
        .find(|(src, _)| same_file(src, &dashboard))
        .expect("the canonical dashboard is mounted into Grafana");

    let provider = all
        .iter()
        .find(|(_, dst)| dst.starts_with("/etc/grafana/provisioning/dashboards/"))
        .expect("a dashboard provider is provisioned");
    let providers = yaml_doc(&provider.0);
    let paths: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["options"]["path"].as_str().unwrap())
        .collect();
    let dir = Path::new(dashboard_target).parent().unwrap();
    assert!(
        paths.iter().any(|p| Path::new(p) == dir),
        "a provider loads {} : {paths:?}",
        dir.display()
    );

    let datasource = all
        .iter()
        .find(|(_, dst)| dst.starts_with("/etc/grafana/provisioning/datasources/"))
        .expect("a datasource is provisioned");
    let sources = yaml_doc(&datasource.0);
    let prom = sources["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "prometheus")
        .expect("a Prometheus datasource");
    assert_eq!(prom["url"], "http://prometheus:9090");
    assert_eq!(prom["isDefault"], true);
    service(&compose, "prometheus");
}

// --- the secured variant ----------------------------------------------------

/// The `command` list of a service.
fn command_of(service: &Value) -> Vec<String> {
    service["command"]
        .as_array()
        .expect("command is a list")
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// A service's bind mounts after layering `overlay` on `base` the way
/// compose merges them: by container path, the overlay winning.
fn merged_mounts(base: &Value, overlay: &Value) -> Vec<(PathBuf, String)> {
    let mut all = mounts(base);
    for (src, dst) in mounts(overlay) {
        all.retain(|(_, d)| *d != dst);
        all.push((src, dst));
    }
    all
}

fn python_bcrypt_checks(password: &str, hash: &str) -> bool {
    let python = tools_dir().join("venv/bin/python");
    assert!(
        python.is_file(),
        "{} not found: run `ARIZE_TEST_TOOLS=$PWD/.tools bash scripts/tools/bcrypt.sh`",
        python.display()
    );
    let out = run(Command::new(python)
        .args([
            "-c",
            "import bcrypt, sys; sys.exit(0 if bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()) else 3)",
        ])
        .arg(password)
        .arg(hash));
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("bcrypt failed: {}", stderr(&out)),
    }
}

#[test]
fn the_secured_variant_asks_for_basic_auth_and_prometheus_answers_it() {
    let base = compose();
    let overlay = secure_overlay();
    // The exporter: still the demo, now with a web configuration.
    let exporter = &overlay["services"]["arize-exporter"];
    let command = command_of(exporter);
    assert!(command.contains(&"--demo".to_owned()), "{command:?}");
    let web_config_path = command
        .iter()
        .find_map(|a| a.strip_prefix("--web.config.file="))
        .expect("the exporter gets --web.config.file");
    let web_config_file = mounted_at(exporter, web_config_path);
    let web_config = yaml_doc(&web_config_file);
    let users = web_config["basic_auth_users"]
        .as_object()
        .expect("basic_auth_users");
    assert_eq!(users.len(), 1, "{users:?}");

    // Prometheus: the same rules, a config replacing the plain one, and the
    // password file it names.
    let prometheus = service(&base, "prometheus");
    let prometheus_overlay = &overlay["services"]["prometheus"];
    let all = merged_mounts(prometheus, prometheus_overlay);
    let config_path = flag(&prometheus["command"], "--config.file").unwrap();
    let (config_file, _) = all
        .iter()
        .find(|(_, dst)| *dst == config_path)
        .expect("a Prometheus configuration is mounted");
    assert!(
        config_file.ends_with("prometheus/prometheus.secure.yml"),
        "the overlay replaces the plain configuration: {}",
        config_file.display()
    );
    let config = yaml_doc(config_file);
    let job = config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_name"] == "arize-exporter")
        .expect("the arize-exporter job");
    let auth = &job["basic_auth"];
    let user = auth["username"].as_str().expect("basic_auth.username");
    let hash = users
        .get(user)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{user} is a user of the web configuration"));
    assert!(
        auth.get("password").is_none(),
        "the password comes from a file"
    );
    let password_path = auth["password_file"].as_str().expect("password_file");
    let (password_file, _) = all
        .iter()
        .find(|(_, dst)| dst == password_path)
        .expect("the password file is mounted");
    // Prometheus trims the file's trailing newline, as the exporter's users
    // would type it.
    let password = read(password_file).trim_end().to_owned();
    assert!(
        python_bcrypt_checks(&password, hash),
        "the password in {} does not match {user}'s hash",
        password_file.display()
    );
    assert!(!python_bcrypt_checks(&format!("{password}x"), hash));
    // The rules are still loaded.
    assert!(all.iter().any(|(src, dst)| {
        same_file(src, &repo().join("rules/arize-exporter.rules.yml"))
            && dst.starts_with("/etc/prometheus/rules/")
    }));
}

#[test]
fn promtool_accepts_the_secured_prometheus_config() {
    // As for the plain configuration: the container paths of the rules and
    // the password file point at this machine's files.
    let original = read(examples().join("prometheus/prometheus.secure.yml"));
    let rules = repo().join("rules/arize-exporter.rules.yml");
    let password = examples().join("secure/scrape-password");
    let rewritten = original
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("- /etc/prometheus/rules/") {
                format!("  - {}", rules.display())
            } else if let Some((indent, _)) = l.split_once("password_file: ") {
                format!("{indent}password_file: {}", password.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(rewritten.contains(&password.display().to_string()));
    let dir = TempDir::new("promtool-secure");
    let config = dir.path("prometheus.yml");
    std::fs::write(&config, rewritten + "\n").unwrap();
    let out = run_ok(
        command("promtool", PROMETHEUS)
            .args(["check", "config"])
            .arg(&config),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    // promtool refuses a scrape job with both a password and a password file,
    // so the check above is not vacuous.
    let both = read(&config).replace(
        "      password_file:",
        "      password: x\n      password_file:",
    );
    std::fs::write(&config, both).unwrap();
    let out = run(command("promtool", PROMETHEUS)
        .args(["check", "config"])
        .arg(&config));
    assert!(!out.status.success(), "{}", stdout(&out));
}
