// Durations in Prometheus's notation and the time ranges of the explorer and dashboards.

const UNITS: [string, number][] = [
  ["y", 365 * 86400_000],
  ["w", 7 * 86400_000],
  ["d", 86400_000],
  ["h", 3600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** Milliseconds of a duration such as `90s`, `1h30m` or `2d`; null when it is not one. */
export function parseDuration(s: string): number | null {
  const text = s.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return null;
    const unit = UNITS.find(([u]) => u === m[2]);
    if (!unit) return null;
    total += Number(m[1]) * unit[1];
    at = re.lastIndex;
  }
  return total;
}

/** The shortest Prometheus notation of `ms`: `1h30m`, `15s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  let left = Math.round(ms);
  let out = "";
  for (const [u, size] of UNITS) {
    if (u === "y" || u === "w") continue;
    if (left >= size) {
      out += `${Math.floor(left / size)}${u}`;
      left %= size;
    }
  }
  return out;
}

/** A step giving about `points` points over `rangeMs`, rounded to a readable value, at least 1 s. */
export function autoStep(rangeMs: number, points = 250): number {
  const raw = Math.max(1000, rangeMs / points);
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  for (const s of nice) if (s * 1000 >= raw) return s * 1000;
  return Math.ceil(raw / 86400_000) * 86400_000;
}

/** The relative ranges offered by the pickers. */
export const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];

/** `YYYY-MM-DDTHH:MM` in local time, the value of a datetime-local input. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value (local time) in ms since the epoch; null when empty or invalid. */
export function fromLocalInput(s: string): number | null {
  if (!s) return null;
  const t = new Date(s).getTime();
  return Number.isFinite(t) ? t : null;
}

/** How long ago `ms` was, roughly: `3m 12s ago`. */
export function ago(ms: number, now = Date.now()): string {
  const d = Math.max(0, now - ms);
  if (d < 1000) return "just now";
  const s = Math.floor(d / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m ago`;
  return `${Math.floor(h / 24)}d ${h % 24}h ago`;
}
