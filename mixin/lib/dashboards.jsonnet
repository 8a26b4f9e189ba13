// grafanaDashboards as files: `jsonnet -S -m DIR lib/dashboards.jsonnet`
// writes one JSON file per dashboard into DIR, with `--tla-code
// config='{ ... }'` to override _config keys.
//
// A dashboard that _config leaves as it is written is its source text,
// byte for byte (jsonnet would sort its keys and print some numbers with 17
// digits); a patched one is printed by std.manifestJsonEx.
function(config={})
  local m = (import 'mixin.libsonnet')(config);
  {
    [name]:
      local dashboard = m.grafanaDashboards[name];
      local source = std.get(m.grafanaDashboardSources, name, null);
      if source != null && std.parseJson(source) == dashboard then
        // Without its final line break: `jsonnet -S` adds one.
        local n = std.length(source);
        if n > 0 && source[n - 1] == '\n' then std.substr(source, 0, n - 1) else source
      else std.manifestJsonEx(dashboard, '  ')
    for name in std.objectFields(m.grafanaDashboards)
  }
