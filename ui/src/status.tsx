// Status pages: scrape targets, rule groups and the TSDB's cardinality.

import { useEffect, useState } from "preact/hooks";
import { type Labels, v1 } from "./api";
import { formatValue } from "./format";
import { ago } from "./time";

/** Loads `load()` once and again every `everyMs` (0: once); the latest value, error or null. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setError(null);
      },
      (e: unknown) => {
        if (live) setError(e instanceof Error ? e.message : String(e));
      },
    );
    const t = everyMs > 0 ? setTimeout(() => setTick((n) => n + 1), everyMs) : undefined;
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [tick, ...deps]);
  return { value, error, reload: () => setTick((n) => n + 1) };
}

export function LabelChips({ labels, skip = [] }: { labels: Labels; skip?: string[] }) {
  return (
    <span class="labels">
      {Object.keys(labels)
        .filter((k) => !skip.includes(k))
        .sort()
        .map((k) => (
          <span class="chip">
            {k}="{labels[k]}"
          </span>
        ))}
    </span>
  );
}

interface Target {
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: "up" | "down" | "unknown";
  scrapeInterval: string;
}

export function Targets() {
  const { value, error } = usePoll(() => v1<{ activeTargets: Target[] }>("targets", { state: "active" }), 10_000);
  const [onlyDown, setOnlyDown] = useState(false);
  if (error) return <Failure what="targets" error={error} />;
  if (!value) return <Loading />;
  const pools = new Map<string, Target[]>();
  for (const t of value.activeTargets) {
    if (onlyDown && t.health === "up") continue;
    const list = pools.get(t.scrapePool) ?? [];
    list.push(t);
    pools.set(t.scrapePool, list);
  }
  return (
    <section class="page targets">
      <h1>Targets</h1>
      <label class="field check">
        <input type="checkbox" checked={onlyDown} onChange={(e) => setOnlyDown(e.currentTarget.checked)} />
        Only unhealthy
      </label>
      {[...pools.entries()].map(([pool, targets]) => {
        const up = targets.filter((t) => t.health === "up").length;
        return (
          <div class="card" data-pool={pool}>
            <h2>
              {pool} <span class={up === targets.length ? "badge ok" : "badge bad"}>{up}/{targets.length} up</span>
            </h2>
            <table class="list">
              <thead>
                <tr>
                  <th>Endpoint</th>
                  <th>State</th>
                  <th>Labels</th>
                  <th>Last scrape</th>
                  <th>Duration</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {targets.map((t) => (
                  <tr class={`target health-${t.health}`}>
                    <td class="mono">{t.scrapeUrl}</td>
                    <td>
                      <span class={`badge ${t.health === "up" ? "ok" : t.health === "down" ? "bad" : ""}`}>
                        {t.health}
                      </span>
                    </td>
                    <td>
                      <LabelChips labels={t.labels} />
                    </td>
                    <td>{t.lastScrape.startsWith("0001") ? "never" : ago(Date.parse(t.lastScrape))}</td>
                    <td>{formatValue(t.lastScrapeDuration, "s")}</td>
                    <td class="err">{t.lastError}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
      {pools.size === 0 && <p class="hint">No targets{onlyDown ? " are unhealthy" : ""}.</p>}
    </section>
  );
}

interface Rule {
  name: string;
  query: string;
  type: "alerting" | "recording";
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  state?: string;
  duration?: number;
  labels?: Labels;
  alerts?: unknown[];
}

interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

export function Rules() {
  const { value, error } = usePoll(() => v1<{ groups: RuleGroup[] }>("rules"), 15_000);
  if (error) return <Failure what="rules" error={error} />;
  if (!value) return <Loading />;
  return (
    <section class="page rules">
      <h1>Rules</h1>
      {value.groups.length === 0 && <p class="hint">No rule groups are loaded.</p>}
      {value.groups.map((g) => (
        <div class="card" data-group={g.name}>
          <h2>
            {g.name} <span class="muted">{g.file}</span>
          </h2>
          <p class="muted">
            every {g.interval}s, last evaluated {g.lastEvaluation.startsWith("0001") ? "never" : ago(Date.parse(g.lastEvaluation))}{" "}
            in {formatValue(g.evaluationTime, "s")}
          </p>
          <table class="list">
            <thead>
              <tr>
                <th>Rule</th>
                <th>Health</th>
                <th>State</th>
                <th>Last evaluation</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {g.rules.map((r) => (
                <tr class={`rule health-${r.health}`}>
                  <td>
                    <div>
                      <span class="muted">{r.type === "alerting" ? "alert" : "record"}:</span> <b>{r.name}</b>
                    </div>
                    <code class="expr-text">{r.query}</code>
                  </td>
                  <td>
                    <span class={`badge ${r.health === "ok" ? "ok" : r.health === "err" ? "bad" : ""}`}>{r.health}</span>
                  </td>
                  <td>{r.state ?? ""}</td>
                  <td>{r.lastEvaluation.startsWith("0001") ? "never" : ago(Date.parse(r.lastEvaluation))}</td>
                  <td class="err">{r.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

interface TsdbStatus {
  headStats: { numSeries: number; chunkCount?: number; minTime: number; maxTime: number; numLabelPairs?: number };
  seriesCountByMetricName: { name: string; value: number }[];
  labelValueCountByLabelName: { name: string; value: number }[];
  memoryInBytesByLabelName: { name: string; value: number }[];
  seriesCountByLabelValuePair: { name: string; value: number }[];
}

export function Tsdb() {
  const { value, error } = usePoll(() => v1<TsdbStatus>("status/tsdb", { limit: "20" }), 0);
  if (error) return <Failure what="the TSDB status" error={error} />;
  if (!value) return <Loading />;
  const h = value.headStats;
  const table = (title: string, rows: { name: string; value: number }[], unit?: string) => (
    <div class="card" data-table={title}>
      <h2>{title}</h2>
      <table class="list">
        <tbody>
          {rows.map((r) => (
            <tr>
              <td class="mono">{r.name}</td>
              <td class="num">{unit ? formatValue(r.value, unit) : r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
  return (
    <section class="page tsdb">
      <h1>TSDB status</h1>
      <div class="card">
        <table class="list">
          <tbody>
            <tr>
              <td>Series</td>
              <td class="num" data-stat="series">{h.numSeries}</td>
            </tr>
            {h.minTime > 0 && (
              <tr>
                <td>Oldest sample</td>
                <td class="num">{new Date(h.minTime).toLocaleString()}</td>
              </tr>
            )}
            {h.maxTime > 0 && (
              <tr>
                <td>Newest sample</td>
                <td class="num">{new Date(h.maxTime).toLocaleString()}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div class="grid2">
        {table("Top metric names by series", value.seriesCountByMetricName)}
        {table("Top label pairs by series", value.seriesCountByLabelValuePair)}
        {table("Label names by distinct values", value.labelValueCountByLabelName)}
        {table("Label names by memory", value.memoryInBytesByLabelName, "bytes")}
      </div>
    </section>
  );
}

export function Loading() {
  return <p class="hint loading">Loading…</p>;
}

export function Failure({ what, error }: { what: string; error: string }) {
  return (
    <div class="error" role="alert">
      Could not load {what}: {error}
    </div>
  );
}
