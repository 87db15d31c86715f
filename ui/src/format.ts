// Numbers as people read them, by unit: `bytes` (KiB, MiB, …), `percent` (0–100), `percentunit`
// (0–1), `s` (durations), `reqps`/`ops` and plain short numbers (k, M, G).

export function formatValue(v: number | null | undefined, unit?: string): string {
  if (v === null || v === undefined) return "";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "bytes":
      return scaled(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]);
    case "Bps":
      return `${scaled(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"])}/s`;
    case "percent":
      return `${round(v)}%`;
    case "percentunit":
      return `${round(v * 100)}%`;
    case "s":
      return seconds(v);
    case "reqps":
      return `${short(v)} req/s`;
    case "ops":
      return `${short(v)} ops/s`;
    case undefined:
    case "":
    case "short":
      return short(v);
    default:
      return `${short(v)} ${unit}`;
  }
}

function round(v: number): string {
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return Number(v.toFixed(digits)).toString();
}

function scaled(v: number, base: number, units: string[]): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${round(x)} ${units[i]}`;
}

function short(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && a < 0.001) return v.toExponential(2);
  if (a < 1000) return round(v);
  return scaled(v, 1000, ["", "k", "M", "G", "T", "P", "E"]).replace(/ $/, "");
}

function seconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1e-3) return `${round(v * 1e6)} µs`;
  if (a < 1) return `${round(v * 1e3)} ms`;
  if (a < 60) return `${round(v)} s`;
  if (a < 3600) return `${round(v / 60)} min`;
  if (a < 86400) return `${round(v / 3600)} h`;
  return `${round(v / 86400)} d`;
}
