// The settings a platform team overrides. Every key has the value that
// renders the rules and the dashboard this repository ships (rules/ and
// dashboards/, generated from this mixin by mixin/generate.sh).
//
// Override with jsonnet's object merge, for example:
//
//   (import 'github.com/arize-exporter/arize-exporter/mixin/mixin.libsonnet') + {
//     _config+:: {
//       arizeExporterSelector: 'job="arize"',
//       clusterLabel: 'cluster',
//       alertFor+: { ArizeTasksNeverRun: '2h' },
//     },
//   }
{
  _config+:: {
    // Selects the exporter's own `up` series, the only input of the rules
    // that is not unique to the exporter (every arize_* family is). It must
    // match the scrape job: the Helm chart's ServiceMonitor names the job
    // "arize-exporter" (serviceMonitor.jobName).
    arizeExporterSelector: 'job="arize-exporter"',

    // The label that tells clusters (or Prometheus servers) apart when one
    // Thanos, Mimir or Cortex evaluates the rules of several: empty by
    // default. When set, it joins job and instance in every `by` and `on`
    // clause, the dashboard gains a variable of that name and the alerts'
    // dashboard links pass it.
    clusterLabel: '',

    // Where each alert's runbook is: `%s` is the alert's name, lower-cased
    // (the heading anchor of its section in docs/runbook.md).
    runbookURLPattern: 'https://github.com/arize-exporter/arize-exporter/blob/main/docs/runbook.md#%s',

    // The Grafana the alerts' dashboard_url annotations link to.
    grafanaURL: 'https://grafana.example.com',

    // The dashboard: its file name in grafanaDashboards, uid (the alerts'
    // dashboard links use it too) and tags.
    dashboardFile: 'arize-exporter.json',
    dashboardUid: 'arize-exporter',
    dashboardTags: ['arize', 'arize-exporter', 'llm-evaluation'],

    // The task alerts hold no threshold of their own: each task's stale
    // threshold, --stale-after and --run-error-ratio-threshold come from the
    // exporter's series (arize_task_stale_threshold_seconds,
    // arize_exporter_stale_after_seconds,
    // arize_exporter_run_error_ratio_threshold). Change the exporter's
    // flags; the alerts, the dashboard and the landing page follow.

    // ArizeExporterRateLimited fires when more than this share of the
    // exporter's API requests are answered 429 (or polls fail on 429).
    rateLimitedRatioThreshold: 0.25,

    // How long each alert's condition must hold before it fires. The alert's
    // description quotes the same duration.
    alertFor: {
      ArizeExporterDown: '5m',
      ArizeExporterDataStale: '1m',
      ArizeExporterPollsFailing: '5m',
      ArizeApiKeyRejected: '2m',
      ArizeExporterRateLimited: '15m',
      ArizeExporterTaskRunsBehind: '30m',
      ArizeExporterTaskRunReadsFailing: '15m',
      ArizeTasksStale: '2m',
      ArizeTasksNeverRun: '1h',
      ArizeTasksLastRunFailed: '5m',
      ArizeTasksLastRunUnreadable: '15m',
      ArizeTasksRunStuck: '5m',
      ArizeTasksEvaluationLagging: '10m',
      ArizeTaskStale: '2m',
      ArizeTaskNeverRun: '5m',
      ArizeTaskLastRunFailed: '5m',
      ArizeTaskLastRunErrorRatioHigh: '5m',
      ArizeTaskEvaluationLagging: '10m',
      ArizeTaskRunStuck: '5m',
    },

    // Each alert's severity. The roll-ups (ArizeTasks*) are one step above
    // their per-task details (ArizeTask*), for the Alertmanager inhibition
    // the runbook describes: keep that order when changing them.
    alertSeverity: {
      ArizeExporterDown: 'critical',
      ArizeExporterDataStale: 'critical',
      ArizeExporterPollsFailing: 'warning',
      ArizeApiKeyRejected: 'critical',
      ArizeExporterRateLimited: 'warning',
      ArizeExporterTaskRunsBehind: 'warning',
      ArizeExporterTaskRunReadsFailing: 'warning',
      ArizeTasksStale: 'critical',
      ArizeTasksNeverRun: 'warning',
      ArizeTasksLastRunFailed: 'warning',
      ArizeTasksLastRunUnreadable: 'warning',
      ArizeTasksRunStuck: 'warning',
      ArizeTasksEvaluationLagging: 'warning',
      ArizeTaskStale: 'warning',
      ArizeTaskNeverRun: 'info',
      ArizeTaskLastRunFailed: 'info',
      ArizeTaskLastRunErrorRatioHigh: 'warning',
      ArizeTaskEvaluationLagging: 'info',
      ArizeTaskRunStuck: 'info',
    },

    // Derived: the labels that identify one exporter in `by` and `on`
    // clauses, the cluster label first when there is one.
    instanceLabels:: (if self.clusterLabel == '' then '' else self.clusterLabel + ', ') + 'job, instance',
  },
}
