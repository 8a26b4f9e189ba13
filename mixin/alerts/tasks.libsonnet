// The task alerts. A function of the mixin's _config; alerts.libsonnet adds
// each alert's for, severity, runbook and dashboard links.
//
// Roll-ups and details: the ArizeTasks* alerts read the per-type aggregates
// (they work with --per-task-metrics=false too) and are the ones that
// notify; the ArizeTask* alerts name each task, one severity lower, for the
// Alertmanager inhibition the runbook describes.
//
// Every task alert speaks only while the exporter's data is fresh (its last
// complete poll within the limit); past it, ArizeExporterDataStale speaks
// instead.
local u = import '../lib/utils.libsonnet';

function(c)
  // The freshness gate each task alert ends with.
  local fresh = |||
    and on (%(instanceLabels)s)
      (
        (time() - arize_exporter_last_success_timestamp_seconds)
          <= on (%(instanceLabels)s) instance:arize_exporter_data_age_limit_seconds:poll_interval_x5
      )
  ||| % c;
  // The PromQL selector of one task's stale threshold, for a query in a
  // description (the cluster label too, when there is one).
  local thresholdQuery =
    if c.clusterLabel == '' then
      |||
        printf "arize_task_stale_threshold_seconds{job='%s',instance='%s',task_id='%s'}" $labels.job $labels.instance $labels.task_id
      |||
    else
      |||
        printf "arize_task_stale_threshold_seconds{%s='%%s',job='%%s',instance='%%s',task_id='%%s'}" $labels.%s $labels.job $labels.instance $labels.task_id
      ||| % [c.clusterLabel, c.clusterLabel];
  [
    // ---- Roll-ups on the per-type aggregates (both modes) ----

    // Continuous tasks past their own stale threshold. arize_tasks_stale
    // also counts continuous tasks that never ran; those are
    // ArizeTasksNeverRun's.
    {
      alert: 'ArizeTasksStale',
      expr: |||
        (
          arize_tasks_stale
            - ignoring (mode) arize_tasks_never_run{mode="continuous"}
        ) > 0
      ||| + fresh,
      annotations: {
        summary: 'Continuous Arize evaluation tasks have stopped running.',
        description: u.oneLine(|||
          {{ $value }} continuous {{ $labels.task_type }} task(s) seen by
          {{ $labels.instance }} (job {{ $labels.job }}) have not run within their
          stale threshold. ArizeTaskStale names each one; so does the dashboard's
          staleness table.
        |||),
      },
    },

    {
      alert: 'ArizeTasksNeverRun',
      expr: |||
        arize_tasks_never_run{mode="continuous"} > 0
      ||| + fresh,
      annotations: {
        summary: 'Continuous Arize evaluation tasks have never run.',
        description: u.oneLine(|||
          For %s {{ $labels.instance }} (job {{ $labels.job }}) has seen
          {{ $value }} continuous {{ $labels.task_type }} task(s) that never ran.
          ArizeTaskNeverRun names each one; so does the dashboard.
        ||| % u.inWords(c.alertFor.ArizeTasksNeverRun)),
      },
    },

    {
      alert: 'ArizeTasksLastRunFailed',
      expr: |||
        arize_tasks_last_run_failed > 0
      ||| + fresh,
      annotations: {
        summary: 'The newest finished run of Arize evaluation tasks failed.',
        description: u.oneLine(|||
          {{ $value }} {{ $labels.task_type }} task(s) seen by {{ $labels.instance }}
          (job {{ $labels.job }}) have a newest finished run that failed.
          ArizeTaskLastRunFailed names each one; the dashboard's failing tasks
          table gives the status and items.
        |||),
      },
    },

    // A last_run_at that was sent but could not be read: the task's last run
    // is unknown, so it can be judged neither stale nor never run.
    {
      alert: 'ArizeTasksLastRunUnreadable',
      expr: |||
        arize_tasks_last_run_unreadable{mode="continuous"} > 0
      ||| + fresh,
      annotations: {
        summary: 'The last run time of continuous Arize tasks cannot be read.',
        description: u.oneLine(|||
          {{ $value }} continuous {{ $labels.task_type }} task(s) seen by
          {{ $labels.instance }} (job {{ $labels.job }}) have a last_run_at the
          exporter cannot read, so their staleness is not watched. The dashboard's
          unreadable table names them; the exporter's log has the value.
        |||),
      },
    },

    // ---- Per-task details (need --per-task-metrics, the default) ----

    // The age of the last run against the task's own threshold.
    {
      alert: 'ArizeTaskStale',
      expr: |||
        (
          (time() - arize_task_last_run_timestamp_seconds{mode="continuous"})
            > on (%(instanceLabels)s, task_id) group_left arize_task_stale_threshold_seconds
        )
      ||| % c + fresh,
      annotations: {
        summary: 'A continuous Arize evaluation task has stopped running.',
        description: u.oneLine(|||
          Continuous {{ $labels.task_type }} task "{{ $labels.task_name }}"
          (id {{ $labels.task_id }}{{ with $labels.space }}, space {{ . }}{{ end }})
          last ran {{ $value | humanizeDuration }} ago, more than its stale threshold{{
          with %s | query
          }} of {{ . | first | value | humanizeDuration }}{{ end }}
          (seen by {{ $labels.instance }}).
        ||| % std.rstripChars(thresholdQuery, '\n')),
      },
    },

    // Never ran, although created longer ago than its stale threshold (or
    // at an unknown time). An unreadable last_run_at is not "never ran".
    {
      alert: 'ArizeTaskNeverRun',
      expr: |||
        (
          arize_task_info{mode="continuous"}
            unless on (%(instanceLabels)s, task_id) arize_task_last_run_timestamp_seconds
            unless on (%(instanceLabels)s, task_id) arize_task_last_run_unreadable
            unless on (%(instanceLabels)s, task_id)
              (
                (time() - arize_task_created_timestamp_seconds)
                  <= on (%(instanceLabels)s, task_id) arize_task_stale_threshold_seconds
              )
        )
      ||| % c + fresh,
      annotations: {
        summary: 'A continuous Arize evaluation task has never run.',
        description: u.oneLine(|||
          Continuous {{ $labels.task_type }} task "{{ $labels.task_name }}"
          (id {{ $labels.task_id }}{{ with $labels.space }}, space {{ . }}{{ end }})
          has never run, and was created longer ago than its stale threshold or at
          an unknown time (seen by {{ $labels.instance }}).
        |||),
      },
    },

    // The newest finished run failed. While a newer run is pending or
    // running, the newest finished one is judged by its finish time: later
    // than the newest successful run (or no successful run at all) means it
    // did not complete. This keeps the alert steady across a retry in
    // progress.
    {
      alert: 'ArizeTaskLastRunFailed',
      expr: |||
        max without (status) (
          arize_task_last_run_status{status="failed"}
          or on (%(instanceLabels)s, task_id)
          (
            arize_task_last_run_status{status=~"pending|running"}
              and on (%(instanceLabels)s, task_id) arize_task_last_run_finished_timestamp_seconds
              unless on (%(instanceLabels)s, task_id)
                (
                  arize_task_last_run_finished_timestamp_seconds
                    <= on (%(instanceLabels)s, task_id) arize_task_last_successful_run_timestamp_seconds
                )
          )
        )
      ||| % c + fresh,
      annotations: {
        summary: 'The newest finished run of an Arize evaluation task failed.',
        description: u.oneLine(|||
          The newest finished run of {{ $labels.mode }} {{ $labels.task_type }} task
          "{{ $labels.task_name }}" (id {{ $labels.task_id }}{{ with $labels.space }},
          space {{ . }}{{ end }}) failed (seen by {{ $labels.instance }}); the
          reason is on the exporter's status page and in Arize.
        |||),
      },
    },

    // Too many items of the newest finished run ended in error. The
    // threshold (_config.taskErrorRatioThreshold, 0.1) is the rules' only
    // one of their own; the dashboard colours the same value.
    {
      alert: 'ArizeTaskLastRunErrorRatioHigh',
      expr: |||
        task:arize_task_last_run_errors:ratio > %s
        unless on (%s, task_id) arize_task_last_run_status{status="failed"}
      ||| % ['%g' % c.taskErrorRatioThreshold, c.instanceLabels] + fresh,
      annotations: {
        summary: "Many items of an Arize evaluation task's newest run ended in error.",
        description: u.oneLine(|||
          {{ $value | humanizePercentage }} of the items of the newest finished run
          of {{ $labels.mode }} {{ $labels.task_type }} task "{{ $labels.task_name }}"
          (id {{ $labels.task_id }}{{ with $labels.space }}, space {{ . }}{{ end }})
          ended in error, more than %s (seen by {{ $labels.instance }}).
        ||| % ('%g%%' % (100 * c.taskErrorRatioThreshold))),
      },
    },
  ]
