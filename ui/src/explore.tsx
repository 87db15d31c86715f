// The query explorer: an expression, a time range (relative, or ending at an absolute time), a
// step, and the result as a graph (lines or stacked) or a table. Everything is kept in the URL, so
// the address bar is the link to share.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type QueryData, seriesName, v1WithWarnings } from "./api";
import { type Aligned, Chart, align } from "./chart";
import { Editor } from "./editor";
import { type Loc, navigate, queryString } from "./router";
import { RangePicker } from "./range";
import { autoStep, formatDuration, parseDuration } from "./time";

interface State {
  expr: string;
  range: string;
  /** End of the range in ms; null for now. */
  end: number | null;
  step: string;
  tab: "graph" | "table";
  stacked: boolean;
}

function fromQuery(q: URLSearchParams): State {
  const end = q.get("end");
  return {
    expr: q.get("expr") ?? "",
    range: q.get("range") ?? "1h",
    end: end && Number.isFinite(Number(end)) ? Number(end) : null,
    step: q.get("step") ?? "",
    tab: q.get("tab") === "table" ? "table" : "graph",
    stacked: q.get("stacked") === "1",
  };
}

function toHref(s: State): string {
  return `/graph${queryString({
    expr: s.expr,
    range: s.range === "1h" ? undefined : s.range,
    end: s.end ?? undefined,
    step: s.step,
    tab: s.tab === "graph" ? undefined : s.tab,
    stacked: s.stacked,
  })}`;
}

type Result =
  | { kind: "none" }
  | { kind: "loading" }
  | { kind: "error"; error: ApiError | Error }
  | { kind: "graph"; data: Aligned; warnings: string[]; stepMs: number; ms: number }
  | { kind: "table"; data: QueryData; warnings: string[]; ms: number };

export function Explore({ loc }: { loc: Loc }) {
  const state = useMemo(() => fromQuery(loc.query), [loc.query.toString()]);
  const [draft, setDraft] = useState(state.expr);
  const [result, setResult] = useState<Result>({ kind: "none" });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => setDraft(state.expr), [state.expr]);

  const update = (patch: Partial<State>, replace = false) => navigate(toHref({ ...state, ...patch }), replace);

  // Runs whenever the URL's query state changes.
  useEffect(() => {
    if (!state.expr.trim()) {
      setResult({ kind: "none" });
      return;
    }
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setResult({ kind: "loading" });
    const started = performance.now();
    const rangeMs = parseDuration(state.range) ?? 3600_000;
    const endMs = state.end ?? Date.now();
    const run = async (): Promise<Result> => {
      if (state.tab === "table") {
        const { data, warnings } = await v1WithWarnings<QueryData>(
          "query",
          { query: state.expr, time: String(endMs / 1000) },
          ctl.signal,
        );
        return { kind: "table", data, warnings, ms: performance.now() - started };
      }
      const stepMs = parseDuration(state.step) ?? autoStep(rangeMs);
      // Align the range to the step, so that refreshing keeps the points on the same times.
      const end = Math.floor(endMs / stepMs) * stepMs;
      const start = end - Math.floor(rangeMs / stepMs) * stepMs;
      const { data, warnings } = await v1WithWarnings<QueryData>(
        "query_range",
        { query: state.expr, start: String(start / 1000), end: String(end / 1000), step: String(stepMs / 1000) },
        ctl.signal,
      );
      if (data.resultType !== "matrix") {
        throw new Error(`expected a range vector result, got ${data.resultType}`);
      }
      return {
        kind: "graph",
        data: align(data.result, start, end, stepMs),
        warnings,
        stepMs,
        ms: performance.now() - started,
      };
    };
    run().then(
      (r) => {
        if (!ctl.signal.aborted) setResult(r);
      },
      (e: unknown) => {
        if (!ctl.signal.aborted) setResult({ kind: "error", error: e instanceof Error ? e : new Error(String(e)) });
      },
    );
    return () => ctl.abort();
  }, [state.expr, state.range, state.end, state.step, state.tab]);

  const errorAt = result.kind === "error" && result.error instanceof ApiError ? result.error.position() : null;
  return (
    <section class="page explore">
      <h1>Explore</h1>
      <div class="query-row">
        <Editor value={draft} onChange={setDraft} onRun={() => update({ expr: draft })} errorAt={errorAt} />
        <button type="button" class="primary" onClick={() => update({ expr: draft })}>
          Run
        </button>
      </div>
      <div class="toolbar">
        <div class="tabs" role="tablist">
          {(["graph", "table"] as const).map((t) => (
            <button
              type="button"
              role="tab"
              aria-selected={state.tab === t}
              class={state.tab === t ? "tab active" : "tab"}
              onClick={() => update({ tab: t })}
            >
              {t === "graph" ? "Graph" : "Table"}
            </button>
          ))}
        </div>
        <RangePicker
          range={state.range}
          end={state.end}
          onChange={(range, end) => update({ range, end })}
          hideRange={state.tab === "table"}
        />
        {state.tab === "graph" && (
          <>
            <label class="field">
              Step
              <input
                class="step"
                value={state.step}
                placeholder={result.kind === "graph" ? formatDuration(result.stepMs) : "auto"}
                size={6}
                onChange={(e) => {
                  const v = e.currentTarget.value.trim();
                  update({ step: v && parseDuration(v) ? v : "" });
                }}
              />
            </label>
            <label class="field check">
              <input type="checkbox" checked={state.stacked} onChange={(e) => update({ stacked: e.currentTarget.checked })} />
              Stacked
            </label>
          </>
        )}
      </div>
      <Outcome
        result={result}
        stacked={state.stacked}
        onZoom={(a, b) => update({ range: formatDuration(Math.max(1000, b - a)), end: b })}
      />
    </section>
  );
}

function Outcome({
  result,
  stacked,
  onZoom,
}: {
  result: Result;
  stacked: boolean;
  onZoom: (a: number, b: number) => void;
}) {
  switch (result.kind) {
    case "none":
      return <p class="hint">Type an expression, for example <code>rate(node_cpu_seconds_total[5m])</code>.</p>;
    case "loading":
      return <p class="hint loading">Loading…</p>;
    case "error":
      return (
        <div class="error" role="alert">
          {result.error.message}
        </div>
      );
    case "graph":
      return (
        <div class="result">
          <Warnings list={result.warnings} />
          <p class="stats">
            {result.data.series.length} series, step {formatDuration(result.stepMs)}, {Math.round(result.ms)} ms
          </p>
          {result.data.series.length === 0 ? <p class="hint">No data in this range.</p> : (
            <Chart data={result.data} stacked={stacked} onZoom={onZoom} />
          )}
        </div>
      );
    case "table":
      return (
        <div class="result">
          <Warnings list={result.warnings} />
          <ResultTable data={result.data} />
          <p class="stats">{Math.round(result.ms)} ms</p>
        </div>
      );
  }
}

function Warnings({ list }: { list: string[] }) {
  if (!list.length) return null;
  return (
    <ul class="warnings">
      {list.map((w) => (
        <li>{w}</li>
      ))}
    </ul>
  );
}

export function ResultTable({ data }: { data: QueryData }) {
  if (data.resultType === "scalar" || data.resultType === "string") {
    return (
      <table class="result-table">
        <tbody>
          <tr>
            <td>{data.resultType}</td>
            <td class="num">{data.result[1]}</td>
          </tr>
        </tbody>
      </table>
    );
  }
  if (!data.result.length) return <p class="hint">Empty result.</p>;
  return (
    <table class="result-table">
      <tbody>
        {data.resultType === "vector"
          ? data.result.map((s) => (
              <tr>
                <td class="series">{seriesName(s.metric)}</td>
                <td class="num">{s.value ? s.value[1] : "histogram"}</td>
              </tr>
            ))
          : data.result.map((s) => (
              <tr>
                <td class="series">{seriesName(s.metric)}</td>
                <td class="num">
                  {(s.values ?? []).map(([t, v]) => (
                    <div>
                      {v} @{t}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
      </tbody>
    </table>
  );
}
