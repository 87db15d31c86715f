// Dashboards: the list, and one dashboard with its variables, time range, auto-refresh and panels,
// editable as JSON and saved through the API. The URL holds the range and the variables' values.

import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, labelValues, seedLabelValues } from "./api";
import {
  ALL,
  type Dashboard,
  type Variable,
  parseLabelValues,
  rateInterval,
  substitute,
  variableText,
} from "./dashboard-model";
import { PanelView, type QueryContext } from "./panels";
import { RangePicker } from "./range";
import { Link, type Loc, navigate } from "./router";
import { Failure, Loading, usePoll } from "./status";
import { autoStep, formatDuration, parseDuration } from "./time";

interface Summary {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  source: "builtin" | "provisioned" | "saved";
  revertible: boolean;
}

async function pharosApi<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`/api/pharos/v1/${path}`, init);
  const body = (await r.json().catch(() => null)) as { data?: T; error?: string; errorType?: string } | null;
  if (!r.ok) throw new ApiError(r.status, body?.errorType ?? "http", body?.error ?? `HTTP ${r.status}`);
  return body?.data as T;
}

export function DashboardList() {
  const { value, error } = usePoll(() => pharosApi<Summary[]>("dashboards"), 0);
  if (error) return <Failure what="dashboards" error={error} />;
  if (!value) return <Loading />;
  return (
    <section class="page dashboards">
      <h1>Dashboards</h1>
      <div class="dash-list">
        {value.map((d) => (
          <Link href={`/dashboards/${d.uid}`} class="card dash-card">
            <h2>{d.title}</h2>
            <p class="muted">{d.description}</p>
            <div class="labels">
              {d.tags.map((t) => (
                <span class="chip">{t}</span>
              ))}
              <span class="badge">{d.source}</span>
            </div>
          </Link>
        ))}
      </div>
    </section>
  );
}

interface Loaded {
  dashboard: Dashboard;
  source: Summary["source"];
  revertible: boolean;
}

/** Reads the dashboard the server put in the page, if it is the one asked for (saves a request). */
function bootDashboard(uid: string): Loaded | null {
  const el = document.getElementById("pharos-boot");
  if (!el?.textContent) return null;
  try {
    const boot = JSON.parse(el.textContent) as {
      uid?: string;
      dashboard?: Dashboard;
      source?: Summary["source"];
      revertible?: boolean;
      variableOptions?: { label: string; match: string | null; values: string[] }[];
    };
    el.remove();
    if (boot.uid !== uid || !boot.dashboard) return null;
    for (const o of boot.variableOptions ?? []) seedLabelValues(o.label, o.match ?? undefined, o.values);
    return { dashboard: boot.dashboard, source: boot.source ?? "builtin", revertible: !!boot.revertible };
  } catch {
    return null;
  }
}

const REFRESH = ["off", "10s", "30s", "1m", "5m"];

export function DashboardView({ loc, uid }: { loc: Loc; uid: string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(() => bootDashboard(uid));
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (loaded && loaded.dashboard.uid === uid && version === 0) return;
    pharosApi<Summary & { dashboard: Dashboard }>(`dashboards/${encodeURIComponent(uid)}`).then(
      (d) => {
        setLoaded({ dashboard: d.dashboard, source: d.source, revertible: d.revertible });
        setError(null);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [uid, version]);

  if (error) return <Failure what={`dashboard ${uid}`} error={error} />;
  if (!loaded) return <Loading />;
  return (
    <Board
      key={`${uid}:${version}`}
      loc={loc}
      uid={uid}
      loaded={loaded}
      editing={editing}
      setEditing={setEditing}
      reload={() => setVersion((v) => v + 1)}
    />
  );
}

function Board({
  loc,
  uid,
  loaded,
  editing,
  setEditing,
  reload,
}: {
  loc: Loc;
  uid: string;
  loaded: Loaded;
  editing: boolean;
  setEditing: (b: boolean) => void;
  reload: () => void;
}) {
  const d = loaded.dashboard;
  const q = loc.query;
  const range = q.get("range") ?? d.time?.range ?? "1h";
  const endParam = q.get("end");
  const end = endParam && Number.isFinite(Number(endParam)) ? Number(endParam) : null;
  const refresh = q.get("refresh") ?? d.refresh ?? "off";
  const vars = d.variables ?? [];

  const setParams = (patch: Record<string, string | string[] | null>, replace = false) => {
    const next = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(patch)) {
      next.delete(k);
      if (v === null) continue;
      for (const one of Array.isArray(v) ? v : [v]) next.append(k, one);
    }
    const s = next.toString();
    navigate(`/dashboards/${uid}${s ? `?${s}` : ""}`, replace);
  };

  // Options of each variable, loaded in order (a selector may use the variables before it).
  const [options, setOptions] = useState<Record<string, string[]>>({});
  const selectedFromUrl = (v: Variable) => q.getAll(`var-${v.name}`);
  const selected: Record<string, string[]> = {};
  for (const v of vars) {
    const fromUrl = selectedFromUrl(v);
    const opts = options[v.name];
    selected[v.name] = fromUrl.length
      ? fromUrl
      : v.includeAll
        ? [ALL]
        : opts && opts.length
          ? [opts[0]]
          : [];
  }
  const varKey = JSON.stringify(vars.map((v) => selected[v.name]));
  useEffect(() => {
    let live = true;
    (async () => {
      const values: Record<string, string> = {};
      const next: Record<string, string[]> = {};
      for (const v of vars) {
        const parsed = parseLabelValues(v.query);
        const list = parsed
          ? await labelValues(parsed.label, parsed.match ? substitute(parsed.match, values, {}) : undefined)
          : [];
        next[v.name] = list;
        const fromUrl = selectedFromUrl(v);
        values[v.name] = variableText(fromUrl.length ? fromUrl : v.includeAll ? [ALL] : list.slice(0, 1));
      }
      if (live) setOptions(next);
    })();
    return () => {
      live = false;
    };
  }, [uid, varKey]);

  // Ready to query once every variable has a value (from the URL, "All", or its first option).
  const ready = vars.every((v) => selected[v.name].length > 0 || options[v.name] !== undefined);

  const [tick, setTick] = useState(0);
  const [now, setNow] = useState(Date.now());
  const refreshMs = refresh === "off" || end !== null ? 0 : (parseDuration(refresh) ?? 0);
  useEffect(() => {
    if (!refreshMs) return;
    const t = setInterval(() => {
      setNow(Date.now());
      setTick((n) => n + 1);
    }, refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);
  useEffect(() => setNow(Date.now()), [range, end]);

  const ctx: QueryContext = useMemo(() => {
    const rangeMs = parseDuration(range) ?? 3600_000;
    const endMs = end ?? now;
    const stepMs = autoStep(rangeMs, 200);
    const values: Record<string, string> = {};
    for (const v of vars) values[v.name] = variableText(selected[v.name]);
    return {
      startMs: endMs - rangeMs,
      endMs,
      stepMs,
      values,
      builtins: {
        __interval: formatDuration(stepMs),
        __rate_interval: formatDuration(rateInterval(stepMs)),
        __range: formatDuration(rangeMs),
      },
      tick,
    };
  }, [range, end, now, tick, varKey]);

  const withTime = (url: string) => {
    if (url.startsWith("/dashboards/") && !/[?&]range=/.test(url)) {
      return `${url}${url.includes("?") ? "&" : "?"}range=${encodeURIComponent(range)}`;
    }
    return url;
  };

  return (
    <section class="page dashboard" data-uid={uid}>
      <div class="dash-head">
        <h1>{d.title}</h1>
        <span class="badge" title="where this dashboard comes from">
          {loaded.source}
        </span>
        <div class="dash-links">
          {(d.links ?? []).map((l) => (
            <Link href={withTime(l.url)}>{l.title}</Link>
          ))}
        </div>
        <button type="button" onClick={() => setEditing(!editing)}>
          {editing ? "Close editor" : "Edit"}
        </button>
      </div>
      {editing && <JsonEditor uid={uid} loaded={loaded} onSaved={reload} />}
      <div class="toolbar">
        {vars.map((v) => (
          <VariablePicker
            variable={v}
            options={options[v.name]}
            selected={selected[v.name]}
            onChange={(vals) => setParams({ [`var-${v.name}`]: vals })}
          />
        ))}
        <RangePicker range={range} end={end} onChange={(r, e) => setParams({ range: r, end: e === null ? null : String(e) })} />
        <label class="field">
          Refresh
          <select aria-label="Refresh" value={refresh} onChange={(e) => setParams({ refresh: e.currentTarget.value }, true)}>
            {(REFRESH.includes(refresh) ? REFRESH : [refresh, ...REFRESH]).map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="icon"
          title="Refresh now"
          aria-label="Refresh now"
          onClick={() => {
            setNow(Date.now());
            setTick((n) => n + 1);
          }}
        >
          ↻
        </button>
      </div>
      {ready ? (
        <div class="grid">
          {d.panels.map((p) => (
            <PanelView panel={{ ...p, link: p.link ? withTime(p.link) : undefined }} ctx={ctx} />
          ))}
        </div>
      ) : (
        <Loading />
      )}
    </section>
  );
}

function VariablePicker({
  variable,
  options,
  selected,
  onChange,
}: {
  variable: Variable;
  options?: string[];
  selected: string[];
  onChange: (values: string[]) => void;
}) {
  const list = options ?? selected.filter((s) => s !== ALL);
  const all = variable.includeAll ? [ALL, ...list] : list;
  return (
    <label class="field">
      {variable.label ?? variable.name}
      <select
        aria-label={variable.label ?? variable.name}
        data-variable={variable.name}
        multiple={variable.multi}
        value={variable.multi ? undefined : selected[0]}
        onChange={(e) => {
          const el = e.currentTarget;
          const vals = variable.multi ? [...el.selectedOptions].map((o) => o.value) : [el.value];
          onChange(vals);
        }}
      >
        {all.length === 0 && <option value="">(none)</option>}
        {all.map((o) => (
          <option value={o} selected={selected.includes(o)}>
            {o === ALL ? "All" : o}
          </option>
        ))}
      </select>
    </label>
  );
}

function JsonEditor({ uid, loaded, onSaved }: { uid: string; loaded: Loaded; onSaved: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(loaded.dashboard, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    try {
      JSON.parse(text);
    } catch (e) {
      setBusy(false);
      return setError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      await pharosApi(`dashboards/${encodeURIComponent(uid)}`, { method: "PUT", body: text });
      setError(null);
      onSaved();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const revert = async () => {
    try {
      await pharosApi(`dashboards/${encodeURIComponent(uid)}`, { method: "DELETE" });
      onSaved();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div class="card json-editor">
      <p class="muted">
        The dashboard as JSON (format: docs/format/dashboards.md). Saving keeps it under the data directory; it then
        takes precedence over the {loaded.source === "saved" ? "provisioned or built-in" : loaded.source} version.
      </p>
      <textarea aria-label="Dashboard JSON" spellcheck={false} value={text} rows={24} onInput={(e) => setText(e.currentTarget.value)} />
      {error && (
        <div class="error" role="alert">
          {error}
        </div>
      )}
      <div class="row">
        <button type="button" class="primary" disabled={busy} onClick={() => void save()}>
          Save
        </button>
        {loaded.revertible && (
          <button type="button" class="danger" onClick={() => void revert()}>
            Revert to the {loaded.source === "saved" ? "original" : loaded.source}
          </button>
        )}
      </div>
    </div>
  );
}
