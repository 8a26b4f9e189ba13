// The alerts, one group: the exporter's own, then the tasks'. Each alert
// gets here what all of them share: its `for` and severity from _config, a
// runbook_url (the runbook's section of that name) and a dashboard_url (the
// dashboard, filtered on the alert's exporter).
local exporter = import 'exporter.libsonnet';
local tasks = import 'tasks.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local dashboardURL =
      '%s/d/%s?' % [c.grafanaURL, c.dashboardUid]
      + (if c.clusterLabel == '' then ''
         else 'var-cluster={{ $labels.%s | urlquery }}&' % c.clusterLabel)
      + 'var-job={{ $labels.job | urlquery }}&var-instance={{ $labels.instance | urlquery }}',
    local complete(rule) = rule {
      'for': c.alertFor[rule.alert],
      labels+: { severity: c.alertSeverity[rule.alert] },
      annotations+: {
        runbook_url: c.runbookURLPattern % std.asciiLower(rule.alert),
        dashboard_url: dashboardURL,
      },
    },
    groups+: [
      {
        name: 'arize-exporter.alerts',
        rules: std.map(complete, exporter(c) + tasks(c)),
      },
    ],
  },
}
