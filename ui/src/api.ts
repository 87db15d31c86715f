// The HTTP APIs the UI reads: Prometheus's /api/v1 and Alertmanager's /api/v2, as served by pharos.

export type Labels = Record<string, string>;

export interface MatrixSeries {
  metric: Labels;
  values?: [number, string][];
  histograms?: [number, unknown][];
}

export interface VectorSample {
  metric: Labels;
  value?: [number, string];
  histogram?: [number, unknown];
}

export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "string"; result: [number, string] };

/** An error answer: the HTTP status, Prometheus's errorType and its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }

  /** Where a PromQL parse error points: 1-based line and column, when the message says. */
  position(): { line: number; column: number } | null {
    const m = /(?:^|: )(\d+):(\d+): parse error/.exec(this.message);
    return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
  }
}

type Params = Record<string, string | string[] | undefined>;

function search(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function parse<T>(r: Response): Promise<T> {
  const text = await r.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(r.status, "bad_response", text.trim() || `HTTP ${r.status}`);
  }
  if (!r.ok) {
    const b = body as { errorType?: string; error?: string; message?: string } | null;
    throw new ApiError(r.status, b?.errorType ?? "http", b?.error ?? b?.message ?? `HTTP ${r.status}`);
  }
  return body as T;
}

/** GET an /api/v1 endpoint and return its `data`. */
export async function v1<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const r = await fetch(`/api/v1/${path}${search(params)}`, { signal });
  const body = await parse<{ status: string; data: T; warnings?: string[] }>(r);
  return body.data;
}

/** An /api/v1 answer with its warnings. */
export async function v1WithWarnings<T>(
  path: string,
  params: Params,
  signal?: AbortSignal,
): Promise<{ data: T; warnings: string[] }> {
  // POST keeps long expressions out of the URL, as Prometheus's own UI does.
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  }
  const r = await fetch(`/api/v1/${path}`, { method: "POST", body: form, signal });
  const body = await parse<{ data: T; warnings?: string[]; infos?: string[] }>(r);
  return { data: body.data, warnings: [...(body.warnings ?? []), ...(body.infos ?? [])] };
}

/** Calls an Alertmanager /api/v2 endpoint. */
export async function v2<T>(path: string, init: RequestInit & { params?: Params } = {}): Promise<T> {
  const { params, ...rest } = init;
  const r = await fetch(`/api/v2/${path}${search(params ?? {})}`, {
    ...rest,
    headers: rest.body ? { "Content-Type": "application/json", ...(rest.headers ?? {}) } : rest.headers,
  });
  return parse<T>(r);
}

/** Metric names, label names and label values for autocompletion, cached for a minute. */
const cache = new Map<string, { at: number; values: Promise<string[]> }>();

export function labelValues(name: string, match?: string): Promise<string[]> {
  const key = `${name}\u0000${match ?? ""}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.values;
  const values = v1<string[]>(`label/${encodeURIComponent(name)}/values`, {
    "match[]": match,
  }).catch((): string[] => []);
  cache.set(key, { at: Date.now(), values });
  return values;
}

/** Answers the page arrived with (a dashboard's variable lookups), kept as if fetched just now. */
export function seedLabelValues(name: string, match: string | undefined, values: string[]) {
  cache.set(`${name}\u0000${match ?? ""}`, { at: Date.now(), values: Promise.resolve(values) });
}

export function labelNames(match?: string): Promise<string[]> {
  const key = `\u0001names\u0000${match ?? ""}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.values;
  const values = v1<string[]>("labels", { "match[]": match }).catch((): string[] => []);
  cache.set(key, { at: Date.now(), values });
  return values;
}

/** `name{a="b", c="d"}`, as Prometheus prints a series. */
export function seriesName(m: Labels): string {
  const name = m.__name__ ?? "";
  const rest = Object.keys(m)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`);
  return rest.length || !name ? `${name}{${rest.join(", ")}}` : name;
}
