// Picks a time range: a relative length (the last hour, …) ending now or at an absolute time, with
// buttons to move back and forth by one range.

import { RANGES, formatDuration, fromLocalInput, parseDuration, toLocalInput } from "./time";

export interface RangeProps {
  range: string;
  end: number | null;
  onChange: (range: string, end: number | null) => void;
  /** Only the end time (instant queries). */
  hideRange?: boolean;
}

export function RangePicker({ range, end, onChange, hideRange }: RangeProps) {
  const ms = parseDuration(range) ?? 3600_000;
  const options = RANGES.includes(range) ? RANGES : [range, ...RANGES];
  const shift = (dir: number) => {
    const base = end ?? Date.now();
    const next = base + dir * ms;
    onChange(range, next >= Date.now() ? null : next);
  };
  return (
    <div class="range-picker">
      {!hideRange && (
        <>
          <button type="button" class="icon" title="Earlier" aria-label="Earlier" onClick={() => shift(-1)}>
            ‹
          </button>
          <select
            aria-label="Range"
            value={range}
            onChange={(e) => onChange(e.currentTarget.value, end)}
          >
            {options.map((r) => (
              <option value={r}>Last {r}</option>
            ))}
          </select>
        </>
      )}
      <label class="field">
        {hideRange ? "At" : "Until"}
        <input
          type="datetime-local"
          aria-label="End time"
          value={end === null ? "" : toLocalInput(end)}
          onChange={(e) => onChange(range, fromLocalInput(e.currentTarget.value))}
        />
      </label>
      {end !== null && (
        <button type="button" onClick={() => onChange(range, null)}>
          Now
        </button>
      )}
      {!hideRange && (
        <button
          type="button"
          class="icon"
          title="Later"
          aria-label="Later"
          disabled={end === null}
          onClick={() => shift(1)}
        >
          ›
        </button>
      )}
      {!hideRange && !RANGES.includes(range) && <span class="muted">({formatDuration(ms)})</span>}
    </div>
  );
}
