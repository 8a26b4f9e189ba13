// A YAML writer for rule files that people read: keys in the order of a
// Prometheus rule (name, rules, alert/record, expr, for, labels,
// annotations; summary before description), a blank line between groups
// and between alerts, strings plain when YAML reads them back as the same
// string, expressions as literal blocks (|), long one-line texts folded (>-)
// and anything else double-quoted. std.manifestYamlDoc sorts keys and
// quotes every string, which makes a rule file hard to review.
//
// tests/mixin.rs parses the output with a YAML parser and compares it with
// the data it was written from, so a mistake here fails the suite.
local keyOrder = [
  'name', 'interval', 'rules', 'alert', 'record', 'expr', 'for', 'keep_firing_for',
  'labels', 'annotations', 'summary', 'description', 'runbook_url', 'dashboard_url',
];
local width = 90;
// The keys whose long values are prose, folded over several lines.
local foldKeys = ['summary', 'description'];

local rank(k) =
  local i = std.find(k, keyOrder);
  if std.length(i) > 0 then '%03d' % i[0] else '999' + k;
local keys(o) = std.sort(std.objectFields(o), rank);

// std.all is newer than Debian's jsonnet.
local all(a) = std.foldl(function(x, y) x && y, a, true);
local has(s, sub) = std.length(std.findSubstr(sub, s)) > 0;
local chars(s, set) = all([has(set, ch) for ch in std.stringChars(s)]);
local printable(s) = all([
  local n = std.codepoint(ch);
  (n >= 32 && n != 127) || ch == '\n'
  for ch in std.stringChars(s)
]);

// YAML (1.1 or 1.2) reads these as something other than a string.
local special = [
  'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~',
  '.inf', '-.inf', '+.inf', '.nan', '<<', '=',
];

local plainSafe(s) =
  s != ''
  && printable(s)
  && !has(s, '\n')
  && s[0] != ' ' && s[std.length(s) - 1] != ' '
  && !has('-?:,[]{}#&*!|>\'"%@`.', s[0])
  && !has(s, ': ') && !has(s, ' #') && s[std.length(s) - 1] != ':'
  && !std.member(special, std.asciiLower(s))
  // Numbers, dates and times in any YAML version: anything made of digits
  // and the characters numbers use is quoted.
  && !chars(s, '0123456789+-._:eExXoObBaAcCdDfF ');

local quoted(s) = std.escapeStringJson(s);

local indentLines(lines, indent) =
  std.join('\n', [if l == '' then '' else indent + l for l in lines]);

// A literal block keeps the text exactly: it must end in one line break,
// or none (|-), and its first line must not start with a space.
local literalOk(s) =
  printable(s) && s[0] != ' ' && s[0] != '\n'
  && !std.endsWith(s, '\n\n')
  && all([std.length(std.stripChars(l, ' ')) > 0 || l == '' for l in std.split(s, '\n')]);

// Greedy wrapping at single spaces between two non-space characters, so
// that folding the lines back with one space each gives the text again.
local wrap(s, room) =
  local words = std.split(s, ' ');
  local step(acc, w) =
    local last = acc[std.length(acc) - 1];
    // Never between a template's braces and its action: `{{ $value }}`
    // stays on one line.
    if last != '' && w != '' && std.length(last) + 1 + std.length(w) > room
       && last[std.length(last) - 1] != ' '
       && !std.endsWith(last, '{{') && !std.startsWith(w, '}}')
    then acc + [w]
    else acc[0:std.length(acc) - 1] + [if last == '' && std.length(acc) == 1 then w else last + ' ' + w];
  std.foldl(step, words[1:], [words[0]]);

local foldOk(s) =
  printable(s) && !has(s, '\n') && !has(s, '\t')
  && s != '' && s[0] != ' ' && s[std.length(s) - 1] != ' ' && s[0] != '#';

// indent: the indentation of the key or dash the value follows; column:
// where the value starts; fold: whether a long text may be folded (prose,
// never expressions or URLs).
local scalar(v, indent, column, fold) =
  if std.isString(v) then
    if has(v, '\n') then
      if literalOk(v) then
        local body = if std.endsWith(v, '\n') then v[0:std.length(v) - 1] else v;
        (if std.endsWith(v, '\n') then '|' else '|-') + '\n'
        + indentLines(std.split(body, '\n'), indent + '  ')
      else quoted(v)
    else if column + std.length(v) <= width && plainSafe(v) then v
    else if fold && column + std.length(v) > width && foldOk(v) then
      local lines = wrap(v, width - std.length(indent) - 2);
      if std.length(lines) > 1 && std.join(' ', lines) == v
      then '>-\n' + indentLines(lines, indent + '  ')
      else if plainSafe(v) then v
      else quoted(v)
    else if plainSafe(v) then v
    else quoted(v)
  else std.manifestJson(v);

local isEmpty(v) = (std.isObject(v) || std.isArray(v)) && std.length(v) == 0;

local blankBetween(item) =
  std.isObject(item) && ('alert' in item || 'rules' in item);

local node(v, indent) =
  if std.isObject(v) && std.length(v) > 0 then
    std.join('\n', [
      local val = v[k];
      local key = if plainSafe(k) then k else quoted(k);
      if (std.isObject(val) || std.isArray(val)) && !isEmpty(val) then
        indent + key + ':\n' + node(val, indent + '  ')
      else if isEmpty(val) then indent + key + ': ' + (if std.isObject(val) then '{}' else '[]')
      else indent + key + ': ' + scalar(val, indent, std.length(indent + key) + 2, std.member(foldKeys, k))
      for k in keys(v)
    ])
  else if std.isArray(v) && std.length(v) > 0 then
    std.join('\n', [
      local item = v[i];
      (if i > 0 && blankBetween(item) then '\n' else '')
      + (if std.isObject(item) && !isEmpty(item) then
           // The first key on the dash's line, the others under it.
           local text = node(item, indent + '  ');
           indent + '- ' + text[std.length(indent) + 2:]
         else if std.isArray(item) && !isEmpty(item) then
           indent + '-\n' + node(item, indent + '  ')
         else indent + '- ' + scalar(item, indent, std.length(indent) + 2, false))
      for i in std.range(0, std.length(v) - 1)
    ])
  else scalar(v, indent, std.length(indent), false);

{
  // The YAML document of v (an object or array), ending with a line break.
  manifest(v):: node(v, '') + '\n',
}
