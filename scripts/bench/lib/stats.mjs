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

/**
 * Median over rounds of each run's figure ÷ the mean of the reference runs around it: runs carry their
 * `round`; a run with a `slot` ran between the reference runs of `block` slot and slot + 1 (video), one
 * without takes every reference run of its round (duplex: the reference runs just before and after). A host
 * that slows down for a while then moves both sides of a ratio. NaN when no run has its reference.
 */
export function pairedRatio(cell, reference, key = 'fps') {
  const refRuns = reference?.runs ?? [];
  return median((cell?.runs ?? []).map((run) => {
    const around = refRuns.filter((x) => x.round === run.round && (run.slot === undefined || x.block === run.slot || x.block === run.slot + 1));
    return around.length && run.round !== undefined ? run[key] / (around.reduce((a, x) => a + x[key], 0) / around.length) : NaN;
  }));
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

/** A table cell's failed runs, "2/5 failed: <the first message>", or ''. */
export function cellError(cell) {
  return cell?.errors?.length ? `${cell.errors.length}/${cell.errors.length + cell.runs.length} failed: ${cell.errors[0].slice(0, 80)}` : '';
}
