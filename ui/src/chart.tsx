// Time-series charts drawn by uPlot: lines or stacked areas, a legend with each series' labels and
// the value under the cursor, and zoom by dragging across the plot (the page then queries the new
// range at its own resolution rather than stretching the old points).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";
import { type Labels, type MatrixSeries, seriesName } from "./api";
import { formatValue } from "./format";

export interface Aligned {
  /** Seconds since the epoch, one per step. */
  times: number[];
  series: { name: string; labels: Labels; values: (number | null)[] }[];
}

/** Puts a range query's series on one time axis, from `startMs` to `endMs` by `stepMs`. */
export function align(result: MatrixSeries[], startMs: number, endMs: number, stepMs: number): Aligned {
  const n = Math.max(0, Math.floor((endMs - startMs) / stepMs) + 1);
  const times = Array.from({ length: n }, (_, i) => (startMs + i * stepMs) / 1000);
  const series = result.map((s) => {
    const values: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t * 1000 - startMs) / stepMs);
      if (i >= 0 && i < n) values[i] = Number(v);
    }
    return { name: seriesName(s.metric), labels: s.metric, values };
  });
  return { times, series };
}

const PALETTE = [
  "#3274d9", "#e0752d", "#56a64b", "#e02f44", "#a352cc", "#8ab8ff", "#f2cc0c", "#19ab8c", "#ff7383", "#7d6e5b",
];

export function color(i: number): string {
  if (i < PALETTE.length) return PALETTE[i];
  // Beyond the palette, spread hues by the golden angle so neighbours stay apart.
  return `hsl(${Math.round((i * 137.508) % 360)}, 62%, 52%)`;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export interface ChartProps {
  data: Aligned;
  stacked?: boolean;
  height?: number;
  /** Called with the dragged range in ms; the chart itself does not zoom. */
  onZoom?: (startMs: number, endMs: number) => void;
  /** Hides the legend (small panels). */
  legend?: boolean;
  unit?: string;
}

export function Chart({ data, stacked = false, height = 320, onZoom, legend = true, unit }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = cssVar("--fg-muted", "#666");
    const grid = cssVar("--grid", "rgba(128,128,128,0.15)");
    const raw = data.series.map((s) => s.values);
    // Stacked: each series is drawn at the sum of itself and those before it, filled down to the
    // previous one; the legend still shows its own value.
    const drawn = stacked ? cumulative(raw) : raw;
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height,
      legend: { show: legend, live: true },
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } },
        {
          stroke: fg,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          // Wide enough for the longest tick label (uPlot passes the formatted values).
          size: (_u: uPlot, values: string[] | null) =>
            Math.max(44, ...(values ?? []).map((v) => v.length * 8 + 26)),
          values: (_u, splits) => splits.map((v) => formatValue(v, unit)),
        },
      ],
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.name,
          stroke: color(i),
          width: 1.5,
          fill: stacked ? `${color(i)}55` : undefined,
          spanGaps: false,
          // Dots where a line cannot show much: a series with only a few samples in the range
          // (a target scraped since moments ago) would otherwise be invisible.
          points: { show: s.values.filter((v) => v !== null).length < 30, size: 5 },
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
            idx == null ? "" : formatValue(raw[i][idx], unit),
        })),
      ],
      bands: stacked ? data.series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })) : [],
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width < 3 || !zoom.current) return;
            const a = u.posToVal(left, "x");
            const b = u.posToVal(left + width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current(Math.round(a * 1000), Math.round(b * 1000));
          },
        ],
      },
    };
    const plot = new uPlot(opts, [data.times, ...drawn] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== plot.width) plot.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, stacked, height, legend, unit]);

  const points = data.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
  return <div class="chart" ref={box} data-series={data.series.length} data-points={points} />;
}

function cumulative(values: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let below: number[] | null = null;
  for (const s of values) {
    const sum = s.map((v, i) => (v === null ? null : v + (below ? below[i] : 0)));
    out.push(sum);
    below = s.map((v, i) => (v ?? 0) + (below ? below[i] : 0));
  }
  return out;
}
