// "10s", "500ms", "2m", "1h", or a bare number of seconds → milliseconds.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
