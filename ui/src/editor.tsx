// A PromQL editor: a textarea that completes metric names, functions, label names and label
// values from the API as you type, runs the query on Enter (Shift+Enter for a new line), and marks
// the position of a parse error the API reported.

import { useEffect, useRef, useState } from "preact/hooks";
import { labelNames, labelValues } from "./api";

export const FUNCTIONS = [
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
  "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
  "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor",
  "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
  "histogram_stdvar", "histogram_sum", "hour", "idelta", "increase", "irate", "label_join", "label_replace",
  "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute", "month",
  "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round",
  "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sort_by_label", "sort_by_label_desc", "sqrt",
  "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
];

export const AGGREGATIONS = [
  "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
  "count_values", "limitk", "limit_ratio",
];

const KEYWORDS = ["by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"];

export interface Completion {
  /** Text inserted in place of `from..to`. */
  text: string;
  kind: "metric" | "function" | "aggregation" | "keyword" | "label" | "value";
  from: number;
  to: number;
}

/** What to complete at `pos` of `expr`, and the candidates. */
export async function complete(expr: string, pos: number): Promise<Completion[]> {
  const before = expr.slice(0, pos);
  // Inside a selector's braces?
  const open = before.lastIndexOf("{");
  if (open >= 0 && before.indexOf("}", open) < 0 && !insideString(before.slice(0, open))) {
    const inner = before.slice(open + 1);
    const metric = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before.slice(0, open))?.[1];
    const match = metric ? metric : undefined;
    const value = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inner);
    if (value) {
      const [, name, , typed] = value;
      const all = await labelValues(name, match);
      return rank(all, typed).map((v) => ({
        text: JSON.stringify(v).slice(1, -1),
        kind: "value" as const,
        from: pos - typed.length,
        to: pos,
      }));
    }
    const label = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inner);
    if (label) {
      const typed = label[1] ?? "";
      const all = (await labelNames(match)).filter((n) => n !== "__name__");
      return rank(all, typed).map((v) => ({ text: v, kind: "label" as const, from: pos - typed.length, to: pos }));
    }
    return [];
  }
  if (insideString(before)) return [];
  // Grouping labels: `by (`, `on (`, …
  const grouping = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)$/.exec(before);
  if (grouping) {
    const typed = /([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(grouping[1])?.[1] ?? "";
    const all = (await labelNames()).filter((n) => n !== "__name__");
    return rank(all, typed).map((v) => ({ text: v, kind: "label" as const, from: pos - typed.length, to: pos }));
  }
  // A range or duration is being typed: nothing to offer.
  if (/\[[^\]]*$/.test(before)) return [];
  const word = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before)?.[0] ?? "";
  if (!word) return [];
  const metrics = await labelValues("__name__");
  const out: Completion[] = [];
  const from = pos - word.length;
  for (const f of rank(FUNCTIONS, word)) out.push({ text: f, kind: "function", from, to: pos });
  for (const a of rank(AGGREGATIONS, word)) out.push({ text: a, kind: "aggregation", from, to: pos });
  for (const k of rank(KEYWORDS, word)) out.push({ text: k, kind: "keyword", from, to: pos });
  for (const m of rank(metrics, word)) out.push({ text: m, kind: "metric", from, to: pos });
  // Prefix matches of any kind first, then substring matches.
  out.sort((a, b) => Number(!a.text.startsWith(word)) - Number(!b.text.startsWith(word)));
  return out.filter((c) => c.text !== word).slice(0, 60);
}

function insideString(s: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === "`") {
      quote = c;
    }
  }
  return quote !== null;
}

/** Candidates containing `typed`, those starting with it first, at most 60. */
function rank(all: string[], typed: string): string[] {
  const t = typed.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const v of all) {
    const l = v.toLowerCase();
    if (l.startsWith(t)) starts.push(v);
    else if (t && l.includes(t)) contains.push(v);
  }
  return [...starts, ...contains].slice(0, 60);
}

export interface EditorProps {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  /** A parse error's 1-based line and column, marked under the text. */
  errorAt?: { line: number; column: number } | null;
  placeholder?: string;
}

export function Editor({ value, onChange, onRun, errorAt, placeholder }: EditorProps) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const [items, setItems] = useState<Completion[]>([]);
  const [sel, setSel] = useState(0);
  const seq = useRef(0);

  const refresh = async (text: string, pos: number) => {
    const mine = ++seq.current;
    const got = await complete(text, pos);
    if (mine === seq.current) {
      setItems(got);
      setSel(0);
    }
  };

  const accept = (c: Completion) => {
    let text = c.text;
    let caret = c.from + text.length;
    if (c.kind === "function" || c.kind === "aggregation") {
      text += "()";
      caret = c.from + text.length - 1;
    }
    const next = value.slice(0, c.from) + text + value.slice(c.to);
    onChange(next);
    setItems([]);
    requestAnimationFrame(() => {
      const el = ta.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(caret, caret);
    });
  };

  // Grow with the text, up to ten lines.
  useEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight + 2, 240)}px`;
  }, [value]);

  const lines = value.split("\n");
  return (
    <div class="editor">
      <textarea
        ref={ta}
        class={errorAt ? "expr has-error" : "expr"}
        value={value}
        rows={1}
        spellcheck={false}
        autocomplete="off"
        placeholder={placeholder ?? "Expression (Enter to run, Shift+Enter for a new line)"}
        aria-label="PromQL expression"
        onInput={(e) => {
          const el = e.currentTarget;
          onChange(el.value);
          void refresh(el.value, el.selectionStart ?? el.value.length);
        }}
        onBlur={() => setTimeout(() => setItems([]), 150)}
        onKeyDown={(e) => {
          if (items.length) {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setSel((s) => (s + 1) % items.length);
              return;
            }
            if (e.key === "ArrowUp") {
              e.preventDefault();
              setSel((s) => (s - 1 + items.length) % items.length);
              return;
            }
            if (e.key === "Tab" || e.key === "Enter") {
              e.preventDefault();
              accept(items[sel]);
              return;
            }
            if (e.key === "Escape") {
              setItems([]);
              return;
            }
          }
          if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            setItems([]);
            onRun();
          }
        }}
      />
      {items.length > 0 && (
        <ul class="completions" role="listbox">
          {items.map((c, i) => (
            <li
              key={`${c.kind}:${c.text}`}
              role="option"
              aria-selected={i === sel}
              class={i === sel ? "selected" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(c);
              }}
            >
              <span class={`kind kind-${c.kind}`}>{c.kind}</span>
              {c.text}
            </li>
          ))}
        </ul>
      )}
      {errorAt && errorAt.line >= 1 && errorAt.line <= lines.length && (
        <pre class="error-caret" aria-label="error position">
          {lines[errorAt.line - 1]}
          {"\n"}
          {" ".repeat(Math.max(0, errorAt.column - 1))}^
        </pre>
      )}
    </div>
  );
}
