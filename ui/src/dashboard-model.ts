// The dashboard format (docs/format/dashboards.md) and what turns it into queries: variable
// values substituted into expressions, legends and links formatted from series labels.

import type { Labels } from "./api";

export interface Threshold {
  value: number;
  /** `ok`, `warn`, `bad` or a CSS colour. */
  color: string;
}

export interface Target {
  expr: string;
  /** Series name: text with `{{label}}` replaced by the series' label values. */
  legend?: string;
  /** Unit of this query's column in a table. */
  unit?: string;
}

export interface Panel {
  type: "timeseries" | "stat" | "gauge" | "table" | "bargauge";
  title?: string;
  description?: string;
  /** Width in twelfths of the row. */
  w?: number;
  unit?: string;
  min?: number;
  max?: number;
  stacked?: boolean;
  thresholds?: Threshold[];
  /** Tables: the labels that make a row; each target adds a column. */
  by?: string[];
  /** Where a row, a bar or the panel leads: `{{label}}` is replaced from the series. */
  link?: string;
  targets: Target[];
}

export interface Variable {
  name: string;
  label?: string;
  /** `label_values(label)` or `label_values(selector, label)`. */
  query: string;
  multi?: boolean;
  includeAll?: boolean;
}

export interface Dashboard {
  uid?: string;
  title: string;
  description?: string;
  tags?: string[];
  time?: { range?: string };
  refresh?: string;
  links?: { title: string; url: string }[];
  variables?: Variable[];
  panels: Panel[];
}

export const ALL = "$__all";

/** The label and the selector of a `label_values(...)` query. */
export function parseLabelValues(q: string): { label: string; match?: string } | null {
  const m = /^\s*label_values\(\s*(.*?)\s*\)\s*$/s.exec(q);
  if (!m) return null;
  const inner = m[1];
  const comma = inner.lastIndexOf(",");
  if (comma < 0) return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(inner) ? { label: inner } : null;
  const label = inner.slice(comma + 1).trim();
  const match = inner.slice(0, comma).trim();
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label) || !match) return null;
  return { label, match };
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The text a variable's selection stands for in an expression. */
export function variableText(selected: string[]): string {
  if (selected.includes(ALL)) return ".*";
  if (selected.length === 1) return selected[0];
  if (selected.length === 0) return "";
  return selected.map(regexEscape).join("|");
}

/**
 * Replaces `$name` and `${name}` with the variables' values (escaped for a PromQL string), and the
 * built-ins `$__interval`, `$__rate_interval` and `$__range`.
 */
export function substitute(expr: string, values: Record<string, string>, builtins: Record<string, string>): string {
  return expr.replace(/\$\{([a-zA-Z0-9_]+)\}|\$([a-zA-Z0-9_]+)/g, (whole, braced: string, bare: string) => {
    const name = braced ?? bare;
    if (name in builtins) return builtins[name];
    if (name in values) return values[name].replace(/\\/g, "\\\\").replace(/"/g, '\\"');
    return whole;
  });
}

/** `{{label}}` replaced by the series' label values (empty when missing). */
export function formatLegend(template: string, labels: Labels): string {
  return template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, l: string) => labels[l] ?? "");
}

/** A link's `{{label}}`s filled from the series, each value URL-encoded. */
export function formatLink(template: string, labels: Labels): string {
  return template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, l: string) =>
    encodeURIComponent(labels[l] ?? ""),
  );
}

/** `$__rate_interval` as Grafana computes it for a 15 s scrape interval: at least four scrapes. */
export function rateInterval(stepMs: number, scrapeMs = 15_000): number {
  return Math.max(stepMs + scrapeMs, 4 * scrapeMs);
}

/** The colour of `v` under `thresholds` (the last one whose value it reaches). */
export function thresholdColor(v: number | null, thresholds?: Threshold[]): string | undefined {
  if (v === null || !thresholds?.length) return undefined;
  let c: string | undefined;
  for (const t of [...thresholds].sort((a, b) => a.value - b.value)) if (v >= t.value) c = t.color;
  if (!c) return undefined;
  return c === "ok" || c === "warn" || c === "bad" ? `var(--${c})` : c;
}
