// A YAML writer for rule files that people read: keys in the order of a
// Prometheus rule (name, rules, alert/record, expr, for, labels,
// annotations; summary before description), a blank line between groups
// and between alerts, strings plain when YAML reads them back as the same
// string, expressions as literal blocks (|), long one-line texts folded (>-)
// and anything else double-quoted. std.manifestYamlDoc sorts keys and
// quotes every string, which makes a rule file hard to review.
//
// tests/tools/mixin.rs parses the output with a YAML parser and compares it with
// the data it was written from, so a mistake here fails the suite.
local keyOrder = [
  'name',
  'interval',
  'rules',
  'alert',
  'record',
  'expr',
  'for',
  'keep_firing_for',
  'labels',
  'annotations',
  'summary',
  'description',
  'runbook_url',
  'dashboard_url',
];
local width = 90;
// The keys whose long values are prose, folded over several lines.
local foldKeys = ['summary', 'description'];

local rank(k) =
  local i = std.find(k, keyOrder);
  if std.length(i) > 0 then '%03d' % i[0] else '999' + k;
local keys(o) = std.sort(std.objectFields(o), rank);

// Written with the builtins of Debian's jsonnet 0.18, which has no std.all
// and a std.findSubstr too slow for a whole rule file.
local has(s, sub) = std.strReplace(s, sub, '') != s;
local chars(s, set) = std.length([c for c in std.stringChars(s) if !has(set, c)]) == 0;
// Characters a YAML reader does not take as they are: the C0 and C1
// controls but the line feed, DEL, the byte order mark, and the Unicode
// line and paragraph separators and NEL, which YAML 1.1 reads as line breaks.
local unsafeChar(c) =
  local n = std.codepoint(c);
  (n < 32 && c != '\n') || (n >= 127 && n <= 159) || n == 8232 || n == 8233 || n == 65279;
local printable(s) = std.length([c for c in std.stringChars(s) if unsafeChar(c)]) == 0;

// YAML (1.1 or 1.2) reads these as something other than a string.
local special = [
  'true',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'null',
  '~',
  '.inf',
  '-.inf',
  '+.inf',
  '.nan',
  '<<',
  '=',
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

// A double-quoted scalar: JSON's escapes are YAML's, and the characters
// JSON leaves as they are but YAML would not get a \u escape too.
local quoted(s) =
  local json = std.escapeStringJson(s);
  std.foldl(
    function(text, c) std.strReplace(text, c, '\\u%04x' % std.codepoint(c)),
    std.set([c for c in std.stringChars(s) if unsafeChar(c) && std.codepoint(c) >= 127]),
    json
  );

local indentLines(lines, indent) =
  std.join('\n', [if l == '' then '' else indent + l for l in lines]);

// A literal block keeps the text exactly: it must end in one line break,
// or none (|-), and its first line must not start with a space.
local literalOk(s) =
  printable(s) && s[0] != ' ' && s[0] != '\n'
  && !std.endsWith(s, '\n\n')
  && std.length([l for l in std.split(s, '\n') if l != '' && std.strReplace(l, ' ', '') == '']) == 0;

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
        local lines = std.split(v, '\n');
        local final = std.endsWith(v, '\n');
        (if final then '|' else '|-') + '\n'
        + indentLines(if final then lines[0:std.length(lines) - 1] else lines, indent + '  ')
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
  // Reached by empty objects and arrays only: the others are nodes.
  else if std.isObject(v) then '{}'
  else if std.isArray(v) then '[]'
  else std.manifestJson(v);

local isEmpty(v) = (std.isObject(v) || std.isArray(v)) && std.length(v) == 0;

local blankBetween(item) =
  std.isObject(item) && ('alert' in item || 'rules' in item);

// v at indentation `indent`; `first` replaces the indentation of the first
// line (an object in a list starts on the dash's line).
local node(v, indent, first) =
  if std.isObject(v) && std.length(v) > 0 then
    local ks = keys(v);
    std.join('\n', [
      local k = ks[i];
      local val = v[k];
      local key = (if i == 0 then first else indent) + (if plainSafe(k) then k else quoted(k));
      if (std.isObject(val) || std.isArray(val)) && !isEmpty(val) then
        key + ':\n' + node(val, indent + '  ', indent + '  ')
      else key + ': ' + scalar(val, indent, std.length(key) + 2, std.member(foldKeys, k))
      for i in std.range(0, std.length(ks) - 1)
    ])
  else if std.isArray(v) && std.length(v) > 0 then
    std.join('\n', [
      local item = v[i];
      (if i > 0 && blankBetween(item) then '\n' else '')
      + (if std.isObject(item) && !isEmpty(item) then
           node(item, indent + '  ', (if i == 0 then first else indent) + '- ')
         else if std.isArray(item) && !isEmpty(item) then
           (if i == 0 then first else indent) + '-\n' + node(item, indent + '  ', indent + '  ')
         else (if i == 0 then first else indent) + '- ' + scalar(item, indent, std.length(indent) + 2, false))
      for i in std.range(0, std.length(v) - 1)
    ])
  else first + scalar(v, indent, std.length(indent), false);

{
  // The YAML document of v (an object or array), without the final line
  // break (`jsonnet -S` adds it).
  manifest(v):: node(v, '', ''),
}
