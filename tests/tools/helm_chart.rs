//! The Helm chart (`helm/arize-exporter`), proven with the real tools:
//! helm v4 (`helm lint --strict`, `helm template`, `helm package`,
//! `helm install --dry-run=client`), the kubernetes-models and
//! prometheus-operator schemas (tests/support/validate-manifests.mjs) and
//! kubernetes-validate --strict. Installers: scripts/tools/helm.sh and
//! scripts/tools/kube-schemas.sh.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::tools::*;
use support::yaml::*;

/// The file `render` writes the manifests to.
const MANIFESTS: &str = "manifests.yaml";
const RELEASE: &str = "arize";
const NAMESPACE: &str = "observability";
/// The API key set in ci/all-enabled-values.yaml.
const CI_KEY: &str = "ak-ci-SENTINEL-do-not-leak-0123456789";
/// What "the default values" add to render at all: the chart refuses a
/// release with neither a key nor demo mode, so the defaults name an
/// existing Secret holding the key.
const DEFAULT_KEY: &str = "apiKey.existingSecret.name=arize-api-key";

fn chart() -> PathBuf {
    repo().join("helm/arize-exporter")
}

fn canonical_rules() -> PathBuf {
    repo().join("rules/arize-exporter.rules.yml")
}

fn canonical_dashboard() -> PathBuf {
    repo().join("dashboards/arize-exporter.json")
}

fn helm() -> Command {
    command("helm", HELM)
}

/// The values files under the chart's ci/ folder.
fn ci_values() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart().join("ci"))
        .expect("helm/arize-exporter/ci exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "ci/ holds the values files: {files:?}");
    files
}

/// Every way the tests render the chart: the defaults, then each ci/ file.
fn value_sets() -> Vec<Option<PathBuf>> {
    std::iter::once(None)
        .chain(ci_values().into_iter().map(Some))
        .collect()
}

fn label(values: &Option<PathBuf>) -> String {
    match values {
        None => format!("default values with {DEFAULT_KEY}"),
        Some(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
    }
}

/// `helm template` of `chart_ref` (a directory or a packaged .tgz) with the
/// given values files and --set flags.
fn template_cmd(chart_ref: &Path, values: &[&Path], sets: &[&str]) -> Command {
    let mut cmd = helm();
    cmd.args(["template", RELEASE])
        .arg(chart_ref)
        .args(["--namespace", NAMESPACE]);
    for v in values {
        cmd.arg("--values").arg(v);
    }
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd
}

/// Renders the chart and returns the manifests' text. `None` stands for
/// the default values plus `DEFAULT_KEY`.
fn render_text(values: &Option<PathBuf>, sets: &[&str]) -> String {
    let files: Vec<&Path> = values.iter().map(PathBuf::as_path).collect();
    let mut sets = sets.to_vec();
    if values.is_none() {
        sets.insert(0, DEFAULT_KEY);
    }
    run_ok(&mut template_cmd(&chart(), &files, &sets))
}

/// Renders the chart into `MANIFESTS` in a temporary directory and returns
/// the directory and the documents.
fn render(values: &Option<PathBuf>, sets: &[&str]) -> (TempDir, Vec<Value>) {
    let text = render_text(values, sets);
    let dir = TempDir::new("render");
    let path = dir.path(MANIFESTS);
    std::fs::write(&path, text).unwrap();
    let docs = yaml_docs(&path);
    assert!(!docs.is_empty(), "{}: nothing rendered", label(values));
    (dir, docs)
}

fn kinds(docs: &[Value]) -> BTreeSet<String> {
    docs.iter()
        .map(|d| {
            d["kind"]
                .as_str()
                .expect("every document has a kind")
                .to_owned()
        })
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind} rendered");
    found[0]
}

fn containers(deployment: &Value) -> Vec<&Value> {
    let spec = &deployment["spec"]["template"]["spec"];
    let mut all = Vec::new();
    for field in ["initContainers", "containers"] {
        if let Some(list) = spec[field].as_array() {
            all.extend(list.iter());
        }
    }
    assert!(!all.is_empty(), "the Deployment has containers");
    all
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn validate_with_models(path: &Path) -> std::process::Output {
    run(command("node", KUBE_SCHEMAS)
        .arg(repo().join("tests/support/validate-manifests.mjs"))
        .arg(path))
}

fn validate_strict(path: &Path) -> std::process::Output {
    run(command("kubernetes-validate", KUBE_SCHEMAS)
        .args(["--strict", "--kubernetes-version", "1.35.0"])
        .arg(path))
}

// ---------------------------------------------------------------------------

#[test]
fn chart_app_version_equals_the_crate_version() {
    let chart_yaml = yaml_doc(&chart().join("Chart.yaml"));
    assert_eq!(chart_yaml["name"], "arize-exporter");
    assert_eq!(
        chart_yaml["appVersion"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "Chart.yaml appVersion must equal the crate version in Cargo.toml"
    );
    // The default image tag follows appVersion.
    let (_, docs) = render(&None, &[]);
    let image = containers(find(&docs, "Deployment"))[0]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
        "default image {image} is tagged with the crate version"
    );
}

#[test]
fn helm_lint_strict_passes_with_default_and_ci_values() {
    for values in value_sets() {
        let mut cmd = helm();
        cmd.args(["lint", "--strict"]).arg(chart());
        match &values {
            Some(v) => cmd.arg("--values").arg(v),
            None => cmd.args(["--set", DEFAULT_KEY]),
        };
        let out = run_ok(&mut cmd);
        assert!(
            out.contains("0 chart(s) failed"),
            "{}: helm lint said\n{out}",
            label(&values)
        );
    }
}

#[test]
fn default_render_holds_only_the_core_objects() {
    let (_, docs) = render(&None, &[]);
    let expected: BTreeSet<String> = ["Deployment", "Service", "ServiceAccount"]
        .map(String::from)
        .into();
    assert_eq!(kinds(&docs), expected, "optional parts are off by default");

    let service = find(&docs, "Service");
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["name"], "metrics");
    assert_eq!(ports[0]["port"], 10841);
    assert_eq!(ports[0]["targetPort"], "metrics");

    let deployment = find(&docs, "Deployment");
    let c = containers(deployment)[0];
    assert_eq!(c["ports"][0]["name"], "metrics");
    assert_eq!(c["ports"][0]["containerPort"], 10841);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
    assert!(c["resources"]["requests"].is_object(), "resources are set");
    assert!(c["resources"]["limits"]["memory"].is_string());
    // The selector matches the pod labels, and the Service selects the pods.
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&pod_labels[k], v);
    }
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v);
    }
}

#[test]
fn every_render_passes_the_kubernetes_and_prometheus_operator_schemas() {
    for values in value_sets() {
        let (dir, docs) = render(&values, &[]);
        let path = dir.path(MANIFESTS);
        let models = validate_with_models(&path);
        let report = stdout(&models);
        assert!(
            models.status.success(),
            "{}: kubernetes-models rejected the manifests:\n{report}{}",
            label(&values),
            stderr(&models)
        );
        assert_eq!(
            report.lines().filter(|l| l.starts_with("ok ")).count(),
            docs.len(),
            "{}: every manifest was checked:\n{report}",
            label(&values)
        );

        let strict = validate_strict(&path);
        let report = format!("{}{}", stdout(&strict), stderr(&strict));
        assert!(
            strict.status.success(),
            "{}: kubernetes-validate --strict rejected the manifests:\n{report}",
            label(&values)
        );
        // kubernetes-validate has no schemas for the prometheus-operator kinds
        // (kubernetes-models checked those above); every other kind passed.
        for doc in &docs {
            if doc["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("monitoring.coreos.com/")
            {
                continue;
            }
            let needle = format!(
                "passed for resource {}/{}",
                doc["kind"].as_str().unwrap().to_lowercase(),
                doc["metadata"]["name"].as_str().unwrap()
            );
            assert!(
                report.contains(&needle),
                "{}: kubernetes-validate did not pass {needle}:\n{report}",
                label(&values)
            );
        }
    }
}

#[test]
fn the_validators_reject_broken_manifests() {
    let broken = repo().join("tests/fixtures/broken-manifests");
    // Wrong types, caught by the kubernetes-models schemas, in a core kind and
    // in each prometheus-operator kind.
    for name in [
        "deployment-port-not-integer.yaml",
        "servicemonitor-port-not-string.yaml",
        "prometheusrule-groups-not-list.yaml",
    ] {
        let out = validate_with_models(&broken.join(name));
        assert!(
            !out.status.success(),
            "kubernetes-models accepted {name}:\n{}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("FAIL"), "{name}: {}", stdout(&out));
    }
    // An unknown field, which only kubernetes-validate --strict catches.
    let unknown = broken.join("service-unknown-field.yaml");
    let out = validate_strict(&unknown);
    assert!(
        !out.status.success(),
        "kubernetes-validate --strict accepted an unknown field:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    // A kind nobody has a schema for is an error, not a silent pass.
    let out = validate_with_models(&broken.join("unknown-kind.yaml"));
    assert!(
        !out.status.success(),
        "unknown kind accepted: {}",
        stdout(&out)
    );
}

#[test]
fn all_enabled_render_holds_every_optional_part() {
    let all = Some(chart().join("ci/all-enabled-values.yaml"));
    let (_, docs) = render(&all, &[]);
    let expected: BTreeSet<String> = [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Secret",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]
    .map(String::from)
    .into();
    assert_eq!(kinds(&docs), expected);

    let sm = find(&docs, "ServiceMonitor");
    assert_eq!(sm["metadata"]["namespace"], "monitoring");
    assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(sm["metadata"]["labels"]["team"], "observability");
    assert_eq!(sm["spec"]["namespaceSelector"]["matchNames"][0], NAMESPACE);
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["port"], "metrics");
    assert_eq!(ep["path"], "/metrics");
    assert_eq!(ep["interval"], "1m");
    assert_eq!(ep["scrapeTimeout"], "20s");
    assert_eq!(ep["honorLabels"], true);
    assert_eq!(ep["relabelings"][0]["targetLabel"], "node");
    assert_eq!(ep["metricRelabelings"][0]["action"], "drop");
    // The ServiceMonitor selects the Service.
    let service = find(&docs, "Service");
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&service["metadata"]["labels"][k], v, "label {k}");
    }
    assert_eq!(service["spec"]["ports"][0]["port"], 9841);

    let rule = find(&docs, "PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");

    let deployment = find(&docs, "Deployment");
    let pod = &deployment["spec"]["template"];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(pod["metadata"]["labels"]["team"], "observability");
    assert_eq!(
        pod["metadata"]["annotations"]["example.com/team"],
        "observability"
    );
    assert_eq!(
        pod["spec"]["imagePullSecrets"][0]["name"],
        "registry-credentials"
    );
    assert_eq!(pod["spec"]["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(pod["spec"]["tolerations"][0]["key"], "dedicated");
    assert!(pod["spec"]["affinity"]["nodeAffinity"].is_object());
    assert_eq!(pod["spec"]["serviceAccountName"], "arize-exporter-sa");
    let c = containers(deployment)[0];
    assert_eq!(
        c["image"],
        "registry.example/team/arize-exporter:0.1.0-test"
    );
    let args = strings(&c["args"]);
    for expected in [
        "--api-url=https://arize.internal.example",
        "--space-id=U3BhY2U6MTIz",
        "--space-id=U3BhY2U6NDU2",
        "--space-name=production: EU",
        "--task-name=nightly #1",
        "--poll-interval=2m",
        "--page-size=50",
        "--max-requests-per-second=0.5",
        "--stale-after=2h 30m",
        "--names-refresh-interval=0",
        "--run-error-ratio-threshold=0.05",
        "--max-label-value-length=120",
        "--per-task-metrics=false",
        "--log-format=text",
        "--task-type=template_evaluation",
        "--metric-denylist=arize_task_last_run_.*,arize_task_sampling_rate",
    ] {
        assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--metric-allowlist")));
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["RUST_LOG", "HTTPS_PROXY"]);

    let pdb = find(&docs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], "50%");

    // Turning the release label off removes it.
    let existing = Some(chart().join("ci/existing-secret-values.yaml"));
    let (_, docs) = render(&existing, &[]);
    let sm = find(&docs, "ServiceMonitor");
    assert!(sm["metadata"]["labels"].get("release").is_none());
    assert!(sm["spec"]["endpoints"][0].get("interval").is_none());
}

#[test]
fn security_context_is_hardened_in_every_render() {
    for values in value_sets() {
        let (_, docs) = render(&values, &[]);
        let deployment = find(&docs, "Deployment");
        let pod = &deployment["spec"]["template"]["spec"];
        let l = label(&values);
        assert_eq!(pod["automountServiceAccountToken"], false, "{l}");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{l}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{l}"
        );
        assert_ne!(pod["hostNetwork"], true, "{l}");
        assert_ne!(pod["hostPID"], true, "{l}");
        for c in containers(deployment) {
            let sc = &c["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{l}");
            assert!(sc["runAsUser"].as_u64().unwrap() > 0, "{l}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{l}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{l}");
            assert_eq!(sc["privileged"], false, "{l}");
            assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{l}");
            assert!(sc["capabilities"].get("add").is_none(), "{l}");
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{l}");
        }
        for sa in docs.iter().filter(|d| d["kind"] == "ServiceAccount") {
            assert_eq!(sa["automountServiceAccountToken"], false, "{l}");
        }
    }
}

/// Every string in the container specs that could carry a key in the clear.
fn plain_container_strings(deployment: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in containers(deployment) {
        out.extend(strings(&c["args"]));
        out.extend(strings(&c["command"]));
        for e in c["env"].as_array().into_iter().flatten() {
            out.push(e["name"].as_str().unwrap().to_owned());
            if let Some(v) = e["value"].as_str() {
                out.push(v.to_owned());
            }
        }
    }
    out
}

#[test]
fn the_api_key_reaches_the_exporter_only_as_a_mounted_file() {
    // The chart creates the Secret from apiKey.value.
    let all = Some(chart().join("ci/all-enabled-values.yaml"));
    let text = render_text(&all, &[]);
    assert!(
        !text.contains(CI_KEY),
        "the key appears in clear in the rendered manifests"
    );
    let (_, docs) = render(&all, &[]);
    let secret = find(&docs, "Secret");
    let encoded = secret["data"]["api-key"].as_str().unwrap();
    assert_eq!(decode_base64(encoded), CI_KEY.as_bytes());
    assert!(secret.get("stringData").is_none());
    check_key_file(
        find(&docs, "Deployment"),
        secret["metadata"]["name"].as_str().unwrap(),
        "api-key",
    );

    // An existing Secret, by name and key.
    let existing = Some(chart().join("ci/existing-secret-values.yaml"));
    let (_, docs) = render(&existing, &[]);
    assert!(!kinds(&docs).contains("Secret"), "no Secret is created");
    check_key_file(find(&docs, "Deployment"), "arize-credentials", "token");

    // The chart refuses a key in args or env, and two key sources.
    for (sets, why) in [
        (vec!["extraArgs[0]=--api-key=oops"], "extraArgs"),
        (vec!["extraArgs[0]=--api-key"], "extraArgs"),
        (
            vec!["extraEnv[0].name=ARIZE_API_KEY", "extraEnv[0].value=oops"],
            "extraEnv",
        ),
        (
            vec!["apiKey.value=oops", "apiKey.existingSecret.name=s"],
            "not both",
        ),
    ] {
        let files: Vec<&Path> = Vec::new();
        let out = run(&mut template_cmd(&chart(), &files, &sets));
        assert!(!out.status.success(), "{sets:?} rendered");
        assert!(stderr(&out).contains(why), "{sets:?}: {}", stderr(&out));
    }
}

fn check_key_file(deployment: &Value, secret_name: &str, key: &str) {
    for s in plain_container_strings(deployment) {
        assert!(
            !(s.starts_with("--api-key=") || s == "--api-key" || s == "ARIZE_API_KEY"),
            "key passed in the clear: {s}"
        );
    }
    let c = containers(deployment)[0];
    let args = strings(&c["args"]);
    let file_args: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with("--api-key-file="))
        .collect();
    assert_eq!(file_args.len(), 1, "one --api-key-file in {args:?}");
    let file = file_args[0].trim_start_matches("--api-key-file=");
    let (dir, file_name) = file.rsplit_once('/').unwrap();
    assert_eq!(file_name, key);

    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == dir)
        .unwrap_or_else(|| panic!("a volume is mounted at {dir}"));
    assert_eq!(mount["readOnly"], true);
    assert!(
        mount.get("subPath").is_none(),
        "a subPath mount would not see a rotated key"
    );
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume exists");
    assert_eq!(volume["secret"]["secretName"], secret_name);
    assert_eq!(volume["secret"]["items"][0]["key"], key);
    assert_eq!(volume["secret"]["items"][0]["path"], key);
    // Readable by the owner and the pod's fsGroup only.
    assert_eq!(volume["secret"]["defaultMode"], 0o440);
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes().filter(|&b| b != b'=') {
        let v = ALPHABET.iter().position(|&a| a == b).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn the_prometheus_rule_carries_exactly_the_canonical_rule_file() {
    let rules = yaml_doc(&canonical_rules());
    assert!(
        rules["groups"].as_array().is_some_and(|g| !g.is_empty()),
        "{} has groups",
        canonical_rules().display()
    );
    for values in [
        Some(chart().join("ci/all-enabled-values.yaml")),
        Some(chart().join("ci/demo-values.yaml")),
    ] {
        let (_, docs) = render(&values, &[]);
        let rule = find(&docs, "PrometheusRule");
        let spec = rule["spec"].as_object().unwrap();
        assert_eq!(spec.keys().collect::<Vec<_>>(), ["groups"]);
        assert_eq!(
            rule["spec"]["groups"],
            rules["groups"],
            "{}: PrometheusRule spec.groups differs from {}",
            label(&values),
            canonical_rules().display()
        );
    }
}

#[test]
fn the_prometheus_rule_links_dashboards_to_the_grafana_given() {
    let values = Some(chart().join("ci/all-enabled-values.yaml"));
    let (_, docs) = render(
        &values,
        &["prometheusRule.grafanaURL=https://grafana.corp.example/"],
    );
    let rule = find(&docs, "PrometheusRule");
    let urls: Vec<&str> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["annotations"]["dashboard_url"].as_str())
        .collect();
    assert!(!urls.is_empty(), "the alerts link a dashboard");
    for url in urls {
        assert!(url.starts_with("https://grafana.corp.example/d/"), "{url}");
    }
    // Anything but a URL is refused by the schema (and a URL is not).
    for (url, renders) in [("https://grafana.corp.example", true), ("not a url", false)] {
        let set = format!("prometheusRule.grafanaURL={url}");
        let out = template_sets(&[DEFAULT_KEY, "prometheusRule.enabled=true", &set]);
        assert_eq!(out.status.success(), renders, "{url}: {}", stderr(&out));
        if !renders {
            assert!(stderr(&out).contains("grafanaURL"), "{}", stderr(&out));
        }
    }
}

#[test]
fn the_dashboard_configmap_carries_exactly_the_canonical_dashboard() {
    let dashboard = read(canonical_dashboard());
    serde_json::from_str::<Value>(&dashboard).expect("the canonical dashboard is JSON");
    let all = Some(chart().join("ci/all-enabled-values.yaml"));
    let (_, docs) = render(&all, &[]);
    let cm = find(&docs, "ConfigMap");
    let data = cm["data"].as_object().unwrap();
    assert_eq!(data.len(), 1);
    assert!(
        data["arize-exporter.json"].as_str() == Some(dashboard.as_str()),
        "the ConfigMap's arize-exporter.json differs from {}",
        canonical_dashboard().display()
    );
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(cm["metadata"]["annotations"]["grafana_folder"], "Arize");

    // The sidecar label is configurable.
    let (_, docs) = render(
        &all,
        &[
            "dashboard.sidecarLabel=my_dashboards",
            "dashboard.sidecarLabelValue=yes",
        ],
    );
    let labels = &find(&docs, "ConfigMap")["metadata"]["labels"];
    assert_eq!(labels["my_dashboards"], "yes");
    assert!(labels.get("grafana_dashboard").is_none());
}

#[test]
fn the_chart_holds_the_canonical_files_and_the_repository_links_to_them() {
    // The chart's files/ hold the only copies (so `helm package` finds plain
    // files and does not warn); rules/ and dashboards/ are relative symlinks
    // to them, for Prometheus, compose and the tests.
    for (link, canonical) in [
        (canonical_rules(), "files/arize-exporter.rules.yml"),
        (canonical_dashboard(), "files/arize-exporter.json"),
    ] {
        let file = chart().join(canonical);
        let meta = std::fs::symlink_metadata(&file).expect(canonical);
        assert!(meta.file_type().is_file(), "{canonical} is a plain file");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{} must be a symlink to the chart's {canonical}, not a copy",
            link.display()
        );
        let target = std::fs::read_link(&link).unwrap();
        assert!(target.is_relative(), "{} is relative", target.display());
        assert_eq!(
            std::fs::canonicalize(&link).unwrap(),
            std::fs::canonicalize(&file).unwrap(),
            "{} points at the canonical file",
            link.display()
        );
    }
}

#[test]
fn the_packaged_chart_carries_the_canonical_files() {
    let out_dir = TempDir::new("package");
    let msg = run_ok(
        helm()
            .arg("package")
            .arg(chart())
            .arg("--destination")
            .arg(&out_dir.0),
    );
    assert!(msg.contains("Successfully packaged"), "{msg}");
    let tgz = out_dir
        .0
        .join(format!("arize-exporter-{}.tgz", chart_version()));
    assert!(tgz.is_file(), "{} exists", tgz.display());
    // The package holds the files' content (helm follows the symlinks), so
    // it renders exactly like the chart directory.
    let all = chart().join("ci/all-enabled-values.yaml");
    let from_package = run_ok(&mut template_cmd(&tgz, &[&all], &[]));
    let from_dir = run_ok(&mut template_cmd(&chart(), &[&all], &[]));
    assert_eq!(from_package, from_dir);
}

fn chart_version() -> String {
    yaml_doc(&chart().join("Chart.yaml"))["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_metric_lists_are_passed_only_when_set_and_never_both() {
    let args_of = |sets: &[&str]| -> Vec<String> {
        let mut all = vec!["config.demo=true"];
        all.extend_from_slice(sets);
        let (_, docs) = render(&None, &all);
        strings(&containers(find(&docs, "Deployment"))[0]["args"])
    };
    let metric_args = |args: Vec<String>| -> Vec<String> {
        args.into_iter()
            .filter(|a| a.starts_with("--metric-"))
            .collect()
    };
    // Empty by default: no flag at all (an empty list is not "allow nothing").
    assert!(metric_args(args_of(&[])).is_empty());
    assert_eq!(
        metric_args(args_of(&[
            "config.metricAllowlist={arize_tasks.*,arize_task_info}"
        ])),
        ["--metric-allowlist=arize_tasks.*,arize_task_info"]
    );
    assert_eq!(
        metric_args(args_of(&[
            "config.metricDenylist={arize_task_last_run_skipped}"
        ])),
        ["--metric-denylist=arize_task_last_run_skipped"]
    );
    // Both: refused at render by the schema, as the exporter refuses it at start.
    let out = template_sets(&[
        "config.demo=true",
        "config.metricAllowlist={a}",
        "config.metricDenylist={b}",
    ]);
    assert!(!out.status.success(), "both lists rendered");
    assert!(stderr(&out).contains("schema"), "{}", stderr(&out));
    // Not a list of strings: refused.
    let out = template_sets(&["config.demo=true", "config.metricAllowlist=arize_up"]);
    assert!(!out.status.success(), "a string for a list rendered");
}

#[test]
fn the_values_schema_rejects_wrong_types_and_unknown_keys() {
    let bad = repo().join("tests/fixtures/bad-values");
    for (file, complaint) in [
        ("wrong-type.yaml", "/replicaCount"),
        ("unknown-top-level-key.yaml", "imagePullSecret"),
        ("unknown-nested-key.yaml", "scrapeInterval"),
        ("page-size-out-of-range.yaml", "/config/pageSize"),
        ("pull-policy-not-allowed.yaml", "/image/pullPolicy"),
    ] {
        let path = bad.join(file);
        for lint in [false, true] {
            let mut cmd = helm();
            if lint {
                cmd.args(["lint", "--strict"]).arg(chart());
            } else {
                cmd.args(["template", RELEASE]).arg(chart());
            }
            let out = run(cmd.arg("--values").arg(&path));
            let said = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                !out.status.success(),
                "{file} was accepted by helm {}",
                if lint { "lint" } else { "template" }
            );
            assert!(
                said.contains("schema") && said.contains(complaint),
                "{file}: helm did not name the schema violation {complaint}:\n{said}"
            );
        }
    }
    // values.schema.json itself is JSON.
    serde_json::from_str::<Value>(&read(chart().join("values.schema.json")))
        .expect("values.schema.json parses");
}

#[test]
fn notes_tell_how_to_reach_the_metrics() {
    let install = |values: &[&str], sets: &[&str]| {
        let mut cmd = helm();
        cmd.args(["install", RELEASE]).arg(chart()).args([
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
        ]);
        for v in values {
            cmd.args(["--values", v]);
        }
        for s in sets {
            cmd.args(["--set", s]);
        }
        run_ok(&mut cmd)
    };
    let out = install(&[], &["config.demo=true"]);
    let notes = out.split_once("NOTES:").expect("helm prints NOTES").1;
    assert!(
        notes
            .contains("kubectl -n observability port-forward svc/arize-arize-exporter 10841:10841"),
        "{notes}"
    );
    assert!(notes.contains("http://127.0.0.1:10841/metrics"), "{notes}");
    assert!(notes.contains("Demo mode"), "{notes}");

    let existing = chart().join("ci/existing-secret-values.yaml");
    let out = install(&[existing.to_str().unwrap()], &[]);
    let notes = out.split_once("NOTES:").unwrap().1;
    assert!(!notes.contains("no API key is configured"), "{notes}");
    assert!(notes.contains("Secret arize-credentials"), "{notes}");
    assert!(notes.contains("ServiceMonitor"), "{notes}");
}

// --- a release that cannot work fails at render --------------------------

/// `helm template` with the given --set flags and no values file.
fn template_sets(sets: &[&str]) -> std::process::Output {
    let files: Vec<&Path> = Vec::new();
    run(&mut template_cmd(&chart(), &files, sets))
}

#[test]
fn a_release_without_a_key_or_demo_mode_fails_at_render() {
    // Neither a key nor demo mode: the exporter would crash-loop, so helm
    // refuses, saying what to set.
    let out = template_sets(&[]);
    assert!(!out.status.success(), "rendered without a key");
    let said = stderr(&out);
    for needle in [
        "no API key is configured",
        "apiKey.existingSecret.name",
        "apiKey.value",
        "config.demo=true",
        "--from-file=",
    ] {
        assert!(said.contains(needle), "{needle} not in: {said}");
    }
    assert!(!said.contains("--from-literal"), "{said}");
    // helm lint treats `fail` leniently, but still reports it.
    let out = run(helm().args(["lint", "--strict"]).arg(chart()));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("no API key is configured"), "{said}");
    // Each way of giving a key, or demo mode, renders.
    for sets in [
        vec!["config.demo=true"],
        vec!["apiKey.value=k"],
        vec!["apiKey.existingSecret.name=s"],
    ] {
        let out = template_sets(&sets);
        assert!(out.status.success(), "{sets:?}: {}", stderr(&out));
    }
}

#[test]
fn notes_never_put_the_key_on_a_command_line() {
    let source = read(chart().join("templates/NOTES.txt"));
    assert!(!source.contains("--from-literal"), "NOTES.txt: {source}");
    // apiKey.value: the notes say how to move the key into a file-made Secret.
    let out = run_ok(
        helm()
            .args(["install", RELEASE])
            .arg(chart())
            .args(["--namespace", NAMESPACE, "--dry-run=client"])
            .args(["--set", "apiKey.value=oops"]),
    );
    let notes = out.split_once("NOTES:").unwrap().1;
    assert!(
        notes.contains("create secret generic arize-api-key --from-file=api-key=./arize-api-key"),
        "{notes}"
    );
    assert!(!notes.contains("--from-literal"), "{notes}");
    assert!(!notes.contains("oops"), "the key is not printed: {notes}");
}

// --- one port ---------------------------------------------------------------

#[test]
fn one_value_sets_the_service_port_the_container_port_and_the_listen_address() {
    for (sets, port) in [(vec![], 10841), (vec!["service.port=9100"], 9100)] {
        let (_, docs) = render(&None, &sets);
        let service = find(&docs, "Service");
        assert_eq!(service["spec"]["ports"][0]["port"], port, "{sets:?}");
        let c = containers(find(&docs, "Deployment"))[0];
        assert_eq!(c["ports"][0]["containerPort"], port, "{sets:?}");
        let listen: Vec<String> = strings(&c["args"])
            .into_iter()
            .filter(|a| a.contains("listen-address"))
            .collect();
        assert_eq!(listen, [format!("--web.listen-address=:{port}")]);
    }
    // The listen address cannot be set apart from the port.
    for arg in [
        "--web.listen-address=:9999",
        "--listen-address=:9999",
        "--web.listen-address",
    ] {
        let set = format!("extraArgs[0]={arg}");
        let out = template_sets(&["config.demo=true", &set]);
        assert!(!out.status.success(), "{arg} accepted");
        assert!(stderr(&out).contains("service.port"), "{}", stderr(&out));
    }
}

// --- the job name the rules select ----------------------------------------

/// The job a ServiceMonitor's endpoint gives its targets: the last
/// relabeling that writes `job` (the operator's own job rule comes first).
fn job_of(sm: &Value) -> String {
    let relabelings = sm["spec"]["endpoints"][0]["relabelings"]
        .as_array()
        .expect("relabelings");
    let last = relabelings
        .iter()
        .rev()
        .find(|r| r["targetLabel"] == "job")
        .expect("a relabeling sets the job");
    assert_eq!(last["action"], "replace");
    assert!(last.get("sourceLabels").is_none(), "a constant job");
    last["replacement"].as_str().unwrap().to_owned()
}

#[test]
fn the_job_is_arize_exporter_whatever_the_release_is_named() {
    for sets in [
        vec!["serviceMonitor.enabled=true"],
        vec!["serviceMonitor.enabled=true", "nameOverride=metrics"],
        vec!["serviceMonitor.enabled=true", "fullnameOverride=x"],
        vec![
            "serviceMonitor.enabled=true",
            "nameOverride=a",
            "fullnameOverride=b",
        ],
    ] {
        let (_, docs) = render(&None, &sets);
        let sm = find(&docs, "ServiceMonitor");
        assert_eq!(job_of(sm), "arize-exporter", "{sets:?}");
        // The job rule is not the operator's jobLabel, which follows names.
        assert!(sm["spec"].get("jobLabel").is_none(), "{sets:?}");
    }
    // It is a value, and user relabelings come before it.
    let all = Some(chart().join("ci/all-enabled-values.yaml"));
    let (_, docs) = render(&all, &["serviceMonitor.jobName=arize-prod"]);
    let sm = find(&docs, "ServiceMonitor");
    assert_eq!(job_of(sm), "arize-prod");
    assert_eq!(
        sm["spec"]["endpoints"][0]["relabelings"][0]["targetLabel"],
        "node"
    );
    // The chart's README and values say what the rules expect.
    for doc in ["README.md", "values.yaml"] {
        let text = read(chart().join(doc));
        assert!(text.contains("job=\"arize-exporter\""), "{doc}");
    }
}

// --- the web layer: TLS, basic auth, network policy ------------------------

fn ci(name: &str) -> Option<PathBuf> {
    Some(chart().join("ci").join(name))
}

/// The web configuration the chart rendered into its Secret.
fn rendered_web_config(docs: &[Value]) -> Value {
    let secret = docs
        .iter()
        .find(|d| {
            d["kind"] == "Secret"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-web-config"))
        })
        .expect("a web-config Secret");
    let encoded = secret["data"]["web-config.yml"].as_str().unwrap();
    let text = String::from_utf8(decode_base64(encoded)).unwrap();
    let dir = TempDir::new("web-config");
    let path = dir.path("web-config.yml");
    std::fs::write(&path, text).unwrap();
    yaml_doc(&path)
}

/// The volume mounted at `dir` and the Secret it comes from.
fn secret_mounted_at(deployment: &Value, dir: &str) -> String {
    let c = containers(deployment)[0];
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == dir)
        .unwrap_or_else(|| panic!("a volume is mounted at {dir}"));
    assert_eq!(mount["readOnly"], true);
    assert!(mount.get("subPath").is_none(), "a subPath sees no rotation");
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(volume["secret"]["defaultMode"], 0o440);
    volume["secret"]["secretName"].as_str().unwrap().to_owned()
}

fn web_config_flag(deployment: &Value) -> Option<String> {
    strings(&containers(deployment)[0]["args"])
        .into_iter()
        .find_map(|a| a.strip_prefix("--web.config.file=").map(str::to_owned))
}

fn probe_schemes(deployment: &Value) -> Vec<String> {
    let c = containers(deployment)[0];
    ["livenessProbe", "readinessProbe"]
        .iter()
        .map(|p| {
            let probe = &c[*p];
            if probe.get("tcpSocket").is_some() {
                assert!(probe.get("httpGet").is_none());
                assert_eq!(probe["tcpSocket"]["port"], "metrics");
                "TCP".to_owned()
            } else {
                probe["httpGet"]["scheme"]
                    .as_str()
                    .unwrap_or("HTTP")
                    .to_owned()
            }
        })
        .collect()
}

#[test]
fn without_a_web_configuration_the_exporter_speaks_plain_http() {
    let (_, docs) = render(&None, &["serviceMonitor.enabled=true"]);
    let deployment = find(&docs, "Deployment");
    assert_eq!(web_config_flag(deployment), None);
    assert_eq!(probe_schemes(deployment), ["HTTP", "HTTP"]);
    let ep = &find(&docs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(ep["scheme"], "http");
    assert!(ep.get("tlsConfig").is_none() && ep.get("basicAuth").is_none());
    assert!(!kinds(&docs).contains("NetworkPolicy"));
}

#[test]
fn tls_and_basic_auth_rendered_from_values() {
    let (_, docs) = render(&ci("web-tls-basic-auth-values.yaml"), &[]);
    let deployment = find(&docs, "Deployment");
    // The rendered configuration is mounted and passed to the exporter.
    let file = web_config_flag(deployment).expect("--web.config.file");
    assert_eq!(file, "/etc/arize-exporter/web/web-config.yml");
    assert_eq!(
        secret_mounted_at(deployment, "/etc/arize-exporter/web"),
        "arize-arize-exporter-web-config"
    );
    assert_eq!(
        secret_mounted_at(deployment, "/etc/arize-exporter/tls"),
        "arize-exporter-tls"
    );
    let config = rendered_web_config(&docs);
    let tls = &config["tls_server_config"];
    assert_eq!(tls["cert_file"], "/etc/arize-exporter/tls/tls.crt");
    assert_eq!(tls["key_file"], "/etc/arize-exporter/tls/tls.key");
    assert_eq!(tls["min_version"], "TLS12");
    assert!(config["basic_auth_users"]["prometheus"]
        .as_str()
        .unwrap()
        .starts_with("$2b$10$"));
    assert_eq!(config["rate_limit"]["burst"], 20);
    // TLS on: the probes speak HTTPS (no auth needed on /healthz, /readyz).
    assert_eq!(probe_schemes(deployment), ["HTTPS", "HTTPS"]);
    // The ServiceMonitor scrapes over HTTPS with basic auth.
    let ep = &find(&docs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(ep["scheme"], "https");
    assert_eq!(ep["port"], "metrics");
    assert_eq!(ep["tlsConfig"]["ca"]["secret"]["key"], "ca.crt");
    assert_eq!(ep["basicAuth"]["password"]["name"], "arize-exporter-scrape");
    // The port: 9443 everywhere.
    let c = containers(deployment)[0];
    assert_eq!(c["ports"][0]["containerPort"], 9443);
    assert!(strings(&c["args"]).contains(&"--web.listen-address=:9443".to_owned()));
    // The NetworkPolicy admits the scraper, on the metrics port, to the pods.
    let np = find(&docs, "NetworkPolicy");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in np["spec"]["podSelector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&pod_labels[k], v, "label {k}");
    }
    assert_eq!(strings(&np["spec"]["policyTypes"]), ["Ingress"]);
    let rule = &np["spec"]["ingress"][0];
    assert_eq!(rule["ports"][0]["port"], "metrics");
    let from = rule["from"].as_array().unwrap();
    assert_eq!(from.len(), 1, "only the scraper: {from:?}");
    assert_eq!(
        from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    assert_eq!(
        from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "prometheus"
    );
}

#[test]
fn basic_auth_without_tls_keeps_http_probes() {
    let (_, docs) = render(&ci("web-basic-auth-values.yaml"), &[]);
    let deployment = find(&docs, "Deployment");
    assert!(web_config_flag(deployment).is_some());
    let config = rendered_web_config(&docs);
    assert!(config.get("tls_server_config").is_none(), "{config}");
    assert!(config["basic_auth_users"]["prometheus"].is_string());
    assert_eq!(probe_schemes(deployment), ["HTTP", "HTTP"]);
    let ep = &find(&docs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(ep["scheme"], "http");
    assert_eq!(ep["basicAuth"]["username"]["key"], "username");
    // No TLS Secret is mounted.
    let c = containers(deployment)[0];
    assert!(!c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/etc/arize-exporter/tls"));
    // A namespace selector alone.
    let from = &find(&docs, "NetworkPolicy")["spec"]["ingress"][0]["from"][0];
    assert_eq!(
        from["namespaceSelector"]["matchLabels"]["monitoring"],
        "true"
    );
    assert!(from.get("podSelector").is_none(), "{from}");
}

#[test]
fn a_required_client_certificate_turns_the_probes_into_tcp_checks() {
    let (_, docs) = render(&ci("web-client-cert-values.yaml"), &[]);
    let deployment = find(&docs, "Deployment");
    assert_eq!(probe_schemes(deployment), ["TCP", "TCP"]);
    let config = rendered_web_config(&docs);
    assert_eq!(
        config["tls_server_config"]["client_auth_type"],
        "RequireAndVerifyClientCert"
    );
    assert_eq!(
        config["tls_server_config"]["client_ca_file"],
        "/etc/arize-exporter/tls/ca.crt"
    );
    let ep = &find(&docs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(ep["scheme"], "https");
    assert_eq!(
        ep["tlsConfig"]["keySecret"]["name"],
        "prometheus-client-tls"
    );
    // A client certificate only requested: HTTPS probes still work.
    let (_, docs) = render(
        &ci("web-client-cert-values.yaml"),
        &["web.config.tls_server_config.client_auth_type=VerifyClientCertIfGiven"],
    );
    assert_eq!(probe_schemes(find(&docs, "Deployment")), ["HTTPS", "HTTPS"]);
}

#[test]
fn an_existing_web_configuration_secret_is_mounted_as_is() {
    let (_, docs) = render(&ci("all-enabled-values.yaml"), &[]);
    let deployment = find(&docs, "Deployment");
    assert_eq!(
        web_config_flag(deployment).as_deref(),
        Some("/etc/arize-exporter/web/web.yml")
    );
    assert_eq!(
        secret_mounted_at(deployment, "/etc/arize-exporter/web"),
        "arize-exporter-web"
    );
    assert_eq!(
        secret_mounted_at(deployment, "/etc/arize-exporter/tls"),
        "arize-exporter-tls"
    );
    // The chart creates no web Secret of its own (only the key's).
    let secrets: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Secret").collect();
    assert_eq!(secrets.len(), 1);
    assert!(secrets[0]["data"].get("api-key").is_some());
    assert_eq!(probe_schemes(deployment), ["HTTPS", "HTTPS"]);
    let ep = &find(&docs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(ep["scheme"], "https");
    assert_eq!(
        ep["tlsConfig"]["serverName"],
        "arize-exporter.observability.svc"
    );
    // The client-certificate switch for a configuration the chart cannot read.
    let (_, docs) = render(
        &ci("all-enabled-values.yaml"),
        &["web.tls.clientCertRequired=true"],
    );
    assert_eq!(probe_schemes(find(&docs, "Deployment")), ["TCP", "TCP"]);
    // The scheme can be forced.
    let (_, docs) = render(
        &ci("all-enabled-values.yaml"),
        &["serviceMonitor.scheme=http"],
    );
    assert_eq!(
        find(&docs, "ServiceMonitor")["spec"]["endpoints"][0]["scheme"],
        "http"
    );
}

#[test]
fn inconsistent_web_settings_fail_at_render() {
    for (sets, why) in [
        (
            vec![
                "config.demo=true",
                "web.existingSecret.name=w",
                "web.config.basic_auth_users.u=$2b$10$XGU7sZBX/Ak8THEw/rOjN.f8sQ8khUiWXpgnKcLbfGn94ph2mwdIK",
            ],
            "not both",
        ),
        (
            vec!["config.demo=true", "web.tls.enabled=true", "web.config.rate_limit.burst=1"],
            "web.tls.secretName",
        ),
        (
            vec!["config.demo=true", "web.config.tls_server_config.min_version=TLS13"],
            "web.tls.enabled",
        ),
        (
            vec!["config.demo=true", "networkPolicy.enabled=true"],
            "networkPolicy.scraper",
        ),
        (
            vec!["config.demo=true", "extraArgs[0]=--web.config.file=/x"],
            "web.existingSecret",
        ),
    ] {
        let out = template_sets(&sets);
        assert!(!out.status.success(), "{sets:?} rendered");
        assert!(stderr(&out).contains(why), "{sets:?}: {}", stderr(&out));
    }
}

#[test]
fn the_schema_checks_the_web_and_network_policy_values() {
    for (sets, complaint) in [
        ("web.config.tls_server_config.certfile=x", "certfile"),
        (
            "web.config.tls_server_config.client_auth_type=RequireClientCert",
            "client_auth_type",
        ),
        (
            "web.config.basic_auth_users.u=plain-password",
            "basic_auth_users",
        ),
        (
            "web.config.tls_server_config.min_version=TLS14",
            "min_version",
        ),
        ("web.config.tlsserverconfig.x=y", "tlsserverconfig"),
        ("web.tls.certificate=x", "certificate"),
        ("serviceMonitor.scheme=ftp", "scheme"),
        ("serviceMonitor.basicAuth.user.name=s", "user"),
        ("networkPolicy.scraper.namespaces=monitoring", "namespaces"),
    ] {
        let out = template_sets(&["config.demo=true", sets]);
        let said = stderr(&out);
        assert!(!out.status.success(), "{sets} accepted");
        assert!(
            said.contains("schema") && said.contains(complaint),
            "{sets}: helm did not name {complaint}:\n{said}"
        );
    }
}

#[test]
fn the_package_holds_plain_files_and_no_ci_values_without_a_warning() {
    let out_dir = TempDir::new("package");
    let out = run(helm()
        .arg("package")
        .arg(chart())
        .arg("--destination")
        .arg(&out_dir.0));
    assert!(out.status.success(), "{}", stderr(&out));
    // No warning of any kind (helm logs symlinks it follows on stderr).
    assert_eq!(stderr(&out).trim(), "", "helm package warned");
    let tgz = out_dir
        .0
        .join(format!("arize-exporter-{}.tgz", chart_version()));
    let listing = run_ok(Command::new("tar").arg("-tzvf").arg(&tgz));
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("/ci/")),
        "ci/ is packaged: {names:?}"
    );
    for file in [
        "arize-exporter/files/arize-exporter.rules.yml",
        "arize-exporter/files/arize-exporter.json",
        "arize-exporter/templates/networkpolicy.yaml",
        "arize-exporter/values.schema.json",
    ] {
        assert!(names.contains(&file), "{file} missing: {names:?}");
    }
    // Plain files in the archive, not links ('-' in tar's long listing).
    assert!(
        listing.lines().all(|l| l.starts_with('-')),
        "only regular files:\n{listing}"
    );
}

/// The expression of the alert `name` in the canonical rule file.
fn alert_expr(name: &str) -> String {
    let rules = yaml_doc(&canonical_rules());
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .find(|r| r["alert"] == name)
        .unwrap_or_else(|| panic!("the rules have an alert {name}"))["expr"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_target_down_alert_selects_the_job_the_chart_names() {
    // promtool evaluates ArizeExporterDown's expression over a down target
    // of the job the ServiceMonitor sets by default, and over one named after
    // the release (what the operator's own job would have been).
    let values = yaml_doc(&chart().join("values.yaml"));
    let job = values["serviceMonitor"]["jobName"].as_str().unwrap();
    let expr = alert_expr("ArizeExporterDown");
    let dir = TempDir::new("job-selector");
    let rules = dir.path("rules.yml");
    std::fs::write(
        &rules,
        format!(
            "groups:\n  - name: t\n    rules:\n      - record: selected\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ),
    )
    .unwrap();
    let test = dir.path("test.yml");
    std::fs::write(
        &test,
        format!(
            r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="{job}", instance="a"}}'
        values: "0x10"
      - series: 'up{{job="my-release-metrics", instance="b"}}'
        values: "0x10"
    promql_expr_test:
      - expr: selected
        eval_time: 5m
        exp_samples:
          - labels: 'selected{{job="{job}", instance="a"}}'
            value: 0
"#
        ),
    )
    .unwrap();
    let out = run(command("promtool", PROMETHEUS)
        .args(["test", "rules"])
        .arg(&test));
    assert!(
        out.status.success(),
        "ArizeExporterDown ({expr}) does not select exactly job=\"{job}\":\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}
