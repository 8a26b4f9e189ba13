// prometheusAlerts as YAML: `jsonnet -S lib/alerts.jsonnet`, with
// `--tla-code config='{ ... }'` to override _config keys.
local yaml = import 'yaml.libsonnet';
function(config={})
  yaml.manifest((import 'mixin.libsonnet')(config).prometheusAlerts)
