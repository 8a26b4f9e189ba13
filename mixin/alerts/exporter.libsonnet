// The exporter's own alerts: it is down, its data is old, its polls or its
// run reads fail, the API rate limits it or rejects its key, it falls
// behind reading runs. A function of the mixin's _config; alerts.libsonnet
// adds each alert's for, severity, runbook and dashboard links.
local u = import '../lib/utils.libsonnet';

function(c) [
  {
    alert: 'ArizeExporterDown',
    expr: 'up{%(arizeExporterSelector)s} == 0' % c,
    annotations: {
      summary: 'Prometheus cannot scrape the Arize exporter.',
      description: u.oneLine(|||
        The scrape target {{ $labels.instance }} (job {{ $labels.job }}) has been
        down for %s; no Arize task is being watched through it.
      ||| % u.inWords(c.alertFor.ArizeExporterDown)),
    },
  },

  // Old data, or none at all: the last complete poll is older than the
  // limit, or the process has been up longer than the limit without ever
  // completing a poll (the timestamp is absent until the first one).
  {
    alert: 'ArizeExporterDataStale',
    expr: |||
      (
        (time() - arize_exporter_last_success_timestamp_seconds)
          > on (%(instanceLabels)s) group_left instance:arize_exporter_data_age_limit_seconds:poll_interval_x5
      )
      or on (%(instanceLabels)s)
      (
        (
          (time() - process_start_time_seconds)
            > on (%(instanceLabels)s) group_left instance:arize_exporter_data_age_limit_seconds:poll_interval_x5
        )
        unless on (%(instanceLabels)s) arize_exporter_last_success_timestamp_seconds
      )
    ||| % c,
    annotations: {
      summary: 'The Arize exporter has no recent data; task alerts are paused.',
      description: u.oneLine(|||
        {{ $labels.instance }} (job {{ $labels.job }}) has completed no poll of
        the Arize API for {{ $value | humanizeDuration }} (since its last complete
        poll, or since it started if it never completed one), more than five poll
        intervals. The task alerts for this exporter are silent until it polls
        again.
      |||),
    },
  },

  {
    alert: 'ArizeExporterPollsFailing',
    expr: 'arize_up == 0',
    annotations: {
      summary: 'The Arize exporter cannot complete polls of the Arize API.',
      description: u.oneLine(|||
        Every poll of the Arize API by {{ $labels.instance }} (job {{ $labels.job }})
        has failed for at least %s; see
        arize_exporter_poll_errors_total by reason and the exporter's log.
      ||| % u.inWords(c.alertFor.ArizeExporterPollsFailing)),
    },
  },

  {
    alert: 'ArizeApiKeyRejected',
    expr: |||
      increase(arize_exporter_poll_errors_total{reason="unauthorized"}[5m]) > 0
      and on (%(instanceLabels)s) arize_up == 0
    ||| % c,
    annotations: {
      summary: "The Arize API rejects the exporter's API key.",
      description: u.oneLine(|||
        Polls by {{ $labels.instance }} (job {{ $labels.job }}) fail with 401/403:
        the API key is missing rights, revoked or wrong.
      |||),
    },
  },

  {
    alert: 'ArizeExporterRateLimited',
    expr: |||
      (sum by (%(instanceLabels)s) (increase(arize_exporter_poll_errors_total{reason="rate_limited"}[15m])) > 0)
      or
      (
        sum by (%(instanceLabels)s) (rate(arize_exporter_api_requests_total{code="429"}[15m]))
          / sum by (%(instanceLabels)s) (rate(arize_exporter_api_requests_total[15m]))
        > %(threshold)s
      )
    ||| % (c { threshold: '%g' % c.rateLimitedRatioThreshold }),
    annotations: {
      summary: 'The Arize API keeps rate limiting the exporter.',
      description: u.oneLine(|||
        For %s {{ $labels.instance }} (job {{ $labels.job }}) has had polls
        fail after their retries on HTTP 429, or more than %s of its
        API requests answered 429.
      ||| % [
        u.inWords(c.alertFor.ArizeExporterRateLimited),
        if c.rateLimitedRatioThreshold == 0.25 then 'a quarter'
        else '%g%%' % (100 * c.rateLimitedRatioThreshold),
      ]),
    },
  },

  // Run data lags: tasks whose runs are due stay unread poll after poll.
  {
    alert: 'ArizeExporterTaskRunsBehind',
    expr: 'arize_exporter_task_runs_backlog > 0',
    annotations: {
      summary: 'The Arize exporter cannot keep up reading task runs.',
      description: u.oneLine(|||
        For %s {{ $labels.instance }} (job {{ $labels.job }}) has left
        {{ $value }} task(s) with due run data unread at the end of every poll
        (--max-run-requests-per-poll); their run health is out of date.
      ||| % u.inWords(c.alertFor.ArizeExporterTaskRunsBehind)),
    },
  },

  // Run requests fail (they never fail the poll, so arize_up stays 1).
  {
    alert: 'ArizeExporterTaskRunReadsFailing',
    expr: |||
      sum by (%(instanceLabels)s) (increase(arize_exporter_task_run_errors_total[15m])) > 0
      and on (%(instanceLabels)s) arize_up == 1
    ||| % c,
    annotations: {
      summary: 'The Arize exporter keeps failing to read task runs.',
      description: u.oneLine(|||
        For %s requests for task runs by {{ $labels.instance }}
        (job {{ $labels.job }}) have kept failing while its polls of the task list
        succeed; see arize_exporter_task_run_errors_total by reason.
      ||| % u.inWords(c.alertFor.ArizeExporterTaskRunReadsFailing)),
    },
  },
]
