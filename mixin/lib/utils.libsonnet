// Small helpers the alerts and rules share.
{
  // A text block (jsonnet's |||) as one line: its line breaks become spaces,
  // as in a YAML folded scalar. Alert descriptions are written this way so
  // that the source stays readable and the annotation stays one paragraph.
  oneLine(text)::
    std.join(' ', [l for l in std.split(text, '\n') if l != '']),

  // A Prometheus duration ('5m', '1h', '90s') in words for a description:
  // '5 minutes', 'an hour', '90 seconds'. Anything else is quoted as given.
  inWords(duration)::
    local units = { s: 'second', m: 'minute', h: 'hour', d: 'day' };
    local n = std.length(duration);
    local unit = if n >= 2 then duration[n - 1] else '';
    local digits = if n >= 2 then duration[0:n - 1] else '';
    local isNumber = digits != '' && std.length([c for c in std.stringChars(digits) if std.length(std.findSubstr(c, '0123456789')) == 0]) == 0;
    if !(unit in units) || !isNumber then duration
    else if std.parseInt(digits) == 1 then (if unit == 'h' then 'an ' else 'a ') + units[unit]
    else '%d %ss' % [std.parseInt(digits), units[unit]],

  // Applies f to every rule of every group of a Prometheus rule file object.
  mapRules(f, ruleFile)::
    ruleFile {
      groups: [g { rules: std.map(f, g.rules) } for g in ruleFile.groups],
    },
}
