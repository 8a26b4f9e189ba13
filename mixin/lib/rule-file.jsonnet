// The rule file the repository ships (rules/arize-exporter.rules.yml and the
// Helm chart's copy): the recording rules' group, then the alerts', after a
// header saying where the file comes from. `jsonnet -S lib/rule-file.jsonnet`,
// with `--tla-code config='{ ... }'` to override _config keys.
local yaml = import 'yaml.libsonnet';

local header = |||
  # Alert and recording rules for arize-exporter.
  #
  # GENERATED from the monitoring mixin in mixin/ (jsonnet) with its default
  # _config: do not edit by hand. Edit mixin/ (the rules are in
  # mixin/rules/*.libsonnet and mixin/alerts/*.libsonnet, the settings in
  # mixin/config.libsonnet), then run `mixin/generate.sh`; tests/tools/mixin.rs fails
  # while this file differs from a fresh render.
  #
  # The Helm chart embeds its `groups` verbatim in a PrometheusRule, and plain
  # Prometheus loads this file through `rule_files`. Unit tests: rules/tests/
  # (`promtool test rules rules/tests/*.yml`).
|||;

function(config={})
  local m = (import 'mixin.libsonnet')(config);
  header + yaml.manifest({ groups: m.prometheusRules.groups + m.prometheusAlerts.groups })
