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
//
// No threshold of the rules' own: each task's stale threshold, the
// exporter's --stale-after and --run-error-ratio-threshold are series the
// exporter serves (arize_task_stale_threshold_seconds,
// arize_exporter_stale_after_seconds, arize_exporter_run_error_ratio_threshold).
//
// Where the task lives: every per-task description names the task's space
// and project (or dataset) from arize_task_info, read in the description
// with `query` (one instant lookup by task id) rather than joined into the
// expression with group_left. So an alert never depends on arize_task_info:
// with that family dropped by --metric-denylist (or names not read yet, or
// a names read refused with 403) the alert still fires, only without the
// names; and the alert's labels do not change when a name is first read or
// renamed, which would restart its `for:` and break silences and routes.
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
  // The labels that select one exporter (perTask: one task of it) in a
  // query of a description, the cluster label first when there is one.
  local selectLabels(perTask) =
    (if c.clusterLabel == '' then [] else [c.clusterLabel])
    + ['job', 'instance']
    + (if perTask then ['task_id'] else []);
  // A template pipeline that prints the PromQL selector of `metric` for the
  // alert's exporter (and task, when perTask), extra matchers after them:
  // `printf "metric{job='%s',...}" $labels.job ...`.
  local selector(metric, perTask, extra='') =
    local names = selectLabels(perTask);
    'printf "' + metric + '{'
    + std.join(',', [n + "='%s'" for n in names])
    + extra + '}" '
    + std.join(' ', ['$labels.' + n for n in names]);
  // The PromQL selector of one task's stale threshold, for a query in a
  // description.
  local thresholdQuery = selector('arize_task_stale_threshold_seconds', true);
  // ", space \"S\", project \"P\"" (or dataset "D"), from the task's
  // arize_task_info; the space filter's value (the `space` label) when the
  // space's name is not known; nothing at all without arize_task_info.
  local where =
    local label(l) = 'label "%s" .' % l;
    '{{ with ' + selector('arize_task_info', true) + ' | query }}{{ with first . }}'
    + '{{ if ' + label('space_name') + ' }}, space "{{ ' + label('space_name') + ' }}"'
    + '{{ else if $labels.space }}, space {{ $labels.space }}{{ end }}'
    + '{{ if ' + label('project_name') + ' }}, project "{{ ' + label('project_name') + ' }}"'
    + '{{ else if ' + label('dataset_name') + ' }}, dataset "{{ ' + label('dataset_name') + ' }}"{{ end }}'
    + '{{ end }}{{ else }}{{ with $labels.space }}, space {{ . }}{{ end }}{{ end }}';
  // "(id T, space "S", project "P")": how every per-task description
  // names the task's place.
  local idAndWhere = '(id {{ $labels.task_id }}' + where + ')';
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

    // A run that never finishes, and continuous tasks that run on time over
    // old data: the exporter counts both per type at scrape time
    // (arize_tasks_stuck, arize_tasks_lagging), with the same judgement as
    // ArizeTaskRunStuck and ArizeTaskEvaluationLagging, which name each task.
    {
      alert: 'ArizeTasksRunStuck',
      expr: |||
        arize_tasks_stuck > 0
      ||| + fresh,
      annotations: {
        summary: 'Runs of Arize evaluation tasks are stuck in pending or running.',
        description: u.oneLine(|||
          {{ $value }} {{ $labels.task_type }} task(s) seen by {{ $labels.instance }}
          (job {{ $labels.job }}) have a newest run still pending or running past
          their stale threshold (--stale-after for one-off tasks).
          ArizeTaskRunStuck names each one; so does the dashboard's runs in
          progress table.
        |||),
      },
    },

    {
      alert: 'ArizeTasksEvaluationLagging',
      expr: |||
        arize_tasks_lagging > 0
      ||| + fresh,
      annotations: {
        summary: 'Continuous Arize evaluation tasks run on time over old data.',
        description: u.oneLine(|||
          {{ $value }} continuous {{ $labels.task_type }} task(s) seen by
          {{ $labels.instance }} (job {{ $labels.job }}) are not stale, but the
          newest data they evaluated is older than their stale threshold: a
          backlog on the Arize side. ArizeTaskEvaluationLagging names each one;
          so does the dashboard's evaluation lag table.
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
          %s
          last ran {{ $value | humanizeDuration }} ago, more than its stale threshold{{
          with %s | query
          }} of {{ . | first | value | humanizeDuration }}{{ end }}
          (seen by {{ $labels.instance }}).
        ||| % [idAndWhere, thresholdQuery]),
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
          %s
          has never run, and was created longer ago than its stale threshold or at
          an unknown time (seen by {{ $labels.instance }}).
        ||| % idAndWhere),
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
          "{{ $labels.task_name }}" %s failed (seen by {{ $labels.instance }}); the
          reason is on the exporter's status page and in Arize.
        ||| % idAndWhere),
      },
    },

    // Too many items of the newest finished run ended in error: more than
    // the exporter's --run-error-ratio-threshold, which it serves as
    // arize_exporter_run_error_ratio_threshold (the landing page judges by
    // the same flag). No fallback: the exporter always serves it (the metric
    // lists filter only task families), and a second copy of the number here
    // is what the flag exists to avoid.
    {
      alert: 'ArizeTaskLastRunErrorRatioHigh',
      expr: |||
        task:arize_task_last_run_errors:ratio
          > on (%(instanceLabels)s) group_left arize_exporter_run_error_ratio_threshold
        unless on (%(instanceLabels)s, task_id) arize_task_last_run_status{status="failed"}
      ||| % c + fresh,
      annotations: {
        summary: "Many items of an Arize evaluation task's newest run ended in error.",
        description: u.oneLine(|||
          {{ $value | humanizePercentage }} of the items of the newest finished run
          of {{ $labels.mode }} {{ $labels.task_type }} task "{{ $labels.task_name }}"
          %s ended in error, more than the exporter's threshold{{
          with %s | query
          }} of {{ . | first | value | humanizePercentage }}{{ end }}
          (seen by {{ $labels.instance }}).
        ||| % [idAndWhere, selector('arize_exporter_run_error_ratio_threshold', false)]),
      },
    },

    // Evaluation lag: a continuous task that runs on time, but over old
    // data (a backlog on the Arize side). The end of the newest data it has
    // evaluated (data_end_time of its newest completed run) is older than
    // its stale threshold, while its last run is not: a stale task is
    // ArizeTaskStale's alone, so the two never fire for one task at once.
    {
      alert: 'ArizeTaskEvaluationLagging',
      expr: |||
        (
          (time() - arize_task_last_run_data_end_timestamp_seconds{mode="continuous"})
            > on (%(instanceLabels)s, task_id) group_left arize_task_stale_threshold_seconds
        )
        unless on (%(instanceLabels)s, task_id)
        (
          (time() - arize_task_last_run_timestamp_seconds{mode="continuous"})
            > on (%(instanceLabels)s, task_id) group_left arize_task_stale_threshold_seconds
        )
      ||| % c + fresh,
      annotations: {
        summary: 'A continuous Arize evaluation task runs on time but evaluates old data.',
        description: u.oneLine(|||
          Continuous {{ $labels.task_type }} task "{{ $labels.task_name }}"
          %s
          runs on time, but the newest data it has evaluated ended
          {{ $value | humanizeDuration }} ago, more than its stale threshold{{
          with %s | query
          }} of {{ . | first | value | humanizeDuration }}{{ end }}
          (seen by {{ $labels.instance }}).
        ||| % [idAndWhere, thresholdQuery]),
      },
    },

    // A run that does not finish: the newest run read is still pending or
    // running, and started longer ago than the task's stale threshold, or
    // than the exporter's --stale-after (arize_exporter_stale_after_seconds)
    // for a task without one (one-off tasks).
    {
      alert: 'ArizeTaskRunStuck',
      expr: |||
        (
          (time() - arize_task_last_run_started_timestamp_seconds)
            > on (%(instanceLabels)s, task_id) group_left arize_task_stale_threshold_seconds
          or on (%(instanceLabels)s, task_id)
          (
            (time() - arize_task_last_run_started_timestamp_seconds)
              unless on (%(instanceLabels)s, task_id) arize_task_stale_threshold_seconds
          )
            > on (%(instanceLabels)s) group_left arize_exporter_stale_after_seconds
        )
        and on (%(instanceLabels)s, task_id) arize_task_last_run_status{status=~"pending|running"}
      ||| % c + fresh,
      annotations: {
        summary: 'A run of an Arize evaluation task does not finish.',
        description: u.oneLine(|||
          The newest run of {{ $labels.mode }} {{ $labels.task_type }} task
          "{{ $labels.task_name }}" %s has been {{
          with %s | query
          }}{{ . | first | label "status" }}{{ else }}pending or running{{ end }}
          for {{ $value | humanizeDuration }}, more than {{
          with %s | query
          }}its stale threshold of {{ . | first | value | humanizeDuration }}{{
          else }}{{ with %s | query
          }}the exporter's --stale-after of {{ . | first | value | humanizeDuration }}{{
          else }}its threshold{{ end }}{{ end }}
          (seen by {{ $labels.instance }}).
        ||| % [
          idAndWhere,
          selector('arize_task_last_run_status', true, ",status=~'pending|running'"),
          thresholdQuery,
          selector('arize_exporter_stale_after_seconds', false),
        ]),
      },
    },
  ]
