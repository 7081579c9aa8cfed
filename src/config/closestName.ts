/** Edit distance with adjacent swaps counted as one edit (optimal string alignment), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const rows: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i += 1) {
    for (let j = 1; j <= y.length; j += 1) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[x.length]![y.length]!;
}

/** The first word of a camelCase or kebab-case name: `daily` of `dailyTokens`, `rate` of `rate-limit`. */
function leadingWord(name: string): string {
  return (/^[a-z]+|^[A-Z][a-z]*/.exec(name)?.[0] ?? name).toLowerCase();
}

/**
 * The known name a mistyped one most likely meant, or null when none is close: a small edit
 * (about one in three characters), else the only name that starts with the same word or that the
 * typed name begins (`dailyTokens` → `dailyLimit`, `rollout` → `rolloutPercent`).
 *
 * @example closestName('maxConcurent', ['dailyLimit', 'maxConcurrent']) // 'maxConcurrent'
 */
export function closestName(typed: string, known: readonly string[]): string | null {
  if (typed === '' || known.length === 0) return null;
  const limit = Math.max(1, Math.floor(typed.length / 3));
  const scored = known
    .map((name) => ({ name, distance: editDistance(typed, name) }))
    .sort((a, b) => a.distance - b.distance);
  const best = scored[0]!;
  if (best.distance <= limit && scored.filter((s) => s.distance === best.distance).length === 1) return best.name;
  const lowered = typed.toLowerCase();
  const prefixed = known.filter((name) => name.toLowerCase().startsWith(lowered));
  if (prefixed.length === 1) return prefixed[0]!;
  const word = leadingWord(typed);
  const sameWord = word.length >= 3 ? known.filter((name) => leadingWord(name) === word) : [];
  return sameWord.length === 1 ? sameWord[0]! : null;
}
