/** PromQL words that are not metric names where they stand alone (operators, modifiers). */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"]);

/**
 * The metric names an expression reads, for checking a dashboard against what services export.
 * Not a PromQL parser: it drops what cannot be a name (string literals, label matchers, the
 * label lists of `by`/`without`/`on`/`ignoring`/`group_*`, range and subquery brackets, Grafana
 * variables, numbers) and keeps the identifiers that are not function calls or keywords.
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ");
  s = s.replace(/\{[^}]*\}/g, " ");
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  s = s.replace(/\[[^\]]*\]/g, " ");
  s = s.replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, " ");
  const names = new Set<string>();
  for (const m of s.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const name = m[1]!;
    if (m[2]) continue;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    // Part of a number such as 1e3 or 0x1f: a name never starts right after a digit.
    const before = s[m.index! - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue;
    names.add(name);
  }
  return [...names];
}
