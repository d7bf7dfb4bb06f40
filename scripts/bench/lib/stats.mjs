// Summaries of repeated measurements: the median is the figure we report,
// the spread (min..max over rounds) says how much to trust it.

/** Median of the finite numbers in values (NaN when there are none). */
export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { median, min, max, n } of one figure over the rounds. */
export function summary(values) {
  const v = values.filter(Number.isFinite);
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** Spread as a percentage of the median: (max - min) / median. */
export function spreadPercent(s) {
  return s.median > 0 ? ((s.max - s.min) / s.median) * 100 : NaN;
}

/** Nearest-rank percentile of sorted numbers (p in 0..1). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.round(p * (sorted.length - 1))];
}

/** p50/p99/p99.9/max of latency samples (ns). */
export function latencySummary(samples) {
  const s = Float64Array.from(samples).sort();
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p99: percentile(s, 0.99),
    p999: percentile(s, 0.999),
    max: s.length ? s[s.length - 1] : NaN,
  };
}
