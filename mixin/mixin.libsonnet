// The arize-exporter monitoring mixin: prometheusAlerts, prometheusRules and
// grafanaDashboards, set up by _config (config.libsonnet says what each key
// does). The rule file and dashboard this repository ships are its render
// with the default _config (mixin/generate.sh).
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'rules/rules.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
