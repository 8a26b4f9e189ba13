// The dashboard. Its source is the Grafana JSON beside this file, edited in
// Grafana or by hand and imported as it is (no grafonnet); _config patches
// its uid and tags and, when _config.clusterLabel is set, adds a cluster
// variable that every query filters on.
local sourceText = importstr 'arize-exporter.json';
local source = std.parseJson(sourceText);

{
  local c = $._config,

  // Every query filtered on the cluster variable too, and the cluster label
  // kept in its `on` clauses.
  local clusterExpr(expr) =
    std.strReplace(
      std.strReplace(
        std.strReplace(expr, 'job=~"$job"', '%s=~"$cluster",job=~"$job"' % c.clusterLabel),
        'on (job, instance',
        'on (%s, job, instance' % c.clusterLabel
      ),
      'label_values(arize_up, job)',
      'label_values(arize_up{%s=~"$cluster"}, job)' % c.clusterLabel
    ),
  local clusterPanel(panel) =
    panel
    + (if 'targets' in panel then
         { targets: [t + (if 'expr' in t then { expr: clusterExpr(t.expr) } else {}) for t in panel.targets] }
       else {})
    + (if 'panels' in panel then { panels: std.map(clusterPanel, panel.panels) } else {}),
  local clusterVariable = {
    name: 'cluster',
    label: 'Cluster',
    description: "The %s label of the exporter's series." % c.clusterLabel,
    type: 'query',
    datasource: { type: 'prometheus', uid: '${datasource}' },
    query: 'label_values(arize_up, %s)' % c.clusterLabel,
    refresh: 2,
    includeAll: false,
    multi: false,
    options: [],
    hide: 0,
    regex: '',
    sort: 1,
    skipUrlSync: false,
  },
  local withCluster(d) =
    d {
      panels: std.map(clusterPanel, d.panels),
      templating+: {
        list: std.flattenArrays([
          if v.name == 'datasource' then [v, clusterVariable]
          else [v + (if std.isString(std.get(v, 'query', null)) then { query: clusterExpr(v.query) } else {})]
          for v in d.templating.list
        ]),
      },
    },

  local dashboard =
    local patched = source { uid: c.dashboardUid, tags: c.dashboardTags };
    if c.clusterLabel == '' then patched else withCluster(patched),

  grafanaDashboards+:: {
    [c.dashboardFile]: dashboard,
  },

  // The source text of each dashboard, by file name: lib/dashboards.jsonnet
  // writes it unchanged when _config changes nothing in the dashboard, so
  // the committed copy keeps the source's layout.
  grafanaDashboardSources+:: {
    [c.dashboardFile]: sourceText,
  },
}
