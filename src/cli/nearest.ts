// The nearest of some words to a misspelt one, for a usage error's "did you mean".

/**
 * The candidate nearest to word by edit distance (a letter added, dropped,
 * changed, or two swapped), if near enough to be a slip: at most 1 edit in
 * a word of up to 4 letters, 2 in a longer one; none when two tie.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  const scored = candidates.map((c) => [c, editDistance(word.toLowerCase(), c)] as const).filter(([, d]) => d <= limit).sort((x, y) => x[1] - y[1]);
  return scored.length > 0 && scored[1]?.[1] !== scored[0]![1] ? scored[0]![0] : undefined;
}

/** Optimal string alignment distance: Levenshtein's, with a swap of neighbours as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
