// The recording rules: the ages and ratios the alerts and the dashboard
// read, and the exporter's own rates and latency quantiles.
//
// Names follow level:metric:operations. The rules hold no threshold that
// duplicates an exporter flag:
//   - a task is stale when the age of its last run exceeds its own
//     arize_task_stale_threshold_seconds (the exporter derives it from the
//     task's run interval, --stale-after-intervals, --stale-after-min and
//     --stale-after);
//   - the error ratio and --stale-after are the exporter's series
//     arize_exporter_run_error_ratio_threshold and
//     arize_exporter_stale_after_seconds;
//   - the exporter's data is old when its last complete poll is older than
//     instance:arize_exporter_data_age_limit_seconds:poll_interval_x5: five
//     poll intervals (arize_exporter_poll_interval_seconds), at least 300 s.
local quantiles = ['0.5', '0.95', '0.99'];

{
  prometheusRules+:: {
    local c = $._config,
    groups+: [
      {
        name: 'arize-exporter.rules',
        rules: [
          // Age of the exporter's data: seconds since its last complete poll.
          {
            record: 'instance:arize_exporter_data_age_seconds:time',
            expr: 'time() - arize_exporter_last_success_timestamp_seconds',
          },
          // How old the data may get before the task alerts pause and
          // ArizeExporterDataStale fires: five poll intervals, at least 300 s
          // (300 s alone for an exporter that does not export its interval).
          {
            record: 'instance:arize_exporter_data_age_limit_seconds:poll_interval_x5',
            expr: 'clamp_min(5 * (arize_exporter_poll_interval_seconds or arize_up * 0), 300)',
          },
          // Age of every task's last run, computed from the timestamp and
          // time(), so it keeps growing when nothing new arrives.
          {
            record: 'task:arize_task_last_run_age_seconds:time',
            expr: 'time() - arize_task_last_run_timestamp_seconds',
          },
          // The same age as a share of the task's own stale threshold: 1 = stale.
          {
            record: 'task:arize_task_last_run_age_of_stale_threshold:ratio',
            expr: |||
              (time() - arize_task_last_run_timestamp_seconds)
                / on (%(instanceLabels)s, task_id) group_left arize_task_stale_threshold_seconds
            ||| % c,
          },
          // Evaluation lag of every task whose runs have a data window: the
          // age of the end of the newest data it has evaluated (data_end_time
          // of its newest completed run), computed from time() like the age
          // of its last run.
          {
            record: 'task:arize_task_evaluation_lag_seconds:time',
            expr: 'time() - arize_task_last_run_data_end_timestamp_seconds',
          },
          // Share of the items of the newest finished run that ended in error.
          {
            record: 'task:arize_task_last_run_errors:ratio',
            expr: |||
              arize_task_last_run_errors
                / (arize_task_last_run_successes + arize_task_last_run_errors)
            |||,
          },
          {
            record: 'instance_outcome:arize_exporter_polls:rate5m',
            expr: 'sum by (%(instanceLabels)s, outcome) (rate(arize_exporter_polls_total[5m]))' % c,
          },
          {
            record: 'instance_reason:arize_exporter_poll_errors:rate5m',
            expr: 'sum by (%(instanceLabels)s, reason) (rate(arize_exporter_poll_errors_total[5m]))' % c,
          },
          {
            record: 'instance_endpoint_code:arize_exporter_api_requests:rate5m',
            expr: 'sum by (%(instanceLabels)s, endpoint, code) (rate(arize_exporter_api_requests_total[5m]))' % c,
          },
        ] + [
          {
            record: 'instance_quantile:arize_exporter_poll_duration_seconds:histogram_quantile5m',
            expr: 'histogram_quantile(%s, sum by (%s, le) (rate(arize_exporter_poll_duration_seconds_bucket[5m])))'
                  % [q, c.instanceLabels],
            labels: { quantile: q },
          }
          for q in quantiles
        ] + [
          {
            record: 'instance_endpoint_quantile:arize_exporter_api_request_duration_seconds:histogram_quantile5m',
            expr: 'histogram_quantile(%s, sum by (%s, endpoint, le) (rate(arize_exporter_api_request_duration_seconds_bucket[5m])))'
                  % [q, c.instanceLabels],
            labels: { quantile: q },
          }
          for q in quantiles
        ],
      },
    ],
  },
}
