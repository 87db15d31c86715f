// Dashboard panels: time series (uPlot), stat, gauge, bar gauge and table. Each runs its own
// queries, all panels at once, again when the range, the variables or the refresh tick change.

import { useEffect, useState } from "preact/hooks";
import { type Labels, type QueryData, seriesName, v1WithWarnings } from "./api";
import { type Aligned, Chart, align } from "./chart";
import { type Panel, formatLegend, formatLink, substitute, thresholdColor } from "./dashboard-model";
import { formatValue } from "./format";
import { Link } from "./router";

export interface QueryContext {
  startMs: number;
  endMs: number;
  stepMs: number;
  values: Record<string, string>;
  builtins: Record<string, string>;
  /** Bumped by auto-refresh. */
  tick: number;
}

type Loaded<T> = { state: "loading" } | { state: "error"; message: string } | { state: "ok"; value: T };

interface Row {
  name: string;
  labels: Labels;
  value: number | null;
}

async function instant(expr: string, ctx: QueryContext, signal: AbortSignal) {
  const { data } = await v1WithWarnings<QueryData>("query", { query: expr, time: String(ctx.endMs / 1000) }, signal);
  return data;
}

function rows(data: QueryData, legend?: string): Row[] {
  if (data.resultType === "scalar") return [{ name: "scalar", labels: {}, value: Number(data.result[1]) }];
  if (data.resultType !== "vector") return [];
  return data.result.map((s) => ({
    name: legend ? formatLegend(legend, s.metric) : seriesName(s.metric),
    labels: s.metric,
    value: s.value ? Number(s.value[1]) : null,
  }));
}

function usePanelData<T>(panel: Panel, ctx: QueryContext, load: (exprs: string[], signal: AbortSignal) => Promise<T>) {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const exprs = panel.targets.map((t) => substitute(t.expr, ctx.values, ctx.builtins));
  const key = JSON.stringify([exprs, ctx.startMs, ctx.endMs, ctx.stepMs, ctx.tick, panel.type]);
  useEffect(() => {
    const ctl = new AbortController();
    load(exprs, ctl.signal).then(
      (value) => {
        if (!ctl.signal.aborted) setLoaded({ state: "ok", value });
      },
      (e: unknown) => {
        if (!ctl.signal.aborted) setLoaded({ state: "error", message: e instanceof Error ? e.message : String(e) });
      },
    );
    return () => ctl.abort();
  }, [key]);
  return loaded;
}

export function PanelView({ panel, ctx }: { panel: Panel; ctx: QueryContext }) {
  const w = Math.min(12, Math.max(1, panel.w ?? 6));
  return (
    <div class={`panel panel-${panel.type}`} style={{ gridColumn: `span ${w}` }} data-panel={panel.title ?? ""}>
      <div class="panel-title" title={panel.description}>
        {panel.title}
      </div>
      <div class="panel-body">
        {panel.type === "timeseries" ? (
          <TimeSeriesPanel panel={panel} ctx={ctx} />
        ) : panel.type === "table" ? (
          <TablePanel panel={panel} ctx={ctx} />
        ) : panel.type === "bargauge" ? (
          <BarGaugePanel panel={panel} ctx={ctx} />
        ) : (
          <SinglePanel panel={panel} ctx={ctx} />
        )}
      </div>
    </div>
  );
}

function Status({ loaded }: { loaded: Loaded<unknown> }) {
  if (loaded.state === "loading") return <div class="panel-note">Loading…</div>;
  if (loaded.state === "error")
    return (
      <div class="panel-note error-text" role="alert">
        {loaded.message}
      </div>
    );
  return null;
}

function TimeSeriesPanel({ panel, ctx }: { panel: Panel; ctx: QueryContext }) {
  const loaded = usePanelData<Aligned>(panel, ctx, async (exprs, signal) => {
    // The last point at the range's end (now, for a live dashboard), so that the newest samples
    // show at once, even on a server that started seconds ago.
    const end = ctx.endMs;
    const start = end - Math.floor((ctx.endMs - ctx.startMs) / ctx.stepMs) * ctx.stepMs;
    const results = await Promise.all(
      exprs.map((query) =>
        v1WithWarnings<QueryData>(
          "query_range",
          { query, start: String(start / 1000), end: String(end / 1000), step: String(ctx.stepMs / 1000) },
          signal,
        ),
      ),
    );
    const merged: Aligned = { times: [], series: [] };
    results.forEach(({ data }, i) => {
      if (data.resultType !== "matrix") return;
      const a = align(data.result, start, end, ctx.stepMs);
      merged.times = a.times;
      const legend = panel.targets[i].legend;
      for (const s of a.series) merged.series.push(legend ? { ...s, name: formatLegend(legend, s.labels) } : s);
    });
    if (!merged.times.length) merged.times = align([], start, end, ctx.stepMs).times;
    return merged;
  });
  if (loaded.state !== "ok") return <Status loaded={loaded} />;
  if (!loaded.value.series.length) return <div class="panel-note">No data</div>;
  return <Chart data={loaded.value} stacked={panel.stacked} height={220} unit={panel.unit} />;
}

function SinglePanel({ panel, ctx }: { panel: Panel; ctx: QueryContext }) {
  const loaded = usePanelData<Row[]>(panel, ctx, async (exprs, signal) =>
    rows(await instant(exprs[0], ctx, signal), panel.targets[0].legend),
  );
  if (loaded.state !== "ok") return <Status loaded={loaded} />;
  const row = loaded.value[0];
  if (!row || row.value === null) return <div class="panel-note">No data</div>;
  const color = thresholdColor(row.value, panel.thresholds);
  const text = formatValue(row.value, panel.unit);
  const body =
    panel.type === "gauge" ? (
      <Gauge value={row.value} min={panel.min ?? 0} max={panel.max ?? 100} color={color} text={text} />
    ) : (
      <div class="stat-value" style={{ color }} data-value={row.value}>
        {text}
      </div>
    );
  return panel.link ? <Link href={formatLink(panel.link, row.labels)}>{body}</Link> : body;
}

/** A 240° arc from `min` to `max`, filled to `value`. */
function Gauge({ value, min, max, color, text }: { value: number; min: number; max: number; color?: string; text: string }) {
  const frac = max > min ? Math.min(1, Math.max(0, (value - min) / (max - min))) : 0;
  const r = 40;
  const start = (150 * Math.PI) / 180;
  const sweep = (240 * Math.PI) / 180;
  const point = (a: number) => `${50 + r * Math.cos(a)} ${55 + r * Math.sin(a)}`;
  const arc = (to: number) => {
    const end = start + sweep * to;
    const large = sweep * to > Math.PI ? 1 : 0;
    return `M ${point(start)} A ${r} ${r} 0 ${large} 1 ${point(end)}`;
  };
  return (
    <svg class="gauge" viewBox="0 0 100 90" role="img" aria-label={text} data-value={value}>
      <path d={arc(1)} class="gauge-track" />
      {frac > 0 && <path d={arc(frac)} class="gauge-fill" style={{ stroke: color ?? "var(--accent)" }} />}
      <text x="50" y="60" text-anchor="middle" class="gauge-text">
        {text}
      </text>
    </svg>
  );
}

function BarGaugePanel({ panel, ctx }: { panel: Panel; ctx: QueryContext }) {
  const loaded = usePanelData<Row[]>(panel, ctx, async (exprs, signal) => {
    const all = await Promise.all(exprs.map((e, i) => instant(e, ctx, signal).then((d) => rows(d, panel.targets[i].legend))));
    return all.flat().sort((a, b) => a.name.localeCompare(b.name));
  });
  if (loaded.state !== "ok") return <Status loaded={loaded} />;
  if (!loaded.value.length) return <div class="panel-note">No data</div>;
  const min = panel.min ?? 0;
  const max = panel.max ?? Math.max(...loaded.value.map((r) => r.value ?? 0));
  return (
    <div class="bars">
      {loaded.value.map((r) => {
        const frac = r.value === null || max <= min ? 0 : Math.min(1, Math.max(0, (r.value - min) / (max - min)));
        const bar = (
          <div class="bar-row" data-value={r.value ?? ""}>
            <span class="bar-name" title={r.name}>
              {r.name}
            </span>
            <span class="bar-track">
              <span
                class="bar-fill"
                style={{ width: `${frac * 100}%`, background: thresholdColor(r.value, panel.thresholds) ?? "var(--accent)" }}
              />
            </span>
            <span class="bar-value">{formatValue(r.value, panel.unit)}</span>
          </div>
        );
        return panel.link ? <Link href={formatLink(panel.link, r.labels)}>{bar}</Link> : bar;
      })}
    </div>
  );
}

function TablePanel({ panel, ctx }: { panel: Panel; ctx: QueryContext }) {
  const loaded = usePanelData<Row[][]>(panel, ctx, async (exprs, signal) =>
    Promise.all(exprs.map((e) => instant(e, ctx, signal).then((d) => rows(d)))),
  );
  if (loaded.state !== "ok") return <Status loaded={loaded} />;
  // Rows keyed by the `by` labels (all labels but the name when not set); one column per query.
  const byLabels =
    panel.by ??
    [...new Set(loaded.value.flat().flatMap((r) => Object.keys(r.labels).filter((k) => k !== "__name__")))].sort();
  const table = new Map<string, { labels: Labels; cells: (number | null)[] }>();
  loaded.value.forEach((list, col) => {
    for (const r of list) {
      const labels: Labels = {};
      for (const l of byLabels) labels[l] = r.labels[l] ?? "";
      const key = JSON.stringify(byLabels.map((l) => labels[l]));
      const row = table.get(key) ?? { labels, cells: new Array(panel.targets.length).fill(null) };
      row.cells[col] = r.value;
      table.set(key, row);
    }
  });
  const list = [...table.values()].sort((a, b) =>
    byLabels.map((l) => a.labels[l]).join("\u0000").localeCompare(byLabels.map((l) => b.labels[l]).join("\u0000")),
  );
  if (!list.length) return <div class="panel-note">No data</div>;
  return (
    <table class="list panel-table">
      <thead>
        <tr>
          {byLabels.map((l) => (
            <th>{l}</th>
          ))}
          {panel.targets.map((t, i) => (
            <th class="num">{t.legend ?? `Value ${i + 1}`}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {list.map((row) => (
          <tr>
            {byLabels.map((l, i) => (
              <td>
                {i === 0 && panel.link ? <Link href={formatLink(panel.link, row.labels)}>{row.labels[l] || "(none)"}</Link> : row.labels[l] || "(none)"}
              </td>
            ))}
            {row.cells.map((v, i) => (
              <td class="num">{formatValue(v, panel.targets[i].unit ?? panel.unit)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
